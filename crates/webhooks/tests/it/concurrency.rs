use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use dsms_core::{SharedClock, SystemClock};
use tokio::sync::watch;

use crate::support::{Receiver, World, notification_settings, pacing, wait_until};

const NORTHERN_EVENTS: usize = 40;
const SOUTHERN_EVENTS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_each_event_exactly_once_per_endpoint() {
    let world = World::new();
    // The workers run on the wall clock; events must be due by it.
    world.clock.set(Utc::now());
    let receiver = Receiver::start();
    world.register(&world.northern.admin, &receiver.url("/n1"), &["incident.*"]);
    world.register(
        &world.northern.admin,
        &receiver.url("/n2"),
        &["incident.created", "incident.updated"],
    );
    world.register(&world.southern.admin, &receiver.url("/s1"), &["incident.*"]);
    // Subscribed to nothing that is emitted: must receive nothing.
    world.register(
        &world.northern.admin,
        &receiver.url("/none"),
        &["incident.closed"],
    );

    // Two server instances: separate pools and services, each with a dispatcher and a
    // delivery worker, all on one database.
    let wall: SharedClock = Arc::new(SystemClock);
    let (stop, shutdown) = watch::channel(false);
    let mut tasks = Vec::new();
    for instance in [
        world.second_instance(wall.clone()),
        world.second_instance(wall),
    ] {
        tasks.push(tokio::spawn(
            instance
                .dispatcher(pacing(), notification_settings())
                .run(shutdown.clone()),
        ));
        tasks.push(tokio::spawn(
            instance.delivery_worker(pacing()).run(shutdown.clone()),
        ));
    }

    // Events arrive while the workers run, as they would in production.
    for n in 0..NORTHERN_EVENTS {
        let kind = if n % 2 == 0 {
            "incident.created"
        } else {
            "incident.updated"
        };
        world.emit(world.northern.id, kind);
        if n < SOUTHERN_EVENTS {
            world.emit(world.southern.id, "incident.comment_added");
        }
        world.clock.set(Utc::now());
    }

    let expected = 2 * NORTHERN_EVENTS + SOUTHERN_EVENTS;
    let all_delivered = tokio::task::block_in_place(|| {
        wait_until(Duration::from_secs(60), || {
            receiver.received().len() >= expected
                && world
                    .outbox_rows("webhook")
                    .iter()
                    .all(|r| r.status == "delivered")
        })
    });
    stop.send(true).expect("workers listening");
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .expect("worker stops")
            .expect("worker task");
    }
    assert!(
        all_delivered,
        "only {} of {expected} delivered",
        receiver.received().len()
    );

    // The workers have stopped: every delivery that will ever happen has happened.
    let queued = world.outbox_rows("webhook");
    assert_eq!(
        queued.len(),
        expected,
        "each event fanned out once per subscriber"
    );
    assert!(
        world
            .outbox_rows("event")
            .iter()
            .all(|e| e.status == "delivered")
    );
    let received = receiver.received();
    assert_eq!(received.len(), expected, "no delivery arrives twice");
    let ids: HashSet<&str> = received
        .iter()
        .map(|r| r.header("Dsms-Delivery").expect("delivery id"))
        .collect();
    assert_eq!(ids.len(), expected, "every Dsms-Delivery is distinct");
    let queued_ids: HashSet<String> = queued.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(
        ids,
        queued_ids
            .iter()
            .map(String::as_str)
            .collect::<HashSet<_>>()
    );
    let mut per_path: HashMap<&str, usize> = HashMap::new();
    for request in &received {
        *per_path.entry(request.path.as_str()).or_default() += 1;
    }
    assert_eq!(per_path.get("/n1"), Some(&NORTHERN_EVENTS));
    assert_eq!(per_path.get("/n2"), Some(&NORTHERN_EVENTS));
    assert_eq!(per_path.get("/s1"), Some(&SOUTHERN_EVENTS));
    assert_eq!(per_path.get("/none"), None);
    // Southern's events never reach Northern's endpoints and vice versa.
    for request in &received {
        let organisation = request.json()["organisation_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let expected_org = if request.path == "/s1" {
            world.southern.id
        } else {
            world.northern.id
        };
        assert_eq!(organisation, expected_org.to_string(), "{}", request.path);
    }
}
