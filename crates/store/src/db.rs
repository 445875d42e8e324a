use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::{PgConnection, SqliteConnection};

use crate::connection::{Backend, ConnectionFactory, DbConnection, DbTarget};
use crate::error::StoreError;
use crate::migrations;

/// How SQLite flushes commits to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteSynchronous {
    /// Survives a process crash; the last commits may be lost on power failure. The default.
    Normal,
    /// Survives power failure too, at a cost in commit rate.
    Full,
}

/// How to reach the database and how many connections to keep.
#[derive(Debug, Clone)]
pub struct DbSettings {
    /// Which database, and where.
    pub target: DbTarget,
    /// The most connections the pool opens.
    pub pool_size: u32,
    /// How long a unit of work waits for a free connection before the database counts as unavailable.
    pub acquire_timeout: Duration,
    /// How long SQLite waits for another process's write lock.
    pub busy_timeout: Duration,
    /// SQLite's durability setting.
    pub sqlite_synchronous: SqliteSynchronous,
}

/// A pooled database handle. Cheap to clone; every clone shares one pool.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<ConnectionFactory>,
    backend: Backend,
    /// SQLite admits one writer at a time; queueing writers here instead of in SQLite's busy
    /// handler (which sleeps in growing steps) keeps commit latency flat under concurrency.
    sqlite_writer: Option<Arc<Mutex<()>>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .field("state", &self.pool.state())
            .finish()
    }
}

impl Db {
    /// Builds the pool. Connections are opened lazily, so this succeeds even when the database is
    /// down; [`Db::migrate`] or the first unit of work reports that.
    pub fn connect(settings: &DbSettings) -> Result<Self, StoreError> {
        if let DbTarget::Sqlite(path) = &settings.target
            && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Unavailable(format!(
                    "cannot create the data directory {}: {e}",
                    parent.display()
                ))
            })?;
        }
        let factory = ConnectionFactory {
            target: settings.target.clone(),
            busy_timeout: settings.busy_timeout,
            synchronous: match settings.sqlite_synchronous {
                SqliteSynchronous::Normal => "NORMAL",
                SqliteSynchronous::Full => "FULL",
            },
        };
        let pool = r2d2::Pool::builder()
            .max_size(settings.pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(settings.acquire_timeout)
            .test_on_check_out(false)
            .error_handler(Box::new(LogPoolErrors))
            .build_unchecked(factory);
        let backend = settings.target.backend();
        Ok(Self {
            pool,
            backend,
            sqlite_writer: (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))),
        })
    }

    /// Which database this handle talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies pending migrations, returning the versions applied.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        migrations::run_pending(&mut *self.pool.get()?)
    }

    /// Checks that the database answers and that every migration is applied.
    pub fn check_ready(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        match migrations::pending_count(&mut conn)? {
            0 => Ok(()),
            n => Err(StoreError::Unavailable(format!(
                "{n} migration(s) not yet applied"
            ))),
        }
    }

    /// Runs `work` as one read-write transaction on a blocking thread.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let db = self.clone();
        spawn(move || db.write_blocking(work)).await
    }

    /// Runs `work` as one read-only transaction (a consistent snapshot) on a blocking thread.
    pub async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let db = self.clone();
        spawn(move || db.read_blocking(work)).await
    }

    /// [`Db::write`] for callers that are already on a blocking thread (the command line, workers).
    pub fn write_blocking<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
        E: From<StoreError>,
    {
        let mut conn = self.pool.get().map_err(StoreError::from)?;
        let _turn = self
            .sqlite_writer
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()));
        in_transaction(&mut conn, Mode::Write, work)
    }

    /// [`Db::read`] for callers that are already on a blocking thread.
    pub fn read_blocking<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
        E: From<StoreError>,
    {
        let mut conn = self.pool.get().map_err(StoreError::from)?;
        in_transaction(&mut conn, Mode::Read, work)
    }

    /// Connections open and idle, for metrics.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }
}

async fn spawn<T, E, F>(work: F) -> Result<T, E>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|join| Err(StoreError::Interrupted(join.to_string()).into()))
}

#[derive(Clone, Copy)]
enum Mode {
    Read,
    Write,
}

fn in_transaction<T, E, F>(conn: &mut DbConnection, mode: Mode, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<StoreError>,
{
    begin(conn, mode).map_err(|e| E::from(e.into()))?;
    match work(conn) {
        Ok(value) => match finish(conn, true) {
            Ok(()) => Ok(value),
            Err(e) => {
                // A failed commit leaves nothing written; make sure the connection is clean.
                let _ = finish(conn, false);
                Err(E::from(e.into()))
            }
        },
        Err(error) => {
            if let Err(rollback) = finish(conn, false) {
                tracing::warn!(error = %rollback, "rollback failed");
            }
            Err(error)
        }
    }
}

fn begin(conn: &mut DbConnection, mode: Mode) -> diesel::QueryResult<()> {
    match (conn, mode) {
        // IMMEDIATE takes the write lock up front: a deferred transaction that later tries to
        // upgrade can fail with SQLITE_BUSY without waiting, losing the whole unit of work.
        (DbConnection::Sqlite(c), Mode::Write) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
        }
        (DbConnection::Sqlite(c), Mode::Read) => {
            <AnsiTransactionManager as TransactionManager<SqliteConnection>>::begin_transaction(c)
        }
        (DbConnection::Pg(c), Mode::Write) => {
            <AnsiTransactionManager as TransactionManager<PgConnection>>::begin_transaction(c)
        }
        (DbConnection::Pg(c), Mode::Read) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN READ ONLY")
        }
    }
}

fn finish(conn: &mut DbConnection, commit: bool) -> diesel::QueryResult<()> {
    match (conn, commit) {
        (DbConnection::Sqlite(c), true) => {
            <AnsiTransactionManager as TransactionManager<SqliteConnection>>::commit_transaction(c)
        }
        (DbConnection::Sqlite(c), false) => <AnsiTransactionManager as TransactionManager<
            SqliteConnection,
        >>::rollback_transaction(c),
        (DbConnection::Pg(c), true) => {
            <AnsiTransactionManager as TransactionManager<PgConnection>>::commit_transaction(c)
        }
        (DbConnection::Pg(c), false) => {
            <AnsiTransactionManager as TransactionManager<PgConnection>>::rollback_transaction(c)
        }
    }
}

#[derive(Debug)]
struct LogPoolErrors;

impl r2d2::HandleError<diesel::r2d2::Error> for LogPoolErrors {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        tracing::warn!(%error, "database connection failed");
    }
}
