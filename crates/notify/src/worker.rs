use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use dsms_core::{Backoff, SharedClock};
use dsms_store::outbox::{self, OutboxRow};
use dsms_store::{Db, timestamp};
use lettre::transport::smtp::extension::ClientId;
use tokio::sync::{Notify, watch};

use crate::error::{NotifyError, describe};
use crate::mailer::Mailer;
use crate::message::{EMAIL_KIND, EmailMessage};

/// How the outbox worker paces itself.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    /// How long to wait between passes when the last one did not fill a batch.
    pub poll_interval: Duration,
    /// The most rows leased in one pass.
    pub batch_size: i64,
    /// How long a leased row stays reserved for this worker; must exceed a batch's delivery time,
    /// or another worker may take the row over and send it again.
    pub lease: Duration,
    /// Attempts after which a still-failing row is parked as dead.
    pub max_attempts: u32,
    /// The spacing of retries after a transient failure.
    pub backoff: Backoff,
}

/// Delivers due outbox rows: leases a batch, sends each message outside any transaction, and
/// records every outcome in its own short transaction.
#[derive(Debug)]
pub struct OutboxWorker {
    db: Db,
    mailer: Mailer,
    settings: WorkerSettings,
    clock: SharedClock,
    id: String,
    wake: Arc<Notify>,
}

/// Nudges a running [`OutboxWorker`] to look for due rows now rather than at its next tick.
#[derive(Debug, Clone)]
pub struct OutboxWaker(Arc<Notify>);

impl OutboxWaker {
    /// Asks for a pass as soon as the worker is idle; nudges while it is busy fold into one.
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

impl OutboxWorker {
    /// A worker with an id unique to this instance, so leases taken by other instances (or other
    /// workers in this process) are never mistaken for its own.
    pub fn new(db: Db, mailer: Mailer, settings: WorkerSettings, clock: SharedClock) -> Self {
        Self {
            db,
            mailer,
            settings,
            clock,
            id: worker_id(),
            wake: Arc::new(Notify::new()),
        }
    }

    /// The id recorded as `leased_by` on the rows this worker holds.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A handle that wakes this worker, for code that has just enqueued an email.
    pub fn waker(&self) -> OutboxWaker {
        OutboxWaker(Arc::clone(&self.wake))
    }

    /// One pass: leases due rows, delivers each and records its outcome. Returns how many rows
    /// were leased. Blocks; call it from a blocking thread.
    ///
    /// Stops at the first outcome it cannot record: the rest of the batch has not been sent yet,
    /// so leaving those rows to their lease's expiry delivers them later without duplicates.
    pub fn run_once(&self) -> Result<usize, NotifyError> {
        let now = self.clock.now();
        let rows = self.db.write_blocking(|conn| {
            outbox::lease_due(
                conn,
                now,
                &[EMAIL_KIND],
                &self.id,
                self.settings.lease,
                self.settings.batch_size,
            )
        })?;
        for row in &rows {
            self.handle(row)?;
        }
        Ok(rows.len())
    }

    /// Runs passes until `shutdown` turns true (or its sender is dropped). A pass in progress is
    /// always finished, so no row is left leased without its outcome recorded.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let wake = Arc::clone(&self.wake);
        let WorkerSettings {
            poll_interval,
            batch_size,
            ..
        } = self.settings;
        let worker = Arc::new(self);
        tracing::info!(worker = %worker.id, "outbox worker started");
        while !*shutdown.borrow_and_update() {
            let pass = Arc::clone(&worker);
            // Awaiting the blocking task (never racing it against shutdown) is what guarantees
            // that the batch in hand is finished and recorded.
            let full_batch = match tokio::task::spawn_blocking(move || pass.run_once()).await {
                Ok(Ok(handled)) => {
                    handled > 0 && i64::try_from(handled).is_ok_and(|n| n >= batch_size)
                }
                Ok(Err(error)) => {
                    tracing::error!(
                        worker = %worker.id,
                        error = %describe(&error),
                        "outbox pass failed; trying again at the next tick"
                    );
                    false
                }
                Err(join) => {
                    tracing::error!(
                        worker = %worker.id,
                        error = %join,
                        "outbox pass did not complete; trying again at the next tick"
                    );
                    false
                }
            };
            if full_batch {
                // More rows are probably due; the loop condition still honours shutdown.
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(poll_interval) => {}
                () = wake.notified() => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        tracing::info!(worker = %worker.id, "outbox worker stopped");
    }

    fn handle(&self, row: &OutboxRow) -> Result<(), NotifyError> {
        if row
            .leased_until
            .is_some_and(|until| timestamp(self.clock.now()) >= until)
        {
            // Another worker may already hold the row; sending now could deliver it twice.
            tracing::warn!(
                outbox_id = row.id,
                worker = %self.id,
                "lease ran out before delivery; leaving the row to whoever leases it next"
            );
            return Ok(());
        }
        let outcome = self.deliver(row);
        self.record(row, outcome)
    }

    fn deliver(&self, row: &OutboxRow) -> Result<(), NotifyError> {
        if row.kind != EMAIL_KIND {
            return Err(NotifyError::UnknownKind(row.kind.clone()));
        }
        let message: EmailMessage =
            serde_json::from_str(&row.payload).map_err(NotifyError::InvalidPayload)?;
        self.mailer.send(&message)
    }

    fn record(&self, row: &OutboxRow, outcome: Result<(), NotifyError>) -> Result<(), NotifyError> {
        let now = self.clock.now();
        // lease_due has already counted the attempt that just ended.
        let attempts = u32::try_from(row.attempts).unwrap_or_default();
        let held = match outcome {
            Ok(()) => {
                let held = self
                    .db
                    .write_blocking(|conn| outbox::mark_delivered(conn, now, row.id, &self.id))?;
                if held {
                    tracing::debug!(outbox_id = row.id, attempts, "email delivered");
                }
                held
            }
            Err(error) => {
                let reason = describe(&error);
                let permanent = error.is_permanent();
                let retry_at = (!permanent && attempts < self.settings.max_attempts)
                    .then(|| later(now, self.settings.backoff.delay(attempts, &mut rand::rng())));
                let held = self.db.write_blocking(|conn| {
                    outbox::mark_failed(conn, row.id, &self.id, &reason, retry_at)
                })?;
                if held {
                    match retry_at {
                        Some(at) => tracing::warn!(
                            outbox_id = row.id,
                            attempts,
                            error = %reason,
                            retry_at = %at,
                            "email delivery failed; will retry"
                        ),
                        None => tracing::error!(
                            outbox_id = row.id,
                            attempts,
                            permanent,
                            error = %reason,
                            "email delivery failed; giving up, the row is dead"
                        ),
                    }
                }
                held
            }
        };
        if !held {
            tracing::warn!(
                outbox_id = row.id,
                worker = %self.id,
                "lease lost before the outcome was recorded; the row may be delivered again"
            );
        }
        Ok(())
    }
}

fn later(now: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(by)
        .ok()
        .and_then(|by| now.checked_add_signed(by))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Host name, process id and a random suffix: the host and pid tell an operator which instance
/// holds a lease; the suffix separates several workers in one process and a restarted process
/// that got the same pid.
fn worker_id() -> String {
    // lettre already resolves the host name for its SMTP greeting; reusing that avoids a
    // dependency of our own.
    let host = match ClientId::default() {
        ClientId::Domain(name) => name,
        _ => "dsms".to_owned(),
    };
    let suffix = rand::random::<u32>() & 0x00ff_ffff;
    format!("{host}:{}:{suffix:06x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_ids_are_unique_within_a_process() {
        let ids: std::collections::HashSet<_> = (0..50).map(|_| worker_id()).collect();
        assert_eq!(ids.len(), 50);
        let pid = format!(":{}:", std::process::id());
        assert!(ids.iter().all(|id| id.contains(&pid)), "{ids:?}");
    }

    #[test]
    fn retry_times_saturate_instead_of_overflowing() {
        let now = Utc::now();
        assert_eq!(
            later(now, Duration::from_millis(1500)),
            now + TimeDelta::milliseconds(1500)
        );
        assert_eq!(later(now, Duration::MAX), DateTime::<Utc>::MAX_UTC);
    }
}
