//! The audit log: sign-ins, failures, lockouts, MFA changes, role changes, token issue and
//! revocation, invitations and record changes, queryable by administrators within what they
//! may see.

use std::collections::HashSet;

use chrono::{Duration, SecondsFormat};
use dsms_tests::{Bearer, Session, TestApp, expect, expect_invalid, expect_problem, ids};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Tenant, builder};

/// A server with a short lock, and a tenant whose history covers every kind of identity event.
struct History {
    app: TestApp,
    dcc: Session,
    tenant: Tenant,
    token_id: String,
}

async fn history() -> History {
    let app = builder()
        .configure(|c| {
            c.auth.throttle_lock_after = 3;
            c.auth.throttle_delay_after = 100;
        })
        .spawn()
        .await;
    let dcc = app.sign_in_admin().await;
    let tenant = Tenant::create(&app, &dcc, "Heron Metering", "heron.example").await;
    let admin = &tenant.admin;

    // A role change, an MFA reset, a token issued and revoked, a sign-out, a password change.
    expect(
        admin
            .patch(
                &format!("/api/v1/users/{}", tenant.user.person_id),
                &json!({"roles": ["org_user", "org_reporter"]}),
            )
            .await,
        200,
    )
    .await;
    expect(
        admin
            .post(
                &format!("/api/v1/users/{}/mfa-reset", tenant.reporter.person_id),
                &json!({}),
            )
            .await,
        200,
    )
    .await;
    let (token_id, _) = app.issue_api_token(admin, &["incidents:read"]).await;
    expect(
        admin.delete(&format!("/api/v1/tokens/{token_id}")).await,
        204,
    )
    .await;
    let extra = app.sign_in_again(admin).await;
    expect(extra.post("/api/v1/auth/logout", &json!({})).await, 204).await;
    let new_password = dsms_tests::strong_password();
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
    expect(
        dcc.patch(
            &format!("/api/v1/organisations/{}", tenant.id),
            &json!({"name": "Heron Metering Ltd"}),
        )
        .await,
        200,
    )
    .await;
    // Failures and a lockout.
    for _ in 0..3 {
        expect(app.login(&tenant.user.email, "wrong password!!").await, 401).await;
    }
    History {
        app,
        dcc,
        tenant,
        token_id,
    }
}

async fn all_entries(reader: &Bearer, query: &str) -> Vec<Value> {
    let page = expect(
        reader
            .get(&format!("/api/v1/audit?limit=500&{query}"))
            .await,
        200,
    )
    .await;
    assert_eq!(page["next_cursor"], Value::Null, "one page holds it all");
    page["items"].as_array().unwrap().clone()
}

fn find<'a>(entries: &'a [Value], action: &str, entity_id: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| e["action"] == action && e["entity_id"] == entity_id)
        .unwrap_or_else(|| {
            let actions: Vec<_> = entries
                .iter()
                .map(|e| format!("{} {}", e["action"], e["entity_id"]))
                .collect();
            panic!("{action} of {entity_id} in {actions:#?}")
        })
}

#[tokio::test]
async fn every_kind_of_identity_event_is_in_the_audit_log() {
    let h = history().await;
    let t = &h.tenant;
    let entries = all_entries(&h.dcc, "").await;

    let user = &t.user.person_id;
    let reporter = &t.reporter.person_id;
    let admin = &t.admin.person_id;
    for (action, entity) in [
        ("organisation.created", &t.id),
        ("organisation.updated", &t.id),
        ("person.created", user),
        ("invitation.sent", user),
        ("invitation.accepted", user),
        ("sign_in.password_accepted", user),
        ("mfa.enrolled", user),
        ("sign_in.succeeded", user),
        ("sign_in.failed", user),
        ("sign_in.locked", user),
        ("person.updated", user),
        ("mfa.reset", reporter),
        ("api_token.issued", &h.token_id),
        ("api_token.revoked", &h.token_id),
        ("sign_out", admin),
        ("password.changed", admin),
    ] {
        let entry = find(&entries, action, entity);
        assert!(entry["id"].as_str().is_some(), "{entry}");
        assert!(
            entry["occurred_at"].as_str().unwrap().ends_with('Z'),
            "{entry}"
        );
    }

    let roles = find(&entries, "person.updated", user);
    assert_eq!(
        roles["changes"]["roles"],
        json!({"from": ["org_user"], "to": ["org_user", "org_reporter"]})
    );
    assert_eq!(roles["actor"], json!({"kind": "person", "id": admin}));
    assert_eq!(roles["organisation_id"], t.id);
    assert_eq!(roles["entity_type"], "person");

    let issued = find(&entries, "api_token.issued", &h.token_id);
    assert_eq!(issued["entity_type"], "api_token");
    assert_eq!(issued["changes"]["scopes"]["to"], "incidents:read");
    assert_eq!(issued["actor"]["id"], *admin);

    let failed = find(&entries, "sign_in.failed", user);
    assert_eq!(failed["changes"]["ip"]["to"], "127.0.0.1");
    let renamed = find(&entries, "organisation.updated", &t.id);
    assert_eq!(
        renamed["changes"]["name"],
        json!({"from": "Heron Metering", "to": "Heron Metering Ltd"})
    );
    assert_eq!(renamed["actor"]["id"], h.dcc.person_id);

    // Secrets never reach the log.
    let text = serde_json::to_string(&entries).unwrap();
    assert!(!text.contains(&t.user.password));
    assert!(!text.contains(&t.user.totp_secret));
    assert!(!text.contains(&t.admin.recovery_codes[0]));
}

#[tokio::test]
async fn the_audit_log_filters_by_action_prefix_entity_and_time_and_pages_with_a_cursor() {
    let h = history().await;
    let reader = &h.dcc;

    let sign_ins = all_entries(reader, "action=sign_in.").await;
    assert!(sign_ins.len() >= 5);
    assert!(
        sign_ins
            .iter()
            .all(|e| e["action"].as_str().unwrap().starts_with("sign_in."))
    );
    let tokens = all_entries(reader, "entity_type=api_token").await;
    let actions: HashSet<&str> = tokens
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        HashSet::from(["api_token.issued", "api_token.revoked"])
    );
    let one = all_entries(
        reader,
        &format!(
            "entity_type=person&entity_id={}&action=mfa.",
            h.tenant.reporter.person_id
        ),
    )
    .await;
    let actions: Vec<&str> = one.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["mfa.reset", "mfa.enrolled"], "newest first");
    let by_actor = all_entries(reader, &format!("actor_id={}", h.dcc.person_id)).await;
    assert!(by_actor.iter().all(|e| e["actor"]["id"] == h.dcc.person_id));
    // The prefix is literal text, not a pattern.
    assert!(all_entries(reader, "action=%25").await.is_empty());
    assert!(all_entries(reader, "action=_").await.is_empty());
    let later = (h.app.now() + Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    assert!(
        all_entries(reader, &format!("since={later}"))
            .await
            .is_empty()
    );
    assert!(
        !all_entries(reader, &format!("until={later}"))
            .await
            .is_empty()
    );

    // Paging: small pages walk the same entries, newest first, without overlap.
    let everything = ids(&expect(reader.get("/api/v1/audit?limit=500").await, 200).await);
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/audit?limit=7&cursor={c}"),
            None => "/api/v1/audit?limit=7".to_owned(),
        };
        let page = expect(reader.get(&path).await, 200).await;
        let page_ids = ids(&page);
        assert!(page_ids.len() <= 7);
        walked.extend(page_ids);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(walked, everything);
    let numbers: Vec<i64> = walked.iter().map(|i| i.parse().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[0] > w[1]), "newest first");

    expect_invalid(reader.get("/api/v1/audit?limit=0").await, "limit").await;
    expect_invalid(reader.get("/api/v1/audit?limit=501").await, "limit").await;
    expect_invalid(reader.get("/api/v1/audit?cursor=bogus").await, "cursor").await;
}

#[tokio::test]
async fn an_org_admin_reads_only_their_organisations_rows_and_others_in_it_none() {
    let h = history().await;
    let other = Tenant::create(&h.app, &h.dcc, "Ibis Networks", "ibis.example").await;

    let own = all_entries(&h.tenant.admin, "").await;
    assert!(!own.is_empty());
    assert!(own.iter().all(|e| e["organisation_id"] == h.tenant.id));
    find(&own, "sign_in.locked", &h.tenant.user.person_id);
    find(&own, "api_token.revoked", &h.token_id);

    let everything = all_entries(&h.dcc, "").await;
    let orgs: HashSet<&str> = everything
        .iter()
        .filter_map(|e| e["organisation_id"].as_str())
        .collect();
    assert!(orgs.contains(h.tenant.id.as_str()));
    assert!(orgs.contains(other.id.as_str()));
    assert!(orgs.contains(h.dcc.organisation_id.as_str()));
    assert!(everything.len() > own.len());

    let (_, token) = h.app.issue_api_token(&other.admin, &["reports:read"]).await;
    // The reporter's MFA was reset in the history: they enrol again first.
    let reporter = h
        .app
        .sign_in_enrolling(&h.tenant.reporter.email, &h.tenant.reporter.password)
        .await;
    for reader in [&*h.tenant.user, &*reporter, &token] {
        expect_problem(reader.get("/api/v1/audit").await, 403, "forbidden").await;
    }
}

#[tokio::test]
async fn audit_rows_name_the_request_that_caused_them() {
    let h = history().await;
    let res = h
        .tenant
        .admin
        .request(
            Method::PATCH,
            &format!("/api/v1/users/{}", h.tenant.user.person_id),
        )
        .header("x-request-id", "trace-audit-42")
        .json(&json!({"name": "Renamed Person"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-audit-42");
    expect(res, 200).await;
    let entries = all_entries(
        &h.tenant.admin,
        &format!(
            "action=person.updated&entity_id={}",
            h.tenant.user.person_id
        ),
    )
    .await;
    assert_eq!(entries[0]["request_id"], "trace-audit-42");
    assert_eq!(
        entries[0]["changes"]["name"]["to"], "Renamed Person",
        "{}",
        entries[0]
    );
}
