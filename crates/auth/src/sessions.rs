//! Sessions and bearer credentials: every access token names a server-side session, so logout,
//! deactivation and MFA resets stop it at once; API tokens are looked up by digest.

use chrono::NaiveDateTime;
use dsms_core::{Principal, Scope};
use dsms_store::DbConnection;
use dsms_store::audit::Changes;

use crate::AuthError;
use crate::credentials::tokens;
use crate::identity::{Client, Identity, span};
use crate::model::Role;
use crate::signin::organisation_kind;
use crate::store::{self, Credentials, NewSession};

/// Which kind of session to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// For API clients: a short-lived signed access token.
    Api,
    /// For the web UI: an opaque cookie with a CSRF token, sliding idle expiry.
    Web,
}

/// A completed sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The session's id.
    pub session_id: String,
    /// The access token (API sessions).
    pub access_token: Option<String>,
    /// The session cookie's value (web sessions).
    pub cookie: Option<String>,
    /// The CSRF token to echo on unsafe requests (web sessions).
    pub csrf_token: Option<String>,
    /// Seconds until the access token or session expires.
    pub expires_in: i64,
    /// The person must choose a new password before doing anything else.
    pub must_change_password: bool,
    /// Recovery codes, shown once, after enrolment only.
    pub recovery_codes: Vec<String>,
}

/// A caller proven by a bearer token or session cookie.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// Who, for which organisation, allowed to do what.
    pub principal: Principal,
    /// The session, for people.
    pub session_id: Option<String>,
    /// The person must change their password before doing anything else.
    pub must_change_password: bool,
    /// The session's CSRF token (web sessions).
    pub csrf_token: Option<String>,
}

/// API tokens start with this, which lets one `Authorization` header carry either kind.
pub const API_TOKEN_PREFIX: &str = "dsms_";

/// An API token's use, due to be recorded as its last (to the minute).
#[derive(Debug, Clone, Copy)]
pub struct TokenUse {
    token_id: i64,
    at: NaiveDateTime,
}

/// How stale `last_used_at` may get before it is rewritten: recording every use would turn
/// each read into a write.
const LAST_USED_GRANULARITY_SECS: i64 = 60;

fn unauthenticated(why: &str) -> AuthError {
    AuthError::Unauthenticated(why.to_owned())
}

impl Identity {
    pub(crate) fn open_session(
        &self,
        conn: &mut DbConnection,
        creds: &Credentials,
        kind: SessionKind,
        client: &Client,
    ) -> Result<SignedIn, AuthError> {
        let now = self.stamp();
        let id = tokens::random_token("");
        let settings = &self.inner.settings;
        let ttl = match kind {
            SessionKind::Api => settings.access_token_ttl,
            SessionKind::Web => settings.web_session_idle,
        };
        let cookie = (kind == SessionKind::Web).then(|| tokens::random_token("dsmsweb_"));
        let csrf = (kind == SessionKind::Web).then(|| tokens::random_token(""));
        let digest = cookie.as_deref().map(tokens::digest);
        store::insert_session(
            conn,
            NewSession {
                id: &id,
                person_id: creds.person_id,
                kind: match kind {
                    SessionKind::Api => "api",
                    SessionKind::Web => "web",
                },
                token_digest: digest.as_deref(),
                csrf_token: csrf.as_deref(),
                created_at: now,
                last_seen_at: now,
                expires_at: now + span(ttl),
                ip: client.ip.as_deref(),
                user_agent: client.user_agent.as_deref(),
            },
        )?;
        let ttl_secs = ttl.as_secs() as i64;
        let access_token = match kind {
            SessionKind::Api => Some(self.inner.jwt.issue(
                conn,
                creds.person_id,
                creds.organisation_id,
                &id,
                self.now().timestamp(),
                ttl_secs,
            )?),
            SessionKind::Web => None,
        };
        Ok(SignedIn {
            session_id: id,
            access_token,
            cookie,
            csrf_token: csrf,
            expires_in: ttl_secs,
            must_change_password: creds.must_change_password,
            recovery_codes: Vec::new(),
        })
    }

    /// Authenticates an `Authorization: Bearer` credential: an API token (`dsms_…`) or a
    /// person's access token.
    pub fn authenticate_bearer(&self, token: &str) -> Result<Authenticated, AuthError> {
        let (authenticated, used) = self.check_bearer(token)?;
        if let Some(used) = used {
            self.record_use(used)?;
        }
        Ok(authenticated)
    }

    /// Authenticates a bearer credential by reading alone; an API token's use that is due to
    /// be recorded is returned for [`Identity::record_use`]. For callers that check the
    /// credential where they must not wait for a write.
    pub fn check_bearer(
        &self,
        token: &str,
    ) -> Result<(Authenticated, Option<TokenUse>), AuthError> {
        if token.starts_with(API_TOKEN_PREFIX) {
            return self.check_api_token(token);
        }
        let claims = self.inner.jwt.verify(self.db(), token, self.now())?;
        let now = self.stamp();
        let (session, creds, roles) = self
            .db()
            .read_statement_blocking(|conn| {
                store::session_with_account(conn, store::SessionKey::Id(&claims.sid))
            })?
            .filter(|(s, _, _)| s.kind == "api" && s.revoked_at.is_none() && s.expires_at > now)
            .ok_or_else(|| unauthenticated("the session has ended; sign in again"))?;
        let authenticated = Authenticated {
            session_id: Some(session.id),
            csrf_token: None,
            ..Self::principal_for(creds, roles)?
        };
        Ok((authenticated, None))
    }

    /// Records an API token's use as its last, in the token's record.
    pub fn record_use(&self, used: TokenUse) -> Result<(), AuthError> {
        self.db()
            .write_blocking(|conn| store::touch_api_token(conn, used.token_id, used.at))?;
        Ok(())
    }

    /// Authenticates a web session cookie, sliding its idle expiry.
    pub fn authenticate_cookie(&self, cookie: &str) -> Result<Authenticated, AuthError> {
        let now = self.stamp();
        let digest = tokens::digest(cookie);
        let settings = &self.inner.settings;
        let (session, creds, roles) = self
            .db()
            .read_statement_blocking(|conn| {
                store::session_with_account(conn, store::SessionKey::CookieDigest(&digest))
            })?
            .filter(|(s, _, _)| {
                s.kind == "web"
                    && s.revoked_at.is_none()
                    && s.expires_at > now
                    && s.created_at + span(settings.web_session_max) > now
            })
            .ok_or_else(|| unauthenticated("the session has ended; sign in again"))?;
        let person = Self::principal_for(creds, roles)?;
        if (now - session.last_seen_at).num_seconds() >= LAST_USED_GRANULARITY_SECS {
            let expires = now + span(settings.web_session_idle);
            self.db()
                .write_blocking(|conn| store::touch_session(conn, &session.id, now, expires))?;
        }
        Ok(Authenticated {
            session_id: Some(session.id),
            csrf_token: session.csrf_token,
            ..person
        })
    }

    fn principal_for(creds: Credentials, roles: Vec<Role>) -> Result<Authenticated, AuthError> {
        if creds.person_status != "active" || creds.organisation_status != "active" {
            return Err(unauthenticated("the account is not active"));
        }
        Ok(Authenticated {
            principal: Principal::person(
                creds.person_id,
                creds.organisation_id,
                organisation_kind(&creds.organisation_kind),
                roles,
            )
            .named(creds.name),
            session_id: None,
            must_change_password: creds.must_change_password,
            csrf_token: None,
        })
    }

    fn check_api_token(&self, token: &str) -> Result<(Authenticated, Option<TokenUse>), AuthError> {
        let now = self.stamp();
        let digest = tokens::digest(token);
        let (row, org_status) = self
            .db()
            .read_statement_blocking(|conn| store::api_token_by_digest(conn, &digest))?
            .ok_or_else(|| unauthenticated("the API token is not valid"))?;
        if row.revoked_at.is_some() {
            return Err(unauthenticated("the API token has been revoked"));
        }
        if row.expires_at <= now {
            return Err(unauthenticated("the API token has expired"));
        }
        if org_status != "active" {
            return Err(unauthenticated("the organisation is not active"));
        }
        let used = row
            .last_used_at
            .is_none_or(|t| (now - t).num_seconds() >= LAST_USED_GRANULARITY_SECS)
            .then_some(TokenUse {
                token_id: row.id,
                at: now,
            });
        let scopes: Vec<Scope> = row.scopes.split(' ').filter_map(Scope::parse).collect();
        let authenticated = Authenticated {
            principal: Principal::api_token(row.id, row.organisation_id, &scopes).named(row.name),
            session_id: None,
            must_change_password: false,
            csrf_token: None,
        };
        Ok((authenticated, used))
    }

    /// Ends a session at once.
    pub fn logout(&self, authenticated: &Authenticated, client: &Client) -> Result<(), AuthError> {
        let (Some(session_id), Some(person_id)) = (
            authenticated.session_id.as_deref(),
            authenticated.principal.person_id(),
        ) else {
            return Err(unauthenticated("API tokens are revoked, not signed out"));
        };
        let now = self.stamp();
        self.db().write_blocking(|conn| {
            if store::revoke_session(conn, session_id, now)? {
                let creds = store::credentials_by_id(conn, person_id)?;
                self.audit_person(
                    conn,
                    &creds,
                    "sign_out",
                    Changes::new().created("session", session_id),
                    client,
                )?;
            }
            Ok(())
        })
    }
}
