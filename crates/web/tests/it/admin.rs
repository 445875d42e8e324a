//! Administration: organisations for the operator's administrators; people, API tokens and
//! webhooks for an organisation's administrators, never another organisation's; the audit log;
//! the service levels in force. Every page checks its permission.

use actix_web::http::StatusCode;
use dsms_auth::Role;

use crate::support::{between, spawn};

/// The ids linked as `/admin/<what>/{id}` on a page, in order.
fn linked_ids(body: &str, what: &str) -> Vec<i64> {
    body.split(&format!("href=\"/admin/{what}/"))
        .skip(1)
        .filter_map(|rest| rest.split(['"', '/', '?']).next()?.parse().ok())
        .collect()
}

#[actix_web::test]
async fn an_operator_administrator_registers_and_changes_an_organisation() {
    let app = spawn().await;
    app.member("root@dcc.example", None, vec![Role::DccAdmin]);
    let mut browser = app.browser();
    browser.first_sign_in("root@dcc.example").await;

    let index = browser.get("/admin").await;
    assert_eq!(index.status, StatusCode::OK);
    for section in [
        "/admin/organisations",
        "/admin/people",
        "/admin/webhooks",
        "/admin/audit",
        "/admin/service-levels",
    ] {
        assert!(
            index.body.contains(&format!("href=\"{section}\"")),
            "{section}"
        );
    }
    assert!(
        !index.body.contains("href=\"/admin/tokens\""),
        "API tokens belong to organisations' administrators"
    );

    let form = browser.get("/admin/organisations/new").await;
    assert!(
        form.body.contains("<legend>SEC roles</legend>"),
        "{}",
        form.body
    );
    let token = form.field("csrf_token");
    browser
        .post(
            "/admin/organisations/new",
            &[
                ("name", "Western Electric"),
                ("sec_party_id", "WEST01"),
                ("sec_roles", "import_supplier"),
                ("sec_roles", "export_supplier"),
                ("csrf_token", &token),
            ],
        )
        .await
        .assert_redirect("/admin/organisations?done=registered");
    let list = browser.get("/admin/organisations?done=registered").await;
    assert!(list.body.contains("The organisation has been registered."));
    assert!(
        list.body.contains("<td>Western Electric</td>"),
        "{}",
        list.body
    );
    assert!(
        list.body
            .contains("Import supplier (IS), Export supplier (ES)")
    );
    let id = *linked_ids(&list.body, "organisations")
        .last()
        .expect("a change link");

    let edit = browser.get(&format!("/admin/organisations/{id}")).await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(edit.body.contains("value=\"import_supplier\" checked"));
    assert!(edit.body.contains("value=\"active\" checked"));
    let token = edit.field("csrf_token");
    let version = edit.field("version");
    browser
        .post(
            &format!("/admin/organisations/{id}"),
            &[
                ("name", "Western Electric"),
                ("sec_roles", "gas_supplier"),
                ("status", "suspended"),
                ("version", &version),
                ("csrf_token", &token),
            ],
        )
        .await
        .assert_redirect("/admin/organisations?done=changed");
    let list = browser.get("/admin/organisations").await;
    assert!(
        list.body.contains("<td>Gas supplier (GS)</td>"),
        "{}",
        list.body
    );
    assert!(list.body.contains("<td>Suspended</td>"));

    // The form read before the change is stale now.
    let stale = browser
        .post(
            &format!("/admin/organisations/{id}"),
            &[
                ("name", "Western Electric"),
                ("sec_roles", "gas_supplier"),
                ("status", "active"),
                ("version", &version),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        stale
            .body
            .contains("Someone else changed this organisation")
    );
}

#[actix_web::test]
async fn an_organisation_without_a_name_or_roles_comes_back_with_the_errors() {
    let app = spawn().await;
    app.member("root@dcc.example", None, vec![Role::DccAdmin]);
    let mut browser = app.browser();
    browser.first_sign_in("root@dcc.example").await;
    let shown = browser
        .submit(
            "/admin/organisations/new",
            "/admin/organisations/new",
            &[("name", ""), ("sec_party_id", "X1")],
        )
        .await;
    assert_eq!(
        shown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        shown.body
    );
    assert!(
        shown.body.contains("<a href=\"#name\">Name "),
        "{}",
        shown.body
    );
    assert!(shown.body.contains("<a href=\"#sec_roles\">SEC roles "));
    assert!(shown.body.contains(
        "<fieldset id=\"sec_roles\" aria-describedby=\"sec_roles-hint sec_roles-error\""
    ));
    assert!(shown.body.contains("value=\"X1\""), "input kept");

    app.organisation("Northern Power");
    let duplicate = browser
        .submit(
            "/admin/organisations/new",
            "/admin/organisations/new",
            &[("name", "northern power"), ("sec_roles", "gas_supplier")],
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        duplicate.body.contains("<a href=\"#name\">"),
        "{}",
        duplicate.body
    );
}

#[actix_web::test]
async fn organisation_people_never_reach_the_organisations_pages() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    app.member("admin@northern.example", Some(org), vec![Role::OrgAdmin]);
    let mut browser = app.browser();
    browser.first_sign_in("admin@northern.example").await;
    for page in [
        "/admin/organisations".to_owned(),
        "/admin/organisations/new".to_owned(),
        format!("/admin/organisations/{org}"),
    ] {
        let refused = browser.get(&page).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{page}");
        assert!(refused.body.contains("You cannot use this page"));
    }
    let forged = browser
        .submit(
            "/admin",
            &format!("/admin/organisations/{org}"),
            &[
                ("name", "Mine now"),
                ("sec_roles", "gas_supplier"),
                ("status", "active"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn an_organisation_user_never_reaches_administration() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    app.member(
        "ada@northern.example",
        Some(org),
        vec![Role::OrgUser, Role::OrgReporter],
    );
    let ada = app.member("other@northern.example", Some(org), vec![Role::OrgUser]);
    let mut browser = app.browser();
    browser.first_sign_in("ada@northern.example").await;
    let person = ada.person_id().expect("a person");
    for page in [
        "/admin".to_owned(),
        "/admin/people".to_owned(),
        "/admin/people/new".to_owned(),
        format!("/admin/people/{person}"),
        format!("/admin/people/{person}/reset-mfa"),
        "/admin/tokens".to_owned(),
        "/admin/tokens/new".to_owned(),
        "/admin/webhooks".to_owned(),
        "/admin/webhooks/new".to_owned(),
        "/admin/audit".to_owned(),
        "/admin/audit.csv".to_owned(),
        "/admin/service-levels".to_owned(),
        "/admin/organisations".to_owned(),
    ] {
        assert_eq!(
            browser.get(&page).await.status,
            StatusCode::FORBIDDEN,
            "{page}"
        );
    }
    let token = browser.get("/portal").await.field("csrf_token");
    let reset = browser
        .post(
            &format!("/admin/people/{person}/reset-mfa"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(reset.status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn an_organisation_admin_invites_and_manages_their_people() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    app.member("admin@northern.example", Some(org), vec![Role::OrgAdmin]);
    let mut browser = app.browser();
    browser.first_sign_in("admin@northern.example").await;
    app.new_emails();

    let invite = browser.get("/admin/people/new").await;
    assert_eq!(invite.status, StatusCode::OK, "{}", invite.body);
    assert!(invite.body.contains("value=\"org_user\""));
    assert!(
        !invite.body.contains("value=\"dcc_admin\""),
        "operator roles are not offered to an organisation"
    );
    let token = invite.field("csrf_token");
    browser
        .post(
            "/admin/people/new",
            &[
                ("name", "Grace Hopper"),
                ("email", "grace@northern.example"),
                ("roles", "org_user"),
                ("organisation_id", &org.to_string()),
                ("csrf_token", &token),
            ],
        )
        .await
        .assert_redirect(&format!("/admin/people?organisation={org}&done=invited"));
    let emails = app.new_emails();
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert!(emails[0].contains("grace@northern.example"));

    let people = browser.get("/admin/people").await;
    assert!(
        people.body.contains("People of Northern Power"),
        "{}",
        people.body
    );
    assert!(people.body.contains("grace@northern.example"));
    let grace = *linked_ids(&people.body, "people").last().expect("a link");

    let page = browser.get(&format!("/admin/people/{grace}")).await;
    assert!(
        page.body.contains("<dd>Organisation user</dd>"),
        "{}",
        page.body
    );
    let token = page.field("csrf_token");
    let version = page.field("version");
    browser
        .post(
            &format!("/admin/people/{grace}/roles"),
            &[
                ("roles", "org_user"),
                ("roles", "org_admin"),
                ("version", &version),
                ("csrf_token", &token),
            ],
        )
        .await
        .assert_redirect(&format!("/admin/people/{grace}?done=roles"));
    let page = browser
        .get(&format!("/admin/people/{grace}?done=roles"))
        .await;
    assert!(page.body.contains("Their roles have been changed."));
    assert!(
        page.body
            .contains("<dd>Organisation administrator, Organisation user</dd>")
    );

    let none = browser
        .post(
            &format!("/admin/people/{grace}/roles"),
            &[("version", &page.field("version")), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        none.body.contains("<a href=\"#roles\">Roles "),
        "{}",
        none.body
    );

    let page = browser.get(&format!("/admin/people/{grace}")).await;
    browser
        .post(
            &format!("/admin/people/{grace}/status"),
            &[
                ("status", "deactivated"),
                ("version", &page.field("version")),
                ("csrf_token", &token),
            ],
        )
        .await
        .assert_redirect(&format!("/admin/people/{grace}?done=deactivated"));
    let page = browser.get(&format!("/admin/people/{grace}")).await;
    assert!(page.body.contains("<dd>Deactivated</dd>"));
    assert!(page.body.contains("Reactivate Grace Hopper"));
    browser
        .post(
            &format!("/admin/people/{grace}/status"),
            &[
                ("status", "active"),
                ("version", &page.field("version")),
                ("csrf_token", &token),
            ],
        )
        .await
        .assert_redirect(&format!("/admin/people/{grace}?done=active"));
    assert!(
        browser
            .get(&format!("/admin/people/{grace}"))
            .await
            .body
            .contains("<dd>Active</dd>")
    );
}

#[actix_web::test]
async fn an_invitation_with_a_bad_address_and_no_role_comes_back_with_the_errors() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    app.member("admin@northern.example", Some(org), vec![Role::OrgAdmin]);
    let mut browser = app.browser();
    browser.first_sign_in("admin@northern.example").await;
    let shown = browser
        .submit(
            "/admin/people/new",
            "/admin/people/new",
            &[("name", "Grace"), ("email", "not an address")],
        )
        .await;
    assert_eq!(shown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        shown.body.contains("<a href=\"#email\">Email address "),
        "{}",
        shown.body
    );
    assert!(
        shown
            .body
            .contains("<a href=\"#roles\">Choose at least one role</a>")
    );
    assert!(shown.body.contains("value=\"Grace\""));
}

#[actix_web::test]
async fn resetting_an_authenticator_asks_first_then_makes_them_enrol_again() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    app.member("admin@northern.example", Some(org), vec![Role::OrgAdmin]);
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    let ada = ada.person_id().expect("a person");
    let mut adas_browser = app.browser();
    adas_browser.first_sign_in("ada@northern.example").await;
    let mut browser = app.browser();
    browser.first_sign_in("admin@northern.example").await;

    let page = browser.get(&format!("/admin/people/{ada}")).await;
    assert!(
        page.body
            .contains("<dt>Authenticator app</dt><dd>Set up</dd>")
    );
    let confirm = browser.get(&format!("/admin/people/{ada}/reset-mfa")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("Yes, reset the authenticator"));
    let token = confirm.field("csrf_token");
    let forged = browser
        .post(&format!("/admin/people/{ada}/reset-mfa"), &[])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(
        browser
            .get(&format!("/admin/people/{ada}"))
            .await
            .body
            .contains("<dd>Set up</dd>")
    );

    browser
        .post(
            &format!("/admin/people/{ada}/reset-mfa"),
            &[("csrf_token", &token)],
        )
        .await
        .assert_redirect(&format!("/admin/people/{ada}?done=mfa-reset"));
    let page = browser
        .get(&format!("/admin/people/{ada}?done=mfa-reset"))
        .await;
    assert!(
        page.body
            .contains("<dt>Authenticator app</dt><dd>Not set up</dd>")
    );
    assert!(page.body.contains("Their authenticator has been reset"));
    // Ada was signed out and must enrol again.
    adas_browser
        .get("/account")
        .await
        .assert_redirect("/sign-in?notice=session-ended");
    adas_browser
        .enter_password("ada@northern.example", crate::support::PASSWORD)
        .await
        .assert_redirect("/sign-in/enrol");
}

#[actix_web::test]
async fn another_organisations_people_are_not_found() {
    let app = spawn().await;
    let north = app.organisation("Northern Power");
    let south = app.organisation("Southern Gas");
    app.member("admin@northern.example", Some(north), vec![Role::OrgAdmin]);
    let bob = app.member("bob@southern.example", Some(south), vec![Role::OrgUser]);
    let bob = bob.person_id().expect("a person");
    let mut browser = app.browser();
    browser.first_sign_in("admin@northern.example").await;
    for page in [
        format!("/admin/people?organisation={south}"),
        format!("/admin/people/new?organisation={south}"),
        format!("/admin/people/{bob}"),
        format!("/admin/people/{bob}/reset-mfa"),
    ] {
        let refused = browser.get(&page).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{page}");
        assert!(!refused.body.contains("Southern"), "{page}");
    }
    let token = browser.get("/admin").await.field("csrf_token");
    for (action, fields) in [
        (
            format!("/admin/people/{bob}/roles"),
            vec![("roles", "org_admin")],
        ),
        (
            format!("/admin/people/{bob}/status"),
            vec![("status", "deactivated")],
        ),
        (format!("/admin/people/{bob}/reset-mfa"), vec![]),
        (
            "/admin/people/new".to_owned(),
            vec![
                ("name", "Mole"),
                ("email", "mole@northern.example"),
                ("roles", "org_user"),
                ("organisation_id", "SOUTH"),
            ],
        ),
    ] {
        let mut fields = fields;
        fields.push(("csrf_token", &token));
        let south_id = south.to_string();
        let fields: Vec<(&str, &str)> = fields
            .into_iter()
            .map(|(k, v)| (k, if v == "SOUTH" { south_id.as_str() } else { v }))
            .collect();
        let refused = browser.post(&action, &fields).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{action}");
    }
    let bob_now = app
        .identity
        .person(
            &app.member("root@dcc.example", None, vec![Role::DccAdmin]),
            bob,
        )
        .expect("bob");
    assert_eq!(bob_now.roles, [Role::OrgUser]);
    assert_eq!(bob_now.status, "active");
}

#[actix_web::test]
async fn an_api_token_is_shown_once_listed_without_its_secret_and_revoked() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    app.member("admin@northern.example", Some(org), vec![Role::OrgAdmin]);
    let mut browser = app.browser();
    browser.first_sign_in("admin@northern.example").await;

    let issued = browser
        .submit(
            "/admin/tokens/new",
            "/admin/tokens/new",
            &[
                ("name", "Meter data platform"),
                ("scopes", "incidents:read"),
                ("scopes", "incidents:write"),
                ("expires_on", ""),
            ],
        )
        .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    assert_eq!(issued.header("cache-control"), "no-store");
    let secret = between(&issued.body, "aria-label=\"API token\">", "<").expect("the token");
    assert!(secret.starts_with("dsms_"), "{secret}");

    let list = browser.get("/admin/tokens").await;
    assert!(list.body.contains("Meter data platform"));
    assert!(list.body.contains("incidents:read, incidents:write"));
    assert!(
        !list.body.contains(&secret),
        "the secret is never shown again"
    );
    assert!(
        list.body.contains(&secret[..11]),
        "its start is, to recognise it"
    );
    assert!(list.body.contains("<td>Active</td>"));

    let action = between(
        &list.body,
        "<form method=\"post\" action=\"/admin/tokens/",
        "\"",
    )
    .expect("a revoke form");
    let token = list.field("csrf_token");
    browser
        .post(
            &format!("/admin/tokens/{action}"),
            &[("csrf_token", &token)],
        )
        .await
        .assert_redirect("/admin/tokens?done=revoked");
    let list = browser.get("/admin/tokens?done=revoked").await;
    assert!(list.body.contains("<td>Revoked</td>"), "{}", list.body);
    assert!(app.identity.authenticate_bearer(&secret).is_err());
}

#[actix_web::test]
async fn a_token_without_scopes_or_with_a_past_expiry_comes_back_with_the_errors() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    app.member("admin@northern.example", Some(org), vec![Role::OrgAdmin]);
    let mut browser = app.browser();
    browser.first_sign_in("admin@northern.example").await;
    let shown = browser
        .submit(
            "/admin/tokens/new",
            "/admin/tokens/new",
            &[("name", "Nightly")],
        )
        .await;
    assert_eq!(shown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        shown
            .body
            .contains("<a href=\"#scopes\">Choose at least one thing"),
        "{}",
        shown.body
    );
    assert!(shown.body.contains("value=\"Nightly\""));
    let shown = browser
        .submit(
            "/admin/tokens/new",
            "/admin/tokens/new",
            &[
                ("name", ""),
                ("scopes", "incidents:read"),
                ("expires_on", "2001-01-01"),
            ],
        )
        .await;
    assert_eq!(shown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        shown.body.contains("<a href=\"#name\">Name "),
        "{}",
        shown.body
    );
    assert!(
        shown
            .body
            .contains("<a href=\"#expires_on\">Expiry date must be in the future</a>")
    );
    assert!(shown.body.contains("value=\"incidents:read\" checked"));
}

#[actix_web::test]
async fn another_organisations_tokens_and_webhooks_are_out_of_reach() {
    let app = spawn().await;
    let north = app.organisation("Northern Power");
    let south = app.organisation("Southern Gas");
    app.member("admin@northern.example", Some(north), vec![Role::OrgAdmin]);
    let theirs = app.member("admin@southern.example", Some(south), vec![Role::OrgAdmin]);
    let (token, secret) = app
        .identity
        .issue_api_token(
            &theirs,
            dsms_auth::NewApiTokenRequest {
                name: "Southern system".into(),
                scopes: vec!["incidents:read".into()],
                expires_at: None,
            },
            &dsms_auth::Client::default(),
        )
        .expect("a token");
    let (endpoint, _) = app
        .webhooks
        .register(
            &theirs,
            dsms_webhooks::NewEndpoint {
                url: "https://hooks.southern.example/dsms".into(),
                events: vec!["incident.created".into()],
                description: Some("Southern".into()),
                organisation_id: None,
            },
            None,
        )
        .expect("an endpoint");
    let mut browser = app.browser();
    browser.first_sign_in("admin@northern.example").await;
    let tokens = browser.get("/admin/tokens").await;
    assert!(!tokens.body.contains("Southern system"));
    let hooks = browser.get("/admin/webhooks").await;
    assert!(!hooks.body.contains("southern"), "{}", hooks.body);
    assert_eq!(
        browser
            .get(&format!("/admin/webhooks/{}", endpoint.id))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let csrf = tokens.field("csrf_token");
    let revoke = browser
        .post(
            &format!("/admin/tokens/{}/revoke", token.id),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(revoke.status, StatusCode::NOT_FOUND);
    assert!(
        app.identity.authenticate_bearer(&secret).is_ok(),
        "still works"
    );
    let disable = browser
        .post(
            &format!("/admin/webhooks/{}/status", endpoint.id),
            &[
                ("status", "disabled"),
                ("version", "1"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(disable.status, StatusCode::NOT_FOUND);
    let still = app.webhooks.get(&theirs, endpoint.id).expect("endpoint");
    assert_eq!(still.status, dsms_webhooks::EndpointStatus::Active);
}

#[actix_web::test]
async fn a_webhook_shows_its_secret_once_and_can_be_disabled_and_enabled() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    app.member("admin@northern.example", Some(org), vec![Role::OrgAdmin]);
    let mut browser = app.browser();
    browser.first_sign_in("admin@northern.example").await;

    let refused = browser
        .submit(
            "/admin/webhooks/new",
            "/admin/webhooks/new",
            &[("url", "http://10.0.0.1/hook"), ("description", "Ours")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("<a href=\"#url\">Address "),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("<a href=\"#events\">Choose at least one event</a>")
    );
    assert!(refused.body.contains("value=\"http://10.0.0.1/hook\""));

    let created = browser
        .submit(
            "/admin/webhooks/new",
            "/admin/webhooks/new",
            &[
                ("url", "https://hooks.northern.example/dsms"),
                ("description", "Our incident feed"),
                ("events", "incident.created"),
                ("events", "incident.resolved"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert_eq!(created.header("cache-control"), "no-store");
    let secret = between(&created.body, "aria-label=\"Signing secret\">", "<").expect("secret");
    assert!(secret.starts_with("whsec_"), "{secret}");

    let list = browser.get("/admin/webhooks").await;
    assert!(list.body.contains("https://hooks.northern.example/dsms"));
    assert!(list.body.contains("incident.created, incident.resolved"));
    assert!(!list.body.contains(&secret));
    let id = linked_ids(&list.body, "webhooks")[0];
    let token = list.field("csrf_token");
    browser
        .post(
            &format!("/admin/webhooks/{id}/status"),
            &[
                ("status", "disabled"),
                ("version", &list.field("version")),
                ("csrf_token", &token),
            ],
        )
        .await
        .assert_redirect("/admin/webhooks?done=disabled");
    let list = browser.get("/admin/webhooks").await;
    assert!(
        list.body
            .contains("<td>Disabled: disabled by a person</td>"),
        "{}",
        list.body
    );
    browser
        .post(
            &format!("/admin/webhooks/{id}/status"),
            &[
                ("status", "active"),
                ("version", &list.field("version")),
                ("csrf_token", &token),
            ],
        )
        .await
        .assert_redirect("/admin/webhooks?done=enabled");
    assert!(
        browser
            .get("/admin/webhooks")
            .await
            .body
            .contains("<td>Enabled</td>")
    );

    let deliveries = browser.get(&format!("/admin/webhooks/{id}")).await;
    assert_eq!(deliveries.status, StatusCode::OK);
    assert!(
        deliveries
            .body
            .contains("<caption id=\"deliveries-caption\">")
    );
    assert!(deliveries.body.contains("No deliveries yet."));
}

#[actix_web::test]
async fn the_audit_log_filters_and_exports_csv() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    app.member("admin@northern.example", Some(org), vec![Role::OrgAdmin]);
    app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    let mut adas = app.browser();
    adas.first_sign_in("ada@northern.example").await;
    let mut browser = app.browser();
    browser.first_sign_in("admin@northern.example").await;

    let all = browser.get("/admin/audit").await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(all.body.contains("<caption id=\"audit-caption\">"));
    let signed_in = browser.get("/admin/audit?action=sign_in").await;
    assert!(
        signed_in.body.contains("<code>sign_in"),
        "{}",
        signed_in.body
    );
    assert!(!signed_in.body.contains("<code>mfa.enrolled"));
    assert!(
        signed_in
            .body
            .contains("href=\"/admin/audit.csv?action=sign_in\""),
        "the export keeps the filters"
    );

    let csv = browser.get("/admin/audit.csv?action=sign_in").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.header("content-type").starts_with("text/csv"));
    assert!(csv.header("content-disposition").starts_with("attachment"));
    let mut lines = csv.body.split("\r\n").filter(|l| !l.is_empty());
    assert_eq!(
        lines.next(),
        Some(
            "id,occurred_at,actor_kind,actor_id,organisation_id,action,entity_type,entity_id,changes,request_id"
        )
    );
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() >= 2, "both sign-ins: {rows:?}");
    assert!(rows.iter().all(|r| r.contains(",sign_in")), "{rows:?}");

    let nothing = browser
        .get("/admin/audit?from=2001-01-01&to=2001-01-02")
        .await;
    assert!(nothing.body.contains("No entries match these filters."));
    let bad = browser.get("/admin/audit?from=yesterday").await;
    assert!(
        bad.body.contains("<a href=\"#from\">From must be a date"),
        "{}",
        bad.body
    );
}

#[actix_web::test]
async fn an_organisation_admin_sees_only_their_organisations_audit_entries() {
    let app = spawn().await;
    let north = app.organisation("Northern Power");
    let south = app.organisation("Southern Gas");
    app.member("admin@northern.example", Some(north), vec![Role::OrgAdmin]);
    app.member("bob@southern.example", Some(south), vec![Role::OrgUser]);
    let mut bobs = app.browser();
    bobs.first_sign_in("bob@southern.example").await;
    let mut browser = app.browser();
    browser.first_sign_in("admin@northern.example").await;
    let csv = browser.get("/admin/audit.csv").await;
    // The first columns hold no commas: the organisation is the fifth.
    let organisations: Vec<&str> = csv
        .body
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split(',').nth(4))
        .collect();
    assert!(!organisations.is_empty());
    let north = north.to_string();
    assert!(
        organisations.iter().all(|o| *o == north),
        "{organisations:?} (not {south})"
    );
}

#[actix_web::test]
async fn the_service_levels_page_shows_the_rules_in_force() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    app.member("admin@northern.example", Some(org), vec![Role::OrgAdmin]);
    let mut browser = app.browser();
    browser.first_sign_in("admin@northern.example").await;
    let page = browser.get("/admin/service-levels").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let year = chrono::Datelike::year(&chrono::Utc::now());
    for expected in [
        "<th scope=\"row\">Impact 1</th><td><span class=\"priority p1\">P1</span></td>".to_owned(),
        "<td>15 minutes</td><td>4 hours</td><td>Around the clock</td>".to_owned(),
        "<td>2 working hours</td><td>3 working days</td><td>Working hours</td>".to_owned(),
        "<dd>Monday, Tuesday, Wednesday, Thursday, Friday</dd>".to_owned(),
        "08:00 to 18:00 UK time (10 hours a day)".to_owned(),
        format!("Bank holidays in {year} (England and Wales)"),
        format!("Bank holidays in {} (England and Wales)", year + 1),
        "<td>Christmas Day</td>".to_owned(),
        "within 5 working days".to_owned(),
    ] {
        assert!(
            page.body.contains(&expected),
            "{expected} in:\n{}",
            page.body
        );
    }
}

#[actix_web::test]
async fn administration_forms_without_the_token_or_from_elsewhere_are_refused() {
    let app = spawn().await;
    app.member("root@dcc.example", None, vec![Role::DccAdmin]);
    let mut browser = app.browser();
    browser.first_sign_in("root@dcc.example").await;
    let fields = [("name", "Forged Ltd"), ("sec_roles", "gas_supplier")];
    let refused = browser.post("/admin/organisations/new", &fields).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let token = browser.get("/admin").await.field("csrf_token");
    let elsewhere = browser
        .send(
            actix_web::test::TestRequest::post()
                .insert_header(("origin", "https://evil.example"))
                .set_form([
                    ("name", "Forged Ltd"),
                    ("sec_roles", "gas_supplier"),
                    ("csrf_token", token.as_str()),
                ]),
            "/admin/organisations/new",
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN);
    for action in ["/admin/webhooks/new", "/admin/people/new"] {
        let refused = browser.post(action, &[("name", "x")]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{action}");
    }
    let list = browser.get("/admin/organisations").await;
    assert!(!list.body.contains("Forged Ltd"));
}
