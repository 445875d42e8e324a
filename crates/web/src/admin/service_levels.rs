//! A read-only view of the rules in force for incidents: the priority matrix, the response and
//! resolution targets per priority, and the business calendar they are measured on (working
//! days and hours, the bank holidays of this year and next, extra closures). Everything shown
//! is read from the incident service's policy, so the page cannot disagree with the clocks.

use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use dsms_api::ApiState;
use dsms_incident::{BusinessCalendar, ClockHours, Impact, Incidents, Priority, Urgency, calendar};

use super::{ADMINISTRATION, Acting, Answer};
use crate::nav::{Area, Menu};
use crate::page::{Caching, show};
use crate::session::WebSession;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/service-levels", web::get().to(page));
}

struct TargetRow {
    priority: u8,
    response: String,
    resolution: String,
    hours: &'static str,
}

struct Holiday {
    date: String,
    name: &'static str,
}

struct Year {
    year: i32,
    holidays: Vec<Holiday>,
    cancelled: Vec<Holiday>,
    closures: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/service_levels.html")]
struct ServiceLevelsPage {
    csrf_token: String,
    menu: Menu,
    /// `matrix[impact - 1][urgency - 1]`.
    matrix: Vec<(u8, Vec<u8>)>,
    targets: Vec<TargetRow>,
    at_risk_percent: u32,
    reopen_window: String,
    working_days: String,
    working_hours: String,
    years: Vec<Year>,
}

/// How long a working day of `calendar` is, measured on its next working day after `from`.
/// The calendar keeps its hours to itself; measuring them through its own arithmetic shows
/// exactly what the SLA clocks count.
fn working_day(
    calendar: &BusinessCalendar,
    from: DateTime<Utc>,
) -> Option<(DateTime<Utc>, Duration)> {
    let mut day = from.date_naive().succ_opt()?;
    for _ in 0..366 {
        if calendar.is_working_day(day) {
            let midnight = day.and_hms_opt(0, 0, 0)?.and_utc();
            let opens =
                calendar.add_working_time(midnight, Duration::seconds(1)) - Duration::seconds(1);
            let length = calendar.working_time_between(midnight, midnight + Duration::days(1));
            return Some((opens, length));
        }
        day = day.succ_opt()?;
    }
    None
}

/// `amount` as people say it, counting working days of `day_length` for working-hours clocks.
fn span(amount: Duration, hours: ClockHours, day_length: Duration) -> String {
    let unit = |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let working = hours == ClockHours::WorkingHours;
    let minutes = amount.num_minutes();
    if working
        && day_length > Duration::zero()
        && amount.num_seconds() % day_length.num_seconds() == 0
    {
        unit(
            amount.num_seconds() / day_length.num_seconds(),
            "working day",
            "working days",
        )
    } else if minutes % 60 == 0 {
        let h = minutes / 60;
        if working {
            unit(h, "working hour", "working hours")
        } else {
            unit(h, "hour", "hours")
        }
    } else if working {
        unit(minutes, "working minute", "working minutes")
    } else {
        unit(minutes, "minute", "minutes")
    }
}

/// The weekdays the calendar works on: those with at least one working day in `year`.
fn working_weekdays(calendar: &BusinessCalendar, year: i32) -> Vec<Weekday> {
    let days: Vec<NaiveDate> = NaiveDate::from_ymd_opt(year, 1, 1)
        .map(|first| first.iter_days().take_while(|d| d.year() == year).collect())
        .unwrap_or_default();
    [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ]
    .into_iter()
    .filter(|w| {
        days.iter()
            .any(|d| d.weekday() == *w && calendar.is_working_day(*d))
    })
    .collect()
}

fn year(calendar: &BusinessCalendar, year: i32, weekdays: &[Weekday]) -> Year {
    let (kept, cancelled): (Vec<_>, Vec<_>) = calendar::bank_holidays(year)
        .into_iter()
        .partition(|h| calendar.is_bank_holiday(h.date));
    let holiday = |h: calendar::BankHoliday| Holiday {
        date: h.date.format("%A %-d %B %Y").to_string(),
        name: h.name,
    };
    let closures = NaiveDate::from_ymd_opt(year, 1, 1)
        .map(|first| {
            first
                .iter_days()
                .take_while(|d| d.year() == year)
                .filter(|d| {
                    weekdays.contains(&d.weekday())
                        && !calendar.is_bank_holiday(*d)
                        && !calendar.is_working_day(*d)
                })
                .map(|d| d.format("%A %-d %B %Y").to_string())
                .collect()
        })
        .unwrap_or_default();
    Year {
        year,
        holidays: kept.into_iter().map(holiday).collect(),
        cancelled: cancelled.into_iter().map(holiday).collect(),
        closures,
    }
}

async fn page(
    session: WebSession,
    state: web::Data<ApiState>,
    incidents: web::Data<Incidents>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.require_any(ADMINISTRATION)?;
    let policy = incidents.policy();
    let calendar = &policy.calendar;
    let now = state.clock.now();
    let this_year = now.year();
    let measured = working_day(calendar, now);
    let day_length = measured.map_or(Duration::zero(), |(_, length)| length);
    let matrix = (1..=4u8)
        .map(|i| {
            let row = (1..=4u8)
                .map(
                    |u| match (Impact::parse(i64::from(i)), Urgency::parse(i64::from(u))) {
                        (Ok(impact), Ok(urgency)) => policy.matrix.priority(impact, urgency).get(),
                        _ => 0,
                    },
                )
                .collect();
            (i, row)
        })
        .collect();
    let targets = (1..=5u8)
        .filter_map(|p| Priority::parse(i64::from(p)).ok())
        .map(|priority| {
            let t = policy.targets(priority);
            TargetRow {
                priority: priority.get(),
                response: span(t.response, t.hours, day_length),
                resolution: span(t.resolution, t.hours, day_length),
                hours: match t.hours {
                    ClockHours::AroundTheClock => "Around the clock",
                    ClockHours::WorkingHours => "Working hours",
                },
            }
        })
        .collect();
    let weekdays = working_weekdays(calendar, this_year);
    let page = ServiceLevelsPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Administration),
        matrix,
        targets,
        at_risk_percent: (policy.at_risk_fraction * 100.0).round() as u32,
        reopen_window: span(policy.reopen_window, ClockHours::WorkingHours, day_length),
        working_days: weekdays
            .iter()
            .map(|w| weekday_name(*w))
            .collect::<Vec<_>>()
            .join(", "),
        working_hours: match measured {
            // The domain's calendar is England and Wales; people read its hours in UK time.
            Some((opens, length)) => {
                let london = |t: DateTime<Utc>| {
                    t.with_timezone(&chrono_tz::Europe::London)
                        .format("%H:%M")
                        .to_string()
                };
                format!(
                    "{} to {} UK time ({} a day)",
                    london(opens),
                    london(opens + length),
                    span(length, ClockHours::AroundTheClock, Duration::zero())
                )
            }
            None => "None".to_owned(),
        },
        years: [this_year, this_year + 1]
            .into_iter()
            .map(|y| year(calendar, y, &weekdays))
            .collect(),
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::Private,
        &page,
    )?)
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_calendar_reads_as_the_sec_defaults() {
        let calendar = BusinessCalendar::england_and_wales();
        // A Friday in winter: the next working day is Monday 30 November 2026.
        let friday = NaiveDate::from_ymd_opt(2026, 11, 27)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .expect("date")
            .and_utc();
        let (opens, length) = working_day(&calendar, friday).expect("a working day");
        assert_eq!(opens.to_rfc3339(), "2026-11-30T08:00:00+00:00");
        assert_eq!(length, Duration::hours(10));
        assert_eq!(
            working_weekdays(&calendar, 2026),
            [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri
            ]
        );
        let working = ClockHours::WorkingHours;
        assert_eq!(span(Duration::hours(30), working, length), "3 working days");
        assert_eq!(span(Duration::hours(2), working, length), "2 working hours");
        assert_eq!(
            span(Duration::minutes(15), ClockHours::AroundTheClock, length),
            "15 minutes"
        );
    }
}
