use chrono::Duration;
use dsms_core::PageRequest;
use dsms_store::audit;
use dsms_webhooks::{
    EndpointChanges, EndpointStatus, MAX_ENDPOINTS_PER_ORGANISATION, NewEndpoint, WebhookError,
    WebhookSettings, Webhooks,
};

use crate::support::{Receiver, World, test_settings};

fn first_page() -> PageRequest {
    PageRequest::parse(None, None).unwrap()
}

fn new(url: &str, events: &[&str]) -> NewEndpoint {
    NewEndpoint {
        url: url.to_owned(),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        description: None,
        organisation_id: None,
    }
}

fn invalid_fields(result: Result<impl std::fmt::Debug, WebhookError>) -> Vec<String> {
    match result {
        Err(WebhookError::Invalid(errors)) => errors.0.into_iter().map(|e| e.field).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn production_rules_require_https_to_public_hosts() {
    let world = World::with_settings(WebhookSettings::default());
    let admin = &world.northern.admin;
    for url in [
        "http://hooks.northern.example/in",
        "http://127.0.0.1:8080/in",
        "https://localhost/in",
        "https://10.1.2.3/in",
        "https://169.254.169.254/latest",
        "https://user:pass@hooks.northern.example/in",
        "not a url",
    ] {
        assert_eq!(
            invalid_fields(world.hooks.register(admin, new(url, &["incident.*"]), None)),
            ["url"],
            "{url}"
        );
    }
    let (endpoint, _) = world
        .hooks
        .register(
            admin,
            new(
                "https://hooks.northern.example/in?k=v",
                &["incident.created"],
            ),
            None,
        )
        .expect("https to a public name");
    assert_eq!(endpoint.url, "https://hooks.northern.example/in?k=v");
    assert_eq!(
        invalid_fields(world.hooks.register(
            admin,
            new(
                "https://hooks.northern.example/in",
                &["incident.created", "ticket.eaten"]
            ),
            None
        )),
        ["events[1]"]
    );
    assert_eq!(
        invalid_fields(
            world
                .hooks
                .register(admin, new("https://a.example/", &[]), None)
        ),
        ["events"]
    );
}

#[test]
fn deliveries_never_connect_to_internal_addresses_even_through_a_host_name() {
    let world = World::new();
    let receiver = Receiver::start();
    // Registered while loopback was allowed, by name ...
    let url = format!("http://localhost:{}/in", receiver.port());
    let (endpoint, _) = world.register(&world.northern.admin, &url, &["incident.*"]);
    // ... then delivered by an instance where it is not.
    let strict = Webhooks::new(
        world.db.clone(),
        world.shared_clock(),
        &world.master_key,
        WebhookSettings {
            allow_insecure_localhost: false,
            ..test_settings()
        },
    );
    world.emit(world.northern.id, "incident.created");
    strict
        .dispatcher(
            crate::support::pacing(),
            crate::support::notification_settings(),
        )
        .run_once()
        .unwrap();
    strict
        .delivery_worker(crate::support::pacing())
        .run_once()
        .unwrap();
    assert!(receiver.received().is_empty());
    let attempt = &world
        .hooks
        .deliveries(&world.northern.admin, endpoint.id, first_page())
        .unwrap()
        .items[0];
    assert!(!attempt.delivered);
    let error = attempt.error.clone().unwrap_or_default();
    assert!(
        error.contains("loopback") || error.contains("https"),
        "{error}"
    );
}

#[test]
fn only_organisation_and_operator_admins_manage_webhooks() {
    let world = World::new();
    for principal in [&world.northern.user, &world.desk] {
        let result =
            world
                .hooks
                .register(principal, new("https://a.example/", &["incident.*"]), None);
        assert!(
            matches!(result, Err(WebhookError::Forbidden(_))),
            "{result:?}"
        );
        assert!(matches!(
            world.hooks.list(principal, first_page()),
            Err(WebhookError::Forbidden(_))
        ));
    }
    let token =
        dsms_core::Principal::api_token(77, world.northern.id, &[dsms_core::Scope::IncidentsWrite]);
    assert!(matches!(
        world.hooks.list(&token, first_page()),
        Err(WebhookError::Forbidden(_))
    ));
}

#[test]
fn other_organisations_never_see_an_endpoint() {
    let world = World::new();
    let (endpoint, _) = world.register(
        &world.northern.admin,
        "http://127.0.0.1:9/in",
        &["incident.*"],
    );
    let outsider = &world.southern.admin;
    assert!(matches!(
        world.hooks.get(outsider, endpoint.id),
        Err(WebhookError::NotFound)
    ));
    assert!(matches!(
        world.hooks.update(
            outsider,
            endpoint.id,
            None,
            EndpointChanges {
                description: Some("mine now".into()),
                ..EndpointChanges::default()
            },
            None
        ),
        Err(WebhookError::NotFound)
    ));
    assert!(matches!(
        world.hooks.delete(outsider, endpoint.id, None),
        Err(WebhookError::NotFound)
    ));
    assert!(matches!(
        world.hooks.deliveries(outsider, endpoint.id, first_page()),
        Err(WebhookError::NotFound)
    ));
    assert!(
        world
            .hooks
            .list(outsider, first_page())
            .unwrap()
            .items
            .is_empty()
    );
    // Naming another organisation is refused to organisation admins.
    let mut foreign = new("http://127.0.0.1:9/x", &["incident.*"]);
    foreign.organisation_id = Some(world.northern.id);
    assert!(matches!(
        world.hooks.register(outsider, foreign, None),
        Err(WebhookError::Forbidden(_))
    ));
    // The owner still sees it, unchanged.
    let mine = world.hooks.get(&world.northern.admin, endpoint.id).unwrap();
    assert_eq!(mine, endpoint);
}

#[test]
fn operator_admins_see_every_organisation_and_may_register_for_one() {
    let world = World::new();
    world.register(
        &world.northern.admin,
        "http://127.0.0.1:9/n",
        &["incident.*"],
    );
    world.register(
        &world.southern.admin,
        "http://127.0.0.1:9/s",
        &["incident.*"],
    );
    let mut for_southern = new("http://127.0.0.1:9/s2", &["incident.created"]);
    for_southern.organisation_id = Some(world.southern.id);
    let (created, _) = world
        .hooks
        .register(&world.dcc_admin, for_southern, None)
        .expect("register for an organisation");
    assert_eq!(created.organisation_id, world.southern.id);
    assert_eq!(
        world
            .hooks
            .list(&world.dcc_admin, first_page())
            .unwrap()
            .items
            .len(),
        3
    );
    assert_eq!(
        world
            .hooks
            .list(&world.southern.admin, first_page())
            .unwrap()
            .items
            .len(),
        2
    );
    let mut nowhere = new("http://127.0.0.1:9/x", &["incident.created"]);
    nowhere.organisation_id = Some(999_999);
    assert_eq!(
        invalid_fields(world.hooks.register(&world.dcc_admin, nowhere, None)),
        ["organisation_id"]
    );
}

#[test]
fn updates_honour_the_version_and_are_audited() {
    let world = World::new();
    let admin = &world.northern.admin;
    let (endpoint, _) = world.register(admin, "http://127.0.0.1:9/in", &["incident.created"]);
    world.clock.advance(Duration::minutes(5));
    let changes = EndpointChanges {
        url: Some("http://127.0.0.1:9/v2".into()),
        events: Some(vec!["incident.resolved".into(), "incident.closed".into()]),
        description: Some("ticketing bridge".into()),
        status: None,
    };
    assert!(matches!(
        world.hooks.update(
            admin,
            endpoint.id,
            Some(endpoint.version + 1),
            changes.clone(),
            None
        ),
        Err(WebhookError::VersionMismatch(_))
    ));
    let updated = world
        .hooks
        .update(
            admin,
            endpoint.id,
            Some(endpoint.version),
            changes.clone(),
            Some("r-2"),
        )
        .expect("update");
    assert_eq!(updated.version, endpoint.version + 1);
    assert_eq!(updated.url, "http://127.0.0.1:9/v2");
    assert_eq!(updated.events, ["incident.resolved", "incident.closed"]);
    assert_eq!(updated.description, "ticketing bridge");
    assert!(updated.updated_at > endpoint.updated_at);
    // The same change again is no change: no new version, no audit row.
    let again = world
        .hooks
        .update(admin, endpoint.id, Some(updated.version), changes, None)
        .unwrap();
    assert_eq!(again.version, updated.version);
    assert_eq!(
        invalid_fields(world.hooks.update(
            admin,
            endpoint.id,
            None,
            EndpointChanges {
                status: Some("paused".into()),
                url: Some("ftp://x.example/".into()),
                ..EndpointChanges::default()
            },
            None
        )),
        ["url", "status"]
    );

    let disabled = world
        .hooks
        .update(
            admin,
            endpoint.id,
            None,
            EndpointChanges {
                status: Some("disabled".into()),
                ..EndpointChanges::default()
            },
            None,
        )
        .unwrap();
    assert_eq!(disabled.status, EndpointStatus::Disabled);
    assert_eq!(
        disabled.disabled_reason.as_deref(),
        Some("disabled by a person")
    );

    world
        .hooks
        .delete(admin, endpoint.id, None)
        .expect("delete");
    assert!(matches!(
        world.hooks.get(admin, endpoint.id),
        Err(WebhookError::NotFound)
    ));
    assert!(matches!(
        world.hooks.delete(admin, endpoint.id, None),
        Err(WebhookError::NotFound)
    ));
    assert!(
        world
            .hooks
            .list(admin, first_page())
            .unwrap()
            .items
            .is_empty()
    );

    let history = world
        .db
        .read_blocking(|conn| audit::for_entity(conn, "webhook_endpoint", &endpoint.id.to_string()))
        .unwrap();
    let actions: Vec<_> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "webhook.created",
            "webhook.updated",
            "webhook.updated",
            "webhook.deleted"
        ]
    );
    assert_eq!(history[1].request_id.as_deref(), Some("r-2"));
    let changed: serde_json::Value = serde_json::from_str(&history[1].changes).unwrap();
    assert_eq!(changed["url"]["from"], "http://127.0.0.1:9/in");
    assert_eq!(changed["url"]["to"], "http://127.0.0.1:9/v2");
    assert_eq!(
        changed["events"]["to"],
        serde_json::json!(["incident.resolved", "incident.closed"])
    );
    assert!(
        history
            .iter()
            .all(|e| e.organisation_id == Some(world.northern.id))
    );
}

#[test]
fn an_organisation_has_a_bounded_number_of_endpoints() {
    let world = World::new();
    let admin = &world.northern.admin;
    let mut last = None;
    for n in 0..MAX_ENDPOINTS_PER_ORGANISATION {
        last = Some(
            world
                .register(admin, &format!("http://127.0.0.1:9/{n}"), &["incident.*"])
                .0,
        );
    }
    let refused =
        world
            .hooks
            .register(admin, new("http://127.0.0.1:9/more", &["incident.*"]), None);
    assert!(
        matches!(refused, Err(WebhookError::TooMany(_))),
        "{refused:?}"
    );
    // Deleting one makes room; other organisations are not affected.
    world.hooks.delete(admin, last.unwrap().id, None).unwrap();
    world.register(admin, "http://127.0.0.1:9/more", &["incident.*"]);
    world.register(
        &world.southern.admin,
        "http://127.0.0.1:9/s",
        &["incident.*"],
    );
}

#[test]
fn lists_page_with_a_cursor() {
    let world = World::new();
    let receiver = Receiver::start();
    receiver.answer_always(500);
    let admin = &world.northern.admin;
    let (endpoint, _) = world.register(admin, &receiver.url("/in"), &["incident.*"]);
    world.register(admin, &receiver.url("/other"), &["incident.closed"]);
    for _ in 0..3 {
        world.emit(world.northern.id, "incident.updated");
    }
    world.dispatch_and_deliver();

    let two = PageRequest::parse(Some(2), None).unwrap();
    let page = world.hooks.deliveries(admin, endpoint.id, two).unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(page.items[0].id > page.items[1].id, "newest first");
    let next = PageRequest::parse(Some(2), page.next_cursor.as_deref()).unwrap();
    let rest = world.hooks.deliveries(admin, endpoint.id, next).unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(rest.items[0].id < page.items[1].id);
    assert_eq!(rest.next_cursor, None);

    let one = PageRequest::parse(Some(1), None).unwrap();
    let endpoints = world.hooks.list(admin, one).unwrap();
    assert_eq!(endpoints.items[0].id, endpoint.id, "oldest first");
    let next = PageRequest::parse(Some(1), endpoints.next_cursor.as_deref()).unwrap();
    assert_ne!(
        world.hooks.list(admin, next).unwrap().items[0].id,
        endpoint.id
    );
}
