//! Signing in: password, then a TOTP code (or a recovery code), enrolling an authenticator on
//! the first sign-in. Every failure is counted against the account name and the client address
//! in the same transaction that refuses it.

use dsms_core::{Actor, OrganisationKind};
use dsms_store::audit::{self, AuditEvent, Changes};
use dsms_store::{DbConnection, StoreError};

use crate::credentials::{tokens, totp};
use crate::identity::{Client, Identity, span};
use crate::sessions::{SessionKind, SignedIn};
use crate::store::{self, Credentials};
use crate::{AuthError, throttle};

/// What the step after the password is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaStep {
    /// Enter a code from the enrolled authenticator.
    Verify,
    /// Enrol an authenticator first (first sign-in, or after an MFA reset).
    Enrol,
}

impl MfaStep {
    /// The API's name for the step.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "totp",
            Self::Enrol => "enrol",
        }
    }
}

/// The result of a correct password: a single-use token for the MFA step.
#[derive(Debug, Clone)]
pub struct LoginChallenge {
    /// Pass to the MFA step.
    pub mfa_token: String,
    /// Which MFA step comes next.
    pub mfa: MfaStep,
}

/// What an authenticator app needs to enrol.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The TOTP secret in base32.
    pub secret: String,
    /// The `otpauth://` URI (what the QR code encodes).
    pub otpauth_uri: String,
    /// A PNG of the QR code, base64.
    pub qr_png_base64: String,
}

/// The second factor offered.
#[derive(Debug, Clone)]
pub enum SecondFactor {
    /// A six-digit TOTP code.
    Code(String),
    /// One of the single-use recovery codes.
    RecoveryCode(String),
}

/// A unit of work that refused the caller but must still commit what it recorded (failure
/// counters, audit rows): returned as `Ok(Refused)` so the transaction commits.
enum Outcome<T> {
    Done(T),
    Refused(AuthError),
}

fn settle<T>(outcome: Result<Outcome<T>, AuthError>) -> Result<T, AuthError> {
    match outcome? {
        Outcome::Done(value) => Ok(value),
        Outcome::Refused(error) => Err(error),
    }
}

fn expired() -> AuthError {
    AuthError::Unauthenticated(
        "the sign-in step has expired or was already used; sign in again".into(),
    )
}

impl Identity {
    /// Checks an email and password. Unknown accounts, wrong passwords, deactivated people and
    /// suspended organisations all get the same answer after the same work.
    pub fn login(
        &self,
        email: &str,
        password: &str,
        client: &Client,
    ) -> Result<LoginChallenge, AuthError> {
        let now = self.stamp();
        let normalised = email.trim().to_lowercase();
        let account = throttle::account_key(&normalised);
        let address = client.ip.as_deref().map(throttle::address_key);
        let limits = self.inner.settings.throttle;
        let (gate, found) = self.db().read_blocking(|conn| {
            Ok::<_, AuthError>((
                throttle::check_attempt(conn, &account, address.as_deref(), now, &limits)?,
                store::credentials_by_email(conn, &normalised)?,
            ))
        })?;
        if let Err(retry_after_secs) = gate {
            return Err(AuthError::Throttled { retry_after_secs });
        }
        // Always one full argon2 verification, against a dummy hash when there is no usable
        // one, so timing does not tell whether the account exists.
        let password_ok = match found.as_ref().filter(|c| c.password_hash.starts_with('$')) {
            Some(c) => self.inner.hasher.verify(password, &c.password_hash),
            None => {
                let _ = self.inner.hasher.verify(password, &self.inner.dummy_hash);
                false
            }
        };
        let usable = found.filter(|c| {
            password_ok && c.person_status == "active" && c.organisation_status == "active"
        });
        settle(self.db().write_blocking(|conn| {
            if throttle::release_expired_lock(conn, &account, now)? {
                self.audit_account(
                    conn,
                    &normalised,
                    "sign_in.unlocked",
                    Changes::new(),
                    client,
                )?;
            }
            match usable {
                None => {
                    self.refuse_password(conn, &normalised, &account, address.as_deref(), client)?;
                    Ok(Outcome::Refused(AuthError::InvalidCredentials))
                }
                Some(c) => {
                    // The failure count is kept until the second factor succeeds: a correct
                    // password alone must not reset what wrong TOTP codes have counted.
                    let mfa = if c.totp_confirmed.is_some() {
                        MfaStep::Verify
                    } else {
                        MfaStep::Enrol
                    };
                    let token = tokens::random_token("mfa_");
                    store::insert_challenge(
                        conn,
                        &tokens::digest(&token),
                        c.person_id,
                        match mfa {
                            MfaStep::Verify => "verify",
                            MfaStep::Enrol => "enrol",
                        },
                        now,
                        now + span(self.inner.settings.mfa_challenge_ttl),
                    )?;
                    self.audit_person(
                        conn,
                        &c,
                        "sign_in.password_accepted",
                        Changes::new(),
                        client,
                    )?;
                    Ok(Outcome::Done(LoginChallenge {
                        mfa_token: token,
                        mfa,
                    }))
                }
            }
        }))
    }

    fn refuse_password(
        &self,
        conn: &mut DbConnection,
        email: &str,
        account: &str,
        address: Option<&str>,
        client: &Client,
    ) -> Result<(), AuthError> {
        let now = self.stamp();
        let locked =
            throttle::record_failure(conn, account, address, now, &self.inner.settings.throttle)?;
        let changes = Changes::new().created("ip", client.ip.clone());
        self.audit_account(conn, email, "sign_in.failed", changes.clone(), client)?;
        if locked {
            self.audit_account(conn, email, "sign_in.locked", changes, client)?;
        }
        Ok(())
    }

    /// Records a sign-in event about the account named `email`: against the person when the
    /// account exists, against the name tried otherwise (visible to the operator only).
    fn audit_account(
        &self,
        conn: &mut DbConnection,
        email: &str,
        action: &str,
        changes: Changes,
        client: &Client,
    ) -> Result<(), AuthError> {
        match store::credentials_by_email(conn, email)? {
            Some(c) => self.audit_person(conn, &c, action, changes, client)?,
            None => {
                let actor = Actor::system("sign-in");
                audit::record(
                    conn,
                    self.now(),
                    AuditEvent {
                        actor: &actor,
                        organisation_id: None,
                        action,
                        entity_type: "account",
                        entity_id: email.chars().take(254).collect(),
                        changes,
                        request_id: client.request_id.as_deref(),
                    },
                )?;
            }
        }
        Ok(())
    }

    /// Starts (or restarts) enrolment: a new secret, its URI and QR code. The secret is held on
    /// the challenge until a code confirms it.
    pub fn enrol(&self, mfa_token: &str, _client: &Client) -> Result<Enrolment, AuthError> {
        let now = self.stamp();
        let digest = tokens::digest(mfa_token);
        let (challenge, creds) = self.db().write_blocking(|conn| {
            let challenge = live_challenge(conn, &digest, "enrol", now)?;
            let creds = store::credentials_by_id(conn, challenge.person_id)?;
            Ok::<_, AuthError>((challenge, creds))
        })?;
        let secret = totp::TotpSecret::generate();
        let sealed = self.inner.secrets.seal(
            secret.as_bytes(),
            challenge_binding(challenge.id).as_bytes(),
        );
        self.db()
            .write_blocking(|conn| store::set_pending_secret(conn, challenge.id, &sealed))?;
        let otpauth_uri = totp::otpauth_uri(&secret, &self.inner.settings.issuer, &creds.email);
        Ok(Enrolment {
            secret: secret.to_base32(),
            qr_png_base64: totp::qr_png_base64(&otpauth_uri)?,
            otpauth_uri,
        })
    }

    /// Confirms enrolment with a code from the new authenticator: stores the secret, issues ten
    /// recovery codes (returned once) and signs the person in.
    pub fn confirm_enrolment(
        &self,
        mfa_token: &str,
        code: &str,
        kind: SessionKind,
        client: &Client,
    ) -> Result<SignedIn, AuthError> {
        let now = self.stamp();
        let digest = tokens::digest(mfa_token);
        let unix = self.now().timestamp().max(0) as u64;
        settle(self.db().write_blocking(|conn| {
            let challenge = live_challenge(conn, &digest, "enrol", now)?;
            let Some(pending) = challenge.pending_secret.as_deref() else {
                return Ok(Outcome::Refused(AuthError::Unauthenticated(
                    "start enrolment first: no authenticator secret has been issued".into(),
                )));
            };
            let creds = store::credentials_by_id(conn, challenge.person_id)?;
            if let Some(refusal) = self.gate(conn, &creds, client)? {
                return Ok(Outcome::Refused(refusal));
            }
            let secret = totp::TotpSecret::from_bytes(
                self.inner
                    .secrets
                    .open(pending, challenge_binding(challenge.id).as_bytes())?,
            );
            let Some(step) = totp::verify(&secret, code, unix, None) else {
                self.refuse_second_factor(conn, &creds, "mfa.enrolment_failed", client)?;
                return Ok(Outcome::Refused(AuthError::InvalidCredentials));
            };
            if !store::use_challenge(conn, challenge.id, now)? {
                return Ok(Outcome::Refused(expired()));
            }
            let sealed = self.inner.secrets.seal(
                secret.as_bytes(),
                person_binding(creds.person_id).as_bytes(),
            );
            store::set_totp(conn, creds.person_id, Some(&sealed), Some(step), now)?;
            let codes = tokens::recovery_codes();
            let digests: Vec<String> = codes
                .iter()
                .map(|c| tokens::digest(&tokens::normalise_recovery_code(c)))
                .collect();
            store::replace_recovery_codes(conn, creds.person_id, &digests)?;
            self.audit_person(conn, &creds, "mfa.enrolled", Changes::new(), client)?;
            let mut signed_in = self.complete_sign_in(conn, &creds, kind, client)?;
            signed_in.recovery_codes = codes;
            Ok(Outcome::Done(signed_in))
        }))
    }

    /// Checks the second factor and signs the person in.
    pub fn verify_second_factor(
        &self,
        mfa_token: &str,
        factor: &SecondFactor,
        kind: SessionKind,
        client: &Client,
    ) -> Result<SignedIn, AuthError> {
        let now = self.stamp();
        let digest = tokens::digest(mfa_token);
        let unix = self.now().timestamp().max(0) as u64;
        settle(self.db().write_blocking(|conn| {
            let challenge = live_challenge(conn, &digest, "verify", now)?;
            let creds = store::credentials_by_id(conn, challenge.person_id)?;
            if let Some(refusal) = self.gate(conn, &creds, client)? {
                return Ok(Outcome::Refused(refusal));
            }
            let accepted = match factor {
                SecondFactor::Code(code) => {
                    let Some(sealed) = creds.totp_secret.as_deref() else {
                        return Ok(Outcome::Refused(expired()));
                    };
                    let secret = totp::TotpSecret::from_bytes(
                        self.inner
                            .secrets
                            .open(sealed, person_binding(creds.person_id).as_bytes())?,
                    );
                    match totp::verify(&secret, code, unix, creds.totp_last_step) {
                        // The conditional update refuses a step a concurrent request just used.
                        Some(step) => store::advance_totp_step(conn, creds.person_id, step)?,
                        None => false,
                    }
                }
                SecondFactor::RecoveryCode(code) => {
                    let digest = tokens::digest(&tokens::normalise_recovery_code(code));
                    let used = store::use_recovery_code(conn, creds.person_id, &digest, now)?;
                    if used {
                        let left = store::recovery_codes_left(conn, creds.person_id)?;
                        self.audit_person(
                            conn,
                            &creds,
                            "mfa.recovery_code_used",
                            Changes::new().created("recovery_codes_left", left),
                            client,
                        )?;
                    }
                    used
                }
            };
            if !accepted {
                self.refuse_second_factor(conn, &creds, "sign_in.mfa_failed", client)?;
                return Ok(Outcome::Refused(AuthError::InvalidCredentials));
            }
            if !store::use_challenge(conn, challenge.id, now)? {
                return Ok(Outcome::Refused(expired()));
            }
            Ok(Outcome::Done(
                self.complete_sign_in(conn, &creds, kind, client)?,
            ))
        }))
    }

    /// The account's throttle, and whether the account may still sign in at all.
    fn gate(
        &self,
        conn: &mut DbConnection,
        creds: &Credentials,
        client: &Client,
    ) -> Result<Option<AuthError>, AuthError> {
        if creds.person_status != "active" || creds.organisation_status != "active" {
            return Ok(Some(AuthError::InvalidCredentials));
        }
        let account = throttle::account_key(&creds.email);
        let address = client.ip.as_deref().map(throttle::address_key);
        Ok(throttle::check_attempt(
            conn,
            &account,
            address.as_deref(),
            self.stamp(),
            &self.inner.settings.throttle,
        )?
        .err()
        .map(|retry_after_secs| AuthError::Throttled { retry_after_secs }))
    }

    fn refuse_second_factor(
        &self,
        conn: &mut DbConnection,
        creds: &Credentials,
        action: &str,
        client: &Client,
    ) -> Result<(), AuthError> {
        let account = throttle::account_key(&creds.email);
        let address = client.ip.as_deref().map(throttle::address_key);
        let locked = throttle::record_failure(
            conn,
            &account,
            address.as_deref(),
            self.stamp(),
            &self.inner.settings.throttle,
        )?;
        self.audit_person(
            conn,
            creds,
            action,
            Changes::new().created("ip", client.ip.clone()),
            client,
        )?;
        if locked {
            self.audit_person(conn, creds, "sign_in.locked", Changes::new(), client)?;
        }
        Ok(())
    }

    fn complete_sign_in(
        &self,
        conn: &mut DbConnection,
        creds: &Credentials,
        kind: SessionKind,
        client: &Client,
    ) -> Result<SignedIn, AuthError> {
        let now = self.stamp();
        store::clear_throttle(conn, &throttle::account_key(&creds.email))?;
        store::touch_sign_in(conn, creds.person_id, now)?;
        let signed_in = self.open_session(conn, creds, kind, client)?;
        self.audit_person(
            conn,
            creds,
            "sign_in.succeeded",
            Changes::new()
                .created("session", signed_in.session_id.as_str())
                .created("ip", client.ip.clone())
                .created("user_agent", client.user_agent.clone()),
            client,
        )?;
        Ok(signed_in)
    }

    /// Records an event about a person, attributed to that person.
    pub(crate) fn audit_person(
        &self,
        conn: &mut DbConnection,
        creds: &Credentials,
        action: &str,
        changes: Changes,
        client: &Client,
    ) -> Result<(), StoreError> {
        let actor = Actor::Person {
            id: creds.person_id,
            organisation_id: creds.organisation_id,
        };
        audit::record(
            conn,
            self.now(),
            AuditEvent {
                actor: &actor,
                organisation_id: Some(creds.organisation_id),
                action,
                entity_type: "person",
                entity_id: creds.person_id.to_string(),
                changes,
                request_id: client.request_id.as_deref(),
            },
        )
    }
}

/// The unused, unexpired challenge with this token digest and purpose.
fn live_challenge(
    conn: &mut DbConnection,
    digest: &str,
    purpose: &str,
    now: chrono::NaiveDateTime,
) -> Result<store::Challenge, AuthError> {
    store::challenge(conn, digest)?
        .filter(|c| c.purpose == purpose && c.used_at.is_none() && c.expires_at > now)
        .ok_or_else(expired)
}

/// The associated data binding a sealed secret to its row, so a secret copied elsewhere fails.
pub(crate) fn person_binding(person_id: i64) -> String {
    format!("person:{person_id}")
}

fn challenge_binding(challenge_id: i64) -> String {
    format!("mfa_challenge:{challenge_id}")
}

/// The kind of organisation, parsed from storage.
pub(crate) fn organisation_kind(text: &str) -> OrganisationKind {
    OrganisationKind::parse(text).unwrap_or(OrganisationKind::User)
}
