//! Access-token signing keys and their rotation. Until the first rotation tokens are signed with
//! the key derived from the master key, and carry no key id. `rotate_signing_key` retires the
//! key in use and records a fresh random one (sealed under the master key) in the database, so
//! every instance picks it up; a retired key keeps verifying the tokens it signed until they
//! have expired, so a rotation logs nobody out.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, Utc};
use dsms_core::Actor;
use dsms_store::audit::{self, AuditEvent, Changes};
use dsms_store::{Db, DbConnection, timestamp};

use crate::AuthError;
use crate::credentials::jwt::{self, AccessClaims, JwtKeys};
use crate::credentials::secretbox::{MasterKey, SecretBox};
use crate::credentials::tokens;
use crate::store::{self, SigningKeyRow};

/// The purpose the pre-rotation signing key is derived for.
const DERIVED_PURPOSE: &str = "dsms access tokens v1";
/// The purpose of the key that seals rotated signing keys at rest.
const SEALING_PURPOSE: &str = "dsms signing keys v1";
/// The id recorded for the derived key when it is first retired.
const DERIVED_KID: &str = "derived-v1";
/// How long an instance signs with the key it last loaded before looking again: another
/// instance's rotation reaches it within this time.
const REFRESH: Duration = Duration::from_secs(30);
/// The least time between reloads caused by tokens naming a key this instance does not know.
const UNKNOWN_KEY_RELOAD: Duration = Duration::from_secs(1);

/// One key of the ring.
struct RingKey {
    /// The id tokens carry in their header; `None` for the derived key.
    kid: Option<String>,
    keys: JwtKeys,
    retired_at: Option<NaiveDateTime>,
}

struct Ring {
    loaded: Option<Instant>,
    keys: Vec<RingKey>,
    signer: usize,
}

/// The keys that sign and verify access tokens on this instance.
pub(crate) struct SigningKeys {
    issuer: String,
    audience: String,
    derived: [u8; 32],
    sealer: SecretBox,
    /// How long after retirement a key still verifies: the token lifetime, plus the time an
    /// instance may go on signing with it before it notices, plus clock leeway.
    grace: chrono::Duration,
    ring: RwLock<Arc<Ring>>,
}

impl SigningKeys {
    /// Keys for tokens from `issuer` to `audience` that live `ttl`. Until loaded from the
    /// database, only the derived key is known.
    pub(crate) fn new(master: &MasterKey, issuer: &str, audience: &str, ttl: Duration) -> Self {
        let derived = master.derive(DERIVED_PURPOSE);
        let grace = chrono::Duration::from_std(ttl + REFRESH + Duration::from_secs(60))
            .unwrap_or(chrono::Duration::MAX);
        Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            derived,
            sealer: SecretBox::new(master.derive(SEALING_PURPOSE)),
            grace,
            ring: RwLock::new(Arc::new(Ring {
                loaded: None,
                keys: vec![RingKey {
                    kid: None,
                    keys: JwtKeys::new(derived, issuer, audience),
                    retired_at: None,
                }],
                signer: 0,
            })),
        }
    }

    fn current(&self) -> Arc<Ring> {
        self.ring.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn load(&self, conn: &mut DbConnection) -> Result<Arc<Ring>, AuthError> {
        let rows = store::signing_keys(conn)?;
        let mut keys = vec![];
        for row in &rows {
            keys.push(match &row.secret_sealed {
                None => RingKey {
                    kid: None,
                    keys: JwtKeys::new(self.derived, &self.issuer, &self.audience),
                    retired_at: row.retired_at,
                },
                Some(sealed) => {
                    let secret = self.sealer.open(sealed, row.kid.as_bytes())?;
                    let secret = String::from_utf8(secret)
                        .map_err(|_| AuthError::Crypto("a signing key is malformed".into()))?;
                    let key = MasterKey::from_base64(&secret)?.derive(DERIVED_PURPOSE);
                    RingKey {
                        kid: Some(row.kid.clone()),
                        keys: JwtKeys::new(key, &self.issuer, &self.audience).with_key_id(&row.kid),
                        retired_at: row.retired_at,
                    }
                }
            });
        }
        if keys.is_empty() {
            keys.push(RingKey {
                kid: None,
                keys: JwtKeys::new(self.derived, &self.issuer, &self.audience),
                retired_at: None,
            });
        }
        // Rows are oldest first: the newest unretired key signs.
        let signer = keys
            .iter()
            .rposition(|k| k.retired_at.is_none())
            .unwrap_or(keys.len() - 1);
        let ring = Arc::new(Ring {
            loaded: Some(Instant::now()),
            keys,
            signer,
        });
        *self.ring.write().unwrap_or_else(|e| e.into_inner()) = ring.clone();
        Ok(ring)
    }

    /// A signed token, with the key in use (reloaded when this instance's view is stale).
    pub(crate) fn issue(
        &self,
        conn: &mut DbConnection,
        person_id: i64,
        organisation_id: i64,
        session_id: &str,
        now_unix: i64,
        ttl_secs: i64,
    ) -> Result<String, AuthError> {
        let mut ring = self.current();
        if ring.loaded.is_none_or(|at| at.elapsed() >= REFRESH) {
            ring = self.load(conn)?;
        }
        Ok(ring.keys[ring.signer].keys.issue(
            person_id,
            organisation_id,
            session_id,
            now_unix,
            ttl_secs,
        )?)
    }

    /// The claims of `token` if a key of the ring that has not been retired for longer than
    /// the grace period signed it, and it is otherwise valid.
    pub(crate) fn verify(
        &self,
        db: &Db,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<AccessClaims, AuthError> {
        let invalid = |why: &str| {
            tracing::debug!(reason = why, "access token refused");
            AuthError::Unauthenticated("the access token is invalid or has expired".into())
        };
        let kid = jwt::key_id(token).map_err(|_| invalid("malformed header"))?;
        let mut ring = self.current();
        let known = |ring: &Ring| ring.keys.iter().position(|k| k.kid == kid);
        if known(&ring).is_none()
            && ring
                .loaded
                .is_none_or(|at| at.elapsed() >= UNKNOWN_KEY_RELOAD)
        {
            ring = db.read_blocking(|conn| self.load(conn))?;
        }
        let key = known(&ring)
            .map(|i| &ring.keys[i])
            .ok_or_else(|| invalid("unknown key id"))?;
        if key
            .retired_at
            .is_some_and(|retired| retired + self.grace <= timestamp(now))
        {
            return Err(invalid("signed with a key retired too long ago"));
        }
        key.keys
            .verify(token, now.timestamp())
            .map_err(|e| invalid(&e.to_string()))
    }
}

/// Retires the signing key in use and starts signing with a fresh random one; returns its id.
/// Tokens signed before keep working until they expire. Audited as `auth.signing_key_rotated`.
pub fn rotate_signing_key(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    master: &MasterKey,
) -> Result<String, AuthError> {
    let stamp = timestamp(now);
    let existing = store::signing_keys(conn)?;
    let retired = match existing.iter().rev().find(|k| k.retired_at.is_none()) {
        Some(current) => current.kid.clone(),
        None if existing.is_empty() => {
            store::insert_signing_key(
                conn,
                &SigningKeyRow {
                    kid: DERIVED_KID.to_owned(),
                    secret_sealed: None,
                    created_at: stamp,
                    retired_at: None,
                },
            )?;
            DERIVED_KID.to_owned()
        }
        None => String::new(),
    };
    store::retire_signing_keys(conn, stamp)?;
    let kid = format!("k{}", &tokens::digest(&tokens::random_token(""))[..16]);
    let sealer = SecretBox::new(master.derive(SEALING_PURPOSE));
    let secret = MasterKey::generate().to_base64();
    store::insert_signing_key(
        conn,
        &SigningKeyRow {
            kid: kid.clone(),
            secret_sealed: Some(sealer.seal(secret.as_bytes(), kid.as_bytes())),
            created_at: stamp,
            retired_at: None,
        },
    )?;
    audit::record(
        conn,
        now,
        AuditEvent {
            actor,
            organisation_id: None,
            action: "auth.signing_key_rotated",
            entity_type: "signing_key",
            entity_id: kid.clone(),
            changes: Changes::new().field("signing_key", retired.as_str(), kid.as_str()),
            request_id: None,
        },
    )?;
    Ok(kid)
}
