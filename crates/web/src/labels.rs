//! How incidents' states read on the desk's pages: statuses, SLA countdowns with their colour
//! classes, and durations in words. Shared by the queues, the incident page and the dashboard.

use chrono::{DateTime, Duration, Utc};
use dsms_incident::{ClockReading, ClockState, Status};

/// A status as people say it.
pub(crate) fn status(status: Status) -> &'static str {
    match status {
        Status::New => "New",
        Status::Assigned => "Assigned",
        Status::InProgress => "In progress",
        Status::AwaitingUser => "Awaiting user",
        Status::Resolved => "Resolved",
        Status::Closed => "Closed",
        Status::Cancelled => "Cancelled",
    }
}

/// A duration in words, to the minute: `2 d 3 h`, `3 h 5 min`, `12 min`.
pub(crate) fn span(duration: Duration) -> String {
    let minutes = duration.num_minutes().abs();
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    if days > 0 {
        format!("{days} d {hours} h")
    } else if hours > 0 {
        format!("{hours} h {mins} min")
    } else {
        format!("{mins} min")
    }
}

/// An SLA clock as a badge: its text, its colour class, and its due time for a script that
/// ticks it down.
#[derive(Debug, Clone)]
pub(crate) struct SlaBadge {
    /// What it says, e.g. `2 h 5 min left`.
    pub text: String,
    /// `sla-ok`, `sla-risk`, `sla-breached`, `sla-paused` or `sla-met`.
    pub class: &'static str,
    /// When it falls due (RFC 3339), while it runs.
    pub due: String,
}

impl SlaBadge {
    /// The badge of a clock read at `now`.
    pub fn of(reading: &ClockReading, now: DateTime<Utc>) -> Self {
        // The clock's remaining time is working time (a 5-working-day target has 50 hours), so
        // read as days of 24 hours it would mislead; the time left until the due moment is what
        // a person plans by, and what the page's script ticks down.
        let left = reading
            .due_at
            .map(|due| due - now)
            .filter(|left| *left > Duration::zero())
            .unwrap_or(reading.remaining);
        let running_due = || {
            reading
                .due_at
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default()
        };
        match reading.state {
            ClockState::Running => Self {
                text: format!("{} left", span(left)),
                class: "sla-ok",
                due: running_due(),
            },
            ClockState::AtRisk => Self {
                text: format!("{} left", span(left)),
                class: "sla-risk",
                due: running_due(),
            },
            ClockState::Breached => Self {
                text: match reading.due_at {
                    Some(due) if due < now => format!("Breached {} ago", span(now - due)),
                    _ => "Breached".to_owned(),
                },
                class: "sla-breached",
                due: String::new(),
            },
            ClockState::Paused => Self {
                text: "Paused".to_owned(),
                class: "sla-paused",
                due: String::new(),
            },
            ClockState::Met => Self {
                text: "Met".to_owned(),
                class: "sla-met",
                due: String::new(),
            },
        }
    }
}

/// A stored UTC time as pages show it.
pub(crate) fn when(at: chrono::NaiveDateTime) -> String {
    at.format("%-d %b %Y %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_to_the_minute() {
        assert_eq!(span(Duration::minutes(12)), "12 min");
        assert_eq!(span(Duration::minutes(185)), "3 h 5 min");
        assert_eq!(span(Duration::minutes(-185)), "3 h 5 min");
        assert_eq!(span(Duration::hours(51)), "2 d 3 h");
    }

    #[test]
    fn a_running_clock_counts_down_to_its_due_moment_not_in_working_hours() {
        let now = Utc::now();
        let reading = ClockReading {
            state: ClockState::Running,
            due_at: Some(now + Duration::days(4) + Duration::minutes(5)),
            elapsed: Duration::zero(),
            remaining: Duration::hours(50),
        };
        let badge = SlaBadge::of(&reading, now);
        assert_eq!(badge.text, "4 d 0 h left");
        assert_eq!(badge.class, "sla-ok");
    }

    #[test]
    fn a_breached_clock_says_how_long_ago() {
        let now = Utc::now();
        let reading = ClockReading {
            state: ClockState::Breached,
            due_at: Some(now - Duration::minutes(35)),
            elapsed: Duration::hours(5),
            remaining: Duration::minutes(-35),
        };
        let badge = SlaBadge::of(&reading, now);
        assert_eq!(badge.text, "Breached 35 min ago");
        assert_eq!(badge.class, "sla-breached");
    }
}
