//! The SLA arithmetic every incident read and write does: working time on the UK business
//! calendar, and reading a clock with a pause.

use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use dsms_core::calendar::BusinessCalendar;
use dsms_core::sla::{ClockHours, SlaClock};

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("a valid instant")
        .with_timezone(&Utc)
}

fn calendar(c: &mut Criterion) {
    let calendar = BusinessCalendar::england_and_wales();
    // Friday evening before a bank-holiday weekend: the search crosses closed days.
    let from = utc("2026-08-28T17:30:00Z");
    c.bench_function("add_working_time 5 working days", |b| {
        b.iter(|| calendar.add_working_time(black_box(from), black_box(Duration::hours(50))))
    });
    c.bench_function("working_time_between 30 days", |b| {
        b.iter(|| {
            calendar.working_time_between(black_box(from), black_box(from + Duration::days(30)))
        })
    });
    let clock = SlaClock {
        target: Duration::hours(30),
        hours: ClockHours::WorkingHours,
        started_at: from,
        pauses: vec![(from + Duration::hours(20), Some(from + Duration::hours(70)))],
        stopped_at: None,
    };
    c.bench_function("read a paused working-hours clock", |b| {
        b.iter(|| clock.read(&calendar, black_box(from + Duration::days(6)), 0.75))
    });
}

criterion_group!(benches, calendar);
criterion_main!(benches);
