use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use actix_web::test::{self, TestRequest};
use dsms_testkit::TestDatabase;
use serde_json::Value;

use crate::support::{LIMIT, service};

async fn problem(
    app: &impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
    req: TestRequest,
    status: StatusCode,
    slug: &str,
) -> Value {
    let res = test::call_service(app, req.to_request()).await;
    assert_eq!(res.status(), status);
    assert_eq!(
        res.headers().get(CONTENT_TYPE),
        Some(&HeaderValue::from_static("application/problem+json"))
    );
    assert!(res.headers().contains_key("x-request-id"));
    let body: Value = test::read_body_json(res).await;
    assert_eq!(
        body["type"],
        format!("https://dsms.example/problems/{slug}")
    );
    assert_eq!(body["status"], status.as_u16());
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()));
    body
}

#[actix_web::test]
async fn a_valid_body_is_accepted() {
    let db = TestDatabase::new();
    let app = service(&db).await;
    let res = test::call_service(
        &app,
        TestRequest::post()
            .uri("/__test/echo")
            .set_json(serde_json::json!({"title": "Hub offline", "impact": 2}))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["title"], "Hub offline");
}

#[actix_web::test]
async fn malformed_json_is_400() {
    let db = TestDatabase::new();
    let app = service(&db).await;
    problem(
        &app,
        TestRequest::post()
            .uri("/__test/echo")
            .insert_header((CONTENT_TYPE, "application/json"))
            .set_payload("{\"title\": \"unterminated"),
        StatusCode::BAD_REQUEST,
        "malformed-request",
    )
    .await;
}

#[actix_web::test]
async fn the_wrong_media_type_is_415() {
    let db = TestDatabase::new();
    let app = service(&db).await;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut req = TestRequest::post()
            .uri("/__test/echo")
            .set_payload(r#"{"title": "t", "impact": 1}"#);
        if let Some(ct) = content_type {
            req = req.insert_header((CONTENT_TYPE, ct));
        }
        problem(
            &app,
            req,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
        )
        .await;
    }
}

#[actix_web::test]
async fn an_oversized_body_is_413() {
    let db = TestDatabase::new();
    let app = service(&db).await;
    let big = format!(r#"{{"title": "{}", "impact": 1}}"#, "x".repeat(LIMIT));
    problem(
        &app,
        TestRequest::post()
            .uri("/__test/echo")
            .insert_header((CONTENT_TYPE, "application/json"))
            .set_payload(big),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
    )
    .await;
}

#[actix_web::test]
async fn missing_unknown_and_mistyped_fields_are_422_naming_the_field() {
    let db = TestDatabase::new();
    let app = service(&db).await;
    for (body, field) in [
        (r#"{"impact": 1}"#, "title"),
        (r#"{"title": "t", "impact": 1, "priority": 1}"#, "priority"),
        (r#"{"title": "t", "impact": "high"}"#, "impact"),
        (r#"{"title": "t", "impact": 900}"#, "impact"),
    ] {
        let problem = problem(
            &app,
            TestRequest::post()
                .uri("/__test/echo")
                .insert_header((CONTENT_TYPE, "application/json"))
                .set_payload(body),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
}

#[actix_web::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let db = TestDatabase::new();
    let app = service(&db).await;
    problem(
        &app,
        TestRequest::get().uri("/api/v1/no-such-thing"),
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    let body = problem(
        &app,
        TestRequest::delete().uri("/healthz"),
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("DELETE"));
    problem(
        &app,
        TestRequest::get().uri("/__test/echo"),
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
    )
    .await;
}

#[actix_web::test]
async fn request_ids_are_echoed_when_sane_and_generated_otherwise() {
    let db = TestDatabase::new();
    let app = service(&db).await;
    let res = test::call_service(
        &app,
        TestRequest::get()
            .uri("/healthz")
            .insert_header(("x-request-id", "supplier-42.abc"))
            .to_request(),
    )
    .await;
    assert_eq!(
        res.headers().get("x-request-id").unwrap(),
        "supplier-42.abc"
    );

    let res = test::call_service(
        &app,
        TestRequest::get()
            .uri("/healthz")
            .insert_header(("x-request-id", "evil id; rm -rf"))
            .to_request(),
    )
    .await;
    let generated = res.headers().get("x-request-id").unwrap().to_str().unwrap();
    assert_ne!(generated, "evil id; rm -rf");
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
}
