//! Idempotent creates (api.md, Writes: "a repeat with the same key and body returns the
//! original response; the same key with a different body is 422").

use chrono::Duration;
use dsms_core::Principal;
use dsms_incident::{IdempotentCreate, IncidentError, IncidentFilter, Raised};

use crate::support::{World, incident};

/// A key scoped to the caller, as the HTTP layer builds it, rendering the body the way the API
/// would (enough of it to tell two incidents apart).
fn keyed(caller: &Principal, key: &str, digest: &str) -> IdempotentCreate {
    IdempotentCreate {
        scope: format!(
            "{}:{}:POST /api/v1/incidents",
            caller.actor.kind(),
            caller.actor.identifier()
        ),
        key: key.into(),
        request_digest: digest.into(),
        render: Box::new(|i| {
            (
                format!(
                    r#"{{"id":"{}","reference":"{}","created_at":"{}"}}"#,
                    i.id, i.reference, i.created_at
                ),
                format!("/api/v1/incidents/{}", i.id),
            )
        }),
    }
}

#[test]
fn a_retry_with_the_same_key_and_body_replays_the_first_response() {
    let w = World::new();
    let caller = &w.supplier.token;
    let first = match w.incidents.raise(
        caller,
        incident("Hub offline"),
        Some(keyed(caller, "key-1", "sha256:aaa")),
    ) {
        Ok(Raised::Created(incident)) => incident,
        other => panic!("expected a new incident, got {other:?}"),
    };
    w.advance(Duration::minutes(5));

    let replayed = w
        .incidents
        .raise(
            caller,
            incident("Hub offline"),
            Some(keyed(caller, "key-1", "sha256:aaa")),
        )
        .expect("replayed");
    let Raised::Replayed(kept) = replayed else {
        panic!("expected the kept response, got {replayed:?}");
    };
    assert_eq!(kept.status, 201);
    assert_eq!(
        kept.body,
        format!(
            r#"{{"id":"{}","reference":"{}","created_at":"{}"}}"#,
            first.id, first.reference, first.created_at
        ),
        "the first response, not a new one five minutes later"
    );
    assert_eq!(
        kept.location.as_deref(),
        Some(format!("/api/v1/incidents/{}", first.id).as_str())
    );
    assert_eq!(kept.request_digest, "sha256:aaa");
    assert_eq!(
        w.references(&w.desk, &IncidentFilter::default()),
        vec![first.reference.clone()],
        "a retry never raises twice"
    );
}

#[test]
fn the_same_key_with_a_different_body_is_refused() {
    let w = World::new();
    let caller = &w.supplier.user;
    let first = w
        .incidents
        .raise(
            caller,
            incident("Hub offline"),
            Some(keyed(caller, "key-1", "sha256:aaa")),
        )
        .expect("created");
    assert!(matches!(first, Raised::Created(_)));

    let other_body = w.incidents.raise(
        caller,
        incident("Meter not responding"),
        Some(keyed(caller, "key-1", "sha256:bbb")),
    );
    assert!(
        matches!(other_body, Err(IncidentError::IdempotencyMismatch)),
        "got {other_body:?}"
    );
    assert_eq!(w.list(&w.desk, &IncidentFilter::default()).len(), 1);

    // The key still answers with the first response for the first body.
    assert!(matches!(
        w.incidents.raise(
            caller,
            incident("Hub offline"),
            Some(keyed(caller, "key-1", "sha256:aaa")),
        ),
        Ok(Raised::Replayed(_))
    ));
}

#[test]
fn different_callers_may_reuse_a_key() {
    let w = World::new();
    let mut raised = Vec::new();
    for caller in [&w.supplier.user, &w.supplier.colleague, &w.other.token] {
        match w.incidents.raise(
            caller,
            incident("Same key, different caller"),
            Some(keyed(caller, "shared-key", "sha256:aaa")),
        ) {
            Ok(Raised::Created(incident)) => raised.push(incident.id),
            other => panic!("expected a new incident, got {other:?}"),
        }
    }
    raised.dedup();
    assert_eq!(raised.len(), 3, "each caller raised its own incident");
    assert_eq!(w.list(&w.desk, &IncidentFilter::default()).len(), 3);
}

#[test]
fn a_refused_create_keeps_no_response_for_its_key() {
    let w = World::new();
    let caller = &w.supplier.user;
    let invalid = w.incidents.raise(
        caller,
        incident(""),
        Some(keyed(caller, "key-1", "sha256:empty-title")),
    );
    assert!(
        matches!(invalid, Err(IncidentError::Invalid(_))),
        "{invalid:?}"
    );
    // The corrected request with the same key is raised, not refused as a mismatch.
    assert!(matches!(
        w.incidents.raise(
            caller,
            incident("Now with a title"),
            Some(keyed(caller, "key-1", "sha256:fixed")),
        ),
        Ok(Raised::Created(_))
    ));
}
