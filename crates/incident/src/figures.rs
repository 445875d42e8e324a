//! The service desk's dashboard figures: unresolved incidents by priority and by the state of
//! their resolution clock, and arrivals against resolutions day by day. Counted in the
//! database through indexes (status and priority; the stored due and at-risk instants; the
//! creation and resolution times), so the dashboard costs the same at a million incidents as
//! at a hundred. Kept apart from `store.rs` as the one read model that only counts.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use dsms_core::Principal;
use dsms_store::schema::incidents;
use dsms_store::{DbConnection, StoreError, scoped, timestamp};

use crate::lifecycle::Status;

/// What the dashboard shows, for the incidents a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskFigures {
    /// Unresolved incidents of priorities 1 to 5.
    pub unresolved_by_priority: [i64; 5],
    /// Unresolved with the resolution clock running and not yet at risk.
    pub on_track: i64,
    /// Past the at-risk point, not yet due.
    pub at_risk: i64,
    /// Past due and still unresolved.
    pub breached: i64,
    /// Clock paused, waiting on the user.
    pub paused: i64,
    /// Incidents raised on each of the days, oldest first (UTC days).
    pub arrivals: Vec<(NaiveDate, i64)>,
    /// Incidents resolved on each of the same days.
    pub resolutions: Vec<(NaiveDate, i64)>,
}

/// The statuses of incidents still to be resolved.
const UNRESOLVED: [Status; 4] = [
    Status::New,
    Status::Assigned,
    Status::InProgress,
    Status::AwaitingUser,
];

fn unresolved() -> Vec<&'static str> {
    UNRESOLVED.iter().map(|s| s.as_str()).collect()
}

/// Counts per UTC day of `times`, for each of the `days` days ending today.
fn per_day(times: &[NaiveDateTime], first: NaiveDate, days: i64) -> Vec<(NaiveDate, i64)> {
    let mut counts = vec![0i64; usize::try_from(days).unwrap_or(0)];
    for t in times {
        let offset = (t.date() - first).num_days();
        if let Some(slot) = usize::try_from(offset).ok().and_then(|i| counts.get_mut(i)) {
            *slot += 1;
        }
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, n)| (first + Duration::days(i as i64), n))
        .collect()
}

/// The dashboard's figures at `now`, over the last `days` days.
pub(crate) fn desk_figures(
    conn: &mut DbConnection,
    principal: &Principal,
    now: DateTime<Utc>,
    days: i64,
) -> Result<DeskFigures, StoreError> {
    let stamp = timestamp(now);
    let open = || {
        scoped!(
            incidents::table.into_boxed(),
            incidents::organisation_id,
            principal
        )
        .filter(incidents::status.eq_any(unresolved()))
    };
    let mut unresolved_by_priority = [0i64; 5];
    for (slot, priority) in unresolved_by_priority.iter_mut().zip(1..=5) {
        *slot = open()
            .filter(incidents::priority.eq(priority))
            .count()
            .get_result(conn)?;
    }
    let breached: i64 = open()
        .filter(incidents::resolved_at.is_null())
        .filter(incidents::resolution_due_at.le(stamp))
        .count()
        .get_result(conn)?;
    let at_risk: i64 = open()
        .filter(incidents::resolved_at.is_null())
        .filter(incidents::resolution_at_risk_at.le(stamp))
        .filter(incidents::resolution_due_at.gt(stamp))
        .count()
        .get_result(conn)?;
    let paused: i64 = open()
        .filter(incidents::status.eq(Status::AwaitingUser.as_str()))
        .count()
        .get_result(conn)?;
    let total: i64 = unresolved_by_priority.iter().sum();
    let first = (now - Duration::days(days - 1)).date_naive();
    let since = first.and_hms_opt(0, 0, 0).unwrap_or_default();
    let raised: Vec<NaiveDateTime> = scoped!(
        incidents::table.into_boxed(),
        incidents::organisation_id,
        principal
    )
    .filter(incidents::created_at.ge(since))
    .select(incidents::created_at)
    .load(conn)?;
    let resolved: Vec<Option<NaiveDateTime>> = scoped!(
        incidents::table.into_boxed(),
        incidents::organisation_id,
        principal
    )
    .filter(incidents::resolved_at.ge(since))
    .select(incidents::resolved_at)
    .load(conn)?;
    let resolved: Vec<NaiveDateTime> = resolved.into_iter().flatten().collect();
    Ok(DeskFigures {
        unresolved_by_priority,
        on_track: (total - breached - at_risk - paused).max(0),
        at_risk,
        breached,
        paused,
        arrivals: per_day(&raised, first, days),
        resolutions: per_day(&resolved, first, days),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_counted_in_their_own_slot_and_outside_days_ignored() {
        let first = NaiveDate::from_ymd_opt(2026, 11, 1).expect("a date");
        let at = |d: u32, h: u32| {
            NaiveDate::from_ymd_opt(2026, 11, d)
                .and_then(|d| d.and_hms_opt(h, 0, 0))
                .expect("a time")
        };
        let counts = per_day(&[at(1, 0), at(1, 23), at(3, 12), at(4, 1)], first, 3);
        assert_eq!(
            counts.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
            [2, 0, 1]
        );
        assert_eq!(
            counts[2].0,
            NaiveDate::from_ymd_opt(2026, 11, 3).expect("a date")
        );
    }
}
