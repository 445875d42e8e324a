use dsms_core::PageRequest;
use dsms_incident::{IncidentPolicy, Incidents, NewIncident, Raised};
use dsms_webhooks::signature;

use crate::support::{Receiver, World, event, expected_signature};

#[test]
fn a_delivery_is_signed_over_its_timestamp_and_exact_body() {
    let world = World::new();
    let receiver = Receiver::start();
    let (endpoint, secret) = world.register(
        &world.northern.admin,
        &receiver.url("/hooks/dsms"),
        &["incident.created"],
    );
    assert!(secret.starts_with("whsec_"), "{secret}");
    let event_id = world.emit(world.northern.id, "incident.created");

    world.dispatch_and_deliver();

    let received = receiver.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let request = &received[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks/dsms");
    assert_eq!(request.header("Content-Type"), Some("application/json"));
    assert_eq!(request.header("Dsms-Event"), Some("incident.created"));
    let queued = world.outbox_rows("webhook");
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].status, "delivered");
    let delivery_id = queued[0].id.to_string();
    assert_eq!(request.header("Dsms-Delivery"), Some(delivery_id.as_str()));

    // The documented scheme, recomputed here with an independent HMAC.
    let timestamp = request.header("Dsms-Timestamp").expect("timestamp");
    assert_eq!(timestamp, world.now().timestamp().to_string());
    let sent = request.header("Dsms-Signature").expect("signature");
    assert_eq!(sent, expected_signature(&secret, timestamp, &request.body));
    assert_ne!(
        sent,
        expected_signature("whsec_someone-else", timestamp, &request.body)
    );
    assert!(signature::verify(
        &secret,
        timestamp,
        sent,
        &request.body,
        world.now().timestamp() + 60,
        signature::RECOMMENDED_TOLERANCE_SECS,
    ));
    assert!(!signature::verify(
        &secret,
        timestamp,
        sent,
        &request.body,
        world.now().timestamp() + 301,
        signature::RECOMMENDED_TOLERANCE_SECS,
    ));

    // The body is the event itself, unchanged (non-ASCII text included).
    assert_eq!(
        request.json(),
        event(world.northern.id, "incident.created", world.now())
    );

    let deliveries = world
        .hooks
        .deliveries(
            &world.northern.admin,
            endpoint.id,
            PageRequest::parse(None, None).unwrap(),
        )
        .expect("deliveries");
    assert_eq!(deliveries.items.len(), 1);
    let delivery = &deliveries.items[0];
    assert!(delivery.delivered);
    assert_eq!(delivery.status_code, Some(200));
    assert_eq!(delivery.error, None);
    assert_eq!(delivery.attempt, 1);
    assert_eq!(delivery.delivery_id, queued[0].id);
    assert_eq!(delivery.event_id, event_id);
    assert_eq!(delivery.event_type, "incident.created");
    let events = world.outbox_rows("event");
    assert_eq!(
        events[0].status, "delivered",
        "the event is fanned out once"
    );
}

#[test]
fn incidents_raised_and_commented_on_reach_subscribed_receivers() {
    let world = World::new();
    let receiver = Receiver::start();
    let (_, secret) = world.register(
        &world.northern.admin,
        &receiver.url("/in"),
        &["incident.created", "incident.comment_added"],
    );
    let incidents = Incidents::new(
        world.db.clone(),
        world.shared_clock(),
        IncidentPolicy::default(),
    );
    let raised = match incidents.raise(
        &world.northern.user,
        NewIncident {
            title: "Communications hub offline".into(),
            description: "No response from the hub since 08:00".into(),
            category: "communications_hub".into(),
            impact: 2,
            urgency: 2,
            ..NewIncident::default()
        },
        None,
    ) {
        Ok(Raised::Created(incident)) => *incident,
        other => panic!("expected a new incident, got {other:?}"),
    };
    incidents
        .comment(
            &world.northern.user,
            &raised.reference,
            "Still offline",
            false,
            None,
        )
        .expect("comment");

    world.dispatch_and_deliver();

    let received = receiver.received();
    let types: Vec<_> = received
        .iter()
        .map(|r| r.header("Dsms-Event").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(types, ["incident.created", "incident.comment_added"]);
    for request in &received {
        let timestamp = request.header("Dsms-Timestamp").expect("timestamp");
        assert_eq!(
            request.header("Dsms-Signature"),
            Some(expected_signature(&secret, timestamp, &request.body).as_str())
        );
        let body = request.json();
        assert_eq!(body["incident"]["reference"], raised.reference.as_str());
        assert_eq!(body["organisation_id"], world.northern.id.to_string());
    }
    assert_eq!(received[1].json()["comment"]["body"], "Still offline");
}
