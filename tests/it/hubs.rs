//! Communications hubs over real HTTP: a supplier forecasts, orders, takes delivery and returns
//! a faulty hub for analysis; refused orders name every rule they break; bulk serials arrive as
//! CSV; and no other organisation sees any of it. The clock starts on Tuesday 1 December 2026,
//! the first working day of the month (the default rules: 24-month horizon, 4-month lead time,
//! packs of 10, 50%-120% of the forecast, 3-month cut-off, 5 working days to confirm).

use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use dsms_tests::{
    Bearer, Session, TestApp, expect, expect_invalid, expect_problem, ids, problem_fields,
};
use serde_json::{Value, json};

use crate::identity::Tenant;

const VARIANT: &str = "CH-C-4G-SB";

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T10:00:05Z")
        .expect("instant")
        .with_timezone(&Utc)
}

async fn app() -> TestApp {
    TestApp::builder().manual_clock(start()).spawn().await
}

/// A forecast of `quantity` hubs of [`VARIANT`] for each month of the horizon after December.
fn forecast(quantity: i64) -> Value {
    let lines: Vec<Value> = (0..24)
        .map(|n| {
            json!({
                "month": format!("{}-{:02}", 2027 + n / 12, n % 12 + 1),
                "variant": VARIANT,
                "region": "central",
                "quantity": quantity,
            })
        })
        .collect();
    json!({"lines": lines})
}

fn location() -> Value {
    json!({
        "name": "Warrington depot",
        "address": "1 Depot Way, Warrington",
        "postcode": "WA1 1AA",
        "contact_name": "Goods In",
        "contact_phone": "01925 000000",
        "delivery_days": ["mon", "tue", "wed", "thu", "fri"],
    })
}

/// Registers a location as `supplier` and has the operator approve it; returns its id.
async fn approved_location(supplier: &Bearer, dcc: &Bearer) -> String {
    let created = expect(
        supplier
            .post("/api/v1/delivery-locations", &location())
            .await,
        201,
    )
    .await;
    assert_eq!(created["status"], "pending");
    let id = created["id"].as_str().unwrap().to_owned();
    let approved = expect(
        dcc.request(
            reqwest::Method::PATCH,
            &format!("/api/v1/delivery-locations/{id}"),
        )
        .header("If-Match", "\"1\"")
        .json(&json!({"status": "approved", "decision_note": "site visited"}))
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(approved["status"], "approved");
    id
}

async fn csv(client: &Bearer, path: &str, body: String) -> reqwest::Response {
    client
        .request(reqwest::Method::POST, path)
        .header("Content-Type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// An accepted order of `quantity` hubs for April 2027.
async fn accepted_order(dcc: &Session, supplier: &Tenant, quantity: i64) -> Value {
    expect(
        supplier
            .user
            .post("/api/v1/hub-forecasts", &forecast(quantity))
            .await,
        201,
    )
    .await;
    let location = approved_location(&supplier.admin, dcc).await;
    let order = expect(
        supplier
            .user
            .post(
                "/api/v1/hub-orders",
                &json!({"delivery_month": "2027-04", "location_id": location, "variant": VARIANT, "quantity": quantity}),
            )
            .await,
        201,
    )
    .await;
    let path = format!(
        "/api/v1/hub-orders/{}",
        order["reference"].as_str().unwrap()
    );
    expect(dcc.patch(&path, &json!({"status": "accepted"})).await, 200).await
}

#[tokio::test]
async fn a_supplier_goes_from_forecast_to_order_to_delivery_to_a_faulty_return_and_its_analysis() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let (_, system) = app.issue_api_token(&supplier.admin, &["hubs:write"]).await;

    let variants = expect(system.get("/api/v1/hub-variants").await, 200).await;
    let codes: Vec<&str> = variants["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["product_code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&VARIANT) && codes.contains(&"CH-S-4G-DB") && codes.contains(&"CH-N-LRR-SB")
    );

    let submitted = expect(
        system.post("/api/v1/hub-forecasts", &forecast(20)).await,
        201,
    )
    .await;
    assert_eq!(
        (submitted["sequence"].as_i64(), submitted["late"].as_bool()),
        (Some(1), Some(false))
    );
    let in_force = expect(
        system
            .get("/api/v1/hub-forecasts/in-force?month=2027-04")
            .await,
        200,
    )
    .await;
    assert_eq!(in_force["forecast_id"], submitted["id"]);
    assert_eq!(in_force["cutoff"], "2027-01-01");

    let location = approved_location(&supplier.admin, &dcc).await;
    let new_order = json!({"delivery_month": "2027-04", "location_id": location, "variant": VARIANT, "quantity": 20});
    let placed = system
        .request(reqwest::Method::POST, "/api/v1/hub-orders")
        .header("Idempotency-Key", "po-4711")
        .json(&new_order)
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), 201);
    assert_eq!(placed.headers()["etag"], "\"1\"");
    let order: Value = placed.json().await.unwrap();
    assert_eq!(order["status"], "submitted");
    let reference = order["reference"].as_str().unwrap().to_owned();
    assert!(reference.starts_with("ORD"));
    let retry = system
        .request(reqwest::Method::POST, "/api/v1/hub-orders")
        .header("Idempotency-Key", "po-4711")
        .json(&new_order)
        .send()
        .await
        .unwrap();
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<Value>().await.unwrap()["id"], order["id"]);

    let path = format!("/api/v1/hub-orders/{reference}");
    let stale = dcc
        .request(reqwest::Method::PATCH, &path)
        .header("If-Match", "\"7\"")
        .json(&json!({"status": "accepted"}))
        .send()
        .await
        .unwrap();
    expect_problem(stale, 412, "version-mismatch").await;
    let refused = expect_problem(
        system.patch(&path, &json!({"status": "accepted"})).await,
        409,
        "conflict",
    )
    .await;
    assert!(
        refused["allowed"]
            .as_array()
            .unwrap()
            .contains(&json!("cancelled"))
    );
    let accepted = expect(
        dcc.request(reqwest::Method::PATCH, &path)
            .header("If-Match", "\"1\"")
            .json(&json!({"status": "accepted"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(accepted["status"], "accepted");

    let serials: Vec<String> = (0..20).map(|i| format!("CH4G{i:08}")).collect();
    let consignment = expect(
        csv(
            &dcc,
            &format!("{path}/consignments?delivery_date=2027-04-06"),
            format!("serial\n{}\n", serials.join("\n")),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(consignment["quantity"], 20);
    assert_eq!(consignment["confirmation_due_on"], "2027-04-13");
    let consignment_path = format!(
        "{path}/consignments/{}",
        consignment["id"].as_str().unwrap()
    );
    let notice = expect(supplier.reporter.get(&consignment_path).await, 200).await;
    assert_eq!(notice["serials"].as_array().unwrap().len(), 20);

    // The hubs arrive on Tuesday 6 April; the receiver confirms the next day, one damaged.
    app.advance(Duration::days(127));
    let user = app.sign_in_again(&supplier.user).await;
    let dcc = app.sign_in_again(&dcc).await;
    let delivered = expect(
        user.post(
            &format!("{consignment_path}/confirmation"),
            &json!({"damaged": [serials[3]], "notes": "cracked case"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(delivered["status"], "delivered");
    assert_eq!(delivered["consignments"][0]["status"], "discrepancy");
    assert_eq!(
        delivered["consignments"][0]["discrepancies"][0]["kind"],
        "damage"
    );

    let incident = expect(
        user.post(
            "/api/v1/incidents",
            &json!({"title": "Hub loses WAN", "description": "Hub CH4G00000005 drops off after install.",
                    "category": "communications_hub", "impact": 3, "urgency": 3, "devices": [serials[5]]}),
        )
        .await,
        201,
    )
    .await;
    let requested = expect(
        user.post(
            "/api/v1/hub-returns",
            &json!({
                "lines": [
                    {"serial": serials[5], "reason": "sm_wan", "found": "after_installation"},
                    {"serial": serials[3], "reason": "damaged_case", "found": "before_installation"},
                ],
                "incident_id": incident["id"],
            }),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(requested["status"], "requested");
    assert_eq!(requested["incident_id"], incident["id"]);
    let ret = format!(
        "/api/v1/hub-returns/{}",
        requested["reference"].as_str().unwrap()
    );
    expect_problem(
        user.post(&format!("{ret}/authorisation"), &json!({})).await,
        403,
        "forbidden",
    )
    .await;
    let authorised = expect(
        dcc.post(
            &format!("{ret}/authorisation"),
            &json!({"notes": "courier Thursday"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(authorised["status"], "authorised");
    for status in ["collected", "received"] {
        let moved = expect(dcc.patch(&ret, &json!({"status": status})).await, 200).await;
        assert_eq!(moved["status"], status);
    }
    let analysed = expect(
        dcc.post(
            &format!("{ret}/analysis"),
            &json!({"fault_confirmed": true, "redeployable": false,
                    "exceptions": [{"serial": serials[3], "fault_confirmed": false, "redeployable": true}]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(analysed["status"], "analysed");
    assert_eq!(
        analysed["credit_pence"], 3087,
        "the confirmed WAN fault, single-band"
    );
    assert_eq!(analysed["charge_pence"], 827, "the redeployable case");
    let closed = expect(dcc.patch(&ret, &json!({"status": "closed"})).await, 200).await;
    assert_eq!(closed["status"], "closed");

    let lines = expect(user.get(&format!("{ret}/lines")).await, 200).await;
    let settled: Vec<(&str, &str)> = lines["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["serial"].as_str().unwrap(),
                l["settlement"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        settled,
        [
            (serials[3].as_str(), "charge"),
            (serials[5].as_str(), "credit")
        ]
    );
    let history = expect(user.get(&format!("{ret}/history")).await, 200).await;
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "hub_return.requested",
            "hub_return.authorised",
            "hub_return.collected",
            "hub_return.received",
            "hub_return.analysed",
            "hub_return.closed"
        ]
    );
    let history = expect(user.get(&format!("{path}/history")).await, 200).await;
    assert_eq!(history["items"].as_array().unwrap().len(), 4);
    // Returned once is returned for good.
    expect_invalid(
        user.post(
            "/api/v1/hub-returns",
            &json!({"lines": [{"serial": serials[5], "reason": "general"}]}),
        )
        .await,
        "lines[0].serial",
    )
    .await;
}

#[tokio::test]
async fn a_refused_order_names_each_rule_it_breaks_and_a_passing_one_is_accepted() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let pending = expect(
        supplier
            .admin
            .post("/api/v1/delivery-locations", &location())
            .await,
        201,
    )
    .await;
    let no_forecast = expect_problem(
        supplier
            .user
            .post(
                "/api/v1/hub-orders",
                &json!({"delivery_month": "2027-03", "location_id": pending["id"], "variant": VARIANT, "quantity": 5}),
            )
            .await,
        422,
        "validation",
    )
    .await;
    let messages: Vec<String> = no_forecast["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["field"].as_str().unwrap(),
                e["message"].as_str().unwrap()
            )
        })
        .collect();
    for expected in [
        "delivery_month: lead time",
        "quantity: minimum order",
        "quantity: pack size",
        "quantity: forecast tolerance: there is no forecast in force",
        "location_id: approved delivery location",
    ] {
        assert!(
            messages.iter().any(|m| m.starts_with(expected)),
            "{expected} in {messages:?}"
        );
    }

    expect(
        supplier
            .user
            .post("/api/v1/hub-forecasts", &forecast(200))
            .await,
        201,
    )
    .await;
    let location = approved_location(&supplier.admin, &dcc).await;
    let over = expect_invalid(
        supplier
            .user
            .post(
                "/api/v1/hub-orders",
                &json!({"delivery_month": "2029-01", "location_id": location, "variant": VARIANT, "quantity": 250}),
            )
            .await,
        "delivery_month",
    )
    .await;
    assert_eq!(
        problem_fields(&over),
        ["delivery_month", "quantity"],
        "{over}"
    );
    let ok = expect(
        supplier
            .user
            .post(
                "/api/v1/hub-orders",
                &json!({"delivery_month": "2027-05", "location_id": location, "variant": VARIANT, "quantity": 240}),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(ok["rules_effective_from"], "2020-01-01");
    assert_eq!(ok["cutoff"], "2027-02-01");
    // Unsupported bodies are refused before any rule is applied.
    let xml = supplier
        .user
        .request(reqwest::Method::POST, "/api/v1/hub-returns")
        .header("Content-Type", "application/xml")
        .body("<return/>")
        .send()
        .await
        .unwrap();
    expect_problem(xml, 415, "unsupported-media-type").await;
}

#[tokio::test]
async fn a_ten_thousand_serial_csv_is_validated_and_accepted_within_a_second_or_two() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let order = accepted_order(&dcc, &supplier, 10_000).await;
    let path = format!(
        "/api/v1/hub-orders/{}/consignments?delivery_date=2027-04-06",
        order["id"].as_str().unwrap()
    );

    let mut rows: Vec<String> = (0..10_000).map(|i| format!("CH4G{i:08}")).collect();
    let good = format!("serial\n{}\n", rows.join("\n"));
    rows[17] = "not a serial!".into();
    rows[9_999] = rows[5].clone();
    let refused = expect_problem(
        csv(&dcc, &path, format!("serial\n{}\n", rows.join("\n"))).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(
        problem_fields(&refused),
        ["rows[17].serial", "rows[9999].serial"],
        "{refused}"
    );

    let started = Instant::now();
    let consignment = expect(csv(&dcc, &path, good).await, 201).await;
    let dispatch = started.elapsed();
    assert_eq!(consignment["quantity"], 10_000);

    app.advance(Duration::days(126));
    let user = app.sign_in_again(&supplier.user).await;
    let confirm = format!(
        "/api/v1/hub-orders/{}/consignments/{}/confirmation",
        order["id"].as_str().unwrap(),
        consignment["id"].as_str().unwrap()
    );
    expect(user.post(&confirm, &json!({})).await, 200).await;
    let returns: Vec<String> = (0..10_000)
        .map(|i| format!("CH4G{i:08},general,"))
        .collect();
    let started = Instant::now();
    let returned = expect(
        csv(
            &user,
            "/api/v1/hub-returns",
            format!("serial,reason,found\n{}\n", returns.join("\n")),
        )
        .await,
        201,
    )
    .await;
    let request = started.elapsed();
    assert_eq!(returned["quantity"], 10_000);
    eprintln!("HTTP 10,000-serial CSV: consignment {dispatch:?}, return {request:?}");
    let bound = StdDuration::from_secs(5);
    assert!(
        dispatch < bound && request < bound,
        "consignment {dispatch:?}, return {request:?}"
    );
}

#[tokio::test]
async fn every_role_of_another_organisation_gets_403_or_404_on_every_hub_endpoint() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let a = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let b = Tenant::create(&app, &dcc, "Southern Gas", "southern.example").await;
    let order = accepted_order(&dcc, &a, 20).await;
    let order_id = order["id"].as_str().unwrap().to_owned();
    let order_ref = order["reference"].as_str().unwrap().to_owned();
    let location = order["location"]["id"].as_str().unwrap().to_owned();
    let consignment = expect(
        dcc.post(
            &format!("/api/v1/hub-orders/{order_id}/consignments"),
            &json!({"delivery_date": "2027-04-06", "serials": ["CHA000000001", "CHA000000002"]}),
        )
        .await,
        201,
    )
    .await;
    let consignment_id = consignment["id"].as_str().unwrap().to_owned();
    let forecasts = expect(a.user.get("/api/v1/hub-forecasts").await, 200).await;
    let forecast_id = ids(&forecasts)[0].clone();
    app.advance(Duration::days(126));
    let a_user = app.sign_in_again(&a.user).await;
    expect(
        a_user
            .post(
                &format!(
                    "/api/v1/hub-orders/{order_id}/consignments/{consignment_id}/confirmation"
                ),
                &json!({}),
            )
            .await,
        200,
    )
    .await;
    let ret = expect(
        a_user
            .post("/api/v1/hub-returns", &json!({"lines": [{"serial": "CHA000000001", "reason": "led", "found": "after_installation"}]}))
            .await,
        201,
    )
    .await;
    let ret_id = ret["id"].as_str().unwrap().to_owned();
    let ret_ref = ret["reference"].as_str().unwrap().to_owned();

    let b_admin = app.sign_in_again(&b.admin).await;
    let b_user = app.sign_in_again(&b.user).await;
    let b_reporter = app.sign_in_again(&b.reporter).await;
    let (_, b_token) = app.issue_api_token(&b_admin, &["hubs:write"]).await;
    let outsiders: [(&str, &Bearer); 4] = [
        ("org_admin", &b_admin),
        ("org_user", &b_user),
        ("org_reporter", &b_reporter),
        ("api_token", &b_token),
    ];
    for (role, client) in outsiders {
        let mut answers = Vec::new();
        for key in [order_id.as_str(), order_ref.as_str()] {
            let base = format!("/api/v1/hub-orders/{key}");
            answers.push((format!("GET {base}"), client.get(&base).await));
            answers.push((
                format!("PATCH {base}"),
                client.patch(&base, &json!({"status": "cancelled"})).await,
            ));
            answers.push((
                format!("GET {base}/history"),
                client.get(&format!("{base}/history")).await,
            ));
            answers.push((
                format!("POST {base}/consignments"),
                client
                    .post(
                        &format!("{base}/consignments"),
                        &json!({"delivery_date": "2027-04-06", "serials": ["CHB000000001"]}),
                    )
                    .await,
            ));
            answers.push((
                "GET consignment".to_owned(),
                client
                    .get(&format!("{base}/consignments/{consignment_id}"))
                    .await,
            ));
            answers.push((
                "POST confirmation".to_owned(),
                client
                    .post(
                        &format!("{base}/consignments/{consignment_id}/confirmation"),
                        &json!({}),
                    )
                    .await,
            ));
        }
        for key in [ret_id.as_str(), ret_ref.as_str()] {
            let base = format!("/api/v1/hub-returns/{key}");
            answers.push((format!("GET {base}"), client.get(&base).await));
            answers.push((
                format!("PATCH {base}"),
                client.patch(&base, &json!({"status": "authorised"})).await,
            ));
            answers.push((
                format!("GET {base}/lines"),
                client.get(&format!("{base}/lines")).await,
            ));
            answers.push((
                format!("GET {base}/history"),
                client.get(&format!("{base}/history")).await,
            ));
            answers.push((
                format!("POST {base}/authorisation"),
                client
                    .post(&format!("{base}/authorisation"), &json!({}))
                    .await,
            ));
            answers.push((
                format!("POST {base}/analysis"),
                client
                    .post(
                        &format!("{base}/analysis"),
                        &json!({"fault_confirmed": true, "redeployable": false}),
                    )
                    .await,
            ));
        }
        let loc = format!("/api/v1/delivery-locations/{location}");
        answers.push((format!("GET {loc}"), client.get(&loc).await));
        answers.push((
            format!("PATCH {loc}"),
            client.patch(&loc, &json!({"name": "mine"})).await,
        ));
        answers.push((
            format!("GET {loc}/history"),
            client.get(&format!("{loc}/history")).await,
        ));
        let fc = format!("/api/v1/hub-forecasts/{forecast_id}");
        answers.push((format!("GET {fc}"), client.get(&fc).await));
        answers.push((
            "GET in-force of A".into(),
            client
                .get(&format!(
                    "/api/v1/hub-forecasts/in-force?month=2027-06&organisation_id={}",
                    a.id
                ))
                .await,
        ));
        for (what, res) in answers {
            let status = res.status().as_u16();
            assert!(matches!(status, 403 | 404), "{role} {what}: {status}");
            if role != "org_reporter" {
                assert_eq!(status, 404, "{role} {what}: never reveal it exists");
            }
        }
        // A's serials cannot be returned by B: they read as not delivered to B.
        if role == "org_user" {
            let refused = expect_invalid(
                client
                    .post(
                        "/api/v1/hub-returns",
                        &json!({"lines": [{"serial": "CHA000000002", "reason": "general"}]}),
                    )
                    .await,
                "lines[0].serial",
            )
            .await;
            assert!(
                refused["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("not delivered to your organisation")
            );
        }
        for path in [
            "/api/v1/hub-orders",
            "/api/v1/hub-returns",
            "/api/v1/delivery-locations",
            "/api/v1/hub-forecasts",
        ] {
            let list = expect(client.get(path).await, 200).await;
            let listed = ids(&list);
            for theirs in [&order_id, &ret_id, &location, &forecast_id] {
                assert!(
                    !listed.contains(theirs),
                    "{role} listed A's {theirs} via {path}"
                );
            }
        }
        let compliance = expect(client.get("/api/v1/hub-forecasts/compliance").await, 200).await;
        assert!(
            compliance["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["organisation"]["id"] != a.id.as_str())
        );
    }
    let after = expect(
        a_user.get(&format!("/api/v1/hub-orders/{order_id}")).await,
        200,
    )
    .await;
    assert_eq!(
        (
            after["status"].as_str(),
            after["dispatched_quantity"].as_i64()
        ),
        (Some("dispatched"), Some(2)),
        "two of twenty hubs dispatched and confirmed; the rest to come"
    );
    let after = expect(
        a_user.get(&format!("/api/v1/hub-returns/{ret_id}")).await,
        200,
    )
    .await;
    assert_eq!(
        (after["status"].as_str(), after["version"].as_i64()),
        (Some("requested"), Some(1))
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_hub_route() {
    let app = app().await;
    let doc = expect(app.get("/api/v1/openapi.json").await, 200).await;
    for (path, method) in [
        ("/api/v1/hub-variants", "get"),
        ("/api/v1/hub-variants", "post"),
        ("/api/v1/hub-variants/{key}", "patch"),
        ("/api/v1/delivery-locations", "post"),
        ("/api/v1/delivery-locations/{id}", "patch"),
        ("/api/v1/hub-forecasts", "post"),
        ("/api/v1/hub-forecasts/in-force", "get"),
        ("/api/v1/hub-forecasts/compliance", "get"),
        ("/api/v1/hub-orders", "post"),
        ("/api/v1/hub-orders/{key}", "patch"),
        ("/api/v1/hub-orders/{key}/consignments", "post"),
        (
            "/api/v1/hub-orders/{key}/consignments/{id}/confirmation",
            "post",
        ),
        ("/api/v1/hub-returns", "post"),
        ("/api/v1/hub-returns/{key}/authorisation", "post"),
        ("/api/v1/hub-returns/{key}/analysis", "post"),
        ("/api/v1/hub-returns/{key}/history", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} documented"
        );
    }
    let csv_body =
        &doc["paths"]["/api/v1/hub-returns"]["post"]["requestBody"]["content"]["text/csv"];
    assert!(csv_body.is_object(), "CSV uploads are documented");
}
