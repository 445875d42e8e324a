//! The SQL of hub delivery: planned consignments, the confirmation sweep's once-only write and
//! discrepancy cases. Cases are read through `scoped!` on their organisation.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use dsms_core::{PageRequest, Principal};
use dsms_store::schema::{hub_consignments, hub_discrepancies, hub_planned_consignments};
use dsms_store::{DbConnection, StoreError, scoped};

use crate::store::ConsignmentRow;

/// A consignment planned but not yet dispatched.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = hub_planned_consignments)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct PlannedRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub order_id: i64,
    pub delivery_date: String,
    pub quantity: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// An order's planned consignments, by delivery date.
pub(crate) fn planned_of(
    conn: &mut DbConnection,
    order_id: i64,
) -> Result<Vec<PlannedRow>, StoreError> {
    Ok(hub_planned_consignments::table
        .filter(hub_planned_consignments::order_id.eq(order_id))
        .order((
            hub_planned_consignments::delivery_date.asc(),
            hub_planned_consignments::id.asc(),
        ))
        .select(PlannedRow::as_select())
        .load(conn)?)
}

/// Records a planned consignment.
pub(crate) fn insert_planned(conn: &mut DbConnection, row: &PlannedRow) -> Result<(), StoreError> {
    diesel::insert_into(hub_planned_consignments::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Writes a planned consignment's date and quantity.
pub(crate) fn update_planned(conn: &mut DbConnection, row: &PlannedRow) -> Result<(), StoreError> {
    diesel::update(hub_planned_consignments::table.find(row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

/// Removes planned consignments.
pub(crate) fn delete_planned(conn: &mut DbConnection, ids: &[i64]) -> Result<(), StoreError> {
    diesel::delete(
        hub_planned_consignments::table.filter(hub_planned_consignments::id.eq_any(ids)),
    )
    .execute(conn)?;
    Ok(())
}

/// Dispatched consignments delivered on or before `day` (ISO), after id `after`, oldest first.
pub(crate) fn awaiting_confirmation(
    conn: &mut DbConnection,
    day: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<ConsignmentRow>, StoreError> {
    Ok(hub_consignments::table
        .filter(hub_consignments::status.eq("dispatched"))
        .filter(hub_consignments::delivery_date.le(day))
        .filter(hub_consignments::id.gt(after))
        .order(hub_consignments::id.asc())
        .limit(limit)
        .select(ConsignmentRow::as_select())
        .load(conn)?)
}

/// Marks a consignment deemed accepted if it still awaits confirmation; false when another
/// instance (or the receiver) got there first, so the acceptance happens once.
pub(crate) fn deem_accepted(
    conn: &mut DbConnection,
    id: i64,
    stamp: NaiveDateTime,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        hub_consignments::table
            .filter(hub_consignments::id.eq(id))
            .filter(hub_consignments::status.eq("dispatched")),
    )
    .set((
        hub_consignments::status.eq("delivered"),
        hub_consignments::deemed_accepted_at.eq(Some(stamp)),
    ))
    .execute(conn)?
        == 1)
}

/// A discrepancy case.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = hub_discrepancies)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(treat_none_as_null = true)]
pub(crate) struct CaseRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub order_id: i64,
    pub consignment_id: i64,
    pub kind: String,
    pub serials: String,
    pub quantity: i64,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub outcome: Option<String>,
    pub settlement_note: Option<String>,
    pub settled_at: Option<NaiveDateTime>,
    pub settled_by_name: Option<String>,
    pub organisation_id: Option<i64>,
    pub updated_at: Option<NaiveDateTime>,
    pub version: i64,
}

/// The case of `kind` on an order still being worked (open or investigating), if any.
pub(crate) fn live_case(
    conn: &mut DbConnection,
    order_id: i64,
    kind: &str,
) -> Result<Option<CaseRow>, StoreError> {
    Ok(hub_discrepancies::table
        .filter(hub_discrepancies::order_id.eq(order_id))
        .filter(hub_discrepancies::kind.eq(kind))
        .filter(hub_discrepancies::status.eq_any(["open", "investigating"]))
        .order(hub_discrepancies::id.asc())
        .select(CaseRow::as_select())
        .first(conn)
        .optional()?)
}

/// Opens a case; returns its id.
pub(crate) fn insert_case(conn: &mut DbConnection, row: &CaseRow) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(hub_discrepancies::table)
        .values(row)
        .returning(hub_discrepancies::id)
        .get_result(conn)?)
}

/// Writes a case if it is still at `expected` version.
pub(crate) fn update_case(
    conn: &mut DbConnection,
    row: &CaseRow,
    expected: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        hub_discrepancies::table
            .filter(hub_discrepancies::id.eq(row.id))
            .filter(hub_discrepancies::version.eq(expected)),
    )
    .set(row)
    .execute(conn)?
        == 1)
}

/// A case `principal` may see.
pub(crate) fn case_visible(
    conn: &mut DbConnection,
    principal: &Principal,
    id: i64,
) -> Result<CaseRow, StoreError> {
    Ok(scoped!(
        hub_discrepancies::table.into_boxed(),
        hub_discrepancies::organisation_id,
        principal
    )
    .filter(hub_discrepancies::id.eq(id))
    .select(CaseRow::as_select())
    .first(conn)?)
}

/// One page of the cases `principal` may see, oldest first, optionally of some statuses, one
/// organisation or one order.
pub(crate) fn cases(
    conn: &mut DbConnection,
    principal: &Principal,
    statuses: &[String],
    organisation_id: Option<i64>,
    order_id: Option<i64>,
    page: PageRequest,
) -> Result<Vec<CaseRow>, StoreError> {
    let mut q = scoped!(
        hub_discrepancies::table.into_boxed(),
        hub_discrepancies::organisation_id,
        principal
    );
    if !statuses.is_empty() {
        q = q.filter(hub_discrepancies::status.eq_any(statuses.to_vec()));
    }
    if let Some(o) = organisation_id {
        q = q.filter(hub_discrepancies::organisation_id.eq(o));
    }
    if let Some(o) = order_id {
        q = q.filter(hub_discrepancies::order_id.eq(o));
    }
    if let Some(after) = page.after {
        q = q.filter(hub_discrepancies::id.gt(after));
    }
    Ok(q.order(hub_discrepancies::id.asc())
        .limit(page.fetch_limit())
        .select(CaseRow::as_select())
        .load(conn)?)
}
