//! The configurable rules service requests follow: the business calendar their clocks run on,
//! how long a working day is, and when a clock counts as at risk.

use chrono::Duration;
use dsms_core::calendar::BusinessCalendar;

/// Everything about service requests an administrator configures outside the catalogue.
#[derive(Debug, Clone)]
pub struct RequestPolicy {
    /// Working hours, working days and holidays.
    pub calendar: BusinessCalendar,
    /// The working time one "working day" of a catalogue target stands for.
    pub working_day: Duration,
    /// A clock is at risk once this fraction of its target has passed.
    pub at_risk_fraction: f64,
    /// The largest file attached to a request, in bytes (`incidents.max_attachment_mb`, the
    /// same limit as incidents').
    pub max_attachment_bytes: usize,
}

impl Default for RequestPolicy {
    /// The SEC defaults of `domain.md`: 08:00–18:00 working days, England and Wales holidays.
    fn default() -> Self {
        Self {
            calendar: BusinessCalendar::england_and_wales(),
            working_day: Duration::hours(10),
            at_risk_fraction: 0.75,
            max_attachment_bytes: 10 * 1024 * 1024,
        }
    }
}
