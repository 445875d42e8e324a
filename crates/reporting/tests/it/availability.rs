//! The availability report against samples recorded minute by minute on 4 January 2027 (GMT),
//! "now" being 12:00, so the minutes measured run from the first sample, 10:00, to 11:58.
//!
//! Each minute gets two samples (two server instances), of two readiness checks and ten
//! requests each, except: 10:10-10:14 nothing recorded (5 minutes down); 10:20 every check
//! failed (down); 10:30 one instance's checks failed, the other's passed (up); 10:40 12 server
//! errors of 20 requests (down); 10:50 10 of 20 (not more than half: up). Planned maintenance
//! 11:00-11:30 leaves out 30 minutes, including the gap at 11:05-11:09 and the failure at 11:15.
//! A cancelled window over 10:20-10:25 counts for nothing.
//!
//! Measured: 119 - 30 = 89 minutes; down 5 + 1 + 1 = 7; available 82 / 89.

use chrono::Duration;
use dsms_core::{OrganisationKind, Principal, Role};
use dsms_reporting::{AvailabilitySample, NewMaintenanceWindow, ReportError, ReportName};

use crate::support::*;

fn sample(checks_failed: i64, server_errors: i64) -> AvailabilitySample {
    AvailabilitySample {
        checks: 2,
        checks_failed,
        requests: 10,
        server_errors,
    }
}

fn admin(w: &World) -> Principal {
    let operator = w.manager.organisation_id;
    Principal::person(
        9_999,
        operator,
        OrganisationKind::Operator,
        vec![Role::DccAdmin],
    )
    .named("Admin")
}

fn seed(w: &World) {
    let start = utc("2027-01-04T10:00:00Z");
    for minute in 0..=119 {
        let at = start + Duration::minutes(minute);
        let clock = at.format("%H:%M").to_string();
        let (first, second) = match clock.as_str() {
            "10:10" | "10:11" | "10:12" | "10:13" | "10:14" | "11:05" | "11:06" | "11:07"
            | "11:08" | "11:09" => continue,
            "10:20" | "11:15" => (sample(2, 0), sample(2, 0)),
            "10:30" => (sample(2, 0), sample(0, 0)),
            "10:40" => (sample(0, 6), sample(0, 6)),
            "10:50" => (sample(0, 5), sample(0, 5)),
            _ => (sample(0, 0), sample(0, 0)),
        };
        for (offset, s) in [(5, first), (35, second)] {
            w.reports
                .record_availability(at + Duration::seconds(offset), s)
                .expect("sample");
        }
    }
    let admin = admin(w);
    w.reports
        .schedule_maintenance(
            &admin,
            NewMaintenanceWindow {
                starts_at: utc("2027-01-04T11:00:00Z"),
                ends_at: utc("2027-01-04T11:30:00Z"),
                reason: "Database upgrade".into(),
            },
        )
        .expect("window");
    let cancelled = w
        .reports
        .schedule_maintenance(
            &admin,
            NewMaintenanceWindow {
                starts_at: utc("2027-01-04T10:20:00Z"),
                ends_at: utc("2027-01-04T10:25:00Z"),
                reason: "Called off".into(),
            },
        )
        .expect("window");
    w.reports
        .cancel_maintenance(&admin, cancelled.id)
        .expect("cancelled");
}

#[test]
fn availability_counts_unplanned_downtime_minutes_by_hand() {
    let w = World::new();
    seed(&w);
    let t = w.run(
        &w.manager,
        ReportName::Availability,
        &[("from", "2026-12-01"), ("to", "2027-01-04")],
    );
    let jan = [("period", "2027-01")];
    assert_eq!(int(&t, &jan, "measured_minutes"), 89);
    assert_eq!(int(&t, &jan, "maintenance_minutes"), 30);
    assert_eq!(int(&t, &jan, "downtime_minutes"), 7);
    approx(decimal(&t, &jan, "availability"), 82.0 / 89.0);
    // Before the first sample nothing was measured.
    let dec = [("period", "2026-12")];
    assert_eq!(int(&t, &dec, "measured_minutes"), 0);
    assert_eq!(decimal(&t, &dec, "availability"), None);
    let csv_text = t.to_csv().expect("csv");
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(
        records[1].iter().collect::<Vec<_>>(),
        ["2027-01", "89", "30", "7", "0.9213"]
    );
}

#[test]
fn a_maintenance_window_only_counts_while_it_is_not_cancelled() {
    let w = World::new();
    seed(&w);
    let admin = admin(&w);
    let windows = w.reports.maintenance_windows(&admin, None).expect("list");
    assert_eq!(windows.len(), 2);
    let upgrade = windows
        .iter()
        .find(|w| w.reason == "Database upgrade")
        .expect("upgrade");
    w.reports
        .cancel_maintenance(&admin, upgrade.id)
        .expect("cancel");
    let t = w.run(
        &w.manager,
        ReportName::Availability,
        &[
            ("from", "2027-01-04"),
            ("to", "2027-01-04"),
            ("granularity", "day"),
        ],
    );
    let day = [("period", "2027-01-04")];
    // Without the window: 119 minutes, down 7 + 5 missing + 1 failed at 11:15.
    assert_eq!(int(&t, &day, "measured_minutes"), 119);
    assert_eq!(int(&t, &day, "maintenance_minutes"), 0);
    assert_eq!(int(&t, &day, "downtime_minutes"), 13);
}

#[test]
fn availability_is_the_same_for_every_organisation() {
    let w = World::new();
    seed(&w);
    let q = [("from", "2027-01-01"), ("to", "2027-01-04")];
    let staff = w.run(&w.manager, ReportName::Availability, &q);
    let user = w.run(&w.southern_reporter, ReportName::Availability, &q);
    assert_eq!(staff.rows, user.rows);
    assert!(!user.to_csv().expect("csv").contains("Northern"));
}

#[test]
fn only_the_operators_administrators_plan_maintenance() {
    let w = World::new();
    let window = || NewMaintenanceWindow {
        starts_at: utc("2027-01-05T10:00:00Z"),
        ends_at: utc("2027-01-05T11:00:00Z"),
        reason: "Patch".into(),
    };
    for who in [&w.manager, &w.southern_reporter] {
        let refused = w.reports.schedule_maintenance(who, window());
        assert!(
            matches!(refused, Err(ReportError::Forbidden(_))),
            "{refused:?}"
        );
    }
    let backwards = w.reports.schedule_maintenance(
        &admin(&w),
        NewMaintenanceWindow {
            ends_at: utc("2027-01-05T09:00:00Z"),
            ..window()
        },
    );
    assert!(
        matches!(backwards, Err(ReportError::Invalid(_))),
        "{backwards:?}"
    );
    let made = w
        .reports
        .schedule_maintenance(&admin(&w), window())
        .expect("made");
    assert_eq!(made.created_by_name, "Admin");
    let refused = w.reports.cancel_maintenance(&w.northern_reporter, made.id);
    assert!(matches!(refused, Err(ReportError::Forbidden(_))));
    let seen = w
        .reports
        .maintenance_windows(&w.northern_reporter, Some(utc("2027-01-05T00:00:00Z")))
        .expect("listed");
    assert_eq!(seen.len(), 1);
}
