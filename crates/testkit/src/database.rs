use std::path::PathBuf;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

/// The environment variable naming a PostgreSQL server to test against.
pub const TEST_DATABASE_URL_ENV: &str = "DSMS_TEST_DATABASE_URL";

/// A database that exists for one test and is removed afterwards.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite { _dir: tempfile::TempDir },
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    /// A temp SQLite file, or a new PostgreSQL database on the server `DSMS_TEST_DATABASE_URL`
    /// names.
    pub fn new() -> Self {
        match std::env::var(TEST_DATABASE_URL_ENV) {
            Ok(url) if !url.is_empty() => Self::postgres(&url),
            _ => Self::sqlite(),
        }
    }

    /// A temp SQLite file, whatever the environment says.
    pub fn sqlite() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("dsms-test-")
            .tempdir()
            .expect("create a temp dir");
        let path = dir.path().join("dsms.sqlite3");
        Self {
            url: format!("sqlite://{}", path.display()),
            cleanup: Cleanup::Sqlite { _dir: dir },
        }
    }

    fn postgres(server_url: &str) -> Self {
        let name = format!("dsms_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(server_url)
            .unwrap_or_else(|e| panic!("{TEST_DATABASE_URL_ENV}: cannot connect: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the test database");
        Self {
            url: with_database(server_url, &name),
            cleanup: Cleanup::Postgres {
                admin_url: server_url.to_owned(),
                name,
            },
        }
    }

    /// The URL the application under test should use.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// True when this test runs against PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.cleanup, Cleanup::Postgres { .. })
    }

    /// The SQLite file, when on SQLite.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.url.strip_prefix("sqlite://").map(PathBuf::from)
    }
}

impl Default for TestDatabase {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// `url` with its database name replaced by `name`, keeping any query parameters.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_or_adds_the_database_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "t1"),
            "postgres://u:p@h/t1?sslmode=disable"
        );
    }
}
