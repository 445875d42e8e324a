//! Fulfilment: agents complete the tasks, the last one fulfils the request, the raiser confirms;
//! cancellation until fulfilment starts; the SLA clock on working days.

use chrono::Duration;
use dsms_core::sla::ClockState;
use dsms_service_request::{RequestChanges, Status, TaskStatus};

use crate::support::{World, assert_conflict, assert_forbidden, diagnostics, test_slot, utc};

fn status(s: Status) -> RequestChanges {
    RequestChanges {
        status: Some(s.as_str().into()),
        contact: None,
    }
}

#[test]
fn agents_complete_tasks_and_the_last_one_fulfils_the_request() {
    let w = World::new();
    let raised = w.raise(&w.supplier.token, diagnostics());
    assert_eq!(raised.tasks.len(), 2);
    let key = raised.reference.clone();
    // Only the service desk works tasks.
    assert_forbidden(w.requests.complete_task(
        &w.supplier.admin,
        &key,
        raised.tasks[0].id,
        None,
        None,
    ));
    assert_forbidden(
        w.requests
            .complete_task(&w.dcc_admin, &key, raised.tasks[0].id, None, None),
    );

    let first = w
        .requests
        .complete_task(
            &w.agent,
            &key,
            raised.tasks[0].id,
            Some("Hub rebooted remotely.".into()),
            None,
        )
        .expect("first task");
    assert_eq!(first.status, Status::InFulfilment);
    assert_eq!(first.tasks[0].status, TaskStatus::Done);
    assert_eq!(
        first.tasks[0].notes.as_deref(),
        Some("Hub rebooted remotely.")
    );
    assert_conflict(
        w.requests
            .complete_task(&w.agent, &key, raised.tasks[0].id, None, None),
    );
    // The raiser may no longer cancel once fulfilment has started.
    assert_conflict(w.requests.update(
        &w.supplier.token,
        &key,
        None,
        status(Status::Cancelled),
        None,
    ));

    w.clock.advance(Duration::hours(2));
    let done = w
        .requests
        .complete_task(&w.agent, &key, raised.tasks[1].id, None, None)
        .expect("last task");
    assert_eq!(done.status, Status::Fulfilled);
    assert_eq!(
        done.fulfilled_at,
        Some(utc("2026-11-30T11:00:00Z").naive_utc())
    );
    assert_eq!(done.sla.state, ClockState::Met);

    let closed = w
        .requests
        .update(
            &w.supplier.token,
            &key,
            Some(done.version),
            status(Status::Closed),
            None,
        )
        .expect("the raiser confirms");
    assert_eq!(closed.status, Status::Closed);
    assert_conflict(
        w.requests
            .update(&w.agent, &key, None, status(Status::InFulfilment), None),
    );
}

#[test]
fn the_raiser_cancels_before_fulfilment_and_a_stale_version_is_refused() {
    let w = World::new();
    let raised = w.raise(&w.supplier.user, test_slot());
    let stale = w.requests.update(
        &w.supplier.user,
        &raised.reference,
        Some(raised.version + 5),
        status(Status::Cancelled),
        None,
    );
    assert!(
        matches!(
            stale,
            Err(dsms_service_request::RequestError::VersionMismatch(_))
        ),
        "{stale:?}"
    );
    // Readers cannot.
    assert_forbidden(w.requests.update(
        &w.supplier.reporter,
        &raised.reference,
        None,
        status(Status::Cancelled),
        None,
    ));
    let cancelled = w
        .requests
        .update(
            &w.supplier.user,
            &raised.reference,
            Some(raised.version),
            status(Status::Cancelled),
            None,
        )
        .expect("cancel");
    assert_eq!(cancelled.status, Status::Cancelled);
    assert!(
        cancelled
            .tasks
            .iter()
            .all(|t| t.status == TaskStatus::Cancelled)
    );
    assert_conflict(w.requests.update(
        &w.agent,
        &raised.reference,
        None,
        status(Status::InFulfilment),
        None,
    ));
}

#[test]
fn the_desk_starts_fulfilment_and_may_cancel_during_it_with_the_allowed_moves_named() {
    let w = World::new();
    let raised = w.raise(&w.supplier.user, diagnostics());
    match w.requests.update(
        &w.supplier.user,
        &raised.reference,
        None,
        status(Status::InFulfilment),
        None,
    ) {
        Err(dsms_service_request::RequestError::Transition { allowed, .. }) => {
            assert_eq!(allowed, [Status::Cancelled]);
        }
        other => panic!("{other:?}"),
    }
    let started = w
        .requests
        .update(
            &w.agent,
            &raised.reference,
            None,
            status(Status::InFulfilment),
            None,
        )
        .expect("start");
    assert_eq!(started.status, Status::InFulfilment);
    let cancelled = w
        .requests
        .update(
            &w.agent,
            &raised.reference,
            None,
            status(Status::Cancelled),
            None,
        )
        .expect("the desk cancels");
    assert_eq!(cancelled.status, Status::Cancelled);
}

#[test]
fn the_clock_counts_working_days_and_pauses_for_the_organisations_own_approval() {
    let w = World::new();
    // Five working days from Monday 30 November 09:00 is Monday 7 December 09:00.
    let plain = w.raise(&w.supplier.user, diagnostics());
    assert_eq!(plain.sla.due_at, Some(utc("2026-12-07T09:00:00Z")));
    assert_eq!(plain.sla.state, ClockState::Running);

    let needs_admin = w.raise(&w.supplier.user, test_slot());
    assert_eq!(needs_admin.sla.state, ClockState::Paused);
    assert_eq!(needs_admin.sla.due_at, None);
    // The administrator approves a working day later; the clock starts then.
    w.clock.set(utc("2026-12-01T09:00:00Z"));
    let approved = w.approve(&w.supplier.admin, &needs_admin);
    assert_eq!(approved.sla.due_at, Some(utc("2026-12-08T09:00:00Z")));

    w.clock.set(utc("2026-12-07T10:00:00Z"));
    assert_eq!(w.reload(&plain).sla.state, ClockState::Breached);
}
