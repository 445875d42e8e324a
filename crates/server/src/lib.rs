//! The dsms server: configuration, telemetry, the [`Application`] that wires the database, the
//! delivery worker and the HTTP server together, and the command line.
//!
//! Tests build the same [`Application`] on port 0; there is no second way to start the system.

pub mod admin;
mod admin_store;
pub mod app;
pub mod backup;
pub mod bench;
pub mod cli;
pub mod config;
pub mod import;
pub mod seed;
pub mod telemetry;

pub use app::Application;
pub use config::Config;

/// Creates the first administrator on a database that has none, returning the credentials to
/// show once. Used by `dsms serve` and `dsms migrate`.
pub fn bootstrap_first_admin(
    db: &dsms_store::Db,
    hasher: &dsms_auth::PasswordHasher,
    clock: &dyn dsms_core::Clock,
    settings: &dsms_auth::BootstrapSettings,
) -> anyhow::Result<Option<dsms_auth::InitialCredentials>> {
    use anyhow::Context;
    dsms_auth::ensure_first_admin(db, hasher, clock, settings)
        .context("cannot create the first administrator")
}
