use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use dsms_auth::AuthError;
use dsms_core::{FieldError, ValidationErrors};
use dsms_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error response (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The stable `type` URI of a kind of problem; clients branch on it.
pub fn problem_type(slug: &str) -> String {
    format!("https://dsms.example/problems/{slug}")
}

/// An error response body per RFC 9457.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem, stable across releases.
    #[serde(rename = "type")]
    #[schema(example = "https://dsms.example/problems/validation")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time, for a human.
    pub detail: String,
    /// The offending fields, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<ProblemField>)]
    pub errors: Vec<FieldError>,
    /// Further members specific to the kind of problem, e.g. `allowed` next states.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

/// One offending field of a validation problem.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemField {
    /// The field's path in the request, e.g. `title` or `devices[2]`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// Every way a request can fail, each with its status and stable problem type.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request could not be parsed (400).
    #[error("{0}")]
    Malformed(String),
    /// No valid credentials (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// The person must change their password before anything else (403).
    #[error("choose a new password first: POST /api/v1/me/password")]
    PasswordChangeRequired,
    /// No such resource, or not visible to the caller (404).
    #[error("the resource does not exist or is not visible to you")]
    NotFound,
    /// The resource exists but not with this method (405).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request conflicts with the resource's state (409).
    #[error("{detail}")]
    Conflict {
        /// What conflicts.
        detail: String,
        /// Extra members, e.g. the allowed next states.
        extensions: serde_json::Map<String, serde_json::Value>,
    },
    /// The action came after its window closed, e.g. a delivery confirmed after the
    /// confirmation window (409).
    #[error("{detail}")]
    WindowClosed {
        /// What was refused and why.
        detail: String,
        /// The last day the action was allowed (ISO date).
        closed_on: String,
    },
    /// `If-Match` named a stale version (412).
    #[error("{0}")]
    VersionMismatch(String),
    /// The body is larger than allowed (413).
    #[error("the request body is larger than the {0}-byte limit")]
    PayloadTooLarge(usize),
    /// The body's media type is not accepted (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The input broke the rules; each field is named (422).
    #[error(transparent)]
    Validation(ValidationErrors),
    /// Too many requests; retry after the given number of seconds (429).
    #[error("too many requests; retry in {0} s")]
    RateLimited(u64),
    /// A dependency (the database) is unavailable; retry later (503).
    #[error("{0}")]
    Unavailable(String),
    /// A fault on the server's side (500). The detail is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 422 naming one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(FieldError::new(field, message).into())
    }

    /// The problem body for this error.
    pub fn problem(&self) -> Problem {
        let (slug, title) = self.slug_and_title();
        let detail = match self {
            Self::Internal(_) => {
                "the server failed to handle the request; it has been logged".to_owned()
            }
            Self::Validation(errors) if errors.0.len() == 1 => {
                format!("{}: {}", errors.0[0].field, errors.0[0].message)
            }
            Self::Validation(errors) => {
                format!("{} fields are invalid; see errors", errors.0.len())
            }
            other => other.to_string(),
        };
        Problem {
            kind: problem_type(slug),
            title: title.to_owned(),
            status: self.status_code().as_u16(),
            detail,
            errors: match self {
                Self::Validation(errors) => errors.0.clone(),
                _ => Vec::new(),
            },
            extensions: match self {
                Self::Conflict { extensions, .. } => extensions.clone(),
                Self::WindowClosed { closed_on, .. } => {
                    let mut extensions = serde_json::Map::new();
                    extensions.insert("closed_on".into(), closed_on.clone().into());
                    extensions
                }
                _ => serde_json::Map::new(),
            },
        }
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            Self::Malformed(_) => ("malformed-request", "Malformed request"),
            Self::Unauthenticated(_) => ("unauthenticated", "Not authenticated"),
            Self::Forbidden(_) => ("forbidden", "Not allowed"),
            Self::PasswordChangeRequired => {
                ("password-change-required", "Password change required")
            }
            Self::NotFound => ("not-found", "Not found"),
            Self::MethodNotAllowed(_) => ("method-not-allowed", "Method not allowed"),
            Self::Conflict { .. } => ("conflict", "Conflict"),
            Self::WindowClosed { .. } => ("window-closed", "Window closed"),
            Self::VersionMismatch(_) => ("version-mismatch", "Version mismatch"),
            Self::PayloadTooLarge(_) => ("payload-too-large", "Payload too large"),
            Self::UnsupportedMediaType(_) => ("unsupported-media-type", "Unsupported media type"),
            Self::Validation(_) => ("validation", "Invalid input"),
            Self::RateLimited(_) => ("rate-limited", "Too many requests"),
            Self::Unavailable(_) => ("unavailable", "Service unavailable"),
            Self::Internal(_) => ("internal", "Internal server error"),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::PasswordChangeRequired => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } | Self::WindowClosed { .. } => StatusCode::CONFLICT,
            Self::VersionMismatch(_) => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(detail) = self {
            tracing::error!(%detail, "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        match self {
            Self::RateLimited(seconds) => {
                response.insert_header((header::RETRY_AFTER, seconds.to_string()));
            }
            Self::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            Self::Unauthenticated(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            _ => {}
        }
        response.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "database unavailable");
                Self::Unavailable("the database is unavailable; retry shortly".into())
            }
            StoreError::Conflict(detail) => Self::Conflict {
                detail,
                extensions: serde_json::Map::new(),
            },
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Invalid(errors) => Self::Validation(errors),
            AuthError::Duplicate(detail) => Self::Conflict {
                detail,
                extensions: serde_json::Map::new(),
            },
            AuthError::NotFound => Self::NotFound,
            AuthError::InvalidCredentials => {
                Self::Unauthenticated("the email address, password or code is not correct".into())
            }
            AuthError::Unauthenticated(detail) => Self::Unauthenticated(detail),
            AuthError::Throttled { retry_after_secs } => Self::RateLimited(retry_after_secs),
            AuthError::Forbidden(forbidden) => Self::Forbidden(forbidden.to_string()),
            AuthError::VersionMismatch(version) => Self::VersionMismatch(format!(
                "the record has changed since version {version}; fetch it again"
            )),
            AuthError::IdempotencyMismatch => Self::invalid(
                "Idempotency-Key",
                "was already used with a different request body",
            ),
            AuthError::Store(e) => e.into(),
            AuthError::Crypto(e) | AuthError::Hashing(e) => Self::Internal(e),
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Validation(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_problems_name_each_field() {
        let mut errors = ValidationErrors::default();
        errors.push("title", "must not be empty");
        errors.push("impact", "must be between 1 and 4");
        let problem = ApiError::Validation(errors).problem();
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(json["type"], "https://dsms.example/problems/validation");
        assert_eq!(json["status"], 422);
        assert_eq!(json["errors"][1]["field"], "impact");
    }

    #[test]
    fn internal_details_are_not_shown() {
        let problem = ApiError::Internal("secret table name".into()).problem();
        assert!(!problem.detail.contains("secret"));
    }

    #[test]
    fn conflict_extensions_are_top_level_members() {
        let mut extensions = serde_json::Map::new();
        extensions.insert("allowed".into(), serde_json::json!(["assigned"]));
        let json = serde_json::to_value(
            ApiError::Conflict {
                detail: "x".into(),
                extensions,
            }
            .problem(),
        )
        .unwrap();
        assert_eq!(json["allowed"], serde_json::json!(["assigned"]));
    }
}
