//! The outbox: side effects recorded in the same transaction as the change that causes them, and
//! delivered afterwards by a worker that leases due rows, so a crash never loses a message and
//! several server instances never deliver the same row at the same time.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use serde::Serialize;

use crate::DbBackend;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::fixed::Fixed;
use crate::schema::outbox;
use crate::timestamp;

/// The state of an outbox row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for (another) delivery attempt.
    Pending,
    /// Delivered.
    Delivered,
    /// Given up after too many attempts; kept for inspection and manual replay.
    Dead,
}

impl OutboxStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }
}

/// One side effect to deliver.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    /// The row id.
    pub id: i64,
    /// What kind of delivery: `email`, `webhook`.
    pub kind: String,
    /// The kind-specific payload, as JSON.
    pub payload: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    /// Delivery attempts started so far, including the current one when leased.
    pub attempts: i32,
    /// When the row is next due.
    pub next_attempt_at: NaiveDateTime,
    /// Until when the current lease holds.
    pub leased_until: Option<NaiveDateTime>,
    /// Which worker holds the lease.
    pub leased_by: Option<String>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the row was written.
    pub created_at: NaiveDateTime,
    /// When it was delivered.
    pub delivered_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = outbox)]
#[diesel(treat_none_as_default_value = false)]
struct NewOutboxRow<'a> {
    kind: &'a str,
    payload: &'a str,
    status: &'a str,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    created_at: NaiveDateTime,
}

/// Records a side effect of `kind` to deliver as soon as the surrounding transaction commits.
pub fn enqueue(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    kind: &str,
    payload: &serde_json::Value,
) -> Result<i64, StoreError> {
    let now = timestamp(now);
    let payload = payload.to_string();
    Ok(diesel::insert_into(outbox::table)
        .values(NewOutboxRow {
            kind,
            payload: &payload,
            status: OutboxStatus::Pending.as_str(),
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
        })
        .returning(outbox::id)
        .get_result(conn)?)
}

/// The condition of the `outbox_due` partial index, written out as it is there. A bound
/// `status = ?` cannot prove it once PostgreSQL switches a prepared statement to its generic
/// plan, which then read every row the outbox has ever held (8.9 ms a pass at 40 k delivered
/// rows, more PostgreSQL time than all of a create benchmark's own statements).
const PENDING: &str = "outbox.status = 'pending'";

/// Leases up to `limit` due rows of the given `kinds` to `worker` for `lease`, counting the
/// attempt it starts. Each kind has its own worker, which must never take another kind's rows.
///
/// PostgreSQL skips rows another instance has locked (`FOR UPDATE SKIP LOCKED`), so concurrent
/// workers take disjoint batches; SQLite runs the single statement under its one write lock.
/// A lease that runs out (its worker died) makes the row due again.
pub fn lease_due(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    kinds: &[&str],
    worker: &str,
    lease: Duration,
    limit: i64,
) -> Result<Vec<OutboxRow>, StoreError> {
    let until = timestamp(now + lease);
    let now = timestamp(now);
    let due = outbox::table
        .select(outbox::id)
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(PENDING))
        .filter(outbox::kind.eq_any(kinds))
        .filter(outbox::next_attempt_at.le(now))
        .filter(
            outbox::leased_until
                .is_null()
                .or(outbox::leased_until.lt(now)),
        )
        .order(outbox::next_attempt_at.asc())
        .limit(limit);
    // The select and the update run in the caller's transaction: on PostgreSQL the row locks
    // taken by the select hold until commit, so no other instance can lease the same rows.
    let ids: Vec<i64> = match conn {
        DbConnection::Pg(c) => due.for_update().skip_locked().load(c)?,
        DbConnection::Sqlite(c) => due.load(c)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
        .set((
            outbox::leased_until.eq(until),
            outbox::leased_by.eq(worker),
            outbox::attempts.eq(outbox::attempts + 1),
        ))
        .returning(outbox::all_columns)
        .get_results::<OutboxRow>(conn)?;
    Ok(rows)
}

/// Marks a leased row delivered. Returns false if `worker` no longer held the lease.
pub fn mark_delivered(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    id: i64,
    worker: &str,
) -> Result<bool, StoreError> {
    // Once per delivered row: a fixed statement, prepared once per connection.
    let updated = Fixed::<DbBackend>::new(
        "UPDATE outbox SET status = ?, delivered_at = ?, leased_until = NULL, last_error = NULL \
         WHERE id = ? AND leased_by = ?",
    )
    .bind::<Text, _>(OutboxStatus::Delivered.as_str())
    .bind::<Timestamp, _>(timestamp(now))
    .bind::<BigInt, _>(id)
    .bind::<Text, _>(worker)
    .execute(conn)?;
    Ok(updated == 1)
}

/// Records a failed attempt: the row is retried at `retry_at`, or parked as dead when that is `None`.
pub fn mark_failed(
    conn: &mut DbConnection,
    id: i64,
    worker: &str,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<bool, StoreError> {
    let target = outbox::table
        .filter(outbox::id.eq(id))
        .filter(outbox::leased_by.eq(worker));
    let error: String = error.chars().take(2000).collect();
    let updated = match retry_at {
        Some(at) => diesel::update(target)
            .set((
                outbox::next_attempt_at.eq(timestamp(at)),
                outbox::leased_until.eq(None::<NaiveDateTime>),
                outbox::last_error.eq(&error),
            ))
            .execute(conn)?,
        None => diesel::update(target)
            .set((
                outbox::status.eq(OutboxStatus::Dead.as_str()),
                outbox::leased_until.eq(None::<NaiveDateTime>),
                outbox::last_error.eq(&error),
            ))
            .execute(conn)?,
    };
    Ok(updated == 1)
}

/// One row by id.
pub fn get(conn: &mut DbConnection, id: i64) -> Result<OutboxRow, StoreError> {
    Ok(outbox::table
        .find(id)
        .select(OutboxRow::as_select())
        .first(conn)?)
}

/// How many rows are in each state, for metrics and operators.
pub fn count_by_status(conn: &mut DbConnection) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(outbox::table
        .group_by(outbox::status)
        .select((outbox::status, diesel::dsl::count_star()))
        .load(conn)?)
}
