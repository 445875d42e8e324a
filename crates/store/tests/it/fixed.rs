use chrono::Utc;
use diesel::sql_types::{BigInt, Integer, Text};
use diesel::{QueryableByName, RunQueryDsl};
use dsms_core::Actor;
use dsms_store::audit::{self, AuditEvent, Changes};
use dsms_store::{DbBackend, DbConnection, Fixed, StoreError, outbox};

use crate::support::migrated_db;

#[derive(QueryableByName)]
struct Prepared {
    #[diesel(sql_type = Text)]
    statement: String,
}

#[derive(QueryableByName)]
struct Attempts {
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

fn set_attempts(conn: &mut DbConnection, id: i64, attempts: i32) -> Result<usize, StoreError> {
    Ok(
        Fixed::<DbBackend>::new("UPDATE outbox SET attempts = ? WHERE id = ?")
            .bind::<Integer, _>(attempts)
            .bind::<BigInt, _>(id)
            .execute(conn)?,
    )
}

fn record(conn: &mut DbConnection, organisation_id: Option<i64>) -> Result<(), StoreError> {
    audit::record(
        conn,
        Utc::now(),
        AuditEvent {
            actor: &Actor::system("test"),
            organisation_id,
            action: "organisation.updated",
            entity_type: "organisation",
            entity_id: "7".into(),
            changes: Changes::new().field("status", "active", "suspended"),
            request_id: None,
        },
    )
}

/// The hot path's statements are prepared once per connection: on PostgreSQL the server lists
/// them, once each however often they ran, which diesel's own `UPDATE` and an `INSERT` that may
/// say `DEFAULT` never are.
#[test]
fn fixed_statements_and_null_for_none_inserts_are_prepared_once_per_connection() {
    let (test_db, db) = migrated_db();
    let id = db
        .write_blocking(|conn| outbox::enqueue(conn, Utc::now(), "email", &serde_json::json!({})))
        .expect("enqueue");
    let statements = db
        .write_blocking(|conn| {
            assert_eq!(set_attempts(conn, id, 3)?, 1);
            assert_eq!(set_attempts(conn, id, 4)?, 1);
            assert_eq!(set_attempts(conn, id + 1, 5)?, 0, "no such row");
            record(conn, Some(7))?;
            record(conn, None)?;
            outbox::enqueue(conn, Utc::now(), "email", &serde_json::json!({ "n": 2 }))?;
            if !test_db.is_postgres() {
                return Ok(Vec::new());
            }
            Ok::<_, StoreError>(
                diesel::sql_query("SELECT statement FROM pg_prepared_statements")
                    .load::<Prepared>(conn)?
                    .into_iter()
                    .map(|p| p.statement)
                    .collect::<Vec<_>>(),
            )
        })
        .expect("statements ran");
    let attempts = db
        .read_blocking(|conn| {
            Ok::<_, StoreError>(
                Fixed::<DbBackend>::new("SELECT attempts FROM outbox WHERE id = ?")
                    .bind::<BigInt, _>(id)
                    .load::<Attempts>(conn)?,
            )
        })
        .expect("read");
    assert_eq!(attempts.iter().map(|a| a.attempts).collect::<Vec<_>>(), [4]);
    if test_db.is_postgres() {
        let count = |prefix: &str| statements.iter().filter(|s| s.starts_with(prefix)).count();
        assert_eq!(
            count("UPDATE outbox SET attempts = $1 WHERE id = $2"),
            1,
            "{statements:#?}"
        );
        assert_eq!(count("INSERT INTO \"audit_log\""), 1, "{statements:#?}");
        assert_eq!(count("INSERT INTO \"outbox\""), 1, "{statements:#?}");
    }
}
