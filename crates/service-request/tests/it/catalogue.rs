//! The catalogue (domain.md, Service requests: "Seed catalogue (default, editable)"): seeded
//! items an administrator can change, each change a new form version that never touches the
//! requests already raised.

use dsms_core::{Role, SecRole};
use dsms_service_request::{CatalogueChanges, Definition, NewCatalogueItem, Requesters, Status};
use serde_json::json;

use crate::support::{World, assert_forbidden, diagnostics, invalid_fields, request};

#[test]
fn the_seed_catalogue_offers_every_item_named_in_the_domain() {
    let w = World::new();
    let items = w.requests.catalogue(&w.supplier.token).expect("catalogue");
    let mut codes: Vec<&str> = items.iter().map(|i| i.code.as_str()).collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [
            "device_diagnostics",
            "hub_logistics",
            "information",
            "registration_data",
            "report_request",
            "self_service_access",
            "test_services"
        ]
    );
    for item in &items {
        assert_eq!(item.form.number, 1, "{}", item.code);
        assert_eq!(item.form.definition.sla_working_days, 5, "{}", item.code);
        assert!(!item.form.definition.tasks.is_empty(), "{}", item.code);
    }
    let access = w
        .requests
        .catalogue_item(&w.supplier.user, "self_service_access")
        .expect("by code");
    assert_eq!(access.form.definition.name, "Self-service access");
    assert_eq!(
        serde_json::to_value(&access.form.definition.approvals).unwrap(),
        json!([{"approver": "organisation_admin"}])
    );
}

#[test]
fn only_catalogue_administrators_change_the_catalogue() {
    let w = World::new();
    let item = w
        .requests
        .catalogue_item(&w.dcc_admin, "information")
        .expect("item");
    for who in [&w.supplier.admin, &w.supplier.token, &w.agent, &w.manager] {
        assert_forbidden(w.requests.change_item(
            who,
            "information",
            None,
            CatalogueChanges {
                active: Some(false),
                definition: None,
            },
        ));
        assert_forbidden(w.requests.add_item(
            who,
            NewCatalogueItem {
                code: "new_thing".into(),
                definition: item.form.definition.clone(),
            },
        ));
    }
}

#[test]
fn editing_a_form_makes_a_new_version_and_existing_requests_keep_theirs() {
    let w = World::new();
    let raised = w.raise(&w.supplier.token, diagnostics());
    assert_eq!(raised.form.number, 1);

    let before = w
        .requests
        .catalogue_item(&w.dcc_admin, "device_diagnostics")
        .expect("item");
    let mut definition: Definition = before.form.definition.clone();
    // The new form renames a field and makes a new one required.
    definition.fields.retain(|f| f.key != "symptoms");
    definition.fields.push(
        serde_json::from_value(json!({"key": "fault_description", "label": "Fault",
                                      "type": "text", "required": true}))
        .unwrap(),
    );
    let stale = w.requests.change_item(
        &w.dcc_admin,
        "device_diagnostics",
        Some(before.version + 1),
        CatalogueChanges {
            active: None,
            definition: Some(definition.clone()),
        },
    );
    assert!(
        matches!(
            stale,
            Err(dsms_service_request::RequestError::VersionMismatch(_))
        ),
        "{stale:?}"
    );
    let after = w
        .requests
        .change_item(
            &w.dcc_admin,
            "device_diagnostics",
            Some(before.version),
            CatalogueChanges {
                active: None,
                definition: Some(definition),
            },
        )
        .expect("edit");
    assert_eq!(after.form.number, 2);
    assert_eq!(after.version, before.version + 1);

    // The old request still reads against version 1, answers intact.
    let old = w.reload(&raised);
    assert_eq!(old.form.number, 1);
    assert_eq!(old.form.id, raised.form.id);
    assert!(old.form.definition.field("symptoms").is_some());
    assert_eq!(old.answers, raised.answers);
    // And can still be worked to the end.
    let mut current = old;
    for task in raised.tasks.clone() {
        current = w
            .requests
            .complete_task(&w.agent, &current.reference, task.id, None, None)
            .expect("task");
    }
    assert_eq!(current.status, Status::Fulfilled);

    // New requests must fill the new form.
    assert_eq!(
        invalid_fields(w.requests.raise(&w.supplier.token, diagnostics(), None)),
        ["fields.symptoms", "fields.fault_description"]
    );
    let new = w.raise(
        &w.supplier.token,
        request(
            "device_diagnostics",
            json!({"device_ids": ["00DB123456789ABC"], "diagnostic": "full",
                   "fault_description": "Hub reboots hourly."}),
        ),
    );
    assert_eq!(new.form.number, 2);
    let v1 = w
        .requests
        .form_version(&w.supplier.token, "device_diagnostics", 1)
        .expect("old version readable");
    assert!(v1.definition.field("symptoms").is_some());
}

#[test]
fn a_withdrawn_item_takes_no_new_requests_and_incoherent_definitions_are_refused() {
    let w = World::new();
    w.requests
        .change_item(
            &w.dcc_admin,
            "report_request",
            None,
            CatalogueChanges {
                active: Some(false),
                definition: None,
            },
        )
        .expect("withdraw");
    assert_eq!(
        invalid_fields(w.requests.raise(
            &w.supplier.user,
            request(
                "report_request",
                json!({"description": "x", "format": "csv"})
            ),
            None
        )),
        ["catalogue_item"]
    );
    assert!(
        w.requests
            .catalogue(&w.supplier.user)
            .unwrap()
            .iter()
            .all(|i| i.code != "report_request")
    );
    assert!(
        w.requests
            .catalogue(&w.dcc_admin)
            .unwrap()
            .iter()
            .any(|i| i.code == "report_request" && !i.active)
    );

    let mut definition = w
        .requests
        .catalogue_item(&w.dcc_admin, "information")
        .unwrap()
        .form
        .definition;
    definition.tasks.clear();
    definition.sla_working_days = 0;
    assert_eq!(
        invalid_fields(w.requests.add_item(
            &w.dcc_admin,
            NewCatalogueItem {
                code: "Not A Code".into(),
                definition,
            }
        )),
        ["code", "tasks", "sla_working_days"]
    );
}

#[test]
fn the_requestable_items_are_those_open_to_the_callers_sec_roles_and_roles() {
    let w = World::new();
    let mut definition = w
        .requests
        .catalogue_item(&w.dcc_admin, "information")
        .unwrap()
        .form
        .definition;
    definition.name = "Gas metering question".into();
    definition.requesters = Requesters {
        sec_roles: vec![SecRole::GasSupplier],
        roles: vec![Role::OrgAdmin],
    };
    w.requests
        .add_item(
            &w.dcc_admin,
            NewCatalogueItem {
                code: "gas_question".into(),
                definition,
            },
        )
        .expect("add");
    let codes = |who| {
        w.requests
            .requestable(who)
            .expect("requestable")
            .into_iter()
            .map(|i| i.code)
            .collect::<Vec<_>>()
    };
    // A gas supplier's administrator may ask; its ordinary user and an import supplier may not.
    assert!(codes(&w.other.admin).contains(&"gas_question".to_owned()));
    assert!(!codes(&w.other.user).contains(&"gas_question".to_owned()));
    assert!(!codes(&w.supplier.admin).contains(&"gas_question".to_owned()));
    assert_eq!(
        codes(&w.supplier.user).len(),
        7,
        "the seeded items are open to all"
    );
    // Only those who may raise requests have anything to request.
    assert_forbidden(w.requests.requestable(&w.supplier.reporter));
    assert_forbidden(w.requests.requestable(&w.agent));
}
