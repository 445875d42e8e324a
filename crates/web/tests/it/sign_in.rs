use actix_web::http::StatusCode;

use crate::support::{PASSWORD, recovery_codes_on, secret_on, spawn, totp, unix_now};

#[actix_web::test]
async fn a_first_sign_in_enrols_a_phone_and_a_later_one_asks_for_its_code() {
    let app = spawn().await;
    app.person("ada@supplier.example", false);
    let mut browser = app.browser();

    browser
        .enter_password("ada@supplier.example", PASSWORD)
        .await
        .assert_redirect("/sign-in/enrol");
    let enrol = browser.get("/sign-in/enrol").await;
    assert_eq!(enrol.status, StatusCode::OK);
    assert!(
        enrol
            .body
            .contains("<img class=\"qr\" src=\"data:image/png;base64,iVBORw0KGgo")
    );
    let secret = enrol
        .body
        .split("aria-label=\"Setup key\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the secret for typing");
    let groups: Vec<&str> = secret.split(' ').collect();
    assert_eq!(groups.len(), 8, "{secret}");
    assert!(groups.iter().all(|g| g.len() == 4), "{secret}");

    let secret = secret_on(&enrol.body);
    let token = enrol.field("csrf_token");
    let code = totp(&secret, unix_now() - 30);
    let shown = browser
        .post("/sign-in/enrol", &[("code", &code), ("csrf_token", &token)])
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    let codes = recovery_codes_on(&shown.body);
    assert_eq!(codes.len(), 10, "{}", shown.body);
    assert!(shown.body.contains("will not be shown again"));
    assert!(shown.body.contains("href=\"/account\""));
    assert!(shown.cookie("dsms_session").is_some());
    assert_eq!(browser.get("/account").await.status, StatusCode::OK);

    let mut later = app.browser();
    later
        .sign_in("ada@supplier.example", &totp(&secret, unix_now()))
        .await
        .assert_redirect("/account");
    let account = later.get("/account").await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(recovery_codes_on(&account.body).is_empty());
    assert!(!codes.iter().any(|c| account.body.contains(c.as_str())));
}

#[actix_web::test]
async fn recovery_codes_are_shown_once_only() {
    let app = spawn().await;
    app.person("ada@supplier.example", false);
    let mut browser = app.browser();
    browser
        .enter_password("ada@supplier.example", PASSWORD)
        .await;
    let enrol = browser.get("/sign-in/enrol").await;
    let secret = secret_on(&enrol.body);
    let token = enrol.field("csrf_token");
    let code = totp(&secret, unix_now() - 30);
    let form = [("code", code.as_str()), ("csrf_token", token.as_str())];
    let mfa = browser
        .cookie("dsms_mfa")
        .expect("the MFA step's cookie")
        .to_owned();
    let first = browser.post("/sign-in/enrol", &form).await;
    assert_eq!(recovery_codes_on(&first.body).len(), 10);

    // Posting the same enrolment again with the old cookies (someone who copied them) shows
    // nothing: the step was used up.
    browser.set_cookie("dsms_mfa", &mfa, "/sign-in");
    browser.set_cookie("dsms_csrf", &token, "/sign-in");
    let again = browser.post("/sign-in/enrol", &form).await;
    again.assert_redirect("/sign-in?notice=step-expired");
    assert!(recovery_codes_on(&again.body).is_empty());
}

#[actix_web::test]
async fn a_recovery_code_signs_in_once() {
    let app = spawn().await;
    app.person("ada@supplier.example", false);
    let (_, codes, _) = app.browser().first_sign_in("ada@supplier.example").await;
    let code = codes[3].to_uppercase();
    app.browser()
        .sign_in("ada@supplier.example", &code)
        .await
        .assert_redirect("/account");
    let reused = app.browser().sign_in("ada@supplier.example", &code).await;
    assert_eq!(reused.status, StatusCode::OK);
    assert!(
        reused
            .body
            .contains("The email address, password or code is not correct")
    );
    assert!(reused.cookie("dsms_session").is_none());
}

#[actix_web::test]
async fn a_wrong_password_gets_the_generic_message_and_no_session() {
    let app = spawn().await;
    app.person("ada@supplier.example", false);
    let mut browser = app.browser();
    for email in ["ada@supplier.example", "nobody@supplier.example"] {
        let answer = browser.enter_password(email, "not the password").await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(
            answer
                .body
                .contains("The email address, password or code is not correct"),
            "{}",
            answer.body
        );
        assert!(
            answer.body.contains(&format!("value=\"{email}\"")),
            "the email is kept"
        );
        assert!(answer.cookie("dsms_session").is_none());
        assert!(answer.cookie("dsms_mfa").is_none());
    }
    assert!(browser.cookie("dsms_session").is_none());
}

#[actix_web::test]
async fn a_wrong_code_gets_the_generic_message() {
    let app = spawn().await;
    app.person("ada@supplier.example", false);
    let (secret, _, _) = app.browser().first_sign_in("ada@supplier.example").await;
    let wrong = format!(
        "{:06}",
        (totp(&secret, unix_now()).parse::<u32>().unwrap() + 1) % 1_000_000
    );
    let answer = app.browser().sign_in("ada@supplier.example", &wrong).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer
            .body
            .contains("The email address, password or code is not correct")
    );
    assert!(answer.cookie("dsms_session").is_none());
}

#[actix_web::test]
async fn repeated_failures_are_throttled_with_429_and_retry_after() {
    let app = spawn().await;
    app.person("ada@supplier.example", false);
    let mut browser = app.browser();
    let mut last = None;
    for _ in 0..5 {
        last = Some(
            browser
                .enter_password("ada@supplier.example", "wrong password")
                .await,
        );
    }
    let last = last.expect("an answer");
    assert_eq!(last.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = last
        .header("retry-after")
        .parse()
        .expect("Retry-After seconds");
    assert!(wait > 0);
}

#[actix_web::test]
async fn throttling_is_explained_on_the_sign_in_page() {
    let app = spawn().await;
    app.person("ada@supplier.example", false);
    let mut browser = app.browser();
    let mut last = None;
    for _ in 0..5 {
        last = Some(
            browser
                .enter_password("ada@supplier.example", "wrong password")
                .await,
        );
    }
    let last = last.expect("an answer");
    assert_eq!(last.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(last.header("content-type").starts_with("text/html"));
    let wait = last.header("retry-after");
    let unit = if wait == "1" { "second" } else { "seconds" };
    assert!(
        last.body
            .contains(&format!("Too many attempts; try again in {wait} {unit}")),
        "{}",
        last.body
    );
    assert!(last.body.contains("value=\"ada@supplier.example\""));
}

#[actix_web::test]
async fn the_mfa_step_token_stays_in_a_short_lived_strict_cookie_and_out_of_urls() {
    let app = spawn().await;
    app.person("ada@supplier.example", false);
    let mut browser = app.browser();
    let answer = browser
        .enter_password("ada@supplier.example", PASSWORD)
        .await;
    assert!(!answer.location().contains("mfa_"));
    let cookie = answer.cookie("dsms_mfa").expect("the MFA step's cookie");
    assert!(cookie.value().starts_with("mfa_"));
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(
        cookie.same_site(),
        Some(actix_web::cookie::SameSite::Strict)
    );
    assert_eq!(cookie.path(), Some("/sign-in"));
    let lifetime = cookie.max_age().expect("a lifetime").whole_seconds();
    assert!((1..=300).contains(&lifetime), "{lifetime}");
}

#[actix_web::test]
async fn the_code_step_without_a_password_step_goes_back_to_the_start() {
    let app = spawn().await;
    let mut browser = app.browser();
    browser
        .get("/sign-in/totp")
        .await
        .assert_redirect("/sign-in");
    browser
        .get("/sign-in/enrol")
        .await
        .assert_redirect("/sign-in");
}
