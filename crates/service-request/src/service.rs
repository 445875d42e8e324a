//! [`ServiceRequests`]: raising, reading, listing, approving, fulfilling and commenting on
//! service requests. Every call takes the caller's [`Principal`]; visibility is the storage
//! layer's organisation scope, and what a caller may change follows the permission model, the
//! lifecycle table and the approval steps of the request's form version.

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use dsms_core::sla::{ClockHours, SlaClock};
use dsms_core::{
    Actor, FieldError, Forbidden, Page, PageRequest, Permission, Principal, Role, SharedClock,
    ValidationErrors,
};
use dsms_store::audit::{self, AuditEntry, AuditEvent, AuditFilter, Changes};
use dsms_store::idempotency::{Prior, Recorded};
use dsms_store::{Db, DbConnection, StoreError, timestamp};
use serde_json::{Map, Value};

use crate::attachments::{self, NewFile};
use crate::form::{self, Approver, Definition};
use crate::lifecycle::{self, Mover, Status};
use crate::model::{
    Approval, ApprovalStatus, Comment, Decision, FormVersion, NewRequest, Party, RequestChanges,
    RequestError, ServiceRequest, Task, TaskStatus,
};
use crate::policy::RequestPolicy;
use crate::store::{self, ApprovalRow, CommentRow, RequestRow, TaskRow, VersionRow};

/// What a list of requests is filtered by.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only these statuses; `open` stands for every open one.
    pub statuses: Vec<String>,
    /// Only requests for this catalogue item (its code).
    pub item: Option<String>,
    /// Only this organisation (operator staff).
    pub organisation_id: Option<i64>,
    /// Only requests with this reference or old reference (kept by `dsms import`), or whose
    /// summary contains this text.
    pub search: Option<String>,
    /// Newest first (the default is oldest first).
    pub newest_first: bool,
}

/// An `Idempotency-Key` sent with a create, and how to render the request's response.
pub type IdempotentCreate = dsms_store::idempotency::Idempotent<ServiceRequest>;

/// The outcome of a create.
#[derive(Debug, Clone)]
pub enum Raised {
    /// A new request.
    Created(Box<ServiceRequest>),
    /// A retry: the response kept for its idempotency key.
    Replayed(Recorded),
}

/// The service-request service, catalogue included. Cheap to clone.
#[derive(Clone)]
pub struct ServiceRequests {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) db: Db,
    pub(crate) clock: SharedClock,
    pub(crate) policy: RequestPolicy,
}

impl std::fmt::Debug for ServiceRequests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceRequests")
    }
}

/// The outbox kind of domain events; a dispatcher fans them out to webhooks.
pub const EVENT_KIND: &str = "event";

/// The audit entity type of requests.
pub(crate) const ENTITY: &str = "service_request";

pub(crate) fn forbidden(what: &str) -> RequestError {
    RequestError::Forbidden(Forbidden(what.to_owned()))
}

pub(crate) fn text(field: &str, value: &str, max: usize, errors: &mut ValidationErrors) -> String {
    let value = value.trim().to_owned();
    if value.is_empty() {
        errors.push(field, "must not be empty");
    } else if value.chars().count() > max {
        errors.push(field, format!("must be at most {max} characters"));
    }
    value
}

fn optional_text(
    field: &str,
    value: Option<String>,
    max: usize,
    errors: &mut ValidationErrors,
) -> Option<String> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if let Some(v) = &value
        && v.chars().count() > max
    {
        errors.push(field, format!("must be at most {max} characters"));
    }
    value
}

pub(crate) fn author(
    principal: &Principal,
    what: &str,
) -> Result<(&'static str, i64), RequestError> {
    match principal.actor {
        Actor::Person { id, .. } => Ok(("person", id)),
        Actor::ApiToken { id, .. } => Ok(("api_token", id)),
        Actor::System { .. } => Err(forbidden(&format!("{what} as the system"))),
    }
}

pub(crate) fn parse_definition(version: &VersionRow) -> Result<Definition, RequestError> {
    serde_json::from_str(&version.definition).map_err(|_| RequestError::Corrupt(version.id))
}

pub(crate) fn form_version(version: VersionRow) -> Result<FormVersion, RequestError> {
    Ok(FormVersion {
        definition: parse_definition(&version)?,
        id: version.id,
        number: version.number,
        created_by: version.created_by_name,
        created_at: version.created_at,
    })
}

/// Everything loaded for a page of requests.
struct Loaded {
    orgs: Vec<(i64, String)>,
    codes: Vec<(i64, String)>,
    versions: Vec<VersionRow>,
    approvals: Vec<ApprovalRow>,
    tasks: Vec<TaskRow>,
}

fn load_parts(conn: &mut DbConnection, rows: &[RequestRow]) -> Result<Loaded, StoreError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let orgs: Vec<i64> = rows.iter().map(|r| r.organisation_id).collect();
    let items: Vec<i64> = rows.iter().map(|r| r.item_id).collect();
    let versions: Vec<i64> = rows.iter().map(|r| r.item_version_id).collect();
    Ok(Loaded {
        orgs: store::organisation_names(conn, &orgs)?,
        codes: store::item_codes(conn, &items)?,
        versions: store::versions(conn, &versions)?,
        approvals: store::approvals_of(conn, &ids)?,
        tasks: store::tasks_of(conn, &ids)?,
    })
}

fn party(kind: Option<String>, id: Option<i64>, name: Option<String>) -> Option<Party> {
    Some(Party {
        kind: kind?,
        id: id?,
        name: name.unwrap_or_default(),
    })
}

fn approval(a: &ApprovalRow) -> Approval {
    Approval {
        id: a.id,
        step: a.step,
        approver: Approver::parse(&a.approver).unwrap_or(Approver::Operator),
        status: ApprovalStatus::parse(&a.status).unwrap_or(ApprovalStatus::Pending),
        decided_by: party(
            a.decided_by_kind.clone(),
            a.decided_by_id,
            a.decided_by_name.clone(),
        ),
        decided_at: a.decided_at,
        comment: a.comment.clone(),
    }
}

fn task(t: &TaskRow) -> Task {
    Task {
        id: t.id,
        position: t.position,
        name: t.name.clone(),
        group: t.resolver_group.clone(),
        status: TaskStatus::parse(&t.status).unwrap_or(TaskStatus::Open),
        completed_by: party(
            t.completed_by_id.map(|_| "person".to_owned()),
            t.completed_by_id,
            t.completed_by_name.clone(),
        ),
        completed_at: t.completed_at,
        notes: t.notes.clone(),
    }
}

fn at(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

impl ServiceRequests {
    /// The service over `db`, following `policy`.
    pub fn new(db: Db, clock: SharedClock, policy: RequestPolicy) -> Self {
        Self {
            inner: Arc::new(Inner { db, clock, policy }),
        }
    }

    /// The rules in force.
    pub fn policy(&self) -> &RequestPolicy {
        &self.inner.policy
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Who the caller is to a request of `organisation_id`: the service desk, the raising
    /// organisation, or neither.
    pub fn mover(principal: &Principal, organisation_id: i64) -> Option<Mover> {
        if principal.can(Permission::WorkRequests) {
            Some(Mover::Desk)
        } else if principal.organisation_id == organisation_id
            && principal.can(Permission::RaiseRequests)
        {
            Some(Mover::Raiser)
        } else {
            None
        }
    }

    pub(crate) fn resolve_key(key: &str) -> Result<i64, RequestError> {
        let key = key.trim();
        key.parse::<i64>()
            .ok()
            .or_else(|| store::id_of_reference(&key.to_ascii_uppercase()))
            .ok_or(RequestError::NotFound)
    }

    /// Raises a request against a catalogue item's form version in force. With an idempotency
    /// key, a retry returns the first response instead of raising again.
    pub fn raise(
        &self,
        principal: &Principal,
        new: NewRequest,
        idempotent: Option<IdempotentCreate>,
    ) -> Result<Raised, RequestError> {
        self.raise_with_files(principal, new, &[], idempotent)
    }

    /// [`Self::raise`] with the files that answer the form's file fields, each checked like
    /// any attachment and stored as one of the request's.
    pub fn raise_with_files(
        &self,
        principal: &Principal,
        new: NewRequest,
        files: &[NewFile],
        idempotent: Option<IdempotentCreate>,
    ) -> Result<Raised, RequestError> {
        principal.require(Permission::RaiseRequests, "raise service requests")?;
        let (raised_by_kind, raised_by_id) = author(principal, "raise service requests")?;
        let mut errors = ValidationErrors::default();
        let summary = optional_text("summary", new.summary, 200, &mut errors);
        let contact = optional_text("contact", new.contact, 200, &mut errors);
        let item_key = new.item.trim().to_owned();
        if item_key.is_empty() {
            errors.push("catalogue_item", "must name a catalogue item by id or code");
        }
        errors.into_result()?;
        let now = self.now();
        let stamp = timestamp(now);
        let organisation_id = principal.organisation_id;
        let keyed = idempotent.is_some();
        let outcome = self.inner.db.write_blocking(|conn| {
            if let Some(key) = &idempotent {
                match key.prior(conn)? {
                    Prior::None => {}
                    Prior::Replay(kept) => return Ok(Raised::Replayed(kept)),
                    Prior::Mismatch => return Err(RequestError::IdempotencyMismatch),
                }
            }
            let found = match store::item(conn, item_key.parse().ok(), &item_key) {
                Ok((item, version)) if item.active => Some((item, version)),
                Ok(_) | Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            };
            let Some((item, version)) = found else {
                return Err(ValidationErrors::from(FieldError::new(
                    "catalogue_item",
                    "no such catalogue item is on offer",
                ))
                .into());
            };
            let definition = parse_definition(&version)?;
            let Some(sec_roles) = store::active_organisation_sec_roles(conn, organisation_id)?
            else {
                return Err(forbidden(
                    "raise requests for an organisation that is not active",
                ));
            };
            may_request(principal, &definition, &sec_roles)?;
            let mut errors = ValidationErrors::default();
            let file_keys: Vec<&str> = files.iter().map(|f| f.field.as_str()).collect();
            let mut answers = form::check_answers_with_files(
                &definition,
                &new.fields,
                &file_keys,
                now.date_naive(),
                &mut errors,
            );
            let limit = self.inner.policy.max_attachment_bytes;
            let sent = attachments::check_answer_files(files, limit, &mut errors);
            errors.into_result()?;
            let status = if definition.approvals.is_empty() {
                Status::Submitted
            } else {
                Status::AwaitingApproval
            };
            let row = RequestRow {
                id: 0,
                reference: format!(
                    "pending:{raised_by_kind}:{raised_by_id}:{}",
                    stamp.and_utc().timestamp_micros()
                ),
                organisation_id,
                item_id: item.id,
                item_version_id: version.id,
                raised_by_kind: raised_by_kind.to_owned(),
                raised_by_id,
                raised_by_name: principal.display_name.clone(),
                channel: match principal.actor {
                    Actor::ApiToken { .. } => "api".to_owned(),
                    _ => "portal".to_owned(),
                },
                summary: summary.clone().unwrap_or_else(|| definition.name.clone()),
                contact: contact.clone(),
                answers: Value::Object(answers.clone()).to_string(),
                status: status.as_str().to_owned(),
                fulfilled_at: None,
                closed_at: None,
                created_at: stamp,
                updated_at: stamp,
                version: 1,
            };
            let approvers: Vec<&str> = definition
                .approvals
                .iter()
                .map(|s| s.approver.as_str())
                .collect();
            let tasks: Vec<(String, String)> = definition
                .tasks
                .iter()
                .map(|t| (t.name.clone(), t.group.clone()))
                .collect();
            let id = store::insert_request(conn, &row, &approvers, &tasks)?;
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor: &principal.actor,
                    organisation_id: Some(organisation_id),
                    action: "service_request.created",
                    entity_type: ENTITY,
                    entity_id: id.to_string(),
                    changes: Changes::new()
                        .created("reference", store::reference_of(id))
                        .created("catalogue_item", item.code.as_str())
                        .created("form_version", version.number)
                        .created("summary", row.summary.as_str())
                        .created("status", row.status.as_str())
                        .created("channel", row.channel.as_str()),
                    request_id: None,
                },
            )?;
            let stored = attachments::store_answer_files(
                conn,
                principal,
                now,
                (id, organisation_id),
                sent,
                &mut answers,
            )?;
            let request = self.reload(conn, id, now)?;
            emit(conn, now, "request.submitted", &request)?;
            for attached in &stored {
                attachments::announce(conn, now, &request, attached)?;
            }
            if let Some(key) = idempotent {
                key.keep(conn, now, &request)?;
            }
            Ok(Raised::Created(Box::new(request)))
        });
        match outcome {
            // A concurrent request with the same key committed first; a retry gets its response.
            Err(RequestError::Store(StoreError::Conflict(_))) if keyed => {
                Err(RequestError::Store(StoreError::Unavailable(
                    "a request with the same Idempotency-Key was in progress; retry".into(),
                )))
            }
            other => other,
        }
    }

    /// One request by id or reference, if the caller may see it.
    pub fn get(&self, principal: &Principal, key: &str) -> Result<ServiceRequest, RequestError> {
        principal.require(Permission::ViewRequests, "see service requests")?;
        let direct = Self::resolve_key(key).ok();
        let now = self.now();
        self.inner.db.read_blocking(|conn| {
            let found = match direct.map(|id| store::load_visible(conn, principal, id)) {
                Some(Err(StoreError::NotFound)) | None => None,
                Some(found) => Some(found?),
            };
            // An old reference kept by `dsms import`; dsms's own ids and references win.
            let row = match found {
                Some(row) => row,
                None => match store::alias(conn, &crate::historic::normalise_alias(key))? {
                    Some((id, _)) => store::load_visible(conn, principal, id)?,
                    None => return Err(RequestError::NotFound),
                },
            };
            self.assemble_one(conn, row, now)
        })
    }

    /// One page of the requests the caller may see that match `filter`.
    pub fn list(
        &self,
        principal: &Principal,
        filter: &RequestFilter,
        page: PageRequest,
    ) -> Result<Page<ServiceRequest>, RequestError> {
        principal.require(Permission::ViewRequests, "see service requests")?;
        let mut errors = ValidationErrors::default();
        let statuses = dsms_core::status_filter::<Status>(&filter.statuses, &mut errors);
        errors.into_result()?;
        let now = self.now();
        self.inner.db.read_blocking(|conn| {
            let item_id = match &filter.item {
                Some(code) => match store::item_id_of_code(conn, code.trim())? {
                    Some(id) => Some(id),
                    None => {
                        return Ok(Page::from_rows(Vec::new(), page, |r: &ServiceRequest| r.id));
                    }
                },
                None => None,
            };
            let query = store::ListQuery {
                statuses,
                item_id,
                organisation_id: filter.organisation_id,
                search: filter
                    .search
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
                newest_first: filter.newest_first,
            };
            let rows = store::list(conn, principal, &query, page)?;
            let page = Page::from_rows(rows, page, |r| r.id);
            let items = self.assemble_all(conn, page.items, now)?;
            Ok(Page {
                items,
                next_cursor: page.next_cursor,
            })
        })
    }

    /// Changes a request if it is still at `expected` (when given): its contact, and its
    /// status through the lifecycle (start fulfilment, cancel, close).
    pub fn update(
        &self,
        principal: &Principal,
        key: &str,
        expected: Option<i64>,
        changes: RequestChanges,
        request_id: Option<&str>,
    ) -> Result<ServiceRequest, RequestError> {
        principal.require(Permission::ViewRequests, "see service requests")?;
        let id = Self::resolve_key(key)?;
        let now = self.now();
        let stamp = timestamp(now);
        self.inner.db.write_blocking(|conn| {
            let before = store::load_visible(conn, principal, id)?;
            let mover = Self::mover(principal, before.organisation_id)
                .ok_or_else(|| forbidden("change service requests"))?;
            let version = expected.unwrap_or(before.version);
            if version != before.version {
                return Err(RequestError::VersionMismatch(version));
            }
            let from = Status::parse(&before.status).unwrap_or(Status::Submitted);
            let mut row = before.clone();
            let mut errors = ValidationErrors::default();
            if let Some(contact) = changes.contact.clone() {
                row.contact = optional_text("contact", contact, 200, &mut errors);
            }
            let to = match changes.status.as_deref().map(str::trim) {
                Some(s) => match Status::parse(s) {
                    Some(s) => Some(s),
                    None => {
                        errors.push("status", format!("must be one of {}", Status::names()));
                        None
                    }
                },
                None => None,
            };
            errors.into_result()?;
            if !from.is_open() {
                return Err(RequestError::Transition {
                    detail: format!("a {from} request cannot change; raise a new one"),
                    allowed: Vec::new(),
                });
            }
            let mut moment = None;
            if let Some(to) = to.filter(|t| *t != from) {
                self.transition(conn, &mut row, from, to, mover, stamp)?;
                moment = status_event(to);
            }
            row.version = before.version + 1;
            row.updated_at = stamp;
            let changed = request_diff(&before, &row);
            if changed.is_empty() {
                return self.reload(conn, id, now);
            }
            if !store::update_request(conn, &row, before.version)? {
                return Err(RequestError::VersionMismatch(version));
            }
            self.record(
                conn,
                principal,
                now,
                &row,
                "service_request.updated",
                changed,
                request_id,
            )?;
            let request = self.reload(conn, id, now)?;
            if let Some(moment) = moment {
                emit(conn, now, moment, &request)?;
            }
            Ok(request)
        })
    }

    /// Checks and applies a status change with its side effects on the row and its steps.
    fn transition(
        &self,
        conn: &mut DbConnection,
        row: &mut RequestRow,
        from: Status,
        to: Status,
        mover: Mover,
        now: NaiveDateTime,
    ) -> Result<(), RequestError> {
        if !lifecycle::may(from, to, mover) {
            return Err(RequestError::Transition {
                detail: format!(
                    "a request cannot go from {from} to {to} by {}",
                    match mover {
                        Mover::Desk => "the service desk",
                        Mover::Raiser => "the raising organisation",
                        Mover::Approver => "an approver",
                        Mover::System => "the system",
                    }
                ),
                allowed: lifecycle::allowed(from, mover),
            });
        }
        match to {
            Status::Fulfilled => row.fulfilled_at = Some(now),
            Status::Closed | Status::Rejected | Status::Cancelled => row.closed_at = Some(now),
            _ => {}
        }
        if matches!(to, Status::Rejected | Status::Cancelled) {
            for mut step in store::approvals_of(conn, &[row.id])? {
                if step.status == ApprovalStatus::Pending.as_str() {
                    step.status = ApprovalStatus::Withdrawn.as_str().to_owned();
                    store::update_approval(conn, &step)?;
                }
            }
            for mut t in store::tasks_of(conn, &[row.id])? {
                if t.status == TaskStatus::Open.as_str() {
                    t.status = TaskStatus::Cancelled.as_str().to_owned();
                    store::update_task(conn, &t)?;
                }
            }
        }
        row.status = to.as_str().to_owned();
        Ok(())
    }

    /// Decides the approval step due: only its approver may (the raising organisation's
    /// administrator, or operator staff who may approve requests), and only in order. Rejecting
    /// needs a reason and ends the request; approving the last step approves it.
    pub fn decide(
        &self,
        principal: &Principal,
        key: &str,
        decision: Decision,
        comment: Option<String>,
        request_id: Option<&str>,
    ) -> Result<ServiceRequest, RequestError> {
        principal.require(Permission::ViewRequests, "see service requests")?;
        let id = Self::resolve_key(key)?;
        let mut errors = ValidationErrors::default();
        let comment = optional_text("comment", comment, 2_000, &mut errors);
        if decision == Decision::Reject && comment.is_none() {
            errors.push("comment", "is required to reject a request: say why");
        }
        let now = self.now();
        let stamp = timestamp(now);
        self.inner.db.write_blocking(|conn| {
            let before = store::load_visible(conn, principal, id)?;
            let status = Status::parse(&before.status).unwrap_or(Status::Submitted);
            let steps = store::approvals_of(conn, &[id])?;
            let due = steps
                .iter()
                .find(|s| s.status == ApprovalStatus::Pending.as_str())
                .cloned();
            let (Status::AwaitingApproval, Some(mut step)) = (status, due) else {
                return Err(RequestError::Transition {
                    detail: format!("a {status} request has no approval due"),
                    allowed: Vec::new(),
                });
            };
            let approver = Approver::parse(&step.approver).unwrap_or(Approver::Operator);
            may_approve(principal, approver, before.organisation_id)?;
            errors.clone().into_result()?;
            let (kind, decider) = author(principal, "approve requests")?;
            step.status = match decision {
                Decision::Approve => ApprovalStatus::Approved,
                Decision::Reject => ApprovalStatus::Rejected,
            }
            .as_str()
            .to_owned();
            step.decided_by_kind = Some(kind.to_owned());
            step.decided_by_id = Some(decider);
            step.decided_by_name = Some(principal.display_name.clone());
            step.decided_at = Some(stamp);
            step.comment = comment.clone();
            store::update_approval(conn, &step)?;
            let mut row = before.clone();
            let last = steps.last().is_some_and(|s| s.id == step.id);
            let to = match decision {
                Decision::Reject => Some(Status::Rejected),
                Decision::Approve if last => Some(Status::Approved),
                Decision::Approve => None,
            };
            if let Some(to) = to {
                self.transition(conn, &mut row, status, to, Mover::Approver, stamp)?;
            }
            row.version += 1;
            row.updated_at = stamp;
            if !store::update_request(conn, &row, before.version)? {
                return Err(RequestError::VersionMismatch(before.version));
            }
            let mut changes = request_diff(&before, &row)
                .created("approval_step", step.step)
                .created("approver", step.approver.as_str())
                .created("decision", step.status.as_str());
            if let Some(c) = &comment {
                changes = changes.created("comment", c.as_str());
            }
            self.record(
                conn,
                principal,
                now,
                &row,
                "service_request.approval_decided",
                changes,
                request_id,
            )?;
            let request = self.reload(conn, id, now)?;
            if let Some(moment) = to.and_then(status_event) {
                emit(conn, now, moment, &request)?;
            } else if let Some(next) = request
                .approvals
                .iter()
                .find(|a| a.status == ApprovalStatus::Pending)
            {
                // A later step falls due: its approvers hear of it as the first step's do
                // through `request.submitted`.
                let mut payload = event_payload("request.approval_due", now, &request);
                payload["approval"] =
                    serde_json::json!({"step": next.step, "approver": next.approver.as_str()});
                dsms_store::outbox::enqueue(conn, now, EVENT_KIND, &payload)?;
            }
            Ok(request)
        })
    }

    /// Completes a fulfilment task (service desk). Completing a task of a request not yet in
    /// fulfilment starts it; completing the last one fulfils the request.
    pub fn complete_task(
        &self,
        principal: &Principal,
        key: &str,
        task_id: i64,
        notes: Option<String>,
        request_id: Option<&str>,
    ) -> Result<ServiceRequest, RequestError> {
        principal.require(Permission::ViewRequests, "see service requests")?;
        let id = Self::resolve_key(key)?;
        let mut errors = ValidationErrors::default();
        let notes = optional_text("notes", notes, 5_000, &mut errors);
        errors.into_result()?;
        let now = self.now();
        let stamp = timestamp(now);
        self.inner.db.write_blocking(|conn| {
            let before = store::load_visible(conn, principal, id)?;
            principal.require(Permission::WorkRequests, "complete fulfilment tasks")?;
            let Some(person) = principal.person_id() else {
                return Err(forbidden(
                    "complete fulfilment tasks without being a person",
                ));
            };
            let status = Status::parse(&before.status).unwrap_or(Status::Submitted);
            if !status.accepts_task_work() {
                return Err(RequestError::Transition {
                    detail: format!("the tasks of a {status} request cannot be worked"),
                    allowed: Vec::new(),
                });
            }
            let tasks = store::tasks_of(conn, &[id])?;
            let mut t = tasks
                .iter()
                .find(|t| t.id == task_id)
                .cloned()
                .ok_or(RequestError::NotFound)?;
            if t.status != TaskStatus::Open.as_str() {
                return Err(RequestError::Transition {
                    detail: format!("task {} is already {}", t.position, t.status),
                    allowed: Vec::new(),
                });
            }
            t.status = TaskStatus::Done.as_str().to_owned();
            t.completed_by_id = Some(person);
            t.completed_by_name = Some(principal.display_name.clone());
            t.completed_at = Some(stamp);
            t.notes = notes.clone();
            store::update_task(conn, &t)?;
            let mut row = before.clone();
            let mut moments = Vec::new();
            if status != Status::InFulfilment {
                self.transition(
                    conn,
                    &mut row,
                    status,
                    Status::InFulfilment,
                    Mover::Desk,
                    stamp,
                )?;
                moments.push("request.fulfilment_started");
            }
            moments.push("request.task_completed");
            let all_done = tasks
                .iter()
                .all(|other| other.id == t.id || other.status == TaskStatus::Done.as_str());
            if all_done {
                self.transition(
                    conn,
                    &mut row,
                    Status::InFulfilment,
                    Status::Fulfilled,
                    Mover::System,
                    stamp,
                )?;
                moments.push("request.fulfilled");
            }
            row.version += 1;
            row.updated_at = stamp;
            if !store::update_request(conn, &row, before.version)? {
                return Err(RequestError::VersionMismatch(before.version));
            }
            let changes = request_diff(&before, &row)
                .created("task", t.position)
                .created("task_status", t.status.as_str());
            self.record(
                conn,
                principal,
                now,
                &row,
                "service_request.task_completed",
                changes,
                request_id,
            )?;
            let request = self.reload(conn, id, now)?;
            for moment in moments {
                let mut payload = event_payload(moment, now, &request);
                if moment == "request.task_completed" {
                    payload["task"] = serde_json::json!({
                        "id": t.id.to_string(),
                        "position": t.position,
                        "name": t.name,
                        "group": t.resolver_group,
                    });
                }
                dsms_store::outbox::enqueue(conn, now, EVENT_KIND, &payload)?;
            }
            Ok(request)
        })
    }

    /// Adds a comment (seen by the raising organisation) or, for the service desk, an internal
    /// work note (never seen by organisations), to an open request.
    pub fn comment(
        &self,
        principal: &Principal,
        key: &str,
        body: &str,
        internal: bool,
        request_id: Option<&str>,
    ) -> Result<Comment, RequestError> {
        principal.require(Permission::ViewRequests, "see service requests")?;
        let id = Self::resolve_key(key)?;
        let now = self.now();
        let stamp = timestamp(now);
        let mut errors = ValidationErrors::default();
        let body = text("body", body, 20_000, &mut errors);
        errors.into_result()?;
        self.inner.db.write_blocking(|conn| {
            let before = store::load_visible(conn, principal, id)?;
            let mover = Self::mover(principal, before.organisation_id)
                .ok_or_else(|| forbidden("comment on service requests"))?;
            if internal && mover != Mover::Desk {
                return Err(forbidden("add work notes"));
            }
            let status = Status::parse(&before.status).unwrap_or(Status::Submitted);
            if !status.is_open() {
                return Err(RequestError::Transition {
                    detail: format!("a {status} request takes no more comments"),
                    allowed: Vec::new(),
                });
            }
            let (kind, author_id) = author(principal, "comment")?;
            let comment = CommentRow {
                id: 0,
                request_id: id,
                author_kind: kind.to_owned(),
                author_id,
                author_name: principal.display_name.clone(),
                body: body.clone(),
                internal,
                created_at: stamp,
            };
            let comment_id = store::insert_comment(conn, &comment)?;
            let mut row = before.clone();
            row.version += 1;
            row.updated_at = stamp;
            store::update_request(conn, &row, before.version)?;
            self.record(
                conn,
                principal,
                now,
                &row,
                if internal {
                    "service_request.work_note_added"
                } else {
                    "service_request.comment_added"
                },
                Changes::new().created("comment_id", comment_id),
                request_id,
            )?;
            if !internal {
                let request = self.reload(conn, id, now)?;
                let mut payload = event_payload("request.comment_added", now, &request);
                payload["comment"] = serde_json::json!({
                    "id": comment_id.to_string(),
                    "author": principal.display_name,
                    "body": body,
                });
                dsms_store::outbox::enqueue(conn, now, EVENT_KIND, &payload)?;
            }
            Ok(Comment {
                id: comment_id,
                author: Party {
                    kind: kind.to_owned(),
                    id: author_id,
                    name: principal.display_name.clone(),
                },
                body,
                internal,
                created_at: stamp,
            })
        })
    }

    /// The conversation: comments, and work notes for the service desk.
    pub fn comments(&self, principal: &Principal, key: &str) -> Result<Vec<Comment>, RequestError> {
        let rows = self.read_visible(principal, key, |conn, id| {
            store::comments(conn, id, principal.is_operator_staff())
        })?;
        Ok(rows
            .into_iter()
            .map(|c| Comment {
                id: c.id,
                author: Party {
                    kind: c.author_kind,
                    id: c.author_id,
                    name: c.author_name,
                },
                body: c.body,
                internal: c.internal,
                created_at: c.created_at,
            })
            .collect())
    }

    /// Every change to a request, newest first. Organisations do not see work-note events
    /// (the audit log's own rule).
    pub fn history(
        &self,
        principal: &Principal,
        key: &str,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>, RequestError> {
        let rows = self.read_visible(principal, key, |conn, id| {
            let filter = AuditFilter {
                entity_type: Some(ENTITY.into()),
                entity_id: Some(id.to_string()),
                ..AuditFilter::default()
            };
            audit::list(conn, principal, &filter, page)
        })?;
        Ok(Page::from_rows(rows, page, |e| e.id))
    }

    fn read_visible<T>(
        &self,
        principal: &Principal,
        key: &str,
        read: impl FnOnce(&mut DbConnection, i64) -> Result<T, StoreError>,
    ) -> Result<T, RequestError> {
        principal.require(Permission::ViewRequests, "see service requests")?;
        let id = Self::resolve_key(key)?;
        Ok(self.inner.db.read_blocking(|conn| {
            store::load_visible(conn, principal, id)?;
            read(conn, id)
        })?)
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        conn: &mut DbConnection,
        principal: &Principal,
        now: DateTime<Utc>,
        row: &RequestRow,
        action: &str,
        changes: Changes,
        request_id: Option<&str>,
    ) -> Result<(), StoreError> {
        audit::record(
            conn,
            now,
            AuditEvent {
                actor: &principal.actor,
                organisation_id: Some(row.organisation_id),
                action,
                entity_type: ENTITY,
                entity_id: row.id.to_string(),
                changes,
                request_id,
            },
        )
    }

    pub(crate) fn reload(
        &self,
        conn: &mut DbConnection,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<ServiceRequest, RequestError> {
        let row = store::load(conn, id)?;
        self.assemble_one(conn, row, now)
    }

    fn assemble_one(
        &self,
        conn: &mut DbConnection,
        row: RequestRow,
        now: DateTime<Utc>,
    ) -> Result<ServiceRequest, RequestError> {
        self.assemble_all(conn, vec![row], now)?
            .pop()
            .ok_or(RequestError::NotFound)
    }

    pub(crate) fn assemble_all(
        &self,
        conn: &mut DbConnection,
        rows: Vec<RequestRow>,
        now: DateTime<Utc>,
    ) -> Result<Vec<ServiceRequest>, RequestError> {
        let loaded = load_parts(conn, &rows)?;
        let name = |pairs: &[(i64, String)], id: i64| {
            pairs
                .iter()
                .find(|(k, _)| *k == id)
                .map(|(_, n)| n.clone())
                .unwrap_or_default()
        };
        rows.into_iter()
            .map(|row| {
                let version = loaded
                    .versions
                    .iter()
                    .find(|v| v.id == row.item_version_id)
                    .cloned()
                    .ok_or(RequestError::Corrupt(row.item_version_id))?;
                let form = form_version(version)?;
                let approvals: Vec<Approval> = loaded
                    .approvals
                    .iter()
                    .filter(|a| a.request_id == row.id)
                    .map(approval)
                    .collect();
                let tasks = loaded
                    .tasks
                    .iter()
                    .filter(|t| t.request_id == row.id)
                    .map(task)
                    .collect();
                let clock = self.clock(&row, &form.definition, &approvals);
                let policy = &self.inner.policy;
                let answers: Map<String, Value> =
                    serde_json::from_str(&row.answers).unwrap_or_default();
                Ok(ServiceRequest {
                    id: row.id,
                    reference: row.reference,
                    organisation_id: row.organisation_id,
                    organisation_name: name(&loaded.orgs, row.organisation_id),
                    item_id: row.item_id,
                    item_code: name(&loaded.codes, row.item_id),
                    form,
                    raised_by: Party {
                        kind: row.raised_by_kind,
                        id: row.raised_by_id,
                        name: row.raised_by_name,
                    },
                    channel: row.channel,
                    summary: row.summary,
                    contact: row.contact,
                    answers,
                    status: Status::parse(&row.status).unwrap_or(Status::Submitted),
                    approvals,
                    tasks,
                    sla: clock.read(&policy.calendar, now, policy.at_risk_fraction),
                    fulfilled_at: row.fulfilled_at,
                    closed_at: row.closed_at,
                    created_at: row.created_at,
                    updated_at: row.updated_at,
                    version: row.version,
                })
            })
            .collect()
    }

    /// The fulfilment clock: the form version's target in working days from raising, paused
    /// while the raising organisation's own administrator has yet to approve (the wait is the
    /// organisation's, not the operator's), stopped once fulfilled, rejected or cancelled.
    fn clock(&self, row: &RequestRow, definition: &Definition, approvals: &[Approval]) -> SlaClock {
        let policy = &self.inner.policy;
        let pauses = approvals
            .iter()
            .filter(|a| a.approver == Approver::OrganisationAdmin)
            .map(|a| (at(row.created_at), a.decided_at.map(at)))
            .collect();
        SlaClock {
            target: policy.working_day * i32::try_from(definition.sla_working_days).unwrap_or(1),
            hours: ClockHours::WorkingHours,
            started_at: at(row.created_at),
            pauses,
            stopped_at: row.fulfilled_at.or(row.closed_at).map(at),
        }
    }
}

/// Whether the caller may request an item with `definition`, its organisation holding
/// `sec_roles`.
pub(crate) fn may_request(
    principal: &Principal,
    definition: &Definition,
    sec_roles: &[String],
) -> Result<(), RequestError> {
    let who = &definition.requesters;
    if !who.sec_roles.is_empty()
        && !who
            .sec_roles
            .iter()
            .any(|r| sec_roles.iter().any(|s| s == r.as_str()))
    {
        return Err(forbidden(&format!(
            "request {}: it is offered to organisations holding {}",
            definition.name,
            who.sec_roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if !who.roles.is_empty() && !who.roles.iter().any(|r| principal.roles.contains(r)) {
        return Err(forbidden(&format!(
            "request {}: it is for people with the role {}",
            definition.name,
            who.roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    }
    Ok(())
}

/// Whether the caller decides a step for `approver` on a request of `organisation_id`.
fn may_approve(
    principal: &Principal,
    approver: Approver,
    organisation_id: i64,
) -> Result<(), RequestError> {
    let allowed = principal.can(Permission::ApproveRequests)
        && match approver {
            Approver::OrganisationAdmin => {
                !principal.is_operator_staff()
                    && principal.organisation_id == organisation_id
                    && principal.roles.contains(&Role::OrgAdmin)
            }
            Approver::Operator => principal.is_operator_staff(),
        };
    if allowed {
        Ok(())
    } else {
        Err(forbidden(match approver {
            Approver::OrganisationAdmin => {
                "decide this approval step: it awaits the raising organisation's administrator"
            }
            Approver::Operator => {
                "decide this approval step: it awaits the operator (service-desk managers)"
            }
        }))
    }
}

/// Whether `principal` decides the approval step `request` awaits now (none is awaited unless
/// the request is awaiting approval).
pub fn decides_next(principal: &Principal, request: &ServiceRequest) -> bool {
    request.status == Status::AwaitingApproval
        && request
            .approvals
            .iter()
            .find(|a| a.status == ApprovalStatus::Pending)
            .is_some_and(|due| {
                may_approve(principal, due.approver, request.organisation_id).is_ok()
            })
}

/// The domain event a status reached by a change announces.
fn status_event(status: Status) -> Option<&'static str> {
    match status {
        Status::Approved => Some("request.approved"),
        Status::Rejected => Some("request.rejected"),
        Status::InFulfilment => Some("request.fulfilment_started"),
        Status::Fulfilled => Some("request.fulfilled"),
        Status::Closed => Some("request.closed"),
        Status::Cancelled => Some("request.cancelled"),
        Status::Submitted | Status::AwaitingApproval => None,
    }
}

/// The field-level changes between two versions of a request's row, for its history.
fn request_diff(before: &RequestRow, after: &RequestRow) -> Changes {
    let v = |o: &Option<String>| o.clone().map_or(Value::Null, Value::from);
    let t = |o: &Option<NaiveDateTime>| {
        o.map_or(Value::Null, |t| Value::from(t.and_utc().to_rfc3339()))
    };
    Changes::new()
        .field("status", before.status.as_str(), after.status.as_str())
        .field("contact", v(&before.contact), v(&after.contact))
        .field(
            "fulfilled_at",
            t(&before.fulfilled_at),
            t(&after.fulfilled_at),
        )
        .field("closed_at", t(&before.closed_at), t(&after.closed_at))
}

/// A domain event about a request, as queued for webhooks: the fields an organisation's system
/// needs to decide whether to fetch the whole request. Answers and work notes never appear.
pub fn event_payload(event: &str, now: DateTime<Utc>, request: &ServiceRequest) -> Value {
    let secs = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    serde_json::json!({
        "type": event,
        "occurred_at": secs(now),
        "organisation_id": request.organisation_id.to_string(),
        "request": {
            "id": request.id.to_string(),
            "reference": request.reference,
            "summary": request.summary,
            "status": request.status.as_str(),
            "catalogue_item": request.item_code,
            "form_version": request.form.number,
            "raised_by": {"kind": request.raised_by.kind, "id": request.raised_by.id.to_string()},
            "due_at": request.sla.due_at.map(secs),
            "updated_at": secs(request.updated_at.and_utc()),
            "version": request.version,
        },
    })
}

fn emit(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    event: &str,
    request: &ServiceRequest,
) -> Result<(), StoreError> {
    dsms_store::outbox::enqueue(conn, now, EVENT_KIND, &event_payload(event, now, request))
        .map(|_| ())
}
