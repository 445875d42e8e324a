//! API tokens: an organisation admin issues them for their organisation's systems.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use dsms_auth::{ApiToken, NewApiTokenRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, blocking};
use crate::extract::Json;
use crate::problem::{ApiError, Problem};
use crate::routes::dto::{ListOf, PageQuery, created, time, time_opt};
use crate::state::ApiState;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/tokens").post(issue).get(list))
        .service(web::resource("/tokens/{id}").delete(revoke));
}

/// An API token, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenOut {
    /// Its id.
    id: String,
    /// What it is for.
    name: String,
    /// Its first characters, to recognise it.
    prefix: String,
    /// What it may do.
    scopes: Vec<String>,
    /// The organisation it acts for.
    organisation_id: String,
    /// Who issued it.
    created_by: String,
    /// When it was issued.
    created_at: String,
    /// When it stops working.
    expires_at: String,
    /// When it was revoked.
    revoked_at: Option<String>,
    /// When it was last used (to the minute).
    last_used_at: Option<String>,
}

impl From<ApiToken> for TokenOut {
    fn from(t: ApiToken) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name,
            prefix: t.prefix,
            scopes: t.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            organisation_id: t.organisation_id.to_string(),
            created_by: t.created_by.to_string(),
            created_at: time(t.created_at),
            expires_at: time(t.expires_at),
            revoked_at: time_opt(t.revoked_at),
            last_used_at: time_opt(t.last_used_at),
        }
    }
}

/// A newly issued token, with its secret shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenIssued {
    /// The secret to send as `Authorization: Bearer`. Stored only as a digest: it cannot be
    /// shown again.
    token: String,
    /// The token's details.
    #[serde(flatten)]
    details: TokenOut,
}

/// A token to issue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenIn {
    /// What it is for.
    name: String,
    /// Scopes such as `incidents:write` or `requests:*`.
    #[schema(example = json!(["incidents:read", "incidents:write"]))]
    scopes: Vec<String>,
    /// When it should stop working (default 90 days, at most a year).
    #[schema(value_type = Option<String>)]
    expires_at: Option<DateTime<Utc>>,
}

/// Issues an API token for the caller's organisation (organisation admins).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "api tokens", security(("bearer" = [])),
    request_body = TokenIn,
    responses((status = 201, body = TokenIssued),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn issue(
    state: web::Data<ApiState>,
    caller: Caller,
    Json(body): Json<TokenIn>,
) -> Result<HttpResponse, ApiError> {
    let identity = state.identity.clone();
    let (token, secret) = blocking(move || {
        identity
            .issue_api_token(
                &caller.principal,
                NewApiTokenRequest {
                    name: body.name,
                    scopes: body.scopes,
                    expires_at: body.expires_at,
                },
                &caller.client,
            )
            .map_err(ApiError::from)
    })
    .await?;
    Ok(created(
        format!("/api/v1/tokens/{}", token.id),
        None,
        &TokenIssued {
            token: secret,
            details: token.into(),
        },
    ))
}

/// The caller's organisation's API tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "api tokens", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = ListOf<TokenOut>),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    state: web::Data<ApiState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListOf<TokenOut>>, ApiError> {
    let page = query.page()?;
    let identity = state.identity.clone();
    let found = blocking(move || {
        identity
            .list_api_tokens(&caller.principal, page)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(ListOf::from_page(found, TokenOut::from)))
}

/// Revokes an API token; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "api tokens", security(("bearer" = [])),
    params(("id" = String, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn revoke(
    state: web::Data<ApiState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let identity = state.identity.clone();
    let id = id.into_inner();
    blocking(move || {
        identity
            .revoke_api_token(&caller.principal, id, &caller.client)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
