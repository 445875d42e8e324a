//! Service requests, as the Smart Energy Code's service desk takes them: the service catalogue
//! (what organisations may ask for, who may ask, a form of typed fields with validation rules,
//! approval steps, fulfilment tasks for resolver groups and a target in working days), kept in
//! immutable form versions so an edited item never changes a request already raised; and the
//! requests themselves (`REQ0000001`), validated against their form, approved in order by the
//! right people, fulfilled task by task, on an SLA clock on `dsms-core`'s business calendar,
//! with comments, history and domain events for webhooks.
//!
//! Depends on `dsms-core` and `dsms-store` only; knows nothing of HTTP.

mod attachments;
mod catalogue;
pub mod form;
mod historic;
pub mod lifecycle;
mod model;
mod policy;
mod service;
mod sla_store;
mod store;
mod sweep;

pub use attachments::{NewFile, answer_attachment_id, file_answer};
pub use dsms_core::attachment::Attachment;
pub use form::{
    ApprovalStep, Approver, Definition, FieldType, FormField, IdentifierKind, Requesters,
    TaskTemplate,
};
pub use historic::{
    HistoricRequest, Imported, MAX_DETAILS, OldValue, details_note, historic_answers,
    normalise_alias,
};
pub use lifecycle::{Mover, Status, TRANSITIONS, Transition};
pub use model::{
    Approval, ApprovalStatus, CatalogueChanges, CatalogueItem, Comment, Decision, FormVersion,
    NewCatalogueItem, NewRequest, Party, RequestChanges, RequestError, ServiceRequest, Task,
    TaskStatus,
};
pub use policy::RequestPolicy;
pub use service::{
    EVENT_KIND, IdempotentCreate, Raised, RequestFilter, ServiceRequests, decides_next,
    event_payload,
};
pub use sweep::RequestSweepReport;
