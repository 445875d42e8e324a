//! The pages behind emailed links: accepting an invitation, asking for a password reset and
//! using the reset link. Tokens are the real ones, read from the emails in the outbox.

use actix_web::cookie::SameSite;
use actix_web::http::StatusCode;
use dsms_auth::Client;

use crate::support::{PASSWORD, link_in, spawn};

const ADA: &str = "ada@supplier.example";
const GRACE: &str = "grace@supplier.example";
const CHOSEN: &str = "a kettle of grey herons";

const INVITATION_INVALID: &str = "This invitation link is no longer valid";
const RESET_INVALID: &str = "This password reset link is no longer valid";

#[actix_web::test]
async fn accepting_an_invitation_sets_the_password_and_sign_in_then_asks_to_enrol() {
    let app = spawn().await;
    let link = app.invite(GRACE);
    assert!(
        link.starts_with("/invitations/accept?token=invite_"),
        "{link}"
    );
    let mut browser = app.browser();
    let form = browser.open_link(&link).await;
    assert!(form.body.contains("<h1>Choose your password</h1>"));

    browser
        .choose_password(&form, CHOSEN, CHOSEN)
        .await
        .assert_redirect("/sign-in?notice=password-set");
    assert!(
        browser.cookie("dsms_invitation_link").is_none(),
        "the token is forgotten"
    );
    let sign_in = browser.get("/sign-in?notice=password-set").await;
    assert!(
        sign_in
            .body
            .contains("Your password is set; sign in to set up your authenticator."),
        "{}",
        sign_in.body
    );
    browser
        .enter_password(GRACE, CHOSEN)
        .await
        .assert_redirect("/sign-in/enrol");
}

#[actix_web::test]
async fn an_invitation_link_works_once() {
    let app = spawn().await;
    let link = app.invite(GRACE);
    let mut first = app.browser();
    let form = first.open_link(&link).await;
    first
        .choose_password(&form, CHOSEN, CHOSEN)
        .await
        .assert_redirect("/sign-in?notice=password-set");

    let mut again = app.browser();
    let form = again.open_link(&link).await;
    let refused = again
        .choose_password(
            &form,
            "another grey heron passphrase",
            "another grey heron passphrase",
        )
        .await;
    assert_eq!(refused.status, StatusCode::GONE);
    assert!(
        refused.body.contains(INVITATION_INVALID),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("ask your administrator to send you a new invitation"),
        "{}",
        refused.body
    );
    assert_eq!(refused.header("cache-control"), "no-store");
    assert!(again.cookie("dsms_invitation_link").is_none());

    // The password chosen the first time still holds.
    app.browser()
        .enter_password(GRACE, CHOSEN)
        .await
        .assert_redirect("/sign-in/enrol");
}

#[actix_web::test]
async fn a_weak_password_shows_the_field_error_and_keeps_the_link_usable() {
    let app = spawn().await;
    let link = app.invite(GRACE);
    let mut browser = app.browser();
    let form = browser.open_link(&link).await;
    let token = form.field("token");
    let cases = [
        (
            "too short",
            "too short",
            "Password must be at least 12 characters",
        ),
        (
            "1qaz2wsx3edc",
            "1qaz2wsx3edc",
            "Password is one of the most commonly used passwords",
        ),
        (
            CHOSEN,
            "a kettle of gray herons",
            "Confirmation does not match the password",
        ),
    ];
    for (new, confirm, message) in cases {
        let answer = browser.choose_password(&form, new, confirm).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(
            answer.body.contains(message),
            "{message} in:\n{}",
            answer.body
        );
        assert!(answer.body.contains("aria-invalid=\"true\""));
        assert!(!answer.body.contains(new), "passwords are never shown back");
        assert_eq!(answer.field("token"), token, "the form keeps the link");
        assert_eq!(answer.header("cache-control"), "no-store");
    }
    browser
        .choose_password(&form, CHOSEN, CHOSEN)
        .await
        .assert_redirect("/sign-in?notice=password-set");
}

#[actix_web::test]
async fn forgot_password_answers_the_same_for_every_address_and_emails_only_accounts() {
    let app = spawn().await;
    app.person(ADA, false);
    let mut browser = app.browser();
    let sign_in = browser.get("/sign-in").await;
    assert!(
        sign_in
            .body
            .contains("<a href=\"/forgot-password\">Forgot your password?</a>"),
        "{}",
        sign_in.body
    );

    let known = browser
        .submit("/forgot-password", "/forgot-password", &[("email", ADA)])
        .await;
    assert_eq!(known.status, StatusCode::OK);
    assert!(
        known
            .body
            .contains("If an account exists for that address, we have emailed a link"),
        "{}",
        known.body
    );
    assert_eq!(known.header("cache-control"), "no-store");
    let emails = app.new_emails();
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert!(link_in(&emails[0], ADA, "/reset-password").is_some());

    for unknown in ["nobody@supplier.example", "not an address"] {
        let answer = browser
            .submit(
                "/forgot-password",
                "/forgot-password",
                &[("email", unknown)],
            )
            .await;
        assert_eq!(answer.status, known.status);
        assert_eq!(
            answer.body.replace(unknown, "ADDRESS"),
            known.body.replace(ADA, "ADDRESS"),
            "the page tells nothing about who has an account"
        );
    }
    assert!(app.new_emails().is_empty(), "no email without an account");

    let empty = browser
        .submit("/forgot-password", "/forgot-password", &[("email", " ")])
        .await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.body.contains("Enter your email address"));
    assert!(empty.body.contains("aria-invalid=\"true\""));
}

#[actix_web::test]
async fn a_reset_link_changes_the_password_once_and_the_old_one_stops_working() {
    let app = spawn().await;
    app.person(ADA, false);
    let mut browser = app.browser();
    browser
        .submit("/forgot-password", "/forgot-password", &[("email", ADA)])
        .await;
    let link = link_in(&app.new_emails()[0], ADA, "/reset-password").expect("the reset link");
    assert!(link.starts_with("/reset-password?token=reset_"), "{link}");
    let form = browser.open_link(&link).await;
    assert!(form.body.contains("<h1>Choose a new password</h1>"));

    let weak = browser
        .choose_password(&form, "too short", "too short")
        .await;
    assert_eq!(weak.status, StatusCode::OK);
    assert!(
        weak.body
            .contains("New password must be at least 12 characters"),
        "{}",
        weak.body
    );

    browser
        .choose_password(&form, CHOSEN, CHOSEN)
        .await
        .assert_redirect("/sign-in?notice=password-reset");
    assert!(browser.cookie("dsms_reset_link").is_none());
    let sign_in = browser.get("/sign-in?notice=password-reset").await;
    assert!(
        sign_in
            .body
            .contains("Your password has been changed; sign in."),
        "{}",
        sign_in.body
    );
    let old = browser.enter_password(ADA, PASSWORD).await;
    assert_eq!(old.status, StatusCode::OK);
    assert!(
        old.body
            .contains("The email address, password or code is not correct"),
        "{}",
        old.body
    );
    browser
        .enter_password(ADA, CHOSEN)
        .await
        .assert_redirect("/sign-in/enrol");

    let mut again = app.browser();
    let form = again.open_link(&link).await;
    let refused = again
        .choose_password(
            &form,
            "another grey heron passphrase",
            "another grey heron passphrase",
        )
        .await;
    assert_eq!(refused.status, StatusCode::GONE);
    assert!(refused.body.contains(RESET_INVALID), "{}", refused.body);
    assert!(refused.body.contains("href=\"/forgot-password\""));
    app.browser()
        .enter_password(ADA, CHOSEN)
        .await
        .assert_redirect("/sign-in/enrol");
}

#[actix_web::test]
async fn a_newer_reset_link_replaces_the_older_one() {
    let app = spawn().await;
    app.person(ADA, false);
    for _ in 0..2 {
        app.identity
            .request_password_reset(ADA, &Client::default())
            .expect("reset requested");
        // One reset email a minute at most.
        app.clock.advance(chrono::Duration::seconds(61));
    }
    let emails = app.new_emails();
    let links: Vec<String> = emails
        .iter()
        .map(|e| link_in(e, ADA, "/reset-password").expect("a reset link"))
        .collect();
    assert_eq!(links.len(), 2);

    let mut browser = app.browser();
    let form = browser.open_link(&links[0]).await;
    let refused = browser.choose_password(&form, CHOSEN, CHOSEN).await;
    assert_eq!(refused.status, StatusCode::GONE);
    assert!(refused.body.contains(RESET_INVALID));
    let form = browser.open_link(&links[1]).await;
    browser
        .choose_password(&form, CHOSEN, CHOSEN)
        .await
        .assert_redirect("/sign-in?notice=password-reset");
}

#[actix_web::test]
async fn a_link_page_without_a_usable_token_says_the_link_is_not_valid() {
    let app = spawn().await;
    let mut browser = app.browser();
    for (path, title, cookie) in [
        (
            "/invitations/accept",
            INVITATION_INVALID,
            "dsms_invitation_link",
        ),
        ("/reset-password", RESET_INVALID, "dsms_reset_link"),
    ] {
        for url in [
            path.to_owned(),
            format!("{path}?token="),
            format!("{path}?token=a%3B%20Path%3D%2F"),
            format!("{path}?token={}", "a".repeat(129)),
        ] {
            let answer = browser.get(&url).await;
            assert_eq!(answer.status, StatusCode::GONE, "{url}");
            assert!(answer.body.contains(title), "{url}: {}", answer.body);
            assert!(!answer.body.contains("<form"), "{url}");
            assert_eq!(answer.header("cache-control"), "no-store");
            assert!(
                answer.cookie(cookie).is_none_or(|c| c.value().is_empty()),
                "{url}: only a well-formed token is kept"
            );
        }
        // A forged form with a made-up token gets the same answer.
        browser.set_cookie(cookie, "invite_madeup", path);
        let form = browser.get(path).await;
        assert_eq!(form.status, StatusCode::OK);
        let refused = browser.choose_password(&form, CHOSEN, CHOSEN).await;
        assert_eq!(refused.status, StatusCode::GONE);
        assert!(refused.body.contains(title));
    }
}

#[actix_web::test]
async fn the_token_leaves_the_address_bar_for_a_short_lived_cookie_of_its_page() {
    let app = spawn().await;
    app.person(ADA, false);
    app.identity
        .request_password_reset(ADA, &Client::default())
        .expect("reset requested");
    let reset = link_in(&app.new_emails()[0], ADA, "/reset-password").expect("reset link");
    let invitation = app.invite(GRACE);

    for (link, path, link_cookie, csrf_cookie) in [
        (
            &invitation,
            "/invitations/accept",
            "dsms_invitation_link",
            "dsms_invitation_csrf",
        ),
        (
            &reset,
            "/reset-password",
            "dsms_reset_link",
            "dsms_reset_csrf",
        ),
    ] {
        let token = link.split_once("?token=").expect("a token").1;
        let mut browser = app.browser();
        let opened = browser.get(link).await;
        opened.assert_redirect(path);
        assert_eq!(opened.header("cache-control"), "no-store");
        assert_eq!(opened.header("referrer-policy"), "no-referrer");
        assert!(opened.body.is_empty(), "nothing is loaded from that URL");
        let cookie = opened.cookie(link_cookie).expect("the token's cookie");
        assert_eq!(cookie.value(), token);
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert_eq!(cookie.path(), Some(path));
        let lifetime = cookie.max_age().expect("a lifetime").whole_seconds();
        assert!((1..=900).contains(&lifetime), "{lifetime}");

        let form = browser.get(path).await;
        assert_eq!(form.status, StatusCode::OK);
        assert_eq!(form.field("token"), token);
        assert_eq!(form.body.matches(token).count(), 1, "only in the form");
        assert_eq!(form.header("cache-control"), "no-store");
        assert_eq!(form.header("referrer-policy"), "no-referrer");
        assert!(
            form.header("content-security-policy")
                .starts_with("default-src 'none'")
        );
        assert!(!form.body.contains("://"), "nothing from another site");
        assert!(!form.body.contains("<script>"), "no inline script");
        let csrf = form.cookie(csrf_cookie).expect("the form's CSRF cookie");
        assert_eq!(csrf.value(), form.field("csrf_token"));
        assert_eq!(csrf.same_site(), Some(SameSite::Strict));
        assert_eq!(csrf.path(), Some(path));
    }
}
