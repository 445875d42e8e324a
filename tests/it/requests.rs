//! Service requests over real HTTP: an organisation's system raises each catalogue item with an
//! API token, approvals happen in order and only by the right people, the service desk fulfils,
//! and no other organisation sees any of it.

use dsms_tests::{
    Bearer, Session, TestApp, expect, expect_invalid, expect_problem, ids, problem_fields,
};
use serde_json::{Value, json};

use crate::identity::{Tenant, app};

struct Desk {
    agent: Session,
    manager: Session,
}

async fn desk(app: &TestApp, dcc: &Session) -> Desk {
    let operator = dcc.organisation_id.clone();
    Desk {
        agent: app
            .invite_and_activate(dcc, &operator, "agent@dcc.example", &["service_desk_agent"])
            .await,
        manager: app
            .invite_and_activate(
                dcc,
                &operator,
                "manager@dcc.example",
                &["service_desk_manager"],
            )
            .await,
    }
}

/// Valid answers for each seeded catalogue item.
fn seeded() -> Vec<(&'static str, Value)> {
    vec![
        (
            "self_service_access",
            json!({"action": "add", "person_name": "Ada Lovelace",
                   "person_email": "ada@northern.example", "roles": ["org_user"]}),
        ),
        (
            "registration_data",
            json!({"request_type": "query", "mpxns": ["1234567890123"], "details": "Which supplier?"}),
        ),
        (
            "device_diagnostics",
            json!({"device_ids": ["00-DB-12-34-56-78-9A-BC"], "diagnostic": "connectivity",
                   "symptoms": "No readings since Friday."}),
        ),
        (
            "test_services",
            json!({"service": "test_devices", "quantity": 3}),
        ),
        (
            "hub_logistics",
            json!({"topic": "returns", "hub_ids": ["00DB123456789ABC"], "question": "How?"}),
        ),
        (
            "information",
            json!({"question": "Where is the SEC guidance?"}),
        ),
        (
            "report_request",
            json!({"description": "Installs by region", "format": "csv"}),
        ),
    ]
}

async fn raise(client: &Bearer, item: &str, fields: &Value) -> Value {
    expect(
        client
            .post(
                "/api/v1/requests",
                &json!({"catalogue_item": item, "fields": fields}),
            )
            .await,
        201,
    )
    .await
}

#[tokio::test]
async fn a_system_raises_every_seeded_request_type_with_an_api_token() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let (_, system) = app
        .issue_api_token(&supplier.admin, &["requests:write"])
        .await;

    let catalogue = expect(system.get("/api/v1/catalogue").await, 200).await;
    assert_eq!(catalogue["items"].as_array().unwrap().len(), seeded().len());

    let mut raised = Vec::new();
    for (item, fields) in seeded() {
        let request = raise(&system, item, &fields).await;
        assert_eq!(request["catalogue_item"]["code"], item);
        assert_eq!(request["catalogue_item"]["form_version"], 1);
        assert!(request["reference"].as_str().unwrap().starts_with("REQ"));
        assert_eq!(request["raised_by"]["kind"], "api_token");
        assert_eq!(request["organisation"]["id"], supplier.id);
        assert!(matches!(
            request["status"].as_str().unwrap(),
            "submitted" | "awaiting_approval"
        ));
        raised.push(request["id"].as_str().unwrap().to_owned());
    }
    let list = expect(system.get("/api/v1/requests").await, 200).await;
    assert_eq!(ids(&list), raised);
    let filtered = expect(
        system
            .get("/api/v1/requests?catalogue_item=information&status=open")
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&filtered), [raised[5].clone()]);

    // By reference, with an ETag; an Idempotency-Key makes a retry safe.
    let reference = raised[0].clone();
    let res = system.get(&format!("/api/v1/requests/{reference}")).await;
    assert_eq!(res.headers()["etag"], "\"1\"");
    let key_request = || {
        system
            .request(reqwest::Method::POST, "/api/v1/requests")
            .header("Idempotency-Key", "ticket-9")
            .json(&json!({"catalogue_item": "information", "fields": {"question": "Hello?"}}))
    };
    let first = expect(key_request().send().await.unwrap(), 201).await;
    let retry = key_request().send().await.unwrap();
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let replay: Value = retry.json().await.unwrap();
    assert_eq!(replay["id"], first["id"]);
}

#[tokio::test]
async fn invalid_forms_name_each_bad_field() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let problem = expect_problem(
        supplier
            .user
            .post(
                "/api/v1/requests",
                &json!({"catalogue_item": "device_diagnostics", "fields": {
                    "device_ids": ["00DB123456789ABC", "x", "y", "00-DB-12"],
                    "diagnostic": "everything", "colour": "red"}}),
            )
            .await,
        422,
        "validation",
    )
    .await;
    assert_eq!(
        problem_fields(&problem),
        [
            "fields.colour",
            "fields.device_ids[1]",
            "fields.device_ids[2]",
            "fields.device_ids[3]",
            "fields.diagnostic",
            "fields.symptoms"
        ]
    );
    expect_invalid(
        supplier
            .user
            .post(
                "/api/v1/requests",
                &json!({"catalogue_item": "nothing_like_it", "fields": {}}),
            )
            .await,
        "catalogue_item",
    )
    .await;
    expect_invalid(
        supplier
            .user
            .post(
                "/api/v1/requests",
                &json!({"catalogue_item": "information", "extra": 1}),
            )
            .await,
        "extra",
    )
    .await;
    expect_problem(
        supplier
            .reporter
            .post(
                "/api/v1/requests",
                &json!({"catalogue_item": "information", "fields": {"question": "?"}}),
            )
            .await,
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn approvals_happen_in_order_and_only_by_the_right_people() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let desk = desk(&app, &dcc).await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let other = Tenant::create(&app, &dcc, "Southern Gas", "southern.example").await;
    let request = raise(
        &supplier.user,
        "test_services",
        &json!({"service": "environment_slot", "working_days": 3}),
    )
    .await;
    assert_eq!(request["status"], "awaiting_approval");
    let path = format!(
        "/api/v1/requests/{}",
        request["reference"].as_str().unwrap()
    );
    let approvals = format!("{path}/approvals");
    let approve = json!({"decision": "approve"});

    expect_problem(
        desk.manager.post(&approvals, &approve).await,
        403,
        "forbidden",
    )
    .await;
    expect_problem(
        supplier.user.post(&approvals, &approve).await,
        403,
        "forbidden",
    )
    .await;
    expect_problem(
        other.admin.post(&approvals, &approve).await,
        404,
        "not-found",
    )
    .await;
    let step1 = expect(supplier.admin.post(&approvals, &approve).await, 200).await;
    assert_eq!(step1["status"], "awaiting_approval");
    assert_eq!(step1["approvals"][0]["status"], "approved");
    assert_eq!(step1["approvals"][1]["status"], "pending");

    expect_problem(
        supplier.admin.post(&approvals, &approve).await,
        403,
        "forbidden",
    )
    .await;
    expect_problem(
        desk.agent.post(&approvals, &approve).await,
        403,
        "forbidden",
    )
    .await;
    let approved = expect(desk.manager.post(&approvals, &approve).await, 200).await;
    assert_eq!(approved["status"], "approved");
    expect_problem(
        desk.manager.post(&approvals, &approve).await,
        409,
        "conflict",
    )
    .await;
    let steps = expect(supplier.user.get(&approvals).await, 200).await;
    assert_eq!(steps["items"][1]["approver"], "operator");

    // The desk fulfils the only task; the raiser confirms.
    let task = approved["tasks"][0]["id"].as_str().unwrap();
    expect_problem(
        supplier
            .admin
            .post(&format!("{path}/tasks/{task}"), &json!({"status": "done"}))
            .await,
        403,
        "forbidden",
    )
    .await;
    let fulfilled = expect(
        desk.agent
            .post(
                &format!("{path}/tasks/{task}"),
                &json!({"status": "done", "notes": "Slot booked."}),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(fulfilled["status"], "fulfilled");
    assert_eq!(fulfilled["tasks"][0]["notes"], "Slot booked.");
    let stale = supplier
        .user
        .request(reqwest::Method::PATCH, &path)
        .header("If-Match", "\"1\"")
        .json(&json!({"status": "closed"}))
        .send()
        .await
        .unwrap();
    expect_problem(stale, 412, "version-mismatch").await;
    let version = fulfilled["version"].to_string();
    let closed = supplier
        .user
        .request(reqwest::Method::PATCH, &path)
        .header("If-Match", format!("\"{version}\""))
        .json(&json!({"status": "closed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(closed, 200).await["status"], "closed");
    let history = expect(supplier.user.get(&format!("{path}/history")).await, 200).await;
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "service_request.updated",
            "service_request.task_completed",
            "service_request.approval_decided",
            "service_request.approval_decided",
            "service_request.created"
        ]
    );
}

#[tokio::test]
async fn rejection_and_cancellation_end_a_request() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let access = raise(
        &supplier.user,
        "self_service_access",
        &json!({"action": "remove", "person_name": "Old Hand", "person_email": "old@northern.example"}),
    )
    .await;
    let approvals = format!(
        "/api/v1/requests/{}/approvals",
        access["id"].as_str().unwrap()
    );
    expect_invalid(
        supplier
            .admin
            .post(&approvals, &json!({"decision": "reject"}))
            .await,
        "comment",
    )
    .await;
    let rejected = expect(
        supplier
            .admin
            .post(
                &approvals,
                &json!({"decision": "reject", "comment": "They still work here."}),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["tasks"][0]["status"], "cancelled");

    let question = raise(&supplier.user, "information", &json!({"question": "?"})).await;
    let path = format!("/api/v1/requests/{}", question["id"].as_str().unwrap());
    let cancelled = expect(
        supplier
            .user
            .patch(&path, &json!({"status": "cancelled"}))
            .await,
        200,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    let refused = expect_problem(
        supplier
            .user
            .patch(&path, &json!({"status": "closed"}))
            .await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(refused["allowed"], json!([]));
}

#[tokio::test]
async fn another_organisation_sees_nothing_of_a_request() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let a = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let b = Tenant::create(&app, &dcc, "Southern Gas", "southern.example").await;
    let (_, b_token) = app.issue_api_token(&b.admin, &["requests:write"]).await;
    let request = raise(
        &a.user,
        "test_services",
        &json!({"service": "test_certificates", "quantity": 2}),
    )
    .await;
    let id = request["id"].as_str().unwrap();
    let reference = request["reference"].as_str().unwrap();
    let task = request["tasks"][0]["id"].as_str().unwrap();

    let outsiders: [(&str, &Bearer); 4] = [
        ("org_admin", &b.admin),
        ("org_user", &b.user),
        ("org_reporter", &b.reporter),
        ("api_token", &b_token),
    ];
    for (role, client) in outsiders {
        for key in [id, reference] {
            let base = format!("/api/v1/requests/{key}");
            for res in [
                client.get(&base).await,
                client.patch(&base, &json!({"status": "cancelled"})).await,
                client
                    .post(
                        &format!("{base}/approvals"),
                        &json!({"decision": "approve"}),
                    )
                    .await,
                client.get(&format!("{base}/approvals")).await,
                client
                    .post(&format!("{base}/tasks/{task}"), &json!({"status": "done"}))
                    .await,
                client
                    .post(&format!("{base}/comments"), &json!({"body": "hello"}))
                    .await,
                client.get(&format!("{base}/comments")).await,
                client.get(&format!("{base}/history")).await,
            ] {
                let status = res.status().as_u16();
                assert!(matches!(status, 403 | 404), "{role} on {key}: {status}");
                if role != "org_reporter" {
                    assert_eq!(status, 404, "{role} on {key}: never reveal it exists");
                }
            }
        }
        for path in [
            "/api/v1/requests",
            "/api/v1/requests?status=open",
            "/api/v1/requests?catalogue_item=test_services",
        ] {
            let list = expect(client.get(path).await, 200).await;
            assert!(
                !ids(&list).contains(&id.to_owned()),
                "{role} listed A's request via {path}"
            );
        }
        // The catalogue is readable, but only operator administrators change it.
        let res = client
            .patch("/api/v1/catalogue/test_services", &json!({"active": false}))
            .await;
        assert_eq!(res.status().as_u16(), 403, "{role} changed the catalogue");
    }
    let after = expect(a.user.get(&format!("/api/v1/requests/{id}")).await, 200).await;
    assert_eq!(after["version"], request["version"]);
    assert_eq!(after["status"], "awaiting_approval");
}

#[tokio::test]
async fn a_new_form_version_leaves_existing_requests_as_they_were() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let old = raise(
        &supplier.user,
        "information",
        &json!({"question": "Old form?"}),
    )
    .await;

    let item = expect(dcc.get("/api/v1/catalogue/information").await, 200).await;
    let mut form = item["form"].clone();
    for key in ["id", "number", "created_by", "created_at"] {
        form.as_object_mut().unwrap().remove(key);
    }
    form["fields"] = json!([
        {"key": "topic", "label": "Topic", "type": "choice", "required": true,
         "options": ["sec", "duis", "other"]},
        {"key": "question", "label": "Your question", "type": "text", "required": true}
    ]);
    let stale = dcc
        .request(reqwest::Method::PATCH, "/api/v1/catalogue/information")
        .header("If-Match", "\"99\"")
        .json(&json!({"definition": form}))
        .send()
        .await
        .unwrap();
    expect_problem(stale, 412, "version-mismatch").await;
    let mut incoherent = form.clone();
    incoherent["tasks"] = json!([]);
    expect_invalid(
        dcc.patch(
            "/api/v1/catalogue/information",
            &json!({"definition": incoherent}),
        )
        .await,
        "definition.tasks",
    )
    .await;
    let changed = expect(
        dcc.patch(
            "/api/v1/catalogue/information",
            &json!({"definition": form}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["form"]["number"], 2);

    let before = expect(
        supplier
            .user
            .get(&format!("/api/v1/requests/{}", old["id"].as_str().unwrap()))
            .await,
        200,
    )
    .await;
    assert_eq!(before["catalogue_item"]["form_version"], 1);
    assert_eq!(before["fields"], old["fields"]);
    let v1 = expect(
        supplier
            .user
            .get("/api/v1/catalogue/information/versions/1")
            .await,
        200,
    )
    .await;
    assert_eq!(v1["fields"].as_array().unwrap().len(), 1);

    expect_invalid(
        supplier
            .user
            .post(
                "/api/v1/requests",
                &json!({"catalogue_item": "information", "fields": {"question": "New form?"}}),
            )
            .await,
        "fields.topic",
    )
    .await;
    let new = raise(
        &supplier.user,
        "information",
        &json!({"topic": "duis", "question": "New form?"}),
    )
    .await;
    assert_eq!(new["catalogue_item"]["form_version"], 2);
}

#[tokio::test]
async fn webhooks_may_subscribe_to_request_events() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let endpoint = expect(
        supplier
            .admin
            .post(
                "/api/v1/webhooks",
                &json!({"url": "https://hooks.northern.example/dsms",
                        "events": ["request.approved", "request.*", "incident.created"]}),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(
        endpoint["events"],
        json!(["request.approved", "request.*", "incident.created"])
    );
    expect_invalid(
        supplier
            .admin
            .post(
                "/api/v1/webhooks",
                &json!({"url": "https://hooks.northern.example/dsms",
                        "events": ["request.deleted"]}),
            )
            .await,
        "events[0]",
    )
    .await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_request_route() {
    let app = app().await;
    let doc = expect(app.get("/api/v1/openapi.json").await, 200).await;
    for (path, method) in [
        ("/api/v1/catalogue", "get"),
        ("/api/v1/catalogue", "post"),
        ("/api/v1/catalogue/{key}", "get"),
        ("/api/v1/catalogue/{key}", "patch"),
        ("/api/v1/catalogue/{key}/versions/{number}", "get"),
        ("/api/v1/requests", "post"),
        ("/api/v1/requests", "get"),
        ("/api/v1/requests/lifecycle", "get"),
        ("/api/v1/requests/{key}", "get"),
        ("/api/v1/requests/{key}", "patch"),
        ("/api/v1/requests/{key}/approvals", "post"),
        ("/api/v1/requests/{key}/approvals", "get"),
        ("/api/v1/requests/{key}/tasks/{task}", "post"),
        ("/api/v1/requests/{key}/comments", "post"),
        ("/api/v1/requests/{key}/comments", "get"),
        ("/api/v1/requests/{key}/history", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} documented"
        );
    }
}
