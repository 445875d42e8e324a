//! People's access tokens: HS256 JWTs pinned to one algorithm and key, each naming a
//! server-side session that logout, deactivation and suspension end at once.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use dsms_auth::credentials::MasterKey;
use dsms_tests::{TestApp, expect, expect_problem};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::{Sha256, Sha384, Sha512};

use super::sign_in::jwt_part;
use super::{Tenant, app};

/// The key the server signs access tokens with, derived from the key file it created.
fn signing_key(app: &TestApp) -> [u8; 32] {
    MasterKey::load_or_create(&app.data_dir().join("secret.key"))
        .expect("the server's key file")
        .derive("dsms access tokens v1")
}

fn part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn mac<M: Mac + KeyInit>(key: &[u8], input: &str) -> Vec<u8> {
    let mut mac = <M as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(input.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A token assembled by hand and signed with `alg` under `key`, as an attacker would.
fn forge(alg: &str, key: &[u8], claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        part(&json!({"alg": alg, "typ": "JWT"})),
        part(claims)
    );
    let signature = match alg {
        "HS256" => mac::<Hmac<Sha256>>(key, &input),
        "HS384" => mac::<Hmac<Sha384>>(key, &input),
        "HS512" => mac::<Hmac<Sha512>>(key, &input),
        other => panic!("cannot sign {other}"),
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

async fn assert_refused(app: &TestApp, token: &str, what: &str) {
    let res = app.bearer(token).get("/api/v1/me").await;
    assert_eq!(res.status(), 401, "{what} must be refused");
    assert_eq!(res.headers()["www-authenticate"], "Bearer", "{what}");
    expect_problem(res, 401, "unauthenticated").await;
}

#[tokio::test]
async fn forged_tampered_and_malformed_access_tokens_are_refused() {
    let app = app().await;
    let admin = app.sign_in_admin().await;
    let key = signing_key(&app);
    let claims = jwt_part(&admin.access_token, 1);
    let with = |field: &str, value: Value| {
        let mut c = claims.clone();
        c[field] = value;
        c
    };

    // Control: a token forged here with the server's key and the real claims is accepted, so
    // each refusal below is down to the one thing that differs.
    let faithful = forge("HS256", &key, &with("jti", json!("forged-1")));
    assert_eq!(app.bearer(&faithful).me_status().await, 200);

    let unsigned = format!(
        "{}.{}.",
        part(&json!({"alg": "none", "typ": "JWT"})),
        part(&claims)
    );
    assert_refused(&app, &unsigned, "alg: none").await;
    let unsigned_upper = format!(
        "{}.{}.",
        part(&json!({"alg": "NONE", "typ": "JWT"})),
        part(&claims)
    );
    assert_refused(&app, &unsigned_upper, "alg: NONE").await;
    assert_refused(
        &app,
        &forge("HS512", &key, &claims),
        "HS512 with the real key",
    )
    .await;
    assert_refused(
        &app,
        &forge("HS384", &key, &claims),
        "HS384 with the real key",
    )
    .await;
    assert_refused(
        &app,
        &forge("HS256", &[7u8; 32], &claims),
        "a token signed with another key",
    )
    .await;

    let mut pieces = admin.access_token.split('.');
    let (header, _, signature) = (
        pieces.next().unwrap(),
        pieces.next(),
        pieces.next().unwrap(),
    );
    let tampered = format!("{header}.{}.{signature}", part(&with("sub", json!("2"))));
    assert_refused(&app, &tampered, "a tampered payload").await;
    let tampered_exp = format!(
        "{header}.{}.{signature}",
        part(&with(
            "exp",
            json!(claims["exp"].as_i64().unwrap() + 86_400)
        ))
    );
    assert_refused(&app, &tampered_exp, "an extended expiry").await;

    // Correctly signed, but not for this service, or not a live session.
    assert_refused(
        &app,
        &forge("HS256", &key, &with("aud", json!("another-api"))),
        "another audience",
    )
    .await;
    assert_refused(
        &app,
        &forge("HS256", &key, &with("iss", json!("someone-else"))),
        "another issuer",
    )
    .await;
    assert_refused(
        &app,
        &forge("HS256", &key, &with("sid", json!("no-such-session"))),
        "an unknown session",
    )
    .await;
    let mut no_exp = claims.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_refused(&app, &forge("HS256", &key, &no_exp), "no exp").await;
    let future = app.now().timestamp() + 3_600;
    let mut issued_later = with("iat", json!(future));
    issued_later["exp"] = json!(future + 900);
    assert_refused(
        &app,
        &forge("HS256", &key, &issued_later),
        "issued in the future",
    )
    .await;

    for garbage in [
        "garbage",
        "a.b.c",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        &admin.access_token[..admin.access_token.len() - 2],
    ] {
        assert_refused(&app, garbage, garbage).await;
    }
    let res = app.get("/api/v1/me").await;
    expect_problem(res, 401, "unauthenticated").await;
    let res = app
        .client
        .get(app.url("/api/v1/me"))
        .basic_auth(&admin.email, Some(&admin.password))
        .send()
        .await
        .unwrap();
    expect_problem(res, 401, "unauthenticated").await;

    // None of that disturbed the real session.
    assert_eq!(admin.me_status().await, 200);
}

#[tokio::test]
async fn an_access_token_stops_working_when_it_expires() {
    let app = app().await;
    let admin = app.sign_in_admin().await;
    let ttl = i64::try_from(app.config().auth.access_token_ttl_secs).unwrap();
    app.advance(Duration::seconds(ttl - 1));
    assert_eq!(admin.me_status().await, 200, "just before expiry");
    app.advance(Duration::seconds(2));
    let res = admin.get("/api/v1/me").await;
    expect_problem(res, 401, "unauthenticated").await;
}

#[tokio::test]
async fn logout_ends_that_session_at_once_and_no_other() {
    let app = app().await;
    let admin = app.sign_in_admin().await;
    let other = app.sign_in_again(&admin).await;

    expect(admin.post("/api/v1/auth/logout", &json!({})).await, 204).await;
    expect_problem(admin.get("/api/v1/me").await, 401, "unauthenticated").await;
    expect_problem(
        admin.post("/api/v1/auth/logout", &json!({})).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_eq!(other.me_status().await, 200, "the other session goes on");

    let signed_out = expect(
        other
            .get(&format!(
                "/api/v1/audit?action=sign_out&entity_id={}",
                admin.person_id
            ))
            .await,
        200,
    )
    .await;
    assert_eq!(signed_out["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn deactivating_a_person_ends_all_their_sessions_at_once() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let tenant = Tenant::create(&app, &dcc, "Southern Gas", "southern.example").await;
    let second = app.sign_in_again(&tenant.user).await;
    assert_eq!(tenant.user.me_status().await, 200);

    let path = format!("/api/v1/users/{}", tenant.user.person_id);
    let updated = expect(
        tenant
            .admin
            .patch(&path, &json!({"status": "deactivated"}))
            .await,
        200,
    )
    .await;
    assert_eq!(updated["status"], "deactivated");
    assert_eq!(tenant.user.me_status().await, 401);
    assert_eq!(second.me_status().await, 401);
    assert_eq!(tenant.reporter.me_status().await, 200, "only that person");

    // Reactivation does not revive the ended sessions; signing in again works.
    expect(
        tenant
            .admin
            .patch(&path, &json!({"status": "active"}))
            .await,
        200,
    )
    .await;
    assert_eq!(tenant.user.me_status().await, 401);
    let fresh = app.sign_in_again(&tenant.user).await;
    assert_eq!(fresh.me_status().await, 200);
}

#[tokio::test]
async fn suspending_an_organisation_stops_its_people_and_api_tokens_at_once() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let suspended = Tenant::create(&app, &dcc, "Eastern Energy", "eastern.example").await;
    let bystander = Tenant::create(&app, &dcc, "Western Water", "western.example").await;
    let (_, token) = app
        .issue_api_token(&suspended.admin, &["incidents:read"])
        .await;
    let (_, bystander_token) = app
        .issue_api_token(&bystander.admin, &["incidents:read"])
        .await;
    assert_eq!(token.me_status().await, 200);

    let org = expect(
        dcc.patch(
            &format!("/api/v1/organisations/{}", suspended.id),
            &json!({"status": "suspended"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(org["status"], "suspended");
    for person in suspended.people() {
        expect_problem(person.get("/api/v1/me").await, 401, "unauthenticated").await;
    }
    expect_problem(token.get("/api/v1/me").await, 401, "unauthenticated").await;
    for person in bystander.people() {
        assert_eq!(person.me_status().await, 200);
    }
    assert_eq!(bystander_token.me_status().await, 200);

    // Withdrawn organisations are stopped the same way.
    expect(
        dcc.patch(
            &format!("/api/v1/organisations/{}", bystander.id),
            &json!({"status": "withdrawn"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(bystander.admin.me_status().await, 401);
    assert_eq!(bystander_token.me_status().await, 401);

    // The operator's own organisation cannot be suspended.
    dsms_tests::expect_invalid(
        dcc.patch(
            &format!("/api/v1/organisations/{}", dcc.organisation_id),
            &json!({"status": "suspended"}),
        )
        .await,
        "status",
    )
    .await;
}

/// Roles are read with the session on every request, so a change applies to the next request
/// with the same access token, and a person with several roles has every one of them.
#[tokio::test]
async fn a_role_change_applies_to_the_next_request_with_the_same_access_token() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let tenant = Tenant::create(&app, &dcc, "Eastern Power", "eastern.example").await;
    let path = format!("/api/v1/users/{}", tenant.user.person_id);
    assert_eq!(tenant.user.get("/api/v1/users").await.status(), 403);

    let updated = expect(
        tenant
            .admin
            .patch(
                &path,
                &json!({"roles": ["org_user", "org_reporter", "org_admin"]}),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(updated["roles"].as_array().map(Vec::len), Some(3));
    assert_eq!(tenant.user.me().await["roles"], updated["roles"]);
    expect(tenant.user.get("/api/v1/users").await, 200).await;

    let updated = expect(
        tenant
            .admin
            .patch(&path, &json!({"roles": ["org_reporter"]}))
            .await,
        200,
    )
    .await;
    assert_eq!(tenant.user.me().await["roles"], json!(["org_reporter"]));
    assert_eq!(updated["roles"], json!(["org_reporter"]));
    assert_eq!(tenant.user.get("/api/v1/users").await.status(), 403);
}
