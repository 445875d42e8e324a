//! Tests of the `dsms` binary as an operator runs it: real processes, real signals, on SQLite by
//! default and PostgreSQL when `DSMS_TEST_DATABASE_URL` is set.

mod abuse;
mod admin_commands;
mod backup;
mod cli;
mod crash;
mod db_trouble;
mod deploy;
mod fixtures;
mod import;
mod instances;
mod performance;
mod serve;
mod support;
