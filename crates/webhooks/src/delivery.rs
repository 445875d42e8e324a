//! Delivery: leases `webhook` outbox rows, signs and POSTs each body outside any transaction
//! (endpoints in parallel, so one slow receiver does not hold up the others), and records every
//! outcome in its own short transaction: the attempt, the endpoint's failure streak, the outbox
//! row's next retry — and, when an endpoint has failed long enough, its disabling, audited, with
//! an email to its organisation's administrators.
//!
//! Delivery is at least once: a worker that dies between sending and recording leaves the row to
//! be sent again when its lease runs out. Every retry carries the same `Dsms-Delivery` id.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use dsms_core::{Actor, Email};
use dsms_notify::{EmailMessage, WorkerSettings, enqueue_email};
use dsms_store::audit::{self, AuditEvent, Changes};
use dsms_store::outbox::{self, OutboxRow};
use dsms_store::{DbConnection, StoreError, timestamp};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{Notify, watch};

use crate::address::EndpointUrl;
use crate::client::{Attempt, DeliveryClient};
use crate::dispatcher::WEBHOOK_KIND;
use crate::error::WebhookError;
use crate::runner::{self, Pass};
use crate::service::{ENTITY, Webhooks};
use crate::signature::{self, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::store::{self, EndpointRow, NewDeliveryRow};

/// A queued delivery, as the dispatcher wrote it.
#[derive(Debug, Deserialize)]
struct Queued {
    endpoint_id: i64,
    event_id: i64,
    event_type: String,
    body: Value,
}

/// Delivers queued webhooks. Several may run, in one process or many.
#[derive(Debug)]
pub struct DeliveryWorker {
    hooks: Webhooks,
    pacing: WorkerSettings,
    client: DeliveryClient,
    id: String,
}

/// What to do with one leased row.
enum Plan<'a> {
    /// POST it.
    Send(Job<'a>),
    /// Park it as dead without sending: nothing can make it deliverable.
    Drop(&'a OutboxRow, String),
    /// Try again later without counting against the endpoint (the secret cannot be opened).
    Defer(&'a OutboxRow, String),
    /// Leave it alone: the lease ran out before we got to it.
    Skip,
}

struct Job<'a> {
    row: &'a OutboxRow,
    endpoint: &'a EndpointRow,
    queued: Queued,
    secret: String,
    body: Vec<u8>,
}

impl DeliveryWorker {
    pub(crate) fn new(hooks: Webhooks, pacing: WorkerSettings) -> Self {
        let client = DeliveryClient::new(&hooks.inner.settings);
        Self {
            hooks,
            pacing,
            client,
            id: runner::worker_id("webhook-delivery"),
        }
    }

    /// The id recorded as `leased_by` on the rows this worker holds.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn now(&self) -> DateTime<Utc> {
        self.hooks.inner.clock.now()
    }

    /// One pass: leases due deliveries, sends them, records each outcome. Returns how many rows
    /// were leased. Blocks.
    pub fn run_once(&self) -> Result<usize, WebhookError> {
        let db = &self.hooks.inner.db;
        let now = self.now();
        let mut rows = db.write_blocking(|conn| {
            outbox::lease_due(
                conn,
                now,
                &[WEBHOOK_KIND],
                &self.id,
                self.pacing.lease,
                self.pacing.batch_size,
            )
        })?;
        if rows.is_empty() {
            return Ok(0);
        }
        // Oldest first, so an endpoint receives one batch's events in the order they happened.
        rows.sort_by_key(|r| (r.next_attempt_at, r.id));
        let queued: Vec<Result<Queued, String>> = rows
            .iter()
            .map(|row| {
                serde_json::from_str::<Queued>(&row.payload)
                    .map_err(|e| format!("the queued delivery is malformed: {e}"))
            })
            .collect();
        let ids: Vec<i64> = queued
            .iter()
            .filter_map(|q| q.as_ref().ok().map(|q| q.endpoint_id))
            .collect();
        let endpoints: HashMap<i64, EndpointRow> = db
            .read_blocking(|conn| store::endpoints(conn, &ids))?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        let plans: Vec<Plan<'_>> = rows
            .iter()
            .zip(queued)
            .map(|(row, queued)| self.plan(row, queued, &endpoints))
            .collect();

        let jobs: Vec<&Job<'_>> = plans
            .iter()
            .filter_map(|p| match p {
                Plan::Send(job) => Some(job),
                _ => None,
            })
            .collect();
        let attempts = self.send_all(&jobs);

        // Record every outcome even if one fails to record: each is its own transaction, and
        // an unrecorded one is only sent again after its lease (receivers de-duplicate).
        let mut first_error = None;
        for (job, attempt) in jobs.iter().zip(&attempts) {
            if let Err(error) = self.record(job, attempt) {
                first_error.get_or_insert(error);
            }
        }
        for plan in &plans {
            let result = match plan {
                Plan::Drop(row, why) => self.park(row, why, None),
                Plan::Defer(row, why) => {
                    let attempts = u32::try_from(row.attempts).unwrap_or_default();
                    let retry_at = (attempts < self.pacing.max_attempts)
                        .then(|| later(self.now(), self.backoff(attempts)));
                    self.park(row, why, retry_at)
                }
                Plan::Send(_) | Plan::Skip => Ok(()),
            };
            if let Err(error) = result {
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(rows.len()),
        }
    }

    fn plan<'a>(
        &self,
        row: &'a OutboxRow,
        queued: Result<Queued, String>,
        endpoints: &'a HashMap<i64, EndpointRow>,
    ) -> Plan<'a> {
        if row
            .leased_until
            .is_some_and(|until| timestamp(self.now()) >= until)
        {
            tracing::warn!(
                outbox_id = row.id,
                worker = %self.id,
                "lease ran out before delivery; leaving the row to whoever leases it next"
            );
            return Plan::Skip;
        }
        let queued = match queued {
            Ok(queued) => queued,
            Err(why) => return Plan::Drop(row, why),
        };
        let Some(endpoint) = endpoints.get(&queued.endpoint_id) else {
            return Plan::Drop(row, "the webhook endpoint no longer exists".into());
        };
        if endpoint.status != store::ACTIVE {
            // Disabled or deleted since the event was fanned out: it receives nothing more.
            return Plan::Drop(row, format!("the webhook endpoint is {}", endpoint.status));
        }
        let secret = match self.hooks.open_secret(endpoint) {
            Ok(secret) => secret,
            Err(error) => {
                tracing::error!(
                    outbox_id = row.id,
                    endpoint_id = endpoint.id,
                    error = %error,
                    "webhook not sent: is auth.secret_key the key the secret was sealed with?"
                );
                return Plan::Defer(row, error.to_string());
            }
        };
        let body = match serde_json::to_vec(&queued.body) {
            Ok(body) => body,
            Err(e) => return Plan::Drop(row, format!("the body cannot be serialised: {e}")),
        };
        Plan::Send(Job {
            row,
            endpoint,
            queued,
            secret,
            body,
        })
    }

    /// Sends every job and returns the attempts in the same order: endpoints in parallel, so
    /// one slow receiver does not hold up the others; each endpoint's jobs one after another,
    /// so it gets them in order.
    fn send_all(&self, jobs: &[&Job<'_>]) -> Vec<Attempt> {
        let mut by_endpoint: Vec<(i64, Vec<usize>)> = Vec::new();
        for (index, job) in jobs.iter().enumerate() {
            match by_endpoint
                .iter_mut()
                .find(|(id, _)| *id == job.endpoint.id)
            {
                Some((_, indexes)) => indexes.push(index),
                None => by_endpoint.push((job.endpoint.id, vec![index])),
            }
        }
        let mut attempts: Vec<Option<Attempt>> = vec![None; jobs.len()];
        std::thread::scope(|scope| {
            let sending: Vec<_> = by_endpoint
                .iter()
                .map(|(_, indexes)| {
                    scope.spawn(move || {
                        indexes
                            .iter()
                            .map(|&i| (i, self.send(jobs[i])))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for handle in sending {
                if let Ok(sent) = handle.join() {
                    for (index, attempt) in sent {
                        attempts[index] = Some(attempt);
                    }
                }
            }
        });
        attempts
            .into_iter()
            .map(|attempt| {
                attempt.unwrap_or_else(|| Attempt {
                    status: None,
                    error: Some("the delivery thread failed".into()),
                    duration: Duration::ZERO,
                })
            })
            .collect()
    }

    fn send(&self, job: &Job<'_>) -> Attempt {
        let signed_at = self.now().timestamp();
        let headers = [
            ("Content-Type", "application/json".to_owned()),
            (EVENT_HEADER, job.queued.event_type.clone()),
            (DELIVERY_HEADER, job.row.id.to_string()),
            (TIMESTAMP_HEADER, signed_at.to_string()),
            (
                SIGNATURE_HEADER,
                signature::sign(&job.secret, signed_at, &job.body),
            ),
        ];
        self.client.post(&job.endpoint.url, &headers, &job.body)
    }

    fn backoff(&self, attempts: u32) -> Duration {
        self.pacing.backoff.delay(attempts, &mut rand::rng())
    }

    fn record(&self, job: &Job<'_>, attempt: &Attempt) -> Result<(), WebhookError> {
        let now = self.now();
        let stamp = timestamp(now);
        let row = job.row;
        let endpoint_id = job.endpoint.id;
        // lease_due has already counted the attempt that just ended.
        let attempts = u32::try_from(row.attempts).unwrap_or_default();
        let retry_at = (!attempt.delivered() && attempts < self.pacing.max_attempts)
            .then(|| later(now, self.backoff(attempts)));
        let held = self.hooks.inner.db.write_blocking(|conn| {
            store::insert_delivery(
                conn,
                &NewDeliveryRow {
                    endpoint_id,
                    outbox_id: row.id,
                    event_type: &job.queued.event_type,
                    event_id: job.queued.event_id,
                    attempt: row.attempts,
                    status_code: attempt.status.map(i32::from),
                    error: attempt.error.as_deref(),
                    duration_ms: i64::try_from(attempt.duration.as_millis()).unwrap_or(i64::MAX),
                    delivered: attempt.delivered(),
                    created_at: stamp,
                },
            )?;
            match &attempt.error {
                None => {
                    store::reset_failures(conn, endpoint_id)?;
                    outbox::mark_delivered(conn, now, row.id, &self.id)
                }
                Some(error) => {
                    let after = store::count_failure(conn, endpoint_id, stamp)?;
                    if self.failing_too_long(&after, now) {
                        self.disable(conn, now, &after, error)?;
                    }
                    outbox::mark_failed(conn, row.id, &self.id, error, retry_at)
                }
            }
        })?;
        match (&attempt.error, retry_at) {
            (None, _) => tracing::debug!(
                outbox_id = row.id,
                endpoint_id,
                attempts,
                "webhook delivered"
            ),
            (Some(error), Some(at)) => tracing::warn!(
                outbox_id = row.id,
                endpoint_id,
                attempts,
                error = %error,
                retry_at = %at,
                "webhook delivery failed; will retry"
            ),
            (Some(error), None) => tracing::error!(
                outbox_id = row.id,
                endpoint_id,
                attempts,
                error = %error,
                "webhook delivery failed; giving up, the row is dead"
            ),
        }
        if !held {
            tracing::warn!(
                outbox_id = row.id,
                worker = %self.id,
                "lease lost before the outcome was recorded; the webhook may be delivered again"
            );
        }
        Ok(())
    }

    fn park(
        &self,
        row: &OutboxRow,
        why: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), WebhookError> {
        self.hooks
            .inner
            .db
            .write_blocking(|conn| outbox::mark_failed(conn, row.id, &self.id, why, retry_at))?;
        tracing::info!(outbox_id = row.id, reason = %why, "webhook not sent");
        Ok(())
    }

    /// Failing for at least `disable_after` and at least `disable_after_failures` attempts.
    fn failing_too_long(&self, endpoint: &EndpointRow, now: DateTime<Utc>) -> bool {
        let settings = &self.hooks.inner.settings;
        let long_enough = TimeDelta::from_std(settings.disable_after).unwrap_or(TimeDelta::MAX);
        endpoint.status == store::ACTIVE
            && u32::try_from(endpoint.consecutive_failures)
                .is_ok_and(|n| n >= settings.disable_after_failures)
            && endpoint
                .first_failure_at
                .is_some_and(|since| now - since.and_utc() >= long_enough)
    }

    /// Disables a failing endpoint, audits it and emails its organisation's administrators —
    /// once, whichever worker gets there first.
    fn disable(
        &self,
        conn: &mut DbConnection,
        now: DateTime<Utc>,
        endpoint: &EndpointRow,
        last_error: &str,
    ) -> Result<(), StoreError> {
        let since = endpoint
            .first_failure_at
            .map(|t| t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true))
            .unwrap_or_default();
        let reason = format!(
            "every delivery failed since {since} ({} attempts in a row)",
            endpoint.consecutive_failures
        );
        if !store::disable_active(conn, endpoint.id, &reason, timestamp(now))? {
            return Ok(());
        }
        audit::record(
            conn,
            now,
            AuditEvent {
                actor: &Actor::system("webhooks"),
                organisation_id: Some(endpoint.organisation_id),
                action: "webhook.disabled",
                entity_type: ENTITY,
                entity_id: endpoint.id.to_string(),
                changes: Changes::new()
                    .field("status", endpoint.status.as_str(), store::DISABLED)
                    .field("disabled_reason", serde_json::Value::Null, reason.as_str()),
                request_id: None,
            },
        )?;
        let admins = store::organisation_admin_emails(conn, endpoint.organisation_id)?;
        let (subject, text) = disabled_email(endpoint, &since, last_error);
        let mut told = 0;
        for address in &admins {
            match Email::parse(address) {
                Ok(to) => {
                    enqueue_email(conn, now, &EmailMessage::new(vec![to], &subject, &text))?;
                    told += 1;
                }
                Err(_) => tracing::warn!(
                    organisation_id = endpoint.organisation_id,
                    "an administrator's stored email address does not parse; not emailed"
                ),
            }
        }
        tracing::warn!(
            endpoint_id = endpoint.id,
            organisation_id = endpoint.organisation_id,
            failures = endpoint.consecutive_failures,
            administrators_emailed = told,
            "webhook endpoint disabled after failing for too long"
        );
        Ok(())
    }

    /// Runs passes until `shutdown` turns true (or its sender is dropped), finishing the pass
    /// in progress.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let (poll, batch) = (self.pacing.poll_interval, self.pacing.batch_size);
        let wake: Arc<Notify> = Arc::clone(&self.hooks.inner.deliveries_due);
        runner::run(Arc::new(self), poll, batch, wake, shutdown).await;
    }
}

impl Pass for DeliveryWorker {
    const NAME: &'static str = "webhook delivery worker";

    fn run_once(&self) -> Result<usize, WebhookError> {
        DeliveryWorker::run_once(self)
    }

    fn id(&self) -> &str {
        &self.id
    }
}

/// The email telling an organisation's administrators their endpoint was disabled. The URL is
/// shown without its query, where receivers sometimes keep a token.
fn disabled_email(endpoint: &EndpointRow, since: &str, last_error: &str) -> (String, String) {
    let url = EndpointUrl::parse(&endpoint.url, true)
        .map(|u| u.without_query())
        .unwrap_or_else(|_| "(unreadable URL)".to_owned());
    let subject = "dsms: a webhook endpoint was disabled after failing repeatedly".to_owned();
    let description = if endpoint.description.is_empty() {
        String::new()
    } else {
        format!("  ({})\n", endpoint.description)
    };
    let text = format!(
        "Hello,\n\n\
         dsms has disabled your organisation's webhook endpoint {id}:\n\n\
         \x20 {url}\n{description}\n\
         Every delivery to it has failed since {since} ({count} attempts in a row).\n\
         The last attempt: {last_error}.\n\n\
         Events are not delivered to it while it is disabled. Once the receiver works again,\n\
         re-enable it with PATCH /api/v1/webhooks/{id} and the body {{\"status\": \"active\"}};\n\
         GET /api/v1/webhooks/{id}/deliveries lists the recent attempts.\n",
        id = endpoint.id,
        count = endpoint.consecutive_failures,
    );
    (subject, text)
}

fn later(now: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(by)
        .ok()
        .and_then(|by| now.checked_add_signed(by))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
