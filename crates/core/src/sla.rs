//! SLA clocks: a target measured from events (started, paused, resumed, stopped) on a calendar,
//! never by jobs that mutate rows. The same events always give the same reading.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::calendar::BusinessCalendar;

/// Which hours count toward a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockHours {
    /// Every hour of every day (priorities 1 and 2 by default).
    AroundTheClock,
    /// Working hours on working days (priorities 3 to 5 by default).
    WorkingHours,
}

/// One SLA clock: a target, the hours it counts, and the events that drive it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaClock {
    /// How much counted time the target allows.
    pub target: Duration,
    /// Which hours count.
    pub hours: ClockHours,
    /// When the clock started.
    pub started_at: DateTime<Utc>,
    /// Periods when the clock did not run (awaiting the user, resolved then reopened); the last
    /// may still be open.
    pub pauses: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    /// When the clock stopped (responded to, or resolved), if it has.
    pub stopped_at: Option<DateTime<Utc>>,
}

/// Where a clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    /// Running, comfortably within target.
    Running,
    /// Running, past the at-risk fraction of its target.
    AtRisk,
    /// Not running: waiting on the user.
    Paused,
    /// Past due and not stopped, or stopped after it was due.
    Breached,
    /// Stopped within target.
    Met,
}

/// A clock read at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockReading {
    /// Where it stands.
    pub state: ClockState,
    /// When the target is (or was) reached; `None` while paused before reaching it.
    pub due_at: Option<DateTime<Utc>>,
    /// Counted time so far.
    pub elapsed: Duration,
    /// Counted time left; negative once breached.
    pub remaining: Duration,
}

impl SlaClock {
    fn measure(
        &self,
        calendar: &BusinessCalendar,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Duration {
        match self.hours {
            ClockHours::AroundTheClock => (to - from).max(Duration::zero()),
            ClockHours::WorkingHours => calendar.working_time_between(from, to),
        }
    }

    fn advance(
        &self,
        calendar: &BusinessCalendar,
        from: DateTime<Utc>,
        amount: Duration,
    ) -> DateTime<Utc> {
        match self.hours {
            ClockHours::AroundTheClock => from + amount,
            ClockHours::WorkingHours => calendar.add_working_time(from, amount),
        }
    }

    /// The periods the clock ran, up to `until`; the last may be open-ended (`None`).
    fn running_segments(
        &self,
        until: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> {
        let mut pauses = self.pauses.clone();
        pauses.sort_by_key(|p| p.0);
        let end = self.stopped_at.map_or(until, |s| s.min(until));
        let mut segments = Vec::new();
        let mut cursor = Some(self.started_at);
        for (pause_start, pause_end) in pauses {
            let Some(start) = cursor else { break };
            if pause_start > start {
                segments.push((start, Some(pause_start.min(end))));
            }
            cursor = pause_end.map(|e| e.max(start));
        }
        match (cursor, self.stopped_at) {
            (Some(start), Some(_)) if start < end => segments.push((start, Some(end))),
            // A running clock has an open period even at the instant it starts or resumes.
            (Some(start), None) if start <= end => segments.push((start, None)),
            _ => {}
        }
        segments
    }

    /// Reads the clock at `now`, at-risk from `at_risk_fraction` of the target.
    pub fn read(
        &self,
        calendar: &BusinessCalendar,
        now: DateTime<Utc>,
        at_risk_fraction: f64,
    ) -> ClockReading {
        let until = self.stopped_at.map_or(now, |s| s.min(now));
        let mut elapsed = Duration::zero();
        let mut due_at = None;
        let segments = self.running_segments(until);
        let open_ended = segments.last().is_some_and(|s| s.1.is_none());
        for (start, end) in &segments {
            let segment_end = end.unwrap_or(until);
            let measured = self.measure(calendar, *start, segment_end.max(*start));
            if due_at.is_none() && elapsed + measured >= self.target {
                due_at = Some(self.advance(calendar, *start, self.target - elapsed));
            }
            elapsed += measured;
        }
        // Not yet due: project from the start of the last running period. For a clock stopped
        // within target that is when it would have fallen due, kept for reporting; a paused
        // clock has no running period at its end, and so no due time.
        if due_at.is_none()
            && (open_ended || self.stopped_at.is_some())
            && let Some((start, end)) = segments.last()
        {
            let last = self.measure(calendar, *start, end.unwrap_or(until).max(*start));
            due_at = Some(self.advance(calendar, *start, self.target - (elapsed - last)));
        }
        let paused =
            self.stopped_at.is_none() && self.pauses.iter().any(|(s, e)| *s <= now && e.is_none());
        let remaining = self.target - elapsed;
        let state = match (self.stopped_at, due_at) {
            (Some(stopped), Some(due)) if stopped > due => ClockState::Breached,
            (Some(_), _) => ClockState::Met,
            (None, Some(due)) if now >= due => ClockState::Breached,
            (None, _) if remaining <= Duration::zero() => ClockState::Breached,
            (None, _) if paused => ClockState::Paused,
            (None, _) => {
                let used = elapsed.num_milliseconds() as f64;
                let target = self.target.num_milliseconds().max(1) as f64;
                if used / target >= at_risk_fraction {
                    ClockState::AtRisk
                } else {
                    ClockState::Running
                }
            }
        };
        ClockReading {
            state,
            due_at,
            elapsed,
            remaining,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn working(target_hours: i64, started: &str) -> SlaClock {
        SlaClock {
            target: Duration::hours(target_hours),
            hours: ClockHours::WorkingHours,
            started_at: utc(started),
            pauses: Vec::new(),
            stopped_at: None,
        }
    }

    #[test]
    fn an_around_the_clock_target_runs_through_the_night() {
        let c = BusinessCalendar::england_and_wales();
        let clock = SlaClock {
            target: Duration::hours(4),
            hours: ClockHours::AroundTheClock,
            started_at: utc("2026-11-28T22:00:00Z"),
            pauses: Vec::new(),
            stopped_at: None,
        };
        let reading = clock.read(&c, utc("2026-11-29T01:30:00Z"), 0.75);
        assert_eq!(reading.due_at, Some(utc("2026-11-29T02:00:00Z")));
        assert_eq!(reading.state, ClockState::AtRisk);
        assert_eq!(reading.remaining, Duration::minutes(30));
        assert_eq!(
            clock.read(&c, utc("2026-11-29T02:00:00Z"), 0.75).state,
            ClockState::Breached
        );
    }

    #[test]
    fn a_working_hours_target_crosses_a_weekend_and_a_bank_holiday() {
        let c = BusinessCalendar::england_and_wales();
        // Priority 3 (3 working days = 30 h) raised Thursday 2 April 2026 at 10:00 BST:
        // Thu 8 h, then Good Friday, weekend, Easter Monday closed, Tue 10 h, Wed 10 h, Thu 2 h.
        let clock = working(30, "2026-04-02T09:00:00Z");
        let reading = clock.read(&c, utc("2026-04-03T12:00:00Z"), 0.75);
        assert_eq!(reading.due_at, Some(utc("2026-04-09T09:00:00Z")));
        assert_eq!(
            reading.elapsed,
            Duration::hours(8),
            "nothing counts on Good Friday"
        );
        assert_eq!(reading.state, ClockState::Running);
    }

    #[test]
    fn pauses_stop_the_clock_and_push_the_due_time() {
        let c = BusinessCalendar::england_and_wales();
        // 4 working hours from Monday 30 Nov 2026 09:00; awaiting the user 10:00-14:00.
        let mut clock = working(4, "2026-11-30T09:00:00Z");
        clock.pauses.push((utc("2026-11-30T10:00:00Z"), None));
        let paused = clock.read(&c, utc("2026-11-30T12:00:00Z"), 0.75);
        assert_eq!(paused.state, ClockState::Paused);
        assert_eq!(paused.elapsed, Duration::hours(1));
        assert_eq!(paused.due_at, None, "no due time while waiting on the user");

        clock.pauses[0].1 = Some(utc("2026-11-30T14:00:00Z"));
        let resumed = clock.read(&c, utc("2026-11-30T15:00:00Z"), 0.75);
        assert_eq!(resumed.due_at, Some(utc("2026-11-30T17:00:00Z")));
        assert_eq!(resumed.elapsed, Duration::hours(2));
        assert_eq!(resumed.state, ClockState::Running);
    }

    #[test]
    fn a_stopped_clock_is_met_or_breached_for_good() {
        let c = BusinessCalendar::england_and_wales();
        let mut clock = working(2, "2026-11-30T09:00:00Z");
        clock.stopped_at = Some(utc("2026-11-30T10:30:00Z"));
        let met = clock.read(&c, utc("2026-12-25T00:00:00Z"), 0.75);
        assert_eq!(met.state, ClockState::Met);
        assert_eq!(met.elapsed, Duration::minutes(90));

        clock.stopped_at = Some(utc("2026-11-30T12:00:00Z"));
        let late = clock.read(&c, utc("2026-12-25T00:00:00Z"), 0.75);
        assert_eq!(late.state, ClockState::Breached);
        assert_eq!(late.due_at, Some(utc("2026-11-30T11:00:00Z")));
    }

    #[test]
    fn a_clock_breached_before_a_pause_stays_breached() {
        let c = BusinessCalendar::england_and_wales();
        let mut clock = working(1, "2026-11-30T09:00:00Z");
        clock.pauses.push((utc("2026-11-30T11:00:00Z"), None));
        let reading = clock.read(&c, utc("2026-11-30T12:00:00Z"), 0.75);
        assert_eq!(reading.state, ClockState::Breached);
        assert_eq!(reading.due_at, Some(utc("2026-11-30T10:00:00Z")));
    }
}
