//! Webhooks: organisation admins register HTTPS endpoints for their systems and choose the
//! events they receive; deliveries are signed (see the `Dsms-Signature` scheme in the README).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use dsms_webhooks::{Delivery, Endpoint, EndpointChanges, NewEndpoint, WebhookError, Webhooks};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, blocking};
use crate::extract::Json;
use crate::problem::{ApiError, Problem};
use crate::routes::dto::{
    ListOf, PageQuery, created, if_match, opt_id_from_string_or_number, time, time_opt, with_etag,
};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/webhooks").post(create).get(list))
        .service(
            web::resource("/webhooks/{id}")
                .get(get)
                .patch(update)
                .delete(delete),
        )
        .service(web::resource("/webhooks/{id}/rotate-secret").post(rotate_secret))
        .service(web::resource("/webhooks/{id}/deliveries").get(deliveries));
}

impl From<WebhookError> for ApiError {
    fn from(error: WebhookError) -> Self {
        match error {
            WebhookError::Invalid(errors) => Self::Validation(errors),
            WebhookError::NotFound => Self::NotFound,
            WebhookError::Forbidden(f) => Self::Forbidden(f.to_string()),
            WebhookError::VersionMismatch(_) => Self::VersionMismatch(error.to_string()),
            WebhookError::TooMany(_) => Self::Conflict {
                detail: error.to_string(),
                extensions: serde_json::Map::new(),
            },
            WebhookError::Secret(_) => Self::Internal(error.to_string()),
            WebhookError::Store(e) => e.into(),
        }
    }
}

/// A webhook endpoint, without its signing secret.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WebhookOut {
    /// Its id.
    id: String,
    /// The organisation whose events it receives.
    organisation_id: String,
    /// Where deliveries are POSTed.
    url: String,
    /// What it is for.
    description: String,
    /// The event types it receives; `incident.*` for every incident event.
    #[schema(example = json!(["incident.created", "incident.resolved"]))]
    events: Vec<String>,
    /// `active`, or `disabled` (by a person, or automatically after failing for a long time).
    status: String,
    /// Why it is disabled.
    disabled_reason: Option<String>,
    /// Deliveries failed in a row since the last success.
    consecutive_failures: i32,
    /// When the current run of failures began.
    first_failure_at: Option<String>,
    /// The person who registered it.
    created_by: String,
    /// When it was registered.
    created_at: String,
    /// When it last changed.
    updated_at: String,
    /// Optimistic-concurrency version (also the `ETag`).
    version: i64,
}

impl From<Endpoint> for WebhookOut {
    fn from(e: Endpoint) -> Self {
        Self {
            id: e.id.to_string(),
            organisation_id: e.organisation_id.to_string(),
            url: e.url,
            description: e.description,
            events: e.events,
            status: e.status.as_str().to_owned(),
            disabled_reason: e.disabled_reason,
            consecutive_failures: e.consecutive_failures,
            first_failure_at: time_opt(e.first_failure_at),
            created_by: e.created_by.to_string(),
            created_at: time(e.created_at),
            updated_at: time(e.updated_at),
            version: e.version,
        }
    }
}

/// An endpoint with its signing secret, shown this once (on create and on rotation).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WebhookWithSecret {
    /// The key of the `Dsms-Signature` HMAC. Stored only encrypted: it cannot be shown again.
    secret: String,
    /// The endpoint.
    #[serde(flatten)]
    details: WebhookOut,
}

/// An endpoint to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookIn {
    /// An `https://` URL on the internet (no user name or password, no private addresses).
    #[schema(example = "https://hooks.supplier.example/dsms")]
    url: String,
    /// Event types: `incident.created`, `incident.updated`, `incident.assigned`,
    /// `incident.comment_added`, `incident.resolved`, `incident.reopened`, `incident.closed`,
    /// `incident.cancelled`, or `incident.*` for all.
    #[schema(example = json!(["incident.created", "incident.comment_added"]))]
    events: Vec<String>,
    /// What it is for.
    description: Option<String>,
    /// The organisation whose events it receives; the caller's own when absent (operator
    /// administrators may name another).
    #[serde(default, deserialize_with = "opt_id_from_string_or_number")]
    #[schema(value_type = Option<String>)]
    organisation_id: Option<i64>,
}

/// Changes to an endpoint; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookPatch {
    /// A new URL.
    url: Option<String>,
    /// A new set of event types, replacing the old.
    events: Option<Vec<String>>,
    /// A new description.
    description: Option<String>,
    /// `active` re-enables a disabled endpoint (forgetting its failures); `disabled` stops
    /// deliveries.
    status: Option<String>,
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveryOut {
    /// The attempt's id.
    id: String,
    /// The `Dsms-Delivery` header sent: the same on every retry of one event to this endpoint.
    delivery_id: String,
    /// The event type.
    event_type: String,
    /// The event's id.
    event_id: String,
    /// 1 for the first attempt, 2 for the first retry, ...
    attempt: i32,
    /// The receiver's HTTP status, when it answered.
    status_code: Option<i32>,
    /// Why the attempt failed.
    error: Option<String>,
    /// How long it took.
    duration_ms: i64,
    /// True when the receiver answered 2xx.
    delivered: bool,
    /// When the attempt ended.
    created_at: String,
}

impl From<Delivery> for DeliveryOut {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id.to_string(),
            delivery_id: d.delivery_id.to_string(),
            event_type: d.event_type,
            event_id: d.event_id.to_string(),
            attempt: d.attempt,
            status_code: d.status_code,
            error: d.error,
            duration_ms: d.duration_ms,
            delivered: d.delivered,
            created_at: time(d.created_at),
        }
    }
}

fn with_secret(endpoint: Endpoint, secret: String) -> WebhookWithSecret {
    WebhookWithSecret {
        secret,
        details: endpoint.into(),
    }
}

/// A response carrying a secret must not be kept by any cache.
fn not_stored(mut response: HttpResponse) -> HttpResponse {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Registers a webhook endpoint (organisation admins). The response carries the signing secret,
/// shown this once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    request_body = WebhookIn,
    responses((status = 201, body = WebhookWithSecret, headers(("Location" = String), ("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn create(
    caller: Caller,
    hooks: web::Data<Webhooks>,
    Json(body): Json<WebhookIn>,
) -> Result<HttpResponse, ApiError> {
    let hooks = hooks.into_inner();
    let (endpoint, secret) = blocking(move || {
        hooks
            .register(
                &caller.principal,
                NewEndpoint {
                    url: body.url,
                    events: body.events,
                    description: body.description,
                    organisation_id: body.organisation_id,
                },
                caller.client.request_id.as_deref(),
            )
            .map_err(ApiError::from)
    })
    .await?;
    Ok(not_stored(created(
        format!("/api/v1/webhooks/{}", endpoint.id),
        Some(endpoint.version),
        &with_secret(endpoint, secret),
    )))
}

/// The webhook endpoints the caller manages.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = ListOf<WebhookOut>),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    caller: Caller,
    hooks: web::Data<Webhooks>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListOf<WebhookOut>>, ApiError> {
    let page = query.page()?;
    let hooks = hooks.into_inner();
    let found =
        blocking(move || hooks.list(&caller.principal, page).map_err(ApiError::from)).await?;
    Ok(web::Json(ListOf::from_page(found, WebhookOut::from)))
}

/// One webhook endpoint (404 when not visible to the caller).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 200, body = WebhookOut, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get(
    caller: Caller,
    hooks: web::Data<Webhooks>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let hooks = hooks.into_inner();
    let id = id.into_inner();
    let endpoint =
        blocking(move || hooks.get(&caller.principal, id).map_err(ApiError::from)).await?;
    Ok(with_etag(endpoint.version, &WebhookOut::from(endpoint)))
}

/// Changes a webhook endpoint: URL, events, description, or status (`active` re-enables it).
/// Honours `If-Match`.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "The endpoint's id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = WebhookPatch,
    responses((status = 200, body = WebhookOut, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn update(
    caller: Caller,
    hooks: web::Data<Webhooks>,
    req: HttpRequest,
    id: web::Path<i64>,
    Json(body): Json<WebhookPatch>,
) -> Result<HttpResponse, ApiError> {
    let version = if_match(&req)?;
    let hooks = hooks.into_inner();
    let id = id.into_inner();
    let endpoint = blocking(move || {
        hooks
            .update(
                &caller.principal,
                id,
                version,
                EndpointChanges {
                    url: body.url,
                    events: body.events,
                    description: body.description,
                    status: body.status,
                },
                caller.client.request_id.as_deref(),
            )
            .map_err(ApiError::from)
    })
    .await?;
    Ok(with_etag(endpoint.version, &WebhookOut::from(endpoint)))
}

/// Deletes a webhook endpoint: nothing more is delivered to it and its secret is destroyed.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 204, description = "Deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn delete(
    caller: Caller,
    hooks: web::Data<Webhooks>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let hooks = hooks.into_inner();
    let id = id.into_inner();
    blocking(move || {
        hooks
            .delete(&caller.principal, id, caller.client.request_id.as_deref())
            .map_err(ApiError::from)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replaces the endpoint's signing secret at once and returns the new one, shown this once.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 200, body = WebhookWithSecret, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn rotate_secret(
    caller: Caller,
    hooks: web::Data<Webhooks>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let hooks = hooks.into_inner();
    let id = id.into_inner();
    let (endpoint, secret) = blocking(move || {
        hooks
            .rotate_secret(&caller.principal, id, caller.client.request_id.as_deref())
            .map_err(ApiError::from)
    })
    .await?;
    Ok(not_stored(with_etag(
        endpoint.version,
        &with_secret(endpoint, secret),
    )))
}

/// The endpoint's delivery attempts and their outcomes, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "The endpoint's id"), PageQuery),
    responses((status = 200, body = ListOf<DeliveryOut>),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn deliveries(
    caller: Caller,
    hooks: web::Data<Webhooks>,
    id: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListOf<DeliveryOut>>, ApiError> {
    let page = query.page()?;
    let hooks = hooks.into_inner();
    let id = id.into_inner();
    let found = blocking(move || {
        hooks
            .deliveries(&caller.principal, id, page)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(ListOf::from_page(found, DeliveryOut::from)))
}
