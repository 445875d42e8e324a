//! The availability of the self-service interface, one of the SEC's code performance measures:
//! the product records its own availability minute by minute and reports it per month, in
//! minutes of unplanned downtime with planned maintenance left out.
//!
//! **Recording.** Every server instance samples itself a few times a minute: it runs the
//! readiness check (database reachable, migrations applied) and counts the API requests it
//! answered and how many of them were server errors (5xx). Each sample is added to the one row
//! of its minute (UTC), whose primary key makes every instance share that row.
//!
//! **A minute is down** when no readiness check in it succeeded, when more than half of the
//! requests answered in it were server errors, or when nothing was recorded for it at all (no
//! instance was running). Measuring starts with the first minute ever recorded and stops one
//! minute before now, whose samples may still be arriving.
//!
//! **Planned maintenance** windows, announced by the operator's administrators, are left out:
//! a minute that starts inside a window is neither measured nor downtime.

use chrono::{DateTime, Duration, DurationRound, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use dsms_core::{Principal, Role, ValidationErrors};
use dsms_store::audit::{self, AuditEvent, Changes};
use dsms_store::{DbConnection, StoreError, timestamp};

use crate::catalogue::ReportName;
use crate::cells::{column, period_label, start_of};
use crate::error::ReportError;
use crate::params::{ReportParams, next_period};
use crate::policy::ReportPolicy;
use crate::service::Reports;
use crate::table::{ChartSpec, ColumnKind, ReportTable, Value};

diesel::table! {
    /// One row per minute: what the server instances saw in it.
    availability_samples (minute) {
        minute -> Timestamp,
        checks -> BigInt,
        checks_failed -> BigInt,
        requests -> BigInt,
        server_errors -> BigInt,
    }
}

diesel::table! {
    /// Planned maintenance windows.
    maintenance_windows (id) {
        id -> BigInt,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        reason -> Text,
        created_by_name -> Text,
        created_at -> Timestamp,
        cancelled_at -> Nullable<Timestamp>,
    }
}

/// What one server instance saw since its last sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AvailabilitySample {
    /// Readiness checks run.
    pub checks: i64,
    /// Readiness checks that failed.
    pub checks_failed: i64,
    /// API requests answered.
    pub requests: i64,
    /// Of those, answered with a server error (5xx).
    pub server_errors: i64,
}

/// A planned maintenance window.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = maintenance_windows)]
pub struct MaintenanceWindow {
    /// Its id.
    pub id: i64,
    /// When it starts (UTC).
    pub starts_at: NaiveDateTime,
    /// When it ends (UTC), exclusive.
    pub ends_at: NaiveDateTime,
    /// Why: what is maintained.
    pub reason: String,
    /// Who announced it.
    pub created_by_name: String,
    /// When it was announced.
    pub created_at: NaiveDateTime,
    /// When it was cancelled; a cancelled window no longer counts.
    pub cancelled_at: Option<NaiveDateTime>,
}

/// A maintenance window to announce.
#[derive(Debug, Clone)]
pub struct NewMaintenanceWindow {
    /// When it starts.
    pub starts_at: DateTime<Utc>,
    /// When it ends, exclusive.
    pub ends_at: DateTime<Utc>,
    /// Why.
    pub reason: String,
}

#[derive(Insertable)]
#[diesel(table_name = availability_samples)]
#[diesel(treat_none_as_default_value = false)]
struct SampleRow {
    minute: NaiveDateTime,
    checks: i64,
    checks_failed: i64,
    requests: i64,
    server_errors: i64,
}

#[derive(Insertable)]
#[diesel(table_name = maintenance_windows)]
#[diesel(treat_none_as_default_value = false)]
struct NewWindowRow<'a> {
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    reason: &'a str,
    created_by_name: &'a str,
    created_at: NaiveDateTime,
}

/// The longest maintenance window, in days.
const MAX_WINDOW_DAYS: i64 = 7;

/// The start of the minute `t` falls in.
fn minute_of(t: NaiveDateTime) -> NaiveDateTime {
    t.duration_trunc(Duration::minutes(1)).unwrap_or(t)
}

/// Adds `sample` to the row of `minute`, creating it if no instance has yet.
fn add_sample(conn: &mut DbConnection, row: &SampleRow) -> Result<(), StoreError> {
    use availability_samples as s;
    macro_rules! upsert {
        ($c:expr) => {
            diesel::insert_into(s::table)
                .values(row)
                .on_conflict(s::minute)
                .do_update()
                .set((
                    s::checks.eq(s::checks + excluded(s::checks)),
                    s::checks_failed.eq(s::checks_failed + excluded(s::checks_failed)),
                    s::requests.eq(s::requests + excluded(s::requests)),
                    s::server_errors.eq(s::server_errors + excluded(s::server_errors)),
                ))
                .execute($c)
        };
    }
    match conn {
        DbConnection::Pg(c) => upsert!(c),
        DbConnection::Sqlite(c) => upsert!(c),
    }?;
    Ok(())
}

fn is_dcc_admin(principal: &Principal) -> bool {
    principal.is_operator_staff() && principal.roles.contains(&Role::DccAdmin)
}

impl Reports {
    /// Adds what this instance saw since its last sample to the row of the minute `at` falls in.
    pub fn record_availability(
        &self,
        at: DateTime<Utc>,
        sample: AvailabilitySample,
    ) -> Result<(), ReportError> {
        let row = SampleRow {
            minute: minute_of(timestamp(at)),
            checks: sample.checks,
            checks_failed: sample.checks_failed,
            requests: sample.requests,
            server_errors: sample.server_errors,
        };
        Ok(self.db().write_blocking(|conn| add_sample(conn, &row))?)
    }

    /// Planned maintenance windows ending after `since` (all when none), earliest first; anyone
    /// who may read reports may see them, as the service's own availability is everyone's.
    pub fn maintenance_windows(
        &self,
        principal: &Principal,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<MaintenanceWindow>, ReportError> {
        principal.require(dsms_core::Permission::ViewReports, "read reports")?;
        let since = since.map(timestamp);
        Ok(self.db().read_blocking(|conn| {
            let mut query = maintenance_windows::table.into_boxed();
            if let Some(since) = since {
                query = query.filter(maintenance_windows::ends_at.gt(since));
            }
            Ok::<_, StoreError>(
                query
                    .order((maintenance_windows::starts_at, maintenance_windows::id))
                    .select(MaintenanceWindow::as_select())
                    .load(conn)?,
            )
        })?)
    }

    /// Announces a planned maintenance window (the operator's administrators).
    pub fn schedule_maintenance(
        &self,
        principal: &Principal,
        new: NewMaintenanceWindow,
    ) -> Result<MaintenanceWindow, ReportError> {
        if !is_dcc_admin(principal) {
            return Err(dsms_core::Forbidden("schedule planned maintenance".into()).into());
        }
        let mut errors = ValidationErrors::default();
        let reason = new.reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > 500 {
            errors.push("reason", "must be 1 to 500 characters");
        }
        if new.ends_at <= new.starts_at {
            errors.push("ends_at", "must be after starts_at");
        } else if new.ends_at - new.starts_at > Duration::days(MAX_WINDOW_DAYS) {
            errors.push(
                "ends_at",
                format!("a window may last at most {MAX_WINDOW_DAYS} days"),
            );
        }
        errors.into_result()?;
        let now = self.now();
        let row = NewWindowRow {
            starts_at: timestamp(new.starts_at),
            ends_at: timestamp(new.ends_at),
            reason: &reason,
            created_by_name: &principal.display_name,
            created_at: timestamp(now),
        };
        Ok(self.db().write_blocking(|conn| {
            let id: i64 = diesel::insert_into(maintenance_windows::table)
                .values(&row)
                .returning(maintenance_windows::id)
                .get_result(conn)?;
            let window: MaintenanceWindow = maintenance_windows::table
                .find(id)
                .select(MaintenanceWindow::as_select())
                .first(conn)?;
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor: &principal.actor,
                    organisation_id: None,
                    action: "maintenance_window.created",
                    entity_type: "maintenance_window",
                    entity_id: window.id.to_string(),
                    changes: Changes::new()
                        .created("starts_at", window.starts_at.to_string())
                        .created("ends_at", window.ends_at.to_string())
                        .created("reason", window.reason.clone()),
                    request_id: None,
                },
            )?;
            Ok::<_, StoreError>(window)
        })?)
    }

    /// Cancels a planned maintenance window (the operator's administrators); it is kept, and
    /// its minutes count again.
    pub fn cancel_maintenance(
        &self,
        principal: &Principal,
        id: i64,
    ) -> Result<MaintenanceWindow, ReportError> {
        if !is_dcc_admin(principal) {
            return Err(dsms_core::Forbidden("cancel planned maintenance".into()).into());
        }
        let now = self.now();
        self.db().write_blocking(|conn| {
            let window: MaintenanceWindow = maintenance_windows::table
                .find(id)
                .select(MaintenanceWindow::as_select())
                .first(conn)
                .optional()
                .map_err(StoreError::from)?
                .ok_or(ReportError::NotFound)?;
            if window.cancelled_at.is_some() {
                return Ok(window);
            }
            let stamp = timestamp(now);
            diesel::update(maintenance_windows::table.find(id))
                .set(maintenance_windows::cancelled_at.eq(stamp))
                .execute(conn)
                .map_err(StoreError::from)?;
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor: &principal.actor,
                    organisation_id: None,
                    action: "maintenance_window.cancelled",
                    entity_type: "maintenance_window",
                    entity_id: id.to_string(),
                    changes: Changes::new().created("cancelled_at", stamp.to_string()),
                    request_id: None,
                },
            )?;
            Ok(MaintenanceWindow {
                cancelled_at: Some(stamp),
                ..window
            })
        })
    }
}

/// Merges `windows` (start, end) into disjoint ones, clipped to `[from, until)` and widened to
/// whole minutes: a minute starting inside a window is maintenance.
fn merged(windows: Vec<(NaiveDateTime, NaiveDateTime)>) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let mut windows: Vec<_> = windows
        .into_iter()
        .map(|(s, e)| {
            let start = minute_of(s);
            let start = if start < s {
                start + Duration::minutes(1)
            } else {
                start
            };
            let end = minute_of(e);
            let end = if end < e {
                end + Duration::minutes(1)
            } else {
                end
            };
            (start, end)
        })
        .filter(|(s, e)| s < e)
        .collect();
    windows.sort();
    let mut out: Vec<(NaiveDateTime, NaiveDateTime)> = Vec::new();
    for (s, e) in windows {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Samples in `[from, until)`.
fn recorded(
    conn: &mut DbConnection,
    from: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<i64, StoreError> {
    Ok(availability_samples::table
        .filter(availability_samples::minute.ge(from))
        .filter(availability_samples::minute.lt(until))
        .count()
        .get_result(conn)?)
}

/// Builds the report: per period, the minutes measured, the minutes of planned maintenance
/// left out, the minutes of unplanned downtime, and the share available.
pub(crate) fn report(
    conn: &mut DbConnection,
    params: &ReportParams,
    policy: &ReportPolicy,
    now: DateTime<Utc>,
) -> Result<ReportTable, ReportError> {
    use availability_samples as s;
    let zone = policy.zone;
    let first: Option<NaiveDateTime> = s::table
        .select(diesel::dsl::min(s::minute))
        .first(conn)
        .map_err(StoreError::from)?;
    let end = minute_of(timestamp(now)) - Duration::minutes(1);
    let mut rows = Vec::new();
    for period in params.periods() {
        let from = start_of(zone, period.max(params.from));
        let until = start_of(
            zone,
            next_period(period, params.granularity).min(params.to + Duration::days(1)),
        );
        let (from, until) = match first {
            Some(first) => (from.max(first), until.min(end)),
            None => (from, from),
        };
        let (mut measured, mut maintenance, mut downtime) = (0, 0, 0);
        if from < until {
            let windows: Vec<(NaiveDateTime, NaiveDateTime)> = maintenance_windows::table
                .filter(maintenance_windows::cancelled_at.is_null())
                .filter(maintenance_windows::starts_at.lt(until))
                .filter(maintenance_windows::ends_at.gt(from))
                .select((maintenance_windows::starts_at, maintenance_windows::ends_at))
                .load(conn)
                .map_err(StoreError::from)?;
            let windows: Vec<_> = merged(windows)
                .into_iter()
                .map(|(a, b)| (a.max(from), b.min(until)))
                .filter(|(a, b)| a < b)
                .collect();
            let total = (until - from).num_minutes();
            maintenance = windows.iter().map(|(a, b)| (*b - *a).num_minutes()).sum();
            let mut recorded_outside = recorded(conn, from, until)?;
            for (a, b) in &windows {
                recorded_outside -= recorded(conn, *a, *b)?;
            }
            let down: Vec<NaiveDateTime> = s::table
                .filter(s::minute.ge(from))
                .filter(s::minute.lt(until))
                .filter(
                    s::checks
                        .gt(0)
                        .and(s::checks_failed.ge(s::checks))
                        .or(s::server_errors
                            .gt(0)
                            .and((s::server_errors + s::server_errors).gt(s::requests))),
                )
                .select(s::minute)
                .load(conn)
                .map_err(StoreError::from)?;
            let down_outside = down
                .iter()
                .filter(|m| !windows.iter().any(|(a, b)| a <= *m && *m < b))
                .count() as i64;
            measured = total - maintenance;
            downtime = (measured - recorded_outside) + down_outside;
        }
        let availability = if measured == 0 {
            Value::Null
        } else {
            Value::Decimal((measured - downtime) as f64 / measured as f64)
        };
        rows.push(vec![
            period_label(params, period),
            Value::Integer(measured),
            Value::Integer(maintenance),
            Value::Integer(downtime),
            availability,
        ]);
    }
    Ok(ReportTable {
        name: ReportName::Availability,
        title: "Self-service interface availability".into(),
        columns: vec![
            column("period", "Period", ColumnKind::Text),
            column("measured_minutes", "Minutes measured", ColumnKind::Integer),
            column(
                "maintenance_minutes",
                "Planned maintenance (min)",
                ColumnKind::Integer,
            ),
            column(
                "downtime_minutes",
                "Unplanned downtime (min)",
                ColumnKind::Integer,
            ),
            column("availability", "Availability", ColumnKind::Decimal),
        ],
        rows,
        chart: ChartSpec {
            x: 0,
            series: vec![3],
            split: None,
            count_by: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn overlapping_windows_merge_into_whole_minutes() {
        let windows = merged(vec![
            (at("2026-12-01 10:00:30"), at("2026-12-01 10:10:00")),
            (at("2026-12-01 10:05:00"), at("2026-12-01 10:20:10")),
            (at("2026-12-01 11:00:00"), at("2026-12-01 11:00:20")),
        ]);
        assert_eq!(
            windows,
            [
                (at("2026-12-01 10:01:00"), at("2026-12-01 10:21:00")),
                (at("2026-12-01 11:00:00"), at("2026-12-01 11:01:00")),
            ]
        );
    }
}
