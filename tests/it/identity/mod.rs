//! Issue "Identity and access", proven over real HTTP: sign-in with password and TOTP, access
//! tokens and sessions, API tokens, brute-force protection, self-service management of people,
//! tenant isolation, optimistic concurrency and the audit log.
//!
//! Most tests run the server on a manual clock, so expiry and lockouts are reached by moving
//! time rather than waiting, and TOTP codes are computed for the server's "now".

mod access_tokens;
mod api_tokens;
mod at_rest;
mod audit;
mod mfa;
mod people;
mod sign_in;
mod tenancy;
mod throttling;
mod versions;

use chrono::{DateTime, Utc};
use dsms_tests::{Session, TestApp, TestAppBuilder};

/// Where the manual clock of every identity test starts: a few seconds into a TOTP step.
pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2030-03-04T09:00:05Z")
        .expect("a valid instant")
        .with_timezone(&Utc)
}

/// A builder for a server on a manual clock stopped at [`start_time`].
pub fn builder() -> TestAppBuilder {
    TestApp::builder().manual_clock(start_time())
}

/// A server on a manual clock.
pub async fn app() -> TestApp {
    builder().spawn().await
}

/// A user organisation with an administrator, a user and a reporter, each signed in.
pub struct Tenant {
    /// The organisation's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// An `org_admin`.
    pub admin: Session,
    /// An `org_user`.
    pub user: Session,
    /// An `org_reporter`.
    pub reporter: Session,
}

impl Tenant {
    /// Registers organisation `name` (as the operator's `dcc_admin`) and activates its people,
    /// whose addresses end in `@{domain}`.
    pub async fn create(app: &TestApp, dcc_admin: &Session, name: &str, domain: &str) -> Self {
        let id = app.create_org(dcc_admin, name, &["import_supplier"]).await;
        let admin = app
            .invite_and_activate(dcc_admin, &id, &format!("admin@{domain}"), &["org_admin"])
            .await;
        let user = app
            .invite_and_activate(&admin, &id, &format!("user@{domain}"), &["org_user"])
            .await;
        let reporter = app
            .invite_and_activate(
                &admin,
                &id,
                &format!("reporter@{domain}"),
                &["org_reporter"],
            )
            .await;
        Self {
            id,
            name: name.to_owned(),
            admin,
            user,
            reporter,
        }
    }

    /// Its people.
    pub fn people(&self) -> [&Session; 3] {
        [&self.admin, &self.user, &self.reporter]
    }
}

/// Registers organisation `name` and activates its administrator `admin@{domain}`; returns the
/// organisation's id and the administrator's session.
pub async fn org_with_admin(
    app: &TestApp,
    dcc_admin: &Session,
    name: &str,
    domain: &str,
) -> (String, Session) {
    let id = app.create_org(dcc_admin, name, &["gas_supplier"]).await;
    let admin = app
        .invite_and_activate(dcc_admin, &id, &format!("admin@{domain}"), &["org_admin"])
        .await;
    (id, admin)
}
