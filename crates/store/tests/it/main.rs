//! Integration tests of the storage layer, run on SQLite by default and on PostgreSQL when
//! `DSMS_TEST_DATABASE_URL` is set.

mod audit;
mod fixed;
mod migrations;
mod outbox;
mod reads;
mod sqlite;
mod support;
mod writer;
