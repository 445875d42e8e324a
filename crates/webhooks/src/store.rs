//! The SQL of webhooks: endpoints, delivery attempts, and the organisation admins to tell when
//! an endpoint is disabled. Every read a caller asks for goes through `scoped!`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use dsms_core::{PageRequest, Principal};
use dsms_store::schema::{people, person_roles, webhook_deliveries, webhook_endpoints};
use dsms_store::{DbConnection, StoreError, scoped};

/// An endpoint as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints)]
pub(crate) struct EndpointRow {
    pub id: i64,
    pub organisation_id: i64,
    pub url: String,
    pub description: String,
    pub events: String,
    pub secret_sealed: String,
    pub status: String,
    pub disabled_reason: Option<String>,
    pub consecutive_failures: i32,
    pub first_failure_at: Option<NaiveDateTime>,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

#[derive(Insertable)]
#[diesel(table_name = webhook_endpoints)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct NewEndpointRow<'a> {
    pub organisation_id: i64,
    pub url: &'a str,
    pub description: &'a str,
    pub events: &'a str,
    pub secret_sealed: &'a str,
    pub status: &'a str,
    pub consecutive_failures: i32,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// What a person may change about an endpoint; the failure counters are the workers' and are
/// never overwritten from a stale read.
#[derive(AsChangeset)]
#[diesel(table_name = webhook_endpoints, treat_none_as_null = true)]
pub(crate) struct EndpointEdit<'a> {
    pub url: &'a str,
    pub description: &'a str,
    pub events: &'a str,
    pub status: &'a str,
    pub disabled_reason: Option<&'a str>,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// One delivery attempt as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub(crate) struct DeliveryRow {
    pub id: i64,
    pub endpoint_id: i64,
    pub outbox_id: i64,
    pub event_type: String,
    pub event_id: i64,
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub delivered: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = webhook_deliveries)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct NewDeliveryRow<'a> {
    pub endpoint_id: i64,
    pub outbox_id: i64,
    pub event_type: &'a str,
    pub event_id: i64,
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub error: Option<&'a str>,
    pub duration_ms: i64,
    pub delivered: bool,
    pub created_at: NaiveDateTime,
}

pub(crate) const ACTIVE: &str = "active";
pub(crate) const DISABLED: &str = "disabled";
pub(crate) const DELETED: &str = "deleted";

pub(crate) fn insert_endpoint(
    conn: &mut DbConnection,
    row: &NewEndpointRow<'_>,
) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(webhook_endpoints::table)
        .values(row)
        .returning(webhook_endpoints::id)
        .get_result(conn)?)
}

/// Stores a sealed secret; it is sealed for the row's id, so it is written once the id exists.
pub(crate) fn set_secret(conn: &mut DbConnection, id: i64, sealed: &str) -> Result<(), StoreError> {
    diesel::update(webhook_endpoints::table.find(id))
        .set(webhook_endpoints::secret_sealed.eq(sealed))
        .execute(conn)?;
    Ok(())
}

/// An endpoint `principal` may see; deleted endpoints are gone for everyone.
pub(crate) fn visible_endpoint(
    conn: &mut DbConnection,
    principal: &Principal,
    id: i64,
) -> Result<EndpointRow, StoreError> {
    Ok(scoped!(
        webhook_endpoints::table.into_boxed(),
        webhook_endpoints::organisation_id,
        principal
    )
    .filter(webhook_endpoints::id.eq(id))
    .filter(webhook_endpoints::status.ne(DELETED))
    .select(EndpointRow::as_select())
    .first(conn)?)
}

/// One page of the endpoints `principal` may see, oldest first.
pub(crate) fn endpoints_page(
    conn: &mut DbConnection,
    principal: &Principal,
    page: PageRequest,
) -> Result<Vec<EndpointRow>, StoreError> {
    let mut query = scoped!(
        webhook_endpoints::table.into_boxed(),
        webhook_endpoints::organisation_id,
        principal
    )
    .filter(webhook_endpoints::status.ne(DELETED));
    if let Some(after) = page.after {
        query = query.filter(webhook_endpoints::id.gt(after));
    }
    Ok(query
        .order(webhook_endpoints::id.asc())
        .limit(page.fetch_limit())
        .select(EndpointRow::as_select())
        .load(conn)?)
}

/// How many endpoints (active or disabled) an organisation has.
pub(crate) fn live_endpoint_count(
    conn: &mut DbConnection,
    organisation_id: i64,
) -> Result<i64, StoreError> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::organisation_id.eq(organisation_id))
        .filter(webhook_endpoints::status.ne(DELETED))
        .count()
        .get_result(conn)?)
}

/// Applies `edit` if the row is still at `version`; false when someone else changed it first.
pub(crate) fn edit_endpoint(
    conn: &mut DbConnection,
    id: i64,
    version: i64,
    edit: &EndpointEdit<'_>,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        webhook_endpoints::table
            .filter(webhook_endpoints::id.eq(id))
            .filter(webhook_endpoints::version.eq(version)),
    )
    .set(edit)
    .execute(conn)?;
    Ok(updated == 1)
}

/// Forgets an endpoint's failure streak (a success, or a person re-enabling it).
pub(crate) fn reset_failures(conn: &mut DbConnection, id: i64) -> Result<(), StoreError> {
    diesel::update(
        webhook_endpoints::table
            .filter(webhook_endpoints::id.eq(id))
            .filter(
                webhook_endpoints::consecutive_failures
                    .ne(0)
                    .or(webhook_endpoints::first_failure_at.is_not_null()),
            ),
    )
    .set((
        webhook_endpoints::consecutive_failures.eq(0),
        webhook_endpoints::first_failure_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Counts one more failure in a row (atomically, as several workers may record at once) and
/// returns the endpoint as it now stands.
pub(crate) fn count_failure(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
) -> Result<EndpointRow, StoreError> {
    diesel::update(webhook_endpoints::table.find(id))
        .set(
            webhook_endpoints::consecutive_failures.eq(webhook_endpoints::consecutive_failures + 1),
        )
        .execute(conn)?;
    diesel::update(
        webhook_endpoints::table
            .filter(webhook_endpoints::id.eq(id))
            .filter(webhook_endpoints::first_failure_at.is_null()),
    )
    .set(webhook_endpoints::first_failure_at.eq(now))
    .execute(conn)?;
    endpoint(conn, id)
}

/// Disables an active endpoint; false when it was no longer active (another worker, or a
/// person, got there first), so only one caller audits and emails.
pub(crate) fn disable_active(
    conn: &mut DbConnection,
    id: i64,
    reason: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        webhook_endpoints::table
            .filter(webhook_endpoints::id.eq(id))
            .filter(webhook_endpoints::status.eq(ACTIVE)),
    )
    .set((
        webhook_endpoints::status.eq(DISABLED),
        webhook_endpoints::disabled_reason.eq(reason),
        webhook_endpoints::updated_at.eq(now),
        webhook_endpoints::version.eq(webhook_endpoints::version + 1),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Marks an endpoint deleted and wipes its secret.
pub(crate) fn delete_endpoint(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(webhook_endpoints::table.find(id))
        .set((
            webhook_endpoints::status.eq(DELETED),
            webhook_endpoints::secret_sealed.eq(""),
            webhook_endpoints::updated_at.eq(now),
            webhook_endpoints::version.eq(webhook_endpoints::version + 1),
        ))
        .execute(conn)?;
    Ok(())
}

/// Replaces an endpoint's secret.
pub(crate) fn rotate_secret(
    conn: &mut DbConnection,
    id: i64,
    sealed: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(webhook_endpoints::table.find(id))
        .set((
            webhook_endpoints::secret_sealed.eq(sealed),
            webhook_endpoints::updated_at.eq(now),
            webhook_endpoints::version.eq(webhook_endpoints::version + 1),
        ))
        .execute(conn)?;
    Ok(())
}

/// One endpoint by id, whoever owns it: for the workers, which act for the system.
pub(crate) fn endpoint(conn: &mut DbConnection, id: i64) -> Result<EndpointRow, StoreError> {
    Ok(webhook_endpoints::table
        .find(id)
        .select(EndpointRow::as_select())
        .first(conn)?)
}

/// The endpoints of a batch of deliveries, whoever owns them.
pub(crate) fn endpoints(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<EndpointRow>, StoreError> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::id.eq_any(ids))
        .select(EndpointRow::as_select())
        .load(conn)?)
}

/// The active endpoints of an organisation, with the events each subscribes to.
pub(crate) fn active_subscriptions(
    conn: &mut DbConnection,
    organisation_id: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::organisation_id.eq(organisation_id))
        .filter(webhook_endpoints::status.eq(ACTIVE))
        .order(webhook_endpoints::id.asc())
        .select((webhook_endpoints::id, webhook_endpoints::events))
        .load(conn)?)
}

pub(crate) fn insert_delivery(
    conn: &mut DbConnection,
    row: &NewDeliveryRow<'_>,
) -> Result<(), StoreError> {
    diesel::insert_into(webhook_deliveries::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// One page of an endpoint's delivery attempts, newest first.
pub(crate) fn deliveries_page(
    conn: &mut DbConnection,
    endpoint_id: i64,
    page: PageRequest,
) -> Result<Vec<DeliveryRow>, StoreError> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(webhook_deliveries::id.lt(after));
    }
    Ok(query
        .order(webhook_deliveries::id.desc())
        .limit(page.fetch_limit())
        .select(DeliveryRow::as_select())
        .load(conn)?)
}

/// The email addresses of an organisation's active administrators.
pub(crate) fn organisation_admin_emails(
    conn: &mut DbConnection,
    organisation_id: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(people::table
        .inner_join(person_roles::table)
        .filter(people::organisation_id.eq(organisation_id))
        .filter(people::status.eq("active"))
        .filter(person_roles::role.eq(dsms_core::Role::OrgAdmin.as_str()))
        .order(people::id.asc())
        .select(people::email)
        .load(conn)?)
}

/// True when the organisation exists.
pub(crate) fn organisation_exists(
    conn: &mut DbConnection,
    organisation_id: i64,
) -> Result<bool, StoreError> {
    use dsms_store::schema::organisations;
    Ok(diesel::select(diesel::dsl::exists(
        organisations::table.filter(organisations::id.eq(organisation_id)),
    ))
    .get_result(conn)?)
}
