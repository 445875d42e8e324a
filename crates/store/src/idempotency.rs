//! Idempotent creates: the first response to a request carrying an `Idempotency-Key` is kept,
//! written in the same transaction as what it created, so a retry gets the same answer and
//! never creates twice.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::idempotency_keys;
use crate::timestamp;

/// A response kept for its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
pub struct Recorded {
    /// A digest of the request that produced it; a retry with another body is refused.
    pub request_digest: String,
    /// The HTTP status.
    pub status: i32,
    /// The `Location` header, for creates.
    pub location: Option<String>,
    /// The response body.
    pub body: String,
}

/// The response kept for `key` in `scope` (the caller and the route), if any.
pub fn recorded(
    conn: &mut DbConnection,
    scope: &str,
    key: &str,
) -> Result<Option<Recorded>, StoreError> {
    Ok(idempotency_keys::table
        .find((scope, key))
        .select(Recorded::as_select())
        .first(conn)
        .optional()?)
}

/// Keeps `response` for `key` in `scope`. Fails with a conflict when a concurrent request with
/// the same key got there first; its transaction then rolls back and the retry finds the kept
/// response.
pub fn record(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    scope: &str,
    key: &str,
    response: &Recorded,
) -> Result<(), StoreError> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::scope.eq(scope),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_digest.eq(&response.request_digest),
            idempotency_keys::status.eq(response.status),
            idempotency_keys::location.eq(&response.location),
            idempotency_keys::body.eq(&response.body),
            idempotency_keys::created_at.eq(timestamp(now)),
        ))
        .execute(conn)?;
    Ok(())
}
