//! The SQL of identity and access, in one place.
//!
//! The lookups every request makes (session, person, API token) use `get_result`, not `first`:
//! `first` adds `LIMIT ?`, and SQLite plans a bound LIMIT by its value, so it compiled such a
//! cached statement again on every execution (docs/performance.md, "Hot paths").

use chrono::NaiveDateTime;
use diesel::prelude::*;
use dsms_core::{PageRequest, Principal};
use dsms_store::schema::{
    account_tokens, api_tokens, mfa_challenges, organisation_sec_roles, organisations, people,
    person_roles, recovery_codes, sessions, sign_in_throttles,
};
use dsms_store::{DbConnection, StoreError, scoped};

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
#[diesel(treat_none_as_default_value = false)]
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
    totp_confirmed_at: Option<NaiveDateTime>,
    last_sign_in_at: Option<NaiveDateTime>,
    status: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = people)]
#[diesel(treat_none_as_default_value = false)]
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
    replace_sec_roles(conn, id, sec_roles)?;
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
    replace_roles(conn, id, roles)?;
    Ok(id)
}

pub(crate) fn person(conn: &mut DbConnection, id: i64) -> Result<Person, StoreError> {
    let row = people::table
        .find(id)
        .select(PersonRow::as_select())
        .first(conn)?;
    with_roles(conn, row)
}

fn with_roles(conn: &mut DbConnection, row: PersonRow) -> Result<Person, StoreError> {
    let id = row.id;
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
        mfa_enrolled: row.totp_confirmed_at.is_some(),
        last_sign_in_at: row.last_sign_in_at,
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

/// One page of the organisations `principal` may see, in id order.
pub(crate) fn organisations_page(
    conn: &mut DbConnection,
    principal: &Principal,
    page: PageRequest,
) -> Result<Vec<Organisation>, StoreError> {
    let mut query = scoped!(
        organisations::table.into_boxed(),
        organisations::id,
        principal
    );
    if let Some(after) = page.after {
        query = query.filter(organisations::id.gt(after));
    }
    let rows = query
        .order(organisations::id.asc())
        .limit(page.fetch_limit())
        .select(OrganisationRow::as_select())
        .load(conn)?;
    rows.into_iter().map(|r| with_sec_roles(conn, r)).collect()
}

/// One organisation, if `principal` may see it.
pub(crate) fn visible_organisation(
    conn: &mut DbConnection,
    principal: &Principal,
    id: i64,
) -> Result<Organisation, StoreError> {
    let row = scoped!(
        organisations::table.into_boxed(),
        organisations::id,
        principal
    )
    .filter(organisations::id.eq(id))
    .select(OrganisationRow::as_select())
    .first(conn)?;
    with_sec_roles(conn, row)
}

/// Changes an organisation's name, standing and party id if its version is still `version`.
/// Returns false when the version moved on.
pub(crate) fn update_organisation(
    conn: &mut DbConnection,
    id: i64,
    version: i64,
    name: &str,
    status: &str,
    sec_party_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        organisations::table
            .filter(organisations::id.eq(id))
            .filter(organisations::version.eq(version)),
    )
    .set((
        organisations::name.eq(name),
        organisations::status.eq(status),
        organisations::sec_party_id.eq(sec_party_id),
        organisations::version.eq(version + 1),
        organisations::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Replaces an organisation's SEC roles.
pub(crate) fn replace_sec_roles(
    conn: &mut DbConnection,
    id: i64,
    roles: &[SecRole],
) -> Result<(), StoreError> {
    diesel::delete(
        organisation_sec_roles::table.filter(organisation_sec_roles::organisation_id.eq(id)),
    )
    .execute(conn)?;
    for role in roles {
        diesel::insert_into(organisation_sec_roles::table)
            .values((
                organisation_sec_roles::organisation_id.eq(id),
                organisation_sec_roles::sec_role.eq(role.as_str()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// One page of the people `principal` may see, optionally of one organisation, in id order.
pub(crate) fn people_page(
    conn: &mut DbConnection,
    principal: &Principal,
    organisation_id: Option<i64>,
    page: PageRequest,
) -> Result<Vec<Person>, StoreError> {
    let mut query = scoped!(
        people::table.into_boxed(),
        people::organisation_id,
        principal
    );
    if let Some(org) = organisation_id {
        query = query.filter(people::organisation_id.eq(org));
    }
    if let Some(after) = page.after {
        query = query.filter(people::id.gt(after));
    }
    let rows = query
        .order(people::id.asc())
        .limit(page.fetch_limit())
        .select(PersonRow::as_select())
        .load(conn)?;
    rows.into_iter().map(|r| with_roles(conn, r)).collect()
}

/// One person, if `principal` may see them.
pub(crate) fn visible_person(
    conn: &mut DbConnection,
    principal: &Principal,
    id: i64,
) -> Result<Person, StoreError> {
    let row = scoped!(
        people::table.into_boxed(),
        people::organisation_id,
        principal
    )
    .filter(people::id.eq(id))
    .select(PersonRow::as_select())
    .first(conn)?;
    with_roles(conn, row)
}

/// What sign-in needs to know about an account.
#[derive(Debug, Clone, Queryable)]
pub(crate) struct Credentials {
    pub person_id: i64,
    pub organisation_id: i64,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub totp_secret: Option<String>,
    pub totp_confirmed: Option<NaiveDateTime>,
    pub totp_last_step: Option<i64>,
    pub must_change_password: bool,
    pub person_status: String,
    pub organisation_status: String,
    pub organisation_kind: String,
}

/// The sign-in facts of the account with `email`.
pub(crate) fn credentials_by_email(
    conn: &mut DbConnection,
    email: &str,
) -> Result<Option<Credentials>, StoreError> {
    Ok(people::table
        .inner_join(organisations::table)
        .filter(people::email.eq(email))
        .select(credential_columns())
        .first(conn)
        .optional()?)
}

/// The sign-in facts of person `id`.
pub(crate) fn credentials_by_id(
    conn: &mut DbConnection,
    id: i64,
) -> Result<Credentials, StoreError> {
    Ok(people::table
        .inner_join(organisations::table)
        .filter(people::id.eq(id))
        .select(credential_columns())
        .get_result(conn)?)
}

#[allow(clippy::type_complexity)]
fn credential_columns() -> (
    people::id,
    people::organisation_id,
    people::email,
    people::name,
    people::password_hash,
    people::totp_secret,
    people::totp_confirmed_at,
    people::totp_last_step,
    people::must_change_password,
    people::status,
    organisations::status,
    organisations::kind,
) {
    (
        people::id,
        people::organisation_id,
        people::email,
        people::name,
        people::password_hash,
        people::totp_secret,
        people::totp_confirmed_at,
        people::totp_last_step,
        people::must_change_password,
        people::status,
        organisations::status,
        organisations::kind,
    )
}

/// Replaces a person's roles.
pub(crate) fn replace_roles(
    conn: &mut DbConnection,
    person_id: i64,
    roles: &[Role],
) -> Result<(), StoreError> {
    diesel::delete(person_roles::table.filter(person_roles::person_id.eq(person_id)))
        .execute(conn)?;
    for role in roles {
        diesel::insert_into(person_roles::table)
            .values((
                person_roles::person_id.eq(person_id),
                person_roles::role.eq(role.as_str()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Changes a person's name and status if their version is still `version`.
pub(crate) fn update_person(
    conn: &mut DbConnection,
    id: i64,
    version: i64,
    name: &str,
    status: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        people::table
            .filter(people::id.eq(id))
            .filter(people::version.eq(version)),
    )
    .set((
        people::name.eq(name),
        people::status.eq(status),
        people::version.eq(version + 1),
        people::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Sets a new password hash.
pub(crate) fn set_password(
    conn: &mut DbConnection,
    id: i64,
    hash: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(people::table.find(id))
        .set((
            people::password_hash.eq(hash),
            people::must_change_password.eq(false),
            people::password_changed_at.eq(now),
            people::version.eq(people::version + 1),
            people::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Stores a confirmed TOTP secret and the step that confirmed it.
pub(crate) fn set_totp(
    conn: &mut DbConnection,
    id: i64,
    sealed: Option<&str>,
    step: Option<i64>,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(people::table.find(id))
        .set((
            people::totp_secret.eq(sealed),
            people::totp_confirmed_at.eq(sealed.map(|_| now)),
            people::totp_last_step.eq(step),
            people::version.eq(people::version + 1),
            people::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records `step` as the last TOTP step used, unless a later or equal one was already used:
/// false means the code was replayed (possibly by a concurrent request).
pub(crate) fn advance_totp_step(
    conn: &mut DbConnection,
    id: i64,
    step: i64,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        people::table.filter(people::id.eq(id)).filter(
            people::totp_last_step
                .is_null()
                .or(people::totp_last_step.lt(step)),
        ),
    )
    .set(people::totp_last_step.eq(step))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Notes a completed sign-in.
pub(crate) fn touch_sign_in(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(people::table.find(id))
        .set(people::last_sign_in_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Replaces a person's recovery codes with new digests.
pub(crate) fn replace_recovery_codes(
    conn: &mut DbConnection,
    person_id: i64,
    digests: &[String],
) -> Result<(), StoreError> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::person_id.eq(person_id)))
        .execute(conn)?;
    for digest in digests {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::person_id.eq(person_id),
                recovery_codes::code_digest.eq(digest),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Uses up one unused recovery code; false when there is no such code.
pub(crate) fn use_recovery_code(
    conn: &mut DbConnection,
    person_id: i64,
    digest: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::person_id.eq(person_id))
            .filter(recovery_codes::code_digest.eq(digest))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)?;
    Ok(updated >= 1)
}

/// How many unused recovery codes a person has left.
pub(crate) fn recovery_codes_left(
    conn: &mut DbConnection,
    person_id: i64,
) -> Result<i64, StoreError> {
    Ok(recovery_codes::table
        .filter(recovery_codes::person_id.eq(person_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?)
}

/// A pending MFA step.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mfa_challenges)]
pub(crate) struct Challenge {
    pub id: i64,
    pub person_id: i64,
    pub purpose: String,
    pub pending_secret: Option<String>,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

/// Opens an MFA challenge.
pub(crate) fn insert_challenge(
    conn: &mut DbConnection,
    digest: &str,
    person_id: i64,
    purpose: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(mfa_challenges::table)
        .values((
            mfa_challenges::token_digest.eq(digest),
            mfa_challenges::person_id.eq(person_id),
            mfa_challenges::purpose.eq(purpose),
            mfa_challenges::created_at.eq(now),
            mfa_challenges::expires_at.eq(expires_at),
        ))
        .returning(mfa_challenges::id)
        .get_result(conn)?)
}

/// The challenge with this token digest.
pub(crate) fn challenge(
    conn: &mut DbConnection,
    digest: &str,
) -> Result<Option<Challenge>, StoreError> {
    Ok(mfa_challenges::table
        .filter(mfa_challenges::token_digest.eq(digest))
        .select(Challenge::as_select())
        .first(conn)
        .optional()?)
}

/// Stores the secret being enrolled on a challenge.
pub(crate) fn set_pending_secret(
    conn: &mut DbConnection,
    id: i64,
    sealed: &str,
) -> Result<(), StoreError> {
    diesel::update(mfa_challenges::table.find(id))
        .set(mfa_challenges::pending_secret.eq(sealed))
        .execute(conn)?;
    Ok(())
}

/// Uses up a challenge; false if it was already used.
pub(crate) fn use_challenge(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        mfa_challenges::table
            .filter(mfa_challenges::id.eq(id))
            .filter(mfa_challenges::used_at.is_null()),
    )
    .set(mfa_challenges::used_at.eq(now))
    .execute(conn)?;
    Ok(updated == 1)
}

/// A server-side session.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub(crate) struct SessionRow {
    pub id: String,
    pub kind: String,
    pub csrf_token: Option<String>,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

/// What a new session records.
#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct NewSession<'a> {
    pub id: &'a str,
    pub person_id: i64,
    pub kind: &'a str,
    pub token_digest: Option<&'a str>,
    pub csrf_token: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// Records a session.
pub(crate) fn insert_session(
    conn: &mut DbConnection,
    new: NewSession<'_>,
) -> Result<(), StoreError> {
    diesel::insert_into(sessions::table)
        .values(new)
        .execute(conn)?;
    Ok(())
}

/// Which session a request names.
pub(crate) enum SessionKey<'a> {
    /// The session id in an access token's claims.
    Id(&'a str),
    /// The digest of a web session's cookie.
    CookieDigest(&'a str),
}

/// The session with this key, its person's account and roles, in one query: every
/// authenticated request asks, so it is one round trip (a row per role, the account repeated).
pub(crate) fn session_with_account(
    conn: &mut DbConnection,
    key: SessionKey<'_>,
) -> Result<Option<(SessionRow, Credentials, Vec<Role>)>, StoreError> {
    let query = sessions::table
        .inner_join(
            people::table
                .inner_join(organisations::table)
                .left_join(person_roles::table),
        )
        .select((
            SessionRow::as_select(),
            credential_columns(),
            person_roles::role.nullable(),
        ))
        .into_boxed();
    let query = match key {
        SessionKey::Id(id) => query.filter(sessions::id.eq(id)),
        SessionKey::CookieDigest(digest) => query.filter(sessions::token_digest.eq(digest)),
    };
    let rows: Vec<(SessionRow, Credentials, Option<String>)> = query.load(conn)?;
    let mut roles: Vec<Role> = rows
        .iter()
        .filter_map(|(_, _, role)| role.as_deref().and_then(Role::parse))
        .collect();
    roles.sort();
    Ok(rows
        .into_iter()
        .next()
        .map(|(session, creds, _)| (session, creds, roles)))
}

/// Extends a web session's idle expiry.
pub(crate) fn touch_session(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(sessions::table.find(id))
        .set((
            sessions::last_seen_at.eq(now),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Revokes one session.
pub(crate) fn revoke_session(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Revokes every live session of a person, except `keep`; returns how many.
pub(crate) fn revoke_sessions_of(
    conn: &mut DbConnection,
    person_id: i64,
    keep: Option<&str>,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    let mut query = diesel::update(sessions::table)
        .filter(sessions::person_id.eq(person_id))
        .filter(sessions::revoked_at.is_null())
        .into_boxed();
    if let Some(keep) = keep {
        query = query.filter(sessions::id.ne(keep.to_owned()));
    }
    Ok(query.set(sessions::revoked_at.eq(now)).execute(conn)?)
}

/// An organisation's API token, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub(crate) struct ApiTokenRow {
    pub id: i64,
    pub organisation_id: i64,
    pub name: String,
    pub token_prefix: String,
    pub scopes: String,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
}

/// What a new API token records.
#[derive(Debug, Insertable)]
#[diesel(table_name = api_tokens)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct NewApiToken<'a> {
    pub organisation_id: i64,
    pub name: &'a str,
    pub token_digest: &'a str,
    pub token_prefix: &'a str,
    pub scopes: &'a str,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// Records an API token.
pub(crate) fn insert_api_token(
    conn: &mut DbConnection,
    new: NewApiToken<'_>,
) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(api_tokens::table)
        .values(new)
        .returning(api_tokens::id)
        .get_result(conn)?)
}

/// The API token with this digest, with its organisation's status.
pub(crate) fn api_token_by_digest(
    conn: &mut DbConnection,
    digest: &str,
) -> Result<Option<(ApiTokenRow, String)>, StoreError> {
    Ok(api_tokens::table
        .inner_join(organisations::table)
        .filter(api_tokens::token_digest.eq(digest))
        .select((ApiTokenRow::as_select(), organisations::status))
        .get_result(conn)
        .optional()?)
}

/// One page of the API tokens `principal` may see.
pub(crate) fn api_tokens_page(
    conn: &mut DbConnection,
    principal: &Principal,
    page: PageRequest,
) -> Result<Vec<ApiTokenRow>, StoreError> {
    let mut query = scoped!(
        api_tokens::table.into_boxed(),
        api_tokens::organisation_id,
        principal
    );
    if let Some(after) = page.after {
        query = query.filter(api_tokens::id.gt(after));
    }
    Ok(query
        .order(api_tokens::id.asc())
        .limit(page.fetch_limit())
        .select(ApiTokenRow::as_select())
        .load(conn)?)
}

/// One API token, if `principal` may see it.
pub(crate) fn visible_api_token(
    conn: &mut DbConnection,
    principal: &Principal,
    id: i64,
) -> Result<ApiTokenRow, StoreError> {
    Ok(scoped!(
        api_tokens::table.into_boxed(),
        api_tokens::organisation_id,
        principal
    )
    .filter(api_tokens::id.eq(id))
    .select(ApiTokenRow::as_select())
    .first(conn)?)
}

/// Revokes an API token; false if it was already revoked.
pub(crate) fn revoke_api_token(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        api_tokens::table
            .filter(api_tokens::id.eq(id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Records that a token was used.
pub(crate) fn touch_api_token(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(api_tokens::table.find(id))
        .set(api_tokens::last_used_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// A single-use emailed link.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = account_tokens)]
pub(crate) struct AccountTokenRow {
    pub id: i64,
    pub person_id: i64,
    pub purpose: String,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

/// Records an emailed link.
pub(crate) fn insert_account_token(
    conn: &mut DbConnection,
    person_id: i64,
    purpose: &str,
    digest: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(account_tokens::table)
        .values((
            account_tokens::person_id.eq(person_id),
            account_tokens::purpose.eq(purpose),
            account_tokens::token_digest.eq(digest),
            account_tokens::created_at.eq(now),
            account_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The emailed link with this digest.
pub(crate) fn account_token(
    conn: &mut DbConnection,
    digest: &str,
) -> Result<Option<AccountTokenRow>, StoreError> {
    Ok(account_tokens::table
        .filter(account_tokens::token_digest.eq(digest))
        .select(AccountTokenRow::as_select())
        .first(conn)
        .optional()?)
}

/// Uses up an emailed link; false if already used.
pub(crate) fn use_account_token(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        account_tokens::table
            .filter(account_tokens::id.eq(id))
            .filter(account_tokens::used_at.is_null()),
    )
    .set(account_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Voids every unused link of `purpose` for a person (a new one replaces them).
pub(crate) fn void_account_tokens(
    conn: &mut DbConnection,
    person_id: i64,
    purpose: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(
        account_tokens::table
            .filter(account_tokens::person_id.eq(person_id))
            .filter(account_tokens::purpose.eq(purpose))
            .filter(account_tokens::used_at.is_null()),
    )
    .set(account_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// A throttle's counters.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sign_in_throttles)]
pub(crate) struct ThrottleRow {
    pub key: String,
    pub failures: i32,
    pub window_started_at: NaiveDateTime,
    pub last_failure_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
}

/// The throttles for these keys.
pub(crate) fn throttles(
    conn: &mut DbConnection,
    keys: &[String],
) -> Result<Vec<ThrottleRow>, StoreError> {
    Ok(sign_in_throttles::table
        .filter(sign_in_throttles::key.eq_any(keys))
        .select(ThrottleRow::as_select())
        .load(conn)?)
}

/// Writes a throttle's counters, creating it if needed.
pub(crate) fn save_throttle(conn: &mut DbConnection, row: &ThrottleRow) -> Result<(), StoreError> {
    let updated = diesel::update(sign_in_throttles::table.find(&row.key))
        .set((
            sign_in_throttles::failures.eq(row.failures),
            sign_in_throttles::window_started_at.eq(row.window_started_at),
            sign_in_throttles::last_failure_at.eq(row.last_failure_at),
            sign_in_throttles::locked_until.eq(row.locked_until),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(sign_in_throttles::table)
            .values((
                sign_in_throttles::key.eq(&row.key),
                sign_in_throttles::failures.eq(row.failures),
                sign_in_throttles::window_started_at.eq(row.window_started_at),
                sign_in_throttles::last_failure_at.eq(row.last_failure_at),
                sign_in_throttles::locked_until.eq(row.locked_until),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Forgets a throttle (after a successful sign-in).
pub(crate) fn clear_throttle(conn: &mut DbConnection, key: &str) -> Result<(), StoreError> {
    diesel::delete(sign_in_throttles::table.find(key)).execute(conn)?;
    Ok(())
}

/// Revokes every live session of every person of an organisation; returns how many.
pub(crate) fn revoke_sessions_of_organisation(
    conn: &mut DbConnection,
    organisation_id: i64,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    Ok(diesel::update(sessions::table)
        .filter(sessions::revoked_at.is_null())
        .filter(
            sessions::person_id.eq_any(
                people::table
                    .filter(people::organisation_id.eq(organisation_id))
                    .select(people::id),
            ),
        )
        .set(sessions::revoked_at.eq(now))
        .execute(conn)?)
}

/// An access-token signing key as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dsms_store::schema::signing_keys)]
pub(crate) struct SigningKeyRow {
    pub kid: String,
    pub secret_sealed: Option<String>,
    pub created_at: NaiveDateTime,
    pub retired_at: Option<NaiveDateTime>,
}

/// Every signing key, oldest first.
pub(crate) fn signing_keys(conn: &mut DbConnection) -> Result<Vec<SigningKeyRow>, StoreError> {
    use dsms_store::schema::signing_keys as keys;
    Ok(keys::table
        .order((keys::created_at.asc(), keys::kid.asc()))
        .select(SigningKeyRow::as_select())
        .load(conn)?)
}

/// Retires the signing keys still in use as of `now`.
pub(crate) fn retire_signing_keys(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    use dsms_store::schema::signing_keys as keys;
    Ok(
        diesel::update(keys::table.filter(keys::retired_at.is_null()))
            .set(keys::retired_at.eq(now))
            .execute(conn)?,
    )
}

/// Records a signing key.
pub(crate) fn insert_signing_key(
    conn: &mut DbConnection,
    row: &SigningKeyRow,
) -> Result<(), StoreError> {
    use dsms_store::schema::signing_keys as keys;
    diesel::insert_into(keys::table)
        .values((
            keys::kid.eq(&row.kid),
            keys::secret_sealed.eq(row.secret_sealed.as_deref()),
            keys::created_at.eq(row.created_at),
            keys::retired_at.eq(row.retired_at),
        ))
        .execute(conn)?;
    Ok(())
}
