//! What reports need to know about one incident, computed once from the incident and its pauses
//! whenever it changes: local dates, SLA outcomes and clock times, whether it was reopened.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use dsms_core::sla::{ClockState, SlaClock};

use crate::policy::ReportPolicy;

/// An incident as the facts are computed from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IncidentSource {
    pub id: i64,
    pub organisation_id: i64,
    pub priority: i32,
    pub category: String,
    pub assignment_group: Option<String>,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub responded_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

/// A period the resolution clock did not run, and why (`awaiting_user`, or `resolved` for the
/// time between a resolution and a reopening).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pause {
    pub reason: String,
    pub started_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
}

/// The facts of one incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IncidentFacts {
    pub incident_id: i64,
    pub organisation_id: i64,
    pub priority: i32,
    pub category: String,
    pub assignment_group: Option<String>,
    pub created_on: NaiveDate,
    pub resolved_on: Option<NaiveDate>,
    pub response_seconds: Option<i64>,
    pub response_met: Option<bool>,
    pub resolution_seconds: Option<i64>,
    pub resolution_met: Option<bool>,
    pub reopened: bool,
    pub source_version: i64,
    pub source_updated_at: NaiveDateTime,
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// Computes the facts of `incident` with its `pauses` under `policy`.
pub(crate) fn compute(
    policy: &ReportPolicy,
    incident: &IncidentSource,
    pauses: &[Pause],
) -> IncidentFacts {
    let targets = policy.targets(incident.priority);
    let local = |t: NaiveDateTime| utc(t).with_timezone(&policy.zone).date_naive();
    // Resolved or closed after resolution; a cancelled incident was never resolved.
    let resolved_at = incident
        .resolved_at
        .filter(|_| matches!(incident.status.as_str(), "resolved" | "closed"));
    let response = incident.responded_at.map(|responded| {
        SlaClock {
            target: targets.response,
            hours: targets.hours,
            started_at: utc(incident.created_at),
            pauses: Vec::new(),
            stopped_at: Some(utc(responded)),
        }
        .read(&policy.calendar, utc(responded), 1.0)
    });
    let resolution = resolved_at.map(|resolved| {
        SlaClock {
            target: targets.resolution,
            hours: targets.hours,
            started_at: utc(incident.created_at),
            pauses: pauses
                .iter()
                .map(|p| (utc(p.started_at), p.ended_at.map(utc)))
                .collect(),
            stopped_at: Some(utc(resolved)),
        }
        .read(&policy.calendar, utc(resolved), 1.0)
    });
    IncidentFacts {
        incident_id: incident.id,
        organisation_id: incident.organisation_id,
        priority: incident.priority,
        category: incident.category.clone(),
        assignment_group: incident.assignment_group.clone(),
        created_on: local(incident.created_at),
        resolved_on: resolved_at.map(local),
        response_seconds: response.map(|r| r.elapsed.num_seconds()),
        response_met: response.map(|r| r.state == ClockState::Met),
        resolution_seconds: resolution.map(|r| r.elapsed.num_seconds()),
        resolution_met: resolution.map(|r| r.state == ClockState::Met),
        reopened: pauses.iter().any(|p| p.reason == "resolved"),
        source_version: incident.version,
        source_updated_at: incident.updated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn incident(priority: i32, created: &str, resolved: Option<&str>) -> IncidentSource {
        IncidentSource {
            id: 1,
            organisation_id: 2,
            priority,
            category: "smart_meter".into(),
            assignment_group: None,
            status: if resolved.is_some() {
                "resolved"
            } else {
                "in_progress"
            }
            .into(),
            created_at: at(created),
            responded_at: None,
            resolved_at: resolved.map(at),
            version: 3,
            updated_at: at(created),
        }
    }

    #[test]
    fn a_working_hours_target_skips_the_easter_bank_holidays() {
        // P3: 3 working days (30 h). Raised Thursday 2 April 2026 10:00 BST (09:00 UTC): due
        // Thursday 9 April 10:00 BST, after Good Friday, the weekend and Easter Monday.
        let policy = ReportPolicy::default();
        let met = compute(
            &policy,
            &incident(3, "2026-04-02 09:00", Some("2026-04-09 08:59")),
            &[],
        );
        assert_eq!(met.resolution_met, Some(true));
        assert_eq!(met.resolution_seconds, Some(30 * 3600 - 60));
        let missed = compute(
            &policy,
            &incident(3, "2026-04-02 09:00", Some("2026-04-09 09:01")),
            &[],
        );
        assert_eq!(missed.resolution_met, Some(false));
    }

    #[test]
    fn local_dates_follow_the_calendar_zone() {
        // 23:30 UTC on 30 June is already 1 July in London (BST).
        let facts = compute(
            &ReportPolicy::default(),
            &incident(1, "2026-06-30 23:30", None),
            &[],
        );
        assert_eq!(
            facts.created_on,
            NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()
        );
        assert_eq!(facts.resolved_on, None);
        assert_eq!(facts.resolution_met, None);
    }
}
