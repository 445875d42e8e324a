//! Email notifications about service requests: the counterpart of
//! [`notifications`](crate::notifications) for `request.*` events, queued the same way (an outbox
//! row of kind `email`, in the transaction that consumes the event).
//!
//! # Who is emailed
//!
//! | event | recipients |
//! | --- | --- |
//! | `request.submitted` | those who decide its first approval step (below) |
//! | `request.approval_due` | those who decide the step that fell due (below) |
//! | `request.approved`, `request.fulfilled` | the raiser, if a person |
//! | `request.rejected` | the raiser, if a person, with the reason given |
//! | `request.cancelled` | the raiser, if a person, unless they cancelled it themselves |
//! | `request.comment_added` | the raiser, if a person, when the operator's staff commented |
//! | `request.sla_at_risk`, `request.sla_breached` | every `service_desk_manager` |
//!
//! A step the raising organisation decides goes to that organisation's `org_admin`s; a step the
//! operator decides goes to the operator's people whose role may approve requests (its
//! `service_desk_manager`s), as `decide` in dsms-service-request allows them and nobody else.
//!
//! Other events (`.fulfilment_started`, `.task_completed`, `.closed`) email nobody.
//!
//! - Work notes never reach an email: `request.comment_added` is emitted for comments only, and
//!   the comment is re-read from the store and dropped if it is internal.
//! - An approval step is announced only while it is still the request's first pending step:
//!   an event read after the step was decided emails nobody.
//! - Only active people of active organisations are emailed, one email per recipient per event;
//!   organisation admins are those of the request's own organisation.
//!
//! Templates: `crates/webhooks/templates/notifications/request_*.txt`, like the incidents'. Every
//! email names the request's reference and summary and links to
//! `{http.public_url}/requests/{reference}`.

use askama::Template;
use chrono::{DateTime, Utc};
use dsms_core::{Permission, Role};
use dsms_store::{DbConnection, StoreError};
use serde_json::Value;

use crate::dispatcher::{Event, Subscriber};
use crate::notifications::{add, id_of, send, split};
use crate::recipients::{self, Recipient};
use crate::settings::NotificationSettings;

/// The approver of a step the raising organisation's administrators decide.
const ORGANISATION_APPROVER: &str = "organisation_admin";
/// The approver of a step the operator's staff decide.
const OPERATOR_APPROVER: &str = "operator";
/// The kind of the operator's organisations.
const OPERATOR_KIND: &str = "operator";
/// The audit log's entity type of service requests.
const REQUEST_ENTITY: &str = "service_request";

/// The service request notification subscriber of the dispatcher.
#[derive(Debug)]
pub(crate) struct RequestNotifications {
    settings: NotificationSettings,
}

/// Why someone is emailed; the line at the foot of the email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Raiser,
    Approver,
    OperatorApprover,
    Manager,
}

impl Reason {
    fn why(self) -> &'static str {
        match self {
            Reason::Raiser => "you raised this service request",
            Reason::Approver => {
                "you are an administrator of the organisation whose approval this request awaits"
            }
            Reason::OperatorApprover => {
                "you may approve service requests for the operator, whose approval this request awaits"
            }
            Reason::Manager => "you are a service desk manager",
        }
    }
}

/// The parts of a request event the emails use.
#[derive(Debug)]
struct Facts<'a> {
    id: i64,
    reference: &'a str,
    summary: &'a str,
    status: &'a str,
    /// The raiser, when a person.
    raiser: Option<i64>,
    due_at: Option<&'a str>,
}

impl<'a> Facts<'a> {
    /// `None` when the event is not about a service request.
    fn of(body: &'a Value) -> Option<Self> {
        let request = body.get("request")?;
        let text = |key: &str| request.get(key).and_then(Value::as_str);
        let raiser = request
            .get("raised_by")
            .filter(|r| r.get("kind").and_then(Value::as_str) == Some("person"))
            .and_then(|r| id_of(r.get("id")));
        Some(Self {
            id: id_of(request.get("id"))?,
            reference: text("reference").filter(|r| !r.is_empty())?,
            summary: text("summary").unwrap_or_default(),
            status: text("status").unwrap_or_default(),
            raiser,
            due_at: text("due_at"),
        })
    }
}

/// What every email shows.
struct Common<'a> {
    name: &'a str,
    reference: &'a str,
    summary: &'a str,
    link: &'a str,
    why: &'a str,
}

#[derive(Template)]
#[template(path = "notifications/request_approved.txt", escape = "none")]
struct Approved<'a> {
    c: &'a Common<'a>,
}

#[derive(Template)]
#[template(path = "notifications/request_rejected.txt", escape = "none")]
struct Rejected<'a> {
    c: &'a Common<'a>,
    reason: &'a str,
}

#[derive(Template)]
#[template(path = "notifications/request_fulfilled.txt", escape = "none")]
struct Fulfilled<'a> {
    c: &'a Common<'a>,
}

#[derive(Template)]
#[template(path = "notifications/request_cancelled.txt", escape = "none")]
struct Cancelled<'a> {
    c: &'a Common<'a>,
}

#[derive(Template)]
#[template(path = "notifications/request_comment_added.txt", escape = "none")]
struct CommentAdded<'a> {
    c: &'a Common<'a>,
    author: &'a str,
    body: &'a str,
}

#[derive(Template)]
#[template(path = "notifications/request_approval_due.txt", escape = "none")]
struct ApprovalDue<'a> {
    c: &'a Common<'a>,
    /// Whose approval: "your organisation's" or "the operator's".
    whose: &'a str,
    step: i32,
}

#[derive(Template)]
#[template(path = "notifications/request_sla.txt", escape = "none")]
struct Sla<'a> {
    c: &'a Common<'a>,
    breached: bool,
    clock: &'a str,
    due_at: &'a str,
}

/// What to say, for one event; rendered once per recipient.
enum Moment<'a> {
    ApprovalDue { whose: &'a str, step: i32 },
    Approved,
    Rejected { reason: &'a str },
    Fulfilled,
    Cancelled,
    CommentAdded { author: &'a str, body: &'a str },
    Sla { breached: bool, clock: &'a str },
}

impl RequestNotifications {
    pub(crate) fn new(settings: NotificationSettings) -> Self {
        Self { settings }
    }

    /// The subject and body of `moment` for `person`.
    fn render(
        &self,
        facts: &Facts<'_>,
        moment: &Moment<'_>,
        person: &Recipient,
        reason: Reason,
    ) -> Result<(String, String), String> {
        let link = format!(
            "{}/requests/{}",
            self.settings.public_url.trim_end_matches('/'),
            facts.reference
        );
        // A summary is one line; keep it so, in the subject above all.
        let summary = facts
            .summary
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let c = Common {
            name: &person.name,
            reference: facts.reference,
            summary: &summary,
            link: &link,
            why: reason.why(),
        };
        let rendered = match *moment {
            Moment::ApprovalDue { whose, step } => ApprovalDue { c: &c, whose, step }.render(),
            Moment::Approved => Approved { c: &c }.render(),
            Moment::Rejected { reason } => Rejected { c: &c, reason }.render(),
            Moment::Fulfilled => Fulfilled { c: &c }.render(),
            Moment::Cancelled => Cancelled { c: &c }.render(),
            Moment::CommentAdded { author, body } => CommentAdded {
                c: &c,
                author,
                body,
            }
            .render(),
            Moment::Sla { breached, clock } => Sla {
                c: &c,
                breached,
                clock,
                due_at: facts.due_at.unwrap_or_default(),
            }
            .render(),
        }
        .map_err(|e| e.to_string())?;
        split(&rendered)
    }
}

/// Renders the email `event_type` sends about the service request in `body` (a `request.*` event
/// as queued) to a person named `name`, with `text` as the free text the dispatcher reads from
/// the store (a comment's body, a rejection's reason; the comment's author comes from the
/// event): the subject and body, or `None` for an event that emails nobody or is not about a
/// request. The dispatcher's rendering without the store, for previews and the parser fuzzing.
pub fn render_request_email(
    settings: &NotificationSettings,
    event_type: &str,
    body: &Value,
    name: &str,
    text: &str,
) -> Option<Result<(String, String), String>> {
    let facts = Facts::of(body)?;
    let approval = body.get("approval");
    let (moment, reason) = match event_type {
        "request.submitted" | "request.approval_due" => {
            let operator = approval
                .and_then(|a| a.get("approver"))
                .and_then(Value::as_str)
                == Some(OPERATOR_APPROVER);
            let step = approval
                .and_then(|a| a.get("step"))
                .and_then(Value::as_i64)
                .and_then(|s| i32::try_from(s).ok())
                .unwrap_or(1);
            if operator {
                let whose = "the operator's";
                (
                    Moment::ApprovalDue { whose, step },
                    Reason::OperatorApprover,
                )
            } else {
                let whose = "your organisation's";
                (Moment::ApprovalDue { whose, step }, Reason::Approver)
            }
        }
        "request.approved" => (Moment::Approved, Reason::Raiser),
        "request.rejected" => (Moment::Rejected { reason: text }, Reason::Raiser),
        "request.fulfilled" => (Moment::Fulfilled, Reason::Raiser),
        "request.cancelled" => (Moment::Cancelled, Reason::Raiser),
        "request.comment_added" => (
            Moment::CommentAdded {
                author: body
                    .get("comment")
                    .and_then(|c| c.get("author"))
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                body: text,
            },
            Reason::Raiser,
        ),
        kind @ ("request.sla_at_risk" | "request.sla_breached") => (
            Moment::Sla {
                breached: kind == "request.sla_breached",
                clock: body
                    .get("clock")
                    .and_then(Value::as_str)
                    .unwrap_or("resolution"),
            },
            Reason::Manager,
        ),
        _ => return None,
    };
    let person = Recipient {
        id: 0,
        name: name.to_owned(),
        email: String::new(),
    };
    Some(RequestNotifications::new(settings.clone()).render(&facts, &moment, &person, reason))
}

impl Subscriber for RequestNotifications {
    fn on_event(
        &self,
        conn: &mut DbConnection,
        now: DateTime<Utc>,
        event: &Event,
    ) -> Result<usize, StoreError> {
        let Some(facts) = Facts::of(&event.body) else {
            return Ok(0);
        };
        let mut to = Vec::new();
        let stored_reason;
        let comment;
        let moment = match event.event_type.as_str() {
            kind @ ("request.submitted" | "request.approval_due") => {
                if facts.status != "awaiting_approval" {
                    return Ok(0);
                }
                let Some((step, approver)) = recipients::pending_approval(conn, facts.id)? else {
                    return Ok(0);
                };
                // A later step's event names it; if that step is no longer the one due, it
                // was decided before this event was read and is news to nobody.
                let named = event
                    .body
                    .get("approval")
                    .and_then(|a| a.get("step"))
                    .and_then(Value::as_i64);
                if kind == "request.approval_due" && named != Some(i64::from(step)) {
                    return Ok(0);
                }
                let whose = match approver.as_str() {
                    ORGANISATION_APPROVER => {
                        for admin in recipients::holding_role_in(
                            conn,
                            Role::OrgAdmin.as_str(),
                            event.organisation_id,
                        )? {
                            add(&mut to, Some(admin), Reason::Approver);
                        }
                        "your organisation's"
                    }
                    OPERATOR_APPROVER => {
                        let roles: Vec<&str> = Role::ALL
                            .iter()
                            .filter(|r| r.permissions().contains(&Permission::ApproveRequests))
                            .map(|r| r.as_str())
                            .collect();
                        for approver in
                            recipients::holding_any_role_of_kind(conn, &roles, OPERATOR_KIND)?
                        {
                            add(&mut to, Some(approver), Reason::OperatorApprover);
                        }
                        "the operator's"
                    }
                    _ => return Ok(0),
                };
                Moment::ApprovalDue { whose, step }
            }
            "request.approved" => {
                add(&mut to, facts.raiser, Reason::Raiser);
                Moment::Approved
            }
            "request.rejected" => {
                stored_reason = recipients::rejection_reason(conn, facts.id)?;
                add(&mut to, facts.raiser, Reason::Raiser);
                Moment::Rejected {
                    reason: stored_reason.as_deref().unwrap_or("not recorded"),
                }
            }
            "request.fulfilled" => {
                add(&mut to, facts.raiser, Reason::Raiser);
                Moment::Fulfilled
            }
            "request.cancelled" => {
                // The cancellation is the request's last audited change: made in the same
                // transaction as this event, and a cancelled request takes no more.
                let by = recipients::last_actor(conn, REQUEST_ENTITY, facts.id)?;
                let by_raiser = by
                    .is_some_and(|(kind, id)| kind == "person" && id.parse().ok() == facts.raiser);
                if !by_raiser {
                    add(&mut to, facts.raiser, Reason::Raiser);
                }
                Moment::Cancelled
            }
            "request.comment_added" => {
                let id = id_of(event.body.get("comment").and_then(|c| c.get("id")));
                comment = match id {
                    Some(id) => recipients::request_comment(conn, id)?,
                    None => None,
                };
                let Some(stored) = comment
                    .as_ref()
                    .filter(|c| !c.internal && c.request_id == facts.id)
                else {
                    tracing::warn!(
                        outbox_id = event.id,
                        "a request comment event without its public comment; nobody emailed"
                    );
                    return Ok(0);
                };
                // Only the operator's staff's comments are news to the raiser; the raising
                // organisation's own people see theirs on the request.
                let by_staff = stored.author_kind == "person"
                    && recipients::organisation_kind_of(conn, stored.author_id)?.as_deref()
                        == Some("operator");
                if !by_staff || facts.raiser == Some(stored.author_id) {
                    return Ok(0);
                }
                add(&mut to, facts.raiser, Reason::Raiser);
                Moment::CommentAdded {
                    author: &stored.author_name,
                    body: &stored.body,
                }
            }
            kind @ ("request.sla_at_risk" | "request.sla_breached") => {
                for manager in recipients::holding_role(conn, Role::ServiceDeskManager.as_str())? {
                    add(&mut to, Some(manager), Reason::Manager);
                }
                Moment::Sla {
                    breached: kind == "request.sla_breached",
                    clock: event
                        .body
                        .get("clock")
                        .and_then(Value::as_str)
                        .unwrap_or("resolution"),
                }
            }
            _ => return Ok(0),
        };
        send(conn, now, event, to, |recipient, reason| {
            self.render(&facts, &moment, recipient, reason)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_template_names_the_request_links_to_it_and_says_why() {
        let body = json!({"request": {"id": "7", "reference": "REQ0000007",
            "summary": "New meter\nfor <site> & \"yard\"", "status": "approved",
            "raised_by": {"kind": "person", "id": "9"}, "due_at": "2026-12-01T09:00:00Z"}});
        let facts = Facts::of(&body).unwrap();
        assert_eq!(facts.raiser, Some(9));
        let notifications = RequestNotifications::new(NotificationSettings {
            public_url: "https://dsms.example/".into(),
            reopen_window_working_days: 5,
        });
        let person = Recipient {
            id: 9,
            name: "Ada".into(),
            email: "ada@example.com".into(),
        };
        for moment in [
            Moment::ApprovalDue {
                whose: "the operator's",
                step: 2,
            },
            Moment::Approved,
            Moment::Rejected {
                reason: "No budget",
            },
            Moment::Fulfilled,
            Moment::Cancelled,
            Moment::CommentAdded {
                author: "Desk",
                body: "Booked",
            },
            Moment::Sla {
                breached: true,
                clock: "resolution",
            },
        ] {
            for reason in [
                Reason::Raiser,
                Reason::Approver,
                Reason::OperatorApprover,
                Reason::Manager,
            ] {
                let (subject, text) = notifications
                    .render(&facts, &moment, &person, reason)
                    .unwrap();
                assert!(subject.contains("REQ0000007"), "{subject}");
                assert!(
                    subject.contains("New meter for <site> & \"yard\""),
                    "{subject}"
                );
                assert!(text.starts_with("Hello Ada,\n"), "{text}");
                assert!(
                    text.contains("https://dsms.example/requests/REQ0000007\n"),
                    "{text}"
                );
                assert!(text.contains(reason.why()), "{text}");
                assert!(!text.contains("&amp;") && !text.contains("{{"), "{text}");
            }
        }
    }

    #[test]
    fn a_later_step_renders_for_whoever_decides_it() {
        let settings = NotificationSettings {
            public_url: "https://dsms.example".into(),
            reopen_window_working_days: 5,
        };
        let body = json!({"request": {"id": "7", "reference": "REQ0000007",
            "summary": "Test slot", "status": "awaiting_approval"},
            "approval": {"step": 2, "approver": "operator"}});
        let (subject, text) =
            render_request_email(&settings, "request.approval_due", &body, "Ada", "")
                .expect("emails someone")
                .expect("renders");
        assert_eq!(subject, "[REQ0000007] Approval needed: Test slot");
        assert!(
            text.contains("awaits the operator's approval (step 2)"),
            "{text}"
        );
        assert!(text.contains(Reason::OperatorApprover.why()), "{text}");
        assert!(render_request_email(&settings, "request.closed", &body, "Ada", "").is_none());
    }

    #[test]
    fn events_not_about_requests_are_ignored() {
        assert!(Facts::of(&json!({"incident": {"id": "1", "reference": "INC1"}})).is_none());
        let api = json!({"request": {"id": "1", "reference": "REQ1",
            "raised_by": {"kind": "api_token", "id": "3"}}});
        assert_eq!(Facts::of(&api).unwrap().raiser, None);
    }
}
