//! Every ordering rule of `domain.md` ("Communications hubs"), each proven by a case that
//! passes and a case refused with the rule named. The clock starts on Tuesday 1 December 2026.

use dsms_hubs::{
    ComplianceStatus, Confirmation, HubError, LocationChanges, NewForecastLine, OrderChanges,
    OrderStatus, RuleSet,
};

use crate::support::{VARIANT, World, invalid, names, new, serials};

#[test]
fn an_order_is_placed_at_least_four_months_before_its_delivery_month() {
    let w = World::new();
    w.forecast(&w.supplier.user, 200, &[]);
    let location = w.approved_location(&w.supplier.user);
    // Orders for April 2027 close on 1 December 2026: today.
    let april = w
        .order(&w.supplier.user, "2027-04", location.id, 200)
        .unwrap();
    assert_eq!(april.status, OrderStatus::Submitted);
    assert!(april.reference.starts_with("ORD"));
    let refused = invalid(w.order(&w.supplier.user, "2027-03", location.id, 200));
    assert!(
        names(&refused, "delivery_month", "lead time"),
        "{refused:?}"
    );
    assert!(
        names(&refused, "delivery_month", "2026-11-01"),
        "{refused:?}"
    );
}

#[test]
fn an_order_stays_inside_the_forecast_horizon() {
    let w = World::new();
    w.forecast(&w.supplier.user, 200, &[]);
    let location = w.approved_location(&w.supplier.user);
    w.order(&w.supplier.user, "2028-12", location.id, 200)
        .unwrap();
    let refused = invalid(w.order(&w.supplier.user, "2029-01", location.id, 200));
    assert!(
        names(&refused, "delivery_month", "order window"),
        "{refused:?}"
    );
}

#[test]
fn quantities_are_whole_packs_and_at_least_the_minimum() {
    let w = World::new();
    w.forecast(&w.supplier.user, 200, &[]);
    let location = w.approved_location(&w.supplier.user);
    let refused = invalid(w.order(&w.supplier.user, "2027-05", location.id, 105));
    assert!(names(&refused, "quantity", "pack size"), "{refused:?}");
    assert!(!names(&refused, "quantity", "minimum"), "{refused:?}");
    let refused = invalid(w.order(&w.supplier.user, "2027-05", location.id, 5));
    assert!(names(&refused, "quantity", "minimum order"), "{refused:?}");
    assert!(names(&refused, "quantity", "pack size"), "{refused:?}");
    w.order(&w.supplier.user, "2027-05", location.id, 110)
        .unwrap();

    // The minimum alone: a small forecast lets ten hubs through the tolerance.
    w.forecast(&w.supplier.user, 10, &[]);
    w.order(&w.supplier.user, "2027-06", location.id, 10)
        .unwrap();
}

#[test]
fn orders_for_a_month_total_within_the_tolerance_of_the_forecast_in_force() {
    let w = World::new();
    w.forecast(&w.supplier.user, 200, &[]);
    let location = w.approved_location(&w.supplier.user);
    for (quantity, ok) in [(90, false), (250, false), (100, true)] {
        let placed = w.order(&w.supplier.user, "2027-05", location.id, quantity);
        if ok {
            placed.unwrap();
        } else {
            let refused = invalid(placed);
            assert!(
                names(&refused, "quantity", "forecast tolerance"),
                "{quantity}: {refused:?}"
            );
            assert!(
                names(&refused, "quantity", "100 to 240 allowed"),
                "{refused:?}"
            );
        }
    }
    // A second order counts with the first: 100 + 150 is over 120% of 200.
    let refused = invalid(w.order(&w.supplier.user, "2027-05", location.id, 150));
    assert!(
        names(&refused, "quantity", "would total 250"),
        "{refused:?}"
    );
    w.order(&w.supplier.user, "2027-05", location.id, 140)
        .unwrap();
}

#[test]
fn an_order_needs_a_forecast_in_force() {
    let w = World::new();
    let location = w.approved_location(&w.supplier.user);
    let refused = invalid(w.order(&w.supplier.user, "2027-05", location.id, 200));
    assert!(
        names(&refused, "quantity", "no forecast in force"),
        "{refused:?}"
    );
}

#[test]
fn the_forecast_in_force_for_a_month_is_the_latest_submitted_before_its_cutoff() {
    let w = World::new();
    let first = w.forecast(&w.supplier.user, 200, &[]);
    // May's cut-off is 1 February 2027; a forecast made after it does not count for May.
    w.set_clock("2027-02-02T10:00:00Z");
    let second = w.forecast(&w.supplier.user, 300, &[("2027-05", 1000)]);
    assert_eq!(second.sequence, 2);
    let may = w
        .hubs
        .forecast_in_force(&w.supplier.user, None, "2027-05")
        .unwrap();
    assert_eq!(may.forecast, Some((first.id, 1)));
    assert_eq!(may.lines[0].quantity, 200);
    assert_eq!(may.cutoff.to_string(), "2027-02-01");
    let june = w
        .hubs
        .forecast_in_force(&w.supplier.user, None, "2027-06")
        .unwrap();
    assert_eq!(june.forecast, Some((second.id, 2)));
    assert_eq!(june.lines[0].quantity, 300);
    // Another organisation's forecast is not there to ask about.
    assert!(matches!(
        w.hubs
            .forecast_in_force(&w.other.user, Some(w.supplier.id), "2027-06"),
        Err(HubError::NotFound)
    ));
}

#[test]
fn orders_go_only_to_approved_locations_of_the_ordering_organisation() {
    let w = World::new();
    w.forecast(&w.supplier.user, 200, &[]);
    let pending = w.location(&w.supplier.user);
    let refused = invalid(w.order(&w.supplier.user, "2027-05", pending.id, 200));
    assert!(
        names(&refused, "location_id", "approved delivery location"),
        "{refused:?}"
    );
    let theirs = w.approved_location(&w.other.user);
    let refused = invalid(w.order(&w.supplier.user, "2027-05", theirs.id, 200));
    assert!(names(
        &refused,
        "location_id",
        "not a delivery location of your organisation"
    ));
    // Only the operator approves; then orders may use it.
    assert!(matches!(
        w.hubs.update_location(
            &w.supplier.user,
            pending.id,
            None,
            LocationChanges {
                status: Some("approved".into()),
                ..LocationChanges::default()
            },
            None,
        ),
        Err(HubError::Forbidden(_))
    ));
    w.hubs
        .update_location(
            &w.operator,
            pending.id,
            Some(pending.version),
            LocationChanges {
                status: Some("approved".into()),
                ..LocationChanges::default()
            },
            None,
        )
        .unwrap();
    w.order(&w.supplier.user, "2027-05", pending.id, 200)
        .unwrap();
    // Moving the location sends it back for approval.
    let moved = w
        .hubs
        .update_location(
            &w.supplier.user,
            pending.id,
            None,
            LocationChanges {
                address: Some("2 Other Road, Wigan".into()),
                ..LocationChanges::default()
            },
            None,
        )
        .unwrap();
    assert_eq!(moved.status.as_str(), "pending");
}

#[test]
fn a_refused_order_names_each_rule_it_breaks() {
    let w = World::new();
    w.forecast(&w.supplier.user, 200, &[]);
    let pending = w.location(&w.supplier.user);
    let refused = invalid(w.order(&w.supplier.user, "2027-03", pending.id, 305));
    for (field, rule) in [
        ("delivery_month", "lead time"),
        ("quantity", "pack size"),
        ("quantity", "forecast tolerance"),
        ("location_id", "approved delivery location"),
    ] {
        assert!(names(&refused, field, rule), "{field} {rule}: {refused:?}");
    }
}

#[test]
fn orders_are_amended_or_cancelled_only_before_the_cutoff() {
    let w = World::new();
    w.forecast(&w.supplier.user, 200, &[]);
    let location = w.approved_location(&w.supplier.user);
    let may = w
        .order(&w.supplier.user, "2027-05", location.id, 200)
        .unwrap();
    let june = w
        .order(&w.supplier.user, "2027-06", location.id, 200)
        .unwrap();
    let amend = |quantity| OrderChanges {
        quantity: Some(quantity),
        ..OrderChanges::default()
    };
    let cancel = || OrderChanges {
        status: Some("cancelled".into()),
        ..OrderChanges::default()
    };

    w.set_clock("2027-01-31T23:00:00Z");
    let amended = w
        .hubs
        .update_order(
            &w.supplier.user,
            &may.reference,
            Some(may.version),
            amend(220),
            None,
        )
        .unwrap();
    assert_eq!(
        (amended.status, amended.quantity),
        (OrderStatus::Amended, 220)
    );
    // The amended quantity is judged too.
    let refused =
        invalid(
            w.hubs
                .update_order(&w.supplier.user, &may.reference, None, amend(300), None),
        );
    assert!(
        names(&refused, "quantity", "forecast tolerance"),
        "{refused:?}"
    );

    w.set_clock("2027-02-01T09:00:00Z");
    let refused =
        invalid(
            w.hubs
                .update_order(&w.supplier.user, &may.reference, None, amend(200), None),
        );
    assert!(
        names(&refused, "quantity", "amendment cut-off"),
        "{refused:?}"
    );
    let refused =
        invalid(
            w.hubs
                .update_order(&w.supplier.user, &may.reference, None, cancel(), None),
        );
    assert!(
        names(&refused, "status", "amendment cut-off"),
        "{refused:?}"
    );
    let cancelled = w
        .hubs
        .update_order(&w.supplier.user, &june.reference, None, cancel(), None)
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    // A stale version is refused rather than overwritten.
    assert!(matches!(
        w.hubs.update_order(
            &w.operator,
            &may.reference,
            Some(may.version),
            OrderChanges {
                status: Some("accepted".into()),
                ..OrderChanges::default()
            },
            None
        ),
        Err(HubError::VersionMismatch(_))
    ));
}

#[test]
fn consignments_arrive_on_delivery_days_inside_the_month_and_are_confirmed_within_five_working_days()
 {
    let w = World::new();
    w.forecast(&w.supplier.user, 200, &[]);
    let location = w.approved_location(&w.supplier.user);
    let order = w
        .order(&w.supplier.user, "2027-04", location.id, 200)
        .unwrap();
    let not_yet = w.dispatch(&order, "2027-04-09", &serials("CHA", 10));
    assert!(
        matches!(not_yet, Err(HubError::Transition { .. })),
        "{not_yet:?}"
    );
    let accept = OrderChanges {
        status: Some("accepted".into()),
        ..OrderChanges::default()
    };
    w.hubs
        .update_order(&w.operator, &order.reference, None, accept, None)
        .unwrap();

    let refused = invalid(w.dispatch(&order, "2027-04-10", &serials("CHA", 10)));
    assert!(
        names(&refused, "delivery_date", "delivery days"),
        "Saturday: {refused:?}"
    );
    let refused = invalid(w.dispatch(&order, "2027-05-03", &serials("CHA", 10)));
    assert!(
        names(&refused, "delivery_date", "delivery month"),
        "{refused:?}"
    );
    let refused = invalid(w.dispatch(&order, "2027-04-09", &serials("CHA", 210)));
    assert!(
        names(&refused, "serials", "200 hubs left to dispatch"),
        "{refused:?}"
    );

    // Friday 9 April: five working days later is Friday 16 April.
    let first = w
        .dispatch(&order, "2027-04-09", &serials("CHA", 100))
        .unwrap();
    let second = w
        .dispatch(&order, "2027-04-09", &serials("CHB", 100))
        .unwrap();
    assert_eq!(first.confirmation_due_on.to_string(), "2027-04-16");
    let confirm = |id| {
        w.hubs.confirm_delivery(
            &w.supplier.user,
            &order.reference,
            id,
            Confirmation::default(),
            None,
        )
    };
    w.set_clock("2027-04-08T12:00:00Z");
    let early = invalid(confirm(first.id));
    assert!(
        names(&early, "confirmation", "before the delivery date"),
        "{early:?}"
    );
    w.set_clock("2027-04-16T17:00:00Z");
    let confirmed = confirm(first.id).unwrap();
    assert_eq!(
        confirmed.status,
        OrderStatus::Dispatched,
        "one consignment still open"
    );
    w.set_clock("2027-04-19T09:00:00Z");
    match confirm(second.id) {
        Err(HubError::WindowClosed { detail, closed_on }) => {
            assert!(detail.contains("confirmation window"), "{detail}");
            assert_eq!(closed_on.to_string(), "2027-04-16");
        }
        other => panic!("expected the confirmation window to be closed, got {other:?}"),
    }
}

#[test]
fn a_rule_set_applies_from_the_day_it_takes_effect() {
    let temporary = RuleSet {
        effective_from: chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        pack_size: 20,
        minimum_quantity: 20,
        ..RuleSet::default()
    };
    let w = World::with_rules(vec![RuleSet::default(), temporary]);
    w.forecast(&w.supplier.user, 200, &[]);
    let location = w.approved_location(&w.supplier.user);
    let before = w
        .order(&w.supplier.user, "2027-05", location.id, 110)
        .unwrap();
    assert_eq!(before.rules_effective_from.to_string(), "2020-01-01");
    w.set_clock("2027-01-01T10:00:00Z");
    let refused = invalid(w.order(&w.supplier.user, "2027-05", location.id, 110));
    assert!(names(&refused, "quantity", "packs of 20"), "{refused:?}");
    let after = w
        .order(&w.supplier.user, "2027-05", location.id, 120)
        .unwrap();
    assert_eq!(after.rules_effective_from.to_string(), "2027-01-01");
}

fn line(month: &str, variant: &str, quantity: i64) -> NewForecastLine {
    NewForecastLine {
        month: month.into(),
        variant: variant.into(),
        region: None,
        quantity,
    }
}

#[test]
fn a_forecast_covers_every_month_of_the_horizon_and_nothing_beyond() {
    let w = World::new();
    let mut lines: Vec<NewForecastLine> = (1..=23)
        .map(|n| {
            line(
                &format!("{}-{:02}", 2027 + (n - 1) / 12, (n - 1) % 12 + 1),
                VARIANT,
                100,
            )
        })
        .collect();
    lines.push(line("2029-01", VARIANT, 100));
    lines.push(line("2027-01", "CH-X-NONE", 100));
    lines.push(NewForecastLine {
        region: Some("north".into()),
        ..line("2027-02", "CH-S-4G-DB", 5)
    });
    lines.push(line("2027-03", VARIANT, -1));
    let refused = invalid(crate::support::new(w.hubs.submit_forecast(
        &w.supplier.user,
        lines,
        None,
        None,
    )));
    assert!(
        names(&refused, "lines[23].month", "forecast horizon"),
        "{refused:?}"
    );
    assert!(
        names(&refused, "lines[24].variant", "not a known hub variant"),
        "{refused:?}"
    );
    assert!(
        names(&refused, "lines[25].region", "must be south"),
        "{refused:?}"
    );
    assert!(
        names(&refused, "lines[26].quantity", "must not be negative"),
        "{refused:?}"
    );
    assert!(
        names(&refused, "lines[26]", "repeats lines[2]"),
        "{refused:?}"
    );
    assert!(names(&refused, "lines", "missing 2028-12"), "{refused:?}");
    assert!(
        new(w
            .hubs
            .submit_forecast(&w.supplier.reporter, Vec::new(), None, None))
        .is_err_and(|e| matches!(e, HubError::Forbidden(_)))
    );
}

#[test]
fn forecasts_are_versioned_and_late_or_missing_ones_flagged() {
    let w = World::new();
    let first = w.forecast(&w.supplier.user, 200, &[]);
    assert_eq!((first.sequence, first.late), (1, false));
    assert_eq!(first.due_on.to_string(), "2026-12-01");
    assert_eq!(
        first.changes.len(),
        24,
        "everything is new in the first version"
    );
    // January's forecast was due on Monday 4 January (New Year's Day is a bank holiday).
    w.set_clock("2027-01-05T10:00:00Z");
    let second = w.forecast(&w.supplier.user, 200, &[("2027-06", 260)]);
    assert_eq!((second.sequence, second.late), (2, true));
    let june = second
        .changes
        .iter()
        .find(|c| c.month.to_string() == "2027-06")
        .expect("June changed");
    assert_eq!((june.from, june.to), (Some(200), Some(260)));
    assert!(
        second
            .changes
            .iter()
            .any(|c| c.month.to_string() == "2027-01" && c.to.is_none())
    );
    let fetched = w.hubs.forecast(&w.supplier.reporter, second.id).unwrap();
    assert_eq!(fetched.changes, second.changes);
    assert!(matches!(
        w.hubs.forecast(&w.other.user, second.id),
        Err(HubError::NotFound)
    ));

    let january = w
        .hubs
        .forecast_compliance(&w.operator, Some("2027-01"))
        .unwrap();
    let status = |org: i64| {
        january
            .iter()
            .find(|c| c.organisation_id == org)
            .map(|c| c.status)
    };
    assert_eq!(status(w.supplier.id), Some(ComplianceStatus::Late));
    assert_eq!(status(w.other.id), Some(ComplianceStatus::Missing));
    assert_eq!(
        status(w.network.id),
        None,
        "network operators do not forecast hubs"
    );
    let december = w
        .hubs
        .forecast_compliance(&w.operator, Some("2026-12"))
        .unwrap();
    assert_eq!(
        december
            .iter()
            .find(|c| c.organisation_id == w.supplier.id)
            .map(|c| c.status),
        Some(ComplianceStatus::OnTime)
    );
    let february = w
        .hubs
        .forecast_compliance(&w.supplier.user, Some("2027-02"))
        .unwrap();
    assert_eq!(february.len(), 1, "an organisation sees only itself");
    assert_eq!(february[0].status, ComplianceStatus::NotYetDue);
}
