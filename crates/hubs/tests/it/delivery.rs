//! Delivery and acceptance: the supplier's consignment plan and every rule of amending it, the
//! advance shipment notice, the confirmation window and its once-only sweep, and discrepancy
//! cases worked to a settlement; another organisation sees none of it.

use diesel::prelude::*;
use dsms_hubs::{
    Confirmation, DiscrepancyChanges, DiscrepancyFilter, DiscrepancyOutcome, DiscrepancyStatus,
    HubError, HubOrder, OrderChanges, OrderStatus, PlanLine,
};
use dsms_store::schema::outbox;
use serde_json::Value;

use crate::support::{World, invalid, names, serials};

fn events(w: &World, kind: &str) -> Vec<Value> {
    w.db.read_blocking(|conn| {
        outbox::table
            .filter(outbox::kind.eq("event"))
            .order(outbox::id.asc())
            .select(outbox::payload)
            .load::<String>(conn)
            .map_err(dsms_store::StoreError::from)
    })
    .expect("outbox")
    .iter()
    .map(|p| serde_json::from_str::<Value>(p).expect("JSON"))
    .filter(|e| e["type"] == kind)
    .collect()
}

/// An accepted order of 100 hubs for April 2027 at a location taking deliveries Monday to
/// Friday.
fn accepted(w: &World) -> HubOrder {
    w.forecast(&w.supplier.user, 100, &[]);
    let location = w.approved_location(&w.supplier.user);
    let order = w
        .order(&w.supplier.user, "2027-04", location.id, 100)
        .unwrap();
    w.hubs
        .update_order(
            &w.operator,
            &order.reference,
            None,
            OrderChanges {
                status: Some("accepted".into()),
                ..OrderChanges::default()
            },
            None,
        )
        .unwrap()
}

fn line(id: Option<i64>, date: &str, quantity: i64) -> PlanLine {
    PlanLine {
        id,
        delivery_date: date.into(),
        quantity,
    }
}

fn plan(
    w: &World,
    order: &HubOrder,
    lines: Vec<PlanLine>,
) -> Result<dsms_hubs::ConsignmentPlan, HubError> {
    w.hubs
        .amend_consignments(&w.supplier.user, &order.reference, None, lines, None)
}

#[test]
fn the_supplier_splits_an_order_and_amends_the_split_until_the_cut_off() {
    let w = World::new();
    let order = accepted(&w);
    let first = plan(
        &w,
        &order,
        vec![line(None, "2027-04-07", 60), line(None, "2027-04-21", 40)],
    )
    .unwrap();
    assert_eq!(first.consignments.len(), 2);
    let early = &first.consignments[0];
    // Two working days before Wednesday 7 April is Monday 5 April.
    assert_eq!(early.amendable_until.to_string(), "2027-04-05");

    // Move the early one and shift 20 hubs to the later one: the total stays 100.
    let moved = plan(
        &w,
        &order,
        vec![
            line(Some(early.id), "2027-04-08", 40),
            line(Some(first.consignments[1].id), "2027-04-21", 60),
        ],
    )
    .unwrap();
    let got: Vec<_> = moved
        .consignments
        .iter()
        .map(|c| (c.delivery_date.to_string(), c.quantity))
        .collect();
    assert_eq!(got, [("2027-04-08".into(), 40), ("2027-04-21".into(), 60)]);
    assert!(moved.version > first.version);
    let history = w
        .hubs
        .order_history(&w.supplier.user, &order.reference)
        .unwrap();
    assert_eq!(
        history
            .iter()
            .filter(|e| e.action == "hub_order.consignments_amended")
            .count(),
        2
    );
    assert_eq!(events(&w, "hub_order.consignments_amended").len(), 2);

    // Past Tuesday 6 April the 8 April consignment is firm: it can neither change nor go.
    w.set_clock("2027-04-07T09:00:00Z");
    let firm = moved.consignments[0].id;
    let later = moved.consignments[1].id;
    let refused = invalid(plan(
        &w,
        &order,
        vec![
            line(Some(firm), "2027-04-08", 30),
            line(Some(later), "2027-04-21", 70),
        ],
    ));
    assert!(
        names(&refused, "consignments[0]", "amendment cut-off"),
        "{refused:?}"
    );
    let refused = invalid(plan(&w, &order, vec![line(Some(later), "2027-04-21", 100)]));
    assert!(
        names(&refused, "consignments", "cannot be removed"),
        "{refused:?}"
    );
    // A new consignment too close to its date is refused as well.
    let refused = invalid(plan(
        &w,
        &order,
        vec![
            line(Some(firm), "2027-04-08", 40),
            line(Some(later), "2027-04-21", 50),
            line(None, "2027-04-08", 10),
        ],
    ));
    assert!(
        names(
            &refused,
            "consignments[2].delivery_date",
            "amendment cut-off"
        ),
        "{refused:?}"
    );
    assert!(
        names(
            &refused,
            "consignments[2].delivery_date",
            "repeats consignments[0]"
        ),
        "{refused:?}"
    );
    // The later one still moves, with the firm one left as it is.
    let ok = plan(
        &w,
        &order,
        vec![
            line(Some(firm), "2027-04-08", 40),
            line(Some(later), "2027-04-28", 60),
        ],
    )
    .unwrap();
    assert_eq!(ok.consignments[1].delivery_date.to_string(), "2027-04-28");
}

#[test]
fn every_rule_of_a_plan_is_named() {
    let w = World::new();
    let order = accepted(&w);
    let refused = invalid(plan(
        &w,
        &order,
        vec![
            line(None, "2027-05-05", 50),
            line(None, "2027-04-10", 25),
            line(Some(999_999), "not a date", 0),
        ],
    ));
    assert!(
        names(&refused, "consignments[0].delivery_date", "delivery month"),
        "{refused:?}"
    );
    // Saturday 10 April.
    assert!(
        names(&refused, "consignments[1].delivery_date", "delivery days"),
        "{refused:?}"
    );
    assert!(
        names(&refused, "consignments[1].quantity", "pack size"),
        "{refused:?}"
    );
    assert!(
        names(&refused, "consignments[2].id", "not a planned consignment"),
        "{refused:?}"
    );
    assert!(
        names(&refused, "consignments[2].delivery_date", "must be a date"),
        "{refused:?}"
    );
    assert!(
        names(&refused, "consignments[2].quantity", "at least 1"),
        "{refused:?}"
    );
    assert!(
        names(&refused, "consignments", "order total"),
        "{refused:?}"
    );
    let refused = invalid(plan(&w, &order, vec![line(None, "2027-04-07", 90)]));
    assert_eq!(refused.len(), 1);
    assert!(
        names(&refused, "consignments", "must total 100 hubs"),
        "{refused:?}"
    );

    // Only the ordering supplier plans; the operator and other organisations may not.
    let lines = vec![line(None, "2027-04-07", 100)];
    assert!(matches!(
        w.hubs
            .amend_consignments(&w.operator, &order.reference, None, lines.clone(), None),
        Err(HubError::Forbidden(_))
    ));
    assert!(matches!(
        w.hubs
            .amend_consignments(&w.other.user, &order.reference, None, lines.clone(), None),
        Err(HubError::NotFound)
    ));
    assert!(matches!(
        w.hubs.consignment_plan(&w.other.user, &order.reference),
        Err(HubError::NotFound)
    ));
    // A stale If-Match is refused.
    assert!(matches!(
        w.hubs.amend_consignments(
            &w.supplier.user,
            &order.reference,
            Some(order.version - 1),
            lines,
            None
        ),
        Err(HubError::VersionMismatch(_))
    ));
}

#[test]
fn dispatching_takes_hubs_off_the_plan_and_the_notice_lists_every_serial() {
    let w = World::new();
    let order = accepted(&w);
    plan(
        &w,
        &order,
        vec![line(None, "2027-04-07", 60), line(None, "2027-04-21", 40)],
    )
    .unwrap();
    let consignment = w
        .dispatch(&order, "2027-04-07", &serials("CHA", 60))
        .unwrap();
    let left = w
        .hubs
        .consignment_plan(&w.supplier.user, &order.reference)
        .unwrap();
    assert_eq!(left.dispatched_quantity, 60);
    let got: Vec<_> = left
        .consignments
        .iter()
        .map(|c| (c.delivery_date.to_string(), c.quantity))
        .collect();
    assert_eq!(got, [("2027-04-21".into(), 40)]);

    let notice = w
        .hubs
        .shipment_notice(&w.supplier.reporter, &order.reference, consignment.id)
        .unwrap();
    assert_eq!(notice.order_reference, order.reference);
    assert_eq!(notice.variant, crate::support::VARIANT);
    assert_eq!(notice.delivery_date.to_string(), "2027-04-07");
    assert_eq!(notice.serials, serials("CHA", 60));
    let csv = notice.to_csv();
    let rows: Vec<&str> = csv.split("\r\n").filter(|r| !r.is_empty()).collect();
    assert_eq!(rows.len(), 61);
    assert!(rows[0].starts_with("consignment_id,order_reference,"));
    // The address holds a comma, so it is quoted.
    assert!(
        rows[1].contains("\"1 Depot Way, Warrington\""),
        "{}",
        rows[1]
    );
    assert!(
        rows[1].ends_with(",2027-04-07,CH-C-4G-SB,CHA0000000"),
        "{}",
        rows[1]
    );
    assert!(matches!(
        w.hubs
            .shipment_notice(&w.other.user, &order.reference, consignment.id),
        Err(HubError::NotFound)
    ));
}

#[test]
fn a_delivery_left_unconfirmed_is_deemed_accepted_once_and_then_refused() {
    let w = World::new();
    let order = accepted(&w);
    let consignment = w
        .dispatch(&order, "2027-04-07", &serials("CHW", 100))
        .unwrap();
    // Five working days after Wednesday 7 April is Wednesday 14 April: nothing happens yet.
    w.set_clock("2027-04-14T12:00:00Z");
    assert_eq!(w.hubs.sweep_deliveries().unwrap().deemed_accepted, 0);
    w.set_clock("2027-04-15T09:00:00Z");
    let refused = w.hubs.confirm_delivery(
        &w.supplier.user,
        &order.reference,
        consignment.id,
        Confirmation::default(),
        None,
    );
    match refused {
        Err(HubError::WindowClosed { closed_on, detail }) => {
            assert_eq!(closed_on.to_string(), "2027-04-14");
            assert!(detail.contains("confirmation window"), "{detail}");
        }
        other => panic!("expected the window to be closed, got {other:?}"),
    }
    // Two instances sweep at the same moment: the delivery is deemed accepted once.
    let (a, b) = std::thread::scope(|s| {
        let one = s.spawn(|| w.hubs.sweep_deliveries().unwrap());
        let two = s.spawn(|| w.hubs.sweep_deliveries().unwrap());
        (one.join().unwrap(), two.join().unwrap())
    });
    assert_eq!(a.deemed_accepted + b.deemed_accepted, 1, "{a:?} {b:?}");
    assert_eq!(a.delivered + b.delivered, 1);
    assert_eq!(w.hubs.sweep_deliveries().unwrap().deemed_accepted, 0);
    assert_eq!(events(&w, "hub_order.delivery_deemed_accepted").len(), 1);
    assert_eq!(events(&w, "hub_order.delivered").len(), 1);
    let done = w.hubs.order(&w.supplier.user, &order.reference).unwrap();
    assert_eq!(done.status, OrderStatus::Delivered);
    assert!(done.consignments[0].deemed_accepted_at.is_some());
    let history = w
        .hubs
        .order_history(&w.supplier.user, &order.reference)
        .unwrap();
    assert_eq!(
        history
            .iter()
            .filter(|e| e.action == "hub_order.delivery_deemed_accepted")
            .count(),
        1
    );
    assert!(matches!(
        w.hubs.confirm_delivery(
            &w.supplier.user,
            &order.reference,
            consignment.id,
            Confirmation::default(),
            None,
        ),
        Err(HubError::WindowClosed { .. })
    ));
}

/// An order of 100 dispatched in two consignments, the first confirmed with two hubs missing.
fn short(w: &World) -> (HubOrder, i64) {
    let order = accepted(w);
    let first = w
        .dispatch(&order, "2027-04-07", &serials("CHS", 50))
        .unwrap();
    let second = w
        .dispatch(&order, "2027-04-08", &serials("CHT", 50))
        .unwrap();
    w.set_clock("2027-04-08T09:00:00Z");
    w.hubs
        .confirm_delivery(
            &w.supplier.user,
            &order.reference,
            first.id,
            Confirmation {
                missing: vec!["CHS0000001".into(), "CHS0000002".into()],
                ..Confirmation::default()
            },
            None,
        )
        .unwrap();
    (order, second.id)
}

#[test]
fn a_shortage_opens_a_case_that_a_second_shortage_extends() {
    let w = World::new();
    let (order, second) = short(&w);
    w.hubs
        .confirm_delivery(
            &w.supplier.user,
            &order.reference,
            second,
            Confirmation {
                missing: vec!["CHT0000009".into()],
                damaged: vec!["CHT0000003".into()],
                ..Confirmation::default()
            },
            None,
        )
        .unwrap();
    let cases = w
        .hubs
        .discrepancies(
            &w.supplier.reporter,
            &DiscrepancyFilter::default(),
            first_page(),
        )
        .unwrap()
        .items;
    let got: Vec<_> = cases
        .iter()
        .map(|c| (c.kind.as_str(), c.quantity))
        .collect();
    assert_eq!(got, [("shortage", 3), ("damage", 1)]);
    assert_eq!(cases[0].serials, ["CHS0000001", "CHS0000002", "CHT0000009"]);
    assert_eq!(cases[0].version, 2);
    assert_eq!(events(&w, "hub_discrepancy.opened").len(), 2);
    assert_eq!(events(&w, "hub_discrepancy.extended").len(), 1);
    let history = w
        .hubs
        .discrepancy_history(&w.supplier.user, cases[0].id)
        .unwrap();
    let actions: Vec<_> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["hub_discrepancy.opened", "hub_discrepancy.extended"]
    );

    // Another organisation sees no case, and cannot read one by id.
    let theirs = w
        .hubs
        .discrepancies(&w.other.user, &DiscrepancyFilter::default(), first_page())
        .unwrap();
    assert!(theirs.items.is_empty());
    assert!(matches!(
        w.hubs.discrepancy(&w.other.user, cases[0].id),
        Err(HubError::NotFound)
    ));
    assert!(matches!(
        w.hubs.discrepancy_history(&w.other.user, cases[0].id),
        Err(HubError::NotFound)
    ));
}

#[test]
fn the_operator_investigates_and_settles_a_case_by_the_lifecycle() {
    let w = World::new();
    let (_, _) = short(&w);
    let case = w
        .hubs
        .discrepancies(&w.operator, &DiscrepancyFilter::default(), first_page())
        .unwrap()
        .items
        .remove(0);
    assert_eq!(case.status, DiscrepancyStatus::Open);
    let change = |status: &str, outcome: Option<&str>, note: Option<&str>| DiscrepancyChanges {
        status: status.into(),
        outcome: outcome.map(str::to_owned),
        note: note.map(str::to_owned),
    };
    // The ordering organisation sees its case but does not work it.
    assert!(matches!(
        w.hubs.update_discrepancy(
            &w.supplier.user,
            case.id,
            None,
            change("investigating", None, None),
            None
        ),
        Err(HubError::Forbidden(_))
    ));
    assert!(matches!(
        w.hubs.update_discrepancy(
            &w.other.user,
            case.id,
            None,
            change("investigating", None, None),
            None
        ),
        Err(HubError::NotFound)
    ));
    // Open cases are investigated before they are settled.
    match w.hubs.update_discrepancy(
        &w.operator,
        case.id,
        None,
        change("settled", Some("credit"), Some("n")),
        None,
    ) {
        Err(HubError::Transition { allowed, .. }) => assert_eq!(allowed, ["investigating"]),
        other => panic!("expected a refused transition, got {other:?}"),
    }
    let looking = w
        .hubs
        .update_discrepancy(
            &w.operator,
            case.id,
            Some(case.version),
            change("investigating", None, None),
            None,
        )
        .unwrap();
    assert_eq!(looking.status, DiscrepancyStatus::Investigating);
    let refused = invalid(w.hubs.update_discrepancy(
        &w.operator,
        case.id,
        None,
        change("settled", Some("refund"), None),
        None,
    ));
    assert!(names(&refused, "outcome", "must be one of"), "{refused:?}");
    assert!(names(&refused, "note", "is required"), "{refused:?}");
    let refused = invalid(w.hubs.update_discrepancy(
        &w.operator,
        case.id,
        None,
        change("settled", None, Some("sent again")),
        None,
    ));
    assert!(
        names(&refused, "outcome", "is required to settle"),
        "{refused:?}"
    );
    assert!(matches!(
        w.hubs.update_discrepancy(
            &w.operator,
            case.id,
            Some(case.version),
            change("settled", Some("replacement_consignment"), Some("x")),
            None
        ),
        Err(HubError::VersionMismatch(_))
    ));
    let settled = w
        .hubs
        .update_discrepancy(
            &w.operator,
            case.id,
            Some(looking.version),
            change(
                "settled",
                Some("replacement_consignment"),
                Some("Two hubs sent again on 2027-04-20."),
            ),
            None,
        )
        .unwrap();
    assert_eq!(settled.status, DiscrepancyStatus::Settled);
    assert_eq!(
        settled.outcome,
        Some(DiscrepancyOutcome::ReplacementConsignment)
    );
    assert_eq!(
        settled.settled_by.as_deref(),
        Some(w.operator.display_name.as_str())
    );
    // The ordering organisation sees the outcome.
    let seen = w.hubs.discrepancy(&w.supplier.reporter, case.id).unwrap();
    assert_eq!(
        seen.settlement_note.as_deref(),
        Some("Two hubs sent again on 2027-04-20.")
    );
    assert_eq!(events(&w, "hub_discrepancy.settled").len(), 1);
    let settled_filter = DiscrepancyFilter {
        statuses: vec!["settled".into()],
        ..DiscrepancyFilter::default()
    };
    assert_eq!(
        w.hubs
            .discrepancies(&w.supplier.user, &settled_filter, first_page())
            .unwrap()
            .items
            .len(),
        1
    );
    // Settled is final.
    assert!(matches!(
        w.hubs.update_discrepancy(
            &w.operator,
            case.id,
            None,
            change("rejected", None, Some("n")),
            None
        ),
        Err(HubError::Transition { .. })
    ));
}

fn first_page() -> dsms_core::PageRequest {
    dsms_core::PageRequest::parse(None, None).expect("the first page")
}
