//! Domain events: each step of a request queues one outbox event, in the same transaction, for
//! the webhook dispatcher; answers and work notes never leave in them.

use diesel::prelude::*;
use dsms_service_request::Decision;
use dsms_store::schema::outbox;
use serde_json::Value;

use crate::support::{World, test_slot};

fn events(w: &World) -> Vec<Value> {
    w.db.read_blocking(|conn| {
        outbox::table
            .filter(outbox::kind.eq("event"))
            .order(outbox::id.asc())
            .select(outbox::payload)
            .load::<String>(conn)
            .map_err(dsms_store::StoreError::from)
    })
    .expect("outbox")
    .iter()
    .map(|p| serde_json::from_str(p).expect("JSON"))
    .collect()
}

#[test]
fn every_step_of_a_request_is_announced_once() {
    let w = World::new();
    let raised = w.raise(&w.supplier.token, test_slot());
    w.approve(&w.supplier.admin, &raised);
    let approved = w.approve(&w.manager, &raised);
    w.requests
        .comment(&w.agent, &raised.reference, "Internal only.", true, None)
        .expect("work note");
    w.requests
        .comment(
            &w.agent,
            &raised.reference,
            "Booked for Monday.",
            false,
            None,
        )
        .expect("comment");
    w.requests
        .complete_task(
            &w.agent,
            &raised.reference,
            approved.tasks[0].id,
            None,
            None,
        )
        .expect("task");
    let events = events(&w);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "request.submitted",
            "request.approval_due",
            "request.approved",
            "request.comment_added",
            "request.fulfilment_started",
            "request.task_completed",
            "request.fulfilled"
        ]
    );
    for event in &events {
        assert_eq!(event["organisation_id"], w.supplier.id.to_string());
        assert_eq!(event["request"]["reference"], raised.reference.as_str());
        assert_eq!(event["request"]["catalogue_item"], "test_services");
        assert!(event["request"].get("fields").is_none(), "{event}");
        assert!(!event.to_string().contains("Internal only."));
    }
    assert_eq!(events[1]["request"]["status"], "awaiting_approval");
    assert_eq!(events[1]["approval"]["step"], 2);
    assert_eq!(events[1]["approval"]["approver"], "operator");
    assert_eq!(events[6]["request"]["status"], "fulfilled");

    let rejected = w.raise(&w.supplier.user, test_slot());
    w.requests
        .decide(
            &w.supplier.admin,
            &rejected.reference,
            Decision::Reject,
            Some("No.".into()),
            None,
        )
        .expect("reject");
    let last = self::events(&w).pop().unwrap();
    assert_eq!(last["type"], "request.rejected");
}
