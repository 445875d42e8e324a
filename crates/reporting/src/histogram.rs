//! Clock times kept as histograms, so medians stay exact without sorting a month of facts: per
//! local day and month of resolution, priority and clock, how many resolved incidents fall in
//! each duration bucket. A median finds the bucket holding its middle rank from these counts and
//! then reads only that bucket's facts in order (each fact stores its buckets, and an index on
//! priority, bucket, day and seconds serves the read). Kept in the same transaction as the facts,
//! like the totals in [`crate::rollup`].

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};

use crate::rollup::{Contributor, DAY, MONTH};

/// The table of bucket counts (migration `000019_duration_histogram`). Declared here rather
/// than in the shared schema because only reports read or write it.
pub(crate) mod schema {
    diesel::table! {
        report_duration_histogram (grain, period_start, priority, clock, bucket) {
            grain -> Text,
            period_start -> Date,
            priority -> Integer,
            clock -> Text,
            bucket -> Integer,
            incidents -> BigInt,
        }
    }
}

/// Which clock a time is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Clock {
    Response,
    Resolution,
}

impl Clock {
    /// The clock's name as the histogram stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            Clock::Response => "response",
            Clock::Resolution => "resolution",
        }
    }
}

/// Durations below this many seconds get a bucket each.
const EXACT_BELOW: i64 = 16;
/// The last octave (2^40 s, about 35,000 years) with buckets of its own; longer times share the
/// last bucket, as the migration's bounds do.
const LAST_OCTAVE: u32 = 40;

/// The bucket of a clock time: one per second below 16 s, then eight per doubling (each at
/// most an eighth of its lower bound wide), so buckets grow with the values and the bucket at a
/// median holds a few per cent of a month's facts. Never decreasing in `seconds`, so counting
/// the buckets below a bucket ranks its values. The migration assigns the same buckets in SQL
/// from each bucket's lower bound.
pub(crate) fn bucket_of(seconds: i64) -> i32 {
    if seconds < EXACT_BELOW {
        return seconds.max(0) as i32;
    }
    let octave = (63 - seconds.leading_zeros()).min(LAST_OCTAVE);
    let step = if octave == LAST_OCTAVE && seconds >> (octave + 1) > 0 {
        7
    } else {
        (seconds >> (octave - 3)) & 7
    };
    EXACT_BELOW as i32 + (octave as i32 - 4) * 8 + step as i32
}

/// The smallest clock time (seconds) in `bucket`.
#[cfg(test)]
fn lower_bound(bucket: i32) -> i64 {
    if i64::from(bucket) < EXACT_BELOW {
        return i64::from(bucket);
    }
    let above = bucket - EXACT_BELOW as i32;
    let octave = 4 + above / 8;
    (8 + i64::from(above % 8)) << (octave - 3)
}

/// One row's key: grain, first day, priority, clock and bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key {
    pub grain: &'static str,
    pub period_start: NaiveDate,
    pub priority: i32,
    pub clock: Clock,
    pub bucket: i32,
}

/// The rows a fact adds one to: its day and month of resolution, for each clock it has a time
/// on. Unresolved incidents have no time to report.
fn contributions(fact: &Contributor) -> Vec<Key> {
    let Some(day) = fact.resolved_on else {
        return Vec::new();
    };
    let month = day.with_day(1).unwrap_or(day);
    let mut out = Vec::new();
    for (clock, seconds) in [
        (Clock::Response, fact.response_seconds),
        (Clock::Resolution, fact.resolution_seconds),
    ] {
        let Some(seconds) = seconds else { continue };
        for (grain, period_start) in [(DAY, day), (MONTH, month)] {
            out.push(Key {
                grain,
                period_start,
                priority: fact.priority,
                clock,
                bucket: bucket_of(seconds),
            });
        }
    }
    out
}

/// The change to the bucket counts when the facts `removed` are replaced by `added`: only the
/// rows that change, in key order (so concurrent writers lock rows in the same order).
pub(crate) fn delta(removed: &[Contributor], added: &[Contributor]) -> Vec<(Key, i64)> {
    let mut change: HashMap<Key, i64> = HashMap::new();
    for (facts, sign) in [(removed, -1), (added, 1)] {
        for fact in facts {
            for key in contributions(fact) {
                *change.entry(key).or_default() += sign;
            }
        }
    }
    let mut out: Vec<(Key, i64)> = change.into_iter().filter(|(_, n)| *n != 0).collect();
    out.sort_by_key(|(key, _)| *key);
    out
}

/// Where the value of 0-based `rank` lies, given how many values each bucket holds (by
/// bucket, ascending): its bucket and its 0-based position among that bucket's values.
pub(crate) fn locate(counts: &[(i32, i64)], rank: i64) -> Option<(i32, i64)> {
    let mut below = 0;
    for &(bucket, n) in counts {
        if rank < below + n {
            return Some((bucket, rank - below));
        }
        below += n;
    }
    None
}

/// The 0-based ranks whose values a median of `count` values averages: the middle one, or the
/// middle two.
pub(crate) fn middle_ranks(count: i64) -> Vec<i64> {
    match count {
        0 => Vec::new(),
        _ if count % 2 == 1 => vec![count / 2],
        _ => vec![count / 2 - 1, count / 2],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn buckets_never_decrease_and_start_at_their_lower_bounds() {
        let mut previous = bucket_of(-5);
        assert_eq!(previous, 0);
        for seconds in (0..200_000).chain((1..2_000).map(|i| 200_000 + i * 997_331)) {
            let bucket = bucket_of(seconds);
            assert!(bucket >= previous, "{seconds}");
            assert!(lower_bound(bucket) <= seconds, "{seconds} below {bucket}");
            assert!(
                seconds < lower_bound(bucket + 1),
                "{seconds} above {bucket}"
            );
            previous = bucket;
        }
        for bucket in 0..300 {
            assert_eq!(bucket_of(lower_bound(bucket)), bucket);
            assert_eq!(bucket_of(lower_bound(bucket + 1) - 1), bucket);
        }
        // Eight buckets per doubling above 16 s: from 2,048 s to 4,096 s each is 256 s wide.
        assert_eq!(bucket_of(3_584), bucket_of(3_839));
        assert_ne!(bucket_of(3_583), bucket_of(3_584));
        assert_ne!(bucket_of(3_839), bucket_of(3_840));
    }

    #[test]
    fn times_beyond_the_last_octave_share_its_last_bucket() {
        let last = bucket_of((1 << (LAST_OCTAVE + 1)) - 1);
        assert_eq!(last, EXACT_BELOW as i32 + (LAST_OCTAVE as i32 - 4) * 8 + 7);
        assert_eq!(bucket_of(1 << (LAST_OCTAVE + 1)), last);
        assert_eq!(bucket_of(i64::MAX), last);
    }

    #[test]
    fn ranks_are_found_in_their_buckets() {
        let counts = [(3, 2), (9, 1), (12, 4)];
        assert_eq!(locate(&counts, 0), Some((3, 0)));
        assert_eq!(locate(&counts, 1), Some((3, 1)));
        assert_eq!(locate(&counts, 2), Some((9, 0)));
        assert_eq!(locate(&counts, 6), Some((12, 3)));
        assert_eq!(locate(&counts, 7), None);
        assert_eq!(middle_ranks(7), vec![3]);
        assert_eq!(middle_ranks(4), vec![1, 2]);
        assert!(middle_ranks(0).is_empty());
    }

    #[test]
    fn a_resolved_fact_counts_once_per_clock_in_its_day_and_month() {
        let fact = Contributor {
            organisation_id: 7,
            priority: 2,
            category: "smart_meter".into(),
            assignment_group: None,
            created_on: day("2026-10-30"),
            resolved_on: Some(day("2026-11-02")),
            response_seconds: Some(600),
            resolution_seconds: None,
            resolution_met: None,
            reopened: false,
        };
        let d = delta(&[], std::slice::from_ref(&fact));
        let keys: Vec<(&str, NaiveDate, Clock)> = d
            .iter()
            .map(|(k, _)| (k.grain, k.period_start, k.clock))
            .collect();
        assert_eq!(
            keys,
            vec![
                (DAY, day("2026-11-02"), Clock::Response),
                (MONTH, day("2026-11-01"), Clock::Response),
            ]
        );
        assert!(d.iter().all(|(k, n)| *n == 1 && k.bucket == bucket_of(600)));
        // A longer response moves the count to another bucket; an unresolved fact counts nowhere.
        let mut slower = fact.clone();
        slower.response_seconds = Some(6_000);
        let moved = delta(std::slice::from_ref(&fact), &[slower]);
        assert_eq!(moved.len(), 4);
        assert_eq!(moved.iter().map(|(_, n)| n).sum::<i64>(), 0);
        let mut open = fact;
        open.resolved_on = None;
        assert!(delta(&[], &[open]).is_empty());
    }
}
