//! Notification emails (crates/webhooks notifications and request_notifications, and
//! crates/notify's message): the text of an incident or service-request event (titles,
//! summaries, comment bodies, author names, reasons) is untrusted. Any such text renders into a
//! one-line subject that names the reference and a body that ends in a newline and links to the
//! record, never a panic; the email built from them is a valid RFC 5322 message whose headers
//! the text cannot add to (one Subject, no injected Bcc), and whose payload round-trips.
#![no_main]

use dsms_core::Email;
use dsms_notify::EmailMessage;
use dsms_webhooks::NotificationSettings;
use dsms_webhooks::notifications::render_email;
use dsms_webhooks::render_request_email;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

const INCIDENT_EVENTS: &[&str] = &[
    "incident.created",
    "incident.assigned",
    "incident.comment_added",
    "incident.resolved",
    "incident.sla_at_risk",
    "incident.sla_breached",
];

const REQUEST_EVENTS: &[&str] = &[
    "request.submitted",
    "request.approval_due",
    "request.approved",
    "request.rejected",
    "request.fulfilled",
    "request.cancelled",
    "request.comment_added",
    "request.sla_at_risk",
    "request.sla_breached",
];

/// The header section of a formatted message, folded lines joined.
fn headers(formatted: &str) -> Vec<String> {
    let head = formatted.split("\r\n\r\n").next().unwrap_or_default();
    let mut lines: Vec<String> = Vec::new();
    for line in head.split("\r\n") {
        match lines.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
            _ => lines.push(line.to_owned()),
        }
    }
    lines
}

fn check(reference: &str, rendered: Option<Result<(String, String), String>>, path: &str) {
    let Some(rendered) = rendered else { return };
    let (subject, body) = rendered.expect("every template renders");
    assert!(!subject.contains(['\r', '\n']), "{subject:?}");
    assert!(subject.contains(reference), "{subject:?}");
    assert!(body.ends_with('\n'), "{body:?}");
    assert!(
        body.contains(&format!("https://dsms.example/{path}/{reference}")),
        "{body}"
    );
    let message = EmailMessage::new(
        vec![Email::parse("ada@supplier.example").expect("an address")],
        subject.as_str(),
        body.as_str(),
    );
    let formatted = message
        .to_rfc5322("dsms <no-reply@dsms.example>")
        .expect("a rendered email always builds");
    let formatted = String::from_utf8(formatted).expect("UTF-8 message");
    let headers = headers(&formatted);
    let named = |name: &str| {
        headers
            .iter()
            .filter(|h| h.to_ascii_lowercase().starts_with(&format!("{name}:")))
            .count()
    };
    assert_eq!(named("subject"), 1, "{formatted}");
    assert_eq!(named("to"), 1, "{formatted}");
    assert_eq!(
        named("bcc") + named("cc") + named("reply-to"),
        0,
        "{formatted}"
    );
    let payload: EmailMessage =
        serde_json::from_value(serde_json::to_value(&message).expect("serialises"))
            .expect("deserialises");
    assert_eq!(payload, message);
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Five pieces of untrusted text, separated by NUL bytes.
    let mut parts = text.split('\0');
    let mut next = || parts.next().unwrap_or_default().to_owned();
    let (title, author, comment, name, extra) = (next(), next(), next(), next(), next());
    let settings = NotificationSettings {
        public_url: "https://dsms.example/".into(),
        reopen_window_working_days: 5,
    };
    let incident = json!({"incident": {"id": "7", "reference": "INC0000007", "title": title,
        "priority": 2, "raised_by": {"kind": "person", "id": "9"}, "assignee_id": "3",
        "assignment_group": extra, "resolution_code": extra,
        "resolution_due_at": "2026-12-01T09:00:00Z"},
        "comment": {"id": "1", "author": author}, "clock": extra});
    for event in INCIDENT_EVENTS {
        check(
            "INC0000007",
            render_email(&settings, event, &incident, &name, &comment),
            "incidents",
        );
    }
    let request = json!({"request": {"id": "8", "reference": "REQ0000008", "summary": title,
        "status": "awaiting_approval", "raised_by": {"kind": "person", "id": "9"},
        "due_at": extra}, "approval": {"step": 2, "approver": "operator"},
        "comment": {"id": "1", "author": author}, "clock": extra});
    for event in REQUEST_EVENTS {
        check(
            "REQ0000008",
            render_request_email(&settings, event, &request, &name, &comment),
            "requests",
        );
    }
});
