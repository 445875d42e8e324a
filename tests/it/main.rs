//! End-to-end tests: the real application over real HTTP, on SQLite by default and on
//! PostgreSQL when `DSMS_TEST_DATABASE_URL` is set.

mod attachments;
mod bootstrap;
mod browser;
mod hubs;
mod identity;
mod incidents;
mod operations;
mod reports;
mod request_attachments;
mod requests;
