//! Test support shared by the dsms crates' integration tests: a fresh database per test (a temp
//! SQLite file, or a new PostgreSQL database when `DSMS_TEST_DATABASE_URL` is set) and a real SMTP
//! server process on loopback. Never a dependency of product code.

mod database;
mod smtp;

pub use database::TestDatabase;
pub use smtp::{SmtpSink, free_port};

/// Set in CI: a test that needs an external tool (Python's aiosmtpd, Chromium) fails instead of
/// skipping when the tool is missing.
pub const REQUIRE_TOOLS_ENV: &str = "DSMS_TEST_REQUIRE_TOOLS";

/// Reports that a test cannot run here. Panics when CI requires every tool, so a missing tool
/// there is a failure, not a silent pass.
pub fn skip(test: &str, why: &str) {
    if std::env::var_os(REQUIRE_TOOLS_ENV).is_some_and(|v| v != "0") {
        panic!("{test}: {why}, and {REQUIRE_TOOLS_ENV} is set");
    }
    eprintln!("SKIPPED {test}: {why} (set {REQUIRE_TOOLS_ENV}=1 to make this a failure)");
}
