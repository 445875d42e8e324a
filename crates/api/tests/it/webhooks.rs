use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use actix_web::test::{self, TestRequest};
use dsms_testkit::TestDatabase;
use serde_json::Value;

use crate::support::service;

#[test]
fn the_openapi_document_describes_every_webhook_route() {
    let doc = serde_json::to_value(dsms_api::openapi()).expect("serialises");
    let paths = &doc["paths"];
    for (path, methods) in [
        ("/api/v1/webhooks", &["post", "get"][..]),
        ("/api/v1/webhooks/{id}", &["get", "patch", "delete"][..]),
        ("/api/v1/webhooks/{id}/rotate-secret", &["post"][..]),
        ("/api/v1/webhooks/{id}/deliveries", &["get"][..]),
    ] {
        for method in methods {
            let operation = &paths[path][method];
            assert!(operation.is_object(), "{method} {path} missing");
            assert_eq!(operation["tags"][0], "webhooks", "{method} {path}");
        }
    }
    let created = &doc["components"]["schemas"]["WebhookWithSecret"];
    assert!(created.to_string().contains("secret"), "{created}");
    let listed = doc["components"]["schemas"]["WebhookOut"].to_string();
    assert!(
        !listed.contains("\"secret\""),
        "never listed with its secret: {listed}"
    );
}

#[actix_web::test]
async fn webhook_routes_need_credentials() {
    let db = TestDatabase::new();
    let app = service(&db).await;
    for req in [
        TestRequest::get().uri("/api/v1/webhooks"),
        TestRequest::post()
            .uri("/api/v1/webhooks")
            .set_json(serde_json::json!({"url": "https://a.example/", "events": ["incident.*"]})),
        TestRequest::get().uri("/api/v1/webhooks/1/deliveries"),
        TestRequest::post().uri("/api/v1/webhooks/1/rotate-secret"),
        TestRequest::delete().uri("/api/v1/webhooks/1"),
    ] {
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            res.headers().get(CONTENT_TYPE),
            Some(&HeaderValue::from_static("application/problem+json"))
        );
        let body: Value = test::read_body_json(res).await;
        assert_eq!(
            body["type"],
            "https://dsms.example/problems/unauthenticated"
        );
    }
}
