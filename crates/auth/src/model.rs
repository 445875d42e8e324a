use chrono::NaiveDateTime;
use dsms_core::text_enum;
pub use dsms_core::{OrganisationKind, Role, SecRole};
use serde::Serialize;

text_enum! {
    /// An organisation's standing under the SEC.
    OrganisationStatus {
        /// Active.
        Active => "active",
        /// Suspended: its people cannot act.
        Suspended => "suspended",
        /// Withdrawn from the SEC; kept for history.
        Withdrawn => "withdrawn",
    }
}

/// An organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organisation {
    /// Its id.
    pub id: i64,
    /// Its name, unique regardless of case.
    pub name: String,
    /// Operator or user.
    pub kind: OrganisationKind,
    /// Its SEC party id, when known.
    pub sec_party_id: Option<String>,
    /// Its SEC user roles, sorted.
    pub sec_roles: Vec<SecRole>,
    /// Its standing.
    pub status: OrganisationStatus,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// When it was created (UTC).
    pub created_at: NaiveDateTime,
    /// When it last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// A person who signs in and acts for one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    /// Their id.
    pub id: i64,
    /// The organisation they act for.
    pub organisation_id: i64,
    /// Their email address, lower case, unique.
    pub email: String,
    /// Their name.
    pub name: String,
    /// Their roles, sorted.
    pub roles: Vec<Role>,
    /// Whether they must choose a new password at next sign-in.
    pub must_change_password: bool,
    /// Whether they have an authenticator enrolled.
    pub mfa_enrolled: bool,
    /// When they last completed sign-in (UTC).
    pub last_sign_in_at: Option<NaiveDateTime>,
    /// `active` or `deactivated`.
    pub status: String,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// When they were created (UTC).
    pub created_at: NaiveDateTime,
    /// When they last changed (UTC).
    pub updated_at: NaiveDateTime,
}
