//! Report totals kept incrementally: what each incident's facts add to the day and the month it
//! was raised in and the day and the month it was resolved in. Replacing an incident's facts
//! takes its old contributions away and adds the new ones, in the same transaction, so the
//! totals always equal an aggregate over the facts.

use std::collections::HashMap;

use chrono::{Datelike, Days, Months, NaiveDate};

use crate::params::Granularity;

/// The table of totals (migration `000018_report_rollup`). Declared here rather than in the
/// shared schema because only reports read or write it.
pub(crate) mod schema {
    diesel::table! {
        report_rollup (grain, period_start, organisation_id, priority, category, assignment_group) {
            grain -> Text,
            period_start -> Date,
            organisation_id -> BigInt,
            priority -> Integer,
            category -> Text,
            assignment_group -> Text,
            raised -> BigInt,
            resolved -> BigInt,
            resolution_met -> BigInt,
            reopened -> BigInt,
            response_count -> BigInt,
            response_seconds -> BigInt,
            resolution_count -> BigInt,
            resolution_seconds -> BigInt,
        }
    }
}

/// The rollup's grain for single days.
pub(crate) const DAY: &str = "day";
/// The rollup's grain for calendar months (keyed by their first day).
pub(crate) const MONTH: &str = "month";

/// What of an incident's facts the totals depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Contributor {
    pub organisation_id: i64,
    pub priority: i32,
    pub category: String,
    pub assignment_group: Option<String>,
    pub created_on: NaiveDate,
    pub resolved_on: Option<NaiveDate>,
    pub response_seconds: Option<i64>,
    pub resolution_seconds: Option<i64>,
    pub resolution_met: Option<bool>,
    pub reopened: bool,
}

/// One row's key: grain, first day, organisation, priority, category and resolver group (empty
/// for none).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key {
    pub grain: &'static str,
    pub period_start: NaiveDate,
    pub organisation_id: i64,
    pub priority: i32,
    pub category: String,
    pub assignment_group: String,
}

/// The totals of one row, or a change to them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub raised: i64,
    pub resolved: i64,
    pub resolution_met: i64,
    pub reopened: i64,
    pub response_count: i64,
    pub response_seconds: i64,
    pub resolution_count: i64,
    pub resolution_seconds: i64,
}

impl Totals {
    /// Adds `other` times `sign` (+1 or -1).
    pub fn add(&mut self, other: &Totals, sign: i64) {
        self.raised += sign * other.raised;
        self.resolved += sign * other.resolved;
        self.resolution_met += sign * other.resolution_met;
        self.reopened += sign * other.reopened;
        self.response_count += sign * other.response_count;
        self.response_seconds += sign * other.response_seconds;
        self.resolution_count += sign * other.resolution_count;
        self.resolution_seconds += sign * other.resolution_seconds;
    }

    fn is_zero(&self) -> bool {
        *self == Totals::default()
    }
}

fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// The rows `fact` adds to, and what it adds to each.
fn contributions(fact: &Contributor) -> Vec<(Key, Totals)> {
    let key = |grain: &'static str, period_start: NaiveDate| Key {
        grain,
        period_start,
        organisation_id: fact.organisation_id,
        priority: fact.priority,
        category: fact.category.clone(),
        assignment_group: fact.assignment_group.clone().unwrap_or_default(),
    };
    let raised = Totals {
        raised: 1,
        ..Totals::default()
    };
    let mut out = vec![
        (key(DAY, fact.created_on), raised),
        (key(MONTH, month_of(fact.created_on)), raised),
    ];
    if let Some(day) = fact.resolved_on {
        let resolved = Totals {
            resolved: 1,
            resolution_met: i64::from(fact.resolution_met == Some(true)),
            reopened: i64::from(fact.reopened),
            response_count: i64::from(fact.response_seconds.is_some()),
            response_seconds: fact.response_seconds.unwrap_or_default(),
            resolution_count: i64::from(fact.resolution_seconds.is_some()),
            resolution_seconds: fact.resolution_seconds.unwrap_or_default(),
            ..Totals::default()
        };
        out.push((key(DAY, day), resolved));
        out.push((key(MONTH, month_of(day)), resolved));
    }
    out
}

/// The change to the totals when the facts `removed` are replaced by `added`: only the rows
/// that change, in key order (so concurrent writers lock rows in the same order).
pub(crate) fn delta(removed: &[Contributor], added: &[Contributor]) -> Vec<(Key, Totals)> {
    let mut change: HashMap<Key, Totals> = HashMap::new();
    for (facts, sign) in [(removed, -1), (added, 1)] {
        for fact in facts {
            for (key, totals) in contributions(fact) {
                change.entry(key).or_default().add(&totals, sign);
            }
        }
    }
    let mut out: Vec<(Key, Totals)> = change.into_iter().filter(|(_, t)| !t.is_zero()).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A run of rows of one grain, by period start, first to last inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub grain: &'static str,
    pub first: NaiveDate,
    pub last: NaiveDate,
}

/// The rows that cover the days `from` to `to` when counting per `granularity`: month rows for
/// the whole months inside when counting per month (a month row cannot be split into days or
/// weeks), and day rows for the rest.
pub(crate) fn spans(from: NaiveDate, to: NaiveDate, granularity: Granularity) -> Vec<Span> {
    let day = |first, last| Span {
        grain: DAY,
        first,
        last,
    };
    if granularity == Granularity::Month {
        let first_whole = if from.day() == 1 {
            from
        } else {
            month_of(from) + Months::new(1)
        };
        // The first month from which the period no longer covers whole months.
        let after_to = to + Days::new(1);
        let partial_end = if after_to.day() == 1 {
            after_to
        } else {
            month_of(to)
        };
        if first_whole < partial_end {
            let mut out = vec![Span {
                grain: MONTH,
                first: first_whole,
                last: partial_end - Months::new(1),
            }];
            if from < first_whole {
                out.push(day(from, first_whole - Days::new(1)));
            }
            if partial_end <= to {
                out.push(day(partial_end, to));
            }
            return out;
        }
    }
    vec![day(from, to)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn fact(created: &str, resolved: Option<&str>, met: Option<bool>) -> Contributor {
        Contributor {
            organisation_id: 7,
            priority: 3,
            category: "smart_meter".into(),
            assignment_group: None,
            created_on: day(created),
            resolved_on: resolved.map(day),
            response_seconds: resolved.map(|_| 600),
            resolution_seconds: resolved.map(|_| 3_600),
            resolution_met: met,
            reopened: false,
        }
    }

    fn find(delta: &[(Key, Totals)], grain: &str, start: &str) -> Totals {
        delta
            .iter()
            .find(|(k, _)| k.grain == grain && k.period_start == day(start))
            .map(|(_, t)| *t)
            .unwrap_or_default()
    }

    #[test]
    fn whole_months_are_read_from_month_rows_only_when_counting_per_month() {
        let span = |grain, first, last| Span {
            grain,
            first: day(first),
            last: day(last),
        };
        assert_eq!(
            spans(day("2025-12-15"), day("2026-12-07"), Granularity::Month),
            vec![
                span(MONTH, "2026-01-01", "2026-11-01"),
                span(DAY, "2025-12-15", "2025-12-31"),
                span(DAY, "2026-12-01", "2026-12-07"),
            ]
        );
        assert_eq!(
            spans(day("2026-11-01"), day("2026-12-31"), Granularity::Month),
            vec![span(MONTH, "2026-11-01", "2026-12-01")]
        );
        assert_eq!(
            spans(day("2026-11-02"), day("2026-11-30"), Granularity::Month),
            vec![span(DAY, "2026-11-02", "2026-11-30")]
        );
        assert_eq!(
            spans(day("2026-11-01"), day("2026-12-31"), Granularity::Week),
            vec![span(DAY, "2026-11-01", "2026-12-31")]
        );
    }

    #[test]
    fn a_new_resolved_incident_adds_to_its_days_and_months() {
        let added = [fact("2026-10-30", Some("2026-11-02"), Some(true))];
        let d = delta(&[], &added);
        assert_eq!(d.len(), 4);
        assert_eq!(find(&d, DAY, "2026-10-30").raised, 1);
        assert_eq!(find(&d, MONTH, "2026-10-01").raised, 1);
        let resolved = find(&d, MONTH, "2026-11-01");
        assert_eq!(
            (resolved.raised, resolved.resolved, resolved.resolution_met),
            (0, 1, 1)
        );
        assert_eq!(
            (resolved.response_count, resolved.response_seconds),
            (1, 600)
        );
        assert_eq!(find(&d, DAY, "2026-11-02").resolution_seconds, 3_600);
        assert_eq!(d[0].0.assignment_group, "");
    }

    #[test]
    fn a_replaced_fact_moves_only_what_changed() {
        // Reopened and resolved again a day later, now missed: raised rows do not change.
        let old = [fact("2026-10-30", Some("2026-11-02"), Some(true))];
        let mut new = fact("2026-10-30", Some("2026-11-03"), Some(false));
        new.reopened = true;
        let d = delta(&old, &[new]);
        assert_eq!(find(&d, DAY, "2026-10-30"), Totals::default());
        assert_eq!(find(&d, DAY, "2026-11-02").resolved, -1);
        assert_eq!(find(&d, DAY, "2026-11-02").resolution_met, -1);
        assert_eq!(find(&d, DAY, "2026-11-03").resolved, 1);
        assert_eq!(find(&d, DAY, "2026-11-03").reopened, 1);
        let month = find(&d, MONTH, "2026-11-01");
        assert_eq!(
            (month.resolved, month.resolution_met, month.reopened),
            (0, -1, 1)
        );
        assert_eq!(d.len(), 3);
        assert!(delta(&old, &old).is_empty());
    }
}
