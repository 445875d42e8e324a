//! Several server processes on one PostgreSQL database (quality.md, Reliability): references
//! stay unique under concurrent creates through both, each SLA event fires once whatever the
//! number of sweepers, and `If-Match` stops a lost update made through the other process.
//! PostgreSQL only: SQLite is one host's embedded database.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use dsms_store::schema::{incident_sla_events, outbox};
use serde_json::{Value, json};

use crate::fixtures;
use crate::support::Env;

/// Priority 4 (what the load raises) gets a one-minute response target and is at risk after
/// 1% of it, so both servers' one-second sweeps cross the at-risk line within the test.
const SHORT_SLA: &str = r#"
[incidents]
at_risk_fraction = 0.01
sweep_interval_secs = 1
targets = [
    { priority = 1, response_mins = 15, resolution_mins = 240, hours = "around_the_clock" },
    { priority = 2, response_mins = 30, resolution_mins = 480, hours = "around_the_clock" },
    { priority = 3, response_mins = 120, resolution_mins = 1800, hours = "working" },
    { priority = 4, response_mins = 1, resolution_mins = 600, hours = "around_the_clock" },
    { priority = 5, response_mins = 600, resolution_mins = 6000, hours = "working" },
]
"#;

#[tokio::test]
async fn two_servers_on_one_postgres_never_duplicate_references_events_or_updates() {
    let env = Env::new();
    if !env.test_db.is_postgres() {
        eprintln!(
            "SKIPPED two_servers_on_one_postgres_...: PostgreSQL only (set DSMS_TEST_DATABASE_URL)"
        );
        return;
    }
    let config = env.data_dir.path().join("short-sla.toml");
    std::fs::write(&config, SHORT_SLA).expect("config");
    let config = config.to_string_lossy().into_owned();
    let settings = [("DSMS_CONFIG", config.as_str())];
    let mut first = env.serve_with(&settings);
    first.wait_ready().await;
    let mut second = env.serve_with(&settings);
    second.wait_ready().await;
    let token = fixtures::api_token(env.test_db.url(), "Twin Supplier");

    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(fixtures::create_until_stopped(
        vec![first.url(""), second.url("")],
        token.clone(),
        16,
        "twin",
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let acknowledged = load.await.expect("load");
    assert!(acknowledged.len() >= 20, "{}", acknowledged.len());
    let references: BTreeSet<&str> = acknowledged.iter().map(|a| a.reference.as_str()).collect();
    assert_eq!(
        references.len(),
        acknowledged.len(),
        "references are unique"
    );
    fixtures::assert_incidents_whole(env.test_db.url(), &acknowledged);

    // Both servers sweep every second; each incident's response clock goes at risk once.
    let db = fixtures::db(env.test_db.url());
    let deadline = Instant::now() + Duration::from_secs(60);
    let at_risk = loop {
        let at_risk: Vec<i64> = db
            .read_blocking(|conn| {
                incident_sla_events::table
                    .filter(incident_sla_events::kind.eq("at_risk"))
                    .filter(incident_sla_events::clock.eq("response"))
                    .select(incident_sla_events::incident_id)
                    .load(conn)
                    .map_err(dsms_store::StoreError::from)
            })
            .expect("SLA events");
        if at_risk.len() >= acknowledged.len() {
            break at_risk;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} incidents went at risk",
            at_risk.len(),
            acknowledged.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    // Let both sweepers run again over incidents already at risk.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let events: Vec<String> = db
        .read_blocking(|conn| {
            outbox::table
                .filter(outbox::kind.eq("event"))
                .select(outbox::payload)
                .load(conn)
                .map_err(dsms_store::StoreError::from)
        })
        .expect("events");
    let mut per_incident: BTreeMap<String, usize> = BTreeMap::new();
    for payload in events {
        let event: Value = serde_json::from_str(&payload).expect("JSON");
        if event["type"] == "incident.sla_at_risk" && event["clock"] == "response" {
            *per_incident
                .entry(event["incident"]["id"].as_str().expect("id").to_owned())
                .or_default() += 1;
        }
    }
    assert_eq!(at_risk.len(), acknowledged.len());
    for ack in &acknowledged {
        assert_eq!(
            per_incident.get(&ack.id),
            Some(&1),
            "{}: one at-risk event",
            ack.reference
        );
    }

    // A change through one server makes the version the other was given stale.
    let http = reqwest::Client::new();
    let target = &acknowledged[0];
    let got = http
        .get(first.url(&format!("/api/v1/incidents/{}", target.id)))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    let etag = got.headers()["etag"].to_str().expect("etag").to_owned();
    let patch = |base: String, text: &str| {
        http.patch(format!("{base}/api/v1/incidents/{}", target.id))
            .bearer_auth(&token)
            .header("If-Match", &etag)
            .json(&json!({"description": text}))
            .send()
    };
    let applied = patch(first.url(""), "updated through the first server")
        .await
        .expect("patch");
    assert_eq!(applied.status(), 200, "{:?}", applied.text().await);
    let stale = patch(second.url(""), "a lost update through the second")
        .await
        .expect("patch");
    assert_eq!(stale.status(), 412);
    let now: Value = http
        .get(second.url(&format!("/api/v1/incidents/{}", target.id)))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(now["description"], "updated through the first server");
}
