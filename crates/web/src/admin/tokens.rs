//! API tokens, for organisation administrators: the list, issuing one (its secret shown once,
//! on the page that answers the form, never in an address), and revoking one.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use chrono::{NaiveDate, NaiveDateTime};
use dsms_api::ApiState;
use dsms_auth::{ApiToken, AuthError, NewApiTokenRequest};
use dsms_core::{PageRequest, Permission, Scope};
use serde::Deserialize;

use super::fields::FieldErrors;
use super::organisations::{Tick, form_pairs};
use super::{Acting, Answer, Refusal, when, when_or};
use crate::nav::{Area, Menu};
use crate::page::{Caching, see_other, show};
use crate::session::WebSession;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/tokens", web::get().to(list))
        .service(
            web::resource("/admin/tokens/new")
                .get(issue_form)
                .post(issue),
        )
        .route("/admin/tokens/{id}/revoke", web::post().to(revoke));
}

/// Tokens on one page of the list.
const PAGE_SIZE: i64 = 50;

/// A scope as people read it.
fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::IncidentsRead => "Read incidents",
        Scope::IncidentsWrite => "Raise, update and comment on incidents",
        Scope::RequestsRead => "Read service requests",
        Scope::RequestsWrite => "Raise and follow service requests",
        Scope::HubsRead => "Read hub forecasts, orders and returns",
        Scope::HubsWrite => "Submit hub forecasts, orders and returns",
        Scope::ReportsRead => "Read reports and diagnostics",
    }
}

struct Row {
    id: i64,
    name: String,
    prefix: String,
    scopes: String,
    issued: String,
    expires: String,
    last_used: String,
    state: &'static str,
    live: bool,
}

impl Row {
    fn of(token: ApiToken, now: NaiveDateTime) -> Self {
        let (state, live) = match (token.revoked_at, token.expires_at <= now) {
            (Some(_), _) => ("Revoked", false),
            (None, true) => ("Expired", false),
            (None, false) => ("Active", true),
        };
        Self {
            id: token.id,
            name: token.name,
            prefix: token.prefix,
            scopes: token
                .scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            issued: when(token.created_at),
            expires: when(token.expires_at),
            last_used: when_or(token.last_used_at, "Never"),
            state,
            live,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    cursor: String,
    done: String,
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct ListPage {
    csrf_token: String,
    menu: Menu,
    notice: Option<&'static str>,
    rows: Vec<Row>,
    first_page: bool,
    next_page: Option<String>,
}

async fn list(
    session: WebSession,
    state: web::Data<ApiState>,
    query: web::Query<ListQuery>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ManageApiTokens)?;
    let page = PageRequest::parse(Some(PAGE_SIZE), Some(&query.cursor))
        .map_err(|_| Refusal::not_found(acting.site()))?;
    let principal = acting.principal().clone();
    let identity = acting.session.ui.identity.clone();
    let found = acting
        .call(move || identity.list_api_tokens(&principal, page))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let now = state.clock.now().naive_utc();
    let page = ListPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Administration),
        notice: match query.done.as_str() {
            "revoked" => Some("The token has been revoked; it stops working at once."),
            _ => None,
        },
        rows: found.items.into_iter().map(|t| Row::of(t, now)).collect(),
        first_page: query.cursor.is_empty(),
        next_page: found
            .next_cursor
            .map(|c| format!("/admin/tokens?cursor={c}")),
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

/// The issue form as submitted (or empty).
#[derive(Debug, Default)]
struct IssueForm {
    name: String,
    scopes: Vec<String>,
    expires_on: String,
    csrf_token: String,
}

#[derive(Template)]
#[template(path = "admin/token_form.html")]
struct IssuePage {
    csrf_token: String,
    menu: Menu,
    form: IssueForm,
    scopes: Vec<Tick>,
    errors: FieldErrors,
}

fn issue_page(acting: &Acting, form: IssueForm, errors: FieldErrors) -> IssuePage {
    IssuePage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Administration),
        scopes: Scope::ALL
            .iter()
            .map(|s| Tick {
                value: s.as_str(),
                text: scope_name(*s),
                checked: form.scopes.iter().any(|c| c == s.as_str()),
            })
            .collect(),
        form,
        errors: errors.in_order(&["name", "scopes", "expires_on"]),
    }
}

async fn issue_form(session: WebSession) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ManageApiTokens)?;
    let page = issue_page(&acting, IssueForm::default(), FieldErrors::new());
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

#[derive(Template)]
#[template(path = "admin/token_issued.html")]
struct IssuedPage {
    csrf_token: String,
    menu: Menu,
    name: String,
    secret: String,
    expires: String,
}

async fn issue(req: HttpRequest, session: WebSession, body: web::Bytes) -> Answer {
    let acting = Acting::of(session)?;
    let mut form = IssueForm::default();
    for (name, value) in form_pairs(&body) {
        match name.as_str() {
            "name" => form.name = value,
            "scopes" => form.scopes.push(value),
            "expires_on" => form.expires_on = value,
            "csrf_token" => form.csrf_token = value,
            _ => {}
        }
    }
    acting.check_form(&req, &form.csrf_token)?;
    acting.require(Permission::ManageApiTokens)?;
    let mut errors = FieldErrors::new();
    let expires_at = match form.expires_on.trim() {
        "" => None,
        text => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            // The whole of the chosen day, in UTC.
            Ok(day) => day.and_hms_opt(23, 59, 59).map(|t| t.and_utc()),
            Err(_) => {
                errors.add(
                    "expires_on",
                    "Expiry date must be a date such as 2027-03-31",
                );
                None
            }
        },
    };
    if form.scopes.is_empty() {
        errors.add("scopes", "Choose at least one thing the token may do");
    }
    if !errors.any() {
        let request = NewApiTokenRequest {
            name: form.name.clone(),
            scopes: form.scopes.clone(),
            expires_at,
        };
        let principal = acting.principal().clone();
        let identity = acting.session.ui.identity.clone();
        let client = acting.client(&req);
        match acting
            .call(move || identity.issue_api_token(&principal, request, &client))
            .await?
        {
            Ok((token, secret)) => {
                let page = IssuedPage {
                    csrf_token: acting.csrf_token(),
                    menu: acting.menu(Area::Administration),
                    name: token.name,
                    secret,
                    expires: when(token.expires_at),
                };
                return Ok(show(
                    acting.site(),
                    StatusCode::OK,
                    Caching::NoStore,
                    &page,
                )?);
            }
            Err(AuthError::Invalid(invalid)) => {
                let found = FieldErrors::from_validation(
                    invalid,
                    &[
                        ("name", "name", "Name"),
                        ("scopes", "scopes", "Each scope"),
                        ("expires_at", "expires_on", "Expiry date"),
                    ],
                );
                for problem in found.all() {
                    errors.add(&problem.field, problem.message.clone());
                }
                for other in found.others() {
                    errors.add_other(other.clone());
                }
            }
            Err(other) => return Err(Refusal::from_context(acting.site(), other)),
        }
    }
    let page = issue_page(&acting, form, errors);
    Ok(show(
        acting.site(),
        StatusCode::UNPROCESSABLE_ENTITY,
        Caching::NoStore,
        &page,
    )?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RevokeForm {
    csrf_token: String,
}

async fn revoke(
    req: HttpRequest,
    session: WebSession,
    id: web::Path<i64>,
    web::Form(form): web::Form<RevokeForm>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.check_form(&req, &form.csrf_token)?;
    acting.require(Permission::ManageApiTokens)?;
    let id = id.into_inner();
    let principal = acting.principal().clone();
    let identity = acting.session.ui.identity.clone();
    let client = acting.client(&req);
    acting
        .call(move || identity.revoke_api_token(&principal, id, &client))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    Ok(see_other(acting.site(), "/admin/tokens?done=revoked").finish())
}
