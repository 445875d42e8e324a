//! Where the UI is served from, as configured (`http.public_url`): whether cookies must be
//! `Secure` and HSTS sent, and which origin forms may be posted from.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use dsms_api::ApiState;
use dsms_api::auth::blocking;
use dsms_auth::{AuthError, Identity};

use crate::page::PageError;

/// The public face of the service, read from the identity settings, which the server builds
/// from `http.public_url` — the same URL emailed links use, so the two cannot disagree.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    /// Served over TLS: cookies are `Secure` and HSTS is sent.
    pub secure: bool,
    /// `scheme://host[:port]` of the public URL, what a browser sends as `Origin`.
    pub origin: String,
}

impl Site {
    /// The site served at `public_url`.
    pub fn at(public_url: &str) -> Self {
        let url = public_url.trim();
        let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        Self {
            secure: scheme.eq_ignore_ascii_case("https"),
            origin: format!(
                "{}://{}",
                scheme.to_ascii_lowercase(),
                authority.to_ascii_lowercase()
            ),
        }
    }
}

/// What every page handler needs: the identity service and the site.
#[derive(Debug, Clone)]
pub(crate) struct Ui {
    /// Identity and access.
    pub identity: Identity,
    /// Where the UI is served from.
    pub site: Site,
}

impl Ui {
    /// The UI's context for a request.
    pub fn of(req: &HttpRequest) -> Result<Self, PageError> {
        let state = req.app_data::<web::Data<ApiState>>().ok_or_else(|| {
            PageError::internal(Site::at(""), "the API state is not registered".into())
        })?;
        let identity = state.identity.clone();
        let site = Site::at(&identity.settings().public_url);
        Ok(Self { identity, site })
    }

    /// Runs identity work (database, password hashing) on a blocking thread. The outer error is
    /// a failure to run it at all; the inner one is the identity's answer, for the page to
    /// branch on.
    pub async fn call<T, F>(&self, work: F) -> Result<Result<T, AuthError>, PageError>
    where
        F: FnOnce(&Identity) -> Result<T, AuthError> + Send + 'static,
        T: Send + 'static,
    {
        let identity = self.identity.clone();
        blocking(move || Ok(work(&identity)))
            .await
            .map_err(|error| PageError::Failure {
                site: self.site.clone(),
                error,
            })
    }
}

impl FromRequest for Ui {
    type Error = PageError;
    type Future = std::future::Ready<Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Self::of(req))
    }
}

#[cfg(test)]
mod tests {
    use super::Site;

    #[test]
    fn the_origin_is_scheme_and_authority_only() {
        let site = Site::at("https://Desk.Example.org:8443/dsms/");
        assert!(site.secure);
        assert_eq!(site.origin, "https://desk.example.org:8443");
        let site = Site::at("http://127.0.0.1:8080");
        assert!(!site.secure);
        assert_eq!(site.origin, "http://127.0.0.1:8080");
    }
}
