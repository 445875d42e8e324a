//! The UI's cookies, each with the narrowest scope that works. All are `HttpOnly` (no script
//! ever reads them; the UI has no script at all) and `Secure` when the site is served over TLS.

use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite, time};

use crate::site::Site;

/// One of the UI's cookies: its name, and the only path the browser sends it to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UiCookie {
    /// The cookie's name.
    pub name: &'static str,
    path: &'static str,
}

/// Where the sign-in steps live: the cookies they need are sent nowhere else.
const SIGN_IN_PATH: &str = "/sign-in";
/// The page asking for a password-reset email.
const FORGOT_PASSWORD_PATH: &str = "/forgot-password";
/// The page behind the emailed password-reset link.
const RESET_PASSWORD_PATH: &str = "/reset-password";
/// The page behind the emailed invitation link.
const INVITATION_PATH: &str = "/invitations/accept";

/// The web session, opaque; the server holds everything about it.
pub(crate) const SESSION: UiCookie = UiCookie {
    name: "dsms_session",
    path: "/",
};
/// The single-use token between the password and the second factor.
pub(crate) const MFA: UiCookie = UiCookie {
    name: "dsms_mfa",
    path: SIGN_IN_PATH,
};
/// The double-submit CSRF token of the sign-in forms.
pub(crate) const SIGN_IN_CSRF: UiCookie = UiCookie {
    name: "dsms_csrf",
    path: SIGN_IN_PATH,
};
/// The double-submit CSRF token of the form asking for a password-reset email.
pub(crate) const FORGOT_PASSWORD_CSRF: UiCookie = UiCookie {
    name: "dsms_forgot_csrf",
    path: FORGOT_PASSWORD_PATH,
};
/// The double-submit CSRF token of the form behind a password-reset link.
pub(crate) const RESET_PASSWORD_CSRF: UiCookie = UiCookie {
    name: "dsms_reset_csrf",
    path: RESET_PASSWORD_PATH,
};
/// A password-reset link's token, between opening the link and showing its form.
pub(crate) const RESET_PASSWORD_LINK: UiCookie = UiCookie {
    name: "dsms_reset_link",
    path: RESET_PASSWORD_PATH,
};
/// The double-submit CSRF token of the form behind an invitation link.
pub(crate) const INVITATION_CSRF: UiCookie = UiCookie {
    name: "dsms_invitation_csrf",
    path: INVITATION_PATH,
};
/// An invitation link's token, between opening the link and showing its form.
pub(crate) const INVITATION_LINK: UiCookie = UiCookie {
    name: "dsms_invitation_link",
    path: INVITATION_PATH,
};

/// How long an emailed link's token stays in its cookie: enough to open the form and reload
/// it; the form itself carries the token, so a slow typist can still post it.
const LINK_LIFETIME: time::Duration = time::Duration::minutes(15);

fn cookie(site: &Site, which: UiCookie, value: String) -> Cookie<'static> {
    Cookie::build(which.name, value)
        .path(which.path)
        .http_only(true)
        .secure(site.secure)
        .finish()
}

/// The session cookie: a browser-session cookie (no `Max-Age`), since the server ends the
/// session on idleness or age anyway. `Lax` so a link into the UI from an email still arrives
/// signed in; unsafe requests are guarded by the CSRF token instead.
pub(crate) fn session(site: &Site, value: String) -> Cookie<'static> {
    let mut cookie = cookie(site, SESSION, value);
    cookie.set_same_site(SameSite::Lax);
    cookie
}

/// The MFA-step cookie: lives no longer than the step itself and never leaves the sign-in pages.
pub(crate) fn mfa(site: &Site, token: String, lifetime: Duration) -> Cookie<'static> {
    let mut cookie = cookie(site, MFA, token);
    cookie.set_same_site(SameSite::Strict);
    cookie.set_max_age(time::Duration::seconds(
        i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX),
    ));
    cookie
}

/// A pre-session form's CSRF cookie (`which` is one of the `…_CSRF` cookies).
pub(crate) fn csrf(site: &Site, which: UiCookie, token: String) -> Cookie<'static> {
    let mut cookie = cookie(site, which, token);
    cookie.set_same_site(SameSite::Strict);
    cookie
}

/// An emailed link's token, moved out of the address bar (`which` is one of the `…_LINK`
/// cookies). `Lax`, not `Strict`: the link is usually opened from a webmail site, and browsers
/// count the redirect that follows as part of that cross-site navigation, so a `Strict` cookie
/// would not come back with it. `Lax` sends it to top-level `GET`s of its own page only, whose
/// form another site can neither frame nor read; the posts that use the token take it from
/// the form, never from this cookie.
pub(crate) fn link(site: &Site, which: UiCookie, token: String) -> Cookie<'static> {
    let mut cookie = cookie(site, which, token);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_max_age(LINK_LIFETIME);
    cookie
}

/// A cookie that tells the browser to forget the cookie `which`.
pub(crate) fn removal(site: &Site, which: UiCookie) -> Cookie<'static> {
    let mut cookie = cookie(site, which, String::new());
    cookie.make_removal();
    cookie
}
