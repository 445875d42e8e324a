//! Tenant isolation (domain.md, Access: "Every read and write is limited to the caller's
//! organisation unless the caller is operator staff"; api.md: 404 for what is not yours).

use dsms_core::PageRequest;
use dsms_service_request::{Decision, RequestChanges, RequestFilter, ServiceRequest};

use crate::support::{World, assert_not_found, test_slot};

fn assert_invisible(w: &World, caller: &dsms_core::Principal, request: &ServiceRequest) {
    for key in [request.reference.clone(), request.id.to_string()] {
        assert_not_found(w.requests.get(caller, &key));
        assert_not_found(w.requests.update(
            caller,
            &key,
            None,
            RequestChanges {
                status: Some("cancelled".into()),
                contact: None,
            },
            None,
        ));
        assert_not_found(
            w.requests
                .decide(caller, &key, Decision::Approve, None, None),
        );
        assert_not_found(
            w.requests
                .complete_task(caller, &key, request.tasks[0].id, None, None),
        );
        assert_not_found(w.requests.comment(caller, &key, "Hello?", false, None));
        assert_not_found(w.requests.comments(caller, &key));
        assert_not_found(
            w.requests
                .history(caller, &key, PageRequest::parse(None, None).unwrap()),
        );
    }
    let page = w
        .requests
        .list(
            caller,
            &RequestFilter {
                organisation_id: Some(request.organisation_id),
                ..RequestFilter::default()
            },
            PageRequest::parse(Some(500), None).unwrap(),
        )
        .expect("list");
    assert!(
        page.items
            .iter()
            .all(|r| r.organisation_id != request.organisation_id)
    );
}

#[test]
fn another_organisation_never_sees_or_touches_a_request() {
    let w = World::new();
    let raised = w.raise(&w.supplier.user, test_slot());
    w.requests
        .comment(&w.agent, &raised.reference, "Checking stock.", true, None)
        .expect("work note");
    for caller in [
        &w.other.admin,
        &w.other.user,
        &w.other.reporter,
        &w.other.token,
    ] {
        assert_invisible(&w, caller, &raised);
    }
    // Nothing changed, and its own organisation and the desk still see it, work note hidden
    // from the organisation.
    let after = w.reload(&raised);
    assert_eq!(after.version, raised.version + 1);
    assert_eq!(
        w.requests
            .comments(&w.supplier.user, &raised.reference)
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        w.requests
            .comments(&w.agent, &raised.reference)
            .unwrap()
            .len(),
        1
    );
    let history = w
        .requests
        .history(
            &w.supplier.user,
            &raised.reference,
            PageRequest::parse(None, None).unwrap(),
        )
        .unwrap();
    assert!(
        history
            .items
            .iter()
            .all(|e| !e.action.contains("work_note"))
    );
    assert!(
        history
            .items
            .iter()
            .any(|e| e.action == "service_request.created")
    );
}
