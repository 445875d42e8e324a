//! Email notifications and webhooks about service requests, driven through the real request
//! service (raise, decide each approval step, comment, fulfil, cancel): the dispatcher turns its
//! outbox events into emails and webhook deliveries, the email worker sends them to a real SMTP
//! server (aiosmtpd) and a real HTTP receiver takes the webhooks; the tests read who received
//! what from there.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration as StdDuration;

use dsms_core::{OrganisationKind, Principal, Role};
use dsms_notify::{EmailSettings, EmailTransport, Mailer, OutboxWorker, SmtpSettings, SmtpTls};
use dsms_service_request::{
    Decision, NewRequest, Raised, RequestChanges, RequestPolicy, ServiceRequest, ServiceRequests,
};
use dsms_testkit::SmtpSink;
use serde_json::{Value, json};

use crate::support::{PUBLIC_URL, Receiver, World, notification_settings, pacing};

const SECOND_ADMIN: &str = "second-admin@northern.example";
const MANAGER: &str = "manager@operator.example";
const DESK: &str = "desk@operator.example";
const DCC_ADMIN: &str = "admin@operator.example";
const WORK_NOTE: &str = "Internal: supplier contract dispute, do not disclose";

/// One email as the SMTP server received it.
#[derive(Debug, Clone)]
struct Mail {
    /// The envelope's recipients.
    to: Vec<String>,
    subject: String,
    body: String,
}

/// The webhook World, the request service over the same database, a service-desk manager, a
/// real SMTP server and the email worker sending to it, and a webhook receiver subscribed to
/// every request event of both organisations.
struct Desk {
    world: World,
    requests: ServiceRequests,
    manager: Principal,
    sink: SmtpSink,
    mailer: OutboxWorker,
    receiver: Receiver,
    /// Message ids already read from the SMTP server.
    seen: BTreeSet<String>,
}

impl Desk {
    /// `None` (test skipped) when python3 with aiosmtpd is not installed.
    fn new(test: &str) -> Option<Self> {
        if !SmtpSink::available() {
            dsms_testkit::skip(test, "python3 with aiosmtpd is not installed");
            return None;
        }
        let world = World::new();
        world.add_person(SECOND_ADMIN, world.northern.id, Role::OrgAdmin);
        let operator = world.dcc_admin.organisation_id;
        let manager_id = world.add_person(MANAGER, operator, Role::ServiceDeskManager);
        let manager = Principal::person(
            manager_id,
            operator,
            OrganisationKind::Operator,
            vec![Role::ServiceDeskManager],
        )
        .named("Desk Manager");
        let requests = ServiceRequests::new(
            world.db.clone(),
            world.shared_clock(),
            RequestPolicy::default(),
        );
        let sink = SmtpSink::start();
        let mailer = Mailer::new(&EmailSettings {
            from: "dsms <no-reply@dsms.localhost>".into(),
            transport: EmailTransport::Smtp(SmtpSettings {
                host: "127.0.0.1".into(),
                port: sink.port(),
                tls: SmtpTls::None,
                username: None,
                password: None,
                timeout: StdDuration::from_secs(5),
            }),
        })
        .expect("mailer");
        let mailer = OutboxWorker::new(world.db.clone(), mailer, pacing(), world.shared_clock());
        let receiver = Receiver::start();
        world.register(
            &world.northern.admin,
            &receiver.url("/northern"),
            &["request.*"],
        );
        world.register(
            &world.southern.admin,
            &receiver.url("/southern"),
            &["request.*"],
        );
        Some(Self {
            world,
            requests,
            manager,
            sink,
            mailer,
            receiver,
            seen: BTreeSet::new(),
        })
    }

    fn raise(&self, principal: &Principal, item: &str, fields: Value) -> ServiceRequest {
        let new = NewRequest {
            item: item.into(),
            summary: Some("New meter for the yard".into()),
            contact: None,
            fields,
        };
        match self.requests.raise(principal, new, None) {
            Ok(Raised::Created(request)) => *request,
            other => panic!("expected a new request, got {other:?}"),
        }
    }

    fn decide(
        &self,
        principal: &Principal,
        request: &ServiceRequest,
        decision: Decision,
        comment: Option<&str>,
    ) -> ServiceRequest {
        self.requests
            .decide(
                principal,
                &request.reference,
                decision,
                comment.map(str::to_owned),
                None,
            )
            .unwrap_or_else(|e| panic!("decide {}: {e:?}", request.reference))
    }

    /// Runs the dispatcher, the webhook deliveries and the email worker until nothing is due,
    /// and returns the emails the SMTP server received since the last call, by recipient.
    fn deliver(&mut self) -> BTreeMap<String, Vec<Mail>> {
        let dispatcher = self
            .world
            .hooks
            .dispatcher(pacing(), notification_settings());
        while dispatcher.run_once().expect("dispatch") > 0 {}
        let deliveries = self.world.hooks.delivery_worker(pacing());
        while deliveries.run_once().expect("deliver webhooks") > 0 {}
        while self.mailer.run_once().expect("send emails") > 0 {}
        let queued = self.world.outbox_rows("email");
        assert!(
            queued.iter().all(|row| row.status == "delivered"),
            "every email was sent: {queued:?}"
        );
        let raw = self.sink.wait_for(queued.len(), StdDuration::from_secs(10));
        assert_eq!(raw.len(), queued.len(), "one message per queued email");
        let mut by_recipient: BTreeMap<String, Vec<Mail>> = BTreeMap::new();
        for message in raw {
            let id = header(&message, "Message-ID").expect("a Message-ID");
            if !self.seen.insert(id) {
                continue;
            }
            let mail = parse(&message);
            assert_eq!(mail.to.len(), 1, "one recipient per email: {mail:?}");
            by_recipient
                .entry(mail.to[0].clone())
                .or_default()
                .push(mail);
        }
        by_recipient
    }

    /// The event types the receiver took at `path`, in order.
    fn webhooks(&self, path: &str) -> Vec<String> {
        self.receiver
            .received_at(path)
            .iter()
            .map(|r| r.json()["type"].as_str().expect("type").to_owned())
            .collect()
    }
}

/// The value of header `name`, folded lines joined.
fn header(raw: &str, name: &str) -> Option<String> {
    let raw = raw.replace("\r\n", "\n");
    let head = raw.split("\n\n").next().unwrap_or_default();
    let mut lines: Vec<String> = Vec::new();
    for line in head.lines() {
        match lines.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => last.push_str(line.trim_start()),
            _ => lines.push(line.to_owned()),
        }
    }
    let prefix = format!("{}:", name.to_ascii_lowercase());
    lines
        .iter()
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_owned())
}

/// Reads a received message: envelope recipients, subject and its plain-text body, decoded from
/// quoted-printable when the mailer chose it.
fn parse(raw: &str) -> Mail {
    let to = header(raw, "X-Envelope-To")
        .expect("the envelope")
        .split(',')
        .map(str::to_owned)
        .collect();
    let subject = header(raw, "Subject").expect("a subject");
    let text = raw.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").expect("headers and a body");
    assert!(
        head.contains("Content-Type: text/plain"),
        "a plain-text email: {head}"
    );
    let body = if head.contains("Content-Transfer-Encoding: quoted-printable") {
        decode_quoted_printable(body)
    } else {
        body.to_owned()
    };
    Mail { to, subject, body }
}

fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(hex) = joined.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8 body")
}

fn link(reference: &str) -> String {
    format!("{}/requests/{reference}", PUBLIC_URL.trim_end_matches('/'))
}

/// Exactly `want` received one email each (no one else), each naming the request and linking
/// to it with `subject_has` in its subject; returns them by recipient.
fn expect_one_each<'a>(
    got: &'a BTreeMap<String, Vec<Mail>>,
    want: &[&str],
    reference: &str,
    subject_has: &str,
) -> BTreeMap<&'a str, &'a Mail> {
    let recipients: BTreeSet<&str> = got.keys().map(String::as_str).collect();
    let wanted: BTreeSet<&str> = want.iter().copied().collect();
    assert_eq!(recipients, wanted, "who was emailed ({subject_has})");
    got.iter()
        .map(|(to, mails)| {
            assert_eq!(mails.len(), 1, "{to}: {mails:?}");
            let mail = &mails[0];
            assert!(mail.subject.contains(reference), "{}", mail.subject);
            assert!(mail.subject.contains(subject_has), "{}", mail.subject);
            assert!(
                mail.subject.contains("New meter for the yard"),
                "{}",
                mail.subject
            );
            assert!(mail.body.contains(&link(reference)), "{}", mail.body);
            (to.as_str(), mail)
        })
        .collect()
}

fn test_slot() -> Value {
    json!({"service": "test_devices", "quantity": 4})
}

#[test]
fn each_approval_step_tells_its_own_deciders_then_the_raiser_hears_the_outcome() {
    let Some(mut desk) = Desk::new("each_approval_step_tells_its_own_deciders") else {
        return;
    };
    let northern_admin = desk.world.northern.admin_email;
    let northern_user = desk.world.northern.user_email;
    let raised = desk.raise(&desk.world.northern.user, "test_services", test_slot());
    let reference = raised.reference.clone();

    // Step 1 awaits the raising organisation: both its administrators, nobody else.
    let got = desk.deliver();
    let mails = expect_one_each(
        &got,
        &[northern_admin, SECOND_ADMIN],
        &reference,
        "Approval needed",
    );
    for mail in mails.values() {
        assert!(
            mail.body
                .contains("awaits your organisation's approval (step 1)"),
            "{}",
            mail.body
        );
        assert!(
            mail.body
                .contains("administrator of the organisation whose approval"),
            "{}",
            mail.body
        );
    }

    // The organisation approves; step 2 awaits the operator: its service-desk manager only,
    // not the agent (who may not approve), not the DCC administrator, not the organisation.
    desk.decide(&desk.world.northern.admin, &raised, Decision::Approve, None);
    let got = desk.deliver();
    let mails = expect_one_each(&got, &[MANAGER], &reference, "Approval needed");
    assert!(
        mails[MANAGER]
            .body
            .contains("awaits the operator's approval (step 2)"),
        "{}",
        mails[MANAGER].body
    );

    // The operator approves the last step: the raiser hears it.
    let approved = desk.decide(&desk.manager, &raised, Decision::Approve, None);
    let got = desk.deliver();
    expect_one_each(&got, &[northern_user], &reference, "Approved");

    // Fulfilment: starting it and completing tasks email nobody; fulfilling tells the raiser.
    let tasks = approved.tasks.len();
    assert!(tasks > 0, "the item has fulfilment tasks");
    for (i, task) in approved.tasks.iter().enumerate() {
        desk.requests
            .complete_task(&desk.world.desk, &reference, task.id, None, None)
            .expect("complete a task");
        let got = desk.deliver();
        if i + 1 < tasks {
            assert!(got.is_empty(), "a task done is news to nobody: {got:?}");
        } else {
            expect_one_each(&got, &[northern_user], &reference, "Fulfilled");
        }
    }

    // The organisation's endpoint saw every step, the later approval step included; the other
    // organisation's endpoint saw nothing.
    let northern = desk.webhooks("/northern");
    assert_eq!(
        &northern[..3],
        [
            "request.submitted",
            "request.approval_due",
            "request.approved"
        ]
    );
    assert_eq!(
        northern.last().map(String::as_str),
        Some("request.fulfilled")
    );
    let due = &desk.receiver.received_at("/northern")[1].json();
    assert_eq!(due["approval"], json!({"step": 2, "approver": "operator"}));
    assert!(desk.webhooks("/southern").is_empty());
}

#[test]
fn a_step_the_operator_decides_first_tells_only_operator_approvers() {
    let Some(mut desk) = Desk::new("a_step_the_operator_decides_first") else {
        return;
    };
    let raised = desk.raise(
        &desk.world.northern.user,
        "registration_data",
        json!({"request_type": "correction", "mpxns": ["1234567890123"],
               "details": "The MPAN's address is wrong."}),
    );
    let got = desk.deliver();
    let mails = expect_one_each(&got, &[MANAGER], &raised.reference, "Approval needed");
    assert!(
        mails[MANAGER]
            .body
            .contains("the operator's approval (step 1)"),
        "{}",
        mails[MANAGER].body
    );
    assert!(
        mails[MANAGER]
            .body
            .contains("you may approve service requests for the operator"),
        "{}",
        mails[MANAGER].body
    );
    assert_eq!(desk.webhooks("/northern"), ["request.submitted"]);
}

#[test]
fn rejection_comments_and_cancellation_reach_the_raiser_and_never_work_notes() {
    let Some(mut desk) = Desk::new("rejection_comments_and_cancellation") else {
        return;
    };
    let northern_user = desk.world.northern.user_email;
    let raised = desk.raise(&desk.world.northern.user, "test_services", test_slot());
    desk.decide(&desk.world.northern.admin, &raised, Decision::Approve, None);
    desk.deliver();

    // Staff comment: the raiser hears it; a work note and the organisation's own comment do not
    // make an email.
    desk.requests
        .comment(
            &desk.world.desk,
            &raised.reference,
            "An engineer is booked for Monday",
            false,
            None,
        )
        .expect("comment");
    desk.requests
        .comment(&desk.world.desk, &raised.reference, WORK_NOTE, true, None)
        .expect("work note");
    desk.requests
        .comment(
            &desk.world.northern.admin,
            &raised.reference,
            "Gate code is 1234",
            false,
            None,
        )
        .expect("own comment");
    let got = desk.deliver();
    let mails = expect_one_each(&got, &[northern_user], &raised.reference, "New comment");
    assert!(
        mails[northern_user]
            .body
            .contains("An engineer is booked for Monday"),
        "{}",
        mails[northern_user].body
    );

    // The operator rejects step 2 with a reason: the raiser reads it.
    desk.decide(
        &desk.manager,
        &raised,
        Decision::Reject,
        Some("No test devices until January"),
    );
    let got = desk.deliver();
    let mails = expect_one_each(&got, &[northern_user], &raised.reference, "Rejected");
    assert!(
        mails[northern_user]
            .body
            .contains("No test devices until January"),
        "{}",
        mails[northern_user].body
    );

    // Cancelled by the raiser: no email; cancelled by the desk: the raiser hears it.
    let own = desk.raise(
        &desk.world.northern.user,
        "information",
        json!({"question": "Where is the SEC guidance?"}),
    );
    let theirs = desk.raise(
        &desk.world.northern.user,
        "information",
        json!({"question": "Who do I call?"}),
    );
    let cancel = || RequestChanges {
        status: Some("cancelled".into()),
        contact: None,
    };
    desk.requests
        .update(
            &desk.world.northern.user,
            &own.reference,
            None,
            cancel(),
            None,
        )
        .expect("cancel own");
    desk.requests
        .update(&desk.world.desk, &theirs.reference, None, cancel(), None)
        .expect("desk cancels");
    let got = desk.deliver();
    expect_one_each(&got, &[northern_user], &theirs.reference, "Cancelled");

    let everything = desk.sink.messages();
    assert!(everything.iter().all(|m| !m.contains(WORK_NOTE)));
}

#[test]
fn another_organisations_requests_email_none_of_this_organisations_people() {
    let Some(mut desk) = Desk::new("another_organisations_requests") else {
        return;
    };
    let southern = desk.raise(&desk.world.southern.user, "test_services", test_slot());
    let got = desk.deliver();
    expect_one_each(
        &got,
        &[desk.world.southern.admin_email],
        &southern.reference,
        "Approval needed",
    );
    desk.decide(
        &desk.world.southern.admin,
        &southern,
        Decision::Approve,
        None,
    );
    let got = desk.deliver();
    expect_one_each(&got, &[MANAGER], &southern.reference, "Approval needed");
    desk.decide(&desk.manager, &southern, Decision::Approve, None);
    let got = desk.deliver();
    expect_one_each(
        &got,
        &[desk.world.southern.user_email],
        &southern.reference,
        "Approved",
    );

    let mut all: Vec<String> = Vec::new();
    for message in desk.sink.messages() {
        all.extend(parse(&message).to);
    }
    let northern: Vec<&String> = all
        .iter()
        .filter(|a| a.ends_with("@northern.example"))
        .collect();
    assert!(northern.is_empty(), "{northern:?}");
    for staff in [DESK, DCC_ADMIN] {
        assert!(!all.iter().any(|a| a == staff), "{staff}: {all:?}");
    }
    assert!(all.iter().any(|a| a == MANAGER));
    assert!(desk.webhooks("/northern").is_empty());
    assert_eq!(
        &desk.webhooks("/southern")[..3],
        [
            "request.submitted",
            "request.approval_due",
            "request.approved"
        ]
    );
}

#[test]
fn a_breached_request_tells_the_service_desk_managers_and_no_organisation() {
    let Some(mut desk) = Desk::new("a_breached_request_tells_the_service_desk_managers") else {
        return;
    };
    let late = desk.raise(
        &desk.world.northern.user,
        "information",
        json!({"question": "Where is the SEC guidance?"}),
    );
    desk.deliver();
    // Long past the five working days of its target: the sweep finds it breached.
    desk.world.clock.advance(chrono::Duration::days(14));
    desk.requests.sweep().expect("sweep");
    let got = desk.deliver();
    let mails = expect_one_each(&got, &[MANAGER], &late.reference, "SLA breached");
    assert!(
        mails[MANAGER].body.contains("service desk manager"),
        "{}",
        mails[MANAGER].body
    );
    assert_eq!(
        desk.webhooks("/northern"),
        ["request.submitted", "request.sla_breached"]
    );
    assert!(desk.webhooks("/southern").is_empty());
}

#[test]
fn a_step_decided_before_its_event_is_read_is_news_to_nobody() {
    let Some(mut desk) = Desk::new("a_step_decided_before_its_event_is_read") else {
        return;
    };
    let raised = desk.raise(&desk.world.northern.user, "test_services", test_slot());
    desk.deliver();
    desk.decide(&desk.world.northern.admin, &raised, Decision::Approve, None);
    // The manager decides step 2 before the dispatcher reads the event announcing it.
    desk.decide(&desk.manager, &raised, Decision::Approve, None);
    let got = desk.deliver();
    expect_one_each(
        &got,
        &[desk.world.northern.user_email],
        &raised.reference,
        "Approved",
    );
    // The webhook still records that the step fell due: it is history, not a call to act.
    assert_eq!(
        desk.webhooks("/northern"),
        [
            "request.submitted",
            "request.approval_due",
            "request.approved"
        ]
    );
}
