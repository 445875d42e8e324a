//! The SQL of the communications-hub reports: forecasts and their lines, orders with their
//! consignments and reported discrepancies, and returned hubs with their reasons and analysis.
//! Every read of an organisation's rows is scoped to the organisations the caller may see.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use dsms_core::Principal;
use dsms_store::schema::{
    hub_consignments, hub_discrepancies, hub_forecast_lines, hub_forecasts, hub_orders,
    hub_return_lines, hub_returns, hub_serials, hub_variants,
};
use dsms_store::{DbConnection, StoreError, scoped};

/// Bound values per `IN` list, well under either database's limit.
const CHUNK: usize = 1_000;

/// A forecast version: id, organisation, sequence, when submitted.
pub(crate) type ForecastRow = (i64, i64, i64, NaiveDateTime);
/// A forecast line: forecast id, month (`YYYY-MM`), variant id, quantity.
pub(crate) type ForecastLine = (i64, String, i64, i64);
/// An order: id, organisation, variant id, delivery month (`YYYY-MM`), quantity, status.
pub(crate) type OrderRow = (i64, i64, i64, String, i64, String);
/// A consignment: order id, delivery date (`YYYY-MM-DD`), quantity, status.
pub(crate) type ConsignmentRow = (i64, String, i64, String);
/// A returned hub: organisation, when the return was asked for, reason, faulty, whether
/// analysis confirmed the fault, variant id.
pub(crate) type ReturnedHub = (i64, NaiveDateTime, String, bool, Option<bool>, i64);

/// Every hub variant: id, product code, region.
pub(crate) fn variants(conn: &mut DbConnection) -> Result<Vec<(i64, String, String)>, StoreError> {
    Ok(hub_variants::table
        .order(hub_variants::id)
        .select((
            hub_variants::id,
            hub_variants::product_code,
            hub_variants::region,
        ))
        .load(conn)?)
}

/// Every forecast version of the organisations the caller may see (only `organisation` when
/// given) submitted before `before`.
pub(crate) fn forecasts(
    conn: &mut DbConnection,
    principal: &Principal,
    organisation: Option<i64>,
    before: NaiveDateTime,
) -> Result<Vec<ForecastRow>, StoreError> {
    let mut query = scoped!(
        hub_forecasts::table.into_boxed(),
        hub_forecasts::organisation_id,
        principal
    );
    if let Some(organisation) = organisation {
        query = query.filter(hub_forecasts::organisation_id.eq(organisation));
    }
    Ok(query
        .filter(hub_forecasts::submitted_at.lt(before))
        .order((hub_forecasts::organisation_id, hub_forecasts::sequence))
        .select((
            hub_forecasts::id,
            hub_forecasts::organisation_id,
            hub_forecasts::sequence,
            hub_forecasts::submitted_at,
        ))
        .load(conn)?)
}

/// The lines of forecasts `ids` for months `first` to `last` (`YYYY-MM`, inclusive).
pub(crate) fn forecast_lines(
    conn: &mut DbConnection,
    ids: &[i64],
    first: &str,
    last: &str,
) -> Result<Vec<ForecastLine>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        out.extend(
            hub_forecast_lines::table
                .filter(hub_forecast_lines::forecast_id.eq_any(chunk))
                .filter(hub_forecast_lines::month.between(first, last))
                .select((
                    hub_forecast_lines::forecast_id,
                    hub_forecast_lines::month,
                    hub_forecast_lines::variant_id,
                    hub_forecast_lines::quantity,
                ))
                .load::<ForecastLine>(conn)?,
        );
    }
    Ok(out)
}

/// Orders for delivery months `first` to `last` (`YYYY-MM`, inclusive) with a status in
/// `statuses`, of the organisations the caller may see (only `organisation` when given).
pub(crate) fn orders(
    conn: &mut DbConnection,
    principal: &Principal,
    organisation: Option<i64>,
    first: &str,
    last: &str,
    statuses: &[&str],
) -> Result<Vec<OrderRow>, StoreError> {
    let mut query = scoped!(
        hub_orders::table.into_boxed(),
        hub_orders::organisation_id,
        principal
    );
    if let Some(organisation) = organisation {
        query = query.filter(hub_orders::organisation_id.eq(organisation));
    }
    Ok(query
        .filter(hub_orders::delivery_month.between(first, last))
        .filter(hub_orders::status.eq_any(statuses))
        .order(hub_orders::id)
        .select((
            hub_orders::id,
            hub_orders::organisation_id,
            hub_orders::variant_id,
            hub_orders::delivery_month,
            hub_orders::quantity,
            hub_orders::status,
        ))
        .load(conn)?)
}

/// The consignments of orders `ids`.
pub(crate) fn consignments(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<ConsignmentRow>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        out.extend(
            hub_consignments::table
                .filter(hub_consignments::order_id.eq_any(chunk))
                .select((
                    hub_consignments::order_id,
                    hub_consignments::delivery_date,
                    hub_consignments::quantity,
                    hub_consignments::status,
                ))
                .load::<ConsignmentRow>(conn)?,
        );
    }
    Ok(out)
}

/// The kinds of discrepancy (`shortage`, `damage`, `excess`) reported on orders `ids`.
pub(crate) fn discrepancies(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<(i64, String)>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        out.extend(
            hub_discrepancies::table
                .filter(hub_discrepancies::order_id.eq_any(chunk))
                .select((hub_discrepancies::order_id, hub_discrepancies::kind))
                .load::<(i64, String)>(conn)?,
        );
    }
    Ok(out)
}

/// Hubs returned by the organisations the caller may see (only `organisation` when given) in
/// returns asked for in `[from, until)`.
pub(crate) fn returned_hubs(
    conn: &mut DbConnection,
    principal: &Principal,
    organisation: Option<i64>,
    from: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<Vec<ReturnedHub>, StoreError> {
    let mut query = scoped!(
        hub_return_lines::table
            .inner_join(hub_returns::table)
            .inner_join(hub_serials::table)
            .into_boxed(),
        hub_returns::organisation_id,
        principal
    );
    if let Some(organisation) = organisation {
        query = query.filter(hub_returns::organisation_id.eq(organisation));
    }
    Ok(query
        .filter(hub_returns::created_at.ge(from))
        .filter(hub_returns::created_at.lt(until))
        .order(hub_return_lines::serial)
        .select((
            hub_returns::organisation_id,
            hub_returns::created_at,
            hub_return_lines::reason,
            hub_return_lines::faulty,
            hub_return_lines::fault_confirmed,
            hub_serials::variant_id,
        ))
        .load(conn)?)
}
