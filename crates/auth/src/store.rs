//! The SQL of identity and access, in one place.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use dsms_store::schema::{organisation_sec_roles, organisations, people, person_roles};
use dsms_store::{DbConnection, StoreError};

use crate::model::{Organisation, OrganisationKind, OrganisationStatus, Person, Role, SecRole};

#[derive(Queryable, Selectable)]
#[diesel(table_name = organisations)]
struct OrganisationRow {
    id: i64,
    name: String,
    kind: String,
    sec_party_id: Option<String>,
    status: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = organisations)]
pub(crate) struct NewOrganisationRow<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub sec_party_id: Option<&'a str>,
    pub status: &'a str,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = people)]
struct PersonRow {
    id: i64,
    organisation_id: i64,
    email: String,
    name: String,
    must_change_password: bool,
    status: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = people)]
pub(crate) struct NewPersonRow<'a> {
    pub organisation_id: i64,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub must_change_password: bool,
    pub status: &'a str,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub(crate) fn insert_organisation(
    conn: &mut DbConnection,
    row: NewOrganisationRow<'_>,
    sec_roles: &[SecRole],
) -> Result<i64, StoreError> {
    let id = diesel::insert_into(organisations::table)
        .values(row)
        .returning(organisations::id)
        .get_result(conn)?;
    for role in sec_roles {
        diesel::insert_into(organisation_sec_roles::table)
            .values((
                organisation_sec_roles::organisation_id.eq(id),
                organisation_sec_roles::sec_role.eq(role.as_str()),
            ))
            .execute(conn)?;
    }
    Ok(id)
}

pub(crate) fn organisation(conn: &mut DbConnection, id: i64) -> Result<Organisation, StoreError> {
    let row = organisations::table
        .find(id)
        .select(OrganisationRow::as_select())
        .first(conn)?;
    with_sec_roles(conn, row)
}

pub(crate) fn operator_organisation(
    conn: &mut DbConnection,
) -> Result<Option<Organisation>, StoreError> {
    let row = organisations::table
        .filter(organisations::kind.eq(OrganisationKind::Operator.as_str()))
        .select(OrganisationRow::as_select())
        .first(conn)
        .optional()?;
    row.map(|r| with_sec_roles(conn, r)).transpose()
}

fn with_sec_roles(
    conn: &mut DbConnection,
    row: OrganisationRow,
) -> Result<Organisation, StoreError> {
    let mut sec_roles: Vec<SecRole> = organisation_sec_roles::table
        .filter(organisation_sec_roles::organisation_id.eq(row.id))
        .select(organisation_sec_roles::sec_role)
        .load::<String>(conn)?
        .iter()
        .filter_map(|r| SecRole::parse(r))
        .collect();
    sec_roles.sort();
    Ok(Organisation {
        id: row.id,
        name: row.name,
        kind: OrganisationKind::parse(&row.kind).unwrap_or(OrganisationKind::User),
        sec_party_id: row.sec_party_id,
        sec_roles,
        status: OrganisationStatus::parse(&row.status).unwrap_or(OrganisationStatus::Suspended),
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub(crate) fn insert_person(
    conn: &mut DbConnection,
    row: NewPersonRow<'_>,
    roles: &[Role],
) -> Result<i64, StoreError> {
    let id = diesel::insert_into(people::table)
        .values(row)
        .returning(people::id)
        .get_result(conn)?;
    for role in roles {
        diesel::insert_into(person_roles::table)
            .values((
                person_roles::person_id.eq(id),
                person_roles::role.eq(role.as_str()),
            ))
            .execute(conn)?;
    }
    Ok(id)
}

pub(crate) fn person(conn: &mut DbConnection, id: i64) -> Result<Person, StoreError> {
    let row = people::table
        .find(id)
        .select(PersonRow::as_select())
        .first(conn)?;
    let mut roles: Vec<Role> = person_roles::table
        .filter(person_roles::person_id.eq(id))
        .select(person_roles::role)
        .load::<String>(conn)?
        .iter()
        .filter_map(|r| Role::parse(r))
        .collect();
    roles.sort();
    Ok(Person {
        id: row.id,
        organisation_id: row.organisation_id,
        email: row.email,
        name: row.name,
        roles,
        must_change_password: row.must_change_password,
        status: row.status,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub(crate) fn any_person_with_role(
    conn: &mut DbConnection,
    role: Role,
) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(
        person_roles::table.filter(person_roles::role.eq(role.as_str())),
    ))
    .get_result(conn)?)
}
