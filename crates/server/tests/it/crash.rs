//! A `201` means committed (quality.md, Reliability): the server killed with SIGKILL in the
//! middle of a load of creates keeps every incident it acknowledged, and nothing half-written.
//!
//! Runs the debug binary cargo builds for the tests (`CARGO_BIN_EXE_dsms`), so CI needs no
//! separate release build; durability does not depend on the optimisation level.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::fixtures::{self, Acknowledged};
use crate::support::Env;

/// Acknowledged creates to wait for before the kill, so it lands mid-load, not before it.
const BEFORE_KILL: usize = 60;

#[tokio::test]
async fn every_acknowledged_incident_survives_kill_9_whole() {
    let env = Env::new();
    let mut server = env.serve();
    server.wait_ready().await;
    let token = fixtures::api_token(env.test_db.url(), "Crash Supplier");

    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(fixtures::create_until_stopped(
        vec![server.url("")],
        token.clone(),
        16,
        "crash",
        stop.clone(),
    ));
    let started = Instant::now();
    while count_incidents(env.test_db.url()) < BEFORE_KILL {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the load made no progress: {}",
            server.stderr_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("reaped");
    stop.store(true, Ordering::Relaxed);
    let acknowledged: Vec<Acknowledged> = load.await.expect("load");
    assert!(
        acknowledged.len() >= BEFORE_KILL / 2,
        "{}",
        acknowledged.len()
    );

    let mut restarted = env.serve();
    restarted.wait_ready().await;
    fixtures::assert_incidents_whole(env.test_db.url(), &acknowledged);

    // The restarted server serves them, with their history, and goes on taking creates.
    let http = reqwest::Client::new();
    for ack in acknowledged.iter().step_by(acknowledged.len() / 5 + 1) {
        let got: serde_json::Value = http
            .get(restarted.url(&format!("/api/v1/incidents/{}", ack.reference)))
            .bearer_auth(&token)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(got["title"], ack.title.as_str(), "{got}");
        assert!(got["sla"]["resolution"]["due_at"].is_string(), "{got}");
        let history: serde_json::Value = http
            .get(restarted.url(&format!("/api/v1/incidents/{}/history", ack.id)))
            .bearer_auth(&token)
            .send()
            .await
            .expect("history")
            .json()
            .await
            .expect("json");
        assert!(
            history["items"]
                .as_array()
                .is_some_and(|items| !items.is_empty()),
            "{history}"
        );
    }
    let res = http
        .post(restarted.url("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&fixtures::incident("after the crash"))
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), 201);
}

fn count_incidents(url: &str) -> usize {
    use diesel::prelude::*;
    use dsms_store::schema::incidents;
    fixtures::db(url)
        .read_blocking(|conn| {
            incidents::table
                .count()
                .get_result::<i64>(conn)
                .map_err(dsms_store::StoreError::from)
        })
        .map_or(0, |n| n as usize)
}
