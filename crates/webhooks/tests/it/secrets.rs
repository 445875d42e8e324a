use diesel::prelude::*;
use dsms_store::StoreError;
use dsms_store::audit;
use dsms_store::schema::{audit_log, webhook_endpoints};
use dsms_webhooks::SECRET_PREFIX;

use crate::support::{Receiver, World, expected_signature};

fn stored_row(world: &World, id: i64) -> (String, String, String, String) {
    world
        .db
        .read_blocking(move |conn| {
            webhook_endpoints::table
                .find(id)
                .select((
                    webhook_endpoints::url,
                    webhook_endpoints::description,
                    webhook_endpoints::events,
                    webhook_endpoints::secret_sealed,
                ))
                .first(conn)
                .map_err(StoreError::from)
        })
        .expect("row")
}

#[test]
fn the_secret_is_shown_once_and_stored_only_sealed() {
    let world = World::new();
    let receiver = Receiver::start();
    let (created, secret) =
        world.register(&world.northern.admin, &receiver.url("/in"), &["incident.*"]);
    let random_part = secret.strip_prefix(SECRET_PREFIX).expect("prefixed");
    assert_eq!(random_part.len(), 43, "256 bits, base64url");

    let (url, description, events, sealed) = stored_row(&world, created.id);
    assert!(sealed.starts_with("v1:"), "{sealed}");
    for stored in [&url, &description, &events, &sealed] {
        assert!(!stored.contains(random_part), "secret stored in plaintext");
    }

    // Nothing read back carries it: not the endpoint, not the list, not the audit log.
    let read = world.hooks.get(&world.northern.admin, created.id).unwrap();
    let listed = world
        .hooks
        .list(
            &world.northern.admin,
            dsms_core::PageRequest::parse(None, None).unwrap(),
        )
        .unwrap();
    assert!(!format!("{read:?}{listed:?}{created:?}").contains(random_part));
    assert!(!format!("{:?}", world.hooks).contains(random_part));
    let changes: Vec<String> = world
        .db
        .read_blocking(|conn| {
            audit_log::table
                .select(audit_log::changes)
                .load(conn)
                .map_err(StoreError::from)
        })
        .unwrap();
    assert!(changes.iter().all(|c| !c.contains(random_part)));
}

#[test]
fn rotation_replaces_the_secret_for_the_next_deliveries() {
    let world = World::new();
    let receiver = Receiver::start();
    let (created, old) =
        world.register(&world.northern.admin, &receiver.url("/in"), &["incident.*"]);
    let (rotated, new) = world
        .hooks
        .rotate_secret(&world.northern.admin, created.id, Some("req-1"))
        .expect("rotate");
    assert_ne!(old, new);
    assert!(new.starts_with(SECRET_PREFIX));
    assert_eq!(rotated.version, created.version + 1);
    let history = world
        .db
        .read_blocking(|conn| audit::for_entity(conn, "webhook_endpoint", &created.id.to_string()))
        .unwrap();
    let actions: Vec<_> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["webhook.created", "webhook.secret_rotated"]);
    assert_eq!(history[1].request_id.as_deref(), Some("req-1"));

    world.emit(world.northern.id, "incident.created");
    world.dispatch_and_deliver();
    let request = &receiver.received()[0];
    let timestamp = request.header("Dsms-Timestamp").unwrap();
    let sent = request.header("Dsms-Signature").unwrap();
    assert_eq!(sent, expected_signature(&new, timestamp, &request.body));
    assert_ne!(sent, expected_signature(&old, timestamp, &request.body));

    // Another organisation cannot rotate (or learn of) it.
    assert!(matches!(
        world
            .hooks
            .rotate_secret(&world.southern.admin, created.id, None),
        Err(dsms_webhooks::WebhookError::NotFound)
    ));
}

#[test]
fn a_sealed_secret_copied_to_another_endpoint_does_not_open() {
    let world = World::new();
    let receiver = Receiver::start();
    let (first, _) = world.register(
        &world.northern.admin,
        &receiver.url("/a"),
        &["incident.created"],
    );
    let (second, _) = world.register(
        &world.northern.admin,
        &receiver.url("/b"),
        &["incident.updated"],
    );
    let (_, _, _, sealed) = stored_row(&world, first.id);
    world
        .db
        .write_blocking(move |conn| {
            diesel::update(webhook_endpoints::table.find(second.id))
                .set(webhook_endpoints::secret_sealed.eq(sealed))
                .execute(conn)
                .map_err(StoreError::from)
        })
        .unwrap();

    world.emit(world.northern.id, "incident.updated");
    world.dispatch_and_deliver();

    assert!(
        receiver.received().is_empty(),
        "nothing sent unsigned or mis-signed"
    );
    let row = &world.outbox_rows("webhook")[0];
    assert_eq!(row.status, "pending", "kept for when the key is fixed");
    assert!(
        row.last_error
            .as_deref()
            .is_some_and(|e| e.contains("cannot be opened")),
        "{row:?}"
    );
    // Not the receiver's fault: the endpoint's failure streak is untouched.
    let endpoint = world.hooks.get(&world.northern.admin, second.id).unwrap();
    assert_eq!(endpoint.consecutive_failures, 0);
}
