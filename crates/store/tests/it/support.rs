use std::time::Duration;

use dsms_store::{Db, DbSettings, DbTarget, SqliteSynchronous};
use dsms_testkit::TestDatabase;

/// A migrated database for one test; keep the `TestDatabase` alive as long as the `Db`.
pub fn migrated_db() -> (TestDatabase, Db) {
    let test_db = TestDatabase::new();
    let db = connect(&test_db);
    db.migrate().expect("migrations apply");
    (test_db, db)
}

pub fn connect(test_db: &TestDatabase) -> Db {
    Db::connect(&DbSettings {
        target: DbTarget::from_url(test_db.url()),
        pool_size: 8,
        acquire_timeout: Duration::from_secs(10),
        busy_timeout: Duration::from_secs(5),
        sqlite_synchronous: SqliteSynchronous::Normal,
    })
    .expect("pool")
}
