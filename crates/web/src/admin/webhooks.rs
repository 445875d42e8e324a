//! Webhook endpoints, for organisation administrators: the list, registering one (its signing
//! secret shown once, on the page that answers the form), enabling and disabling one, and its
//! delivery attempts with their outcome.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use dsms_core::{PageRequest, Permission};
use dsms_webhooks::events::{ALL_INCIDENT_EVENTS, EVENT_TYPES};
use dsms_webhooks::{
    Delivery, Endpoint, EndpointChanges, EndpointStatus, NewEndpoint, WebhookError, Webhooks,
};
use serde::Deserialize;

use super::fields::FieldErrors;
use super::organisations::form_pairs;
use super::{Acting, Answer, Refusal, when};
use crate::nav::{Area, Menu};
use crate::page::{Caching, see_other, show};
use crate::session::WebSession;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/webhooks", web::get().to(list))
        .service(
            web::resource("/admin/webhooks/new")
                .get(register_form)
                .post(register),
        )
        .route("/admin/webhooks/{id}", web::get().to(deliveries))
        .route("/admin/webhooks/{id}/status", web::post().to(change_status));
}

/// Endpoints or deliveries on one page.
const PAGE_SIZE: i64 = 50;

struct Row {
    id: i64,
    url: String,
    description: String,
    events: String,
    active: bool,
    disabled_reason: Option<String>,
    failures: i32,
    version: i64,
}

impl From<Endpoint> for Row {
    fn from(e: Endpoint) -> Self {
        Self {
            id: e.id,
            url: e.url,
            description: e.description,
            events: e.events.join(", "),
            active: e.status == EndpointStatus::Active,
            disabled_reason: e.disabled_reason,
            failures: e.consecutive_failures,
            version: e.version,
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
#[template(path = "admin/webhooks.html")]
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
    hooks: web::Data<Webhooks>,
    query: web::Query<ListQuery>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ManageWebhooks)?;
    let page = PageRequest::parse(Some(PAGE_SIZE), Some(&query.cursor))
        .map_err(|_| Refusal::not_found(acting.site()))?;
    let principal = acting.principal().clone();
    let hooks = hooks.into_inner();
    let found = acting
        .call(move || hooks.list(&principal, page))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let page = ListPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Administration),
        notice: match query.done.as_str() {
            "enabled" => Some("The endpoint is enabled and will receive new events."),
            "disabled" => Some("The endpoint is disabled and will receive nothing."),
            _ => None,
        },
        rows: found.items.into_iter().map(Row::from).collect(),
        first_page: query.cursor.is_empty(),
        next_page: found
            .next_cursor
            .map(|c| format!("/admin/webhooks?cursor={c}")),
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

/// An event to subscribe to, as the form offers it.
struct EventChoice {
    value: &'static str,
    checked: bool,
}

/// The register form as submitted (or empty).
#[derive(Debug, Default)]
struct RegisterForm {
    url: String,
    description: String,
    events: Vec<String>,
    csrf_token: String,
}

#[derive(Template)]
#[template(path = "admin/webhook_form.html")]
struct RegisterPage {
    csrf_token: String,
    menu: Menu,
    form: RegisterForm,
    all_events: EventChoice,
    events: Vec<EventChoice>,
    errors: FieldErrors,
}

fn register_page(acting: &Acting, form: RegisterForm, errors: FieldErrors) -> RegisterPage {
    let checked = |e: &str| form.events.iter().any(|c| c == e);
    RegisterPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Administration),
        all_events: EventChoice {
            value: ALL_INCIDENT_EVENTS,
            checked: checked(ALL_INCIDENT_EVENTS),
        },
        events: EVENT_TYPES
            .iter()
            .map(|e| EventChoice {
                value: e,
                checked: checked(e),
            })
            .collect(),
        form,
        errors: errors.in_order(&["url", "description", "events"]),
    }
}

async fn register_form(session: WebSession) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ManageWebhooks)?;
    let page = register_page(&acting, RegisterForm::default(), FieldErrors::new());
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

#[derive(Template)]
#[template(path = "admin/webhook_created.html")]
struct CreatedPage {
    csrf_token: String,
    menu: Menu,
    url: String,
    secret: String,
}

async fn register(
    req: HttpRequest,
    session: WebSession,
    hooks: web::Data<Webhooks>,
    body: web::Bytes,
) -> Answer {
    let acting = Acting::of(session)?;
    let mut form = RegisterForm::default();
    for (name, value) in form_pairs(&body) {
        match name.as_str() {
            "url" => form.url = value,
            "description" => form.description = value,
            "events" => form.events.push(value),
            "csrf_token" => form.csrf_token = value,
            _ => {}
        }
    }
    acting.check_form(&req, &form.csrf_token)?;
    acting.require(Permission::ManageWebhooks)?;
    let new = NewEndpoint {
        url: form.url.clone(),
        events: form.events.clone(),
        description: Some(form.description.clone()),
        organisation_id: None,
    };
    let principal = acting.principal().clone();
    let hooks = hooks.into_inner();
    let request_id = acting.client(&req).request_id;
    let mut errors = FieldErrors::new();
    match acting
        .call(move || hooks.register(&principal, new, request_id.as_deref()))
        .await?
    {
        Ok((endpoint, secret)) => {
            let page = CreatedPage {
                csrf_token: acting.csrf_token(),
                menu: acting.menu(Area::Administration),
                url: endpoint.url,
                secret,
            };
            return Ok(show(
                acting.site(),
                StatusCode::OK,
                Caching::NoStore,
                &page,
            )?);
        }
        Err(WebhookError::Invalid(invalid)) => {
            if form.events.is_empty() {
                errors.add("events", "Choose at least one event");
            }
            let found = FieldErrors::from_validation(
                invalid,
                &[
                    ("url", "url", "Address"),
                    ("description", "description", "Description"),
                    ("events", "events", "Events"),
                ],
            );
            for problem in found.all() {
                errors.add(&problem.field, problem.message.clone());
            }
            for other in found.others() {
                errors.add_other(other.clone());
            }
        }
        Err(WebhookError::TooMany(most)) => errors.add_other(format!(
            "Your organisation already has {most} endpoints, the most allowed. Delete one first."
        )),
        Err(other) => return Err(Refusal::from_context(acting.site(), other)),
    }
    let page = register_page(&acting, form, errors);
    Ok(show(
        acting.site(),
        StatusCode::UNPROCESSABLE_ENTITY,
        Caching::NoStore,
        &page,
    )?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StatusForm {
    status: String,
    version: String,
    csrf_token: String,
}

async fn change_status(
    req: HttpRequest,
    session: WebSession,
    hooks: web::Data<Webhooks>,
    id: web::Path<i64>,
    web::Form(form): web::Form<StatusForm>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.check_form(&req, &form.csrf_token)?;
    acting.require(Permission::ManageWebhooks)?;
    let Some(status) = EndpointStatus::parse(&form.status) else {
        return Err(Refusal::from_context(
            acting.site(),
            dsms_api::ApiError::invalid("status", "must be active or disabled"),
        ));
    };
    let id = id.into_inner();
    let principal = acting.principal().clone();
    let hooks = hooks.into_inner();
    let request_id = acting.client(&req).request_id;
    let changes = EndpointChanges {
        status: Some(status.as_str().to_owned()),
        ..EndpointChanges::default()
    };
    let version = form.version.parse().ok();
    match acting
        .call(move || hooks.update(&principal, id, version, changes, request_id.as_deref()))
        .await?
    {
        Ok(_) => {
            let done = if status == EndpointStatus::Active {
                "enabled"
            } else {
                "disabled"
            };
            Ok(see_other(acting.site(), &format!("/admin/webhooks?done={done}")).finish())
        }
        // Someone else changed it meanwhile: the list shows where it stands now.
        Err(WebhookError::VersionMismatch(_)) => {
            Ok(see_other(acting.site(), "/admin/webhooks").finish())
        }
        Err(other) => Err(Refusal::from_context(acting.site(), other)),
    }
}

struct DeliveryRow {
    at: String,
    event_type: String,
    attempt: i32,
    outcome: String,
    delivered: bool,
    duration_ms: i64,
}

impl From<Delivery> for DeliveryRow {
    fn from(d: Delivery) -> Self {
        let outcome = match (d.status_code, d.error) {
            (Some(code), _) => format!("HTTP {code}"),
            (None, Some(error)) => error,
            (None, None) => "No answer".to_owned(),
        };
        Self {
            at: when(d.created_at),
            event_type: d.event_type,
            attempt: d.attempt,
            outcome,
            delivered: d.delivered,
            duration_ms: d.duration_ms,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PageQuery {
    cursor: String,
}

#[derive(Template)]
#[template(path = "admin/webhook.html")]
struct DeliveriesPage {
    csrf_token: String,
    menu: Menu,
    endpoint: Row,
    created: String,
    rows: Vec<DeliveryRow>,
    first_page: bool,
    next_page: Option<String>,
}

async fn deliveries(
    session: WebSession,
    hooks: web::Data<Webhooks>,
    id: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ManageWebhooks)?;
    let page = PageRequest::parse(Some(PAGE_SIZE), Some(&query.cursor))
        .map_err(|_| Refusal::not_found(acting.site()))?;
    let id = id.into_inner();
    let principal = acting.principal().clone();
    let hooks = hooks.into_inner();
    let (endpoint, found) = acting
        .call(move || {
            let endpoint = hooks.get(&principal, id)?;
            let found = hooks.deliveries(&principal, id, page)?;
            Ok::<_, WebhookError>((endpoint, found))
        })
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let page = DeliveriesPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Administration),
        created: when(endpoint.created_at),
        endpoint: Row::from(endpoint),
        rows: found.items.into_iter().map(DeliveryRow::from).collect(),
        first_page: query.cursor.is_empty(),
        next_page: found
            .next_cursor
            .map(|c| format!("/admin/webhooks/{id}?cursor={c}")),
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}
