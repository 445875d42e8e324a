//! Incident management, faithful to the Smart Energy Code: the lifecycle, priorities and
//! assignment, with SLA clocks on `dsms-core`'s business calendar measuring the operator's target
//! times.
//!
//! Depends on `dsms-core` (and, for storage, `dsms-store`) only; knows nothing of HTTP.

mod figures;
mod historic;
pub mod lifecycle;
mod model;
mod policy;
pub mod priority;
mod service;
mod store;

pub use dsms_core::attachment::{Attachment, MAX_FILENAME_CHARS};
pub use dsms_core::calendar::{self, BankHoliday, BusinessCalendar, CalendarError};
pub use dsms_core::sla::{self, ClockHours, ClockReading, ClockState, SlaClock};
pub use figures::DeskFigures;
pub use historic::{HistoricIncident, Imported, normalise_alias};
pub use lifecycle::{Mover, Status, TRANSITIONS, Transition};
pub use model::{Comment, Incident, IncidentChanges, IncidentError, NewIncident, Raiser, Sla};
pub use policy::{Category, IncidentPolicy, Targets};
pub use priority::{Impact, Priority, PriorityMatrix, Urgency};
pub use service::{
    EVENT_KIND, IdempotentCreate, IncidentFilter, Incidents, Raised, RenderCreated, SweepReport,
    event_payload,
};
