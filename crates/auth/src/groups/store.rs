//! The SQL of resolver groups and saved views.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use dsms_store::schema::{group_members, people, resolver_groups, saved_views};
use dsms_store::{DbConnection, StoreError};

use super::{GroupMember, ResolverGroup, SavedView};

/// Every group with its members, by name: two queries whatever the number of groups.
pub(super) fn groups(conn: &mut DbConnection) -> Result<Vec<ResolverGroup>, StoreError> {
    let rows: Vec<(i64, String, String)> = resolver_groups::table
        .order(resolver_groups::name.asc())
        .select((
            resolver_groups::id,
            resolver_groups::name,
            resolver_groups::description,
        ))
        .load(conn)?;
    let members: Vec<(i64, i64, String)> = group_members::table
        .inner_join(people::table)
        .order(people::name.asc())
        .select((group_members::group_id, people::id, people::name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, description)| ResolverGroup {
            id,
            name,
            description,
            members: members
                .iter()
                .filter(|(group, _, _)| *group == id)
                .map(|(_, person_id, name)| GroupMember {
                    person_id: *person_id,
                    name: name.clone(),
                })
                .collect(),
        })
        .collect())
}

/// One group with its members.
pub(super) fn group(conn: &mut DbConnection, id: i64) -> Result<ResolverGroup, StoreError> {
    let (name, description): (String, String) = resolver_groups::table
        .find(id)
        .select((resolver_groups::name, resolver_groups::description))
        .first(conn)?;
    let members = group_members::table
        .inner_join(people::table)
        .filter(group_members::group_id.eq(id))
        .order(people::name.asc())
        .select((people::id, people::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .map(|(person_id, name)| GroupMember { person_id, name })
        .collect();
    Ok(ResolverGroup {
        id,
        name,
        description,
        members,
    })
}

/// The names of the groups a person belongs to.
pub(super) fn group_names_of(
    conn: &mut DbConnection,
    person_id: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(group_members::table
        .inner_join(resolver_groups::table)
        .filter(group_members::person_id.eq(person_id))
        .order(resolver_groups::name.asc())
        .select(resolver_groups::name)
        .load(conn)?)
}

pub(super) fn insert_group(
    conn: &mut DbConnection,
    name: &str,
    description: &str,
    now: NaiveDateTime,
) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(resolver_groups::table)
        .values((
            resolver_groups::name.eq(name),
            resolver_groups::description.eq(description),
            resolver_groups::created_at.eq(now),
        ))
        .returning(resolver_groups::id)
        .get_result(conn)?)
}

/// Adds a member; false when they already were one.
pub(super) fn add_member(
    conn: &mut DbConnection,
    group_id: i64,
    person_id: i64,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let exists: bool = diesel::select(diesel::dsl::exists(
        group_members::table
            .filter(group_members::group_id.eq(group_id))
            .filter(group_members::person_id.eq(person_id)),
    ))
    .get_result(conn)?;
    if exists {
        return Ok(false);
    }
    diesel::insert_into(group_members::table)
        .values((
            group_members::group_id.eq(group_id),
            group_members::person_id.eq(person_id),
            group_members::added_at.eq(now),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Removes a member; false when they were not one.
pub(super) fn remove_member(
    conn: &mut DbConnection,
    group_id: i64,
    person_id: i64,
) -> Result<bool, StoreError> {
    let removed = diesel::delete(
        group_members::table
            .filter(group_members::group_id.eq(group_id))
            .filter(group_members::person_id.eq(person_id)),
    )
    .execute(conn)?;
    Ok(removed == 1)
}

pub(super) fn saved_views(
    conn: &mut DbConnection,
    person_id: i64,
) -> Result<Vec<SavedView>, StoreError> {
    Ok(saved_views::table
        .filter(saved_views::person_id.eq(person_id))
        .order(saved_views::name.asc())
        .select((saved_views::id, saved_views::name, saved_views::query))
        .load::<(i64, String, String)>(conn)?
        .into_iter()
        .map(|(id, name, query)| SavedView { id, name, query })
        .collect())
}

/// Saves a view, replacing the person's view of the same name.
pub(super) fn upsert_view(
    conn: &mut DbConnection,
    person_id: i64,
    name: &str,
    query: &str,
    now: NaiveDateTime,
) -> Result<SavedView, StoreError> {
    diesel::delete(
        saved_views::table
            .filter(saved_views::person_id.eq(person_id))
            .filter(saved_views::name.eq(name)),
    )
    .execute(conn)?;
    let id = diesel::insert_into(saved_views::table)
        .values((
            saved_views::person_id.eq(person_id),
            saved_views::name.eq(name),
            saved_views::query.eq(query),
            saved_views::created_at.eq(now),
        ))
        .returning(saved_views::id)
        .get_result(conn)?;
    Ok(SavedView {
        id,
        name: name.to_owned(),
        query: query.to_owned(),
    })
}

/// Deletes one of a person's views; false when they have no such view.
pub(super) fn delete_view(
    conn: &mut DbConnection,
    person_id: i64,
    id: i64,
) -> Result<bool, StoreError> {
    let deleted = diesel::delete(
        saved_views::table
            .filter(saved_views::person_id.eq(person_id))
            .filter(saved_views::id.eq(id)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}
