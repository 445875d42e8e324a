//! Turning templates into responses with the headers every page carries, redirects, the notices
//! a redirect can carry, and the pages shown when something goes wrong.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, ResponseError};
use askama::Template;
use dsms_api::ApiError;
use dsms_auth::AuthError;

use crate::cookies;
use crate::site::Site;

/// No inline script, no plug-ins, no framing; scripts and styles from this site only (the one
/// script file, which fetches queue pages from this site), images from this site or inline (the
/// QR code is a `data:` URL); forms post to this site only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
     style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// One year, the usual HSTS lifetime.
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// How a page may be kept by browsers and proxies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caching {
    /// Never stored anywhere: the page shows secrets or personal details.
    NoStore,
    /// Kept by the browser only, and checked again before each use.
    Private,
}

impl Caching {
    /// The `Cache-Control` value.
    pub fn header(self) -> &'static str {
        match self {
            Self::NoStore => "no-store",
            Self::Private => "private, no-cache",
        }
    }
}

/// A response builder with the headers every UI response carries.
fn respond(site: &Site, status: StatusCode) -> HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder.insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY));
    if site.secure {
        builder.insert_header((header::STRICT_TRANSPORT_SECURITY, STRICT_TRANSPORT_SECURITY));
    }
    builder
}

/// A rendered page, setting `cookies`.
pub(crate) fn page(
    site: &Site,
    status: StatusCode,
    caching: Caching,
    template: &impl Template,
    cookies: impl IntoIterator<Item = Cookie<'static>>,
) -> Result<HttpResponse, PageError> {
    let body = template
        .render()
        .map_err(|e| PageError::internal(site.clone(), format!("template failed: {e}")))?;
    let mut builder = respond(site, status);
    builder
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, caching.header()));
    for cookie in cookies {
        builder.cookie(cookie);
    }
    Ok(builder.body(body))
}

/// A rendered page with no cookies to set.
pub(crate) fn show(
    site: &Site,
    status: StatusCode,
    caching: Caching,
    template: &impl Template,
) -> Result<HttpResponse, PageError> {
    page(site, status, caching, template, std::iter::empty())
}

/// A `303 See Other` to `location`, the answer to a form post that worked (so reloading the
/// next page does not post again) and to a page that is not for this visitor.
pub(crate) fn see_other(site: &Site, location: &str) -> HttpResponseBuilder {
    let mut builder = respond(site, StatusCode::SEE_OTHER);
    builder.insert_header((header::LOCATION, location));
    builder
}

/// A short message carried to the next page by a redirect, as a code in its query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    /// The session expired or was revoked.
    SessionEnded,
    /// The person signed out.
    SignedOut,
    /// The step between password and code took too long or was already used.
    StepExpired,
    /// The password was changed.
    PasswordChanged,
    /// An invited person chose their first password.
    PasswordSet,
    /// The password was reset through an emailed link.
    PasswordReset,
}

impl Notice {
    const ALL: [Self; 6] = [
        Self::SessionEnded,
        Self::SignedOut,
        Self::StepExpired,
        Self::PasswordChanged,
        Self::PasswordSet,
        Self::PasswordReset,
    ];

    fn code(self) -> &'static str {
        match self {
            Self::SessionEnded => "session-ended",
            Self::SignedOut => "signed-out",
            Self::StepExpired => "step-expired",
            Self::PasswordChanged => "password-changed",
            Self::PasswordSet => "password-set",
            Self::PasswordReset => "password-reset",
        }
    }

    /// The message shown.
    pub fn text(self) -> &'static str {
        match self {
            Self::SessionEnded => "Your session has ended; sign in again.",
            Self::SignedOut => "You have signed out.",
            Self::StepExpired => "That sign-in took too long; enter your email and password again.",
            Self::PasswordChanged => "Your password has been changed.",
            Self::PasswordSet => "Your password is set; sign in to set up your authenticator.",
            Self::PasswordReset => "Your password has been changed; sign in.",
        }
    }

    /// `path` with this notice in its query string.
    pub fn on(self, path: &str) -> String {
        format!("{path}?notice={}", self.code())
    }

    /// The notice a request's query string carries, if any.
    pub fn of(req: &HttpRequest) -> Option<Self> {
        let code = req
            .query_string()
            .split('&')
            .find_map(|pair| pair.strip_prefix("notice="))?;
        Self::ALL.into_iter().find(|n| n.code() == code)
    }
}

/// Why a page could not be shown as asked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PageError {
    /// Not signed in, or the session has ended (then the stale cookie is cleared).
    #[error("sign in first")]
    SignInRequired {
        /// The site, for the cookie's attributes.
        site: Site,
        /// A session cookie was sent but is no longer valid.
        ended: bool,
    },
    /// The person must choose a new password before anything else.
    #[error("choose a new password first")]
    PasswordChangeRequired(Site),
    /// A form post without a valid CSRF token, or from another site.
    #[error("the form was not accepted")]
    FormRejected(Site),
    /// Anything unexpected: the database is unavailable, a bug.
    #[error("{error}")]
    Failure {
        /// The site, for the headers.
        site: Site,
        /// What went wrong, logged and never shown.
        error: ApiError,
    },
}

impl PageError {
    /// A fault on the server's side.
    pub fn internal(site: Site, detail: String) -> Self {
        Self::Failure {
            site,
            error: ApiError::Internal(detail),
        }
    }

    /// An identity failure the page has no better answer to.
    pub fn unexpected(site: &Site, error: AuthError) -> Self {
        Self::Failure {
            site: site.clone(),
            error: error.into(),
        }
    }
}

/// The page shown when something goes wrong.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

fn error_page(site: &Site, status: StatusCode, title: &str, message: &str) -> HttpResponse {
    let page = ErrorPage { title, message };
    show(site, status, Caching::NoStore, &page).unwrap_or_else(|_| respond(site, status).finish())
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignInRequired { .. } | Self::PasswordChangeRequired(_) => StatusCode::SEE_OTHER,
            Self::FormRejected(_) => StatusCode::FORBIDDEN,
            Self::Failure { error, .. } => error.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::SignInRequired { site, ended: false } => see_other(site, "/sign-in").finish(),
            Self::SignInRequired { site, ended: true } => {
                see_other(site, &Notice::SessionEnded.on("/sign-in"))
                    .cookie(cookies::removal(site, cookies::SESSION))
                    .finish()
            }
            Self::PasswordChangeRequired(site) => see_other(site, "/account/password").finish(),
            Self::FormRejected(site) => error_page(
                site,
                StatusCode::FORBIDDEN,
                "This form could not be accepted",
                "The form has expired or did not come from this site. Go back, reload the page \
                 and try again. If this keeps happening, make sure your browser accepts cookies \
                 from this site.",
            ),
            Self::Failure { site, error } => {
                let status = error.status_code();
                tracing::error!(%error, "page failed");
                let mut res = if status == StatusCode::SERVICE_UNAVAILABLE {
                    error_page(
                        site,
                        status,
                        "The service is unavailable",
                        "The service cannot reach its database just now. Try again in a minute.",
                    )
                } else {
                    error_page(
                        site,
                        status,
                        "Something went wrong",
                        "The page could not be shown. The problem has been logged; try again later.",
                    )
                };
                if let Some(retry) = error.error_response().headers().get(header::RETRY_AFTER) {
                    res.headers_mut().insert(header::RETRY_AFTER, retry.clone());
                }
                res
            }
        }
    }
}

/// Adds `Retry-After` to a throttled answer.
pub(crate) fn retry_after(res: &mut HttpResponse, seconds: u64) {
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, value);
    }
}
