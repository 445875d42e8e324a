//! The request-fulfilment report: per period and catalogue item, service requests raised and
//! fulfilled, the time to fulfil them on their SLA clock, and how many met their target.
//!
//! The clock is the one the service-request rules run: the form version's target in working
//! days (each worth [`ReportPolicy::request_working_day`] of working time) on the business
//! calendar, started when the request is raised, paused while the raising organisation's own
//! administrator has yet to approve, stopped when the request is fulfilled.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate};
use dsms_core::Principal;
use dsms_core::sla::{ClockHours, ClockState, SlaClock};
use dsms_store::DbConnection;

use crate::catalogue::ReportName;
use crate::cells::{
    column, local_day, mean_median_minutes, organisation_cell, organisation_cells, period_label,
    share, split_by, start_of, text,
};
use crate::error::ReportError;
use crate::params::ReportParams;
use crate::policy::ReportPolicy;
use crate::store_requests::{self, RequestRow};
use crate::table::{ChartSpec, ColumnKind, ReportTable, Value};

/// What one (period, organisation, item) row adds up.
#[derive(Default)]
struct Tally {
    raised: i64,
    fulfilled: i64,
    met: i64,
    missed: i64,
    seconds: Vec<i64>,
}

/// The fulfilment target, in working days, a form version's definition sets.
fn target_of(definition: &str) -> Option<u32> {
    let value: serde_json::Value = serde_json::from_str(definition).ok()?;
    value
        .get("sla_working_days")
        .and_then(serde_json::Value::as_u64)
        .and_then(|d| u32::try_from(d).ok())
}

/// Builds the report.
pub(crate) fn fulfilment(
    conn: &mut DbConnection,
    principal: &Principal,
    params: &ReportParams,
    policy: &ReportPolicy,
) -> Result<ReportTable, ReportError> {
    let zone = policy.zone;
    let from = start_of(zone, params.from);
    let until = start_of(zone, params.to + Duration::days(1));
    let requests =
        store_requests::requests_in(conn, principal, params.organisation_id, from, until)?;
    let ids: Vec<i64> = requests.iter().map(|r| r.id).collect();
    let mut items: Vec<i64> = requests.iter().map(|r| r.item_id).collect();
    items.sort_unstable();
    items.dedup();
    let mut versions: Vec<i64> = requests.iter().map(|r| r.item_version_id).collect();
    versions.sort_unstable();
    versions.dedup();
    let codes: HashMap<i64, String> = store_requests::item_codes(conn, &items)?
        .into_iter()
        .collect();
    let targets: HashMap<i64, Option<u32>> = store_requests::definitions(conn, &versions)?
        .into_iter()
        .map(|(id, definition)| (id, target_of(&definition)))
        .collect();
    let mut pauses: HashMap<i64, Vec<_>> = HashMap::new();
    for (id, decided_at) in store_requests::admin_approvals(conn, &ids)? {
        pauses.entry(id).or_default().push(decided_at);
    }
    let in_period = |day: NaiveDate| day >= params.from && day <= params.to;
    let mut tallies: BTreeMap<(NaiveDate, Option<i64>, String), Tally> = BTreeMap::new();
    for request in &requests {
        let code = codes
            .get(&request.item_id)
            .cloned()
            .unwrap_or_else(|| request.item_id.to_string());
        let split = split_by(params, request.organisation_id);
        let raised_on = local_day(zone, request.created_at);
        if in_period(raised_on) {
            tallies
                .entry((params.period_of(raised_on), split, code.clone()))
                .or_default()
                .raised += 1;
        }
        let Some(fulfilled_at) = request.fulfilled_at else {
            continue;
        };
        let fulfilled_on = local_day(zone, fulfilled_at);
        if !in_period(fulfilled_on) {
            continue;
        }
        let tally = tallies
            .entry((params.period_of(fulfilled_on), split, code))
            .or_default();
        tally.fulfilled += 1;
        let days = targets
            .get(&request.item_version_id)
            .copied()
            .flatten()
            .unwrap_or(1);
        let reading = clock(policy, request, days, pauses.get(&request.id)).read(
            &policy.calendar,
            fulfilled_at.and_utc(),
            1.0,
        );
        tally.seconds.push(reading.elapsed.num_seconds());
        if reading.state == ClockState::Breached {
            tally.missed += 1;
        } else {
            tally.met += 1;
        }
    }
    let names = organisation_cells(conn, tallies.keys().map(|k| k.1))?;
    let rows = tallies
        .into_iter()
        .map(|((period, organisation, code), tally)| {
            let (mean, median) = mean_median_minutes(&tally.seconds);
            vec![
                period_label(params, period),
                organisation_cell(&names, organisation),
                text(code),
                Value::Integer(tally.raised),
                Value::Integer(tally.fulfilled),
                mean,
                median,
                Value::Integer(tally.met),
                Value::Integer(tally.missed),
                share(tally.met, tally.met + tally.missed),
            ]
        })
        .collect();
    Ok(ReportTable {
        name: ReportName::RequestFulfilment,
        title: "Service request fulfilment (working minutes)".into(),
        columns: vec![
            column("period", "Period", ColumnKind::Text),
            column("organisation", "Organisation", ColumnKind::Text),
            column("item", "Catalogue item", ColumnKind::Text),
            column("raised", "Raised", ColumnKind::Integer),
            column("fulfilled", "Fulfilled", ColumnKind::Integer),
            column(
                "mean_fulfil_minutes",
                "Mean time to fulfil (working min)",
                ColumnKind::Decimal,
            ),
            column(
                "median_fulfil_minutes",
                "Median time to fulfil (working min)",
                ColumnKind::Decimal,
            ),
            column("met", "Within target", ColumnKind::Integer),
            column("missed", "Missed target", ColumnKind::Integer),
            column("share_met", "Share within target", ColumnKind::Decimal),
        ],
        rows,
        chart: ChartSpec {
            x: 0,
            series: vec![3, 4],
            split: None,
            count_by: None,
        },
    })
}

/// The request's fulfilment clock, as the service-request rules run it.
fn clock(
    policy: &ReportPolicy,
    request: &RequestRow,
    days: u32,
    approvals: Option<&Vec<Option<chrono::NaiveDateTime>>>,
) -> SlaClock {
    let started_at = request.created_at.and_utc();
    SlaClock {
        target: policy.request_working_day * i32::try_from(days).unwrap_or(1),
        hours: ClockHours::WorkingHours,
        started_at,
        pauses: approvals
            .map(|a| {
                a.iter()
                    .map(|decided| (started_at, decided.map(|d| d.and_utc())))
                    .collect()
            })
            .unwrap_or_default(),
        stopped_at: request
            .fulfilled_at
            .or(request.closed_at)
            .map(|t| t.and_utc()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_comes_from_the_form_version() {
        let definition = r#"{"name": "Information request", "sla_working_days": 5, "fields": []}"#;
        assert_eq!(target_of(definition), Some(5));
        assert_eq!(target_of("not json"), None);
    }
}
