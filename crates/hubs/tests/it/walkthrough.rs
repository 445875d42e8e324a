//! A supplier from forecast to order, dispatch, delivery with a discrepancy, and a faulty
//! return through analysis; and the checks every returned serial passes.

use dsms_hubs::{
    Analysis, Confirmation, HubError, LineAnalysis, NewReturn, OrderChanges, OrderStatus,
    ReturnRow, ReturnStatus,
};

use crate::support::{World, invalid, names, new, serials};

fn row(i: usize, serial: &str, reason: &str, found: Option<&str>) -> ReturnRow {
    ReturnRow {
        at: format!("lines[{i}]"),
        serial: serial.into(),
        reason: reason.into(),
        found: found.map(str::to_owned),
    }
}

/// A delivered order of 20 hubs `CHD0000000..19`, two of them reported damaged and one of the
/// listed ones missing.
fn delivered(w: &World) -> dsms_hubs::HubOrder {
    w.forecast(&w.supplier.user, 20, &[]);
    let location = w.approved_location(&w.supplier.user);
    let order = w
        .order(&w.supplier.user, "2027-04", location.id, 20)
        .unwrap();
    let accept = OrderChanges {
        status: Some("accepted".into()),
        ..OrderChanges::default()
    };
    w.hubs
        .update_order(&w.operator, &order.reference, None, accept, None)
        .unwrap();
    let consignment = w
        .dispatch(&order, "2027-04-06", &serials("CHD", 20))
        .unwrap();
    w.set_clock("2027-04-07T09:00:00Z");
    let done = w
        .hubs
        .confirm_delivery(
            &w.supplier.user,
            &order.reference,
            consignment.id,
            Confirmation {
                missing: vec!["CHD0000019".into()],
                damaged: vec!["chd0000018".into(), "CHD0000017".into()],
                excess: vec!["CHX0000001".into()],
                notes: Some("one short, two cracked cases, one extra".into()),
            },
            None,
        )
        .unwrap();
    assert_eq!(done.status, OrderStatus::Delivered);
    done
}

#[test]
fn a_supplier_forecasts_orders_receives_and_returns_a_faulty_hub_for_analysis() {
    let w = World::new();
    let order = delivered(&w);
    let consignment = &order.consignments[0];
    assert_eq!(consignment.status, "discrepancy");
    let kinds: Vec<_> = consignment
        .discrepancies
        .iter()
        .map(|d| (d.kind.as_str(), d.quantity))
        .collect();
    assert_eq!(kinds, [("shortage", 1), ("damage", 2), ("excess", 1)]);
    let (_, notice) = w
        .hubs
        .consignment(&w.supplier.reporter, &order.reference, consignment.id)
        .unwrap();
    assert_eq!(notice.len(), 20);
    assert!(notice.contains(&("CHD0000019".into(), "missing".into())));

    let history = w
        .hubs
        .order_history(&w.supplier.reporter, &order.reference)
        .unwrap();
    let actions: Vec<_> = history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "hub_order.submitted",
            "hub_order.accepted",
            "hub_order.dispatched",
            "hub_order.delivery_confirmed"
        ]
    );

    let requested = new(w.hubs.request_return(
        &w.supplier.user,
        NewReturn {
            rows: vec![
                row(0, "CHD0000000", "sm_wan", Some("after_installation")),
                row(1, "CHD0000018", "damaged_case", Some("before_installation")),
                row(2, "CHD0000001", "general", None),
            ],
            incident_id: None,
            notes: Some("WAN drops after install".into()),
        },
        None,
        None,
    ))
    .unwrap();
    assert_eq!(
        (requested.status, requested.quantity),
        (ReturnStatus::Requested, 3)
    );
    assert!(requested.reference.starts_with("RET"));

    // The supplier cannot move its own return; the operator moves it one step at a time.
    let step = |who, to: &str| {
        w.hubs
            .advance_return(who, &requested.reference, None, to, None, None)
    };
    assert!(matches!(
        step(&w.supplier.user, "authorised"),
        Err(HubError::Forbidden(_))
    ));
    assert!(matches!(
        step(&w.operator, "received"),
        Err(HubError::Transition { .. })
    ));
    for to in ["authorised", "collected", "received"] {
        assert_eq!(step(&w.operator, to).unwrap().status.as_str(), to);
    }
    let analysed = w
        .hubs
        .analyse_return(
            &w.operator,
            &requested.reference,
            None,
            Analysis {
                fault_confirmed: true,
                redeployable: false,
                exceptions: vec![LineAnalysis {
                    serial: "CHD0000018".into(),
                    fault_confirmed: false,
                    redeployable: true,
                }],
                notes: None,
            },
            None,
        )
        .unwrap();
    // CHD0000000: fault confirmed, credited at the single-band value (£30.87). CHD0000018: not
    // confirmed but redeployable, charged £8.27. CHD0000001: no fault, not redeployable, charged
    // £30.87.
    assert_eq!(analysed.status, ReturnStatus::Analysed);
    assert_eq!(analysed.credit_pence, Some(3087));
    assert_eq!(analysed.charge_pence, Some(827 + 3087));
    let lines = w
        .hubs
        .return_lines(&w.supplier.user, &requested.reference)
        .unwrap();
    let settled: Vec<_> = lines
        .iter()
        .map(|l| (l.serial.as_str(), l.settlement.as_deref(), l.amount_pence))
        .collect();
    assert_eq!(
        settled,
        [
            ("CHD0000000", Some("credit"), Some(3087)),
            ("CHD0000001", Some("charge"), Some(3087)),
            ("CHD0000018", Some("charge"), Some(827)),
        ]
    );
    assert_eq!(
        step(&w.operator, "closed").unwrap().status,
        ReturnStatus::Closed
    );
    let events: i64 =
        w.db.read_blocking(|conn| {
            use diesel::prelude::*;
            use dsms_store::schema::outbox;
            outbox::table
                .filter(outbox::kind.eq("event"))
                .filter(outbox::payload.like("%\"type\":\"hub_return.%"))
                .count()
                .get_result::<i64>(conn)
                .map_err(dsms_store::StoreError::from)
        })
        .unwrap();
    assert_eq!(
        events, 6,
        "requested, authorised, collected, received, analysed, closed"
    );
}

#[test]
fn returned_serials_must_be_known_delivered_to_the_organisation_and_not_returned_before() {
    let w = World::new();
    delivered(&w);
    new(w.hubs.request_return(
        &w.supplier.user,
        NewReturn {
            rows: vec![row(0, "CHD0000002", "lost_or_stolen", None)],
            ..NewReturn::default()
        },
        None,
        None,
    ))
    .unwrap();
    let refused = invalid(new(w.hubs.request_return(
        &w.supplier.user,
        NewReturn {
            rows: vec![
                row(0, "CHD0000003", "aerial", Some("after_installation")),
                row(1, "CHZ9999999", "general", None),
                row(2, "CHD0000019", "general", None),
                row(3, "CHD0000002", "general", None),
                row(4, "CHD0000004", "led", None),
                row(5, "CHD0000005", "general", Some("after_installation")),
                row(6, "CHD0000006", "broken", None),
                row(7, "no", "general", None),
                row(8, "chd0000003", "general", None),
            ],
            incident_id: Some(999_999),
            notes: None,
        },
        None,
        None,
    )));
    for (field, message) in [
        ("lines[1].serial", "not a known hub serial number"),
        ("lines[2].serial", "not delivered to your organisation"),
        ("lines[3].serial", "already returned"),
        (
            "lines[4].found",
            "before_installation or after_installation",
        ),
        ("lines[5].found", "only to faulty reasons"),
        ("lines[6].reason", "sm_wan"),
        ("lines[7].serial", "hub serial number"),
        ("lines[8].serial", "repeats lines[0].serial"),
        ("incident_id", "not an incident of your organisation"),
    ] {
        assert!(names(&refused, field, message), "{field}: {refused:?}");
    }
    assert!(
        !refused.iter().any(|(f, _)| f == "lines[0].serial"),
        "{refused:?}"
    );

    // Another supplier's hubs read as not delivered to it; a network operator returns nothing.
    let theirs = invalid(new(w.hubs.request_return(
        &w.other.user,
        NewReturn {
            rows: vec![row(0, "CHD0000003", "general", None)],
            ..NewReturn::default()
        },
        None,
        None,
    )));
    assert!(names(
        &theirs,
        "lines[0].serial",
        "not delivered to your organisation"
    ));
    assert!(matches!(
        new(w.hubs.request_return(
            &w.network.user,
            NewReturn {
                rows: vec![row(0, "CHD0000003", "general", None)],
                ..NewReturn::default()
            },
            None,
            None,
        )),
        Err(HubError::Forbidden(_))
    ));
    assert!(matches!(
        w.hubs.return_lines(&w.other.user, "RET0000001"),
        Err(HubError::NotFound)
    ));
}
