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

/// Renders a created record as its response body and `Location`.
pub type Render<T> = Box<dyn FnOnce(&T) -> (String, String) + Send>;

/// An `Idempotency-Key` sent with a create, and how to render the response kept for it.
pub struct Idempotent<T> {
    /// The caller and route the key belongs to.
    pub scope: String,
    /// The key.
    pub key: String,
    /// A digest of the request body.
    pub request_digest: String,
    /// Renders what was created, inside the transaction that creates it.
    pub render: Render<T>,
}

impl<T> std::fmt::Debug for Idempotent<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idempotent")
            .field("scope", &self.scope)
            .field("key", &self.key)
            .finish()
    }
}

/// What a keyed create finds before it does anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prior {
    /// The key is new: go ahead.
    None,
    /// The same request came before: answer with its response.
    Replay(Recorded),
    /// The key came before with another request.
    Mismatch,
}

/// What a create answered: something new, or the response kept for a retried key.
#[derive(Debug, Clone)]
pub enum Created<T> {
    /// Created now.
    New(T),
    /// A retry: the first response.
    Replayed(Recorded),
}

impl<T> Idempotent<T> {
    /// Looks for the response kept for this key.
    pub fn prior(&self, conn: &mut DbConnection) -> Result<Prior, StoreError> {
        Ok(match recorded(conn, &self.scope, &self.key)? {
            None => Prior::None,
            Some(kept) if kept.request_digest == self.request_digest => Prior::Replay(kept),
            Some(_) => Prior::Mismatch,
        })
    }

    /// Keeps the response for `created`, in the transaction that created it.
    pub fn keep(
        self,
        conn: &mut DbConnection,
        now: DateTime<Utc>,
        created: &T,
    ) -> Result<(), StoreError> {
        let (body, location) = (self.render)(created);
        record(
            conn,
            now,
            &self.scope,
            &self.key,
            &Recorded {
                request_digest: self.request_digest,
                status: 201,
                location: Some(location),
                body,
            },
        )
    }
}
