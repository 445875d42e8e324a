//! The UI's cookies, each with the narrowest scope that works. All are `HttpOnly` (no script
//! ever reads them; the UI has no script at all) and `Secure` when the site is served over TLS.

use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite, time};

use crate::site::Site;

/// The web session, opaque; the server holds everything about it.
pub(crate) const SESSION: &str = "dsms_session";
/// The single-use token between the password and the second factor.
pub(crate) const MFA: &str = "dsms_mfa";
/// The double-submit CSRF token of the forms shown before a session exists.
pub(crate) const SIGN_IN_CSRF: &str = "dsms_csrf";

/// Where the sign-in steps live: the cookies they need are sent nowhere else.
const SIGN_IN_PATH: &str = "/sign-in";

fn cookie(site: &Site, name: &'static str, value: String, path: &'static str) -> Cookie<'static> {
    Cookie::build(name, value)
        .path(path)
        .http_only(true)
        .secure(site.secure)
        .finish()
}

/// The session cookie: a browser-session cookie (no `Max-Age`), since the server ends the
/// session on idleness or age anyway. `Lax` so a link into the UI from an email still arrives
/// signed in; unsafe requests are guarded by the CSRF token instead.
pub(crate) fn session(site: &Site, value: String) -> Cookie<'static> {
    let mut cookie = cookie(site, SESSION, value, "/");
    cookie.set_same_site(SameSite::Lax);
    cookie
}

/// The MFA-step cookie: lives no longer than the step itself and never leaves the sign-in pages.
pub(crate) fn mfa(site: &Site, token: String, lifetime: Duration) -> Cookie<'static> {
    let mut cookie = cookie(site, MFA, token, SIGN_IN_PATH);
    cookie.set_same_site(SameSite::Strict);
    cookie.set_max_age(time::Duration::seconds(
        i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX),
    ));
    cookie
}

/// The sign-in forms' CSRF cookie.
pub(crate) fn sign_in_csrf(site: &Site, token: String) -> Cookie<'static> {
    let mut cookie = cookie(site, SIGN_IN_CSRF, token, SIGN_IN_PATH);
    cookie.set_same_site(SameSite::Strict);
    cookie
}

/// A cookie that tells the browser to forget the cookie `name` set with these attributes.
pub(crate) fn removal(site: &Site, name: &'static str) -> Cookie<'static> {
    let path = if name == SESSION { "/" } else { SIGN_IN_PATH };
    let mut cookie = cookie(site, name, String::new(), path);
    cookie.make_removal();
    cookie
}
