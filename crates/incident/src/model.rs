//! What an incident is, as read, and what callers ask to change.

use chrono::{DateTime, NaiveDateTime, Utc};
use dsms_core::{Forbidden, ValidationErrors};
use dsms_store::StoreError;

use crate::lifecycle::Status;
use crate::priority::{Impact, Priority, Urgency};
use dsms_core::sla::ClockReading;

/// Who raised an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raiser {
    /// `person` or `api_token`.
    pub kind: String,
    /// Their id.
    pub id: i64,
    /// Their name at the time.
    pub name: String,
}

/// The two SLA clocks of an incident, read now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sla {
    /// Time to first response.
    pub response: ClockReading,
    /// Time to resolution.
    pub resolution: ClockReading,
}

/// An incident in the Incident Management Log.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// Its id.
    pub id: i64,
    /// Its reference, e.g. `INC0000042`.
    pub reference: String,
    /// The raising organisation.
    pub organisation_id: i64,
    /// The raising organisation's name.
    pub organisation_name: String,
    /// Who raised it.
    pub raised_by: Raiser,
    /// How it reached the service desk: `api`, `portal`, `email`, `telephone`.
    pub channel: String,
    /// Who to contact about it.
    pub contact: Option<String>,
    /// A one-line summary.
    pub title: String,
    /// What is wrong.
    pub description: String,
    /// Its category code.
    pub category: String,
    /// Its subcategory code.
    pub subcategory: Option<String>,
    /// How widely it affects the service.
    pub impact: Impact,
    /// How quickly it must be dealt with.
    pub urgency: Urgency,
    /// Its priority (the SEC's incident category).
    pub priority: Priority,
    /// Why an agent overrode the priority the matrix gave.
    pub priority_reason: Option<String>,
    /// Where it stands.
    pub status: Status,
    /// The resolver group it is assigned to.
    pub assignment_group: Option<String>,
    /// The person it is assigned to.
    pub assignee_id: Option<i64>,
    /// Their name.
    pub assignee_name: Option<String>,
    /// How it was resolved.
    pub resolution_code: Option<String>,
    /// Notes on the resolution.
    pub resolution_notes: Option<String>,
    /// Declared a major incident.
    pub major: bool,
    /// The major incident it is a child of.
    pub parent_id: Option<i64>,
    /// The incident it duplicates.
    pub duplicate_of_id: Option<i64>,
    /// The affected region.
    pub region: Option<String>,
    /// When the fault began.
    pub fault_started_at: Option<NaiveDateTime>,
    /// Related message or request identifiers.
    pub message_ids: Option<String>,
    /// Affected device, hub and meter-point identifiers.
    pub devices: Vec<String>,
    /// When the service desk first responded.
    pub responded_at: Option<NaiveDateTime>,
    /// When it was (last) resolved.
    pub resolved_at: Option<NaiveDateTime>,
    /// When it was closed.
    pub closed_at: Option<NaiveDateTime>,
    /// Its SLA clocks, read when it was loaded.
    pub sla: Sla,
    /// When it was raised.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// A comment or an internal work note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Its id.
    pub id: i64,
    /// `person` or `api_token`.
    pub author_kind: String,
    /// The author's id.
    pub author_id: i64,
    /// The author's name at the time.
    pub author_name: String,
    /// The text.
    pub body: String,
    /// A work note the raising organisation never sees.
    pub internal: bool,
    /// When it was written.
    pub created_at: NaiveDateTime,
}

/// What is needed to raise an incident.
#[derive(Debug, Clone, Default)]
pub struct NewIncident {
    /// A one-line summary.
    pub title: String,
    /// What is wrong.
    pub description: String,
    /// A category code.
    pub category: String,
    /// A subcategory code.
    pub subcategory: Option<String>,
    /// 1 to 4.
    pub impact: i64,
    /// 1 to 4.
    pub urgency: i64,
    /// Who to contact.
    pub contact: Option<String>,
    /// How it reached the desk; the caller's own channel when absent.
    pub channel: Option<String>,
    /// Raise on behalf of this organisation (service desk only).
    pub organisation_id: Option<i64>,
    /// Affected device, hub and meter-point identifiers.
    pub devices: Vec<String>,
    /// The affected region.
    pub region: Option<String>,
    /// When the fault began.
    pub fault_started_at: Option<DateTime<Utc>>,
    /// Related message or request identifiers.
    pub message_ids: Option<String>,
}

/// Changes to an incident; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct IncidentChanges {
    /// A new title.
    pub title: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new category.
    pub category: Option<String>,
    /// A new subcategory.
    pub subcategory: Option<Option<String>>,
    /// A new impact (the priority follows the matrix unless overridden).
    pub impact: Option<i64>,
    /// A new urgency.
    pub urgency: Option<i64>,
    /// An overriding priority (service desk, with a reason).
    pub priority: Option<i64>,
    /// Why the priority was overridden.
    pub priority_reason: Option<String>,
    /// A new status, through the lifecycle.
    pub status: Option<String>,
    /// A new resolver group.
    pub assignment_group: Option<Option<String>>,
    /// A new assignee (a person id).
    pub assignee_id: Option<Option<i64>>,
    /// How it was resolved (required to resolve).
    pub resolution_code: Option<String>,
    /// Notes on the resolution.
    pub resolution_notes: Option<String>,
    /// Declare or stand down a major incident.
    pub major: Option<bool>,
    /// Link to a parent (major) incident.
    pub parent_id: Option<Option<i64>>,
    /// Mark as a duplicate of another incident.
    pub duplicate_of_id: Option<Option<i64>>,
    /// A new contact.
    pub contact: Option<Option<String>>,
}

/// What can go wrong with incidents, in terms callers branch on.
#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    /// The input broke the rules; each field is named.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// No such incident, or not visible to the caller.
    #[error("not found")]
    NotFound,
    /// The caller may not do this.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// A status change the lifecycle does not allow for this caller.
    #[error("{detail}")]
    Transition {
        /// What was refused.
        detail: String,
        /// The statuses the caller may move the incident to.
        allowed: Vec<Status>,
    },
    /// `If-Match` named a stale version.
    #[error("the incident has changed since version {0}; fetch it again")]
    VersionMismatch(i64),
    /// The same `Idempotency-Key` came with a different request.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyMismatch,
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for IncidentError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            other => Self::Store(other),
        }
    }
}
