//! The request SLA sweep: each at-risk and breach event is raised once per request, however
//! often and from however many service instances on one database it runs, as one outbox event
//! for the webhook dispatcher; clocks that are paused or stopped raise nothing.

use std::thread;

use diesel::prelude::*;
use dsms_service_request::{
    RequestChanges, RequestPolicy, RequestSweepReport, ServiceRequests, Status,
};
use dsms_store::schema::outbox;
use serde_json::Value;

use crate::support::{World, diagnostics, test_slot, utc};

/// The SLA events in the outbox, oldest first.
fn sla_events(w: &World) -> Vec<Value> {
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
    .filter(|e| {
        e["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("request.sla_"))
    })
    .collect()
}

/// A second server instance: its own service over the same database and clock.
fn second_instance(w: &World) -> ServiceRequests {
    ServiceRequests::new(w.db.clone(), w.clock.clone(), RequestPolicy::default())
}

/// Sweeps from both instances at once and adds up what they raised.
fn sweep_from_both(w: &World, other: &ServiceRequests) -> RequestSweepReport {
    let (a, b) = thread::scope(|s| {
        let first = s.spawn(|| w.requests.sweep().expect("first instance sweeps"));
        let second = s.spawn(|| other.sweep().expect("second instance sweeps"));
        (
            first.join().expect("first sweep"),
            second.join().expect("second sweep"),
        )
    });
    RequestSweepReport {
        at_risk: a.at_risk + b.at_risk,
        breached: a.breached + b.breached,
    }
}

#[test]
fn at_risk_and_breach_are_raised_once_across_instances() {
    let w = World::new();
    let other = second_instance(&w);
    // Due Monday 7 December 09:00 (five working days); at risk from Thursday 3 December 15:30.
    let plain = w.raise(&w.supplier.user, diagnostics());
    // Paused until the supplier's administrator approves, which never happens here.
    let paused = w.raise(&w.supplier.user, test_slot());

    assert_eq!(sweep_from_both(&w, &other), RequestSweepReport::default());
    assert!(sla_events(&w).is_empty());

    w.clock.set(utc("2026-12-04T09:00:00Z"));
    assert_eq!(
        sweep_from_both(&w, &other),
        RequestSweepReport {
            at_risk: 1,
            breached: 0
        }
    );
    assert_eq!(
        w.requests.sweep().expect("again"),
        RequestSweepReport::default()
    );
    assert_eq!(other.sweep().expect("again"), RequestSweepReport::default());

    w.clock.set(utc("2026-12-07T10:00:00Z"));
    assert_eq!(
        sweep_from_both(&w, &other),
        RequestSweepReport {
            at_risk: 0,
            breached: 1
        }
    );
    assert_eq!(
        w.requests.sweep().expect("again"),
        RequestSweepReport::default()
    );

    let events = sla_events(&w);
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, ["request.sla_at_risk", "request.sla_breached"]);
    for event in &events {
        assert_eq!(event["request"]["reference"], plain.reference.as_str());
        assert_eq!(event["organisation_id"], w.supplier.id.to_string());
        assert_eq!(event["clock"], "fulfilment");
        assert_eq!(event["request"]["due_at"], "2026-12-07T09:00:00Z");
    }
    assert!(
        events
            .iter()
            .all(|e| e["request"]["reference"] != paused.reference.as_str()),
        "a paused clock raises nothing"
    );
}

#[test]
fn a_request_found_breached_gets_only_the_breach_and_a_stopped_clock_nothing() {
    let w = World::new();
    let late = w.raise(&w.supplier.user, diagnostics());
    let cancelled = w.raise(&w.other.user, diagnostics());
    w.requests
        .update(
            &w.other.user,
            &cancelled.reference,
            Some(cancelled.version),
            RequestChanges {
                status: Some(Status::Cancelled.as_str().into()),
                contact: None,
            },
            None,
        )
        .expect("the raiser cancels");

    // The sweep first runs long after the due time.
    w.clock.set(utc("2026-12-09T12:00:00Z"));
    assert_eq!(
        w.requests.sweep().expect("sweep"),
        RequestSweepReport {
            at_risk: 0,
            breached: 1
        }
    );
    assert_eq!(
        w.requests.sweep().expect("again"),
        RequestSweepReport::default()
    );
    let events = sla_events(&w);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "request.sla_breached");
    assert_eq!(events[0]["request"]["reference"], late.reference.as_str());
}
