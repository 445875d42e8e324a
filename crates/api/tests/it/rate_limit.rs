//! The route rate limits: every class runs out at its own configured allowance with a 429
//! problem and `Retry-After`, per credential and per client address, other credentials,
//! addresses and classes are unaffected, and an allowance comes back after its window.
//!
//! The limiter middleware is exercised on its own in front of a handler that always answers
//! 200, so each test counts exactly the requests it sends; the real binary's stack, settings and
//! metrics are tested in `crates/server/tests/it/abuse.rs`.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, RETRY_AFTER};
use actix_web::middleware::from_fn;
use actix_web::test::{self, TestRequest};
use actix_web::{App, HttpResponse, web};
use dsms_api::rate_limit::{ClassLimits, RouteClass, limit};
use dsms_api::{Metrics, RateLimitSettings, RateLimits};
use serde_json::Value;

const NONE: ClassLimits = ClassLimits {
    per_token: 0,
    per_address: 0,
};

/// Settings with no limits at all, over a minute's window.
fn unlimited() -> RateLimitSettings {
    RateLimitSettings {
        enabled: true,
        window: Duration::from_secs(60),
        trust_forwarded_for: false,
        read: NONE,
        write: NONE,
        search: NONE,
        auth: NONE,
        upload: NONE,
    }
}

/// `settings` with `class` limited to `per_token` and `per_address`.
fn with(
    mut settings: RateLimitSettings,
    class: RouteClass,
    per_token: u32,
    per_address: u32,
) -> RateLimitSettings {
    let limits = ClassLimits {
        per_token,
        per_address,
    };
    match class {
        RouteClass::Read => settings.read = limits,
        RouteClass::Write => settings.write = limits,
        RouteClass::Search => settings.search = limits,
        RouteClass::Auth => settings.auth = limits,
        RouteClass::Upload => settings.upload = limits,
    }
    settings
}

async fn ok() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

async fn service(
    settings: RateLimitSettings,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    test::init_service(
        App::new()
            .app_data(web::Data::new(RateLimits::new(settings)))
            .app_data(web::Data::new(Metrics::new()))
            .wrap(from_fn(limit))
            .default_service(web::to(ok)),
    )
    .await
}

fn address(n: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, n], 40000))
}

/// A request representative of each class.
fn request_of(class: RouteClass) -> TestRequest {
    match class {
        RouteClass::Read => TestRequest::get().uri("/api/v1/incidents"),
        RouteClass::Write => TestRequest::post()
            .uri("/api/v1/incidents")
            .insert_header((CONTENT_TYPE, "application/json")),
        RouteClass::Search => TestRequest::get().uri("/api/v1/reports/backlog"),
        RouteClass::Auth => TestRequest::post()
            .uri("/api/v1/auth/login")
            .insert_header((CONTENT_TYPE, "application/json")),
        RouteClass::Upload => TestRequest::post()
            .uri("/api/v1/incidents/INC0000001/attachments")
            .insert_header((CONTENT_TYPE, "multipart/form-data; boundary=x")),
    }
}

fn as_token(req: TestRequest, token: &str) -> TestRequest {
    req.insert_header((AUTHORIZATION, format!("Bearer {token}")))
}

fn header<B>(res: &ServiceResponse<B>, name: &str) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("{name} missing"))
        .to_owned()
}

async fn status_of(
    app: &impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
    req: TestRequest,
) -> StatusCode {
    test::call_service(app, req.to_request()).await.status()
}

/// Checks a refusal: 429, problem+json `rate-limited`, `Retry-After` within the window, and the
/// `RateLimit-*` headers saying nothing is left.
async fn assert_refused(
    app: &impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
    req: TestRequest,
    limit: u32,
) {
    let res = test::call_service(app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{name} missing"))
            .to_owned()
    };
    let retry_after: u64 = header(RETRY_AFTER.as_str()).parse().expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(header("ratelimit-limit"), limit.to_string());
    assert_eq!(header("ratelimit-remaining"), "0");
    assert_eq!(header("ratelimit-reset"), retry_after.to_string());
    assert_eq!(header(CONTENT_TYPE.as_str()), "application/problem+json");
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["type"], "https://dsms.example/problems/rate-limited");
    assert_eq!(body["status"], 429);
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&retry_after.to_string())),
        "{body}"
    );
}

#[actix_web::test]
async fn every_class_runs_out_per_token_at_its_own_limit_and_other_tokens_are_unaffected() {
    let settings = RouteClass::ALL
        .into_iter()
        .fold(unlimited(), |s, class| with(s, class, 3, 0));
    let app = service(settings).await;
    // One class after another with the same token: each earlier class ran out, and each later
    // one still has its whole allowance.
    for class in RouteClass::ALL {
        for n in 0..3 {
            let res = test::call_service(
                &app,
                as_token(request_of(class), "dsms_a")
                    .peer_addr(address(1))
                    .to_request(),
            )
            .await;
            assert_eq!(res.status(), StatusCode::OK, "{class:?} request {n}");
            assert_eq!(header(&res, "ratelimit-limit"), "3");
            assert_eq!(header(&res, "ratelimit-remaining"), (2 - n).to_string());
        }
        assert_refused(
            &app,
            as_token(request_of(class), "dsms_a").peer_addr(address(1)),
            3,
        )
        .await;
        // The same address with another token goes on.
        assert_eq!(
            status_of(
                &app,
                as_token(request_of(class), "dsms_b").peer_addr(address(1))
            )
            .await,
            StatusCode::OK,
            "{class:?}"
        );
    }
}

#[actix_web::test]
async fn every_class_runs_out_per_address_whatever_the_credential_and_other_addresses_go_on() {
    for class in RouteClass::ALL {
        let app = service(with(unlimited(), class, 0, 2)).await;
        // Without credentials, then with made-up ones: the address is counted either way.
        assert_eq!(
            status_of(&app, request_of(class).peer_addr(address(7))).await,
            StatusCode::OK
        );
        assert_eq!(
            status_of(
                &app,
                as_token(request_of(class), "made-up-1").peer_addr(address(7))
            )
            .await,
            StatusCode::OK
        );
        assert_refused(
            &app,
            as_token(request_of(class), "made-up-2").peer_addr(address(7)),
            2,
        )
        .await;
        assert_eq!(
            status_of(&app, request_of(class).peer_addr(address(8))).await,
            StatusCode::OK,
            "{class:?}"
        );
    }
}

#[actix_web::test]
async fn a_web_session_is_limited_per_session_and_refused_with_a_page() {
    let app = service(with(unlimited(), RouteClass::Read, 2, 0)).await;
    let page = |session: &str| {
        TestRequest::get()
            .uri("/desk")
            .insert_header((COOKIE, format!("dsms_theme=x; dsms_session={session}")))
            .peer_addr(address(1))
    };
    for _ in 0..2 {
        assert_eq!(status_of(&app, page("s1")).await, StatusCode::OK);
    }
    let res = test::call_service(&app, page("s1").to_request()).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key(RETRY_AFTER));
    assert_eq!(
        header(&res, "content-type"),
        "text/html; charset=utf-8",
        "people get a page, not JSON"
    );
    let body = test::read_body(res).await;
    assert!(String::from_utf8_lossy(&body).contains("Too many requests"));
    assert_eq!(status_of(&app, page("s2")).await, StatusCode::OK);
}

#[actix_web::test]
async fn an_allowance_comes_back_after_its_window() {
    let settings = RateLimitSettings {
        window: Duration::from_secs(1),
        ..with(unlimited(), RouteClass::Write, 2, 0)
    };
    let app = service(settings).await;
    let send = || as_token(request_of(RouteClass::Write), "dsms_a").peer_addr(address(1));
    // Spend the allowance (at most a few extra if the machine is slow enough to refill one).
    let mut refused = None;
    for _ in 0..20 {
        let res = test::call_service(&app, send().to_request()).await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(res);
            break;
        }
    }
    let refused = refused.expect("the allowance ran out");
    let retry_after: u64 = header(&refused, "retry-after").parse().expect("seconds");
    assert_eq!(retry_after, 1, "a 1 s window refills within a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(status_of(&app, send()).await, StatusCode::OK);
    assert_eq!(status_of(&app, send()).await, StatusCode::OK);
}

#[actix_web::test]
async fn probes_metrics_and_assets_are_never_limited_and_disabled_limits_limit_nothing() {
    let app = service(with(unlimited(), RouteClass::Read, 1, 1)).await;
    for path in ["/healthz", "/readyz", "/metrics", "/static/dsms.css"] {
        for _ in 0..5 {
            let req = TestRequest::get().uri(path).peer_addr(address(1));
            assert_eq!(status_of(&app, req).await, StatusCode::OK, "{path}");
        }
    }
    let off = RateLimitSettings {
        enabled: false,
        ..with(unlimited(), RouteClass::Write, 1, 1)
    };
    let app = service(off).await;
    for _ in 0..5 {
        let req = as_token(request_of(RouteClass::Write), "dsms_a").peer_addr(address(1));
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(!res.headers().contains_key("ratelimit-limit"));
    }
}

#[actix_web::test]
async fn the_forwarded_address_counts_only_behind_a_trusted_proxy() {
    let forwarded = |chain: &str| {
        request_of(RouteClass::Auth)
            .peer_addr(address(1))
            .insert_header(("X-Forwarded-For", chain.to_owned()))
    };
    // Not trusted: a forged header does not escape the peer's limit.
    let app = service(with(unlimited(), RouteClass::Auth, 0, 1)).await;
    assert_eq!(
        status_of(&app, forwarded("203.0.113.1")).await,
        StatusCode::OK
    );
    assert_eq!(
        status_of(&app, forwarded("203.0.113.2")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Trusted: the address the proxy appended counts, not what the client put before it.
    let trusted = RateLimitSettings {
        trust_forwarded_for: true,
        ..with(unlimited(), RouteClass::Auth, 0, 1)
    };
    let app = service(trusted).await;
    assert_eq!(
        status_of(&app, forwarded("10.9.9.9, 203.0.113.1")).await,
        StatusCode::OK
    );
    assert_eq!(
        status_of(&app, forwarded("10.9.9.8, 203.0.113.1")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        status_of(&app, forwarded("203.0.113.2")).await,
        StatusCode::OK
    );
}

#[actix_web::test]
async fn ipv6_clients_count_by_their_64_prefix() {
    let app = service(with(unlimited(), RouteClass::Write, 0, 1)).await;
    let from = |ip: &str| {
        request_of(RouteClass::Write).peer_addr(SocketAddr::new(ip.parse().expect("ip"), 40000))
    };
    assert_eq!(
        status_of(&app, from("2001:db8:1:2::1")).await,
        StatusCode::OK
    );
    assert_eq!(
        status_of(&app, from("2001:db8:1:2:ffff::9")).await,
        StatusCode::TOO_MANY_REQUESTS,
        "another address in the same /64"
    );
    assert_eq!(
        status_of(&app, from("2001:db8:1:3::1")).await,
        StatusCode::OK
    );
}
