use diesel::RunQueryDsl;
use dsms_store::StoreError;
use dsms_testkit::TestDatabase;

use crate::support::connect;

#[derive(diesel::QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

fn pragma(db: &dsms_store::Db, name: &str, column: &str) -> String {
    db.read_blocking(|conn| {
        let rows: Vec<Setting> = diesel::sql_query(format!(
            "SELECT CAST({column} AS TEXT) AS value FROM pragma_{name}"
        ))
        .load(conn)?;
        Ok::<_, StoreError>(rows.into_iter().next().map(|r| r.value).unwrap_or_default())
    })
    .expect("pragma")
}

#[test]
fn sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout() {
    let test_db = TestDatabase::sqlite();
    let db = connect(&test_db);
    db.migrate().expect("migrate");
    assert_eq!(pragma(&db, "journal_mode", "journal_mode"), "wal");
    assert_eq!(pragma(&db, "foreign_keys", "foreign_keys"), "1");
    assert_eq!(pragma(&db, "busy_timeout", "timeout"), "5000");
    assert_eq!(pragma(&db, "synchronous", "synchronous"), "1", "NORMAL");
}

#[test]
fn migrate_drops_sample_statistics_and_keeps_the_averages() {
    use diesel::connection::SimpleConnection;
    let test_db = TestDatabase::sqlite();
    let db = connect(&test_db);
    db.migrate().expect("migrate");
    let stat_tables = |db: &dsms_store::Db| {
        db.read_blocking(|conn| {
            let rows: Vec<Setting> = diesel::sql_query(
                "SELECT name AS value FROM sqlite_master WHERE name LIKE 'sqlite_stat%' ORDER BY name",
            )
            .load(conn)?;
            Ok::<_, StoreError>(rows.into_iter().map(|r| r.value).collect::<Vec<_>>())
        })
        .expect("statistics tables")
    };
    db.write_blocking(|conn| conn.batch_execute("ANALYZE;").map_err(StoreError::from))
        .expect("analyze");
    assert_eq!(stat_tables(&db), ["sqlite_stat1", "sqlite_stat4"]);
    // What a server start does to a database `dsms seed` (or an operator) analyzed.
    db.migrate().expect("migrate again");
    assert_eq!(stat_tables(&db), ["sqlite_stat1"]);
}
