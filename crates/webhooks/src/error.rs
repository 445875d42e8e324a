use dsms_core::{Forbidden, ValidationErrors};
use dsms_store::StoreError;

/// What can go wrong managing endpoints or delivering to them, in terms callers branch on.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The input broke one or more rules; each offending field is named.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// The endpoint does not exist, was deleted, or is not visible to the caller.
    #[error("not found")]
    NotFound,
    /// The caller may not do this.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// The endpoint changed since the caller read it (`If-Match` is stale).
    #[error("the webhook endpoint has changed since version {0}; fetch it again")]
    VersionMismatch(i64),
    /// The organisation already has as many endpoints as allowed.
    #[error("an organisation may register at most {0} webhook endpoints; delete one first")]
    TooMany(usize),
    /// A stored signing secret could not be opened: the master key changed or the row was
    /// altered.
    #[error("the signing secret of webhook endpoint {0} cannot be opened")]
    Secret(i64),
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for WebhookError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            other => Self::Store(other),
        }
    }
}
