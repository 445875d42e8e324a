//! Every form post must carry a valid CSRF token and must not come from another site.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::test::TestRequest;

use crate::support::{PASSWORD, spawn};

const SIGN_IN: &[(&str, &str)] = &[("email", "ada@supplier.example"), ("password", PASSWORD)];

fn with_token<'a>(fields: &[(&'a str, &'a str)], token: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut fields = fields.to_vec();
    fields.push(("csrf_token", token));
    fields
}

#[actix_web::test]
async fn a_sign_in_without_a_valid_token_is_refused() {
    let app = spawn().await;
    app.person("ada@supplier.example", false);
    let mut browser = app.browser();
    let form = browser.get("/sign-in").await;
    let token = form.field("csrf_token");
    assert_eq!(browser.cookie("dsms_csrf"), Some(token.as_str()));

    let missing = browser.post("/sign-in", SIGN_IN).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.cookie("dsms_mfa").is_none());

    // Change the first character to a different one (a random token may already start with 'x').
    let first = if token.starts_with('x') { "y" } else { "x" };
    let wrong = browser
        .post(
            "/sign-in",
            &with_token(SIGN_IN, &format!("{first}{}", &token[1..])),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);

    // A forging page can get a token of its own, but not the one in this browser's cookie.
    let attacker_token = app.browser().get("/sign-in").await.field("csrf_token");
    let forged = browser
        .post("/sign-in", &with_token(SIGN_IN, &attacker_token))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let mut no_cookie = app.browser();
    let answer = no_cookie
        .post("/sign-in", &with_token(SIGN_IN, &token))
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);

    browser
        .post("/sign-in", &with_token(SIGN_IN, &token))
        .await
        .assert_redirect("/sign-in/enrol");
}

#[actix_web::test]
async fn a_post_from_another_origin_is_refused_even_with_the_token() {
    let app = spawn().await;
    app.person("ada@supplier.example", false);
    let mut browser = app.browser();
    let token = browser.get("/sign-in").await.field("csrf_token");
    let fields = with_token(SIGN_IN, &token);
    let cross_site = browser
        .send(
            TestRequest::post()
                .insert_header((header::ORIGIN, "https://evil.example"))
                .set_form(&fields),
            "/sign-in",
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    assert!(cross_site.cookie("dsms_mfa").is_none());

    // Without Origin (an old browser), the token alone is enough; so is the Host it was sent to.
    browser
        .send(TestRequest::post().set_form(&fields), "/sign-in")
        .await
        .assert_redirect("/sign-in/enrol");
    browser
        .send(
            TestRequest::post()
                .insert_header((header::ORIGIN, "http://desk.internal:8080"))
                .insert_header((header::HOST, "desk.internal:8080"))
                .set_form(&fields),
            "/sign-in",
        )
        .await
        .assert_redirect("/sign-in/enrol");
}

#[actix_web::test]
async fn signed_in_forms_need_the_session_token_and_this_origin() {
    let app = spawn().await;
    app.person("ada@supplier.example", false);
    let mut browser = app.browser();
    browser.first_sign_in("ada@supplier.example").await;
    let token = browser.get("/account").await.field("csrf_token");
    let sign_in_token = app.browser().get("/sign-in").await.field("csrf_token");

    for fields in [
        vec![],
        vec![("csrf_token", "")],
        vec![("csrf_token", sign_in_token.as_str())],
    ] {
        let answer = browser.post("/sign-out", &fields).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{fields:?}");
    }
    let password = [
        ("current_password", PASSWORD),
        ("new_password", "a kettle of grey herons"),
        ("confirm_password", "a kettle of grey herons"),
    ];
    let answer = browser.post("/account/password", &password).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let cross_site = browser
        .send(
            TestRequest::post()
                .insert_header((header::ORIGIN, "https://evil.example"))
                .set_form([("csrf_token", token.as_str())]),
            "/sign-out",
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);

    // None of that changed anything: still signed in, password unchanged.
    assert_eq!(browser.get("/account").await.status, StatusCode::OK);
    browser
        .post("/sign-out", &[("csrf_token", &token)])
        .await
        .assert_redirect("/sign-in?notice=signed-out");
}

#[actix_web::test]
async fn a_refused_form_gets_an_explanation_page() {
    let app = spawn().await;
    let mut browser = app.browser();
    browser.get("/sign-in").await;
    let answer = browser.post("/sign-in", SIGN_IN).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.header("content-type").starts_with("text/html"));
    assert!(answer.body.contains("This form could not be accepted"));
    assert!(
        answer
            .header("content-security-policy")
            .starts_with("default-src 'none'")
    );
}

#[actix_web::test]
async fn the_forms_behind_emailed_links_need_their_token_and_this_origin() {
    let app = spawn().await;
    app.person("ada@supplier.example", false);
    let invitation = app.invite("grace@supplier.example");
    app.identity
        .request_password_reset("ada@supplier.example", &dsms_auth::Client::default())
        .expect("reset requested");
    let reset = crate::support::link_in(
        &app.new_emails()[0],
        "ada@supplier.example",
        "/reset-password",
    )
    .expect("the reset link");
    let mut browser = app.browser();

    let forgot = browser.get("/forgot-password").await;
    let token = forgot.field("csrf_token");
    let email = [("email", "ada@supplier.example")];
    let other_token = app
        .browser()
        .get("/forgot-password")
        .await
        .field("csrf_token");
    for fields in [email.to_vec(), with_token(&email, &other_token)] {
        let answer = browser.post("/forgot-password", &fields).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{fields:?}");
    }
    let cross_site = browser
        .send(
            TestRequest::post()
                .insert_header((header::ORIGIN, "https://evil.example"))
                .set_form(with_token(&email, &token)),
            "/forgot-password",
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    assert!(app.new_emails().is_empty(), "no email was sent");

    for (link, path) in [
        (&invitation, "/invitations/accept"),
        (&reset, "/reset-password"),
    ] {
        let form = browser.open_link(link).await;
        let (link_token, csrf_token) = (form.field("token"), form.field("csrf_token"));
        let choice = [
            ("token", link_token.as_str()),
            ("new_password", "a kettle of grey herons"),
            ("confirm_password", "a kettle of grey herons"),
        ];
        let missing = browser.post(path, &choice).await;
        assert_eq!(missing.status, StatusCode::FORBIDDEN, "{path}");
        assert!(missing.body.contains("This form could not be accepted"));
        let cross_site = browser
            .send(
                TestRequest::post()
                    .insert_header((header::ORIGIN, "https://evil.example"))
                    .set_form(with_token(&choice, &csrf_token)),
                path,
            )
            .await;
        assert_eq!(cross_site.status, StatusCode::FORBIDDEN, "{path}");
        // Nothing was used up: the link still works.
        browser
            .choose_password(&form, "a kettle of grey herons", "a kettle of grey herons")
            .await
            .assert_redirect(&format!(
                "/sign-in?notice={}",
                if path == "/reset-password" {
                    "password-reset"
                } else {
                    "password-set"
                }
            ));
    }
}
