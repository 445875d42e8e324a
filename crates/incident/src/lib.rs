//! Incident management, faithful to the Smart Energy Code: the business calendar and SLA clocks
//! that measure the operator's target times, the lifecycle, priorities and assignment.
//!
//! Depends on `dsms-core` (and, for storage, `dsms-store`) only; knows nothing of HTTP.

mod attachment;
pub mod calendar;
pub mod lifecycle;
mod model;
mod policy;
pub mod priority;
mod service;
pub mod sla;
mod store;

pub use attachment::{Attachment, MAX_FILENAME_CHARS};
pub use calendar::{BankHoliday, BusinessCalendar, CalendarError};
pub use lifecycle::{Mover, Status, TRANSITIONS, Transition};
pub use model::{Comment, Incident, IncidentChanges, IncidentError, NewIncident, Raiser, Sla};
pub use policy::{Category, IncidentPolicy, Targets};
pub use priority::{Impact, Priority, PriorityMatrix, Urgency};
pub use service::{
    EVENT_KIND, IdempotentCreate, IncidentFilter, Incidents, Raised, RenderCreated, SweepReport,
    event_payload,
};
pub use sla::{ClockHours, ClockReading, ClockState, SlaClock};
