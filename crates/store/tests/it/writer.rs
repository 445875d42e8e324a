//! SQLite's writer: concurrent units of work share commits, and none is answered before its
//! commit or told it succeeded when its batch was lost.

use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use dsms_store::{Db, StoreError};
use dsms_testkit::TestDatabase;

use crate::support::connect;

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn sqlite_db() -> (TestDatabase, Db) {
    let test_db = TestDatabase::sqlite();
    let db = connect(&test_db);
    db.migrate().expect("migrate");
    db.write_blocking(|conn| {
        conn.batch_execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, writer INTEGER NOT NULL)")
            .map_err(StoreError::from)
    })
    .expect("probe table");
    (test_db, db)
}

fn count(db: &Db, filter: &str) -> i64 {
    db.read_blocking(|conn| {
        let rows: Vec<Count> =
            diesel::sql_query(format!("SELECT COUNT(*) AS n FROM probe WHERE {filter}"))
                .load(conn)?;
        Ok::<_, StoreError>(rows[0].n)
    })
    .expect("count")
}

fn insert(conn: &mut dsms_store::DbConnection, id: i64, writer: i64) -> Result<(), StoreError> {
    conn.batch_execute(&format!(
        "INSERT INTO probe (id, writer) VALUES ({id}, {writer})"
    ))?;
    Ok(())
}

#[test]
fn every_success_is_committed_before_it_is_answered_and_failures_undo_only_themselves() {
    let (_test_db, db) = sqlite_db();
    let db = Arc::new(db);
    let writers: Vec<_> = (0..16i64)
        .map(|w| {
            let db = db.clone();
            thread::spawn(move || {
                let mut kept = 0;
                for i in 0..60i64 {
                    let id = w * 1_000 + i;
                    let fails = i % 7 == 3;
                    let result = db.write_blocking(|conn| {
                        insert(conn, id, w)?;
                        if fails {
                            return Err(StoreError::NotFound);
                        }
                        Ok(())
                    });
                    assert_eq!(result.is_err(), fails, "unit {id}");
                    // Another connection sees an answered success at once: it was committed
                    // before the answer, not merely written into a batch still open.
                    let seen = count(&db, &format!("id = {id}"));
                    assert_eq!(seen, i64::from(!fails), "unit {id} after its answer");
                    kept += i64::from(!fails);
                }
                kept
            })
        })
        .collect();
    let kept: i64 = writers.into_iter().map(|t| t.join().expect("writer")).sum();
    assert_eq!(kept, 16 * (60 - 9));
    assert_eq!(count(&db, "1 = 1"), kept);
}

#[test]
fn a_batch_whose_transaction_is_lost_fails_every_member_and_the_writer_recovers() {
    let (_test_db, db) = sqlite_db();
    let db = Arc::new(db);
    let (started, wait_started) = mpsc::channel();
    let first = {
        let db = db.clone();
        thread::spawn(move || {
            db.write_blocking(|conn| {
                insert(conn, 1, 1)?;
                started.send(()).expect("signal");
                // Long enough for the second writer to queue, so this unit's success leaves
                // the transaction open for it.
                thread::sleep(Duration::from_millis(300));
                Ok::<_, StoreError>(())
            })
        })
    };
    wait_started.recv().expect("first unit running");
    let second = {
        let db = db.clone();
        thread::spawn(move || {
            db.write_blocking(|conn| {
                // What SQLite does itself on some errors (a full disk, an I/O error): the
                // whole transaction, the first unit's row included, is rolled back.
                conn.batch_execute("ROLLBACK")?;
                Ok::<_, StoreError>(())
            })
        })
    };
    assert!(
        first.join().expect("first").is_err(),
        "the first unit's row was lost with the batch, so it must not be answered as a success"
    );
    assert!(second.join().expect("second").is_err());
    assert_eq!(count(&db, "1 = 1"), 0);
    db.write_blocking(|conn| insert(conn, 2, 2))
        .expect("the writer works again");
    assert_eq!(count(&db, "id = 2"), 1);
}
