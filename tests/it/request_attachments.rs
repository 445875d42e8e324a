//! Service-request attachments over real HTTP: files attached by the raiser's system and the
//! service desk, listed and downloaded with safe headers, checked like incidents' files (problem
//! documents for a bad type or size), never seen by another organisation; and a catalogue form
//! with file fields raised as `multipart/form-data`.

use dsms_tests::{Bearer, Session, TestApp, expect, expect_invalid, expect_problem, ids};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::identity::{Tenant, app, builder};

const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

async fn agent(app: &TestApp, dcc: &Session) -> Session {
    let operator = dcc.organisation_id.clone();
    app.invite_and_activate(dcc, &operator, "agent@dcc.example", &["service_desk_agent"])
        .await
}

async fn raise(client: &Bearer) -> Value {
    expect(
        client
            .post(
                "/api/v1/requests",
                &json!({"catalogue_item": "information",
                        "fields": {"question": "Where is the SEC guidance?"}}),
            )
            .await,
        201,
    )
    .await
}

fn part(filename: &str, content_type: &str, bytes: &[u8]) -> Part {
    Part::bytes(bytes.to_vec())
        .file_name(filename.to_owned())
        .mime_str(content_type)
        .expect("media type")
}

fn file(name: &str, content_type: &str, bytes: &[u8]) -> Form {
    Form::new().part("file", part(name, content_type, bytes))
}

fn attachments_path(request: &Value) -> String {
    format!(
        "/api/v1/requests/{}/attachments",
        request["reference"].as_str().unwrap()
    )
}

async fn send(client: &Bearer, path: &str, form: Form) -> reqwest::Response {
    client
        .request(reqwest::Method::POST, path)
        .multipart(form)
        .send()
        .await
        .expect("request sent")
}

#[tokio::test]
async fn raisers_and_the_desk_attach_files_and_only_their_organisation_sees_them() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let agent = agent(&app, &dcc).await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let other = Tenant::create(&app, &dcc, "Southern Gas", "southern.example").await;
    let (_, system) = app
        .issue_api_token(&supplier.admin, &["requests:write"])
        .await;
    let request = raise(&system).await;
    let path = attachments_path(&request);

    let res = send(
        &system,
        &path,
        file("C:\\temp\\meter.png", "image/png", PNG),
    )
    .await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let png = expect(res, 201).await;
    assert_eq!(location, format!("{path}/{}", png["id"].as_str().unwrap()));
    assert_eq!(png["filename"], "meter.png");
    assert_eq!(png["content_type"], "image/png");
    assert_eq!(png["size_bytes"], PNG.len());
    assert_eq!(png["uploaded_by"]["kind"], "api_token");
    let note = expect(
        send(
            &agent,
            &path,
            file("trace.log", "text/plain", b"link down").part("internal", Part::text("true")),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(note["internal"], true);

    let listed = expect(supplier.reporter.get(&path).await, 200).await;
    assert_eq!(ids(&listed), [png["id"].as_str().unwrap()]);
    let listed = expect(agent.get(&path).await, 200).await;
    assert_eq!(
        ids(&listed),
        [png["id"].as_str().unwrap(), note["id"].as_str().unwrap()]
    );

    let res = supplier
        .user
        .get(&format!("{path}/{}", png["id"].as_str().unwrap()))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.headers()["cache-control"], "private, no-store");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"meter.png\"")
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);
    expect_problem(
        supplier
            .user
            .get(&format!("{path}/{}", note["id"].as_str().unwrap()))
            .await,
        404,
        "not-found",
    )
    .await;

    // Another organisation: 404 for the list, the file and an upload, and nothing stored.
    let (_, other_system) = app.issue_api_token(&other.admin, &["requests:write"]).await;
    expect_problem(other.user.get(&path).await, 404, "not-found").await;
    expect_problem(
        other
            .user
            .get(&format!("{path}/{}", png["id"].as_str().unwrap()))
            .await,
        404,
        "not-found",
    )
    .await;
    expect_problem(
        send(&other_system, &path, file("x.txt", "text/plain", b"x")).await,
        404,
        "not-found",
    )
    .await;
    let own = raise(&other_system).await;
    expect_problem(
        other_system
            .get(&format!(
                "{}/{}",
                attachments_path(&own),
                png["id"].as_str().unwrap()
            ))
            .await,
        404,
        "not-found",
    )
    .await;
    let listed = expect(agent.get(&path).await, 200).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);

    // The history names the file the organisation can see, and not the work note's.
    let history = expect(
        supplier
            .user
            .get(&format!(
                "/api/v1/requests/{}/history",
                request["reference"].as_str().unwrap()
            ))
            .await,
        200,
    )
    .await;
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"service_request.attachment_added"));
    assert!(!actions.iter().any(|a| a.contains("work_note")));
}

#[tokio::test]
async fn bad_types_and_sizes_are_problems() {
    let app = builder()
        .configure(|c| c.incidents.max_attachment_mb = 1)
        .spawn()
        .await;
    let dcc = app.sign_in_admin().await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let (_, system) = app
        .issue_api_token(&supplier.admin, &["requests:write"])
        .await;
    let request = raise(&system).await;
    let path = attachments_path(&request);

    expect_invalid(
        send(&system, &path, file("x.png", "image/png", b"#!/bin/sh\n")).await,
        "file",
    )
    .await;
    expect_invalid(
        send(
            &system,
            &path,
            file("x.exe", "application/x-msdownload", b"MZ"),
        )
        .await,
        "file",
    )
    .await;
    let big = vec![b'a'; 1024 * 1024 + 1];
    expect_problem(
        send(&system, &path, file("big.txt", "text/plain", &big)).await,
        413,
        "payload-too-large",
    )
    .await;
    expect_problem(
        system.post(&path, &json!({"file": "x"})).await,
        415,
        "unsupported-media-type",
    )
    .await;
    let listed = expect(system.get(&path).await, 200).await;
    assert!(listed["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn file_fields_are_raised_as_multipart_and_each_fault_is_named() {
    let app = builder()
        .configure(|c| c.incidents.max_attachment_mb = 1)
        .spawn()
        .await;
    let dcc = app.sign_in_admin().await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let (_, system) = app
        .issue_api_token(&supplier.admin, &["requests:write"])
        .await;
    expect(
        dcc.post(
            "/api/v1/catalogue",
            &json!({
                "code": "meter_evidence", "name": "Meter evidence",
                "description": "Send evidence of a meter fault.",
                "fields": [
                    {"key": "summary", "label": "What is wrong", "type": "text", "required": true},
                    {"key": "evidence", "label": "Evidence", "type": "file", "required": true},
                ],
                "tasks": [{"name": "Review", "group": "second-line"}], "sla_working_days": 5,
            }),
        )
        .await,
        201,
    )
    .await;
    let request = json!({"catalogue_item": "meter_evidence", "fields": {"summary": "Blank"}});
    let form = |files: Vec<(&str, Part)>| {
        let mut form = Form::new().part(
            "request",
            Part::text(request.to_string())
                .mime_str("application/json")
                .expect("media type"),
        );
        for (name, part) in files {
            form = form.part(name.to_owned(), part);
        }
        form
    };

    // JSON alone cannot answer a required file field.
    expect_invalid(
        system.post("/api/v1/requests", &request).await,
        "fields.evidence",
    )
    .await;
    expect_invalid(
        send(&system, "/api/v1/requests", form(Vec::new())).await,
        "fields.evidence",
    )
    .await;
    expect_invalid(
        send(
            &system,
            "/api/v1/requests",
            form(vec![(
                "fields.evidence",
                part("e.png", "image/png", b"not a png"),
            )]),
        )
        .await,
        "fields.evidence",
    )
    .await;
    expect_invalid(
        send(
            &system,
            "/api/v1/requests",
            form(vec![(
                "fields.evidence",
                part("big.txt", "text/plain", &vec![b'a'; 1024 * 1024 + 1]),
            )]),
        )
        .await,
        "fields.evidence",
    )
    .await;
    expect_invalid(
        send(
            &system,
            "/api/v1/requests",
            form(vec![
                ("fields.evidence", part("e.pdf", "application/pdf", PDF)),
                ("fields.summary", part("s.txt", "text/plain", b"x")),
            ]),
        )
        .await,
        "fields.summary",
    )
    .await;
    let listed = expect(system.get("/api/v1/requests").await, 200).await;
    assert!(listed["items"].as_array().unwrap().is_empty());

    let raised = expect(
        send(
            &system,
            "/api/v1/requests",
            form(vec![(
                "fields.evidence",
                part("fault report.pdf", "application/pdf", PDF),
            )]),
        )
        .await,
        201,
    )
    .await;
    let evidence = &raised["fields"]["evidence"];
    assert_eq!(evidence["filename"], "fault report.pdf");
    let listed = expect(system.get(&attachments_path(&raised)).await, 200).await;
    assert_eq!(ids(&listed), [evidence["attachment_id"].as_str().unwrap()]);
    let res = system
        .get(&format!(
            "{}/{}",
            attachments_path(&raised),
            evidence["attachment_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().as_ref(), PDF);
}

#[tokio::test]
async fn the_openapi_document_describes_the_request_attachment_routes() {
    let app = app().await;
    let doc = expect(app.get("/api/v1/openapi.json").await, 200).await;
    let upload = &doc["paths"]["/api/v1/requests/{key}/attachments"]["post"];
    assert!(upload["requestBody"]["content"]["multipart/form-data"].is_object());
    for status in ["201", "404", "409", "413", "415", "422"] {
        assert!(upload["responses"][status].is_object(), "{status}");
    }
    assert!(doc["paths"]["/api/v1/requests/{key}/attachments"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/requests/{key}/attachments/{id}"]["get"].is_object());
    let raise = &doc["paths"]["/api/v1/requests"]["post"]["requestBody"]["content"];
    assert!(raise["application/json"].is_object());
    assert!(raise["multipart/form-data"].is_object());
}
