//! The SQL of incidents, in one place. Backend-specific SQL (full-text search) sits behind one
//! function per feature.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use dsms_core::{PageRequest, Principal};
use dsms_store::schema::{
    incident_comments, incident_details, incident_devices, incident_pauses, incidents,
    organisations, people,
};
use dsms_store::{DbBackend, DbConnection, Fixed, FixedExpr, StoreError, scoped};

/// An incident's queue-facing columns.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = incidents)]
#[diesel(treat_none_as_null = true)]
// Every Insertable here writes NULL for None, so PostgreSQL keeps its INSERT prepared (why:
// `dsms_store::Fixed`).
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct IncidentRow {
    pub id: i64,
    pub reference: String,
    pub organisation_id: i64,
    pub raised_by_kind: String,
    pub raised_by_id: i64,
    pub raised_by_name: String,
    pub channel: String,
    pub title: String,
    pub description: String,
    pub category: String,
    pub subcategory: Option<String>,
    pub impact: i32,
    pub urgency: i32,
    pub priority: i32,
    pub status: String,
    pub assignment_group: Option<String>,
    pub assignee_id: Option<i64>,
    pub resolution_code: Option<String>,
    pub major: bool,
    pub parent_id: Option<i64>,
    pub duplicate_of_id: Option<i64>,
    pub responded_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub response_due_at: Option<NaiveDateTime>,
    pub resolution_due_at: Option<NaiveDateTime>,
    pub response_at_risk_at: Option<NaiveDateTime>,
    pub resolution_at_risk_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// The rest of what is recorded about an incident.
#[derive(Debug, Clone, Default, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = incident_details)]
#[diesel(treat_none_as_null = true)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct DetailsRow {
    pub incident_id: i64,
    pub contact: Option<String>,
    pub region: Option<String>,
    pub fault_started_at: Option<NaiveDateTime>,
    pub message_ids: Option<String>,
    pub priority_reason: Option<String>,
    pub resolution_notes: Option<String>,
}

/// A period the resolution clock did not run.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = incident_pauses)]
pub(crate) struct PauseRow {
    pub started_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
}

/// A comment or work note.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = incident_comments)]
pub(crate) struct CommentRow {
    pub id: i64,
    pub author_kind: String,
    pub author_id: i64,
    pub author_name: String,
    pub body: String,
    pub internal: bool,
    pub created_at: NaiveDateTime,
}

/// Everything loaded for one incident.
pub(crate) struct Loaded {
    pub row: IncidentRow,
    pub details: DetailsRow,
    pub organisation_name: String,
    pub assignee_name: Option<String>,
    pub devices: Vec<String>,
    pub pauses: Vec<PauseRow>,
}

/// Records a new incident with the next id and the reference derived from it, which it sets in
/// `row`, and returns the id.
pub(crate) fn insert(
    conn: &mut DbConnection,
    row: &mut IncidentRow,
    details: DetailsRow,
    devices: &[String],
) -> Result<i64, StoreError> {
    let id = next_id(conn)?;
    row.id = id;
    row.reference = reference_of(id);
    diesel::insert_into(incidents::table)
        .values(&*row)
        .execute(conn)?;
    diesel::insert_into(incident_details::table)
        .values(DetailsRow {
            incident_id: id,
            ..details
        })
        .execute(conn)?;
    for device in devices {
        diesel::insert_into(incident_devices::table)
            .values((
                incident_devices::incident_id.eq(id),
                incident_devices::device_id.eq(device),
            ))
            .execute(conn)?;
    }
    Ok(id)
}

#[derive(QueryableByName)]
struct NextId {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The id the next incident gets, taken before its row is written so that the row carries its
/// reference from the start. Writing it afterwards was an `UPDATE` of an indexed column, which
/// on PostgreSQL writes a second version of the row into every one of the table's indexes.
/// SQLite units of work hold the write lock from `BEGIN IMMEDIATE`, so the next id after the
/// largest is the one SQLite itself would have chosen.
fn next_id(conn: &mut DbConnection) -> Result<i64, StoreError> {
    let sql = match conn {
        DbConnection::Sqlite(_) => "SELECT coalesce(max(id), 0) + 1 AS id FROM incidents",
        DbConnection::Pg(_) => "SELECT nextval(pg_get_serial_sequence('incidents', 'id')) AS id",
    };
    Ok(Fixed::<DbBackend>::new(sql).get_result::<NextId>(conn)?.id)
}

/// The human reference of incident `id`: derived from the id, so unique and never reused.
pub(crate) fn reference_of(id: i64) -> String {
    format!("INC{id:07}")
}

/// The id an incident reference names, if it is one.
pub(crate) fn id_of_reference(reference: &str) -> Option<i64> {
    reference
        .strip_prefix("INC")
        .filter(|digits| digits.len() >= 7 && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse().ok())
}

/// Loads an incident `principal` may see, or `NotFound`.
///
/// Lookups by key here use `get_result`, not `first`: `first` adds `LIMIT ?`, and SQLite plans
/// a bound LIMIT by its value, so it compiled such a cached statement again on every execution
/// (most of the instructions of a get by id, measured with callgrind).
pub(crate) fn load_visible(
    conn: &mut DbConnection,
    principal: &Principal,
    id: i64,
) -> Result<Loaded, StoreError> {
    read_one(conn, id, Some(principal))
}

/// Loads an incident for update, whoever may see it (the caller checked visibility).
pub(crate) fn load(conn: &mut DbConnection, id: i64) -> Result<Loaded, StoreError> {
    read_one(conn, id, None)
}

/// The incident, its details, both names, its devices and its pauses in one statement. One
/// statement reads one consistent snapshot, so a read by id needs no transaction around it, and
/// on PostgreSQL costs one round trip instead of five (`BEGIN`, three queries, `COMMIT`).
fn read_one(
    conn: &mut DbConnection,
    id: i64,
    principal: Option<&Principal>,
) -> Result<Loaded, StoreError> {
    let (devices_sql, pauses_sql) = related_as_json(conn);
    let query = incidents::table
        .inner_join(organisations::table)
        .left_join(incident_details::table)
        .left_join(people::table.on(incidents::assignee_id.eq(people::id.nullable())))
        .filter(incidents::id.eq(id))
        .select((
            IncidentRow::as_select(),
            Option::<DetailsRow>::as_select(),
            organisations::name,
            people::name.nullable(),
            FixedExpr::<Nullable<Text>>::new(devices_sql),
            FixedExpr::<Nullable<Text>>::new(pauses_sql),
        ))
        .into_boxed();
    let query = match principal {
        Some(principal) => scoped!(query, incidents::organisation_id, principal),
        None => query,
    };
    let (row, details, organisation_name, assignee_name, devices, pauses): (
        IncidentRow,
        Option<DetailsRow>,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    ) = query.get_result(conn)?;
    Ok(Loaded {
        details: details.unwrap_or_default(),
        organisation_name,
        assignee_name,
        devices: in_order(from_json(devices.as_deref())?),
        pauses: pauses_from_json(pauses.as_deref())?,
        row,
    })
}

/// The correlated subqueries that give an incident's devices and its pauses (oldest first) as
/// JSON arrays in the incident's own row; PostgreSQL's aggregate of no rows is NULL, SQLite's
/// is `[]`.
fn related_as_json(conn: &DbConnection) -> (&'static str, &'static str) {
    match conn {
        DbConnection::Sqlite(_) => (
            "(SELECT json_group_array(device_id) FROM incident_devices \
              WHERE incident_id = incidents.id)",
            "(SELECT json_group_array(json_array(started_at, ended_at) ORDER BY id) \
              FROM incident_pauses WHERE incident_id = incidents.id)",
        ),
        DbConnection::Pg(_) => (
            "(SELECT json_agg(device_id)::text FROM incident_devices \
              WHERE incident_id = incidents.id)",
            "(SELECT json_agg(json_build_array(started_at, ended_at) ORDER BY id)::text \
              FROM incident_pauses WHERE incident_id = incidents.id)",
        ),
    }
}

/// A JSON array from [`related_as_json`]; no array (PostgreSQL's aggregate of no rows) is empty.
fn from_json<T: serde::de::DeserializeOwned>(json: Option<&str>) -> Result<Vec<T>, StoreError> {
    json.map_or(Ok(Vec::new()), |json| {
        serde_json::from_str(json).map_err(unreadable)
    })
}

/// A value the database gave back in a shape this code cannot read: a bug, not the caller's.
fn unreadable(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::Database(diesel::result::Error::DeserializationError(e.into()))
}

/// Pauses from [`related_as_json`]: timestamps as each database writes them in JSON, with a `T`
/// (PostgreSQL) or a space (SQLite, as diesel stores them) between date and time.
fn pauses_from_json(json: Option<&str>) -> Result<Vec<PauseRow>, StoreError> {
    let timestamp = |text: &str| {
        text.replacen(' ', "T", 1)
            .parse::<NaiveDateTime>()
            .map_err(unreadable)
    };
    from_json::<(String, Option<String>)>(json)?
        .into_iter()
        .map(|(started_at, ended_at)| {
            Ok(PauseRow {
                started_at: timestamp(&started_at)?,
                ended_at: ended_at.as_deref().map(timestamp).transpose()?,
            })
        })
        .collect()
}

/// Device identifiers in the order every response lists them: by their bytes, whatever the
/// database's collation.
pub(crate) fn in_order(mut devices: Vec<String>) -> Vec<String> {
    devices.sort_unstable();
    devices
}

/// The pauses of an incident's resolution clock, oldest first.
pub(crate) fn pauses_of(conn: &mut DbConnection, id: i64) -> Result<Vec<PauseRow>, StoreError> {
    Ok(incident_pauses::table
        .filter(incident_pauses::incident_id.eq(id))
        .order(incident_pauses::id.asc())
        .select(PauseRow::as_select())
        .load(conn)?)
}

/// Writes an incident's changed columns if it is still at `expected` version.
pub(crate) fn update(
    conn: &mut DbConnection,
    row: &IncidentRow,
    details: &DetailsRow,
    expected: i64,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        incidents::table
            .filter(incidents::id.eq(row.id))
            .filter(incidents::version.eq(expected)),
    )
    .set(row)
    .execute(conn)?;
    if updated == 1 {
        diesel::update(incident_details::table.find(row.id))
            .set(details)
            .execute(conn)?;
    }
    Ok(updated == 1)
}

/// Opens a pause of the resolution clock.
pub(crate) fn open_pause(
    conn: &mut DbConnection,
    id: i64,
    reason: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(incident_pauses::table)
        .values((
            incident_pauses::incident_id.eq(id),
            incident_pauses::reason.eq(reason),
            incident_pauses::started_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a closed pause (e.g. the time an incident spent resolved before it was reopened).
pub(crate) fn closed_pause(
    conn: &mut DbConnection,
    id: i64,
    reason: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(incident_pauses::table)
        .values((
            incident_pauses::incident_id.eq(id),
            incident_pauses::reason.eq(reason),
            incident_pauses::started_at.eq(from),
            incident_pauses::ended_at.eq(Some(to)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Ends any open pause.
pub(crate) fn end_pauses(
    conn: &mut DbConnection,
    id: i64,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(
        incident_pauses::table
            .filter(incident_pauses::incident_id.eq(id))
            .filter(incident_pauses::ended_at.is_null()),
    )
    .set(incident_pauses::ended_at.eq(Some(at)))
    .execute(conn)?;
    Ok(())
}

/// Adds a comment or work note; returns its id.
#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_comment(
    conn: &mut DbConnection,
    incident_id: i64,
    author_kind: &str,
    author_id: i64,
    author_name: &str,
    body: &str,
    internal: bool,
    at: NaiveDateTime,
) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(incident_comments::table)
        .values((
            incident_comments::incident_id.eq(incident_id),
            incident_comments::author_kind.eq(author_kind),
            incident_comments::author_id.eq(author_id),
            incident_comments::author_name.eq(author_name),
            incident_comments::body.eq(body),
            incident_comments::internal.eq(internal),
            incident_comments::created_at.eq(at),
        ))
        .returning(incident_comments::id)
        .get_result(conn)?)
}

/// The comments of an incident, oldest first; work notes only when `with_internal`.
pub(crate) fn comments(
    conn: &mut DbConnection,
    incident_id: i64,
    with_internal: bool,
) -> Result<Vec<CommentRow>, StoreError> {
    let mut query = incident_comments::table
        .filter(incident_comments::incident_id.eq(incident_id))
        .into_boxed();
    if !with_internal {
        query = query.filter(incident_comments::internal.eq(false));
    }
    Ok(query
        .order(incident_comments::id.asc())
        .select(CommentRow::as_select())
        .load(conn)?)
}

/// What a list asks for, already validated.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListQuery {
    pub statuses: Vec<String>,
    pub priorities: Vec<i32>,
    pub category: Option<String>,
    pub organisation_id: Option<i64>,
    pub assignment_group: Option<String>,
    pub assignee_id: Option<i64>,
    pub unassigned: bool,
    pub major: Option<bool>,
    pub device: Option<String>,
    pub created_after: Option<NaiveDateTime>,
    pub created_before: Option<NaiveDateTime>,
    pub updated_after: Option<NaiveDateTime>,
    pub resolution_due_before: Option<NaiveDateTime>,
    pub search: Option<String>,
    pub newest_first: bool,
}

/// One page of the incidents `principal` may see that match `query`.
pub(crate) fn list(
    conn: &mut DbConnection,
    principal: &Principal,
    query: &ListQuery,
    page: PageRequest,
) -> Result<Vec<IncidentRow>, StoreError> {
    match &query.search {
        Some(text) => search(conn, principal, query, text, page),
        None => Ok(filtered(principal, query, page.after)
            .limit(page.fetch_limit())
            .select(IncidentRow::as_select())
            .load(conn)?),
    }
}

/// Implied by a filter on open statuses only, and written out exactly as the `incidents_open`
/// partial index's condition so both databases use that index (a bound `status IN (...)` cannot
/// prove it): open incidents are the newest 3 %, so the queues' "open, oldest first" would
/// otherwise read nearly every closed incident first.
const ONLY_OPEN: &str = "incidents.status NOT IN ('closed', 'cancelled')";

/// The incidents `principal` may see that pass every filter of `query` but the text search,
/// after the keyset cursor `after`, in key order.
fn filtered(
    principal: &Principal,
    query: &ListQuery,
    after: Option<i64>,
) -> incidents::BoxedQuery<'static, DbBackend> {
    let mut q = scoped!(
        incidents::table.into_boxed(),
        incidents::organisation_id,
        principal
    );
    if !query.statuses.is_empty() {
        q = q.filter(incidents::status.eq_any(query.statuses.clone()));
        let open = |s: &String| crate::lifecycle::Status::parse(s).is_some_and(|s| s.is_open());
        if query.statuses.iter().all(open) {
            q = q.filter(diesel::dsl::sql::<diesel::sql_types::Bool>(ONLY_OPEN));
        }
    }
    if !query.priorities.is_empty() {
        q = q.filter(incidents::priority.eq_any(query.priorities.clone()));
    }
    if let Some(c) = &query.category {
        q = q.filter(incidents::category.eq(c.clone()));
    }
    if let Some(o) = query.organisation_id {
        q = q.filter(incidents::organisation_id.eq(o));
    }
    if let Some(g) = &query.assignment_group {
        q = q.filter(incidents::assignment_group.eq(g.clone()));
    }
    if let Some(a) = query.assignee_id {
        q = q.filter(incidents::assignee_id.eq(a));
    }
    if query.unassigned {
        q = q.filter(incidents::assignee_id.is_null());
    }
    if let Some(m) = query.major {
        q = q.filter(incidents::major.eq(m));
    }
    if let Some(d) = &query.device {
        q = q.filter(
            incidents::id.eq_any(
                incident_devices::table
                    .filter(incident_devices::device_id.eq(d.clone()))
                    .select(incident_devices::incident_id),
            ),
        );
    }
    if let Some(t) = query.created_after {
        q = q.filter(incidents::created_at.ge(t));
    }
    if let Some(t) = query.created_before {
        q = q.filter(incidents::created_at.lt(t));
    }
    if let Some(t) = query.updated_after {
        q = q.filter(incidents::updated_at.ge(t));
    }
    if let Some(t) = query.resolution_due_before {
        q = q
            .filter(incidents::resolution_due_at.lt(t))
            .filter(incidents::resolved_at.is_null());
    }
    if let Some(after) = after {
        q = if query.newest_first {
            q.filter(incidents::id.lt(after))
        } else {
            q.filter(incidents::id.gt(after))
        };
    }
    if query.newest_first {
        q.order(incidents::id.desc())
    } else {
        q.order(incidents::id.asc())
    }
}

/// The most text matches one step of a search reads.
const SEARCH_WINDOW: i64 = 4_096;

/// How many text matches per row of the page a search reads before, the other filters having
/// turned most of them down, it walks the filtered incidents instead and probes each against the
/// text index.
const SEARCH_MATCHES_PER_ROW: i64 = 64;

/// One page of a text search. The text index hands out its matches in key order, so the page
/// is found by reading them window by window after the cursor and keeping those that pass the
/// other filters: a search never reads more matches than its page needs (a common word matches
/// a third of all incidents), where a filter on `IN (every match)` read them all first. Filters
/// that reject nearly every match switch to walking the filtered incidents after
/// [`SEARCH_MATCHES_PER_ROW`] matches per row wanted. An old reference (alias) adds at most one incident.
fn search(
    conn: &mut DbConnection,
    principal: &Principal,
    query: &ListQuery,
    text: &str,
    page: PageRequest,
) -> Result<Vec<IncidentRow>, StoreError> {
    let want = page.fetch_limit();
    let mut rows: Vec<IncidentRow> = Vec::new();
    let mut after = page.after;
    let mut window = want.clamp(1, SEARCH_WINDOW);
    let mut scanned = 0;
    loop {
        let ids = text_matches(conn, text, after, query.newest_first, window)?;
        let Some(&last) = ids.last() else { break };
        let exhausted = (ids.len() as i64) < window;
        scanned += ids.len() as i64;
        rows.extend(
            filtered(principal, query, None)
                .filter(incidents::id.eq_any(ids))
                .limit(want - rows.len() as i64)
                .select(IncidentRow::as_select())
                .load(conn)?,
        );
        if rows.len() as i64 >= want || exhausted {
            break;
        }
        after = Some(last);
        if scanned >= want * SEARCH_MATCHES_PER_ROW {
            rows.extend(
                filtered(principal, query, after)
                    .filter(contains_text(conn.backend(), text))
                    .limit(want - rows.len() as i64)
                    .select(IncidentRow::as_select())
                    .load(conn)?,
            );
            break;
        }
        window = (window * 4).min(SEARCH_WINDOW);
    }
    let aliased = filtered(principal, query, page.after)
        .filter(matches_alias(text))
        .select(IncidentRow::as_select())
        .first(conn)
        .optional()?;
    if let Some(row) = aliased.filter(|a| rows.iter().all(|r| r.id != a.id)) {
        rows.push(row);
        if query.newest_first {
            rows.sort_by_key(|r| std::cmp::Reverse(r.id));
        } else {
            rows.sort_by_key(|r| r.id);
        }
        rows.truncate(want as usize);
    }
    Ok(rows)
}

/// On PostgreSQL, how many search documents a text search walks in key order per match it wants
/// before it asks the GIN index instead, within [`PG_WALK_MIN`, `PG_WALK_MAX`]: about 25 ms of
/// walking, against a GIN bitmap's ~25 µs per match read.
const PG_WALK_PER_MATCH: i64 = 32;
/// See [`PG_WALK_PER_MATCH`].
const PG_WALK_MIN: i64 = 20_000;
/// See [`PG_WALK_PER_MATCH`].
const PG_WALK_MAX: i64 = 200_000;

/// An incident id read by raw SQL.
#[derive(QueryableByName)]
struct Hit {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Up to `limit` incidents whose title, description or public comments match `text`, after
/// `after` in key order (descending when `newest_first`): FTS5 on SQLite, a GIN-indexed
/// tsvector on PostgreSQL. Both read the matches in key order and stop at `limit`.
fn text_matches(
    conn: &mut DbConnection,
    text: &str,
    after: Option<i64>,
    newest_first: bool,
    limit: i64,
) -> Result<Vec<i64>, StoreError> {
    let (bound, order) = if newest_first {
        (after.unwrap_or(i64::MAX), ("<", "DESC"))
    } else {
        (after.unwrap_or(0), (">", "ASC"))
    };
    let hits: Vec<Hit> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(format!(
            "SELECT rowid AS id FROM incident_search WHERE incident_search MATCH ? \
             AND rowid {} ? ORDER BY rowid {} LIMIT ?",
            order.0, order.1
        ))
        .bind::<Text, _>(fts5_query(text))
        .bind::<BigInt, _>(bound)
        .bind::<BigInt, _>(limit)
        .load(c)?,
        DbConnection::Pg(c) => {
            // A GIN index cannot hand out matches in key order. Walking the key index and
            // testing each document finds a common word's first matches at once but reads the
            // whole table for a rare one (or for words that never occur together: the planner
            // multiplies their frequencies), and a GIN bitmap reads every match. So walk a
            // bounded stretch of keys first; only if that holds too few matches, ask the GIN
            // index for them, which is cheap exactly then: there are few.
            let walked: Vec<Hit> = diesel::sql_query(format!(
                "SELECT incident_id AS id FROM (SELECT incident_id, document FROM incident_search \
                 WHERE incident_id {op} $2 ORDER BY incident_id {dir} LIMIT $4) walked \
                 WHERE document @@ plainto_tsquery('english', $1) \
                 ORDER BY incident_id {dir} LIMIT $3",
                op = order.0,
                dir = order.1
            ))
            .bind::<Text, _>(text)
            .bind::<BigInt, _>(bound)
            .bind::<BigInt, _>(limit)
            .bind::<BigInt, _>((limit * PG_WALK_PER_MATCH).clamp(PG_WALK_MIN, PG_WALK_MAX))
            .load(c)?;
            if walked.len() as i64 == limit {
                walked
            } else {
                // `+ 0` keeps the planner off the key index this time.
                diesel::sql_query(format!(
                    "SELECT incident_id AS id FROM incident_search \
                     WHERE document @@ plainto_tsquery('english', $1) AND incident_id {op} $2 \
                     ORDER BY incident_id + 0 {dir} LIMIT $3",
                    op = order.0,
                    dir = order.1
                ))
                .bind::<Text, _>(text)
                .bind::<BigInt, _>(bound)
                .bind::<BigInt, _>(limit)
                .load(c)?
            }
        }
    };
    Ok(hits.into_iter().map(|h| h.id).collect())
}

/// Whether the incident in the outer query matches `text`, for plans driven by the other
/// filters: the matches are read once into a set each incident is looked up in. On SQLite the
/// unary `+` keeps the planner from driving the query from that set instead (a row read per
/// match, a third of the table for a common word) when an index serves the filters.
fn contains_text(
    backend: dsms_store::Backend,
    text: &str,
) -> Box<dyn BoxableExpression<incidents::table, DbBackend, SqlType = diesel::sql_types::Bool>> {
    let (open, query, close) = match backend {
        dsms_store::Backend::Sqlite => (
            "+incidents.id IN (SELECT rowid FROM incident_search WHERE incident_search MATCH ",
            fts5_query(text),
            ")",
        ),
        dsms_store::Backend::Postgres => (
            "incidents.id IN (SELECT incident_id FROM incident_search \
             WHERE document @@ plainto_tsquery('english', ",
            text.to_owned(),
            "))",
        ),
    };
    Box::new(
        diesel::dsl::sql::<diesel::sql_types::Bool>(open)
            .bind::<Text, _>(query)
            .sql(close),
    )
}

/// Every word quoted, so no input can be FTS5 syntax; all words must match.
pub(crate) fn fts5_query(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Rewrites the search entry of an incident.
pub(crate) fn index_for_search(
    conn: &mut DbConnection,
    id: i64,
    title: &str,
    description: &str,
    comments: &str,
) -> Result<(), StoreError> {
    match conn {
        DbConnection::Sqlite(c) => {
            Fixed::new("DELETE FROM incident_search WHERE rowid = ?")
                .bind::<BigInt, _>(id)
                .execute(c)?;
            Fixed::new(
                "INSERT INTO incident_search (rowid, title, description, comments) VALUES (?, ?, ?, ?)",
            )
            .bind::<BigInt, _>(id)
            .bind::<Text, _>(title)
            .bind::<Text, _>(description)
            .bind::<Text, _>(comments)
            .execute(c)?;
        }
        DbConnection::Pg(c) => {
            Fixed::new(
                "INSERT INTO incident_search (incident_id, document) VALUES (?, \
                 setweight(to_tsvector('english', ?), 'A') || to_tsvector('english', ?) || \
                 to_tsvector('english', ?)) \
                 ON CONFLICT (incident_id) DO UPDATE SET document = EXCLUDED.document",
            )
            .bind::<BigInt, _>(id)
            .bind::<Text, _>(title)
            .bind::<Text, _>(description)
            .bind::<Text, _>(comments)
            .execute(c)?;
        }
    }
    Ok(())
}

/// Completes a page of incidents with their details, devices, pauses and names, in five
/// queries whatever the page size.
pub(crate) fn complete_all(
    conn: &mut DbConnection,
    rows: Vec<IncidentRow>,
) -> Result<Vec<Loaded>, StoreError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let orgs: Vec<i64> = rows.iter().map(|r| r.organisation_id).collect();
    let assignees: Vec<i64> = rows.iter().filter_map(|r| r.assignee_id).collect();
    let details: Vec<DetailsRow> = incident_details::table
        .filter(incident_details::incident_id.eq_any(&ids))
        .select(DetailsRow::as_select())
        .load(conn)?;
    let devices: Vec<(i64, String)> = incident_devices::table
        .filter(incident_devices::incident_id.eq_any(&ids))
        .order((incident_devices::incident_id, incident_devices::device_id))
        .select((incident_devices::incident_id, incident_devices::device_id))
        .load(conn)?;
    let pauses: Vec<(i64, PauseRow)> = incident_pauses::table
        .filter(incident_pauses::incident_id.eq_any(&ids))
        .order(incident_pauses::id.asc())
        .select((incident_pauses::incident_id, PauseRow::as_select()))
        .load(conn)?;
    let org_names: Vec<(i64, String)> = organisations::table
        .filter(organisations::id.eq_any(orgs))
        .select((organisations::id, organisations::name))
        .load(conn)?;
    let person_names: Vec<(i64, String)> = if assignees.is_empty() {
        Vec::new()
    } else {
        people::table
            .filter(people::id.eq_any(assignees))
            .select((people::id, people::name))
            .load(conn)?
    };
    let name_of = |names: &[(i64, String)], id: i64| {
        names.iter().find(|(k, _)| *k == id).map(|(_, n)| n.clone())
    };
    Ok(rows
        .into_iter()
        .map(|row| Loaded {
            details: details
                .iter()
                .find(|d| d.incident_id == row.id)
                .cloned()
                .unwrap_or_default(),
            organisation_name: name_of(&org_names, row.organisation_id).unwrap_or_default(),
            assignee_name: row.assignee_id.and_then(|a| name_of(&person_names, a)),
            devices: devices
                .iter()
                .filter(|(id, _)| *id == row.id)
                .map(|(_, d)| d.clone())
                .collect(),
            pauses: pauses
                .iter()
                .filter(|(id, _)| *id == row.id)
                .map(|(_, p)| p.clone())
                .collect(),
            row,
        })
        .collect())
}

/// An SLA clock that has crossed its at-risk or due instant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Crossing {
    pub incident_id: i64,
    pub clock: &'static str,
    pub kind: &'static str,
}

/// Running clocks that have crossed a threshold whose event is not yet recorded.
pub(crate) fn sla_crossings(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<Crossing>, StoreError> {
    use dsms_store::schema::incident_sla_events as events;
    let not_fired = |clock: &'static str, kind: &'static str| {
        diesel::dsl::not(diesel::dsl::exists(
            events::table
                .filter(events::incident_id.eq(incidents::id))
                .filter(events::clock.eq(clock))
                .filter(events::kind.eq(kind)),
        ))
    };
    let mut out = Vec::new();
    let mut add = |ids: Vec<i64>, clock: &'static str, kind: &'static str| {
        out.extend(ids.into_iter().map(|incident_id| Crossing {
            incident_id,
            clock,
            kind,
        }));
    };
    let open = incidents::closed_at.is_null();
    add(
        incidents::table
            .filter(open)
            .filter(incidents::responded_at.is_null())
            .filter(incidents::response_due_at.le(now))
            .filter(not_fired("response", "breached"))
            .select(incidents::id)
            .limit(limit)
            .load(conn)?,
        "response",
        "breached",
    );
    add(
        incidents::table
            .filter(open)
            .filter(incidents::responded_at.is_null())
            .filter(incidents::response_at_risk_at.le(now))
            .filter(not_fired("response", "at_risk"))
            .select(incidents::id)
            .limit(limit)
            .load(conn)?,
        "response",
        "at_risk",
    );
    add(
        incidents::table
            .filter(open)
            .filter(incidents::resolved_at.is_null())
            .filter(incidents::resolution_due_at.le(now))
            .filter(not_fired("resolution", "breached"))
            .select(incidents::id)
            .limit(limit)
            .load(conn)?,
        "resolution",
        "breached",
    );
    add(
        incidents::table
            .filter(open)
            .filter(incidents::resolved_at.is_null())
            .filter(incidents::resolution_at_risk_at.le(now))
            .filter(not_fired("resolution", "at_risk"))
            .select(incidents::id)
            .limit(limit)
            .load(conn)?,
        "resolution",
        "at_risk",
    );
    Ok(out)
}

/// Records that an SLA event fired; false when it already had (another instance got there
/// first). A savepoint keeps the refused insert from spoiling the surrounding transaction.
pub(crate) fn record_sla_event(
    conn: &mut DbConnection,
    incident_id: i64,
    clock: &str,
    kind: &str,
    at: NaiveDateTime,
) -> Result<bool, StoreError> {
    use dsms_store::schema::incident_sla_events as events;
    let inserted = conn.transaction(|c| {
        diesel::insert_into(events::table)
            .values((
                events::incident_id.eq(incident_id),
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

/// Resolved incidents, oldest resolution first, for automatic closure.
pub(crate) fn resolved(
    conn: &mut DbConnection,
    limit: i64,
) -> Result<Vec<IncidentRow>, StoreError> {
    // Written out as the `incidents_resolved` partial index's condition: a bound status
    // cannot prove it in PostgreSQL's generic plan of a prepared statement.
    Ok(incidents::table
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "incidents.status = 'resolved'",
        ))
        .order(incidents::resolved_at.asc())
        .limit(limit)
        .select(IncidentRow::as_select())
        .load(conn)?)
}

/// Whether a person exists, is active and works for the operator (may be assigned incidents).
pub(crate) fn assignable(
    conn: &mut DbConnection,
    person_id: i64,
) -> Result<Option<String>, StoreError> {
    Ok(people::table
        .inner_join(organisations::table)
        .filter(people::id.eq(person_id))
        .filter(people::status.eq("active"))
        .filter(organisations::kind.eq("operator"))
        .select(people::name)
        .first(conn)
        .optional()?)
}

/// The name of an organisation, if it exists and is active.
pub(crate) fn active_organisation_name(
    conn: &mut DbConnection,
    id: i64,
) -> Result<Option<String>, StoreError> {
    Ok(organisations::table
        .find(id)
        .select((organisations::name, organisations::status))
        .get_result::<(String, String)>(conn)
        .optional()?
        .and_then(|(name, status)| (status == "active").then_some(name)))
}

/// The incident an old reference (kept by `dsms import`) names, with the digest of the row it
/// was imported from.
pub(crate) fn alias(
    conn: &mut DbConnection,
    alias: &str,
) -> Result<Option<(i64, String)>, StoreError> {
    use dsms_store::schema::incident_aliases as aliases;
    Ok(aliases::table
        .find(alias)
        .select((aliases::incident_id, aliases::row_digest))
        .first(conn)
        .optional()?)
}

/// Keeps an imported incident's old reference.
pub(crate) fn insert_alias(
    conn: &mut DbConnection,
    alias: &str,
    incident_id: i64,
    source: &str,
    digest: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    use dsms_store::schema::incident_aliases as aliases;
    diesel::insert_into(aliases::table)
        .values((
            aliases::alias.eq(alias),
            aliases::incident_id.eq(incident_id),
            aliases::source.eq(source),
            aliases::row_digest.eq(digest),
            aliases::imported_at.eq(at),
            aliases::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records that an imported incident was rewritten from a changed row.
pub(crate) fn update_alias(
    conn: &mut DbConnection,
    alias: &str,
    digest: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    use dsms_store::schema::incident_aliases as aliases;
    diesel::update(aliases::table.find(alias))
        .set((aliases::row_digest.eq(digest), aliases::updated_at.eq(at)))
        .execute(conn)?;
    Ok(())
}

/// Incidents whose old reference is `text` (searched alongside the words of `q=`).
fn matches_alias(
    text: &str,
) -> Box<dyn BoxableExpression<incidents::table, DbBackend, SqlType = diesel::sql_types::Bool>> {
    use dsms_store::schema::incident_aliases as aliases;
    Box::new(
        incidents::id.eq_any(
            aliases::table
                .filter(aliases::alias.eq(crate::historic::normalise_alias(text)))
                .select(aliases::incident_id),
        ),
    )
}

/// Replaces the affected devices of an incident.
pub(crate) fn replace_devices(
    conn: &mut DbConnection,
    incident_id: i64,
    devices: &[String],
) -> Result<(), StoreError> {
    diesel::delete(incident_devices::table.filter(incident_devices::incident_id.eq(incident_id)))
        .execute(conn)?;
    for device in devices {
        diesel::insert_into(incident_devices::table)
            .values((
                incident_devices::incident_id.eq(incident_id),
                incident_devices::device_id.eq(device),
            ))
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
    use dsms_store::schema::imported_comments as imported;
    Ok(imported::table
        .find((source, external_id))
        .select((imported::comment_id, imported::row_digest))
        .first(conn)
        .optional()?)
}

/// Remembers which comment an imported note became.
pub(crate) fn insert_imported_comment(
    conn: &mut DbConnection,
    source: &str,
    external_id: &str,
    digest: &str,
    comment_id: i64,
) -> Result<(), StoreError> {
    use dsms_store::schema::imported_comments as imported;
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

/// Records that an imported note was rewritten from a changed row.
pub(crate) fn update_imported_comment(
    conn: &mut DbConnection,
    source: &str,
    external_id: &str,
    digest: &str,
) -> Result<(), StoreError> {
    use dsms_store::schema::imported_comments as imported;
    diesel::update(imported::table.find((source, external_id)))
        .set(imported::row_digest.eq(digest))
        .execute(conn)?;
    Ok(())
}

/// Rewrites an imported note from its changed row.
pub(crate) fn rewrite_comment(
    conn: &mut DbConnection,
    id: i64,
    incident_id: i64,
    author: &crate::model::Raiser,
    body: &str,
    internal: bool,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(incident_comments::table.find(id))
        .set((
            incident_comments::incident_id.eq(incident_id),
            incident_comments::author_kind.eq(&author.kind),
            incident_comments::author_id.eq(author.id),
            incident_comments::author_name.eq(&author.name),
            incident_comments::body.eq(body),
            incident_comments::internal.eq(internal),
            incident_comments::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_read_back_as_either_database_writes_them_in_json() {
        let at = |text: &str| NaiveDateTime::parse_from_str(text, "%F %T%.f").unwrap();
        let sqlite =
            r#"[["2026-11-30 10:00:00","2026-12-01 10:00:00.25"],["2026-12-02 09:00:00",null]]"#;
        let postgres =
            r#"[["2026-11-30T10:00:00", "2026-12-01T10:00:00.25"], ["2026-12-02T09:00:00", null]]"#;
        for json in [sqlite, postgres] {
            let pauses = pauses_from_json(Some(json)).unwrap();
            let read: Vec<_> = pauses.iter().map(|p| (p.started_at, p.ended_at)).collect();
            assert_eq!(
                read,
                [
                    (
                        at("2026-11-30 10:00:00"),
                        Some(at("2026-12-01 10:00:00.25"))
                    ),
                    (at("2026-12-02 09:00:00"), None),
                ]
            );
        }
        assert!(pauses_from_json(None).unwrap().is_empty());
        assert!(pauses_from_json(Some("[]")).unwrap().is_empty());
        assert!(pauses_from_json(Some(r#"[["yesterday",null]]"#)).is_err());
    }

    #[test]
    fn references_are_derived_from_ids_and_round_trip() {
        assert_eq!(reference_of(42), "INC0000042");
        assert_eq!(id_of_reference("INC0000042"), Some(42));
        assert_eq!(reference_of(12_345_678), "INC12345678");
        assert_eq!(id_of_reference("INC12345678"), Some(12_345_678));
        assert_eq!(id_of_reference("INC42"), None);
        assert_eq!(id_of_reference("REQ0000042"), None);
    }

    #[test]
    fn the_open_condition_names_every_status_that_is_not_open() {
        use crate::lifecycle::Status;
        let not_open: Vec<String> = Status::ALL
            .iter()
            .filter(|s| !s.is_open())
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        assert_eq!(
            ONLY_OPEN,
            format!("incidents.status NOT IN ({})", not_open.join(", "))
        );
    }

    #[test]
    fn search_text_cannot_inject_fts_syntax() {
        assert_eq!(
            fts5_query("hub \"offline\" OR NEAR(x"),
            "\"hub\" \"offline\" \"OR\" \"NEAR\" \"x\""
        );
        assert_eq!(fts5_query("  "), "");
    }
}
