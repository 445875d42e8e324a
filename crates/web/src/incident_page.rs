//! The incident page at `/incidents/{reference}`, linked from emails, for everyone who may see
//! the incident: its details, one timeline of comments, work notes (service desk only),
//! attachments and history, and the actions the viewer's permissions allow — for the service
//! desk assignment, priority with a reason, status through the lifecycle table, links,
//! the major flag and work notes; for the raising organisation comments, files, and confirming
//! or reopening a resolution. Everything goes through `dsms_incident::Incidents`, which decides
//! visibility (another organisation's incident is 404) and what each caller may change.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, NaiveDateTime, Utc};
use dsms_core::{PageRequest, Permission, Principal};
use dsms_incident::lifecycle::{self, Mover};
use dsms_incident::{
    Attachment, Comment, Incident, IncidentChanges, IncidentError, Incidents, Status,
};
use dsms_store::audit::AuditEntry;

use crate::admin::{Acting, Answer, Refusal};
use crate::desk::{Choice, assignable_staff, now_of, one_of};
use crate::labels::{self, SlaBadge};
use crate::nav::{Area, Menu};
use crate::page::{Caching, see_other, show};
use crate::session::WebSession;
use crate::upload;

/// Mounts the incident page and its actions.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/incidents/{reference}", web::get().to(incident))
        .route("/incidents/{reference}/comment", web::post().to(comment))
        .route("/incidents/{reference}/assign", web::post().to(assign))
        .route("/incidents/{reference}/priority", web::post().to(priority))
        .route("/incidents/{reference}/status", web::post().to(status))
        .route("/incidents/{reference}/link", web::post().to(link))
        .route("/incidents/{reference}/major", web::post().to(major))
        .route("/incidents/{reference}/attachments", web::post().to(attach))
        .route(
            "/incidents/{reference}/attachments/{id}",
            web::get().to(download),
        );
}

/// How much history the page shows: an incident's whole life in practice.
const HISTORY_LIMIT: i64 = 500;

/// Who the viewer is to the incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Viewer {
    /// Works incidents.
    Desk,
    /// Of the raising organisation, may raise incidents (comment, confirm, reopen).
    Raiser,
    /// May only read it.
    Reader,
}

impl Viewer {
    fn of(principal: &Principal, incident: &Incident) -> Self {
        if principal.can(Permission::WorkIncidents) {
            Self::Desk
        } else if principal.organisation_id == incident.organisation_id
            && principal.can(Permission::RaiseIncidents)
        {
            Self::Raiser
        } else {
            Self::Reader
        }
    }
}

/// One event on the timeline.
struct Entry {
    at: NaiveDateTime,
    when: String,
    /// `comment`, `work-note`, `attachment` or `change`.
    kind: &'static str,
    who: String,
    what: String,
    body: String,
    href: String,
    changes: Vec<String>,
}

/// One fact in the details list.
struct Fact {
    name: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "incident/page.html")]
struct IncidentPage {
    csrf_token: String,
    menu: Menu,
    notice: Option<&'static str>,
    error: Option<String>,
    reference: String,
    title: String,
    description: String,
    status: &'static str,
    status_code: &'static str,
    priority: u8,
    major: bool,
    version: i64,
    facts: Vec<Fact>,
    response: SlaBadge,
    resolution: SlaBadge,
    timeline: Vec<Entry>,
    desk: bool,
    manager: bool,
    raiser: bool,
    open: bool,
    resolved: bool,
    awaiting_user: bool,
    groups: Vec<Choice>,
    assignees: Vec<Choice>,
    next_statuses: Vec<Choice>,
    priorities: Vec<Choice>,
    parent: String,
    duplicate_of: String,
    max_attachment_mb: usize,
}

/// Everything the page shows, read in one go.
struct Loaded {
    incident: Incident,
    comments: Vec<Comment>,
    attachments: Vec<Attachment>,
    history: Vec<AuditEntry>,
    groups: Vec<String>,
    staff: Vec<(String, String)>,
    parent: Option<String>,
    duplicate_of: Option<String>,
}

fn load(
    incidents: &Incidents,
    identity: &dsms_auth::Identity,
    principal: &Principal,
    reference: &str,
) -> Result<Loaded, IncidentError> {
    let incident = incidents.get(principal, reference)?;
    let comments = incidents.comments(principal, reference)?;
    let attachments = incidents.attachments(principal, reference)?;
    let history = incidents
        .history(
            principal,
            reference,
            PageRequest {
                limit: HISTORY_LIMIT,
                after: None,
            },
        )?
        .items;
    let reference_of = |id: Option<i64>| {
        id.and_then(|id| incidents.get(principal, &id.to_string()).ok())
            .map(|i| i.reference)
    };
    let parent = reference_of(incident.parent_id);
    let duplicate_of = reference_of(incident.duplicate_of_id);
    // Only the desk assigns; an organisation's people never see the operator's staff list.
    let (groups, staff) = if principal.can(Permission::WorkIncidents) {
        (
            identity
                .list_groups(principal)
                .map(|g| g.into_iter().map(|g| g.name).collect())
                .unwrap_or_default(),
            assignable_staff(identity, principal).unwrap_or_default(),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(Loaded {
        incident,
        comments,
        attachments,
        history,
        groups,
        staff,
        parent,
        duplicate_of,
    })
}

/// What the page says after an action worked.
fn notice(req: &HttpRequest) -> Option<&'static str> {
    let done = req
        .query_string()
        .split('&')
        .find_map(|pair| pair.strip_prefix("done="))?;
    Some(match done {
        "comment" => "Your comment has been added.",
        "note" => "The work note has been added.",
        "assign" => "The assignment has been changed.",
        "priority" => "The priority has been changed.",
        "status" => "The status has been changed.",
        "link" => "The links have been changed.",
        "major" => "The major-incident flag has been changed.",
        "attach" => "The file has been attached.",
        _ => return None,
    })
}

/// The incident page, for anyone who may see the incident.
async fn incident(
    req: HttpRequest,
    session: WebSession,
    incidents: web::Data<Incidents>,
    reference: web::Path<String>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewIncidents)?;
    render(
        &req,
        &acting,
        &incidents,
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
    incidents: &web::Data<Incidents>,
    reference: &str,
    notice: Option<&'static str>,
    error: Option<String>,
    status: StatusCode,
) -> Answer {
    let principal = acting.principal().clone();
    let identity = acting.session.ui.identity.clone();
    let service = incidents.clone();
    let key = reference.to_owned();
    let loaded = acting
        .call(move || load(&service, &identity, &principal, &key))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let max_attachment_mb = incidents.policy().max_attachment_bytes / (1024 * 1024);
    let page = build(
        acting,
        loaded,
        now_of(req),
        notice,
        error,
        max_attachment_mb,
    );
    Ok(show(acting.site(), status, Caching::NoStore, &page)?)
}

fn build(
    acting: &Acting,
    loaded: Loaded,
    now: DateTime<Utc>,
    notice: Option<&'static str>,
    error: Option<String>,
    max_attachment_mb: usize,
) -> IncidentPage {
    let principal = acting.principal();
    let Loaded {
        incident: i,
        comments,
        attachments,
        history,
        groups,
        staff,
        parent,
        duplicate_of,
    } = loaded;
    let viewer = Viewer::of(principal, &i);
    let mut names: HashMap<String, String> = staff
        .iter()
        .map(|(id, name)| (format!("person:{id}"), name.clone()))
        .collect();
    names.insert(
        format!("{}:{}", i.raised_by.kind, i.raised_by.id),
        i.raised_by.name.clone(),
    );
    if let (Some(id), Some(name)) = (i.assignee_id, &i.assignee_name) {
        names.insert(format!("person:{id}"), name.clone());
    }
    for c in &comments {
        names.insert(
            format!("{}:{}", c.author_kind, c.author_id),
            c.author_name.clone(),
        );
    }
    for a in &attachments {
        names.insert(
            format!("{}:{}", a.uploaded_by_kind, a.uploaded_by_id),
            a.uploaded_by_name.clone(),
        );
    }
    let timeline = timeline(&i.reference, comments, attachments, history, &names);
    let facts = facts(&i, parent.as_deref(), duplicate_of.as_deref());
    let desk = viewer == Viewer::Desk;
    let next_statuses = if desk {
        lifecycle::allowed(i.status, Mover::Desk)
            .into_iter()
            .map(|s| Choice {
                value: s.as_str().to_owned(),
                text: labels::status(s).to_owned(),
                selected: false,
            })
            .collect()
    } else {
        Vec::new()
    };
    let group = i.assignment_group.clone().unwrap_or_default();
    let assignee = i.assignee_id.map(|a| a.to_string()).unwrap_or_default();
    IncidentPage {
        csrf_token: acting.csrf_token(),
        menu: Menu::of(principal, Area::Incident),
        notice,
        error,
        title: i.title.clone(),
        description: i.description.clone(),
        status: labels::status(i.status),
        status_code: i.status.as_str(),
        priority: i.priority.get(),
        major: i.major,
        version: i.version,
        facts,
        response: SlaBadge::of(&i.sla.response, now),
        resolution: SlaBadge::of(&i.sla.resolution, now),
        timeline,
        desk,
        manager: principal.can(Permission::ManageIncidents),
        raiser: viewer == Viewer::Raiser,
        open: i.status.is_open(),
        resolved: i.status == Status::Resolved,
        awaiting_user: i.status == Status::AwaitingUser,
        groups: Choice::list(
            "No group",
            groups.into_iter().map(|g| (g.clone(), g)),
            &group,
        ),
        assignees: Choice::list("Unassigned", staff, &assignee),
        next_statuses,
        priorities: (1..=5u8)
            .map(|p| Choice {
                value: p.to_string(),
                text: format!("P{p}"),
                selected: p == i.priority.get(),
            })
            .collect(),
        parent: parent.unwrap_or_default(),
        duplicate_of: duplicate_of.unwrap_or_default(),
        reference: i.reference,
        max_attachment_mb,
    }
}

fn facts(i: &Incident, parent: Option<&str>, duplicate_of: Option<&str>) -> Vec<Fact> {
    let mut facts = vec![
        Fact {
            name: "Organisation",
            value: i.organisation_name.clone(),
        },
        Fact {
            name: "Raised by",
            value: format!("{} (by {})", i.raised_by.name, i.channel),
        },
        Fact {
            name: "Category",
            value: match &i.subcategory {
                Some(sub) => format!("{} / {sub}", i.category),
                None => i.category.clone(),
            },
        },
        Fact {
            name: "Impact and urgency",
            value: format!("{} and {}", i.impact.get(), i.urgency.get()),
        },
        Fact {
            name: "Resolver group",
            value: i.assignment_group.clone().unwrap_or_else(|| "None".into()),
        },
        Fact {
            name: "Assignee",
            value: i
                .assignee_name
                .clone()
                .unwrap_or_else(|| "Unassigned".into()),
        },
        Fact {
            name: "Raised",
            value: format!("{} UTC", labels::when(i.created_at)),
        },
        Fact {
            name: "Last changed",
            value: format!("{} UTC", labels::when(i.updated_at)),
        },
    ];
    let optional = [
        ("Priority reason", i.priority_reason.clone()),
        ("Contact", i.contact.clone()),
        ("Region", i.region.clone()),
        (
            "Devices",
            (!i.devices.is_empty()).then(|| i.devices.join(", ")),
        ),
        ("Message ids", i.message_ids.clone()),
        ("Part of", parent.map(str::to_owned)),
        ("Duplicate of", duplicate_of.map(str::to_owned)),
        ("Resolution code", i.resolution_code.clone()),
        ("Resolution notes", i.resolution_notes.clone()),
    ];
    facts.extend(
        optional
            .into_iter()
            .filter_map(|(name, value)| value.map(|value| Fact { name, value })),
    );
    facts
}

/// What a history entry's action reads as.
fn action_name(action: &str) -> String {
    let verb = action
        .strip_prefix("incident.")
        .unwrap_or(action)
        .replace('_', " ");
    let mut chars = verb.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

/// A history entry's field changes as lines, e.g. `Status: new → assigned`.
fn change_lines(changes: &str, names: &HashMap<String, String>) -> Vec<String> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(changes)
    else {
        return Vec::new();
    };
    let show = |field: &str, value: &serde_json::Value| match value {
        serde_json::Value::Null => "none".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) if field == "assignee_id" => names
            .get(&format!("person:{n}"))
            .cloned()
            .unwrap_or_else(|| format!("person {n}")),
        other => other.to_string(),
    };
    map.iter()
        .map(|(field, change)| {
            let label = field.trim_end_matches("_id").replace('_', " ");
            format!(
                "{label}: {} → {}",
                show(field, &change["from"]),
                show(field, &change["to"])
            )
        })
        .collect()
}

/// Comments, work notes, files and changes in the order they happened. The history's own
/// entries for comments and files are left out: the items themselves are on the timeline.
fn timeline(
    reference: &str,
    comments: Vec<Comment>,
    attachments: Vec<Attachment>,
    history: Vec<AuditEntry>,
    names: &HashMap<String, String>,
) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    for c in comments {
        entries.push(Entry {
            at: c.created_at,
            when: labels::when(c.created_at),
            kind: if c.internal { "work-note" } else { "comment" },
            who: c.author_name,
            what: if c.internal {
                "Work note".into()
            } else {
                "Comment".into()
            },
            body: c.body,
            href: String::new(),
            changes: Vec::new(),
        });
    }
    for a in attachments {
        entries.push(Entry {
            at: a.created_at,
            when: labels::when(a.created_at),
            kind: "attachment",
            who: a.uploaded_by_name,
            what: if a.internal {
                "File on a work note".into()
            } else {
                "File".into()
            },
            body: format!(
                "{} ({} bytes, {})",
                a.filename, a.size_bytes, a.content_type
            ),
            href: format!("/incidents/{reference}/attachments/{}", a.id),
            changes: Vec::new(),
        });
    }
    for h in history {
        if h.action.contains("comment_added")
            || h.action.contains("work_note")
            || h.action.contains("attachment_added")
        {
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
            what: action_name(&h.action),
            body: String::new(),
            href: String::new(),
            changes: change_lines(&h.changes, names),
        });
    }
    entries.sort_by_key(|e| e.at);
    entries
}

/// Applies `changes` at the version the page showed; on success back to the page with
/// `done`, otherwise the page again saying why.
async fn apply(
    req: &HttpRequest,
    acting: &Acting,
    incidents: &web::Data<Incidents>,
    reference: &str,
    version: Option<i64>,
    changes: IncidentChanges,
    done: &str,
) -> Answer {
    let principal = acting.principal().clone();
    let service = incidents.clone();
    let key = reference.to_owned();
    let request_id = dsms_api::auth::client_of(req).request_id;
    let result = acting
        .call(move || service.update(&principal, &key, version, changes, request_id.as_deref()))
        .await?;
    answer(req, acting, incidents, reference, result.map(|_| ()), done).await
}

/// Back to the page after an action, or the page with the action's refusal.
async fn answer(
    req: &HttpRequest,
    acting: &Acting,
    incidents: &web::Data<Incidents>,
    reference: &str,
    result: Result<(), IncidentError>,
    done: &str,
) -> Answer {
    let (message, status) = match result {
        Ok(()) => {
            return Ok(see_other(
                acting.site(),
                &format!("/incidents/{reference}?done={done}"),
            )
            .finish());
        }
        Err(IncidentError::Invalid(errors)) => (
            errors
                .0
                .iter()
                .map(|e| format!("{} {}", e.field.replace('_', " "), e.message))
                .collect::<Vec<_>>()
                .join("; "),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(IncidentError::Transition { detail, .. }) => (detail, StatusCode::CONFLICT),
        Err(IncidentError::VersionMismatch(_)) => (
            "Someone changed this incident while you were looking at it. Here it is as it is \
             now; make your change again if it is still needed."
                .to_owned(),
            StatusCode::CONFLICT,
        ),
        Err(IncidentError::Forbidden(f)) => (f.to_string(), StatusCode::FORBIDDEN),
        Err(other) => return Err(Refusal::from_context(acting.site(), other)),
    };
    render(
        req,
        acting,
        incidents,
        reference,
        None,
        Some(message),
        status,
    )
    .await
}

/// A posted form with its CSRF token checked, from a person who may see incidents.
fn form_post(
    req: &HttpRequest,
    session: WebSession,
    form: &[(String, String)],
) -> Result<Acting, Refusal> {
    let acting = Acting::of(session)?;
    acting.check_form(req, one_of(form, "csrf_token"))?;
    acting.require(Permission::ViewIncidents)?;
    Ok(acting)
}

fn version_of(form: &[(String, String)]) -> Option<i64> {
    one_of(form, "version").parse().ok()
}

fn optional(form: &[(String, String)], name: &str) -> Option<String> {
    let value = one_of(form, name).trim();
    (!value.is_empty()).then(|| value.to_owned())
}

type Form = web::Form<Vec<(String, String)>>;

async fn comment(
    req: HttpRequest,
    session: WebSession,
    incidents: web::Data<Incidents>,
    reference: web::Path<String>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    let internal = one_of(&form, "visibility") == "work_note";
    let principal = acting.principal().clone();
    let service = incidents.clone();
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
    answer(&req, &acting, &incidents, &reference, result, done).await
}

async fn assign(
    req: HttpRequest,
    session: WebSession,
    incidents: web::Data<Incidents>,
    reference: web::Path<String>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    let assignee = match one_of(&form, "assignee") {
        "" => None,
        id => match id.parse() {
            Ok(id) => Some(id),
            Err(_) => {
                let error = "Choose an assignee from the list.".to_owned();
                return render(
                    &req,
                    &acting,
                    &incidents,
                    &reference,
                    None,
                    Some(error),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        },
    };
    let changes = IncidentChanges {
        assignment_group: Some(optional(&form, "group")),
        assignee_id: Some(assignee),
        ..IncidentChanges::default()
    };
    apply(
        &req,
        &acting,
        &incidents,
        &reference,
        version_of(&form),
        changes,
        "assign",
    )
    .await
}

async fn priority(
    req: HttpRequest,
    session: WebSession,
    incidents: web::Data<Incidents>,
    reference: web::Path<String>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    let changes = IncidentChanges {
        priority: Some(one_of(&form, "priority").parse().unwrap_or(0)),
        priority_reason: optional(&form, "reason"),
        ..IncidentChanges::default()
    };
    apply(
        &req,
        &acting,
        &incidents,
        &reference,
        version_of(&form),
        changes,
        "priority",
    )
    .await
}

async fn status(
    req: HttpRequest,
    session: WebSession,
    incidents: web::Data<Incidents>,
    reference: web::Path<String>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    let changes = IncidentChanges {
        status: Some(one_of(&form, "status").to_owned()),
        resolution_code: optional(&form, "resolution_code"),
        resolution_notes: optional(&form, "resolution_notes"),
        ..IncidentChanges::default()
    };
    apply(
        &req,
        &acting,
        &incidents,
        &reference,
        version_of(&form),
        changes,
        "status",
    )
    .await
}

async fn link(
    req: HttpRequest,
    session: WebSession,
    incidents: web::Data<Incidents>,
    reference: web::Path<String>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    let principal = acting.principal().clone();
    let service = incidents.clone();
    let (parent, duplicate) = (optional(&form, "parent"), optional(&form, "duplicate_of"));
    // The page names incidents by reference; the service links them by id.
    let ids = acting
        .call(move || {
            let id_of = |key: Option<String>| match key {
                None => Ok(None),
                Some(key) => service.get(&principal, &key).map(|i| Some(i.id)),
            };
            Ok::<_, IncidentError>((id_of(parent)?, id_of(duplicate)?))
        })
        .await?;
    let (parent_id, duplicate_of_id) = match ids {
        Ok(ids) => ids,
        Err(IncidentError::NotFound) => {
            let error = "There is no incident with that reference.".to_owned();
            return render(
                &req,
                &acting,
                &incidents,
                &reference,
                None,
                Some(error),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(other) => {
            return answer(&req, &acting, &incidents, &reference, Err(other), "link").await;
        }
    };
    let changes = IncidentChanges {
        parent_id: Some(parent_id),
        duplicate_of_id: Some(duplicate_of_id),
        ..IncidentChanges::default()
    };
    apply(
        &req,
        &acting,
        &incidents,
        &reference,
        version_of(&form),
        changes,
        "link",
    )
    .await
}

async fn major(
    req: HttpRequest,
    session: WebSession,
    incidents: web::Data<Incidents>,
    reference: web::Path<String>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    let changes = IncidentChanges {
        major: Some(one_of(&form, "major") == "true"),
        ..IncidentChanges::default()
    };
    apply(
        &req,
        &acting,
        &incidents,
        &reference,
        version_of(&form),
        changes,
        "major",
    )
    .await
}

/// Attaches a file posted from the page's upload form.
async fn attach(
    req: HttpRequest,
    session: WebSession,
    incidents: web::Data<Incidents>,
    reference: web::Path<String>,
    payload: web::Payload,
) -> Answer {
    let acting = Acting::of(session)?;
    let limit = incidents.policy().max_attachment_bytes;
    let upload = match upload::read(&req, payload, limit).await {
        Ok(upload) => upload,
        Err(message) => {
            return render(
                &req,
                &acting,
                &incidents,
                &reference,
                None,
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    acting.check_form(&req, &upload.csrf_token)?;
    acting.require(Permission::ViewIncidents)?;
    let principal = acting.principal().clone();
    let service = incidents.clone();
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
    answer(&req, &acting, &incidents, &reference, result, "attach").await
}

/// Downloads an attached file: always as an attachment, never shown inline, so a file cannot
/// act as a page of this site.
async fn download(
    session: WebSession,
    incidents: web::Data<Incidents>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, Refusal> {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewIncidents)?;
    let (reference, id) = path.into_inner();
    let principal = acting.principal().clone();
    let service = incidents.clone();
    let (attachment, bytes) = acting
        .call(move || service.attachment(&principal, &reference, id))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let ascii: String = attachment
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(HttpResponse::Ok()
        .content_type(attachment.content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{ascii}\""),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        ))
        .body(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_as_from_and_to() {
        let names = HashMap::from([("person:7".to_owned(), "Ada Agent".to_owned())]);
        let lines = change_lines(
            r#"{"status":{"from":"new","to":"assigned"},"assignee_id":{"from":null,"to":7}}"#,
            &names,
        );
        assert_eq!(
            lines,
            ["assignee: none → Ada Agent", "status: new → assigned"]
        );
        assert_eq!(action_name("incident.status_changed"), "Status changed");
    }
}
