//! Scheduled reports: emailed as CSV through the outbox, exactly once per period even when
//! several server processes run the delivery at the same moment.

use std::sync::{Arc, Barrier};

use diesel::prelude::*;
use dsms_reporting::{NewSubscription, ReportError, ReportPolicy, Reports};
use dsms_store::schema::{outbox, report_deliveries};

use crate::support::*;

fn monthly(report: &str) -> NewSubscription {
    NewSubscription {
        report: report.into(),
        cadence: "monthly".into(),
        ..NewSubscription::default()
    }
}

fn emails(w: &World) -> Vec<serde_json::Value> {
    w.db.read_blocking(|conn| {
        outbox::table
            .filter(outbox::kind.eq("email"))
            .order(outbox::id)
            .select(outbox::payload)
            .load::<String>(conn)
            .map_err(dsms_store::StoreError::from)
    })
    .expect("outbox")
    .iter()
    .map(|p| serde_json::from_str(p).expect("json"))
    .collect()
}

#[test]
fn two_processes_racing_send_each_period_once() {
    let w = World::new();
    w.clock.set(utc("2026-11-15T12:00:00Z"));
    w.reports
        .subscribe(&w.northern_reporter, monthly("sla-performance"))
        .expect("subscribed");
    // Nothing is due for a period that ended before the subscription.
    assert_eq!(w.reports.deliver_due().expect("pass").sent, 0);

    w.clock.set(utc("2026-12-01T00:30:00Z"));
    // Two server processes: separate pools on the same database, at the same moment.
    let processes: Vec<Reports> = (0..2)
        .map(|_| {
            Reports::new(
                connect(w.test_db.url()),
                w.clock.clone(),
                ReportPolicy::default(),
            )
        })
        .collect();
    let start = Arc::new(Barrier::new(2));
    let sent: usize = std::thread::scope(|scope| {
        let runs: Vec<_> = processes
            .iter()
            .map(|p| {
                let start = start.clone();
                scope.spawn(move || {
                    start.wait();
                    p.deliver_due().expect("pass").sent
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().expect("thread")).sum()
    });
    assert_eq!(sent, 1);
    assert_eq!(
        w.reports.deliver_due().expect("pass").sent,
        0,
        "already sent"
    );
    let sent = emails(&w);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["to"][0], "reporter@northern.example");
    let text = sent[0]["text_body"].as_str().unwrap_or_default();
    assert!(
        text.contains("/reports/subscriptions"),
        "the email says where a person cancels it: {}",
        sent[0]
    );
    let attachment = &sent[0]["attachments"][0];
    assert_eq!(attachment["filename"], "sla-performance-2026-11-01.csv");
    assert_eq!(attachment["content_type"], "text/csv; charset=utf-8");
    let content = attachment["content"].as_str().expect("csv text");
    let mut reader = csv::Reader::from_reader(content.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(
        rows.len(),
        7,
        "November only: five priorities and two measures"
    );
    let band = rows.iter().find(|r| &r[1] == "1-2").expect("1-2");
    // Northern's own November: #1 met, #2 missed.
    assert_eq!(
        (&band[0], &band[2], &band[3], &band[4]),
        ("2026-11", "2", "1", "1")
    );
    let deliveries: i64 =
        w.db.read_blocking(|conn| {
            report_deliveries::table
                .count()
                .get_result(conn)
                .map_err(dsms_store::StoreError::from)
        })
        .expect("count");
    assert_eq!(deliveries, 1);

    // The next month brings the next period, once.
    w.clock.set(utc("2027-01-01T09:00:00Z"));
    assert_eq!(w.reports.deliver_due().expect("pass").sent, 1);
    assert_eq!(w.reports.deliver_due().expect("pass").sent, 0);
    assert_eq!(emails(&w).len(), 2);
}

#[test]
fn a_working_day_cadence_waits_for_the_nth_working_day() {
    let w = World::new();
    w.clock.set(utc("2026-11-15T12:00:00Z"));
    w.reports
        .subscribe(
            &w.northern_reporter,
            NewSubscription {
                report: "arrivals-resolutions".into(),
                cadence: "monthly_working_day".into(),
                working_day: Some(3),
                ..NewSubscription::default()
            },
        )
        .expect("subscribed");
    // December 2026: Tuesday 1st, Wednesday 2nd, Thursday 3rd is the third working day.
    w.clock.set(utc("2026-12-02T12:00:00Z"));
    assert_eq!(w.reports.deliver_due().expect("pass").sent, 0);
    w.clock.set(utc("2026-12-03T00:00:00Z"));
    assert_eq!(w.reports.deliver_due().expect("pass").sent, 1);
    let sent = emails(&w);
    let content = sent[0]["attachments"][0]["content"].as_str().expect("csv");
    assert!(
        content.starts_with("period,raised,resolved,net_change\r\n2026-11,5,4,1\r\n"),
        "{content}"
    );
}

#[test]
fn subscriptions_are_checked_listed_and_cancelled_by_their_owner_only() {
    let w = World::new();
    let refuse =
        |new: NewSubscription| match w.reports.subscribe(&w.northern_reporter, new).unwrap_err() {
            ReportError::Invalid(errors) => {
                errors.0.into_iter().map(|e| e.field).collect::<Vec<_>>()
            }
            other => panic!("{other:?}"),
        };
    assert_eq!(refuse(monthly("league-table")), ["report"]);
    assert_eq!(
        refuse(NewSubscription {
            cadence: "hourly".into(),
            ..monthly("backlog")
        }),
        ["cadence"]
    );
    assert_eq!(
        refuse(NewSubscription {
            cadence: "monthly_working_day".into(),
            ..monthly("backlog")
        }),
        ["working_day"]
    );
    let mut with_period = monthly("backlog");
    with_period.parameters.from = Some("2026-01-01".into());
    assert_eq!(refuse(with_period), ["parameters"]);
    let mut bad_priority = monthly("backlog");
    bad_priority.parameters.priority = Some("9".into());
    assert_eq!(refuse(bad_priority), ["parameters.priority"]);

    let token = w.token(w.northern);
    assert!(matches!(
        w.reports.subscribe(&token, monthly("backlog")).unwrap_err(),
        ReportError::Forbidden(_)
    ));
    let mine = w
        .reports
        .subscribe(&w.northern_reporter, monthly("backlog"))
        .expect("ok");
    assert_eq!(
        w.reports
            .subscriptions(&w.northern_reporter)
            .expect("list")
            .len(),
        1
    );
    assert!(
        w.reports
            .subscriptions(&w.southern_reporter)
            .expect("list")
            .is_empty()
    );
    assert!(matches!(
        w.reports
            .unsubscribe(&w.southern_reporter, mine.id)
            .unwrap_err(),
        ReportError::NotFound
    ));
    w.reports
        .unsubscribe(&w.northern_reporter, mine.id)
        .expect("cancelled");
    assert!(
        w.reports
            .subscriptions(&w.northern_reporter)
            .expect("list")
            .is_empty()
    );
}
