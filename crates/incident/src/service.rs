//! [`Incidents`]: raising, reading, listing, working and commenting on incidents. Every call
//! takes the caller's [`Principal`]; visibility is the storage layer's organisation scope, and
//! what a caller may change follows the permission model and the lifecycle table.

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use dsms_core::attachment::{self, Attachment};
use dsms_core::{
    Actor, FieldError, Forbidden, Page, PageRequest, Permission, Principal, SharedClock,
    ValidationErrors,
};
use dsms_store::attachments::{self as files, TicketKind};
use dsms_store::audit::{self, AuditEntry, AuditEvent, AuditFilter, Changes};
use dsms_store::idempotency::{Prior, Recorded};
use dsms_store::{Db, DbConnection, StoreError, timestamp};
use serde_json::Value;

use crate::lifecycle::{self, Mover, Status};
use crate::model::{Comment, Incident, IncidentChanges, IncidentError, NewIncident, Raiser, Sla};
use crate::policy::IncidentPolicy;
use crate::priority::{Impact, Priority, Urgency};
use crate::store::{self, DetailsRow, IncidentRow, Loaded, PauseRow};
use dsms_core::sla::SlaClock;

/// What a list of incidents is filtered by.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    /// Only these statuses; `open` stands for every open one.
    pub statuses: Vec<String>,
    /// Only these priorities.
    pub priorities: Vec<i64>,
    /// Only this category.
    pub category: Option<String>,
    /// Only this organisation (operator staff).
    pub organisation_id: Option<i64>,
    /// Only this resolver group.
    pub assignment_group: Option<String>,
    /// Only assigned to this person.
    pub assignee_id: Option<i64>,
    /// Only unassigned.
    pub unassigned: bool,
    /// Only major (or only not major) incidents.
    pub major: Option<bool>,
    /// Only incidents affecting this device, hub or meter point.
    pub device: Option<String>,
    /// Raised at or after.
    pub created_after: Option<DateTime<Utc>>,
    /// Raised before.
    pub created_before: Option<DateTime<Utc>>,
    /// Changed at or after.
    pub updated_after: Option<DateTime<Utc>>,
    /// Unresolved and due for resolution before.
    pub resolution_due_before: Option<DateTime<Utc>>,
    /// Words to find in titles, descriptions and comments.
    pub search: Option<String>,
    /// Newest first (the default is oldest first).
    pub newest_first: bool,
}

/// An `Idempotency-Key` sent with a create, and how to render the incident's response.
pub type IdempotentCreate = dsms_store::idempotency::Idempotent<Incident>;

/// Renders a created incident as `(body, location)`.
pub type RenderCreated = dsms_store::idempotency::Render<Incident>;

/// The outcome of a create.
#[derive(Debug, Clone)]
pub enum Raised {
    /// A new incident.
    Created(Box<Incident>),
    /// A retry: the response kept for its idempotency key.
    Replayed(Recorded),
}

/// The incident service. Cheap to clone.
#[derive(Clone)]
pub struct Incidents {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    clock: SharedClock,
    policy: IncidentPolicy,
}

impl std::fmt::Debug for Incidents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Incidents")
    }
}

const CHANNELS: &[&str] = &["api", "portal", "email", "telephone"];

fn text(field: &str, value: &str, max: usize, errors: &mut ValidationErrors) -> String {
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

/// Device, hub and meter-point identifiers: letters, digits, `-` and `:`, up to 64 each.
fn devices(values: &[String], errors: &mut ValidationErrors) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if values.len() > 500 {
        errors.push("devices", "must list at most 500 identifiers");
    }
    for (i, raw) in values.iter().enumerate() {
        let id = raw.trim().to_uppercase();
        if id.is_empty()
            || id.len() > 64
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b':')
        {
            errors.push(
                format!("devices[{i}]"),
                "must be a device, hub or meter-point identifier (letters, digits, - and :)",
            );
        } else if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

fn forbidden(what: &str) -> IncidentError {
    IncidentError::Forbidden(Forbidden(what.to_owned()))
}

fn at(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

impl Incidents {
    /// The service over `db`, following `policy`.
    pub fn new(db: Db, clock: SharedClock, policy: IncidentPolicy) -> Self {
        Self {
            inner: Arc::new(Inner { db, clock, policy }),
        }
    }

    /// The rules in force.
    pub fn policy(&self) -> &IncidentPolicy {
        &self.inner.policy
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Who the caller is to an incident of `organisation_id`: the service desk, the raising
    /// organisation, or neither.
    fn mover(principal: &Principal, organisation_id: i64) -> Option<Mover> {
        if principal.can(Permission::WorkIncidents) {
            Some(Mover::Desk)
        } else if principal.organisation_id == organisation_id
            && principal.can(Permission::RaiseIncidents)
        {
            Some(Mover::Raiser)
        } else {
            None
        }
    }

    /// Raises an incident. With an idempotency key, a retry returns the first response instead
    /// of raising again; the same key with another request is refused.
    pub fn raise(
        &self,
        principal: &Principal,
        new: NewIncident,
        idempotent: Option<IdempotentCreate>,
    ) -> Result<Raised, IncidentError> {
        principal.require(Permission::RaiseIncidents, "raise incidents")?;
        let policy = &self.inner.policy;
        let mut errors = ValidationErrors::default();
        let title = text("title", &new.title, 200, &mut errors);
        let description = text("description", &new.description, 20_000, &mut errors);
        let category = new.category.trim().to_owned();
        let subcategory = optional_text("subcategory", new.subcategory, 100, &mut errors);
        match policy.category(&category) {
            None => errors.push(
                "category",
                format!(
                    "must be one of {}",
                    policy
                        .categories
                        .iter()
                        .map(|c| c.code.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Some(c) => {
                if let Some(sub) = &subcategory
                    && !c.subcategories.is_empty()
                    && !c.subcategories.contains(sub)
                {
                    errors.push(
                        "subcategory",
                        format!("must be one of {}", c.subcategories.join(", ")),
                    );
                }
            }
        }
        let impact = Impact::parse(new.impact).map_err(|e| errors.0.push(e)).ok();
        let urgency = Urgency::parse(new.urgency)
            .map_err(|e| errors.0.push(e))
            .ok();
        let contact = optional_text("contact", new.contact, 200, &mut errors);
        let region = optional_text("region", new.region, 50, &mut errors);
        let message_ids = optional_text("message_ids", new.message_ids, 2_000, &mut errors);
        let devices = devices(&new.devices, &mut errors);
        let now = self.now();
        if new.fault_started_at.is_some_and(|t| t > now) {
            errors.push("fault_started_at", "must not be in the future");
        }
        let staff = principal.is_operator_staff();
        let channel = match new.channel.as_deref().map(str::trim) {
            None | Some("") => match principal.actor {
                Actor::ApiToken { .. } => "api".to_owned(),
                _ => "portal".to_owned(),
            },
            Some(c) if CHANNELS.contains(&c) && (staff || c == "api" || c == "portal") => {
                c.to_owned()
            }
            Some(_) => {
                errors.push(
                    "channel",
                    "must be api or portal (email and telephone are for the service desk)",
                );
                String::new()
            }
        };
        let organisation_id = match new.organisation_id {
            Some(id) if staff => id,
            Some(id) if id == principal.organisation_id => id,
            Some(_) => return Err(forbidden("raise incidents for another organisation")),
            None => principal.organisation_id,
        };
        errors.into_result()?;
        let (Some(impact), Some(urgency)) = (impact, urgency) else {
            return Err(ValidationErrors::default().into());
        };
        let priority = policy.matrix.priority(impact, urgency);
        let stamp = timestamp(now);
        let (raised_by_kind, raised_by_id) = match principal.actor {
            Actor::Person { id, .. } => ("person", id),
            Actor::ApiToken { id, .. } => ("api_token", id),
            Actor::System { .. } => return Err(forbidden("raise incidents as the system")),
        };
        let mut row = IncidentRow {
            // Both are given by `store::insert`.
            id: 0,
            reference: String::new(),
            organisation_id,
            raised_by_kind: raised_by_kind.to_owned(),
            raised_by_id,
            raised_by_name: principal.display_name.clone(),
            channel,
            title,
            description,
            category,
            subcategory,
            impact: i32::from(impact.get()),
            urgency: i32::from(urgency.get()),
            priority: i32::from(priority.get()),
            status: Status::New.as_str().to_owned(),
            assignment_group: None,
            assignee_id: None,
            resolution_code: None,
            major: false,
            parent_id: None,
            duplicate_of_id: None,
            responded_at: None,
            resolved_at: None,
            closed_at: None,
            response_due_at: None,
            resolution_due_at: None,
            response_at_risk_at: None,
            resolution_at_risk_at: None,
            created_at: stamp,
            updated_at: stamp,
            version: 1,
        };
        self.set_due_times(&mut row, &[]);
        let details = DetailsRow {
            incident_id: 0,
            contact,
            region,
            fault_started_at: new.fault_started_at.map(timestamp),
            message_ids,
            priority_reason: None,
            resolution_notes: None,
        };
        let keyed = idempotent.is_some();
        let outcome = self.inner.db.write_blocking(|conn| {
            if let Some(key) = &idempotent {
                match key.prior(conn)? {
                    Prior::None => {}
                    Prior::Replay(kept) => return Ok(Raised::Replayed(kept)),
                    Prior::Mismatch => return Err(IncidentError::IdempotencyMismatch),
                }
            }
            let Some(organisation_name) = store::active_organisation_name(conn, organisation_id)?
            else {
                return Err(ValidationErrors::from(FieldError::new(
                    "organisation_id",
                    "no such active organisation",
                ))
                .into());
            };
            let id = store::insert(conn, &mut row, details.clone(), &devices)?;
            store::index_for_search(conn, id, &row.title, &row.description, "")?;
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor: &principal.actor,
                    organisation_id: Some(organisation_id),
                    action: "incident.created",
                    entity_type: "incident",
                    entity_id: id.to_string(),
                    changes: Changes::new()
                        .created("reference", row.reference.as_str())
                        .created("title", row.title.as_str())
                        .created("category", row.category.as_str())
                        .created("impact", row.impact)
                        .created("urgency", row.urgency)
                        .created("priority", row.priority)
                        .created("status", row.status.as_str())
                        .created("channel", row.channel.as_str()),
                    request_id: None,
                },
            )?;
            // Everything the incident holds was written just now: answer from it, not a re-read.
            let incident = self.assemble(
                Loaded {
                    row: row.clone(),
                    details: DetailsRow {
                        incident_id: id,
                        ..details.clone()
                    },
                    organisation_name,
                    assignee_name: None,
                    devices: store::in_order(devices.clone()),
                    pauses: Vec::new(),
                },
                now,
            );
            emit(conn, now, "incident.created", &incident)?;
            if let Some(key) = idempotent {
                key.keep(conn, now, &incident)?;
            }
            Ok(Raised::Created(Box::new(incident)))
        });
        match outcome {
            // A concurrent request with the same key committed first; a retry gets its response.
            Err(IncidentError::Store(StoreError::Conflict(_))) if keyed => {
                Err(IncidentError::Store(StoreError::Unavailable(
                    "a request with the same Idempotency-Key was in progress; retry".into(),
                )))
            }
            other => other,
        }
    }

    fn resolve_key(key: &str) -> Result<i64, IncidentError> {
        let key = key.trim();
        key.parse::<i64>()
            .ok()
            .or_else(|| store::id_of_reference(&key.to_ascii_uppercase()))
            .ok_or(IncidentError::NotFound)
    }

    /// One incident by id or reference, if the caller may see it.
    pub fn get(&self, principal: &Principal, key: &str) -> Result<Incident, IncidentError> {
        principal.require(Permission::ViewIncidents, "see incidents")?;
        let direct = Self::resolve_key(key).ok();
        let now = self.now();
        // The incident is one statement; the fallback by an imported alias is a second, whose
        // answer names an id that never changes, so neither needs a transaction around it.
        let loaded = self.inner.db.read_statement_blocking(|conn| {
            if let Some(id) = direct {
                match store::load_visible(conn, principal, id) {
                    Err(StoreError::NotFound) => {}
                    found => return found,
                }
            }
            // An old reference kept by `dsms import`; dsms's own ids and references win.
            match store::alias(conn, &crate::historic::normalise_alias(key))? {
                Some((id, _)) => store::load_visible(conn, principal, id),
                None => Err(StoreError::NotFound),
            }
        })?;
        Ok(self.assemble(loaded, now))
    }

    /// One page of the incidents the caller may see that match `filter`.
    pub fn list(
        &self,
        principal: &Principal,
        filter: &IncidentFilter,
        page: PageRequest,
    ) -> Result<Page<Incident>, IncidentError> {
        principal.require(Permission::ViewIncidents, "see incidents")?;
        let mut errors = ValidationErrors::default();
        let statuses = dsms_core::status_filter::<Status>(&filter.statuses, &mut errors);
        let mut priorities = Vec::new();
        for p in &filter.priorities {
            match Priority::parse(*p) {
                Ok(p) => priorities.push(i32::from(p.get())),
                Err(e) => errors.0.push(e),
            }
        }
        let search = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_owned);
        if search
            .as_ref()
            .is_some_and(|q| store::fts5_query(q).is_empty())
        {
            errors.push("q", "must contain at least one word");
        }
        errors.into_result()?;
        let query = store::ListQuery {
            statuses,
            priorities,
            category: filter.category.clone(),
            organisation_id: filter.organisation_id,
            assignment_group: filter.assignment_group.clone(),
            assignee_id: filter.assignee_id,
            unassigned: filter.unassigned,
            major: filter.major,
            device: filter.device.as_ref().map(|d| d.trim().to_uppercase()),
            created_after: filter.created_after.map(timestamp),
            created_before: filter.created_before.map(timestamp),
            updated_after: filter.updated_after.map(timestamp),
            resolution_due_before: filter.resolution_due_before.map(timestamp),
            search,
            newest_first: filter.newest_first,
        };
        let now = self.now();
        let (loaded, page) = self.inner.db.read_blocking(|conn| {
            let rows = store::list(conn, principal, &query, page)?;
            let page = Page::from_rows(rows, page, |r| r.id);
            let next = page.next_cursor.clone();
            Ok::<_, StoreError>((store::complete_all(conn, page.items)?, next))
        })?;
        Ok(Page {
            items: loaded.into_iter().map(|l| self.assemble(l, now)).collect(),
            next_cursor: page,
        })
    }

    /// Applies `changes` to an incident if it is still at `expected` (when given): field edits,
    /// assignment, priority override, and status changes through the lifecycle.
    pub fn update(
        &self,
        principal: &Principal,
        key: &str,
        expected: Option<i64>,
        changes: IncidentChanges,
        request_id: Option<&str>,
    ) -> Result<Incident, IncidentError> {
        principal.require(Permission::ViewIncidents, "see incidents")?;
        let id = Self::resolve_key(key)?;
        let now = self.now();
        let stamp = timestamp(now);
        self.inner.db.write_blocking(|conn| {
            let before = store::load_visible(conn, principal, id)?;
            let mover = Self::mover(principal, before.row.organisation_id)
                .ok_or_else(|| forbidden("change incidents"))?;
            let version = expected.unwrap_or(before.row.version);
            if version != before.row.version {
                return Err(IncidentError::VersionMismatch(version));
            }
            let mut row = before.row.clone();
            let mut details = before.details.clone();
            let mut errors = ValidationErrors::default();
            let desk = mover == Mover::Desk;
            let desk_only = |field: &str, present: bool, errors: &mut ValidationErrors| {
                if present && !desk {
                    errors.push(field, "only the service desk may change this");
                }
            };
            desk_only("category", changes.category.is_some(), &mut errors);
            desk_only("subcategory", changes.subcategory.is_some(), &mut errors);
            desk_only("impact", changes.impact.is_some(), &mut errors);
            desk_only("urgency", changes.urgency.is_some(), &mut errors);
            desk_only("priority", changes.priority.is_some(), &mut errors);
            desk_only(
                "assignment_group",
                changes.assignment_group.is_some(),
                &mut errors,
            );
            desk_only("assignee_id", changes.assignee_id.is_some(), &mut errors);
            desk_only(
                "resolution_code",
                changes.resolution_code.is_some(),
                &mut errors,
            );
            desk_only(
                "resolution_notes",
                changes.resolution_notes.is_some(),
                &mut errors,
            );
            desk_only("major", changes.major.is_some(), &mut errors);
            if changes.major.is_some() && !principal.can(Permission::ManageIncidents) {
                return Err(forbidden(
                    "declare or stand down major incidents (service-desk managers)",
                ));
            }
            desk_only("parent_id", changes.parent_id.is_some(), &mut errors);
            desk_only(
                "duplicate_of_id",
                changes.duplicate_of_id.is_some(),
                &mut errors,
            );
            let status_before = Status::parse(&row.status).unwrap_or(Status::New);
            if !desk && status_before != Status::New {
                desk_only("title", changes.title.is_some(), &mut errors);
                desk_only("description", changes.description.is_some(), &mut errors);
            }
            if !errors.0.is_empty() {
                return Err(IncidentError::Forbidden(Forbidden(format!(
                    "change {}: only the service desk may",
                    errors
                        .0
                        .iter()
                        .map(|e| e.field.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))));
            }
            if !status_before.is_open() {
                return Err(IncidentError::Transition {
                    detail: format!(
                        "a {} incident cannot change; raise a new one and link it",
                        status_before
                    ),
                    allowed: Vec::new(),
                });
            }
            if let Some(t) = &changes.title {
                row.title = text("title", t, 200, &mut errors);
            }
            if let Some(d) = &changes.description {
                row.description = text("description", d, 20_000, &mut errors);
            }
            if let Some(c) = &changes.category {
                let c = c.trim().to_owned();
                if self.inner.policy.category(&c).is_none() {
                    errors.push("category", "is not a configured category");
                }
                row.category = c;
            }
            if let Some(s) = changes.subcategory.clone() {
                row.subcategory = optional_text("subcategory", s, 100, &mut errors);
            }
            if let Some(c) = changes.contact.clone() {
                details.contact = optional_text("contact", c, 200, &mut errors);
            }
            let mut impact = Impact::parse(i64::from(row.impact)).ok();
            let mut urgency = Urgency::parse(i64::from(row.urgency)).ok();
            if let Some(i) = changes.impact {
                impact = Impact::parse(i).map_err(|e| errors.0.push(e)).ok();
            }
            if let Some(u) = changes.urgency {
                urgency = Urgency::parse(u).map_err(|e| errors.0.push(e)).ok();
            }
            if let (Some(i), Some(u)) = (impact, urgency) {
                row.impact = i32::from(i.get());
                row.urgency = i32::from(u.get());
                if changes.impact.is_some() || changes.urgency.is_some() {
                    row.priority = i32::from(self.inner.policy.matrix.priority(i, u).get());
                    details.priority_reason = None;
                }
            }
            if let Some(p) = changes.priority {
                match Priority::parse(p) {
                    Ok(p) => {
                        let reason = optional_text(
                            "priority_reason",
                            changes.priority_reason.clone(),
                            500,
                            &mut errors,
                        );
                        if reason.is_none() {
                            errors.push("priority_reason", "is required to override the priority");
                        }
                        row.priority = i32::from(p.get());
                        details.priority_reason = reason;
                    }
                    Err(e) => errors.0.push(e),
                }
            }
            if let Some(g) = changes.assignment_group.clone() {
                row.assignment_group = optional_text("assignment_group", g, 100, &mut errors);
            }
            if let Some(a) = changes.assignee_id {
                row.assignee_id = match a {
                    Some(person) => match store::assignable(conn, person)? {
                        Some(_) => Some(person),
                        None => {
                            errors.push(
                                "assignee_id",
                                "must be an active member of the operator's staff",
                            );
                            None
                        }
                    },
                    None => None,
                };
            }
            if let Some(code) = &changes.resolution_code {
                row.resolution_code =
                    optional_text("resolution_code", Some(code.clone()), 100, &mut errors);
            }
            if let Some(notes) = &changes.resolution_notes {
                details.resolution_notes =
                    optional_text("resolution_notes", Some(notes.clone()), 20_000, &mut errors);
            }
            if let Some(m) = changes.major {
                row.major = m;
            }
            for (field, link, slot) in [
                ("parent_id", changes.parent_id, &mut row.parent_id),
                (
                    "duplicate_of_id",
                    changes.duplicate_of_id,
                    &mut row.duplicate_of_id,
                ),
            ] {
                if let Some(link) = link {
                    if link == Some(id) {
                        errors.push(field, "must name another incident");
                    } else if let Some(other) = link
                        && store::load_visible(conn, principal, other).is_err()
                    {
                        errors.push(field, "no such incident");
                    }
                    *slot = link;
                }
            }
            let mut to = match changes.status.as_deref() {
                Some(s) => match Status::parse(s.trim()) {
                    Some(s) => Some(s),
                    None => {
                        errors.push("status", format!("must be one of {}", Status::names()));
                        None
                    }
                },
                None => None,
            };
            errors.into_result()?;
            // Assigning a new incident moves it to assigned.
            if to.is_none()
                && status_before == Status::New
                && (row.assignee_id.is_some() || row.assignment_group.is_some())
                && (changes.assignee_id.is_some() || changes.assignment_group.is_some())
            {
                to = Some(Status::Assigned);
            }
            if let Some(target) = to.filter(|t| *t != status_before) {
                self.transition(conn, &mut row, status_before, target, mover, stamp)?;
            }
            let responded = desk
                && (to.is_some()
                    || changes.assignee_id.is_some()
                    || changes.assignment_group.is_some());
            if responded && row.responded_at.is_none() {
                row.responded_at = Some(stamp);
            }
            row.version = before.row.version + 1;
            row.updated_at = stamp;
            let pauses = store::pauses_of(conn, id)?;
            self.set_due_times(&mut row, &pauses);
            if !store::update(conn, &row, &details, before.row.version)? {
                return Err(IncidentError::VersionMismatch(version));
            }
            let changes_record = diff(&before.row, &before.details, &row, &details);
            let changed = !changes_record.is_empty();
            if !changes_record.is_empty() {
                audit::record(
                    conn,
                    now,
                    AuditEvent {
                        actor: &principal.actor,
                        organisation_id: Some(row.organisation_id),
                        action: "incident.updated",
                        entity_type: "incident",
                        entity_id: id.to_string(),
                        changes: changes_record,
                        request_id,
                    },
                )?;
            }
            if row.title != before.row.title || row.description != before.row.description {
                let comments = public_comment_text(conn, id)?;
                store::index_for_search(conn, id, &row.title, &row.description, &comments)?;
            }
            let incident = self.assemble(store::load(conn, id)?, now);
            if changed {
                emit(conn, now, "incident.updated", &incident)?;
            }
            if row.status != before.row.status {
                let moment = match incident.status {
                    Status::Resolved => Some("incident.resolved"),
                    Status::Closed => Some("incident.closed"),
                    Status::Cancelled => Some("incident.cancelled"),
                    Status::InProgress if before.row.status == Status::Resolved.as_str() => {
                        Some("incident.reopened")
                    }
                    _ => None,
                };
                if let Some(moment) = moment {
                    emit(conn, now, moment, &incident)?;
                }
            }
            if row.assignee_id != before.row.assignee_id
                || row.assignment_group != before.row.assignment_group
            {
                emit(conn, now, "incident.assigned", &incident)?;
            }
            Ok(incident)
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn transition(
        &self,
        conn: &mut DbConnection,
        row: &mut IncidentRow,
        from: Status,
        to: Status,
        mover: Mover,
        now: NaiveDateTime,
    ) -> Result<(), IncidentError> {
        let allowed = lifecycle::allowed(from, mover);
        if !lifecycle::may(from, to, mover) {
            return Err(IncidentError::Transition {
                detail: format!(
                    "an incident cannot go from {from} to {to} by {}",
                    match mover {
                        Mover::Desk => "the service desk",
                        Mover::Raiser => "the raising organisation",
                        Mover::System => "the system",
                    }
                ),
                allowed,
            });
        }
        if to == Status::Assigned && row.assignee_id.is_none() && row.assignment_group.is_none() {
            return Err(ValidationErrors::from(FieldError::new(
                "assignment_group",
                "an assigned incident needs a resolver group or an assignee",
            ))
            .into());
        }
        if to == Status::Resolved && row.resolution_code.is_none() {
            return Err(ValidationErrors::from(FieldError::new(
                "resolution_code",
                "is required to resolve an incident",
            ))
            .into());
        }
        if from == Status::Resolved && to == Status::InProgress {
            let resolved_at = row.resolved_at.unwrap_or(now);
            if mover == Mover::Raiser {
                let window = self.inner.policy.reopen_window;
                let since = self
                    .inner
                    .policy
                    .calendar
                    .working_time_between(at(resolved_at), at(now));
                if since > window {
                    return Err(IncidentError::Transition {
                        detail: "the reopen window has passed; raise a new incident and link it to this one".into(),
                        allowed: vec![Status::Closed],
                    });
                }
            }
            store::closed_pause(conn, row.id, "resolved", resolved_at, now)?;
            row.resolved_at = None;
        }
        if from == Status::AwaitingUser {
            store::end_pauses(conn, row.id, now)?;
        }
        if to == Status::AwaitingUser {
            store::open_pause(conn, row.id, "awaiting_user", now)?;
        }
        match to {
            Status::Resolved => row.resolved_at = Some(now),
            Status::Closed | Status::Cancelled => row.closed_at = Some(now),
            _ => {}
        }
        row.status = to.as_str().to_owned();
        Ok(())
    }

    /// Checks that `principal` may add to the conversation of incident `id` (a comment or a
    /// file; `internal` for the service desk only, open incidents only) and says who they are.
    fn contribution(
        conn: &mut DbConnection,
        principal: &Principal,
        id: i64,
        internal: bool,
        what: &str,
    ) -> Result<(Loaded, Mover, (&'static str, i64)), IncidentError> {
        let loaded = store::load_visible(conn, principal, id)?;
        let mover = Self::mover(principal, loaded.row.organisation_id)
            .ok_or_else(|| forbidden(&format!("add {what} to incidents")))?;
        if internal && mover != Mover::Desk {
            return Err(forbidden(&format!("add {what} to work notes")));
        }
        let status = Status::parse(&loaded.row.status).unwrap_or(Status::New);
        if !status.is_open() {
            return Err(IncidentError::Transition {
                detail: format!(
                    "a {status} incident takes no more {what}; raise a new one and link it"
                ),
                allowed: Vec::new(),
            });
        }
        let author = match principal.actor {
            Actor::Person { id, .. } => ("person", id),
            Actor::ApiToken { id, .. } => ("api_token", id),
            Actor::System { .. } => return Err(forbidden(&format!("add {what} as the system"))),
        };
        Ok((loaded, mover, author))
    }

    /// Adds a comment (seen by the raising organisation) or, for the service desk, an internal
    /// work note (never seen by organisations).
    pub fn comment(
        &self,
        principal: &Principal,
        key: &str,
        body: &str,
        internal: bool,
        request_id: Option<&str>,
    ) -> Result<Comment, IncidentError> {
        principal.require(Permission::ViewIncidents, "see incidents")?;
        let id = Self::resolve_key(key)?;
        let now = self.now();
        let stamp = timestamp(now);
        let mut errors = ValidationErrors::default();
        let body = text("body", body, 20_000, &mut errors);
        errors.into_result()?;
        self.inner.db.write_blocking(|conn| {
            let (loaded, mover, (kind, author)) =
                Self::contribution(conn, principal, id, internal, "comments")?;
            let comment_id = store::insert_comment(
                conn,
                id,
                kind,
                author,
                &principal.display_name,
                &body,
                internal,
                stamp,
            )?;
            let mut row = loaded.row.clone();
            if mover == Mover::Desk && !internal && row.responded_at.is_none() {
                row.responded_at = Some(stamp);
            }
            row.updated_at = stamp;
            row.version += 1;
            self.set_due_times(&mut row, &loaded.pauses);
            store::update(conn, &row, &loaded.details, loaded.row.version)?;
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor: &principal.actor,
                    organisation_id: Some(row.organisation_id),
                    action: if internal {
                        "incident.work_note_added"
                    } else {
                        "incident.comment_added"
                    },
                    entity_type: "incident",
                    entity_id: id.to_string(),
                    changes: Changes::new().created("comment_id", comment_id),
                    request_id,
                },
            )?;
            if !internal {
                let comments = public_comment_text(conn, id)?;
                store::index_for_search(conn, id, &row.title, &row.description, &comments)?;
                let incident = self.assemble(store::load(conn, id)?, now);
                let mut payload = event_payload("incident.comment_added", now, &incident);
                payload["comment"] = serde_json::json!({
                    "id": comment_id.to_string(),
                    "author": principal.display_name,
                    "body": body,
                });
                dsms_store::outbox::enqueue(conn, now, EVENT_KIND, &payload)?;
            }
            Ok(Comment {
                id: comment_id,
                author_kind: kind.to_owned(),
                author_id: author,
                author_name: principal.display_name.clone(),
                body,
                internal,
                created_at: stamp,
            })
        })
    }

    /// The conversation: comments, and work notes for the service desk.
    pub fn comments(
        &self,
        principal: &Principal,
        key: &str,
    ) -> Result<Vec<Comment>, IncidentError> {
        let rows = self.read_visible(principal, key, |conn, id, staff| {
            store::comments(conn, id, staff)
        })?;
        Ok(rows
            .into_iter()
            .map(|c| Comment {
                id: c.id,
                author_kind: c.author_kind,
                author_id: c.author_id,
                author_name: c.author_name,
                body: c.body,
                internal: c.internal,
                created_at: c.created_at,
            })
            .collect())
    }

    /// Attaches a file to an incident, under the same rules as a comment: a visible, open
    /// incident; the raising organisation or the service desk; `internal` (a file for a work
    /// note, never shown to organisations) for the service desk only. The file must not be empty
    /// or larger than the policy allows, and its bytes must be of an accepted type that agrees
    /// with `declared_content_type` (absent or `application/octet-stream`: the type the bytes
    /// show).
    #[allow(clippy::too_many_arguments)]
    pub fn attach(
        &self,
        principal: &Principal,
        key: &str,
        filename: &str,
        declared_content_type: Option<&str>,
        bytes: &[u8],
        internal: bool,
        request_id: Option<&str>,
    ) -> Result<Attachment, IncidentError> {
        principal.require(Permission::ViewIncidents, "see incidents")?;
        let id = Self::resolve_key(key)?;
        let now = self.now();
        let stamp = timestamp(now);
        let limit = self.inner.policy.max_attachment_bytes;
        // Checked and hashed before the transaction, so the write lock is held only to write.
        let file = attachment::check_file(
            "file",
            "filename",
            filename,
            declared_content_type,
            bytes,
            limit,
        )?;
        self.inner.db.write_blocking(|conn| {
            let (loaded, _, (kind, uploader)) =
                Self::contribution(conn, principal, id, internal, "attachments")?;
            let attached = files::insert(
                conn,
                &files::NewAttachment {
                    kind: TicketKind::Incident,
                    ticket_id: id,
                    organisation_id: loaded.row.organisation_id,
                    file: &file,
                    data: bytes,
                    internal,
                    uploaded_by_kind: kind,
                    uploaded_by_id: uploader,
                    uploaded_by_name: &principal.display_name,
                    created_at: stamp,
                },
            )?;
            let attachment_id = attached.id;
            let attachment::CheckedFile {
                filename,
                content_type,
                size_bytes,
                sha256,
            } = file;
            let mut row = loaded.row.clone();
            row.updated_at = stamp;
            row.version += 1;
            self.set_due_times(&mut row, &loaded.pauses);
            store::update(conn, &row, &loaded.details, loaded.row.version)?;
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor: &principal.actor,
                    organisation_id: Some(row.organisation_id),
                    action: if internal {
                        "incident.work_note_attachment_added"
                    } else {
                        ATTACHMENT_ADDED
                    },
                    entity_type: "incident",
                    entity_id: id.to_string(),
                    // Like a work note's, a work-note file's entry names nothing of it but
                    // its id, as organisations can read their records' audit entries.
                    changes: if internal {
                        Changes::new()
                            .created("attachment_id", attachment_id)
                            .created("internal", true)
                    } else {
                        Changes::new()
                            .created("attachment_id", attachment_id)
                            .created("filename", filename.as_str())
                            .created("content_type", content_type.as_str())
                            .created("size_bytes", size_bytes)
                            .created("sha256", sha256.as_str())
                    },
                    request_id,
                },
            )?;
            if !internal {
                let incident = self.assemble(store::load(conn, id)?, now);
                let mut payload = event_payload(ATTACHMENT_ADDED, now, &incident);
                payload["attachment"] = serde_json::json!({
                    "id": attachment_id.to_string(),
                    "filename": filename,
                    "content_type": content_type,
                    "size_bytes": size_bytes,
                    "sha256": sha256,
                    "uploaded_by": principal.display_name,
                });
                dsms_store::outbox::enqueue(conn, now, EVENT_KIND, &payload)?;
            }
            Ok(attached)
        })
    }

    /// The files attached to an incident, oldest first, without their bytes; files of work
    /// notes for the service desk only.
    pub fn attachments(
        &self,
        principal: &Principal,
        key: &str,
    ) -> Result<Vec<Attachment>, IncidentError> {
        self.read_visible(principal, key, |conn, id, _| {
            files::list(conn, principal, TicketKind::Incident, id)
        })
    }

    /// One attached file with its bytes, if the caller may see it: not found otherwise,
    /// including a work note's file asked for by an organisation.
    pub fn attachment(
        &self,
        principal: &Principal,
        key: &str,
        attachment_id: i64,
    ) -> Result<(Attachment, Vec<u8>), IncidentError> {
        self.read_visible(principal, key, |conn, id, _| {
            files::get(conn, principal, TicketKind::Incident, id, attachment_id)
        })
    }

    /// The service desk's dashboard figures over the last `days` days (1 to 366), for the
    /// incidents the caller may see.
    pub fn figures(
        &self,
        principal: &Principal,
        days: i64,
    ) -> Result<crate::figures::DeskFigures, IncidentError> {
        principal.require(Permission::ViewIncidents, "see incidents")?;
        let days = days.clamp(1, 366);
        let now = self.now();
        Ok(self
            .inner
            .db
            .read_blocking(|conn| crate::figures::desk_figures(conn, principal, now, days))?)
    }

    /// Every change to an incident, newest first. Organisations do not see work-note events
    /// (the audit log's own rule).
    pub fn history(
        &self,
        principal: &Principal,
        key: &str,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>, IncidentError> {
        let rows = self.read_visible(principal, key, |conn, id, _| {
            let filter = AuditFilter {
                entity_type: Some("incident".into()),
                entity_id: Some(id.to_string()),
                ..AuditFilter::default()
            };
            audit::list(conn, principal, &filter, page)
        })?;
        Ok(Page::from_rows(rows, page, |e| e.id))
    }

    /// Reads something about incident `key` in one transaction, once the caller is known to see
    /// it; `read` gets the incident's id and whether the caller is operator staff.
    fn read_visible<T>(
        &self,
        principal: &Principal,
        key: &str,
        read: impl FnOnce(&mut DbConnection, i64, bool) -> Result<T, StoreError>,
    ) -> Result<T, IncidentError> {
        principal.require(Permission::ViewIncidents, "see incidents")?;
        let id = Self::resolve_key(key)?;
        let staff = principal.is_operator_staff();
        Ok(self.inner.db.read_blocking(|conn| {
            store::load_visible(conn, principal, id)?;
            read(conn, id, staff)
        })?)
    }

    /// Stores when each running clock falls due and becomes at risk, so queues and the sweeper
    /// find them by index; stopped or paused clocks store nothing.
    pub(crate) fn set_due_times(&self, row: &mut IncidentRow, pauses: &[PauseRow]) {
        let policy = &self.inner.policy;
        let now = at(row.updated_at);
        let (response, resolution) = self.clocks(row, pauses);
        let instants = |clock: &SlaClock| {
            if clock.stopped_at.is_some() {
                return (None, None);
            }
            let due = clock
                .read(&policy.calendar, now, policy.at_risk_fraction)
                .due_at;
            let at_risk_target = chrono::Duration::milliseconds(
                (clock.target.num_milliseconds() as f64 * policy.at_risk_fraction) as i64,
            );
            let at_risk = SlaClock {
                target: at_risk_target,
                ..clock.clone()
            }
            .read(&policy.calendar, now, policy.at_risk_fraction)
            .due_at;
            (due.map(timestamp), at_risk.map(timestamp))
        };
        (row.response_due_at, row.response_at_risk_at) = instants(&response);
        (row.resolution_due_at, row.resolution_at_risk_at) = instants(&resolution);
    }

    fn clocks(&self, row: &IncidentRow, pauses: &[PauseRow]) -> (SlaClock, SlaClock) {
        let policy = &self.inner.policy;
        let priority = Priority::parse(i64::from(row.priority)).unwrap_or(Priority::LOWEST);
        let targets = policy.targets(priority);
        let response = SlaClock {
            target: targets.response,
            hours: targets.hours,
            started_at: at(row.created_at),
            pauses: Vec::new(),
            stopped_at: row.responded_at.map(at).or(row.closed_at.map(at)),
        };
        let resolution = SlaClock {
            target: targets.resolution,
            hours: targets.hours,
            started_at: at(row.created_at),
            pauses: pauses
                .iter()
                .map(|p| (at(p.started_at), p.ended_at.map(at)))
                .collect(),
            stopped_at: row.resolved_at.or(row.closed_at).map(at),
        };
        (response, resolution)
    }

    fn read_sla(&self, row: &IncidentRow, pauses: &[PauseRow], now: DateTime<Utc>) -> Sla {
        let policy = &self.inner.policy;
        let (response, resolution) = self.clocks(row, pauses);
        Sla {
            response: response.read(&policy.calendar, now, policy.at_risk_fraction),
            resolution: resolution.read(&policy.calendar, now, policy.at_risk_fraction),
        }
    }

    /// One pass of the background work incidents need: raises each SLA at-risk and breach
    /// event once (the event table's key lets only one server instance record it), and closes
    /// resolved incidents whose reopen window has passed.
    pub fn sweep(&self) -> Result<SweepReport, IncidentError> {
        let now = self.now();
        let stamp = timestamp(now);
        let mut report = SweepReport::default();
        let crossings = self
            .inner
            .db
            .read_blocking(|conn| store::sla_crossings(conn, stamp, SWEEP_BATCH))?;
        for crossing in crossings {
            let fired = self.inner.db.write_blocking(|conn| {
                if !store::record_sla_event(
                    conn,
                    crossing.incident_id,
                    crossing.clock,
                    crossing.kind,
                    stamp,
                )? {
                    return Ok::<_, IncidentError>(false);
                }
                let incident = self.assemble(store::load(conn, crossing.incident_id)?, now);
                let mut payload = event_payload(
                    if crossing.kind == "breached" {
                        "incident.sla_breached"
                    } else {
                        "incident.sla_at_risk"
                    },
                    now,
                    &incident,
                );
                payload["clock"] = Value::from(crossing.clock);
                dsms_store::outbox::enqueue(conn, now, EVENT_KIND, &payload)?;
                Ok(true)
            })?;
            if fired {
                if crossing.kind == "breached" {
                    report.breached += 1;
                } else {
                    report.at_risk += 1;
                }
            }
        }
        let resolved = self
            .inner
            .db
            .read_blocking(|conn| store::resolved(conn, SWEEP_BATCH))?;
        let policy = &self.inner.policy;
        for row in resolved {
            let Some(resolved_at) = row.resolved_at else {
                continue;
            };
            if policy.calendar.working_time_between(at(resolved_at), now) <= policy.reopen_window {
                continue;
            }
            let closed = self.inner.db.write_blocking(|conn| {
                let mut current = store::load(conn, row.id)?;
                if current.row.status != Status::Resolved.as_str()
                    || current.row.version != row.version
                {
                    return Ok::<_, IncidentError>(false);
                }
                let before = current.row.clone();
                self.transition(
                    conn,
                    &mut current.row,
                    Status::Resolved,
                    Status::Closed,
                    Mover::System,
                    stamp,
                )?;
                current.row.version += 1;
                current.row.updated_at = stamp;
                if !store::update(conn, &current.row, &current.details, before.version)? {
                    return Ok(false);
                }
                let actor = Actor::system("auto-close");
                audit::record(
                    conn,
                    now,
                    AuditEvent {
                        actor: &actor,
                        organisation_id: Some(before.organisation_id),
                        action: "incident.updated",
                        entity_type: "incident",
                        entity_id: before.id.to_string(),
                        changes: diff(&before, &current.details, &current.row, &current.details),
                        request_id: None,
                    },
                )?;
                let incident = self.assemble(store::load(conn, row.id)?, now);
                emit(conn, now, "incident.closed", &incident)?;
                Ok(true)
            })?;
            if closed {
                report.closed += 1;
            }
        }
        Ok(report)
    }

    fn assemble(&self, loaded: Loaded, now: DateTime<Utc>) -> Incident {
        let Loaded {
            row,
            details,
            organisation_name,
            assignee_name,
            devices,
            pauses,
        } = loaded;
        let sla = self.read_sla(&row, &pauses, now);
        Incident {
            id: row.id,
            reference: row.reference,
            organisation_id: row.organisation_id,
            organisation_name,
            raised_by: Raiser {
                kind: row.raised_by_kind,
                id: row.raised_by_id,
                name: row.raised_by_name,
            },
            channel: row.channel,
            contact: details.contact,
            title: row.title,
            description: row.description,
            category: row.category,
            subcategory: row.subcategory,
            impact: Impact::parse(i64::from(row.impact)).unwrap_or(Impact::LOWEST),
            urgency: Urgency::parse(i64::from(row.urgency)).unwrap_or(Urgency::LOWEST),
            priority: Priority::parse(i64::from(row.priority)).unwrap_or(Priority::LOWEST),
            priority_reason: details.priority_reason,
            status: Status::parse(&row.status).unwrap_or(Status::New),
            assignment_group: row.assignment_group,
            assignee_id: row.assignee_id,
            assignee_name,
            resolution_code: row.resolution_code,
            resolution_notes: details.resolution_notes,
            major: row.major,
            parent_id: row.parent_id,
            duplicate_of_id: row.duplicate_of_id,
            region: details.region,
            fault_started_at: details.fault_started_at,
            message_ids: details.message_ids,
            devices,
            responded_at: row.responded_at,
            resolved_at: row.resolved_at,
            closed_at: row.closed_at,
            sla,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

/// How many incidents one sweep handles of each kind; the rest wait for the next pass.
const SWEEP_BATCH: i64 = 500;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// At-risk events raised.
    pub at_risk: usize,
    /// Breach events raised.
    pub breached: usize,
    /// Incidents closed because their reopen window passed.
    pub closed: usize,
}

/// The history action and domain event of a file attached to an incident.
const ATTACHMENT_ADDED: &str = "incident.attachment_added";

/// The outbox kind of domain events; a dispatcher fans them out to webhooks and emails.
pub const EVENT_KIND: &str = "event";

/// A domain event about an incident, as queued for webhooks and notifications: the fields an
/// organisation's system needs to decide whether to fetch the whole incident. Work notes never
/// appear here.
pub fn event_payload(event: &str, now: DateTime<Utc>, incident: &Incident) -> Value {
    serde_json::json!({
        "type": event,
        "occurred_at": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "organisation_id": incident.organisation_id.to_string(),
        "incident": {
            "id": incident.id.to_string(),
            "reference": incident.reference,
            "title": incident.title,
            "status": incident.status.as_str(),
            "priority": incident.priority.get(),
            "category": incident.category,
            "assignment_group": incident.assignment_group,
            "assignee_id": incident.assignee_id.map(|a| a.to_string()),
            "raised_by": {"kind": incident.raised_by.kind, "id": incident.raised_by.id.to_string()},
            "resolution_code": incident.resolution_code,
            "resolution_due_at": incident.sla.resolution.due_at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            "updated_at": incident.updated_at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "version": incident.version,
        },
    })
}

fn emit(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    event: &str,
    incident: &Incident,
) -> Result<(), StoreError> {
    dsms_store::outbox::enqueue(conn, now, EVENT_KIND, &event_payload(event, now, incident))
        .map(|_| ())
}

/// The public comments of an incident as one text, for the search index. Work notes are left
/// out, so a search by an organisation can never match words it may not read.
pub(crate) fn public_comment_text(conn: &mut DbConnection, id: i64) -> Result<String, StoreError> {
    Ok(store::comments(conn, id, false)?
        .into_iter()
        .map(|c| c.body)
        .collect::<Vec<_>>()
        .join("\n"))
}

/// The field-level changes between two versions of an incident, for its history.
pub(crate) fn diff(
    before: &IncidentRow,
    before_details: &DetailsRow,
    after: &IncidentRow,
    after_details: &DetailsRow,
) -> Changes {
    let v = |o: &Option<String>| o.clone().map_or(Value::Null, Value::from);
    let id = |o: &Option<i64>| o.map_or(Value::Null, Value::from);
    let t = |o: &Option<NaiveDateTime>| {
        o.map_or(Value::Null, |t| Value::from(t.and_utc().to_rfc3339()))
    };
    Changes::new()
        .field("title", before.title.as_str(), after.title.as_str())
        .field(
            "description",
            before.description.as_str(),
            after.description.as_str(),
        )
        .field(
            "category",
            before.category.as_str(),
            after.category.as_str(),
        )
        .field("subcategory", v(&before.subcategory), v(&after.subcategory))
        .field("impact", before.impact, after.impact)
        .field("urgency", before.urgency, after.urgency)
        .field("priority", before.priority, after.priority)
        .field(
            "priority_reason",
            v(&before_details.priority_reason),
            v(&after_details.priority_reason),
        )
        .field("status", before.status.as_str(), after.status.as_str())
        .field(
            "assignment_group",
            v(&before.assignment_group),
            v(&after.assignment_group),
        )
        .field(
            "assignee_id",
            id(&before.assignee_id),
            id(&after.assignee_id),
        )
        .field(
            "resolution_code",
            v(&before.resolution_code),
            v(&after.resolution_code),
        )
        .field(
            "resolution_notes",
            v(&before_details.resolution_notes),
            v(&after_details.resolution_notes),
        )
        .field("major", before.major, after.major)
        .field("parent_id", id(&before.parent_id), id(&after.parent_id))
        .field(
            "duplicate_of_id",
            id(&before.duplicate_of_id),
            id(&after.duplicate_of_id),
        )
        .field(
            "contact",
            v(&before_details.contact),
            v(&after_details.contact),
        )
        .field(
            "responded_at",
            t(&before.responded_at),
            t(&after.responded_at),
        )
        .field("resolved_at", t(&before.resolved_at), t(&after.resolved_at))
        .field("closed_at", t(&before.closed_at), t(&after.closed_at))
}
