use chrono::Duration;
use dsms_store::audit;
use dsms_webhooks::{EndpointChanges, EndpointStatus};

use crate::support::{Receiver, World};

#[test]
fn an_endpoint_failing_for_a_day_and_ten_attempts_is_disabled_and_its_admins_emailed() {
    let world = World::new();
    let receiver = Receiver::start();
    receiver.answer_always(503);
    let admin = &world.northern.admin;
    let (endpoint, _) = world.register(admin, &receiver.url("/down"), &["incident.*"]);

    // Ten failures at once: enough attempts, but not for long enough.
    for _ in 0..10 {
        world.emit(world.northern.id, "incident.updated");
    }
    world.dispatch_and_deliver();
    let failing = world.hooks.get(admin, endpoint.id).unwrap();
    assert_eq!(failing.status, EndpointStatus::Active);
    assert_eq!(failing.consecutive_failures, 10);
    assert!(world.outbox_rows("email").is_empty());

    // A day later the retries fail too: now it has failed long enough.
    world.clock.advance(Duration::hours(24));
    world.dispatch_and_deliver();
    let disabled = world.hooks.get(admin, endpoint.id).unwrap();
    assert_eq!(disabled.status, EndpointStatus::Disabled);
    let reason = disabled.disabled_reason.clone().unwrap_or_default();
    assert!(reason.contains("since 2026-11-30T09:00:00Z"), "{reason}");
    assert_eq!(disabled.version, endpoint.version + 1);

    let history = world
        .db
        .read_blocking(|conn| audit::for_entity(conn, "webhook_endpoint", &endpoint.id.to_string()))
        .unwrap();
    let disabling: Vec<_> = history
        .iter()
        .filter(|e| e.action == "webhook.disabled")
        .collect();
    assert_eq!(disabling.len(), 1, "disabled once: {history:?}");
    assert_eq!(disabling[0].actor_kind, "system");
    assert_eq!(disabling[0].organisation_id, Some(world.northern.id));

    // Exactly one email, to the organisation's admin — not its other people, not other
    // organisations' admins.
    let emails = world.outbox_rows("email");
    assert_eq!(emails.len(), 1, "{emails:?}");
    let email: serde_json::Value = serde_json::from_str(&emails[0].payload).unwrap();
    assert_eq!(email["to"], serde_json::json!([world.northern.admin_email]));
    for bystander in [world.northern.user_email, world.southern.admin_email] {
        assert!(!emails[0].payload.contains(bystander));
    }
    let text = email["text_body"].as_str().unwrap();
    assert!(
        text.contains(&format!("PATCH /api/v1/webhooks/{}", endpoint.id)),
        "{text}"
    );
    assert!(text.contains(&receiver.url("/down")), "{text}");
    assert!(text.contains("HTTP 503"), "{text}");

    // While disabled: no fan-out, queued deliveries are dropped, nothing is sent.
    let sent = receiver.received().len();
    world.emit(world.northern.id, "incident.created");
    world.clock.advance(Duration::hours(1));
    world.dispatch_and_deliver();
    assert_eq!(receiver.received().len(), sent);
    assert!(
        world
            .outbox_rows("webhook")
            .iter()
            .all(|r| r.status != "pending"),
        "nothing left queued for a disabled endpoint"
    );

    // Re-enabled by its admin: the streak is forgotten and deliveries resume.
    receiver.answer_always(200);
    let enabled = world
        .hooks
        .update(
            admin,
            endpoint.id,
            Some(disabled.version),
            EndpointChanges {
                status: Some("active".into()),
                ..EndpointChanges::default()
            },
            None,
        )
        .expect("re-enable");
    assert_eq!(enabled.status, EndpointStatus::Active);
    assert_eq!(enabled.consecutive_failures, 0);
    assert_eq!(enabled.first_failure_at, None);
    assert_eq!(enabled.disabled_reason, None);
    world.emit(world.northern.id, "incident.resolved");
    world.dispatch_and_deliver();
    let last = receiver.received().pop().expect("a delivery");
    assert_eq!(last.header("Dsms-Event"), Some("incident.resolved"));
}

#[test]
fn failing_long_with_few_attempts_or_often_for_a_short_while_is_not_enough() {
    let world = World::new();
    let receiver = Receiver::start();
    receiver.answer_always(500);
    let admin = &world.northern.admin;
    let (slow, _) = world.register(admin, &receiver.url("/slow"), &["incident.created"]);
    let (busy, _) = world.register(admin, &receiver.url("/busy"), &["incident.updated"]);

    world.emit(world.northern.id, "incident.created");
    for _ in 0..10 {
        world.emit(world.northern.id, "incident.updated");
    }
    world.dispatch_and_deliver();
    world.dispatch_and_deliver();
    // Half an hour on, the busy endpoint's retries fail again: 20 failures within the day.
    world.clock.advance(Duration::minutes(30));
    world.dispatch_and_deliver();
    world.dispatch_and_deliver();
    let busy_now = world.hooks.get(admin, busy.id).unwrap();
    assert!(busy_now.consecutive_failures >= 20, "{busy_now:?}");
    assert_eq!(busy_now.status, EndpointStatus::Active);

    // Thirty hours on, the slow endpoint has failed for more than a day, but only a few
    // times: it stays. The busy one has now failed long enough as well as often enough.
    world.clock.advance(Duration::hours(30));
    world.dispatch_and_deliver();
    let slow_now = world.hooks.get(admin, slow.id).unwrap();
    assert!(
        (1..10).contains(&slow_now.consecutive_failures),
        "{slow_now:?}"
    );
    assert_eq!(slow_now.status, EndpointStatus::Active);
    let busy_now = world.hooks.get(admin, busy.id).unwrap();
    assert_eq!(busy_now.status, EndpointStatus::Disabled);
    let emails = world.outbox_rows("email");
    assert_eq!(emails.len(), 1);
    assert!(emails[0].payload.contains("/busy"), "{}", emails[0].payload);
}
