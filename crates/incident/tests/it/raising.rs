//! Raising incidents: references, priorities, validation and who may raise for whom.

use chrono::Duration;
use dsms_core::{Actor, OrganisationKind, Principal, Role};
use dsms_incident::priority::PriorityMatrix;
use dsms_incident::{Impact, IncidentFilter, NewIncident, Status, Urgency};

use crate::support::{
    World, assert_forbidden, incident, incident_with, invalid_fields, references,
};

#[test]
fn references_are_inc_and_seven_digits_unique_and_increasing() {
    let w = World::new();
    let raised: Vec<_> = (1..=3)
        .map(|n| w.raise_p3(&format!("Hub offline {n}")))
        .collect();

    assert_eq!(
        references(&raised),
        ["INC0000001", "INC0000002", "INC0000003"]
    );
    for pair in raised.windows(2) {
        assert!(pair[0].id < pair[1].id && pair[0].reference < pair[1].reference);
    }
    // Either the reference or the id finds the incident.
    let by_reference = w.get(&w.supplier.user, &raised[1]);
    let by_id = w
        .incidents
        .get(&w.supplier.user, &raised[1].id.to_string())
        .expect("by id");
    assert_eq!(by_reference.id, raised[1].id);
    assert_eq!(by_id.reference, "INC0000002");
}

#[test]
fn a_raised_incident_records_who_raised_it_for_which_organisation_and_when() {
    let w = World::new();
    let new = NewIncident {
        contact: Some("Ops line 0161 000 0000".into()),
        region: Some("north".into()),
        devices: vec![
            "1234567890123".into(),
            "00-db-12-34-56-78-9a-bc".into(),
            "1234567890123".into(),
        ],
        fault_started_at: Some(w.now() - Duration::hours(2)),
        message_ids: Some("MSG-1, MSG-2".into()),
        ..incident("Hub offline since 07:00")
    };
    let raised = w.raise(&w.supplier.user, new);

    assert_eq!(raised.status, Status::New);
    assert_eq!(raised.organisation_id, w.supplier.id);
    assert_eq!(raised.organisation_name, "Northern Supply");
    assert_eq!(raised.raised_by.kind, "person");
    assert_eq!(w.supplier.user.person_id(), Some(raised.raised_by.id));
    assert_eq!(raised.raised_by.name, "User (Northern)");
    assert_eq!(raised.channel, "portal");
    assert_eq!(raised.version, 1);
    assert_eq!(raised.created_at, w.now().naive_utc());
    assert_eq!(raised.assignment_group, None);
    assert_eq!(raised.responded_at, None);
    // Identifiers are kept upper-cased, without duplicates, in order (the answer is built
    // from what was written, so this also checks it is what a read gives).
    assert_eq!(raised.devices, ["00-DB-12-34-56-78-9A-BC", "1234567890123"]);
    assert_eq!(raised.region.as_deref(), Some("north"));
    assert_eq!(
        raised,
        w.get(&w.supplier.user, &raised),
        "get reads what raise answered"
    );

    let by_token = w.raise(
        &w.supplier.token,
        incident("Raised by the supplier's system"),
    );
    assert_eq!(by_token.raised_by.kind, "api_token");
    assert_eq!(by_token.channel, "api");
    assert_eq!(by_token.organisation_id, w.supplier.id);
}

#[test]
fn priority_follows_the_default_impact_urgency_matrix() {
    // domain.md, Incidents: "priority 1–5 *is* the incident category; it is derived from
    // impact × urgency through a configurable matrix".
    let w = World::new();
    let expected = [[1, 2, 3, 4], [2, 3, 3, 4], [3, 3, 4, 5], [4, 4, 5, 5]];
    for impact in 1..=4 {
        for urgency in 1..=4 {
            let raised = w.raise(
                &w.supplier.user,
                incident_with(
                    &format!("impact {impact} urgency {urgency}"),
                    impact,
                    urgency,
                ),
            );
            let want = expected[(impact - 1) as usize][(urgency - 1) as usize];
            assert_eq!(
                i64::from(raised.priority.get()),
                want,
                "impact {impact} × urgency {urgency}"
            );
            assert_eq!(
                raised.priority,
                PriorityMatrix::default().priority(
                    Impact::parse(impact).unwrap(),
                    Urgency::parse(urgency).unwrap()
                )
            );
        }
    }
    let p3 = w.raise_p3("impact 2 urgency 2");
    assert_eq!(p3.priority.get(), 3);
    assert_eq!((p3.impact.get(), p3.urgency.get()), (2, 2));
}

#[test]
fn each_invalid_field_is_named() {
    let w = World::new();
    let now = w.now();
    let cases: Vec<(&str, NewIncident, Vec<&str>)> = vec![
        (
            "empty title",
            NewIncident {
                title: "   ".into(),
                ..incident("x")
            },
            vec!["title"],
        ),
        (
            "title over 200 characters",
            NewIncident {
                title: "x".repeat(201),
                ..incident("x")
            },
            vec!["title"],
        ),
        (
            "empty description",
            NewIncident {
                description: String::new(),
                ..incident("x")
            },
            vec!["description"],
        ),
        (
            "unknown category",
            NewIncident {
                category: "teapot".into(),
                ..incident("x")
            },
            vec!["category"],
        ),
        ("impact 0", incident_with("x", 0, 2), vec!["impact"]),
        ("impact 5", incident_with("x", 5, 2), vec!["impact"]),
        ("urgency 0", incident_with("x", 2, 0), vec!["urgency"]),
        ("urgency 5", incident_with("x", 2, 5), vec!["urgency"]),
        (
            "bad device id",
            NewIncident {
                devices: vec!["00-DB-12".into(), "hub 42; drop table".into()],
                ..incident("x")
            },
            vec!["devices[1]"],
        ),
        (
            "fault started in the future",
            NewIncident {
                fault_started_at: Some(now + Duration::minutes(1)),
                ..incident("x")
            },
            vec!["fault_started_at"],
        ),
        (
            "a channel only the desk uses",
            NewIncident {
                channel: Some("telephone".into()),
                ..incident("x")
            },
            vec!["channel"],
        ),
        (
            "everything at once",
            NewIncident {
                title: String::new(),
                description: "still described".into(),
                category: "teapot".into(),
                impact: 0,
                urgency: 9,
                devices: vec!["!".into()],
                fault_started_at: Some(now + Duration::days(1)),
                ..NewIncident::default()
            },
            vec![
                "title",
                "category",
                "impact",
                "urgency",
                "devices[0]",
                "fault_started_at",
            ],
        ),
    ];
    for (case, new, fields) in cases {
        let result = w.incidents.raise(&w.supplier.user, new, None);
        assert_eq!(invalid_fields(result), fields, "{case}");
    }
    // A fault that began a moment ago is fine.
    let ok = w.raise(
        &w.supplier.user,
        NewIncident {
            fault_started_at: Some(now),
            ..incident("Fault began just now")
        },
    );
    assert!(ok.fault_started_at.is_some());
    assert_eq!(
        w.references(&w.desk, &IncidentFilter::default()),
        [ok.reference],
        "nothing invalid was recorded"
    );
}

#[test]
fn an_organisation_user_cannot_raise_for_another_organisation() {
    // domain.md, Access: "Every read and write is limited to the caller's organisation unless
    // the caller is operator staff."
    let w = World::new();
    for caller in [&w.supplier.user, &w.supplier.token] {
        assert_forbidden(w.incidents.raise(
            caller,
            NewIncident {
                organisation_id: Some(w.other.id),
                ..incident("For someone else")
            },
            None,
        ));
    }
    assert!(w.list(&w.desk, &IncidentFilter::default()).is_empty());

    // Naming one's own organisation is fine.
    let own = w.raise(
        &w.supplier.user,
        NewIncident {
            organisation_id: Some(w.supplier.id),
            ..incident("For ourselves")
        },
    );
    assert_eq!(own.organisation_id, w.supplier.id);
}

#[test]
fn the_service_desk_can_raise_on_behalf_of_an_organisation() {
    let w = World::new();
    let raised = w.raise(
        &w.desk,
        NewIncident {
            organisation_id: Some(w.supplier.id),
            channel: Some("telephone".into()),
            ..incident("Phoned in by the supplier")
        },
    );
    assert_eq!(raised.organisation_id, w.supplier.id);
    assert_eq!(raised.raised_by.kind, "person");
    assert_eq!(w.desk.person_id(), Some(raised.raised_by.id));
    assert_eq!(raised.channel, "telephone");
    // The organisation sees it as its own; the other one does not.
    assert_eq!(w.get(&w.supplier.user, &raised).id, raised.id);
    assert!(w.list(&w.other.user, &IncidentFilter::default()).is_empty());
}

#[test]
fn an_org_reporter_cannot_raise() {
    let w = World::new();
    assert_forbidden(w.incidents.raise(
        &w.supplier.reporter,
        incident("Reporters only read"),
        None,
    ));
    // An administrator without the permission to raise (dcc_admin) cannot either.
    let admin = Principal::person(
        w.desk.person_id().unwrap(),
        w.operator_id,
        OrganisationKind::Operator,
        vec![Role::DccAdmin],
    );
    assert_forbidden(
        w.incidents
            .raise(&admin, incident("Admins administer"), None),
    );
    assert!(w.list(&w.desk, &IncidentFilter::default()).is_empty());
}

#[test]
fn a_suspended_organisations_incident_is_refused_even_from_the_service_desk() {
    let w = World::new();
    w.suspend(w.supplier.id);
    let on_behalf = w.incidents.raise(
        &w.desk,
        NewIncident {
            organisation_id: Some(w.supplier.id),
            ..incident("For a suspended organisation")
        },
        None,
    );
    assert_eq!(invalid_fields(on_behalf), ["organisation_id"]);
    let own = w.incidents.raise(
        &w.supplier.user,
        incident("From a suspended organisation"),
        None,
    );
    assert_eq!(invalid_fields(own), ["organisation_id"]);
    let unknown = w.incidents.raise(
        &w.desk,
        NewIncident {
            organisation_id: Some(987_654),
            ..incident("For nobody")
        },
        None,
    );
    assert_eq!(invalid_fields(unknown), ["organisation_id"]);
    assert!(w.list(&w.desk, &IncidentFilter::default()).is_empty());

    // Other organisations are unaffected.
    let fine = w.raise(&w.other.user, incident("Still open for business"));
    assert_eq!(fine.organisation_id, w.other.id);
}

#[test]
fn the_system_actor_cannot_raise() {
    let w = World::new();
    let mut system = w.desk.clone();
    system.actor = Actor::system("worker");
    assert_forbidden(w.incidents.raise(&system, incident("From a job"), None));
}
