//! Reports over real HTTP: each report as JSON, CSV and SVG, diagnostics for network operators,
//! scheduled-report subscriptions, and no organisation ever seeing another's figures. The
//! figures themselves are proven against hand-computed expectations in `dsms-reporting`'s tests.

use dsms_tests::{Bearer, Session, TestApp, expect, expect_invalid, expect_problem};
use serde_json::{Value, json};

use crate::identity::{Tenant, app};

/// The server's manual clock starts in March 2030.
const THIS_MONTH: &str = "2030-03";

async fn manager(app: &TestApp, dcc: &Session) -> Session {
    let operator = dcc.organisation_id.clone();
    app.invite_and_activate(
        dcc,
        &operator,
        "manager@dcc.example",
        &["service_desk_manager"],
    )
    .await
}

async fn raise(client: &Bearer, devices: &[&str]) -> Value {
    expect(
        client
            .post(
                "/api/v1/incidents",
                &json!({
                    "title": "Hub offline",
                    "description": "No response since 08:00",
                    "category": "communications_hub",
                    "impact": 2,
                    "urgency": 2,
                    "devices": devices,
                    "region": "north",
                }),
            )
            .await,
        201,
    )
    .await
}

async fn get_as(client: &Bearer, path: &str, accept: &str) -> reqwest::Response {
    client
        .request(reqwest::Method::GET, path)
        .header("Accept", accept)
        .send()
        .await
        .expect("request")
}

fn this_month(report: &Value) -> &Value {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["period"] == THIS_MONTH)
        .expect("this month's row")
}

#[tokio::test]
async fn reports_come_as_json_csv_and_svg_and_only_with_ones_own_figures() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let northern = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let southern = Tenant::create(&app, &dcc, "Southern Gas", "southern.example").await;
    raise(&northern.user, &["HUB-1"]).await;
    raise(&northern.user, &[]).await;

    let list = expect(northern.reporter.get("/api/v1/reports").await, 200).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    for expected in [
        "sla-performance",
        "arrivals-resolutions",
        "backlog",
        "response-resolution-times",
        "volumes",
        "reopen-rate",
        "network-diagnostics",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(
        list["items"][0]["parameters"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
    );

    let json = expect(
        northern
            .reporter
            .get("/api/v1/reports/arrivals-resolutions")
            .await,
        200,
    )
    .await;
    assert_eq!(json["report"], "arrivals-resolutions");
    assert_eq!(json["columns"][1]["name"], "raised");
    assert_eq!(this_month(&json)["raised"], 2);

    let csv = get_as(
        &northern.reporter,
        "/api/v1/reports/arrivals-resolutions",
        "text/csv",
    )
    .await;
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv"),
        "{:?}",
        csv.headers()
    );
    let text = csv.text().await.expect("body");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().expect("header").iter().collect::<Vec<_>>(),
        ["period", "raised", "resolved", "net_change"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let current = rows
        .iter()
        .find(|r| &r[0] == THIS_MONTH)
        .expect("this month");
    assert_eq!(&current[1], "2");

    let svg = get_as(
        &northern.reporter,
        "/api/v1/reports/backlog",
        "image/svg+xml",
    )
    .await;
    assert_eq!(svg.status(), 200);
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.expect("body").starts_with("<svg"));
    let download = northern
        .reporter
        .get("/api/v1/reports/volumes?format=csv&by=organisation")
        .await;
    assert!(
        download
            .text()
            .await
            .expect("body")
            .contains("Northern Supply")
    );

    // Southern Gas sees its own (empty) figures and nothing of Northern's, in any form.
    let theirs = expect(
        southern
            .reporter
            .get("/api/v1/reports/arrivals-resolutions")
            .await,
        200,
    )
    .await;
    assert_eq!(this_month(&theirs)["raised"], 0);
    for name in [
        "volumes?by=organisation",
        "network-diagnostics",
        "backlog",
        "sla-performance",
    ] {
        let path = format!("/api/v1/reports/{name}");
        for accept in ["application/json", "text/csv", "image/svg+xml"] {
            let res = get_as(&southern.reporter, &path, accept).await;
            assert_eq!(res.status(), 200, "{path} {accept}");
            let body = res.text().await.expect("body");
            assert!(
                !body.contains("Northern") && !body.contains("HUB-1"),
                "{path} {accept}: {body}"
            );
        }
    }
    let (_, token) = app
        .issue_api_token(&southern.admin, &["reports:read"])
        .await;
    expect(token.get("/api/v1/reports/backlog").await, 200).await;
}

#[tokio::test]
async fn reports_refuse_the_wrong_caller_and_name_bad_parameters() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let northern = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let southern = Tenant::create(&app, &dcc, "Southern Gas", "southern.example").await;
    expect_problem(northern.user.get("/api/v1/reports").await, 403, "forbidden").await;
    expect_problem(
        northern.user.get("/api/v1/reports/backlog").await,
        403,
        "forbidden",
    )
    .await;
    let (_, incidents_only) = app
        .issue_api_token(&northern.admin, &["incidents:read"])
        .await;
    expect_problem(
        incidents_only.get("/api/v1/reports/backlog").await,
        403,
        "forbidden",
    )
    .await;
    let other = format!("/api/v1/reports/backlog?organisation_id={}", northern.id);
    expect_problem(southern.reporter.get(&other).await, 403, "forbidden").await;
    expect_problem(
        northern.reporter.get("/api/v1/reports/league-table").await,
        404,
        "not-found",
    )
    .await;
    let bad = northern
        .reporter
        .get("/api/v1/reports/sla-performance?from=2030-13-01&granularity=hour")
        .await;
    let problem = expect_invalid(bad, "from").await;
    assert!(problem.to_string().contains("granularity"), "{problem}");
    let staff = manager(&app, &dcc).await;
    let all = format!("/api/v1/reports/backlog?organisation_id={}", northern.id);
    expect(staff.get(&all).await, 200).await;
}

#[tokio::test]
async fn network_operators_see_incidents_naming_devices_registered_to_them() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let staff = manager(&app, &dcc).await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let network = Tenant::create(&app, &dcc, "Eastern Networks", "eastern.example").await;
    let incident = raise(&supplier.user, &["HUB-EAST-1"]).await;

    let before = expect(
        network.reporter.get("/api/v1/reports/diagnostics").await,
        200,
    )
    .await;
    assert_eq!(before["rows"].as_array().expect("rows").len(), 0);
    let register = json!({
        "organisation_id": network.id,
        "devices": [{"device_id": "HUB-EAST-1", "device_type": "communications_hub", "region": "north"}],
    });
    expect_problem(
        network
            .admin
            .post("/api/v1/network-devices", &register)
            .await,
        403,
        "forbidden",
    )
    .await;
    expect(staff.post("/api/v1/network-devices", &register).await, 200).await;
    let listed = expect(network.reporter.get("/api/v1/network-devices").await, 200).await;
    assert_eq!(listed["items"][0]["device_id"], "HUB-EAST-1");

    let after = expect(
        network.reporter.get("/api/v1/reports/diagnostics").await,
        200,
    )
    .await;
    let rows = after["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["reference"], incident["reference"]);
    assert_eq!(
        rows[0]["organisation"],
        Value::Null,
        "the raiser is not named"
    );
    assert_eq!(rows[0]["devices"], "HUB-EAST-1");
    assert_eq!(rows[0]["region"], "north");
    assert_eq!(rows[0]["sla_state"], "running");
    let csv = get_as(
        &network.reporter,
        "/api/v1/reports/diagnostics?status=open",
        "text/csv",
    )
    .await;
    let text = csv.text().await.expect("body");
    assert!(
        text.starts_with("reference,organisation,title,status,priority"),
        "{text}"
    );
    assert!(!text.contains("Northern"), "{text}");
}

#[tokio::test]
async fn people_subscribe_to_reports_and_only_they_can_cancel() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let northern = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let southern = Tenant::create(&app, &dcc, "Southern Gas", "southern.example").await;
    let created = expect(
        northern
            .reporter
            .post(
                "/api/v1/report-subscriptions",
                &json!({
                    "report": "sla-performance",
                    "cadence": "monthly_working_day",
                    "working_day": 10,
                    "parameters": {"priority": "1"},
                }),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(created["cadence"], "monthly_working_day");
    assert_eq!(created["working_day"], 10);
    let id = created["id"].as_str().expect("id").to_owned();
    let mine = expect(
        northern.reporter.get("/api/v1/report-subscriptions").await,
        200,
    )
    .await;
    assert_eq!(mine["items"].as_array().expect("items").len(), 1);
    let theirs = expect(
        southern.reporter.get("/api/v1/report-subscriptions").await,
        200,
    )
    .await;
    assert_eq!(theirs["items"].as_array().expect("items").len(), 0);
    let path = format!("/api/v1/report-subscriptions/{id}");
    expect_problem(southern.reporter.delete(&path).await, 404, "not-found").await;
    let bad = northern
        .reporter
        .post(
            "/api/v1/report-subscriptions",
            &json!({"report": "backlog", "cadence": "hourly"}),
        )
        .await;
    expect_invalid(bad, "cadence").await;
    assert_eq!(northern.reporter.delete(&path).await.status(), 204);
    assert_eq!(northern.reporter.delete(&path).await.status(), 404);
}
