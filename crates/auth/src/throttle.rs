//! Brute-force protection: the decision rules (pure) and their persistence.

use chrono::{Duration as ChronoDuration, NaiveDateTime};
use dsms_store::{DbConnection, StoreError};

use crate::settings::ThrottleSettings;
use crate::store::{self, ThrottleRow};

/// The throttle key of an account name, whether or not such an account exists.
pub(crate) fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

/// The throttle key of a client address.
pub(crate) fn address_key(ip: &str) -> String {
    format!("address:{ip}")
}

fn delta(d: std::time::Duration) -> ChronoDuration {
    ChronoDuration::from_std(d).unwrap_or(ChronoDuration::MAX)
}

fn seconds_until(now: NaiveDateTime, then: NaiveDateTime) -> u64 {
    let ms = (then - now).num_milliseconds().max(0) as u64;
    ms.div_ceil(1000).max(1)
}

/// Whether another attempt is allowed now under `row`; `Err(seconds)` to wait otherwise.
pub(crate) fn check(
    row: &ThrottleRow,
    is_account: bool,
    now: NaiveDateTime,
    settings: &ThrottleSettings,
) -> Result<(), u64> {
    if let Some(until) = row.locked_until
        && until > now
    {
        return Err(seconds_until(now, until));
    }
    if now - row.window_started_at >= delta(settings.window) {
        return Ok(());
    }
    let failures = u32::try_from(row.failures).unwrap_or(0);
    if is_account && failures >= settings.account_delay_after {
        // Doubling waits make online guessing slow long before the lock, capped at a minute so
        // a person who mistyped a few times is not kept out for long.
        let exponent = (failures - settings.account_delay_after).min(6);
        let wait = ChronoDuration::seconds(1i64 << exponent);
        let next = row.last_failure_at + wait;
        if next > now {
            return Err(seconds_until(now, next));
        }
    }
    Ok(())
}

/// The counters after one more failure; the flag says whether this failure started a lock.
pub(crate) fn after_failure(
    row: Option<ThrottleRow>,
    key: &str,
    lock_after: u32,
    now: NaiveDateTime,
    settings: &ThrottleSettings,
) -> (ThrottleRow, bool) {
    let fresh = || ThrottleRow {
        key: key.to_owned(),
        failures: 0,
        window_started_at: now,
        last_failure_at: now,
        locked_until: None,
    };
    let mut row = match row {
        Some(r)
            if now - r.window_started_at < delta(settings.window)
                && r.locked_until.is_none_or(|u| u > now) =>
        {
            r
        }
        _ => fresh(),
    };
    row.failures += 1;
    row.last_failure_at = now;
    let locks =
        row.locked_until.is_none() && u32::try_from(row.failures).unwrap_or(0) >= lock_after;
    if locks {
        row.locked_until = Some(now + delta(settings.lock_duration));
    }
    (row, locks)
}

/// Checks the throttles of an account name and a client address before an attempt.
pub(crate) fn check_attempt(
    conn: &mut DbConnection,
    account: &str,
    address: Option<&str>,
    now: NaiveDateTime,
    settings: &ThrottleSettings,
) -> Result<Result<(), u64>, StoreError> {
    let mut keys = vec![account.to_owned()];
    keys.extend(address.map(str::to_owned));
    for row in store::throttles(conn, &keys)? {
        if let Err(wait) = check(&row, row.key == account, now, settings) {
            return Ok(Err(wait));
        }
    }
    Ok(Ok(()))
}

/// Forgets an account's counters once its lock has run out, so the next failure starts a
/// fresh count. Returns true when a lock ended (an unlock, to be audited).
pub(crate) fn release_expired_lock(
    conn: &mut DbConnection,
    account: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let expired = store::throttles(conn, &[account.to_owned()])?
        .iter()
        .any(|r| r.locked_until.is_some_and(|until| until <= now));
    if expired {
        store::clear_throttle(conn, account)?;
    }
    Ok(expired)
}

/// Counts a failed attempt against an account name and a client address. Returns true when
/// this failure locked the account.
pub(crate) fn record_failure(
    conn: &mut DbConnection,
    account: &str,
    address: Option<&str>,
    now: NaiveDateTime,
    settings: &ThrottleSettings,
) -> Result<bool, StoreError> {
    let mut keys = vec![account.to_owned()];
    keys.extend(address.map(str::to_owned));
    let mut existing = store::throttles(conn, &keys)?;
    let mut account_locked = false;
    for key in &keys {
        let is_account = key == account;
        let row = existing
            .iter()
            .position(|r| &r.key == key)
            .map(|i| existing.swap_remove(i));
        let lock_after = if is_account {
            settings.account_lock_after
        } else {
            settings.address_lock_after
        };
        let (row, locked) = after_failure(row, key, lock_after, now, settings);
        store::save_throttle(conn, &row)?;
        account_locked |= is_account && locked;
    }
    Ok(account_locked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + seconds, 0)
            .unwrap()
            .naive_utc()
    }

    fn fail_times(n: u32, settings: &ThrottleSettings) -> ThrottleRow {
        let mut row = None;
        for i in 0..n {
            row = Some(
                after_failure(
                    row,
                    "account:x",
                    settings.account_lock_after,
                    at(i64::from(i) * 100),
                    settings,
                )
                .0,
            );
        }
        row.unwrap()
    }

    #[test]
    fn a_few_failures_pass_then_attempts_slow_down_then_lock() {
        let s = ThrottleSettings {
            window: std::time::Duration::from_secs(100_000),
            ..ThrottleSettings::default()
        };
        let two = fail_times(2, &s);
        assert_eq!(check(&two, true, at(101), &s), Ok(()));

        let three = fail_times(3, &s);
        // Third failure at t=200: the next attempt must wait 1 s.
        assert_eq!(check(&three, true, at(200), &s), Err(1));
        assert_eq!(check(&three, true, at(201), &s), Ok(()));
        assert_eq!(
            check(&three, false, at(200), &s),
            Ok(()),
            "addresses only lock"
        );

        let ten = fail_times(10, &s);
        let until = ten.locked_until.expect("locked after ten failures");
        assert_eq!(until, at(900) + ChronoDuration::minutes(15));
        assert_eq!(check(&ten, true, at(901), &s), Err(899));
        assert_eq!(check(&ten, true, until, &s), Ok(()));
    }

    #[test]
    fn failures_outside_the_window_start_afresh() {
        let s = ThrottleSettings::default();
        let row = fail_times(5, &s);
        let (next, locked) = after_failure(
            Some(row),
            "account:x",
            10,
            at(400) + ChronoDuration::hours(1),
            &s,
        );
        assert_eq!(next.failures, 1);
        assert!(!locked);
    }
}
