//! API tokens for organisations' systems: issued by an organisation admin, shown once, scoped,
//! expiring, revocable, with their last use recorded.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use dsms_tests::{expect, expect_invalid, expect_problem, ids};
use serde_json::{Value, json};

use super::{Tenant, app};

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("a time: {value}")))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

fn token_in<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("token {id} in {list}"))
}

#[tokio::test]
async fn an_org_admin_issues_an_api_token_that_is_shown_once() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let tenant = Tenant::create(&app, &dcc, "Octo Supply", "octo.example").await;

    let res = tenant
        .admin
        .post(
            "/api/v1/tokens",
            &json!({"name": "CRM integration", "scopes": ["incidents:read", "incidents:write"]}),
        )
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let issued = expect(res, 201).await;
    let id = issued["id"].as_str().expect("id");
    let secret = issued["token"].as_str().expect("token");
    assert_eq!(location, format!("/api/v1/tokens/{id}"));
    assert!(secret.starts_with("dsms_"), "{secret}");
    assert!(secret.len() >= 40, "high entropy: {secret}");
    assert!(secret.starts_with(issued["prefix"].as_str().unwrap()));
    assert!(issued["prefix"].as_str().unwrap().len() < secret.len() / 2);
    assert_eq!(issued["name"], "CRM integration");
    assert_eq!(issued["organisation_id"], tenant.id);
    assert_eq!(issued["created_by"], tenant.admin.person_id);
    assert_eq!(
        issued["scopes"],
        json!(["incidents:read", "incidents:write"])
    );
    assert_eq!(issued["last_used_at"], Value::Null);
    assert_eq!(issued["revoked_at"], Value::Null);
    assert_eq!(
        parse_time(&issued["expires_at"]),
        app.now() + Duration::days(90),
        "the default lifetime"
    );

    let listed = tenant.admin.get("/api/v1/tokens").await;
    let text = listed.text().await.unwrap();
    assert!(!text.contains(secret), "the secret is never shown again");
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(token_in(&list, id)["name"], "CRM integration");
    assert!(token_in(&list, id).get("token").is_none());

    // Wildcards expand to every scope of the area.
    let wide = expect(
        tenant
            .admin
            .post(
                "/api/v1/tokens",
                &json!({"name": "requests", "scopes": ["requests:*"]}),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(wide["scopes"], json!(["requests:read", "requests:write"]));
    assert_ne!(wide["token"], issued["token"]);
}

#[tokio::test]
async fn an_api_token_authenticates_as_its_organisations_system_within_its_scopes() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let tenant = Tenant::create(&app, &dcc, "Octo Supply", "octo.example").await;
    let (id, token) = app
        .issue_api_token(&tenant.admin, &["incidents:read"])
        .await;

    let me = token.me().await;
    assert_eq!(me["kind"], "api_token");
    assert_eq!(me["id"], id);
    assert_eq!(me["organisation"]["id"], tenant.id);
    assert_eq!(me["organisation"]["name"], tenant.name);
    assert_eq!(me["roles"], json!([]));
    assert_eq!(me["permissions"], json!(["view_incidents"]));

    // Tokens never manage people, tokens, organisations or the audit log.
    expect_problem(
        token
            .post(
                "/api/v1/tokens",
                &json!({"name": "more", "scopes": ["incidents:read"]}),
            )
            .await,
        403,
        "forbidden",
    )
    .await;
    expect_problem(
        token
            .post(
                "/api/v1/users",
                &json!({"email": "new@octo.example", "name": "New", "roles": ["org_user"]}),
            )
            .await,
        403,
        "forbidden",
    )
    .await;
    for path in [
        "/api/v1/users".to_owned(),
        format!("/api/v1/users/{}", tenant.user.person_id),
        "/api/v1/tokens".to_owned(),
        "/api/v1/audit".to_owned(),
    ] {
        expect_problem(token.get(&path).await, 403, "forbidden").await;
    }
    expect_problem(
        token
            .patch(
                &format!("/api/v1/organisations/{}", tenant.id),
                &json!({"name": "Renamed"}),
            )
            .await,
        403,
        "forbidden",
    )
    .await;
    expect_problem(
        token.delete(&format!("/api/v1/tokens/{id}")).await,
        403,
        "forbidden",
    )
    .await;
    // API tokens are revoked by an admin, not signed out.
    expect_problem(
        token.post("/api/v1/auth/logout", &json!({})).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_eq!(token.me_status().await, 200);
}

#[tokio::test]
async fn a_revoked_api_token_stops_working_at_once() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let tenant = Tenant::create(&app, &dcc, "Octo Supply", "octo.example").await;
    let (id, token) = app
        .issue_api_token(&tenant.admin, &["incidents:read"])
        .await;
    let (_, kept) = app
        .issue_api_token(&tenant.admin, &["incidents:read"])
        .await;
    assert_eq!(token.me_status().await, 200);

    expect(
        tenant.admin.delete(&format!("/api/v1/tokens/{id}")).await,
        204,
    )
    .await;
    expect_problem(token.get("/api/v1/me").await, 401, "unauthenticated").await;
    assert_eq!(kept.me_status().await, 200, "only that token");
    let list = expect(tenant.admin.get("/api/v1/tokens").await, 200).await;
    assert_eq!(
        parse_time(&token_in(&list, &id)["revoked_at"]),
        app.now(),
        "{list}"
    );
    // Revoking again is harmless; an unknown id is not found.
    expect(
        tenant.admin.delete(&format!("/api/v1/tokens/{id}")).await,
        204,
    )
    .await;
    expect_problem(
        tenant.admin.delete("/api/v1/tokens/999999").await,
        404,
        "not-found",
    )
    .await;
}

#[tokio::test]
async fn an_api_tokens_last_use_is_recorded() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let tenant = Tenant::create(&app, &dcc, "Octo Supply", "octo.example").await;
    let (id, token) = app
        .issue_api_token(&tenant.admin, &["incidents:read"])
        .await;
    let list = expect(tenant.admin.get("/api/v1/tokens").await, 200).await;
    assert_eq!(token_in(&list, &id)["last_used_at"], Value::Null);

    app.advance(Duration::minutes(5));
    token.me().await;
    let list = expect(tenant.admin.get("/api/v1/tokens").await, 200).await;
    assert_eq!(parse_time(&token_in(&list, &id)["last_used_at"]), app.now());

    // Recorded to the minute: a use minutes later shows.
    app.advance(Duration::minutes(2));
    token.me().await;
    let list = expect(tenant.admin.get("/api/v1/tokens").await, 200).await;
    assert_eq!(parse_time(&token_in(&list, &id)["last_used_at"]), app.now());

    // A read by key checks the token in its own read and records the use after it, also
    // when the read finds nothing.
    app.advance(Duration::minutes(2));
    expect_problem(
        token.get("/api/v1/incidents/999999").await,
        404,
        "not-found",
    )
    .await;
    let list = expect(tenant.admin.get("/api/v1/tokens").await, 200).await;
    assert_eq!(parse_time(&token_in(&list, &id)["last_used_at"]), app.now());
}

#[tokio::test]
async fn an_expired_api_token_is_refused() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let tenant = Tenant::create(&app, &dcc, "Octo Supply", "octo.example").await;
    let expires_at = app.now() + Duration::hours(1);
    let issued = expect(
        tenant
            .admin
            .post(
                "/api/v1/tokens",
                &json!({"name": "short", "scopes": ["hubs:read"], "expires_at": rfc3339(expires_at)}),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(parse_time(&issued["expires_at"]), expires_at);
    let token = app.bearer(issued["token"].as_str().unwrap());

    app.advance(Duration::hours(1) - Duration::seconds(1));
    assert_eq!(token.me_status().await, 200, "just before expiry");
    app.advance(Duration::seconds(1));
    expect_problem(token.get("/api/v1/me").await, 401, "unauthenticated").await;
}

#[tokio::test]
async fn unknown_api_tokens_are_refused() {
    let app = app().await;
    for token in [
        "dsms_",
        "dsms_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "dsms_' OR 1=1 --",
    ] {
        expect_problem(
            app.bearer(token).get("/api/v1/me").await,
            401,
            "unauthenticated",
        )
        .await;
    }
}

#[tokio::test]
async fn invalid_scopes_names_and_lifetimes_are_named_in_the_problem() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let tenant = Tenant::create(&app, &dcc, "Octo Supply", "octo.example").await;
    let issue = |body: Value| {
        let admin = tenant.admin.clone();
        async move { admin.post("/api/v1/tokens", &body).await }
    };

    expect_invalid(
        issue(json!({"name": "x", "scopes": ["people:write"]})).await,
        "scopes[0]",
    )
    .await;
    let both = expect_invalid(
        issue(json!({"name": "x", "scopes": ["incidents:read", "admin:*"]})).await,
        "scopes[1]",
    )
    .await;
    assert!(!dsms_tests::problem_fields(&both).contains(&"scopes[0]".to_owned()));
    expect_invalid(issue(json!({"name": "x", "scopes": []})).await, "scopes").await;
    expect_invalid(
        issue(json!({"name": "  ", "scopes": ["incidents:read"]})).await,
        "name",
    )
    .await;

    let max_days = i64::try_from(app.config().auth.api_token_max_days).unwrap();
    let beyond = app.now() + Duration::days(max_days) + Duration::minutes(1);
    expect_invalid(
        issue(json!({"name": "x", "scopes": ["incidents:read"], "expires_at": rfc3339(beyond)}))
            .await,
        "expires_at",
    )
    .await;
    let at_max = app.now() + Duration::days(max_days);
    expect(
        issue(json!({"name": "x", "scopes": ["incidents:read"], "expires_at": rfc3339(at_max)}))
            .await,
        201,
    )
    .await;
    let past = app.now() - Duration::minutes(1);
    expect_invalid(
        issue(json!({"name": "x", "scopes": ["incidents:read"], "expires_at": rfc3339(past)}))
            .await,
        "expires_at",
    )
    .await;
    expect_invalid(
        issue(json!({"name": "x", "scopes": ["incidents:read"], "expires_at": "tomorrow"})).await,
        "expires_at",
    )
    .await;
    expect_invalid(
        issue(json!({"name": "x", "scopes": ["incidents:read"], "owner": "me"})).await,
        "owner",
    )
    .await;

    let list = expect(tenant.admin.get("/api/v1/tokens").await, 200).await;
    assert_eq!(ids(&list).len(), 1, "only the valid request issued a token");
}

#[tokio::test]
async fn only_organisation_admins_issue_api_tokens() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let tenant = Tenant::create(&app, &dcc, "Octo Supply", "octo.example").await;
    let body = json!({"name": "x", "scopes": ["incidents:read"]});
    for caller in [&tenant.user, &tenant.reporter, &dcc] {
        expect_problem(caller.post("/api/v1/tokens", &body).await, 403, "forbidden").await;
        expect_problem(caller.get("/api/v1/tokens").await, 403, "forbidden").await;
    }
}

#[tokio::test]
async fn me_names_an_api_token_by_the_name_it_was_issued_with() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let tenant = Tenant::create(&app, &dcc, "Octo Supply", "octo.example").await;
    let issued = expect(
        tenant
            .admin
            .post(
                "/api/v1/tokens",
                &json!({"name": "CRM integration", "scopes": ["incidents:read"]}),
            )
            .await,
        201,
    )
    .await;
    let token = app.bearer(issued["token"].as_str().unwrap());
    assert_eq!(token.me().await["name"], "CRM integration");
}
