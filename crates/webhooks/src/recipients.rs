//! The SQL of notifications: who may be emailed, and who wrote a comment. Only people who are
//! active, in an organisation that is active, are ever returned as recipients.

use diesel::prelude::*;
use dsms_store::schema::{
    audit_log, incident_comments, organisations, people, person_roles, service_request_approvals,
    service_request_comments,
};
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

/// The ids of the active people of `organisation_id`, if it is active, holding `role`.
pub(crate) fn holding_role_in(
    conn: &mut DbConnection,
    role: &str,
    organisation_id: i64,
) -> Result<Vec<i64>, StoreError> {
    Ok(people::table
        .inner_join(organisations::table)
        .inner_join(person_roles::table)
        .filter(people::organisation_id.eq(organisation_id))
        .filter(person_roles::role.eq(role))
        .filter(people::status.eq(ACTIVE))
        .filter(organisations::status.eq(ACTIVE))
        .order(people::id.asc())
        .select(people::id)
        .load(conn)?)
}

/// The ids of the active people of active organisations of `kind` (`operator`, …) holding any
/// of `roles`, each once.
pub(crate) fn holding_any_role_of_kind(
    conn: &mut DbConnection,
    roles: &[&str],
    kind: &str,
) -> Result<Vec<i64>, StoreError> {
    Ok(people::table
        .inner_join(organisations::table)
        .inner_join(person_roles::table)
        .filter(organisations::kind.eq(kind))
        .filter(person_roles::role.eq_any(roles))
        .filter(people::status.eq(ACTIVE))
        .filter(organisations::status.eq(ACTIVE))
        .order(people::id.asc())
        .select(people::id)
        .distinct()
        .load(conn)?)
}

/// The kind of the organisation person `id` belongs to (`operator`, …), if they exist.
pub(crate) fn organisation_kind_of(
    conn: &mut DbConnection,
    id: i64,
) -> Result<Option<String>, StoreError> {
    Ok(people::table
        .inner_join(organisations::table)
        .filter(people::id.eq(id))
        .select(organisations::kind)
        .first(conn)
        .optional()?)
}

/// A request's comment as stored: the event names its author only for display.
#[derive(Debug, Clone, Queryable)]
pub(crate) struct StoredRequestComment {
    pub request_id: i64,
    pub author_kind: String,
    pub author_id: i64,
    pub author_name: String,
    pub body: String,
    pub internal: bool,
}

/// Request comment `id`, if it exists.
pub(crate) fn request_comment(
    conn: &mut DbConnection,
    id: i64,
) -> Result<Option<StoredRequestComment>, StoreError> {
    Ok(service_request_comments::table
        .find(id)
        .select((
            service_request_comments::request_id,
            service_request_comments::author_kind,
            service_request_comments::author_id,
            service_request_comments::author_name,
            service_request_comments::body,
            service_request_comments::internal,
        ))
        .first(conn)
        .optional()?)
}

/// The first approval step of request `id` still pending, if one is: its number and who
/// decides it.
pub(crate) fn pending_approval(
    conn: &mut DbConnection,
    request_id: i64,
) -> Result<Option<(i32, String)>, StoreError> {
    Ok(service_request_approvals::table
        .filter(service_request_approvals::request_id.eq(request_id))
        .filter(service_request_approvals::status.eq("pending"))
        .order(service_request_approvals::step.asc())
        .select((
            service_request_approvals::step,
            service_request_approvals::approver,
        ))
        .first(conn)
        .optional()?)
}

/// The actor (kind, identifier) of the latest audited change to an entity, if any.
pub(crate) fn last_actor(
    conn: &mut DbConnection,
    entity_type: &str,
    entity_id: i64,
) -> Result<Option<(String, String)>, StoreError> {
    Ok(audit_log::table
        .filter(audit_log::entity_type.eq(entity_type))
        .filter(audit_log::entity_id.eq(entity_id.to_string()))
        .order(audit_log::id.desc())
        .select((audit_log::actor_kind, audit_log::actor_id))
        .first(conn)
        .optional()?)
}

/// The reason given for rejecting request `id`: the comment of its rejected approval step.
pub(crate) fn rejection_reason(
    conn: &mut DbConnection,
    request_id: i64,
) -> Result<Option<String>, StoreError> {
    Ok(service_request_approvals::table
        .filter(service_request_approvals::request_id.eq(request_id))
        .filter(service_request_approvals::status.eq("rejected"))
        .order(service_request_approvals::step.desc())
        .select(service_request_approvals::comment)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}
