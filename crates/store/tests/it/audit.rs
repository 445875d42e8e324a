use chrono::Utc;
use diesel::RunQueryDsl;
use dsms_core::Actor;
use dsms_store::StoreError;
use dsms_store::audit::{self, AuditEvent, Changes};

use crate::support::migrated_db;

#[test]
fn audit_rows_are_recorded_with_their_changes_and_cannot_be_altered() {
    let (_test_db, db) = migrated_db();
    let actor = Actor::system("test");
    db.write_blocking(|conn| {
        audit::record(
            conn,
            Utc::now(),
            AuditEvent {
                actor: &actor,
                organisation_id: Some(7),
                action: "organisation.updated",
                entity_type: "organisation",
                entity_id: "7".into(),
                changes: Changes::new()
                    .field("status", "active", "suspended")
                    .field("name", "Same", "Same"),
                request_id: Some("req-1"),
            },
        )
    })
    .expect("recorded");

    let rows = db
        .read_blocking(|conn| audit::for_entity(conn, "organisation", "7"))
        .expect("read");
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.actor_kind, "system");
    assert_eq!(row.actor_id, "test");
    assert_eq!(row.request_id.as_deref(), Some("req-1"));
    let changes: serde_json::Value = serde_json::from_str(&row.changes).unwrap();
    assert_eq!(
        changes,
        serde_json::json!({"status": {"from": "active", "to": "suspended"}}),
        "unchanged fields are left out"
    );

    for statement in ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"] {
        let result: Result<usize, StoreError> =
            db.write_blocking(|conn| Ok(diesel::sql_query(statement).execute(conn)?));
        assert!(result.is_err(), "{statement} must be refused");
    }
    let rows = db
        .read_blocking(|conn| audit::for_entity(conn, "organisation", "7"))
        .expect("read");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].action, "organisation.updated");
}

#[test]
fn a_failed_unit_of_work_writes_nothing() {
    let (_test_db, db) = migrated_db();
    let actor = Actor::system("test");
    let result: Result<(), StoreError> = db.write_blocking(|conn| {
        audit::record(
            conn,
            Utc::now(),
            AuditEvent {
                actor: &actor,
                organisation_id: None,
                action: "thing.created",
                entity_type: "thing",
                entity_id: "1".into(),
                changes: Changes::new().created("name", "x"),
                request_id: None,
            },
        )?;
        Err(StoreError::NotFound)
    });
    assert!(result.is_err());
    let rows = db
        .read_blocking(|conn| audit::for_entity(conn, "thing", "1"))
        .expect("read");
    assert!(
        rows.is_empty(),
        "the audit row was rolled back with the unit of work"
    );
}
