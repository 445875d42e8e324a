//! Every report's figures on the fixed data set, worked out by hand in `support.rs`.

use chrono::Duration;
use diesel::prelude::*;
use dsms_reporting::{ReportName, Value};
use dsms_store::schema::incidents;

use crate::support::*;

#[test]
fn sla_performance_counts_met_and_missed_per_month_and_sec_measure() {
    let w = World::new();
    let t = w.run(&w.manager, ReportName::SlaPerformance, NOV_DEC);
    assert_eq!(
        t.rows.len(),
        2 * 7,
        "five priorities and two measures per month"
    );
    let nov = |p: &'static str| [("period", "2026-11"), ("priorities", p)];
    assert_eq!(int(&t, &nov("1"), "met"), 2);
    assert_eq!(int(&t, &nov("1"), "missed"), 0);
    // Nine hours round the clock against a target of eight.
    assert_eq!(int(&t, &nov("2"), "missed"), 1);
    approx(decimal(&t, &nov("2"), "share_met"), 0.0);
    assert_eq!(int(&t, &nov("3"), "resolved"), 0);
    assert_eq!(decimal(&t, &nov("3"), "share_met"), None);
    // Met only because four working days awaiting the user do not count.
    assert_eq!(int(&t, &nov("4"), "met"), 1);
    // Resolved, reopened, resolved again within ten working days.
    assert_eq!(int(&t, &nov("5"), "met"), 1);
    // The SEC measures: priorities 1-2 (target 100 %, minimum 85 %) and 3-5 (90 %, 80 %).
    assert_eq!(int(&t, &nov("1-2"), "resolved"), 3);
    assert_eq!(int(&t, &nov("1-2"), "met"), 2);
    assert_eq!(int(&t, &nov("1-2"), "missed"), 1);
    approx(decimal(&t, &nov("1-2"), "share_met"), 2.0 / 3.0);
    approx(decimal(&t, &nov("1-2"), "target"), 1.0);
    approx(decimal(&t, &nov("1-2"), "minimum"), 0.85);
    assert_eq!(
        cell(&t, &nov("1-2"), "outcome"),
        &Value::Text("below minimum".into())
    );
    assert_eq!(int(&t, &nov("3-5"), "met"), 2);
    assert_eq!(
        cell(&t, &nov("3-5"), "outcome"),
        &Value::Text("target met".into())
    );
    // December: two P3 incidents raised on Christmas Eve; Christmas Day and the Boxing Day
    // substitute (Monday 28th) do not count, so the target falls on Thursday 31st at 09:00.
    let dec = |p: &'static str| [("period", "2026-12"), ("priorities", p)];
    assert_eq!(int(&t, &dec("3"), "met"), 1);
    assert_eq!(int(&t, &dec("3"), "missed"), 1);
    approx(decimal(&t, &dec("3-5"), "share_met"), 0.5);
    assert_eq!(
        cell(&t, &dec("3-5"), "outcome"),
        &Value::Text("below minimum".into())
    );
    assert_eq!(int(&t, &dec("1-2"), "resolved"), 0);
    assert_eq!(cell(&t, &dec("1-2"), "outcome"), &Value::Null);
}

#[test]
fn filters_narrow_every_figure() {
    let w = World::new();
    let mut query = NOV_DEC.to_vec();
    query.push(("priority", "3"));
    let t = w.run(&w.manager, ReportName::SlaPerformance, &query);
    assert_eq!(
        int(
            &t,
            &[("period", "2026-11"), ("priorities", "1-2")],
            "resolved"
        ),
        0
    );
    assert_eq!(
        int(
            &t,
            &[("period", "2026-12"), ("priorities", "3-5")],
            "resolved"
        ),
        2
    );

    let mut query = NOV_DEC.to_vec();
    query.push(("category", "communications_hub"));
    let t = w.run(&w.manager, ReportName::ArrivalsResolutions, &query);
    assert_eq!(int(&t, &[("period", "2026-11")], "raised"), 2);
    assert_eq!(int(&t, &[("period", "2026-12")], "raised"), 1);

    let mut query = NOV_DEC.to_vec();
    query.push(("group", "second-line"));
    let t = w.run(&w.manager, ReportName::ArrivalsResolutions, &query);
    assert_eq!(int(&t, &[("period", "2026-11")], "raised"), 2);
    assert_eq!(int(&t, &[("period", "2026-12")], "resolved"), 2);
}

#[test]
fn arrivals_and_resolutions_per_month_and_per_week() {
    let w = World::new();
    let t = w.run(&w.manager, ReportName::ArrivalsResolutions, NOV_DEC);
    assert_eq!(t.rows.len(), 2);
    // The cancelled incident was raised but never resolved.
    assert_eq!(int(&t, &[("period", "2026-11")], "raised"), 6);
    assert_eq!(int(&t, &[("period", "2026-11")], "resolved"), 5);
    assert_eq!(int(&t, &[("period", "2026-11")], "net_change"), 1);
    assert_eq!(int(&t, &[("period", "2026-12")], "raised"), 3);
    assert_eq!(int(&t, &[("period", "2026-12")], "resolved"), 2);

    let weekly = w.run(
        &w.manager,
        ReportName::ArrivalsResolutions,
        &[
            ("from", "2026-11-02"),
            ("to", "2026-11-15"),
            ("granularity", "week"),
        ],
    );
    assert_eq!(int(&weekly, &[("period", "2026-11-02")], "raised"), 4);
    assert_eq!(int(&weekly, &[("period", "2026-11-02")], "resolved"), 3);
    assert_eq!(int(&weekly, &[("period", "2026-11-09")], "raised"), 1);
    assert_eq!(int(&weekly, &[("period", "2026-11-09")], "resolved"), 2);
}

#[test]
fn backlog_counts_open_incidents_by_age_band_now() {
    let w = World::new();
    let t = w.run(&w.manager, ReportName::Backlog, &[]);
    assert_eq!(int(&t, &[("priority", "3")], "open"), 1);
    assert_eq!(int(&t, &[("priority", "3")], "days_3_to_7"), 1);
    assert_eq!(int(&t, &[("priority", "4")], "open"), 1);
    assert_eq!(int(&t, &[("priority", "4")], "days_1_to_3"), 1);
    assert_eq!(int(&t, &[("priority", "all")], "open"), 2);
    assert_eq!(int(&t, &[("priority", "all")], "past_due"), 0);
    // Once the P3 incident's target passes at 18:00 it is past due.
    w.clock.advance(Duration::hours(7));
    let later = w.run(&w.manager, ReportName::Backlog, &[]);
    assert_eq!(int(&later, &[("priority", "3")], "past_due"), 1);
}

#[test]
fn response_and_resolution_times_are_means_and_medians_on_the_sla_clock() {
    let w = World::new();
    let t = w.run(&w.manager, ReportName::ResponseResolutionTimes, NOV_DEC);
    let row = |period: &'static str, p: &'static str| [("period", period), ("priority", p)];
    assert_eq!(int(&t, &row("2026-11", "1"), "resolved"), 2);
    approx(
        decimal(&t, &row("2026-11", "1"), "mean_response_minutes"),
        7.5,
    );
    approx(
        decimal(&t, &row("2026-11", "1"), "median_response_minutes"),
        7.5,
    );
    approx(
        decimal(&t, &row("2026-11", "1"), "mean_resolution_minutes"),
        150.0,
    );
    approx(
        decimal(&t, &row("2026-11", "2"), "median_resolution_minutes"),
        540.0,
    );
    // Working minutes, the time awaiting the user left out: 1 h + 8 h + 40 h + 0.5 h.
    approx(
        decimal(&t, &row("2026-11", "4"), "mean_resolution_minutes"),
        2970.0,
    );
    approx(
        decimal(&t, &row("2026-11", "4"), "mean_response_minutes"),
        30.0,
    );
    // The three hours between resolution and reopening do not count: 9 h + 1 h + 6 h + 1 h.
    approx(
        decimal(&t, &row("2026-11", "5"), "median_resolution_minutes"),
        1020.0,
    );
    approx(
        decimal(&t, &row("2026-12", "3"), "mean_response_minutes"),
        45.0,
    );
    approx(
        decimal(&t, &row("2026-12", "3"), "median_resolution_minutes"),
        1800.0,
    );
    assert_eq!(
        decimal(&t, &row("2026-12", "1"), "mean_resolution_minutes"),
        None
    );
}

#[test]
fn volumes_group_by_category_organisation_group_and_priority() {
    let w = World::new();
    let by = |by: &'static str| {
        let mut q = NOV_DEC.to_vec();
        q.push(("by", by));
        w.run(&w.manager, ReportName::Volumes, &q)
    };
    let t = by("category");
    assert_eq!(
        int(
            &t,
            &[("period", "2026-11"), ("value", "communications_hub")],
            "raised"
        ),
        2
    );
    assert_eq!(
        int(
            &t,
            &[("period", "2026-11"), ("value", "smart_meter")],
            "raised"
        ),
        3
    );
    assert_eq!(
        int(&t, &[("period", "2026-11"), ("value", "other")], "raised"),
        1
    );
    assert_eq!(
        int(
            &t,
            &[("period", "2026-12"), ("value", "smart_meter")],
            "raised"
        ),
        2
    );
    assert_eq!(t.rows.len(), 5);
    let t = by("organisation");
    assert_eq!(
        int(
            &t,
            &[("period", "2026-11"), ("value", "Northern Supply")],
            "raised"
        ),
        5
    );
    assert_eq!(
        int(
            &t,
            &[("period", "2026-11"), ("value", "Southern Gas")],
            "raised"
        ),
        1
    );
    assert_eq!(
        int(
            &t,
            &[("period", "2026-12"), ("value", "Southern Gas")],
            "raised"
        ),
        1
    );
    let t = by("group");
    assert_eq!(
        int(
            &t,
            &[("period", "2026-11"), ("value", "hub-provider")],
            "raised"
        ),
        2
    );
    assert_eq!(
        int(
            &t,
            &[("period", "2026-11"), ("value", "(unassigned)")],
            "raised"
        ),
        2
    );
    let t = by("priority");
    assert_eq!(
        int(&t, &[("period", "2026-11"), ("value", "2")], "raised"),
        2
    );
}

#[test]
fn reopen_rate_is_the_share_of_resolved_incidents_reopened() {
    let w = World::new();
    let t = w.run(&w.manager, ReportName::ReopenRate, NOV_DEC);
    assert_eq!(int(&t, &[("period", "2026-11")], "resolved"), 5);
    assert_eq!(int(&t, &[("period", "2026-11")], "reopened"), 1);
    approx(decimal(&t, &[("period", "2026-11")], "reopen_rate"), 0.2);
    approx(decimal(&t, &[("period", "2026-12")], "reopen_rate"), 0.0);
}

#[test]
fn facts_follow_changes_to_incidents() {
    let w = World::new();
    let before = w.run(
        &w.manager,
        ReportName::ArrivalsResolutions,
        &[("from", "2027-01-01"), ("to", "2027-01-04")],
    );
    assert_eq!(int(&before, &[("period", "2027-01")], "resolved"), 0);
    // The incident awaiting the user is answered and resolved on Monday morning.
    let id = w.ids[9];
    w.db.write_blocking(|conn| {
        diesel::update(incidents::table.find(id))
            .set((
                incidents::status.eq("resolved"),
                incidents::resolved_at.eq(at("2027-01-04 11:00")),
                incidents::updated_at.eq(at("2027-01-04 11:00")),
                incidents::version.eq(2i64),
            ))
            .execute(conn)
            .map_err(dsms_store::StoreError::from)
    })
    .expect("resolve");
    let after = w.run(
        &w.manager,
        ReportName::ArrivalsResolutions,
        &[("from", "2027-01-01"), ("to", "2027-01-04")],
    );
    assert_eq!(int(&after, &[("period", "2027-01")], "resolved"), 1);
}

#[test]
fn csv_is_rfc_4180_with_a_header_row_and_parses_back() {
    let w = World::new();
    for name in dsms_reporting::ReportName::ALL {
        let table = w.run(
            &w.manager,
            *name,
            &[("from", "2026-11-01"), ("to", "2027-01-04")],
        );
        let text = table.to_csv().expect("csv");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers: Vec<String> = reader
            .headers()
            .expect("header")
            .iter()
            .map(str::to_owned)
            .collect();
        let expected: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
        assert_eq!(headers, expected, "{name}");
        let records: Vec<csv::StringRecord> =
            reader.records().map(|r| r.expect("record")).collect();
        assert_eq!(records.len(), table.rows.len(), "{name}");
        for (record, row) in records.iter().zip(&table.rows) {
            let cells: Vec<String> = row.iter().map(Value::display).collect();
            assert_eq!(record.iter().collect::<Vec<_>>(), cells, "{name}");
        }
        assert!(text.ends_with("\r\n"), "{name}: CRLF line ends");
        assert!(table.to_svg().starts_with("<svg"), "{name}");
    }
}

#[test]
fn bad_parameters_are_refused_field_by_field() {
    let w = World::new();
    let error = w
        .reports
        .run(
            &w.manager,
            ReportName::Volumes,
            &params(&[("from", "2026-13-01"), ("by", "colour")]),
        )
        .unwrap_err();
    let dsms_reporting::ReportError::Invalid(errors) = error else {
        panic!("{error:?}")
    };
    let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["from", "by"]);
}
