//! `dsms backup` and `dsms restore` for the embedded SQLite database. A backup is SQLite's
//! `VACUUM INTO` of the live file: one read transaction, so it is a consistent snapshot even while
//! the server keeps writing, and a compact, self-contained database file. PostgreSQL is backed up
//! with its own tools (`pg_dump`, base backups and WAL archiving; see the README).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::config::Config;

/// Writes a consistent copy of the configured SQLite database to `to` (which must not exist).
pub fn backup(config: &Config, to: &Path) -> anyhow::Result<()> {
    let live = sqlite_file(config)?;
    if to.exists() {
        bail!("{} already exists; choose a new file", to.display());
    }
    let mut conn = open(&live)?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(to.to_string_lossy().as_ref())
        .execute(&mut conn)
        .with_context(|| format!("cannot write the backup {}", to.display()))?;
    check(to)?;
    Ok(())
}

/// Replaces the configured SQLite database with the backup `from`, after checking the backup is
/// a sound dsms database. The server must be stopped first; restore refuses when it finds a
/// writer holding the database, but cannot see an idle server.
pub fn restore(config: &Config, from: &Path) -> anyhow::Result<()> {
    let live = sqlite_file(config)?;
    check(from)?;
    if live.exists() {
        let mut conn = open(&live)?;
        conn.batch_execute("PRAGMA busy_timeout = 0; BEGIN EXCLUSIVE; ROLLBACK;")
            .context("the database is in use: stop the server before restoring")?;
    }
    let staged = live.with_extension("restoring");
    std::fs::copy(from, &staged)
        .with_context(|| format!("cannot copy {} beside the database", from.display()))?;
    std::fs::File::open(&staged)?.sync_all()?;
    // The old file's write-ahead log belongs to the old file; left beside the restored one it
    // would be replayed into it.
    for suffix in ["-wal", "-shm"] {
        let mut side = live.clone().into_os_string();
        side.push(suffix);
        match std::fs::remove_file(&side) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    std::fs::rename(&staged, &live).context("cannot move the restored database into place")?;
    Ok(())
}

fn sqlite_file(config: &Config) -> anyhow::Result<PathBuf> {
    match config.db_settings().target {
        dsms_store::DbTarget::Sqlite(path) => Ok(path),
        dsms_store::DbTarget::Postgres(_) => bail!(
            "dsms backup and restore are for the embedded SQLite database; back up PostgreSQL \
             with pg_dump or base backups with WAL archiving (see the README)"
        ),
    }
}

fn open(path: &Path) -> anyhow::Result<SqliteConnection> {
    SqliteConnection::establish(&path.to_string_lossy())
        .with_context(|| format!("cannot open {}", path.display()))
}

#[derive(QueryableByName)]
struct IntegrityCheck {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

/// A sound SQLite file that holds a migrated dsms database.
fn check(path: &Path) -> anyhow::Result<()> {
    if !path.is_file() {
        bail!("{} is not a file", path.display());
    }
    let mut conn = open(path)?;
    let verdict: Vec<IntegrityCheck> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .with_context(|| format!("{} is not a SQLite database", path.display()))?;
    if verdict.len() != 1 || verdict[0].integrity_check != "ok" {
        bail!("{} failed SQLite's integrity check", path.display());
    }
    let pending =
        dsms_store::migrations::pending_count(&mut dsms_store::DbConnection::Sqlite(conn))
            .with_context(|| format!("{} is not a dsms database", path.display()))?;
    if pending > 0 {
        bail!(
            "{} lacks {pending} migration(s); it is not a complete dsms database",
            path.display()
        );
    }
    Ok(())
}
