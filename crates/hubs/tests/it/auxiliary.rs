//! Auxiliary equipment: the catalogue kept by the operator's admins and read by everyone, and
//! items ordered as lines of hub orders, each rule proven by a case that passes and a case
//! refused with the rule named. The clock starts on Tuesday 1 December 2026.

use dsms_auth::{NewPerson, create_person};
use dsms_core::{Actor, Email, OrganisationKind, Principal, Role};
use dsms_hubs::{
    AuxiliaryItem, AuxiliaryItemChanges, HubError, HubOrder, NewAuxiliaryItem, NewAuxiliaryLine,
    NewOrder, OrderChanges, OrderStatus,
};

use crate::support::{VARIANT, World, invalid, names, new, utc};

/// A `dcc_admin` of the operator: the catalogue's maintainer.
fn admin(w: &World) -> Principal {
    let organisation_id = w.operator.organisation_id;
    let person =
        w.db.write_blocking(|conn| {
            create_person(
                conn,
                utc(crate::support::START),
                &Actor::system("test"),
                NewPerson {
                    email: Email::parse("admin@operator.example").expect("email"),
                    name: "admin".into(),
                    organisation_id,
                    roles: vec![Role::DccAdmin],
                },
                "!",
                false,
            )
        })
        .expect("admin");
    Principal::person(
        person.id,
        organisation_id,
        OrganisationKind::Operator,
        vec![Role::DccAdmin],
    )
    .named("admin")
}

/// An item sold in packs of 5, 10 to 50 an order, deliverable from January 2027.
fn aerial() -> NewAuxiliaryItem {
    NewAuxiliaryItem {
        code: "aux-aerial-ext".into(),
        name: "External aerial".into(),
        description: Some("For hubs in basements and metal cabinets".into()),
        pack_size: 5,
        minimum_quantity: 10,
        maximum_quantity: Some(50),
        available_from: Some("2027-01-01".into()),
        available_until: None,
    }
}

fn add(w: &World, by: &Principal, item: NewAuxiliaryItem) -> Result<AuxiliaryItem, HubError> {
    w.hubs.add_auxiliary_item(by, item, None)
}

fn line(code: &str, quantity: i64) -> NewAuxiliaryLine {
    NewAuxiliaryLine {
        code: code.into(),
        quantity,
    }
}

/// Places an order of 200 hubs of [`VARIANT`] for `month` with `lines`.
fn order_with(
    w: &World,
    by: &Principal,
    month: &str,
    location: i64,
    lines: Vec<NewAuxiliaryLine>,
) -> Result<HubOrder, HubError> {
    new(w.hubs.place_order_with_auxiliary(
        by,
        NewOrder {
            delivery_month: month.into(),
            location_id: location,
            variant: VARIANT.into(),
            quantity: 200,
        },
        lines,
        None,
        None,
    ))
}

/// A world with the aerial in the catalogue, a forecast and an approved location.
fn ready() -> (World, Principal, i64) {
    let w = World::new();
    let admin = admin(&w);
    add(&w, &admin, aerial()).expect("aerial added");
    w.forecast(&w.supplier.user, 200, &[]);
    let location = w.approved_location(&w.supplier.user).id;
    (w, admin, location)
}

#[test]
fn the_catalogue_is_kept_by_the_operators_admins_and_read_by_everyone_signed_in() {
    let w = World::new();
    let admin = admin(&w);
    let item = add(&w, &admin, aerial()).unwrap();
    assert_eq!(item.code, "AUX-AERIAL-EXT");
    assert_eq!(item.version, 1);
    assert!(item.active);

    for reader in [
        &w.supplier.user,
        &w.supplier.reporter,
        &w.other.user,
        &w.network.reporter,
        &w.operator,
    ] {
        let listed = w.hubs.auxiliary_items(reader, true).unwrap();
        assert_eq!(listed, vec![item.clone()]);
        assert_eq!(
            w.hubs.auxiliary_item(reader, "aux-aerial-ext").unwrap(),
            item
        );
    }

    // Neither suppliers nor the service desk (who manage hubs but not catalogues) maintain it.
    for outsider in [&w.supplier.user, &w.operator] {
        assert!(matches!(
            add(
                &w,
                outsider,
                NewAuxiliaryItem {
                    code: "AUX-OTHER".into(),
                    ..aerial()
                }
            ),
            Err(HubError::Forbidden(_))
        ));
        assert!(matches!(
            w.hubs.update_auxiliary_item(
                outsider,
                "AUX-AERIAL-EXT",
                None,
                AuxiliaryItemChanges {
                    active: Some(false),
                    ..AuxiliaryItemChanges::default()
                },
                None
            ),
            Err(HubError::Forbidden(_))
        ));
    }

    let withdrawn = w
        .hubs
        .update_auxiliary_item(
            &admin,
            &item.id.to_string(),
            Some(1),
            AuxiliaryItemChanges {
                active: Some(false),
                pack_size: Some(10),
                ..AuxiliaryItemChanges::default()
            },
            None,
        )
        .unwrap();
    assert!(!withdrawn.active);
    assert_eq!((withdrawn.pack_size, withdrawn.version), (10, 2));
    assert!(matches!(
        w.hubs.update_auxiliary_item(
            &admin,
            "AUX-AERIAL-EXT",
            Some(1),
            AuxiliaryItemChanges::default(),
            None
        ),
        Err(HubError::VersionMismatch(2))
    ));
    assert!(
        w.hubs
            .auxiliary_items(&w.supplier.user, true)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        w.hubs
            .auxiliary_items(&w.supplier.user, false)
            .unwrap()
            .len(),
        1
    );

    let history = w
        .hubs
        .auxiliary_item_history(&w.supplier.user, "AUX-AERIAL-EXT")
        .unwrap();
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["hub_auxiliary_item.created", "hub_auxiliary_item.updated"]
    );
}

#[test]
fn item_limits_that_cannot_work_are_refused_each_by_name() {
    let w = World::new();
    let admin = admin(&w);
    let refused = invalid(add(
        &w,
        &admin,
        NewAuxiliaryItem {
            code: "AUX AERIAL!".into(),
            name: " ".into(),
            pack_size: 0,
            minimum_quantity: 0,
            maximum_quantity: Some(-1),
            available_from: Some("2027-13-01".into()),
            available_until: Some("soon".into()),
            ..aerial()
        },
    ));
    for (field, rule) in [
        ("code", "letters, digits and hyphens"),
        ("name", "must not be empty"),
        ("pack_size", "at least 1"),
        ("minimum_quantity", "at least 1"),
        ("maximum_quantity", "at least the minimum_quantity"),
        ("available_from", "must be a date"),
        ("available_until", "must be a date"),
    ] {
        assert!(names(&refused, field, rule), "{field}: {refused:?}");
    }
    let refused = invalid(add(
        &w,
        &admin,
        NewAuxiliaryItem {
            pack_size: 20,
            minimum_quantity: 25,
            maximum_quantity: Some(30),
            available_until: Some("2026-12-31".into()),
            ..aerial()
        },
    ));
    assert!(
        names(
            &refused,
            "maximum_quantity",
            "no whole number of packs of 20"
        ),
        "{refused:?}"
    );
    assert!(
        names(
            &refused,
            "available_until",
            "must not be before available_from"
        ),
        "{refused:?}"
    );

    add(&w, &admin, aerial()).unwrap();
    let refused = invalid(add(&w, &admin, aerial()));
    assert!(names(&refused, "code", "already used"), "{refused:?}");
    let refused = invalid(w.hubs.update_auxiliary_item(
        &admin,
        "AUX-AERIAL-EXT",
        None,
        AuxiliaryItemChanges {
            maximum_quantity: Some(Some(5)),
            ..AuxiliaryItemChanges::default()
        },
        None,
    ));
    assert!(
        names(
            &refused,
            "maximum_quantity",
            "at least the minimum_quantity (10)"
        ),
        "{refused:?}"
    );
}

#[test]
fn items_are_ordered_with_a_hub_order_within_each_items_rules() {
    let (w, _, location) = ready();
    let order = order_with(
        &w,
        &w.supplier.user,
        "2027-05",
        location,
        vec![line("aux-aerial-ext", 25)],
    )
    .unwrap();
    assert_eq!(order.status, OrderStatus::Submitted);
    let lines = w
        .hubs
        .order_auxiliary(&w.supplier.reporter, &order.reference)
        .unwrap();
    assert_eq!(lines.reference, order.reference);
    assert_eq!(lines.version, order.version);
    assert_eq!(lines.lines.len(), 1);
    assert_eq!(
        (lines.lines[0].code.as_str(), lines.lines[0].quantity),
        ("AUX-AERIAL-EXT", 25)
    );
    let history = w
        .hubs
        .order_history(&w.supplier.user, &order.reference)
        .unwrap();
    assert!(
        history
            .iter()
            .any(|e| e.action == "hub_order.auxiliary_ordered"),
        "{history:?}"
    );

    // The smallest and the largest allowed quantities.
    for quantity in [10, 50] {
        w.hubs
            .set_order_auxiliary(
                &w.supplier.user,
                &order.reference,
                None,
                vec![line("AUX-AERIAL-EXT", quantity)],
                None,
            )
            .unwrap();
    }
}

#[test]
fn every_rule_an_order_and_its_items_break_is_named_and_nothing_is_placed() {
    let (w, admin, location) = ready();
    add(
        &w,
        &admin,
        NewAuxiliaryItem {
            code: "AUX-BRACKET".into(),
            available_from: Some("2027-06-01".into()),
            ..aerial()
        },
    )
    .unwrap();
    add(
        &w,
        &admin,
        NewAuxiliaryItem {
            code: "AUX-OLD".into(),
            ..aerial()
        },
    )
    .unwrap();
    w.hubs
        .update_auxiliary_item(
            &admin,
            "AUX-OLD",
            None,
            AuxiliaryItemChanges {
                active: Some(false),
                ..AuxiliaryItemChanges::default()
            },
            None,
        )
        .unwrap();
    let refused = invalid(new(w.hubs.place_order_with_auxiliary(
        &w.supplier.user,
        NewOrder {
            delivery_month: "2027-05".into(),
            location_id: location,
            variant: VARIANT.into(),
            quantity: 205,
        },
        vec![
            line("AUX-AERIAL-EXT", 7),
            line("AUX-AERIAL-EXT", 10),
            line("AUX-NOPE", 10),
            line("AUX-BRACKET", 10),
            line("AUX-OLD", 55),
        ],
        None,
        None,
    )));
    for (field, rule) in [
        ("quantity", "pack size"),
        (
            "lines[0].quantity",
            "minimum order: at least 10 of AUX-AERIAL-EXT",
        ),
        (
            "lines[0].quantity",
            "pack size: must be a whole multiple of 5",
        ),
        ("lines[1].code", "repeats lines[0]"),
        ("lines[2].code", "not a known auxiliary item code"),
        (
            "lines[3].quantity",
            "availability: AUX-BRACKET may be delivered from 2027-06-01",
        ),
        ("lines[4].quantity", "withdrawn"),
        ("lines[4].quantity", "maximum order: at most 50"),
    ] {
        assert!(names(&refused, field, rule), "{field} {rule}: {refused:?}");
    }
    assert!(
        w.hubs
            .orders(
                &w.supplier.user,
                &Default::default(),
                dsms_core::PageRequest {
                    limit: 10,
                    after: None
                }
            )
            .unwrap()
            .items
            .is_empty(),
        "a refused order places nothing"
    );

    // The hub order's own lead time still applies to an order with items.
    let refused = invalid(order_with(
        &w,
        &w.supplier.user,
        "2027-03",
        location,
        vec![line("AUX-AERIAL-EXT", 10)],
    ));
    assert!(
        names(&refused, "delivery_month", "lead time"),
        "{refused:?}"
    );
}

#[test]
fn changing_the_items_amends_the_order_until_its_cut_off() {
    let (w, _, location) = ready();
    let order = order_with(&w, &w.supplier.user, "2027-05", location, Vec::new()).unwrap();
    assert!(
        w.hubs
            .order_auxiliary(&w.supplier.user, &order.reference)
            .unwrap()
            .lines
            .is_empty()
    );
    let accepted = w
        .hubs
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
        .unwrap();

    // The operator decides orders but does not write the supplier's lines; readers only read.
    for not_theirs in [&w.operator, &w.supplier.reporter] {
        assert!(matches!(
            w.hubs.set_order_auxiliary(
                not_theirs,
                &order.reference,
                None,
                vec![line("AUX-AERIAL-EXT", 10)],
                None
            ),
            Err(HubError::Forbidden(_))
        ));
    }
    assert!(matches!(
        w.hubs.set_order_auxiliary(
            &w.supplier.user,
            &order.reference,
            Some(accepted.version - 1),
            vec![line("AUX-AERIAL-EXT", 10)],
            None
        ),
        Err(HubError::VersionMismatch(_))
    ));
    let amended = w
        .hubs
        .set_order_auxiliary(
            &w.supplier.user,
            &order.reference,
            Some(accepted.version),
            vec![line("AUX-AERIAL-EXT", 20)],
            None,
        )
        .unwrap();
    assert_eq!(amended.status, "amended");
    assert_eq!(amended.version, accepted.version + 1);
    let history = w
        .hubs
        .order_history(&w.supplier.user, &order.reference)
        .unwrap();
    let last = history.last().expect("history");
    assert_eq!(last.action, "hub_order.amended");
    assert!(last.changes.contains("AUX-AERIAL-EXT × 20"), "{last:?}");

    // Orders for May 2027 become firm on 1 February 2027.
    w.set_clock("2027-02-01T09:00:00Z");
    let refused = invalid(w.hubs.set_order_auxiliary(
        &w.supplier.user,
        &order.reference,
        None,
        Vec::new(),
        None,
    ));
    assert!(names(&refused, "lines", "amendment cut-off"), "{refused:?}");
    w.set_clock("2027-01-31T12:00:00Z");
    let cleared = w
        .hubs
        .set_order_auxiliary(&w.supplier.user, &order.reference, None, Vec::new(), None)
        .unwrap();
    assert!(cleared.lines.is_empty());

    // A cancelled order cannot be amended at all.
    w.hubs
        .update_order(
            &w.supplier.user,
            &order.reference,
            None,
            OrderChanges {
                status: Some("cancelled".into()),
                ..OrderChanges::default()
            },
            None,
        )
        .unwrap();
    assert!(matches!(
        w.hubs.set_order_auxiliary(
            &w.supplier.user,
            &order.reference,
            None,
            vec![line("AUX-AERIAL-EXT", 10)],
            None
        ),
        Err(HubError::Transition { .. })
    ));
}

#[test]
fn another_organisation_sees_nothing_of_an_orders_items() {
    let (w, _, location) = ready();
    let order = order_with(
        &w,
        &w.supplier.user,
        "2027-05",
        location,
        vec![line("AUX-AERIAL-EXT", 10)],
    )
    .unwrap();
    for stranger in [&w.other.user, &w.other.reporter, &w.network.user] {
        assert!(matches!(
            w.hubs.order_auxiliary(stranger, &order.reference),
            Err(HubError::NotFound)
        ));
        assert!(matches!(
            w.hubs
                .set_order_auxiliary(stranger, &order.id.to_string(), None, Vec::new(), None),
            Err(HubError::NotFound)
        ));
    }
    // The operator's staff see every organisation's orders.
    assert_eq!(
        w.hubs
            .order_auxiliary(&w.operator, &order.reference)
            .unwrap()
            .lines
            .len(),
        1
    );
    // Untouched by the strangers' attempts.
    assert_eq!(
        w.hubs
            .order_auxiliary(&w.supplier.user, &order.reference)
            .unwrap()
            .version,
        order.version
    );
}
