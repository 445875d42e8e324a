//! Storage for dsms: one diesel schema served by SQLite (the embedded default) and PostgreSQL
//! (production) through the same code, with pooled connections, migrations embedded per backend,
//! units of work that are one transaction each and run off the async threads, and the two
//! platform tables every context writes to in its own transactions: the audit log and the outbox.
//!
//! Backend-specific SQL lives behind one small function per feature (see [`outbox::lease_due`]).
//! This crate knows nothing of HTTP.

pub mod attachments;
pub mod audit;
mod connection;
mod db;
mod error;
mod fixed;
pub mod idempotency;
pub mod migrations;
pub mod outbox;
pub mod schema;
mod writer;

pub use connection::{Backend, DbConnection, DbTarget};
pub use db::{Db, DbSettings, SqliteSynchronous};
pub use error::StoreError;
pub use fixed::{Fixed, FixedExpr};

/// The backend type of [`DbConnection`], for boxed queries and expressions.
pub type DbBackend = <DbConnection as diesel::Connection>::Backend;

/// The current time as stored: UTC, microsecond precision, without an offset.
pub fn timestamp(now: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDateTime {
    use chrono::{SubsecRound, Timelike};
    let now = now.naive_utc().trunc_subsecs(6);
    debug_assert!(now.nanosecond().is_multiple_of(1_000));
    now
}

/// Restricts a boxed query to the rows the caller may see: operator staff see every
/// organisation, everyone else only their own. Every query of organisation-owned rows applies
/// its tenant filter through this one macro, so the rule is written once.
///
/// `scoped!(table.into_boxed(), table::organisation_id, principal)`
#[macro_export]
macro_rules! scoped {
    ($query:expr, $column:expr, $principal:expr) => {{
        let query = $query;
        match $principal.visible_organisation() {
            Some(organisation) => query.filter($column.eq(organisation)),
            None => query,
        }
    }};
}
