//! Integration tests of email delivery through the outbox, against a real SMTP server (Python's
//! aiosmtpd) and a fresh database per test: SQLite by default, PostgreSQL when
//! `DSMS_TEST_DATABASE_URL` is set.

mod concurrency;
mod delivery;
mod lifecycle;
mod retry;
mod support;
