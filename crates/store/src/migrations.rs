//! Per-backend migrations, embedded in the binary: `migrations/sqlite` and `migrations/postgres`
//! hold the same migrations under the same names, each in its database's dialect.

use diesel::connection::SimpleConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::connection::DbConnection;
use crate::error::StoreError;

/// The SQLite migrations.
pub const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
/// The PostgreSQL migrations.
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// An arbitrary constant naming dsms's migration lock among PostgreSQL advisory locks.
const MIGRATION_LOCK: i64 = 0x0064_736d_736d_6967;

/// Applies every pending migration and returns the versions applied.
///
/// On PostgreSQL an advisory lock makes instances starting together take turns: the first
/// applies, the others then find nothing pending.
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let applied = match conn {
        // SQLite has no advisory locks; holding its write lock for the whole run makes a second
        // process starting at the same moment wait, then find nothing pending.
        DbConnection::Sqlite(c) => {
            use diesel::connection::{AnsiTransactionManager, TransactionManager};
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
            let result = c.run_pending_migrations(SQLITE).map(versions);
            if result.is_ok() {
                <AnsiTransactionManager as TransactionManager<diesel::SqliteConnection>>::commit_transaction(c)?;
            } else {
                <AnsiTransactionManager as TransactionManager<diesel::SqliteConnection>>::rollback_transaction(c)?;
            }
            result
        }
        DbConnection::Pg(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let result = c.run_pending_migrations(POSTGRES).map(versions);
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
            result
        }
    };
    applied.map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))
}

/// How many migrations are not yet applied.
pub fn pending_count(conn: &mut DbConnection) -> Result<usize, StoreError> {
    let pending = match conn {
        DbConnection::Sqlite(c) => c.pending_migrations(SQLITE).map(|p| p.len()),
        DbConnection::Pg(c) => c.pending_migrations(POSTGRES).map(|p| p.len()),
    };
    pending.map_err(|e| StoreError::Unavailable(format!("cannot read migration state: {e}")))
}

fn versions(applied: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    applied.into_iter().map(|v| v.to_string()).collect()
}

/// The names of the migrations embedded for `backend`, in order.
pub fn names(backend: crate::Backend) -> Vec<String> {
    use diesel::migration::MigrationSource;
    let listed = match backend {
        crate::Backend::Sqlite => MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE)
            .map(|m| m.iter().map(|m| m.name().to_string()).collect()),
        crate::Backend::Postgres => MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES)
            .map(|m| m.iter().map(|m| m.name().to_string()).collect()),
    };
    listed.unwrap_or_default()
}
