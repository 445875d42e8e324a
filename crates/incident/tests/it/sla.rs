//! SLA clocks read through the service, with the manual clock crossing weekends, bank holidays,
//! pauses and reopening.
//!
//! domain.md, Incidents, target times (default): priority 1: response 15 min, resolution 4 h,
//! around the clock; priority 3: response 2 working h, resolution 3 working days, working
//! hours. Working hours: 08:00–18:00 Europe/London, Monday to Friday, excluding England and
//! Wales bank holidays.

use chrono::Duration;
use dsms_incident::{ClockState, Status};

use crate::support::{World, incident_with, utc};

#[test]
fn a_priority_3_incident_raised_before_easter_is_due_after_easter_monday() {
    // Thursday 2 April 2026, 10:00 BST. Good Friday (3 April), the weekend and Easter Monday
    // (6 April) are not working days, so 3 working days (30 h) = Thu 8 h + Tue 10 h + Wed 10 h
    // + Thu 2 h.
    let w = World::at("2026-04-02T09:00:00Z");
    let raised = w.raise_p3("Hubs offline across the north");
    assert_eq!(raised.priority.get(), 3);

    w.set_clock("2026-04-02T09:30:00Z");
    let read = w.get(&w.supplier.user, &raised);
    assert_eq!(
        read.sla.resolution.due_at,
        Some(utc("2026-04-09T09:00:00Z")),
        "Thursday 9 April 10:00 BST"
    );
    assert_eq!(
        read.sla.response.due_at,
        Some(utc("2026-04-02T11:00:00Z")),
        "2 working hours: 12:00 BST the same day"
    );
    assert_eq!(read.sla.resolution.state, ClockState::Running);

    // Nothing counts on Good Friday, over the weekend or on Easter Monday.
    for holiday in [
        "2026-04-03T12:00:00Z",
        "2026-04-05T12:00:00Z",
        "2026-04-06T12:00:00Z",
    ] {
        w.set_clock(holiday);
        let read = w.get(&w.supplier.user, &raised);
        assert_eq!(read.sla.resolution.elapsed, Duration::hours(8), "{holiday}");
        assert_eq!(read.sla.resolution.remaining, Duration::hours(22));
        assert_eq!(
            read.sla.resolution.due_at,
            Some(utc("2026-04-09T09:00:00Z"))
        );
    }
}

#[test]
fn a_priority_1_incident_raised_on_saturday_night_is_due_at_two_on_sunday() {
    // Saturday 28 November 2026, 22:00 GMT: priority 1 runs around the clock.
    let w = World::at("2026-11-28T22:00:00Z");
    let raised = w.raise(&w.supplier.user, incident_with("All hubs down", 1, 1));
    assert_eq!(raised.priority.get(), 1);

    w.set_clock("2026-11-28T22:05:00Z");
    let read = w.get(&w.desk, &raised);
    assert_eq!(
        read.sla.resolution.due_at,
        Some(utc("2026-11-29T02:00:00Z"))
    );
    assert_eq!(read.sla.response.due_at, Some(utc("2026-11-28T22:15:00Z")));

    w.set_clock("2026-11-29T01:00:00Z");
    let read = w.get(&w.desk, &raised);
    assert_eq!(read.sla.resolution.elapsed, Duration::hours(3));
    assert_eq!(read.sla.resolution.state, ClockState::AtRisk, "75% of 4 h");
}

#[test]
fn the_resolution_clock_is_at_risk_at_75_percent_and_breached_after_the_due_time() {
    // At risk from 75% of the target (the product's default threshold).
    let w = World::at("2026-04-02T09:00:00Z");
    let raised = w.raise_p3("Slow responses from the user gateway");
    let state_at = |at: &str| {
        w.set_clock(at);
        w.get(&w.supplier.user, &raised).sla.resolution
    };
    // 22.5 of 30 working hours: Thu 8 h + Tue 10 h + Wed 08:00–12:30 BST.
    assert_eq!(state_at("2026-04-08T11:29:59Z").state, ClockState::Running);
    assert_eq!(state_at("2026-04-08T11:30:00Z").state, ClockState::AtRisk);
    assert_eq!(state_at("2026-04-09T08:59:59Z").state, ClockState::AtRisk);
    let breached = state_at("2026-04-09T09:00:01Z");
    assert_eq!(breached.state, ClockState::Breached);
    assert_eq!(breached.remaining, -Duration::seconds(1));
    assert_eq!(breached.due_at, Some(utc("2026-04-09T09:00:00Z")));
    // Still breached a week later, and in lists too.
    assert_eq!(state_at("2026-04-16T12:00:00Z").state, ClockState::Breached);
    let listed = w.list(&w.desk, &Default::default());
    assert_eq!(listed[0].sla.resolution.state, ClockState::Breached);
}

#[test]
fn awaiting_user_pauses_the_resolution_clock_and_pushes_the_due_time_by_the_paused_working_time() {
    // domain.md, Responsibility: "Target times apply only while the operator is responsible;
    // the clock pauses while the incident waits on the User (`awaiting_user`)". Priority 3 from
    // Monday 30 November 2026 09:00 GMT is due Thursday 09:00 (9 + 10 + 10 + 1 working hours).
    let w = World::new();
    let raised = w.raise_p3("Meter readings missing");
    w.set_clock("2026-11-30T09:30:00Z");
    assert_eq!(
        w.get(&w.desk, &raised).sla.resolution.due_at,
        Some(utc("2026-12-03T09:00:00Z"))
    );

    w.set_clock("2026-11-30T10:00:00Z");
    let waiting = w.move_to(&w.desk, &raised, Status::AwaitingUser);
    assert_eq!(waiting.sla.resolution.state, ClockState::Paused);
    assert_eq!(
        waiting.sla.resolution.due_at, None,
        "no due time while paused"
    );

    w.set_clock("2026-11-30T16:00:00Z");
    let paused = w.get(&w.supplier.user, &raised);
    assert_eq!(paused.sla.resolution.state, ClockState::Paused);
    assert_eq!(paused.sla.resolution.due_at, None);
    assert_eq!(paused.sla.resolution.elapsed, Duration::hours(1));

    // The user answers the next morning: paused Mon 10:00–18:00 and Tue 08:00–10:00, 10 working
    // hours (not the 24 wall-clock hours), so the due time moves from Thu 09:00 to Fri 09:00.
    w.set_clock("2026-12-01T10:00:00Z");
    let resumed = w.move_to(&w.supplier.user, &raised, Status::InProgress);
    assert_eq!(resumed.status, Status::InProgress);
    assert_eq!(resumed.sla.resolution.state, ClockState::Running);

    w.set_clock("2026-12-01T12:00:00Z");
    let later = w.get(&w.desk, &raised);
    assert_eq!(later.sla.resolution.elapsed, Duration::hours(3));
    assert_eq!(
        later.sla.resolution.due_at,
        Some(utc("2026-12-04T09:00:00Z"))
    );
    assert_eq!(later.sla.resolution.state, ClockState::Running);
}

#[test]
fn resolving_stops_the_resolution_clock_met_within_target_breached_after_it() {
    let w = World::at("2026-11-28T22:00:00Z");
    let in_time = w.raise(&w.supplier.user, incident_with("Resolved in time", 1, 1));
    let late = w.raise(&w.supplier.user, incident_with("Resolved late", 1, 1));

    w.set_clock("2026-11-29T01:00:00Z");
    let resolved = w.move_to(&w.desk, &in_time, Status::Resolved);
    assert_eq!(resolved.sla.resolution.state, ClockState::Met);
    assert_eq!(
        resolved.resolved_at,
        Some(utc("2026-11-29T01:00:00Z").naive_utc())
    );

    w.set_clock("2026-11-29T03:00:00Z");
    let resolved_late = w.move_to(&w.desk, &late, Status::Resolved);
    assert_eq!(resolved_late.sla.resolution.state, ClockState::Breached);

    // Stopped clocks do not move any more.
    w.set_clock("2026-12-14T12:00:00Z");
    let met = w.get(&w.supplier.user, &in_time).sla.resolution;
    assert_eq!(met.state, ClockState::Met);
    assert_eq!(met.elapsed, Duration::hours(3));
    let breached = w.get(&w.supplier.user, &late).sla.resolution;
    assert_eq!(breached.state, ClockState::Breached);
    assert_eq!(breached.elapsed, Duration::hours(5));
    assert_eq!(breached.due_at, Some(utc("2026-11-29T02:00:00Z")));
}

#[test]
fn reopening_within_the_window_resumes_the_clock_without_counting_the_resolved_period() {
    // domain.md, Closure and reopening: "on resolution the raiser is notified and may reopen
    // within (default) 5 working days". Priority 3 raised Monday 09:00, resolved at 12:00 (3
    // working hours), reopened Wednesday 12:00: the 20 working hours it spent resolved do not
    // count.
    let w = World::new();
    let raised = w.raise_p3("Hub keeps rebooting");
    w.set_clock("2026-11-30T12:00:00Z");
    w.move_to(&w.desk, &raised, Status::Resolved);

    w.set_clock("2026-12-02T12:00:00Z");
    let reopened = w.move_to(&w.supplier.user, &raised, Status::InProgress);
    assert_eq!(reopened.status, Status::InProgress);
    assert_eq!(reopened.resolved_at, None);
    assert_eq!(reopened.sla.resolution.state, ClockState::Running);
    assert_eq!(reopened.sla.resolution.elapsed, Duration::hours(3));

    w.set_clock("2026-12-02T13:00:00Z");
    let later = w.get(&w.supplier.user, &raised);
    assert_eq!(later.sla.resolution.elapsed, Duration::hours(4));
    // 27 working hours left from Wednesday 12:00: Wed 6 + Thu 10 + Fri 10 + Mon 1.
    assert_eq!(
        later.sla.resolution.due_at,
        Some(utc("2026-12-07T09:00:00Z"))
    );

    // Resolving again stops it at the new time.
    w.set_clock("2026-12-03T09:00:00Z");
    let again = w.move_to(&w.desk, &raised, Status::Resolved);
    assert_eq!(again.sla.resolution.state, ClockState::Met);
    assert_eq!(again.sla.resolution.elapsed, Duration::hours(10));
}

#[test]
fn the_first_public_response_by_the_desk_stops_the_response_clock() {
    let w = World::new();
    let answered = w.raise_p3("No response yet");
    let ignored = w.raise_p3("Nobody answered");

    // A comment from the raiser is not a response, nor is an internal work note.
    w.set_clock("2026-11-30T09:30:00Z");
    assert_eq!(
        w.reload(&answered).sla.response.due_at,
        Some(utc("2026-11-30T11:00:00Z"))
    );
    w.incidents
        .comment(
            &w.supplier.user,
            &answered.reference,
            "Any news?",
            false,
            None,
        )
        .expect("comment");
    w.incidents
        .comment(&w.desk, &answered.reference, "Looking at it", true, None)
        .expect("work note");
    assert_eq!(w.reload(&answered).responded_at, None);

    w.set_clock("2026-11-30T10:00:00Z");
    w.incidents
        .comment(&w.desk, &answered.reference, "We are on it.", false, None)
        .expect("public comment");
    assert_eq!(
        w.reload(&answered).responded_at,
        Some(utc("2026-11-30T10:00:00Z").naive_utc())
    );

    w.set_clock("2026-11-30T11:00:01Z");
    assert_eq!(w.reload(&answered).sla.response.state, ClockState::Met);
    assert_eq!(w.reload(&ignored).sla.response.state, ClockState::Breached);
}

#[test]
fn the_incident_answered_when_raised_resumed_or_reopened_carries_its_due_times() {
    // api.md: the created incident's body carries "sla": {"response_due_at",
    // "resolution_due_at", ...}; sla.rs: due_at is `None` only "while paused".
    let w = World::new();
    let raised = w.raise_p3("Due times from the start");
    assert_eq!(
        raised.sla.response.due_at,
        Some(utc("2026-11-30T11:00:00Z"))
    );
    assert_eq!(
        raised.sla.resolution.due_at,
        Some(utc("2026-12-03T09:00:00Z"))
    );

    // Awaiting the user 10:00–14:00 (4 working hours): due Thursday 13:00.
    w.set_clock("2026-11-30T10:00:00Z");
    w.move_to(&w.desk, &raised, Status::AwaitingUser);
    w.set_clock("2026-11-30T14:00:00Z");
    let resumed = w.move_to(&w.supplier.user, &raised, Status::InProgress);
    assert_eq!(
        resumed.sla.resolution.due_at,
        Some(utc("2026-12-03T13:00:00Z"))
    );

    // Resolved 15:00, reopened Tuesday 15:00 (10 working hours not counted): due Friday 13:00.
    w.set_clock("2026-11-30T15:00:00Z");
    w.move_to(&w.desk, &raised, Status::Resolved);
    w.set_clock("2026-12-01T15:00:00Z");
    let reopened = w.move_to(&w.supplier.user, &raised, Status::InProgress);
    assert_eq!(
        reopened.sla.resolution.due_at,
        Some(utc("2026-12-04T13:00:00Z"))
    );
}
