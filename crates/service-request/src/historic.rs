//! Service requests from the system dsms replaced, as `dsms import` brings them in: their history
//! is taken as given (times, status, people) instead of being lived through approvals and
//! fulfilment, their old reference is kept as an alias people can still find them by, and the
//! old answers go into the catalogue item's form where they fit. What does not fit (a field the
//! form lacks, a value its rules refuse, the old free-text description) is kept in one details
//! note on the request, so nothing the old system recorded is lost.
//!
//! Each call runs in the caller's transaction, so the importer decides how many rows commit
//! together. Nothing here emits domain events: history is not news, and announcing it would
//! send every organisation years of email.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use dsms_core::{Actor, ValidationErrors};
use dsms_store::audit::{self, AuditEvent, Changes};
use dsms_store::{DbConnection, StoreError, timestamp};
use serde_json::{Map, Value};

use crate::form::{self, Definition, FieldType};
use crate::lifecycle::Status;
use crate::model::{ApprovalStatus, CatalogueItem, Party, RequestError, TaskStatus};
use crate::service::{ServiceRequests, form_version, parse_definition};
use crate::store::{self, ApprovalRow, CommentRow, RequestRow, TaskRow};

/// The audit entity type of requests.
const ENTITY: &str = "service_request";

/// The longest details note (the limit of any comment).
pub const MAX_DETAILS: usize = 20_000;

/// A service request as the old system recorded it, already mapped to dsms's vocabulary.
#[derive(Debug, Clone)]
pub struct HistoricRequest {
    /// The raising organisation.
    pub organisation_id: i64,
    /// The catalogue item's code.
    pub item: String,
    /// Who raised it.
    pub raised_by: Party,
    /// `api` or `portal`.
    pub channel: String,
    /// A one-line summary; the item's name when absent.
    pub summary: Option<String>,
    /// Who to contact about it.
    pub contact: Option<String>,
    /// The answers that fit the item's form (see [`historic_answers`]).
    pub answers: Map<String, Value>,
    /// The details note: what the form has no place for (see [`details_note`]).
    pub details: Option<String>,
    /// The details note is a work note the organisation never sees.
    pub details_internal: bool,
    /// Where it stands.
    pub status: Status,
    /// When its fulfilment was done.
    pub fulfilled_at: Option<DateTime<Utc>>,
    /// When it was closed, rejected or cancelled.
    pub closed_at: Option<DateTime<Utc>>,
    /// When it was raised.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
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

/// An old reference as stored and looked up: trimmed and upper-cased.
pub fn normalise_alias(alias: &str) -> String {
    alias.trim().to_uppercase()
}

/// One value of an old row meant for a form field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldValue {
    /// The form field it is for.
    pub key: String,
    /// What the old system called it (its column), for the details note.
    pub label: String,
    /// The value as exported.
    pub value: String,
}

/// The form with the rules history cannot be held to relaxed: old requests were raised against
/// older forms (a field required today may not have existed) and long ago (dates then ahead
/// are past now).
fn relaxed(definition: &Definition) -> Definition {
    let mut relaxed = definition.clone();
    for field in &mut relaxed.fields {
        field.required = false;
        field.not_in_past = false;
    }
    relaxed
}

/// An option as the old system may have written it: `In Progress` for `in_progress`.
fn option(field: &form::FormField, raw: &str) -> String {
    let raw = raw.trim();
    if field.options.iter().any(|o| o == raw) {
        return raw.to_owned();
    }
    let folded: String = raw
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect();
    if field.options.contains(&folded) {
        folded
    } else {
        raw.to_owned()
    }
}

/// The JSON answer an exported text stands for in `field`, if it can stand for one.
fn typed(
    field: &form::FormField,
    raw: &str,
    separator: &str,
    date_formats: &[String],
) -> Option<Value> {
    let list = || -> Vec<&str> {
        raw.split(separator)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    };
    match field.kind {
        FieldType::Text => Some(Value::from(raw)),
        FieldType::Number => raw.parse::<i64>().map(Value::from).ok().or_else(|| {
            raw.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(Value::from)
        }),
        FieldType::Date => std::iter::once("%Y-%m-%d")
            .chain(date_formats.iter().map(String::as_str))
            .find_map(|f| {
                NaiveDate::parse_from_str(raw, f)
                    .ok()
                    .or_else(|| NaiveDateTime::parse_from_str(raw, f).ok().map(|t| t.date()))
            })
            .map(|d| Value::from(d.format("%Y-%m-%d").to_string())),
        FieldType::Choice => Some(Value::from(option(field, raw))),
        FieldType::MultiChoice => Some(Value::Array(
            list()
                .into_iter()
                .map(|o| Value::from(option(field, o)))
                .collect(),
        )),
        FieldType::Identifiers => Some(Value::Array(list().into_iter().map(Value::from).collect())),
        // An export carries no files, only at most their names.
        FieldType::File => None,
    }
}

/// Sorts an old row's `values` into the answers that fit `definition`'s form (typed, normalised
/// and checked by its rules, except that nothing is required and past dates are allowed) and
/// those that do not: values for fields the form lacks, a second value for one field, and values
/// its rules refuse. Lists are split at `separator`; dates are read as `YYYY-MM-DD` or in one of
/// `date_formats`.
pub fn historic_answers(
    definition: &Definition,
    values: &[OldValue],
    separator: &str,
    date_formats: &[String],
) -> (Map<String, Value>, Vec<OldValue>) {
    let form = relaxed(definition);
    let mut candidates = Map::new();
    let mut sources: Vec<&OldValue> = Vec::new();
    let mut misfits = Vec::new();
    for value in values {
        let answer = form
            .field(&value.key)
            .filter(|_| !candidates.contains_key(&value.key))
            .and_then(|field| typed(field, value.value.trim(), separator, date_formats));
        match answer {
            Some(answer) => {
                candidates.insert(value.key.clone(), answer);
                sources.push(value);
            }
            None => misfits.push(value.clone()),
        }
    }
    // Each refused answer is moved to the misfits and the rest checked again; at most once per
    // field, so this ends.
    loop {
        let mut errors = ValidationErrors::default();
        let today = NaiveDate::MIN;
        let answers = form::check_answers(
            &form,
            &Value::Object(candidates.clone()),
            today,
            &mut errors,
        );
        let refused: Vec<String> = errors
            .0
            .iter()
            .filter_map(|e| {
                e.field
                    .strip_prefix("fields.")
                    .map(|k| k.split('[').next().unwrap_or(k).to_owned())
            })
            .filter(|k| candidates.contains_key(k))
            .collect();
        if refused.is_empty() {
            return (answers, misfits);
        }
        for key in refused {
            if candidates.remove(&key).is_some()
                && let Some(source) = sources.iter().find(|s| s.key == key)
            {
                misfits.push((*source).clone());
            }
        }
    }
}

/// The details note of an imported request: the old description, then each value the form has
/// no place for, by the old system's name for it. `None` when there is nothing to keep.
pub fn details_note(
    source: &str,
    description: Option<&str>,
    misfits: &[OldValue],
) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(text) = description.map(str::trim).filter(|t| !t.is_empty()) {
        parts.push(text.to_owned());
    }
    if !misfits.is_empty() {
        let mut kept = format!("Recorded in {source}, with no place on this form:");
        for m in misfits {
            kept.push_str(&format!("\n{}: {}", m.label, m.value.trim()));
        }
        parts.push(kept);
    }
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

impl ServiceRequests {
    /// Every catalogue item, withdrawn ones included, with its form in force: what imported
    /// requests are matched against.
    pub fn historic_catalogue(&self) -> Result<Vec<CatalogueItem>, RequestError> {
        let rows = self
            .inner
            .db
            .read_blocking(|conn| store::items(conn, true))?;
        rows.into_iter()
            .map(|(row, version)| {
                Ok(CatalogueItem {
                    id: row.id,
                    code: row.code,
                    active: row.active,
                    form: form_version(version)?,
                    created_at: row.created_at,
                    updated_at: row.updated_at,
                    version: row.version,
                })
            })
            .collect()
    }

    /// Records `request` under its old reference `alias`, or rewrites the request imported under
    /// it before when `digest` (of the export row) has changed. `source` names the old system.
    /// Audited as `service_request.imported` / `service_request.import_updated` by `actor`.
    #[allow(clippy::too_many_arguments)]
    pub fn import_historic(
        &self,
        conn: &mut DbConnection,
        now: DateTime<Utc>,
        actor: &Actor,
        source: &str,
        alias: &str,
        digest: &str,
        request: &HistoricRequest,
    ) -> Result<Imported, RequestError> {
        let alias = normalise_alias(alias);
        let existing = store::alias(conn, &alias)?;
        if let Some((id, kept)) = &existing
            && kept == digest
        {
            return Ok(Imported::Unchanged(*id));
        }
        let (item, version) = store::item(conn, None, &request.item)?;
        let definition = parse_definition(&version)?;
        let mut errors = ValidationErrors::default();
        let answers = form::check_answers(
            &relaxed(&definition),
            &Value::Object(request.answers.clone()),
            NaiveDate::MIN,
            &mut errors,
        );
        errors.into_result()?;
        let mut row = historic_row(request, &definition, item.id, version.id, answers);
        let stamp = timestamp(now);
        let outcome = match existing {
            None => {
                row.reference = format!("pending:import:{alias}");
                let id = store::insert_request(conn, &row, &[], &[])?;
                row.id = id;
                row.reference = store::reference_of(id);
                let (approvals, tasks) = steps(&definition, &row, source);
                store::replace_steps(conn, id, &approvals, &tasks)?;
                store::insert_alias(conn, &alias, id, source, digest, stamp)?;
                self.details(conn, source, &alias, &row, request, digest)?;
                record(
                    conn,
                    now,
                    actor,
                    &row,
                    "service_request.imported",
                    Changes::new()
                        .created("reference", row.reference.as_str())
                        .created("alias", alias.as_str())
                        .created("source", source)
                        .created("catalogue_item", item.code.as_str())
                        .created("status", row.status.as_str()),
                )?;
                Imported::Created(id)
            }
            Some((id, _)) => {
                let before = store::load(conn, id)?;
                row.id = id;
                row.reference = before.reference.clone();
                row.version = before.version + 1;
                if !store::update_request(conn, &row, before.version)? {
                    return Err(StoreError::Conflict(format!(
                        "service request {id} changed while it was being imported"
                    ))
                    .into());
                }
                let (approvals, tasks) = steps(&definition, &row, source);
                store::replace_steps(conn, id, &approvals, &tasks)?;
                store::update_alias(conn, &alias, digest, stamp)?;
                self.details(conn, source, &alias, &row, request, digest)?;
                record(
                    conn,
                    now,
                    actor,
                    &row,
                    "service_request.import_updated",
                    diff(&before, &row),
                )?;
                Imported::Updated(id)
            }
        };
        Ok(outcome)
    }

    /// Writes, rewrites or removes the details note of an imported request. It is kept among
    /// the imported comments as `details:<alias>`, apart from the old system's own note ids.
    fn details(
        &self,
        conn: &mut DbConnection,
        source: &str,
        alias: &str,
        row: &RequestRow,
        request: &HistoricRequest,
        digest: &str,
    ) -> Result<(), RequestError> {
        let external_id = format!("details:{alias}");
        let existing = store::imported_comment(conn, source, &external_id)?;
        let Some(body) = &request.details else {
            if let Some((comment_id, _)) = existing {
                store::delete_imported_comment(conn, source, &external_id, comment_id)?;
            }
            return Ok(());
        };
        let mut comment = CommentRow {
            id: 0,
            request_id: row.id,
            author_kind: request.raised_by.kind.clone(),
            author_id: request.raised_by.id,
            author_name: request.raised_by.name.clone(),
            body: body.clone(),
            internal: request.details_internal,
            created_at: row.created_at,
        };
        match existing {
            Some((comment_id, _)) => {
                comment.id = comment_id;
                store::rewrite_imported_comment(conn, source, &external_id, digest, &comment)?;
            }
            None => {
                let comment_id = store::insert_comment(conn, &comment)?;
                store::insert_imported_comment(conn, source, &external_id, digest, comment_id)?;
            }
        }
        Ok(())
    }

    /// Adds a note or work log entry from the old system to request `request_id`, or rewrites
    /// the one imported under `external_id` before when `digest` has changed.
    #[allow(clippy::too_many_arguments)]
    pub fn import_note(
        &self,
        conn: &mut DbConnection,
        source: &str,
        external_id: &str,
        digest: &str,
        request_id: i64,
        author: &Party,
        body: &str,
        internal: bool,
        written_at: DateTime<Utc>,
    ) -> Result<Imported, RequestError> {
        let mut comment = CommentRow {
            id: 0,
            request_id,
            author_kind: author.kind.clone(),
            author_id: author.id,
            author_name: author.name.clone(),
            body: body.to_owned(),
            internal,
            created_at: timestamp(written_at),
        };
        match store::imported_comment(conn, source, external_id)? {
            Some((id, kept)) if kept == digest => Ok(Imported::Unchanged(id)),
            Some((id, _)) => {
                comment.id = id;
                store::rewrite_imported_comment(conn, source, external_id, digest, &comment)?;
                Ok(Imported::Updated(id))
            }
            None => {
                let id = store::insert_comment(conn, &comment)?;
                store::insert_imported_comment(conn, source, external_id, digest, id)?;
                Ok(Imported::Created(id))
            }
        }
    }

    /// The request imported under an old reference, if any.
    pub fn imported_id(
        &self,
        conn: &mut DbConnection,
        alias: &str,
    ) -> Result<Option<i64>, RequestError> {
        Ok(store::alias(conn, &normalise_alias(alias))?.map(|(id, _)| id))
    }
}

/// The request's row: times completed from the status as the live lifecycle would have set them.
fn historic_row(
    request: &HistoricRequest,
    definition: &Definition,
    item_id: i64,
    version_id: i64,
    answers: Map<String, Value>,
) -> RequestRow {
    let updated_at = timestamp(request.updated_at);
    let given_fulfilled = request.fulfilled_at.map(timestamp);
    let given_closed = request.closed_at.map(timestamp);
    let (fulfilled_at, closed_at) = match request.status {
        Status::Fulfilled => (Some(given_fulfilled.unwrap_or(updated_at)), None),
        Status::Closed => {
            let closed = given_closed.unwrap_or(updated_at);
            (Some(given_fulfilled.unwrap_or(closed)), Some(closed))
        }
        Status::Rejected | Status::Cancelled => (None, Some(given_closed.unwrap_or(updated_at))),
        Status::Submitted | Status::AwaitingApproval | Status::Approved | Status::InFulfilment => {
            (None, None)
        }
    };
    RequestRow {
        id: 0,
        reference: String::new(),
        organisation_id: request.organisation_id,
        item_id,
        item_version_id: version_id,
        raised_by_kind: request.raised_by.kind.clone(),
        raised_by_id: request.raised_by.id,
        raised_by_name: request.raised_by.name.clone(),
        channel: request.channel.clone(),
        summary: request
            .summary
            .clone()
            .unwrap_or_else(|| definition.name.clone()),
        contact: request.contact.clone(),
        answers: Value::Object(answers).to_string(),
        status: request.status.as_str().to_owned(),
        fulfilled_at,
        closed_at,
        created_at: timestamp(request.created_at),
        updated_at,
        version: 1,
    }
}

/// The approval steps and tasks a request in its status has been through. Who decided and who
/// did the work is not in an export; the steps say they happened in `source`. A rejection is
/// put on the first step, not knowing which one refused.
fn steps(
    definition: &Definition,
    row: &RequestRow,
    source: &str,
) -> (Vec<ApprovalRow>, Vec<TaskRow>) {
    let status = Status::parse(&row.status).unwrap_or(Status::Submitted);
    let approvals = definition
        .approvals
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let (state, decided_at, comment) = match status {
                Status::AwaitingApproval => (ApprovalStatus::Pending, None, None),
                Status::Rejected if i == 0 => (
                    ApprovalStatus::Rejected,
                    row.closed_at,
                    Some(format!("rejected in {source}")),
                ),
                Status::Rejected | Status::Cancelled => (ApprovalStatus::Withdrawn, None, None),
                // Approved before any of its history that the export recorded: no time waits
                // on an administrator in its clock.
                Status::Submitted
                | Status::Approved
                | Status::InFulfilment
                | Status::Fulfilled
                | Status::Closed => (
                    ApprovalStatus::Approved,
                    Some(row.created_at),
                    Some(format!("approved in {source}")),
                ),
            };
            ApprovalRow {
                id: 0,
                request_id: row.id,
                step: i32::try_from(i + 1).unwrap_or(i32::MAX),
                approver: step.approver.as_str().to_owned(),
                status: state.as_str().to_owned(),
                decided_by_kind: None,
                decided_by_id: None,
                decided_by_name: None,
                decided_at,
                comment,
            }
        })
        .collect();
    let tasks = definition
        .tasks
        .iter()
        .enumerate()
        .map(|(i, task)| {
            let (state, completed_at, notes) = match status {
                Status::Fulfilled | Status::Closed => (
                    TaskStatus::Done,
                    row.fulfilled_at,
                    Some(format!("done in {source}")),
                ),
                Status::Rejected | Status::Cancelled => (TaskStatus::Cancelled, None, None),
                Status::Submitted
                | Status::AwaitingApproval
                | Status::Approved
                | Status::InFulfilment => (TaskStatus::Open, None, None),
            };
            TaskRow {
                id: 0,
                request_id: row.id,
                position: i32::try_from(i + 1).unwrap_or(i32::MAX),
                name: task.name.clone(),
                resolver_group: task.group.clone(),
                status: state.as_str().to_owned(),
                completed_by_id: None,
                completed_by_name: None,
                completed_at,
                notes,
            }
        })
        .collect();
    (approvals, tasks)
}

/// The field-level changes a re-import made, for the request's history.
fn diff(before: &RequestRow, after: &RequestRow) -> Changes {
    let v = |o: &Option<String>| o.clone().map_or(Value::Null, Value::from);
    let t = |o: &Option<NaiveDateTime>| {
        o.map_or(Value::Null, |t| Value::from(t.and_utc().to_rfc3339()))
    };
    Changes::new()
        .field("status", before.status.as_str(), after.status.as_str())
        .field("summary", before.summary.as_str(), after.summary.as_str())
        .field("contact", v(&before.contact), v(&after.contact))
        .field("catalogue_item_id", before.item_id, after.item_id)
        .field("answers", before.answers.as_str(), after.answers.as_str())
        .field(
            "fulfilled_at",
            t(&before.fulfilled_at),
            t(&after.fulfilled_at),
        )
        .field("closed_at", t(&before.closed_at), t(&after.closed_at))
}

fn record(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    row: &RequestRow,
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
            entity_type: ENTITY,
            entity_id: row.id.to_string(),
            changes,
            request_id: None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition() -> Definition {
        serde_json::from_value(serde_json::json!({
            "name": "Device / hub diagnostics request",
            "description": "Diagnostics.",
            "fields": [
                {"key": "device_ids", "label": "Devices", "type": "identifiers",
                 "identifier": "device_id", "required": true},
                {"key": "diagnostic", "label": "Diagnostics wanted", "type": "choice",
                 "required": true, "options": ["connectivity", "firmware", "event_log", "full"]},
                {"key": "symptoms", "label": "What you see", "type": "text", "max_length": 20},
                {"key": "wanted_by", "label": "Wanted by", "type": "date", "not_in_past": true},
                {"key": "count", "label": "How many", "type": "number", "integer": true}
            ],
            "tasks": [{"name": "Run", "group": "second-line"}],
            "sla_working_days": 5
        }))
        .expect("a definition")
    }

    fn old(key: &str, label: &str, value: &str) -> OldValue {
        OldValue {
            key: key.into(),
            label: label.into(),
            value: value.into(),
        }
    }

    #[test]
    fn values_that_fit_become_typed_answers_and_the_rest_is_kept_aside() {
        let values = [
            old(
                "device_ids",
                "Devices",
                "00-db-12-ff-00-00-00-01; 00DB12FF00000002",
            ),
            old("diagnostic", "Diagnostic", "Event Log"),
            old("wanted_by", "Needed By", "01/02/2023"),
            old("count", "Qty", "3"),
            old("symptoms", "Symptoms", "far too long for twenty characters"),
            old("colour", "Colour", "blue"),
            old("count", "Quantity again", "4"),
        ];
        let (answers, misfits) =
            historic_answers(&definition(), &values, ";", &["%d/%m/%Y".to_owned()]);
        assert_eq!(
            Value::Object(answers),
            serde_json::json!({
                "device_ids": ["00DB12FF00000001", "00DB12FF00000002"],
                "diagnostic": "event_log",
                "wanted_by": "2023-02-01",
                "count": 3,
            })
        );
        let labels: Vec<&str> = misfits.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, ["Colour", "Quantity again", "Symptoms"]);
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_kept_aside_and_missing_required_fields_are_allowed() {
        let values = [
            old("count", "Qty", "three"),
            old("device_ids", "Devices", "not-a-device"),
        ];
        let (answers, misfits) = historic_answers(&definition(), &values, ";", &[]);
        assert!(answers.is_empty(), "{answers:?}");
        assert_eq!(misfits.len(), 2);
    }

    #[test]
    fn the_details_note_keeps_the_description_and_every_misfit_by_its_old_name() {
        assert_eq!(details_note("legacy", Some("  "), &[]), None);
        assert_eq!(
            details_note(
                "legacy",
                Some("Please check the hub."),
                &[old("colour", "Colour", " blue ")]
            )
            .as_deref(),
            Some(
                "Please check the hub.\n\nRecorded in legacy, with no place on this form:\nColour: blue"
            )
        );
    }
}
