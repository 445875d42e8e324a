use actix_web::http::StatusCode;

use crate::support::{PASSWORD, spawn, totp, unix_now};

#[actix_web::test]
async fn the_account_page_shows_who_is_signed_in() {
    let app = spawn().await;
    app.person("ada@supplier.example", false);
    let mut browser = app.browser();
    browser.first_sign_in("ada@supplier.example").await;
    let account = browser.get("/account").await;
    assert_eq!(account.status, StatusCode::OK);
    for shown in [
        "Ada Lovelace",
        "ada@supplier.example",
        "Supplier of ada@supplier.example",
        "Organisation user, Organisation reporter",
        "<dt>Authenticator app</dt><dd>Set up</dd>",
        "href=\"/account/password\"",
        "action=\"/sign-out\"",
    ] {
        assert!(
            account.body.contains(shown),
            "{shown} in:\n{}",
            account.body
        );
    }
    assert!(
        !account.body.contains("<dd>Never</dd>"),
        "the sign-in just made is shown"
    );
}

#[actix_web::test]
async fn pages_for_signed_in_people_send_others_to_sign_in() {
    let app = spawn().await;
    let mut browser = app.browser();
    browser.get("/account").await.assert_redirect("/sign-in");
    browser
        .get("/account/password")
        .await
        .assert_redirect("/sign-in");
    browser.get("/").await.assert_redirect("/sign-in");
    let sign_in = browser.get("/sign-in").await;
    assert_eq!(sign_in.status, StatusCode::OK);
    assert!(!sign_in.body.contains("Your session has ended"));
}

#[actix_web::test]
async fn the_start_page_sends_a_signed_in_person_to_their_account() {
    let app = spawn().await;
    app.person("ada@supplier.example", false);
    let mut browser = app.browser();
    browser.first_sign_in("ada@supplier.example").await;
    browser.get("/").await.assert_redirect("/account");
}

#[actix_web::test]
async fn signing_out_makes_the_old_cookie_useless() {
    let app = spawn().await;
    app.person("ada@supplier.example", false);
    let mut browser = app.browser();
    browser.first_sign_in("ada@supplier.example").await;
    let old = browser
        .cookie("dsms_session")
        .expect("signed in")
        .to_owned();
    let account = browser.get("/account").await;
    let token = account.field("csrf_token");

    let out = browser.post("/sign-out", &[("csrf_token", &token)]).await;
    out.assert_redirect("/sign-in?notice=signed-out");
    let cleared = out.cookie("dsms_session").expect("the cookie is cleared");
    assert_eq!(cleared.max_age().map(|a| a.whole_seconds()), Some(0));
    assert!(browser.cookie("dsms_session").is_none());
    assert!(
        browser
            .get("/sign-in?notice=signed-out")
            .await
            .body
            .contains("You have signed out.")
    );

    let mut stale = app.browser();
    stale.set_cookie("dsms_session", &old, "/");
    let answer = stale.get("/account").await;
    answer.assert_redirect("/sign-in?notice=session-ended");
    assert!(
        answer
            .cookie("dsms_session")
            .is_some_and(|c| c.value().is_empty())
    );
    assert!(
        stale.cookie("dsms_session").is_none(),
        "the stale cookie is cleared"
    );
    let sign_in = stale.get(answer.location()).await;
    assert!(
        sign_in
            .body
            .contains("Your session has ended; sign in again.")
    );
}

#[actix_web::test]
async fn an_unknown_session_cookie_is_cleared_with_a_notice() {
    let app = spawn().await;
    let mut browser = app.browser();
    browser.set_cookie("dsms_session", "made-up", "/");
    browser
        .get("/account")
        .await
        .assert_redirect("/sign-in?notice=session-ended");
    assert!(browser.cookie("dsms_session").is_none());
}

#[actix_web::test]
async fn a_person_told_to_change_their_password_must_do_so_first() {
    let app = spawn().await;
    app.person("ada@supplier.example", true);
    let mut browser = app.browser();
    let (secret, _, shown) = browser.first_sign_in("ada@supplier.example").await;
    assert!(
        shown.body.contains("href=\"/account/password\""),
        "{}",
        shown.body
    );
    browser
        .get("/account")
        .await
        .assert_redirect("/account/password");

    let mut later = app.browser();
    later
        .sign_in("ada@supplier.example", &totp(&secret, unix_now()))
        .await
        .assert_redirect("/account/password");
    let form = later.get("/account/password").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body
            .contains("You must choose a new password before you continue.")
    );

    later
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a kettle of grey herons"),
                ("confirm_password", "a kettle of grey herons"),
            ],
        )
        .await
        .assert_redirect("/account?notice=password-changed");
    let account = later.get("/account?notice=password-changed").await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.body.contains("Your password has been changed."));
}

#[actix_web::test]
async fn a_password_change_shows_what_is_wrong_with_each_field() {
    let app = spawn().await;
    app.person("ada@supplier.example", false);
    let mut browser = app.browser();
    browser.first_sign_in("ada@supplier.example").await;
    let cases = [
        (
            "not my password",
            "a kettle of grey herons",
            "a kettle of grey herons",
            "Current password is not your current password",
        ),
        (
            PASSWORD,
            "too short",
            "too short",
            "New password must be at least 12 characters",
        ),
        (
            PASSWORD,
            "a kettle of grey herons",
            "a kettle of gray herons",
            "Confirmation does not match the new password",
        ),
    ];
    for (current, new, confirm, message) in cases {
        let answer = browser
            .submit(
                "/account/password",
                "/account/password",
                &[
                    ("current_password", current),
                    ("new_password", new),
                    ("confirm_password", confirm),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(
            answer.body.contains(message),
            "{message} in:\n{}",
            answer.body
        );
        assert!(answer.body.contains("aria-invalid=\"true\""));
        assert!(!answer.body.contains(new), "passwords are never shown back");
    }
    // Nothing changed: the old password still signs in.
    browser
        .enter_password("ada@supplier.example", PASSWORD)
        .await
        .assert_redirect("/sign-in/totp");
}
