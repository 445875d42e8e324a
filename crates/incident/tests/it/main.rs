//! Integration tests of the incident service against a real database: SQLite by default,
//! PostgreSQL when `DSMS_TEST_DATABASE_URL` is set. Time moves only by the manual clock.

mod attachments;
mod comments;
mod concurrency;
mod history;
mod idempotency;
mod lifecycle;
mod listing;
mod raising;
mod search;
mod sla;
mod support;
mod sweep;
mod visibility;
