//! Self-service management: organisation admins invite, deactivate and reset the MFA of their
//! people and see their sign-in activity; people reset and change their own passwords.

use chrono::Duration;
use dsms_tests::{
    TestApp, expect, expect_invalid, expect_problem, problem_fields, strong_password,
};
use serde_json::{Value, json};

use super::{Tenant, app, org_with_admin};

async fn accept(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post(
        "/api/v1/auth/invitations/accept",
        &json!({"token": token, "password": password}),
    )
    .await
}

async fn request_reset(app: &TestApp, email: &str) {
    expect(
        app.post("/api/v1/auth/password-reset", &json!({"email": email}))
            .await,
        202,
    )
    .await;
}

async fn confirm_reset(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post(
        "/api/v1/auth/password-reset/confirm",
        &json!({"token": token, "new_password": password}),
    )
    .await
}

async fn audit_actions(reader: &dsms_tests::Bearer, query: &str) -> Vec<Value> {
    let page = expect(reader.get(&format!("/api/v1/audit?{query}")).await, 200).await;
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_org_admin_invites_a_person_through_an_emailed_single_use_link() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let (org, admin) = org_with_admin(&app, &dcc, "Ynni Cymru", "ynni.example").await;

    let res = admin
        .post(
            "/api/v1/users",
            &json!({
                "email": "Sian@Ynni.Example",
                "name": "Siân Ní Bhriain",
                "organisation_id": org,
                "roles": ["org_user"],
            }),
        )
        .await;
    assert_eq!(res.headers()["etag"], "\"1\"");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let person = expect(res, 201).await;
    let id = person["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/v1/users/{id}"));
    assert_eq!(person["email"], "sian@ynni.example");
    assert_eq!(person["name"], "Siân Ní Bhriain");
    assert_eq!(person["organisation_id"], org);
    assert_eq!(person["roles"], json!(["org_user"]));
    assert_eq!(person["status"], "active");
    assert_eq!(person["mfa_enrolled"], false);
    assert_eq!(person["version"], 1);

    // Not before the invitation is accepted: there is no password yet.
    expect_problem(
        app.login("sian@ynni.example", "").await,
        401,
        "unauthenticated",
    )
    .await;

    let email = app.wait_for_email("sian@ynni.example", "invited").await;
    assert!(email.body.contains("Siân Ní Bhriain"), "{}", email.body);
    assert!(email.body.contains("Ynni Cymru"), "{}", email.body);
    let link = email.link("/invitations/accept");
    assert!(
        link.starts_with(&format!(
            "{}/invitations/accept?token=",
            app.config().http.public_url
        )),
        "{link}"
    );
    let token = email.link_token("/invitations/accept");

    // A refused password does not use the link up.
    expect_invalid(accept(&app, &token, "short").await, "password").await;
    let password = strong_password();
    expect(accept(&app, &token, &password).await, 204).await;
    expect_problem(
        accept(&app, &token, &strong_password()).await,
        401,
        "unauthenticated",
    )
    .await;

    let person = app.sign_in_enrolling("sian@ynni.example", &password).await;
    let me = person.me().await;
    assert_eq!(me["organisation"]["id"], org);
    assert_eq!(me["organisation"]["name"], "Ynni Cymru");
    assert_eq!(me["roles"], json!(["org_user"]));

    let invited = audit_actions(
        &admin,
        &format!("entity_type=person&entity_id={id}&action=invitation."),
    )
    .await;
    let actions: Vec<&str> = invited
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["invitation.accepted", "invitation.sent"]);
    assert_eq!(invited[1]["actor"]["id"], admin.person_id);
}

#[tokio::test]
async fn an_invitation_link_expires() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let (org, admin) = org_with_admin(&app, &dcc, "Ynni Cymru", "ynni.example").await;
    app.invite(&admin, &org, "early@ynni.example", &["org_user"])
        .await;
    app.invite(&admin, &org, "late@ynni.example", &["org_user"])
        .await;
    let early = app
        .wait_for_email("early@ynni.example", "invited")
        .await
        .link_token("/invitations/accept");
    let late = app
        .wait_for_email("late@ynni.example", "invited")
        .await
        .link_token("/invitations/accept");

    let ttl = i64::try_from(app.config().auth.invitation_ttl_hours).unwrap();
    app.advance(Duration::hours(ttl) - Duration::minutes(1));
    expect(accept(&app, &early, &strong_password()).await, 204).await;
    app.advance(Duration::minutes(2));
    expect_problem(
        accept(&app, &late, &strong_password()).await,
        401,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn invitations_are_validated_and_an_address_is_registered_once() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let (org, admin) = org_with_admin(&app, &dcc, "Ynni Cymru", "ynni.example").await;
    let invite = |body: Value| {
        let admin = admin.clone();
        async move { admin.post("/api/v1/users", &body).await }
    };
    expect_invalid(
        invite(json!({"email": "not-an-address", "name": "N", "roles": ["org_user"]})).await,
        "email",
    )
    .await;
    expect_invalid(
        invite(json!({"email": "n@ynni.example", "name": "N", "roles": []})).await,
        "roles",
    )
    .await;
    expect_invalid(
        invite(json!({"email": "n@ynni.example", "name": "N", "roles": ["superuser"]})).await,
        "roles[0]",
    )
    .await;
    expect_invalid(
        invite(json!({"email": "n@ynni.example", "name": " ", "roles": ["org_user"]})).await,
        "name",
    )
    .await;

    app.invite(&admin, &org, "n@ynni.example", &["org_user"])
        .await;
    expect_problem(
        invite(json!({"email": "N@ynni.example", "name": "Again", "roles": ["org_user"]})).await,
        409,
        "conflict",
    )
    .await;
}

#[tokio::test]
async fn an_org_admin_deactivates_a_person_but_nobody_deactivates_themselves() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let tenant = Tenant::create(&app, &dcc, "Ynni Cymru", "ynni.example").await;
    let user_path = format!("/api/v1/users/{}", tenant.user.person_id);

    let updated = expect(
        tenant
            .admin
            .patch(&user_path, &json!({"status": "deactivated"}))
            .await,
        200,
    )
    .await;
    assert_eq!(updated["status"], "deactivated");
    let listed = expect(tenant.admin.get("/api/v1/users").await, 200).await;
    let user = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == tenant.user.person_id)
        .expect("still listed");
    assert_eq!(user["status"], "deactivated");
    expect_problem(
        app.login(&tenant.user.email, &tenant.user.password).await,
        401,
        "unauthenticated",
    )
    .await;

    expect_invalid(
        tenant
            .admin
            .patch(
                &format!("/api/v1/users/{}", tenant.admin.person_id),
                &json!({"status": "deactivated"}),
            )
            .await,
        "status",
    )
    .await;
    expect_invalid(
        tenant
            .admin
            .patch(&user_path, &json!({"status": "paused"}))
            .await,
        "status",
    )
    .await;
    // People without the permission cannot deactivate anyone.
    expect_problem(
        tenant
            .reporter
            .patch(
                &format!("/api/v1/users/{}", tenant.admin.person_id),
                &json!({"status": "deactivated"}),
            )
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(tenant.admin.me_status().await, 200);
}

#[tokio::test]
async fn an_mfa_reset_makes_the_person_enrol_again_and_is_audited() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let tenant = Tenant::create(&app, &dcc, "Ynni Cymru", "ynni.example").await;
    let user = &tenant.user;

    expect_problem(
        tenant
            .reporter
            .post(
                &format!("/api/v1/users/{}/mfa-reset", user.person_id),
                &json!({}),
            )
            .await,
        403,
        "forbidden",
    )
    .await;

    let reset = expect(
        tenant
            .admin
            .post(
                &format!("/api/v1/users/{}/mfa-reset", user.person_id),
                &json!({}),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(reset["mfa_enrolled"], false);
    assert_eq!(user.me_status().await, 401, "their sessions ended");

    let (mfa_token, mfa) = app.login_ok(&user.email, &user.password).await;
    assert_eq!(mfa, "enrol");
    // The old recovery codes and authenticator are gone with it.
    let res = app
        .post(
            "/api/v1/auth/totp/verify",
            &json!({"mfa_token": mfa_token, "recovery_code": user.recovery_codes[0]}),
        )
        .await;
    assert_eq!(res.status(), 401);
    let enrolled = app.enrol_and_confirm(&mfa_token).await;
    assert_ne!(enrolled.secret, user.totp_secret, "a new secret");
    assert_eq!(app.bearer(&enrolled.access_token).me_status().await, 200);

    let entries = audit_actions(
        &tenant.admin,
        &format!(
            "action=mfa.reset&entity_type=person&entity_id={}",
            user.person_id
        ),
    )
    .await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["actor"]["kind"], "person");
    assert_eq!(entries[0]["actor"]["id"], tenant.admin.person_id);
    assert_eq!(entries[0]["organisation_id"], tenant.id);
    assert_eq!(
        entries[0]["changes"]["mfa_enrolled"],
        json!({"from": true, "to": false})
    );
}

#[tokio::test]
async fn an_org_admin_sees_a_persons_sign_in_activity() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let tenant = Tenant::create(&app, &dcc, "Ynni Cymru", "ynni.example").await;
    let user = &tenant.user;
    expect(app.login(&user.email, "not the right password").await, 401).await;
    app.advance(Duration::seconds(1));
    app.sign_in_again(user).await;

    let path = format!("/api/v1/users/{}/sign-ins", user.person_id);
    let activity = expect(tenant.admin.get(&path).await, 200).await;
    let actions: Vec<&str> = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.iter().all(|a| a.starts_with("sign_")),
        "{actions:?}"
    );
    assert_eq!(actions[0], "sign_in.succeeded", "newest first: {actions:?}");
    assert!(actions.contains(&"sign_in.failed"), "{actions:?}");
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "sign_in.succeeded")
            .count(),
        2,
        "{actions:?}"
    );
    let latest = &activity["items"][0];
    assert_eq!(latest["entity_id"], user.person_id);
    assert_eq!(latest["changes"]["ip"]["to"], "127.0.0.1");
    assert!(latest["occurred_at"].as_str().unwrap().ends_with('Z'));

    // People see their own activity, not their colleagues'.
    expect(user.get(&path).await, 200).await;
    expect_problem(tenant.reporter.get(&path).await, 403, "forbidden").await;
}

#[tokio::test]
async fn a_password_reset_request_is_202_for_anyone_but_emails_only_real_active_accounts() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let tenant = Tenant::create(&app, &dcc, "Ynni Cymru", "ynni.example").await;
    expect(
        tenant
            .admin
            .patch(
                &format!("/api/v1/users/{}", tenant.reporter.person_id),
                &json!({"status": "deactivated"}),
            )
            .await,
        200,
    )
    .await;

    let before = app.outbox_rows().await;
    for email in [
        "nobody@ynni.example",
        "not an address",
        tenant.reporter.email.as_str(),
    ] {
        request_reset(&app, email).await;
    }
    assert_eq!(
        app.outbox_rows().await,
        before,
        "no email for unknown or deactivated accounts"
    );

    request_reset(&app, &tenant.user.email.to_uppercase()).await;
    assert_eq!(app.outbox_rows().await, before + 1);
    let email = app.wait_for_email(&tenant.user.email, "Reset").await;
    assert!(email.link("/reset-password").starts_with(&format!(
        "{}/reset-password?token=",
        app.config().http.public_url
    )));
    let resets: Vec<Vec<String>> = app
        .delivered_emails()
        .into_iter()
        .filter(|e| e.subject.contains("Reset"))
        .map(|e| e.to)
        .collect();
    assert_eq!(resets, [vec![tenant.user.email.clone()]]);
}

#[tokio::test]
async fn a_password_reset_link_works_once_and_ends_every_session() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let tenant = Tenant::create(&app, &dcc, "Ynni Cymru", "ynni.example").await;
    let user = &tenant.user;
    let second = app.sign_in_again(user).await;

    request_reset(&app, &user.email).await;
    let token = app
        .wait_for_email(&user.email, "Reset")
        .await
        .link_token("/reset-password");
    let new_password = strong_password();
    expect(confirm_reset(&app, &token, &new_password).await, 204).await;

    assert_eq!(user.me_status().await, 401);
    assert_eq!(second.me_status().await, 401);
    expect_problem(
        app.login(&user.email, &user.password).await,
        401,
        "unauthenticated",
    )
    .await;
    let again = app
        .sign_in(&user.email, &new_password, &user.totp_secret)
        .await;
    assert_eq!(again.me_status().await, 200, "still enrolled, new password");
    expect_problem(
        confirm_reset(&app, &token, &strong_password()).await,
        401,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn a_password_reset_link_expires_and_a_newer_one_replaces_it() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let (_, admin) = org_with_admin(&app, &dcc, "Ynni Cymru", "ynni.example").await;

    request_reset(&app, &admin.email).await;
    let first = app
        .wait_for_email(&admin.email, "Reset")
        .await
        .link_token("/reset-password");
    // A second request within a minute sends nothing (no mailbox flooding).
    let queued = app.outbox_rows().await;
    request_reset(&app, &admin.email).await;
    assert_eq!(
        app.outbox_rows().await,
        queued,
        "one reset email a minute at most"
    );
    app.advance(Duration::seconds(61));
    request_reset(&app, &admin.email).await;
    let second = app
        .wait_for_email(&admin.email, "Reset")
        .await
        .link_token("/reset-password");
    assert_ne!(first, second);
    expect_problem(
        confirm_reset(&app, &first, &strong_password()).await,
        401,
        "unauthenticated",
    )
    .await;

    let ttl = i64::try_from(app.config().auth.password_reset_ttl_mins).unwrap();
    app.advance(Duration::minutes(ttl) + Duration::seconds(1));
    expect_problem(
        confirm_reset(&app, &second, &strong_password()).await,
        401,
        "unauthenticated",
    )
    .await;
    // Nothing changed: the old password still works.
    app.sign_in(&admin.email, &admin.password, &admin.totp_secret)
        .await;
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let (_, admin) = org_with_admin(&app, &dcc, "Ynni Cymru", "ynni.example").await;
    let other = app.sign_in_again(&admin).await;
    let new_password = strong_password();

    let wrong = expect_invalid(
        admin
            .post(
                "/api/v1/me/password",
                &json!({"current_password": "not it at all", "new_password": new_password}),
            )
            .await,
        "current_password",
    )
    .await;
    assert_eq!(problem_fields(&wrong), ["current_password"]);
    assert_eq!(other.me_status().await, 200, "a refusal ends nothing");

    expect_invalid(
        admin
            .post(
                "/api/v1/me/password",
                &json!({"current_password": admin.password, "new_password": admin.password}),
            )
            .await,
        "new_password",
    )
    .await;

    expect(
        admin
            .post(
                "/api/v1/me/password",
                &json!({"current_password": admin.password, "new_password": new_password}),
            )
            .await,
        204,
    )
    .await;
    assert_eq!(admin.me_status().await, 200, "this session goes on");
    assert_eq!(other.me_status().await, 401, "the others end");
    expect_problem(
        app.login(&admin.email, &admin.password).await,
        401,
        "unauthenticated",
    )
    .await;
    app.sign_in(&admin.email, &new_password, &admin.totp_secret)
        .await;
}

#[tokio::test]
async fn a_chosen_password_must_be_long_uncommon_and_not_the_email_address() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let (org, admin) = org_with_admin(&app, &dcc, "Ynni Cymru", "ynni.example").await;
    app.invite(&admin, &org, "newcomer@ynni.example", &["org_user"])
        .await;
    let token = app
        .wait_for_email("newcomer@ynni.example", "invited")
        .await
        .link_token("/invitations/accept");
    for weak in [
        "short",
        "elevenchars",
        "password1234",
        "PASSWORD1234",
        "newcomer@ynni.example",
    ] {
        let problem = expect_invalid(accept(&app, &token, weak).await, "password").await;
        assert_eq!(problem_fields(&problem), ["password"], "{weak}");
    }
    expect(accept(&app, &token, "twelve chars").await, 204).await;
}

#[tokio::test]
async fn changed_and_reset_passwords_follow_the_same_policy() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let (_, admin) = org_with_admin(&app, &dcc, "Ynni Cymru", "ynni.example").await;
    for weak in ["short", "password1234", admin.email.as_str()] {
        expect_problem(
            admin
                .post(
                    "/api/v1/me/password",
                    &json!({"current_password": admin.password, "new_password": weak}),
                )
                .await,
            422,
            "validation",
        )
        .await;
    }
    request_reset(&app, &admin.email).await;
    let token = app
        .wait_for_email(&admin.email, "Reset")
        .await
        .link_token("/reset-password");
    for weak in ["short", "password1234"] {
        expect_problem(confirm_reset(&app, &token, weak).await, 422, "validation").await;
    }
    // Nothing changed, and the refusals did not use the link up.
    app.sign_in(&admin.email, &admin.password, &admin.totp_secret)
        .await;
    let new_password = strong_password();
    expect(confirm_reset(&app, &token, &new_password).await, 204).await;
    app.sign_in(&admin.email, &new_password, &admin.totp_secret)
        .await;
}

#[tokio::test]
async fn a_new_password_that_is_too_short_or_common_is_named_new_password() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let (_, admin) = org_with_admin(&app, &dcc, "Ynni Cymru", "ynni.example").await;
    for weak in ["short", "password1234"] {
        let problem = expect_invalid(
            admin
                .post(
                    "/api/v1/me/password",
                    &json!({"current_password": admin.password, "new_password": weak}),
                )
                .await,
            "new_password",
        )
        .await;
        assert_eq!(problem_fields(&problem), ["new_password"], "{weak}");
    }
    request_reset(&app, &admin.email).await;
    let token = app
        .wait_for_email(&admin.email, "Reset")
        .await
        .link_token("/reset-password");
    for weak in ["short", "password1234"] {
        let problem = expect_invalid(confirm_reset(&app, &token, weak).await, "new_password").await;
        assert_eq!(problem_fields(&problem), ["new_password"], "{weak}");
    }
}
