//! Integration tests of the service-request service against a real database: SQLite by
//! default, PostgreSQL when `DSMS_TEST_DATABASE_URL` is set. Time moves only by the manual clock.

mod approvals;
mod attachments;
mod catalogue;
mod events;
mod fulfilment;
mod raising;
mod sla_sweep;
mod support;
mod visibility;
