//! Thousands of serials in one request: a 10,000-row CSV consignment and return, validated and
//! accepted well within a second or two, and every bad row reported at once.

use std::time::{Duration, Instant};

use dsms_hubs::{NewConsignment, NewReturn, OrderChanges, bulk};

use crate::support::{World, invalid, names, new};

/// Generous for a 2-core machine and a debug build; the figure is printed for the report.
const BOUND: Duration = Duration::from_secs(5);

fn csv_of(header: &str, rows: impl Iterator<Item = String>) -> Vec<u8> {
    let mut text = format!("{header}\n");
    for r in rows {
        text.push_str(&r);
        text.push('\n');
    }
    text.into_bytes()
}

#[test]
fn ten_thousand_serials_are_dispatched_and_returned_from_csv_within_the_bound() {
    let w = World::new();
    w.forecast(&w.supplier.user, 10_000, &[]);
    let location = w.approved_location(&w.supplier.user);
    let order = w
        .order(&w.supplier.user, "2027-04", location.id, 10_000)
        .unwrap();
    let accept = OrderChanges {
        status: Some("accepted".into()),
        ..OrderChanges::default()
    };
    w.hubs
        .update_order(&w.operator, &order.reference, None, accept, None)
        .unwrap();

    let started = Instant::now();
    let csv = csv_of("serial", (0..10_000).map(|i| format!("CH4G{i:08}")));
    let consignment = new(w.hubs.dispatch(
        &w.operator,
        &order.reference,
        NewConsignment {
            delivery_date: "2027-04-06".into(),
            serials: bulk::serial_rows(&csv).unwrap(),
        },
        None,
        None,
    ))
    .unwrap();
    let dispatch = started.elapsed();
    assert_eq!(consignment.quantity, 10_000);
    w.set_clock("2027-04-06T15:00:00Z");
    w.hubs
        .confirm_delivery(
            &w.supplier.user,
            &order.reference,
            consignment.id,
            Default::default(),
            None,
        )
        .unwrap();

    let started = Instant::now();
    let csv = csv_of(
        "serial,reason,found",
        (0..10_000).map(|i| format!("CH4G{i:08},sm_wan,after_installation")),
    );
    let returned = new(w.hubs.request_return(
        &w.supplier.user,
        NewReturn {
            rows: bulk::return_rows(&csv).unwrap(),
            ..NewReturn::default()
        },
        None,
        None,
    ))
    .unwrap();
    let request = started.elapsed();
    assert_eq!(returned.quantity, 10_000);
    eprintln!("10,000-serial CSV: dispatch {dispatch:?}, return {request:?}");
    assert!(
        dispatch < BOUND && request < BOUND,
        "dispatch {dispatch:?}, return {request:?}"
    );
}

#[test]
fn every_bad_row_of_an_upload_is_reported_at_once() {
    let w = World::new();
    w.forecast(&w.supplier.user, 200, &[]);
    let location = w.approved_location(&w.supplier.user);
    let order = w
        .order(&w.supplier.user, "2027-04", location.id, 200)
        .unwrap();
    let accept = OrderChanges {
        status: Some("accepted".into()),
        ..OrderChanges::default()
    };
    w.hubs
        .update_order(&w.operator, &order.reference, None, accept, None)
        .unwrap();
    w.dispatch(&order, "2027-04-06", &["CHOLD000001".to_owned()])
        .unwrap();

    let mut rows: Vec<String> = (0..100).map(|i| format!("CHNEW{i:06}")).collect();
    rows[17] = "bad serial".into();
    rows[42] = "CHOLD000001".into();
    rows[99] = "chnew000003".into();
    let csv = csv_of("serial", rows.into_iter());
    let refused = invalid(new(w.hubs.dispatch(
        &w.operator,
        &order.reference,
        NewConsignment {
            delivery_date: "2027-04-06".into(),
            serials: bulk::serial_rows(&csv).unwrap(),
        },
        None,
        None,
    )));
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(names(&refused, "rows[17].serial", "hub serial number"));
    assert!(names(&refused, "rows[42].serial", "already dispatched"));
    assert!(names(&refused, "rows[99].serial", "repeats rows[3].serial"));
}
