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

/// One text row of a raw query.
#[derive(Debug, PartialEq, Eq, QueryableByName)]
struct Line {
    #[diesel(sql_type = diesel::sql_types::Text)]
    line: String,
}

fn lines(env: &Env, sqlite: &str, postgres: &str) -> Vec<String> {
    let database = db(env);
    let sql = match database.backend() {
        dsms_store::Backend::Sqlite => sqlite,
        dsms_store::Backend::Postgres => postgres,
    }
    .to_owned();
    database
        .read_blocking(move |conn| {
            diesel::sql_query(sql)
                .load::<Line>(conn)
                .map_err(dsms_store::StoreError::from)
        })
        .expect("query")
        .into_iter()
        .map(|l| l.line)
        .collect()
}

/// Everything seeded about incidents besides their own rows: comments, history, devices,
/// pauses, SLA events and the search entries, one line per row in a fixed order.
fn incident_records_of(env: &Env) -> Vec<String> {
    let mut all = Vec::new();
    for (sqlite, postgres) in [
        (
            "SELECT incident_id || '|' || author_id || '|' || body || '|' || internal || '|' || created_at AS line
             FROM incident_comments ORDER BY id",
            "SELECT incident_id || '|' || author_id || '|' || body || '|' || CASE WHEN internal THEN 1 ELSE 0 END
                 || '|' || to_char(created_at, 'YYYY-MM-DD HH24:MI:SS') AS line
             FROM incident_comments ORDER BY id",
        ),
        (
            "SELECT entity_id || '|' || action || '|' || changes AS line FROM audit_log
             WHERE entity_type = 'incident' ORDER BY id",
            "SELECT entity_id || '|' || action || '|' || changes AS line FROM audit_log
             WHERE entity_type = 'incident' ORDER BY id",
        ),
        (
            "SELECT incident_id || '|' || device_id AS line FROM incident_devices
             ORDER BY incident_id, device_id",
            "SELECT incident_id || '|' || device_id AS line FROM incident_devices
             ORDER BY incident_id, device_id",
        ),
        (
            "SELECT incident_id || '|' || started_at || '|' || coalesce(ended_at, '') AS line
             FROM incident_pauses ORDER BY incident_id, started_at",
            "SELECT incident_id || '|' || to_char(started_at, 'YYYY-MM-DD HH24:MI:SS') || '|'
                 || coalesce(to_char(ended_at, 'YYYY-MM-DD HH24:MI:SS'), '') AS line
             FROM incident_pauses ORDER BY incident_id, started_at",
        ),
        (
            "SELECT incident_id || '|' || clock || '|' || kind || '|' || fired_at AS line
             FROM incident_sla_events ORDER BY incident_id, clock, kind",
            "SELECT incident_id || '|' || clock || '|' || kind || '|'
                 || to_char(fired_at, 'YYYY-MM-DD HH24:MI:SS') AS line
             FROM incident_sla_events ORDER BY incident_id, clock, kind",
        ),
        (
            "SELECT rowid || '|' || comments AS line FROM incident_search ORDER BY rowid",
            "SELECT incident_id || '|' || document::text AS line FROM incident_search
             ORDER BY incident_id",
        ),
    ] {
        all.extend(lines(env, sqlite, postgres));
    }
    all
}

#[test]
fn the_same_seed_gives_the_same_incidents_and_another_seed_different_ones() {
    let (first, second, other) = (Env::new(), Env::new(), Env::new());
    seed(&first, 500, 11);
    seed(&second, 500, 11);
    seed(&other, 500, 12);
    assert_eq!(incidents_of(&first), incidents_of(&second));
    assert_ne!(incidents_of(&first), incidents_of(&other));
    let records = incident_records_of(&first);
    assert!(records.len() > 3_000, "{} records", records.len());
    assert_eq!(records, incident_records_of(&second));
    assert_ne!(records, incident_records_of(&other));
}

/// The seed builds the bulk tables' secondary indexes after loading them: the seeded database
/// ends with exactly the indexes the migrations made, and the text index answers for every
/// incident's public comments.
#[test]
fn a_seeded_database_has_every_index_the_migrations_made() {
    let (migrated, seeded) = (Env::new(), Env::new());
    let output = migrated.run(&["migrate"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    seed(&seeded, 300, 3);
    let indexes = |env: &Env| {
        lines(
            env,
            "SELECT name || ': ' || sql AS line FROM sqlite_master
             WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
            "SELECT indexname || ': ' || indexdef AS line FROM pg_indexes
             WHERE schemaname = current_schema() ORDER BY indexname",
        )
    };
    let expected = indexes(&migrated);
    assert!(
        expected
            .iter()
            .any(|i| i.starts_with("incidents_status_priority")),
        "{expected:?}"
    );
    assert_eq!(indexes(&seeded), expected);

    // Each incident's search entry holds its public comments, in order, and no work note.
    let searched = lines(
        &seeded,
        "SELECT rowid || '|' || comments AS line FROM incident_search ORDER BY rowid",
        "SELECT i.incident_id || '|' || (i.document = setweight(to_tsvector('english', n.title), 'A')
             || to_tsvector('english', n.description)
             || to_tsvector('english', coalesce((SELECT string_agg(body, E'\\n' ORDER BY c.id)
                 FROM incident_comments c WHERE c.incident_id = n.id AND NOT c.internal), '')))::text AS line
         FROM incident_search i JOIN incidents n ON n.id = i.incident_id ORDER BY i.incident_id",
    );
    assert_eq!(searched.len(), 300);
    let public = lines(
        &seeded,
        "SELECT i.id || '|' || coalesce((SELECT group_concat(body, char(10)) FROM (
             SELECT body FROM incident_comments c WHERE c.incident_id = i.id AND NOT c.internal
             ORDER BY c.id)), '') AS line FROM incidents i ORDER BY i.id",
        "SELECT id || '|true' AS line FROM incidents ORDER BY id",
    );
    assert_eq!(searched, public);
    let with_two = lines(
        &seeded,
        "SELECT CAST(count(*) AS TEXT) AS line FROM (SELECT incident_id FROM incident_comments
         WHERE NOT internal GROUP BY incident_id HAVING count(*) > 1)",
        "SELECT count(*)::text AS line FROM (SELECT incident_id FROM incident_comments
         WHERE NOT internal GROUP BY incident_id HAVING count(*) > 1) t",
    );
    assert_ne!(with_two, ["0"], "some incident has two public comments");
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
