//! The SQL of the catalogue and service requests, in one place.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use dsms_core::{PageRequest, Principal};
use dsms_store::schema::{
    catalogue_item_versions, catalogue_items, organisation_sec_roles, organisations,
    service_request_approvals, service_request_comments, service_request_tasks, service_requests,
};
use dsms_store::{DbConnection, StoreError, scoped};

/// A catalogue item's row.
#[derive(Debug, Clone, Queryable, Selectable, AsChangeset)]
#[diesel(table_name = catalogue_items)]
#[diesel(treat_none_as_null = true)]
pub(crate) struct ItemRow {
    pub id: i64,
    pub code: String,
    pub active: bool,
    pub current_version_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// One form version's row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = catalogue_item_versions)]
pub(crate) struct VersionRow {
    pub id: i64,
    pub number: i32,
    pub definition: String,
    pub created_by_name: String,
    pub created_at: NaiveDateTime,
}

/// A request's row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = service_requests)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(treat_none_as_null = true)]
pub(crate) struct RequestRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub reference: String,
    pub organisation_id: i64,
    pub item_id: i64,
    pub item_version_id: i64,
    pub raised_by_kind: String,
    pub raised_by_id: i64,
    pub raised_by_name: String,
    pub channel: String,
    pub summary: String,
    pub contact: Option<String>,
    pub answers: String,
    pub status: String,
    pub fulfilled_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// An approval step's row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = service_request_approvals)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(treat_none_as_null = true)]
pub(crate) struct ApprovalRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub request_id: i64,
    pub step: i32,
    pub approver: String,
    pub status: String,
    pub decided_by_kind: Option<String>,
    pub decided_by_id: Option<i64>,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub comment: Option<String>,
}

/// A fulfilment task's row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = service_request_tasks)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(treat_none_as_null = true)]
pub(crate) struct TaskRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub request_id: i64,
    pub position: i32,
    pub name: String,
    pub resolver_group: String,
    pub status: String,
    pub completed_by_id: Option<i64>,
    pub completed_by_name: Option<String>,
    pub completed_at: Option<NaiveDateTime>,
    pub notes: Option<String>,
}

/// A comment's row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = service_request_comments)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct CommentRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub request_id: i64,
    pub author_kind: String,
    pub author_id: i64,
    pub author_name: String,
    pub body: String,
    pub internal: bool,
    pub created_at: NaiveDateTime,
}

// ------------------------------------------------------------------------------------------
// The catalogue

/// Every catalogue item with its form version in force, by code; inactive ones only when
/// `with_inactive`.
pub(crate) fn items(
    conn: &mut DbConnection,
    with_inactive: bool,
) -> Result<Vec<(ItemRow, VersionRow)>, StoreError> {
    let mut query = catalogue_items::table
        .inner_join(
            catalogue_item_versions::table
                .on(catalogue_items::current_version_id.eq(catalogue_item_versions::id.nullable())),
        )
        .into_boxed();
    if !with_inactive {
        query = query.filter(catalogue_items::active.eq(true));
    }
    Ok(query
        .order(catalogue_items::code.asc())
        .select((ItemRow::as_select(), VersionRow::as_select()))
        .load(conn)?)
}

/// One catalogue item by id or code, with its form version in force.
pub(crate) fn item(
    conn: &mut DbConnection,
    id: Option<i64>,
    code: &str,
) -> Result<(ItemRow, VersionRow), StoreError> {
    let query = catalogue_items::table
        .inner_join(
            catalogue_item_versions::table
                .on(catalogue_items::current_version_id.eq(catalogue_item_versions::id.nullable())),
        )
        .into_boxed();
    let query = match id {
        Some(id) => query.filter(catalogue_items::id.eq(id)),
        None => query.filter(catalogue_items::code.eq(code.to_owned())),
    };
    Ok(query
        .select((ItemRow::as_select(), VersionRow::as_select()))
        .first(conn)?)
}

/// One form version of an item by its number.
pub(crate) fn version_by_number(
    conn: &mut DbConnection,
    item_id: i64,
    number: i32,
) -> Result<VersionRow, StoreError> {
    Ok(catalogue_item_versions::table
        .filter(catalogue_item_versions::item_id.eq(item_id))
        .filter(catalogue_item_versions::number.eq(number))
        .select(VersionRow::as_select())
        .first(conn)?)
}

/// Adds a catalogue item (without a form yet) and returns its id.
pub(crate) fn insert_item(
    conn: &mut DbConnection,
    code: &str,
    at: NaiveDateTime,
) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(catalogue_items::table)
        .values((
            catalogue_items::code.eq(code),
            catalogue_items::active.eq(true),
            catalogue_items::created_at.eq(at),
            catalogue_items::updated_at.eq(at),
            catalogue_items::version.eq(1_i64),
        ))
        .returning(catalogue_items::id)
        .get_result(conn)?)
}

/// Adds form version `number` of an item and returns its id.
pub(crate) fn insert_version(
    conn: &mut DbConnection,
    item_id: i64,
    number: i32,
    definition: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(catalogue_item_versions::table)
        .values((
            catalogue_item_versions::item_id.eq(item_id),
            catalogue_item_versions::number.eq(number),
            catalogue_item_versions::definition.eq(definition),
            catalogue_item_versions::created_by_name.eq(by),
            catalogue_item_versions::created_at.eq(at),
        ))
        .returning(catalogue_item_versions::id)
        .get_result(conn)?)
}

/// Writes an item's row if it is still at `expected` version.
pub(crate) fn update_item(
    conn: &mut DbConnection,
    row: &ItemRow,
    expected: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        catalogue_items::table
            .filter(catalogue_items::id.eq(row.id))
            .filter(catalogue_items::version.eq(expected)),
    )
    .set(row)
    .execute(conn)?
        == 1)
}

/// The form versions with these ids.
pub(crate) fn versions(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<VersionRow>, StoreError> {
    Ok(catalogue_item_versions::table
        .filter(catalogue_item_versions::id.eq_any(ids))
        .select(VersionRow::as_select())
        .load(conn)?)
}

/// The codes of the items with these ids.
pub(crate) fn item_codes(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(catalogue_items::table
        .filter(catalogue_items::id.eq_any(ids))
        .select((catalogue_items::id, catalogue_items::code))
        .load(conn)?)
}

// ------------------------------------------------------------------------------------------
// Organisations

/// The SEC roles an organisation holds, if it exists and is active.
pub(crate) fn active_organisation_sec_roles(
    conn: &mut DbConnection,
    id: i64,
) -> Result<Option<Vec<String>>, StoreError> {
    let status: Option<String> = organisations::table
        .find(id)
        .select(organisations::status)
        .first(conn)
        .optional()?;
    if status.as_deref() != Some("active") {
        return Ok(None);
    }
    Ok(Some(
        organisation_sec_roles::table
            .filter(organisation_sec_roles::organisation_id.eq(id))
            .select(organisation_sec_roles::sec_role)
            .load(conn)?,
    ))
}

/// The names of the organisations with these ids.
pub(crate) fn organisation_names(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(organisations::table
        .filter(organisations::id.eq_any(ids))
        .select((organisations::id, organisations::name))
        .load(conn)?)
}

// ------------------------------------------------------------------------------------------
// Requests

/// Records a new request with its approval steps and tasks, giving it its reference, and
/// returns its id.
pub(crate) fn insert_request(
    conn: &mut DbConnection,
    row: &RequestRow,
    approvers: &[&str],
    tasks: &[(String, String)],
) -> Result<i64, StoreError> {
    let id: i64 = diesel::insert_into(service_requests::table)
        .values(row)
        .returning(service_requests::id)
        .get_result(conn)?;
    diesel::update(service_requests::table.find(id))
        .set(service_requests::reference.eq(reference_of(id)))
        .execute(conn)?;
    for (i, approver) in approvers.iter().enumerate() {
        diesel::insert_into(service_request_approvals::table)
            .values(ApprovalRow {
                id: 0,
                request_id: id,
                step: i32::try_from(i + 1).unwrap_or(i32::MAX),
                approver: (*approver).to_owned(),
                status: "pending".to_owned(),
                decided_by_kind: None,
                decided_by_id: None,
                decided_by_name: None,
                decided_at: None,
                comment: None,
            })
            .execute(conn)?;
    }
    for (i, (name, group)) in tasks.iter().enumerate() {
        diesel::insert_into(service_request_tasks::table)
            .values(TaskRow {
                id: 0,
                request_id: id,
                position: i32::try_from(i + 1).unwrap_or(i32::MAX),
                name: name.clone(),
                resolver_group: group.clone(),
                status: "open".to_owned(),
                completed_by_id: None,
                completed_by_name: None,
                completed_at: None,
                notes: None,
            })
            .execute(conn)?;
    }
    Ok(id)
}

/// Replaces a new request's answers (once its files, which file fields refer to, are stored).
pub(crate) fn set_answers(
    conn: &mut DbConnection,
    id: i64,
    answers: &str,
) -> Result<(), StoreError> {
    diesel::update(service_requests::table.find(id))
        .set(service_requests::answers.eq(answers))
        .execute(conn)?;
    Ok(())
}

/// The human reference of request `id`: derived from the id, so unique and never reused.
pub(crate) fn reference_of(id: i64) -> String {
    format!("REQ{id:07}")
}

/// The id a request reference names, if it is one.
pub(crate) fn id_of_reference(reference: &str) -> Option<i64> {
    reference
        .strip_prefix("REQ")
        .filter(|digits| digits.len() >= 7 && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse().ok())
}

/// A request `principal` may see, or `NotFound`.
pub(crate) fn load_visible(
    conn: &mut DbConnection,
    principal: &Principal,
    id: i64,
) -> Result<RequestRow, StoreError> {
    Ok(scoped!(
        service_requests::table.into_boxed(),
        service_requests::organisation_id,
        principal
    )
    .filter(service_requests::id.eq(id))
    .select(RequestRow::as_select())
    .first(conn)?)
}

/// A request, whoever may see it (the caller checked visibility).
pub(crate) fn load(conn: &mut DbConnection, id: i64) -> Result<RequestRow, StoreError> {
    Ok(service_requests::table
        .find(id)
        .select(RequestRow::as_select())
        .first(conn)?)
}

/// Writes a request's row if it is still at `expected` version.
pub(crate) fn update_request(
    conn: &mut DbConnection,
    row: &RequestRow,
    expected: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        service_requests::table
            .filter(service_requests::id.eq(row.id))
            .filter(service_requests::version.eq(expected)),
    )
    .set(row)
    .execute(conn)?
        == 1)
}

/// The approval steps of these requests, in order.
pub(crate) fn approvals_of(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<ApprovalRow>, StoreError> {
    Ok(service_request_approvals::table
        .filter(service_request_approvals::request_id.eq_any(ids))
        .order((
            service_request_approvals::request_id,
            service_request_approvals::step,
        ))
        .select(ApprovalRow::as_select())
        .load(conn)?)
}

/// The fulfilment tasks of these requests, in order.
pub(crate) fn tasks_of(conn: &mut DbConnection, ids: &[i64]) -> Result<Vec<TaskRow>, StoreError> {
    Ok(service_request_tasks::table
        .filter(service_request_tasks::request_id.eq_any(ids))
        .order((
            service_request_tasks::request_id,
            service_request_tasks::position,
        ))
        .select(TaskRow::as_select())
        .load(conn)?)
}

/// Writes an approval step.
pub(crate) fn update_approval(
    conn: &mut DbConnection,
    row: &ApprovalRow,
) -> Result<(), StoreError> {
    diesel::update(service_request_approvals::table.find(row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

/// Writes a task.
pub(crate) fn update_task(conn: &mut DbConnection, row: &TaskRow) -> Result<(), StoreError> {
    diesel::update(service_request_tasks::table.find(row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

/// What a list asks for, already validated.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListQuery {
    pub statuses: Vec<String>,
    pub item_id: Option<i64>,
    pub organisation_id: Option<i64>,
    pub search: Option<String>,
    pub newest_first: bool,
}

/// One page of the requests `principal` may see that match `query`.
pub(crate) fn list(
    conn: &mut DbConnection,
    principal: &Principal,
    query: &ListQuery,
    page: PageRequest,
) -> Result<Vec<RequestRow>, StoreError> {
    let mut q = scoped!(
        service_requests::table.into_boxed(),
        service_requests::organisation_id,
        principal
    );
    if !query.statuses.is_empty() {
        q = q.filter(service_requests::status.eq_any(query.statuses.clone()));
    }
    if let Some(item) = query.item_id {
        q = q.filter(service_requests::item_id.eq(item));
    }
    if let Some(o) = query.organisation_id {
        q = q.filter(service_requests::organisation_id.eq(o));
    }
    if let Some(text) = &query.search {
        q = q.filter(matches_search(text));
    }
    if let Some(after) = page.after {
        q = if query.newest_first {
            q.filter(service_requests::id.lt(after))
        } else {
            q.filter(service_requests::id.gt(after))
        };
    }
    q = if query.newest_first {
        q.order(service_requests::id.desc())
    } else {
        q.order(service_requests::id.asc())
    };
    Ok(q.limit(page.fetch_limit())
        .select(RequestRow::as_select())
        .load(conn)?)
}

/// Requests whose reference or old reference (kept by `dsms import`) is `text`, or whose
/// summary contains it, ignoring case.
fn matches_search(
    text: &str,
) -> Box<
    dyn BoxableExpression<
            service_requests::table,
            dsms_store::DbBackend,
            SqlType = diesel::sql_types::Bool,
        >,
> {
    use dsms_store::schema::service_request_aliases as aliases;
    let reference = crate::historic::normalise_alias(text);
    let escaped: String = text
        .trim()
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    let summary =
        diesel::dsl::sql::<diesel::sql_types::Bool>("LOWER(service_requests.summary) LIKE ")
            .bind::<diesel::sql_types::Text, _>(format!("%{escaped}%"))
            .sql(" ESCAPE '\\'");
    Box::new(
        service_requests::id
            .eq_any(
                aliases::table
                    .filter(aliases::alias.eq(reference.clone()))
                    .select(aliases::request_id),
            )
            .or(service_requests::reference.eq(reference))
            .or(summary),
    )
}

/// The id of the catalogue item with `code`, if any.
pub(crate) fn item_id_of_code(
    conn: &mut DbConnection,
    code: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(catalogue_items::table
        .filter(catalogue_items::code.eq(code))
        .select(catalogue_items::id)
        .first(conn)
        .optional()?)
}

/// Adds a comment or work note; returns its id.
pub(crate) fn insert_comment(conn: &mut DbConnection, row: &CommentRow) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(service_request_comments::table)
        .values(row)
        .returning(service_request_comments::id)
        .get_result(conn)?)
}

/// The comments of a request, oldest first; work notes only when `with_internal`.
pub(crate) fn comments(
    conn: &mut DbConnection,
    request_id: i64,
    with_internal: bool,
) -> Result<Vec<CommentRow>, StoreError> {
    let mut query = service_request_comments::table
        .filter(service_request_comments::request_id.eq(request_id))
        .into_boxed();
    if !with_internal {
        query = query.filter(service_request_comments::internal.eq(false));
    }
    Ok(query
        .order(service_request_comments::id.asc())
        .select(CommentRow::as_select())
        .load(conn)?)
}

// ------------------------------------------------------------------------------------------
// Imported history (`dsms import`)

/// The request imported under an old reference, with the digest of its row.
pub(crate) fn alias(
    conn: &mut DbConnection,
    alias: &str,
) -> Result<Option<(i64, String)>, StoreError> {
    use dsms_store::schema::service_request_aliases as aliases;
    Ok(aliases::table
        .find(alias)
        .select((aliases::request_id, aliases::row_digest))
        .first(conn)
        .optional()?)
}

/// Keeps an old reference for request `request_id`.
pub(crate) fn insert_alias(
    conn: &mut DbConnection,
    alias: &str,
    request_id: i64,
    source: &str,
    digest: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    use dsms_store::schema::service_request_aliases as aliases;
    diesel::insert_into(aliases::table)
        .values((
            aliases::alias.eq(alias),
            aliases::request_id.eq(request_id),
            aliases::source.eq(source),
            aliases::row_digest.eq(digest),
            aliases::imported_at.eq(at),
            aliases::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records that the row behind an alias changed and was imported again.
pub(crate) fn update_alias(
    conn: &mut DbConnection,
    alias: &str,
    digest: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    use dsms_store::schema::service_request_aliases as aliases;
    diesel::update(aliases::table.find(alias))
        .set((aliases::row_digest.eq(digest), aliases::updated_at.eq(at)))
        .execute(conn)?;
    Ok(())
}

/// Replaces the approval steps and tasks of a request (an imported request whose row changed).
pub(crate) fn replace_steps(
    conn: &mut DbConnection,
    request_id: i64,
    approvals: &[ApprovalRow],
    tasks: &[TaskRow],
) -> Result<(), StoreError> {
    diesel::delete(
        service_request_approvals::table
            .filter(service_request_approvals::request_id.eq(request_id)),
    )
    .execute(conn)?;
    diesel::delete(
        service_request_tasks::table.filter(service_request_tasks::request_id.eq(request_id)),
    )
    .execute(conn)?;
    // One statement per row: the multi-backend connection has no batch insert.
    for approval in approvals {
        diesel::insert_into(service_request_approvals::table)
            .values(approval)
            .execute(conn)?;
    }
    for task in tasks {
        diesel::insert_into(service_request_tasks::table)
            .values(task)
            .execute(conn)?;
    }
    Ok(())
}

/// The comment imported under `external_id` from `source`, with the digest of its row.
pub(crate) fn imported_comment(
    conn: &mut DbConnection,
    source: &str,
    external_id: &str,
) -> Result<Option<(i64, String)>, StoreError> {
    use dsms_store::schema::imported_request_comments as imported;
    Ok(imported::table
        .find((source, external_id))
        .select((imported::comment_id, imported::row_digest))
        .first(conn)
        .optional()?)
}

/// Remembers which comment a note of the old system became.
pub(crate) fn insert_imported_comment(
    conn: &mut DbConnection,
    source: &str,
    external_id: &str,
    digest: &str,
    comment_id: i64,
) -> Result<(), StoreError> {
    use dsms_store::schema::imported_request_comments as imported;
    diesel::insert_into(imported::table)
        .values((
            imported::source.eq(source),
            imported::external_id.eq(external_id),
            imported::comment_id.eq(comment_id),
            imported::row_digest.eq(digest),
        ))
        .execute(conn)?;
    Ok(())
}

/// Rewrites an imported comment and the digest of the row it came from.
pub(crate) fn rewrite_imported_comment(
    conn: &mut DbConnection,
    source: &str,
    external_id: &str,
    digest: &str,
    row: &CommentRow,
) -> Result<(), StoreError> {
    use dsms_store::schema::imported_request_comments as imported;
    diesel::update(service_request_comments::table.find(row.id))
        .set((
            service_request_comments::request_id.eq(row.request_id),
            service_request_comments::author_kind.eq(&row.author_kind),
            service_request_comments::author_id.eq(row.author_id),
            service_request_comments::author_name.eq(&row.author_name),
            service_request_comments::body.eq(&row.body),
            service_request_comments::internal.eq(row.internal),
            service_request_comments::created_at.eq(row.created_at),
        ))
        .execute(conn)?;
    diesel::update(imported::table.find((source, external_id)))
        .set(imported::row_digest.eq(digest))
        .execute(conn)?;
    Ok(())
}

/// Removes an imported comment (the details note of a request whose row no longer has any).
pub(crate) fn delete_imported_comment(
    conn: &mut DbConnection,
    source: &str,
    external_id: &str,
    comment_id: i64,
) -> Result<(), StoreError> {
    use dsms_store::schema::imported_request_comments as imported;
    diesel::delete(imported::table.find((source, external_id))).execute(conn)?;
    diesel::delete(service_request_comments::table.find(comment_id)).execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_derived_from_ids_and_round_trip() {
        assert_eq!(reference_of(42), "REQ0000042");
        assert_eq!(id_of_reference("REQ0000042"), Some(42));
        assert_eq!(id_of_reference("REQ12345678"), Some(12_345_678));
        assert_eq!(id_of_reference("REQ42"), None);
        assert_eq!(id_of_reference("INC0000042"), None);
    }
}
