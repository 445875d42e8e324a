//! The SQL of the request SLA sweep: which requests still run a clock, and the once-only record
//! of each at-risk and breach event.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use dsms_store::schema::{service_request_sla_events as events, service_requests};
use dsms_store::{DbConnection, StoreError};

use crate::store::RequestRow;

/// Requests whose clock still runs (neither fulfilled nor closed) and that have not had their
/// breach event, with ids above `after`, lowest first: one page of the sweep's walk.
pub(crate) fn running_after(
    conn: &mut DbConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<RequestRow>, StoreError> {
    let breached = events::table
        .filter(events::request_id.eq(service_requests::id))
        .filter(events::kind.eq("breached"));
    Ok(service_requests::table
        .filter(service_requests::id.gt(after))
        .filter(service_requests::fulfilled_at.is_null())
        .filter(service_requests::closed_at.is_null())
        .filter(diesel::dsl::not(diesel::dsl::exists(breached)))
        .order(service_requests::id.asc())
        .limit(limit)
        .select(RequestRow::as_select())
        .load(conn)?)
}

/// Whether an event of `kind` on `clock` has been recorded for each of `ids`, as
/// `(request_id, kind)` pairs.
pub(crate) fn fired(
    conn: &mut DbConnection,
    ids: &[i64],
    clock: &str,
) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(events::table
        .filter(events::request_id.eq_any(ids))
        .filter(events::clock.eq(clock))
        .select((events::request_id, events::kind))
        .load(conn)?)
}

/// Records an SLA event; `false` when it was already recorded (by this or another instance).
pub(crate) fn record(
    conn: &mut DbConnection,
    request_id: i64,
    clock: &str,
    kind: &str,
    at: NaiveDateTime,
) -> Result<bool, StoreError> {
    // A savepoint, so a duplicate on PostgreSQL leaves the surrounding transaction usable.
    let inserted = conn.transaction(|c| {
        diesel::insert_into(events::table)
            .values((
                events::request_id.eq(request_id),
                events::clock.eq(clock),
                events::kind.eq(kind),
                events::fired_at.eq(at),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
