//! Cookie attributes, security headers and caching.

use actix_web::cookie::SameSite;
use actix_web::http::StatusCode;

use crate::support::{spawn, spawn_at};

const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
                   img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

#[actix_web::test]
async fn the_session_cookie_is_http_only_lax_and_lasts_the_browser_session() {
    let app = spawn().await;
    app.person("ada@supplier.example", false);
    let (_, _, shown) = app.browser().first_sign_in("ada@supplier.example").await;
    let cookie = shown.cookie("dsms_session").expect("the session cookie");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(SameSite::Lax));
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(cookie.max_age(), None);
    assert_eq!(cookie.expires(), None);
    assert_ne!(
        cookie.secure(),
        Some(true),
        "plain http: a Secure cookie would never come back"
    );
    assert!(cookie.value().len() >= 32);
    // The sign-in steps' cookies are done with.
    for name in ["dsms_mfa", "dsms_csrf"] {
        let removal = shown
            .cookie(name)
            .unwrap_or_else(|| panic!("{name} cleared"));
        assert_eq!(removal.max_age().map(|a| a.whole_seconds()), Some(0));
    }
}

#[actix_web::test]
async fn every_page_carries_the_security_headers() {
    let app = spawn().await;
    app.person("ada@supplier.example", false);
    let mut browser = app.browser();
    let sign_in = browser.get("/sign-in").await;
    let (_, _, codes) = browser.first_sign_in("ada@supplier.example").await;
    let account = browser.get("/account").await;
    let password = browser.get("/account/password").await;
    for page in [&sign_in, &codes, &account, &password] {
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
        assert_eq!(page.header("content-security-policy"), CSP);
        assert_eq!(page.header("x-frame-options"), "DENY");
        assert_eq!(page.header("x-content-type-options"), "nosniff");
        assert_eq!(page.header("referrer-policy"), "no-referrer");
        assert_eq!(
            page.header("strict-transport-security"),
            "",
            "no HSTS over plain http"
        );
        assert_eq!(
            page.body.matches("<script").count(),
            1,
            "one script, the site's own file"
        );
        assert!(!page.body.contains("<script>"), "no inline script");
        assert!(
            page.body
                .contains("<link rel=\"stylesheet\" href=\"/static/dsms.css?v=")
        );
    }
    for secret in [&codes, &account, &password] {
        assert_eq!(secret.header("cache-control"), "no-store");
    }
}

#[actix_web::test]
async fn the_enrolment_page_is_never_stored() {
    let app = spawn().await;
    app.person("ada@supplier.example", false);
    let mut browser = app.browser();
    browser
        .enter_password("ada@supplier.example", crate::support::PASSWORD)
        .await;
    let enrol = browser.get("/sign-in/enrol").await;
    assert_eq!(enrol.status, StatusCode::OK);
    assert_eq!(enrol.header("cache-control"), "no-store");
    assert_eq!(enrol.header("content-security-policy"), CSP);
}

#[actix_web::test]
async fn over_https_cookies_are_secure_and_hsts_is_sent() {
    let app = spawn_at("https://desk.example.org").await;
    app.person("ada@supplier.example", false);
    let mut browser = app.browser();
    let sign_in = browser.get("/sign-in").await;
    assert_eq!(
        sign_in.header("strict-transport-security"),
        "max-age=31536000"
    );
    assert_eq!(
        sign_in.cookie("dsms_csrf").and_then(|c| c.secure()),
        Some(true)
    );
    let (_, _, shown) = browser.first_sign_in("ada@supplier.example").await;
    let session = shown.cookie("dsms_session").expect("the session cookie");
    assert_eq!(session.secure(), Some(true));
    assert_eq!(
        shown.header("strict-transport-security"),
        "max-age=31536000"
    );
    let account = browser.get("/account").await;
    assert_eq!(account.status, StatusCode::OK);
    assert_eq!(
        account.header("strict-transport-security"),
        "max-age=31536000"
    );
}

#[actix_web::test]
async fn the_stylesheet_is_served_from_the_binary_and_cached_long() {
    let app = spawn().await;
    let mut browser = app.browser();
    let page = browser.get("/sign-in").await;
    let href = crate::support::between(&page.body, "rel=\"stylesheet\" href=\"", "\"").unwrap();
    let css = browser.get(&href).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header("content-type"), "text/css; charset=utf-8");
    assert_eq!(
        css.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(css.body.contains(".panel"));
}

#[actix_web::test]
async fn the_script_is_served_from_the_binary_and_no_page_needs_it() {
    let app = spawn().await;
    let mut browser = app.browser();
    let page = browser.get("/sign-in").await;
    let src = crate::support::between(&page.body, "<script src=\"", "\"").unwrap();
    assert!(src.starts_with("/static/dsms.js?v="), "{src}");
    assert!(page.body.contains("defer></script>"));
    assert!(
        !page.body.contains("<script>"),
        "no inline script, which the CSP would refuse"
    );
    let js = browser.get(&src).await;
    assert_eq!(js.status, StatusCode::OK);
    assert_eq!(js.header("content-type"), "text/javascript; charset=utf-8");
    assert_eq!(
        js.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(js.body.contains("data-refresh"));
}
