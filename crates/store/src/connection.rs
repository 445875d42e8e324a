use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};

/// A connection to whichever database this deployment uses; queries written once against it
/// run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// PostgreSQL, the production database.
    Pg(PgConnection),
    /// SQLite, the embedded default.
    Sqlite(SqliteConnection),
}

impl DbConnection {
    /// Which database this connection talks to.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Pg(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// The two supported databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

impl Backend {
    /// The backend's name as shown to operators.
    pub fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Sqlite => "sqlite",
        }
    }
}

/// Where the data lives: chosen explicitly from the configured URL, never by trial connection,
/// so a mistyped PostgreSQL URL fails instead of silently creating a SQLite file of that name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTarget {
    /// A PostgreSQL connection URL (`postgres://` or `postgresql://`).
    Postgres(String),
    /// A SQLite database file.
    Sqlite(PathBuf),
}

impl DbTarget {
    /// Interprets a configured URL: `postgres://…` selects PostgreSQL; `sqlite://PATH`, `sqlite:PATH`
    /// or a bare path selects SQLite.
    pub fn from_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres(url.to_owned())
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            Self::Sqlite(PathBuf::from(path))
        }
    }

    /// The backend this target selects.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgres(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// A description safe to log: PostgreSQL passwords are masked.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite:{}", path.display()),
            Self::Postgres(url) => redact_url_password(url),
        }
    }
}

/// Masks the password of a `scheme://user:password@host/...` URL.
pub fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[derive(diesel::QueryableByName)]
struct JournalMode {
    #[diesel(sql_type = diesel::sql_types::Text)]
    journal_mode: String,
}

/// Opens connections for the pool, applying each backend's session settings.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionFactory {
    pub(crate) target: DbTarget,
    pub(crate) busy_timeout: Duration,
    pub(crate) synchronous: &'static str,
}

impl r2d2::ManageConnection for ConnectionFactory {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        match &self.target {
            DbTarget::Postgres(url) => {
                let mut conn =
                    PgConnection::establish(url).map_err(diesel::r2d2::Error::ConnectionError)?;
                // Timestamps are stored as UTC without an offset; pin the session zone so
                // any server-side now() or casts agree with what the application writes.
                conn.batch_execute("SET TIME ZONE 'UTC'")
                    .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConnection::Pg(conn))
            }
            DbTarget::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // WAL lets readers proceed while one writer commits; synchronous=NORMAL in WAL
                // mode survives a process crash (kill -9) and risks only the last commits on
                // power loss — the documented trade-off, configurable as database.sqlite_synchronous.
                // busy_timeout goes first, on its own, so every later statement (including the
                // journal-mode switch, which needs a lock) waits for other connections.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {};",
                    self.busy_timeout.as_millis()
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
                // WAL lets readers proceed while one writer commits; synchronous=NORMAL in WAL
                // mode survives a process crash (kill -9) and risks only the last commits on
                // power loss — the documented trade-off, configurable as database.sqlite_synchronous.
                // The mode is persistent, so only the first connection to a new file switches it.
                let mode: Vec<JournalMode> = diesel::sql_query("PRAGMA journal_mode")
                    .load(&mut conn)
                    .map_err(diesel::r2d2::Error::QueryError)?;
                if !mode
                    .iter()
                    .any(|m| m.journal_mode.eq_ignore_ascii_case("wal"))
                {
                    conn.batch_execute("PRAGMA journal_mode = WAL;")
                        .map_err(diesel::r2d2::Error::QueryError)?;
                }
                conn.batch_execute(&format!(
                    "PRAGMA synchronous = {};
                     PRAGMA foreign_keys = ON;
                     PRAGMA temp_store = MEMORY;",
                    self.synchronous,
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    /// A connection whose transaction could not be rolled back is dropped, not reused; one the
    /// server closed is replaced by `Db` after the unit of work that found out.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_select_the_backend_explicitly() {
        assert_eq!(
            DbTarget::from_url("postgres://u:p@localhost/db").backend(),
            Backend::Postgres
        );
        assert_eq!(
            DbTarget::from_url("postgresql://localhost/db").backend(),
            Backend::Postgres
        );
        assert_eq!(
            DbTarget::from_url("sqlite://data/dsms.sqlite3"),
            DbTarget::Sqlite(PathBuf::from("data/dsms.sqlite3"))
        );
        assert_eq!(
            DbTarget::from_url("/var/lib/dsms/dsms.sqlite3"),
            DbTarget::Sqlite(PathBuf::from("/var/lib/dsms/dsms.sqlite3"))
        );
    }

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            redact_url_password("postgres://dsms:s3cret@db:5432/dsms?sslmode=require"),
            "postgres://dsms:***@db:5432/dsms?sslmode=require"
        );
        assert_eq!(
            redact_url_password("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
    }
}
