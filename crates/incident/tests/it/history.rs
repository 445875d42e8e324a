//! History (domain.md, Incidents: "Every incident is recorded in the Incident Management Log —
//! this product's incident store, with its complete history").

use dsms_incident::{IncidentChanges, Status};
use serde_json::json;

use crate::support::{World, changes, utc};

#[test]
fn every_change_has_an_audit_row_with_each_field_from_and_to() {
    let w = World::new();
    let raised = w.raise_p3("Hub offline");
    let id = raised.id.to_string();

    w.set_clock("2026-11-30T09:10:00Z");
    w.update(
        &w.desk,
        &raised,
        IncidentChanges {
            assignment_group: Some(Some("comms-hub-2nd-line".into())),
            ..IncidentChanges::default()
        },
    )
    .expect("assigned");
    w.set_clock("2026-11-30T09:20:00Z");
    w.update(
        &w.manager,
        &raised,
        IncidentChanges {
            priority: Some(2),
            priority_reason: Some("Whole region affected".into()),
            assignee_id: Some(w.agent.person_id()),
            ..IncidentChanges::default()
        },
    )
    .expect("escalated");
    w.set_clock("2026-11-30T09:30:00Z");
    w.move_to(&w.agent, &raised, Status::InProgress);
    w.incidents
        .comment(
            &w.agent,
            &raised.reference,
            "Hub replaced",
            false,
            Some("req-7"),
        )
        .expect("comment");
    w.set_clock("2026-11-30T10:00:00Z");
    w.update(
        &w.agent,
        &raised,
        IncidentChanges {
            resolution_code: Some("hub_replaced".into()),
            ..IncidentChanges::default()
        },
    )
    .map(|_| ())
    .expect("resolution code");
    w.move_to(&w.agent, &raised, Status::Resolved);

    let history = w.history(&w.supplier.user, &raised);
    // Newest first.
    let actions: Vec<_> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "incident.updated",
            "incident.updated",
            "incident.comment_added",
            "incident.updated",
            "incident.updated",
            "incident.updated",
            "incident.created",
        ]
    );
    for entry in &history {
        assert_eq!(entry.entity_type, "incident");
        assert_eq!(entry.entity_id, id);
        assert_eq!(entry.organisation_id, Some(w.supplier.id));
    }
    let oldest_first: Vec<_> = history.iter().rev().collect();

    let created = changes(oldest_first[0]);
    assert_eq!(
        created["reference"],
        json!({"from": null, "to": "INC0000001"})
    );
    assert_eq!(created["status"], json!({"from": null, "to": "new"}));
    assert_eq!(created["priority"], json!({"from": null, "to": 3}));
    assert_eq!(oldest_first[0].actor_kind, "person");
    assert_eq!(
        Some(oldest_first[0].actor_id.parse::<i64>().unwrap()),
        w.supplier.user.person_id()
    );

    let assigned = changes(oldest_first[1]);
    assert_eq!(
        assigned,
        json!({
            "assignment_group": {"from": null, "to": "comms-hub-2nd-line"},
            "status": {"from": "new", "to": "assigned"},
            "responded_at": {"from": null, "to": "2026-11-30T09:10:00+00:00"},
        }),
        "only what changed"
    );
    assert_eq!(
        Some(oldest_first[1].actor_id.parse::<i64>().unwrap()),
        w.desk.person_id()
    );
    assert_eq!(
        oldest_first[1].occurred_at,
        utc("2026-11-30T09:10:00Z").naive_utc()
    );

    let escalated = changes(oldest_first[2]);
    assert_eq!(escalated["priority"], json!({"from": 3, "to": 2}));
    assert_eq!(
        escalated["priority_reason"],
        json!({"from": null, "to": "Whole region affected"})
    );
    assert_eq!(
        escalated["assignee_id"],
        json!({"from": null, "to": w.agent.person_id()})
    );

    assert_eq!(
        changes(oldest_first[3]),
        json!({"status": {"from": "assigned", "to": "in_progress"}})
    );

    let comment = oldest_first[4];
    assert_eq!(comment.request_id.as_deref(), Some("req-7"));
    assert!(changes(comment)["comment_id"]["to"].is_i64());

    assert_eq!(
        changes(oldest_first[5]),
        json!({"resolution_code": {"from": null, "to": "hub_replaced"}})
    );
    let resolved = changes(oldest_first[6]);
    assert_eq!(
        resolved["status"],
        json!({"from": "in_progress", "to": "resolved"})
    );
    assert_eq!(
        resolved["resolved_at"],
        json!({"from": null, "to": "2026-11-30T10:00:00+00:00"})
    );
}

#[test]
fn an_update_that_changes_nothing_writes_no_history() {
    let w = World::new();
    let raised = w.raise_p3("Unchanged");
    let same = w
        .update(
            &w.desk,
            &raised,
            IncidentChanges {
                title: Some("Unchanged".into()),
                ..IncidentChanges::default()
            },
        )
        .expect("no-op update");
    assert_eq!(same.title, "Unchanged");
    assert_eq!(w.history(&w.desk, &raised).len(), 1, "only the creation");
}

#[test]
fn history_pages_run_newest_first_without_overlap() {
    let w = World::new();
    let raised = w.raise_p3("Busy incident");
    for n in 0..5 {
        w.incidents
            .comment(
                &w.supplier.user,
                &raised.reference,
                &format!("Update {n}"),
                false,
                None,
            )
            .expect("comment");
    }
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = w
            .incidents
            .history(
                &w.desk,
                &raised.reference,
                crate::support::page(2, cursor.as_deref()),
            )
            .expect("history page");
        ids.extend(page.items.iter().map(|e| e.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(ids.len(), 6);
    assert!(ids.windows(2).all(|p| p[0] > p[1]), "newest first: {ids:?}");
}
