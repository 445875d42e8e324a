//! The SQL of reports, in one place: keeping the per-incident facts up to date, the aggregates
//! each report reads, diagnostics, the device inventory and report subscriptions. Every query of
//! organisation-owned rows is scoped to what the caller may see.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::{count_star, max, sql};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use diesel::upsert::excluded;
use dsms_core::Principal;
use dsms_store::schema::{
    incident_details, incident_devices, incident_pauses, incidents, network_devices, organisations,
    people, person_roles, report_deliveries, report_incident_facts as facts, report_subscriptions,
};
use dsms_store::{DbBackend, DbConnection, StoreError, scoped};

use crate::facts::{IncidentFacts, IncidentSource, Pause};
use crate::histogram::schema::report_duration_histogram as histogram_t;
use crate::histogram::{self, Clock, bucket_of};
use crate::params::{Dimension, ReportParams};
use crate::rollup::schema::report_rollup as rollup_t;
use crate::rollup::{self, Contributor, Span, Totals};

/// Inserts `rows` in one statement. Multi-row inserts are not part of what diesel's
/// multi-backend connection speaks, so each backend gets the statement in its own dialect.
macro_rules! insert_many {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            DbConnection::Pg(c) => diesel::insert_into($table).values($rows).execute(c),
            DbConnection::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
        }
    };
}

/// Runs the upsert that `$upsert!` builds over `rows`: PostgreSQL takes 500 rows per statement,
/// which saves round trips to the server; diesel has no multi-row upsert for SQLite, where a
/// statement per row costs no round trip.
macro_rules! upsert_rows {
    ($conn:expr, $rows:expr, $upsert:ident) => {
        match $conn {
            DbConnection::Pg(c) => {
                for chunk in $rows.chunks(500) {
                    $upsert!(chunk).execute(c)?;
                }
            }
            DbConnection::Sqlite(c) => {
                for row in $rows.iter() {
                    $upsert!(row).execute(c)?;
                }
            }
        }
    };
}

/// Statuses of incidents not yet resolved: the backlog.
pub(crate) const OPEN_STATUSES: &[&str] = &["new", "assigned", "in_progress", "awaiting_user"];

#[derive(Insertable)]
#[diesel(table_name = facts)]
#[diesel(treat_none_as_default_value = false)]
struct FactsRow<'a> {
    incident_id: i64,
    organisation_id: i64,
    priority: i32,
    category: &'a str,
    assignment_group: Option<&'a str>,
    created_on: NaiveDate,
    resolved_on: Option<NaiveDate>,
    response_seconds: Option<i64>,
    response_met: Option<bool>,
    resolution_seconds: Option<i64>,
    resolution_met: Option<bool>,
    reopened: bool,
    source_version: i64,
    source_updated_at: NaiveDateTime,
    response_bucket: Option<i32>,
    resolution_bucket: Option<i32>,
}

/// An incident's columns the facts are computed from, as loaded.
type SourceRow = (
    i64,
    i64,
    i32,
    String,
    Option<String>,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    i64,
    NaiveDateTime,
);

/// The last incident change the facts have caught up with.
pub(crate) fn facts_watermark(
    conn: &mut DbConnection,
) -> Result<Option<NaiveDateTime>, StoreError> {
    Ok(facts::table
        .select(max(facts::source_updated_at))
        .first(conn)?)
}

/// Incidents changed at or after `since` whose facts are missing or out of date, oldest
/// change first.
pub(crate) fn stale_incidents(
    conn: &mut DbConnection,
    since: Option<NaiveDateTime>,
    limit: i64,
) -> Result<Vec<IncidentSource>, StoreError> {
    let mut query = incidents::table
        .left_join(facts::table)
        .filter(
            facts::incident_id
                .is_null()
                .or(facts::source_version.ne(incidents::version)),
        )
        .into_boxed();
    if let Some(since) = since {
        query = query.filter(incidents::updated_at.ge(since));
    }
    let rows: Vec<SourceRow> = query
        .order((incidents::updated_at.asc(), incidents::id.asc()))
        .limit(limit)
        .select((
            incidents::id,
            incidents::organisation_id,
            incidents::priority,
            incidents::category,
            incidents::assignment_group,
            incidents::status,
            incidents::created_at,
            incidents::responded_at,
            incidents::resolved_at,
            incidents::version,
            incidents::updated_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| IncidentSource {
            id: r.0,
            organisation_id: r.1,
            priority: r.2,
            category: r.3,
            assignment_group: r.4,
            status: r.5,
            created_at: r.6,
            responded_at: r.7,
            resolved_at: r.8,
            version: r.9,
            updated_at: r.10,
        })
        .collect())
}

/// The pauses of incidents `ids`.
pub(crate) fn pauses_of(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<(i64, Pause)>, StoreError> {
    let rows: Vec<(i64, String, NaiveDateTime, Option<NaiveDateTime>)> = incident_pauses::table
        .filter(incident_pauses::incident_id.eq_any(ids))
        .order((incident_pauses::incident_id, incident_pauses::id))
        .select((
            incident_pauses::incident_id,
            incident_pauses::reason,
            incident_pauses::started_at,
            incident_pauses::ended_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, reason, started_at, ended_at)| {
            (
                id,
                Pause {
                    reason,
                    started_at,
                    ended_at,
                },
            )
        })
        .collect())
}

/// An old fact as deleted, with what the report totals counted of it.
type RemovedFact = (
    i64,
    i32,
    String,
    Option<String>,
    NaiveDate,
    Option<NaiveDate>,
    Option<i64>,
    Option<i64>,
    Option<bool>,
    bool,
);

fn contributor(f: &IncidentFacts) -> Contributor {
    Contributor {
        organisation_id: f.organisation_id,
        priority: f.priority,
        category: f.category.clone(),
        assignment_group: f.assignment_group.clone(),
        created_on: f.created_on,
        resolved_on: f.resolved_on,
        response_seconds: f.response_seconds,
        resolution_seconds: f.resolution_seconds,
        resolution_met: f.resolution_met,
        reopened: f.reopened,
    }
}

/// Replaces the facts of the incidents in `all`, and moves the report totals and duration
/// histograms by the difference between the facts removed and those added (in the caller's
/// transaction, so totals, histograms and facts never disagree).
pub(crate) fn replace_facts(
    conn: &mut DbConnection,
    all: &[IncidentFacts],
) -> Result<(), StoreError> {
    let ids: Vec<i64> = all.iter().map(|f| f.incident_id).collect();
    let removed: Vec<RemovedFact> =
        diesel::delete(facts::table.filter(facts::incident_id.eq_any(&ids)))
            .returning((
                facts::organisation_id,
                facts::priority,
                facts::category,
                facts::assignment_group,
                facts::created_on,
                facts::resolved_on,
                facts::response_seconds,
                facts::resolution_seconds,
                facts::resolution_met,
                facts::reopened,
            ))
            .get_results(conn)?;
    let removed: Vec<Contributor> = removed
        .into_iter()
        .map(|r| Contributor {
            organisation_id: r.0,
            priority: r.1,
            category: r.2,
            assignment_group: r.3,
            created_on: r.4,
            resolved_on: r.5,
            response_seconds: r.6,
            resolution_seconds: r.7,
            resolution_met: r.8,
            reopened: r.9,
        })
        .collect();
    let rows: Vec<FactsRow<'_>> = all
        .iter()
        .map(|f| FactsRow {
            incident_id: f.incident_id,
            organisation_id: f.organisation_id,
            priority: f.priority,
            category: &f.category,
            assignment_group: f.assignment_group.as_deref(),
            created_on: f.created_on,
            resolved_on: f.resolved_on,
            response_seconds: f.response_seconds,
            response_met: f.response_met,
            resolution_seconds: f.resolution_seconds,
            resolution_met: f.resolution_met,
            reopened: f.reopened,
            source_version: f.source_version,
            source_updated_at: f.source_updated_at,
            response_bucket: f.response_seconds.map(bucket_of),
            resolution_bucket: f.resolution_seconds.map(bucket_of),
        })
        .collect();
    // Well under SQLite's limit of bound values per statement.
    for chunk in rows.chunks(500) {
        insert_many!(conn, facts::table, chunk)?;
    }
    let added: Vec<Contributor> = all.iter().map(contributor).collect();
    let change = rollup::delta(&removed, &added);
    let rows: Vec<RollupRow<'_>> = change
        .iter()
        .map(|(key, t)| RollupRow {
            grain: key.grain,
            period_start: key.period_start,
            organisation_id: key.organisation_id,
            priority: key.priority,
            category: &key.category,
            assignment_group: &key.assignment_group,
            raised: t.raised,
            resolved: t.resolved,
            resolution_met: t.resolution_met,
            reopened: t.reopened,
            response_count: t.response_count,
            response_seconds: t.response_seconds,
            resolution_count: t.resolution_count,
            resolution_seconds: t.resolution_seconds,
        })
        .collect();
    // Adds to a row, or inserts it when new.
    macro_rules! upsert {
        ($values:expr) => {
            diesel::insert_into(rollup_t::table)
                .values($values)
                .on_conflict((
                    rollup_t::grain,
                    rollup_t::period_start,
                    rollup_t::organisation_id,
                    rollup_t::priority,
                    rollup_t::category,
                    rollup_t::assignment_group,
                ))
                .do_update()
                .set((
                    rollup_t::raised.eq(rollup_t::raised + excluded(rollup_t::raised)),
                    rollup_t::resolved.eq(rollup_t::resolved + excluded(rollup_t::resolved)),
                    rollup_t::resolution_met
                        .eq(rollup_t::resolution_met + excluded(rollup_t::resolution_met)),
                    rollup_t::reopened.eq(rollup_t::reopened + excluded(rollup_t::reopened)),
                    rollup_t::response_count
                        .eq(rollup_t::response_count + excluded(rollup_t::response_count)),
                    rollup_t::response_seconds
                        .eq(rollup_t::response_seconds + excluded(rollup_t::response_seconds)),
                    rollup_t::resolution_count
                        .eq(rollup_t::resolution_count + excluded(rollup_t::resolution_count)),
                    rollup_t::resolution_seconds
                        .eq(rollup_t::resolution_seconds + excluded(rollup_t::resolution_seconds)),
                ))
        };
    }
    upsert_rows!(conn, rows, upsert);
    add_to_histogram(conn, &histogram::delta(&removed, &added))
}

#[derive(Insertable)]
#[diesel(table_name = histogram_t)]
#[diesel(treat_none_as_default_value = false)]
struct HistogramRow {
    grain: &'static str,
    period_start: NaiveDate,
    priority: i32,
    clock: &'static str,
    bucket: i32,
    incidents: i64,
}

/// Adds `change` to the bucket counts, inserting the rows that are new.
fn add_to_histogram(
    conn: &mut DbConnection,
    change: &[(histogram::Key, i64)],
) -> Result<(), StoreError> {
    let rows: Vec<HistogramRow> = change
        .iter()
        .map(|(key, n)| HistogramRow {
            grain: key.grain,
            period_start: key.period_start,
            priority: key.priority,
            clock: key.clock.as_str(),
            bucket: key.bucket,
            incidents: *n,
        })
        .collect();
    macro_rules! upsert {
        ($values:expr) => {
            diesel::insert_into(histogram_t::table)
                .values($values)
                .on_conflict((
                    histogram_t::grain,
                    histogram_t::period_start,
                    histogram_t::priority,
                    histogram_t::clock,
                    histogram_t::bucket,
                ))
                .do_update()
                .set(
                    histogram_t::incidents
                        .eq(histogram_t::incidents + excluded(histogram_t::incidents)),
                )
        };
    }
    upsert_rows!(conn, rows, upsert);
    Ok(())
}

#[derive(Insertable)]
#[diesel(table_name = rollup_t)]
#[diesel(treat_none_as_default_value = false)]
struct RollupRow<'a> {
    grain: &'a str,
    period_start: NaiveDate,
    organisation_id: i64,
    priority: i32,
    category: &'a str,
    assignment_group: &'a str,
    raised: i64,
    resolved: i64,
    resolution_met: i64,
    reopened: i64,
    response_count: i64,
    response_seconds: i64,
    resolution_count: i64,
    resolution_seconds: i64,
}

/// A condition on the facts table.
type FactCondition = Box<dyn BoxableExpression<facts::table, DbBackend, SqlType = Bool>>;

/// The facts the caller may see, narrowed by the report's filters. The tenant rule of
/// `scoped!` is applied as a condition: organisations see only their own rows, operator staff
/// every row.
fn scoped_facts(principal: &Principal, params: &ReportParams) -> FactCondition {
    let mut condition: FactCondition = Box::new(true.into_sql::<Bool>());
    for organisation in [principal.visible_organisation(), params.organisation_id]
        .into_iter()
        .flatten()
    {
        condition = Box::new(condition.and(facts::organisation_id.eq(organisation)));
    }
    if let Some(priority) = params.priority {
        condition = Box::new(condition.and(facts::priority.eq(priority)));
    }
    if let Some(category) = params.category.clone() {
        condition = Box::new(condition.and(facts::category.eq(category)));
    }
    if let Some(group) = params.group.clone() {
        condition = Box::new(condition.and(facts::assignment_group.eq(group).assume_not_null()));
    }
    condition
}

/// A condition on the report totals.
type RollupCondition = Box<dyn BoxableExpression<rollup_t::table, DbBackend, SqlType = Bool>>;

/// The report totals of `span` the caller may see, narrowed by the report's filters (the
/// tenant rule as in [`scoped_facts`]). One span per query, so each is one range of the key.
fn scoped_rollup(principal: &Principal, params: &ReportParams, span: Span) -> RollupCondition {
    let mut condition: RollupCondition = Box::new(
        rollup_t::grain
            .eq(span.grain)
            .and(rollup_t::period_start.between(span.first, span.last)),
    );
    for organisation in [principal.visible_organisation(), params.organisation_id]
        .into_iter()
        .flatten()
    {
        condition = Box::new(condition.and(rollup_t::organisation_id.eq(organisation)));
    }
    if let Some(priority) = params.priority {
        condition = Box::new(condition.and(rollup_t::priority.eq(priority)));
    }
    if let Some(category) = params.category.clone() {
        condition = Box::new(condition.and(rollup_t::category.eq(category)));
    }
    if let Some(group) = params.group.clone() {
        condition = Box::new(condition.and(rollup_t::assignment_group.eq(group)));
    }
    condition
}

/// Report totals of one period start (a day, or a month's first day), priority and, when
/// asked for, value of another dimension (as text; none for no resolver group).
#[derive(Debug, Clone)]
pub(crate) struct PeriodTotals {
    pub period_start: NaiveDate,
    pub priority: i32,
    pub value: Option<String>,
    pub totals: Totals,
}

/// The eight sums of a group of total rows, as `BIGINT` on both databases (PostgreSQL's own
/// `SUM` of a `BIGINT` is a `NUMERIC`).
macro_rules! sums {
    () => {
        (
            sql::<BigInt>("CAST(SUM(raised) AS BIGINT)"),
            sql::<BigInt>("CAST(SUM(resolved) AS BIGINT)"),
            sql::<BigInt>("CAST(SUM(resolution_met) AS BIGINT)"),
            sql::<BigInt>("CAST(SUM(reopened) AS BIGINT)"),
            sql::<BigInt>("CAST(SUM(response_count) AS BIGINT)"),
            sql::<BigInt>("CAST(SUM(response_seconds) AS BIGINT)"),
            sql::<BigInt>("CAST(SUM(resolution_count) AS BIGINT)"),
            sql::<BigInt>("CAST(SUM(resolution_seconds) AS BIGINT)"),
        )
    };
}

type Sums = (i64, i64, i64, i64, i64, i64, i64, i64);

fn totals(s: Sums) -> Totals {
    Totals {
        raised: s.0,
        resolved: s.1,
        resolution_met: s.2,
        reopened: s.3,
        response_count: s.4,
        response_seconds: s.5,
        resolution_count: s.6,
        resolution_seconds: s.7,
    }
}

/// The report totals over the period per period start and priority, and per value of `by`
/// too when given (priority needs no more). Whole months inside the period are read from
/// month rows when the report counts per month, the rest from day rows.
pub(crate) fn period_totals(
    conn: &mut DbConnection,
    principal: &Principal,
    params: &ReportParams,
    by: Option<Dimension>,
) -> Result<Vec<PeriodTotals>, StoreError> {
    let mut out = Vec::new();
    for span in rollup::spans(params.from, params.to, params.granularity) {
        out.extend(span_totals(conn, principal, params, by, span)?);
    }
    Ok(out)
}

fn span_totals(
    conn: &mut DbConnection,
    principal: &Principal,
    params: &ReportParams,
    by: Option<Dimension>,
    span: Span,
) -> Result<Vec<PeriodTotals>, StoreError> {
    let query = rollup_t::table.filter(scoped_rollup(principal, params, span));
    let row = |period_start, priority, value, sums| PeriodTotals {
        period_start,
        priority,
        value,
        totals: totals(sums),
    };
    Ok(match by {
        None | Some(Dimension::Priority) => query
            .group_by((rollup_t::period_start, rollup_t::priority))
            .select((rollup_t::period_start, rollup_t::priority, sums!()))
            .load::<(NaiveDate, i32, Sums)>(conn)?
            .into_iter()
            .map(|(d, p, s)| row(d, p, None, s))
            .collect(),
        Some(Dimension::Category) => query
            .group_by((
                rollup_t::period_start,
                rollup_t::priority,
                rollup_t::category,
            ))
            .select((
                rollup_t::period_start,
                rollup_t::priority,
                rollup_t::category,
                sums!(),
            ))
            .load::<(NaiveDate, i32, String, Sums)>(conn)?
            .into_iter()
            .map(|(d, p, v, s)| row(d, p, Some(v), s))
            .collect(),
        Some(Dimension::Group) => query
            .group_by((
                rollup_t::period_start,
                rollup_t::priority,
                rollup_t::assignment_group,
            ))
            .select((
                rollup_t::period_start,
                rollup_t::priority,
                rollup_t::assignment_group,
                sums!(),
            ))
            .load::<(NaiveDate, i32, String, Sums)>(conn)?
            .into_iter()
            .map(|(d, p, v, s)| row(d, p, Some(v).filter(|v| !v.is_empty()), s))
            .collect(),
        Some(Dimension::Organisation) => query
            .group_by((
                rollup_t::period_start,
                rollup_t::priority,
                rollup_t::organisation_id,
            ))
            .select((
                rollup_t::period_start,
                rollup_t::priority,
                rollup_t::organisation_id,
                sums!(),
            ))
            .load::<(NaiveDate, i32, i64, Sums)>(conn)?
            .into_iter()
            .map(|(d, p, v, s)| row(d, p, Some(v.to_string()), s))
            .collect(),
    })
}

/// How many resolved incidents' `clock` times fall in each bucket, per period start (a day,
/// or a month's first day), priority and bucket, over the report's days, of the incidents the
/// caller may see under the report's filters. Operator staff's figures over every organisation
/// (the usual monthly report) come from the kept histogram; an organisation's, or a category's
/// or group's, are counted from the facts, one pass for every cell.
pub(crate) fn bucket_counts(
    conn: &mut DbConnection,
    principal: &Principal,
    params: &ReportParams,
    clock: Clock,
) -> Result<Vec<(NaiveDate, i32, i32, i64)>, StoreError> {
    let whole_network = principal.visible_organisation().is_none()
        && params.organisation_id.is_none()
        && params.category.is_none()
        && params.group.is_none();
    if whole_network {
        let mut out = Vec::new();
        for span in rollup::spans(params.from, params.to, params.granularity) {
            let mut query = histogram_t::table
                .filter(histogram_t::grain.eq(span.grain))
                .filter(histogram_t::period_start.between(span.first, span.last))
                .filter(histogram_t::clock.eq(clock.as_str()))
                .filter(histogram_t::incidents.ne(0))
                .into_boxed();
            if let Some(priority) = params.priority {
                query = query.filter(histogram_t::priority.eq(priority));
            }
            out.extend(
                query
                    .select((
                        histogram_t::period_start,
                        histogram_t::priority,
                        histogram_t::bucket,
                        histogram_t::incidents,
                    ))
                    .load::<(NaiveDate, i32, i32, i64)>(conn)?,
            );
        }
        return Ok(out);
    }
    let query = facts::table
        .filter(scoped_facts(principal, params))
        .filter(facts::resolved_on.between(params.from, params.to));
    let rows: Vec<(Option<NaiveDate>, i32, Option<i32>, i64)> = match clock {
        Clock::Response => query
            .filter(facts::response_bucket.is_not_null())
            // In the order of the organisation's, category's and group's bucket indexes, so the
            // count streams from one of them.
            .group_by((facts::priority, facts::response_bucket, facts::resolved_on))
            .select((
                facts::resolved_on,
                facts::priority,
                facts::response_bucket,
                count_star(),
            ))
            .load(conn)?,
        Clock::Resolution => query
            .filter(facts::resolution_bucket.is_not_null())
            .group_by((
                facts::priority,
                facts::resolution_bucket,
                facts::resolved_on,
            ))
            .select((
                facts::resolved_on,
                facts::priority,
                facts::resolution_bucket,
                count_star(),
            ))
            .load(conn)?,
    };
    Ok(rows
        .into_iter()
        .filter_map(|(day, priority, bucket, n)| Some((day?, priority, bucket?, n)))
        .collect())
}

/// Up to `limit` `clock` times (seconds) in `bucket`, in ascending order from the
/// `offset`-th, of the incidents of `priority` resolved from `first` to `last` that the caller
/// may see under the report's filters: the values a median reads once the bucket counts have
/// placed its middle rank.
#[allow(clippy::too_many_arguments)]
pub(crate) fn seconds_in_bucket(
    conn: &mut DbConnection,
    principal: &Principal,
    params: &ReportParams,
    priority: i32,
    (first, last): (NaiveDate, NaiveDate),
    clock: Clock,
    bucket: i32,
    offset: i64,
    limit: i64,
) -> Result<Vec<i64>, StoreError> {
    let query = facts::table
        .filter(scoped_facts(principal, params))
        .filter(facts::priority.eq(priority))
        .filter(facts::resolved_on.between(first, last))
        .offset(offset)
        .limit(limit);
    let values: Vec<Option<i64>> = match clock {
        Clock::Response => query
            .filter(facts::response_bucket.eq(bucket))
            .order(facts::response_seconds.asc())
            .select(facts::response_seconds)
            .load(conn)?,
        Clock::Resolution => query
            .filter(facts::resolution_bucket.eq(bucket))
            .order(facts::resolution_seconds.asc())
            .select(facts::resolution_seconds)
            .load(conn)?,
    };
    Ok(values.into_iter().flatten().collect())
}

/// The names of organisations `ids`.
pub(crate) fn organisation_names(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(organisations::table
        .filter(organisations::id.eq_any(ids))
        .select((organisations::id, organisations::name))
        .load(conn)?)
}

/// A condition on the incidents table.
type IncidentCondition = Box<dyn BoxableExpression<incidents::table, DbBackend, SqlType = Bool>>;

/// Open incidents the caller may see, narrowed by the report's filters (the tenant rule as in
/// [`scoped_facts`]).
fn scoped_open_incidents(principal: &Principal, params: &ReportParams) -> IncidentCondition {
    let mut condition: IncidentCondition = Box::new(incidents::status.eq_any(OPEN_STATUSES));
    for organisation in [principal.visible_organisation(), params.organisation_id]
        .into_iter()
        .flatten()
    {
        condition = Box::new(condition.and(incidents::organisation_id.eq(organisation)));
    }
    if let Some(priority) = params.priority {
        condition = Box::new(condition.and(incidents::priority.eq(priority)));
    }
    if let Some(category) = params.category.clone() {
        condition = Box::new(condition.and(incidents::category.eq(category)));
    }
    if let Some(group) = params.group.clone() {
        condition =
            Box::new(condition.and(incidents::assignment_group.eq(group).assume_not_null()));
    }
    condition
}

/// Open incidents per priority raised after `after` (exclusive) and at or before `until`.
pub(crate) fn open_raised_between(
    conn: &mut DbConnection,
    principal: &Principal,
    params: &ReportParams,
    after: Option<NaiveDateTime>,
    until: NaiveDateTime,
) -> Result<Vec<(i32, i64)>, StoreError> {
    let mut condition = scoped_open_incidents(principal, params);
    if let Some(after) = after {
        condition = Box::new(condition.and(incidents::created_at.gt(after)));
    }
    Ok(incidents::table
        .filter(condition)
        .filter(incidents::created_at.le(until))
        .group_by(incidents::priority)
        .select((incidents::priority, count_star()))
        .load(conn)?)
}

/// Open incidents per priority whose running resolution clock fell due at or before `now`.
pub(crate) fn open_past_due(
    conn: &mut DbConnection,
    principal: &Principal,
    params: &ReportParams,
    now: NaiveDateTime,
) -> Result<Vec<(i32, i64)>, StoreError> {
    Ok(incidents::table
        .filter(scoped_open_incidents(principal, params))
        .filter(incidents::resolution_due_at.le(now))
        .group_by(incidents::priority)
        .select((incidents::priority, count_star()))
        .load(conn)?)
}

/// An incident as diagnostics show it.
#[derive(Debug, Clone, Queryable)]
pub(crate) struct DiagnosticRow {
    pub id: i64,
    pub reference: String,
    pub organisation_id: i64,
    pub title: String,
    pub status: String,
    pub priority: i32,
    pub category: String,
    pub assignment_group: Option<String>,
    pub created_at: NaiveDateTime,
    pub responded_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub resolution_due_at: Option<NaiveDateTime>,
    pub resolution_at_risk_at: Option<NaiveDateTime>,
    pub region: Option<String>,
    pub fault_started_at: Option<NaiveDateTime>,
}

/// Incidents raised in `[from, until)` that the caller's diagnostics cover: for organisations
/// their own and those naming a device registered to them; for operator staff all. Newest first.
#[allow(clippy::too_many_arguments)]
pub(crate) fn diagnostics(
    conn: &mut DbConnection,
    principal: &Principal,
    params: &ReportParams,
    from: NaiveDateTime,
    until: NaiveDateTime,
    limit: i64,
) -> Result<Vec<DiagnosticRow>, StoreError> {
    let mut query = incidents::table
        .left_join(incident_details::table)
        .filter(incidents::created_at.ge(from))
        .filter(incidents::created_at.lt(until))
        .into_boxed();
    if let Some(own) = principal.visible_organisation() {
        let theirs = network_devices::table
            .filter(network_devices::organisation_id.eq(own))
            .select(network_devices::device_id);
        let affected = incident_devices::table
            .filter(incident_devices::device_id.eq_any(theirs))
            .select(incident_devices::incident_id);
        query = query.filter(
            incidents::organisation_id
                .eq(own)
                .or(incidents::id.eq_any(affected)),
        );
    }
    if let Some(organisation) = params.organisation_id {
        query = query.filter(incidents::organisation_id.eq(organisation));
    }
    if let Some(priority) = params.priority {
        query = query.filter(incidents::priority.eq(priority));
    }
    if let Some(category) = &params.category {
        query = query.filter(incidents::category.eq(category));
    }
    if let Some(group) = &params.group {
        query = query.filter(incidents::assignment_group.eq(group));
    }
    if params.open_only {
        query = query.filter(incidents::status.eq_any(OPEN_STATUSES));
    }
    if let Some(device) = &params.device {
        let naming = incident_devices::table
            .filter(incident_devices::device_id.eq(device))
            .select(incident_devices::incident_id);
        query = query.filter(incidents::id.eq_any(naming));
    }
    if let Some(region) = &params.region {
        query = query.filter(incident_details::region.eq(region));
    }
    Ok(query
        .order((incidents::created_at.desc(), incidents::id.desc()))
        .limit(limit)
        .select((
            incidents::id,
            incidents::reference,
            incidents::organisation_id,
            incidents::title,
            incidents::status,
            incidents::priority,
            incidents::category,
            incidents::assignment_group,
            incidents::created_at,
            incidents::responded_at,
            incidents::resolved_at,
            incidents::resolution_due_at,
            incidents::resolution_at_risk_at,
            incident_details::region.nullable(),
            incident_details::fault_started_at.nullable(),
        ))
        .load(conn)?)
}

/// The devices named on incidents `ids`.
pub(crate) fn devices_of(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(incident_devices::table
        .filter(incident_devices::incident_id.eq_any(ids))
        .order((incident_devices::incident_id, incident_devices::device_id))
        .select((incident_devices::incident_id, incident_devices::device_id))
        .load(conn)?)
}

/// Whether the resolution target was met, for incidents `ids` with facts.
pub(crate) fn resolution_met_of(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<(i64, Option<bool>)>, StoreError> {
    Ok(facts::table
        .filter(facts::incident_id.eq_any(ids))
        .select((facts::incident_id, facts::resolution_met))
        .load(conn)?)
}

/// A device registered to a network operator.
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = network_devices)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct DeviceRow {
    pub device_id: String,
    pub organisation_id: i64,
    pub device_type: Option<String>,
    pub region: Option<String>,
    pub recorded_at: NaiveDateTime,
}

/// Registers `rows`, replacing earlier registrations of the same devices.
pub(crate) fn register_devices(
    conn: &mut DbConnection,
    rows: &[DeviceRow],
) -> Result<(), StoreError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.device_id.as_str()).collect();
    diesel::delete(network_devices::table.filter(network_devices::device_id.eq_any(&ids)))
        .execute(conn)?;
    for chunk in rows.chunks(500) {
        insert_many!(conn, network_devices::table, chunk)?;
    }
    Ok(())
}

/// The devices registered to organisations the caller may see (optionally one of them).
pub(crate) fn devices(
    conn: &mut DbConnection,
    principal: &Principal,
    organisation_id: Option<i64>,
) -> Result<Vec<DeviceRow>, StoreError> {
    let mut query = scoped!(
        network_devices::table.into_boxed(),
        network_devices::organisation_id,
        principal
    );
    if let Some(organisation) = organisation_id {
        query = query.filter(network_devices::organisation_id.eq(organisation));
    }
    Ok(query
        .order(network_devices::device_id)
        .limit(10_000)
        .load(conn)?)
}

/// True when organisation `id` exists.
pub(crate) fn organisation_exists(conn: &mut DbConnection, id: i64) -> Result<bool, StoreError> {
    Ok(organisations::table
        .find(id)
        .select(organisations::id)
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

/// A stored report subscription.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = report_subscriptions)]
pub(crate) struct SubscriptionRow {
    pub id: i64,
    pub person_id: i64,
    pub organisation_id: i64,
    pub report: String,
    pub parameters: String,
    pub cadence: String,
    pub working_day: Option<i32>,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = report_subscriptions)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct NewSubscriptionRow<'a> {
    pub person_id: i64,
    pub organisation_id: i64,
    pub report: &'a str,
    pub parameters: &'a str,
    pub cadence: &'a str,
    pub working_day: Option<i32>,
    pub created_at: NaiveDateTime,
}

/// Stores a subscription and returns it.
pub(crate) fn insert_subscription(
    conn: &mut DbConnection,
    row: &NewSubscriptionRow<'_>,
) -> Result<SubscriptionRow, StoreError> {
    let id: i64 = diesel::insert_into(report_subscriptions::table)
        .values(row)
        .returning(report_subscriptions::id)
        .get_result(conn)?;
    Ok(report_subscriptions::table
        .find(id)
        .select(SubscriptionRow::as_select())
        .first(conn)?)
}

/// The person's active subscriptions.
pub(crate) fn subscriptions_of(
    conn: &mut DbConnection,
    person_id: i64,
) -> Result<Vec<SubscriptionRow>, StoreError> {
    Ok(report_subscriptions::table
        .filter(report_subscriptions::person_id.eq(person_id))
        .filter(report_subscriptions::cancelled_at.is_null())
        .order(report_subscriptions::id)
        .select(SubscriptionRow::as_select())
        .load(conn)?)
}

/// Cancels the person's subscription `id`; false when they have no such active subscription.
pub(crate) fn cancel_subscription(
    conn: &mut DbConnection,
    person_id: i64,
    id: i64,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        report_subscriptions::table
            .filter(report_subscriptions::id.eq(id))
            .filter(report_subscriptions::person_id.eq(person_id))
            .filter(report_subscriptions::cancelled_at.is_null()),
    )
    .set(report_subscriptions::cancelled_at.eq(now))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Every active subscription.
pub(crate) fn active_subscriptions(
    conn: &mut DbConnection,
) -> Result<Vec<SubscriptionRow>, StoreError> {
    Ok(report_subscriptions::table
        .filter(report_subscriptions::cancelled_at.is_null())
        .order(report_subscriptions::id)
        .select(SubscriptionRow::as_select())
        .load(conn)?)
}

/// True when subscription `id` already has a delivery for the period starting `period_start`.
pub(crate) fn delivered(
    conn: &mut DbConnection,
    id: i64,
    period_start: NaiveDate,
) -> Result<bool, StoreError> {
    Ok(report_deliveries::table
        .find((id, period_start))
        .select(report_deliveries::subscription_id)
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

/// Records the delivery of a period; a second record of the same period is a conflict.
pub(crate) fn record_delivery(
    conn: &mut DbConnection,
    id: i64,
    period_start: NaiveDate,
    outbox_id: i64,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(report_deliveries::table)
        .values((
            report_deliveries::subscription_id.eq(id),
            report_deliveries::period_start.eq(period_start),
            report_deliveries::outbox_id.eq(outbox_id),
            report_deliveries::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A subscriber as they stand now: email, roles, and whether person and organisation are
/// active and what kind the organisation is.
pub(crate) struct Subscriber {
    pub email: String,
    pub name: String,
    pub active: bool,
    pub organisation_kind: String,
    pub roles: Vec<String>,
}

/// The subscriber `person_id`, if they exist.
pub(crate) fn subscriber(
    conn: &mut DbConnection,
    person_id: i64,
) -> Result<Option<Subscriber>, StoreError> {
    let found: Option<(String, String, String, String, String)> = people::table
        .inner_join(organisations::table)
        .filter(people::id.eq(person_id))
        .select((
            people::email,
            people::name,
            people::status,
            organisations::status,
            organisations::kind,
        ))
        .first(conn)
        .optional()?;
    let Some((email, name, person_status, organisation_status, organisation_kind)) = found else {
        return Ok(None);
    };
    let roles = person_roles::table
        .filter(person_roles::person_id.eq(person_id))
        .select(person_roles::role)
        .load(conn)?;
    Ok(Some(Subscriber {
        email,
        name,
        active: person_status == "active" && organisation_status == "active",
        organisation_kind,
        roles,
    }))
}
