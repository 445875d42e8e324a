//! Approvals (domain.md: "approvals (organisation admin, then operator where marked)"): decided
//! in order, each only by its approver; a rejection needs a reason and ends the request.

use dsms_service_request::{ApprovalStatus, Decision, Status, TaskStatus, decides_next};

use crate::support::{
    World, assert_conflict, assert_forbidden, assert_not_found, invalid_fields, test_slot,
};

#[test]
fn the_organisations_administrator_approves_first_then_the_operator() {
    let w = World::new();
    let raised = w.raise(&w.supplier.user, test_slot());
    assert_eq!(raised.status, Status::AwaitingApproval);
    let reference = raised.reference.clone();
    let decide = |who, decision| w.requests.decide(who, &reference, decision, None, None);

    // Step 1 belongs to the supplier's own administrator: not the operator, not the raiser,
    // not the system, not another organisation's administrator.
    assert_forbidden(decide(&w.manager, Decision::Approve));
    assert_forbidden(decide(&w.supplier.user, Decision::Approve));
    assert_forbidden(decide(&w.supplier.token, Decision::Approve));
    assert_not_found(decide(&w.other.admin, Decision::Approve));
    let after_org = w.approve(&w.supplier.admin, &raised);
    assert_eq!(after_org.status, Status::AwaitingApproval);
    assert_eq!(after_org.approvals[0].status, ApprovalStatus::Approved);
    assert_eq!(
        after_org.approvals[0].decided_by.as_ref().map(|p| p.id),
        w.supplier.admin.person_id()
    );
    assert_eq!(after_org.approvals[1].status, ApprovalStatus::Pending);

    // Step 2 belongs to the operator's approvers; agents may fulfil but not approve.
    assert_forbidden(decide(&w.supplier.admin, Decision::Approve));
    assert_forbidden(decide(&w.agent, Decision::Approve));
    assert_forbidden(decide(&w.dcc_admin, Decision::Approve));
    let approved = w.approve(&w.manager, &raised);
    assert_eq!(approved.status, Status::Approved);
    assert!(
        approved
            .approvals
            .iter()
            .all(|a| a.status == ApprovalStatus::Approved)
    );
    // Nothing more to decide.
    assert_conflict(decide(&w.manager, Decision::Approve));
    assert_eq!(approved.version, raised.version + 2);
}

#[test]
fn tasks_wait_for_approval() {
    let w = World::new();
    let raised = w.raise(&w.supplier.user, test_slot());
    assert_conflict(w.requests.complete_task(
        &w.agent,
        &raised.reference,
        raised.tasks[0].id,
        None,
        None,
    ));
}

#[test]
fn a_rejection_needs_a_reason_and_ends_the_request() {
    let w = World::new();
    let raised = w.raise(&w.supplier.token, test_slot());
    w.approve(&w.supplier.admin, &raised);
    assert_eq!(
        invalid_fields(w.requests.decide(
            &w.manager,
            &raised.reference,
            Decision::Reject,
            None,
            None
        )),
        ["comment"]
    );
    let rejected = w
        .requests
        .decide(
            &w.manager,
            &raised.reference,
            Decision::Reject,
            Some("No test devices until January.".into()),
            None,
        )
        .expect("reject");
    assert_eq!(rejected.status, Status::Rejected);
    assert!(rejected.closed_at.is_some());
    assert_eq!(rejected.approvals[1].status, ApprovalStatus::Rejected);
    assert_eq!(
        rejected.approvals[1].comment.as_deref(),
        Some("No test devices until January.")
    );
    assert!(
        rejected
            .tasks
            .iter()
            .all(|t| t.status == TaskStatus::Cancelled)
    );
    // Rejected is final.
    assert_conflict(w.requests.update(
        &w.supplier.token,
        &raised.reference,
        None,
        dsms_service_request::RequestChanges {
            status: Some("cancelled".into()),
            contact: None,
        },
        None,
    ));
    assert_conflict(
        w.requests
            .comment(&w.supplier.token, &raised.reference, "Why?", false, None),
    );
}

#[test]
fn a_rejection_at_the_first_step_withdraws_the_later_ones() {
    let w = World::new();
    let raised = w.raise(&w.supplier.user, test_slot());
    let rejected = w
        .requests
        .decide(
            &w.supplier.admin,
            &raised.reference,
            Decision::Reject,
            Some("Not budgeted.".into()),
            None,
        )
        .expect("reject");
    assert_eq!(rejected.status, Status::Rejected);
    assert_eq!(rejected.approvals[0].status, ApprovalStatus::Rejected);
    assert_eq!(rejected.approvals[1].status, ApprovalStatus::Withdrawn);
}

#[test]
fn decides_next_names_only_the_approver_of_the_step_due() {
    let w = World::new();
    let raised = w.raise(&w.supplier.user, test_slot());
    let deciders = |request| {
        [
            &w.supplier.admin,
            &w.supplier.user,
            &w.other.admin,
            &w.manager,
            &w.agent,
        ]
        .map(|who| decides_next(who, request))
    };
    assert_eq!(deciders(&raised), [true, false, false, false, false]);
    let after_org = w.approve(&w.supplier.admin, &raised);
    assert_eq!(deciders(&after_org), [false, false, false, true, false]);
    let approved = w.approve(&w.manager, &raised);
    assert_eq!(deciders(&approved), [false; 5]);
}
