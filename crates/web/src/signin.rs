//! Signing in: email and password, then a code from the phone authenticator (or a recovery
//! code), enrolling the authenticator first when the person has none (first sign-in, or after an
//! administrator reset it). Between the two steps the single-use MFA token lives in a
//! short-lived cookie scoped to these pages, never in a URL.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use dsms_api::auth::ClientInfo;
use dsms_auth::{AuthError, MfaStep, SecondFactor, SessionKind, SignedIn};
use serde::Deserialize;

use crate::cookies;
use crate::csrf;
use crate::page::{Caching, Notice, PageError, page, retry_after, see_other, show};
use crate::site::Ui;

/// The one answer to a wrong email, password or code, which says nothing about which it was or
/// whether the account exists.
const NOT_CORRECT: &str = "The email address, password or code is not correct";

/// Mounts the sign-in pages.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/sign-in").get(sign_in_form).post(sign_in))
        .service(web::resource("/sign-in/totp").get(code_form).post(code))
        .service(web::resource("/sign-in/enrol").get(enrol_form).post(enrol));
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    csrf_token: String,
    email: String,
    error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "totp.html")]
struct CodePage {
    csrf_token: String,
    error: Option<String>,
}

/// What the enrolment page shows of a new authenticator secret.
struct NewAuthenticator {
    qr_png_base64: String,
    /// The secret in base32, in groups of four for typing.
    secret: String,
}

#[derive(Template)]
#[template(path = "enrol.html")]
struct EnrolPage {
    csrf_token: String,
    /// Absent when the page is shown again after a wrong code: a new secret would invalidate
    /// the one just scanned.
    authenticator: Option<NewAuthenticator>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage {
    codes: Vec<String>,
    next: &'static str,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct SignInForm {
    email: String,
    password: String,
    csrf_token: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct CodeForm {
    code: String,
    csrf_token: String,
}

async fn sign_in_form(req: HttpRequest, ui: Ui) -> Result<HttpResponse, PageError> {
    let (csrf_token, cookie) = csrf::pre_session_token(&req, &ui.site, cookies::SIGN_IN_CSRF);
    let form = SignInPage {
        csrf_token,
        email: String::new(),
        error: None,
        notice: Notice::of(&req).map(Notice::text),
    };
    page(&ui.site, StatusCode::OK, Caching::Private, &form, cookie)
}

async fn sign_in(
    req: HttpRequest,
    ui: Ui,
    ClientInfo(client): ClientInfo,
    web::Form(form): web::Form<SignInForm>,
) -> Result<HttpResponse, PageError> {
    csrf::check_pre_session_form(&req, &ui.site, cookies::SIGN_IN_CSRF, &form.csrf_token)?;
    let (email, password) = (form.email.clone(), form.password);
    match ui
        .call(move |id| id.login(&email, &password, &client))
        .await?
    {
        Ok(challenge) => {
            let next = match challenge.mfa {
                MfaStep::Verify => "/sign-in/totp",
                MfaStep::Enrol => "/sign-in/enrol",
            };
            let lifetime = ui.identity.settings().mfa_challenge_ttl;
            Ok(see_other(&ui.site, next)
                .cookie(cookies::mfa(&ui.site, challenge.mfa_token, lifetime))
                .finish())
        }
        Err(error) => refused(&ui, error, Caching::Private, |message| SignInPage {
            csrf_token: form.csrf_token,
            email: form.email,
            error: Some(message),
            notice: None,
        }),
    }
}

async fn code_form(req: HttpRequest, ui: Ui) -> Result<HttpResponse, PageError> {
    if mfa_token(&req).is_none() {
        return Ok(see_other(&ui.site, "/sign-in").finish());
    }
    let (csrf_token, cookie) = csrf::pre_session_token(&req, &ui.site, cookies::SIGN_IN_CSRF);
    let form = CodePage {
        csrf_token,
        error: None,
    };
    page(&ui.site, StatusCode::OK, Caching::NoStore, &form, cookie)
}

async fn code(
    req: HttpRequest,
    ui: Ui,
    ClientInfo(client): ClientInfo,
    web::Form(form): web::Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    csrf::check_pre_session_form(&req, &ui.site, cookies::SIGN_IN_CSRF, &form.csrf_token)?;
    let Some(mfa) = mfa_token(&req) else {
        return Ok(step_expired(&ui));
    };
    let factor = second_factor(&form.code);
    match ui
        .call(move |id| id.verify_second_factor(&mfa, &factor, SessionKind::Web, &client))
        .await?
    {
        Ok(signed_in) => {
            let next = next_page(&signed_in);
            let [session, mfa, csrf] = signed_in_cookies(&ui, signed_in)?;
            Ok(see_other(&ui.site, next)
                .cookie(session)
                .cookie(mfa)
                .cookie(csrf)
                .finish())
        }
        Err(error) => refused(&ui, error, Caching::NoStore, |message| CodePage {
            csrf_token: form.csrf_token,
            error: Some(message),
        }),
    }
}

async fn enrol_form(
    req: HttpRequest,
    ui: Ui,
    ClientInfo(client): ClientInfo,
) -> Result<HttpResponse, PageError> {
    let Some(mfa) = mfa_token(&req) else {
        return Ok(see_other(&ui.site, "/sign-in").finish());
    };
    let (csrf_token, cookie) = csrf::pre_session_token(&req, &ui.site, cookies::SIGN_IN_CSRF);
    match ui.call(move |id| id.enrol(&mfa, &client)).await? {
        Ok(enrolment) => {
            let form = EnrolPage {
                csrf_token,
                authenticator: Some(NewAuthenticator {
                    qr_png_base64: enrolment.qr_png_base64,
                    secret: in_fours(&enrolment.secret),
                }),
                error: None,
            };
            page(&ui.site, StatusCode::OK, Caching::NoStore, &form, cookie)
        }
        Err(error) => refused(&ui, error, Caching::NoStore, |message| EnrolPage {
            csrf_token,
            authenticator: None,
            error: Some(message),
        }),
    }
}

async fn enrol(
    req: HttpRequest,
    ui: Ui,
    ClientInfo(client): ClientInfo,
    web::Form(form): web::Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    csrf::check_pre_session_form(&req, &ui.site, cookies::SIGN_IN_CSRF, &form.csrf_token)?;
    let Some(mfa) = mfa_token(&req) else {
        return Ok(step_expired(&ui));
    };
    let code = form.code.clone();
    match ui
        .call(move |id| id.confirm_enrolment(&mfa, &code, SessionKind::Web, &client))
        .await?
    {
        Ok(mut signed_in) => {
            let codes = std::mem::take(&mut signed_in.recovery_codes);
            let next = next_page(&signed_in);
            let cookies = signed_in_cookies(&ui, signed_in)?;
            let shown_once = RecoveryCodesPage { codes, next };
            page(
                &ui.site,
                StatusCode::OK,
                Caching::NoStore,
                &shown_once,
                cookies,
            )
        }
        Err(AuthError::InvalidCredentials) => {
            let form = EnrolPage {
                csrf_token: form.csrf_token,
                authenticator: None,
                error: Some(
                    "That code is not correct. Enter the code your app shows now; if it keeps \
                     failing, check the time on your phone or start again."
                        .into(),
                ),
            };
            show(&ui.site, StatusCode::OK, Caching::NoStore, &form)
        }
        Err(error) => refused(&ui, error, Caching::NoStore, |message| EnrolPage {
            csrf_token: form.csrf_token,
            authenticator: None,
            error: Some(message),
        }),
    }
}

fn mfa_token(req: &HttpRequest) -> Option<String> {
    req.cookie(cookies::MFA.name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// A six-digit code from the app (spaces as apps show them allowed), or else a recovery code.
fn second_factor(typed: &str) -> SecondFactor {
    let compact: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() == 6 && compact.bytes().all(|b| b.is_ascii_digit()) {
        SecondFactor::Code(compact)
    } else {
        SecondFactor::RecoveryCode(typed.to_owned())
    }
}

/// `ABCDEFGH…` as `ABCD EFGH …`, for typing into an app by hand.
fn in_fours(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(String::from_utf8_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where a person goes once signed in.
fn next_page(signed_in: &SignedIn) -> &'static str {
    if signed_in.must_change_password {
        "/account/password"
    } else {
        "/account"
    }
}

/// The new session's cookie, and the removal of the sign-in steps' cookies.
fn signed_in_cookies(
    ui: &Ui,
    signed_in: SignedIn,
) -> Result<[actix_web::cookie::Cookie<'static>; 3], PageError> {
    let value = signed_in.cookie.ok_or_else(|| {
        PageError::internal(
            ui.site.clone(),
            "a web session came without a cookie".into(),
        )
    })?;
    Ok([
        cookies::session(&ui.site, value),
        cookies::removal(&ui.site, cookies::MFA),
        cookies::removal(&ui.site, cookies::SIGN_IN_CSRF),
    ])
}

fn step_expired(ui: &Ui) -> HttpResponse {
    see_other(&ui.site, &Notice::StepExpired.on("/sign-in"))
        .cookie(cookies::removal(&ui.site, cookies::MFA))
        .finish()
}

/// Answers a refused sign-in step: the form again with the generic message, or with the wait
/// when throttled (429); back to the start when the step has expired.
fn refused<T: Template>(
    ui: &Ui,
    error: AuthError,
    caching: Caching,
    form_with: impl FnOnce(String) -> T,
) -> Result<HttpResponse, PageError> {
    match error {
        AuthError::InvalidCredentials => show(
            &ui.site,
            StatusCode::OK,
            caching,
            &form_with(NOT_CORRECT.into()),
        ),
        AuthError::Throttled { retry_after_secs } => {
            let unit = if retry_after_secs == 1 {
                "second"
            } else {
                "seconds"
            };
            let message = format!("Too many attempts; try again in {retry_after_secs} {unit}");
            let mut res = show(
                &ui.site,
                StatusCode::TOO_MANY_REQUESTS,
                caching,
                &form_with(message),
            )?;
            retry_after(&mut res, retry_after_secs);
            Ok(res)
        }
        AuthError::Unauthenticated(_) => Ok(step_expired(ui)),
        other => Err(PageError::unexpected(&ui.site, other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_digits_are_a_code_and_anything_else_a_recovery_code() {
        assert!(matches!(second_factor("123 456"), SecondFactor::Code(c) if c == "123456"));
        assert!(matches!(
            second_factor("abcd-efgh-ijkl-mnop"),
            SecondFactor::RecoveryCode(_)
        ));
        assert!(matches!(
            second_factor("1234567"),
            SecondFactor::RecoveryCode(_)
        ));
    }

    #[test]
    fn secrets_are_shown_in_groups_of_four() {
        assert_eq!(in_fours("ABCDEFGHIJ"), "ABCD EFGH IJ");
        assert_eq!(in_fours(""), "");
    }
}
