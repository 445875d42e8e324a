//! The rules reports measure against: the SLA targets per priority, the business calendar they
//! run on, and the SEC performance measures with their target and minimum service levels.

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use dsms_core::calendar::BusinessCalendar;
use dsms_core::sla::ClockHours;

/// One priority's targets, as the incident rules configure them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockTargets {
    /// Time to respond.
    pub response: Duration,
    /// Time to resolve (the SEC's Target Resolution Time).
    pub resolution: Duration,
    /// Which hours count.
    pub hours: ClockHours,
}

/// One SEC performance measure: the share of incidents of some priorities resolved within target.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaMeasure {
    /// The lowest priority number it covers (1 = most severe).
    pub from_priority: u8,
    /// The highest priority number it covers.
    pub to_priority: u8,
    /// The share the operator aims for, 0 to 1.
    pub target: f64,
    /// The minimum service level, 0 to 1.
    pub minimum: f64,
}

impl SlaMeasure {
    /// How the measure's priorities are shown, e.g. `1-2`.
    pub fn label(&self) -> String {
        format!("{}-{}", self.from_priority, self.to_priority)
    }

    /// True when `priority` belongs to this measure.
    pub fn covers(&self, priority: u8) -> bool {
        (self.from_priority..=self.to_priority).contains(&priority)
    }
}

/// Everything reports need to know about the rules.
#[derive(Debug, Clone)]
pub struct ReportPolicy {
    /// Targets for priorities 1 to 5.
    pub targets: [ClockTargets; 5],
    /// Working hours, working days and holidays.
    pub calendar: BusinessCalendar,
    /// The zone days, weeks and months are counted in.
    pub zone: Tz,
    /// The SEC measures reported monthly.
    pub measures: Vec<SlaMeasure>,
    /// The working time one "working day" of a service request's fulfilment target stands for,
    /// as the service-request rules count it.
    pub request_working_day: Duration,
    /// The hub ordering rules' amendment cut-offs, in months before the delivery month, each
    /// with the day its rule set took effect, oldest first: the forecast in force for a month is
    /// the latest submitted before the cut-off of the rule set in force today.
    pub hub_cutoffs: Vec<(NaiveDate, u32)>,
}

impl Default for ReportPolicy {
    /// The SEC defaults of `domain.md`: P1 4 h and P2 8 h around the clock; P3–P5 3, 5 and 10
    /// working days; measures for priorities 1–2 (target 100 %, minimum 85 %) and 3–5 (90 %, 80 %).
    fn default() -> Self {
        let day = |d: i64| Duration::hours(d * 10);
        let around = ClockHours::AroundTheClock;
        let working = ClockHours::WorkingHours;
        let t = |response, resolution, hours| ClockTargets {
            response,
            resolution,
            hours,
        };
        Self {
            targets: [
                t(Duration::minutes(15), Duration::hours(4), around),
                t(Duration::minutes(30), Duration::hours(8), around),
                t(Duration::hours(2), day(3), working),
                t(Duration::hours(4), day(5), working),
                t(day(1), day(10), working),
            ],
            calendar: BusinessCalendar::england_and_wales(),
            zone: chrono_tz::Europe::London,
            measures: vec![
                SlaMeasure {
                    from_priority: 1,
                    to_priority: 2,
                    target: 1.0,
                    minimum: 0.85,
                },
                SlaMeasure {
                    from_priority: 3,
                    to_priority: 5,
                    target: 0.90,
                    minimum: 0.80,
                },
            ],
            request_working_day: Duration::hours(10),
            hub_cutoffs: vec![(NaiveDate::MIN, 3)],
        }
    }
}

impl ReportPolicy {
    /// The targets of priority `priority` (1 to 5; anything else reads as 5).
    pub fn targets(&self, priority: i32) -> ClockTargets {
        let slot = usize::try_from(priority.clamp(1, 5) - 1).unwrap_or(4);
        self.targets[slot]
    }

    /// The hub amendment cut-off, in months before the delivery month, of the rule set in force
    /// on `day` (the earliest set for days before any took effect).
    pub fn hub_cutoff_months(&self, day: NaiveDate) -> u32 {
        self.hub_cutoffs
            .iter()
            .rev()
            .find(|(from, _)| *from <= day)
            .or(self.hub_cutoffs.first())
            .map_or(3, |(_, months)| *months)
    }
}
