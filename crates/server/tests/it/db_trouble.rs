//! A database that is down, locked or cut off gives `503` with `Retry-After` and recovers by
//! itself, never a crash (quality.md, Reliability): PostgreSQL connections killed under load and
//! the database refusing connections; a SQLite file locked by another process.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use dsms_testkit::TestDatabase;
use serde_json::Value;

use crate::fixtures;
use crate::support::{Env, Server};

/// Short waits so a request in trouble is answered in about a second, not the default five.
const QUICK: &[(&str, &str)] = &[
    ("DSMS_DATABASE_ACQUIRE_TIMEOUT_MS", "1000"),
    ("DSMS_DATABASE_BUSY_TIMEOUT_MS", "500"),
];

#[tokio::test]
async fn killed_postgres_connections_give_503_and_the_server_recovers_by_itself() {
    let env = Env::new();
    let Some(admin_url) = postgres_admin_url(&env.test_db) else {
        eprintln!(
            "SKIPPED killed_postgres_connections_...: PostgreSQL only (set DSMS_TEST_DATABASE_URL)"
        );
        return;
    };
    let database = env
        .test_db
        .url()
        .rsplit('/')
        .next()
        .expect("database name")
        .to_owned();
    let mut admin = PgConnection::establish(&admin_url).expect("admin connection");
    let mut server = env.serve_with(QUICK);
    server.wait_ready().await;
    let token = fixtures::api_token(env.test_db.url(), "Outage Supplier");

    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(fixtures::create_until_stopped(
        vec![server.url("")],
        token.clone(),
        8,
        "outage",
        stop.clone(),
    ));
    // Every connection the server holds is cut, again and again, while creates run.
    let kill = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{database}' AND pid <> pg_backend_pid()"
    );
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        admin.batch_execute(&kill).expect("terminate backends");
    }

    // Then the database refuses connections altogether: readiness and writes say 503.
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {database} WITH ALLOW_CONNECTIONS false; {kill}"
        ))
        .expect("refuse connections");
    // A connection being opened as the database closed may slip through; cut until none is left.
    let open = format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}'");
    loop {
        admin.batch_execute(&kill).expect("terminate backends");
        let left: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
            "({open})"
        )))
        .get_result(&mut admin)
        .expect("count connections");
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let http = reqwest::Client::new();
    let down = wait_for_status(&http, &server, 503).await;
    assert_unavailable(down).await;
    let refused = http
        .post(server.url("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&fixtures::incident("while down"))
        .send()
        .await
        .expect("create");
    assert_unavailable(refused).await;
    assert!(
        server.child.try_wait().expect("wait").is_none(),
        "the server keeps running"
    );

    admin
        .batch_execute(&format!(
            "ALTER DATABASE {database} WITH ALLOW_CONNECTIONS true"
        ))
        .expect("accept connections");
    wait_for_status(&http, &server, 200).await;
    stop.store(true, Ordering::Relaxed);
    let acknowledged = load.await.expect("load");
    assert!(!acknowledged.is_empty());
    let res = http
        .post(server.url("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&fixtures::incident("after the outage"))
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), 201, "{}", server.stderr_text());
    fixtures::assert_incidents_whole(env.test_db.url(), &acknowledged);
}

#[tokio::test]
async fn a_sqlite_file_locked_by_another_process_gives_503_and_recovers() {
    let env = Env::new();
    let Some(path) = env.test_db.sqlite_path() else {
        eprintln!("SKIPPED a_sqlite_file_locked_...: SQLite only (without DSMS_TEST_DATABASE_URL)");
        return;
    };
    let mut server = env.serve_with(QUICK);
    server.wait_ready().await;
    let token = fixtures::api_token(env.test_db.url(), "Lock Supplier");
    let http = reqwest::Client::new();
    let created = http
        .post(server.url("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&fixtures::incident("before the lock"))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);

    // Another process (a backup script, an operator's sqlite3 shell) takes the write lock.
    let mut other = SqliteConnection::establish(&path.to_string_lossy()).expect("open");
    other.batch_execute("BEGIN EXCLUSIVE").expect("lock");

    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(fixtures::create_until_stopped(
        vec![server.url("")],
        token.clone(),
        8,
        "locked",
        stop.clone(),
    ));
    let started = Instant::now();
    let refused = http
        .post(server.url("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&fixtures::incident("while locked"))
        .send()
        .await
        .expect("create");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "queued writers are refused within the busy timeout, not one after another: {:?}",
        started.elapsed()
    );
    assert_unavailable(refused).await;
    assert_unavailable(wait_for_status(&http, &server, 503).await).await;
    // Readers go on: WAL lets them read past the writer's lock.
    let list = http
        .get(server.url("/api/v1/incidents"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list");
    assert_eq!(list.status(), 200);

    tokio::time::sleep(Duration::from_secs(1)).await;
    other.batch_execute("ROLLBACK").expect("unlock");
    wait_for_status(&http, &server, 200).await;
    stop.store(true, Ordering::Relaxed);
    let acknowledged = load.await.expect("load");
    let res = http
        .post(server.url("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&fixtures::incident("after the lock"))
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), 201, "{}", server.stderr_text());
    assert!(server.child.try_wait().expect("wait").is_none());
    fixtures::assert_incidents_whole(env.test_db.url(), &acknowledged);
}

/// The PostgreSQL server the test database lives on, when testing on PostgreSQL.
fn postgres_admin_url(db: &TestDatabase) -> Option<String> {
    db.is_postgres()
        .then(|| std::env::var("DSMS_TEST_DATABASE_URL").expect("server URL"))
}

/// Polls `/readyz` until it answers `status`, returning that response.
async fn wait_for_status(
    http: &reqwest::Client,
    server: &Server,
    status: u16,
) -> reqwest::Response {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = http
            .get(server.url("/readyz"))
            .send()
            .await
            .expect("the server answers /readyz");
        if res.status() == status {
            return res;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz never answered {status}: {}",
            server.stderr_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn assert_unavailable(res: reqwest::Response) {
    if res.status() != 503 {
        panic!("expected 503, got {}: {:?}", res.status(), res.text().await);
    }
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(retry_after.is_some_and(|s| s > 0), "{:?}", res.headers());
    assert_eq!(
        res.headers()["content-type"],
        "application/problem+json",
        "{:?}",
        res.headers()
    );
    let body: Value = res.json().await.expect("problem");
    assert_eq!(body["type"], "https://dsms.example/problems/unavailable");
}
