//! SQLite's one writer: a dedicated connection, taken in turns, with group commit.
//!
//! SQLite admits one writer at a time. Queueing writers here instead of in SQLite's busy
//! handler (which sleeps in growing steps) keeps commit latency flat under concurrency, and
//! writing through one connection keeps its page cache: a pooled connection drops its whole
//! cache whenever another connection has committed, so every write re-read the pages it touched.
//!
//! Group commit: when other writers are queued, a unit of work that succeeded leaves the
//! transaction open for the next one (each unit runs inside its own savepoint, so a failing
//! unit undoes only itself) and waits for the commit that ends the batch. Nobody is answered
//! before that commit, so a unit's success still means its data is durable; a batch that
//! cannot commit fails every unit in it. Batching shares the commit, the WAL frames of the
//! pages several units touch (index leaves, the search index's segment) and the hand-overs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use diesel::SqliteConnection;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};

use crate::connection::{ConnectionFactory, DbConnection};
use crate::error::StoreError;

/// The most units of work one commit carries.
const MAX_BATCH: usize = 16;
/// A batch whose first member has waited this long commits instead of taking another unit.
const MAX_BATCH_AGE: Duration = Duration::from_millis(4);
/// Commits after which the checkpointer copies the WAL back into the database file.
const CHECKPOINT_EVERY: u32 = 16;
/// WAL pages at which the writer checkpoints itself (SQLite's default is 1,000).
const WRITER_CHECKPOINT_PAGES: u32 = 8_192;
/// How often the checkpointer looks when fewer commits came.
const CHECKPOINT_IDLE: Duration = Duration::from_secs(1);
/// The writer's page cache, in KiB (SQLite's default is 2 MiB): it keeps the interior and
/// rightmost pages of every index a create extends, which a million incidents outgrow.
const WRITER_CACHE_KIB: u32 = 32 * 1024;

/// The writer connection and the turn to use it.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    state: Mutex<State>,
    /// The turn was given back.
    freed: Condvar,
    /// A batch's outcome is known.
    settled: Condvar,
    /// What the checkpointer thread waits on; it holds no reference to the writer, so dropping
    /// the last `Db` closes the writer connection at once.
    checkpoints: Arc<Checkpoints>,
    /// The checkpointer thread, joined on drop so that no connection of ours outlives the `Db`
    /// (`dsms seed` switches the journal mode next, which needs the file to itself).
    checkpointer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The last attempt to begin a transaction found the file locked by another process.
    pub(crate) locked_out: AtomicBool,
}

#[derive(Default)]
struct State {
    taken: bool,
    /// Writers waiting for the turn: a reason to keep a batch open.
    waiting: usize,
    /// The connection, while nobody holds the turn; opened on first use.
    conn: Option<DbConnection>,
    /// The transaction left open for the next unit of work, if any.
    open: Option<Batch>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("taken", &self.taken)
            .field("waiting", &self.waiting)
            .field("open", &self.open.as_ref().map(|b| b.members))
            .finish()
    }
}

/// An open transaction shared by several units of work.
struct Batch {
    /// When its first member began waiting for the commit.
    waited_since: Option<Instant>,
    /// Units that succeeded and wait for the commit.
    members: usize,
    outcome: Arc<OnceLock<Result<(), String>>>,
}

impl Batch {
    fn new() -> Self {
        Self {
            waited_since: None,
            members: 0,
            outcome: Arc::default(),
        }
    }
}

/// The turn, held: the connection and the batch it is in.
struct Held<'a> {
    writer: &'a Writer,
    conn: Option<DbConnection>,
    batch: Option<Batch>,
    /// The turn was already handed on with the batch left open.
    handed_on: bool,
}

impl Writer {
    /// Runs `work` as a unit of work on the writer connection, returning once it is committed.
    pub(crate) fn run<T, E, F>(
        &self,
        factory: &ConnectionFactory,
        timeout: Duration,
        work: F,
    ) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
        E: From<StoreError>,
    {
        let mut held = self.take(factory, timeout)?;
        if held.batch.is_none() {
            let begun = begin(held.conn()).map_err(StoreError::from);
            self.locked_out.store(
                matches!(begun, Err(StoreError::Unavailable(_))),
                Ordering::Relaxed,
            );
            begun?;
            held.batch = Some(Batch::new());
        }
        let result = match in_savepoint(held.conn(), work) {
            Ok(result) => result,
            Err(broken) => {
                // The transaction itself is gone (SQLite rolls a whole transaction back on
                // some errors, e.g. a full disk): every unit in the batch is lost.
                held.abort(&broken);
                return Err(E::from(broken));
            }
        };
        let mut state = self.lock();
        let batch = held.batch.as_ref().expect("a transaction is open");
        let keep_open = state.waiting > 0
            && batch.members + 1 < MAX_BATCH
            && batch
                .waited_since
                .is_none_or(|since| since.elapsed() < MAX_BATCH_AGE);
        if keep_open {
            let mut batch = held.batch.take().expect("a transaction is open");
            let outcome = batch.outcome.clone();
            if result.is_ok() {
                batch.members += 1;
                batch.waited_since.get_or_insert_with(Instant::now);
            }
            state.open = Some(batch);
            state.conn = held.conn.take();
            state.taken = false;
            held.handed_on = true;
            self.freed.notify_one();
            let value = result?;
            while outcome.get().is_none() {
                state = self.settled.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            drop(state);
            return match outcome.get() {
                Some(Ok(())) => Ok(value),
                Some(Err(why)) => Err(E::from(StoreError::Unavailable(why.clone()))),
                None => unreachable!("waited for the outcome"),
            };
        }
        drop(state);
        let committed = finish(held.conn(), true).map_err(StoreError::from);
        if let Err(error) = &committed {
            // A failed commit leaves nothing written; make sure the connection is clean.
            held.roll_back();
            held.settle(Err(format!("the batched commit failed: {error}")));
        } else {
            held.settle(Ok(()));
            self.checkpoints.committed();
        }
        committed?;
        result
    }

    /// Waits for the turn at most `timeout`: when another process holds the file's lock, every
    /// queued writer answers "unavailable" within that bound instead of each waiting out its
    /// own timeout behind the others.
    fn take(&self, factory: &ConnectionFactory, timeout: Duration) -> Result<Held<'_>, StoreError> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        state.waiting += 1;
        while state.taken {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                state.waiting -= 1;
                return Err(StoreError::Unavailable(
                    "the database is busy: no turn to write within busy_timeout".into(),
                ));
            }
            state = self
                .freed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        state.waiting -= 1;
        state.taken = true;
        let conn = state.conn.take();
        let batch = state.open.take();
        drop(state);
        let mut held = Held {
            writer: self,
            conn,
            batch,
            handed_on: false,
        };
        if held.conn.is_none() {
            let mut conn = r2d2::ManageConnection::connect(factory)
                .map_err(|error| StoreError::Unavailable(error.to_string()))?;
            // Checkpoints run on the checkpointer's own connection, so the writer seldom stops
            // to copy the WAL back and wait for the disk (see [`spawn_checkpointer`]). Those
            // cannot finish while the writer keeps appending, so the WAL would grow for as long
            // as a burst lasts; the writer's own checkpoint at a larger size bounds it, and is
            // cheap because the checkpointer has copied most frames already.
            conn.batch_execute(&format!(
                "PRAGMA cache_size = -{WRITER_CACHE_KIB}; \
                 PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES};"
            ))?;
            held.conn = Some(conn);
        }
        Ok(held)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Commits since the last checkpoint, and whether the writer is gone.
#[derive(Debug, Default)]
struct Checkpoints {
    state: Mutex<(u32, bool)>,
    due: Condvar,
}

impl Checkpoints {
    fn committed(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0 += 1;
        if state.0 >= CHECKPOINT_EVERY {
            self.due.notify_one();
        }
    }

    /// Waits for enough commits, or [`CHECKPOINT_IDLE`]; the commits to checkpoint, or `None`
    /// once the writer is gone.
    fn wait(&self) -> Option<u32> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.0 < CHECKPOINT_EVERY && !state.1 {
            state = self
                .due
                .wait_timeout(state, CHECKPOINT_IDLE)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        (!state.1).then(|| std::mem::take(&mut state.0))
    }

    fn stop(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.due.notify_one();
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.checkpoints.stop();
        let thread = self
            .checkpointer
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

/// Starts the thread that checkpoints the writer's WAL: every [`CHECKPOINT_EVERY`] commits, or
/// within [`CHECKPOINT_IDLE`] of fewer. A PASSIVE checkpoint runs beside the writer (SQLite's
/// advice for busy writers: wal.html, "Application-Initiated Checkpoints"); the thread ends
/// when the writer is dropped.
pub(crate) fn spawn_checkpointer(writer: &Writer, factory: ConnectionFactory) {
    let checkpoints = writer.checkpoints.clone();
    let spawned = std::thread::Builder::new()
        .name("dsms-checkpoint".into())
        .spawn(move || {
            while let Some(commits) = checkpoints.wait() {
                if commits > 0 {
                    checkpoint(&factory);
                }
            }
        });
    match spawned {
        Ok(thread) => {
            *writer
                .checkpointer
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(thread);
        }
        Err(error) => tracing::warn!(%error, "cannot start the WAL checkpointer"),
    }
}

/// One PASSIVE checkpoint, on a connection opened for it so none lingers between them.
fn checkpoint(factory: &ConnectionFactory) {
    let done = r2d2::ManageConnection::connect(factory)
        .map_err(|e| e.to_string())
        .and_then(|mut conn| {
            conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);")
                .map_err(|e| e.to_string())
        });
    if let Err(error) = done {
        tracing::debug!(%error, "WAL checkpoint did not run; the next one will");
    }
}

impl Held<'_> {
    fn conn(&mut self) -> &mut DbConnection {
        self.conn.as_mut().expect("the turn holds the connection")
    }

    /// Ends the batch with `outcome`, telling its waiting members.
    fn settle(&mut self, outcome: Result<(), String>) {
        if let Some(batch) = self.batch.take() {
            let _ = batch.outcome.set(outcome);
            let _guard = self.writer.lock();
            self.writer.settled.notify_all();
        }
    }

    /// Rolls the open transaction back and fails the batch.
    fn abort(&mut self, why: &StoreError) {
        self.roll_back();
        self.settle(Err(format!("the batched transaction failed: {why}")));
    }

    /// Rolls back; a connection that cannot (its transaction state is unknown) is closed, and
    /// the next turn opens a fresh one.
    fn roll_back(&mut self) {
        if let Some(conn) = self.conn.as_mut()
            && finish(conn, false).is_err()
        {
            self.conn = None;
        }
    }
}

impl Drop for Held<'_> {
    /// Gives the turn back. A turn dropped with its batch still here (a panic in a unit of
    /// work) rolls the batch back and fails its members.
    fn drop(&mut self) {
        if self.handed_on {
            return;
        }
        if self.batch.is_some() {
            self.abort(&StoreError::Interrupted("a unit of work panicked".into()));
        }
        let mut state = self.writer.lock();
        if let Some(conn) = self.conn.take() {
            state.conn = Some(conn);
        }
        state.taken = false;
        self.writer.freed.notify_one();
    }
}

/// Runs `work` inside a savepoint, undoing only it when it fails. The outer `Err` means the
/// enclosing transaction is gone.
fn in_savepoint<T, E, F>(conn: &mut DbConnection, work: F) -> Result<Result<T, E>, StoreError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
{
    conn.batch_execute("SAVEPOINT dsms_unit")?;
    let result = work(conn);
    let end = match result {
        Ok(_) => "RELEASE dsms_unit",
        Err(_) => "ROLLBACK TO dsms_unit; RELEASE dsms_unit",
    };
    conn.batch_execute(end)?;
    Ok(result)
}

fn sqlite(conn: &mut DbConnection) -> &mut SqliteConnection {
    match conn {
        DbConnection::Sqlite(c) => c,
        DbConnection::Pg(_) => unreachable!("the writer turn is SQLite's"),
    }
}

/// IMMEDIATE takes the write lock up front: a deferred transaction that later tries to
/// upgrade can fail with SQLITE_BUSY without waiting, losing the whole unit of work.
fn begin(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    AnsiTransactionManager::begin_transaction_sql(sqlite(conn), "BEGIN IMMEDIATE")
}

fn finish(conn: &mut DbConnection, commit: bool) -> diesel::QueryResult<()> {
    let c = sqlite(conn);
    if commit {
        <AnsiTransactionManager as TransactionManager<SqliteConnection>>::commit_transaction(c)
    } else {
        <AnsiTransactionManager as TransactionManager<SqliteConnection>>::rollback_transaction(c)
    }
}
