//! Incidents from the system dsms replaced, as `dsms import` brings them in: their history is
//! taken as given (times, status, people) instead of being lived through the lifecycle, and
//! their old reference is kept as an alias people can still find them by.
//!
//! Each call runs in the caller's transaction, so the importer decides how many rows commit
//! together. Nothing here emits domain events: history is not news, and announcing it would
//! send every organisation years of email. SLA crossings already in the past are recorded as
//! fired for the same reason, so the sweeper does not announce them either.

use chrono::{DateTime, NaiveDateTime, Utc};
use dsms_core::Actor;
use dsms_store::audit::{self, AuditEvent, Changes};
use dsms_store::{DbConnection, StoreError, timestamp};

use crate::lifecycle::Status;
use crate::model::{IncidentError, Raiser};
use crate::priority::{Impact, Priority, Urgency};
use crate::service::{Incidents, diff, public_comment_text};
use crate::store::{self, DetailsRow, IncidentRow, PauseRow};

/// An incident as the old system recorded it, already mapped to dsms's vocabulary.
#[derive(Debug, Clone)]
pub struct HistoricIncident {
    /// The raising organisation.
    pub organisation_id: i64,
    /// Who raised it.
    pub raised_by: Raiser,
    /// How it reached the service desk.
    pub channel: String,
    /// Who to contact about it.
    pub contact: Option<String>,
    /// A one-line summary.
    pub title: String,
    /// What was wrong.
    pub description: String,
    /// Its category code.
    pub category: String,
    /// Its subcategory code.
    pub subcategory: Option<String>,
    /// Its impact.
    pub impact: Impact,
    /// Its urgency.
    pub urgency: Urgency,
    /// Its priority as the old system had it.
    pub priority: Priority,
    /// Why the priority differs from the matrix, when it does.
    pub priority_reason: Option<String>,
    /// Where it stands.
    pub status: Status,
    /// Its resolver group.
    pub assignment_group: Option<String>,
    /// The operator person it is assigned to.
    pub assignee_id: Option<i64>,
    /// How it was resolved.
    pub resolution_code: Option<String>,
    /// Notes on the resolution.
    pub resolution_notes: Option<String>,
    /// The affected region.
    pub region: Option<String>,
    /// Affected device, hub and meter-point identifiers.
    pub devices: Vec<String>,
    /// When it was raised.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When the service desk first responded.
    pub responded_at: Option<DateTime<Utc>>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// When it was closed or cancelled.
    pub closed_at: Option<DateTime<Utc>>,
}

/// What an import of one row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    /// A new record, with this id.
    Created(i64),
    /// An earlier import of the row, rewritten because the row changed.
    Updated(i64),
    /// An earlier import of the same row; nothing written.
    Unchanged(i64),
}

impl Imported {
    /// The record's id.
    pub fn id(self) -> i64 {
        match self {
            Self::Created(id) | Self::Updated(id) | Self::Unchanged(id) => id,
        }
    }
}

/// An old reference as stored and looked up: trimmed and upper-cased.
pub fn normalise_alias(alias: &str) -> String {
    alias.trim().to_uppercase()
}

impl Incidents {
    /// Records `incident` under its old reference `alias`, or rewrites the incident imported
    /// under it before when `digest` (of the export row) has changed. `source` names the old
    /// system. Audited as `incident.imported` / `incident.import_updated` by `actor`.
    #[allow(clippy::too_many_arguments)]
    pub fn import_historic(
        &self,
        conn: &mut DbConnection,
        now: DateTime<Utc>,
        actor: &Actor,
        source: &str,
        alias: &str,
        digest: &str,
        incident: &HistoricIncident,
    ) -> Result<Imported, IncidentError> {
        let alias = normalise_alias(alias);
        let existing = store::alias(conn, &alias)?;
        if let Some((id, kept)) = &existing
            && kept == digest
        {
            return Ok(Imported::Unchanged(*id));
        }
        let mut row = self.historic_row(incident, now);
        let details = DetailsRow {
            incident_id: 0,
            contact: incident.contact.clone(),
            region: incident.region.clone(),
            fault_started_at: None,
            message_ids: None,
            priority_reason: incident.priority_reason.clone(),
            resolution_notes: incident.resolution_notes.clone(),
        };
        // An incident waiting on its User has a pause open since it last changed, so its
        // resolution clock stands still as it would had it been worked here.
        let pauses = (row.status == Status::AwaitingUser.as_str())
            .then_some(PauseRow {
                started_at: row.updated_at,
                ended_at: None,
            })
            .into_iter()
            .collect::<Vec<_>>();
        self.set_due_times(&mut row, &pauses);
        let stamp = timestamp(now);
        let outcome = match existing {
            None => {
                let id = store::insert(conn, &mut row, details.clone(), &incident.devices)?;
                for pause in &pauses {
                    store::open_pause(conn, id, "awaiting_user", pause.started_at)?;
                }
                store::index_for_search(conn, id, &row.title, &row.description, "")?;
                store::insert_alias(conn, &alias, id, source, digest, stamp)?;
                self.record(
                    conn,
                    now,
                    actor,
                    &row,
                    "incident.imported",
                    Changes::new()
                        .created("reference", row.reference.as_str())
                        .created("alias", alias.as_str())
                        .created("source", source)
                        .created("status", row.status.as_str()),
                )?;
                Imported::Created(id)
            }
            Some((id, _)) => {
                let before = store::load(conn, id)?;
                row.id = id;
                row.reference = before.row.reference.clone();
                row.version = before.row.version + 1;
                let details = DetailsRow {
                    incident_id: id,
                    fault_started_at: before.details.fault_started_at,
                    message_ids: before.details.message_ids.clone(),
                    ..details
                };
                if !store::update(conn, &row, &details, before.row.version)? {
                    return Err(StoreError::Conflict(format!(
                        "incident {id} changed while it was being imported"
                    ))
                    .into());
                }
                store::end_pauses(conn, id, row.updated_at)?;
                for pause in &pauses {
                    store::open_pause(conn, id, "awaiting_user", pause.started_at)?;
                }
                store::replace_devices(conn, id, &incident.devices)?;
                let comments = public_comment_text(conn, id)?;
                store::index_for_search(conn, id, &row.title, &row.description, &comments)?;
                store::update_alias(conn, &alias, digest, stamp)?;
                let changes = diff(&before.row, &before.details, &row, &details);
                self.record(conn, now, actor, &row, "incident.import_updated", changes)?;
                Imported::Updated(id)
            }
        };
        self.settle_past_crossings(conn, &row, stamp)?;
        Ok(outcome)
    }

    /// Adds a note or work log entry from the old system to incident `incident_id`, or rewrites
    /// the one imported under `external_id` before when `digest` has changed. Call
    /// [`Incidents::reindex_imported`] for the incident once its notes are in.
    #[allow(clippy::too_many_arguments)]
    pub fn import_note(
        &self,
        conn: &mut DbConnection,
        source: &str,
        external_id: &str,
        digest: &str,
        incident_id: i64,
        author: &Raiser,
        body: &str,
        internal: bool,
        written_at: DateTime<Utc>,
    ) -> Result<Imported, IncidentError> {
        let at = timestamp(written_at);
        match store::imported_comment(conn, source, external_id)? {
            Some((id, kept)) if kept == digest => Ok(Imported::Unchanged(id)),
            Some((id, _)) => {
                store::rewrite_comment(conn, id, incident_id, author, body, internal, at)?;
                store::update_imported_comment(conn, source, external_id, digest)?;
                Ok(Imported::Updated(id))
            }
            None => {
                let id = store::insert_comment(
                    conn,
                    incident_id,
                    &author.kind,
                    author.id,
                    &author.name,
                    body,
                    internal,
                    at,
                )?;
                store::insert_imported_comment(conn, source, external_id, digest, id)?;
                Ok(Imported::Created(id))
            }
        }
    }

    /// Rewrites the search entry of an imported incident after its notes changed.
    pub fn reindex_imported(
        &self,
        conn: &mut DbConnection,
        incident_id: i64,
    ) -> Result<(), IncidentError> {
        let row = store::load(conn, incident_id)?.row;
        let comments = public_comment_text(conn, incident_id)?;
        store::index_for_search(conn, incident_id, &row.title, &row.description, &comments)?;
        Ok(())
    }

    /// The incident imported under an old reference, if any.
    pub fn imported_id(
        &self,
        conn: &mut DbConnection,
        alias: &str,
    ) -> Result<Option<i64>, IncidentError> {
        Ok(store::alias(conn, &normalise_alias(alias))?.map(|(id, _)| id))
    }

    fn historic_row(&self, incident: &HistoricIncident, now: DateTime<Utc>) -> IncidentRow {
        let mut resolved_at = incident.resolved_at.map(timestamp);
        let mut closed_at = incident.closed_at.map(timestamp);
        let updated_at = timestamp(incident.updated_at);
        let mut status = incident.status;
        match status {
            Status::Resolved => {
                resolved_at.get_or_insert(updated_at);
                let policy = self.policy();
                let since = policy
                    .calendar
                    .working_time_between(resolved_at.unwrap_or(updated_at).and_utc(), now);
                // The sweeper would close it on its next pass, announcing the closure; history
                // is closed here instead, silently.
                if since > policy.reopen_window {
                    status = Status::Closed;
                    closed_at = Some(timestamp(now));
                }
            }
            Status::Closed | Status::Cancelled => {
                closed_at.get_or_insert(updated_at);
            }
            _ => {}
        }
        IncidentRow {
            // Both are given by `store::insert`.
            id: 0,
            reference: String::new(),
            organisation_id: incident.organisation_id,
            raised_by_kind: incident.raised_by.kind.clone(),
            raised_by_id: incident.raised_by.id,
            raised_by_name: incident.raised_by.name.clone(),
            channel: incident.channel.clone(),
            title: incident.title.clone(),
            description: incident.description.clone(),
            category: incident.category.clone(),
            subcategory: incident.subcategory.clone(),
            impact: i32::from(incident.impact.get()),
            urgency: i32::from(incident.urgency.get()),
            priority: i32::from(incident.priority.get()),
            status: status.as_str().to_owned(),
            assignment_group: incident.assignment_group.clone(),
            assignee_id: incident.assignee_id,
            resolution_code: incident.resolution_code.clone(),
            major: false,
            parent_id: None,
            duplicate_of_id: None,
            responded_at: incident.responded_at.map(timestamp),
            resolved_at,
            closed_at,
            response_due_at: None,
            resolution_due_at: None,
            response_at_risk_at: None,
            resolution_at_risk_at: None,
            created_at: timestamp(incident.created_at),
            updated_at,
            version: 1,
        }
    }

    fn record(
        &self,
        conn: &mut DbConnection,
        now: DateTime<Utc>,
        actor: &Actor,
        row: &IncidentRow,
        action: &str,
        changes: Changes,
    ) -> Result<(), StoreError> {
        audit::record(
            conn,
            now,
            AuditEvent {
                actor,
                organisation_id: Some(row.organisation_id),
                action,
                entity_type: "incident",
                entity_id: row.id.to_string(),
                changes,
                request_id: None,
            },
        )
    }

    /// Marks the SLA crossings an imported incident passed before now as already fired.
    fn settle_past_crossings(
        &self,
        conn: &mut DbConnection,
        row: &IncidentRow,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        if row.closed_at.is_some() {
            return Ok(());
        }
        let response_running = row.responded_at.is_none();
        let resolution_running = row.resolved_at.is_none();
        for (running, clock, kind, instant) in [
            (
                response_running,
                "response",
                "at_risk",
                row.response_at_risk_at,
            ),
            (
                response_running,
                "response",
                "breached",
                row.response_due_at,
            ),
            (
                resolution_running,
                "resolution",
                "at_risk",
                row.resolution_at_risk_at,
            ),
            (
                resolution_running,
                "resolution",
                "breached",
                row.resolution_due_at,
            ),
        ] {
            if running && instant.is_some_and(|t| t <= now) {
                store::record_sla_event(conn, row.id, clock, kind, now)?;
            }
        }
        Ok(())
    }
}
