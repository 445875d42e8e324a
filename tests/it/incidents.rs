//! Incidents over real HTTP: an organisation's system raises and follows its incidents with an
//! API token, the service desk works them, and no other organisation sees any of it.

use dsms_tests::{Bearer, Session, TestApp, expect, expect_invalid, expect_problem, ids};
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

fn hub_offline() -> Value {
    json!({
        "title": "Comms hub offline after firmware update",
        "description": "Hub 00-11-22-33 stopped responding at 09:00; power checked.",
        "category": "communications_hub",
        "impact": 2,
        "urgency": 2,
        "devices": ["00-11-22-33"],
    })
}

async fn raise(client: &Bearer, body: &Value) -> Value {
    expect(client.post("/api/v1/incidents", body).await, 201).await
}

#[tokio::test]
async fn a_system_raises_and_follows_its_incident_with_an_api_token() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let (_, system) = app
        .issue_api_token(&supplier.admin, &["incidents:write"])
        .await;

    let res = system
        .request(reqwest::Method::POST, "/api/v1/incidents")
        .header("Idempotency-Key", "order-42")
        .json(&hub_offline())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let incident: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/incidents/{}", incident["id"].as_str().unwrap())
    );
    assert_eq!(etag, "\"1\"");
    assert!(incident["reference"].as_str().unwrap().starts_with("INC"));
    assert_eq!(incident["status"], "new");
    assert_eq!(incident["priority"], 3, "impact 2 × urgency 2");
    assert_eq!(incident["organisation"]["id"], supplier.id);
    assert_eq!(incident["raised_by"]["kind"], "api_token");
    assert_eq!(incident["channel"], "api");
    assert_eq!(incident["devices"], json!(["00-11-22-33"]));
    assert!(incident["sla"]["resolution_due_at"].is_string());
    assert_eq!(incident["sla"]["breached"], false);

    // A retry with the same key returns the first response; another body with it is 422.
    let retry = system
        .request(reqwest::Method::POST, "/api/v1/incidents")
        .header("Idempotency-Key", "order-42")
        .json(&hub_offline())
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let replayed: Value = retry.json().await.unwrap();
    assert_eq!(replayed["id"], incident["id"]);
    let mut other = hub_offline();
    other["title"] = json!("Something else");
    let clash = system
        .request(reqwest::Method::POST, "/api/v1/incidents")
        .header("Idempotency-Key", "order-42")
        .json(&other)
        .send()
        .await
        .unwrap();
    expect_invalid(clash, "Idempotency-Key").await;

    // By reference too, and it is in the organisation's list.
    let reference = incident["reference"].as_str().unwrap();
    let fetched = expect(
        system.get(&format!("/api/v1/incidents/{reference}")).await,
        200,
    )
    .await;
    assert_eq!(fetched["id"], incident["id"]);
    let list = expect(system.get("/api/v1/incidents?status=open").await, 200).await;
    assert_eq!(ids(&list), [incident["id"].as_str().unwrap()]);
    let comment = expect(
        system
            .post(
                &format!("/api/v1/incidents/{reference}/comments"),
                &json!({"body": "The hub's LED is red."}),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(comment["internal"], false);
}

/// Raise, list and get check the credential in the same blocking task as their own work;
/// a caller who is not signed in still hears that first, before anything about the request.
#[tokio::test]
async fn incident_routes_refuse_a_missing_or_unknown_credential_before_judging_the_request() {
    let app = app().await;
    let unknown = app.bearer("dsms_not_a_token_anyone_was_given");
    let invalid_body = json!({"title": 5, "impact": "severe"});
    for res in [
        app.get("/api/v1/incidents?assignee=nobody&sort=sideways")
            .await,
        app.get("/api/v1/incidents/1").await,
        app.post("/api/v1/incidents", &invalid_body).await,
        unknown
            .get("/api/v1/incidents?priority=urgent&limit=0")
            .await,
        unknown.get("/api/v1/incidents/INC0000001").await,
        unknown
            .request(reqwest::Method::POST, "/api/v1/incidents")
            .header("idempotency-key", "")
            .json(&invalid_body)
            .send()
            .await
            .expect("request sent"),
    ] {
        expect_problem(res, 401, "unauthenticated").await;
    }
}

#[tokio::test]
async fn the_desk_triages_pauses_and_resolves_and_the_raiser_reopens() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let desk = desk(&app, &dcc).await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let incident = raise(&supplier.user, &hub_offline()).await;
    let path = format!("/api/v1/incidents/{}", incident["id"].as_str().unwrap());

    let assigned = expect(
        desk.agent
            .patch(&path, &json!({"assignment_group": "comms-hub-2nd-line"}))
            .await,
        200,
    )
    .await;
    assert_eq!(assigned["status"], "assigned");
    assert!(assigned["responded_at"].is_string());

    let refused = expect_problem(
        desk.agent.patch(&path, &json!({"status": "closed"})).await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(
        refused["allowed"],
        json!(["in_progress", "awaiting_user", "resolved", "cancelled"])
    );

    let stale = desk
        .agent
        .request(reqwest::Method::PATCH, &path)
        .header("If-Match", "\"1\"")
        .json(&json!({"status": "in_progress"}))
        .send()
        .await
        .unwrap();
    expect_problem(stale, 412, "version-mismatch").await;

    let waiting = expect(
        desk.agent
            .patch(&path, &json!({"status": "awaiting_user"}))
            .await,
        200,
    )
    .await;
    assert_eq!(waiting["sla"]["resolution"]["state"], "paused");
    let answered = expect(
        supplier
            .user
            .patch(&path, &json!({"status": "in_progress"}))
            .await,
        200,
    )
    .await;
    assert_eq!(answered["status"], "in_progress");

    expect_invalid(
        desk.agent
            .patch(&path, &json!({"status": "resolved"}))
            .await,
        "resolution_code",
    )
    .await;
    let resolved = expect(
        desk.agent
            .patch(
                &path,
                &json!({"status": "resolved", "resolution_code": "firmware_rollback"}),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(resolved["sla"]["resolution"]["state"], "met");

    let reopened = expect(
        supplier
            .user
            .patch(&path, &json!({"status": "in_progress"}))
            .await,
        200,
    )
    .await;
    assert_eq!(reopened["status"], "in_progress");
    expect_problem(
        supplier
            .user
            .patch(&path, &json!({"priority": 1, "priority_reason": "urgent"}))
            .await,
        403,
        "forbidden",
    )
    .await;
    expect_problem(
        desk.agent.patch(&path, &json!({"major": true})).await,
        403,
        "forbidden",
    )
    .await;
    let major = expect(
        desk.manager.patch(&path, &json!({"major": true})).await,
        200,
    )
    .await;
    assert_eq!(major["major"], true);

    let history = expect(supplier.user.get(&format!("{path}/history")).await, 200).await;
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"incident.created") && actions.contains(&"incident.updated"));
}

#[tokio::test]
async fn organisations_never_see_work_notes() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let desk = desk(&app, &dcc).await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let incident = raise(&supplier.user, &hub_offline()).await;
    let path = format!("/api/v1/incidents/{}", incident["id"].as_str().unwrap());

    expect(
        desk.agent
            .post(
                &format!("{path}/comments"),
                &json!({"body": "vendor defect VX-9", "internal": true}),
            )
            .await,
        201,
    )
    .await;
    expect(
        desk.agent
            .post(
                &format!("{path}/comments"),
                &json!({"body": "Please power-cycle the hub"}),
            )
            .await,
        201,
    )
    .await;
    expect_problem(
        supplier
            .user
            .post(
                &format!("{path}/comments"),
                &json!({"body": "sneaky", "internal": true}),
            )
            .await,
        403,
        "forbidden",
    )
    .await;

    let seen = expect(supplier.user.get(&format!("{path}/comments")).await, 200).await;
    let bodies: Vec<&str> = seen["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["Please power-cycle the hub"]);
    let staff = expect(desk.agent.get(&format!("{path}/comments")).await, 200).await;
    assert_eq!(staff["items"].as_array().unwrap().len(), 2);

    let history = expect(supplier.user.get(&format!("{path}/history")).await, 200).await;
    assert!(!history.to_string().contains("work_note"));
    let audit = expect(
        supplier
            .admin
            .get("/api/v1/audit?entity_type=incident&limit=500")
            .await,
        200,
    )
    .await;
    assert!(
        !audit.to_string().contains("work_note"),
        "organisations never see that a work note was written: {audit}"
    );
    let staff_audit = expect(
        dcc.get("/api/v1/audit?entity_type=incident&limit=500")
            .await,
        200,
    )
    .await;
    assert!(staff_audit.to_string().contains("incident.work_note_added"));
    let search = expect(supplier.user.get("/api/v1/incidents?q=VX").await, 200).await;
    assert!(
        ids(&search).is_empty(),
        "work notes are not searchable by organisations"
    );
    let search = expect(
        supplier.user.get("/api/v1/incidents?q=power-cycle").await,
        200,
    )
    .await;
    assert_eq!(ids(&search).len(), 1);
}

#[tokio::test]
async fn every_role_of_another_organisation_gets_404_on_every_incident_endpoint() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let a = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let b = Tenant::create(&app, &dcc, "Southern Gas", "southern.example").await;
    let (_, b_token) = app.issue_api_token(&b.admin, &["incidents:write"]).await;
    let incident = raise(&a.user, &hub_offline()).await;
    let id = incident["id"].as_str().unwrap();
    let reference = incident["reference"].as_str().unwrap();

    let outsiders: [(&str, &Bearer); 4] = [
        ("org_admin", &b.admin),
        ("org_user", &b.user),
        ("org_reporter", &b.reporter),
        ("api_token", &b_token),
    ];
    for (role, client) in outsiders {
        for key in [id, reference] {
            let base = format!("/api/v1/incidents/{key}");
            for res in [
                client.get(&base).await,
                client.patch(&base, &json!({"title": "mine now"})).await,
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
            "/api/v1/incidents",
            "/api/v1/incidents?status=open",
            "/api/v1/incidents?q=firmware",
            "/api/v1/incidents?device=00-11-22-33",
        ] {
            let list = expect(client.get(path).await, 200).await;
            assert!(
                !ids(&list).contains(&id.to_owned()),
                "{role} listed A's incident via {path}"
            );
        }
    }
    // Nothing changed.
    let after = expect(a.user.get(&format!("/api/v1/incidents/{id}")).await, 200).await;
    assert_eq!(after["title"], incident["title"]);
    assert_eq!(after["version"], incident["version"]);
}

#[tokio::test]
async fn readers_cannot_write_and_invalid_input_names_each_field() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    expect_problem(
        supplier
            .reporter
            .post("/api/v1/incidents", &hub_offline())
            .await,
        403,
        "forbidden",
    )
    .await;
    let (_, read_only) = app
        .issue_api_token(&supplier.admin, &["incidents:read"])
        .await;
    expect_problem(
        read_only.post("/api/v1/incidents", &hub_offline()).await,
        403,
        "forbidden",
    )
    .await;

    let problem = expect_problem(
        supplier
            .user
            .post(
                "/api/v1/incidents",
                &json!({"title": "", "description": "d", "category": "nope", "impact": 9, "urgency": 0, "devices": ["ok-1", "bad id!"]}),
            )
            .await,
        422,
        "validation",
    )
    .await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in ["title", "category", "impact", "urgency", "devices[1]"] {
        assert!(fields.contains(&field), "{field} named in {fields:?}");
    }
    expect_invalid(
        supplier
            .user
            .post(
                "/api/v1/incidents",
                &json!({"title": "t", "description": "d", "category": "other", "impact": 1}),
            )
            .await,
        "urgency",
    )
    .await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_incident_route() {
    let app = app().await;
    let doc = expect(app.get("/api/v1/openapi.json").await, 200).await;
    for (path, method) in [
        ("/api/v1/incidents", "post"),
        ("/api/v1/incidents", "get"),
        ("/api/v1/incidents/{key}", "get"),
        ("/api/v1/incidents/{key}", "patch"),
        ("/api/v1/incidents/{key}/comments", "post"),
        ("/api/v1/incidents/{key}/comments", "get"),
        ("/api/v1/incidents/{key}/history", "get"),
        ("/api/v1/incidents/lifecycle", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} documented"
        );
    }
    let lifecycle = expect(app.get("/api/v1/incidents/lifecycle").await, 200).await;
    assert!(
        lifecycle
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["from"] == "resolved" && t["to"] == "in_progress")
    );
}
