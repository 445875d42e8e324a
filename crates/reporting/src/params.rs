//! Report parameters: raw text from a query string parsed once into checked values.

use chrono::{Datelike, Duration, NaiveDate};
use dsms_core::ValidationErrors;
use serde::{Deserialize, Serialize};

dsms_core::text_enum! {
    /// How finely a period is divided.
    Granularity {
        /// Calendar days.
        Day => "day",
        /// Weeks from Monday to Sunday.
        Week => "week",
        /// Calendar months.
        Month => "month",
    }
}

dsms_core::text_enum! {
    /// What volumes are grouped by.
    Dimension {
        /// Incident category.
        Category => "category",
        /// Raising organisation.
        Organisation => "organisation",
        /// Resolver group.
        Group => "group",
        /// Priority.
        Priority => "priority",
    }
}

/// Parameters as received, every one optional text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// First day, YYYY-MM-DD.
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD, inclusive.
    pub to: Option<String>,
    /// `day`, `week` or `month`.
    pub granularity: Option<String>,
    /// An organisation id.
    pub organisation_id: Option<String>,
    /// 1 to 5.
    pub priority: Option<String>,
    /// A category code.
    pub category: Option<String>,
    /// A resolver group.
    pub group: Option<String>,
    /// What volumes are grouped by.
    pub by: Option<String>,
    /// Diagnostics: `open` or `all`.
    pub status: Option<String>,
    /// Diagnostics: a device id.
    pub device: Option<String>,
    /// Diagnostics: a region.
    pub region: Option<String>,
}

/// Checked parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportParams {
    /// First day of the period.
    pub from: NaiveDate,
    /// Last day of the period, inclusive.
    pub to: NaiveDate,
    /// How the period is divided.
    pub granularity: Granularity,
    /// Only this organisation.
    pub organisation_id: Option<i64>,
    /// Only this priority.
    pub priority: Option<i32>,
    /// Only this category.
    pub category: Option<String>,
    /// Only this resolver group.
    pub group: Option<String>,
    /// Volumes' grouping.
    pub by: Dimension,
    /// Diagnostics: unresolved incidents only.
    pub open_only: bool,
    /// Diagnostics: only incidents naming this device.
    pub device: Option<String>,
    /// Diagnostics: only this region.
    pub region: Option<String>,
}

/// The longest period a report covers, in days (ten years).
const MAX_DAYS: i64 = 3_660;
/// The most periods a report divides into.
const MAX_BUCKETS: usize = 1_000;

fn text(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn date(field: &str, value: &Option<String>, errors: &mut ValidationErrors) -> Option<NaiveDate> {
    let value = text(value)?;
    match NaiveDate::parse_from_str(&value, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(field, "must be a date, YYYY-MM-DD");
            None
        }
    }
}

/// The first day of the month `months` before `date`'s month.
fn months_before(date: NaiveDate, months: u32) -> NaiveDate {
    let index = date.year() * 12 + date.month0() as i32 - months as i32;
    NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1)
        .unwrap_or(date)
}

impl ReportParams {
    /// Checks `query`, with `today` (in the calendar's zone) for the default period of the
    /// twelve months up to today.
    pub fn parse(query: &ReportQuery, today: NaiveDate) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let to = date("to", &query.to, &mut errors).unwrap_or(today);
        let from = date("from", &query.from, &mut errors).unwrap_or_else(|| months_before(to, 11));
        if from > to {
            errors.push("from", "must not be after `to`");
        } else if to - from > Duration::days(MAX_DAYS) {
            errors.push(
                "from",
                format!("the period may cover at most {MAX_DAYS} days"),
            );
        }
        let granularity = match text(&query.granularity) {
            None => Granularity::Month,
            Some(g) => Granularity::parse(&g).unwrap_or_else(|| {
                errors.push(
                    "granularity",
                    format!("must be one of {}", Granularity::names()),
                );
                Granularity::Month
            }),
        };
        if errors.0.is_empty() && periods(from, to, granularity).len() > MAX_BUCKETS {
            errors.push(
                "granularity",
                format!(
                    "divides the period into more than {MAX_BUCKETS} periods; choose a coarser one"
                ),
            );
        }
        let organisation_id = text(&query.organisation_id).and_then(|o| {
            o.parse::<i64>().ok().or_else(|| {
                errors.push("organisation_id", "must be an organisation id");
                None
            })
        });
        let priority = text(&query.priority).and_then(|p| match p.parse::<i32>() {
            Ok(p) if (1..=5).contains(&p) => Some(p),
            _ => {
                errors.push("priority", "must be 1 to 5");
                None
            }
        });
        let by = match text(&query.by) {
            None => Dimension::Category,
            Some(b) => Dimension::parse(&b).unwrap_or_else(|| {
                errors.push("by", format!("must be one of {}", Dimension::names()));
                Dimension::Category
            }),
        };
        let open_only = match text(&query.status).as_deref() {
            None | Some("all") => false,
            Some("open") => true,
            Some(_) => {
                errors.push("status", "must be open or all");
                false
            }
        };
        for (field, value) in [
            ("category", &query.category),
            ("group", &query.group),
            ("device", &query.device),
            ("region", &query.region),
        ] {
            if text(value).is_some_and(|v| v.chars().count() > 200) {
                errors.push(field, "must be at most 200 characters");
            }
        }
        errors.into_result()?;
        Ok(Self {
            from,
            to,
            granularity,
            organisation_id,
            priority,
            category: text(&query.category),
            group: text(&query.group),
            by,
            open_only,
            device: text(&query.device),
            region: text(&query.region),
        })
    }

    /// The periods the report divides into, in order.
    pub fn periods(&self) -> Vec<NaiveDate> {
        periods(self.from, self.to, self.granularity)
    }

    /// The start of the period `day` falls in.
    pub fn period_of(&self, day: NaiveDate) -> NaiveDate {
        period_start(day, self.granularity)
    }
}

/// The start of the `granularity` period containing `day`.
pub(crate) fn period_start(day: NaiveDate, granularity: Granularity) -> NaiveDate {
    match granularity {
        Granularity::Day => day,
        Granularity::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        Granularity::Month => day.with_day(1).unwrap_or(day),
    }
}

/// The start of the period after the one starting at `start`.
pub(crate) fn next_period(start: NaiveDate, granularity: Granularity) -> NaiveDate {
    match granularity {
        Granularity::Day => start + Duration::days(1),
        Granularity::Week => start + Duration::days(7),
        Granularity::Month => months_before(start, 0)
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(start),
    }
}

fn periods(from: NaiveDate, to: NaiveDate, granularity: Granularity) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut start = period_start(from, granularity);
    while start <= to && out.len() <= MAX_BUCKETS {
        out.push(start);
        start = next_period(start, granularity);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_default_period_is_twelve_calendar_months_to_today() {
        let params = ReportParams::parse(&ReportQuery::default(), day("2026-11-29")).unwrap();
        assert_eq!(params.from, day("2025-12-01"));
        assert_eq!(params.to, day("2026-11-29"));
        assert_eq!(params.periods().len(), 12);
    }

    #[test]
    fn weeks_run_monday_to_sunday() {
        let query = ReportQuery {
            from: Some("2026-11-04".into()),
            to: Some("2026-11-16".into()),
            granularity: Some("week".into()),
            ..ReportQuery::default()
        };
        let params = ReportParams::parse(&query, day("2026-11-29")).unwrap();
        assert_eq!(
            params.periods(),
            [day("2026-11-02"), day("2026-11-09"), day("2026-11-16")]
        );
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let query = ReportQuery {
            from: Some("yesterday".into()),
            granularity: Some("hour".into()),
            priority: Some("7".into()),
            by: Some("colour".into()),
            status: Some("sleeping".into()),
            organisation_id: Some("x".into()),
            ..ReportQuery::default()
        };
        let errors = ReportParams::parse(&query, day("2026-11-29")).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "from",
                "granularity",
                "organisation_id",
                "priority",
                "by",
                "status"
            ]
        );
    }

    #[test]
    fn a_period_ending_before_it_starts_is_refused() {
        let query = ReportQuery {
            from: Some("2026-11-10".into()),
            to: Some("2026-11-01".into()),
            ..ReportQuery::default()
        };
        assert!(ReportParams::parse(&query, day("2026-11-29")).is_err());
    }
}
