use chrono::Duration;
use dsms_core::PageRequest;

use crate::support::{Receiver, World, expected_signature};

#[test]
fn a_failed_delivery_is_retried_after_back_off_with_the_same_delivery_id() {
    let world = World::new();
    let receiver = Receiver::start();
    receiver.script(&[500]);
    let (endpoint, secret) = world.register(
        &world.northern.admin,
        &receiver.url("/flaky"),
        &["incident.*"],
    );
    world.emit(world.northern.id, "incident.assigned");

    world.dispatch_and_deliver();
    assert_eq!(receiver.received().len(), 1);
    let row = &world.outbox_rows("webhook")[0];
    assert_eq!(row.status, "pending");
    assert_eq!(row.attempts, 1);
    assert!(row.next_attempt_at > dsms_store::timestamp(world.now()));
    assert_eq!(
        row.last_error.as_deref(),
        Some("the receiver answered HTTP 500")
    );
    let failing = world.hooks.get(&world.northern.admin, endpoint.id).unwrap();
    assert_eq!(failing.consecutive_failures, 1);
    assert_eq!(
        failing.first_failure_at,
        Some(dsms_store::timestamp(world.now()))
    );

    // Not due yet: nothing is sent again at once.
    world.dispatch_and_deliver();
    assert_eq!(receiver.received().len(), 1);

    world.clock.advance(Duration::seconds(1));
    world.dispatch_and_deliver();

    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[0].header("Dsms-Delivery"),
        received[1].header("Dsms-Delivery")
    );
    assert_ne!(
        received[0].header("Dsms-Timestamp"),
        received[1].header("Dsms-Timestamp"),
        "each attempt is signed when it is sent"
    );
    for request in &received {
        let timestamp = request.header("Dsms-Timestamp").unwrap();
        assert_eq!(
            request.header("Dsms-Signature"),
            Some(expected_signature(&secret, timestamp, &request.body).as_str())
        );
        assert_eq!(request.body, received[0].body);
    }
    assert_eq!(world.outbox_rows("webhook")[0].status, "delivered");

    let attempts = world
        .hooks
        .deliveries(
            &world.northern.admin,
            endpoint.id,
            PageRequest::parse(None, None).unwrap(),
        )
        .unwrap()
        .items;
    let summary: Vec<_> = attempts
        .iter()
        .map(|d| (d.attempt, d.status_code, d.delivered))
        .collect();
    assert_eq!(
        summary,
        [(2, Some(200), true), (1, Some(500), false)],
        "newest first"
    );
    let recovered = world.hooks.get(&world.northern.admin, endpoint.id).unwrap();
    assert_eq!(recovered.consecutive_failures, 0);
    assert_eq!(recovered.first_failure_at, None);
}

#[test]
fn an_unreachable_receiver_counts_as_a_failure_and_gives_up_after_max_attempts() {
    let world = World::new();
    // A port nothing listens on.
    let port = dsms_testkit::free_port();
    let (endpoint, _) = world.register(
        &world.northern.admin,
        &format!("http://127.0.0.1:{port}/nowhere"),
        &["incident.created"],
    );
    world.emit(world.northern.id, "incident.created");
    for _ in 0..6 {
        world.dispatch_and_deliver();
        world.clock.advance(Duration::seconds(1));
    }
    let row = &world.outbox_rows("webhook")[0];
    assert_eq!(row.status, "dead", "{row:?}");
    assert_eq!(row.attempts, 5, "pacing().max_attempts");
    let attempts = world
        .hooks
        .deliveries(
            &world.northern.admin,
            endpoint.id,
            PageRequest::parse(None, None).unwrap(),
        )
        .unwrap()
        .items;
    assert_eq!(attempts.len(), 5);
    assert!(
        attempts
            .iter()
            .all(|a| !a.delivered && a.status_code.is_none())
    );
    assert!(
        attempts[0].error.as_deref().is_some_and(|e| !e.is_empty()),
        "{attempts:?}"
    );
}
