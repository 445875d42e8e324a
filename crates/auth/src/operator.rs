//! What an operator does to an account from the command line (`dsms admin`), outside any
//! organisation's permissions: lift a sign-in lock, or clear a lost authenticator. Each runs in
//! the caller's transaction and is audited with the operator as the actor.

use chrono::{DateTime, Utc};
use dsms_core::{Actor, Email};
use dsms_store::audit::{self, AuditEvent, Changes};
use dsms_store::{DbConnection, timestamp};

use crate::store::{self, Credentials};
use crate::{AuthError, throttle};

fn person_by_email(conn: &mut DbConnection, email: &Email) -> Result<Credentials, AuthError> {
    store::credentials_by_email(conn, email.as_str())?.ok_or(AuthError::NotFound)
}

fn record(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    person: &Credentials,
    action: &str,
    changes: Changes,
) -> Result<(), AuthError> {
    audit::record(
        conn,
        now,
        AuditEvent {
            actor,
            organisation_id: Some(person.organisation_id),
            action,
            entity_type: "person",
            entity_id: person.person_id.to_string(),
            changes,
            request_id: None,
        },
    )?;
    Ok(())
}

/// Lifts the sign-in lock and forgets the failed attempts of the account `email`, audited as
/// `account.unlocked`. Returns whether the account was locked at the time.
pub fn unlock_account(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    email: &Email,
) -> Result<bool, AuthError> {
    let person = person_by_email(conn, email)?;
    let key = throttle::account_key(email.as_str());
    let stamp = timestamp(now);
    let locked = store::throttles(conn, std::slice::from_ref(&key))?
        .iter()
        .any(|r| r.locked_until.is_some_and(|until| until > stamp));
    store::clear_throttle(conn, &key)?;
    record(
        conn,
        now,
        actor,
        &person,
        "account.unlocked",
        Changes::new().field("locked", locked, false),
    )?;
    Ok(locked)
}

/// Clears the authenticator and recovery codes of the person `email` and ends their sessions,
/// so they enrol again at their next sign-in; audited as `mfa.reset`. Returns how many
/// sessions ended.
pub fn reset_mfa(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    email: &Email,
) -> Result<usize, AuthError> {
    let person = person_by_email(conn, email)?;
    let stamp = timestamp(now);
    let enrolled = store::person(conn, person.person_id)?.mfa_enrolled;
    store::set_totp(conn, person.person_id, None, None, stamp)?;
    store::replace_recovery_codes(conn, person.person_id, &[])?;
    let ended = store::revoke_sessions_of(conn, person.person_id, None, stamp)?;
    record(
        conn,
        now,
        actor,
        &person,
        "mfa.reset",
        Changes::new()
            .field("mfa_enrolled", enrolled, false)
            .created("sessions_ended", ended as i64),
    )?;
    Ok(ended)
}
