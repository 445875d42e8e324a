//! Cross-site request forgery protection for every form post, in two layers:
//!
//! - the `Origin` header, when the browser sends one, must be this site's (the configured
//!   public URL's origin, or the `Host` the request was addressed to);
//! - a token in a hidden field must match, compared in constant time: the session's CSRF token
//!   once signed in; before that, a random token also held in a `SameSite=Strict` cookie
//!   scoped to the form's pages (double submit), which a forging site can neither read nor make
//!   the browser send.

use actix_web::HttpRequest;
use actix_web::cookie::Cookie;
use actix_web::http::header;
use data_encoding::BASE64URL_NOPAD;
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::cookies::{self, UiCookie};
use crate::page::PageError;
use crate::site::Site;

/// Random bytes in a token: 256 bits, beyond guessing.
const TOKEN_BYTES: usize = 32;

fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    BASE64URL_NOPAD.encode(&bytes)
}

fn is_well_formed(token: &str) -> bool {
    token.len() == BASE64URL_NOPAD.encode_len(TOKEN_BYTES)
        && BASE64URL_NOPAD.decode(token.as_bytes()).is_ok()
}

fn tokens_match(expected: &str, given: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// True unless the browser says the request comes from another origin.
fn from_this_site(req: &HttpRequest, site: &Site) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.to_ascii_lowercase();
    if origin == site.origin {
        return true;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_ascii_lowercase);
    match (origin.split_once("://"), host) {
        (Some((_, authority)), Some(host)) => !host.is_empty() && authority == host,
        _ => false,
    }
}

/// The token for a form shown before sign-in, kept in the cookie `which` (one of the `…_CSRF`
/// cookies): the browser's existing one, or a new one with the cookie that carries it.
pub(crate) fn pre_session_token(
    req: &HttpRequest,
    site: &Site,
    which: UiCookie,
) -> (String, Option<Cookie<'static>>) {
    match req.cookie(which.name) {
        Some(cookie) if is_well_formed(cookie.value()) => (cookie.value().to_owned(), None),
        _ => {
            let token = new_token();
            let cookie = cookies::csrf(site, which, token.clone());
            (token, Some(cookie))
        }
    }
}

/// Accepts a form post made before sign-in only from this site, with the token from the cookie
/// `which`.
pub(crate) fn check_pre_session_form(
    req: &HttpRequest,
    site: &Site,
    which: UiCookie,
    given: &str,
) -> Result<(), PageError> {
    let expected = req
        .cookie(which.name)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if from_this_site(req, site) && tokens_match(&expected, given) {
        Ok(())
    } else {
        Err(PageError::FormRejected(site.clone()))
    }
}

/// Accepts a signed-in form post only from this site, with the session's token.
pub(crate) fn check_session_form(
    req: &HttpRequest,
    site: &Site,
    session_token: Option<&str>,
    given: &str,
) -> Result<(), PageError> {
    if from_this_site(req, site) && tokens_match(session_token.unwrap_or_default(), given) {
        Ok(())
    } else {
        Err(PageError::FormRejected(site.clone()))
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn site() -> Site {
        Site::at("https://desk.example.org")
    }

    #[test]
    fn tokens_are_fresh_and_well_formed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(is_well_formed(&a));
        assert!(!is_well_formed("short"));
        assert!(!is_well_formed(&format!("{}!", &a[1..])));
    }

    #[test]
    fn an_empty_token_never_matches() {
        assert!(!tokens_match("", ""));
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("abc", "ab"));
    }

    #[test]
    fn posts_from_another_origin_are_refused() {
        let req = |origin: Option<&str>, host: &str| {
            let mut req = TestRequest::post().insert_header((header::HOST, host));
            if let Some(origin) = origin {
                req = req.insert_header((header::ORIGIN, origin));
            }
            req.to_http_request()
        };
        let site = site();
        assert!(from_this_site(&req(None, "x"), &site));
        assert!(from_this_site(
            &req(Some("https://desk.example.org"), "internal:8080"),
            &site
        ));
        assert!(from_this_site(
            &req(Some("http://internal:8080"), "internal:8080"),
            &site
        ));
        assert!(!from_this_site(
            &req(Some("https://evil.example"), "desk.example.org"),
            &site
        ));
        assert!(!from_this_site(
            &req(Some("null"), "desk.example.org"),
            &site
        ));
    }
}
