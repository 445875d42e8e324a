//! Email notifications about service requests: the request, its approval steps, comments and
//! audited cancellation are stored as the request service stores them, its `request.*` events
//! are queued shaped like `dsms_service_request::event_payload`, and the dispatcher's outbox rows
//! of kind `email` say who gets what.

use diesel::prelude::*;
use dsms_core::Role;
use dsms_store::StoreError;
use dsms_store::outbox;
use dsms_store::schema::{
    audit_log, catalogue_item_versions, catalogue_items, service_request_approvals,
    service_request_comments, service_requests,
};
use serde_json::{Value, json};

use crate::support::{PUBLIC_URL, QueuedEmail, World, notification_settings, pacing};

const WORK_NOTE: &str = "Internal: supplier contract dispute, do not disclose";

/// A stored request of the northern organisation, raised by its user.
struct Request {
    id: i64,
    reference: String,
    raiser: i64,
    organisation_id: i64,
}

fn store(world: &World, reference: &str, organisation_id: i64, raiser: i64, status: &str) -> i64 {
    let now = world.now().naive_utc();
    world
        .db
        .write_blocking(|conn| {
            // One catalogue item (and version) serves every request of a test.
            let existing = catalogue_item_versions::table
                .select((
                    catalogue_item_versions::item_id,
                    catalogue_item_versions::id,
                ))
                .first::<(i64, i64)>(conn)
                .optional()?;
            let (item, version) = match existing {
                Some(ids) => ids,
                None => {
                    let item: i64 = diesel::insert_into(catalogue_items::table)
                        .values((
                            catalogue_items::code.eq("new_meter"),
                            catalogue_items::active.eq(true),
                            catalogue_items::created_at.eq(now),
                            catalogue_items::updated_at.eq(now),
                        ))
                        .returning(catalogue_items::id)
                        .get_result(conn)?;
                    let version = diesel::insert_into(catalogue_item_versions::table)
                        .values((
                            catalogue_item_versions::item_id.eq(item),
                            catalogue_item_versions::number.eq(1),
                            catalogue_item_versions::definition.eq("{}"),
                            catalogue_item_versions::created_by_name.eq("test"),
                            catalogue_item_versions::created_at.eq(now),
                        ))
                        .returning(catalogue_item_versions::id)
                        .get_result(conn)?;
                    (item, version)
                }
            };
            diesel::insert_into(service_requests::table)
                .values((
                    service_requests::reference.eq(reference),
                    service_requests::organisation_id.eq(organisation_id),
                    service_requests::item_id.eq(item),
                    service_requests::item_version_id.eq(version),
                    service_requests::raised_by_kind.eq("person"),
                    service_requests::raised_by_id.eq(raiser),
                    service_requests::raised_by_name.eq("Raiser"),
                    service_requests::channel.eq("portal"),
                    service_requests::summary.eq("New meter for the yard"),
                    service_requests::answers.eq("{}"),
                    service_requests::status.eq(status),
                    service_requests::created_at.eq(now),
                    service_requests::updated_at.eq(now),
                ))
                .returning(service_requests::id)
                .get_result::<i64>(conn)
                .map_err(StoreError::from)
        })
        .expect("request stored")
}

impl Request {
    fn new(world: &World, reference: &str, status: &str) -> Self {
        let raiser = world.northern.user.person_id().expect("a person");
        let organisation_id = world.northern.id;
        let id = store(world, reference, organisation_id, raiser, status);
        Self {
            id,
            reference: reference.to_owned(),
            raiser,
            organisation_id,
        }
    }

    /// Queues `event_type` about this request, as the request service does.
    fn emit(&self, world: &World, event_type: &str, extra: Value) {
        let now = world.now();
        let mut payload = json!({
            "type": event_type,
            "occurred_at": now.to_rfc3339(),
            "organisation_id": self.organisation_id.to_string(),
            "request": {
                "id": self.id.to_string(),
                "reference": self.reference,
                "summary": "New meter for the yard",
                "status": extra["status"].as_str().unwrap_or("submitted"),
                "catalogue_item": "new_meter",
                "form_version": 1,
                "raised_by": {"kind": "person", "id": self.raiser.to_string()},
                "due_at": null,
                "updated_at": now.to_rfc3339(),
                "version": 2,
            },
        });
        if let Some(comment) = extra.get("comment") {
            payload["comment"] = comment.clone();
        }
        if let Some(clock) = extra.get("clock") {
            payload["clock"] = clock.clone();
        }
        world
            .db
            .write_blocking(|conn| outbox::enqueue(conn, now, "event", &payload))
            .expect("event queued");
    }

    fn approval(&self, world: &World, step: i32, approver: &str, status: &str, comment: &str) {
        world
            .db
            .write_blocking(|conn| {
                diesel::insert_into(service_request_approvals::table)
                    .values((
                        service_request_approvals::request_id.eq(self.id),
                        service_request_approvals::step.eq(step),
                        service_request_approvals::approver.eq(approver),
                        service_request_approvals::status.eq(status),
                        service_request_approvals::comment.eq(Some(comment)),
                    ))
                    .execute(conn)
                    .map_err(StoreError::from)
            })
            .expect("approval step");
    }

    /// Stores a comment by person `author`; returns its id.
    fn comment(&self, world: &World, author: i64, body: &str, internal: bool) -> i64 {
        let now = world.now().naive_utc();
        world
            .db
            .write_blocking(|conn| {
                diesel::insert_into(service_request_comments::table)
                    .values((
                        service_request_comments::request_id.eq(self.id),
                        service_request_comments::author_kind.eq("person"),
                        service_request_comments::author_id.eq(author),
                        service_request_comments::author_name.eq("Desk Agent"),
                        service_request_comments::body.eq(body),
                        service_request_comments::internal.eq(internal),
                        service_request_comments::created_at.eq(now),
                    ))
                    .returning(service_request_comments::id)
                    .get_result(conn)
                    .map_err(StoreError::from)
            })
            .expect("comment")
    }

    /// Audits a change to this request by person `actor`, as the request service does.
    fn audited_by(&self, world: &World, actor: i64) {
        let now = world.now().naive_utc();
        world
            .db
            .write_blocking(|conn| {
                diesel::insert_into(audit_log::table)
                    .values((
                        audit_log::occurred_at.eq(now),
                        audit_log::actor_kind.eq("person"),
                        audit_log::actor_id.eq(actor.to_string()),
                        audit_log::organisation_id.eq(Some(self.organisation_id)),
                        audit_log::action.eq("service_request.updated"),
                        audit_log::entity_type.eq("service_request"),
                        audit_log::entity_id.eq(self.id.to_string()),
                        audit_log::changes.eq("{}"),
                    ))
                    .execute(conn)
                    .map_err(StoreError::from)
            })
            .expect("audit row");
    }
}

fn dispatch(world: &World) -> Vec<QueuedEmail> {
    let before = world.emails().len();
    world
        .hooks
        .dispatcher(pacing(), notification_settings())
        .run_once()
        .expect("dispatch");
    world.emails().split_off(before)
}

fn to(emails: &[QueuedEmail]) -> Vec<&str> {
    emails.iter().map(|e| e.to[0].as_str()).collect()
}

fn link(reference: &str) -> String {
    format!("{}/requests/{reference}", PUBLIC_URL.trim_end_matches('/'))
}

fn assert_names(email: &QueuedEmail, reference: &str) {
    assert!(email.subject.contains(reference), "{}", email.subject);
    assert!(
        email.subject.contains("New meter for the yard"),
        "{}",
        email.subject
    );
    assert!(
        email.text_body.contains(&link(reference)),
        "{}",
        email.text_body
    );
}

#[test]
fn the_raiser_hears_of_approval_rejection_with_its_reason_and_fulfilment() {
    let world = World::new();
    let user = world.northern.user_email;
    let request = Request::new(&world, "REQ0000001", "approved");
    request.emit(&world, "request.approved", json!({"status": "approved"}));
    let emails = dispatch(&world);
    assert_eq!(to(&emails), [user]);
    assert_names(&emails[0], "REQ0000001");
    assert!(
        emails[0].subject.contains("Approved"),
        "{}",
        emails[0].subject
    );

    request.emit(&world, "request.fulfilled", json!({"status": "fulfilled"}));
    let emails = dispatch(&world);
    assert_eq!(to(&emails), [user]);
    assert!(
        emails[0].subject.contains("Fulfilled"),
        "{}",
        emails[0].subject
    );

    let rejected = Request::new(&world, "REQ0000002", "rejected");
    rejected.approval(&world, 1, "operator", "rejected", "No budget this quarter");
    rejected.emit(&world, "request.rejected", json!({"status": "rejected"}));
    let emails = dispatch(&world);
    assert_eq!(to(&emails), [user]);
    assert_names(&emails[0], "REQ0000002");
    assert!(
        emails[0].text_body.contains("No budget this quarter"),
        "{}",
        emails[0].text_body
    );

    // Events that concern nobody by email.
    request.emit(&world, "request.closed", json!({"status": "closed"}));
    request.emit(&world, "request.fulfilment_started", json!({}));
    assert!(dispatch(&world).is_empty());
}

#[test]
fn a_cancellation_tells_the_raiser_only_when_someone_else_cancelled() {
    let world = World::new();
    let own = Request::new(&world, "REQ0000003", "cancelled");
    own.audited_by(&world, own.raiser);
    own.emit(&world, "request.cancelled", json!({"status": "cancelled"}));
    assert!(dispatch(&world).is_empty(), "they know: they cancelled it");

    let desk = world.desk.person_id().expect("a person");
    let other = Request::new(&world, "REQ0000004", "cancelled");
    other.audited_by(&world, desk);
    other.emit(&world, "request.cancelled", json!({"status": "cancelled"}));
    let emails = dispatch(&world);
    assert_eq!(to(&emails), [world.northern.user_email]);
    assert_names(&emails[0], "REQ0000004");
}

#[test]
fn staff_comments_reach_the_raiser_but_work_notes_and_own_comments_do_not() {
    let world = World::new();
    let request = Request::new(&world, "REQ0000005", "in_fulfilment");
    let desk = world.desk.person_id().expect("a person");
    let comment = request.comment(&world, desk, "An engineer is booked for Monday", false);
    request.emit(
        &world,
        "request.comment_added",
        json!({"comment": {"id": comment.to_string(), "author": "Desk Agent", "body": "x"}}),
    );
    let emails = dispatch(&world);
    assert_eq!(to(&emails), [world.northern.user_email]);
    assert_names(&emails[0], "REQ0000005");
    assert!(
        emails[0]
            .text_body
            .contains("An engineer is booked for Monday")
    );

    // A work note, even if an event named it, is never emailed.
    let note = request.comment(&world, desk, WORK_NOTE, true);
    request.emit(
        &world,
        "request.comment_added",
        json!({"comment": {"id": note.to_string(), "author": "Desk Agent", "body": "x"}}),
    );
    // The raising organisation's own comments are not news to its raiser.
    let admin = world.northern.admin.person_id().expect("a person");
    let theirs = request.comment(&world, admin, "Gate code is 1234", false);
    request.emit(
        &world,
        "request.comment_added",
        json!({"comment": {"id": theirs.to_string(), "author": "Admin", "body": "x"}}),
    );
    assert!(dispatch(&world).is_empty());
    assert!(
        world
            .emails()
            .iter()
            .all(|e| !e.text_body.contains(WORK_NOTE) && !e.subject.contains(WORK_NOTE))
    );
}

#[test]
fn an_approval_awaiting_the_organisation_tells_its_admins_only() {
    let world = World::new();
    let second_admin = "second-admin@northern.example";
    world.add_person(second_admin, world.northern.id, Role::OrgAdmin);
    let request = Request::new(&world, "REQ0000006", "awaiting_approval");
    request.approval(&world, 1, "organisation_admin", "pending", "");
    request.emit(
        &world,
        "request.submitted",
        json!({"status": "awaiting_approval"}),
    );
    let emails = dispatch(&world);
    let mut got = to(&emails);
    got.sort_unstable();
    let mut want = vec![world.northern.admin_email, second_admin];
    want.sort_unstable();
    assert_eq!(got, want, "not the southern admin, nor the raiser");
    assert_names(&emails[0], "REQ0000006");

    // A step the operator decides is not the organisation's business.
    let operator_step = Request::new(&world, "REQ0000007", "awaiting_approval");
    operator_step.approval(&world, 1, "operator", "pending", "");
    operator_step.emit(
        &world,
        "request.submitted",
        json!({"status": "awaiting_approval"}),
    );
    assert!(dispatch(&world).is_empty());
}

#[test]
fn sla_events_tell_the_service_desk_managers_and_no_organisation() {
    let world = World::new();
    let operator = world.dcc_admin.organisation_id;
    let manager = "manager@operator.example";
    world.add_person(manager, operator, Role::ServiceDeskManager);
    let request = Request::new(&world, "REQ0000008", "in_fulfilment");
    request.emit(
        &world,
        "request.sla_at_risk",
        json!({"clock": "resolution"}),
    );
    let emails = dispatch(&world);
    assert_eq!(to(&emails), [manager]);
    assert_names(&emails[0], "REQ0000008");
    assert!(
        emails[0].subject.contains("SLA at risk"),
        "{}",
        emails[0].subject
    );

    request.emit(
        &world,
        "request.sla_breached",
        json!({"clock": "resolution"}),
    );
    let emails = dispatch(&world);
    assert_eq!(to(&emails), [manager]);
    assert!(
        emails[0].subject.contains("SLA breached"),
        "{}",
        emails[0].subject
    );
}

#[test]
fn another_organisations_people_get_nothing() {
    let world = World::new();
    let request = Request::new(&world, "REQ0000009", "awaiting_approval");
    request.approval(&world, 1, "organisation_admin", "pending", "");
    for (event, status) in [
        ("request.submitted", "awaiting_approval"),
        ("request.approved", "approved"),
        ("request.fulfilled", "fulfilled"),
    ] {
        request.emit(&world, event, json!({ "status": status }));
    }
    let emails = dispatch(&world);
    assert_eq!(emails.len(), 3, "{emails:?}");
    for email in &emails {
        assert!(
            !email.to.iter().any(|a| a.ends_with("@southern.example")),
            "{email:?}"
        );
    }
}
