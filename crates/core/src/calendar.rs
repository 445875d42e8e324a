//! The UK business calendar: working hours in Europe/London on working days, England and Wales
//! bank holidays computed for any year (Easter included, with weekend substitution), and
//! configured extra closures or cancelled holidays.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// A bank holiday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankHoliday {
    /// The day it is observed (after weekend substitution).
    pub date: NaiveDate,
    /// Its name.
    pub name: &'static str,
}

/// A calendar that cannot work as configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// Opening must be before closing.
    #[error("working hours must open before they close ({opens} to {closes})")]
    EmptyDay {
        /// Opening time.
        opens: NaiveTime,
        /// Closing time.
        closes: NaiveTime,
    },
    /// At least one weekday must be a working day.
    #[error("at least one weekday must be a working day")]
    NoWorkingDays,
}

/// Working hours on working days in one time zone, minus bank holidays and extra closures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    zone: Tz,
    opens: NaiveTime,
    closes: NaiveTime,
    /// Indexed by days from Monday.
    working_days: [bool; 7],
    extra_closures: BTreeSet<NaiveDate>,
    cancelled_holidays: BTreeSet<NaiveDate>,
}

/// No search for working time runs past this many days; a calendar with at least one working
/// weekday always finds some well within it.
const SEARCH_LIMIT_DAYS: i64 = 3_660;

impl BusinessCalendar {
    /// A calendar in `zone` open from `opens` to `closes` on `working_days`, closed on England
    /// and Wales bank holidays (except `cancelled_holidays`, e.g. one moved by proclamation) and
    /// on `extra_closures` (e.g. a one-off holiday).
    pub fn new(
        zone: Tz,
        opens: NaiveTime,
        closes: NaiveTime,
        working_days: impl IntoIterator<Item = Weekday>,
        extra_closures: impl IntoIterator<Item = NaiveDate>,
        cancelled_holidays: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Self, CalendarError> {
        if opens >= closes {
            return Err(CalendarError::EmptyDay { opens, closes });
        }
        let mut days = [false; 7];
        for day in working_days {
            days[day.num_days_from_monday() as usize] = true;
        }
        let working_days = days;
        if !working_days.contains(&true) {
            return Err(CalendarError::NoWorkingDays);
        }
        Ok(Self {
            zone,
            opens,
            closes,
            working_days,
            extra_closures: extra_closures.into_iter().collect(),
            cancelled_holidays: cancelled_holidays.into_iter().collect(),
        })
    }

    /// The SEC default: 08:00–18:00 Europe/London, Monday to Friday, England and Wales bank
    /// holidays.
    pub fn england_and_wales() -> Self {
        Self {
            zone: chrono_tz::Europe::London,
            opens: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
            closes: NaiveTime::from_hms_opt(18, 0, 0).unwrap_or_default(),
            working_days: [true, true, true, true, true, false, false],
            extra_closures: BTreeSet::new(),
            cancelled_holidays: BTreeSet::new(),
        }
    }

    /// True when `date` is a working day: a working weekday that is neither a bank holiday nor
    /// an extra closure.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.working_days[date.weekday().num_days_from_monday() as usize]
            && !self.extra_closures.contains(&date)
            && !self.is_bank_holiday(date)
    }

    /// True when `date` is an England and Wales bank holiday in this calendar.
    pub fn is_bank_holiday(&self, date: NaiveDate) -> bool {
        !self.cancelled_holidays.contains(&date)
            && bank_holidays(date.year()).iter().any(|h| h.date == date)
    }

    /// The working window of `date` in UTC, if it is a working day.
    fn window(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.is_working_day(date) {
            return None;
        }
        Some((
            self.instant(date, self.opens),
            self.instant(date, self.closes),
        ))
    }

    /// `date` at local `time`, in UTC. Times that do not exist (the spring-forward gap) move to
    /// the later offset; ambiguous ones (autumn) take the earlier.
    fn instant(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let local = date.and_time(time);
        match self.zone.from_local_datetime(&local).earliest() {
            Some(t) => t.with_timezone(&Utc),
            None => self
                .zone
                .from_local_datetime(&(local + Duration::hours(1)))
                .earliest()
                .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc)),
        }
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.zone).date_naive()
    }

    /// Working time between `from` and `to` (zero if `to` is not after `from`).
    pub fn working_time_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        let mut total = Duration::zero();
        let mut date = self.local_date(from);
        let last = self.local_date(to);
        while date <= last {
            if let Some((open, close)) = self.window(date) {
                let start = open.max(from);
                let end = close.min(to);
                if end > start {
                    total += end - start;
                }
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
        total
    }

    /// The instant when `amount` of working time has passed since `from`. A zero amount
    /// answers `from` itself.
    pub fn add_working_time(&self, from: DateTime<Utc>, amount: Duration) -> DateTime<Utc> {
        if amount <= Duration::zero() {
            return from;
        }
        let mut remaining = amount;
        let mut date = self.local_date(from);
        for _ in 0..SEARCH_LIMIT_DAYS {
            if let Some((open, close)) = self.window(date) {
                let start = open.max(from);
                if close > start {
                    let available = close - start;
                    if remaining <= available {
                        return start + remaining;
                    }
                    remaining -= available;
                }
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
        DateTime::<Utc>::MAX_UTC
    }

    /// The `n`th working day (1-based) of a month, e.g. for reports due by the 10th working day.
    pub fn nth_working_day(&self, year: i32, month: u32, n: u32) -> Option<NaiveDate> {
        let mut date = NaiveDate::from_ymd_opt(year, month, 1)?;
        let mut seen = 0;
        while date.month() == month {
            if self.is_working_day(date) {
                seen += 1;
                if seen == n {
                    return Some(date);
                }
            }
            date = date.succ_opt()?;
        }
        None
    }
}

/// Easter Sunday in the Gregorian calendar (the anonymous Meeus/Jones/Butcher algorithm).
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
}

fn first_weekday(year: i32, month: u32, weekday: Weekday) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, 1)
}

fn last_weekday(year: i32, month: u32, weekday: Weekday) -> Option<NaiveDate> {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let mut date = NaiveDate::from_ymd_opt(next_year, next_month, 1)?.pred_opt()?;
    while date.weekday() != weekday {
        date = date.pred_opt()?;
    }
    Some(date)
}

/// The next weekday on or after `date`.
fn on_or_after_weekday(mut date: NaiveDate) -> NaiveDate {
    while matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        date = date.succ_opt().unwrap_or(date);
    }
    date
}

/// The England and Wales bank holidays of `year` under the standing rules (Banking and
/// Financial Dealings Act 1971 and the usual proclamations), weekend days substituted by the
/// next weekday. One-off changes (a moved early May holiday, a jubilee) are configuration:
/// cancelled holidays and extra closures.
pub fn bank_holidays(year: i32) -> Vec<BankHoliday> {
    let mut days = Vec::new();
    let mut push = |date: Option<NaiveDate>, name: &'static str| {
        if let Some(date) = date {
            days.push(BankHoliday { date, name });
        }
    };
    push(
        NaiveDate::from_ymd_opt(year, 1, 1).map(on_or_after_weekday),
        "New Year's Day",
    );
    let easter = easter_sunday(year);
    push(
        easter.and_then(|e| e.checked_sub_days(chrono::Days::new(2))),
        "Good Friday",
    );
    push(
        easter.and_then(|e| e.checked_add_days(chrono::Days::new(1))),
        "Easter Monday",
    );
    push(
        first_weekday(year, 5, Weekday::Mon),
        "Early May bank holiday",
    );
    push(last_weekday(year, 5, Weekday::Mon), "Spring bank holiday");
    push(last_weekday(year, 8, Weekday::Mon), "Summer bank holiday");
    // Christmas and Boxing Day substitute in turn: if Christmas falls on a weekend it moves to
    // the next free weekday, and Boxing Day to the weekday after that.
    if let (Some(christmas), Some(boxing)) = (
        NaiveDate::from_ymd_opt(year, 12, 25),
        NaiveDate::from_ymd_opt(year, 12, 26),
    ) {
        let christmas_observed = on_or_after_weekday(christmas);
        let mut boxing_observed = on_or_after_weekday(boxing);
        if boxing_observed <= christmas_observed {
            boxing_observed = on_or_after_weekday(christmas_observed.succ_opt().unwrap_or(boxing));
        }
        push(Some(christmas_observed), "Christmas Day");
        push(Some(boxing_observed), "Boxing Day");
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn dates(year: i32) -> Vec<NaiveDate> {
        bank_holidays(year).iter().map(|h| h.date).collect()
    }

    #[test]
    fn easter_matches_known_dates() {
        for (year, month, day) in [
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2038, 4, 25),
            (2285, 3, 22),
        ] {
            assert_eq!(easter_sunday(year), Some(date(year, month, day)), "{year}");
        }
    }

    #[test]
    fn bank_holidays_match_the_published_lists() {
        // gov.uk's published England and Wales dates.
        assert_eq!(
            dates(2026),
            [
                date(2026, 1, 1),
                date(2026, 4, 3),
                date(2026, 4, 6),
                date(2026, 5, 4),
                date(2026, 5, 25),
                date(2026, 8, 31),
                date(2026, 12, 25),
                date(2026, 12, 28),
            ]
        );
        // 2021: Christmas on Saturday, Boxing Day on Sunday -> Monday 27 and Tuesday 28.
        let y2021 = dates(2021);
        assert!(y2021.contains(&date(2021, 12, 27)) && y2021.contains(&date(2021, 12, 28)));
        // 2022: Christmas on Sunday -> Boxing Day Monday 26, Christmas substitute Tuesday 27.
        let y2022 = dates(2022);
        assert!(y2022.contains(&date(2022, 12, 26)) && y2022.contains(&date(2022, 12, 27)));
        // 2023: New Year's Day on Sunday -> Monday 2 January.
        assert!(dates(2023).contains(&date(2023, 1, 2)));
        // 2027: Christmas Saturday, Boxing Day Sunday.
        let y2027 = dates(2027);
        assert!(y2027.contains(&date(2027, 12, 27)) && y2027.contains(&date(2027, 12, 28)));
        assert!(y2027.contains(&date(2027, 3, 26)) && y2027.contains(&date(2027, 3, 29)));
    }

    #[test]
    fn one_off_changes_are_configuration() {
        // 2020: the early May holiday moved to Friday 8 May for VE Day.
        let calendar = BusinessCalendar::new(
            chrono_tz::Europe::London,
            NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
            [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            [date(2020, 5, 8)],
            [date(2020, 5, 4)],
        )
        .unwrap();
        assert!(calendar.is_working_day(date(2020, 5, 4)));
        assert!(!calendar.is_working_day(date(2020, 5, 8)));
    }

    #[test]
    fn working_time_skips_nights_weekends_and_bank_holidays() {
        let c = BusinessCalendar::england_and_wales();
        // Thursday 2 April 2026 17:00 BST plus 3 working hours: 1 h on Thursday, then Good
        // Friday, the weekend and Easter Monday are closed: Tuesday 7 April 10:00 BST.
        let start = utc("2026-04-02T16:00:00Z");
        let due = c.add_working_time(start, Duration::hours(3));
        assert_eq!(due, utc("2026-04-07T09:00:00Z"));
        assert_eq!(c.working_time_between(start, due), Duration::hours(3));
    }

    #[test]
    fn working_hours_follow_british_summer_time() {
        let c = BusinessCalendar::england_and_wales();
        // Friday 27 March 2026 (GMT) 17:30 + 1 h: 30 min on Friday, then Monday 30 March is BST,
        // opening at 08:00 BST = 07:00 UTC, so 07:30 UTC.
        let due = c.add_working_time(utc("2026-03-27T17:30:00Z"), Duration::hours(1));
        assert_eq!(due, utc("2026-03-30T07:30:00Z"));
    }

    #[test]
    fn outside_hours_starts_at_the_next_opening() {
        let c = BusinessCalendar::england_and_wales();
        // Saturday 28 November 2026, 1 working day (10 h): all of Monday, due 18:00 GMT.
        let due = c.add_working_time(utc("2026-11-28T12:00:00Z"), Duration::hours(10));
        assert_eq!(due, utc("2026-11-30T18:00:00Z"));
        assert_eq!(
            c.working_time_between(utc("2026-11-28T00:00:00Z"), utc("2026-11-30T09:00:00Z")),
            Duration::hours(1)
        );
    }

    #[test]
    fn nth_working_day_counts_past_holidays() {
        let c = BusinessCalendar::england_and_wales();
        // January 2026: Thursday 1st is New Year's Day; the 10th working day is Thursday 15th.
        assert_eq!(c.nth_working_day(2026, 1, 1), Some(date(2026, 1, 2)));
        assert_eq!(c.nth_working_day(2026, 1, 10), Some(date(2026, 1, 15)));
        assert_eq!(c.nth_working_day(2026, 2, 40), None);
    }

    #[test]
    fn bad_calendars_are_refused() {
        let t = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
        assert!(
            BusinessCalendar::new(
                chrono_tz::Europe::London,
                t(18),
                t(8),
                [Weekday::Mon],
                [],
                []
            )
            .is_err()
        );
        assert!(BusinessCalendar::new(chrono_tz::Europe::London, t(8), t(18), [], [], []).is_err());
    }
}
