//! The configurable rules incidents follow: the priority matrix, SLA targets per priority, the
//! at-risk threshold, the reopen window, the category catalogue, the business calendar and the
//! largest attachment.

use chrono::Duration;

use crate::priority::{Priority, PriorityMatrix};
use dsms_core::calendar::BusinessCalendar;
use dsms_core::sla::ClockHours;

/// The targets for one priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    /// Time to respond (first action by the service desk).
    pub response: Duration,
    /// Time to resolve (the SEC's Target Resolution Time).
    pub resolution: Duration,
    /// Which hours count.
    pub hours: ClockHours,
}

/// A category of incident and its subcategories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// The code used in the API, e.g. `communications_hub`.
    pub code: String,
    /// The name people read.
    pub name: String,
    /// Allowed subcategory codes; any (or none) when empty.
    pub subcategories: Vec<String>,
}

/// Everything about incidents an administrator can change.
#[derive(Debug, Clone)]
pub struct IncidentPolicy {
    /// Impact × urgency → priority.
    pub matrix: PriorityMatrix,
    /// Targets for priorities 1 to 5.
    pub targets: [Targets; 5],
    /// A clock is at risk once this fraction of its target has passed.
    pub at_risk_fraction: f64,
    /// How long (in working time) the raiser may reopen a resolved incident.
    pub reopen_window: Duration,
    /// The categories incidents are raised under.
    pub categories: Vec<Category>,
    /// Working hours, working days and holidays.
    pub calendar: BusinessCalendar,
    /// The largest file that may be attached to an incident, in bytes.
    pub max_attachment_bytes: usize,
}

/// A working day of the default calendar (08:00–18:00).
const WORKING_DAY_HOURS: i64 = 10;

impl Default for IncidentPolicy {
    /// The SEC defaults of `domain.md`.
    fn default() -> Self {
        let working_days = |d: i64| Duration::hours(d * WORKING_DAY_HOURS);
        let around = ClockHours::AroundTheClock;
        let working = ClockHours::WorkingHours;
        let category = |code: &str, name: &str| Category {
            code: code.to_owned(),
            name: name.to_owned(),
            subcategories: Vec::new(),
        };
        Self {
            matrix: PriorityMatrix::default(),
            targets: [
                Targets {
                    response: Duration::minutes(15),
                    resolution: Duration::hours(4),
                    hours: around,
                },
                Targets {
                    response: Duration::minutes(30),
                    resolution: Duration::hours(8),
                    hours: around,
                },
                Targets {
                    response: Duration::hours(2),
                    resolution: working_days(3),
                    hours: working,
                },
                Targets {
                    response: Duration::hours(4),
                    resolution: working_days(5),
                    hours: working,
                },
                Targets {
                    response: working_days(1),
                    resolution: working_days(10),
                    hours: working,
                },
            ],
            at_risk_fraction: 0.75,
            reopen_window: working_days(5),
            categories: vec![
                category("communications_hub", "Communications hub"),
                category("smart_meter", "Smart meter"),
                category("service_request_failure", "Service request failure"),
                category("user_gateway", "User gateway / interface"),
                category("self_service_interface", "Self-service interface"),
                category("security", "Security"),
                category("data_registration", "Data / registration"),
                category("order_management", "Order management"),
                category("other", "Other"),
            ],
            calendar: BusinessCalendar::england_and_wales(),
            max_attachment_bytes: 10 * 1024 * 1024,
        }
    }
}

impl IncidentPolicy {
    /// The targets of `priority`.
    pub fn targets(&self, priority: Priority) -> Targets {
        self.targets[usize::from(priority.get() - 1)]
    }

    /// The category with `code`, if configured.
    pub fn category(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }
}
