//! Organisations see only their own figures in every report: no row, total, grouping or CSV
//! cell of another organisation's. Operator staff see everything.

use dsms_reporting::{ReportError, ReportName, ReportTable};

use crate::support::*;

fn everything(t: &ReportTable) -> String {
    format!("{}{}", t.to_csv().expect("csv"), t.to_svg())
}

#[test]
fn every_report_shows_another_organisation_none_of_its_rows_or_names() {
    let w = World::new();
    let query = [
        ("from", "2026-11-01"),
        ("to", "2027-01-04"),
        ("by", "organisation"),
    ];
    for name in ReportName::ALL {
        let query: Vec<(&str, &str)> = query
            .iter()
            .copied()
            .filter(|(k, _)| *k != "by" || *name == ReportName::Volumes)
            .collect();
        for who in [&w.southern_reporter, &w.token(w.southern)] {
            let table = w.run(who, *name, &query);
            let text = everything(&table);
            assert!(!text.contains("Northern"), "{name}: {text}");
            assert!(!text.contains("HUB-N-1"), "{name}: {text}");
        }
        let staff = everything(&w.run(&w.manager, *name, &query));
        // The backlog has no periods; request and hub reports read data this incident log does
        // not hold (their own modules prove their scoping on data of their own).
        let incident_report = !matches!(
            name,
            ReportName::RequestFulfilment
                | ReportName::HubForecastAccuracy
                | ReportName::HubDeliveryOtif
                | ReportName::HubReturns
                | ReportName::HubFaultConfirmation
        );
        if *name != ReportName::Backlog && incident_report {
            assert!(
                staff.contains("Northern") || staff.contains("2026-11"),
                "{name}: operator staff see everyone"
            );
        }
    }
}

#[test]
fn organisations_count_only_their_own_incidents() {
    let w = World::new();
    let q = NOV_DEC;
    let s = &w.southern_reporter;
    let sla = w.run(s, ReportName::SlaPerformance, q);
    assert_eq!(
        int(
            &sla,
            &[("period", "2026-11"), ("priorities", "1-2")],
            "resolved"
        ),
        1
    );
    assert_eq!(
        int(
            &sla,
            &[("period", "2026-12"), ("priorities", "3-5")],
            "resolved"
        ),
        0
    );
    let arrivals = w.run(s, ReportName::ArrivalsResolutions, q);
    assert_eq!(int(&arrivals, &[("period", "2026-11")], "raised"), 1);
    assert_eq!(int(&arrivals, &[("period", "2026-12")], "raised"), 1);
    let backlog = w.run(s, ReportName::Backlog, &[]);
    assert_eq!(int(&backlog, &[("priority", "all")], "open"), 1);
    assert_eq!(int(&backlog, &[("priority", "4")], "open"), 0);
    let times = w.run(s, ReportName::ResponseResolutionTimes, q);
    assert_eq!(
        int(
            &times,
            &[("period", "2026-11"), ("priority", "1")],
            "resolved"
        ),
        1
    );
    approx(
        decimal(
            &times,
            &[("period", "2026-11"), ("priority", "1")],
            "mean_response_minutes",
        ),
        5.0,
    );
    let mut by_org = q.to_vec();
    by_org.push(("by", "organisation"));
    let volumes = w.run(s, ReportName::Volumes, &by_org);
    assert_eq!(volumes.rows.len(), 2, "one row per month, all Southern Gas");
    assert_eq!(
        int(
            &volumes,
            &[("period", "2026-11"), ("value", "Southern Gas")],
            "raised"
        ),
        1
    );
    let reopen = w.run(s, ReportName::ReopenRate, q);
    assert_eq!(int(&reopen, &[("period", "2026-11")], "reopened"), 0);

    let n = w.run(&w.northern_reporter, ReportName::SlaPerformance, q);
    assert_eq!(
        int(
            &n,
            &[("period", "2026-11"), ("priorities", "1")],
            "resolved"
        ),
        1
    );
    assert_eq!(
        int(
            &n,
            &[("period", "2026-11"), ("priorities", "1-2")],
            "missed"
        ),
        1
    );
}

#[test]
fn staff_may_compare_organisations_but_an_organisation_may_not_ask_for_another() {
    let w = World::new();
    let southern = w.southern.to_string();
    let t = w.run(
        &w.manager,
        ReportName::ArrivalsResolutions,
        &[
            ("from", "2026-11-01"),
            ("to", "2026-11-30"),
            ("organisation_id", &southern),
        ],
    );
    assert_eq!(int(&t, &[("period", "2026-11")], "raised"), 1);
    for name in ReportName::ALL {
        let refused = w
            .reports
            .run(
                &w.northern_reporter,
                *name,
                &params(&[("organisation_id", &southern)]),
            )
            .unwrap_err();
        assert!(
            matches!(refused, ReportError::Forbidden(_)),
            "{name}: {refused:?}"
        );
    }
}

#[test]
fn people_without_the_reports_permission_are_refused() {
    let w = World::new();
    for name in ReportName::ALL {
        let refused = w
            .reports
            .run(&w.northern_user, *name, &params(&[]))
            .unwrap_err();
        assert!(
            matches!(refused, ReportError::Forbidden(_)),
            "{name}: {refused:?}"
        );
    }
}
