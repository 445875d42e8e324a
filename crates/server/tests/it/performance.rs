//! `dsms seed` and `dsms bench` at a small size: the seeded data is what the product itself
//! would have written (the server serves it, signs seeded people in, finds it by search, and
//! reads the same SLA due times from its clocks as the seed stored), the same seed gives the
//! same data, and the benchmark drives every scenario without a failed request.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use dsms_auth::credentials::{TotpSecret, totp};
use dsms_store::schema::incidents;
use dsms_store::{Db, DbSettings, DbTarget, SqliteSynchronous};
use serde_json::{Value, json};

use crate::support::Env;

const UNTIL: &str = "2026-06-01T00:00:00Z";

fn seed(env: &Env, incidents: u64, seed: u64) -> String {
    let output = env.run(&[
        "seed",
        "--incidents",
        &incidents.to_string(),
        "--seed",
        &seed.to_string(),
        "--until",
        UNTIL,
        "--quiet",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn db(env: &Env) -> Db {
    Db::connect(&DbSettings {
        target: DbTarget::from_url(env.test_db.url()),
        pool_size: 1,
        acquire_timeout: std::time::Duration::from_secs(10),
        busy_timeout: std::time::Duration::from_secs(10),
        sqlite_synchronous: SqliteSynchronous::Normal,
    })
    .expect("database")
}

/// Every incident's reference, status and title, in id order.
fn incidents_of(env: &Env) -> Vec<(String, String, String)> {
    db(env)
        .read_blocking(|conn| {
            incidents::table
                .order(incidents::id)
                .select((incidents::reference, incidents::status, incidents::title))
                .load(conn)
                .map_err(dsms_store::StoreError::from)
        })
        .expect("incidents")
}

async fn sign_in(base: &str, email: &str, seed: u64) -> String {
    let http = reqwest::Client::new();
    let challenge: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": dsms::seed::DEFAULT_PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    assert_eq!(challenge["mfa"], "totp", "{challenge}");
    let secret = TotpSecret::from_bytes(dsms::seed::totp_secret(seed, email));
    let code = totp::code_at(&secret, Utc::now().timestamp() as u64);
    let signed_in: Value = http
        .post(format!("{base}/api/v1/auth/totp/verify"))
        .json(&json!({"mfa_token": challenge["mfa_token"], "code": code}))
        .send()
        .await
        .expect("verify")
        .json()
        .await
        .expect("json");
    signed_in["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token: {signed_in}"))
        .to_owned()
}

#[tokio::test]
async fn seeded_incidents_are_served_as_the_product_would_have_written_them() {
    let env = Env::new();
    let printed = seed(&env, 3_000, 7);
    assert!(printed.contains("3000 incidents"), "{printed}");
    let seeded = incidents_of(&env);
    assert_eq!(seeded.len(), 3_000);
    let references: BTreeSet<_> = seeded.iter().map(|(r, _, _)| r.clone()).collect();
    assert_eq!(references.len(), 3_000, "references are unique");
    let statuses: BTreeSet<_> = seeded.iter().map(|(_, s, _)| s.as_str()).collect();
    for status in [
        "new",
        "assigned",
        "in_progress",
        "resolved",
        "closed",
        "cancelled",
    ] {
        assert!(
            statuses.contains(status),
            "no {status} incident among {statuses:?}"
        );
    }

    let mut server = env.serve();
    server.wait_ready().await;
    let base = server.url("");
    let agent = sign_in(&base, &dsms::seed::agent_email(3), 7).await;
    let http = reqwest::Client::new();
    let get = |path: String| {
        let request = http.get(format!("{base}{path}")).bearer_auth(&agent);
        async move {
            let response = request.send().await.expect("request");
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.expect("json")
        }
    };

    // The search index holds every incident: its whole title finds it.
    let (reference, status, title) = &seeded[1_234];
    let found = get(format!("/api/v1/incidents/{reference}")).await;
    assert_eq!(found["status"], status.as_str());
    let hits: Value = http
        .get(format!(
            "{base}/api/v1/incidents?limit=500&q={}",
            title.replace(|c: char| !c.is_ascii_alphanumeric(), "+")
        ))
        .bearer_auth(&agent)
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("json");
    let items = hits["items"].as_array().expect("items");
    assert!(
        items.iter().any(|i| i["reference"] == reference.as_str()),
        "{title} did not find {reference}"
    );

    // The stored due times of running clocks are what the product's clocks say.
    let stored: Vec<(
        i64,
        Option<chrono::NaiveDateTime>,
        Option<chrono::NaiveDateTime>,
    )> = db(&env)
        .read_blocking(|conn| {
            incidents::table
                .filter(incidents::status.eq_any(["new", "assigned", "in_progress"]))
                .select((
                    incidents::id,
                    incidents::response_due_at,
                    incidents::resolution_due_at,
                ))
                .load(conn)
                .map_err(dsms_store::StoreError::from)
        })
        .expect("open incidents");
    assert!(!stored.is_empty());
    let seconds = |t: &Value| {
        t.as_str()
            .map(|t| t.parse::<DateTime<Utc>>().expect("a time").timestamp())
    };
    for (id, response_due, resolution_due) in stored.iter().take(60) {
        let incident = get(format!("/api/v1/incidents/{id}")).await;
        assert_eq!(
            resolution_due.map(|t| t.and_utc().timestamp()),
            seconds(&incident["sla"]["resolution_due_at"]),
            "resolution due of {id}: {incident}"
        );
        if let Some(due) = response_due {
            assert_eq!(
                Some(due.and_utc().timestamp()),
                seconds(&incident["sla"]["response_due_at"]),
                "response due of {id}"
            );
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_incidents_and_another_seed_different_ones() {
    let (first, second, other) = (Env::new(), Env::new(), Env::new());
    seed(&first, 500, 11);
    seed(&second, 500, 11);
    seed(&other, 500, 12);
    assert_eq!(incidents_of(&first), incidents_of(&second));
    assert_ne!(incidents_of(&first), incidents_of(&other));
}

#[test]
fn seeding_refuses_a_database_that_already_holds_incidents() {
    let env = Env::new();
    seed(&env, 10, 1);
    let again = env.run(&["seed", "--incidents", "10", "--quiet"]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds 10 incidents"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[tokio::test]
async fn bench_drives_every_scenario_against_a_seeded_server_without_a_failure() {
    let env = Env::new();
    seed(&env, 2_000, 5);
    let mut server = env.serve();
    server.wait_ready().await;
    let output = env.run(&[
        "bench",
        "--url",
        &server.url(""),
        "--seed",
        "5",
        "--concurrency",
        "4",
        "--requests",
        "40",
        "--server-pid",
        &server.child.id().to_string(),
    ]);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for scenario in [
        "create (API token)",
        "get by id",
        "list status+priority, first page",
        "list status+priority, deep cursor",
        "full-text search",
        "sign-in (password + TOTP)",
        "raw single-row commits on the same database",
        "server peak RSS",
    ] {
        assert!(printed.contains(scenario), "no {scenario}: {printed}");
    }
    let created = db(&env)
        .read_blocking(|conn| {
            incidents::table
                .count()
                .get_result::<i64>(conn)
                .map_err(dsms_store::StoreError::from)
        })
        .expect("count");
    assert_eq!(created, 2_040, "every create the bench counted was stored");
}
