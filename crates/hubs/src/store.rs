//! The SQL of hubs, in one place. Organisation-owned rows are read through `scoped!`; bulk
//! serial work goes in chunks, so thousands of serials cost a handful of statements.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use dsms_core::{PageRequest, Principal};
use dsms_store::schema::{
    delivery_locations, hub_consignments, hub_discrepancies, hub_forecast_lines, hub_forecasts,
    hub_orders, hub_return_lines, hub_returns, hub_serials, hub_variants, incidents,
    organisation_sec_roles, organisations,
};
use dsms_store::{DbConnection, StoreError, scoped};

/// Serials per statement: well inside both databases' limits on bound parameters.
const CHUNK: usize = 500;

/// A hub variant.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = hub_variants)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct VariantRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub product_code: String,
    pub name: String,
    pub radio_technology: String,
    pub region: String,
    pub han_band: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// Every variant, by product code.
pub(crate) fn variants(conn: &mut DbConnection) -> Result<Vec<VariantRow>, StoreError> {
    Ok(hub_variants::table
        .order(hub_variants::product_code.asc())
        .select(VariantRow::as_select())
        .load(conn)?)
}

/// One variant by id.
pub(crate) fn variant(conn: &mut DbConnection, id: i64) -> Result<VariantRow, StoreError> {
    Ok(hub_variants::table
        .find(id)
        .select(VariantRow::as_select())
        .first(conn)?)
}

/// Records a variant; returns its id.
pub(crate) fn insert_variant(conn: &mut DbConnection, row: &VariantRow) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(hub_variants::table)
        .values(row)
        .returning(hub_variants::id)
        .get_result(conn)?)
}

/// Writes a variant if it is still at `expected` version.
pub(crate) fn update_variant(
    conn: &mut DbConnection,
    row: &VariantRow,
    expected: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        hub_variants::table
            .filter(hub_variants::id.eq(row.id))
            .filter(hub_variants::version.eq(expected)),
    )
    .set(row)
    .execute(conn)?
        == 1)
}

/// A delivery location.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = delivery_locations)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(treat_none_as_null = true)]
pub(crate) struct LocationRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub organisation_id: i64,
    pub name: String,
    pub address: String,
    pub postcode: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub contact_email: Option<String>,
    pub delivery_days: String,
    pub status: String,
    pub decision_note: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// Records a location; returns its id.
pub(crate) fn insert_location(
    conn: &mut DbConnection,
    row: &LocationRow,
) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(delivery_locations::table)
        .values(row)
        .returning(delivery_locations::id)
        .get_result(conn)?)
}

/// A location `principal` may see, or `NotFound`.
pub(crate) fn location_visible(
    conn: &mut DbConnection,
    principal: &Principal,
    id: i64,
) -> Result<LocationRow, StoreError> {
    Ok(scoped!(
        delivery_locations::table.into_boxed(),
        delivery_locations::organisation_id,
        principal
    )
    .filter(delivery_locations::id.eq(id))
    .select(LocationRow::as_select())
    .first(conn)?)
}

/// One page of the locations `principal` may see.
pub(crate) fn locations(
    conn: &mut DbConnection,
    principal: &Principal,
    organisation_id: Option<i64>,
    status: Option<&str>,
    page: PageRequest,
) -> Result<Vec<LocationRow>, StoreError> {
    let mut q = scoped!(
        delivery_locations::table.into_boxed(),
        delivery_locations::organisation_id,
        principal
    );
    if let Some(o) = organisation_id {
        q = q.filter(delivery_locations::organisation_id.eq(o));
    }
    if let Some(s) = status {
        q = q.filter(delivery_locations::status.eq(s.to_owned()));
    }
    if let Some(after) = page.after {
        q = q.filter(delivery_locations::id.gt(after));
    }
    Ok(q.order(delivery_locations::id.asc())
        .limit(page.fetch_limit())
        .select(LocationRow::as_select())
        .load(conn)?)
}

/// Writes a location if it is still at `expected` version.
pub(crate) fn update_location(
    conn: &mut DbConnection,
    row: &LocationRow,
    expected: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        delivery_locations::table
            .filter(delivery_locations::id.eq(row.id))
            .filter(delivery_locations::version.eq(expected)),
    )
    .set(row)
    .execute(conn)?
        == 1)
}

/// A forecast submission.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = hub_forecasts)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct ForecastRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub organisation_id: i64,
    pub sequence: i64,
    pub cycle_month: String,
    pub due_on: String,
    pub late: bool,
    pub submitted_by_kind: String,
    pub submitted_by_id: i64,
    pub submitted_by_name: String,
    pub submitted_at: NaiveDateTime,
}

/// One line of a forecast.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = hub_forecast_lines)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct ForecastLineRow {
    pub forecast_id: i64,
    pub month: String,
    pub variant_id: i64,
    pub quantity: i64,
}

/// The organisation's latest forecast, if any.
pub(crate) fn latest_forecast(
    conn: &mut DbConnection,
    organisation_id: i64,
) -> Result<Option<ForecastRow>, StoreError> {
    Ok(hub_forecasts::table
        .filter(hub_forecasts::organisation_id.eq(organisation_id))
        .order(hub_forecasts::sequence.desc())
        .select(ForecastRow::as_select())
        .first(conn)
        .optional()?)
}

/// The organisation's latest forecast submitted before `before`, if any.
pub(crate) fn forecast_before(
    conn: &mut DbConnection,
    organisation_id: i64,
    before: NaiveDateTime,
) -> Result<Option<ForecastRow>, StoreError> {
    Ok(hub_forecasts::table
        .filter(hub_forecasts::organisation_id.eq(organisation_id))
        .filter(hub_forecasts::submitted_at.lt(before))
        .order(hub_forecasts::sequence.desc())
        .select(ForecastRow::as_select())
        .first(conn)
        .optional()?)
}

/// The version before `sequence` of the organisation's forecast.
pub(crate) fn previous_forecast(
    conn: &mut DbConnection,
    organisation_id: i64,
    sequence: i64,
) -> Result<Option<ForecastRow>, StoreError> {
    Ok(hub_forecasts::table
        .filter(hub_forecasts::organisation_id.eq(organisation_id))
        .filter(hub_forecasts::sequence.lt(sequence))
        .order(hub_forecasts::sequence.desc())
        .select(ForecastRow::as_select())
        .first(conn)
        .optional()?)
}

/// The first submission of an organisation in a monthly cycle, if any.
pub(crate) fn first_in_cycle(
    conn: &mut DbConnection,
    organisation_id: i64,
    cycle: &str,
) -> Result<Option<NaiveDateTime>, StoreError> {
    Ok(hub_forecasts::table
        .filter(hub_forecasts::organisation_id.eq(organisation_id))
        .filter(hub_forecasts::cycle_month.eq(cycle))
        .order(hub_forecasts::sequence.asc())
        .select(hub_forecasts::submitted_at)
        .first(conn)
        .optional()?)
}

/// Records a forecast and its lines; returns its id.
pub(crate) fn insert_forecast(
    conn: &mut DbConnection,
    row: &ForecastRow,
    lines: &[ForecastLineRow],
) -> Result<i64, StoreError> {
    let id: i64 = diesel::insert_into(hub_forecasts::table)
        .values(row)
        .returning(hub_forecasts::id)
        .get_result(conn)?;
    let lines: Vec<ForecastLineRow> = lines
        .iter()
        .map(|l| ForecastLineRow {
            forecast_id: id,
            ..l.clone()
        })
        .collect();
    for chunk in lines.chunks(CHUNK) {
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(hub_forecast_lines::table)
                .values(chunk)
                .execute(c)?,
            DbConnection::Pg(c) => diesel::insert_into(hub_forecast_lines::table)
                .values(chunk)
                .execute(c)?,
        };
    }
    Ok(id)
}

/// A forecast `principal` may see.
pub(crate) fn forecast_visible(
    conn: &mut DbConnection,
    principal: &Principal,
    id: i64,
) -> Result<ForecastRow, StoreError> {
    Ok(scoped!(
        hub_forecasts::table.into_boxed(),
        hub_forecasts::organisation_id,
        principal
    )
    .filter(hub_forecasts::id.eq(id))
    .select(ForecastRow::as_select())
    .first(conn)?)
}

/// The lines of a forecast, by month and variant.
pub(crate) fn forecast_lines(
    conn: &mut DbConnection,
    forecast_id: i64,
) -> Result<Vec<ForecastLineRow>, StoreError> {
    Ok(hub_forecast_lines::table
        .filter(hub_forecast_lines::forecast_id.eq(forecast_id))
        .order((hub_forecast_lines::month, hub_forecast_lines::variant_id))
        .select(ForecastLineRow::as_select())
        .load(conn)?)
}

/// One page of the forecasts `principal` may see, newest first.
pub(crate) fn forecasts(
    conn: &mut DbConnection,
    principal: &Principal,
    organisation_id: Option<i64>,
    page: PageRequest,
) -> Result<Vec<ForecastRow>, StoreError> {
    let mut q = scoped!(
        hub_forecasts::table.into_boxed(),
        hub_forecasts::organisation_id,
        principal
    );
    if let Some(o) = organisation_id {
        q = q.filter(hub_forecasts::organisation_id.eq(o));
    }
    if let Some(after) = page.after {
        q = q.filter(hub_forecasts::id.lt(after));
    }
    Ok(q.order(hub_forecasts::id.desc())
        .limit(page.fetch_limit())
        .select(ForecastRow::as_select())
        .load(conn)?)
}

/// The name of an organisation.
pub(crate) fn organisation_name(conn: &mut DbConnection, id: i64) -> Result<String, StoreError> {
    Ok(organisations::table
        .find(id)
        .select(organisations::name)
        .first(conn)?)
}

/// The SEC roles that order and return hubs.
const SUPPLIER_ROLES: [&str; 2] = ["import_supplier", "gas_supplier"];

/// True when the organisation is an import or gas supplier.
pub(crate) fn is_supplier(
    conn: &mut DbConnection,
    organisation_id: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(
        organisation_sec_roles::table
            .filter(organisation_sec_roles::organisation_id.eq(organisation_id))
            .filter(organisation_sec_roles::sec_role.eq_any(SUPPLIER_ROLES)),
    ))
    .get_result(conn)?)
}

/// The active import and gas suppliers `principal` may see, by name.
pub(crate) fn suppliers(
    conn: &mut DbConnection,
    principal: &Principal,
) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(scoped!(
        organisations::table.into_boxed(),
        organisations::id,
        principal
    )
    .filter(organisations::status.eq("active"))
    .filter(
        organisations::id.eq_any(
            organisation_sec_roles::table
                .filter(organisation_sec_roles::sec_role.eq_any(SUPPLIER_ROLES))
                .select(organisation_sec_roles::organisation_id),
        ),
    )
    .order(organisations::name.asc())
    .select((organisations::id, organisations::name))
    .load(conn)?)
}

/// A hub order.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = hub_orders)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(treat_none_as_null = true)]
pub(crate) struct OrderRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub reference: String,
    pub organisation_id: i64,
    pub location_id: i64,
    pub variant_id: i64,
    pub delivery_month: String,
    pub quantity: i64,
    pub status: String,
    pub rules_effective_from: String,
    pub forecast_id: Option<i64>,
    pub decision_reason: Option<String>,
    pub placed_by_kind: String,
    pub placed_by_id: i64,
    pub placed_by_name: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// The reference of order `id`: derived from the id, so unique and never reused.
pub(crate) fn order_reference(id: i64) -> String {
    format!("ORD{id:07}")
}

/// The reference of return `id`.
pub(crate) fn return_reference(id: i64) -> String {
    format!("RET{id:07}")
}

/// The id a reference with `prefix` names, if it is one.
pub(crate) fn id_of_reference(prefix: &str, reference: &str) -> Option<i64> {
    reference
        .strip_prefix(prefix)
        .filter(|digits| digits.len() >= 7 && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse().ok())
}

/// Records an order, giving it its reference; returns its id.
pub(crate) fn insert_order(conn: &mut DbConnection, row: &OrderRow) -> Result<i64, StoreError> {
    let id: i64 = diesel::insert_into(hub_orders::table)
        .values(row)
        .returning(hub_orders::id)
        .get_result(conn)?;
    diesel::update(hub_orders::table.find(id))
        .set(hub_orders::reference.eq(order_reference(id)))
        .execute(conn)?;
    Ok(id)
}

/// An order `principal` may see.
pub(crate) fn order_visible(
    conn: &mut DbConnection,
    principal: &Principal,
    id: i64,
) -> Result<OrderRow, StoreError> {
    Ok(scoped!(
        hub_orders::table.into_boxed(),
        hub_orders::organisation_id,
        principal
    )
    .filter(hub_orders::id.eq(id))
    .select(OrderRow::as_select())
    .first(conn)?)
}

/// An order by id, whoever owns it (for the system's own work, and for records already shown
/// to be visible).
pub(crate) fn order_by_id(conn: &mut DbConnection, id: i64) -> Result<OrderRow, StoreError> {
    Ok(hub_orders::table
        .find(id)
        .select(OrderRow::as_select())
        .first(conn)?)
}

/// What a list of orders is filtered by.
#[derive(Debug, Clone, Default)]
pub(crate) struct OrderQuery {
    pub organisation_id: Option<i64>,
    pub statuses: Vec<String>,
    pub delivery_month: Option<String>,
    pub variant_id: Option<i64>,
}

/// One page of the orders `principal` may see, oldest first.
pub(crate) fn orders(
    conn: &mut DbConnection,
    principal: &Principal,
    query: &OrderQuery,
    page: PageRequest,
) -> Result<Vec<OrderRow>, StoreError> {
    let mut q = scoped!(
        hub_orders::table.into_boxed(),
        hub_orders::organisation_id,
        principal
    );
    if let Some(o) = query.organisation_id {
        q = q.filter(hub_orders::organisation_id.eq(o));
    }
    if !query.statuses.is_empty() {
        q = q.filter(hub_orders::status.eq_any(query.statuses.clone()));
    }
    if let Some(m) = &query.delivery_month {
        q = q.filter(hub_orders::delivery_month.eq(m.clone()));
    }
    if let Some(v) = query.variant_id {
        q = q.filter(hub_orders::variant_id.eq(v));
    }
    if let Some(after) = page.after {
        q = q.filter(hub_orders::id.gt(after));
    }
    Ok(q.order(hub_orders::id.asc())
        .limit(page.fetch_limit())
        .select(OrderRow::as_select())
        .load(conn)?)
}

/// Writes an order if it is still at `expected` version.
pub(crate) fn update_order(
    conn: &mut DbConnection,
    row: &OrderRow,
    expected: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        hub_orders::table
            .filter(hub_orders::id.eq(row.id))
            .filter(hub_orders::version.eq(expected)),
    )
    .set(row)
    .execute(conn)?
        == 1)
}

/// Statuses whose quantities count against the forecast.
pub(crate) const LIVE_ORDER_STATUSES: [&str; 5] = [
    "submitted",
    "accepted",
    "amended",
    "dispatched",
    "delivered",
];

/// Hubs the organisation has on live orders for a month and variant, leaving out one order.
pub(crate) fn ordered_total(
    conn: &mut DbConnection,
    organisation_id: i64,
    month: &str,
    variant_id: i64,
    except: i64,
) -> Result<i64, StoreError> {
    let quantities: Vec<i64> = hub_orders::table
        .filter(hub_orders::organisation_id.eq(organisation_id))
        .filter(hub_orders::delivery_month.eq(month))
        .filter(hub_orders::variant_id.eq(variant_id))
        .filter(hub_orders::status.eq_any(LIVE_ORDER_STATUSES))
        .filter(hub_orders::id.ne(except))
        .select(hub_orders::quantity)
        .load(conn)?;
    Ok(quantities.iter().sum())
}

/// A consignment.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = hub_consignments)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(treat_none_as_null = true)]
pub(crate) struct ConsignmentRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub order_id: i64,
    pub delivery_date: String,
    pub quantity: i64,
    pub status: String,
    pub confirmed_at: Option<NaiveDateTime>,
    pub confirmed_by_name: Option<String>,
    pub notes: Option<String>,
    pub created_at: NaiveDateTime,
    pub deemed_accepted_at: Option<NaiveDateTime>,
}

/// A reported discrepancy.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = hub_discrepancies)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct DiscrepancyRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub order_id: i64,
    pub consignment_id: i64,
    pub kind: String,
    pub serials: String,
    pub quantity: i64,
    pub status: String,
    pub created_at: NaiveDateTime,
}

/// The consignments of some orders, oldest first.
pub(crate) fn consignments_of(
    conn: &mut DbConnection,
    order_ids: &[i64],
) -> Result<Vec<ConsignmentRow>, StoreError> {
    Ok(hub_consignments::table
        .filter(hub_consignments::order_id.eq_any(order_ids))
        .order(hub_consignments::id.asc())
        .select(ConsignmentRow::as_select())
        .load(conn)?)
}

/// The discrepancies of some orders, oldest first.
pub(crate) fn discrepancies_of(
    conn: &mut DbConnection,
    order_ids: &[i64],
) -> Result<Vec<DiscrepancyRow>, StoreError> {
    Ok(hub_discrepancies::table
        .filter(hub_discrepancies::order_id.eq_any(order_ids))
        .order(hub_discrepancies::id.asc())
        .select(DiscrepancyRow::as_select())
        .load(conn)?)
}

/// Records a consignment; returns its id.
pub(crate) fn insert_consignment(
    conn: &mut DbConnection,
    row: &ConsignmentRow,
) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(hub_consignments::table)
        .values(row)
        .returning(hub_consignments::id)
        .get_result(conn)?)
}

/// Writes a consignment's confirmation.
pub(crate) fn update_consignment(
    conn: &mut DbConnection,
    row: &ConsignmentRow,
) -> Result<(), StoreError> {
    diesel::update(hub_consignments::table.find(row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

/// A dispatched hub.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = hub_serials)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct SerialRecord {
    pub serial: String,
    pub variant_id: i64,
    pub organisation_id: i64,
    pub order_id: i64,
    pub consignment_id: i64,
    pub status: String,
}

/// Which of `serials` are already known.
pub(crate) fn known_serials(
    conn: &mut DbConnection,
    serials: &[String],
) -> Result<HashSet<String>, StoreError> {
    let mut known = HashSet::new();
    for chunk in serials.chunks(CHUNK) {
        let found: Vec<String> = hub_serials::table
            .filter(hub_serials::serial.eq_any(chunk))
            .select(hub_serials::serial)
            .load(conn)?;
        known.extend(found);
    }
    Ok(known)
}

/// The records of those of `serials` that are known.
pub(crate) fn serial_records(
    conn: &mut DbConnection,
    serials: &[String],
) -> Result<HashMap<String, SerialRecord>, StoreError> {
    let mut found = HashMap::new();
    for chunk in serials.chunks(CHUNK) {
        let rows: Vec<SerialRecord> = hub_serials::table
            .filter(hub_serials::serial.eq_any(chunk))
            .select(SerialRecord::as_select())
            .load(conn)?;
        found.extend(rows.into_iter().map(|r| (r.serial.clone(), r)));
    }
    Ok(found)
}

/// Records dispatched hubs.
pub(crate) fn insert_serials(
    conn: &mut DbConnection,
    rows: &[SerialRecord],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(CHUNK) {
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(hub_serials::table)
                .values(chunk)
                .execute(c)?,
            DbConnection::Pg(c) => diesel::insert_into(hub_serials::table)
                .values(chunk)
                .execute(c)?,
        };
    }
    Ok(())
}

/// The serials of a consignment, in order.
pub(crate) fn consignment_serials(
    conn: &mut DbConnection,
    consignment_id: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    Ok(hub_serials::table
        .filter(hub_serials::consignment_id.eq(consignment_id))
        .order(hub_serials::serial.asc())
        .select((hub_serials::serial, hub_serials::status))
        .load(conn)?)
}

/// Sets the status of a consignment's hubs: `status` for those in `serials`, or for all when
/// `serials` is `None`.
pub(crate) fn set_serial_status(
    conn: &mut DbConnection,
    consignment_id: i64,
    serials: Option<&[String]>,
    status: &str,
) -> Result<(), StoreError> {
    let target = hub_serials::table.filter(hub_serials::consignment_id.eq(consignment_id));
    match serials {
        None => {
            diesel::update(target)
                .set(hub_serials::status.eq(status))
                .execute(conn)?;
        }
        Some(serials) => {
            for chunk in serials.chunks(CHUNK) {
                diesel::update(target.filter(hub_serials::serial.eq_any(chunk)))
                    .set(hub_serials::status.eq(status))
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

/// Which of `serials` were already returned.
pub(crate) fn returned_serials(
    conn: &mut DbConnection,
    serials: &[String],
) -> Result<HashSet<String>, StoreError> {
    let mut returned = HashSet::new();
    for chunk in serials.chunks(CHUNK) {
        let found: Vec<String> = hub_return_lines::table
            .filter(hub_return_lines::serial.eq_any(chunk))
            .select(hub_return_lines::serial)
            .load(conn)?;
        returned.extend(found);
    }
    Ok(returned)
}

/// The organisation that raised an incident, if it exists.
pub(crate) fn incident_organisation(
    conn: &mut DbConnection,
    incident_id: i64,
) -> Result<Option<i64>, StoreError> {
    Ok(incidents::table
        .find(incident_id)
        .select(incidents::organisation_id)
        .first(conn)
        .optional()?)
}

/// A hub return.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = hub_returns)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(treat_none_as_null = true)]
pub(crate) struct ReturnRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub reference: String,
    pub organisation_id: i64,
    pub status: String,
    pub incident_id: Option<i64>,
    pub quantity: i64,
    pub charge_pence: Option<i64>,
    pub credit_pence: Option<i64>,
    pub notes: Option<String>,
    pub requested_by_kind: String,
    pub requested_by_id: i64,
    pub requested_by_name: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// A returned hub.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = hub_return_lines)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct ReturnLineRow {
    pub serial: String,
    pub return_id: i64,
    pub reason: String,
    pub faulty: bool,
    pub found: Option<String>,
    pub fault_confirmed: Option<bool>,
    pub redeployable: Option<bool>,
    pub settlement: Option<String>,
    pub amount_pence: Option<i64>,
}

/// Records a return and its hubs, giving it its reference; returns its id.
pub(crate) fn insert_return(
    conn: &mut DbConnection,
    row: &ReturnRow,
    lines: &mut [ReturnLineRow],
) -> Result<i64, StoreError> {
    let id: i64 = diesel::insert_into(hub_returns::table)
        .values(row)
        .returning(hub_returns::id)
        .get_result(conn)?;
    diesel::update(hub_returns::table.find(id))
        .set(hub_returns::reference.eq(return_reference(id)))
        .execute(conn)?;
    for line in lines.iter_mut() {
        line.return_id = id;
    }
    for chunk in lines.chunks(CHUNK) {
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(hub_return_lines::table)
                .values(chunk)
                .execute(c)?,
            DbConnection::Pg(c) => diesel::insert_into(hub_return_lines::table)
                .values(chunk)
                .execute(c)?,
        };
    }
    Ok(id)
}

/// A return `principal` may see.
pub(crate) fn return_visible(
    conn: &mut DbConnection,
    principal: &Principal,
    id: i64,
) -> Result<ReturnRow, StoreError> {
    Ok(scoped!(
        hub_returns::table.into_boxed(),
        hub_returns::organisation_id,
        principal
    )
    .filter(hub_returns::id.eq(id))
    .select(ReturnRow::as_select())
    .first(conn)?)
}

/// One page of the returns `principal` may see, oldest first.
pub(crate) fn returns(
    conn: &mut DbConnection,
    principal: &Principal,
    organisation_id: Option<i64>,
    statuses: &[String],
    page: PageRequest,
) -> Result<Vec<ReturnRow>, StoreError> {
    let mut q = scoped!(
        hub_returns::table.into_boxed(),
        hub_returns::organisation_id,
        principal
    );
    if let Some(o) = organisation_id {
        q = q.filter(hub_returns::organisation_id.eq(o));
    }
    if !statuses.is_empty() {
        q = q.filter(hub_returns::status.eq_any(statuses.to_vec()));
    }
    if let Some(after) = page.after {
        q = q.filter(hub_returns::id.gt(after));
    }
    Ok(q.order(hub_returns::id.asc())
        .limit(page.fetch_limit())
        .select(ReturnRow::as_select())
        .load(conn)?)
}

/// Writes a return if it is still at `expected` version.
pub(crate) fn update_return(
    conn: &mut DbConnection,
    row: &ReturnRow,
    expected: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        hub_returns::table
            .filter(hub_returns::id.eq(row.id))
            .filter(hub_returns::version.eq(expected)),
    )
    .set(row)
    .execute(conn)?
        == 1)
}

/// The hubs of a return with their variants' product codes and HAN bands, by serial.
pub(crate) fn return_lines(
    conn: &mut DbConnection,
    return_id: i64,
) -> Result<Vec<(ReturnLineRow, String, String)>, StoreError> {
    Ok(hub_return_lines::table
        .inner_join(hub_serials::table.inner_join(hub_variants::table))
        .filter(hub_return_lines::return_id.eq(return_id))
        .order(hub_return_lines::serial.asc())
        .select((
            ReturnLineRow::as_select(),
            hub_variants::product_code,
            hub_variants::han_band,
        ))
        .load(conn)?)
}

/// How many hubs of each return were returned for each reason.
pub(crate) fn reason_counts(
    conn: &mut DbConnection,
    return_ids: &[i64],
) -> Result<Vec<(i64, String, i64)>, StoreError> {
    Ok(hub_return_lines::table
        .filter(hub_return_lines::return_id.eq_any(return_ids))
        .group_by((hub_return_lines::return_id, hub_return_lines::reason))
        .select((
            hub_return_lines::return_id,
            hub_return_lines::reason,
            diesel::dsl::count_star(),
        ))
        .order((hub_return_lines::return_id, hub_return_lines::reason))
        .load(conn)?)
}

/// One analysis outcome shared by many hubs of a return.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Outcome {
    pub fault_confirmed: bool,
    pub redeployable: bool,
    pub settlement: &'static str,
    pub amount_pence: i64,
}

/// Records the analysis of a return's hubs: one statement per distinct outcome and chunk.
pub(crate) fn record_outcomes(
    conn: &mut DbConnection,
    return_id: i64,
    outcomes: &HashMap<Outcome, Vec<String>>,
) -> Result<(), StoreError> {
    for (outcome, serials) in outcomes {
        for chunk in serials.chunks(CHUNK) {
            diesel::update(
                hub_return_lines::table
                    .filter(hub_return_lines::return_id.eq(return_id))
                    .filter(hub_return_lines::serial.eq_any(chunk)),
            )
            .set((
                hub_return_lines::fault_confirmed.eq(Some(outcome.fault_confirmed)),
                hub_return_lines::redeployable.eq(Some(outcome.redeployable)),
                hub_return_lines::settlement.eq(Some(outcome.settlement)),
                hub_return_lines::amount_pence.eq(Some(outcome.amount_pence)),
            ))
            .execute(conn)?;
        }
    }
    Ok(())
}

/// A location by id, whoever owns it (the caller has already seen the order naming it).
pub(crate) fn location_by_id(conn: &mut DbConnection, id: i64) -> Result<LocationRow, StoreError> {
    Ok(delivery_locations::table
        .find(id)
        .select(LocationRow::as_select())
        .first(conn)?)
}

/// The auxiliary-equipment catalogue and the items on orders. Lines are only read or written
/// for an order the caller has already been shown to see (`order_visible`).
pub(crate) mod auxiliary {
    use chrono::NaiveDateTime;
    use diesel::prelude::*;
    use dsms_store::schema::{hub_auxiliary_items, hub_order_auxiliary_lines};
    use dsms_store::{DbConnection, StoreError};

    /// A catalogue item.
    #[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
    #[diesel(table_name = hub_auxiliary_items)]
    #[diesel(treat_none_as_default_value = false)]
    #[diesel(treat_none_as_null = true)]
    pub(crate) struct ItemRow {
        #[diesel(skip_insertion)]
        pub id: i64,
        pub code: String,
        pub name: String,
        pub description: String,
        pub pack_size: i64,
        pub minimum_quantity: i64,
        pub maximum_quantity: Option<i64>,
        pub active: bool,
        pub available_from: String,
        pub available_until: Option<String>,
        pub created_at: NaiveDateTime,
        pub updated_at: NaiveDateTime,
        pub version: i64,
    }

    /// One item on an order.
    #[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
    #[diesel(table_name = hub_order_auxiliary_lines)]
    #[diesel(treat_none_as_default_value = false)]
    pub(crate) struct LineRow {
        pub order_id: i64,
        pub item_id: i64,
        pub quantity: i64,
    }

    /// Every item, by code (active only when `active_only`).
    pub(crate) fn items(
        conn: &mut DbConnection,
        active_only: bool,
    ) -> Result<Vec<ItemRow>, StoreError> {
        let mut q = hub_auxiliary_items::table.into_boxed();
        if active_only {
            q = q.filter(hub_auxiliary_items::active.eq(true));
        }
        Ok(q.order(hub_auxiliary_items::code.asc())
            .select(ItemRow::as_select())
            .load(conn)?)
    }

    /// One item by id.
    pub(crate) fn item(conn: &mut DbConnection, id: i64) -> Result<ItemRow, StoreError> {
        Ok(hub_auxiliary_items::table
            .find(id)
            .select(ItemRow::as_select())
            .first(conn)?)
    }

    /// One item by its code (stored upper-case), if any.
    pub(crate) fn item_by_code(
        conn: &mut DbConnection,
        code: &str,
    ) -> Result<Option<ItemRow>, StoreError> {
        Ok(hub_auxiliary_items::table
            .filter(hub_auxiliary_items::code.eq(code))
            .select(ItemRow::as_select())
            .first(conn)
            .optional()?)
    }

    /// Records an item; returns its id.
    pub(crate) fn insert_item(conn: &mut DbConnection, row: &ItemRow) -> Result<i64, StoreError> {
        Ok(diesel::insert_into(hub_auxiliary_items::table)
            .values(row)
            .returning(hub_auxiliary_items::id)
            .get_result(conn)?)
    }

    /// Writes an item if it is still at `expected` version.
    pub(crate) fn update_item(
        conn: &mut DbConnection,
        row: &ItemRow,
        expected: i64,
    ) -> Result<bool, StoreError> {
        Ok(diesel::update(
            hub_auxiliary_items::table
                .filter(hub_auxiliary_items::id.eq(row.id))
                .filter(hub_auxiliary_items::version.eq(expected)),
        )
        .set(row)
        .execute(conn)?
            == 1)
    }

    /// The items on an order, with each item's row, by code.
    pub(crate) fn lines_of(
        conn: &mut DbConnection,
        order_id: i64,
    ) -> Result<Vec<(LineRow, ItemRow)>, StoreError> {
        Ok(hub_order_auxiliary_lines::table
            .inner_join(hub_auxiliary_items::table)
            .filter(hub_order_auxiliary_lines::order_id.eq(order_id))
            .order(hub_auxiliary_items::code.asc())
            .select((LineRow::as_select(), ItemRow::as_select()))
            .load(conn)?)
    }

    /// Replaces the items on an order with `lines`.
    pub(crate) fn replace_lines(
        conn: &mut DbConnection,
        order_id: i64,
        lines: &[LineRow],
    ) -> Result<(), StoreError> {
        diesel::delete(
            hub_order_auxiliary_lines::table
                .filter(hub_order_auxiliary_lines::order_id.eq(order_id)),
        )
        .execute(conn)?;
        if !lines.is_empty() {
            match conn {
                DbConnection::Sqlite(c) => diesel::insert_into(hub_order_auxiliary_lines::table)
                    .values(lines)
                    .execute(c)?,
                DbConnection::Pg(c) => diesel::insert_into(hub_order_auxiliary_lines::table)
                    .values(lines)
                    .execute(c)?,
            };
        }
        Ok(())
    }
}
