use dsms_core::{Forbidden, ValidationErrors};
use dsms_store::StoreError;

/// What can go wrong in identity and access, in terms callers branch on.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The input broke one or more rules; each offending field is named.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// The record would duplicate an existing one (an email or organisation name in use).
    #[error("{0}")]
    Duplicate(String),
    /// The record does not exist or is not visible to the caller.
    #[error("not found")]
    NotFound,
    /// Sign-in failed. Deliberately says nothing about which part was wrong or whether the
    /// account exists.
    #[error("the email address, password or code is not correct")]
    InvalidCredentials,
    /// A bearer token, session or emailed link is missing, invalid, expired or revoked.
    #[error("{0}")]
    Unauthenticated(String),
    /// Too many failed attempts; try again after this many seconds.
    #[error("too many failed attempts; try again in {retry_after_secs} s")]
    Throttled {
        /// Seconds until the next attempt is allowed.
        retry_after_secs: u64,
    },
    /// The caller may not do this.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// The record changed since the caller read it (`If-Match` is stale).
    #[error("the record has changed since version {0}; fetch it again")]
    VersionMismatch(i64),
    /// The same `Idempotency-Key` came with a different request.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyMismatch,
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
    /// A cryptographic operation failed (bad key, corrupt secret).
    #[error("credential failure: {0}")]
    Crypto(String),
    /// Password hashing failed (misconfigured parameters).
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

impl From<StoreError> for AuthError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            other => Self::Store(other),
        }
    }
}

impl From<crate::credentials::CredentialError> for AuthError {
    fn from(error: crate::credentials::CredentialError) -> Self {
        Self::Crypto(error.to_string())
    }
}
