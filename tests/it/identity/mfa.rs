//! The second factor: TOTP codes (RFC 6238, ±1 step, each accepted once), recovery codes, and
//! the single-use, expiring MFA token between the password and the code.

use chrono::Duration;
use dsms_tests::{TestApp, expect, expect_invalid, expect_problem, totp_code};
use serde_json::json;

use super::{app, builder};

/// A six-digit code that is valid for none of the steps the server would accept now.
fn invalid_code(app: &TestApp, secret: &str) -> String {
    let now = app.unix_now();
    let valid: Vec<String> = [now - 30, now, now + 30]
        .iter()
        .map(|t| totp_code(secret, *t))
        .collect();
    (0..)
        .map(|n: u32| format!("{:06}", (n * 7919) % 1_000_000))
        .find(|c| !valid.contains(c))
        .unwrap()
}

async fn verify_recovery(app: &TestApp, mfa_token: &str, code: &str) -> reqwest::Response {
    app.post(
        "/api/v1/auth/totp/verify",
        &json!({"mfa_token": mfa_token, "recovery_code": code}),
    )
    .await
}

#[tokio::test]
async fn a_totp_code_is_accepted_only_once_even_with_a_new_mfa_token() {
    let app = app().await;
    let admin = app.sign_in_admin().await;

    let (first, _) = app.login_ok(&admin.email, &admin.password).await;
    let code = app.next_totp(&admin.totp_secret);
    expect(app.verify_code(&first, &code).await, 200).await;

    let (second, _) = app.login_ok(&admin.email, &admin.password).await;
    let replay = expect_problem(
        app.verify_code(&second, &code).await,
        401,
        "unauthenticated",
    )
    .await;
    // Still inside the ±1 window after time moves on: a replay stays refused.
    app.advance(Duration::seconds(30));
    expect_problem(
        app.verify_code(&second, &code).await,
        401,
        "unauthenticated",
    )
    .await;
    // The refusal looks like any other wrong credential.
    let wrong_password = expect(
        app.login("nobody@nowhere.example", "not a password").await,
        401,
    )
    .await;
    assert_eq!(replay, wrong_password);

    // The token was not used up by the refusals: a fresh code still works with it.
    let fresh = app.next_totp(&admin.totp_secret);
    expect(app.verify_code(&second, &fresh).await, 200).await;
}

#[tokio::test]
async fn a_wrong_code_is_refused_with_401() {
    // Without the slow-down after a few failures, which is tested on its own.
    let app = builder()
        .configure(|c| c.auth.throttle_delay_after = 100)
        .spawn()
        .await;
    let admin = app.sign_in_admin().await;
    let (mfa_token, _) = app.login_ok(&admin.email, &admin.password).await;
    let wrong = invalid_code(&app, &admin.totp_secret);
    expect_problem(
        app.verify_code(&mfa_token, &wrong).await,
        401,
        "unauthenticated",
    )
    .await;
    for malformed in ["", "12345", "1234567", "abcdef"] {
        expect_problem(
            app.verify_code(&mfa_token, malformed).await,
            401,
            "unauthenticated",
        )
        .await;
    }
}

#[tokio::test]
async fn codes_are_accepted_one_step_either_side_of_now_and_not_two() {
    let app = app().await;
    let admin = app.sign_in_admin().await;
    app.advance(Duration::seconds(5 * 30));
    let now = app.unix_now();
    let secret = &admin.totp_secret;
    let (mfa_token, _) = app.login_ok(&admin.email, &admin.password).await;

    for (offset, what) in [(-60i64, "two steps old"), (60, "two steps ahead")] {
        let at = now.checked_add_signed(offset).unwrap();
        let code = totp_code(secret, at);
        if [now - 30, now, now + 30]
            .iter()
            .any(|t| totp_code(secret, *t) == code)
        {
            continue; // a one-in-a-million collision with a valid code
        }
        let res = app.verify_code(&mfa_token, &code).await;
        assert_eq!(res.status(), 401, "a code {what} is refused");
    }
    let one_step_old = totp_code(secret, now - 30);
    app.mark_totp_used(secret, now - 30);
    expect(app.verify_code(&mfa_token, &one_step_old).await, 200).await;

    let (mfa_token, _) = app.login_ok(&admin.email, &admin.password).await;
    let one_step_ahead = totp_code(secret, now + 30);
    app.mark_totp_used(secret, now + 30);
    expect(app.verify_code(&mfa_token, &one_step_ahead).await, 200).await;
}

#[tokio::test]
async fn a_recovery_code_works_once() {
    let app = app().await;
    let admin = app.sign_in_admin().await;
    assert_eq!(admin.recovery_codes.len(), 10);

    let (mfa_token, _) = app.login_ok(&admin.email, &admin.password).await;
    let signed_in = expect(
        verify_recovery(&app, &mfa_token, &admin.recovery_codes[0]).await,
        200,
    )
    .await;
    let token = signed_in["access_token"].as_str().unwrap();
    assert_eq!(app.bearer(token).me().await["id"], admin.person_id);

    let (mfa_token, _) = app.login_ok(&admin.email, &admin.password).await;
    expect_problem(
        verify_recovery(&app, &mfa_token, &admin.recovery_codes[0]).await,
        401,
        "unauthenticated",
    )
    .await;
    expect_problem(
        verify_recovery(&app, &mfa_token, "aaaa-bbbb-cccc-dddd").await,
        401,
        "unauthenticated",
    )
    .await;
    // Typed as people type them: upper case, without the dashes.
    let typed = admin.recovery_codes[1].replace('-', "").to_uppercase();
    expect(verify_recovery(&app, &mfa_token, &typed).await, 200).await;

    let used = expect(
        admin
            .get(&format!(
                "/api/v1/audit?action=mfa.recovery_code_used&entity_id={}&entity_type=person",
                admin.person_id
            ))
            .await,
        200,
    )
    .await;
    let items = used["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{used}");
    assert_eq!(items[0]["changes"]["recovery_codes_left"]["to"], 8);
}

#[tokio::test]
async fn an_mfa_token_is_single_use() {
    let app = app().await;
    let initial = app.initial_admin.clone().unwrap();

    // The enrolment token: used up by the confirmation.
    let (enrol_token, _) = app.login_ok(&initial.email, &initial.password).await;
    let enrolled = app.enrol_and_confirm(&enrol_token).await;
    expect_problem(
        app.post(
            "/api/v1/auth/totp/enrol",
            &json!({"mfa_token": enrol_token}),
        )
        .await,
        401,
        "unauthenticated",
    )
    .await;
    let code = app.next_totp(&enrolled.secret);
    expect_problem(
        app.post(
            "/api/v1/auth/totp/confirm",
            &json!({"mfa_token": enrol_token, "code": code}),
        )
        .await,
        401,
        "unauthenticated",
    )
    .await;

    // The verification token: used up by the sign-in.
    let (mfa_token, _) = app.login_ok(&initial.email, &initial.password).await;
    let code = app.next_totp(&enrolled.secret);
    expect(app.verify_code(&mfa_token, &code).await, 200).await;
    let fresh = app.next_totp(&enrolled.secret);
    let again = expect_problem(
        app.verify_code(&mfa_token, &fresh).await,
        401,
        "unauthenticated",
    )
    .await;
    assert!(
        again["detail"].as_str().unwrap().contains("sign in again"),
        "{again}"
    );
    expect_problem(
        app.verify_code("mfa_not-a-token-at-all", &fresh).await,
        401,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn an_mfa_token_expires_after_the_challenge_ttl() {
    let app = app().await;
    let admin = app.sign_in_admin().await;
    let ttl = i64::try_from(app.config().auth.mfa_challenge_ttl_secs).unwrap();
    assert_eq!(ttl, 300);

    let (in_time, _) = app.login_ok(&admin.email, &admin.password).await;
    app.advance(Duration::seconds(ttl - 1));
    let code = app.next_totp(&admin.totp_secret);
    expect(app.verify_code(&in_time, &code).await, 200).await;

    let (too_late, _) = app.login_ok(&admin.email, &admin.password).await;
    app.advance(Duration::seconds(ttl + 1));
    let code = app.next_totp(&admin.totp_secret);
    expect_problem(
        app.verify_code(&too_late, &code).await,
        401,
        "unauthenticated",
    )
    .await;
    // The code was not spent on the expired token.
    let (mfa_token, _) = app.login_ok(&admin.email, &admin.password).await;
    expect(app.verify_code(&mfa_token, &code).await, 200).await;
}

#[tokio::test]
async fn an_enrolment_token_only_enrols_and_a_verification_token_only_verifies() {
    let app = app().await;
    let initial = app.initial_admin.clone().unwrap();
    let (enrol_token, mfa) = app.login_ok(&initial.email, &initial.password).await;
    assert_eq!(mfa, "enrol");
    expect_problem(
        app.verify_code(&enrol_token, "123456").await,
        401,
        "unauthenticated",
    )
    .await;
    // Confirming before enrolment started: there is no secret to check the code against.
    expect_problem(
        app.post(
            "/api/v1/auth/totp/confirm",
            &json!({"mfa_token": enrol_token, "code": "123456"}),
        )
        .await,
        401,
        "unauthenticated",
    )
    .await;
    let enrolled = app.enrol_and_confirm(&enrol_token).await;
    assert_eq!(enrolled.recovery_codes.len(), 10);

    let (verify_token, mfa) = app.login_ok(&initial.email, &initial.password).await;
    assert_eq!(mfa, "totp");
    expect_problem(
        app.post(
            "/api/v1/auth/totp/enrol",
            &json!({"mfa_token": verify_token}),
        )
        .await,
        401,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn verify_takes_exactly_one_of_code_and_recovery_code() {
    let app = app().await;
    let admin = app.sign_in_admin().await;
    let (mfa_token, _) = app.login_ok(&admin.email, &admin.password).await;
    expect_invalid(
        app.post(
            "/api/v1/auth/totp/verify",
            &json!({"mfa_token": mfa_token, "code": "123456", "recovery_code": admin.recovery_codes[0]}),
        )
        .await,
        "code",
    )
    .await;
    expect_invalid(
        app.post("/api/v1/auth/totp/verify", &json!({"mfa_token": mfa_token}))
            .await,
        "code",
    )
    .await;
}
