//! The pages behind the links dsms emails — choosing a first password through an invitation,
//! choosing a new one through a password-reset link — and the page asking for a reset link.
//! None needs a session: their forms use the sign-in forms' double-submit CSRF token, each page
//! with its own cookie scoped to its path.
//!
//! An emailed link carries its token in the URL (`/reset-password?token=…`), where browsers keep
//! it in their history. Opening the link therefore only moves the token into a short-lived
//! cookie scoped to the page and redirects to the bare path, so the token leaves the address bar
//! before anything is shown; the form then carries it in a hidden field. The token is never
//! logged (request logs record the path only), no page sends a `Referer`
//! (`Referrer-Policy: no-referrer`) and none loads anything from another site.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, Resource, web};
use askama::Template;
use dsms_api::auth::ClientInfo;
use dsms_auth::{AuthError, Client, Identity};
use serde::Deserialize;

use crate::account::PasswordErrors;
use crate::cookies::{self, UiCookie};
use crate::csrf;
use crate::page::{Caching, Notice, PageError, page, see_other, show};
use crate::site::Ui;

/// Mounts the pages.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/forgot-password")
            .get(forgot_password_form)
            .post(forgot_password),
    )
    .service(link_pages(&INVITATION))
    .service(link_pages(&PASSWORD_RESET));
}

/// What the page says when its link cannot be used.
struct InvalidLink {
    /// The heading.
    title: &'static str,
    /// What may have happened to the link.
    why: &'static str,
    /// How to get one that works.
    what_next: &'static str,
    /// Where to go from here…
    next_href: &'static str,
    /// …and the words of that link.
    next_text: &'static str,
}

/// What differs between the two pages behind emailed links.
struct LinkPage {
    /// The path of the emailed link, where the page lives.
    path: &'static str,
    /// The cookie keeping the token between opening the link and showing the form.
    link_cookie: UiCookie,
    /// The form's CSRF cookie.
    csrf_cookie: UiCookie,
    /// The page's title and heading.
    title: &'static str,
    /// What the page is for.
    intro: &'static str,
    /// The label of the password field, also the start of its error messages.
    password_label: &'static str,
    /// The words on the button.
    button: &'static str,
    /// What the page says when the link cannot be used.
    invalid: InvalidLink,
    /// The field `Identity` names the password in its validation errors.
    password_field: &'static str,
    /// Sets the password with a token: `Identity::accept_invitation` or `reset_password`.
    redeem: fn(&Identity, &str, &str, &Client) -> Result<(), AuthError>,
    /// The notice the sign-in page shows once it has.
    done: Notice,
}

const INVITATION: LinkPage = LinkPage {
    path: "/invitations/accept",
    link_cookie: cookies::INVITATION_LINK,
    csrf_cookie: cookies::INVITATION_CSRF,
    title: "Choose your password",
    intro: "Welcome to dsms. Choose the password you will sign in with; next you will set up an \
            authenticator app on your phone.",
    password_label: "Password",
    button: "Set password",
    invalid: InvalidLink {
        title: "This invitation link is no longer valid",
        why: "The link has expired or has already been used, or it was not copied whole.",
        what_next: "If you have already chosen your password, sign in with it. Otherwise ask \
                    your administrator to send you a new invitation.",
        next_href: "/sign-in",
        next_text: "Go to sign in",
    },
    password_field: "password",
    redeem: Identity::accept_invitation,
    done: Notice::PasswordSet,
};

const PASSWORD_RESET: LinkPage = LinkPage {
    path: "/reset-password",
    link_cookie: cookies::RESET_PASSWORD_LINK,
    csrf_cookie: cookies::RESET_PASSWORD_CSRF,
    title: "Choose a new password",
    intro: "Choose a new password for your dsms account. Once it is changed, you are signed out \
            everywhere.",
    password_label: "New password",
    button: "Change password",
    invalid: InvalidLink {
        title: "This password reset link is no longer valid",
        why: "The link has expired or has already been used, a newer link has been sent since, \
              or it was not copied whole.",
        what_next: "Ask for a new link and use it soon after it arrives.",
        next_href: "/forgot-password",
        next_text: "Ask for a new link",
    },
    password_field: "new_password",
    redeem: Identity::reset_password,
    done: Notice::PasswordReset,
};

/// The longest token accepted from a link: far more than any dsms issues.
const MAX_TOKEN_LEN: usize = 128;

#[derive(Template)]
#[template(path = "choose_password.html")]
struct ChoosePasswordPage {
    link: &'static LinkPage,
    token: String,
    csrf_token: String,
    errors: PasswordErrors,
}

#[derive(Template)]
#[template(path = "link_invalid.html")]
struct LinkInvalidPage {
    link: &'static LinkPage,
}

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct ForgotPasswordPage {
    csrf_token: String,
    email: String,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "reset_sent.html")]
struct ResetSentPage {
    email: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct LinkQuery {
    token: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ChoosePasswordForm {
    token: String,
    new_password: String,
    confirm_password: String,
    csrf_token: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ForgotPasswordForm {
    email: String,
    csrf_token: String,
}

fn link_pages(link: &'static LinkPage) -> Resource {
    web::resource(link.path)
        .get(move |req: HttpRequest, ui: Ui| open(req, ui, link))
        .post(
            move |req: HttpRequest,
                  ui: Ui,
                  client: ClientInfo,
                  form: web::Form<ChoosePasswordForm>| {
                choose_password(req, ui, client, form, link)
            },
        )
}

/// A token as dsms puts them in links: URL-safe characters only, so it can go into a cookie
/// and a form as it is.
fn is_link_token(token: &str) -> bool {
    (1..=MAX_TOKEN_LEN).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The emailed link itself moves its token into a cookie and redirects to the bare page, which
/// shows the form.
async fn open(
    req: HttpRequest,
    ui: Ui,
    link: &'static LinkPage,
) -> Result<HttpResponse, PageError> {
    let in_url = web::Query::<LinkQuery>::from_query(req.query_string())
        .map(|q| q.into_inner().token)
        .unwrap_or_default();
    if !in_url.is_empty() {
        if !is_link_token(&in_url) {
            return link_invalid(&ui, link);
        }
        return Ok(see_other(&ui.site, link.path)
            .insert_header((header::CACHE_CONTROL, Caching::NoStore.header()))
            .cookie(cookies::link(&ui.site, link.link_cookie, in_url))
            .finish());
    }
    let Some(token) = req
        .cookie(link.link_cookie.name)
        .map(|c| c.value().to_owned())
        .filter(|t| is_link_token(t))
    else {
        return link_invalid(&ui, link);
    };
    let (csrf_token, cookie) = csrf::pre_session_token(&req, &ui.site, link.csrf_cookie);
    let form = ChoosePasswordPage {
        link,
        token,
        csrf_token,
        errors: PasswordErrors::default(),
    };
    page(&ui.site, StatusCode::OK, Caching::NoStore, &form, cookie)
}

async fn choose_password(
    req: HttpRequest,
    ui: Ui,
    ClientInfo(client): ClientInfo,
    web::Form(form): web::Form<ChoosePasswordForm>,
    link: &'static LinkPage,
) -> Result<HttpResponse, PageError> {
    csrf::check_pre_session_form(&req, &ui.site, link.csrf_cookie, &form.csrf_token)?;
    if !is_link_token(&form.token) {
        return link_invalid(&ui, link);
    }
    let mut errors = PasswordErrors::default();
    if form.new_password != form.confirm_password {
        errors.confirm = Some(format!(
            "Confirmation does not match the {}",
            link.password_label.to_lowercase()
        ));
    } else {
        let (token, password, redeem) = (form.token.clone(), form.new_password, link.redeem);
        match ui
            .call(move |id| redeem(id, &token, &password, &client))
            .await?
        {
            Ok(()) => {
                return Ok(see_other(&ui.site, &link.done.on("/sign-in"))
                    .cookie(cookies::removal(&ui.site, link.link_cookie))
                    .cookie(cookies::removal(&ui.site, link.csrf_cookie))
                    .finish());
            }
            Err(AuthError::Invalid(invalid)) => {
                for error in invalid.0 {
                    if error.field == link.password_field {
                        errors.new = Some(format!("{} {}", link.password_label, error.message));
                    } else {
                        errors.other.push(error.message);
                    }
                }
            }
            Err(AuthError::Unauthenticated(_)) => return link_invalid(&ui, link),
            Err(other) => return Err(PageError::unexpected(&ui.site, other)),
        }
    }
    let again = ChoosePasswordPage {
        link,
        token: form.token,
        csrf_token: form.csrf_token,
        errors,
    };
    show(&ui.site, StatusCode::OK, Caching::NoStore, &again)
}

/// The page saying the link cannot be used, forgetting its token.
fn link_invalid(ui: &Ui, link: &'static LinkPage) -> Result<HttpResponse, PageError> {
    page(
        &ui.site,
        StatusCode::GONE,
        Caching::NoStore,
        &LinkInvalidPage { link },
        [cookies::removal(&ui.site, link.link_cookie)],
    )
}

async fn forgot_password_form(req: HttpRequest, ui: Ui) -> Result<HttpResponse, PageError> {
    let (csrf_token, cookie) =
        csrf::pre_session_token(&req, &ui.site, cookies::FORGOT_PASSWORD_CSRF);
    let form = ForgotPasswordPage {
        csrf_token,
        email: String::new(),
        error: None,
    };
    page(&ui.site, StatusCode::OK, Caching::NoStore, &form, cookie)
}

/// Asks for a reset link, and answers the same whether or not the address has an account.
async fn forgot_password(
    req: HttpRequest,
    ui: Ui,
    ClientInfo(client): ClientInfo,
    web::Form(form): web::Form<ForgotPasswordForm>,
) -> Result<HttpResponse, PageError> {
    csrf::check_pre_session_form(
        &req,
        &ui.site,
        cookies::FORGOT_PASSWORD_CSRF,
        &form.csrf_token,
    )?;
    let email = form.email.trim().to_owned();
    if email.is_empty() {
        let again = ForgotPasswordPage {
            csrf_token: form.csrf_token,
            email,
            error: Some("Enter your email address"),
        };
        return show(&ui.site, StatusCode::OK, Caching::NoStore, &again);
    }
    let address = email.clone();
    ui.call(move |id| id.request_password_reset(&address, &client))
        .await?
        .map_err(|e| PageError::unexpected(&ui.site, e))?;
    show(
        &ui.site,
        StatusCode::OK,
        Caching::NoStore,
        &ResetSentPage { email },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_url_safe_tokens_of_a_sane_length_are_taken_from_links() {
        assert!(is_link_token("reset_AbC-123_xyz"));
        assert!(!is_link_token(""));
        assert!(!is_link_token("a;b"));
        assert!(!is_link_token("a b"));
        assert!(!is_link_token("a\"b"));
        assert!(!is_link_token(&"a".repeat(MAX_TOKEN_LEN + 1)));
        assert!(is_link_token(&"a".repeat(MAX_TOKEN_LEN)));
    }
}
