use chrono::Utc;
use diesel::prelude::*;
use dsms_store::schema::outbox;
use dsms_store::{DbConnection, StoreError};

use crate::support::migrated_db;

fn queued(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(outbox::table.count().get_result(conn)?)
}

/// A read unit is one snapshot on both databases (on PostgreSQL that takes more than its
/// default isolation): a write committed while it runs shows only in the next unit.
#[test]
fn a_read_unit_sees_one_snapshot_while_a_write_commits_beside_it() {
    let (_test_db, db) = migrated_db();
    let (first, second) = db
        .read_blocking(|conn| {
            let first = queued(conn)?;
            db.write_blocking(|w| {
                dsms_store::outbox::enqueue(w, Utc::now(), "email", &serde_json::json!({}))
            })?;
            Ok::<_, StoreError>((first, queued(conn)?))
        })
        .expect("read");
    assert_eq!((first, second), (0, 0));
    assert_eq!(db.read_blocking(queued).expect("read again"), 1);
    assert_eq!(
        db.read_statement_blocking(queued).expect("one statement"),
        1
    );
}
