//! The operator's commands for the small hours (`dsms admin ...`): lift a sign-in lock, clear a
//! lost authenticator, rotate the access-token signing key without signing anyone out, put dead
//! outbox rows back in the queue, and see how the delivery workers are doing. Every change is
//! audited with the command line as the actor, in the transaction that makes it.

use std::fmt::Write as _;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use dsms_core::{Actor, Clock, Email};
use dsms_store::audit::{self, AuditEvent, Changes};
use dsms_store::{Db, timestamp};

use crate::admin_store;
pub use crate::admin_store::{DeadRow, Health, OutboxKindHealth};

/// The actor recorded for changes made from the command line.
pub fn cli_actor() -> Actor {
    Actor::system("cli")
}

fn email(text: &str) -> anyhow::Result<Email> {
    Email::parse(text).map_err(|e| anyhow::anyhow!("--email: {}", e.message))
}

fn no_such_person(error: dsms_auth::AuthError, email: &str) -> anyhow::Error {
    match error {
        dsms_auth::AuthError::NotFound => anyhow::anyhow!("no person has the email {email}"),
        other => other.into(),
    }
}

/// Lifts the sign-in lock of the account `email` and forgets its failures; true when it was
/// locked.
pub fn unlock(db: &Db, clock: &dyn Clock, email_text: &str) -> anyhow::Result<bool> {
    let address = email(email_text)?;
    db.write_blocking(|conn| dsms_auth::unlock_account(conn, clock.now(), &cli_actor(), &address))
        .map_err(|e| no_such_person(e, email_text))
}

/// Clears the authenticator of the person `email` and ends their sessions; returns how many
/// sessions ended.
pub fn reset_mfa(db: &Db, clock: &dyn Clock, email_text: &str) -> anyhow::Result<usize> {
    let address = email(email_text)?;
    db.write_blocking(|conn| dsms_auth::reset_mfa(conn, clock.now(), &cli_actor(), &address))
        .map_err(|e| no_such_person(e, email_text))
}

/// Starts signing access tokens with a fresh key; returns its id.
pub fn rotate_signing_key(
    db: &Db,
    clock: &dyn Clock,
    master_key: &dsms_auth::credentials::MasterKey,
) -> anyhow::Result<String> {
    Ok(db.write_blocking(|conn| {
        dsms_auth::rotate_signing_key(conn, clock.now(), &cli_actor(), master_key)
    })?)
}

/// Which dead outbox rows to put back in the queue.
#[derive(Debug, Clone, Default)]
pub struct Redrive {
    /// These rows (all dead rows when empty).
    pub ids: Vec<i64>,
    /// Only rows of this kind.
    pub kind: Option<String>,
}

/// Puts the selected dead outbox rows back in the queue, due now, with a fresh allowance of
/// attempts; each is audited as `outbox.redriven`. Returns the rows re-queued.
pub fn redrive(db: &Db, clock: &dyn Clock, selection: &Redrive) -> anyhow::Result<Vec<DeadRow>> {
    let now = clock.now();
    Ok(db.write_blocking(|conn| {
        let rows = admin_store::dead_rows(conn, &selection.ids, selection.kind.as_deref())?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        admin_store::requeue(conn, &ids, timestamp(now))?;
        for row in &rows {
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor: &cli_actor(),
                    organisation_id: None,
                    action: "outbox.redriven",
                    entity_type: "outbox",
                    entity_id: row.id.to_string(),
                    changes: Changes::new()
                        .field("status", "dead", "pending")
                        .field("attempts", row.attempts, 0)
                        .created("last_error", row.last_error.clone()),
                    request_id: None,
                },
            )?;
        }
        Ok::<_, dsms_store::StoreError>(rows)
    })?)
}

/// The operational figures now; SLA breaches are counted over the last hour.
pub fn health(db: &Db, clock: &dyn Clock) -> anyhow::Result<Health> {
    health_at(db, clock.now())
}

/// The operational figures as of `now`.
pub fn health_at(db: &Db, now: DateTime<Utc>) -> anyhow::Result<Health> {
    let now = timestamp(now);
    db.read_blocking(|conn| admin_store::health(conn, now, now - chrono::Duration::hours(1)))
        .context("cannot read the outbox")
}

/// The figures as an operator reads them.
pub fn render_health(health: &Health, now: DateTime<Utc>) -> String {
    let now = timestamp(now);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:>9} {:>9} {:>11} {:>7} {:>18} {:>18}",
        "outbox", "pending", "dead", "delivered", "leased", "oldest pending", "last delivered"
    );
    let ago = |at: Option<chrono::NaiveDateTime>| {
        at.map_or_else(
            || "-".to_owned(),
            |at| format!("{} s ago", (now - at).num_seconds().max(0)),
        )
    };
    for (kind, k) in &health.outbox {
        let _ = writeln!(
            out,
            "{kind:<10} {:>9} {:>9} {:>11} {:>7} {:>18} {:>18}",
            k.pending,
            k.dead,
            k.delivered,
            k.leased,
            ago(k.oldest_pending_at),
            ago(k.last_delivered_at)
        );
    }
    if health.outbox.is_empty() {
        let _ = writeln!(out, "(the outbox is empty)");
    }
    let _ = writeln!(out);
    if health.workers.is_empty() {
        let _ = writeln!(out, "workers holding leases: none");
    } else {
        let _ = writeln!(out, "workers holding leases:");
        for (worker, rows) in &health.workers {
            let _ = writeln!(out, "  {worker}: {rows} row(s)");
        }
    }
    let _ = writeln!(
        out,
        "accounts locked: {}; failed sign-ins in current windows: {}",
        health.accounts_locked, health.sign_in_failures
    );
    let clocks = |m: &std::collections::BTreeMap<String, i64>| {
        ["response", "resolution"]
            .iter()
            .map(|c| format!("{c} {}", m.get(*c).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        out,
        "open incidents breached: {}; breaches in the last hour: {}",
        clocks(&health.sla_breached_open),
        clocks(&health.sla_breaches_recent)
    );
    out
}

/// Fails with a message when the outbox is not healthy: dead rows, or a pending row older
/// than `max_age_secs`. For scripts and cron checks.
pub fn check_health(health: &Health, now: DateTime<Utc>, max_age_secs: i64) -> anyhow::Result<()> {
    let now = timestamp(now);
    for (kind, k) in &health.outbox {
        if k.dead > 0 {
            bail!(
                "{} dead {kind} row(s): see `dsms admin redrive-outbox`",
                k.dead
            );
        }
        if let Some(at) = k.oldest_pending_at
            && (now - at).num_seconds() > max_age_secs
        {
            bail!(
                "the oldest pending {kind} row is {} s old (more than {max_age_secs} s): \
                 are the workers running?",
                (now - at).num_seconds()
            );
        }
    }
    Ok(())
}
