//! Brute-force protection: failures slow an account down, then lock it for a period, per
//! account name (whether or not it exists) and per client address; 429 with `Retry-After`.

use chrono::Duration;
use dsms_tests::{TestApp, assert_problem, expect, expect_problem, totp_code};
use serde_json::{Value, json};

use super::builder;

/// A sign-in attempt's status, its `Retry-After` (when 429) and its body.
async fn attempt(app: &TestApp, email: &str, password: &str) -> (u16, Option<u64>, Value) {
    outcome(app.login(email, password).await).await
}

async fn outcome(res: reqwest::Response) -> (u16, Option<u64>, Value) {
    let status = res.status().as_u16();
    let retry_after = res.headers().get("retry-after").map(|v| {
        v.to_str()
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("Retry-After is a number of seconds: {v:?}"))
    });
    let body = res.json().await.unwrap_or(Value::Null);
    if status == 429 {
        assert_problem(&body, 429, "rate-limited");
        assert!(
            retry_after.is_some_and(|s| s > 0),
            "429 carries a positive Retry-After"
        );
    }
    (status, retry_after, body)
}

fn wrong_code(app: &TestApp, secret: &str) -> String {
    let now = app.unix_now();
    let valid: Vec<String> = [now - 30, now, now + 30]
        .iter()
        .map(|t| totp_code(secret, *t))
        .collect();
    ["111111", "222222", "333333", "444444"]
        .into_iter()
        .find(|c| !valid.iter().any(|v| v == c))
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn repeated_wrong_passwords_slow_down_with_429_and_retry_after() {
    let app = builder().spawn().await;
    let admin = app.sign_in_admin().await;
    let delay_after = app.config().auth.throttle_delay_after;
    assert_eq!(delay_after, 3);

    for _ in 0..delay_after {
        assert_eq!(attempt(&app, &admin.email, "wrong password!!").await.0, 401);
    }
    let (status, retry_after, _) = attempt(&app, &admin.email, "wrong password!!").await;
    assert_eq!((status, retry_after), (429, Some(1)));
    let (status, _, _) = attempt(&app, &admin.email, &admin.password).await;
    assert_eq!(status, 429, "even the right password waits its turn");

    app.advance(Duration::seconds(1));
    assert_eq!(attempt(&app, &admin.email, "wrong password!!").await.0, 401);
    let (status, retry_after, _) = attempt(&app, &admin.email, "wrong password!!").await;
    assert_eq!((status, retry_after), (429, Some(2)), "waits double");

    app.advance(Duration::seconds(2));
    app.sign_in(&admin.email, &admin.password, &admin.totp_secret)
        .await;
}

#[tokio::test]
async fn an_account_locks_after_the_limit_even_for_the_right_password_until_the_lock_ends() {
    let app = builder()
        .configure(|c| {
            c.auth.throttle_lock_after = 4;
            c.auth.throttle_delay_after = 100;
        })
        .spawn()
        .await;
    let admin = app.sign_in_admin().await;
    let (earlier_mfa_token, _) = app.login_ok(&admin.email, &admin.password).await;

    for _ in 0..4 {
        assert_eq!(attempt(&app, &admin.email, "wrong password!!").await.0, 401);
    }
    let lock_secs = app.config().auth.lock_mins * 60;
    let (status, retry_after, _) = attempt(&app, &admin.email, &admin.password).await;
    assert_eq!((status, retry_after), (429, Some(lock_secs)));
    // A second factor already under way is stopped too.
    let code = app.next_totp(&admin.totp_secret);
    let (status, _, _) = outcome(app.verify_code(&earlier_mfa_token, &code).await).await;
    assert_eq!(status, 429);

    app.advance(Duration::seconds(lock_secs as i64 - 60));
    let (status, retry_after, _) = attempt(&app, &admin.email, &admin.password).await;
    assert_eq!((status, retry_after), (429, Some(60)));

    app.advance(Duration::seconds(60));
    let fresh = app
        .sign_in(&admin.email, &admin.password, &admin.totp_secret)
        .await;
    assert_eq!(fresh.me_status().await, 200);

    let locked = expect(
        fresh
            .get(&format!(
                "/api/v1/audit?action=sign_in.locked&entity_type=person&entity_id={}",
                admin.person_id
            ))
            .await,
        200,
    )
    .await;
    assert_eq!(locked["items"].as_array().unwrap().len(), 1, "{locked}");
}

#[tokio::test]
async fn an_unknown_account_is_slowed_and_locked_exactly_like_a_real_one() {
    let app = builder()
        .configure(|c| {
            c.auth.throttle_lock_after = 4;
            c.auth.throttle_delay_after = 2;
        })
        .spawn()
        .await;
    let admin = app.sign_in_admin().await;

    let mut sequences = Vec::new();
    for email in [admin.email.as_str(), "ghost@nowhere.example"] {
        let mut seen = Vec::new();
        for _ in 0..8 {
            let (status, retry_after, body) = attempt(&app, email, "wrong password!!").await;
            seen.push((status, retry_after, body));
            if let Some(wait) = retry_after.filter(|w| *w < 60) {
                app.advance(Duration::seconds(wait as i64));
            }
        }
        sequences.push(seen);
    }
    assert_eq!(
        sequences[0], sequences[1],
        "an outsider cannot tell which account exists"
    );
    let statuses: Vec<(u16, Option<u64>)> = sequences[0].iter().map(|(s, r, _)| (*s, *r)).collect();
    assert_eq!(
        statuses,
        [
            (401, None),
            (401, None),
            (429, Some(1)),
            (401, None),
            (429, Some(2)),
            (401, None),
            (429, Some(900)),
            (429, Some(900)),
        ]
    );

    let locked = expect(
        admin
            .get("/api/v1/audit?action=sign_in.locked&entity_type=account")
            .await,
        200,
    )
    .await;
    assert_eq!(locked["items"][0]["entity_id"], "ghost@nowhere.example");
}

#[tokio::test]
async fn wrong_totp_codes_count_towards_the_lock() {
    let app = builder()
        .configure(|c| {
            c.auth.throttle_lock_after = 4;
            c.auth.throttle_delay_after = 100;
        })
        .spawn()
        .await;
    let admin = app.sign_in_admin().await;
    let (mfa_token, _) = app.login_ok(&admin.email, &admin.password).await;
    let wrong = wrong_code(&app, &admin.totp_secret);
    for _ in 0..4 {
        expect_problem(
            app.verify_code(&mfa_token, &wrong).await,
            401,
            "unauthenticated",
        )
        .await;
    }
    let code = app.next_totp(&admin.totp_secret);
    assert_eq!(
        outcome(app.verify_code(&mfa_token, &code).await).await.0,
        429
    );
    assert_eq!(attempt(&app, &admin.email, &admin.password).await.0, 429);

    let failures = expect(
        admin
            .get(&format!(
                "/api/v1/users/{}/sign-ins?limit=500",
                admin.person_id
            ))
            .await,
        200,
    )
    .await;
    let actions: Vec<&str> = failures["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "sign_in.mfa_failed")
            .count(),
        4,
        "{actions:?}"
    );
    assert_eq!(actions[0], "sign_in.locked", "{actions:?}");
}

#[tokio::test]
async fn a_correct_password_does_not_reset_the_count_of_wrong_totp_codes() {
    let app = builder()
        .configure(|c| {
            c.auth.throttle_lock_after = 4;
            c.auth.throttle_delay_after = 100;
        })
        .spawn()
        .await;
    let admin = app.sign_in_admin().await;
    let wrong = wrong_code(&app, &admin.totp_secret);
    // Someone who has the password but not the authenticator guesses codes, signing in with
    // the password again before each guess.
    for _ in 0..4 {
        let (mfa_token, _) = app.login_ok(&admin.email, &admin.password).await;
        assert_eq!(app.verify_code(&mfa_token, &wrong).await.status(), 401);
    }
    assert_eq!(
        attempt(&app, &admin.email, &admin.password).await.0,
        429,
        "four wrong codes lock the account however they were spread over sign-ins"
    );
}

#[tokio::test]
async fn a_successful_sign_in_clears_earlier_failures() {
    let app = builder()
        .configure(|c| {
            c.auth.throttle_lock_after = 4;
            c.auth.throttle_delay_after = 100;
        })
        .spawn()
        .await;
    let admin = app.sign_in_admin().await;
    for _ in 0..3 {
        assert_eq!(attempt(&app, &admin.email, "wrong password!!").await.0, 401);
    }
    app.sign_in(&admin.email, &admin.password, &admin.totp_secret)
        .await;
    for _ in 0..3 {
        assert_eq!(attempt(&app, &admin.email, "wrong password!!").await.0, 401);
    }
    assert_eq!(attempt(&app, &admin.email, &admin.password).await.0, 200);
}

#[tokio::test]
async fn one_address_failing_across_many_accounts_is_locked_out() {
    let app = builder()
        .configure(|c| {
            c.http.trust_forwarded_for = true;
            c.auth.throttle_address_lock_after = 5;
        })
        .spawn()
        .await;
    let admin = app.sign_in_admin().await;
    let login_from = |ip: &'static str, email: String, password: String| {
        let app = &app;
        async move {
            outcome(
                app.client
                    .post(app.url("/api/v1/auth/login"))
                    .header("x-forwarded-for", ip)
                    .json(&json!({"email": email, "password": password}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    for i in 0..5 {
        let (status, _, _) = login_from(
            "203.0.113.9",
            format!("target{i}@victims.example"),
            "guess guess guess".into(),
        )
        .await;
        assert_eq!(status, 401);
    }
    let (status, retry_after, _) =
        login_from("203.0.113.9", admin.email.clone(), admin.password.clone()).await;
    assert_eq!(status, 429, "the address is locked, whichever account");
    assert!(retry_after.is_some());
    let (status, _, _) =
        login_from("198.51.100.1", admin.email.clone(), admin.password.clone()).await;
    assert_eq!(status, 200, "other addresses are not affected");
}

#[tokio::test]
async fn the_end_of_a_lock_is_audited() {
    let app = builder()
        .configure(|c| {
            c.auth.throttle_lock_after = 2;
            c.auth.throttle_delay_after = 100;
        })
        .spawn()
        .await;
    let admin = app.sign_in_admin().await;
    for _ in 0..2 {
        attempt(&app, &admin.email, "wrong password!!").await;
    }
    app.advance(Duration::minutes(
        i64::try_from(app.config().auth.lock_mins).unwrap(),
    ));
    let fresh = app
        .sign_in(&admin.email, &admin.password, &admin.totp_secret)
        .await;
    let log = expect(
        fresh
            .get(&format!(
                "/api/v1/audit?entity_type=person&entity_id={}&limit=500",
                admin.person_id
            ))
            .await,
        200,
    )
    .await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"sign_in.locked"), "{actions:?}");
    assert!(
        actions.iter().any(|a| a.contains("unlock")),
        "the unlock is audited: {actions:?}"
    );
}
