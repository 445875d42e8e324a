//! Sign-in: password, then TOTP enrolment or verification, as api.md "Sign-in" fixes it.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use dsms_tests::{
    TestApp, base32_decode, expect, expect_invalid, expect_problem, strong_password, totp_code,
};
use serde_json::{Value, json};

use super::{Tenant, app, builder};

/// Decodes `%XX` escapes.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ASCII");
            out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8")
}

/// The label and query parameters of an `otpauth://totp/` URI.
fn parse_otpauth(uri: &str) -> (String, Vec<(String, String)>) {
    let rest = uri
        .strip_prefix("otpauth://totp/")
        .unwrap_or_else(|| panic!("an otpauth TOTP URI: {uri}"));
    let (label, query) = rest.split_once('?').expect("query parameters");
    let params = query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').expect("key=value");
            (k.to_owned(), percent_decode(v))
        })
        .collect();
    (percent_decode(label), params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("parameter {name} in {params:?}"))
}

/// The claims of a JWT, decoded without checking anything.
pub fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("three JWT parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

#[tokio::test]
async fn the_whole_sign_in_flow_works_with_an_independent_authenticator_on_the_wall_clock() {
    // The wall clock here: the flow must work with real time, not only a stopped clock.
    let app = TestApp::spawn().await;
    let initial = app.initial_admin.clone().expect("first administrator");

    let login = expect(app.login(&initial.email, &initial.password).await, 200).await;
    assert_eq!(login["mfa"], "enrol", "{login}");
    let mfa_token = login["mfa_token"].as_str().expect("mfa_token");

    let enrolment = expect(
        app.post("/api/v1/auth/totp/enrol", &json!({"mfa_token": mfa_token}))
            .await,
        200,
    )
    .await;
    let secret = enrolment["secret"].as_str().expect("secret");
    assert_eq!(base32_decode(secret).len(), 20, "a 160-bit secret");
    let (label, params) = parse_otpauth(enrolment["otpauth_uri"].as_str().expect("uri"));
    assert_eq!(label, format!("dsms:{}", initial.email));
    assert_eq!(param(&params, "secret"), secret);
    assert_eq!(param(&params, "issuer"), "dsms");
    assert_eq!(param(&params, "algorithm"), "SHA1");
    assert_eq!(param(&params, "digits"), "6");
    assert_eq!(param(&params, "period"), "30");
    let png = STANDARD
        .decode(enrolment["qr_png_base64"].as_str().expect("qr"))
        .expect("base64 PNG");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG image");

    let code = app.next_totp(secret);
    let confirm = expect(
        app.post(
            "/api/v1/auth/totp/confirm",
            &json!({"mfa_token": mfa_token, "code": code}),
        )
        .await,
        200,
    )
    .await;
    let recovery: HashSet<&str> = confirm["recovery_codes"]
        .as_array()
        .expect("recovery codes")
        .iter()
        .map(|c| c.as_str().expect("a code"))
        .collect();
    assert_eq!(recovery.len(), 10, "ten distinct recovery codes: {confirm}");
    assert_eq!(confirm["token_type"], "Bearer");
    assert_eq!(confirm["expires_in"], 900);
    let access_token = confirm["access_token"].as_str().expect("access token");

    let me = app.bearer(access_token).me().await;
    assert_eq!(me["email"], initial.email);
    assert_eq!(me["kind"], "person");
    assert_eq!(me["organisation"]["name"], "DCC");
    assert!(me["organisation"]["id"].as_str().is_some(), "{me}");
    assert_eq!(me["roles"], json!(["dcc_admin"]));
    assert_eq!(me["mfa_enrolled"], true);

    // A second sign-in: the account has TOTP now.
    let login = expect(app.login(&initial.email, &initial.password).await, 200).await;
    assert_eq!(login["mfa"], "totp", "{login}");
    let code = app.next_totp(secret);
    let verified = expect(
        app.verify_code(login["mfa_token"].as_str().unwrap(), &code)
            .await,
        200,
    )
    .await;
    assert_eq!(verified["token_type"], "Bearer");
    assert_eq!(verified["expires_in"], 900);
    let second = app.bearer(verified["access_token"].as_str().unwrap());
    assert_eq!(second.me().await["id"], me["id"]);
}

#[tokio::test]
async fn access_tokens_are_short_lived_hs256_jwts_naming_issuer_audience_and_session() {
    let app = app().await;
    let admin = app.sign_in_admin().await;
    let other = app.sign_in_again(&admin).await;

    let header = jwt_part(&admin.access_token, 0);
    assert_eq!(header["alg"], "HS256");
    let claims = jwt_part(&admin.access_token, 1);
    assert_eq!(claims["sub"], admin.person_id);
    assert_eq!(claims["iss"], "dsms");
    assert_eq!(claims["aud"], "dsms-api");
    assert_eq!(claims["iat"], app.now().timestamp());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
    let sid = claims["sid"].as_str().expect("a session id");
    assert_ne!(
        jwt_part(&other.access_token, 1)["sid"].as_str().unwrap(),
        sid,
        "every sign-in is its own session"
    );
}

#[tokio::test]
async fn the_first_administrator_must_change_the_initial_password_before_anything_else() {
    let app = app().await;
    let initial = app.initial_admin.clone().unwrap();
    let admin = app
        .sign_in_enrolling(&initial.email, &initial.password)
        .await;
    let me = admin.me().await;
    assert_eq!(me["must_change_password"], true);

    let refused = expect_problem(
        admin.get("/api/v1/users").await,
        403,
        "password-change-required",
    )
    .await;
    assert!(refused["detail"].as_str().unwrap().contains("/me/password"));
    expect_problem(
        admin
            .post(
                "/api/v1/organisations",
                &json!({"name": "X", "sec_roles": ["import_supplier"]}),
            )
            .await,
        403,
        "password-change-required",
    )
    .await;

    for res in [
        admin.get("/api/v1/incidents").await,
        admin.get("/api/v1/incidents/1").await,
        admin.post("/api/v1/incidents", &json!({})).await,
    ] {
        expect_problem(res, 403, "password-change-required").await;
    }

    let new_password = strong_password();
    expect(
        admin
            .post(
                "/api/v1/me/password",
                &json!({"current_password": initial.password, "new_password": new_password}),
            )
            .await,
        204,
    )
    .await;
    assert_eq!(admin.me().await["must_change_password"], false);
    expect(admin.get("/api/v1/users").await, 200).await;

    expect_problem(
        app.login(&initial.email, &initial.password).await,
        401,
        "unauthenticated",
    )
    .await;
    let (_, mfa) = app.login_ok(&initial.email, &new_password).await;
    assert_eq!(mfa, "totp");
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test]
async fn wrong_password_and_unknown_account_get_the_same_answer_after_the_same_work() {
    // The real password-hash cost, so that skipping the hash for unknown accounts would show;
    // no throttling, so every attempt reaches the password check.
    let app = builder()
        .configure(|c| {
            c.auth.argon2_memory_kib = 19_456;
            c.auth.argon2_iterations = 2;
            c.auth.throttle_delay_after = 10_000;
            c.auth.throttle_lock_after = 10_000;
            c.auth.throttle_address_lock_after = 10_000;
        })
        .spawn()
        .await;
    let known = app.initial_admin.clone().unwrap().email;
    let attempt = |email: String| {
        let app = &app;
        async move {
            let started = Instant::now();
            let res = app.login(&email, "not the password at all").await;
            let elapsed = started.elapsed();
            let www = res.headers().get("www-authenticate").cloned();
            let content_type = res.headers().get("content-type").cloned();
            let body = expect(res, 401).await;
            (elapsed, body, www, content_type)
        }
    };

    let (_, known_body, known_www, known_type) = attempt(known.clone()).await;
    let (_, unknown_body, unknown_www, unknown_type) =
        attempt("nobody@nowhere.example".to_owned()).await;
    assert_eq!(known_body, unknown_body, "identical bodies");
    assert_eq!(known_www, unknown_www);
    assert_eq!(known_type, unknown_type);
    dsms_tests::assert_problem(&known_body, 401, "unauthenticated");

    let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..9 {
        wrong.push(attempt(known.clone()).await.0);
        unknown.push(attempt(format!("nobody{i}@nowhere.example")).await.0);
    }
    let (wrong, unknown) = (median(wrong), median(unknown));
    let ratio = unknown.as_secs_f64() / wrong.as_secs_f64();
    assert!(
        (0.4..=2.5).contains(&ratio),
        "unknown account {unknown:?} vs wrong password {wrong:?} (median of 9): the timing \
         tells whether the account exists"
    );
}

#[tokio::test]
async fn deactivated_people_and_suspended_organisations_get_the_same_401_as_a_wrong_password() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let tenant = Tenant::create(&app, &dcc, "Northern Power", "northern.example").await;
    let wrong = expect(
        app.login(&tenant.user.email, "a wrong password entirely")
            .await,
        401,
    )
    .await;

    expect(
        tenant
            .admin
            .patch(
                &format!("/api/v1/users/{}", tenant.user.person_id),
                &json!({"status": "deactivated"}),
            )
            .await,
        200,
    )
    .await;
    let deactivated = expect(
        app.login(&tenant.user.email, &tenant.user.password).await,
        401,
    )
    .await;
    assert_eq!(deactivated, wrong);

    expect(
        dcc.patch(
            &format!("/api/v1/organisations/{}", tenant.id),
            &json!({"status": "suspended"}),
        )
        .await,
        200,
    )
    .await;
    let suspended = expect(
        app.login(&tenant.reporter.email, &tenant.reporter.password)
            .await,
        401,
    )
    .await;
    assert_eq!(suspended, wrong);
}

#[tokio::test]
async fn email_addresses_are_matched_whatever_their_case() {
    let app = app().await;
    let admin = app.sign_in_admin().await;
    let (_, mfa) = app
        .login_ok(&admin.email.to_uppercase(), &admin.password)
        .await;
    assert_eq!(mfa, "totp");
}

#[tokio::test]
async fn login_bodies_are_strict_json_with_each_fault_named() {
    let app = app().await;
    expect_invalid(
        app.post(
            "/api/v1/auth/login",
            &json!({"email": "a@b.example", "password": "x", "remember": true}),
        )
        .await,
        "remember",
    )
    .await;
    expect_invalid(
        app.post("/api/v1/auth/login", &json!({"email": "a@b.example"}))
            .await,
        "password",
    )
    .await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    expect_problem(res, 400, "malformed-request").await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "text/plain")
        .body("email=a@b.example")
        .send()
        .await
        .unwrap();
    expect_problem(res, 415, "unsupported-media-type").await;
}

#[tokio::test]
async fn the_totp_code_an_authenticator_shows_is_the_rfc_6238_code() {
    // The secret from enrolment, fed to the independent implementation at the server's time,
    // gives the code the server accepts; the code of another secret does not work.
    let app = app().await;
    let initial = app.initial_admin.clone().unwrap();
    let (mfa_token, _) = app.login_ok(&initial.email, &initial.password).await;
    let enrolment = expect(
        app.post("/api/v1/auth/totp/enrol", &json!({"mfa_token": mfa_token}))
            .await,
        200,
    )
    .await;
    let secret = enrolment["secret"].as_str().unwrap();
    let other_secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let other_code = totp_code(other_secret, app.unix_now());
    if other_code != totp_code(secret, app.unix_now()) {
        expect_problem(
            app.post(
                "/api/v1/auth/totp/confirm",
                &json!({"mfa_token": mfa_token, "code": other_code}),
            )
            .await,
            401,
            "unauthenticated",
        )
        .await;
    }
    let code = totp_code(secret, app.unix_now());
    app.mark_totp_used(secret, app.unix_now());
    expect(
        app.post(
            "/api/v1/auth/totp/confirm",
            &json!({"mfa_token": mfa_token, "code": code}),
        )
        .await,
        200,
    )
    .await;
}
