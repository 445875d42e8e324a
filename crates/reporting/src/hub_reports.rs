//! The communications-hub reports: forecast accuracy, on-time-in-full delivery, returns by
//! reason and variant, and the share of faulty returns whose fault analysis confirmed.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Duration, Months, NaiveDate};
use dsms_core::Principal;
use dsms_store::DbConnection;

use crate::catalogue::ReportName;
use crate::cells::{
    column, local_day, month_start, organisation_cell, organisation_cells, share, split_by,
    start_of, text,
};
use crate::error::ReportError;
use crate::params::ReportParams;
use crate::policy::ReportPolicy;
use crate::store_hubs;
use crate::table::{ChartSpec, ColumnKind, ReportTable, Value};

/// A forecast-accuracy row's key: delivery month, organisation split, variant code and region.
type ForecastKey = (String, Option<i64>, String, String);

/// One returned hub: the day, organisation, reason, whether faulty, the analysis's verdict and
/// the variant.
type ReturnedHub = (NaiveDate, i64, String, bool, Option<bool>, i64);

/// Faulty returns, how many were analysed and how many of those confirmed the fault.
type Confirmations = (i64, i64, i64);

/// Order statuses that count as ordered: everything not rejected or cancelled.
const ORDERED: &[&str] = &[
    "submitted",
    "accepted",
    "amended",
    "dispatched",
    "delivered",
];
/// Order statuses of orders the operator accepted and so must deliver.
const ACCEPTED: &[&str] = &["accepted", "dispatched", "delivered"];
/// Discrepancies that make a delivery short of the full quantity.
const SHORT: &[&str] = &["shortage", "damage"];

/// A variant's product code and region.
struct Variant {
    code: String,
    region: String,
}

fn variants(conn: &mut DbConnection) -> Result<HashMap<i64, Variant>, ReportError> {
    Ok(store_hubs::variants(conn)?
        .into_iter()
        .map(|(id, code, region)| (id, Variant { code, region }))
        .collect())
}

/// `YYYY-MM` of `day`.
fn month_of(day: NaiveDate) -> String {
    day.format("%Y-%m").to_string()
}

/// The delivery months the period covers, `YYYY-MM`, in order.
fn months(params: &ReportParams) -> Vec<String> {
    let mut out = Vec::new();
    let mut month = params.from.with_day(1).unwrap_or(params.from);
    while month <= params.to {
        out.push(month_of(month));
        month = month + Months::new(1);
    }
    out
}

/// True when `region` passes the report's region filter.
fn in_region(params: &ReportParams, region: &str) -> bool {
    params.region.as_deref().is_none_or(|r| r == region)
}

/// Ordered against the forecast in force, per delivery month, variant and region.
pub(crate) fn forecast_accuracy(
    conn: &mut DbConnection,
    principal: &Principal,
    params: &ReportParams,
    policy: &ReportPolicy,
    today: NaiveDate,
) -> Result<ReportTable, ReportError> {
    let months = months(params);
    let (Some(first), Some(last)) = (months.first().cloned(), months.last().cloned()) else {
        return Err(ReportError::NotFound);
    };
    // The hubs rule: the forecast in force for a month is the organisation's latest submitted
    // before the start of the month's cut-off day, the cut-off being that many months before
    // the month under the rule set in force today.
    let cutoff_months = policy.hub_cutoff_months(today);
    let horizon = |month: &str| {
        month_start(month)
            .and_then(|m| m.checked_sub_months(Months::new(cutoff_months)))
            .map(|cutoff| start_of(policy.zone, cutoff))
    };
    let latest = horizon(&last).unwrap_or_default();
    let forecasts = store_hubs::forecasts(conn, principal, params.organisation_id, latest)?;
    // (forecast id, month) in force
    let mut in_force: Vec<(i64, i64, String)> = Vec::new();
    for month in &months {
        let Some(before) = horizon(month) else {
            continue;
        };
        let mut chosen: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
        for (id, organisation, sequence, submitted_at) in &forecasts {
            if *submitted_at < before && chosen.get(organisation).is_none_or(|(_, s)| sequence > s)
            {
                chosen.insert(*organisation, (*id, *sequence));
            }
        }
        for (organisation, (id, _)) in chosen {
            in_force.push((id, organisation, month.clone()));
        }
    }
    let owner: HashMap<(i64, String), i64> = in_force
        .iter()
        .map(|(id, organisation, month)| ((*id, month.clone()), *organisation))
        .collect();
    let mut ids: Vec<i64> = in_force.iter().map(|f| f.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let variants = variants(conn)?;
    // (month, organisation split, variant code, region) -> (forecast, ordered)
    let mut figures: BTreeMap<ForecastKey, (i64, i64)> = BTreeMap::new();
    let mut add = |month: String, organisation: i64, variant: i64, forecast: i64, ordered: i64| {
        let Some(v) = variants.get(&variant) else {
            return;
        };
        if !in_region(params, &v.region) {
            return;
        }
        let slot = figures
            .entry((
                month,
                split_by(params, organisation),
                v.code.clone(),
                v.region.clone(),
            ))
            .or_default();
        slot.0 += forecast;
        slot.1 += ordered;
    };
    for (forecast, month, variant, quantity) in
        store_hubs::forecast_lines(conn, &ids, &first, &last)?
    {
        if let Some(organisation) = owner.get(&(forecast, month.clone())) {
            add(month, *organisation, variant, quantity, 0);
        }
    }
    for (_, organisation, variant, month, quantity, _) in store_hubs::orders(
        conn,
        principal,
        params.organisation_id,
        &first,
        &last,
        ORDERED,
    )? {
        add(month, organisation, variant, 0, quantity);
    }
    let names = organisation_cells(conn, figures.keys().map(|k| k.1))?;
    let rows = figures
        .into_iter()
        .map(
            |((month, organisation, code, region), (forecast, ordered))| {
                vec![
                    text(month),
                    organisation_cell(&names, organisation),
                    text(code),
                    text(region),
                    Value::Integer(forecast),
                    Value::Integer(ordered),
                    share(ordered, forecast),
                ]
            },
        )
        .collect();
    Ok(ReportTable {
        name: ReportName::HubForecastAccuracy,
        title: "Hub forecast accuracy: ordered against the forecast in force".into(),
        columns: vec![
            column("delivery_month", "Delivery month", ColumnKind::Text),
            column("organisation", "Organisation", ColumnKind::Text),
            column("variant", "Variant", ColumnKind::Text),
            column("region", "Region", ColumnKind::Text),
            column("forecast", "Forecast in force", ColumnKind::Integer),
            column("ordered", "Ordered", ColumnKind::Integer),
            column("ratio", "Ordered / forecast", ColumnKind::Decimal),
        ],
        rows,
        chart: ChartSpec {
            x: 0,
            series: vec![6],
            split: Some(2),
            count_by: None,
        },
    })
}

/// What one delivery month (and organisation) adds up for on-time-in-full delivery.
#[derive(Default)]
struct Deliveries {
    due: i64,
    hubs: i64,
    on_time: i64,
    in_full: i64,
    otif: i64,
    awaiting: i64,
}

/// Accepted orders per delivery month delivered on time and in full.
pub(crate) fn delivery_otif(
    conn: &mut DbConnection,
    principal: &Principal,
    params: &ReportParams,
) -> Result<ReportTable, ReportError> {
    let months = months(params);
    let (Some(first), Some(last)) = (months.first().cloned(), months.last().cloned()) else {
        return Err(ReportError::NotFound);
    };
    let variants = variants(conn)?;
    let orders: Vec<_> = store_hubs::orders(
        conn,
        principal,
        params.organisation_id,
        &first,
        &last,
        ACCEPTED,
    )?
    .into_iter()
    .filter(|o| {
        variants
            .get(&o.2)
            .is_some_and(|v| in_region(params, &v.region))
    })
    .collect();
    let ids: Vec<i64> = orders.iter().map(|o| o.0).collect();
    let mut consignments: HashMap<i64, Vec<(String, i64, String)>> = HashMap::new();
    for (order, date, quantity, status) in store_hubs::consignments(conn, &ids)? {
        consignments
            .entry(order)
            .or_default()
            .push((date, quantity, status));
    }
    let mut short: HashMap<i64, bool> = HashMap::new();
    for (order, kind) in store_hubs::discrepancies(conn, &ids)? {
        if SHORT.contains(&kind.as_str()) {
            short.insert(order, true);
        }
    }
    let mut figures: BTreeMap<(String, Option<i64>), Deliveries> = BTreeMap::new();
    // Unsplit, every month gets a row even with nothing due; split, only organisations with
    // orders appear.
    if split_by(params, 0).is_none() {
        for month in &months {
            figures.entry((month.clone(), None)).or_default();
        }
    }
    for (id, organisation, _, month, quantity, _) in orders {
        let sent = consignments.remove(&id).unwrap_or_default();
        let in_month: i64 = sent
            .iter()
            .filter(|(date, _, _)| date.get(..7) == Some(month.as_str()))
            .map(|c| c.1)
            .sum();
        let dispatched: i64 = sent.iter().map(|c| c.1).sum();
        let awaiting = sent.iter().any(|c| c.2 == "dispatched");
        let on_time = in_month >= quantity;
        let in_full = dispatched >= quantity && !awaiting && !short.contains_key(&id);
        let slot = figures
            .entry((month, split_by(params, organisation)))
            .or_default();
        slot.due += 1;
        slot.hubs += quantity;
        slot.on_time += i64::from(on_time);
        slot.in_full += i64::from(in_full);
        slot.otif += i64::from(on_time && in_full);
        slot.awaiting += i64::from(awaiting);
    }
    let names = organisation_cells(conn, figures.keys().map(|k| k.1))?;
    let rows = figures
        .into_iter()
        .map(|((month, organisation), d)| {
            vec![
                text(month),
                organisation_cell(&names, organisation),
                Value::Integer(d.due),
                Value::Integer(d.hubs),
                Value::Integer(d.on_time),
                Value::Integer(d.in_full),
                Value::Integer(d.otif),
                share(d.otif, d.due),
                Value::Integer(d.awaiting),
            ]
        })
        .collect();
    Ok(ReportTable {
        name: ReportName::HubDeliveryOtif,
        title: "Hub deliveries on time in full".into(),
        columns: vec![
            column("delivery_month", "Delivery month", ColumnKind::Text),
            column("organisation", "Organisation", ColumnKind::Text),
            column("orders", "Accepted orders", ColumnKind::Integer),
            column("hubs", "Hubs ordered", ColumnKind::Integer),
            column("on_time", "On time", ColumnKind::Integer),
            column("in_full", "In full", ColumnKind::Integer),
            column("otif", "On time in full", ColumnKind::Integer),
            column("share_otif", "Share on time in full", ColumnKind::Decimal),
            column(
                "awaiting_confirmation",
                "Awaiting confirmation",
                ColumnKind::Integer,
            ),
        ],
        rows,
        chart: ChartSpec {
            x: 0,
            series: vec![2, 6],
            split: None,
            count_by: None,
        },
    })
}

/// Returned hubs in the period, with the local day each return was asked for.
fn returned(
    conn: &mut DbConnection,
    principal: &Principal,
    params: &ReportParams,
    policy: &ReportPolicy,
) -> Result<Vec<ReturnedHub>, ReportError> {
    let from = start_of(policy.zone, params.from);
    let until = start_of(policy.zone, params.to + Duration::days(1));
    Ok(
        store_hubs::returned_hubs(conn, principal, params.organisation_id, from, until)?
            .into_iter()
            .map(|(organisation, at, reason, faulty, confirmed, variant)| {
                (
                    local_day(policy.zone, at),
                    organisation,
                    reason,
                    faulty,
                    confirmed,
                    variant,
                )
            })
            .collect(),
    )
}

/// Returned hubs (serials) per period, variant and reason, faulty or not.
pub(crate) fn returns(
    conn: &mut DbConnection,
    principal: &Principal,
    params: &ReportParams,
    policy: &ReportPolicy,
) -> Result<ReportTable, ReportError> {
    let variants = variants(conn)?;
    let mut counts: BTreeMap<(NaiveDate, Option<i64>, String, bool, String), i64> = BTreeMap::new();
    for (day, organisation, reason, faulty, _, variant) in
        returned(conn, principal, params, policy)?
    {
        let Some(v) = variants
            .get(&variant)
            .filter(|v| in_region(params, &v.region))
        else {
            continue;
        };
        *counts
            .entry((
                params.period_of(day),
                split_by(params, organisation),
                v.code.clone(),
                !faulty,
                reason,
            ))
            .or_default() += 1;
    }
    let names = organisation_cells(conn, counts.keys().map(|k| k.1))?;
    let rows = counts
        .into_iter()
        .map(|((period, organisation, variant, no_fault, reason), n)| {
            vec![
                crate::cells::period_label(params, period),
                organisation_cell(&names, organisation),
                text(variant),
                text(if no_fault { "no_fault" } else { "faulty" }),
                text(reason),
                Value::Integer(n),
            ]
        })
        .collect();
    Ok(ReportTable {
        name: ReportName::HubReturns,
        title: "Hub returns by reason and variant".into(),
        columns: vec![
            column("period", "Period", ColumnKind::Text),
            column("organisation", "Organisation", ColumnKind::Text),
            column("variant", "Variant", ColumnKind::Text),
            column("class", "Faulty or no-fault", ColumnKind::Text),
            column("reason", "Reason", ColumnKind::Text),
            column("hubs", "Hubs returned", ColumnKind::Integer),
        ],
        rows,
        chart: ChartSpec {
            x: 0,
            series: vec![5],
            split: Some(3),
            count_by: None,
        },
    })
}

/// Faulty returns per period and variant, and the share whose analysis confirmed the fault.
pub(crate) fn fault_confirmation(
    conn: &mut DbConnection,
    principal: &Principal,
    params: &ReportParams,
    policy: &ReportPolicy,
) -> Result<ReportTable, ReportError> {
    let variants = variants(conn)?;
    // (returned, analysed, confirmed)
    let mut counts: BTreeMap<(NaiveDate, Option<i64>, String), Confirmations> = BTreeMap::new();
    for (day, organisation, _, faulty, confirmed, variant) in
        returned(conn, principal, params, policy)?
    {
        let Some(v) = variants
            .get(&variant)
            .filter(|v| in_region(params, &v.region))
        else {
            continue;
        };
        if !faulty {
            continue;
        }
        let slot = counts
            .entry((
                params.period_of(day),
                split_by(params, organisation),
                v.code.clone(),
            ))
            .or_default();
        slot.0 += 1;
        slot.1 += i64::from(confirmed.is_some());
        slot.2 += i64::from(confirmed == Some(true));
    }
    let names = organisation_cells(conn, counts.keys().map(|k| k.1))?;
    let rows = counts
        .into_iter()
        .map(
            |((period, organisation, variant), (returned, analysed, confirmed))| {
                vec![
                    crate::cells::period_label(params, period),
                    organisation_cell(&names, organisation),
                    text(variant),
                    Value::Integer(returned),
                    Value::Integer(analysed),
                    Value::Integer(confirmed),
                    Value::Integer(analysed - confirmed),
                    share(confirmed, analysed),
                ]
            },
        )
        .collect();
    Ok(ReportTable {
        name: ReportName::HubFaultConfirmation,
        title: "Hub fault confirmation rate".into(),
        columns: vec![
            column("period", "Period", ColumnKind::Text),
            column("organisation", "Organisation", ColumnKind::Text),
            column("variant", "Variant", ColumnKind::Text),
            column("faulty", "Faulty hubs returned", ColumnKind::Integer),
            column("analysed", "Analysed", ColumnKind::Integer),
            column("confirmed", "Fault confirmed", ColumnKind::Integer),
            column("not_confirmed", "Fault not confirmed", ColumnKind::Integer),
            column("share_confirmed", "Share confirmed", ColumnKind::Decimal),
        ],
        rows,
        chart: ChartSpec {
            x: 0,
            series: vec![7],
            split: Some(2),
            count_by: None,
        },
    })
}
