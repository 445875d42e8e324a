//! Optimistic concurrency on people and organisations: every response carries
//! `ETag: "<version>"`, and a `PATCH` whose `If-Match` is stale is refused with 412; a create
//! retried with the same `Idempotency-Key` creates once.

use dsms_tests::{Bearer, expect, expect_invalid, expect_problem};
use reqwest::Method;
use serde_json::{Value, json};

use super::{app, org_with_admin};

async fn get_with_etag(caller: &Bearer, path: &str) -> (String, Value) {
    let res = caller.get(path).await;
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let body = expect(res, 200).await;
    assert_eq!(etag, format!("\"{}\"", body["version"]), "{path}");
    (etag, body)
}

async fn patch_if_match(
    caller: &Bearer,
    path: &str,
    if_match: &str,
    body: &Value,
) -> reqwest::Response {
    caller
        .request(Method::PATCH, path)
        .header("if-match", if_match)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_stale_if_match_on_a_person_is_refused_with_412() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let (org, admin) = org_with_admin(&app, &dcc, "Kestrel Gas", "kestrel.example").await;
    let invited = app
        .invite(&admin, &org, "pat@kestrel.example", &["org_user"])
        .await;
    let path = format!("/api/v1/users/{}", invited["id"].as_str().unwrap());

    let (etag, before) = get_with_etag(&admin, &path).await;
    let res = patch_if_match(&admin, &path, &etag, &json!({"name": "Pat Renamed"})).await;
    let new_etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let after = expect(res, 200).await;
    assert_eq!(after["version"], before["version"].as_i64().unwrap() + 1);
    assert_eq!(new_etag, format!("\"{}\"", after["version"]));

    let stale = expect_problem(
        patch_if_match(&admin, &path, &etag, &json!({"name": "Lost Update"})).await,
        412,
        "version-mismatch",
    )
    .await;
    assert!(stale["detail"].as_str().unwrap().contains("fetch it again"));
    expect_problem(
        patch_if_match(
            &admin,
            &path,
            "not-an-etag",
            &json!({"name": "Lost Update"}),
        )
        .await,
        412,
        "version-mismatch",
    )
    .await;
    let (_, current) = get_with_etag(&admin, &path).await;
    assert_eq!(
        current["name"], "Pat Renamed",
        "the stale writes changed nothing"
    );

    // A weak form of the current ETag matches; no If-Match at all writes unconditionally.
    expect(
        patch_if_match(
            &admin,
            &path,
            &format!("W/{new_etag}"),
            &json!({"name": "Pat Weak"}),
        )
        .await,
        200,
    )
    .await;
    expect(admin.patch(&path, &json!({"name": "Pat Free"})).await, 200).await;
}

#[tokio::test]
async fn of_two_concurrent_writes_with_the_same_if_match_exactly_one_wins() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let (org, admin) = org_with_admin(&app, &dcc, "Kestrel Gas", "kestrel.example").await;
    let invited = app
        .invite(&admin, &org, "pat@kestrel.example", &["org_user"])
        .await;
    let path = format!("/api/v1/users/{}", invited["id"].as_str().unwrap());
    let (etag, _) = get_with_etag(&admin, &path).await;
    let (one, two) = (json!({"name": "First"}), json!({"name": "Second"}));
    let (first, second) = tokio::join!(
        patch_if_match(&admin, &path, &etag, &one),
        patch_if_match(&admin, &path, &etag, &two),
    );
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 412]);
}

#[tokio::test]
async fn a_stale_if_match_on_an_organisation_is_refused_with_412() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let res = dcc
        .post(
            "/api/v1/organisations",
            &json!({"name": "Kestrel Gas", "sec_roles": ["gas_supplier"]}),
        )
        .await;
    assert_eq!(res.headers()["etag"], "\"1\"");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let created = expect(res, 201).await;
    assert_eq!(
        location,
        format!("/api/v1/organisations/{}", created["id"].as_str().unwrap())
    );

    let (etag, _) = get_with_etag(&dcc, &location).await;
    assert_eq!(etag, "\"1\"");
    let res = patch_if_match(
        &dcc,
        &location,
        &etag,
        &json!({"sec_roles": ["gas_supplier", "import_supplier"]}),
    )
    .await;
    assert_eq!(res.headers()["etag"], "\"2\"");
    let updated = expect(res, 200).await;
    let mut roles: Vec<&str> = updated["sec_roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    roles.sort_unstable();
    assert_eq!(roles, ["gas_supplier", "import_supplier"]);
    expect_problem(
        patch_if_match(&dcc, &location, &etag, &json!({"name": "Lost Update"})).await,
        412,
        "version-mismatch",
    )
    .await;
    let (_, current) = get_with_etag(&dcc, &location).await;
    assert_eq!(current["name"], "Kestrel Gas");
}

#[tokio::test]
async fn retried_creates_with_an_idempotency_key_create_once() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let post = |path: &'static str, key: &'static str, body: serde_json::Value| {
        dcc.request(Method::POST, path)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };

    let org = json!({"name": "Retry Energy", "sec_roles": ["import_supplier"]});
    let first = post("/api/v1/organisations", "org-1", org.clone())
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let first: serde_json::Value = first.json().await.unwrap();
    let again = post("/api/v1/organisations", "org-1", org.clone())
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        201,
        "a retry is answered, not refused as a duplicate"
    );
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    let clash = post(
        "/api/v1/organisations",
        "org-1",
        json!({"name": "Other Energy", "sec_roles": ["gas_supplier"]}),
    )
    .await
    .unwrap();
    expect_invalid(clash, "Idempotency-Key").await;

    let org_id = first["id"].as_str().unwrap().to_owned();
    let person = json!({"email": "once@retry.example", "name": "Once", "organisation_id": org_id, "roles": ["org_admin"]});
    let invited = post("/api/v1/users", "user-1", person.clone())
        .await
        .unwrap();
    assert_eq!(invited.status(), 201);
    let invited: serde_json::Value = invited.json().await.unwrap();
    let queued = app.outbox_rows().await;
    let retried = post("/api/v1/users", "user-1", person).await.unwrap();
    assert_eq!(retried.status(), 201);
    let retried: serde_json::Value = retried.json().await.unwrap();
    assert_eq!(retried["id"], invited["id"]);
    assert_eq!(
        app.outbox_rows().await,
        queued,
        "one invitation email, not two"
    );
}
