//! Tenant isolation (domain.md, Access: "Every read and write is limited to the caller's
//! organisation unless the caller is operator staff"; api.md: 404 "not found *or not visible to
//! you* (never reveal another organisation's records)").

use dsms_core::Principal;
use dsms_incident::{Incident, IncidentChanges, IncidentFilter, Status};

use crate::support::{World, assert_not_found, incident, page, references, status_change};

fn outsiders(w: &World) -> [(&'static str, &Principal); 4] {
    [
        ("another organisation's user", &w.other.user),
        ("another organisation's second user", &w.other.colleague),
        ("another organisation's token", &w.other.token),
        ("another organisation's reporter", &w.other.reporter),
    ]
}

fn assert_invisible(w: &World, who: &str, caller: &Principal, incident: &Incident) {
    for key in [incident.reference.clone(), incident.id.to_string()] {
        assert_not_found(w.incidents.get(caller, &key));
        assert_not_found(w.incidents.update(
            caller,
            &key,
            None,
            IncidentChanges {
                title: Some("Taken over".into()),
                ..IncidentChanges::default()
            },
            None,
        ));
        assert_not_found(w.incidents.update(
            caller,
            &key,
            Some(incident.version),
            status_change(Status::Cancelled),
            None,
        ));
        assert_not_found(w.incidents.comment(caller, &key, "Hello?", false, None));
        assert_not_found(w.incidents.comments(caller, &key));
        assert_not_found(w.incidents.history(caller, &key, page(50, None)));
    }
    let everything = w.list(caller, &IncidentFilter::default());
    assert!(
        everything
            .iter()
            .all(|i| i.organisation_id != incident.organisation_id),
        "{who} listed {:?}",
        references(&everything)
    );
    for filter in [
        IncidentFilter {
            organisation_id: Some(incident.organisation_id),
            ..IncidentFilter::default()
        },
        IncidentFilter {
            search: Some("confidential".into()),
            ..IncidentFilter::default()
        },
        IncidentFilter {
            device: Some("00-DB-12-34-56-78-9A-BC".into()),
            ..IncidentFilter::default()
        },
        IncidentFilter {
            statuses: vec!["open".into()],
            newest_first: true,
            ..IncidentFilter::default()
        },
    ] {
        let found = w.list(caller, &filter);
        assert!(
            found.iter().all(|i| i.id != incident.id),
            "{who} found it with {filter:?}"
        );
    }
}

#[test]
fn another_organisation_never_sees_or_touches_an_incident() {
    let w = World::new();
    let secret = w.raise(
        &w.supplier.user,
        dsms_incident::NewIncident {
            devices: vec!["00-DB-12-34-56-78-9A-BC".into()],
            ..incident("Confidential hub fault")
        },
    );
    w.incidents
        .comment(
            &w.supplier.user,
            &secret.reference,
            "confidential detail",
            false,
            None,
        )
        .expect("comment");
    let secret = w.reload(&secret);
    // The other organisation has incidents of its own, which it does see.
    let theirs = w.raise(&w.other.user, incident("Their own fault"));

    for (who, caller) in outsiders(&w) {
        assert_invisible(&w, who, caller, &secret);
        assert_eq!(
            w.references(caller, &IncidentFilter::default()),
            vec![theirs.reference.clone()],
            "{who}"
        );
    }
    let after = w.reload(&secret);
    assert_eq!(after, secret, "nothing the outsiders tried changed it");
    assert_eq!(
        w.incidents
            .comments(&w.desk, &secret.reference)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn everyone_in_the_raising_organisation_sees_its_incidents() {
    let w = World::new();
    let raised = w.raise(&w.supplier.user, incident("Shared with the organisation"));
    for caller in [
        &w.supplier.user,
        &w.supplier.colleague,
        &w.supplier.reporter,
        &w.supplier.token,
    ] {
        assert_eq!(w.get(caller, &raised).id, raised.id);
        assert_eq!(
            w.references(caller, &IncidentFilter::default()),
            vec![raised.reference.clone()]
        );
    }
}

#[test]
fn the_service_desk_sees_every_organisation() {
    let w = World::new();
    let ours = w.raise(&w.supplier.user, incident("Northern fault"));
    let theirs = w.raise(&w.other.token, incident("Southern fault"));
    for desk in [&w.desk, &w.agent, &w.manager] {
        assert_eq!(
            w.references(desk, &IncidentFilter::default()),
            [ours.reference.clone(), theirs.reference.clone()]
        );
        assert_eq!(w.get(desk, &theirs).organisation_name, "Southern Gas");
        assert!(!w.history(desk, &ours).is_empty());
    }
    // The desk can work either organisation's incident.
    let assigned = w.move_to(&w.desk, &theirs, Status::Assigned);
    assert_eq!(assigned.status, Status::Assigned);
}

#[test]
fn unknown_or_malformed_keys_are_not_found() {
    let w = World::new();
    w.raise_p3("Exists");
    for key in [
        "INC9999999",
        "999999",
        "INC42",
        "REQ0000001",
        "",
        "1; DROP TABLE incidents",
    ] {
        assert_not_found(w.incidents.get(&w.desk, key));
        assert_not_found(w.incidents.comments(&w.desk, key));
    }
}
