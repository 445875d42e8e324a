//! Service requests: raised by organisations' systems and people against the catalogue,
//! approved in order, fulfilled by the service desk.

use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use dsms_service_request::{
    Approval, Comment, Decision, IdempotentCreate, NewFile, NewRequest, Raised, RequestChanges,
    RequestFilter, ServiceRequest, ServiceRequests, TRANSITIONS, Task,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, blocking};
use crate::extract::{Json, from_value, parse_json};
use crate::multipart;
use crate::problem::{ApiError, Problem};
use crate::routes::attachments::{self, AttachmentOut, AttachmentUpload, read_upload};
use crate::routes::audit::AuditEntryOut;
use crate::routes::dto::{
    ListOf, OrganisationRef, PageQuery, created, idempotency_key, idempotency_scope, if_match,
    replayed, request_digest, time, time_opt, with_etag,
};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/requests").post(raise).get(list))
        .service(web::resource("/requests/lifecycle").get(lifecycle))
        .service(web::resource("/requests/{key}").get(get).patch(update))
        .service(
            web::resource("/requests/{key}/approvals")
                .post(decide)
                .get(approvals),
        )
        .service(web::resource("/requests/{key}/tasks/{task}").post(complete_task))
        .service(
            web::resource("/requests/{key}/comments")
                .post(comment)
                .get(comments),
        )
        .service(
            web::resource("/requests/{key}/attachments")
                .post(attach)
                .get(attachments),
        )
        .service(web::resource("/requests/{key}/attachments/{id}").get(download))
        .service(web::resource("/requests/{key}/history").get(history));
}

/// Someone, in brief.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PartyOut {
    /// `person` or `api_token`.
    kind: String,
    id: String,
    name: String,
}

impl From<dsms_service_request::Party> for PartyOut {
    fn from(p: dsms_service_request::Party) -> Self {
        Self {
            kind: p.kind,
            id: p.id.to_string(),
            name: p.name,
        }
    }
}

/// The catalogue item and form version a request was raised against.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RequestItemOut {
    id: String,
    code: String,
    /// The item's name in that form version.
    name: String,
    /// The form version's number; its definition is at
    /// `GET /api/v1/catalogue/{code}/versions/{form_version}`.
    form_version: i32,
}

/// One approval step.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApprovalOut {
    id: String,
    /// 1, 2, … decided in this order.
    step: i32,
    /// `organisation_admin` or `operator`.
    approver: String,
    /// `pending`, `approved`, `rejected` or `withdrawn`.
    status: String,
    decided_by: Option<PartyOut>,
    decided_at: Option<String>,
    comment: Option<String>,
}

impl From<Approval> for ApprovalOut {
    fn from(a: Approval) -> Self {
        Self {
            id: a.id.to_string(),
            step: a.step,
            approver: a.approver.as_str().to_owned(),
            status: a.status.as_str().to_owned(),
            decided_by: a.decided_by.map(PartyOut::from),
            decided_at: time_opt(a.decided_at),
            comment: a.comment,
        }
    }
}

/// One fulfilment task.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TaskOut {
    id: String,
    position: i32,
    name: String,
    /// The resolver group that does it.
    group: String,
    /// `open`, `done` or `cancelled`.
    status: String,
    completed_by: Option<PartyOut>,
    completed_at: Option<String>,
    notes: Option<String>,
}

impl From<Task> for TaskOut {
    fn from(t: Task) -> Self {
        Self {
            id: t.id.to_string(),
            position: t.position,
            name: t.name,
            group: t.group,
            status: t.status.as_str().to_owned(),
            completed_by: t.completed_by.map(PartyOut::from),
            completed_at: time_opt(t.completed_at),
            notes: t.notes,
        }
    }
}

/// The fulfilment clock, read now.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RequestSlaOut {
    /// `running`, `at_risk`, `paused` (awaiting the organisation's own approval), `breached`
    /// or `met`.
    state: String,
    /// When fulfilment is (or was) due; null while paused.
    due_at: Option<String>,
    breached: bool,
    /// Counted working seconds so far.
    elapsed_seconds: i64,
    /// Counted working seconds left; negative once breached.
    remaining_seconds: i64,
}

/// A service request.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RequestOut {
    id: String,
    /// `REQ` and seven or more digits.
    reference: String,
    catalogue_item: RequestItemOut,
    summary: String,
    /// `submitted`, `awaiting_approval`, `approved`, `rejected`, `in_fulfilment`, `fulfilled`,
    /// `closed`, `cancelled`.
    status: String,
    organisation: OrganisationRef,
    raised_by: PartyOut,
    /// `api` or `portal`.
    channel: String,
    contact: Option<String>,
    /// The answers to the form version's fields, keyed by field.
    #[schema(value_type = Object)]
    fields: serde_json::Map<String, serde_json::Value>,
    approvals: Vec<ApprovalOut>,
    tasks: Vec<TaskOut>,
    sla: RequestSlaOut,
    fulfilled_at: Option<String>,
    closed_at: Option<String>,
    created_at: String,
    updated_at: String,
    /// Optimistic-concurrency version (also the `ETag`).
    version: i64,
}

impl From<ServiceRequest> for RequestOut {
    fn from(r: ServiceRequest) -> Self {
        let state = serde_json::to_value(r.sla.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        Self {
            id: r.id.to_string(),
            reference: r.reference,
            catalogue_item: RequestItemOut {
                id: r.item_id.to_string(),
                code: r.item_code,
                name: r.form.definition.name,
                form_version: r.form.number,
            },
            summary: r.summary,
            status: r.status.as_str().to_owned(),
            organisation: OrganisationRef {
                id: r.organisation_id.to_string(),
                name: r.organisation_name,
            },
            raised_by: r.raised_by.into(),
            channel: r.channel,
            contact: r.contact,
            fields: r.answers,
            approvals: r.approvals.into_iter().map(ApprovalOut::from).collect(),
            tasks: r.tasks.into_iter().map(TaskOut::from).collect(),
            sla: RequestSlaOut {
                breached: state == "breached",
                state,
                due_at: r.sla.due_at.map(|t| time(t.naive_utc())),
                elapsed_seconds: r.sla.elapsed.num_seconds(),
                remaining_seconds: r.sla.remaining.num_seconds(),
            },
            fulfilled_at: time_opt(r.fulfilled_at),
            closed_at: time_opt(r.closed_at),
            created_at: time(r.created_at),
            updated_at: time(r.updated_at),
            version: r.version,
        }
    }
}

/// A request to raise.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewRequestIn {
    /// The catalogue item's id or code, e.g. `device_diagnostics`.
    catalogue_item: String,
    /// A one-line summary; the item's name when absent.
    summary: Option<String>,
    /// Who to contact about it.
    contact: Option<String>,
    /// The answers to the item's form, keyed by field. Each bad answer is named in the 422,
    /// e.g. `fields.device_ids[3]`.
    #[serde(default)]
    #[schema(value_type = Object)]
    fields: serde_json::Value,
}

fn render(request: &ServiceRequest) -> (String, String) {
    let location = format!("/api/v1/requests/{}", request.id);
    let body = serde_json::to_string(&RequestOut::from(request.clone())).unwrap_or_default();
    (body, location)
}

/// A request to raise with the files its form's file fields take, as `multipart/form-data`.
#[derive(Debug, ToSchema)]
#[allow(
    dead_code,
    reason = "describes the multipart body for the OpenAPI document only"
)]
pub(crate) struct NewRequestForm {
    /// The request, as the JSON body would be (a part of type `application/json`).
    request: NewRequestIn,
    /// One more part per file field, named `fields.<key>` (e.g. `fields.evidence`), with the
    /// file's name in the part's `filename` and its media type in its `Content-Type`; checked
    /// like any attachment, each problem named `fields.<key>` in the 422.
    #[schema(rename = "fields.<key>", value_type = Option<String>, format = Binary)]
    file_field: Option<Vec<u8>>,
}

/// Reads a multipart request to raise: its `request` part (JSON) and a file per file field.
async fn read_raise_form(
    req: &HttpRequest,
    payload: actix_web::dev::Payload,
    limit: usize,
) -> Result<(serde_json::Value, Vec<NewFile>), ApiError> {
    let parts =
        multipart::read_multipart(req, payload, limit, multipart::form_cap(limit), |n, _| {
            n.starts_with("fields.")
        })
        .await?;
    let mut errors = dsms_core::ValidationErrors::default();
    let mut request = None;
    for (name, value) in parts.texts {
        match name.as_str() {
            "request" if request.is_none() => request = Some(value),
            "request" => errors.push("request", "send one `request` part"),
            other => errors.push(
                if other.is_empty() { "body" } else { other },
                "is not a part of a request to raise; send `request` and `fields.<key>` files",
            ),
        }
    }
    let mut files = Vec::new();
    for file in parts.files {
        let field = file.name["fields.".len()..].to_owned();
        if file.too_large {
            errors.push(&file.name, format!("must be at most {limit} bytes"));
            continue;
        }
        files.push(NewFile {
            field,
            filename: file.filename,
            content_type: file.content_type,
            bytes: file.bytes,
        });
    }
    let Some(request) = request else {
        errors.push(
            "request",
            "is required: a multipart part named `request` holding JSON",
        );
        return Err(errors.into());
    };
    errors.into_result()?;
    Ok((parse_json(&request)?, files))
}

/// Raises a service request against a catalogue item's form version in force. Send an
/// `Idempotency-Key` header to make retries safe. A form with file fields takes
/// `multipart/form-data`: the request as JSON in a `request` part, and each file in a part
/// named `fields.<key>`.
#[utoipa::path(post, path = "/api/v1/requests", tag = "service requests", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body(content((NewRequestIn = "application/json"), (NewRequestForm = "multipart/form-data"))),
    responses((status = 201, body = RequestOut, headers(("Location" = String), ("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn raise(
    requests: web::Data<ServiceRequests>,
    caller: Caller,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&req)?;
    let (raw, files) = if multipart::is_form_data(&req) {
        read_raise_form(
            &req,
            payload.into_inner(),
            requests.policy().max_attachment_bytes,
        )
        .await?
    } else {
        let Json(raw) =
            <Json<serde_json::Value> as FromRequest>::from_request(&req, &mut payload.into_inner())
                .await?;
        (raw, Vec::new())
    };
    // A retry must send the same files as well as the same JSON.
    let digest = if files.is_empty() {
        request_digest(&raw)
    } else {
        let sent: Vec<serde_json::Value> = files
            .iter()
            .map(|f| {
                serde_json::json!([
                    f.field,
                    f.filename,
                    dsms_core::attachment::sha256_hex(&f.bytes)
                ])
            })
            .collect();
        request_digest(&serde_json::json!({"request": raw, "files": sent}))
    };
    let body: NewRequestIn = from_value(raw)?;
    let new = NewRequest {
        item: body.catalogue_item,
        summary: body.summary,
        contact: body.contact,
        fields: body.fields,
    };
    let idempotent = key.map(|key| IdempotentCreate {
        scope: idempotency_scope(&caller.principal, "POST /api/v1/requests"),
        key,
        request_digest: digest,
        render: Box::new(render),
    });
    let requests = requests.into_inner();
    let raised = blocking(move || {
        requests
            .raise_with_files(&caller.principal, new, &files, idempotent)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(match raised {
        Raised::Created(request) => {
            let (_, location) = render(&request);
            created(location, Some(request.version), &RequestOut::from(*request))
        }
        Raised::Replayed(kept) => replayed(kept),
    })
}

/// Filters for the request list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RequestQuery {
    /// Comma-separated statuses; `open` for every open one.
    status: Option<String>,
    /// Only requests for this catalogue item (its code).
    catalogue_item: Option<String>,
    /// Only this organisation (service desk).
    organisation_id: Option<i64>,
    /// A reference, an old reference kept by `dsms import`, or text the summary contains.
    q: Option<String>,
    /// `created_at` (oldest first, the default) or `-created_at` (newest first).
    sort: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The requests the caller may see, filtered, with cursor pagination.
#[utoipa::path(get, path = "/api/v1/requests", tag = "service requests", security(("bearer" = [])),
    params(RequestQuery),
    responses((status = 200, body = ListOf<RequestOut>),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    requests: web::Data<ServiceRequests>,
    caller: Caller,
    query: web::Query<RequestQuery>,
) -> Result<web::Json<ListOf<RequestOut>>, ApiError> {
    let q = query.into_inner();
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .page()?;
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
    let filter = RequestFilter {
        statuses: q
            .status
            .as_deref()
            .map(|l| {
                l.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        item: q.catalogue_item,
        organisation_id: q.organisation_id,
        search: q.q,
        newest_first,
    };
    let requests = requests.into_inner();
    let found = blocking(move || {
        requests
            .list(&caller.principal, &filter, page)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(ListOf::from_page(found, RequestOut::from)))
}

/// One request, by id or reference (404 when not visible to the caller).
#[utoipa::path(get, path = "/api/v1/requests/{key}", tag = "service requests", security(("bearer" = [])),
    params(("key" = String, Path, description = "The request's id or reference (REQ…)")),
    responses((status = 200, body = RequestOut, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get(
    requests: web::Data<ServiceRequests>,
    caller: Caller,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let requests = requests.into_inner();
    let key = key.into_inner();
    let request = blocking(move || {
        requests
            .get(&caller.principal, &key)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(with_etag(request.version, &RequestOut::from(request)))
}

fn double<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Changes to a request; absent fields stay as they are, null clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestPatch {
    /// A new status: `in_fulfilment` (service desk), `cancelled`, `closed`; the allowed moves
    /// are listed at GET /api/v1/requests/lifecycle.
    status: Option<String>,
    #[serde(default, deserialize_with = "double")]
    #[schema(value_type = Option<String>)]
    contact: Option<Option<String>>,
}

/// Changes a request: its contact, and its status through the lifecycle (409 listing the
/// allowed next states otherwise). Honours `If-Match`.
#[utoipa::path(patch, path = "/api/v1/requests/{key}", tag = "service requests", security(("bearer" = [])),
    params(("key" = String, Path, description = "The request's id or reference"),
           ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = RequestPatch,
    responses((status = 200, body = RequestOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn update(
    requests: web::Data<ServiceRequests>,
    caller: Caller,
    req: HttpRequest,
    key: web::Path<String>,
    Json(body): Json<RequestPatch>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let changes = RequestChanges {
        status: body.status,
        contact: body.contact,
    };
    let requests = requests.into_inner();
    let key = key.into_inner();
    let request = blocking(move || {
        requests
            .update(
                &caller.principal,
                &key,
                expected,
                changes,
                caller.client.request_id.as_deref(),
            )
            .map_err(ApiError::from)
    })
    .await?;
    Ok(with_etag(request.version, &RequestOut::from(request)))
}

/// A decision on the approval step due.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecisionIn {
    /// `approve` or `reject`.
    decision: String,
    /// Why; required to reject.
    comment: Option<String>,
}

/// Decides the approval step due: the raising organisation's administrator for an
/// `organisation_admin` step, operator staff who may approve requests for an `operator` step,
/// in order. Rejecting needs a comment and ends the request.
#[utoipa::path(post, path = "/api/v1/requests/{key}/approvals", tag = "service requests",
    security(("bearer" = [])),
    params(("key" = String, Path, description = "The request's id or reference")),
    request_body = DecisionIn,
    responses((status = 200, body = RequestOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn decide(
    requests: web::Data<ServiceRequests>,
    caller: Caller,
    key: web::Path<String>,
    Json(body): Json<DecisionIn>,
) -> Result<HttpResponse, ApiError> {
    let decision = match body.decision.trim() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        _ => return Err(ApiError::invalid("decision", "must be approve or reject")),
    };
    let requests = requests.into_inner();
    let key = key.into_inner();
    let request = blocking(move || {
        requests
            .decide(
                &caller.principal,
                &key,
                decision,
                body.comment,
                caller.client.request_id.as_deref(),
            )
            .map_err(ApiError::from)
    })
    .await?;
    Ok(with_etag(request.version, &RequestOut::from(request)))
}

/// The approval steps of a request, in order.
#[utoipa::path(get, path = "/api/v1/requests/{key}/approvals", tag = "service requests",
    security(("bearer" = [])),
    params(("key" = String, Path, description = "The request's id or reference")),
    responses((status = 200, body = ListOf<ApprovalOut>),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn approvals(
    requests: web::Data<ServiceRequests>,
    caller: Caller,
    key: web::Path<String>,
) -> Result<web::Json<ListOf<ApprovalOut>>, ApiError> {
    let requests = requests.into_inner();
    let key = key.into_inner();
    let request = blocking(move || {
        requests
            .get(&caller.principal, &key)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(ListOf {
        items: request
            .approvals
            .into_iter()
            .map(ApprovalOut::from)
            .collect(),
        next_cursor: None,
    }))
}

/// Work on a fulfilment task.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TaskIn {
    /// `done`.
    status: String,
    /// What was done.
    notes: Option<String>,
}

/// Completes a fulfilment task (service desk). The first completed task starts fulfilment;
/// the last fulfils the request.
#[utoipa::path(post, path = "/api/v1/requests/{key}/tasks/{task}", tag = "service requests",
    security(("bearer" = [])),
    params(("key" = String, Path, description = "The request's id or reference"),
           ("task" = String, Path, description = "The task's id")),
    request_body = TaskIn,
    responses((status = 200, body = RequestOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn complete_task(
    requests: web::Data<ServiceRequests>,
    caller: Caller,
    path: web::Path<(String, String)>,
    Json(body): Json<TaskIn>,
) -> Result<HttpResponse, ApiError> {
    let (key, task) = path.into_inner();
    let task: i64 = task.trim().parse().map_err(|_| ApiError::NotFound)?;
    if body.status.trim() != "done" {
        return Err(ApiError::invalid("status", "must be done"));
    }
    let requests = requests.into_inner();
    let request = blocking(move || {
        requests
            .complete_task(
                &caller.principal,
                &key,
                task,
                body.notes,
                caller.client.request_id.as_deref(),
            )
            .map_err(ApiError::from)
    })
    .await?;
    Ok(with_etag(request.version, &RequestOut::from(request)))
}

/// A comment or work note.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RequestCommentOut {
    id: String,
    author: PartyOut,
    body: String,
    /// A work note only the service desk sees.
    internal: bool,
    created_at: String,
}

impl From<Comment> for RequestCommentOut {
    fn from(c: Comment) -> Self {
        Self {
            id: c.id.to_string(),
            author: c.author.into(),
            body: c.body,
            internal: c.internal,
            created_at: time(c.created_at),
        }
    }
}

/// A comment to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestCommentIn {
    body: String,
    /// A work note the raising organisation never sees (service desk only).
    #[serde(default)]
    internal: bool,
}

/// Adds a comment (seen by the raising organisation) or a work note (service desk only).
#[utoipa::path(post, path = "/api/v1/requests/{key}/comments", tag = "service requests",
    security(("bearer" = [])),
    params(("key" = String, Path, description = "The request's id or reference")),
    request_body = RequestCommentIn,
    responses((status = 201, body = RequestCommentOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn comment(
    requests: web::Data<ServiceRequests>,
    caller: Caller,
    key: web::Path<String>,
    Json(body): Json<RequestCommentIn>,
) -> Result<HttpResponse, ApiError> {
    let requests = requests.into_inner();
    let key = key.into_inner();
    let location = format!("/api/v1/requests/{key}/comments");
    let comment = blocking(move || {
        requests
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
    Ok(created(location, None, &RequestCommentOut::from(comment)))
}

/// The conversation, oldest first; work notes only for the service desk.
#[utoipa::path(get, path = "/api/v1/requests/{key}/comments", tag = "service requests",
    security(("bearer" = [])),
    params(("key" = String, Path, description = "The request's id or reference")),
    responses((status = 200, body = ListOf<RequestCommentOut>),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn comments(
    requests: web::Data<ServiceRequests>,
    caller: Caller,
    key: web::Path<String>,
) -> Result<web::Json<ListOf<RequestCommentOut>>, ApiError> {
    let requests = requests.into_inner();
    let key = key.into_inner();
    let found = blocking(move || {
        requests
            .comments(&caller.principal, &key)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(ListOf {
        items: found.into_iter().map(RequestCommentOut::from).collect(),
        next_cursor: None,
    }))
}

/// Attaches a file to an open request (`multipart/form-data`: a `file` part and optionally
/// `internal` = `true` for a work note's file, service desk only), as the raising organisation
/// or the service desk. The size limit is the server's `incidents.max_attachment_mb`; the type
/// must be accepted and agree with the content.
#[utoipa::path(post, path = "/api/v1/requests/{key}/attachments", tag = "service requests", security(("bearer" = [])),
    params(("key" = String, Path, description = "The request's id or reference")),
    request_body(content = AttachmentUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = AttachmentOut, headers(("Location" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn attach(
    requests: web::Data<ServiceRequests>,
    caller: Caller,
    req: HttpRequest,
    key: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let limit = requests.policy().max_attachment_bytes;
    let upload = read_upload(&req, payload, limit).await?;
    let requests = requests.into_inner();
    let key = key.into_inner();
    let base = format!("/api/v1/requests/{key}/attachments");
    let attachment = blocking(move || {
        requests
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

/// The files attached to a request, oldest first (those sent for its form's file fields
/// included); work notes' files only for the service desk.
#[utoipa::path(get, path = "/api/v1/requests/{key}/attachments", tag = "service requests", security(("bearer" = [])),
    params(("key" = String, Path, description = "The request's id or reference")),
    responses((status = 200, body = ListOf<AttachmentOut>),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn attachments(
    requests: web::Data<ServiceRequests>,
    caller: Caller,
    key: web::Path<String>,
) -> Result<web::Json<ListOf<AttachmentOut>>, ApiError> {
    let requests = requests.into_inner();
    let key = key.into_inner();
    let found = blocking(move || {
        requests
            .attachments(&caller.principal, &key)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(ListOf {
        items: found.into_iter().map(AttachmentOut::from).collect(),
        next_cursor: None,
    }))
}

/// Downloads a file attached to a request: its stored media type, as an attachment (never
/// rendered inline), sandboxed and never cached.
#[utoipa::path(get, path = "/api/v1/requests/{key}/attachments/{id}", tag = "service requests", security(("bearer" = [])),
    params(("key" = String, Path, description = "The request's id or reference"),
           ("id" = String, Path, description = "The attachment's id")),
    responses((status = 200, description = "The file's bytes, with its media type",
            content_type = "application/octet-stream", body = String,
            headers(("Content-Disposition" = String), ("X-Content-Type-Options" = String),
                ("Content-Security-Policy" = String), ("Cache-Control" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn download(
    requests: web::Data<ServiceRequests>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (key, id) = path.into_inner();
    let id: i64 = id.trim().parse().map_err(|_| ApiError::NotFound)?;
    let requests = requests.into_inner();
    let (attachment, bytes) = blocking(move || {
        requests
            .attachment(&caller.principal, &key, id)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(attachments::download(&attachment, bytes))
}

/// Every change, newest first: who, when, which fields from → to.
#[utoipa::path(get, path = "/api/v1/requests/{key}/history", tag = "service requests",
    security(("bearer" = [])),
    params(("key" = String, Path, description = "The request's id or reference"), PageQuery),
    responses((status = 200, body = ListOf<AuditEntryOut>),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn history(
    requests: web::Data<ServiceRequests>,
    caller: Caller,
    key: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListOf<AuditEntryOut>>, ApiError> {
    let page = query.page()?;
    let requests = requests.into_inner();
    let key = key.into_inner();
    let found = blocking(move || {
        requests
            .history(&caller.principal, &key, page)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(ListOf::from_page(found, AuditEntryOut::from)))
}

/// One allowed status change.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RequestTransitionOut {
    from: String,
    to: String,
    /// `desk`, `raiser`, `approver` (via POST …/approvals) or `system` (the last task done).
    by: Vec<String>,
}

/// The request lifecycle: every allowed status change and who may make it.
#[utoipa::path(get, path = "/api/v1/requests/lifecycle", tag = "service requests",
    responses((status = 200, body = Vec<RequestTransitionOut>)))]
pub(crate) async fn lifecycle() -> web::Json<Vec<RequestTransitionOut>> {
    web::Json(
        TRANSITIONS
            .iter()
            .map(|t| RequestTransitionOut {
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
