use chrono::NaiveDateTime;

use crate::events;
use crate::store::{self, DeliveryRow, EndpointRow};

/// Whether an endpoint receives deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointStatus {
    /// Receives the events it subscribes to.
    Active,
    /// Receives nothing: disabled by a person, or automatically after failing for a long time.
    Disabled,
}

impl EndpointStatus {
    /// The status as the API shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => store::ACTIVE,
            Self::Disabled => store::DISABLED,
        }
    }

    /// Parses `active` or `disabled`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            store::ACTIVE => Some(Self::Active),
            store::DISABLED => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// A registered endpoint, as its owners see it (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Its id.
    pub id: i64,
    /// The organisation whose events it receives.
    pub organisation_id: i64,
    /// Where deliveries are POSTed.
    pub url: String,
    /// What it is for.
    pub description: String,
    /// The event types it subscribes to (`incident.*` for all incident events).
    pub events: Vec<String>,
    /// Whether it receives deliveries.
    pub status: EndpointStatus,
    /// Why it is disabled.
    pub disabled_reason: Option<String>,
    /// Deliveries failed in a row since the last success.
    pub consecutive_failures: i32,
    /// When the current run of failures began.
    pub first_failure_at: Option<NaiveDateTime>,
    /// The person who registered it.
    pub created_by: i64,
    /// When it was registered (UTC).
    pub created_at: NaiveDateTime,
    /// When a person or the system last changed it (UTC).
    pub updated_at: NaiveDateTime,
    /// Its version, for `If-Match`.
    pub version: i64,
}

impl From<EndpointRow> for Endpoint {
    fn from(row: EndpointRow) -> Self {
        Self {
            id: row.id,
            organisation_id: row.organisation_id,
            url: row.url,
            description: row.description,
            events: events::split(&row.events),
            status: EndpointStatus::parse(&row.status).unwrap_or(EndpointStatus::Disabled),
            disabled_reason: row.disabled_reason,
            consecutive_failures: row.consecutive_failures,
            first_failure_at: row.first_failure_at,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

/// One attempt to deliver an event to an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The attempt's id.
    pub id: i64,
    /// The endpoint it went to.
    pub endpoint_id: i64,
    /// The delivery id sent as `Dsms-Delivery`, the same on every retry of one event to one
    /// endpoint.
    pub delivery_id: i64,
    /// The event type.
    pub event_type: String,
    /// The event's id.
    pub event_id: i64,
    /// 1 for the first attempt, 2 for the first retry, ...
    pub attempt: i32,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<i32>,
    /// Why the attempt failed, when it did.
    pub error: Option<String>,
    /// How long the attempt took.
    pub duration_ms: i64,
    /// True when the receiver answered 2xx.
    pub delivered: bool,
    /// When the attempt ended (UTC).
    pub created_at: NaiveDateTime,
}

impl From<DeliveryRow> for Delivery {
    fn from(row: DeliveryRow) -> Self {
        Self {
            id: row.id,
            endpoint_id: row.endpoint_id,
            delivery_id: row.outbox_id,
            event_type: row.event_type,
            event_id: row.event_id,
            attempt: row.attempt,
            status_code: row.status_code,
            error: row.error,
            duration_ms: row.duration_ms,
            delivered: row.delivered,
            created_at: row.created_at,
        }
    }
}

/// An endpoint to register.
#[derive(Debug, Clone, Default)]
pub struct NewEndpoint {
    /// Where deliveries are POSTed: `https://`.
    pub url: String,
    /// The event types to receive.
    pub events: Vec<String>,
    /// What it is for.
    pub description: Option<String>,
    /// The organisation whose events it receives: the caller's own when absent; operator
    /// administrators may name another.
    pub organisation_id: Option<i64>,
}

/// Changes to an endpoint; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct EndpointChanges {
    /// A new URL.
    pub url: Option<String>,
    /// A new set of events.
    pub events: Option<Vec<String>>,
    /// A new description.
    pub description: Option<String>,
    /// `active` re-enables (and forgets past failures); `disabled` stops deliveries.
    pub status: Option<String>,
}
