//! The SQL of the request-fulfilment report: service requests raised or fulfilled in a period,
//! their catalogue items and form versions, and the organisation administrators' approval
//! steps that pause their clocks. Scoped to the organisations the caller may see.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use dsms_core::Principal;
use dsms_store::schema::{
    catalogue_item_versions, catalogue_items, service_request_approvals, service_requests,
};
use dsms_store::{DbConnection, StoreError, scoped};

/// Bound values per `IN` list, well under either database's limit.
const CHUNK: usize = 1_000;

/// A service request as the report reads it.
#[derive(Debug, Clone, Queryable)]
pub(crate) struct RequestRow {
    pub id: i64,
    pub organisation_id: i64,
    pub item_id: i64,
    pub item_version_id: i64,
    pub created_at: NaiveDateTime,
    pub fulfilled_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
}

/// Requests raised, or fulfilled, in `[from, until)`, of the organisations the caller may see
/// (and only `organisation` when given).
pub(crate) fn requests_in(
    conn: &mut DbConnection,
    principal: &Principal,
    organisation: Option<i64>,
    from: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<Vec<RequestRow>, StoreError> {
    let mut query = scoped!(
        service_requests::table.into_boxed(),
        service_requests::organisation_id,
        principal
    );
    if let Some(organisation) = organisation {
        query = query.filter(service_requests::organisation_id.eq(organisation));
    }
    Ok(query
        .filter(
            service_requests::created_at
                .ge(from)
                .and(service_requests::created_at.lt(until))
                .or(service_requests::fulfilled_at
                    .ge(from)
                    .and(service_requests::fulfilled_at.lt(until))),
        )
        .order(service_requests::id)
        .select((
            service_requests::id,
            service_requests::organisation_id,
            service_requests::item_id,
            service_requests::item_version_id,
            service_requests::created_at,
            service_requests::fulfilled_at,
            service_requests::closed_at,
        ))
        .load(conn)?)
}

/// The codes of catalogue items `ids`.
pub(crate) fn item_codes(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<(i64, String)>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        out.extend(
            catalogue_items::table
                .filter(catalogue_items::id.eq_any(chunk))
                .select((catalogue_items::id, catalogue_items::code))
                .load::<(i64, String)>(conn)?,
        );
    }
    Ok(out)
}

/// The definitions (JSON) of form versions `ids`.
pub(crate) fn definitions(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<(i64, String)>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        out.extend(
            catalogue_item_versions::table
                .filter(catalogue_item_versions::id.eq_any(chunk))
                .select((
                    catalogue_item_versions::id,
                    catalogue_item_versions::definition,
                ))
                .load::<(i64, String)>(conn)?,
        );
    }
    Ok(out)
}

/// The organisation administrators' approval steps of requests `ids`: when each was decided.
pub(crate) fn admin_approvals(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<(i64, Option<NaiveDateTime>)>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        out.extend(
            service_request_approvals::table
                .filter(service_request_approvals::request_id.eq_any(chunk))
                .filter(service_request_approvals::approver.eq("organisation_admin"))
                .select((
                    service_request_approvals::request_id,
                    service_request_approvals::decided_at,
                ))
                .load::<(i64, Option<NaiveDateTime>)>(conn)?,
        );
    }
    Ok(out)
}
