use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::{PgConnection, SqliteConnection};

use crate::connection::{Backend, ConnectionFactory, DbConnection, DbTarget};
use crate::error::StoreError;
use crate::migrations;
use crate::writer::{self, Writer};

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
    /// Opens a replacement for a pooled PostgreSQL connection the server has closed.
    reconnect: Arc<ConnectionFactory>,
    /// SQLite's one writer connection, taken in turns, with group commit ([`crate::writer`]).
    sqlite_writer: Option<Arc<Writer>>,
    /// How long a writer waits for its turn, and SQLite for another process's lock.
    busy_timeout: Duration,
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
        let reconnect = Arc::new(factory.clone());
        let factory_for_checkpoints = factory.clone();
        let pool = r2d2::Pool::builder()
            .max_size(settings.pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(settings.acquire_timeout)
            .test_on_check_out(false)
            .error_handler(Box::new(LogPoolErrors))
            .build_unchecked(factory);
        let backend = settings.target.backend();
        let sqlite_writer = (backend == Backend::Sqlite).then(|| {
            let writer = Arc::new(Writer::default());
            writer::spawn_checkpointer(&writer, factory_for_checkpoints);
            writer
        });
        Ok(Self {
            pool,
            backend,
            reconnect,
            sqlite_writer,
            busy_timeout: settings.busy_timeout,
        })
    }

    /// Which database this handle talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies pending migrations, returning the versions applied. On SQLite it also drops the
    /// planner's sample statistics (`sqlite_stat4`, written by `ANALYZE`), keeping `sqlite_stat1`.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.pool.get()?;
        let applied = migrations::run_pending(&mut conn)?;
        if let DbConnection::Sqlite(c) = &mut *conn {
            // The bundled SQLite is built with STAT4: with samples present, binding any value
            // compared against a sampled index marks the statement expired, so every cached
            // statement was compiled again on each execution — measured at over half the
            // instructions of a get by id and a fifth of a create. stat1's averages choose the
            // same plans for dsms's queries. Dropping the table changes the schema, so every
            // connection reloads the statistics.
            c.batch_execute("DROP TABLE IF EXISTS sqlite_stat4;")?;
        }
        Ok(applied)
    }

    /// Checks that the database answers and that every migration is applied. On SQLite, after
    /// a unit of work found the file locked by another process, it also checks that a write can
    /// begin again, so readiness follows the lock and recovers with it.
    pub fn check_ready(&self) -> Result<(), StoreError> {
        let pending = {
            let mut conn = self.pool.get()?;
            let pending = migrations::pending_count(&mut conn);
            if pending.is_err() {
                self.heal(&mut conn);
            }
            pending?
        };
        if pending > 0 {
            return Err(StoreError::Unavailable(format!(
                "{pending} migration(s) not yet applied"
            )));
        }
        if let Some(writer) = &self.sqlite_writer
            && writer.locked_out.load(Ordering::Relaxed)
        {
            self.write_blocking(|_| Ok::<_, StoreError>(()))?;
        }
        Ok(())
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
        if let Some(writer) = &self.sqlite_writer {
            return writer.run(&self.reconnect, self.busy_timeout, work);
        }
        let mut conn = self.pool.get().map_err(StoreError::from)?;
        let result = in_transaction(&mut conn, Mode::Write, work);
        if result.is_err() {
            self.heal(&mut conn);
        }
        result
    }

    /// Whether a short read by key may run on the calling async thread instead of a blocking
    /// one: only on SQLite, where such a read from the page cache costs less than handing it
    /// to a blocking thread and back (two thread wake-ups, measured at about a quarter of a
    /// get by id on two cores), and only while a pooled connection is free, so the read does
    /// not wait for one. Never for PostgreSQL, where a read waits on the network.
    pub fn reads_inline(&self) -> bool {
        self.backend == Backend::Sqlite && self.pool.state().idle_connections > 0
    }

    /// Runs `work`, which reads with one statement, on a pooled connection outside an explicit
    /// transaction. One statement already reads one consistent snapshot on both databases, and
    /// leaving out `BEGIN` and `COMMIT` saves two of three round trips on PostgreSQL for the
    /// lookup every request makes (authentication). Work of more statements belongs in
    /// [`Db::read_blocking`].
    pub fn read_statement_blocking<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
        E: From<StoreError>,
    {
        let mut conn = self.pool.get().map_err(StoreError::from)?;
        let result = work(&mut conn);
        if result.is_err() {
            self.heal(&mut conn);
        }
        result
    }

    /// [`Db::read`] for callers that are already on a blocking thread.
    pub fn read_blocking<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
        E: From<StoreError>,
    {
        let mut conn = self.pool.get().map_err(StoreError::from)?;
        let result = in_transaction(&mut conn, Mode::Read, work);
        if result.is_err() {
            self.heal(&mut conn);
        }
        result
    }

    /// After a failed unit of work on PostgreSQL, replaces the pooled connection if the server
    /// closed it (a restart, a failover, `pg_terminate_backend`), so the pool recovers by itself
    /// instead of handing out a dead connection forever. The check costs one round trip, and only
    /// after a failure. When the server cannot be reached the dead connection stays and the
    /// next failure tries again.
    fn heal(&self, conn: &mut DbConnection) {
        if self.backend != Backend::Postgres || conn.batch_execute("SELECT 1").is_ok() {
            return;
        }
        match r2d2::ManageConnection::connect(&*self.reconnect) {
            Ok(fresh) => {
                tracing::info!("replaced a database connection the server had closed");
                *conn = fresh;
            }
            Err(error) => tracing::warn!(%error, "cannot reconnect to the database"),
        }
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

/// Runs `work` in one transaction.
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
        (DbConnection::Sqlite(c), _) => {
            <AnsiTransactionManager as TransactionManager<SqliteConnection>>::begin_transaction(c)
        }
        (DbConnection::Pg(c), Mode::Write) => {
            <AnsiTransactionManager as TransactionManager<PgConnection>>::begin_transaction(c)
        }
        // PostgreSQL's default, READ COMMITTED, takes a new snapshot for every statement, so a
        // page and its total, or a record and its lines, could disagree. A read-only
        // REPEATABLE READ transaction reads one snapshot and never fails to serialize.
        (DbConnection::Pg(c), Mode::Read) => AnsiTransactionManager::begin_transaction_sql(
            c,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        ),
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
