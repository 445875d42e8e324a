//! Raising requests: against a catalogue item's form, each bad answer named, by those the item
//! is offered to, once per idempotency key.

use dsms_core::{Role, SecRole};
use dsms_service_request::{CatalogueChanges, IdempotentCreate, Raised, RequestError, Status};
use serde_json::json;

use crate::support::{
    World, assert_forbidden, diagnostics, invalid_fields, request, seeded_answers,
};

#[test]
fn an_organisations_system_raises_every_seeded_request_type() {
    let w = World::new();
    let mut references = Vec::new();
    for (item, answers) in seeded_answers() {
        let raised = w.raise(&w.supplier.token, request(item, answers));
        assert_eq!(raised.item_code, item);
        assert_eq!(raised.organisation_id, w.supplier.id);
        assert_eq!(raised.raised_by.kind, "api_token");
        assert_eq!(raised.channel, "api");
        assert_eq!(raised.form.number, 1);
        let expected = if raised.form.definition.approvals.is_empty() {
            Status::Submitted
        } else {
            Status::AwaitingApproval
        };
        assert_eq!(raised.status, expected, "{item}");
        assert_eq!(raised.tasks.len(), raised.form.definition.tasks.len());
        assert!(raised.sla.due_at.is_some() || expected == Status::AwaitingApproval);
        references.push(raised.reference.clone());
    }
    // REQ and seven digits, derived from the id: unique, in order, never reused.
    for (i, reference) in references.iter().enumerate() {
        assert_eq!(reference.len(), 10, "{reference}");
        assert!(reference.starts_with("REQ"));
        if i > 0 {
            assert!(reference > &references[i - 1]);
        }
    }
}

#[test]
fn answers_are_normalised_and_kept_with_the_form_version() {
    let w = World::new();
    let raised = w.raise(
        &w.supplier.user,
        request(
            "device_diagnostics",
            json!({"device_ids": ["00-db-12-34-56-78-9a-bc", "00DB123456789ABC", "AA:BB:CC:DD:EE:FF:00:11"],
                   "diagnostic": "event_log", "symptoms": "  Stuck.  "}),
        ),
    );
    assert_eq!(
        raised.answers["device_ids"],
        json!(["00DB123456789ABC", "AABBCCDDEEFF0011"])
    );
    assert_eq!(raised.answers["symptoms"], "Stuck.");
    assert_eq!(raised.summary, "Device / hub diagnostics request");
    assert_eq!(raised.channel, "portal");
    assert_eq!(w.reload(&raised).answers, raised.answers);
}

#[test]
fn every_bad_field_is_named() {
    let w = World::new();
    let fields = invalid_fields(w.requests.raise(
        &w.supplier.token,
        request(
            "device_diagnostics",
            json!({"device_ids": ["00DB123456789ABC", "x", "00DB123456789ABC", "not-a-device"],
                   "diagnostic": "everything", "wanted_by": "2026-11-01", "colour": "red"}),
        ),
        None,
    ));
    assert_eq!(
        fields,
        [
            "fields.colour",
            "fields.device_ids[1]",
            "fields.device_ids[3]",
            "fields.diagnostic",
            "fields.symptoms",
            "fields.wanted_by"
        ]
    );
    assert_eq!(
        invalid_fields(w.requests.raise(
            &w.supplier.token,
            request(
                "test_services",
                json!({"service": "test_devices", "working_days": 0.5, "quantity": 51})
            ),
            None
        )),
        [
            "fields.working_days",
            "fields.working_days",
            "fields.quantity"
        ]
    );
    assert_eq!(
        invalid_fields(w.requests.raise(
            &w.supplier.token,
            request("no_such_item", json!({})),
            None
        )),
        ["catalogue_item"]
    );
    assert_eq!(
        invalid_fields(w.requests.raise(
            &w.supplier.token,
            request("information", json!(["not", "an", "object"])),
            None
        )),
        ["fields"]
    );
}

#[test]
fn items_are_offered_only_to_the_sec_roles_and_people_they_name() {
    let w = World::new();
    let mut definition = w
        .requests
        .catalogue_item(&w.dcc_admin, "device_diagnostics")
        .unwrap()
        .form
        .definition;
    definition.requesters.sec_roles =
        vec![SecRole::ElectricityDistributor, SecRole::GasTransporter];
    w.requests
        .change_item(
            &w.dcc_admin,
            "device_diagnostics",
            None,
            CatalogueChanges {
                active: None,
                definition: Some(definition.clone()),
            },
        )
        .expect("restrict");
    assert_forbidden(w.requests.raise(&w.supplier.token, diagnostics(), None));
    w.raise(&w.distributor.token, diagnostics());

    definition.requesters.roles = vec![Role::OrgAdmin];
    w.requests
        .change_item(
            &w.dcc_admin,
            "device_diagnostics",
            None,
            CatalogueChanges {
                active: None,
                definition: Some(definition),
            },
        )
        .expect("restrict to administrators");
    assert_forbidden(w.requests.raise(&w.distributor.token, diagnostics(), None));
    assert_forbidden(w.requests.raise(&w.distributor.user, diagnostics(), None));
    w.raise(&w.distributor.admin, diagnostics());
}

#[test]
fn readers_and_operator_staff_do_not_raise_requests() {
    let w = World::new();
    for who in [&w.supplier.reporter, &w.agent, &w.manager, &w.dcc_admin] {
        assert_forbidden(w.requests.raise(who, diagnostics(), None));
    }
}

#[test]
fn a_retry_with_the_same_idempotency_key_raises_once() {
    let w = World::new();
    let key = |digest: &str| IdempotentCreate {
        scope: "api_token:9001 POST /api/v1/requests".into(),
        key: "order-7".into(),
        request_digest: digest.into(),
        render: Box::new(|r| (r.reference.clone(), format!("/api/v1/requests/{}", r.id))),
    };
    let first = match w
        .requests
        .raise(&w.supplier.token, diagnostics(), Some(key("abc")))
    {
        Ok(Raised::Created(r)) => r,
        other => panic!("{other:?}"),
    };
    match w
        .requests
        .raise(&w.supplier.token, diagnostics(), Some(key("abc")))
    {
        Ok(Raised::Replayed(kept)) => assert_eq!(kept.body, first.reference),
        other => panic!("expected a replay, got {other:?}"),
    }
    assert!(matches!(
        w.requests
            .raise(&w.supplier.token, diagnostics(), Some(key("other"))),
        Err(RequestError::IdempotencyMismatch)
    ));
}
