//! Storage for dsms: one diesel schema served by SQLite (the embedded default) and PostgreSQL
//! (production) through the same code, with pooled connections, migrations embedded per backend,
//! units of work that are one transaction each and run off the async threads, and the two
//! platform tables every context writes to in its own transactions: the audit log and the outbox.
//!
//! Backend-specific SQL lives behind one small function per feature (see [`outbox::lease_due`]).
//! This crate knows nothing of HTTP.

pub mod audit;
mod connection;
mod db;
mod error;
pub mod migrations;
pub mod outbox;
pub mod schema;

pub use connection::{Backend, DbConnection, DbTarget};
pub use db::{Db, DbSettings, SqliteSynchronous};
pub use error::StoreError;

/// The current time as stored: UTC, microsecond precision, without an offset.
pub fn timestamp(now: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDateTime {
    use chrono::{SubsecRound, Timelike};
    let now = now.naive_utc().trunc_subsecs(6);
    debug_assert!(now.nanosecond().is_multiple_of(1_000));
    now
}
