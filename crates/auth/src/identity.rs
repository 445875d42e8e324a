//! [`Identity`]: the service behind sign-in, sessions and account management. Its methods block
//! (database, password hashing); call them from a blocking thread.

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use dsms_core::SharedClock;
use dsms_store::{Db, timestamp};

use crate::AuthError;
use crate::credentials::secretbox::{MasterKey, SecretBox};
use crate::password::PasswordHasher;
use crate::settings::IdentitySettings;
use crate::signing_keys::SigningKeys;

/// Where a request came from, for throttling and the sign-in log.
#[derive(Debug, Clone, Default)]
pub struct Client {
    /// The client's address.
    pub ip: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
    /// The request id, recorded on audit rows.
    pub request_id: Option<String>,
}

/// Identity and access: sign-in with password and TOTP, sessions, API tokens, people and
/// organisations. Cheap to clone.
#[derive(Clone)]
pub struct Identity {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub db: Db,
    pub clock: SharedClock,
    pub hasher: PasswordHasher,
    pub secrets: SecretBox,
    pub jwt: SigningKeys,
    pub settings: IdentitySettings,
    /// Verified against when an account does not exist, so an unknown email costs the same
    /// time as a wrong password.
    pub dummy_hash: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("issuer", &self.inner.settings.issuer)
            .finish()
    }
}

/// The audience of access tokens.
pub const ACCESS_TOKEN_AUDIENCE: &str = "dsms-api";

/// The key-derivation purpose under which TOTP secrets are sealed: whatever writes people's
/// authenticator secrets outside this service (the seed) must seal them under the same key.
pub const TOTP_SECRETS_PURPOSE: &str = "dsms totp secrets v1";

impl Identity {
    /// Builds the service. The master key seals TOTP secrets and signs access tokens through
    /// independent derived keys.
    pub fn new(
        db: Db,
        clock: SharedClock,
        hasher: PasswordHasher,
        master_key: &MasterKey,
        settings: IdentitySettings,
    ) -> Result<Self, AuthError> {
        let dummy_hash = hasher.hash("dsms-timing-equaliser")?;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                clock,
                hasher,
                secrets: SecretBox::new(master_key.derive(TOTP_SECRETS_PURPOSE)),
                jwt: SigningKeys::new(
                    master_key,
                    &settings.issuer,
                    ACCESS_TOKEN_AUDIENCE,
                    settings.access_token_ttl,
                ),
                settings,
                dummy_hash,
            }),
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &IdentitySettings {
        &self.inner.settings
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    pub(crate) fn stamp(&self) -> NaiveDateTime {
        timestamp(self.inner.clock.now())
    }

    pub(crate) fn db(&self) -> &Db {
        &self.inner.db
    }
}

/// Converts a std duration for timestamp arithmetic, saturating.
pub(crate) fn span(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
