//! Optimistic concurrency (api.md, Writes: "Every mutable resource carries `version`; `PATCH`
//! honours `If-Match` and answers 412 when stale").

use std::sync::Barrier;
use std::thread;

use dsms_incident::{
    IdempotentCreate, IncidentChanges, IncidentError, IncidentFilter, Raised, Status,
};

use crate::support::{World, incident, status_change};

#[test]
fn a_stale_expected_version_is_refused_and_changes_nothing() {
    let w = World::new();
    let raised = w.raise_p3("Two agents at once");
    assert_eq!(raised.version, 1);

    // The first agent changes it at version 1 …
    let first = w
        .incidents
        .update(
            &w.desk,
            &raised.reference,
            Some(1),
            IncidentChanges {
                assignment_group: Some(Some("comms-hub-2nd-line".into())),
                ..IncidentChanges::default()
            },
            None,
        )
        .expect("first change");
    assert_eq!(first.version, 2);

    // … the second, still holding version 1, is told to fetch it again.
    let stale = w.incidents.update(
        &w.agent,
        &raised.reference,
        Some(1),
        IncidentChanges {
            title: Some("Overwritten".into()),
            ..status_change(Status::InProgress)
        },
        None,
    );
    assert!(
        matches!(stale, Err(IncidentError::VersionMismatch(1))),
        "got {stale:?}"
    );
    let after = w.reload(&raised);
    assert_eq!(after, first, "the stale change left no trace");
    assert_eq!(
        w.history(&w.desk, &raised).len(),
        2,
        "created and assigned only"
    );

    // With the current version it goes through.
    let second = w
        .incidents
        .update(
            &w.agent,
            &raised.reference,
            Some(2),
            status_change(Status::InProgress),
            None,
        )
        .expect("current version");
    assert_eq!((second.version, second.status), (3, Status::InProgress));

    // A version from the future is stale too.
    assert!(matches!(
        w.incidents.update(
            &w.agent,
            &raised.reference,
            Some(99),
            IncidentChanges::default(),
            None
        ),
        Err(IncidentError::VersionMismatch(99))
    ));
}

#[test]
fn every_change_and_comment_moves_the_version_on() {
    let w = World::new();
    let raised = w.raise_p3("Versions");
    let commented = {
        w.incidents
            .comment(
                &w.supplier.user,
                &raised.reference,
                "More detail",
                false,
                None,
            )
            .expect("comment");
        w.reload(&raised)
    };
    assert_eq!(commented.version, 2);
    let stale = w.incidents.update(
        &w.desk,
        &raised.reference,
        Some(1),
        status_change(Status::InProgress),
        None,
    );
    assert!(
        matches!(stale, Err(IncidentError::VersionMismatch(1))),
        "{stale:?}"
    );
    assert_eq!(w.reload(&raised).status, Status::New);
}

#[test]
fn of_concurrent_changes_at_the_same_version_exactly_one_wins() {
    let w = World::new();
    let raised = w.raise_p3("Everyone grabs it");
    let agents = [&w.desk, &w.agent, &w.manager, &w.desk, &w.agent, &w.manager];
    let barrier = Barrier::new(agents.len());
    let outcomes: Vec<_> = thread::scope(|s| {
        let handles: Vec<_> = agents
            .iter()
            .enumerate()
            .map(|(n, agent)| {
                let (barrier, incidents, reference) = (&barrier, &w.incidents, &raised.reference);
                s.spawn(move || {
                    barrier.wait();
                    incidents.update(
                        agent,
                        reference,
                        Some(1),
                        IncidentChanges {
                            assignment_group: Some(Some(format!("group-{n}"))),
                            ..IncidentChanges::default()
                        },
                        None,
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    });
    let winners: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    for outcome in &outcomes {
        assert!(
            matches!(outcome, Ok(_) | Err(IncidentError::VersionMismatch(1))),
            "{outcome:?}"
        );
    }
    let after = w.reload(&raised);
    assert_eq!(after.version, 2);
    assert_eq!(after.assignment_group, winners[0].assignment_group);
    assert_eq!(w.history(&w.desk, &raised).len(), 2);
}

#[test]
fn concurrent_retries_with_one_idempotency_key_raise_one_incident() {
    let w = World::new();
    let caller = &w.supplier.token;
    let tries = 6;
    let barrier = Barrier::new(tries);
    let outcomes: Vec<_> = thread::scope(|s| {
        let handles: Vec<_> = (0..tries)
            .map(|_| {
                let (barrier, incidents) = (&barrier, &w.incidents);
                s.spawn(move || {
                    barrier.wait();
                    incidents.raise(
                        caller,
                        incident("Retried by a flaky client"),
                        Some(IdempotentCreate {
                            scope: "api_token:9001:POST /api/v1/incidents".into(),
                            key: "retry-me".into(),
                            request_digest: "sha256:same".into(),
                            render: Box::new(|i| (i.reference.clone(), format!("/{}", i.id))),
                        }),
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    });
    let created: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            Ok(Raised::Created(i)) => Some(i.reference.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(created.len(), 1, "{outcomes:?}");
    for outcome in &outcomes {
        match outcome {
            Ok(Raised::Created(_)) => {}
            Ok(Raised::Replayed(kept)) => assert_eq!(kept.body, created[0]),
            // Lost the race while the winner was committing: told to retry (503).
            Err(IncidentError::Store(e)) if e.is_transient() => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        w.references(&w.desk, &IncidentFilter::default()),
        created,
        "never raised twice"
    );
}
