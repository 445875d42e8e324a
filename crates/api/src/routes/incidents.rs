//! Incidents: raised by organisations' systems and people, worked by the service desk.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use dsms_core::{PageRequest, Principal};
use dsms_incident::{
    Comment, IdempotentCreate, Incident, IncidentChanges, IncidentError, IncidentFilter, Incidents,
    NewIncident, Raised, TRANSITIONS,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Bearer, Caller, blocking};
use crate::extract::{Json, from_value};
use crate::problem::{ApiError, Problem};
use crate::routes::attachments::{self, AttachmentOut, AttachmentUpload, read_upload};
use crate::routes::audit::AuditEntryOut;
use crate::routes::dto::{
    ListOf, OrganisationRef, PageQuery, created, idempotency_key, idempotency_scope, if_match,
    replayed, request_digest, time, time_opt, with_etag,
};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/incidents").post(raise).get(list))
        .service(web::resource("/incidents/lifecycle").get(lifecycle))
        .service(web::resource("/incidents/{key}").get(get).patch(update))
        .service(
            web::resource("/incidents/{key}/comments")
                .post(comment)
                .get(comments),
        )
        .service(
            web::resource("/incidents/{key}/attachments")
                .post(attach)
                .get(attachments),
        )
        .service(web::resource("/incidents/{key}/attachments/{id}").get(download))
        .service(web::resource("/incidents/{key}/history").get(history));
}

impl From<IncidentError> for ApiError {
    fn from(error: IncidentError) -> Self {
        match error {
            IncidentError::Invalid(errors) => Self::Validation(errors),
            IncidentError::NotFound => Self::NotFound,
            IncidentError::Forbidden(f) => Self::Forbidden(f.to_string()),
            IncidentError::Transition { detail, allowed } => {
                let mut extensions = serde_json::Map::new();
                extensions.insert(
                    "allowed".into(),
                    allowed
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .into(),
                );
                Self::Conflict { detail, extensions }
            }
            IncidentError::VersionMismatch(v) => Self::VersionMismatch(format!(
                "the incident has changed since version {v}; fetch it again"
            )),
            IncidentError::IdempotencyMismatch => Self::invalid(
                "Idempotency-Key",
                "was already used with a different request body",
            ),
            IncidentError::Store(e) => e.into(),
        }
    }
}

/// Someone, in brief.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PartyOut {
    /// `person` or `api_token`.
    pub(crate) kind: String,
    /// Their id.
    pub(crate) id: String,
    /// Their name.
    pub(crate) name: String,
}

/// A person, in brief.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PersonRef {
    /// Their id.
    id: String,
    /// Their name.
    name: String,
}

/// One SLA clock.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ClockOut {
    /// `running`, `at_risk`, `paused`, `breached` or `met`.
    state: String,
    /// When the target is (or was) reached; null while paused.
    due_at: Option<String>,
    /// Counted seconds so far.
    elapsed_seconds: i64,
    /// Counted seconds left; negative once breached.
    remaining_seconds: i64,
}

impl From<dsms_incident::ClockReading> for ClockOut {
    fn from(r: dsms_incident::ClockReading) -> Self {
        Self {
            state: serde_json::to_value(r.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            due_at: r.due_at.map(|t| time(t.naive_utc())),
            elapsed_seconds: r.elapsed.num_seconds(),
            remaining_seconds: r.remaining.num_seconds(),
        }
    }
}

/// Both SLA clocks, read now.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SlaOut {
    /// When a response is due.
    response_due_at: Option<String>,
    /// When resolution is due (the Target Resolution Time).
    resolution_due_at: Option<String>,
    /// Either clock is breached.
    breached: bool,
    /// Either clock is at risk.
    at_risk: bool,
    /// Time to first response.
    response: ClockOut,
    /// Time to resolution.
    resolution: ClockOut,
}

/// An incident.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IncidentOut {
    id: String,
    /// `INC` and seven or more digits.
    reference: String,
    title: String,
    description: String,
    category: String,
    subcategory: Option<String>,
    /// `new`, `assigned`, `in_progress`, `awaiting_user`, `resolved`, `closed`, `cancelled`.
    status: String,
    /// 1 (most severe) to 5: the SEC incident category.
    priority: u8,
    /// Why the priority was overridden.
    priority_reason: Option<String>,
    /// 1 (extensive) to 4.
    impact: u8,
    /// 1 (critical) to 4.
    urgency: u8,
    organisation: OrganisationRef,
    raised_by: PartyOut,
    /// `api`, `portal`, `email` or `telephone`.
    channel: String,
    contact: Option<String>,
    assignment_group: Option<String>,
    assignee: Option<PersonRef>,
    resolution_code: Option<String>,
    resolution_notes: Option<String>,
    major: bool,
    parent_id: Option<String>,
    duplicate_of_id: Option<String>,
    region: Option<String>,
    fault_started_at: Option<String>,
    message_ids: Option<String>,
    /// Affected device, hub and meter-point identifiers.
    devices: Vec<String>,
    sla: SlaOut,
    responded_at: Option<String>,
    resolved_at: Option<String>,
    closed_at: Option<String>,
    created_at: String,
    updated_at: String,
    /// Optimistic-concurrency version (also the `ETag`).
    version: i64,
}

impl From<Incident> for IncidentOut {
    fn from(i: Incident) -> Self {
        use dsms_incident::ClockState;
        let states = [i.sla.response.state, i.sla.resolution.state];
        Self {
            id: i.id.to_string(),
            reference: i.reference,
            title: i.title,
            description: i.description,
            category: i.category,
            subcategory: i.subcategory,
            status: i.status.as_str().to_owned(),
            priority: i.priority.get(),
            priority_reason: i.priority_reason,
            impact: i.impact.get(),
            urgency: i.urgency.get(),
            organisation: OrganisationRef {
                id: i.organisation_id.to_string(),
                name: i.organisation_name,
            },
            raised_by: PartyOut {
                kind: i.raised_by.kind,
                id: i.raised_by.id.to_string(),
                name: i.raised_by.name,
            },
            channel: i.channel,
            contact: i.contact,
            assignment_group: i.assignment_group,
            assignee: i.assignee_id.map(|id| PersonRef {
                id: id.to_string(),
                name: i.assignee_name.unwrap_or_default(),
            }),
            resolution_code: i.resolution_code,
            resolution_notes: i.resolution_notes,
            major: i.major,
            parent_id: i.parent_id.map(|p| p.to_string()),
            duplicate_of_id: i.duplicate_of_id.map(|p| p.to_string()),
            region: i.region,
            fault_started_at: time_opt(i.fault_started_at),
            message_ids: i.message_ids,
            devices: i.devices,
            sla: SlaOut {
                response_due_at: i.sla.response.due_at.map(|t| time(t.naive_utc())),
                resolution_due_at: i.sla.resolution.due_at.map(|t| time(t.naive_utc())),
                breached: states.contains(&ClockState::Breached),
                at_risk: states.contains(&ClockState::AtRisk),
                response: i.sla.response.into(),
                resolution: i.sla.resolution.into(),
            },
            responded_at: time_opt(i.responded_at),
            resolved_at: time_opt(i.resolved_at),
            closed_at: time_opt(i.closed_at),
            created_at: time(i.created_at),
            updated_at: time(i.updated_at),
            version: i.version,
        }
    }
}

fn id_from_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    crate::routes::dto::opt_id_from_string_or_number(d)
}

/// An incident to raise.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewIncidentIn {
    /// A one-line summary (at most 200 characters).
    title: String,
    /// What is wrong, what was checked first.
    description: String,
    /// A category code: communications_hub, smart_meter, service_request_failure, user_gateway,
    /// self_service_interface, security, data_registration, order_management, other.
    category: String,
    subcategory: Option<String>,
    /// 1 (extensive) to 4 (minor).
    impact: i64,
    /// 1 (critical) to 4 (low).
    urgency: i64,
    /// Who to contact about it.
    contact: Option<String>,
    /// `api` or `portal`; the service desk may also record `email` or `telephone`.
    channel: Option<String>,
    /// Raise on behalf of this organisation (service desk only).
    #[serde(default, deserialize_with = "id_from_string_or_number")]
    #[schema(value_type = Option<String>)]
    organisation_id: Option<i64>,
    /// Affected device, hub and meter-point identifiers.
    #[serde(default)]
    devices: Vec<String>,
    region: Option<String>,
    /// When the fault began (RFC 3339).
    #[schema(value_type = Option<String>)]
    fault_started_at: Option<DateTime<Utc>>,
    /// Related message or request identifiers.
    message_ids: Option<String>,
}

fn render(incident: &Incident) -> (String, String) {
    let location = format!("/api/v1/incidents/{}", incident.id);
    let body = serde_json::to_string(&IncidentOut::from(incident.clone())).unwrap_or_default();
    (body, location)
}

/// Raises an incident. Send an `Idempotency-Key` header to make retries safe: a repeat with
/// the same key and body returns the original response; the same key with another body is 422.
#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = NewIncidentIn,
    responses((status = 201, body = IncidentOut, headers(("Location" = String), ("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn raise(
    incidents: web::Data<Incidents>,
    bearer: Bearer,
    req: HttpRequest,
    Json(raw): Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&req);
    let incidents = incidents.into_inner();
    let raised = blocking(move || {
        let caller = bearer.caller()?;
        let key = key?;
        let digest = request_digest(&raw);
        let body: NewIncidentIn = from_value(raw)?;
        let new = NewIncident {
            title: body.title,
            description: body.description,
            category: body.category,
            subcategory: body.subcategory,
            impact: body.impact,
            urgency: body.urgency,
            contact: body.contact,
            channel: body.channel,
            organisation_id: body.organisation_id,
            devices: body.devices,
            region: body.region,
            fault_started_at: body.fault_started_at,
            message_ids: body.message_ids,
        };
        let idempotent = key.map(|key| IdempotentCreate {
            scope: idempotency_scope(&caller.principal, "POST /api/v1/incidents"),
            key,
            request_digest: digest,
            render: Box::new(render),
        });
        incidents
            .raise(&caller.principal, new, idempotent)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(match raised {
        Raised::Created(incident) => {
            let version = incident.version;
            let (_, location) = render(&incident);
            created(location, Some(version), &IncidentOut::from(*incident))
        }
        Raised::Replayed(kept) => replayed(kept),
    })
}

/// Filters for the incident list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct IncidentQuery {
    /// Comma-separated statuses; `open` for every open one.
    status: Option<String>,
    /// Comma-separated priorities, e.g. `1,2`.
    priority: Option<String>,
    category: Option<String>,
    /// Only this organisation (service desk).
    organisation_id: Option<i64>,
    assignment_group: Option<String>,
    /// A person's id, `me`, or `none` for unassigned.
    assignee: Option<String>,
    major: Option<bool>,
    /// Only incidents affecting this device, hub or meter point.
    device: Option<String>,
    created_after: Option<DateTime<Utc>>,
    created_before: Option<DateTime<Utc>>,
    updated_after: Option<DateTime<Utc>>,
    /// Unresolved and due for resolution before this time (e.g. "breaching soon").
    resolution_due_before: Option<DateTime<Utc>>,
    /// Words to find in titles, descriptions and comments.
    q: Option<String>,
    /// `created_at` (oldest first, the default) or `-created_at` (newest first).
    sort: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

fn split(list: &Option<String>) -> Vec<String> {
    list.as_deref()
        .map(|l| {
            l.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The incidents the caller may see, filtered, with cursor pagination stable under new arrivals.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", security(("bearer" = [])),
    params(IncidentQuery),
    responses((status = 200, body = ListOf<IncidentOut>),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    incidents: web::Data<Incidents>,
    bearer: Bearer,
    query: web::Query<IncidentQuery>,
) -> Result<web::Json<ListOf<IncidentOut>>, ApiError> {
    let incidents = incidents.into_inner();
    let query = query.into_inner();
    let found = blocking(move || {
        let caller = bearer.caller()?;
        let (filter, page) = list_filter(&caller.principal, query)?;
        incidents
            .list(&caller.principal, &filter, page)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(ListOf::from_page(found, IncidentOut::from)))
}

/// The filter and page a list query asks for; `assignee=me` needs the caller.
fn list_filter(
    principal: &Principal,
    q: IncidentQuery,
) -> Result<(IncidentFilter, PageRequest), ApiError> {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .page()?;
    let mut priorities = Vec::new();
    for p in split(&q.priority) {
        priorities.push(p.parse::<i64>().map_err(|_| {
            ApiError::invalid("priority", "must be numbers from 1 to 5, comma-separated")
        })?);
    }
    let (assignee_id, unassigned) =
        match q.assignee.as_deref() {
            None => (None, false),
            Some("me") => (principal.person_id().or(Some(-1)), false),
            Some("none") => (None, true),
            Some(id) => (
                Some(id.parse().map_err(|_| {
                    ApiError::invalid("assignee", "must be a person id, me or none")
                })?),
                false,
            ),
        };
    let newest_first = match q.sort.as_deref() {
        None | Some("created_at") => false,
        Some("-created_at") => true,
        Some(_) => {
            return Err(ApiError::invalid(
                "sort",
                "must be created_at or -created_at",
            ));
        }
    };
    let filter = IncidentFilter {
        statuses: split(&q.status),
        priorities,
        category: q.category,
        organisation_id: q.organisation_id,
        assignment_group: q.assignment_group,
        assignee_id,
        unassigned,
        major: q.major,
        device: q.device,
        created_after: q.created_after,
        created_before: q.created_before,
        updated_after: q.updated_after,
        resolution_due_before: q.resolution_due_before,
        search: q.q,
        newest_first,
    };
    Ok((filter, page))
}

/// One incident, by id or reference (404 when not visible to the caller).
#[utoipa::path(get, path = "/api/v1/incidents/{key}", tag = "incidents", security(("bearer" = [])),
    params(("key" = String, Path, description = "The incident's id or reference (INC…)")),
    responses((status = 200, body = IncidentOut, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get(
    incidents: web::Data<Incidents>,
    bearer: Bearer,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let incidents = incidents.into_inner();
    let key = key.into_inner();
    let incident = bearer
        .read(move |caller| {
            incidents
                .get(&caller.principal, &key)
                .map_err(ApiError::from)
        })
        .await?;
    Ok(with_etag(incident.version, &IncidentOut::from(incident)))
}

fn double<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn double_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(i64),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(Some(None)),
        Some(Raw::Number(n)) => Ok(Some(Some(n))),
        Some(Raw::Text(t)) => t
            .trim()
            .parse()
            .map(|n| Some(Some(n)))
            .map_err(|_| serde::de::Error::custom("must be an id such as \"12\"")),
    }
}

/// Changes to an incident; absent fields stay as they are, null clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IncidentPatch {
    title: Option<String>,
    description: Option<String>,
    category: Option<String>,
    #[serde(default, deserialize_with = "double")]
    #[schema(value_type = Option<String>)]
    subcategory: Option<Option<String>>,
    impact: Option<i64>,
    urgency: Option<i64>,
    /// Override the priority the matrix gives (service desk; needs `priority_reason`).
    priority: Option<i64>,
    priority_reason: Option<String>,
    /// A new status; the allowed moves are listed at GET /api/v1/incidents/lifecycle.
    status: Option<String>,
    #[serde(default, deserialize_with = "double")]
    #[schema(value_type = Option<String>)]
    assignment_group: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_id")]
    #[schema(value_type = Option<String>)]
    assignee_id: Option<Option<i64>>,
    /// Required to resolve.
    resolution_code: Option<String>,
    resolution_notes: Option<String>,
    major: Option<bool>,
    #[serde(default, deserialize_with = "double_id")]
    #[schema(value_type = Option<String>)]
    parent_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_id")]
    #[schema(value_type = Option<String>)]
    duplicate_of_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double")]
    #[schema(value_type = Option<String>)]
    contact: Option<Option<String>>,
}

/// Changes an incident: edits, assignment, priority override, status through the lifecycle
/// (409 listing the allowed next states otherwise). Honours `If-Match`.
#[utoipa::path(patch, path = "/api/v1/incidents/{key}", tag = "incidents", security(("bearer" = [])),
    params(("key" = String, Path, description = "The incident's id or reference"),
           ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = IncidentPatch,
    responses((status = 200, body = IncidentOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn update(
    incidents: web::Data<Incidents>,
    caller: Caller,
    req: HttpRequest,
    key: web::Path<String>,
    Json(body): Json<IncidentPatch>,
) -> Result<HttpResponse, ApiError> {
    let version = if_match(&req)?;
    let changes = IncidentChanges {
        title: body.title,
        description: body.description,
        category: body.category,
        subcategory: body.subcategory,
        impact: body.impact,
        urgency: body.urgency,
        priority: body.priority,
        priority_reason: body.priority_reason,
        status: body.status,
        assignment_group: body.assignment_group,
        assignee_id: body.assignee_id,
        resolution_code: body.resolution_code,
        resolution_notes: body.resolution_notes,
        major: body.major,
        parent_id: body.parent_id,
        duplicate_of_id: body.duplicate_of_id,
        contact: body.contact,
    };
    let incidents = incidents.into_inner();
    let key = key.into_inner();
    let incident = blocking(move || {
        incidents
            .update(
                &caller.principal,
                &key,
                version,
                changes,
                caller.client.request_id.as_deref(),
            )
            .map_err(ApiError::from)
    })
    .await?;
    Ok(with_etag(incident.version, &IncidentOut::from(incident)))
}

/// A comment or work note.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CommentOut {
    id: String,
    author: PartyOut,
    body: String,
    /// A work note only the service desk sees.
    internal: bool,
    created_at: String,
}

impl From<Comment> for CommentOut {
    fn from(c: Comment) -> Self {
        Self {
            id: c.id.to_string(),
            author: PartyOut {
                kind: c.author_kind,
                id: c.author_id.to_string(),
                name: c.author_name,
            },
            body: c.body,
            internal: c.internal,
            created_at: time(c.created_at),
        }
    }
}

/// A comment to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommentIn {
    /// The text.
    body: String,
    /// A work note the raising organisation never sees (service desk only).
    #[serde(default)]
    internal: bool,
}

/// Adds a comment (seen by the raising organisation) or a work note (service desk only).
#[utoipa::path(post, path = "/api/v1/incidents/{key}/comments", tag = "incidents", security(("bearer" = [])),
    params(("key" = String, Path, description = "The incident's id or reference")),
    request_body = CommentIn,
    responses((status = 201, body = CommentOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn comment(
    incidents: web::Data<Incidents>,
    caller: Caller,
    key: web::Path<String>,
    Json(body): Json<CommentIn>,
) -> Result<HttpResponse, ApiError> {
    let incidents = incidents.into_inner();
    let key = key.into_inner();
    let location = format!("/api/v1/incidents/{key}/comments");
    let comment = blocking(move || {
        incidents
            .comment(
                &caller.principal,
                &key,
                &body.body,
                body.internal,
                caller.client.request_id.as_deref(),
            )
            .map_err(ApiError::from)
    })
    .await?;
    Ok(created(location, None, &CommentOut::from(comment)))
}

/// The conversation, oldest first; work notes only for the service desk.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/comments", tag = "incidents", security(("bearer" = [])),
    params(("key" = String, Path, description = "The incident's id or reference")),
    responses((status = 200, body = ListOf<CommentOut>),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn comments(
    incidents: web::Data<Incidents>,
    caller: Caller,
    key: web::Path<String>,
) -> Result<web::Json<ListOf<CommentOut>>, ApiError> {
    let incidents = incidents.into_inner();
    let key = key.into_inner();
    let found = blocking(move || {
        incidents
            .comments(&caller.principal, &key)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(ListOf {
        items: found.into_iter().map(CommentOut::from).collect(),
        next_cursor: None,
    }))
}

/// Attaches a file (`multipart/form-data`: a `file` part and optionally `internal` = `true`
/// for a work note's file, service desk only). The size limit is the server's
/// `incidents.max_attachment_mb`; the type must be accepted and agree with the content.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/attachments", tag = "incidents", security(("bearer" = [])),
    params(("key" = String, Path, description = "The incident's id or reference")),
    request_body(content = AttachmentUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = AttachmentOut, headers(("Location" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn attach(
    incidents: web::Data<Incidents>,
    caller: Caller,
    req: HttpRequest,
    key: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let limit = incidents.policy().max_attachment_bytes;
    let upload = read_upload(&req, payload, limit).await?;
    let incidents = incidents.into_inner();
    let key = key.into_inner();
    let base = format!("/api/v1/incidents/{key}/attachments");
    let attachment = blocking(move || {
        incidents
            .attach(
                &caller.principal,
                &key,
                &upload.filename,
                upload.content_type.as_deref(),
                &upload.bytes,
                upload.internal,
                caller.client.request_id.as_deref(),
            )
            .map_err(ApiError::from)
    })
    .await?;
    let location = format!("{base}/{}", attachment.id);
    Ok(created(location, None, &AttachmentOut::from(attachment)))
}

/// The files attached to an incident, oldest first; work notes' files only for the service desk.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/attachments", tag = "incidents", security(("bearer" = [])),
    params(("key" = String, Path, description = "The incident's id or reference")),
    responses((status = 200, body = ListOf<AttachmentOut>),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn attachments(
    incidents: web::Data<Incidents>,
    caller: Caller,
    key: web::Path<String>,
) -> Result<web::Json<ListOf<AttachmentOut>>, ApiError> {
    let incidents = incidents.into_inner();
    let key = key.into_inner();
    let found = blocking(move || {
        incidents
            .attachments(&caller.principal, &key)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(ListOf {
        items: found.into_iter().map(AttachmentOut::from).collect(),
        next_cursor: None,
    }))
}

/// Downloads an attached file: its stored media type, as an attachment (never rendered
/// inline), sandboxed and never cached.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/attachments/{id}", tag = "incidents", security(("bearer" = [])),
    params(("key" = String, Path, description = "The incident's id or reference"),
           ("id" = String, Path, description = "The attachment's id")),
    responses((status = 200, description = "The file's bytes, with its media type",
            content_type = "application/octet-stream", body = String,
            headers(("Content-Disposition" = String), ("X-Content-Type-Options" = String),
                ("Content-Security-Policy" = String), ("Cache-Control" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn download(
    incidents: web::Data<Incidents>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (key, id) = path.into_inner();
    let id: i64 = id.trim().parse().map_err(|_| ApiError::NotFound)?;
    let incidents = incidents.into_inner();
    let (attachment, bytes) = blocking(move || {
        incidents
            .attachment(&caller.principal, &key, id)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(attachments::download(&attachment, bytes))
}

/// Every change, newest first: who, when, which fields from → to.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/history", tag = "incidents", security(("bearer" = [])),
    params(("key" = String, Path, description = "The incident's id or reference"), PageQuery),
    responses((status = 200, body = ListOf<AuditEntryOut>),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn history(
    incidents: web::Data<Incidents>,
    caller: Caller,
    key: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListOf<AuditEntryOut>>, ApiError> {
    let page = query.page()?;
    let incidents = incidents.into_inner();
    let key = key.into_inner();
    let found = blocking(move || {
        incidents
            .history(&caller.principal, &key, page)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(ListOf::from_page(found, AuditEntryOut::from)))
}

/// One allowed status change.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TransitionOut {
    from: String,
    to: String,
    /// `desk` (the service desk), `raiser` (the raising organisation), `system`.
    by: Vec<String>,
}

/// The lifecycle: every allowed status change and who may make it. The raiser may reopen a
/// resolved incident only within the reopen window; closed and cancelled are final.
#[utoipa::path(get, path = "/api/v1/incidents/lifecycle", tag = "incidents",
    responses((status = 200, body = Vec<TransitionOut>)))]
pub(crate) async fn lifecycle() -> web::Json<Vec<TransitionOut>> {
    web::Json(
        TRANSITIONS
            .iter()
            .map(|t| TransitionOut {
                from: t.from.as_str().to_owned(),
                to: t.to.as_str().to_owned(),
                by: t
                    .by
                    .iter()
                    .map(|m| {
                        serde_json::to_value(m)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default()
                    })
                    .collect(),
            })
            .collect(),
    )
}
