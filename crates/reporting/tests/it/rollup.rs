//! Reports read totals kept incrementally as facts change; here every figure of every counting
//! report, and the medians, are checked against a direct computation over the facts table, on
//! generated incidents that cross month, week and clock-change boundaries and then change
//! (resolved, reopened, recategorised, regrouped, reprioritised) after the totals first counted
//! them.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel_migrations::MigrationHarness;
use dsms_core::Principal;
use dsms_reporting::{ReportName, ReportTable, Value};
use dsms_store::schema::{incidents, report_incident_facts as facts};
use dsms_store::{DbConnection, migrations};

use crate::support::*;

/// A small deterministic generator (xorshift64*), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const CATEGORIES: [&str; 3] = ["smart_meter", "communications_hub", "other"];
const GROUPS: [Option<&str>; 3] = [Some("Meter Support"), Some("Comms Hub Support"), None];

fn leak(t: NaiveDateTime) -> &'static str {
    Box::leak(t.format("%Y-%m-%d %H:%M").to_string().into_boxed_str())
}

/// Writes `count` generated incidents from 25 August 2026 to "now" (4 January 2027).
fn generate(w: &World, rng: &mut Rng, count: usize) -> Vec<i64> {
    let start = at("2026-08-25 00:00");
    let now = at("2027-01-04 12:00");
    let orgs = [w.northern, w.southern, w.eastern];
    let mut ids = Vec::new();
    for _ in 0..count {
        let created = start + Duration::minutes(rng.below(132 * 24 * 60) as i64);
        let resolved = created + Duration::minutes(5 + rng.below(20 * 24 * 60) as i64);
        let responded = created + Duration::minutes(1 + rng.below(300) as i64);
        let kind = rng.below(10);
        let (status, resolved, closed) = if resolved >= now || kind < 2 {
            ("in_progress", None, None)
        } else if kind == 2 {
            ("cancelled", None, None)
        } else if kind == 3 {
            ("closed", Some(resolved), Some(resolved + Duration::days(2)))
        } else {
            ("resolved", Some(resolved), None)
        };
        let mut pauses = Vec::new();
        if let Some(end) = resolved {
            let span = (end - created).num_minutes().max(4);
            let first = created + Duration::minutes(span / 4);
            let second = created + Duration::minutes(span / 2);
            if rng.chance(20) {
                pauses.push(("awaiting_user", leak(first), Some(leak(second))));
            } else if rng.chance(15) {
                // Resolved once, then reopened.
                pauses.push(("resolved", leak(first), Some(leak(second))));
            }
        }
        let group = GROUPS[rng.below(3) as usize];
        let spec = Spec {
            org: orgs[rng.below(3) as usize],
            priority: 1 + rng.below(5) as i32,
            category: CATEGORIES[rng.below(3) as usize],
            group,
            status,
            created: leak(created),
            responded: (rng.chance(85) && responded < now).then(|| leak(responded)),
            resolved: resolved.map(leak),
            closed: closed.map(leak),
            due: None,
            at_risk: None,
            pauses,
            devices: Vec::new(),
            region: None,
        };
        ids.push(w.insert(&spec));
    }
    ids
}

/// Changes a share of the incidents after their facts were first counted.
fn change(w: &World, rng: &mut Rng, ids: &[i64]) {
    let stamp = at("2027-01-04 12:00");
    for id in ids {
        let what = rng.below(6);
        let category = CATEGORIES[rng.below(3) as usize];
        let group = GROUPS[rng.below(3) as usize];
        let priority = 1 + rng.below(5) as i32;
        let resolved = at("2026-12-20 10:00") + Duration::minutes(rng.below(20_000) as i64);
        w.db.write_blocking(|conn| {
            let target = incidents::table.find(*id);
            let version = incidents::version.eq(incidents::version + 1);
            let touched = incidents::updated_at.eq(stamp);
            match what {
                0 => diesel::update(target)
                    .set((incidents::category.eq(category), version, touched))
                    .execute(conn),
                1 => diesel::update(target)
                    .set((incidents::assignment_group.eq(group), version, touched))
                    .execute(conn),
                2 => diesel::update(target)
                    .set((incidents::priority.eq(priority), version, touched))
                    .execute(conn),
                // Resolved (again) on a later day, or reopened.
                3 => diesel::update(target)
                    .set((
                        incidents::status.eq("resolved"),
                        incidents::resolved_at.eq(resolved),
                        version,
                        touched,
                    ))
                    .execute(conn),
                4 => diesel::update(target)
                    .set((
                        incidents::status.eq("in_progress"),
                        incidents::resolved_at.eq(None::<NaiveDateTime>),
                        version,
                        touched,
                    ))
                    .execute(conn),
                _ => Ok(0),
            }
            .map_err(dsms_store::StoreError::from)
        })
        .expect("change");
    }
}

/// One row of the facts table, as the direct computation reads it.
struct Fact {
    organisation_id: i64,
    priority: i32,
    category: String,
    group: Option<String>,
    created_on: NaiveDate,
    resolved_on: Option<NaiveDate>,
    response: Option<i64>,
    resolution: Option<i64>,
    met: Option<bool>,
    reopened: bool,
}

type FactRow = (
    i64,
    i32,
    String,
    Option<String>,
    NaiveDate,
    Option<NaiveDate>,
    Option<i64>,
    Option<i64>,
    Option<bool>,
    bool,
);

fn all_facts(w: &World) -> Vec<Fact> {
    let rows: Vec<FactRow> =
        w.db.read_blocking(|conn| {
            facts::table
                .select((
                    facts::organisation_id,
                    facts::priority,
                    facts::category,
                    facts::assignment_group,
                    facts::created_on,
                    facts::resolved_on,
                    facts::response_seconds,
                    facts::resolution_seconds,
                    facts::resolution_met,
                    facts::reopened,
                ))
                .load(conn)
                .map_err(dsms_store::StoreError::from)
        })
        .expect("facts");
    rows.into_iter()
        .map(|r| Fact {
            organisation_id: r.0,
            priority: r.1,
            category: r.2,
            group: r.3,
            created_on: r.4,
            resolved_on: r.5,
            response: r.6,
            resolution: r.7,
            met: r.8,
            reopened: r.9,
        })
        .collect()
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

/// A report's query, as the direct computation applies it.
struct Query<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl Query<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn granularity(&self) -> &str {
        self.get("granularity").unwrap_or("month")
    }

    fn label(&self, d: NaiveDate) -> String {
        match self.granularity() {
            "month" => d.format("%Y-%m").to_string(),
            "week" => (d - Duration::days(i64::from(d.weekday().num_days_from_monday())))
                .format("%Y-%m-%d")
                .to_string(),
            _ => d.format("%Y-%m-%d").to_string(),
        }
    }

    fn selects(&self, who: &Principal, f: &Fact) -> bool {
        let text = |key| self.get(key);
        who.sees_organisation(f.organisation_id)
            && text("organisation_id").is_none_or(|o| o == f.organisation_id.to_string())
            && text("priority").is_none_or(|p| p == f.priority.to_string())
            && text("category").is_none_or(|c| c == f.category)
            && text("group").is_none_or(|g| f.group.as_deref() == Some(g))
    }

    fn within(&self, d: NaiveDate) -> bool {
        let from = day(self.get("from").expect("from"));
        let to = day(self.get("to").expect("to"));
        d >= from && d <= to
    }
}

/// Every row of `table`, keyed by the text of `key` columns.
fn rows_by(table: &ReportTable, key: &[&str]) -> BTreeMap<Vec<String>, Vec<Value>> {
    (0..table.rows.len())
        .map(|i| {
            let k = key
                .iter()
                .map(|c| match table.value(i, c) {
                    Some(Value::Text(t)) => t.clone(),
                    other => panic!("{c} is {other:?}"),
                })
                .collect();
            (k, table.rows[i].clone())
        })
        .collect()
}

fn value(table: &ReportTable, row: &[Value], column: &str) -> Value {
    let i = table
        .columns
        .iter()
        .position(|c| c.name == column)
        .expect("column");
    row[i].clone()
}

fn minutes(sum: i64, n: usize) -> Value {
    if n == 0 {
        Value::Null
    } else {
        Value::Decimal(sum as f64 / n as f64 / 60.0)
    }
}

fn median(mut values: Vec<i64>) -> Value {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => Value::Null,
        _ if n % 2 == 1 => Value::Decimal(values[n / 2] as f64 / 60.0),
        _ => Value::Decimal((values[n / 2 - 1] + values[n / 2]) as f64 / 2.0 / 60.0),
    }
}

fn same(actual: &Value, expected: &Value, what: &str) {
    match (actual, expected) {
        (Value::Decimal(a), Value::Decimal(e)) => {
            assert!(
                (a - e).abs() <= 1e-9 * e.abs().max(1.0),
                "{what}: {a} != {e}"
            )
        }
        _ => assert_eq!(actual, expected, "{what}"),
    }
}

#[derive(Default)]
struct Cell {
    raised: i64,
    resolved: i64,
    met: i64,
    reopened: i64,
    response: Vec<i64>,
    resolution: Vec<i64>,
}

/// Checks the five counting reports for `who` and `q` against the facts.
fn check(w: &World, who: &Principal, q: &Query<'_>, facts: &[Fact]) {
    let mut per_priority: BTreeMap<(String, String), Cell> = BTreeMap::new();
    let mut per_period: BTreeMap<String, Cell> = BTreeMap::new();
    for f in facts.iter().filter(|f| q.selects(who, f)) {
        if q.within(f.created_on) {
            per_period.entry(q.label(f.created_on)).or_default().raised += 1;
        }
        let Some(resolved_on) = f.resolved_on.filter(|d| q.within(*d)) else {
            continue;
        };
        let period = q.label(resolved_on);
        for cell in [
            per_priority
                .entry((period.clone(), f.priority.to_string()))
                .or_default(),
            per_period.entry(period.clone()).or_default(),
        ] {
            cell.resolved += 1;
            cell.met += i64::from(f.met == Some(true));
            cell.reopened += i64::from(f.reopened);
            cell.response.extend(f.response);
            cell.resolution.extend(f.resolution);
        }
    }
    let context = |report: &str, key: &[String], column: &str| {
        format!("{report} {key:?} {column} for {who:?} with {:?}", q.pairs)
    };
    let empty = Cell::default();

    let t = w.run(who, ReportName::SlaPerformance, &q.pairs);
    for (key, row) in rows_by(&t, &["period", "priorities"]) {
        if key[1].contains('-') {
            continue; // The SEC measures add priorities up; checked by hand in figures.rs.
        }
        let cell = per_priority
            .get(&(key[0].clone(), key[1].clone()))
            .unwrap_or(&empty);
        for (column, expected) in [
            ("resolved", cell.resolved),
            ("met", cell.met),
            ("missed", cell.resolved - cell.met),
        ] {
            same(
                &value(&t, &row, column),
                &Value::Integer(expected),
                &context("sla", &key, column),
            );
        }
    }

    let t = w.run(who, ReportName::ResponseResolutionTimes, &q.pairs);
    let mut nonempty = 0;
    for (key, row) in rows_by(&t, &["period", "priority"]) {
        let cell = per_priority
            .get(&(key[0].clone(), key[1].clone()))
            .unwrap_or(&empty);
        nonempty += usize::from(cell.resolved > 0);
        let expected = [
            ("resolved", Value::Integer(cell.resolved)),
            (
                "mean_response_minutes",
                minutes(cell.response.iter().sum(), cell.response.len()),
            ),
            ("median_response_minutes", median(cell.response.clone())),
            (
                "mean_resolution_minutes",
                minutes(cell.resolution.iter().sum(), cell.resolution.len()),
            ),
            ("median_resolution_minutes", median(cell.resolution.clone())),
        ];
        for (column, expected) in expected {
            same(
                &value(&t, &row, column),
                &expected,
                &context("times", &key, column),
            );
        }
    }
    assert_eq!(
        nonempty,
        per_priority.values().filter(|c| c.resolved > 0).count()
    );

    let arrivals = w.run(who, ReportName::ArrivalsResolutions, &q.pairs);
    let reopen = w.run(who, ReportName::ReopenRate, &q.pairs);
    for t in [&arrivals, &reopen] {
        for (key, row) in rows_by(t, &["period"]) {
            let cell = per_period.get(&key[0]).unwrap_or(&empty);
            let mut expected = vec![("resolved", cell.resolved)];
            if t.name == ReportName::ArrivalsResolutions {
                expected.push(("raised", cell.raised));
            } else {
                expected.push(("reopened", cell.reopened));
            }
            for (column, n) in expected {
                same(
                    &value(t, &row, column),
                    &Value::Integer(n),
                    &context(t.name.as_str(), &key, column),
                );
            }
        }
    }
    assert!(
        per_period
            .keys()
            .all(|p| { rows_by(&arrivals, &["period"]).contains_key(std::slice::from_ref(p)) }),
        "every period with incidents has a row"
    );

    let names = [
        (w.northern, "Northern Supply"),
        (w.southern, "Southern Gas"),
        (w.eastern, "Eastern Networks"),
    ];
    for by in ["category", "organisation", "group", "priority"] {
        let mut expected: BTreeMap<Vec<String>, i64> = BTreeMap::new();
        for f in facts
            .iter()
            .filter(|f| q.selects(who, f) && q.within(f.created_on))
        {
            let value = match by {
                "category" => f.category.clone(),
                "organisation" => names
                    .iter()
                    .find(|(id, _)| *id == f.organisation_id)
                    .map(|(_, n)| (*n).to_owned())
                    .expect("a generated organisation"),
                "group" => f.group.clone().unwrap_or_else(|| "(unassigned)".into()),
                _ => f.priority.to_string(),
            };
            *expected
                .entry(vec![q.label(f.created_on), value])
                .or_default() += 1;
        }
        let mut pairs = q.pairs.clone();
        pairs.push(("by", by));
        let t = w.run(who, ReportName::Volumes, &pairs);
        let actual: BTreeMap<Vec<String>, i64> = rows_by(&t, &["period", "value"])
            .into_iter()
            .map(|(k, row)| match value(&t, &row, "raised") {
                Value::Integer(n) => (k, n),
                other => panic!("raised is {other:?}"),
            })
            .collect();
        assert_eq!(actual, expected, "volumes by {by} for {:?}", q.pairs);
    }
}

#[test]
fn totals_kept_as_facts_change_equal_a_direct_count_of_the_facts() {
    let w = World::new();
    let mut rng = Rng(0x5EED_CAFE_F00D_0001);
    let ids = generate(&w, &mut rng, 400);
    // Counted once, then changed and counted again.
    w.run(&w.manager, ReportName::ArrivalsResolutions, NOV_DEC);
    let changed: Vec<i64> = ids.iter().copied().filter(|_| rng.chance(40)).collect();
    change(&w, &mut rng, &changed);
    w.run(&w.manager, ReportName::ArrivalsResolutions, NOV_DEC);
    let facts = all_facts(&w);
    assert!(facts.len() > 400);
    assert!(facts.iter().any(|f| f.reopened));

    let northern = w.northern.to_string();
    let queries: Vec<Vec<(&str, &str)>> = vec![
        // Partial first and last months: day rows around month rows.
        vec![("from", "2026-08-27"), ("to", "2027-01-04")],
        vec![
            ("from", "2026-08-27"),
            ("to", "2027-01-04"),
            ("granularity", "week"),
        ],
        vec![
            ("from", "2026-10-20"),
            ("to", "2026-11-10"),
            ("granularity", "day"),
        ],
        vec![
            ("from", "2026-09-01"),
            ("to", "2026-12-31"),
            ("priority", "3"),
        ],
        vec![
            ("from", "2026-09-01"),
            ("to", "2026-12-31"),
            ("category", "smart_meter"),
        ],
        vec![
            ("from", "2026-09-10"),
            ("to", "2026-12-20"),
            ("group", "Meter Support"),
        ],
        vec![
            ("from", "2026-09-01"),
            ("to", "2027-01-04"),
            ("organisation_id", &northern),
        ],
    ];
    for pairs in &queries {
        check(
            &w,
            &w.manager,
            &Query {
                pairs: pairs.clone(),
            },
            &facts,
        );
    }
    // An organisation's figures count only its own incidents.
    for pairs in [&queries[0], &queries[3]] {
        check(
            &w,
            &w.southern_reporter,
            &Query {
                pairs: pairs.clone(),
            },
            &facts,
        );
    }
}

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

/// A histogram row's key: grain, first day, priority, clock, bucket.
type BucketKey = (String, NaiveDate, i32, String, i32);

/// A fact's response and resolution times and buckets, with its day of resolution and priority.
type TimedFact = (
    i64,
    Option<NaiveDate>,
    i32,
    Option<i64>,
    Option<i32>,
    Option<i64>,
    Option<i32>,
);

/// Every fact's times and buckets, and every histogram row that counts something.
fn facts_and_histogram(w: &World) -> (Vec<TimedFact>, BTreeMap<BucketKey, i64>) {
    w.db.read_blocking(|conn| {
        let rows = facts::table
            .order(facts::incident_id)
            .select((
                facts::incident_id,
                facts::resolved_on,
                facts::priority,
                facts::response_seconds,
                facts::response_bucket,
                facts::resolution_seconds,
                facts::resolution_bucket,
            ))
            .load(conn)?;
        let kept: Vec<(BucketKey, i64)> = report_duration_histogram::table
            .filter(report_duration_histogram::incidents.ne(0))
            .select((
                (
                    report_duration_histogram::grain,
                    report_duration_histogram::period_start,
                    report_duration_histogram::priority,
                    report_duration_histogram::clock,
                    report_duration_histogram::bucket,
                ),
                report_duration_histogram::incidents,
            ))
            .load(conn)?;
        Ok::<_, dsms_store::StoreError>((rows, kept.into_iter().collect()))
    })
    .expect("facts and histogram")
}

#[test]
fn duration_histogram_kept_as_facts_change_equals_a_count_of_the_facts_buckets() {
    let w = World::new();
    let mut rng = Rng(0x5EED_CAFE_F00D_0002);
    let ids = generate(&w, &mut rng, 300);
    w.run(&w.manager, ReportName::ResponseResolutionTimes, NOV_DEC);
    let changed: Vec<i64> = ids.iter().copied().filter(|_| rng.chance(50)).collect();
    change(&w, &mut rng, &changed);
    w.run(&w.manager, ReportName::ResponseResolutionTimes, NOV_DEC);

    let (rows, kept) = facts_and_histogram(&w);
    let mut expected: BTreeMap<BucketKey, i64> = BTreeMap::new();
    let mut times: Vec<(&str, i64, i32)> = Vec::new();
    for (_, resolved_on, priority, response, response_bucket, resolution, resolution_bucket) in rows
    {
        for (clock, seconds, bucket) in [
            ("response", response, response_bucket),
            ("resolution", resolution, resolution_bucket),
        ] {
            let Some(seconds) = seconds else {
                assert_eq!(bucket, None, "a bucket without a time");
                continue;
            };
            let bucket = bucket.expect("every time has its bucket");
            times.push((clock, seconds, bucket));
            let Some(day) = resolved_on else { continue };
            let month = day.with_day(1).expect("first of the month");
            for (grain, start) in [("day", day), ("month", month)] {
                *expected
                    .entry((grain.into(), start, priority, clock.into(), bucket))
                    .or_default() += 1;
            }
        }
    }
    assert!(expected.len() > 100, "{} rows", expected.len());
    assert_eq!(kept, expected);
    // A median's rank is counted over the buckets below: a longer time never has a lower one.
    times.sort_unstable();
    for pair in times.windows(2) {
        if pair[0].0 == pair[1].0 {
            assert!(pair[0].2 <= pair[1].2, "{pair:?}");
        }
    }
}

#[test]
fn the_histogram_migration_gives_earlier_facts_the_buckets_and_counts_the_code_keeps() {
    let w = World::new();
    let mut rng = Rng(0x5EED_CAFE_F00D_0003);
    generate(&w, &mut rng, 200);
    w.run(&w.manager, ReportName::ResponseResolutionTimes, NOV_DEC);
    let kept = facts_and_histogram(&w);
    assert!(kept.1.len() > 100);
    // Take migration 000019 (and any later one) back, then apply it over the facts now there.
    w.db.write_blocking(|conn| {
        loop {
            let reverted = match conn {
                DbConnection::Sqlite(c) => c.revert_last_migration(migrations::SQLITE),
                DbConnection::Pg(c) => c.revert_last_migration(migrations::POSTGRES),
            }
            .map_err(|e| dsms_store::StoreError::Unavailable(e.to_string()))?;
            // diesel names a version by its directory's digits, with or without the dashes.
            if reverted
                .to_string()
                .replace('-', "")
                .starts_with("20261207000019")
            {
                return Ok::<_, dsms_store::StoreError>(());
            }
        }
    })
    .expect("revert");
    w.db.migrate().expect("migrate again");
    assert_eq!(facts_and_histogram(&w), kept);
    // And reports read the backfilled histogram as they read the kept one.
    let facts = all_facts(&w);
    check(
        &w,
        &w.manager,
        &Query {
            pairs: vec![("from", "2026-08-27"), ("to", "2027-01-04")],
        },
        &facts,
    );
}
