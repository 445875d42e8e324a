use std::collections::HashSet;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use chrono::Utc;
use dsms_store::StoreError;
use dsms_store::outbox;

use crate::support::migrated_db;

#[test]
fn concurrent_leases_never_hand_out_the_same_row_twice() {
    let (_test_db, db) = migrated_db();
    let total = 200;
    db.write_blocking(|conn| {
        for i in 0..total {
            outbox::enqueue(conn, Utc::now(), "email", &serde_json::json!({ "n": i }))?;
        }
        Ok::<_, StoreError>(())
    })
    .expect("enqueue");

    let workers = 4;
    let barrier = Arc::new(Barrier::new(workers));
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let db = db.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let name = format!("worker-{w}");
                let mut mine = Vec::new();
                loop {
                    let batch = db
                        .write_blocking(|conn| {
                            outbox::lease_due(
                                conn,
                                Utc::now(),
                                &["email"],
                                &name,
                                Duration::from_secs(60),
                                7,
                            )
                        })
                        .expect("lease");
                    if batch.is_empty() {
                        break;
                    }
                    mine.extend(batch.into_iter().map(|r| r.id));
                }
                mine
            })
        })
        .collect();
    let leased: Vec<i64> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("worker thread"))
        .collect();
    let distinct: HashSet<_> = leased.iter().collect();
    assert_eq!(leased.len(), total, "every row leased");
    assert_eq!(distinct.len(), total, "no row leased twice");
}

#[test]
fn failed_rows_come_back_when_due_and_expired_leases_are_reclaimed() {
    let (_test_db, db) = migrated_db();
    let now = Utc::now();
    let id = db
        .write_blocking(|conn| outbox::enqueue(conn, now, "email", &serde_json::json!({})))
        .expect("enqueue");

    let lease = |at, worker: &'static str| {
        db.write_blocking(move |conn| {
            outbox::lease_due(conn, at, &["email"], worker, Duration::from_secs(30), 10)
        })
        .expect("lease")
    };

    let first = lease(now, "a");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts, 1);
    assert!(lease(now, "b").is_empty(), "leased rows are not due");

    // Worker a dies; its lease runs out and worker b takes the row.
    let later = now + chrono::Duration::seconds(31);
    let reclaimed = lease(later, "b");
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].attempts, 2);
    assert!(
        !db.write_blocking(|conn| outbox::mark_delivered(conn, later, id, "a"))
            .expect("fenced"),
        "a worker that lost its lease cannot complete the row"
    );

    let retry_at = later + chrono::Duration::seconds(10);
    db.write_blocking(|conn| {
        outbox::mark_failed(conn, id, "b", "connection refused", Some(retry_at))
    })
    .expect("fail");
    assert!(
        lease(later, "b").is_empty(),
        "not due before its retry time"
    );
    let again = lease(retry_at, "b");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].last_error.as_deref(), Some("connection refused"));

    db.write_blocking(|conn| outbox::mark_failed(conn, id, "b", "still down", None))
        .expect("dead");
    let row = db.read_blocking(|conn| outbox::get(conn, id)).expect("get");
    assert_eq!(row.status, "dead");
    assert!(
        lease(retry_at + chrono::Duration::days(1), "b").is_empty(),
        "dead rows stay parked"
    );
}
