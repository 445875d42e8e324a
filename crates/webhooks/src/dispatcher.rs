//! The dispatcher: each domain event (an outbox row of kind `event`) is handed to every
//! [`Subscriber`] — the webhook fan-out, which queues one outbox row of kind `webhook` per active
//! endpoint of the event's organisation subscribed to its type, and the
//! [`Notifications`](crate::notifications::Notifications), which queue emails to the people the
//! event concerns — and then marked delivered.
//!
//! The lease, every subscriber's work and marking the event delivered are one transaction: on
//! PostgreSQL the leased event rows stay locked (`FOR UPDATE SKIP LOCKED`) until it commits, and
//! on SQLite the transaction holds the write lock, so however many dispatchers run, each event is
//! fanned out and notified exactly once — or, if the transaction fails, not at all and again
//! later. This is the only consumer of `event` rows.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use dsms_notify::WorkerSettings;
use dsms_store::outbox::{self, OutboxRow};
use dsms_store::{DbConnection, StoreError};
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};

use crate::error::WebhookError;
use crate::events;
use crate::notifications::Notifications;
use crate::request_notifications::RequestNotifications;
use crate::runner::{self, Pass};
use crate::service::Webhooks;
use crate::settings::NotificationSettings;
use crate::store;

/// The outbox kind of domain events, as the context crates enqueue them.
pub const EVENT_KIND: &str = "event";
/// The outbox kind of one delivery to one endpoint.
pub const WEBHOOK_KIND: &str = "webhook";

/// Something that acts on every domain event, inside the dispatcher's transaction: what it
/// queues commits together with the event being marked delivered, so it happens exactly once.
pub(crate) trait Subscriber: std::fmt::Debug + Send + Sync {
    /// Queues what `event` calls for; returns how many outbox rows it queued. An error rolls
    /// back the whole pass, to be retried once the lease expires.
    fn on_event(
        &self,
        conn: &mut DbConnection,
        now: DateTime<Utc>,
        event: &Event,
    ) -> Result<usize, StoreError>;

    /// Called once the pass has committed, with how many rows this subscriber queued in it.
    fn committed(&self, _queued: usize) {}
}

/// Dispatches events to subscribers. Several may run, in one process or many.
#[derive(Debug)]
pub struct EventDispatcher {
    hooks: Webhooks,
    subscribers: Vec<Box<dyn Subscriber>>,
    pacing: WorkerSettings,
    id: String,
    wake: Arc<Notify>,
}

/// What subscribers need from an event; the rest of it is the body, passed on untouched.
#[derive(Debug)]
pub(crate) struct Event {
    /// The event's outbox row.
    pub id: i64,
    pub event_type: String,
    pub organisation_id: i64,
    pub body: Value,
}

fn parse_event(id: i64, payload: &str) -> Result<Event, String> {
    let body: Value =
        serde_json::from_str(payload).map_err(|e| format!("the event is not JSON: {e}"))?;
    let event_type = body
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or("the event has no type")?
        .to_owned();
    let organisation_id = match body.get("organisation_id") {
        Some(Value::String(text)) => text.parse().ok(),
        Some(Value::Number(number)) => number.as_i64(),
        _ => None,
    }
    .ok_or("the event has no organisation_id")?;
    Ok(Event {
        id,
        event_type,
        organisation_id,
        body,
    })
}

impl EventDispatcher {
    pub(crate) fn new(
        hooks: Webhooks,
        pacing: WorkerSettings,
        notifications: NotificationSettings,
    ) -> Self {
        Self {
            subscribers: vec![
                Box::new(WebhookFanOut {
                    hooks: hooks.clone(),
                }),
                Box::new(Notifications::new(notifications.clone())),
                Box::new(RequestNotifications::new(notifications)),
            ],
            hooks,
            pacing,
            id: runner::worker_id("webhook-dispatch"),
            wake: Arc::new(Notify::new()),
        }
    }

    /// The id recorded as `leased_by` on the events this dispatcher holds.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// One pass: leases due events, hands each to every subscriber and marks it delivered, all
    /// in one transaction. Returns how many events were leased. Blocks.
    pub fn run_once(&self) -> Result<usize, WebhookError> {
        let inner = &self.hooks.inner;
        let now = inner.clock.now();
        let (leased, queued) = inner.db.write_blocking(|conn| {
            let mut rows = outbox::lease_due(
                conn,
                now,
                &[EVENT_KIND],
                &self.id,
                self.pacing.lease,
                self.pacing.batch_size,
            )?;
            // In the order they happened, so what they cause is queued in that order too.
            rows.sort_by_key(|r| (r.next_attempt_at, r.id));
            let mut queued = vec![0; self.subscribers.len()];
            for row in &rows {
                self.dispatch(conn, now, row, &mut queued)?;
            }
            Ok::<_, StoreError>((rows.len(), queued))
        })?;
        for (subscriber, queued) in self.subscribers.iter().zip(queued) {
            subscriber.committed(queued);
        }
        Ok(leased)
    }

    fn dispatch(
        &self,
        conn: &mut DbConnection,
        now: DateTime<Utc>,
        row: &OutboxRow,
        queued: &mut [usize],
    ) -> Result<(), StoreError> {
        let event = match parse_event(row.id, &row.payload) {
            Ok(event) => event,
            Err(why) => {
                // No retry can make a malformed event well-formed; park it for inspection.
                tracing::error!(outbox_id = row.id, error = %why, "event cannot be dispatched");
                outbox::mark_failed(conn, row.id, &self.id, &why, None)?;
                return Ok(());
            }
        };
        for (subscriber, count) in self.subscribers.iter().zip(queued.iter_mut()) {
            *count += subscriber.on_event(conn, now, &event)?;
        }
        outbox::mark_delivered(conn, now, row.id, &self.id)?;
        Ok(())
    }

    /// Runs passes until `shutdown` turns true (or its sender is dropped), finishing the pass
    /// in progress.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let (poll, batch, wake) = (
            self.pacing.poll_interval,
            self.pacing.batch_size,
            Arc::clone(&self.wake),
        );
        runner::run(Arc::new(self), poll, batch, wake, shutdown).await;
    }
}

/// The webhook subscriber: one `webhook` row per active endpoint of the event's organisation
/// subscribed to its type.
#[derive(Debug)]
struct WebhookFanOut {
    hooks: Webhooks,
}

impl Subscriber for WebhookFanOut {
    fn on_event(
        &self,
        conn: &mut DbConnection,
        now: DateTime<Utc>,
        event: &Event,
    ) -> Result<usize, StoreError> {
        let mut queued = 0;
        for (endpoint_id, subscribed) in store::active_subscriptions(conn, event.organisation_id)? {
            if events::subscribed(&subscribed, &event.event_type) {
                outbox::enqueue(
                    conn,
                    now,
                    WEBHOOK_KIND,
                    &json!({
                        "endpoint_id": endpoint_id,
                        "event_id": event.id,
                        "event_type": event.event_type,
                        "body": event.body,
                    }),
                )?;
                queued += 1;
            }
        }
        Ok(queued)
    }

    fn committed(&self, queued: usize) {
        if queued > 0 {
            tracing::debug!(deliveries = queued, "webhook deliveries queued");
            self.hooks.inner.deliveries_due.notify_one();
        }
    }
}

impl Pass for EventDispatcher {
    const NAME: &'static str = "webhook dispatcher";

    fn run_once(&self) -> Result<usize, WebhookError> {
        EventDispatcher::run_once(self)
    }

    fn id(&self) -> &str {
        &self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_need_a_type_and_an_organisation() {
        let event = parse_event(
            1,
            r#"{"type":"incident.created","organisation_id":"7","incident":{}}"#,
        )
        .unwrap();
        assert_eq!(event.event_type, "incident.created");
        assert_eq!(event.organisation_id, 7);
        assert_eq!(event.body["incident"], json!({}));
        assert_eq!(
            parse_event(1, r#"{"type":"x","organisation_id":8}"#)
                .unwrap()
                .organisation_id,
            8
        );
        assert!(parse_event(1, "{").is_err());
        assert!(parse_event(1, r#"{"organisation_id":"7"}"#).is_err());
        assert!(parse_event(1, r#"{"type":"incident.created"}"#).is_err());
        assert!(parse_event(1, r#"{"type":"incident.created","organisation_id":"x"}"#).is_err());
    }
}
