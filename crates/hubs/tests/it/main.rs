//! Integration tests of the hub service against a real database: SQLite by default, PostgreSQL
//! when `DSMS_TEST_DATABASE_URL` is set. Time moves only by the manual clock.

mod auxiliary;
mod bulk;
mod delivery;
mod rules;
mod support;
mod walkthrough;
