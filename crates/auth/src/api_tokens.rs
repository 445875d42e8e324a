//! Organisations' API tokens: issued by an organisation admin for their own organisation, shown
//! once, stored as a digest, scoped, expiring, revocable, last use recorded.

use chrono::{DateTime, NaiveDateTime, Utc};
use dsms_core::{FieldError, Page, PageRequest, Permission, Principal, Scope, ValidationErrors};
use dsms_store::audit::{self, AuditEvent, Changes};

use crate::AuthError;
use crate::credentials::tokens;
use crate::identity::{Client, Identity, span};
use crate::sessions::API_TOKEN_PREFIX;
use crate::store::{self, ApiTokenRow, NewApiToken};

/// An API token as listed (never with its secret).
#[derive(Debug, Clone)]
pub struct ApiToken {
    /// Its id.
    pub id: i64,
    /// The organisation it acts for.
    pub organisation_id: i64,
    /// What it is for.
    pub name: String,
    /// Its first characters, to recognise it.
    pub prefix: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// Who issued it.
    pub created_by: i64,
    /// When it was issued (UTC).
    pub created_at: NaiveDateTime,
    /// When it stops working (UTC).
    pub expires_at: NaiveDateTime,
    /// When it was revoked (UTC).
    pub revoked_at: Option<NaiveDateTime>,
    /// When it was last used, to the minute (UTC).
    pub last_used_at: Option<NaiveDateTime>,
}

impl From<ApiTokenRow> for ApiToken {
    fn from(row: ApiTokenRow) -> Self {
        Self {
            id: row.id,
            organisation_id: row.organisation_id,
            name: row.name,
            prefix: row.token_prefix,
            scopes: row.scopes.split(' ').filter_map(Scope::parse).collect(),
            created_by: row.created_by,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// A request for a new API token.
#[derive(Debug, Clone)]
pub struct NewApiTokenRequest {
    /// What it is for.
    pub name: String,
    /// Scope names or `area:*` patterns.
    pub scopes: Vec<String>,
    /// When it should stop working; the configured default lifetime when absent.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Identity {
    /// Issues an API token for the caller's organisation. Returns it with its secret, which is
    /// never shown again.
    pub fn issue_api_token(
        &self,
        principal: &Principal,
        request: NewApiTokenRequest,
        client: &Client,
    ) -> Result<(ApiToken, String), AuthError> {
        principal.require(Permission::ManageApiTokens, "issue API tokens")?;
        let person_id = principal.person_id().ok_or_else(|| {
            AuthError::Unauthenticated("API tokens cannot issue API tokens".into())
        })?;
        let now = self.now();
        let settings = &self.inner.settings;
        let mut errors = ValidationErrors::default();
        let name = request.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push("name", "must be 1 to 100 characters");
        }
        let mut scopes = Vec::new();
        for (i, text) in request.scopes.iter().enumerate() {
            match Scope::parse_pattern(text) {
                Some(found) => scopes.extend(found),
                None => errors.push(
                    format!("scopes[{i}]"),
                    format!("unknown scope {text:?}; expected one of {}", Scope::names()),
                ),
            }
        }
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() && request.scopes.is_empty() {
            errors.push("scopes", "must name at least one scope");
        }
        let expires_at = request
            .expires_at
            .unwrap_or(now + span(settings.api_token_default_lifetime));
        if expires_at <= now {
            errors.push("expires_at", "must be in the future");
        } else if expires_at > now + span(settings.api_token_max_lifetime) {
            errors.push(
                "expires_at",
                format!(
                    "must be within {} days",
                    settings.api_token_max_lifetime.as_secs() / 86_400
                ),
            );
        }
        errors.into_result()?;

        let secret = tokens::random_token(API_TOKEN_PREFIX);
        let prefix: String = secret.chars().take(API_TOKEN_PREFIX.len() + 6).collect();
        let scope_text = scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let token = self.db().write_blocking(|conn| {
            let id = store::insert_api_token(
                conn,
                NewApiToken {
                    organisation_id: principal.organisation_id,
                    name: &name,
                    token_digest: &tokens::digest(&secret),
                    token_prefix: &prefix,
                    scopes: &scope_text,
                    created_by: person_id,
                    created_at: dsms_store::timestamp(now),
                    expires_at: dsms_store::timestamp(expires_at),
                },
            )?;
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor: &principal.actor,
                    organisation_id: Some(principal.organisation_id),
                    action: "api_token.issued",
                    entity_type: "api_token",
                    entity_id: id.to_string(),
                    changes: Changes::new()
                        .created("name", name.as_str())
                        .created("scopes", scope_text.as_str())
                        .created("expires_at", expires_at.to_rfc3339()),
                    request_id: client.request_id.as_deref(),
                },
            )?;
            Ok::<_, AuthError>(ApiToken::from(store::visible_api_token(
                conn, principal, id,
            )?))
        })?;
        Ok((token, secret))
    }

    /// One page of the API tokens `principal` may see.
    pub fn list_api_tokens(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Page<ApiToken>, AuthError> {
        principal.require(Permission::ManageApiTokens, "see API tokens")?;
        let rows = self
            .db()
            .read_blocking(|conn| store::api_tokens_page(conn, principal, page))?;
        Ok(Page::from_rows(rows, page, |t| t.id).map(ApiToken::from))
    }

    /// Revokes an API token at once. Revoking a revoked token is not an error.
    pub fn revoke_api_token(
        &self,
        principal: &Principal,
        id: i64,
        client: &Client,
    ) -> Result<(), AuthError> {
        principal.require(Permission::ManageApiTokens, "revoke API tokens")?;
        let now = self.now();
        self.db().write_blocking(|conn| {
            let token = store::visible_api_token(conn, principal, id)?;
            if store::revoke_api_token(conn, id, dsms_store::timestamp(now))? {
                audit::record(
                    conn,
                    now,
                    AuditEvent {
                        actor: &principal.actor,
                        organisation_id: Some(token.organisation_id),
                        action: "api_token.revoked",
                        entity_type: "api_token",
                        entity_id: id.to_string(),
                        changes: Changes::new().created("name", token.name.as_str()),
                        request_id: client.request_id.as_deref(),
                    },
                )?;
            }
            Ok(())
        })
    }

    /// One page of the audit log visible to `principal`.
    pub fn audit_log(
        &self,
        principal: &Principal,
        filter: &audit::AuditFilter,
        page: PageRequest,
    ) -> Result<Page<audit::AuditEntry>, AuthError> {
        principal.require(Permission::ViewAudit, "read the audit log")?;
        let rows = self
            .db()
            .read_blocking(|conn| audit::list(conn, principal, filter, page))?;
        Ok(Page::from_rows(rows, page, |e| e.id))
    }
}

/// An invalid filter field, for callers building an audit query from text.
pub fn invalid_filter(field: &str, message: &str) -> AuthError {
    ValidationErrors::from(FieldError::new(field, message)).into()
}
