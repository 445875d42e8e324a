//! The communications-hub reports against a small fixed set of forecasts, orders, consignments
//! and returns, every figure worked out by hand. "Now" is 4 January 2027 and the ordering
//! rules' cut-off is 3 months, so the forecast in force for March 2027 is the latest submitted
//! before 1 December 2026, and for April 2027 the latest before 1 January 2027.
//!
//! Forecasts: Northern F1 (2 Nov: March N-SB 100, March S-4G 50, April N-SB 200), Northern F2
//! (1 Dec: March N-SB 999 — too late for March — and April N-SB 150), Southern F3 (20 Nov:
//! March N-SB 40).
//!
//! Orders for March/April 2027: Northern N-SB March 120 (accepted), S-4G March 30 (submitted),
//! N-SB April 100 (rejected, not counted) and 160 (accepted); Southern N-SB March 40.
//!
//! Deliveries: Northern O6 (Nov, 20 hubs) in two delivered consignments, one with excess
//! reported; O7 (Nov, 20) with a shortage; O8 (Dec, 30) with only 20 dispatched; Southern O9
//! (Dec, 10) dispatched, not yet confirmed; Northern O10 (Dec) cancelled.
//!
//! Returns: Northern on 25 Nov — N-SB aerial (confirmed), aerial (not confirmed), LED (not
//! analysed), general (no fault); Northern on 20 Dec — S-4G aerial (confirmed), lost or stolen;
//! Southern on 29 Dec — N-SB manufacturing defect (confirmed).

use diesel::prelude::*;
use dsms_reporting::{ReportName, Value};
use dsms_store::schema::{
    delivery_locations, hub_consignments, hub_discrepancies, hub_forecast_lines, hub_forecasts,
    hub_orders, hub_return_lines, hub_returns, hub_serials, hub_variants,
};
use dsms_store::{DbConnection, StoreError};

use crate::support::*;

const NSB: &str = "CH-N-LRR-SB";
const S4G: &str = "CH-S-4G-SB";

fn variant(conn: &mut DbConnection, code: &str) -> Result<i64, StoreError> {
    Ok(hub_variants::table
        .filter(hub_variants::product_code.eq(code))
        .select(hub_variants::id)
        .first(conn)?)
}

fn seed(w: &World) {
    let (n, s) = (w.northern, w.southern);
    let stamp = at("2026-10-01 00:00");
    w.db.write_blocking(|conn| {
        let nsb = variant(conn, NSB)?;
        let s4g = variant(conn, S4G)?;
        let mut location = |org: i64| {
            diesel::insert_into(delivery_locations::table)
                .values((
                    delivery_locations::organisation_id.eq(org),
                    delivery_locations::name.eq("Depot"),
                    delivery_locations::address.eq("1 Road"),
                    delivery_locations::postcode.eq("AB1 2CD"),
                    delivery_locations::contact_name.eq("Pat"),
                    delivery_locations::contact_phone.eq("01234"),
                    delivery_locations::delivery_days.eq("mon tue wed thu fri"),
                    delivery_locations::status.eq("approved"),
                    delivery_locations::created_at.eq(stamp),
                    delivery_locations::updated_at.eq(stamp),
                    delivery_locations::version.eq(1i64),
                ))
                .returning(delivery_locations::id)
                .get_result::<i64>(conn)
        };
        let (n_loc, s_loc) = (location(n)?, location(s)?);
        let mut forecast =
            |org: i64, sequence: i64, submitted: &str, lines: &[(&str, i64, i64)]| {
                let id: i64 = diesel::insert_into(hub_forecasts::table)
                    .values((
                        hub_forecasts::organisation_id.eq(org),
                        hub_forecasts::sequence.eq(sequence),
                        hub_forecasts::cycle_month.eq(&submitted[..7]),
                        hub_forecasts::due_on.eq(&submitted[..10]),
                        hub_forecasts::late.eq(false),
                        hub_forecasts::submitted_by_kind.eq("person"),
                        hub_forecasts::submitted_by_id.eq(1i64),
                        hub_forecasts::submitted_by_name.eq("planner"),
                        hub_forecasts::submitted_at.eq(at(submitted)),
                    ))
                    .returning(hub_forecasts::id)
                    .get_result(conn)?;
                for (month, variant, quantity) in lines {
                    diesel::insert_into(hub_forecast_lines::table)
                        .values((
                            hub_forecast_lines::forecast_id.eq(id),
                            hub_forecast_lines::month.eq(*month),
                            hub_forecast_lines::variant_id.eq(*variant),
                            hub_forecast_lines::quantity.eq(*quantity),
                        ))
                        .execute(conn)?;
                }
                Ok::<_, diesel::result::Error>(id)
            };
        forecast(
            n,
            1,
            "2026-11-02 10:00",
            &[
                ("2027-03", nsb, 100),
                ("2027-03", s4g, 50),
                ("2027-04", nsb, 200),
            ],
        )?;
        forecast(
            n,
            2,
            "2026-12-01 10:00",
            &[("2027-03", nsb, 999), ("2027-04", nsb, 150)],
        )?;
        forecast(s, 1, "2026-11-20 10:00", &[("2027-03", nsb, 40)])?;
        let mut next = 0;
        let mut order = |org: i64, variant: i64, month: &str, quantity: i64, status: &str| {
            next += 1;
            diesel::insert_into(hub_orders::table)
                .values((
                    hub_orders::reference.eq(format!("ORD-R{next:04}")),
                    hub_orders::organisation_id.eq(org),
                    hub_orders::location_id.eq(if org == n { n_loc } else { s_loc }),
                    hub_orders::variant_id.eq(variant),
                    hub_orders::delivery_month.eq(month),
                    hub_orders::quantity.eq(quantity),
                    hub_orders::status.eq(status),
                    hub_orders::rules_effective_from.eq("2020-01-01"),
                    hub_orders::placed_by_kind.eq("person"),
                    hub_orders::placed_by_id.eq(1i64),
                    hub_orders::placed_by_name.eq("buyer"),
                    hub_orders::created_at.eq(stamp),
                    hub_orders::updated_at.eq(stamp),
                    hub_orders::version.eq(1i64),
                ))
                .returning(hub_orders::id)
                .get_result::<i64>(conn)
        };
        order(n, nsb, "2027-03", 120, "accepted")?;
        order(n, s4g, "2027-03", 30, "submitted")?;
        order(n, nsb, "2027-04", 100, "rejected")?;
        order(n, nsb, "2027-04", 160, "accepted")?;
        order(s, nsb, "2027-03", 40, "accepted")?;
        let o6 = order(n, nsb, "2026-11", 20, "delivered")?;
        let o7 = order(n, nsb, "2026-11", 20, "delivered")?;
        let o8 = order(n, s4g, "2026-12", 30, "dispatched")?;
        let o9 = order(s, nsb, "2026-12", 10, "dispatched")?;
        order(n, nsb, "2026-12", 10, "cancelled")?;
        let consignment =
            |conn: &mut DbConnection, order: i64, date: &str, quantity: i64, status: &str| {
                diesel::insert_into(hub_consignments::table)
                    .values((
                        hub_consignments::order_id.eq(order),
                        hub_consignments::delivery_date.eq(date),
                        hub_consignments::quantity.eq(quantity),
                        hub_consignments::status.eq(status),
                        hub_consignments::created_at.eq(stamp),
                    ))
                    .returning(hub_consignments::id)
                    .get_result::<i64>(conn)
            };
        let c1 = consignment(conn, o6, "2026-11-10", 10, "delivered")?;
        let c2 = consignment(conn, o6, "2026-11-20", 10, "discrepancy")?;
        let c3 = consignment(conn, o7, "2026-11-12", 20, "discrepancy")?;
        let c4 = consignment(conn, o8, "2026-12-15", 20, "delivered")?;
        let c5 = consignment(conn, o9, "2026-12-28", 10, "dispatched")?;
        for (order, consignment, kind) in [(o6, c2, "excess"), (o7, c3, "shortage")] {
            diesel::insert_into(hub_discrepancies::table)
                .values((
                    hub_discrepancies::order_id.eq(order),
                    hub_discrepancies::consignment_id.eq(consignment),
                    hub_discrepancies::kind.eq(kind),
                    hub_discrepancies::serials.eq("X"),
                    hub_discrepancies::quantity.eq(1i64),
                    hub_discrepancies::status.eq("open"),
                    hub_discrepancies::created_at.eq(stamp),
                ))
                .execute(conn)?;
        }
        let serials = [
            ("SN-N-1", nsb, n, o6, c1),
            ("SN-N-2", nsb, n, o6, c1),
            ("SN-N-3", nsb, n, o6, c1),
            ("SN-N-4", nsb, n, o6, c1),
            ("SN-N-5", s4g, n, o8, c4),
            ("SN-N-6", s4g, n, o8, c4),
            ("SN-S-1", nsb, s, o9, c5),
        ];
        for (serial, variant, org, order, consignment) in serials {
            diesel::insert_into(hub_serials::table)
                .values((
                    hub_serials::serial.eq(serial),
                    hub_serials::variant_id.eq(variant),
                    hub_serials::organisation_id.eq(org),
                    hub_serials::order_id.eq(order),
                    hub_serials::consignment_id.eq(consignment),
                    hub_serials::status.eq("delivered"),
                ))
                .execute(conn)?;
        }
        let returns: [ReturnFixture; 3] = [
            (
                n,
                "2026-11-25 10:00",
                vec![
                    ("SN-N-1", "aerial", true, Some(true)),
                    ("SN-N-2", "aerial", true, Some(false)),
                    ("SN-N-3", "led", true, None),
                    ("SN-N-4", "general", false, None),
                ],
            ),
            (
                n,
                "2026-12-20 10:00",
                vec![
                    ("SN-N-5", "aerial", true, Some(true)),
                    ("SN-N-6", "lost_or_stolen", false, None),
                ],
            ),
            (
                s,
                "2026-12-29 10:00",
                vec![("SN-S-1", "manufacturing_defect", true, Some(true))],
            ),
        ];
        for (i, (org, created, lines)) in returns.into_iter().enumerate() {
            let id: i64 = diesel::insert_into(hub_returns::table)
                .values((
                    hub_returns::reference.eq(format!("RET-R{i:04}")),
                    hub_returns::organisation_id.eq(org),
                    hub_returns::status.eq("analysed"),
                    hub_returns::quantity.eq(lines.len() as i64),
                    hub_returns::requested_by_kind.eq("person"),
                    hub_returns::requested_by_id.eq(1i64),
                    hub_returns::requested_by_name.eq("returner"),
                    hub_returns::created_at.eq(at(created)),
                    hub_returns::updated_at.eq(at(created)),
                    hub_returns::version.eq(1i64),
                ))
                .returning(hub_returns::id)
                .get_result(conn)?;
            for (serial, reason, faulty, confirmed) in lines {
                diesel::insert_into(hub_return_lines::table)
                    .values((
                        hub_return_lines::serial.eq(serial),
                        hub_return_lines::return_id.eq(id),
                        hub_return_lines::reason.eq(reason),
                        hub_return_lines::faulty.eq(faulty),
                        hub_return_lines::found.eq(faulty.then_some("after_installation")),
                        hub_return_lines::fault_confirmed.eq(confirmed),
                    ))
                    .execute(conn)?;
            }
        }
        Ok::<_, StoreError>(())
    })
    .expect("hub data");
}

const MARCH_APRIL: &[(&str, &str)] = &[("from", "2027-03-01"), ("to", "2027-04-30")];

fn accuracy<'a>(month: &'a str, variant: &'a str) -> [(&'a str, &'a str); 2] {
    [("delivery_month", month), ("variant", variant)]
}

#[test]
fn forecast_accuracy_uses_the_forecast_in_force_at_each_cut_off() {
    let w = World::new();
    seed(&w);
    let t = w.run(&w.manager, ReportName::HubForecastAccuracy, MARCH_APRIL);
    assert_eq!(t.rows.len(), 3, "{t:?}");
    let march = accuracy("2027-03", NSB);
    assert_eq!(int(&t, &march, "forecast"), 140);
    assert_eq!(int(&t, &march, "ordered"), 160);
    approx(decimal(&t, &march, "ratio"), 160.0 / 140.0);
    assert_eq!(cell(&t, &march, "region"), &Value::Text("north".into()));
    let march_4g = accuracy("2027-03", S4G);
    assert_eq!(int(&t, &march_4g, "forecast"), 50);
    approx(decimal(&t, &march_4g, "ratio"), 0.6);
    // F2, submitted after March's cut-off, is in force for April; the rejected order is not counted.
    let april = accuracy("2027-04", NSB);
    assert_eq!(int(&t, &april, "forecast"), 150);
    assert_eq!(int(&t, &april, "ordered"), 160);
    let south = w.run(
        &w.manager,
        ReportName::HubForecastAccuracy,
        &[
            ("from", "2027-03-01"),
            ("to", "2027-04-30"),
            ("region", "south"),
        ],
    );
    assert_eq!(south.rows.len(), 1);
    assert_eq!(int(&south, &march_4g, "ordered"), 30);
}

#[test]
fn forecast_accuracy_is_scoped_and_compares_organisations() {
    let w = World::new();
    seed(&w);
    let n = w.run(
        &w.northern_reporter,
        ReportName::HubForecastAccuracy,
        MARCH_APRIL,
    );
    let march = accuracy("2027-03", NSB);
    assert_eq!(int(&n, &march, "forecast"), 100);
    assert_eq!(int(&n, &march, "ordered"), 120);
    approx(decimal(&n, &march, "ratio"), 1.2);
    let s = w.run(
        &w.southern_reporter,
        ReportName::HubForecastAccuracy,
        MARCH_APRIL,
    );
    assert_eq!(s.rows.len(), 1, "{s:?}");
    assert_eq!(int(&s, &march, "forecast"), 40);
    let split = w.run(
        &w.manager,
        ReportName::HubForecastAccuracy,
        &[
            ("from", "2027-03-01"),
            ("to", "2027-03-31"),
            ("by", "organisation"),
        ],
    );
    let key = |org| {
        [
            ("delivery_month", "2027-03"),
            ("organisation", org),
            ("variant", NSB),
        ]
    };
    assert_eq!(int(&split, &key("Northern Supply"), "ordered"), 120);
    assert_eq!(int(&split, &key("Southern Gas"), "ordered"), 40);
}

fn month(m: &str) -> [(&str, &str); 1] {
    [("delivery_month", m)]
}

#[test]
fn otif_counts_orders_on_time_and_in_full() {
    let w = World::new();
    seed(&w);
    let t = w.run(&w.manager, ReportName::HubDeliveryOtif, NOV_DEC);
    let nov = month("2026-11");
    assert_eq!(int(&t, &nov, "orders"), 2);
    assert_eq!(int(&t, &nov, "hubs"), 40);
    assert_eq!(int(&t, &nov, "on_time"), 2);
    // The shortage on O7 spoils it; the excess on O6 does not.
    assert_eq!(int(&t, &nov, "in_full"), 1);
    assert_eq!(int(&t, &nov, "otif"), 1);
    approx(decimal(&t, &nov, "share_otif"), 0.5);
    let dec = month("2026-12");
    assert_eq!(int(&t, &dec, "orders"), 2);
    assert_eq!(int(&t, &dec, "on_time"), 1);
    assert_eq!(int(&t, &dec, "in_full"), 0);
    assert_eq!(int(&t, &dec, "awaiting_confirmation"), 1);
    approx(decimal(&t, &dec, "share_otif"), 0.0);
    let s = w.run(&w.southern_reporter, ReportName::HubDeliveryOtif, NOV_DEC);
    assert_eq!(int(&s, &nov, "orders"), 0);
    assert_eq!(decimal(&s, &nov, "share_otif"), None);
    assert_eq!(int(&s, &dec, "orders"), 1);
    assert_eq!(int(&s, &dec, "hubs"), 10);
    let n = w.run(&w.northern_reporter, ReportName::HubDeliveryOtif, NOV_DEC);
    assert_eq!(int(&n, &dec, "orders"), 1);
    assert_eq!(int(&n, &dec, "on_time"), 0);
    assert_eq!(int(&n, &dec, "awaiting_confirmation"), 0);
}

fn returned<'a>(period: &'a str, variant: &'a str, reason: &'a str) -> [(&'a str, &'a str); 3] {
    [("period", period), ("variant", variant), ("reason", reason)]
}

#[test]
fn returns_count_serials_by_reason_and_variant() {
    let w = World::new();
    seed(&w);
    let t = w.run(&w.manager, ReportName::HubReturns, NOV_DEC);
    assert_eq!(t.rows.len(), 6, "{t:?}");
    assert_eq!(int(&t, &returned("2026-11", NSB, "aerial"), "hubs"), 2);
    assert_eq!(int(&t, &returned("2026-11", NSB, "led"), "hubs"), 1);
    let general = returned("2026-11", NSB, "general");
    assert_eq!(int(&t, &general, "hubs"), 1);
    assert_eq!(cell(&t, &general, "class"), &Value::Text("no_fault".into()));
    assert_eq!(int(&t, &returned("2026-12", S4G, "aerial"), "hubs"), 1);
    assert_eq!(
        int(&t, &returned("2026-12", S4G, "lost_or_stolen"), "hubs"),
        1
    );
    assert_eq!(
        int(
            &t,
            &returned("2026-12", NSB, "manufacturing_defect"),
            "hubs"
        ),
        1
    );
    let s = w.run(&w.southern_reporter, ReportName::HubReturns, NOV_DEC);
    assert_eq!(s.rows.len(), 1);
    let north = w.run(
        &w.northern_reporter,
        ReportName::HubReturns,
        &[
            ("from", "2026-11-01"),
            ("to", "2026-12-31"),
            ("region", "north"),
        ],
    );
    assert_eq!(north.rows.len(), 3, "{north:?}");
}

#[test]
fn fault_confirmation_shares_by_hand() {
    let w = World::new();
    seed(&w);
    let t = w.run(&w.manager, ReportName::HubFaultConfirmation, NOV_DEC);
    let nov = [("period", "2026-11"), ("variant", NSB)];
    assert_eq!(int(&t, &nov, "faulty"), 3);
    assert_eq!(int(&t, &nov, "analysed"), 2);
    assert_eq!(int(&t, &nov, "confirmed"), 1);
    assert_eq!(int(&t, &nov, "not_confirmed"), 1);
    approx(decimal(&t, &nov, "share_confirmed"), 0.5);
    let dec = [("period", "2026-12"), ("variant", NSB)];
    approx(decimal(&t, &dec, "share_confirmed"), 1.0);
    let n = w.run(
        &w.northern_reporter,
        ReportName::HubFaultConfirmation,
        NOV_DEC,
    );
    assert_eq!(n.rows.len(), 2, "{n:?}");
    assert!(!n.to_csv().expect("csv").contains("manufacturing"));
    let by = w.run(
        &w.manager,
        ReportName::HubFaultConfirmation,
        &[
            ("from", "2026-12-01"),
            ("to", "2026-12-31"),
            ("by", "organisation"),
        ],
    );
    let key = |org| [("organisation", org), ("variant", NSB)];
    assert_eq!(int(&by, &key("Southern Gas"), "confirmed"), 1);
}

#[test]
fn hub_reports_show_another_organisation_nothing() {
    let w = World::new();
    seed(&w);
    for name in [
        ReportName::HubForecastAccuracy,
        ReportName::HubDeliveryOtif,
        ReportName::HubReturns,
        ReportName::HubFaultConfirmation,
    ] {
        let query = [
            ("from", "2026-11-01"),
            ("to", "2027-04-30"),
            ("by", "organisation"),
        ];
        let s = w.run(&w.southern_reporter, name, &query);
        let text = format!("{}{}", s.to_csv().expect("csv"), s.to_svg());
        assert!(!text.contains("Northern"), "{name}: {text}");
        assert!(
            !text.contains(S4G),
            "{name}: Southern has no 4G hubs: {text}"
        );
        let staff = w.run(&w.manager, name, &query).to_csv().expect("csv");
        assert!(
            staff.contains("Northern Supply") && staff.contains("Southern Gas"),
            "{name}: {staff}"
        );
    }
}

#[test]
fn hub_report_csv_parses_back() {
    let w = World::new();
    seed(&w);
    let t = w.run(&w.manager, ReportName::HubForecastAccuracy, MARCH_APRIL);
    let text = t.to_csv().expect("csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        headers,
        [
            "delivery_month",
            "organisation",
            "variant",
            "region",
            "forecast",
            "ordered",
            "ratio"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let march = records
        .iter()
        .find(|r| &r[0] == "2027-03" && &r[2] == NSB)
        .expect("row");
    assert_eq!((&march[4], &march[5], &march[6]), ("140", "160", "1.1429"));
}

/// A return in the fixture: organisation, when, and per serial its serial, reason, whether
/// faulty and the analysis's verdict.
type ReturnFixture = (
    i64,
    &'static str,
    Vec<(&'static str, &'static str, bool, Option<bool>)>,
);
