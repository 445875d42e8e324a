use dsms_store::{Backend, migrations};
use dsms_testkit::TestDatabase;

use crate::support::connect;

#[test]
fn migrations_apply_from_empty_and_are_idempotent() {
    let test_db = TestDatabase::new();
    let db = connect(&test_db);
    assert!(
        db.check_ready().is_err(),
        "an unmigrated database is not ready"
    );

    let applied = db.migrate().expect("first run applies");
    assert_eq!(applied.len(), migrations::names(db.backend()).len());
    db.check_ready().expect("ready once migrated");

    let again = db.migrate().expect("second run succeeds");
    assert!(again.is_empty(), "nothing left to apply, got {again:?}");

    // A second pool (another server instance) finds nothing to do either.
    let other = connect(&test_db);
    assert!(other.migrate().expect("other instance").is_empty());
}

#[test]
fn both_backends_ship_the_same_migrations() {
    let sqlite = migrations::names(Backend::Sqlite);
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, migrations::names(Backend::Postgres));
}
