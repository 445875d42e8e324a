//! The lifecycle through the service: the transitions table decides, per kind of caller.

use dsms_core::Principal;
use dsms_incident::lifecycle::{self, Mover, TRANSITIONS};
use dsms_incident::{ClockState, Incident, IncidentChanges, IncidentError, Status};

use crate::support::{World, assert_forbidden, invalid_fields, status_change, utc};

/// An incident of the supplier brought to `status` by the legal path.
fn incident_in(w: &World, status: Status) -> Incident {
    let raised = w.raise_p3(&format!("Incident to be {status}"));
    let desk = &w.desk;
    let raiser = &w.supplier.user;
    let incident = match status {
        Status::New => raised,
        Status::Assigned | Status::InProgress | Status::AwaitingUser | Status::Resolved => {
            w.move_to(desk, &raised, status)
        }
        Status::Closed => {
            let resolved = w.move_to(desk, &raised, Status::Resolved);
            w.move_to(raiser, &resolved, Status::Closed)
        }
        Status::Cancelled => w.move_to(raiser, &raised, Status::Cancelled),
    };
    assert_eq!(incident.status, status);
    incident
}

fn mover_name(mover: Mover) -> &'static str {
    match mover {
        Mover::Desk => "desk",
        Mover::Raiser => "raiser",
        Mover::System => "system",
    }
}

#[test]
fn every_illegal_transition_is_refused_with_the_allowed_next_statuses() {
    // api.md: "an illegal one is 409 with the allowed next states in the problem body".
    let w = World::new();
    let callers: [(Mover, &Principal); 3] = [
        (Mover::Desk, &w.desk),
        (Mover::Raiser, &w.supplier.user),
        (Mover::Raiser, &w.supplier.token),
    ];
    let mut refused = 0;
    for from in Status::ALL.iter().copied() {
        let incident = incident_in(&w, from);
        for (mover, caller) in callers {
            for to in Status::ALL.iter().copied() {
                if to == from || lifecycle::may(from, to, mover) {
                    continue;
                }
                let mut changes = status_change(to);
                if mover == Mover::Desk {
                    // Supply what the target needs, so only the lifecycle can refuse.
                    changes.assignment_group =
                        (to == Status::Assigned).then(|| Some("comms-hub-2nd-line".to_owned()));
                    changes.resolution_code = (to == Status::Resolved).then(|| "fixed".to_owned());
                }
                match w.update(caller, &incident, changes) {
                    Err(IncidentError::Transition { allowed, .. }) => assert_eq!(
                        allowed,
                        lifecycle::allowed(from, mover),
                        "{from} -> {to} by the {}",
                        mover_name(mover)
                    ),
                    other => panic!(
                        "{from} -> {to} by the {} must be refused, got {other:?}",
                        mover_name(mover)
                    ),
                }
                refused += 1;
                let after = w.reload(&incident);
                assert_eq!(after.status, from);
                assert_eq!(
                    after.version, incident.version,
                    "a refused change changes nothing"
                );
            }
        }
    }
    assert!(refused > 40, "only {refused} illegal transitions tried");
}

#[test]
fn every_allowed_transition_succeeds_for_its_movers() {
    let w = World::new();
    for t in TRANSITIONS {
        for mover in t.by {
            let caller = match mover {
                Mover::Desk => &w.desk,
                Mover::Raiser => &w.supplier.user,
                Mover::System => continue,
            };
            let incident = incident_in(&w, t.from);
            let moved = w.move_to(caller, &incident, t.to);
            assert_eq!(
                moved.status,
                t.to,
                "{} -> {} by the {}",
                t.from,
                t.to,
                mover_name(*mover)
            );
            assert_eq!(moved.version, incident.version + 1);
        }
    }
}

#[test]
fn an_assigned_incident_needs_a_resolver_group_or_an_assignee() {
    let w = World::new();
    let raised = w.raise_p3("Unassigned");
    let bare = w.update(&w.desk, &raised, status_change(Status::Assigned));
    assert_eq!(invalid_fields(bare), ["assignment_group"]);
    assert_eq!(w.reload(&raised).status, Status::New);

    let to_person = w
        .update(
            &w.desk,
            &raised,
            IncidentChanges {
                assignee_id: Some(w.agent.person_id()),
                ..status_change(Status::Assigned)
            },
        )
        .expect("assigned to a person");
    assert_eq!(to_person.status, Status::Assigned);
    assert_eq!(to_person.assignee_id, w.agent.person_id());
    assert_eq!(to_person.assignee_name.as_deref(), Some("agent"));

    // Only active operator staff can be assignees.
    let other = w.raise_p3("Assigned to a supplier's user");
    let outsider = w.update(
        &w.desk,
        &other,
        IncidentChanges {
            assignee_id: Some(w.supplier.user.person_id()),
            ..IncidentChanges::default()
        },
    );
    assert_eq!(invalid_fields(outsider), ["assignee_id"]);
}

#[test]
fn a_resolved_incident_needs_a_resolution_code() {
    let w = World::new();
    let raised = w.raise_p3("To resolve");
    let without = w.update(&w.desk, &raised, status_change(Status::Resolved));
    assert_eq!(invalid_fields(without), ["resolution_code"]);
    let blank = w.update(
        &w.desk,
        &raised,
        IncidentChanges {
            resolution_code: Some("  ".into()),
            ..status_change(Status::Resolved)
        },
    );
    assert_eq!(invalid_fields(blank), ["resolution_code"]);
    assert_eq!(w.reload(&raised).status, Status::New);

    let resolved = w
        .update(
            &w.desk,
            &raised,
            IncidentChanges {
                resolution_code: Some("hub_replaced".into()),
                resolution_notes: Some("Swapped the hub on site.".into()),
                ..status_change(Status::Resolved)
            },
        )
        .expect("resolved");
    assert_eq!(resolved.status, Status::Resolved);
    assert_eq!(resolved.resolution_code.as_deref(), Some("hub_replaced"));
    assert_eq!(resolved.resolved_at, Some(w.now().naive_utc()));
}

#[test]
fn the_raiser_may_reopen_within_five_working_days_but_not_after() {
    // domain.md, Closure and reopening: "on resolution the raiser is notified and may reopen
    // within (default) 5 working days". Resolved Monday 30 November 2026 12:00 GMT: 50 working
    // hours later is Monday 7 December 12:00 (7 calendar days, a weekend in between).
    let w = World::new();
    let early = w.raise_p3("Reopened in time");
    let late = w.raise_p3("Reopened too late");
    w.set_clock("2026-11-30T12:00:00Z");
    w.move_to(&w.desk, &early, Status::Resolved);
    w.move_to(&w.desk, &late, Status::Resolved);

    w.set_clock("2026-12-07T11:59:00Z");
    let reopened = w.move_to(&w.supplier.user, &early, Status::InProgress);
    assert_eq!(reopened.status, Status::InProgress);

    w.set_clock("2026-12-07T12:01:00Z");
    match w.update(&w.supplier.user, &late, status_change(Status::InProgress)) {
        Err(IncidentError::Transition { allowed, .. }) => {
            assert_eq!(allowed, [Status::Closed], "the raiser may still confirm it");
        }
        other => panic!("reopening after the window must be refused, got {other:?}"),
    }
    let still = w.reload(&late);
    assert_eq!(still.status, Status::Resolved);
    assert_eq!(
        still.resolved_at,
        Some(utc("2026-11-30T12:00:00Z").naive_utc())
    );
    // Confirming is still possible.
    assert_eq!(
        w.move_to(&w.supplier.user, &late, Status::Closed).status,
        Status::Closed
    );
}

#[test]
fn closed_and_cancelled_incidents_are_final() {
    // domain.md: "A closed incident cannot be reopened; a repeat fault is raised as a new
    // incident linked to the old one."
    let w = World::new();
    for status in [Status::Closed, Status::Cancelled] {
        let done = incident_in(&w, status);
        for caller in [&w.desk, &w.manager, &w.supplier.user] {
            for to in [Status::InProgress, Status::New, Status::Resolved] {
                let refused = w.update(caller, &done, status_change(to));
                assert!(
                    matches!(&refused, Err(IncidentError::Transition { allowed, .. }) if allowed.is_empty()),
                    "{status} -> {to}: {refused:?}"
                );
            }
        }
        let edit = w.update(
            &w.desk,
            &done,
            IncidentChanges {
                title: Some("Edited after the fact".into()),
                ..IncidentChanges::default()
            },
        );
        assert!(
            matches!(edit, Err(IncidentError::Transition { .. })),
            "{edit:?}"
        );
        let after = w.reload(&done);
        assert_eq!((after.status, after.version), (status, done.version));
        assert!(after.closed_at.is_some());
    }
}

#[test]
fn assigning_a_new_incident_moves_it_to_assigned_and_records_the_response() {
    let w = World::new();
    let raised = w.raise_p3("To triage");
    w.set_clock("2026-11-30T09:20:00Z");
    let assigned = w
        .update(
            &w.desk,
            &raised,
            IncidentChanges {
                assignment_group: Some(Some("comms-hub-2nd-line".into())),
                ..IncidentChanges::default()
            },
        )
        .expect("assigned");
    assert_eq!(assigned.status, Status::Assigned);
    assert_eq!(
        assigned.assignment_group.as_deref(),
        Some("comms-hub-2nd-line")
    );
    assert_eq!(
        assigned.responded_at,
        Some(utc("2026-11-30T09:20:00Z").naive_utc())
    );
    assert_eq!(assigned.sla.response.state, ClockState::Met);

    // Assigning to a person does the same.
    let other = w.raise_p3("To a person");
    let to_person = w
        .update(
            &w.desk,
            &other,
            IncidentChanges {
                assignee_id: Some(w.agent.person_id()),
                ..IncidentChanges::default()
            },
        )
        .expect("assigned");
    assert_eq!(to_person.status, Status::Assigned);
    assert_eq!(to_person.responded_at, Some(w.now().naive_utc()));
}

#[test]
fn a_raiser_cannot_change_category_priority_or_assignment() {
    let w = World::new();
    let raised = w.raise_p3("Raiser edits");
    let attempts = [
        IncidentChanges {
            category: Some("smart_meter".into()),
            ..IncidentChanges::default()
        },
        IncidentChanges {
            priority: Some(1),
            priority_reason: Some("we think it is urgent".into()),
            ..IncidentChanges::default()
        },
        IncidentChanges {
            impact: Some(1),
            ..IncidentChanges::default()
        },
        IncidentChanges {
            urgency: Some(1),
            ..IncidentChanges::default()
        },
        IncidentChanges {
            assignment_group: Some(Some("comms-hub-2nd-line".into())),
            ..IncidentChanges::default()
        },
        IncidentChanges {
            assignee_id: Some(w.agent.person_id()),
            ..IncidentChanges::default()
        },
        IncidentChanges {
            major: Some(true),
            ..IncidentChanges::default()
        },
    ];
    for raiser in [&w.supplier.user, &w.supplier.token, &w.supplier.colleague] {
        for changes in attempts.clone() {
            let attempt = format!("{changes:?}");
            let result = w.update(raiser, &raised, changes);
            assert!(
                matches!(result, Err(IncidentError::Forbidden(_))),
                "{attempt}: {result:?}"
            );
        }
    }
    let after = w.reload(&raised);
    assert_eq!(after.version, raised.version);
    assert_eq!(
        (
            after.category.as_str(),
            after.priority.get(),
            after.assignment_group
        ),
        ("communications_hub", 3, None)
    );

    // The raiser may still correct the title and description while the incident is new, but
    // not once the desk has taken it.
    let retitled = w
        .update(
            &w.supplier.user,
            &raised,
            IncidentChanges {
                title: Some("Raiser edits, corrected".into()),
                ..IncidentChanges::default()
            },
        )
        .expect("retitled while new");
    assert_eq!(retitled.title, "Raiser edits, corrected");
    let assigned = w.move_to(&w.desk, &retitled, Status::Assigned);
    assert_forbidden(w.update(
        &w.supplier.user,
        &assigned,
        IncidentChanges {
            description: Some("Rewritten".into()),
            ..IncidentChanges::default()
        },
    ));
}

#[test]
fn an_org_reporter_cannot_change_an_incident() {
    let w = World::new();
    let raised = w.raise_p3("Reporter reads only");
    assert_forbidden(w.update(
        &w.supplier.reporter,
        &raised,
        status_change(Status::Cancelled),
    ));
    assert_forbidden(w.incidents.comment(
        &w.supplier.reporter,
        &raised.reference,
        "I only read",
        false,
        None,
    ));
    assert_eq!(w.reload(&raised).status, Status::New);
}

#[test]
fn the_desk_overrides_a_priority_only_with_a_reason() {
    // domain.md: "an agent may override it with a recorded reason".
    let w = World::new();
    let raised = w.raise_p3("Override");
    let without = w.update(
        &w.desk,
        &raised,
        IncidentChanges {
            priority: Some(1),
            ..IncidentChanges::default()
        },
    );
    assert_eq!(invalid_fields(without), ["priority_reason"]);
    let with = w
        .update(
            &w.desk,
            &raised,
            IncidentChanges {
                priority: Some(1),
                priority_reason: Some("Affects every hub in the region".into()),
                ..IncidentChanges::default()
            },
        )
        .expect("overridden");
    assert_eq!(with.priority.get(), 1);
    assert_eq!(
        with.priority_reason.as_deref(),
        Some("Affects every hub in the region")
    );
    // The targets follow the new priority: 4 h around the clock from Monday 09:00.
    w.advance(chrono::Duration::minutes(1));
    assert_eq!(
        w.reload(&raised).sla.resolution.due_at,
        Some(utc("2026-11-30T13:00:00Z"))
    );
}

#[test]
fn only_a_service_desk_manager_declares_a_major_incident() {
    // dsms-core's permission model: `manage_incidents` is "Override priorities, declare major
    // incidents (service-desk managers)"; a `service_desk_agent` does not hold it.
    let w = World::new();
    let raised = w.raise_p3("Region-wide outage");
    assert_forbidden(w.update(
        &w.desk,
        &raised,
        IncidentChanges {
            major: Some(true),
            ..IncidentChanges::default()
        },
    ));
    assert!(!w.reload(&raised).major);
    let declared = w
        .update(
            &w.manager,
            &raised,
            IncidentChanges {
                major: Some(true),
                ..IncidentChanges::default()
            },
        )
        .expect("declared by the manager");
    assert!(declared.major);
}
