//! The signed-in person behind a page request, proven by the session cookie.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use dsms_auth::{AuthError, Authenticated};

use crate::cookies;
use crate::page::PageError;
use crate::site::Ui;

/// A request from a signed-in person. Without a session cookie the visitor is sent to sign in;
/// with one that has expired or been revoked, also told why, and the stale cookie is cleared.
#[derive(Debug, Clone)]
pub(crate) struct WebSession {
    /// The person and their session.
    pub authenticated: Authenticated,
    /// The UI's context.
    pub ui: Ui,
}

impl WebSession {
    /// Refuses everything but choosing a new password to a person who has been told to.
    pub fn require_password_chosen(&self) -> Result<(), PageError> {
        if self.authenticated.must_change_password {
            Err(PageError::PasswordChangeRequired(self.ui.site.clone()))
        } else {
            Ok(())
        }
    }

    /// The session's CSRF token, for the forms on the page.
    pub fn csrf_token(&self) -> &str {
        self.authenticated.csrf_token.as_deref().unwrap_or_default()
    }

    async fn of(req: HttpRequest) -> Result<Self, PageError> {
        let ui = Ui::of(&req)?;
        let Some(cookie) = req.cookie(cookies::SESSION.name) else {
            return Err(PageError::SignInRequired {
                site: ui.site,
                ended: false,
            });
        };
        let value = cookie.value().to_owned();
        match ui.call(move |id| id.authenticate_cookie(&value)).await? {
            Ok(authenticated) => Ok(Self { authenticated, ui }),
            Err(AuthError::Unauthenticated(_)) => Err(PageError::SignInRequired {
                site: ui.site,
                ended: true,
            }),
            Err(other) => Err(PageError::unexpected(&ui.site, other)),
        }
    }
}

impl FromRequest for WebSession {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(Self::of(req.clone()))
    }
}
