//! The append-only audit log. Every state change writes one row here in the same transaction as
//! the change itself; the database refuses updates and deletes of these rows.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use dsms_core::Actor;
use serde_json::{Map, Value, json};

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::audit_log;
use crate::timestamp;

/// What changed, field by field, as `{"field": {"from": old, "to": new}}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes(Map<String, Value>);

impl Changes {
    /// No changes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` went from `from` to `to`; unchanged values are left out.
    pub fn field(mut self, field: &str, from: impl Into<Value>, to: impl Into<Value>) -> Self {
        let (from, to) = (from.into(), to.into());
        if from != to {
            self.0
                .insert(field.to_owned(), json!({ "from": from, "to": to }));
        }
        self
    }

    /// Records a value set on creation.
    pub fn created(self, field: &str, to: impl Into<Value>) -> Self {
        self.field(field, Value::Null, to)
    }

    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One audit event about to be recorded.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    /// Who acted.
    pub actor: &'a Actor,
    /// The organisation whose record changed, which scopes who may read the event.
    pub organisation_id: Option<i64>,
    /// What happened, as `entity.verb`, e.g. `organisation.created`.
    pub action: &'a str,
    /// The kind of record, e.g. `organisation`.
    pub entity_type: &'a str,
    /// The record's id.
    pub entity_id: String,
    /// Field-level changes.
    pub changes: Changes,
    /// The HTTP request that caused it, when there was one.
    pub request_id: Option<&'a str>,
}

/// A recorded audit event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    /// The row id; increases with time.
    pub id: i64,
    /// When the change was committed (UTC).
    pub occurred_at: NaiveDateTime,
    /// `system`, `person` or `api_token`.
    pub actor_kind: String,
    /// The actor's id within its kind.
    pub actor_id: String,
    /// The organisation whose record changed.
    pub organisation_id: Option<i64>,
    /// What happened.
    pub action: String,
    /// The kind of record.
    pub entity_type: String,
    /// The record's id.
    pub entity_id: String,
    /// Field-level changes, as JSON.
    pub changes: String,
    /// The HTTP request that caused it.
    pub request_id: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = audit_log)]
#[diesel(treat_none_as_default_value = false)]
struct NewAuditRow<'a> {
    occurred_at: NaiveDateTime,
    actor_kind: &'a str,
    actor_id: &'a str,
    organisation_id: Option<i64>,
    action: &'a str,
    entity_type: &'a str,
    entity_id: &'a str,
    changes: &'a str,
    request_id: Option<&'a str>,
}

/// Appends `event` to the audit log.
pub fn record(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    event: AuditEvent<'_>,
) -> Result<(), StoreError> {
    let changes = Value::Object(event.changes.0).to_string();
    let actor_id = event.actor.identifier();
    diesel::insert_into(audit_log::table)
        .values(NewAuditRow {
            occurred_at: timestamp(now),
            actor_kind: event.actor.kind(),
            actor_id: &actor_id,
            organisation_id: event.organisation_id,
            action: event.action,
            entity_type: event.entity_type,
            entity_id: &event.entity_id,
            changes: &changes,
            request_id: event.request_id,
        })
        .execute(conn)?;
    Ok(())
}

/// What to look for in the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this kind of record.
    pub entity_type: Option<String>,
    /// Only this record (with `entity_type`).
    pub entity_id: Option<String>,
    /// Only actions starting with this text, e.g. `sign_in.`.
    pub action_prefix: Option<String>,
    /// Only events by this actor id.
    pub actor_id: Option<String>,
    /// Only events at or after this instant.
    pub since: Option<NaiveDateTime>,
    /// Only events before this instant.
    pub until: Option<NaiveDateTime>,
}

/// Events matching `filter` visible to `principal`, newest first, one page of them.
pub fn list(
    conn: &mut DbConnection,
    principal: &dsms_core::Principal,
    filter: &AuditFilter,
    page: dsms_core::PageRequest,
) -> Result<Vec<AuditEntry>, StoreError> {
    let mut query = crate::scoped!(
        audit_log::table.into_boxed(),
        audit_log::organisation_id,
        principal
    );
    if !principal.is_operator_staff() {
        // Work notes and their files belong to the service desk: organisations never see even
        // that one was written.
        query = query.filter(audit_log::action.not_like("%work\\_note%").escape('\\'));
    }
    if let Some(t) = &filter.entity_type {
        query = query.filter(audit_log::entity_type.eq(t.clone()));
    }
    if let Some(id) = &filter.entity_id {
        query = query.filter(audit_log::entity_id.eq(id.clone()));
    }
    if let Some(prefix) = &filter.action_prefix {
        query = query.filter(
            audit_log::action
                .like(format!("{}%", escape_like(prefix)))
                .escape('\\'),
        );
    }
    if let Some(actor) = &filter.actor_id {
        query = query.filter(audit_log::actor_id.eq(actor.clone()));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_log::occurred_at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_log::occurred_at.lt(until));
    }
    if let Some(after) = page.after {
        query = query.filter(audit_log::id.lt(after));
    }
    Ok(query
        .order(audit_log::id.desc())
        .limit(page.fetch_limit())
        .select(AuditEntry::as_select())
        .load(conn)?)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Every event about one record, oldest first.
pub fn for_entity(
    conn: &mut DbConnection,
    entity_type: &str,
    entity_id: &str,
) -> Result<Vec<AuditEntry>, StoreError> {
    Ok(audit_log::table
        .filter(audit_log::entity_type.eq(entity_type))
        .filter(audit_log::entity_id.eq(entity_id))
        .order(audit_log::id.asc())
        .select(AuditEntry::as_select())
        .load(conn)?)
}
