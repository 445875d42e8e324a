//! Lists: filters and cursor paging (api.md, Lists: "Cursor pagination is stable under
//! concurrent inserts").

use std::collections::HashSet;

use chrono::Duration;
use dsms_incident::{Incident, IncidentChanges, IncidentFilter, NewIncident, Status};

use crate::support::{World, incident, incident_with, invalid_fields, page, references, utc};

fn refs(incidents: &[&Incident]) -> Vec<String> {
    incidents.iter().map(|i| i.reference.clone()).collect()
}

#[test]
fn lists_filter_by_status_including_open() {
    let w = World::new();
    let new = w.raise_p3("New");
    let assigned = w.move_to(&w.desk, &w.raise_p3("Assigned"), Status::Assigned);
    let waiting = w.move_to(&w.desk, &w.raise_p3("Waiting"), Status::AwaitingUser);
    let resolved = w.move_to(&w.desk, &w.raise_p3("Resolved"), Status::Resolved);
    let closed = w.move_to(
        &w.supplier.user,
        &w.move_to(&w.desk, &w.raise_p3("Closed"), Status::Resolved),
        Status::Closed,
    );
    let cancelled = w.move_to(
        &w.supplier.user,
        &w.raise_p3("Cancelled"),
        Status::Cancelled,
    );
    let statuses = |list: &[&str]| IncidentFilter {
        statuses: list.iter().map(|s| (*s).to_owned()).collect(),
        ..IncidentFilter::default()
    };
    for caller in [&w.desk, &w.supplier.user] {
        assert_eq!(w.references(caller, &statuses(&["new"])), refs(&[&new]));
        assert_eq!(
            w.references(caller, &statuses(&["open"])),
            refs(&[&new, &assigned, &waiting, &resolved]),
            "open is every status but closed and cancelled"
        );
        assert_eq!(
            w.references(caller, &statuses(&["closed", "cancelled"])),
            refs(&[&closed, &cancelled])
        );
        assert_eq!(
            w.references(caller, &statuses(&["open", "cancelled"])),
            refs(&[&new, &assigned, &waiting, &resolved, &cancelled])
        );
        assert_eq!(w.list(caller, &statuses(&[])).len(), 6);
    }
    let unknown = w
        .incidents
        .list(&w.desk, &statuses(&["pending"]), page(50, None));
    assert_eq!(invalid_fields(unknown), ["status"]);
}

#[test]
fn lists_filter_by_priority_category_and_organisation() {
    let w = World::new();
    let p1 = w.raise(&w.supplier.user, incident_with("P1", 1, 1));
    let p3 = w.raise_p3("P3");
    let p5 = w.raise(
        &w.other.user,
        NewIncident {
            category: "smart_meter".into(),
            ..incident_with("P5", 4, 4)
        },
    );
    let by = |f: IncidentFilter| w.references(&w.desk, &f);
    assert_eq!(
        by(IncidentFilter {
            priorities: vec![1],
            ..IncidentFilter::default()
        }),
        refs(&[&p1])
    );
    assert_eq!(
        by(IncidentFilter {
            priorities: vec![3, 5],
            ..IncidentFilter::default()
        }),
        refs(&[&p3, &p5])
    );
    assert_eq!(
        by(IncidentFilter {
            category: Some("smart_meter".into()),
            ..IncidentFilter::default()
        }),
        refs(&[&p5])
    );
    assert_eq!(
        by(IncidentFilter {
            organisation_id: Some(w.supplier.id),
            ..IncidentFilter::default()
        }),
        refs(&[&p1, &p3])
    );
    assert_eq!(
        by(IncidentFilter {
            organisation_id: Some(w.other.id),
            ..IncidentFilter::default()
        }),
        refs(&[&p5])
    );
    // An organisation asking for another's incidents gets none.
    assert!(
        w.list(
            &w.supplier.user,
            &IncidentFilter {
                organisation_id: Some(w.other.id),
                ..IncidentFilter::default()
            }
        )
        .is_empty()
    );
    let bad = w.incidents.list(
        &w.desk,
        &IncidentFilter {
            priorities: vec![6],
            ..IncidentFilter::default()
        },
        page(50, None),
    );
    assert_eq!(invalid_fields(bad), ["priority"]);
}

#[test]
fn lists_filter_by_assignee_group_and_unassigned() {
    let w = World::new();
    let to_agent = w
        .update(
            &w.desk,
            &w.raise_p3("To the agent"),
            IncidentChanges {
                assignee_id: Some(w.agent.person_id()),
                assignment_group: Some(Some("field-ops".into())),
                ..IncidentChanges::default()
            },
        )
        .expect("assigned");
    let to_desk = w
        .update(
            &w.desk,
            &w.raise_p3("To the desk agent"),
            IncidentChanges {
                assignee_id: Some(w.desk.person_id()),
                ..IncidentChanges::default()
            },
        )
        .expect("assigned");
    let nobody = w.raise_p3("Nobody yet");
    let by = |f: IncidentFilter| w.references(&w.desk, &f);
    assert_eq!(
        by(IncidentFilter {
            assignee_id: w.agent.person_id(),
            ..IncidentFilter::default()
        }),
        refs(&[&to_agent])
    );
    assert_eq!(
        by(IncidentFilter {
            assignee_id: w.desk.person_id(),
            ..IncidentFilter::default()
        }),
        refs(&[&to_desk])
    );
    assert_eq!(
        by(IncidentFilter {
            unassigned: true,
            ..IncidentFilter::default()
        }),
        refs(&[&nobody])
    );
    assert_eq!(
        by(IncidentFilter {
            assignment_group: Some("field-ops".into()),
            ..IncidentFilter::default()
        }),
        refs(&[&to_agent])
    );
    // Listed incidents carry the assignee's name.
    let listed = w.list(
        &w.desk,
        &IncidentFilter {
            assignee_id: w.agent.person_id(),
            ..IncidentFilter::default()
        },
    );
    assert_eq!(listed[0].assignee_name.as_deref(), Some("agent"));
    assert_eq!(listed[0].organisation_name, "Northern Supply");
}

#[test]
fn lists_filter_by_device_whatever_its_case() {
    let w = World::new();
    let with_hub = w.raise(
        &w.supplier.user,
        NewIncident {
            devices: vec!["00-db-12-34-56-78-9a-bc".into(), "2000012345678".into()],
            ..incident("Hub and meter")
        },
    );
    let with_meter = w.raise(
        &w.supplier.user,
        NewIncident {
            devices: vec!["2000012345678".into()],
            ..incident("Meter only")
        },
    );
    w.raise_p3("No devices");
    let device = |d: &str| IncidentFilter {
        device: Some(d.into()),
        ..IncidentFilter::default()
    };
    assert_eq!(
        w.references(&w.desk, &device("00-DB-12-34-56-78-9A-BC")),
        refs(&[&with_hub])
    );
    assert_eq!(
        w.references(&w.supplier.user, &device(" 00-db-12-34-56-78-9a-bc ")),
        refs(&[&with_hub])
    );
    assert_eq!(
        w.references(&w.desk, &device("2000012345678")),
        refs(&[&with_hub, &with_meter])
    );
    assert!(
        w.list(&w.desk, &device("00-DB-12")).is_empty(),
        "no partial matches"
    );
}

#[test]
fn lists_filter_by_creation_time_from_inclusive_to_exclusive() {
    let w = World::new();
    let monday = w.raise_p3("Monday 09:00");
    w.set_clock("2026-12-01T09:00:00Z");
    let tuesday = w.raise_p3("Tuesday 09:00");
    w.set_clock("2026-12-02T09:00:00Z");
    let wednesday = w.raise_p3("Wednesday 09:00");
    let between = |after: Option<&str>, before: Option<&str>| IncidentFilter {
        created_after: after.map(utc),
        created_before: before.map(utc),
        ..IncidentFilter::default()
    };
    let by = |f: IncidentFilter| w.references(&w.desk, &f);
    assert_eq!(
        by(between(Some("2026-12-01T09:00:00Z"), None)),
        refs(&[&tuesday, &wednesday])
    );
    assert_eq!(
        by(between(None, Some("2026-12-01T09:00:00Z"))),
        refs(&[&monday])
    );
    assert_eq!(
        by(between(
            Some("2026-11-30T09:00:01Z"),
            Some("2026-12-02T09:00:00Z")
        )),
        refs(&[&tuesday])
    );
    assert!(by(between(Some("2026-12-03T00:00:00Z"), None)).is_empty());
}

#[test]
fn cursor_pages_have_no_duplicates_or_gaps_while_incidents_arrive() {
    let w = World::new();
    let mut expected: Vec<String> = (0..7)
        .map(|n| w.raise_p3(&format!("Before paging {n}")).reference)
        .collect();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let got = w
            .incidents
            .list(
                &w.desk,
                &IncidentFilter::default(),
                page(3, cursor.as_deref()),
            )
            .expect("page");
        assert!(got.items.len() <= 3);
        seen.extend(references(&got.items));
        pages += 1;
        // Someone raises an incident between page fetches; oldest-first paging reaches it.
        if pages <= 2 {
            w.advance(Duration::seconds(1));
            expected.push(
                w.raise(&w.other.token, incident("Arrived while paging"))
                    .reference,
            );
        }
        match got.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages < 20, "paging does not end");
    }
    assert_eq!(seen, expected, "every incident once, in order");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len());
}

#[test]
fn newest_first_pages_are_stable_while_incidents_arrive() {
    let w = World::new();
    let mut before: Vec<String> = (0..7)
        .map(|n| w.raise_p3(&format!("Before paging {n}")).reference)
        .collect();
    before.reverse();
    let filter = IncidentFilter {
        newest_first: true,
        ..IncidentFilter::default()
    };
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let got = w
            .incidents
            .list(&w.desk, &filter, page(3, cursor.as_deref()))
            .expect("page");
        seen.extend(references(&got.items));
        // New incidents are newer than the first page: the pages that follow neither repeat
        // nor skip anything that was there when paging began.
        w.raise(&w.supplier.token, incident("Arrived while paging"));
        match got.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, before);
    // A fresh first page starts with the newest arrivals.
    let first = w
        .incidents
        .list(&w.desk, &filter, page(3, None))
        .expect("first page");
    assert!(
        first
            .items
            .iter()
            .all(|i| i.title == "Arrived while paging")
    );
}

#[test]
fn pages_are_scoped_to_the_callers_organisation() {
    let w = World::new();
    let mut ours = Vec::new();
    for n in 0..5 {
        ours.push(w.raise_p3(&format!("Ours {n}")).reference);
        w.raise(&w.other.user, incident(&format!("Theirs {n}")));
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let got = w
            .incidents
            .list(
                &w.supplier.user,
                &IncidentFilter::default(),
                page(2, cursor.as_deref()),
            )
            .expect("page");
        seen.extend(references(&got.items));
        match got.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ours);
}

#[test]
fn lists_filter_by_resolution_due_time_of_unresolved_incidents() {
    let w = World::new();
    // Priority 1: due Monday 13:00; priority 3: due Thursday 09:00.
    let urgent = w.raise(&w.supplier.user, incident_with("Urgent", 1, 1));
    let normal = w.raise_p3("Normal");
    w.move_to(
        &w.desk,
        &w.raise(&w.supplier.user, incident_with("Resolved urgent", 1, 1)),
        Status::Resolved,
    );
    let due_before = |at: &str| IncidentFilter {
        resolution_due_before: Some(utc(at)),
        ..IncidentFilter::default()
    };
    assert_eq!(
        w.references(&w.desk, &due_before("2026-11-30T14:00:00Z")),
        refs(&[&urgent]),
        "resolved incidents are not due"
    );
    assert_eq!(
        w.references(&w.desk, &due_before("2026-12-03T09:00:01Z")),
        refs(&[&urgent, &normal])
    );
}

#[test]
fn a_resumed_incident_is_found_by_its_pushed_resolution_due_time() {
    // Priority 3 from Monday 09:00, awaiting the user 10:00 to 14:00 (4 working hours): due
    // Thursday 13:00 instead of 09:00.
    let w = World::new();
    let raised = w.raise_p3("Paused and resumed");
    w.set_clock("2026-11-30T10:00:00Z");
    w.move_to(&w.desk, &raised, Status::AwaitingUser);
    // While paused it has no due time, so no due-before filter finds it.
    assert!(
        w.list(
            &w.desk,
            &IncidentFilter {
                resolution_due_before: Some(utc("2027-01-01T00:00:00Z")),
                ..IncidentFilter::default()
            }
        )
        .is_empty()
    );
    w.set_clock("2026-11-30T14:00:00Z");
    w.move_to(&w.supplier.user, &raised, Status::InProgress);
    w.set_clock("2026-11-30T14:01:00Z");
    assert_eq!(
        w.reload(&raised).sla.resolution.due_at,
        Some(utc("2026-12-03T13:00:00Z"))
    );
    let due_before = |at: &str| IncidentFilter {
        resolution_due_before: Some(utc(at)),
        ..IncidentFilter::default()
    };
    assert!(
        w.list(&w.desk, &due_before("2026-12-03T13:00:00Z"))
            .is_empty()
    );
    assert_eq!(
        w.references(&w.desk, &due_before("2026-12-03T13:00:01Z")),
        refs(&[&raised])
    );
}

#[test]
fn a_listed_incident_shows_the_same_clocks_as_when_fetched_alone() {
    let w = World::new();
    let paused = w.raise_p3("Waiting on the user");
    let reopened = w.raise_p3("Reopened");
    w.set_clock("2026-11-30T10:00:00Z");
    w.move_to(&w.desk, &paused, Status::AwaitingUser);
    w.move_to(&w.desk, &reopened, Status::Resolved);
    w.set_clock("2026-12-01T10:00:00Z");
    w.move_to(&w.supplier.user, &reopened, Status::InProgress);
    w.set_clock("2026-12-03T12:00:00Z");
    for listed in w.list(&w.desk, &IncidentFilter::default()) {
        let alone = w.incidents.get(&w.desk, &listed.reference).expect("get");
        assert_eq!(listed.sla, alone.sla, "{}", listed.title);
    }
}

#[test]
fn a_listed_incident_carries_the_same_details_as_when_fetched_alone() {
    let w = World::new();
    let raised = w.raise(
        &w.supplier.user,
        NewIncident {
            contact: Some("Ops line".into()),
            region: Some("north".into()),
            devices: vec!["00-DB-12-34-56-78-9A-BC".into()],
            ..incident("With details")
        },
    );
    let listed = w.list(&w.desk, &IncidentFilter::default());
    assert_eq!(listed, [w.reload(&raised)]);
}

#[test]
fn list_limits_are_checked_by_the_caller() {
    // Sanity of the paging contract used above: a page never holds more than asked.
    let w = World::new();
    for n in 0..4 {
        w.raise_p3(&format!("Incident {n}"));
    }
    let first = w
        .incidents
        .list(&w.desk, &IncidentFilter::default(), page(4, None))
        .expect("page");
    assert_eq!(first.items.len(), 4);
    assert_eq!(first.next_cursor, None, "no cursor when nothing follows");
    let short = w
        .incidents
        .list(&w.desk, &IncidentFilter::default(), page(3, None))
        .expect("page");
    assert_eq!(short.items.len(), 3);
    assert!(short.next_cursor.is_some());
}
