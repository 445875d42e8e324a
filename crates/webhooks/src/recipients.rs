//! The SQL of notifications: who may be emailed, and who wrote a comment. Only people who are
//! active, in an organisation that is active, are ever returned as recipients.

use diesel::prelude::*;
use dsms_store::schema::{incident_comments, organisations, people, person_roles};
use dsms_store::{DbConnection, StoreError};

const ACTIVE: &str = "active";

/// A person who may be emailed.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub(crate) struct Recipient {
    pub id: i64,
    pub name: String,
    pub email: String,
}

/// Those of `ids` who are active people of active organisations, by id.
pub(crate) fn reachable(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<Recipient>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(people::table
        .inner_join(organisations::table)
        .filter(people::id.eq_any(ids))
        .filter(people::status.eq(ACTIVE))
        .filter(organisations::status.eq(ACTIVE))
        .order(people::id.asc())
        .select((people::id, people::name, people::email))
        .load(conn)?)
}

/// The ids of the active people of active organisations holding `role`.
pub(crate) fn holding_role(conn: &mut DbConnection, role: &str) -> Result<Vec<i64>, StoreError> {
    Ok(people::table
        .inner_join(organisations::table)
        .inner_join(person_roles::table)
        .filter(person_roles::role.eq(role))
        .filter(people::status.eq(ACTIVE))
        .filter(organisations::status.eq(ACTIVE))
        .order(people::id.asc())
        .select(people::id)
        .load(conn)?)
}

/// A comment as stored: the event names its author only for display.
#[derive(Debug, Clone, Queryable)]
pub(crate) struct StoredComment {
    pub incident_id: i64,
    pub author_kind: String,
    pub author_id: i64,
    pub author_name: String,
    pub body: String,
    pub internal: bool,
}

/// Comment `id`, if it exists.
pub(crate) fn comment(
    conn: &mut DbConnection,
    id: i64,
) -> Result<Option<StoredComment>, StoreError> {
    Ok(incident_comments::table
        .find(id)
        .select((
            incident_comments::incident_id,
            incident_comments::author_kind,
            incident_comments::author_id,
            incident_comments::author_name,
            incident_comments::body,
            incident_comments::internal,
        ))
        .first(conn)
        .optional()?)
}
