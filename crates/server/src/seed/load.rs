//! Writes generated incidents: one transaction per batch of thousands of incidents, each table
//! in multi-row inserts as large as the database's bind limit allows (binary `COPY` on
//! PostgreSQL), the search entries filled from the rows just written. A generator thread makes
//! the next batch while this one is written. The bulk tables' secondary indexes are dropped
//! before the load and created again, from the definitions the migrations wrote, after it:
//! building an index once from sorted rows is several times cheaper than keeping it up to date
//! through millions of inserts.

use std::sync::mpsc;

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::{PgConnection, SqliteConnection};
use dsms_store::schema::{
    audit_log, incident_comments, incident_details, incident_devices, incident_pauses,
    incident_sla_events, incidents,
};
use dsms_store::{DbConnection, DbTarget, StoreError};
use indicatif::ProgressBar;

use super::generate::Generator;

/// An incident's queue-facing columns.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = incidents)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct IncidentRow {
    pub id: i64,
    pub reference: String,
    pub organisation_id: i64,
    pub raised_by_kind: &'static str,
    pub raised_by_id: i64,
    pub raised_by_name: String,
    pub channel: &'static str,
    pub title: String,
    pub description: String,
    pub category: &'static str,
    pub subcategory: Option<String>,
    pub impact: i32,
    pub urgency: i32,
    pub priority: i32,
    pub status: &'static str,
    pub assignment_group: Option<&'static str>,
    pub assignee_id: Option<i64>,
    pub resolution_code: Option<&'static str>,
    pub major: bool,
    pub parent_id: Option<i64>,
    pub duplicate_of_id: Option<i64>,
    pub responded_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub response_due_at: Option<NaiveDateTime>,
    pub resolution_due_at: Option<NaiveDateTime>,
    pub response_at_risk_at: Option<NaiveDateTime>,
    pub resolution_at_risk_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// The rest of what is recorded about an incident.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = incident_details)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct DetailsRow {
    pub incident_id: i64,
    pub contact: Option<String>,
    pub region: Option<&'static str>,
    pub fault_started_at: Option<NaiveDateTime>,
    pub message_ids: Option<String>,
    pub priority_reason: Option<String>,
    pub resolution_notes: Option<String>,
}

/// An affected device.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = incident_devices)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct DeviceRow {
    pub incident_id: i64,
    pub device_id: String,
}

/// A period the resolution clock did not run.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = incident_pauses)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct PauseRow {
    pub incident_id: i64,
    pub reason: &'static str,
    pub started_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
}

/// A comment or work note.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = incident_comments)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct CommentRow {
    pub id: i64,
    pub incident_id: i64,
    pub author_kind: &'static str,
    pub author_id: i64,
    pub author_name: String,
    pub body: &'static str,
    pub internal: bool,
    pub created_at: NaiveDateTime,
}

/// An SLA threshold that was crossed.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = incident_sla_events)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct SlaEventRow {
    pub incident_id: i64,
    pub clock: &'static str,
    pub kind: &'static str,
    pub fired_at: NaiveDateTime,
}

/// A history entry.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_log)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct AuditRow {
    pub occurred_at: NaiveDateTime,
    pub actor_kind: &'static str,
    pub actor_id: String,
    pub organisation_id: Option<i64>,
    pub action: &'static str,
    pub entity_type: &'static str,
    pub entity_id: String,
    pub changes: String,
    pub request_id: Option<String>,
}

/// A batch of incidents and everything recorded about them.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub incidents: Vec<IncidentRow>,
    pub details: Vec<DetailsRow>,
    pub devices: Vec<DeviceRow>,
    pub pauses: Vec<PauseRow>,
    pub comments: Vec<CommentRow>,
    pub sla_events: Vec<SlaEventRow>,
    pub audit: Vec<AuditRow>,
}

/// Rows written, per table.
#[derive(Debug, Clone, Copy, Default)]
pub struct RowCounts {
    /// Incidents (and their details and search entries).
    pub incidents: u64,
    /// Affected devices.
    pub devices: u64,
    /// Comments and work notes.
    pub comments: u64,
    /// Clock pauses.
    pub pauses: u64,
    /// SLA events.
    pub sla_events: u64,
    /// History entries.
    pub audit: u64,
}

impl RowCounts {
    /// Every row written.
    pub fn total(&self) -> u64 {
        self.incidents * 3
            + self.devices
            + self.comments
            + self.pauses
            + self.sla_events
            + self.audit
    }
}

/// Incidents per transaction.
const BATCH: u64 = 20_000;
/// Bound parameters per statement: under SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_BINDS: usize = 30_000;
/// The tables the seed fills in bulk, whose secondary indexes it builds after the load.
const BULK_TABLES: &str = "('incidents', 'incident_details', 'incident_devices', \
    'incident_pauses', 'incident_comments', 'incident_sla_events', 'incident_search', 'audit_log')";

/// The seed's own connection, with session settings for bulk loading. A crash mid-seed leaves
/// a database to throw away, so neither backend waits for each commit to reach the disk:
/// SQLite with `synchronous = OFF` and no journal (rows are written once, not to the WAL and
/// again at checkpoints; WAL is restored at the end and the file synced then), PostgreSQL with
/// `synchronous_commit = off`. Neither checks foreign keys row by row: every reference is made by
/// the generator from rows it wrote, and the seed tests check the result (PostgreSQL skips its
/// per-row foreign-key triggers only for a superuser, `session_replication_role = replica`;
/// another role keeps them). Only this connection runs like this; the server never does.
fn bulk_connection(target: &DbTarget) -> anyhow::Result<DbConnection> {
    Ok(match target {
        DbTarget::Sqlite(path) => {
            let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
            conn.batch_execute(
                "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
                 PRAGMA foreign_keys = OFF; PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;",
            )?;
            DbConnection::Sqlite(conn)
        }
        DbTarget::Postgres(url) => {
            let mut conn = PgConnection::establish(url)?;
            conn.batch_execute(
                "SET TIME ZONE 'UTC'; SET synchronous_commit = off;
                 SET maintenance_work_mem = '256MB';",
            )?;
            // Refused to any role but a superuser; that role loads with the checks on.
            let _ = conn.batch_execute("SET session_replication_role = replica;");
            DbConnection::Pg(conn)
        }
    })
}

/// Writes every incident `generator` makes.
pub(crate) fn load(
    target: &DbTarget,
    generator: Generator<'_>,
    bar: &ProgressBar,
) -> anyhow::Result<RowCounts> {
    let total = generator.total();
    let mut conn = bulk_connection(target)?;
    let indexes = conn.transaction(drop_secondary_indexes)?;
    let mut counts = RowCounts::default();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let (send, receive) = mpsc::sync_channel::<(u64, u64, Batch)>(1);
        let generator = &generator;
        scope.spawn(move || {
            let mut first = 1;
            let mut comment_id = 1;
            while first <= total {
                let last = (first + BATCH - 1).min(total);
                let batch = generator.batch(first, last, comment_id);
                comment_id += batch.comments.len() as i64;
                if send.send((first, last, batch)).is_err() {
                    return;
                }
                first = last + 1;
            }
        });
        for (first, last, batch) in receive {
            conn.transaction(|c| write(c, &batch, first as i64, last as i64))?;
            counts.incidents += batch.incidents.len() as u64;
            counts.devices += batch.devices.len() as u64;
            counts.comments += batch.comments.len() as u64;
            counts.pauses += batch.pauses.len() as u64;
            counts.sla_events += batch.sla_events.len() as u64;
            counts.audit += batch.audit.len() as u64;
            bar.set_position(last);
        }
        Ok(())
    })?;
    bar.set_message("building indexes");
    conn.transaction(|c| {
        for index in &indexes {
            c.batch_execute(&index.definition)?;
        }
        finish(c)
    })?;
    if let DbConnection::Sqlite(c) = &mut conn {
        c.batch_execute("PRAGMA journal_mode = WAL;")?;
    }
    drop(conn);
    if let DbTarget::Sqlite(path) = target {
        // Written without a journal or a sync: reach the disk before the server takes over.
        std::fs::File::open(path)?.sync_all()?;
    }
    Ok(counts)
}

/// A secondary index, as `CREATE INDEX` creates it.
#[derive(Debug, QueryableByName)]
struct IndexDefinition {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    definition: String,
}

/// Drops the bulk tables' secondary indexes and returns their definitions, exactly as the
/// migrations created them. Indexes that back a primary key or a unique constraint stay and
/// refuse duplicates during the load; a unique index created on its own would check its rows
/// when it is created again.
fn drop_secondary_indexes(conn: &mut DbConnection) -> Result<Vec<IndexDefinition>, StoreError> {
    let sql = match conn.backend() {
        dsms_store::Backend::Sqlite => format!(
            "SELECT name, sql AS definition FROM sqlite_master
             WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN {BULK_TABLES} ORDER BY name"
        ),
        dsms_store::Backend::Postgres => format!(
            "SELECT ic.relname::text AS name, pg_get_indexdef(ic.oid) AS definition
             FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
             JOIN pg_class t ON t.oid = x.indrelid
             WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
               AND t.relname IN {BULK_TABLES}
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ic.oid)
             ORDER BY ic.relname"
        ),
    };
    let indexes: Vec<IndexDefinition> = diesel::sql_query(sql).load(conn)?;
    for index in &indexes {
        conn.batch_execute(&format!("DROP INDEX \"{}\"", index.name))?;
    }
    Ok(indexes)
}

/// Inserts `rows`: on SQLite in statements of as many rows as the bind limit allows, on
/// PostgreSQL in one binary `COPY`. Written against each backend's own connection: diesel
/// builds both per backend.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr, $columns:expr) => {{
        match &mut *$conn {
            DbConnection::Sqlite(c) => {
                for chunk in $rows.chunks((MAX_BINDS / $columns).max(1)) {
                    diesel::insert_into($table).values(chunk).execute(c)?;
                }
            }
            DbConnection::Pg(c) => {
                if !$rows.is_empty() {
                    diesel::copy_from($table)
                        .from_insertable($rows.as_slice())
                        .execute(c)?;
                }
            }
        }
    }};
}

fn write(conn: &mut DbConnection, batch: &Batch, first: i64, last: i64) -> Result<(), StoreError> {
    insert_all!(conn, incidents::table, batch.incidents, 31);
    insert_all!(conn, incident_details::table, batch.details, 7);
    insert_all!(conn, incident_devices::table, batch.devices, 2);
    insert_all!(conn, incident_pauses::table, batch.pauses, 4);
    insert_all!(conn, incident_comments::table, batch.comments, 8);
    insert_all!(conn, incident_sla_events::table, batch.sla_events, 4);
    insert_all!(conn, audit_log::table, batch.audit, 9);
    let comments = match (batch.comments.first(), batch.comments.last()) {
        (Some(a), Some(b)) => (a.id, b.id),
        _ => (1, 0),
    };
    index_for_search(conn, (first, last), comments)
}

/// Fills the search entries of incidents `first..=last` from their rows, as the incident
/// service writes them: title, description, and the public comments in order. The batch's
/// comments are found by their own ids (`comments`), so no index on the incident is needed.
fn index_for_search(
    conn: &mut DbConnection,
    (first, last): (i64, i64),
    comments: (i64, i64),
) -> Result<(), StoreError> {
    let sql = match conn.backend() {
        dsms_store::Backend::Sqlite => {
            "INSERT INTO incident_search (rowid, title, description, comments)
             SELECT i.id, i.title, i.description, coalesce(c.bodies, '')
             FROM incidents i LEFT JOIN (
                 SELECT incident_id, group_concat(body, char(10) ORDER BY id) AS bodies
                 FROM incident_comments WHERE id BETWEEN ?3 AND ?4 AND NOT internal
                 GROUP BY incident_id) c ON c.incident_id = i.id
             WHERE i.id BETWEEN ?1 AND ?2 ORDER BY i.id"
        }
        dsms_store::Backend::Postgres => {
            "INSERT INTO incident_search (incident_id, document)
             SELECT i.id, setweight(to_tsvector('english', i.title), 'A')
                 || to_tsvector('english', i.description)
                 || to_tsvector('english', coalesce(c.bodies, ''))
             FROM incidents i LEFT JOIN (
                 SELECT incident_id, string_agg(body, E'\\n' ORDER BY id) AS bodies
                 FROM incident_comments WHERE id BETWEEN $3 AND $4 AND NOT internal
                 GROUP BY incident_id) c ON c.incident_id = i.id
             WHERE i.id BETWEEN $1 AND $2"
        }
    };
    diesel::sql_query(sql)
        .bind::<BigInt, _>(first)
        .bind::<BigInt, _>(last)
        .bind::<BigInt, _>(comments.0)
        .bind::<BigInt, _>(comments.1)
        .execute(conn)?;
    Ok(())
}

/// Lets the database number new rows after the seeded ones, and refreshes the planner's
/// statistics so the first queries on the seeded data choose the indexes they should.
fn finish(conn: &mut DbConnection) -> Result<(), StoreError> {
    match conn.backend() {
        dsms_store::Backend::Sqlite => conn.batch_execute("ANALYZE;")?,
        dsms_store::Backend::Postgres => conn.batch_execute(
            "SELECT setval(pg_get_serial_sequence('incidents', 'id'), (SELECT max(id) FROM incidents));
             SELECT setval(pg_get_serial_sequence('incident_comments', 'id'),
                 greatest((SELECT max(id) FROM incident_comments), 1));
             ANALYZE;",
        )?,
    }
    Ok(())
}
