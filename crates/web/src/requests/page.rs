//! The request page at `/requests/{reference}`, for everyone who may see the request: its
//! answers (read against the form version it was raised on), approval steps, fulfilment tasks
//! and one timeline of comments, work notes (service desk only) and history; and the actions
//! the viewer may take — comment; decide the approval step due when it is theirs; for the
//! service desk complete tasks, add work notes and move the status as the lifecycle allows; for
//! the raising organisation cancel or confirm. `ServiceRequests` decides every one of them again.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use chrono::NaiveDateTime;
use dsms_core::{PageRequest, Permission, Principal};
use dsms_service_request::lifecycle::{self, Mover};
use dsms_service_request::{
    ApprovalStatus, Attachment, Comment, Decision, Party, RequestChanges, RequestError,
    ServiceRequest, ServiceRequests, Status, TaskStatus, decides_next,
};
use dsms_store::audit::AuditEntry;
use serde_json::Value;

use super::answers::{humanise, shown};
use super::{approver_name, status_name};
use crate::admin::{Acting, Answer, Refusal};
use crate::desk::{now_of, one_of};
use crate::labels::{self, SlaBadge};
use crate::nav::{Area, Menu};
use crate::page::{Caching, see_other, show};
use crate::session::WebSession;
use crate::upload;

/// Mounts the request page and its actions.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/requests/{reference}", web::get().to(request))
        .route("/requests/{reference}/comment", web::post().to(comment))
        .route("/requests/{reference}/decision", web::post().to(decide))
        .route("/requests/{reference}/status", web::post().to(status))
        .route("/requests/{reference}/attachments", web::post().to(attach))
        .route(
            "/requests/{reference}/attachments/{id}",
            web::get().to(download),
        )
        .route(
            "/requests/{reference}/tasks/{task}",
            web::post().to(complete_task),
        );
}

/// How much history the page shows: a request's whole life in practice.
const HISTORY_LIMIT: i64 = 500;

/// One fact in a list of facts.
struct Fact {
    name: String,
    value: String,
}

/// One approval step as shown.
struct StepView {
    step: i32,
    approver: &'static str,
    status: &'static str,
    status_code: &'static str,
    decided: String,
    comment: String,
}

/// One fulfilment task as shown.
struct TaskView {
    id: i64,
    position: i32,
    name: String,
    group: String,
    status: &'static str,
    open: bool,
    done: String,
    notes: String,
}

/// A status the viewer may move the request to, as a button.
struct Move {
    value: &'static str,
    text: &'static str,
    /// Styled as a warning (cancelling).
    warning: bool,
}

/// One attached file as listed.
struct FileView {
    id: i64,
    filename: String,
    size: String,
    who: String,
    when: String,
    /// A work note's file (the service desk only sees these).
    internal: bool,
}

/// One event on the timeline.
struct Entry {
    at: NaiveDateTime,
    when: String,
    /// `comment`, `work-note` or `change`.
    kind: &'static str,
    who: String,
    what: String,
    body: String,
    changes: Vec<String>,
}

#[derive(Template)]
#[template(path = "requests/page.html")]
struct RequestPage {
    csrf_token: String,
    menu: Menu,
    notice: Option<&'static str>,
    error: Option<String>,
    reference: String,
    summary: String,
    item: String,
    status: &'static str,
    status_code: &'static str,
    version: i64,
    answers: Vec<Fact>,
    facts: Vec<Fact>,
    sla: SlaBadge,
    steps: Vec<StepView>,
    tasks: Vec<TaskView>,
    timeline: Vec<Entry>,
    files: Vec<FileView>,
    max_attachment_mb: usize,
    desk: bool,
    may_comment: bool,
    decides: bool,
    works_tasks: bool,
    moves: Vec<Move>,
}

/// Everything the page shows, read in one go.
struct Loaded {
    request: ServiceRequest,
    comments: Vec<Comment>,
    history: Vec<AuditEntry>,
    attachments: Vec<Attachment>,
    max_attachment_mb: usize,
}

fn load(
    requests: &ServiceRequests,
    principal: &Principal,
    reference: &str,
) -> Result<Loaded, RequestError> {
    let request = requests.get(principal, reference)?;
    let comments = requests.comments(principal, reference)?;
    let attachments = requests.attachments(principal, reference)?;
    let history = requests
        .history(
            principal,
            reference,
            PageRequest {
                limit: HISTORY_LIMIT,
                after: None,
            },
        )?
        .items;
    Ok(Loaded {
        request,
        comments,
        history,
        attachments,
        max_attachment_mb: requests.policy().max_attachment_bytes / (1024 * 1024),
    })
}

/// What the page says after an action worked.
fn notice(req: &HttpRequest) -> Option<&'static str> {
    let done = req
        .query_string()
        .split('&')
        .find_map(|pair| pair.strip_prefix("done="))?;
    Some(match done {
        "raised" => "Your request has been raised.",
        "comment" => "Your comment has been added.",
        "note" => "The work note has been added.",
        "decision" => "Your decision has been recorded.",
        "task" => "The task has been completed.",
        "status" => "The status has been changed.",
        "attach" => "The file has been attached.",
        _ => return None,
    })
}

/// The request page, for anyone who may see the request.
async fn request(
    req: HttpRequest,
    session: WebSession,
    requests: web::Data<ServiceRequests>,
    reference: web::Path<String>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewRequests)?;
    render(
        &req,
        &acting,
        &requests,
        &reference,
        notice(&req),
        None,
        StatusCode::OK,
    )
    .await
}

/// Reads and shows the page, with `error` from a refused action.
async fn render(
    req: &HttpRequest,
    acting: &Acting,
    requests: &web::Data<ServiceRequests>,
    reference: &str,
    notice: Option<&'static str>,
    error: Option<String>,
    status: StatusCode,
) -> Answer {
    let principal = acting.principal().clone();
    let service = requests.clone();
    let key = reference.to_owned();
    let loaded = acting
        .call(move || load(&service, &principal, &key))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let page = build(acting, loaded, now_of(req), notice, error);
    Ok(show(acting.site(), status, Caching::NoStore, &page)?)
}

/// The button a status move shows as, for the service desk or the raising organisation.
fn move_of(to: Status, mover: Mover) -> Option<Move> {
    let (text, warning) = match (to, mover) {
        (Status::InFulfilment, _) => ("Start fulfilment", false),
        (Status::Cancelled, Mover::Raiser) => ("Cancel this request", true),
        (Status::Cancelled, _) => ("Cancel the request", true),
        (Status::Closed, Mover::Raiser) => ("Confirm it is done and close it", false),
        (Status::Closed, _) => ("Close the request", false),
        _ => return None,
    };
    Some(Move {
        value: to.as_str(),
        text,
        warning,
    })
}

fn party_key(party: &Party) -> String {
    format!("{}:{}", party.kind, party.id)
}

fn build(
    acting: &Acting,
    loaded: Loaded,
    now: chrono::DateTime<chrono::Utc>,
    notice: Option<&'static str>,
    error: Option<String>,
) -> RequestPage {
    let principal = acting.principal();
    let Loaded {
        request: r,
        comments,
        history,
        attachments,
        max_attachment_mb,
    } = loaded;
    let mover = ServiceRequests::mover(principal, r.organisation_id);
    let desk = mover == Some(Mover::Desk);
    let mut names: HashMap<String, String> = HashMap::new();
    names.insert(party_key(&r.raised_by), r.raised_by.name.clone());
    for party in r
        .approvals
        .iter()
        .filter_map(|a| a.decided_by.as_ref())
        .chain(r.tasks.iter().filter_map(|t| t.completed_by.as_ref()))
        .chain(comments.iter().map(|c| &c.author))
    {
        names.insert(party_key(party), party.name.clone());
    }
    let definition = &r.form.definition;
    let answers = definition
        .fields
        .iter()
        .map(|field| Fact {
            name: field.label.clone(),
            value: shown(field, r.answers.get(&field.key)),
        })
        .collect();
    let moves = mover
        .filter(|m| matches!(m, Mover::Desk | Mover::Raiser))
        .map(|m| {
            lifecycle::allowed(r.status, m)
                .into_iter()
                .filter_map(|to| move_of(to, m))
                .collect()
        })
        .unwrap_or_default();
    RequestPage {
        csrf_token: acting.csrf_token(),
        menu: Menu::of(principal, Area::Request),
        notice,
        error,
        summary: r.summary.clone(),
        item: definition.name.clone(),
        status: status_name(r.status),
        status_code: r.status.as_str(),
        version: r.version,
        answers,
        facts: facts(&r),
        sla: SlaBadge::of(&r.sla, now),
        steps: r
            .approvals
            .iter()
            .map(|a| StepView {
                step: a.step,
                approver: approver_name(a.approver),
                status: match a.status {
                    ApprovalStatus::Pending => "Pending",
                    ApprovalStatus::Approved => "Approved",
                    ApprovalStatus::Rejected => "Rejected",
                    ApprovalStatus::Withdrawn => "Not needed",
                },
                status_code: a.status.as_str(),
                decided: match (&a.decided_by, a.decided_at) {
                    (Some(by), Some(at)) => {
                        format!("by {} on {} UTC", by.name, labels::when(at))
                    }
                    _ => String::new(),
                },
                comment: a.comment.clone().unwrap_or_default(),
            })
            .collect(),
        tasks: r
            .tasks
            .iter()
            .map(|t| TaskView {
                id: t.id,
                position: t.position,
                name: t.name.clone(),
                group: t.group.clone(),
                status: match t.status {
                    TaskStatus::Open => "To do",
                    TaskStatus::Done => "Done",
                    TaskStatus::Cancelled => "Not needed",
                },
                open: t.status == TaskStatus::Open,
                done: match (&t.completed_by, t.completed_at) {
                    (Some(by), Some(at)) => {
                        format!("by {} on {} UTC", by.name, labels::when(at))
                    }
                    _ => String::new(),
                },
                notes: t.notes.clone().unwrap_or_default(),
            })
            .collect(),
        timeline: timeline(comments, history, &names),
        files: attachments
            .into_iter()
            .map(|a| FileView {
                id: a.id,
                size: file_size(a.size_bytes),
                who: a.uploaded_by_name,
                when: labels::when(a.created_at),
                internal: a.internal,
                filename: a.filename,
            })
            .collect(),
        max_attachment_mb,
        desk,
        may_comment: mover.is_some() && r.status.is_open(),
        decides: decides_next(principal, &r),
        works_tasks: desk && r.status.accepts_task_work(),
        moves,
        reference: r.reference,
    }
}

fn facts(r: &ServiceRequest) -> Vec<Fact> {
    let fact = |name: &str, value: String| Fact {
        name: name.to_owned(),
        value,
    };
    let mut facts = vec![
        fact("Organisation", r.organisation_name.clone()),
        fact(
            "Catalogue item",
            format!(
                "{} (form version {})",
                r.form.definition.name, r.form.number
            ),
        ),
        fact(
            "Raised by",
            format!("{} (by {})", r.raised_by.name, r.channel),
        ),
        fact("Raised", format!("{} UTC", labels::when(r.created_at))),
        fact(
            "Last changed",
            format!("{} UTC", labels::when(r.updated_at)),
        ),
    ];
    if let Some(contact) = &r.contact {
        facts.push(fact("Contact", contact.clone()));
    }
    if let Some(at) = r.fulfilled_at {
        facts.push(fact("Fulfilled", format!("{} UTC", labels::when(at))));
    }
    if let Some(at) = r.closed_at {
        facts.push(fact("Ended", format!("{} UTC", labels::when(at))));
    }
    facts
}

/// A file's size as people read it.
fn file_size(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} bytes"),
        b if b < 1024 * 1024 => format!("{} KB", (b + 1023) / 1024),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

/// What a history entry's action reads as.
fn action_name(action: &str) -> &'static str {
    match action {
        "service_request.created" => "Raised",
        "service_request.approval_decided" => "Approval decided",
        "service_request.task_completed" => "Task completed",
        "service_request.attachment_added" => "File attached",
        "service_request.work_note_attachment_added" => "File attached to the work notes",
        _ => "Changed",
    }
}

/// A value in a history entry as people read it.
fn value(field: &str, v: &Value) -> String {
    match (field, v) {
        (_, Value::Null) => "none".to_owned(),
        ("status", Value::String(s)) => {
            Status::parse(s).map_or_else(|| s.clone(), |st| status_name(st).to_owned())
        }
        ("approver", Value::String(s)) => dsms_service_request::Approver::parse(s)
            .map_or_else(|| s.clone(), |a| approver_name(a).to_owned()),
        ("decision" | "task_status", Value::String(s)) => humanise(s),
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

/// A history entry's changes as lines, e.g. `Status: Awaiting approval → Approved`.
fn change_lines(changes: &str) -> Vec<String> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(changes) else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(field, change)| {
            let label = match field.as_str() {
                "status" => "Status",
                "contact" => "Contact",
                "summary" => "Summary",
                "catalogue_item" => "Catalogue item",
                "form_version" => "Form version",
                "approval_step" => "Approval step",
                "approver" => "Approver",
                "decision" => "Decision",
                "comment" => "Reason or remark",
                "task" => "Task",
                "task_status" => "Task status",
                "filename" => "File",
                "field" => "For the form's field",
                // Times and the reference are on the page already.
                _ => return None,
            };
            Some(match &change["from"] {
                Value::Null => format!("{label}: {}", value(field, &change["to"])),
                from => format!(
                    "{label}: {} → {}",
                    value(field, from),
                    value(field, &change["to"])
                ),
            })
        })
        .collect()
}

/// Comments, work notes and changes in the order they happened. The history's own entries for
/// comments are left out: the comments themselves are on the timeline.
fn timeline(
    comments: Vec<Comment>,
    history: Vec<AuditEntry>,
    names: &HashMap<String, String>,
) -> Vec<Entry> {
    let mut entries: Vec<Entry> = comments
        .into_iter()
        .map(|c| Entry {
            at: c.created_at,
            when: labels::when(c.created_at),
            kind: if c.internal { "work-note" } else { "comment" },
            who: c.author.name,
            what: if c.internal { "Work note" } else { "Comment" }.to_owned(),
            body: c.body,
            changes: Vec::new(),
        })
        .collect();
    for h in history {
        if h.action.ends_with("comment_added") || h.action.ends_with("work_note_added") {
            continue;
        }
        let who = names
            .get(&format!("{}:{}", h.actor_kind, h.actor_id))
            .cloned()
            .unwrap_or_else(|| match h.actor_kind.as_str() {
                "system" => "dsms".to_owned(),
                "api_token" => "An API client".to_owned(),
                _ => "Service desk".to_owned(),
            });
        entries.push(Entry {
            at: h.occurred_at,
            when: labels::when(h.occurred_at),
            kind: "change",
            who,
            what: action_name(&h.action).to_owned(),
            body: String::new(),
            changes: change_lines(&h.changes),
        });
    }
    entries.sort_by_key(|e| e.at);
    entries
}

/// A field the service names, as the page's forms label it.
fn label_of(field: &str) -> &str {
    match field {
        "body" => "Your comment",
        "comment" => "The reason",
        "notes" => "The notes",
        "status" => "The status",
        "file" => "The file",
        "filename" => "The file's name",
        other => other,
    }
}

/// Back to the page after an action, or the page with the action's refusal.
async fn answer(
    req: &HttpRequest,
    acting: &Acting,
    requests: &web::Data<ServiceRequests>,
    reference: &str,
    result: Result<(), RequestError>,
    done: &str,
) -> Answer {
    let (message, status) = match result {
        Ok(()) => {
            return Ok(
                see_other(acting.site(), &format!("/requests/{reference}?done={done}")).finish(),
            );
        }
        Err(RequestError::Invalid(errors)) => (
            errors
                .0
                .iter()
                .map(|e| format!("{} {}", label_of(&e.field), e.message))
                .collect::<Vec<_>>()
                .join("; "),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(RequestError::Transition { detail, .. }) => (detail, StatusCode::CONFLICT),
        Err(RequestError::VersionMismatch(_)) => (
            "Someone changed this request while you were looking at it. Here it is as it is \
             now; make your change again if it is still needed."
                .to_owned(),
            StatusCode::CONFLICT,
        ),
        Err(RequestError::Forbidden(f)) => (format!("{f}."), StatusCode::FORBIDDEN),
        Err(other) => return Err(Refusal::from_context(acting.site(), other)),
    };
    render(
        req,
        acting,
        requests,
        reference,
        None,
        Some(message),
        status,
    )
    .await
}

/// A posted form with its CSRF token checked, from a person who may see requests.
fn form_post(
    req: &HttpRequest,
    session: WebSession,
    form: &[(String, String)],
) -> Result<Acting, Refusal> {
    let acting = Acting::of(session)?;
    acting.check_form(req, one_of(form, "csrf_token"))?;
    acting.require(Permission::ViewRequests)?;
    Ok(acting)
}

fn optional(form: &[(String, String)], name: &str) -> Option<String> {
    let value = one_of(form, name).trim();
    (!value.is_empty()).then(|| value.to_owned())
}

type Form = web::Form<Vec<(String, String)>>;

async fn comment(
    req: HttpRequest,
    session: WebSession,
    requests: web::Data<ServiceRequests>,
    reference: web::Path<String>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    let internal = one_of(&form, "visibility") == "work_note";
    let principal = acting.principal().clone();
    let service = requests.clone();
    let key = reference.clone();
    let body = one_of(&form, "body").to_owned();
    let request_id = dsms_api::auth::client_of(&req).request_id;
    let result = acting
        .call(move || {
            service
                .comment(&principal, &key, &body, internal, request_id.as_deref())
                .map(|_| ())
        })
        .await?;
    let done = if internal { "note" } else { "comment" };
    answer(&req, &acting, &requests, &reference, result, done).await
}

/// Attaches a file posted from the page's upload form.
async fn attach(
    req: HttpRequest,
    session: WebSession,
    requests: web::Data<ServiceRequests>,
    reference: web::Path<String>,
    payload: web::Payload,
) -> Answer {
    let acting = Acting::of(session)?;
    let limit = requests.policy().max_attachment_bytes;
    let upload = match upload::read(&req, payload, limit).await {
        Ok(upload) => upload,
        Err(message) => {
            return render(
                &req,
                &acting,
                &requests,
                &reference,
                None,
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    acting.check_form(&req, &upload.csrf_token)?;
    acting.require(Permission::ViewRequests)?;
    let principal = acting.principal().clone();
    let service = requests.clone();
    let key = reference.clone();
    let request_id = dsms_api::auth::client_of(&req).request_id;
    let result = acting
        .call(move || {
            service
                .attach(
                    &principal,
                    &key,
                    &upload.filename,
                    upload.content_type.as_deref(),
                    &upload.bytes,
                    upload.internal,
                    request_id.as_deref(),
                )
                .map(|_| ())
        })
        .await?;
    answer(&req, &acting, &requests, &reference, result, "attach").await
}

/// Downloads a file attached to the request.
async fn download(
    session: WebSession,
    requests: web::Data<ServiceRequests>,
    path: web::Path<(String, i64)>,
) -> Result<actix_web::HttpResponse, Refusal> {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewRequests)?;
    let (reference, id) = path.into_inner();
    let principal = acting.principal().clone();
    let service = requests.clone();
    let (attachment, bytes) = acting
        .call(move || service.attachment(&principal, &reference, id))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    Ok(upload::download(attachment, bytes))
}

async fn decide(
    req: HttpRequest,
    session: WebSession,
    requests: web::Data<ServiceRequests>,
    reference: web::Path<String>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    let decision = match one_of(&form, "decision") {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        _ => {
            let error = "Choose to approve or to reject.".to_owned();
            return render(
                &req,
                &acting,
                &requests,
                &reference,
                None,
                Some(error),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let principal = acting.principal().clone();
    let service = requests.clone();
    let key = reference.clone();
    let comment = optional(&form, "comment");
    let request_id = dsms_api::auth::client_of(&req).request_id;
    let result = acting
        .call(move || {
            service
                .decide(&principal, &key, decision, comment, request_id.as_deref())
                .map(|_| ())
        })
        .await?;
    answer(&req, &acting, &requests, &reference, result, "decision").await
}

async fn status(
    req: HttpRequest,
    session: WebSession,
    requests: web::Data<ServiceRequests>,
    reference: web::Path<String>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    let principal = acting.principal().clone();
    let service = requests.clone();
    let key = reference.clone();
    let version = one_of(&form, "version").parse().ok();
    let changes = RequestChanges {
        status: Some(one_of(&form, "status").to_owned()),
        contact: None,
    };
    let request_id = dsms_api::auth::client_of(&req).request_id;
    let result = acting
        .call(move || {
            service
                .update(&principal, &key, version, changes, request_id.as_deref())
                .map(|_| ())
        })
        .await?;
    answer(&req, &acting, &requests, &reference, result, "status").await
}

async fn complete_task(
    req: HttpRequest,
    session: WebSession,
    requests: web::Data<ServiceRequests>,
    path: web::Path<(String, i64)>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    let (reference, task) = path.into_inner();
    let principal = acting.principal().clone();
    let service = requests.clone();
    let key = reference.clone();
    let notes = optional(&form, "notes");
    let request_id = dsms_api::auth::client_of(&req).request_id;
    let result = acting
        .call(move || {
            service
                .complete_task(&principal, &key, task, notes, request_id.as_deref())
                .map(|_| ())
        })
        .await?;
    answer(&req, &acting, &requests, &reference, result, "task").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_in_words() {
        let lines = change_lines(
            r#"{"status":{"from":"awaiting_approval","to":"approved"},
                "approval_step":{"from":null,"to":2},"approver":{"from":null,"to":"operator"},
                "decision":{"from":null,"to":"approved"},"closed_at":{"from":null,"to":"x"}}"#,
        );
        assert_eq!(
            lines,
            [
                "Approval step: 2",
                "Approver: The service desk's managers",
                "Decision: Approved",
                "Status: Awaiting approval → Approved"
            ]
        );
    }

    #[test]
    fn the_raiser_cancels_or_confirms_and_the_desk_also_starts_fulfilment() {
        let texts = |from, mover| {
            lifecycle::allowed(from, mover)
                .into_iter()
                .filter_map(|to| move_of(to, mover))
                .map(|m| m.text)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            texts(Status::AwaitingApproval, Mover::Raiser),
            ["Cancel this request"]
        );
        assert_eq!(
            texts(Status::Approved, Mover::Desk),
            ["Start fulfilment", "Cancel the request"]
        );
        assert_eq!(
            texts(Status::Fulfilled, Mover::Raiser),
            ["Confirm it is done and close it"]
        );
    }
}
