//! Email notifications: incidents raised, assigned, commented on, resolved and at risk through
//! the real incident service; the dispatcher queues the emails; the outbox rows of kind `email`
//! say who gets what.

use std::collections::HashSet;
use std::sync::Arc;

use dsms_core::{OrganisationKind, Principal, Role, Scope};
use dsms_incident::{
    Incident, IncidentChanges, IncidentPolicy, Incidents, NewIncident, Raised, event_payload,
};
use serde_json::Value;

use crate::support::{PUBLIC_URL, QueuedEmail, World, notification_settings, pacing};

const WORK_NOTE: &str = "Internal: supplier contract dispute, do not disclose";

struct Desk {
    world: World,
    incidents: Incidents,
}

impl Desk {
    fn new() -> Self {
        let world = World::new();
        let incidents = Incidents::new(
            world.db.clone(),
            world.shared_clock(),
            IncidentPolicy::default(),
        );
        Self { world, incidents }
    }

    /// Another member of the operator's staff, who may comment.
    fn colleague(&self, email: &str) -> Principal {
        let operator = self.world.desk.organisation_id;
        let id = self
            .world
            .add_person(email, operator, Role::ServiceDeskAgent);
        Principal::person(
            id,
            operator,
            OrganisationKind::Operator,
            vec![Role::ServiceDeskAgent],
        )
        .named("Colleague")
    }

    fn raise(&self, by: &Principal, title: &str) -> Incident {
        match self.incidents.raise(
            by,
            NewIncident {
                title: title.into(),
                description: "No response from the hub since 08:00".into(),
                category: "communications_hub".into(),
                impact: 2,
                urgency: 2,
                ..NewIncident::default()
            },
            None,
        ) {
            Ok(Raised::Created(incident)) => *incident,
            other => panic!("expected a new incident, got {other:?}"),
        }
    }

    fn change(&self, incident: &Incident, changes: IncidentChanges) -> Incident {
        self.incidents
            .update(&self.world.desk, &incident.reference, None, changes, None)
            .unwrap_or_else(|e| panic!("update: {e:?}"))
    }

    fn assign(&self, incident: &Incident, to: i64) -> Incident {
        self.change(
            incident,
            IncidentChanges {
                status: Some("assigned".into()),
                assignment_group: Some(Some("comms-hub".into())),
                assignee_id: Some(Some(to)),
                ..IncidentChanges::default()
            },
        )
    }

    fn comment(&self, by: &Principal, incident: &Incident, body: &str, internal: bool) {
        self.incidents
            .comment(by, &incident.reference, body, internal, None)
            .unwrap_or_else(|e| panic!("comment: {e:?}"));
    }

    /// Queues an SLA event exactly as the incident sweeper does.
    fn sla_event(&self, incident: &Incident, event: &str, clock: &str) {
        let now = self.world.now();
        let mut payload = event_payload(event, now, incident);
        payload["clock"] = Value::from(clock);
        self.world
            .db
            .write_blocking(|conn| dsms_store::outbox::enqueue(conn, now, "event", &payload))
            .expect("enqueue");
    }

    /// Dispatches everything due and returns the emails queued by it.
    fn dispatch(&self) -> Vec<QueuedEmail> {
        let before = self.world.emails().len();
        while self
            .world
            .hooks
            .dispatcher(pacing(), notification_settings())
            .run_once()
            .expect("dispatch")
            > 0
        {}
        assert!(
            self.world
                .outbox_rows("event")
                .iter()
                .all(|e| e.status == "delivered"),
            "every event consumed"
        );
        self.world.emails().split_off(before)
    }
}

/// The single recipient of each email, in order; every email has exactly one.
fn recipients(emails: &[QueuedEmail]) -> Vec<&str> {
    emails
        .iter()
        .map(|e| {
            assert_eq!(e.to.len(), 1, "one recipient per email: {e:?}");
            e.to[0].as_str()
        })
        .collect()
}

fn assert_about(email: &QueuedEmail, incident: &Incident, why: &str) {
    assert!(
        email.subject.contains(&incident.reference),
        "{}",
        email.subject
    );
    assert!(email.subject.contains(&incident.title), "{}", email.subject);
    let body = &email.text_body;
    assert!(body.contains(&incident.reference), "{body}");
    assert!(body.contains(&incident.title), "{body}");
    assert!(
        body.contains(&format!("{PUBLIC_URL}/incidents/{}\n", incident.reference)),
        "{body}"
    );
    assert!(
        body.contains(&format!("You are receiving this email because {why}.")),
        "{body}"
    );
}

fn assert_no_work_notes(emails: &[QueuedEmail]) {
    for email in emails {
        assert!(
            !email.text_body.contains(WORK_NOTE) && !email.subject.contains(WORK_NOTE),
            "a work note leaked: {email:?}"
        );
    }
}

#[test]
fn each_moment_emails_the_people_it_concerns_exactly_once() {
    let desk = Desk::new();
    let world = &desk.world;
    let raiser = &world.northern.user;
    let desk_email = "desk@operator.example";
    let desk_id = world.desk.person_id().expect("a person");

    // Raised: a confirmation to the raiser, nobody else.
    let incident = desk.raise(raiser, "Communications hub offline");
    let emails = desk.dispatch();
    assert_eq!(recipients(&emails), [world.northern.user_email]);
    assert_about(&emails[0], &incident, "you raised this incident");
    assert!(emails[0].subject.contains("Incident raised"));

    // Assigned: the assignee, told it is theirs; `incident.updated` emails nobody.
    let incident = desk.assign(&incident, desk_id);
    let emails = desk.dispatch();
    assert_eq!(recipients(&emails), [desk_email]);
    assert_about(&emails[0], &incident, "this incident is assigned to you");
    assert!(emails[0].subject.contains("Assigned to you"));
    assert!(emails[0].text_body.contains("comms-hub"));

    // The assignee comments: the raiser is told, the author is not.
    desk.comment(
        &world.desk,
        &incident,
        "An engineer is booked for 14:00",
        false,
    );
    let emails = desk.dispatch();
    assert_eq!(recipients(&emails), [world.northern.user_email]);
    assert_about(&emails[0], &incident, "you raised this incident");
    assert!(
        emails[0]
            .text_body
            .contains("An engineer is booked for 14:00")
    );

    // A work note emails nobody.
    desk.comment(&world.desk, &incident, WORK_NOTE, true);
    assert!(desk.dispatch().is_empty());

    // The raiser comments: the assignee is told, the author is not.
    desk.comment(raiser, &incident, "Thanks, someone will be on site", false);
    let emails = desk.dispatch();
    assert_eq!(recipients(&emails), [desk_email]);
    assert_about(&emails[0], &incident, "this incident is assigned to you");

    // Someone else comments: both the raiser and the assignee are told, once each.
    let colleague = desk.colleague("colleague@operator.example");
    desk.comment(&colleague, &incident, "Linked to a wider outage", false);
    let emails = desk.dispatch();
    let mut to = recipients(&emails);
    to.sort_unstable();
    assert_eq!(to, [desk_email, world.northern.user_email]);

    // Resolved: the raiser, with the resolution code and how to reopen or confirm.
    let incident = desk.change(
        &incident,
        IncidentChanges {
            status: Some("resolved".into()),
            resolution_code: Some("fixed_on_site".into()),
            resolution_notes: Some("Hub replaced".into()),
            ..IncidentChanges::default()
        },
    );
    let emails = desk.dispatch();
    assert_eq!(recipients(&emails), [world.northern.user_email]);
    assert_about(&emails[0], &incident, "you raised this incident");
    let body = &emails[0].text_body;
    assert!(body.contains("Resolution: fixed_on_site"), "{body}");
    assert!(body.contains("reopen"), "{body}");
    assert!(body.contains("5 working"), "{body}");

    // Reopened and closed email nobody.
    desk.change(
        &incident,
        IncidentChanges {
            status: Some("in_progress".into()),
            ..IncidentChanges::default()
        },
    );
    assert!(desk.dispatch().is_empty());

    let all = world.emails();
    assert_eq!(all.len(), 7);
    assert_no_work_notes(&all);
    let ids: HashSet<&str> = all.iter().map(|e| e.message_id.as_str()).collect();
    assert_eq!(ids.len(), all.len(), "distinct Message-IDs");
}

#[test]
fn a_raiser_who_is_also_the_assignee_gets_one_email_per_event() {
    let desk = Desk::new();
    let world = &desk.world;
    let desk_id = world.desk.person_id().expect("a person");
    let incident = desk.raise(&world.desk, "Raised and worked by the desk");
    let incident = desk.assign(&incident, desk_id);
    desk.dispatch();
    // A colleague comments: the desk is both raiser and assignee.
    let colleague = desk.colleague("colleague@operator.example");
    desk.comment(&colleague, &incident, "Any news?", false);
    let emails = desk.dispatch();
    assert_eq!(recipients(&emails), ["desk@operator.example"]);
    // The first reason that applies is given.
    assert_about(&emails[0], &incident, "you raised this incident");
}

#[test]
fn sla_warnings_go_to_the_assignee_or_else_to_every_active_manager() {
    let desk = Desk::new();
    let world = &desk.world;
    let operator = world.desk.organisation_id;
    world.add_person(
        "manager1@operator.example",
        operator,
        Role::ServiceDeskManager,
    );
    world.add_person(
        "manager2@operator.example",
        operator,
        Role::ServiceDeskManager,
    );
    let gone = world.add_person(
        "former@operator.example",
        operator,
        Role::ServiceDeskManager,
    );
    world.set_person_status(gone, "deactivated");

    let unassigned = desk.raise(&world.northern.user, "Nobody has picked this up");
    desk.dispatch();
    desk.sla_event(&unassigned, "incident.sla_at_risk", "response");
    let emails = desk.dispatch();
    let mut to = recipients(&emails);
    to.sort_unstable();
    assert_eq!(
        to,
        ["manager1@operator.example", "manager2@operator.example"]
    );
    for email in &emails {
        assert_about(
            email,
            &unassigned,
            "you are a service desk manager and nobody is assigned to this incident",
        );
        assert!(email.subject.contains("SLA at risk"), "{}", email.subject);
        assert!(email.text_body.contains("response target"));
    }

    let assigned = desk.assign(&unassigned, world.desk.person_id().expect("a person"));
    desk.dispatch();
    desk.sla_event(&assigned, "incident.sla_breached", "resolution");
    let emails = desk.dispatch();
    assert_eq!(recipients(&emails), ["desk@operator.example"]);
    assert_about(&emails[0], &assigned, "this incident is assigned to you");
    assert!(emails[0].subject.contains("SLA breached"));
    assert!(emails[0].text_body.contains("resolution target"));
}

#[test]
fn api_tokens_deactivated_people_and_suspended_organisations_get_nothing() {
    let desk = Desk::new();
    let world = &desk.world;

    // Raised by an organisation's system: nobody to confirm to.
    let token = Principal::api_token(77, world.northern.id, &[Scope::IncidentsWrite]);
    let by_token = desk.raise(&token, "Raised by a system");
    assert!(desk.dispatch().is_empty());
    // Its comments reach the assignee only; the token is never "emailed".
    let by_token = desk.assign(&by_token, world.desk.person_id().expect("a person"));
    desk.dispatch();
    desk.comment(&world.desk, &by_token, "Looking into it", false);
    assert!(desk.dispatch().is_empty(), "the author is the assignee");

    // A raiser deactivated before the event is dispatched.
    let leaver = world.add_person("leaver@northern.example", world.northern.id, Role::OrgUser);
    let leaver_principal = Principal::person(
        leaver,
        world.northern.id,
        OrganisationKind::User,
        vec![Role::OrgUser],
    )
    .named("Leaver");
    let incident = desk.raise(&leaver_principal, "Raised by a leaver");
    world.set_person_status(leaver, "deactivated");
    assert!(desk.dispatch().is_empty());
    // Nor later, for a resolution.
    desk.change(
        &incident,
        IncidentChanges {
            status: Some("resolved".into()),
            resolution_code: Some("no_fault_found".into()),
            ..IncidentChanges::default()
        },
    );
    assert!(desk.dispatch().is_empty());

    // A raiser whose organisation is suspended.
    desk.raise(&world.southern.user, "Raised before the suspension");
    world.set_organisation_status(world.southern.id, "suspended");
    assert!(desk.dispatch().is_empty());

    // A deactivated assignee is not told either.
    let agent = world.add_person(
        "agent@operator.example",
        world.desk.organisation_id,
        Role::ServiceDeskAgent,
    );
    let incident = desk.raise(&world.northern.user, "Assigned to someone leaving");
    desk.assign(&incident, agent);
    world.set_person_status(agent, "deactivated");
    let emails = desk.dispatch();
    assert_eq!(
        recipients(&emails),
        [world.northern.user_email],
        "only the raiser's confirmation"
    );
}

#[test]
fn two_dispatchers_running_at_once_queue_each_email_once() {
    let desk = Desk::new();
    let world = &desk.world;
    const INCIDENTS: usize = 12;
    let desk_id = world.desk.person_id().expect("a person");
    for n in 0..INCIDENTS {
        let incident = desk.raise(&world.northern.user, &format!("Hub {n} offline"));
        let incident = desk.assign(&incident, desk_id);
        desk.comment(&world.desk, &incident, "On it", false);
        desk.comment(&world.desk, &incident, WORK_NOTE, true);
    }
    let instances = [
        world.second_instance(world.shared_clock()),
        world.second_instance(world.shared_clock()),
    ];
    let start = Arc::new(std::sync::Barrier::new(2));
    std::thread::scope(|scope| {
        for instance in &instances {
            let start = Arc::clone(&start);
            scope.spawn(move || {
                // A small batch, so the two take turns over many passes.
                let mut pacing = pacing();
                pacing.batch_size = 3;
                let dispatcher = instance.dispatcher(pacing, notification_settings());
                start.wait();
                while dispatcher.run_once().expect("dispatch") > 0 {}
            });
        }
    });
    assert!(
        world
            .outbox_rows("event")
            .iter()
            .all(|e| e.status == "delivered")
    );
    let emails = world.emails();
    // Per incident: the raiser's confirmation, the assignee's, the raiser told of the comment.
    assert_eq!(emails.len(), 3 * INCIDENTS);
    let distinct: HashSet<(String, String)> = emails
        .iter()
        .map(|e| (e.to.join(","), e.subject.clone()))
        .collect();
    assert_eq!(distinct.len(), emails.len(), "no email queued twice");
    assert_no_work_notes(&emails);
}
