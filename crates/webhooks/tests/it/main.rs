//! Integration tests of webhooks: endpoints managed through the service, events fanned out and
//! delivered to a real HTTP receiver on loopback, on a fresh database per test — SQLite by
//! default, PostgreSQL when `DSMS_TEST_DATABASE_URL` is set.

mod concurrency;
mod disabling;
mod endpoints;
mod fan_out;
mod notifications;
mod request_notifications;
mod retries;
mod secrets;
mod signing;
mod support;
