//! The request-fulfilment report against a small fixed set of service requests, every figure
//! worked out by hand on the business calendar (08:00-18:00 Monday to Friday; November and
//! December 2026 are GMT, so local times equal UTC).
//!
//! Item A's target is 2 working days (20 working hours), item B's 1 (10 hours).
//!
//! | # | org | item | raised | fulfilled | working time | outcome |
//! |---|-----|------|--------|-----------|--------------|---------|
//! | 1 | N | A | Mon 2 Nov 09:00 | Tue 3 Nov 11:00 | 9 h + 3 h = 720 min | met |
//! | 2 | N | A | Wed 4 Nov 16:00 | Mon 9 Nov 10:00 | 2 + 10 + 10 + 2 h = 1440 min | missed |
//! | 3 | N | A | Thu 5 Nov 09:00 | Fri 6 Nov 17:00 | paused until the org admin approved Fri 09:00: 480 min | met |
//! | 4 | S | B | Mon 2 Nov 08:00 | Tue 3 Nov 12:00 | 10 h + 4 h = 840 min | missed |
//! | 5 | N | B | Mon 30 Nov 17:00 | Tue 1 Dec 09:00 | 1 h + 1 h = 120 min | met |
//! | 6 | N | A | Mon 16 Nov 10:00 | cancelled | - | raised only |
//! | 7 | N | A | Tue 1 Dec 10:00 | open | - | raised only |

use diesel::prelude::*;
use dsms_reporting::{ReportError, ReportName, ReportTable, Value};
use dsms_store::schema::{
    catalogue_item_versions, catalogue_items, service_request_approvals, service_requests,
};

use crate::support::*;

const A: &str = "report_item_a";
const B: &str = "report_item_b";

struct Request {
    org: i64,
    item: usize,
    status: &'static str,
    created: &'static str,
    fulfilled: Option<&'static str>,
    closed: Option<&'static str>,
    approved: Option<&'static str>,
}

/// Writes items A and B and the seven requests as the service-request service leaves them.
fn seed(w: &World) {
    let (n, s) = (w.northern, w.southern);
    let stamp = at("2026-10-01 00:00");
    w.db.write_blocking(|conn| {
        let mut versions = Vec::new();
        for (code, days) in [(A, 2), (B, 1)] {
            let item: i64 = diesel::insert_into(catalogue_items::table)
                .values((
                    catalogue_items::code.eq(code),
                    catalogue_items::active.eq(true),
                    catalogue_items::created_at.eq(stamp),
                    catalogue_items::updated_at.eq(stamp),
                    catalogue_items::version.eq(1i64),
                ))
                .returning(catalogue_items::id)
                .get_result(conn)?;
            let definition = format!(
                r#"{{"name": "{code}", "description": "", "fields": [], "tasks": [], "sla_working_days": {days}}}"#
            );
            let version: i64 = diesel::insert_into(catalogue_item_versions::table)
                .values((
                    catalogue_item_versions::item_id.eq(item),
                    catalogue_item_versions::number.eq(1),
                    catalogue_item_versions::definition.eq(definition),
                    catalogue_item_versions::created_by_name.eq("admin"),
                    catalogue_item_versions::created_at.eq(stamp),
                ))
                .returning(catalogue_item_versions::id)
                .get_result(conn)?;
            versions.push((item, version));
        }
        let requests = [
            Request { org: n, item: 0, status: "closed", created: "2026-11-02 09:00", fulfilled: Some("2026-11-03 11:00"), closed: Some("2026-11-04 09:00"), approved: None },
            Request { org: n, item: 0, status: "fulfilled", created: "2026-11-04 16:00", fulfilled: Some("2026-11-09 10:00"), closed: None, approved: None },
            Request { org: n, item: 0, status: "fulfilled", created: "2026-11-05 09:00", fulfilled: Some("2026-11-06 17:00"), closed: None, approved: Some("2026-11-06 09:00") },
            Request { org: s, item: 1, status: "fulfilled", created: "2026-11-02 08:00", fulfilled: Some("2026-11-03 12:00"), closed: None, approved: None },
            Request { org: n, item: 1, status: "fulfilled", created: "2026-11-30 17:00", fulfilled: Some("2026-12-01 09:00"), closed: None, approved: None },
            Request { org: n, item: 0, status: "cancelled", created: "2026-11-16 10:00", fulfilled: None, closed: Some("2026-11-16 12:00"), approved: None },
            Request { org: n, item: 0, status: "in_fulfilment", created: "2026-12-01 10:00", fulfilled: None, closed: None, approved: None },
        ];
        for (i, r) in requests.iter().enumerate() {
            let (item, version) = versions[r.item];
            let id: i64 = diesel::insert_into(service_requests::table)
                .values((
                    service_requests::reference.eq(format!("REQ{:07}", i + 1)),
                    service_requests::organisation_id.eq(r.org),
                    service_requests::item_id.eq(item),
                    service_requests::item_version_id.eq(version),
                    service_requests::raised_by_kind.eq("person"),
                    service_requests::raised_by_id.eq(1i64),
                    service_requests::raised_by_name.eq("someone"),
                    service_requests::channel.eq("portal"),
                    service_requests::summary.eq("please"),
                    service_requests::answers.eq("{}"),
                    service_requests::status.eq(r.status),
                    service_requests::fulfilled_at.eq(r.fulfilled.map(at)),
                    service_requests::closed_at.eq(r.closed.map(at)),
                    service_requests::created_at.eq(at(r.created)),
                    service_requests::updated_at.eq(at(r.created)),
                    service_requests::version.eq(1i64),
                ))
                .returning(service_requests::id)
                .get_result(conn)?;
            if let Some(approved) = r.approved {
                diesel::insert_into(service_request_approvals::table)
                    .values((
                        service_request_approvals::request_id.eq(id),
                        service_request_approvals::step.eq(1),
                        service_request_approvals::approver.eq("organisation_admin"),
                        service_request_approvals::status.eq("approved"),
                        service_request_approvals::decided_at.eq(Some(at(approved))),
                    ))
                    .execute(conn)?;
            }
        }
        Ok::<_, dsms_store::StoreError>(())
    })
    .expect("requests");
}

fn row<'a>(period: &'a str, item: &'a str) -> [(&'a str, &'a str); 2] {
    [("period", period), ("item", item)]
}

#[test]
fn fulfilment_counts_times_and_targets_by_hand() {
    let w = World::new();
    seed(&w);
    let t = w.run(&w.manager, ReportName::RequestFulfilment, NOV_DEC);
    let nov_a = row("2026-11", A);
    assert_eq!(int(&t, &nov_a, "raised"), 4);
    assert_eq!(int(&t, &nov_a, "fulfilled"), 3);
    approx(decimal(&t, &nov_a, "mean_fulfil_minutes"), 880.0);
    approx(decimal(&t, &nov_a, "median_fulfil_minutes"), 720.0);
    assert_eq!(int(&t, &nov_a, "met"), 2);
    assert_eq!(int(&t, &nov_a, "missed"), 1);
    approx(decimal(&t, &nov_a, "share_met"), 2.0 / 3.0);
    let nov_b = row("2026-11", B);
    assert_eq!(int(&t, &nov_b, "raised"), 2);
    assert_eq!(int(&t, &nov_b, "fulfilled"), 1);
    approx(decimal(&t, &nov_b, "mean_fulfil_minutes"), 840.0);
    assert_eq!(int(&t, &nov_b, "missed"), 1);
    approx(decimal(&t, &nov_b, "share_met"), 0.0);
    let dec_a = row("2026-12", A);
    assert_eq!(int(&t, &dec_a, "raised"), 1);
    assert_eq!(int(&t, &dec_a, "fulfilled"), 0);
    assert_eq!(decimal(&t, &dec_a, "mean_fulfil_minutes"), None);
    let dec_b = row("2026-12", B);
    assert_eq!(int(&t, &dec_b, "raised"), 0);
    assert_eq!(int(&t, &dec_b, "met"), 1);
    approx(decimal(&t, &dec_b, "median_fulfil_minutes"), 120.0);
    assert_eq!(t.rows.len(), 4);
}

#[test]
fn fulfilment_weekly_puts_each_request_in_its_week() {
    let w = World::new();
    seed(&w);
    let t = w.run(
        &w.manager,
        ReportName::RequestFulfilment,
        &[
            ("from", "2026-11-02"),
            ("to", "2026-11-08"),
            ("granularity", "week"),
        ],
    );
    // Requests 1, 2 and 3 were raised that week and 1 and 3 fulfilled in it (2 on the 9th).
    let week_a = row("2026-11-02", A);
    assert_eq!(int(&t, &week_a, "raised"), 3);
    assert_eq!(int(&t, &week_a, "fulfilled"), 2);
    approx(decimal(&t, &week_a, "mean_fulfil_minutes"), 600.0);
}

#[test]
fn an_organisation_sees_only_its_own_requests() {
    let w = World::new();
    seed(&w);
    let s = w.run(&w.southern_reporter, ReportName::RequestFulfilment, NOV_DEC);
    assert_eq!(s.rows.len(), 1, "{s:?}");
    assert_eq!(int(&s, &row("2026-11", B), "raised"), 1);
    assert_eq!(int(&s, &row("2026-11", B), "missed"), 1);
    let n = w.run(&w.northern_reporter, ReportName::RequestFulfilment, NOV_DEC);
    // Without Southern's request 4, item B in November has only request 5, fulfilled in December.
    assert_eq!(int(&n, &row("2026-11", B), "raised"), 1);
    assert_eq!(int(&n, &row("2026-11", B), "fulfilled"), 0);
    assert_eq!(int(&n, &row("2026-11", A), "raised"), 4);
    let split = w.run(
        &w.southern_reporter,
        ReportName::RequestFulfilment,
        &[
            ("from", "2026-11-01"),
            ("to", "2026-12-31"),
            ("by", "organisation"),
        ],
    );
    let text = split.to_csv().expect("csv");
    assert!(
        text.contains("Southern Gas") && !text.contains("Northern"),
        "{text}"
    );
    let refused = w.reports.run(
        &w.southern_reporter,
        ReportName::RequestFulfilment,
        &params(&[("organisation_id", &w.northern.to_string())]),
    );
    assert!(
        matches!(refused, Err(ReportError::Forbidden(_))),
        "{refused:?}"
    );
}

#[test]
fn operator_staff_compare_organisations() {
    let w = World::new();
    seed(&w);
    let t = w.run(
        &w.manager,
        ReportName::RequestFulfilment,
        &[
            ("from", "2026-11-01"),
            ("to", "2026-11-30"),
            ("by", "organisation"),
        ],
    );
    let key = |org: &'static str, item: &'static str| {
        [("period", "2026-11"), ("organisation", org), ("item", item)]
    };
    assert_eq!(int(&t, &key("Northern Supply", A), "raised"), 4);
    assert_eq!(int(&t, &key("Northern Supply", B), "raised"), 1);
    assert_eq!(int(&t, &key("Southern Gas", B), "fulfilled"), 1);
    let only = w.run(
        &w.manager,
        ReportName::RequestFulfilment,
        &[
            ("from", "2026-11-01"),
            ("to", "2026-11-30"),
            ("organisation_id", &w.southern.to_string()),
        ],
    );
    assert_eq!(only.rows.len(), 1);
}

#[test]
fn fulfilment_csv_parses_back() {
    let w = World::new();
    seed(&w);
    let t: ReportTable = w.run(&w.manager, ReportName::RequestFulfilment, NOV_DEC);
    let text = t.to_csv().expect("csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(headers[..4], ["period", "organisation", "item", "raised"]);
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(records.len(), t.rows.len());
    let nov_a = records
        .iter()
        .find(|r| &r[0] == "2026-11" && &r[2] == A)
        .expect("November, item A");
    assert_eq!(&nov_a[5], "880");
    assert_eq!(&nov_a[9], "0.6667");
    assert!(matches!(t.rows[0][1], Value::Text(ref all) if all == "all"));
    assert!(t.to_svg().starts_with("<svg"));
}
