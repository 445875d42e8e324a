//! [`Hubs`]: the communications-hub service. Every call takes the caller's [`Principal`];
//! visibility is the storage layer's organisation scope, what a caller may do follows the
//! permission model and the lifecycle tables, and every rule comes from the [`HubRules`] in
//! force on the day.

mod auxiliary;
mod delivery;
mod forecasts;
mod orders;
mod reference;
mod returns;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use dsms_core::{Actor, Forbidden, Principal, SharedClock, ValidationErrors};
use dsms_store::audit::{self, AuditEntry, AuditEvent, Changes};
use dsms_store::idempotency::{Created, Idempotent, Prior};
use dsms_store::{Db, DbConnection, StoreError};
use serde_json::Value;

use crate::model::HubError;
use crate::rules::{self, HubRules, RuleSet};

pub use delivery::{DeliverySweepReport, DiscrepancyFilter};
pub use forecasts::ForecastFilter;
pub use orders::OrderFilter;
pub use returns::ReturnFilter;

/// The outbox kind of domain events; the webhook dispatcher fans them out.
pub const EVENT_KIND: &str = "event";

/// The hub service. Cheap to clone.
#[derive(Clone)]
pub struct Hubs {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    clock: SharedClock,
    rules: HubRules,
}

impl std::fmt::Debug for Hubs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hubs")
    }
}

impl Hubs {
    /// The service over `db`, following `rules`.
    pub fn new(db: Db, clock: SharedClock, rules: HubRules) -> Self {
        Self {
            inner: Arc::new(Inner { db, clock, rules }),
        }
    }

    /// The rules.
    pub fn rules(&self) -> &HubRules {
        &self.inner.rules
    }

    fn db(&self) -> &Db {
        &self.inner.db
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// The rule set in force today, and today.
    fn in_force(&self, now: DateTime<Utc>) -> (&RuleSet, NaiveDate) {
        let today = rules::today(now);
        (self.inner.rules.in_force(today), today)
    }

    /// Runs a create in one transaction, honouring an idempotency key: a retry answers the
    /// kept response, the same key with another request is refused.
    fn create<T>(
        &self,
        now: DateTime<Utc>,
        idempotent: Option<Idempotent<T>>,
        work: impl FnOnce(&mut DbConnection) -> Result<T, HubError>,
    ) -> Result<Created<T>, HubError> {
        let keyed = idempotent.is_some();
        let outcome = self.db().write_blocking(|conn| {
            if let Some(key) = &idempotent {
                match key.prior(conn)? {
                    Prior::None => {}
                    Prior::Replay(kept) => return Ok(Created::Replayed(kept)),
                    Prior::Mismatch => return Err(HubError::IdempotencyMismatch),
                }
            }
            let created = work(conn)?;
            if let Some(key) = idempotent {
                key.keep(conn, now, &created)?;
            }
            Ok(Created::New(created))
        });
        match outcome {
            // A concurrent request with the same key committed first; a retry gets its response.
            Err(HubError::Store(StoreError::Conflict(_))) if keyed => {
                Err(HubError::Store(StoreError::Unavailable(
                    "a request with the same Idempotency-Key was in progress; retry".into(),
                )))
            }
            other => other,
        }
    }

    /// The history of one record, oldest first, once the caller has been shown to see it.
    fn history_of(
        conn: &mut DbConnection,
        entity_type: &str,
        id: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        audit::for_entity(conn, entity_type, &id.to_string())
    }
}

/// Who acts, as recorded on what they create.
fn party(principal: &Principal) -> Result<(&'static str, i64), HubError> {
    match principal.actor {
        Actor::Person { id, .. } => Ok(("person", id)),
        Actor::ApiToken { id, .. } => Ok(("api_token", id)),
        Actor::System { .. } => Err(forbidden("act on hubs as the system")),
    }
}

fn forbidden(what: &str) -> HubError {
    HubError::Forbidden(Forbidden(what.to_owned()))
}

/// Trimmed, non-empty text of at most `max` characters.
fn text(field: &str, value: &str, max: usize, errors: &mut ValidationErrors) -> String {
    let value = value.trim().to_owned();
    if value.is_empty() {
        errors.push(field, "must not be empty");
    } else if value.chars().count() > max {
        errors.push(field, format!("must be at most {max} characters"));
    }
    value
}

/// Trimmed optional text of at most `max` characters; empty is none.
fn optional_text(
    field: &str,
    value: Option<String>,
    max: usize,
    errors: &mut ValidationErrors,
) -> Option<String> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if let Some(v) = &value
        && v.chars().count() > max
    {
        errors.push(field, format!("must be at most {max} characters"));
    }
    value
}

/// An id, or a reference with `prefix` (`ORD0000001`).
fn resolve_key(key: &str, prefix: &str) -> Result<i64, HubError> {
    let key = key.trim();
    key.parse::<i64>()
        .ok()
        .or_else(|| crate::store::id_of_reference(prefix, &key.to_ascii_uppercase()))
        .ok_or(HubError::NotFound)
}

/// A stored ISO date.
fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
}

/// Midnight at the start of `day` in Great Britain, as a stored UTC timestamp.
fn start_of(day: NaiveDate) -> NaiveDateTime {
    chrono_tz::Europe::London
        .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map_or_else(|| day.and_time(chrono::NaiveTime::MIN), |t| t.naive_utc())
}

fn rfc3339(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Queues a domain event about an organisation's record.
fn emit(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    event: &str,
    organisation_id: i64,
    subject: &str,
    body: Value,
) -> Result<(), StoreError> {
    let mut payload = serde_json::json!({
        "type": event,
        "occurred_at": rfc3339(now),
        "organisation_id": organisation_id.to_string(),
    });
    payload[subject] = body;
    dsms_store::outbox::enqueue(conn, now, EVENT_KIND, &payload).map(|_| ())
}

/// Records one history entry.
#[allow(clippy::too_many_arguments)]
fn record(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    principal: &Principal,
    organisation_id: Option<i64>,
    action: &str,
    entity_type: &str,
    id: i64,
    changes: Changes,
    request_id: Option<&str>,
) -> Result<(), StoreError> {
    audit::record(
        conn,
        now,
        AuditEvent {
            actor: &principal.actor,
            organisation_id,
            action,
            entity_type,
            entity_id: id.to_string(),
            changes,
            request_id,
        },
    )
}
