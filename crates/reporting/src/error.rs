use dsms_core::{Forbidden, ValidationErrors};
use dsms_store::StoreError;

/// What can go wrong with reports, in terms callers branch on.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The parameters broke the rules; each is named.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// No such report or subscription, or not visible to the caller.
    #[error("not found")]
    NotFound,
    /// The caller may not do this.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
    /// A report could not be written out as CSV.
    #[error("cannot write the report as CSV: {0}")]
    Csv(String),
    /// A report's chart could not be drawn as an image.
    #[error("cannot draw the report's chart: {0}")]
    Image(String),
}

impl From<StoreError> for ReportError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            other => Self::Store(other),
        }
    }
}
