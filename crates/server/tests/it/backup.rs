//! `dsms backup` while the server takes writes, then `dsms restore`: the restored database is
//! exactly the snapshot, whole, and the server serves it. SQLite only; PostgreSQL is backed up
//! with its own tools, and the commands say so.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::fixtures;
use crate::support::Env;

#[tokio::test]
async fn a_backup_taken_while_serving_restores_to_that_moment_whole() {
    let env = Env::new();
    if env.test_db.is_postgres() {
        let out = env.run(&["backup", "--to", "/nonexistent/never.sqlite3"]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
        return;
    }
    let mut server = env.serve();
    server.wait_ready().await;
    let token = fixtures::api_token(env.test_db.url(), "Backup Supplier");

    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(fixtures::create_until_stopped(
        vec![server.url("")],
        token.clone(),
        8,
        "backup",
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let file = env.data_dir.path().join("snapshot.sqlite3");
    let out = env.run(&["backup", "--to", &file.to_string_lossy()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = env.run(&["backup", "--to", &file.to_string_lossy()]);
    assert!(!again.status.success(), "a backup never overwrites a file");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let acknowledged = load.await.expect("load");

    // The snapshot is a consistent database on its own: whole incidents only.
    let snapshot_url = format!("sqlite://{}", file.display());
    fixtures::assert_incidents_whole(&snapshot_url, &[]);
    let in_snapshot = count(&snapshot_url);
    assert!(
        in_snapshot > 0 && in_snapshot < acknowledged.len(),
        "{in_snapshot}"
    );

    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(20)).success());
    let out = env.run(&["restore", "--from", &file.to_string_lossy()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count(env.test_db.url()), in_snapshot);
    fixtures::assert_incidents_whole(env.test_db.url(), &[]);

    let mut restored = env.serve();
    restored.wait_ready().await;
    let res = reqwest::Client::new()
        .post(restored.url("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&fixtures::incident("after the restore"))
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), 201);
}

fn count(url: &str) -> usize {
    use diesel::prelude::*;
    use dsms_store::schema::incidents;
    fixtures::db(url)
        .read_blocking(|conn| {
            incidents::table
                .count()
                .get_result::<i64>(conn)
                .map_err(dsms_store::StoreError::from)
        })
        .expect("count") as usize
}
