//! The audit log: every sign-in, failure, lockout, MFA change, role change, token issue and
//! revocation, invitation and record change, for administrators to query.

use actix_web::web;
use chrono::{DateTime, Utc};
use dsms_store::audit::{AuditEntry, AuditFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, blocking};
use crate::problem::{ApiError, Problem};
use crate::routes::dto::{ListOf, PageQuery, time};
use crate::state::ApiState;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/audit").get(list));
}

/// Who acted.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ActorOut {
    /// `person`, `api_token` or `system`.
    kind: String,
    /// The person's or token's id, or the system component.
    id: String,
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditEntryOut {
    /// Its id; larger is later.
    id: String,
    /// When it happened.
    occurred_at: String,
    /// Who acted.
    actor: ActorOut,
    /// The organisation whose record changed.
    organisation_id: Option<String>,
    /// What happened, e.g. `sign_in.failed`.
    action: String,
    /// The kind of record.
    entity_type: String,
    /// The record's id.
    entity_id: String,
    /// Field changes: `{"field": {"from": …, "to": …}}`.
    #[schema(value_type = Object)]
    changes: serde_json::Value,
    /// The request that caused it.
    request_id: Option<String>,
}

impl From<AuditEntry> for AuditEntryOut {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id.to_string(),
            occurred_at: time(e.occurred_at),
            actor: ActorOut {
                kind: e.actor_kind,
                id: e.actor_id,
            },
            organisation_id: e.organisation_id.map(|o| o.to_string()),
            action: e.action,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            changes: serde_json::from_str(&e.changes).unwrap_or(serde_json::Value::Null),
            request_id: e.request_id,
        }
    }
}

/// Filters for the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Only this kind of record, e.g. `person`.
    entity_type: Option<String>,
    /// Only this record (with `entity_type`).
    entity_id: Option<String>,
    /// Only actions starting with this, e.g. `sign_in.`.
    action: Option<String>,
    /// Only events by this actor id.
    actor_id: Option<String>,
    /// Only events at or after this time (RFC 3339).
    since: Option<DateTime<Utc>>,
    /// Only events before this time (RFC 3339).
    until: Option<DateTime<Utc>>,
    /// Items per page, 1 to 500 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The audit log, newest first: everything for operator administrators and managers, the
/// caller's own organisation for organisation admins.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, body = ListOf<AuditEntryOut>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    state: web::Data<ApiState>,
    caller: Caller,
    query: web::Query<AuditQuery>,
) -> Result<web::Json<ListOf<AuditEntryOut>>, ApiError> {
    let query = query.into_inner();
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .page()?;
    let filter = AuditFilter {
        entity_type: query.entity_type,
        entity_id: query.entity_id,
        action_prefix: query.action,
        actor_id: query.actor_id,
        since: query.since.map(|t| t.naive_utc()),
        until: query.until.map(|t| t.naive_utc()),
    };
    let identity = state.identity.clone();
    let found = blocking(move || {
        identity
            .audit_log(&caller.principal, &filter, page)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(ListOf::from_page(found, AuditEntryOut::from)))
}
