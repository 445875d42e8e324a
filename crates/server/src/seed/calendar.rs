//! The business calendar's working windows over the seeded span, computed once through the
//! calendar's public arithmetic and then searched by bisection: the seed asks millions of
//! "when is this much working time used up" questions, and the calendar answers each by walking
//! days and converting time zones.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use dsms_core::calendar::BusinessCalendar;
use dsms_core::sla::ClockHours;

/// The working windows (open, close) of every day in a span, in order.
#[derive(Debug, Clone)]
pub(crate) struct WorkingWindows {
    windows: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl WorkingWindows {
    /// The windows of every day from `from` to `to`. Each window must fall within one UTC day,
    /// as working hours anywhere near the UK do.
    pub fn new(calendar: &BusinessCalendar, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        let tiny = Duration::microseconds(1);
        let mut windows = Vec::new();
        let mut day = from.date_naive();
        while day <= to.date_naive() {
            let midnight = day.and_time(NaiveTime::MIN).and_utc();
            let next = midnight + Duration::days(1);
            let open = calendar.add_working_time(midnight, tiny) - tiny;
            let length = calendar.working_time_between(midnight, next);
            if open < next && length > Duration::zero() {
                windows.push((open, open + length));
            }
            day = next.date_naive();
        }
        Self { windows }
    }

    /// The instant `amount` of counted time after `from`.
    pub fn add(&self, hours: ClockHours, from: DateTime<Utc>, amount: Duration) -> DateTime<Utc> {
        if hours == ClockHours::AroundTheClock || amount <= Duration::zero() {
            return from + amount.max(Duration::zero());
        }
        let mut remaining = amount;
        let first = self.windows.partition_point(|(_, close)| *close <= from);
        for (open, close) in &self.windows[first..] {
            let start = (*open).max(from);
            let available = *close - start;
            if remaining <= available {
                return start + remaining;
            }
            remaining -= available;
        }
        // Past the span: count on around the clock rather than fail; only far-future due times
        // of the newest incidents land here, and none is stored as history.
        self.windows.last().map_or(from, |w| w.1.max(from)) + remaining
    }

    /// Counted time between `from` and `to`.
    pub fn between(&self, hours: ClockHours, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        if hours == ClockHours::AroundTheClock {
            return to - from;
        }
        let first = self.windows.partition_point(|(_, close)| *close <= from);
        let mut total = Duration::zero();
        for (open, close) in &self.windows[first..] {
            if *open >= to {
                break;
            }
            total += (*close).min(to) - (*open).max(from);
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_answer_as_the_calendar_does() {
        let calendar = BusinessCalendar::england_and_wales();
        let from = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let to = from + Duration::days(800);
        let windows = WorkingWindows::new(&calendar, from, to);
        // Instants spread over two years, across clock changes and bank holidays.
        for step in 0..2_000i64 {
            let at = from + Duration::minutes(step * 523 + step % 7);
            let amount = Duration::minutes(step % 97 * 37);
            assert_eq!(
                windows.add(ClockHours::WorkingHours, at, amount),
                calendar.add_working_time(at, amount),
                "add {amount} at {at}"
            );
            let later = at + Duration::minutes(step % 211 * 41);
            assert_eq!(
                windows.between(ClockHours::WorkingHours, at, later),
                calendar.working_time_between(at, later),
                "between {at} and {later}"
            );
        }
    }
}
