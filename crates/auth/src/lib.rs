//! Identity and access for dsms (the Self Service Management Interface): organisations and the
//! people who act for them, roles, sign-in with password and TOTP, sessions, API tokens,
//! brute-force protection, invitations and password resets, and the first-run bootstrap.
//!
//! Depends on `dsms-core`, `dsms-store` and `dsms-notify` (to queue emails) only; knows nothing
//! of HTTP.

mod account;
mod api_tokens;
mod bootstrap;
pub mod credentials;
mod error;
mod groups;
mod identity;
mod model;
mod operator;
mod organisations;
mod password;
mod people;
mod sessions;
mod settings;
mod signin;
mod signing_keys;
mod store;
mod throttle;

pub use api_tokens::{ApiToken, NewApiTokenRequest, invalid_filter};
pub use bootstrap::{BootstrapSettings, InitialCredentials, ensure_first_admin};
pub use error::AuthError;
pub use groups::{GroupMember, NewGroup, ResolverGroup, SavedView};
pub use identity::{ACCESS_TOKEN_AUDIENCE, Client, Identity, TOTP_SECRETS_PURPOSE};
pub use model::{Organisation, OrganisationKind, OrganisationStatus, Person, Role, SecRole};
pub use operator::{reset_mfa, unlock_account};
pub use organisations::{NewOrganisation, OrganisationChanges, create_organisation, find_operator};
pub use password::{Argon2Settings, PasswordHasher, generate_initial_password};
pub use people::{Invitation, NewPerson, PersonChanges, create_person};
pub use sessions::{API_TOKEN_PREFIX, Authenticated, SessionKind, SignedIn, TokenUse};
pub use settings::{IdentitySettings, ThrottleSettings};
pub use signin::{Enrolment, LoginChallenge, MfaStep, SecondFactor};
pub use signing_keys::rotate_signing_key;

/// The response kept for a retried idempotency key, if any; the same key with another request
/// is refused.
fn replay<T>(
    conn: &mut dsms_store::DbConnection,
    key: Option<&dsms_store::idempotency::Idempotent<T>>,
) -> Result<Option<dsms_store::idempotency::Created<T>>, AuthError> {
    use dsms_store::idempotency::{Created, Prior};
    match key.map(|k| k.prior(conn)).transpose()? {
        None | Some(Prior::None) => Ok(None),
        Some(Prior::Replay(kept)) => Ok(Some(Created::Replayed(kept))),
        Some(Prior::Mismatch) => Err(AuthError::IdempotencyMismatch),
    }
}
