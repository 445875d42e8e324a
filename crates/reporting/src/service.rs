//! The reports service: runs a named report for a caller, keeps the facts it reads up to date,
//! answers diagnostics, keeps the device inventory, and sends scheduled reports.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use dsms_core::{
    FieldError, OrganisationKind, Permission, Principal, Role, SharedClock, ValidationErrors,
};
use dsms_notify::{EmailAttachment, EmailMessage, enqueue_email};
use dsms_store::{Db, DbConnection, StoreError, timestamp};

use crate::catalogue::{REPORTS, ReportDefinition, ReportName};
use crate::error::ReportError;
use crate::facts::{self, IncidentFacts};
use crate::histogram::{self, Clock};
use crate::params::{Dimension, Granularity, ReportParams, ReportQuery, next_period};
use crate::policy::ReportPolicy;
use crate::rollup::Totals;
use crate::schedule::Cadence;
use crate::store::{self, DeviceRow, NewSubscriptionRow, SubscriptionRow};
use crate::table::{ChartSpec, Column, ColumnKind, ReportTable, Value};

/// How many incidents one unit of work brings up to date.
const FACTS_BATCH: i64 = 2_000;
/// How many changed incidents a report request brings up to date before it reads; the
/// background worker catches up with anything beyond (e.g. after a bulk import).
const INLINE_REFRESH: usize = 20_000;
/// Changes committed out of timestamp order (a long transaction) are caught by looking back
/// this far behind the newest change already seen.
const LOOK_BACK_MINUTES: i64 = 10;
/// The most incidents diagnostics list at once.
pub const DIAGNOSTICS_LIMIT: i64 = 5_000;

/// Reports and diagnostics over the incident log.
#[derive(Clone)]
pub struct Reports {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    clock: SharedClock,
    policy: ReportPolicy,
}

impl std::fmt::Debug for Reports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reports").finish_non_exhaustive()
    }
}

/// A device or hub registered to a network operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkDevice {
    /// The device, hub or meter-point id as incidents name it.
    pub device_id: String,
    /// The responsible network operator.
    pub organisation_id: i64,
    /// What it is (e.g. `communications_hub`, `electricity_meter`).
    pub device_type: Option<String>,
    /// Its region.
    pub region: Option<String>,
    /// When it was registered.
    pub recorded_at: NaiveDateTime,
}

/// What a person asks for when subscribing to a report.
#[derive(Debug, Clone, Default)]
pub struct NewSubscription {
    /// The report's name.
    pub report: String,
    /// `daily`, `weekly`, `monthly` or `monthly_working_day`.
    pub cadence: String,
    /// For `monthly_working_day`: which working day, 1 to 23.
    pub working_day: Option<i32>,
    /// The report's parameters; the period is set by the cadence.
    pub parameters: ReportQuery,
}

/// A person's subscription to a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Its id.
    pub id: i64,
    /// The report.
    pub report: ReportName,
    /// How often it is sent.
    pub cadence: Cadence,
    /// The report's parameters.
    pub parameters: ReportQuery,
    /// When it was made.
    pub created_at: NaiveDateTime,
}

/// What one pass of scheduled deliveries did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Reports emailed.
    pub sent: usize,
}

impl TryFrom<SubscriptionRow> for Subscription {
    type Error = ReportError;

    fn try_from(row: SubscriptionRow) -> Result<Self, ReportError> {
        let report = ReportName::parse(&row.report).ok_or(ReportError::NotFound)?;
        let cadence = Cadence::parse(&row.cadence, row.working_day)?;
        let parameters = serde_json::from_str(&row.parameters)
            .map_err(|e| ValidationErrors::from(FieldError::new("parameters", e.to_string())))?;
        Ok(Self {
            id: row.id,
            report,
            cadence,
            parameters,
            created_at: row.created_at,
        })
    }
}

fn column(name: &'static str, label: &'static str, kind: ColumnKind) -> Column {
    Column { name, label, kind }
}

fn text(value: impl Into<String>) -> Value {
    Value::Text(value.into())
}

fn share(part: i64, whole: i64) -> Value {
    if whole == 0 {
        Value::Null
    } else {
        Value::Decimal(part as f64 / whole as f64)
    }
}

/// The mean in minutes of `count` clock times summing to `seconds`.
fn mean_minutes(seconds: i64, count: i64) -> Value {
    if count == 0 {
        Value::Null
    } else {
        Value::Decimal(seconds as f64 / count as f64 / 60.0)
    }
}

/// How many values each bucket holds (by bucket, ascending), per (period, priority).
type BucketCounts = BTreeMap<(NaiveDate, i32), BTreeMap<i32, i64>>;

/// The bucket counts of `clock` per period of the report and priority.
fn bucket_counts(
    conn: &mut DbConnection,
    principal: &Principal,
    params: &ReportParams,
    clock: Clock,
) -> Result<BucketCounts, StoreError> {
    let mut out = BucketCounts::new();
    for (start, priority, bucket, n) in store::bucket_counts(conn, principal, params, clock)? {
        *out.entry((params.period_of(start), priority))
            .or_default()
            .entry(bucket)
            .or_default() += n;
    }
    Ok(out)
}

/// The median in minutes of the clock times of `priority` resolved in `days`, whose buckets
/// hold `counts`: the middle one, or the mean of the middle two, each read from its bucket's
/// facts in order.
#[allow(clippy::too_many_arguments)]
fn median_minutes(
    conn: &mut DbConnection,
    principal: &Principal,
    params: &ReportParams,
    priority: i32,
    days: (NaiveDate, NaiveDate),
    clock: Clock,
    counts: Option<&BTreeMap<i32, i64>>,
) -> Result<Value, StoreError> {
    let counts: Vec<(i32, i64)> = counts
        .map(|c| c.iter().map(|(b, n)| (*b, *n)).collect())
        .unwrap_or_default();
    let ranks = histogram::middle_ranks(counts.iter().map(|(_, n)| n).sum());
    let mut middle: Vec<i64> = Vec::new();
    // The middle two usually share a bucket, and then one read gives both.
    while let Some(&rank) = ranks.get(middle.len()) {
        let Some((bucket, offset)) = histogram::locate(&counts, rank) else {
            break;
        };
        let wanted = (ranks.len() - middle.len()) as i64;
        let values = store::seconds_in_bucket(
            conn, principal, params, priority, days, clock, bucket, offset, wanted,
        )?;
        // Counts read before a concurrent change to the facts may promise a value no longer
        // there; the median of what was found is the best answer then.
        if values.is_empty() {
            break;
        }
        middle.extend(values);
    }
    if middle.is_empty() {
        return Ok(Value::Null);
    }
    let sum: i64 = middle.iter().sum();
    Ok(Value::Decimal(sum as f64 / middle.len() as f64 / 60.0))
}

fn instant(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn optional_instant(t: Option<NaiveDateTime>) -> Value {
    t.map_or(Value::Null, |t| Value::Text(instant(t)))
}

impl Reports {
    /// The service over `db`, measuring against `policy`.
    pub fn new(db: Db, clock: SharedClock, policy: ReportPolicy) -> Self {
        Self {
            inner: Arc::new(Inner { db, clock, policy }),
        }
    }

    /// The rules reports measure against.
    pub fn policy(&self) -> &ReportPolicy {
        &self.inner.policy
    }

    /// Now, by the service's clock.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// The database, for the reports kept in their own modules.
    pub(crate) fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Today in the calendar's zone.
    pub fn today(&self) -> NaiveDate {
        self.now()
            .with_timezone(&self.inner.policy.zone)
            .date_naive()
    }

    /// The start of local day `date`, as stored (UTC).
    fn start_of(&self, date: NaiveDate) -> NaiveDateTime {
        let local = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        self.inner
            .policy
            .zone
            .from_local_datetime(&local)
            .earliest()
            .map_or(local, |t| t.naive_utc())
    }

    /// Brings the facts of up to `max` changed incidents up to date; returns how many it
    /// computed. Safe to run from several processes at once: a batch another process wrote
    /// first is simply left to it.
    pub fn refresh_facts(&self, max: usize) -> Result<usize, ReportError> {
        let policy = &self.inner.policy;
        let mut done = 0;
        while done < max {
            let batch = self.inner.db.write_blocking(|conn| {
                let since =
                    store::facts_watermark(conn)?.map(|w| w - Duration::minutes(LOOK_BACK_MINUTES));
                let stale = store::stale_incidents(conn, since, FACTS_BATCH)?;
                if stale.is_empty() {
                    return Ok::<_, StoreError>(0);
                }
                let ids: Vec<i64> = stale.iter().map(|s| s.id).collect();
                let mut pauses: HashMap<i64, Vec<facts::Pause>> = HashMap::new();
                for (id, pause) in store::pauses_of(conn, &ids)? {
                    pauses.entry(id).or_default().push(pause);
                }
                let computed: Vec<IncidentFacts> = stale
                    .iter()
                    .map(|s| {
                        facts::compute(policy, s, pauses.get(&s.id).map_or(&[], Vec::as_slice))
                    })
                    .collect();
                store::replace_facts(conn, &computed)?;
                Ok(computed.len())
            });
            match batch {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(StoreError::Conflict(_)) => break,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(done)
    }

    /// Checks that `principal` may read reports with `params`.
    fn authorise(principal: &Principal, params: &ReportParams) -> Result<(), ReportError> {
        principal.require(Permission::ViewReports, "read reports")?;
        if let (Some(asked), Some(own)) = (params.organisation_id, principal.visible_organisation())
            && asked != own
        {
            return Err(dsms_core::Forbidden("see another organisation's figures".into()).into());
        }
        Ok(())
    }

    /// The reports `principal` may run, in the catalogue's order: all of them to a person who
    /// may read reports (each report scopes its rows to the caller), none to anyone else.
    pub fn catalogue(
        &self,
        principal: &Principal,
    ) -> Result<&'static [ReportDefinition], ReportError> {
        principal.require(Permission::ViewReports, "read reports")?;
        Ok(REPORTS)
    }

    /// Runs report `name` for `principal` with `query`.
    pub fn run(
        &self,
        principal: &Principal,
        name: ReportName,
        query: &ReportQuery,
    ) -> Result<ReportTable, ReportError> {
        principal.require(Permission::ViewReports, "read reports")?;
        let params = ReportParams::parse(query, self.today())?;
        Self::authorise(principal, &params)?;
        self.refresh_facts(INLINE_REFRESH)?;
        let now = self.now();
        self.inner
            .db
            .read_blocking(|conn| self.build(conn, principal, name, &params, now))
    }

    fn build(
        &self,
        conn: &mut DbConnection,
        principal: &Principal,
        name: ReportName,
        params: &ReportParams,
        now: DateTime<Utc>,
    ) -> Result<ReportTable, ReportError> {
        match name {
            ReportName::SlaPerformance => self.sla_performance(conn, principal, params),
            ReportName::ArrivalsResolutions => Self::arrivals_resolutions(conn, principal, params),
            ReportName::Backlog => Self::backlog(conn, principal, params, now),
            ReportName::ResponseResolutionTimes => Self::times(conn, principal, params),
            ReportName::Volumes => Self::volumes(conn, principal, params),
            ReportName::ReopenRate => Self::reopen_rate(conn, principal, params),
            ReportName::NetworkDiagnostics => self.diagnostics(conn, principal, params, now),
            ReportName::RequestFulfilment => {
                crate::requests::fulfilment(conn, principal, params, &self.inner.policy)
            }
            ReportName::HubForecastAccuracy => crate::hub_reports::forecast_accuracy(
                conn,
                principal,
                params,
                &self.inner.policy,
                now.with_timezone(&self.inner.policy.zone).date_naive(),
            ),
            ReportName::HubDeliveryOtif => {
                crate::hub_reports::delivery_otif(conn, principal, params)
            }
            ReportName::HubReturns => {
                crate::hub_reports::returns(conn, principal, params, &self.inner.policy)
            }
            ReportName::HubFaultConfirmation => {
                crate::hub_reports::fault_confirmation(conn, principal, params, &self.inner.policy)
            }
            ReportName::Availability => {
                crate::availability::report(conn, params, &self.inner.policy, now)
            }
        }
    }

    fn period_label(params: &ReportParams, start: NaiveDate) -> Value {
        match params.granularity {
            Granularity::Month => text(start.format("%Y-%m").to_string()),
            Granularity::Day | Granularity::Week => text(start.format("%Y-%m-%d").to_string()),
        }
    }

    fn sla_performance(
        &self,
        conn: &mut DbConnection,
        principal: &Principal,
        params: &ReportParams,
    ) -> Result<ReportTable, ReportError> {
        // (period, priority) -> (met, missed)
        let mut counts: BTreeMap<(NaiveDate, i32), (i64, i64)> = BTreeMap::new();
        for row in store::period_totals(conn, principal, params, None)? {
            let slot = counts
                .entry((params.period_of(row.period_start), row.priority))
                .or_default();
            slot.0 += row.totals.resolution_met;
            slot.1 += row.totals.resolved - row.totals.resolution_met;
        }
        let mut rows = Vec::new();
        for period in params.periods() {
            let label = Self::period_label(params, period);
            let of = |p: i32| counts.get(&(period, p)).copied().unwrap_or_default();
            for priority in 1..=5 {
                let (met, missed) = of(priority);
                rows.push(vec![
                    label.clone(),
                    text(priority.to_string()),
                    Value::Integer(met + missed),
                    Value::Integer(met),
                    Value::Integer(missed),
                    share(met, met + missed),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                ]);
            }
            for measure in &self.inner.policy.measures {
                let (met, missed) = (measure.from_priority..=measure.to_priority)
                    .map(|p| of(i32::from(p)))
                    .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
                let resolved = met + missed;
                let outcome = if resolved == 0 {
                    Value::Null
                } else {
                    let achieved = met as f64 / resolved as f64;
                    text(if achieved >= measure.target {
                        "target met"
                    } else if achieved >= measure.minimum {
                        "minimum met"
                    } else {
                        "below minimum"
                    })
                };
                rows.push(vec![
                    label.clone(),
                    text(measure.label()),
                    Value::Integer(resolved),
                    Value::Integer(met),
                    Value::Integer(missed),
                    share(met, resolved),
                    Value::Decimal(measure.target),
                    Value::Decimal(measure.minimum),
                    outcome,
                ]);
            }
        }
        Ok(ReportTable {
            name: ReportName::SlaPerformance,
            title: "SLA performance: share resolved within target".into(),
            columns: vec![
                column("period", "Period", ColumnKind::Text),
                column("priorities", "Priorities", ColumnKind::Text),
                column("resolved", "Resolved", ColumnKind::Integer),
                column("met", "Within target", ColumnKind::Integer),
                column("missed", "Missed target", ColumnKind::Integer),
                column("share_met", "Share within target", ColumnKind::Decimal),
                column("target", "Target", ColumnKind::Decimal),
                column("minimum", "Minimum service level", ColumnKind::Decimal),
                column("outcome", "Outcome", ColumnKind::Text),
            ],
            rows,
            chart: ChartSpec {
                x: 0,
                series: vec![5],
                split: Some(1),
                count_by: None,
            },
        })
    }

    fn arrivals_resolutions(
        conn: &mut DbConnection,
        principal: &Principal,
        params: &ReportParams,
    ) -> Result<ReportTable, ReportError> {
        let mut raised: BTreeMap<NaiveDate, i64> = BTreeMap::new();
        let mut resolved: BTreeMap<NaiveDate, i64> = BTreeMap::new();
        for row in store::period_totals(conn, principal, params, None)? {
            let period = params.period_of(row.period_start);
            *raised.entry(period).or_default() += row.totals.raised;
            *resolved.entry(period).or_default() += row.totals.resolved;
        }
        let rows = params
            .periods()
            .into_iter()
            .map(|period| {
                let r = raised.get(&period).copied().unwrap_or_default();
                let s = resolved.get(&period).copied().unwrap_or_default();
                vec![
                    Self::period_label(params, period),
                    Value::Integer(r),
                    Value::Integer(s),
                    Value::Integer(r - s),
                ]
            })
            .collect();
        Ok(ReportTable {
            name: ReportName::ArrivalsResolutions,
            title: "Arrivals and resolutions".into(),
            columns: vec![
                column("period", "Period", ColumnKind::Text),
                column("raised", "Raised", ColumnKind::Integer),
                column("resolved", "Resolved", ColumnKind::Integer),
                column("net_change", "Net change", ColumnKind::Integer),
            ],
            rows,
            chart: ChartSpec {
                x: 0,
                series: vec![1, 2],
                split: None,
                count_by: None,
            },
        })
    }

    fn backlog(
        conn: &mut DbConnection,
        principal: &Principal,
        params: &ReportParams,
        now: DateTime<Utc>,
    ) -> Result<ReportTable, ReportError> {
        let stamp = timestamp(now);
        let bands: [(i64, Option<i64>); 5] = [
            (0, Some(1)),
            (1, Some(3)),
            (3, Some(7)),
            (7, Some(30)),
            (30, None),
        ];
        let mut counts = [[0i64; 5]; 5];
        for (b, (younger, older)) in bands.iter().enumerate() {
            let until = stamp - Duration::days(*younger);
            let after = older.map(|d| stamp - Duration::days(d));
            for (priority, n) in store::open_raised_between(conn, principal, params, after, until)?
            {
                if let Some(slot) = usize::try_from(priority - 1).ok().filter(|p| *p < 5) {
                    counts[slot][b] += n;
                }
            }
        }
        let mut past_due = [0i64; 5];
        for (priority, n) in store::open_past_due(conn, principal, params, stamp)? {
            if let Some(slot) = usize::try_from(priority - 1).ok().filter(|p| *p < 5) {
                past_due[slot] += n;
            }
        }
        let row = |label: String, bands: [i64; 5], due: i64| {
            let mut row = vec![text(label), Value::Integer(bands.iter().sum())];
            row.extend(bands.iter().map(|n| Value::Integer(*n)));
            row.push(Value::Integer(due));
            row
        };
        let mut rows: Vec<Vec<Value>> = (0..5)
            .map(|p| row((p + 1).to_string(), counts[p], past_due[p]))
            .collect();
        let mut total = [0i64; 5];
        for priority in &counts {
            for (b, n) in priority.iter().enumerate() {
                total[b] += n;
            }
        }
        rows.push(row("all".into(), total, past_due.iter().sum()));
        Ok(ReportTable {
            name: ReportName::Backlog,
            title: "Backlog by priority and age".into(),
            columns: vec![
                column("priority", "Priority", ColumnKind::Text),
                column("open", "Open", ColumnKind::Integer),
                column("under_1_day", "Under 1 day", ColumnKind::Integer),
                column("days_1_to_3", "1-3 days", ColumnKind::Integer),
                column("days_3_to_7", "3-7 days", ColumnKind::Integer),
                column("days_7_to_30", "7-30 days", ColumnKind::Integer),
                column("over_30_days", "Over 30 days", ColumnKind::Integer),
                column("past_due", "Past resolution target", ColumnKind::Integer),
            ],
            rows,
            chart: ChartSpec {
                x: 0,
                series: vec![2, 3, 4, 5, 6],
                split: None,
                count_by: None,
            },
        })
    }

    fn times(
        conn: &mut DbConnection,
        principal: &Principal,
        params: &ReportParams,
    ) -> Result<ReportTable, ReportError> {
        let mut totals: BTreeMap<(NaiveDate, i32), Totals> = BTreeMap::new();
        for row in store::period_totals(conn, principal, params, None)? {
            totals
                .entry((params.period_of(row.period_start), row.priority))
                .or_default()
                .add(&row.totals, 1);
        }
        let response = bucket_counts(conn, principal, params, Clock::Response)?;
        let resolution = bucket_counts(conn, principal, params, Clock::Resolution)?;
        let mut rows = Vec::new();
        for period in params.periods() {
            // The days of this period inside the report's.
            let days = (
                period.max(params.from),
                (next_period(period, params.granularity) - Duration::days(1)).min(params.to),
            );
            for priority in 1..=5 {
                let t = totals.get(&(period, priority)).copied().unwrap_or_default();
                let mut median = |clock, counts: &BucketCounts| {
                    let counts = counts.get(&(period, priority));
                    median_minutes(conn, principal, params, priority, days, clock, counts)
                };
                let median_response = median(Clock::Response, &response)?;
                let median_resolution = median(Clock::Resolution, &resolution)?;
                rows.push(vec![
                    Self::period_label(params, period),
                    text(priority.to_string()),
                    Value::Integer(t.resolved),
                    mean_minutes(t.response_seconds, t.response_count),
                    median_response,
                    mean_minutes(t.resolution_seconds, t.resolution_count),
                    median_resolution,
                ]);
            }
        }
        Ok(ReportTable {
            name: ReportName::ResponseResolutionTimes,
            title: "Response and resolution times (SLA-clock minutes)".into(),
            columns: vec![
                column("period", "Period", ColumnKind::Text),
                column("priority", "Priority", ColumnKind::Text),
                column("resolved", "Resolved", ColumnKind::Integer),
                column(
                    "mean_response_minutes",
                    "Mean response (min)",
                    ColumnKind::Decimal,
                ),
                column(
                    "median_response_minutes",
                    "Median response (min)",
                    ColumnKind::Decimal,
                ),
                column(
                    "mean_resolution_minutes",
                    "Mean resolution (min)",
                    ColumnKind::Decimal,
                ),
                column(
                    "median_resolution_minutes",
                    "Median resolution (min)",
                    ColumnKind::Decimal,
                ),
            ],
            rows,
            chart: ChartSpec {
                x: 0,
                series: vec![6],
                split: Some(1),
                count_by: None,
            },
        })
    }

    fn volumes(
        conn: &mut DbConnection,
        principal: &Principal,
        params: &ReportParams,
    ) -> Result<ReportTable, ReportError> {
        let mut counts: BTreeMap<(NaiveDate, String), i64> = BTreeMap::new();
        let raw: Vec<(NaiveDate, Option<String>, i64)> =
            store::period_totals(conn, principal, params, Some(params.by))?
                .into_iter()
                .map(|row| {
                    let value = if params.by == Dimension::Priority {
                        Some(row.priority.to_string())
                    } else {
                        row.value
                    };
                    (row.period_start, value, row.totals.raised)
                })
                .collect();
        let names: HashMap<String, String> = if params.by == Dimension::Organisation {
            let ids: Vec<i64> = raw
                .iter()
                .filter_map(|(_, v, _)| v.as_deref()?.parse().ok())
                .collect::<std::collections::BTreeSet<i64>>()
                .into_iter()
                .collect();
            store::organisation_names(conn, &ids)?
                .into_iter()
                .map(|(id, name)| (id.to_string(), name))
                .collect()
        } else {
            HashMap::new()
        };
        for (day, value, n) in raw {
            let value = match value {
                Some(v) => names.get(&v).cloned().unwrap_or(v),
                None => "(unassigned)".to_owned(),
            };
            *counts.entry((params.period_of(day), value)).or_default() += n;
        }
        // Rows of incidents resolved but not raised in the period, or whose every incident has
        // moved to another value, total nothing raised.
        let rows = counts
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|((period, value), n)| {
                vec![
                    Self::period_label(params, period),
                    text(params.by.as_str()),
                    text(value),
                    Value::Integer(n),
                ]
            })
            .collect();
        Ok(ReportTable {
            name: ReportName::Volumes,
            title: format!("Incidents raised by {}", params.by),
            columns: vec![
                column("period", "Period", ColumnKind::Text),
                column("by", "Grouped by", ColumnKind::Text),
                column("value", "Value", ColumnKind::Text),
                column("raised", "Raised", ColumnKind::Integer),
            ],
            rows,
            chart: ChartSpec {
                x: 0,
                series: vec![3],
                split: Some(2),
                count_by: None,
            },
        })
    }

    fn reopen_rate(
        conn: &mut DbConnection,
        principal: &Principal,
        params: &ReportParams,
    ) -> Result<ReportTable, ReportError> {
        let mut counts: BTreeMap<NaiveDate, (i64, i64)> = BTreeMap::new();
        for row in store::period_totals(conn, principal, params, None)? {
            let slot = counts
                .entry(params.period_of(row.period_start))
                .or_default();
            slot.0 += row.totals.resolved;
            slot.1 += row.totals.reopened;
        }
        let rows = params
            .periods()
            .into_iter()
            .map(|period| {
                let (resolved, reopened) = counts.get(&period).copied().unwrap_or_default();
                vec![
                    Self::period_label(params, period),
                    Value::Integer(resolved),
                    Value::Integer(reopened),
                    share(reopened, resolved),
                ]
            })
            .collect();
        Ok(ReportTable {
            name: ReportName::ReopenRate,
            title: "Reopen rate".into(),
            columns: vec![
                column("period", "Period", ColumnKind::Text),
                column("resolved", "Resolved", ColumnKind::Integer),
                column("reopened", "Reopened", ColumnKind::Integer),
                column("reopen_rate", "Share reopened", ColumnKind::Decimal),
            ],
            rows,
            chart: ChartSpec {
                x: 0,
                series: vec![1, 2],
                split: None,
                count_by: None,
            },
        })
    }

    fn diagnostics(
        &self,
        conn: &mut DbConnection,
        principal: &Principal,
        params: &ReportParams,
        now: DateTime<Utc>,
    ) -> Result<ReportTable, ReportError> {
        let from = self.start_of(params.from);
        let until = self.start_of(params.to + Duration::days(1));
        let found = store::diagnostics(conn, principal, params, from, until, DIAGNOSTICS_LIMIT)?;
        let ids: Vec<i64> = found.iter().map(|r| r.id).collect();
        let mut devices: HashMap<i64, Vec<String>> = HashMap::new();
        for (id, device) in store::devices_of(conn, &ids)? {
            devices.entry(id).or_default().push(device);
        }
        let met: HashMap<i64, Option<bool>> =
            store::resolution_met_of(conn, &ids)?.into_iter().collect();
        let visible: Vec<i64> = found
            .iter()
            .map(|r| r.organisation_id)
            .filter(|o| principal.sees_organisation(*o))
            .collect();
        let names: HashMap<i64, String> = store::organisation_names(conn, &visible)?
            .into_iter()
            .collect();
        let now = timestamp(now);
        let rows = found
            .into_iter()
            .map(|r| {
                let state = match r.status.as_str() {
                    "resolved" | "closed" => match met.get(&r.id).copied().flatten() {
                        Some(true) => "met",
                        Some(false) => "breached",
                        None => "resolved",
                    },
                    "cancelled" => "cancelled",
                    _ if r.resolution_due_at.is_some_and(|d| d <= now) => "breached",
                    "awaiting_user" => "paused",
                    _ if r.resolution_at_risk_at.is_some_and(|d| d <= now) => "at_risk",
                    _ => "running",
                };
                vec![
                    text(r.reference),
                    // Another organisation's incident that names one of the caller's devices
                    // is shown without saying whose it is.
                    names
                        .get(&r.organisation_id)
                        .map_or(Value::Null, |n| text(n.clone())),
                    text(r.title),
                    text(r.status),
                    Value::Integer(i64::from(r.priority)),
                    text(r.category),
                    r.assignment_group.map_or(Value::Null, text),
                    text(devices.remove(&r.id).unwrap_or_default().join(" ")),
                    r.region.map_or(Value::Null, text),
                    optional_instant(r.fault_started_at),
                    text(instant(r.created_at)),
                    optional_instant(r.responded_at),
                    optional_instant(r.resolved_at),
                    optional_instant(r.resolution_due_at),
                    text(state),
                ]
            })
            .collect();
        Ok(ReportTable {
            name: ReportName::NetworkDiagnostics,
            title: "Network diagnostics: incidents by SLA state".into(),
            columns: vec![
                column("reference", "Reference", ColumnKind::Text),
                column("organisation", "Organisation", ColumnKind::Text),
                column("title", "Title", ColumnKind::Text),
                column("status", "Status", ColumnKind::Text),
                column("priority", "Priority", ColumnKind::Integer),
                column("category", "Category", ColumnKind::Text),
                column("assignment_group", "Resolver group", ColumnKind::Text),
                column("devices", "Devices", ColumnKind::Text),
                column("region", "Region", ColumnKind::Text),
                column("fault_started_at", "Fault began", ColumnKind::Text),
                column("created_at", "Raised", ColumnKind::Text),
                column("responded_at", "Responded", ColumnKind::Text),
                column("resolved_at", "Resolved", ColumnKind::Text),
                column("resolution_due_at", "Resolution due", ColumnKind::Text),
                column("sla_state", "SLA state", ColumnKind::Text),
            ],
            rows,
            chart: ChartSpec {
                x: 14,
                series: Vec::new(),
                split: None,
                count_by: Some(14),
            },
        })
    }

    /// Registers `devices` to network operator `organisation_id` (operator staff who manage
    /// hubs), replacing any earlier registration of the same ids.
    pub fn register_devices(
        &self,
        principal: &Principal,
        organisation_id: i64,
        devices: Vec<(String, Option<String>, Option<String>)>,
    ) -> Result<Vec<NetworkDevice>, ReportError> {
        if !principal.is_operator_staff() || !principal.can(Permission::ManageHubs) {
            return Err(
                dsms_core::Forbidden("register devices to network operators".into()).into(),
            );
        }
        let mut errors = ValidationErrors::default();
        if devices.is_empty() || devices.len() > 10_000 {
            errors.push("devices", "must list 1 to 10000 devices");
        }
        let recorded_at = timestamp(self.now());
        let mut rows = Vec::new();
        for (i, (id, device_type, region)) in devices.into_iter().enumerate() {
            let id = id.trim().to_owned();
            if id.is_empty() || id.chars().count() > 64 {
                errors.push(
                    format!("devices[{i}].device_id"),
                    "must be 1 to 64 characters",
                );
            }
            rows.push(DeviceRow {
                device_id: id,
                organisation_id,
                device_type: device_type
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty()),
                region: region
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty()),
                recorded_at,
            });
        }
        errors.into_result()?;
        self.inner.db.write_blocking(|conn| {
            if !store::organisation_exists(conn, organisation_id)? {
                return Err(ValidationErrors::from(FieldError::new(
                    "organisation_id",
                    "no such organisation",
                ))
                .into());
            }
            store::register_devices(conn, &rows)?;
            Ok::<_, ReportError>(())
        })?;
        Ok(rows.into_iter().map(NetworkDevice::from).collect())
    }

    /// The devices registered to organisations the caller may see.
    pub fn devices(
        &self,
        principal: &Principal,
        organisation_id: Option<i64>,
    ) -> Result<Vec<NetworkDevice>, ReportError> {
        principal.require(Permission::ViewReports, "read reports")?;
        let rows = self
            .inner
            .db
            .read_blocking(|conn| store::devices(conn, principal, organisation_id))?;
        Ok(rows.into_iter().map(NetworkDevice::from).collect())
    }

    /// Subscribes the calling person to a report.
    pub fn subscribe(
        &self,
        principal: &Principal,
        new: NewSubscription,
    ) -> Result<Subscription, ReportError> {
        principal.require(Permission::ViewReports, "read reports")?;
        let person_id = principal
            .person_id()
            .ok_or_else(|| dsms_core::Forbidden("subscribe as a system".into()))?;
        let mut errors = ValidationErrors::default();
        let report = ReportName::parse(new.report.trim());
        if report.is_none() {
            errors.push("report", format!("must be one of {}", ReportName::names()));
        }
        let cadence = Cadence::parse(new.cadence.trim(), new.working_day)
            .map_err(|e| errors.0.extend(e.0))
            .ok();
        if new.parameters.from.is_some() || new.parameters.to.is_some() {
            errors.push(
                "parameters",
                "from and to are set by the cadence: each email covers the last complete period",
            );
        }
        let params = ReportParams::parse(&new.parameters, self.today())
            .map_err(|e| {
                errors.0.extend(
                    e.0.into_iter()
                        .map(|f| FieldError::new(format!("parameters.{}", f.field), f.message)),
                )
            })
            .ok();
        errors.into_result()?;
        let (Some(report), Some(cadence), Some(params)) = (report, cadence, params) else {
            return Err(ReportError::NotFound);
        };
        Self::authorise(principal, &params)?;
        let parameters =
            serde_json::to_string(&new.parameters).map_err(|e| ReportError::Csv(e.to_string()))?;
        let now = timestamp(self.now());
        let row = self.inner.db.write_blocking(|conn| {
            store::insert_subscription(
                conn,
                &NewSubscriptionRow {
                    person_id,
                    organisation_id: principal.organisation_id,
                    report: report.as_str(),
                    parameters: &parameters,
                    cadence: cadence.as_str(),
                    working_day: cadence.working_day().and_then(|n| i32::try_from(n).ok()),
                    created_at: now,
                },
            )
        })?;
        Subscription::try_from(row)
    }

    /// The calling person's subscriptions.
    pub fn subscriptions(&self, principal: &Principal) -> Result<Vec<Subscription>, ReportError> {
        principal.require(Permission::ViewReports, "read reports")?;
        let Some(person_id) = principal.person_id() else {
            return Ok(Vec::new());
        };
        let rows = self
            .inner
            .db
            .read_blocking(|conn| store::subscriptions_of(conn, person_id))?;
        rows.into_iter().map(Subscription::try_from).collect()
    }

    /// Cancels one of the calling person's subscriptions.
    pub fn unsubscribe(&self, principal: &Principal, id: i64) -> Result<(), ReportError> {
        principal.require(Permission::ViewReports, "read reports")?;
        let person_id = principal.person_id().ok_or(ReportError::NotFound)?;
        let now = timestamp(self.now());
        let cancelled = self
            .inner
            .db
            .write_blocking(|conn| store::cancel_subscription(conn, person_id, id, now))?;
        if cancelled {
            Ok(())
        } else {
            Err(ReportError::NotFound)
        }
    }

    /// Emails every subscribed report whose period has ended and that has not been sent yet.
    /// Each (subscription, period) is recorded in the same transaction as the email's outbox
    /// row, under a key that lets only one server process write it.
    pub fn deliver_due(&self) -> Result<Delivered, ReportError> {
        let now = self.now();
        let policy = &self.inner.policy;
        let subscriptions = self.inner.db.read_blocking(store::active_subscriptions)?;
        let mut due = Vec::new();
        for row in subscriptions {
            let Ok(subscription) = Subscription::try_from(row.clone()) else {
                continue;
            };
            let Some(period) = subscription
                .cadence
                .latest_due(&policy.calendar, policy.zone, now)
            else {
                continue;
            };
            // Subscribing asks for the periods that end from now on, not for past ones.
            if period.due_at < subscription.created_at.and_utc() || period.due_at > now {
                continue;
            }
            due.push((row, subscription, period));
        }
        let mut delivered = Delivered::default();
        if due.is_empty() {
            return Ok(delivered);
        }
        self.refresh_facts(usize::MAX)?;
        for (row, subscription, period) in due {
            let sent = self.inner.db.write_blocking(|conn| {
                if store::delivered(conn, subscription.id, period.start)? {
                    return Ok::<_, ReportError>(false);
                }
                let Some(person) = store::subscriber(conn, row.person_id)? else {
                    return Ok(false);
                };
                let kind = OrganisationKind::parse(&person.organisation_kind)
                    .unwrap_or(OrganisationKind::User);
                let roles = person.roles.iter().filter_map(|r| Role::parse(r)).collect();
                let principal = Principal::person(row.person_id, row.organisation_id, kind, roles)
                    .named(person.name.clone());
                if !person.active || !principal.can(Permission::ViewReports) {
                    return Ok(false);
                }
                let Ok(to) = dsms_core::Email::parse(&person.email) else {
                    return Ok(false);
                };
                let mut query = subscription.parameters.clone();
                query.from = Some(period.start.to_string());
                query.to = Some(period.end.to_string());
                if query.granularity.is_none() {
                    query.granularity = Some(subscription.cadence.granularity().as_str().into());
                }
                let params = ReportParams::parse(&query, period.end)?;
                let table = self.build(conn, &principal, subscription.report, &params, now)?;
                let csv = table.to_csv()?;
                let name = subscription.report.as_str();
                let message = EmailMessage::new(
                    vec![to],
                    format!("{}: {} to {}", table.title, period.start, period.end),
                    format!(
                        "Hello {},\n\nattached is the report \"{}\" for {} to {}, as you asked \
                         ({} delivery).\n\nTo stop these emails, cancel the subscription on \
                         the page \"Your scheduled reports\" (Reports, /reports/subscriptions) \
                         or through the API (DELETE /api/v1/report-subscriptions/{}).\n",
                        person.name,
                        table.title,
                        period.start,
                        period.end,
                        subscription.cadence.as_str(),
                        subscription.id
                    ),
                )
                .with_attachment(EmailAttachment {
                    filename: format!("{name}-{}.csv", period.start),
                    content_type: "text/csv; charset=utf-8".into(),
                    content: csv,
                });
                let outbox_id = enqueue_email(conn, now, &message)?;
                store::record_delivery(
                    conn,
                    subscription.id,
                    period.start,
                    outbox_id,
                    timestamp(now),
                )?;
                Ok(true)
            });
            match sent {
                Ok(true) => delivered.sent += 1,
                Ok(false) | Err(ReportError::Store(StoreError::Conflict(_))) => {}
                Err(error) => {
                    tracing::warn!(%error, subscription = subscription.id, "scheduled report failed");
                }
            }
        }
        Ok(delivered)
    }
}

impl From<DeviceRow> for NetworkDevice {
    fn from(row: DeviceRow) -> Self {
        Self {
            device_id: row.device_id,
            organisation_id: row.organisation_id,
            device_type: row.device_type,
            region: row.region,
            recorded_at: row.recorded_at,
        }
    }
}
