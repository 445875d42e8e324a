//! Small helpers the operations reports (requests, hubs, availability) share to build their
//! tables: columns, cells, shares, period labels and local days.

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use crate::params::{Granularity, ReportParams};
use crate::table::{Column, ColumnKind, Value};

/// A column.
pub(crate) fn column(name: &'static str, label: &'static str, kind: ColumnKind) -> Column {
    Column { name, label, kind }
}

/// A text cell.
pub(crate) fn text(value: impl Into<String>) -> Value {
    Value::Text(value.into())
}

/// `part / whole`, or an empty cell when `whole` is 0.
pub(crate) fn share(part: i64, whole: i64) -> Value {
    if whole == 0 {
        Value::Null
    } else {
        Value::Decimal(part as f64 / whole as f64)
    }
}

/// The mean and median of `seconds`, in minutes; empty cells when there are none.
pub(crate) fn mean_median_minutes(seconds: &[i64]) -> (Value, Value) {
    if seconds.is_empty() {
        return (Value::Null, Value::Null);
    }
    let mut sorted = seconds.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    let mean = sorted.iter().map(|s| *s as f64).sum::<f64>() / n as f64 / 60.0;
    let median = if n % 2 == 1 {
        sorted[n / 2] as f64
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0
    } / 60.0;
    (Value::Decimal(mean), Value::Decimal(median))
}

/// How a period starting on `start` is shown: `2026-11` for months, the first day otherwise.
pub(crate) fn period_label(params: &ReportParams, start: NaiveDate) -> Value {
    match params.granularity {
        Granularity::Month => text(start.format("%Y-%m").to_string()),
        Granularity::Day | Granularity::Week => text(start.format("%Y-%m-%d").to_string()),
    }
}

/// The local day in `zone` of stored (UTC) instant `t`.
pub(crate) fn local_day(zone: Tz, t: NaiveDateTime) -> NaiveDate {
    zone.from_utc_datetime(&t).date_naive()
}

/// The start of local day `day` in `zone`, as stored (UTC).
pub(crate) fn start_of(zone: Tz, day: NaiveDate) -> NaiveDateTime {
    let local = day.and_time(chrono::NaiveTime::MIN);
    zone.from_local_datetime(&local)
        .earliest()
        .map_or(local, |t| t.naive_utc())
}

/// The first day of the month named `YYYY-MM`.
pub(crate) fn month_start(month: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()
}

/// The organisation a row is split by: `organisation_id` when the report is asked `by`
/// organisation, none otherwise (every visible organisation's rows add up).
pub(crate) fn split_by(params: &ReportParams, organisation_id: i64) -> Option<i64> {
    (params.by == crate::params::Dimension::Organisation).then_some(organisation_id)
}

/// The names of the organisations rows were split by, as a cell per id; ids come only from
/// rows the caller may see, so no other organisation's name is read.
pub(crate) fn organisation_cells(
    conn: &mut dsms_store::DbConnection,
    ids: impl IntoIterator<Item = Option<i64>>,
) -> Result<std::collections::HashMap<i64, Value>, dsms_store::StoreError> {
    let ids: Vec<i64> = ids
        .into_iter()
        .flatten()
        .collect::<std::collections::BTreeSet<i64>>()
        .into_iter()
        .collect();
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    Ok(crate::store::organisation_names(conn, &ids)?
        .into_iter()
        .map(|(id, name)| (id, text(name)))
        .collect())
}

/// The organisation cell of a row split by `key` (`all` when the rows are not split).
pub(crate) fn organisation_cell(
    names: &std::collections::HashMap<i64, Value>,
    key: Option<i64>,
) -> Value {
    match key {
        None => text("all"),
        Some(id) => names.get(&id).cloned().unwrap_or(Value::Null),
    }
}
