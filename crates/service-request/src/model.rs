//! What catalogue items and service requests are, as read, and what callers ask to change.

use chrono::NaiveDateTime;
use dsms_core::sla::ClockReading;
use dsms_core::{Forbidden, ValidationErrors};
use dsms_store::StoreError;
use serde_json::{Map, Value};

use crate::form::{Approver, Definition};
use crate::lifecycle::Status;

dsms_core::text_enum! {
    /// Where an approval step stands.
    ApprovalStatus {
        /// Not yet decided (it may not be its turn yet).
        Pending => "pending",
        /// Approved.
        Approved => "approved",
        /// Refused; the request is rejected.
        Rejected => "rejected",
        /// Never decided: the request was rejected at an earlier step or cancelled.
        Withdrawn => "withdrawn",
    }
}

dsms_core::text_enum! {
    /// Where a fulfilment task stands.
    TaskStatus {
        /// To do.
        Open => "open",
        /// Done.
        Done => "done",
        /// Not needed: the request was rejected or cancelled.
        Cancelled => "cancelled",
    }
}

/// A catalogue item with the form version in force.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueItem {
    /// Its id.
    pub id: i64,
    /// Its stable code, e.g. `device_diagnostics`.
    pub code: String,
    /// Offered for new requests.
    pub active: bool,
    /// The form version in force.
    pub form: FormVersion,
    /// When it was added.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// One immutable version of a catalogue item's definition.
#[derive(Debug, Clone, PartialEq)]
pub struct FormVersion {
    /// Its id (requests keep it).
    pub id: i64,
    /// 1, 2, … per item.
    pub number: i32,
    /// What it says.
    pub definition: Definition,
    /// Who made it.
    pub created_by: String,
    /// When.
    pub created_at: NaiveDateTime,
}

/// A new catalogue item.
#[derive(Debug, Clone)]
pub struct NewCatalogueItem {
    /// Its stable code: lowercase letters, digits and `_`.
    pub code: String,
    /// Its first definition.
    pub definition: Definition,
}

/// Changes to a catalogue item; a new definition becomes a new form version.
#[derive(Debug, Clone, Default)]
pub struct CatalogueChanges {
    /// Offer it (or stop offering it) for new requests.
    pub active: Option<bool>,
    /// The whole new definition.
    pub definition: Option<Definition>,
}

/// Who raised a request or wrote something on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// `person` or `api_token`.
    pub kind: String,
    /// Their id.
    pub id: i64,
    /// Their name at the time.
    pub name: String,
}

/// One approval step of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// Its id.
    pub id: i64,
    /// 1, 2, … in the order decided.
    pub step: i32,
    /// Who decides it.
    pub approver: Approver,
    /// Where it stands.
    pub status: ApprovalStatus,
    /// Who decided it.
    pub decided_by: Option<Party>,
    /// When.
    pub decided_at: Option<NaiveDateTime>,
    /// The decider's reason or remark.
    pub comment: Option<String>,
}

/// One fulfilment task of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Its id.
    pub id: i64,
    /// 1, 2, … as the catalogue lists them.
    pub position: i32,
    /// What is to be done.
    pub name: String,
    /// The resolver group that does it.
    pub group: String,
    /// Where it stands.
    pub status: TaskStatus,
    /// The agent who completed it.
    pub completed_by: Option<Party>,
    /// When.
    pub completed_at: Option<NaiveDateTime>,
    /// What was done.
    pub notes: Option<String>,
}

/// A service request.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRequest {
    /// Its id.
    pub id: i64,
    /// Its reference, e.g. `REQ0000042`.
    pub reference: String,
    /// The raising organisation.
    pub organisation_id: i64,
    /// Its name.
    pub organisation_name: String,
    /// The catalogue item asked for.
    pub item_id: i64,
    /// Its code.
    pub item_code: String,
    /// The form version the answers were validated against.
    pub form: FormVersion,
    /// Who raised it.
    pub raised_by: Party,
    /// `api` or `portal`.
    pub channel: String,
    /// A one-line summary.
    pub summary: String,
    /// Who to contact about it.
    pub contact: Option<String>,
    /// The answers to the form, keyed by field.
    pub answers: Map<String, Value>,
    /// Where it stands.
    pub status: Status,
    /// Its approval steps, in order.
    pub approvals: Vec<Approval>,
    /// Its fulfilment tasks, in order.
    pub tasks: Vec<Task>,
    /// The fulfilment clock, read when it was loaded.
    pub sla: ClockReading,
    /// When its last task was done.
    pub fulfilled_at: Option<NaiveDateTime>,
    /// When it was closed, rejected or cancelled.
    pub closed_at: Option<NaiveDateTime>,
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
    /// Who wrote it.
    pub author: Party,
    /// The text.
    pub body: String,
    /// A work note the raising organisation never sees.
    pub internal: bool,
    /// When it was written.
    pub created_at: NaiveDateTime,
}

/// What is needed to raise a request.
#[derive(Debug, Clone, Default)]
pub struct NewRequest {
    /// The catalogue item's id or code.
    pub item: String,
    /// A one-line summary; the item's name when absent.
    pub summary: Option<String>,
    /// Who to contact.
    pub contact: Option<String>,
    /// The answers to the item's form, keyed by field.
    pub fields: Value,
}

/// Changes to a request; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RequestChanges {
    /// A new status, through the lifecycle.
    pub status: Option<String>,
    /// A new contact (`Some(None)` clears it).
    pub contact: Option<Option<String>>,
}

/// An approval decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Approve the step due.
    Approve,
    /// Refuse it (a comment is required).
    Reject,
}

/// What can go wrong with the catalogue and requests, in terms callers branch on.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The input broke the rules; each field is named.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// No such request or item, or not visible to the caller.
    #[error("not found")]
    NotFound,
    /// The caller may not do this.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// A change the request's state does not allow for this caller.
    #[error("{detail}")]
    Transition {
        /// What was refused.
        detail: String,
        /// The statuses the caller may move the request to.
        allowed: Vec<Status>,
    },
    /// Something already exists (e.g. a catalogue code).
    #[error("{0}")]
    Duplicate(String),
    /// `If-Match` named a stale version.
    #[error("the record has changed since version {0}; fetch it again")]
    VersionMismatch(i64),
    /// The same `Idempotency-Key` came with a different request.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyMismatch,
    /// A stored form version cannot be read back: a bug, never the caller's fault.
    #[error("stored form version {0} is unreadable")]
    Corrupt(i64),
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for RequestError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            other => Self::Store(other),
        }
    }
}
