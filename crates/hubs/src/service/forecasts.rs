//! Rolling forecasts: each submission is a new version (who, when, what changed from the last),
//! flagged late when the month's first submission came after its due day; the forecast in force
//! for a month is the latest submitted before the month's order cut-off.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDateTime;
use dsms_core::{Page, PageRequest, Permission, Principal, ValidationErrors};
use dsms_store::audit::Changes;
use dsms_store::idempotency::{Created, Idempotent};
use dsms_store::{DbConnection, StoreError, timestamp};

use super::{Hubs, date, emit, party, record, start_of};
use crate::model::{
    ComplianceStatus, Forecast, ForecastChange, ForecastCompliance, ForecastInForce, ForecastLine,
    HubError, NewForecastLine, Party, Region,
};
use crate::month::Month;
use crate::rules;
use crate::store::{self, ForecastLineRow, ForecastRow, VariantRow};

/// The most lines one forecast may carry.
const MAX_LINES: usize = 10_000;

/// What a list of forecasts is filtered by.
#[derive(Debug, Clone, Default)]
pub struct ForecastFilter {
    /// Only this organisation (operator staff).
    pub organisation_id: Option<i64>,
}

type Key = (Month, i64);

fn lines_by_key(lines: &[ForecastLineRow]) -> BTreeMap<Key, i64> {
    lines
        .iter()
        .filter_map(|l| Month::parse(&l.month).map(|m| ((m, l.variant_id), l.quantity)))
        .collect()
}

impl Hubs {
    /// Submits a new version of the caller's organisation's rolling forecast. It must cover
    /// every month of the horizon after the current one, each line naming an active variant.
    pub fn submit_forecast(
        &self,
        principal: &Principal,
        lines: Vec<NewForecastLine>,
        idempotent: Option<Idempotent<Forecast>>,
        request_id: Option<&str>,
    ) -> Result<Created<Forecast>, HubError> {
        principal.require(Permission::OrderHubs, "submit hub forecasts")?;
        let (kind, actor_id) = party(principal)?;
        let now = self.now();
        let (rules, today) = self.in_force(now);
        let cycle = Month::of(today);
        let first = cycle.plus(1);
        let last = rules.horizon_end(today);
        let organisation_id = principal.organisation_id;
        self.create(now, idempotent, |conn| {
            let variants = store::variants(conn)?;
            let mut errors = ValidationErrors::default();
            if lines.is_empty() {
                errors.push("lines", "must list the forecast's months and variants");
            } else if lines.len() > MAX_LINES {
                errors.push("lines", format!("must be at most {MAX_LINES} lines"));
            }
            let mut parsed: Vec<ForecastLineRow> = Vec::new();
            let mut seen: BTreeMap<Key, usize> = BTreeMap::new();
            for (i, line) in lines.iter().enumerate() {
                let at = |f: &str| format!("lines[{i}].{f}");
                let month = Month::parse(&line.month);
                match month {
                    None => errors.push(at("month"), "must be a month such as 2027-05"),
                    Some(m) if m < first || m > last => errors.push(
                        at("month"),
                        format!(
                            "forecast horizon: must be from {first} to {last} (the {} months after {cycle})",
                            rules.forecast_horizon_months
                        ),
                    ),
                    Some(_) => {}
                }
                let variant = variants
                    .iter()
                    .find(|v| v.product_code.eq_ignore_ascii_case(line.variant.trim()));
                match variant {
                    None => errors.push(at("variant"), "is not a known hub variant product code"),
                    Some(v) if !v.active => {
                        errors.push(at("variant"), "has been withdrawn and cannot be forecast")
                    }
                    Some(v) => {
                        if let Some(region) = &line.region
                            && !region.trim().eq_ignore_ascii_case(&v.region)
                        {
                            errors.push(
                                at("region"),
                                format!("must be {}, the region of {}", v.region, v.product_code),
                            );
                        }
                    }
                }
                if line.quantity < 0 {
                    errors.push(at("quantity"), "must not be negative");
                }
                if let (Some(m), Some(v)) = (month, variant) {
                    if let Some(earlier) = seen.insert((m, v.id), i) {
                        errors.push(
                            format!("lines[{i}]"),
                            format!("repeats lines[{earlier}] ({m}, {})", v.product_code),
                        );
                    }
                    parsed.push(ForecastLineRow {
                        forecast_id: 0,
                        month: m.to_string(),
                        variant_id: v.id,
                        quantity: line.quantity,
                    });
                }
            }
            let covered: BTreeSet<Month> = seen.keys().map(|(m, _)| *m).collect();
            let missing: Vec<String> = (0..rules.forecast_horizon_months)
                .map(|n| first.plus(n))
                .filter(|m| !covered.contains(m))
                .map(|m| m.to_string())
                .collect();
            if !lines.is_empty() && !missing.is_empty() {
                errors.push(
                    "lines",
                    format!(
                        "forecast horizon: must cover every month from {first} to {last}; missing {}",
                        missing.join(", ")
                    ),
                );
            }
            errors.into_result()?;
            let previous = store::latest_forecast(conn, organisation_id)?;
            let due_on = self.rules().forecast_due(cycle);
            let on_time_before = store::first_in_cycle(conn, organisation_id, &cycle.to_string())?
                .is_some_and(|t| rules::today(t.and_utc()) <= due_on);
            let row = ForecastRow {
                id: 0,
                organisation_id,
                sequence: previous.as_ref().map_or(1, |p| p.sequence + 1),
                cycle_month: cycle.to_string(),
                due_on: due_on.to_string(),
                late: today > due_on && !on_time_before,
                submitted_by_kind: kind.to_owned(),
                submitted_by_id: actor_id,
                submitted_by_name: principal.display_name.clone(),
                submitted_at: timestamp(now),
            };
            let id = store::insert_forecast(conn, &row, &parsed)?;
            let forecast = self.assemble_forecast(conn, ForecastRow { id, ..row }, &variants)?;
            let mut changes = Changes::new()
                .created("sequence", forecast.sequence)
                .created("late", forecast.late);
            for c in &forecast.changes {
                changes = changes.field(
                    &format!("{}/{}", c.month, c.variant),
                    c.from.map_or(serde_json::Value::Null, Into::into),
                    c.to.map_or(serde_json::Value::Null, Into::into),
                );
            }
            record(
                conn,
                now,
                principal,
                Some(organisation_id),
                "hub_forecast.submitted",
                "hub_forecast",
                id,
                changes,
                request_id,
            )?;
            emit(
                conn,
                now,
                "hub_forecast.submitted",
                organisation_id,
                "hub_forecast",
                serde_json::json!({
                    "id": id.to_string(),
                    "sequence": forecast.sequence,
                    "cycle_month": forecast.cycle_month.to_string(),
                    "late": forecast.late,
                    "changes": forecast.changes.len(),
                }),
            )?;
            Ok(forecast)
        })
    }

    fn assemble_forecast(
        &self,
        conn: &mut DbConnection,
        row: ForecastRow,
        variants: &[VariantRow],
    ) -> Result<Forecast, StoreError> {
        let lines = store::forecast_lines(conn, row.id)?;
        let previous = match store::previous_forecast(conn, row.organisation_id, row.sequence)? {
            Some(p) => store::forecast_lines(conn, p.id)?,
            None => Vec::new(),
        };
        let code: HashMap<i64, &VariantRow> = variants.iter().map(|v| (v.id, v)).collect();
        let product = |id: i64| {
            code.get(&id)
                .map_or_else(String::new, |v| v.product_code.clone())
        };
        let (now_lines, then_lines) = (lines_by_key(&lines), lines_by_key(&previous));
        let keys: BTreeSet<&Key> = now_lines.keys().chain(then_lines.keys()).collect();
        let changes = keys
            .into_iter()
            .filter(|k| now_lines.get(k) != then_lines.get(k))
            .map(|k| ForecastChange {
                month: k.0,
                variant: product(k.1),
                from: then_lines.get(k).copied(),
                to: now_lines.get(k).copied(),
            })
            .collect();
        Ok(Forecast {
            id: row.id,
            organisation_id: row.organisation_id,
            organisation_name: store::organisation_name(conn, row.organisation_id)?,
            sequence: row.sequence,
            cycle_month: Month::parse(&row.cycle_month).unwrap_or(Month::of(date(&row.due_on))),
            due_on: date(&row.due_on),
            late: row.late,
            submitted_by: Party {
                kind: row.submitted_by_kind,
                id: row.submitted_by_id,
                name: row.submitted_by_name,
            },
            submitted_at: row.submitted_at,
            lines: now_lines
                .iter()
                .map(|((month, variant), quantity)| ForecastLine {
                    month: *month,
                    variant: product(*variant),
                    region: code
                        .get(variant)
                        .and_then(|v| Region::parse(&v.region))
                        .unwrap_or(Region::Central),
                    quantity: *quantity,
                })
                .collect(),
            changes,
        })
    }

    /// One forecast version, with its lines and what changed from the version before.
    pub fn forecast(&self, principal: &Principal, id: i64) -> Result<Forecast, HubError> {
        principal.require(Permission::ViewHubs, "see hub forecasts")?;
        Ok(self.db().read_blocking(|conn| {
            let row = store::forecast_visible(conn, principal, id)?;
            let variants = store::variants(conn)?;
            self.assemble_forecast(conn, row, &variants)
        })?)
    }

    /// One page of the forecast versions the caller may see, newest first.
    pub fn forecasts(
        &self,
        principal: &Principal,
        filter: &ForecastFilter,
        page: PageRequest,
    ) -> Result<Page<Forecast>, HubError> {
        principal.require(Permission::ViewHubs, "see hub forecasts")?;
        Ok(self.db().read_blocking(|conn| {
            let rows = store::forecasts(conn, principal, filter.organisation_id, page)?;
            let variants = store::variants(conn)?;
            let page = Page::from_rows(rows, page, |r| r.id);
            let mut items = Vec::with_capacity(page.items.len());
            for row in page.items {
                items.push(self.assemble_forecast(conn, row, &variants)?);
            }
            Ok::<_, StoreError>(Page {
                items,
                next_cursor: page.next_cursor,
            })
        })?)
    }

    /// The instant before which a forecast must have been submitted to be in force for
    /// `month`: the start of the month's order cut-off day.
    pub(crate) fn forecast_horizon_instant(
        &self,
        month: Month,
        now: NaiveDateTime,
    ) -> NaiveDateTime {
        let rules = self.rules().in_force(rules::today(now.and_utc()));
        start_of(rules.cutoff(month))
    }

    /// The forecast in force for `month` for an organisation (the caller's own, or any for
    /// operator staff).
    pub fn forecast_in_force(
        &self,
        principal: &Principal,
        organisation_id: Option<i64>,
        month: &str,
    ) -> Result<ForecastInForce, HubError> {
        principal.require(Permission::ViewHubs, "see hub forecasts")?;
        let month = Month::parse(month).ok_or_else(|| {
            dsms_core::FieldError::new("month", "must be a month such as 2027-05")
        })?;
        let organisation_id = match (organisation_id, principal.visible_organisation()) {
            (Some(asked), Some(own)) if asked != own => return Err(HubError::NotFound),
            (Some(asked), _) => asked,
            (None, Some(own)) => own,
            (None, None) => {
                return Err(dsms_core::FieldError::new(
                    "organisation_id",
                    "is required for operator staff",
                )
                .into());
            }
        };
        let now = timestamp(self.now());
        let cutoff = self
            .rules()
            .in_force(rules::today(now.and_utc()))
            .cutoff(month);
        let before = self.forecast_horizon_instant(month, now);
        Ok(self.db().read_blocking(|conn| {
            let forecast = store::forecast_before(conn, organisation_id, before)?;
            let variants = store::variants(conn)?;
            let lines = match &forecast {
                Some(f) => self
                    .assemble_forecast(conn, f.clone(), &variants)?
                    .lines
                    .into_iter()
                    .filter(|l| l.month == month)
                    .collect(),
                None => Vec::new(),
            };
            Ok::<_, StoreError>(ForecastInForce {
                organisation_id,
                month,
                cutoff,
                forecast: forecast.map(|f| (f.id, f.sequence)),
                lines,
            })
        })?)
    }

    /// Whether each supplier the caller may see forecast on time in a monthly cycle (the
    /// current month when none is given): on time, late, missing, or not yet due.
    pub fn forecast_compliance(
        &self,
        principal: &Principal,
        cycle: Option<&str>,
    ) -> Result<Vec<ForecastCompliance>, HubError> {
        principal.require(Permission::ViewHubs, "see hub forecasts")?;
        let today = rules::today(self.now());
        let cycle = match cycle {
            Some(c) => Month::parse(c).ok_or_else(|| {
                dsms_core::FieldError::new("month", "must be a month such as 2027-05")
            })?,
            None => Month::of(today),
        };
        let due_on = self.rules().forecast_due(cycle);
        Ok(self.db().read_blocking(|conn| {
            let mut out = Vec::new();
            for (id, name) in store::suppliers(conn, principal)? {
                let first = store::first_in_cycle(conn, id, &cycle.to_string())?;
                let status = match first {
                    Some(t) if rules::today(t.and_utc()) <= due_on => ComplianceStatus::OnTime,
                    Some(_) => ComplianceStatus::Late,
                    None if today > due_on => ComplianceStatus::Missing,
                    None => ComplianceStatus::NotYetDue,
                };
                out.push(ForecastCompliance {
                    organisation_id: id,
                    organisation_name: name,
                    cycle_month: cycle,
                    due_on,
                    first_submitted_at: first,
                    status,
                });
            }
            Ok::<_, StoreError>(out)
        })?)
    }
}
