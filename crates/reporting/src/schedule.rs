//! When scheduled reports are due: daily, weekly, monthly, or monthly on the Nth working day of
//! the business calendar (the SEC's monthly reports are due by the 10th working day).

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use dsms_core::calendar::BusinessCalendar;
use dsms_core::{FieldError, ValidationErrors};

use crate::params::{Granularity, next_period, period_start};

/// How often a subscribed report is sent; each send covers the last complete period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// Every day, covering the day before.
    Daily,
    /// Every Monday, covering the week before.
    Weekly,
    /// On the 1st, covering the month before.
    Monthly,
    /// On the Nth working day of the month, covering the month before.
    MonthlyOnWorkingDay(u32),
}

/// One period a scheduled report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// Its first day.
    pub start: NaiveDate,
    /// Its last day.
    pub end: NaiveDate,
    /// When its report is due.
    pub due_at: DateTime<Utc>,
}

/// The most a working-day cadence may name (no month has more working days).
const MAX_WORKING_DAY: i32 = 23;

impl Cadence {
    /// Parses a cadence name; `monthly_working_day` needs `working_day` (1 to 23).
    pub fn parse(name: &str, working_day: Option<i32>) -> Result<Self, ValidationErrors> {
        let cadence = match name {
            "daily" => Self::Daily,
            "weekly" => Self::Weekly,
            "monthly" => Self::Monthly,
            "monthly_working_day" => match working_day {
                Some(n) if (1..=MAX_WORKING_DAY).contains(&n) => {
                    Self::MonthlyOnWorkingDay(n.unsigned_abs())
                }
                _ => {
                    return Err(FieldError::new(
                        "working_day",
                        format!("must be 1 to {MAX_WORKING_DAY} for monthly_working_day"),
                    )
                    .into());
                }
            },
            _ => {
                return Err(FieldError::new(
                    "cadence",
                    "must be daily, weekly, monthly or monthly_working_day",
                )
                .into());
            }
        };
        if working_day.is_some() && !matches!(cadence, Self::MonthlyOnWorkingDay(_)) {
            return Err(FieldError::new(
                "working_day",
                "is only for the monthly_working_day cadence",
            )
            .into());
        }
        Ok(cadence)
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
            Self::MonthlyOnWorkingDay(_) => "monthly_working_day",
        }
    }

    /// The working day of a `monthly_working_day` cadence.
    pub fn working_day(self) -> Option<u32> {
        match self {
            Self::MonthlyOnWorkingDay(n) => Some(n),
            _ => None,
        }
    }

    /// The granularity of the periods it covers.
    pub fn granularity(self) -> Granularity {
        match self {
            Self::Daily => Granularity::Day,
            Self::Weekly => Granularity::Week,
            Self::Monthly | Self::MonthlyOnWorkingDay(_) => Granularity::Month,
        }
    }

    /// The latest period whose report is due at or before `now`.
    pub fn latest_due(
        self,
        calendar: &BusinessCalendar,
        zone: Tz,
        now: DateTime<Utc>,
    ) -> Option<Period> {
        let today = now.with_timezone(&zone).date_naive();
        let granularity = self.granularity();
        let current = period_start(today, granularity);
        let previous = period_start(current - Duration::days(1), granularity);
        let period = |start: NaiveDate, due: NaiveDate| {
            let end = next_period(start, granularity) - Duration::days(1);
            Some(Period {
                start,
                end,
                due_at: midnight(zone, due)?,
            })
        };
        match self {
            Self::Daily | Self::Weekly | Self::Monthly => period(previous, current),
            Self::MonthlyOnWorkingDay(n) => {
                let due_this_month =
                    calendar.nth_working_day(current.year(), current.month(), n)?;
                if today >= due_this_month {
                    period(previous, due_this_month)
                } else {
                    let before = period_start(previous - Duration::days(1), granularity);
                    let due_last_month =
                        calendar.nth_working_day(previous.year(), previous.month(), n)?;
                    period(before, due_last_month)
                }
            }
        }
    }
}

/// The start of `date` in `zone`, in UTC.
fn midnight(zone: Tz, date: NaiveDate) -> Option<DateTime<Utc>> {
    zone.from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn due(cadence: Cadence, now: &str) -> Period {
        cadence
            .latest_due(
                &BusinessCalendar::england_and_wales(),
                chrono_tz::Europe::London,
                utc(now),
            )
            .unwrap()
    }

    #[test]
    fn daily_weekly_and_monthly_cover_the_last_complete_period() {
        let daily = due(Cadence::Daily, "2026-11-29T10:00:00Z");
        assert_eq!(
            (daily.start, daily.end),
            (day("2026-11-28"), day("2026-11-28"))
        );
        assert_eq!(daily.due_at, utc("2026-11-29T00:00:00Z"));
        let weekly = due(Cadence::Weekly, "2026-11-29T10:00:00Z");
        assert_eq!(
            (weekly.start, weekly.end),
            (day("2026-11-16"), day("2026-11-22"))
        );
        let monthly = due(Cadence::Monthly, "2026-07-01T00:30:00Z");
        // Midnight in London in summer is 23:00 UTC the day before.
        assert_eq!(
            (monthly.start, monthly.end),
            (day("2026-06-01"), day("2026-06-30"))
        );
        assert_eq!(monthly.due_at, utc("2026-06-30T23:00:00Z"));
    }

    #[test]
    fn the_nth_working_day_skips_weekends_and_bank_holidays() {
        // January 2027: Friday 1st is New Year's Day, so the 1st working day is Monday 4th and
        // the 3rd is Wednesday 6th.
        let before = due(Cadence::MonthlyOnWorkingDay(3), "2027-01-05T12:00:00Z");
        assert_eq!(before.start, day("2026-11-01"), "December's is not due yet");
        let on = due(Cadence::MonthlyOnWorkingDay(3), "2027-01-06T00:00:00Z");
        assert_eq!((on.start, on.end), (day("2026-12-01"), day("2026-12-31")));
        assert_eq!(on.due_at, utc("2027-01-06T00:00:00Z"));
    }

    #[test]
    fn working_day_belongs_only_to_its_cadence() {
        assert!(Cadence::parse("monthly_working_day", None).is_err());
        assert!(Cadence::parse("monthly_working_day", Some(24)).is_err());
        assert!(Cadence::parse("weekly", Some(3)).is_err());
        assert_eq!(
            Cadence::parse("monthly_working_day", Some(10)).unwrap(),
            Cadence::MonthlyOnWorkingDay(10)
        );
    }
}
