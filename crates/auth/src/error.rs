use dsms_core::ValidationErrors;
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
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
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
