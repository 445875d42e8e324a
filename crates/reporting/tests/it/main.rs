//! Integration tests of reports against a real database: SQLite by default, PostgreSQL when
//! `DSMS_TEST_DATABASE_URL` is set. A small fixed incident log is written row by row, so every
//! figure below is computed by hand from the times in `support.rs`.

mod availability;
mod diagnostics;
mod figures;
mod hubs;
mod requests;
mod rollup;
mod scoping;
mod subscriptions;
mod support;
