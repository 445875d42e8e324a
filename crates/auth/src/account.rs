//! A person's own account: changing the password, resetting it by email, and accepting an
//! invitation. Emailed links are single-use, expire, and are stored only as digests.

use dsms_core::Email;
use dsms_notify::{EmailMessage, enqueue_email};
use dsms_store::DbConnection;
use dsms_store::audit::Changes;

use crate::credentials::{NewPassword, tokens};
use crate::identity::{Client, Identity, span};
use crate::sessions::Authenticated;
use crate::store::{self, Credentials};
use crate::{AuthError, throttle};

/// The least time between two reset emails to one address.
const RESET_INTERVAL_SECS: i64 = 60;

/// The purposes of emailed links.
pub(crate) const INVITATION: &str = "invitation";
const PASSWORD_RESET: &str = "password_reset";

fn link_invalid() -> AuthError {
    AuthError::Unauthenticated("the link is invalid, expired or already used".into())
}

impl Identity {
    /// Changes the caller's password after checking the current one; every other session of
    /// theirs ends.
    pub fn change_password(
        &self,
        who: &Authenticated,
        current: &str,
        new: &str,
        client: &Client,
    ) -> Result<(), AuthError> {
        let person_id = who
            .principal
            .person_id()
            .ok_or_else(|| AuthError::Unauthenticated("only people have passwords".into()))?;
        let limits = self.inner.settings.throttle;
        let now = self.stamp();
        let address = client.ip.as_deref().map(throttle::address_key);
        let (creds, gate) = self.db().read_blocking(|conn| {
            let creds = store::credentials_by_id(conn, person_id)?;
            let account = throttle::account_key(&creds.email);
            let gate = throttle::check_attempt(conn, &account, address.as_deref(), now, &limits)?;
            Ok::<_, AuthError>((creds, gate))
        })?;
        if let Err(retry_after_secs) = gate {
            return Err(AuthError::Throttled { retry_after_secs });
        }
        if !self.inner.hasher.verify(current, &creds.password_hash) {
            // A stolen access token must not become a way to guess the password: wrong current
            // passwords count toward the same lock as failed sign-ins.
            let account = throttle::account_key(&creds.email);
            self.db().write_blocking(|conn| {
                let locked =
                    throttle::record_failure(conn, &account, address.as_deref(), now, &limits)?;
                self.audit_person(
                    conn,
                    &creds,
                    "password.change_failed",
                    Changes::new(),
                    client,
                )?;
                if locked {
                    self.audit_person(conn, &creds, "sign_in.locked", Changes::new(), client)?;
                }
                Ok::<_, AuthError>(())
            })?;
            return Err(
                dsms_core::ValidationErrors::from(dsms_core::FieldError::new(
                    "current_password",
                    "is not your current password",
                ))
                .into(),
            );
        }
        let new = NewPassword::parse(new, Some(&creds.email)).map_err(|e| {
            dsms_core::ValidationErrors::from(dsms_core::FieldError::new("new_password", e.message))
        })?;
        if new.expose() == current {
            return Err(
                dsms_core::ValidationErrors::from(dsms_core::FieldError::new(
                    "new_password",
                    "must differ from the current password",
                ))
                .into(),
            );
        }
        let hash = self.inner.hasher.hash(new.expose())?;
        self.db().write_blocking(|conn| {
            store::set_password(conn, person_id, &hash, now)?;
            let ended = store::revoke_sessions_of(conn, person_id, who.session_id.as_deref(), now)?;
            self.audit_person(
                conn,
                &creds,
                "password.changed",
                Changes::new().created("other_sessions_ended", ended as i64),
                client,
            )?;
            Ok(())
        })
    }

    /// Emails a single-use reset link if an active account has this address. Answers the same
    /// either way, so it cannot be used to find out who has an account.
    pub fn request_password_reset(&self, email: &str, client: &Client) -> Result<(), AuthError> {
        let Ok(email) = Email::parse(email) else {
            return Ok(());
        };
        let now = self.stamp();
        self.db().write_blocking(|conn| {
            // At most one reset email per address per interval, recorded for unknown addresses
            // too, so the answer takes the same work whether or not the account exists and a
            // mailbox cannot be flooded.
            let key = format!("reset:{}", email.as_str());
            let recent = store::throttles(conn, std::slice::from_ref(&key))?
                .iter()
                .any(|r| (now - r.last_failure_at).num_seconds() < RESET_INTERVAL_SECS);
            if recent {
                return Ok(());
            }
            store::save_throttle(
                conn,
                &store::ThrottleRow {
                    key,
                    failures: 1,
                    window_started_at: now,
                    last_failure_at: now,
                    locked_until: None,
                },
            )?;
            let Some(creds) = store::credentials_by_email(conn, email.as_str())?
                .filter(|c| c.person_status == "active" && c.organisation_status == "active")
            else {
                return Ok(());
            };
            let token = tokens::random_token("reset_");
            store::void_account_tokens(conn, creds.person_id, PASSWORD_RESET, now)?;
            store::insert_account_token(
                conn,
                creds.person_id,
                PASSWORD_RESET,
                &tokens::digest(&token),
                now,
                now + span(self.inner.settings.password_reset_ttl),
            )?;
            let link = format!(
                "{}/reset-password?token={token}",
                self.inner.settings.public_url.trim_end_matches('/')
            );
            let hours = self.inner.settings.password_reset_ttl.as_secs().div_ceil(3600);
            enqueue_email(
                conn,
                self.now(),
                &EmailMessage::new(
                    vec![email.clone()],
                    "Reset your dsms password",
                    format!(
                        "Someone (hopefully you) asked to reset the password of your dsms account.\n\n\
                         Choose a new password here within {hours} hour(s):\n\n{link}\n\n\
                         The link works once. If you did not ask for this, ignore this email; \
                         your password has not changed."
                    ),
                ),
            )?;
            self.audit_person(conn, &creds, "password.reset_requested", Changes::new(), client)?;
            Ok(())
        })
    }

    /// Sets a new password through an emailed reset link; every session of the person ends.
    pub fn reset_password(&self, token: &str, new: &str, client: &Client) -> Result<(), AuthError> {
        self.redeem_link(
            token,
            PASSWORD_RESET,
            "new_password",
            new,
            client,
            "password.reset",
        )
    }

    /// Sets the first password of an invited person through their invitation link. They then
    /// sign in and enrol an authenticator.
    pub fn accept_invitation(
        &self,
        token: &str,
        password: &str,
        client: &Client,
    ) -> Result<(), AuthError> {
        self.redeem_link(
            token,
            INVITATION,
            "password",
            password,
            client,
            "invitation.accepted",
        )
    }

    fn redeem_link(
        &self,
        token: &str,
        purpose: &str,
        field: &str,
        password: &str,
        client: &Client,
        action: &str,
    ) -> Result<(), AuthError> {
        let now = self.stamp();
        let digest = tokens::digest(token);
        let (link, creds) = self.db().read_blocking(|conn| {
            let link = store::account_token(conn, &digest)?
                .filter(|t| t.purpose == purpose && t.used_at.is_none() && t.expires_at > now)
                .ok_or_else(link_invalid)?;
            let creds = store::credentials_by_id(conn, link.person_id)?;
            Ok::<_, AuthError>((link, creds))
        })?;
        if creds.person_status != "active" || creds.organisation_status != "active" {
            return Err(link_invalid());
        }
        let password = NewPassword::parse(password, Some(&creds.email)).map_err(|e| {
            dsms_core::ValidationErrors::from(dsms_core::FieldError::new(field, e.message))
        })?;
        let hash = self.inner.hasher.hash(password.expose())?;
        self.db().write_blocking(|conn| {
            if !store::use_account_token(conn, link.id, now)? {
                return Err(link_invalid());
            }
            store::set_password(conn, creds.person_id, &hash, now)?;
            store::revoke_sessions_of(conn, creds.person_id, None, now)?;
            self.audit_person(conn, &creds, action, Changes::new(), client)?;
            Ok(())
        })
    }

    /// Creates an invitation link for a person and emails it, within the caller's unit of work.
    pub(crate) fn send_invitation(
        &self,
        conn: &mut DbConnection,
        creds: &Credentials,
        name: &str,
        organisation: &str,
    ) -> Result<(), AuthError> {
        let now = self.stamp();
        let token = tokens::random_token("invite_");
        store::void_account_tokens(conn, creds.person_id, INVITATION, now)?;
        store::insert_account_token(
            conn,
            creds.person_id,
            INVITATION,
            &tokens::digest(&token),
            now,
            now + span(self.inner.settings.invitation_ttl),
        )?;
        let link = format!(
            "{}/invitations/accept?token={token}",
            self.inner.settings.public_url.trim_end_matches('/')
        );
        let days = self
            .inner
            .settings
            .invitation_ttl
            .as_secs()
            .div_ceil(86_400);
        let to = Email::parse(&creds.email).map_err(dsms_core::ValidationErrors::from)?;
        enqueue_email(
            conn,
            self.now(),
            &EmailMessage::new(
                vec![to],
                "You are invited to dsms",
                format!(
                    "Hello {name},\n\nYou have been given access to dsms, the smart-metering \
                     service desk, for {organisation}.\n\nChoose your password here within \
                     {days} day(s):\n\n{link}\n\nThe link works once. After choosing a password \
                     you will sign in and set up an authenticator app (TOTP)."
                ),
            ),
        )?;
        Ok(())
    }
}
