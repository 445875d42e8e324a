//! Diagnostics for network operators: incidents of their own organisation and incidents naming
//! devices registered to them, with the SLA state, filterable and exportable.

use dsms_reporting::{ReportError, ReportName, Value};

use crate::support::*;

const ALL_TIME: &[(&str, &str)] = &[("from", "2026-11-01"), ("to", "2027-01-04")];

fn references(t: &dsms_reporting::ReportTable) -> Vec<String> {
    (0..t.rows.len())
        .map(|i| t.value(i, "reference").expect("reference").display())
        .collect()
}

fn register_east_hub(w: &World) {
    w.reports
        .register_devices(
            &w.manager,
            w.eastern,
            vec![(
                "HUB-EAST-1".into(),
                Some("communications_hub".into()),
                Some("south".into()),
            )],
        )
        .expect("registered");
}

#[test]
fn a_network_operator_sees_incidents_naming_its_devices_without_the_raisers_name() {
    let w = World::new();
    let before = w.run(
        &w.eastern_reporter,
        ReportName::NetworkDiagnostics,
        ALL_TIME,
    );
    assert!(
        before.rows.is_empty(),
        "nothing is theirs until a device is registered to them"
    );
    register_east_hub(&w);
    let t = w.run(
        &w.eastern_reporter,
        ReportName::NetworkDiagnostics,
        ALL_TIME,
    );
    assert_eq!(t.rows.len(), 1);
    assert_eq!(t.value(0, "organisation"), Some(&Value::Null));
    assert_eq!(
        t.value(0, "status"),
        Some(&Value::Text("in_progress".into()))
    );
    assert_eq!(t.value(0, "priority"), Some(&Value::Integer(3)));
    assert_eq!(
        t.value(0, "devices"),
        Some(&Value::Text("HUB-EAST-1 MPAN-1900000000001".into()))
    );
    assert_eq!(t.value(0, "region"), Some(&Value::Text("south".into())));
    assert_eq!(
        t.value(0, "created_at"),
        Some(&Value::Text("2026-12-30T08:00:00Z".into()))
    );
    assert_eq!(
        t.value(0, "sla_state"),
        Some(&Value::Text("at_risk".into()))
    );
    assert!(!t.to_csv().unwrap().contains("Southern"));
    let staff = w.run(
        &w.manager,
        ReportName::NetworkDiagnostics,
        &[("from", "2026-12-30"), ("to", "2026-12-30")],
    );
    assert_eq!(
        staff.value(0, "organisation"),
        Some(&Value::Text("Southern Gas".into()))
    );
}

#[test]
fn an_organisation_sees_its_own_incidents_with_their_sla_state() {
    let w = World::new();
    let t = w.run(
        &w.northern_reporter,
        ReportName::NetworkDiagnostics,
        ALL_TIME,
    );
    assert_eq!(
        t.rows.len(),
        8,
        "Northern's eight incidents, none of Southern's"
    );
    let state = |created: &str| {
        let i = (0..t.rows.len())
            .find(|i| t.value(*i, "created_at") == Some(&Value::Text(created.into())))
            .unwrap_or_else(|| panic!("{created}"));
        t.value(i, "sla_state").expect("state").display()
    };
    assert_eq!(state("2026-11-02T10:00:00Z"), "met");
    assert_eq!(state("2026-11-03T22:00:00Z"), "breached");
    assert_eq!(
        state(
            "2026-11-13T08:30:00Z"
                .replace("13T08:30", "02T09:00")
                .as_str()
        ),
        "met"
    );
    assert_eq!(state("2026-11-20T09:00:00Z"), "cancelled");
    assert_eq!(state("2027-01-02T09:00:00Z"), "paused");
    // Newest first.
    assert_eq!(
        t.value(0, "created_at"),
        Some(&Value::Text("2027-01-02T09:00:00Z".into()))
    );
}

#[test]
fn diagnostics_filter_by_status_device_region_priority_and_category() {
    let w = World::new();
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut q = ALL_TIME.to_vec();
        q.extend_from_slice(extra);
        w.run(&w.northern_reporter, ReportName::NetworkDiagnostics, &q)
    };
    assert_eq!(with(&[("status", "open")]).rows.len(), 1);
    let device = with(&[("device", "MTR-N-7")]);
    assert_eq!(device.rows.len(), 1);
    assert_eq!(
        device.value(0, "devices"),
        Some(&Value::Text("MTR-N-7".into()))
    );
    assert_eq!(with(&[("region", "north")]).rows.len(), 2);
    assert_eq!(with(&[("priority", "3")]).rows.len(), 2);
    assert_eq!(with(&[("category", "other")]).rows.len(), 1);
    // Another organisation's device id finds nothing.
    assert!(with(&[("device", "HUB-EAST-1")]).rows.is_empty());
}

#[test]
fn diagnostics_export_as_csv_that_parses_back() {
    let w = World::new();
    let t = w.run(
        &w.northern_reporter,
        ReportName::NetworkDiagnostics,
        ALL_TIME,
    );
    let text = t.to_csv().expect("csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().expect("header").iter().collect::<Vec<_>>(),
        [
            "reference",
            "organisation",
            "title",
            "status",
            "priority",
            "category",
            "assignment_group",
            "devices",
            "region",
            "fault_started_at",
            "created_at",
            "responded_at",
            "resolved_at",
            "resolution_due_at",
            "sla_state"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(records.len(), 8);
    let parsed: Vec<String> = records.iter().map(|r| r[0].to_owned()).collect();
    assert_eq!(parsed, references(&t));
    assert!(records.iter().all(|r| &r[1] == "Northern Supply"));
}

#[test]
fn only_operator_staff_who_manage_hubs_register_devices() {
    let w = World::new();
    let refused = w
        .reports
        .register_devices(
            &w.eastern_reporter,
            w.eastern,
            vec![("HUB-N-1".into(), None, None)],
        )
        .unwrap_err();
    assert!(matches!(refused, ReportError::Forbidden(_)), "{refused:?}");
    let invalid = w
        .reports
        .register_devices(&w.manager, w.eastern, vec![(" ".into(), None, None)])
        .unwrap_err();
    assert!(matches!(invalid, ReportError::Invalid(_)), "{invalid:?}");
    register_east_hub(&w);
    let listed = w
        .reports
        .devices(&w.eastern_reporter, None)
        .expect("devices");
    assert_eq!(listed.len(), 1);
    assert!(
        w.reports
            .devices(&w.southern_reporter, None)
            .expect("devices")
            .is_empty()
    );
}
