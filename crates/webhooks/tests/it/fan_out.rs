use dsms_webhooks::EndpointChanges;

use crate::support::{Receiver, World};

#[test]
fn events_reach_only_subscribed_active_endpoints_of_their_own_organisation() {
    let world = World::new();
    let receiver = Receiver::start();
    let admin = &world.northern.admin;
    world.register(admin, &receiver.url("/created"), &["incident.created"]);
    world.register(admin, &receiver.url("/all"), &["incident.*"]);
    world.register(admin, &receiver.url("/resolved"), &["incident.resolved"]);
    let (paused, _) = world.register(admin, &receiver.url("/paused"), &["incident.created"]);
    world
        .hooks
        .update(
            admin,
            paused.id,
            Some(paused.version),
            EndpointChanges {
                status: Some("disabled".into()),
                ..EndpointChanges::default()
            },
            None,
        )
        .expect("disable");
    let (gone, _) = world.register(admin, &receiver.url("/deleted"), &["incident.*"]);
    world.hooks.delete(admin, gone.id, None).expect("delete");
    world.register(
        &world.southern.admin,
        &receiver.url("/southern"),
        &["incident.*"],
    );

    world.emit(world.northern.id, "incident.created");
    world.dispatch_and_deliver();

    let paths = |r: &Receiver| {
        let mut paths: Vec<String> = r.received().into_iter().map(|r| r.path).collect();
        paths.sort();
        paths
    };
    assert_eq!(paths(&receiver), ["/all", "/created"]);
    assert_eq!(
        world.outbox_rows("webhook").len(),
        2,
        "one row per subscriber"
    );

    world.emit(world.southern.id, "incident.resolved");
    world.dispatch_and_deliver();
    assert_eq!(paths(&receiver), ["/all", "/created", "/southern"]);
    assert_eq!(
        receiver.received_at("/southern")[0].header("Dsms-Event"),
        Some("incident.resolved")
    );

    // An event nobody subscribes to is consumed without deliveries.
    world.emit(world.northern.id, "incident.closed");
    world.dispatch_and_deliver();
    let paths_now = paths(&receiver);
    assert_eq!(paths_now, ["/all", "/all", "/created", "/southern"]);
    assert!(
        world
            .outbox_rows("event")
            .iter()
            .all(|e| e.status == "delivered")
    );
}

#[test]
fn a_malformed_event_is_parked_as_dead_without_blocking_others() {
    let world = World::new();
    let receiver = Receiver::start();
    world.register(&world.northern.admin, &receiver.url("/in"), &["incident.*"]);
    let now = world.now();
    let broken = world
        .db
        .write_blocking(|conn| {
            dsms_store::outbox::enqueue(conn, now, "event", &serde_json::json!({"type": 3}))
        })
        .expect("enqueue");
    world.emit(world.northern.id, "incident.updated");

    world.dispatch_and_deliver();

    assert_eq!(receiver.received().len(), 1);
    let events = world.outbox_rows("event");
    let parked = events.iter().find(|e| e.id == broken).expect("row");
    assert_eq!(parked.status, "dead");
    assert!(
        parked
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("no type")),
        "{parked:?}"
    );
}
