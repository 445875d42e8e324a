//! A person's own account: who they are, changing their password, signing out.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use dsms_api::auth::ClientInfo;
use dsms_auth::{AuthError, Role};
use serde::Deserialize;

use crate::cookies;
use crate::csrf;
use crate::page::{Caching, Notice, PageError, see_other, show};
use crate::session::WebSession;

/// Mounts the account pages.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/account", web::get().to(account))
        .service(
            web::resource("/account/password")
                .get(password_form)
                .post(change_password),
        )
        .route("/sign-out", web::post().to(sign_out));
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    csrf_token: String,
    notice: Option<&'static str>,
    name: String,
    email: String,
    organisation: String,
    roles: Vec<&'static str>,
    mfa_enrolled: bool,
    last_sign_in: Option<String>,
}

/// What is wrong with a password change or choice, field by field.
#[derive(Default)]
pub(crate) struct PasswordErrors {
    /// The current password, when one is asked for.
    pub current: Option<String>,
    /// The new password.
    pub new: Option<String>,
    /// Its confirmation.
    pub confirm: Option<String>,
    /// Anything not about one field.
    pub other: Vec<String>,
}

impl PasswordErrors {
    /// Whether there is anything to show.
    pub fn any(&self) -> bool {
        self.current.is_some()
            || self.new.is_some()
            || self.confirm.is_some()
            || !self.other.is_empty()
    }
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    csrf_token: String,
    must_change: bool,
    errors: PasswordErrors,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
    csrf_token: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct SignOutForm {
    csrf_token: String,
}

async fn home(session: WebSession) -> HttpResponse {
    see_other(&session.ui.site, "/account").finish()
}

async fn account(req: HttpRequest, session: WebSession) -> Result<HttpResponse, PageError> {
    session.require_password_chosen()?;
    let site = &session.ui.site;
    let principal = session.authenticated.principal.clone();
    let person_id = principal.person_id().ok_or_else(|| {
        PageError::internal(site.clone(), "a web session without a person".into())
    })?;
    let (person, organisation) = session
        .ui
        .call(move |id| {
            let person = id.person(&principal, person_id)?;
            let organisation = id.organisation(&principal, person.organisation_id)?;
            Ok((person, organisation))
        })
        .await?
        .map_err(|e| PageError::unexpected(site, e))?;
    let page = AccountPage {
        csrf_token: session.csrf_token().to_owned(),
        notice: Notice::of(&req).map(Notice::text),
        name: person.name,
        email: person.email,
        organisation: organisation.name,
        roles: person.roles.iter().map(|r| role_name(*r)).collect(),
        mfa_enrolled: person.mfa_enrolled,
        last_sign_in: person
            .last_sign_in_at
            .map(|t| t.format("%-d %B %Y at %H:%M UTC").to_string()),
    };
    show(site, StatusCode::OK, Caching::NoStore, &page)
}

async fn password_form(session: WebSession) -> Result<HttpResponse, PageError> {
    let page = PasswordPage {
        csrf_token: session.csrf_token().to_owned(),
        must_change: session.authenticated.must_change_password,
        errors: PasswordErrors::default(),
    };
    show(&session.ui.site, StatusCode::OK, Caching::NoStore, &page)
}

async fn change_password(
    req: HttpRequest,
    session: WebSession,
    ClientInfo(client): ClientInfo,
    web::Form(form): web::Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let site = &session.ui.site;
    csrf::check_session_form(
        &req,
        site,
        session.authenticated.csrf_token.as_deref(),
        &form.csrf_token,
    )?;
    let mut errors = PasswordErrors::default();
    if form.new_password != form.confirm_password {
        errors.confirm = Some("Confirmation does not match the new password".into());
    } else {
        let who = session.authenticated.clone();
        let (current, new) = (form.current_password, form.new_password);
        match session
            .ui
            .call(move |id| id.change_password(&who, &current, &new, &client))
            .await?
        {
            Ok(()) => {
                return Ok(see_other(site, &Notice::PasswordChanged.on("/account")).finish());
            }
            Err(AuthError::Invalid(invalid)) => {
                for error in invalid.0 {
                    match error.field.as_str() {
                        "current_password" => {
                            errors.current = Some(format!("Current password {}", error.message));
                        }
                        "new_password" => {
                            errors.new = Some(format!("New password {}", error.message));
                        }
                        _ => errors.other.push(error.message),
                    }
                }
            }
            Err(other) => return Err(PageError::unexpected(site, other)),
        }
    }
    let page = PasswordPage {
        csrf_token: session.csrf_token().to_owned(),
        must_change: session.authenticated.must_change_password,
        errors,
    };
    show(site, StatusCode::OK, Caching::NoStore, &page)
}

async fn sign_out(
    req: HttpRequest,
    session: WebSession,
    ClientInfo(client): ClientInfo,
    web::Form(form): web::Form<SignOutForm>,
) -> Result<HttpResponse, PageError> {
    let site = &session.ui.site;
    csrf::check_session_form(
        &req,
        site,
        session.authenticated.csrf_token.as_deref(),
        &form.csrf_token,
    )?;
    let who = session.authenticated.clone();
    match session.ui.call(move |id| id.logout(&who, &client)).await? {
        // Already ended (a race with expiry): the visitor is signed out either way.
        Ok(()) | Err(AuthError::Unauthenticated(_)) => {
            Ok(see_other(site, &Notice::SignedOut.on("/sign-in"))
                .cookie(cookies::removal(site, cookies::SESSION))
                .finish())
        }
        Err(other) => Err(PageError::unexpected(site, other)),
    }
}

/// A role as people call it.
fn role_name(role: Role) -> &'static str {
    match role {
        Role::DccAdmin => "DCC administrator",
        Role::ServiceDeskManager => "Service desk manager",
        Role::ServiceDeskAgent => "Service desk agent",
        Role::OrgAdmin => "Organisation administrator",
        Role::OrgUser => "Organisation user",
        Role::OrgReporter => "Organisation reporter",
    }
}
