//! Incident management, faithful to the Smart Energy Code: the business calendar and SLA clocks
//! that measure the operator's target times, the lifecycle, priorities and assignment.
//!
//! Depends on `dsms-core` (and, for storage, `dsms-store`) only; knows nothing of HTTP.

pub mod calendar;
pub mod lifecycle;
pub mod priority;
pub mod sla;

pub use calendar::{BankHoliday, BusinessCalendar, CalendarError};
pub use lifecycle::{Mover, Status, Transition, TRANSITIONS};
pub use priority::{Impact, Priority, PriorityMatrix, Urgency};
pub use sla::{ClockHours, ClockReading, ClockState, SlaClock};
