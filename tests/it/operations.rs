use dsms_tests::TestApp;
use serde_json::Value;

#[tokio::test]
async fn healthz_is_alive_and_readyz_reports_the_database() {
    let app = TestApp::spawn().await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "ok");

    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], app.db.backend().name());
}

#[tokio::test]
async fn metrics_are_prometheus_text_counting_requests_by_route() {
    let app = TestApp::spawn().await;
    app.get("/healthz").await;
    app.get("/no/such/path/123").await;
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    assert!(
        text.contains(r#"dsms_http_requests_total{method="GET",route="/healthz",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="unmatched",status="404""#),
        "unmatched paths share one series: {text}"
    );
    assert!(!text.contains("/no/such/path/123"));
    assert!(text.contains("dsms_db_pool_connections"));
    assert!(text.contains(r#"dsms_outbox_rows{state="pending"}"#));
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/healthz", "/nope"] {
        let res = app.get(path).await;
        assert!(res.headers().contains_key("x-request-id"), "{path}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert_eq!(res.headers()["x-frame-options"], "DENY");
    }
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("X-Request-Id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = TestApp::spawn().await;
    let res = app.get("/api/v1/nothing-here").await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "https://dsms.example/problems/not-found");

    let res = app.client.put(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn the_openapi_document_describes_the_routes_and_the_docs_are_served() {
    let app = TestApp::spawn().await;
    let res = app.get("/api/v1/openapi.json").await;
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} documented");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());

    let res = app.get("/api/docs").await;
    assert!(res.status().is_redirection());
    let res = app.get("/api/docs/").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("swagger"));
}

#[tokio::test]
async fn readyz_is_503_with_retry_after_when_migrations_are_missing() {
    let app = TestApp::builder()
        .configure(|c| c.database.migrate_on_start = false)
        .spawn()
        .await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "https://dsms.example/problems/unavailable");
    assert_eq!(app.get("/healthz").await.status(), 200, "still alive");
}
