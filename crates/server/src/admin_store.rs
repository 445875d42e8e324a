//! The SQL behind the operator's commands and the operational metrics: how the delivery
//! workers are doing (outbox depth, age, leases), how many accounts are locked, how many SLA
//! clocks have breached, and putting dead outbox rows back in the queue.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, max, min};
use diesel::prelude::*;
use dsms_store::schema::{incident_sla_events, incidents, outbox, sign_in_throttles};
use dsms_store::{DbConnection, StoreError};

/// One kind of outbox row (`email`, `event`, `webhook`, ...) and how its delivery is doing.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutboxKindHealth {
    /// Rows waiting for a (further) attempt.
    pub pending: i64,
    /// Rows given up on after too many attempts.
    pub dead: i64,
    /// Rows delivered.
    pub delivered: i64,
    /// When the oldest pending row was written.
    pub oldest_pending_at: Option<NaiveDateTime>,
    /// Rows a worker holds a live lease on right now.
    pub leased: i64,
    /// The last delivery.
    pub last_delivered_at: Option<NaiveDateTime>,
}

/// The figures an operator (and Prometheus) watches.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Health {
    /// The outbox by kind.
    pub outbox: BTreeMap<String, OutboxKindHealth>,
    /// Workers holding live leases, by worker id, with how many rows each holds.
    pub workers: BTreeMap<String, i64>,
    /// Accounts locked by failed sign-ins right now.
    pub accounts_locked: i64,
    /// Failed sign-ins counted in the current throttle windows, over accounts and addresses.
    pub sign_in_failures: i64,
    /// Incidents still open whose clock has breached, by clock (`response`, `resolution`).
    pub sla_breached_open: BTreeMap<String, i64>,
    /// Breach events recorded since the given instant, by clock.
    pub sla_breaches_recent: BTreeMap<String, i64>,
}

/// Reads the operational figures as of `now`; breaches are counted since `recent_since`.
pub fn health(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    recent_since: NaiveDateTime,
) -> Result<Health, StoreError> {
    let mut health = Health::default();
    let counts: Vec<(String, String, i64)> = outbox::table
        .group_by((outbox::kind, outbox::status))
        .select((outbox::kind, outbox::status, count_star()))
        .load(conn)?;
    for (kind, status, n) in counts {
        let entry = health.outbox.entry(kind).or_default();
        match status.as_str() {
            "pending" => entry.pending = n,
            "dead" => entry.dead = n,
            "delivered" => entry.delivered = n,
            _ => {}
        }
    }
    let oldest: Vec<(String, Option<NaiveDateTime>)> = outbox::table
        .filter(outbox::status.eq("pending"))
        .group_by(outbox::kind)
        .select((outbox::kind, min(outbox::created_at)))
        .load(conn)?;
    for (kind, at) in oldest {
        health.outbox.entry(kind).or_default().oldest_pending_at = at;
    }
    let delivered: Vec<(String, Option<NaiveDateTime>)> = outbox::table
        .filter(outbox::status.eq("delivered"))
        .group_by(outbox::kind)
        .select((outbox::kind, max(outbox::delivered_at)))
        .load(conn)?;
    for (kind, at) in delivered {
        health.outbox.entry(kind).or_default().last_delivered_at = at;
    }
    let leases: Vec<(String, Option<String>, i64)> = outbox::table
        .filter(outbox::status.eq("pending"))
        .filter(outbox::leased_until.gt(now))
        .group_by((outbox::kind, outbox::leased_by))
        .select((outbox::kind, outbox::leased_by, count_star()))
        .load(conn)?;
    for (kind, worker, n) in leases {
        health.outbox.entry(kind).or_default().leased += n;
        *health
            .workers
            .entry(worker.unwrap_or_else(|| "?".into()))
            .or_default() += n;
    }
    health.accounts_locked = sign_in_throttles::table
        .filter(sign_in_throttles::key.like("account:%"))
        .filter(sign_in_throttles::locked_until.gt(now))
        .select(count_star())
        .first(conn)?;
    let failures: Option<i64> = sign_in_throttles::table
        .select(diesel::dsl::sum(sign_in_throttles::failures))
        .first(conn)?;
    health.sign_in_failures = failures.unwrap_or(0);
    let breached: Vec<(String, i64)> = incident_sla_events::table
        .inner_join(incidents::table)
        .filter(incident_sla_events::kind.eq("breached"))
        .filter(incidents::closed_at.is_null())
        .group_by(incident_sla_events::clock)
        .select((incident_sla_events::clock, count_star()))
        .load(conn)?;
    health.sla_breached_open = breached.into_iter().collect();
    let recent: Vec<(String, i64)> = incident_sla_events::table
        .filter(incident_sla_events::kind.eq("breached"))
        .filter(incident_sla_events::fired_at.ge(recent_since))
        .group_by(incident_sla_events::clock)
        .select((incident_sla_events::clock, count_star()))
        .load(conn)?;
    health.sla_breaches_recent = recent.into_iter().collect();
    Ok(health)
}

/// A dead outbox row.
#[derive(Debug, Clone, Queryable, PartialEq, Eq)]
pub struct DeadRow {
    /// Its id.
    pub id: i64,
    /// Its kind.
    pub kind: String,
    /// Attempts made.
    pub attempts: i32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// The dead rows among `ids` (every dead row when empty) of `kind` (any when `None`).
pub fn dead_rows(
    conn: &mut DbConnection,
    ids: &[i64],
    kind: Option<&str>,
) -> Result<Vec<DeadRow>, StoreError> {
    let mut query = outbox::table.filter(outbox::status.eq("dead")).into_boxed();
    if !ids.is_empty() {
        query = query.filter(outbox::id.eq_any(ids.to_vec()));
    }
    if let Some(kind) = kind {
        query = query.filter(outbox::kind.eq(kind.to_owned()));
    }
    Ok(query
        .order(outbox::id.asc())
        .select((
            outbox::id,
            outbox::kind,
            outbox::attempts,
            outbox::last_error,
        ))
        .load(conn)?)
}

/// Puts dead rows back in the queue, due now, with a fresh allowance of attempts. Rows that
/// are no longer dead are left alone. Returns how many were re-queued.
pub fn requeue(
    conn: &mut DbConnection,
    ids: &[i64],
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(ids.to_vec()))
            .filter(outbox::status.eq("dead")),
    )
    .set((
        outbox::status.eq("pending"),
        outbox::attempts.eq(0),
        outbox::next_attempt_at.eq(now),
        outbox::leased_until.eq(None::<NaiveDateTime>),
        outbox::leased_by.eq(None::<String>),
    ))
    .execute(conn)?)
}
