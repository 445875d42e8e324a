//! The background sweep: SLA at-risk and breach events raised once, even by several server
//! instances, and automatic closure once the reopen window has passed.

use dsms_incident::{Incidents, Status};

use crate::support::{World, incident_with, status_change};

fn events(w: &World) -> Vec<String> {
    use diesel::prelude::*;
    use dsms_store::schema::outbox;
    let payloads: Vec<String> =
        w.db.read_blocking(|conn| {
            outbox::table
                .filter(outbox::kind.eq("event"))
                .select(outbox::payload)
                .load(conn)
                .map_err(dsms_store::StoreError::from)
        })
        .expect("events");
    payloads
        .iter()
        .map(|p| {
            let v: serde_json::Value = serde_json::from_str(p).expect("json");
            format!(
                "{}:{}",
                v["type"].as_str().unwrap_or_default(),
                v["clock"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn at_risk_and_breach_events_fire_once_each() {
    // Priority 1 raised Saturday 22:00: response due 22:15 (at risk from 22:11:15),
    // resolution due 02:00 (at risk from 01:00).
    let w = World::at("2026-11-28T22:00:00Z");
    w.raise(&w.supplier.user, incident_with("All hubs down", 1, 1));

    w.set_clock("2026-11-28T22:10:00Z");
    assert_eq!(w.incidents.sweep().expect("sweep").at_risk, 0);

    w.set_clock("2026-11-28T22:12:00Z");
    let report = w.incidents.sweep().expect("sweep");
    assert_eq!(
        (report.at_risk, report.breached),
        (1, 0),
        "response at risk"
    );

    w.set_clock("2026-11-29T01:30:00Z");
    let report = w.incidents.sweep().expect("sweep");
    assert_eq!(
        (report.at_risk, report.breached),
        (1, 1),
        "resolution at risk, response breached"
    );
    w.set_clock("2026-11-29T02:00:01Z");
    let report = w.incidents.sweep().expect("sweep");
    assert_eq!(
        (report.at_risk, report.breached),
        (0, 1),
        "resolution breached"
    );
    let again = w.incidents.sweep().expect("sweep");
    assert_eq!(
        (again.at_risk, again.breached),
        (0, 0),
        "nothing fires twice"
    );

    let mut kinds = events(&w)
        .into_iter()
        .filter(|e| e.starts_with("incident.sla"))
        .collect::<Vec<_>>();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "incident.sla_at_risk:resolution",
            "incident.sla_at_risk:response",
            "incident.sla_breached:resolution",
            "incident.sla_breached:response",
        ]
    );
}

#[test]
fn paused_and_resolved_clocks_raise_no_events() {
    let w = World::at("2026-11-28T22:00:00Z");
    let paused = w.raise(
        &w.supplier.user,
        incident_with("Waiting on the supplier", 1, 1),
    );
    w.move_to(&w.agent, &paused, Status::AwaitingUser);
    let resolved = w.raise(&w.supplier.user, incident_with("Fixed quickly", 1, 1));
    let mut fix = status_change(Status::Resolved);
    fix.resolution_code = Some("restarted".into());
    w.update(&w.agent, &resolved, fix).expect("resolved");

    w.set_clock("2026-11-29T12:00:00Z");
    let report = w.incidents.sweep().expect("sweep");
    assert_eq!(
        report.breached, 0,
        "a paused or resolved resolution clock never breaches"
    );
}

#[test]
fn several_sweepers_at_once_raise_each_event_once() {
    let w = World::at("2026-11-28T22:00:00Z");
    for i in 0..20 {
        w.raise(
            &w.supplier.user,
            incident_with(&format!("Outage {i}"), 1, 1),
        );
    }
    w.set_clock("2026-11-29T03:00:00Z");
    let sweepers: Vec<Incidents> = (0..3).map(|_| w.incidents.clone()).collect();
    let handles: Vec<_> = sweepers
        .into_iter()
        .map(|s| std::thread::spawn(move || s.sweep().expect("sweep")))
        .collect();
    let total: usize = handles
        .into_iter()
        .map(|h| {
            let r = h.join().expect("thread");
            r.at_risk + r.breached
        })
        .sum();
    assert_eq!(total, 20 * 4, "two clocks, at risk and breached, once each");
    let fired = events(&w)
        .into_iter()
        .filter(|e| e.starts_with("incident.sla"))
        .count();
    assert_eq!(fired, 80);
}

#[test]
fn resolved_incidents_close_once_the_reopen_window_has_passed() {
    // Resolved Monday 30 November 2026 12:00 GMT; 5 working days (50 working hours) later is
    // Monday 7 December 12:00.
    let w = World::at("2026-11-30T09:00:00Z");
    let raised = w.raise_p3("Gateway latency");
    let mut fix = status_change(Status::Resolved);
    fix.resolution_code = Some("config_change".into());
    w.set_clock("2026-11-30T12:00:00Z");
    w.update(&w.agent, &raised, fix).expect("resolved");

    w.set_clock("2026-12-07T11:59:00Z");
    assert_eq!(w.incidents.sweep().expect("sweep").closed, 0);
    assert_eq!(w.reload(&raised).status, Status::Resolved);

    w.set_clock("2026-12-07T12:01:00Z");
    assert_eq!(w.incidents.sweep().expect("sweep").closed, 1);
    let closed = w.reload(&raised);
    assert_eq!(closed.status, Status::Closed);
    assert!(closed.closed_at.is_some());
    assert_eq!(w.incidents.sweep().expect("sweep").closed, 0);
    assert!(events(&w).iter().any(|e| e == "incident.closed:"));
}
