//! Email notifications: for the moments a person expects one, the dispatcher queues a plain-text
//! email (an outbox row of kind `email`, sent by `dsms-notify`'s worker) in the same transaction
//! that consumes the domain event, so each is queued exactly once however many dispatchers run.
//!
//! # Who is emailed
//!
//! | event | recipients |
//! | --- | --- |
//! | `incident.created` | the raiser, if a person (a confirmation with the reference); nobody for an API token |
//! | `incident.assigned` | the assignee, if there is one ("assigned to you") |
//! | `incident.comment_added` | the raiser (if a person) and the assignee, except the comment's author |
//! | `incident.resolved` | the raiser, if a person: the resolution code, and how to reopen or close it |
//! | `incident.sla_at_risk`, `incident.sla_breached` | the assignee; if unassigned, every `service_desk_manager` |
//!
//! Other events (`.updated`, `.reopened`, `.closed`, `.cancelled`) email nobody.
//!
//! - Members of a resolver group are not modelled yet, so assigning an incident to a group alone
//!   emails nobody; and as the event does not say what changed, an `incident.assigned` that only
//!   moves the group tells the (unchanged) assignee again.
//! - Only active people of active organisations are emailed: never anyone deactivated, nor anyone
//!   of a suspended organisation.
//! - Work notes never reach an email: the `incident.comment_added` event is emitted for public
//!   comments only, and the comment is re-read from the store and dropped if it is internal.
//! - One email per recipient per event: recipients are de-duplicated (a raiser who is also the
//!   assignee gets one), each email addressed to one person only.
//!
//! # Templates
//!
//! `crates/webhooks/templates/notifications/*.txt`, rendered with askama without escaping
//! (plain text). The first line of each is `Subject: …`; the rest is the body. Every email names
//! the incident's reference and title, links to `{http.public_url}/incidents/{reference}` and
//! says why the person got it.

use std::collections::HashMap;

use askama::Template;
use chrono::{DateTime, Utc};
use dsms_core::{Email, Role};
use dsms_notify::{EmailMessage, enqueue_email};
use dsms_store::{DbConnection, StoreError};
use serde_json::Value;

use crate::dispatcher::{Event, Subscriber};
use crate::recipients::{self, Recipient};
use crate::settings::NotificationSettings;

/// The notification subscriber of the dispatcher.
#[derive(Debug)]
pub(crate) struct Notifications {
    settings: NotificationSettings,
}

/// Why someone is emailed; the line at the foot of the email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Raiser,
    Assignee,
    /// A service desk manager, told because nobody is assigned.
    Manager,
}

impl Reason {
    fn why(self) -> &'static str {
        match self {
            Reason::Raiser => "you raised this incident",
            Reason::Assignee => "this incident is assigned to you",
            Reason::Manager => {
                "you are a service desk manager and nobody is assigned to this incident"
            }
        }
    }
}

/// The parts of an incident event the emails use.
#[derive(Debug)]
struct Facts<'a> {
    id: i64,
    reference: &'a str,
    title: &'a str,
    priority: String,
    /// The raiser, when a person.
    raiser: Option<i64>,
    assignee: Option<i64>,
    assignment_group: Option<&'a str>,
    resolution_code: Option<&'a str>,
    resolution_due_at: Option<&'a str>,
}

/// An id as events carry it: a string (or a number).
pub(crate) fn id_of(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::String(text) => text.parse().ok(),
        Value::Number(number) => number.as_i64(),
        _ => None,
    }
}

impl<'a> Facts<'a> {
    /// `None` when the event is not about an incident.
    fn of(body: &'a Value) -> Option<Self> {
        let incident = body.get("incident")?;
        let text = |key: &str| incident.get(key).and_then(Value::as_str);
        let raised_by = incident.get("raised_by");
        let raiser = raised_by
            .filter(|r| r.get("kind").and_then(Value::as_str) == Some("person"))
            .and_then(|r| id_of(r.get("id")));
        Some(Self {
            id: id_of(incident.get("id"))?,
            reference: text("reference").filter(|r| !r.is_empty())?,
            title: text("title").unwrap_or_default(),
            priority: incident
                .get("priority")
                .and_then(Value::as_i64)
                .map_or_else(|| "not set".to_owned(), |p| format!("P{p}")),
            raiser,
            assignee: id_of(incident.get("assignee_id")),
            assignment_group: text("assignment_group").filter(|g| !g.is_empty()),
            resolution_code: text("resolution_code").filter(|c| !c.is_empty()),
            resolution_due_at: text("resolution_due_at"),
        })
    }
}

/// What every email shows.
struct Common<'a> {
    name: &'a str,
    reference: &'a str,
    title: &'a str,
    priority: &'a str,
    link: &'a str,
    why: &'a str,
}

#[derive(Template)]
#[template(path = "notifications/created.txt", escape = "none")]
struct Created<'a> {
    c: &'a Common<'a>,
}

#[derive(Template)]
#[template(path = "notifications/assigned.txt", escape = "none")]
struct Assigned<'a> {
    c: &'a Common<'a>,
    group: &'a str,
}

#[derive(Template)]
#[template(path = "notifications/comment_added.txt", escape = "none")]
struct CommentAdded<'a> {
    c: &'a Common<'a>,
    author: &'a str,
    body: &'a str,
}

#[derive(Template)]
#[template(path = "notifications/resolved.txt", escape = "none")]
struct Resolved<'a> {
    c: &'a Common<'a>,
    resolution_code: &'a str,
    reopen_days: u32,
}

#[derive(Template)]
#[template(path = "notifications/sla.txt", escape = "none")]
struct Sla<'a> {
    c: &'a Common<'a>,
    breached: bool,
    clock: &'a str,
    due_at: &'a str,
}

/// What to say, for one event; rendered once per recipient.
enum Moment<'a> {
    Created,
    Assigned,
    CommentAdded { author: &'a str, body: &'a str },
    Resolved,
    Sla { breached: bool, clock: &'a str },
}

/// Splits a rendered template into its subject (the first line, `Subject: …`) and body.
pub(crate) fn split(rendered: &str) -> Result<(String, String), String> {
    let (first, body) = rendered.split_once('\n').unwrap_or((rendered, ""));
    let subject = first
        .strip_prefix("Subject:")
        .ok_or("the template does not start with `Subject:`")?;
    // A header is one line: whatever a title holds, the subject stays on it.
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let body = format!("{}\n", body.trim_matches('\n'));
    Ok((subject, body))
}

impl Notifications {
    pub(crate) fn new(settings: NotificationSettings) -> Self {
        Self { settings }
    }

    fn link(&self, reference: &str) -> String {
        format!(
            "{}/incidents/{reference}",
            self.settings.public_url.trim_end_matches('/')
        )
    }

    /// The subject and body of `moment` for `person`.
    fn render(
        &self,
        facts: &Facts<'_>,
        moment: &Moment<'_>,
        person: &Recipient,
        reason: Reason,
    ) -> Result<(String, String), String> {
        let link = self.link(facts.reference);
        // A title is a one-line summary; keep it on one line, in the subject above all.
        let title = facts.title.split_whitespace().collect::<Vec<_>>().join(" ");
        let c = Common {
            name: &person.name,
            reference: facts.reference,
            title: &title,
            priority: &facts.priority,
            link: &link,
            why: reason.why(),
        };
        let rendered = match *moment {
            Moment::Created => Created { c: &c }.render(),
            Moment::Assigned => Assigned {
                c: &c,
                group: facts.assignment_group.unwrap_or_default(),
            }
            .render(),
            Moment::CommentAdded { author, body } => CommentAdded {
                c: &c,
                author,
                body,
            }
            .render(),
            Moment::Resolved => Resolved {
                c: &c,
                resolution_code: facts.resolution_code.unwrap_or("not recorded"),
                reopen_days: self.settings.reopen_window_working_days,
            }
            .render(),
            Moment::Sla { breached, clock } => Sla {
                c: &c,
                breached,
                clock,
                due_at: if clock == "resolution" {
                    facts.resolution_due_at.unwrap_or_default()
                } else {
                    ""
                },
            }
            .render(),
        }
        .map_err(|e| e.to_string())?;
        split(&rendered)
    }
}

/// Renders the email `event_type` sends about the incident in `body` (an `incident.*` event as
/// queued) to a person named `name`, with `text` as the comment's body (the dispatcher reads it
/// from the store; the author's name comes from the event): the subject and body, or `None` for
/// an event that emails nobody or is not about an incident. The dispatcher's rendering without
/// the store, for previews and the parser fuzzing.
pub fn render_email(
    settings: &NotificationSettings,
    event_type: &str,
    body: &Value,
    name: &str,
    text: &str,
) -> Option<Result<(String, String), String>> {
    let facts = Facts::of(body)?;
    let (moment, reason) = match event_type {
        "incident.created" => (Moment::Created, Reason::Raiser),
        "incident.assigned" => (Moment::Assigned, Reason::Assignee),
        "incident.comment_added" => (
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
        "incident.resolved" => (Moment::Resolved, Reason::Raiser),
        kind @ ("incident.sla_at_risk" | "incident.sla_breached") => (
            Moment::Sla {
                breached: kind == "incident.sla_breached",
                clock: body
                    .get("clock")
                    .and_then(Value::as_str)
                    .unwrap_or("resolution"),
            },
            if facts.assignee.is_some() {
                Reason::Assignee
            } else {
                Reason::Manager
            },
        ),
        _ => return None,
    };
    let person = Recipient {
        id: 0,
        name: name.to_owned(),
        email: String::new(),
    };
    Some(Notifications::new(settings.clone()).render(&facts, &moment, &person, reason))
}

/// Adds `person` with `reason` unless already listed: one email per recipient per event.
pub(crate) fn add<R>(list: &mut Vec<(i64, R)>, person: Option<i64>, reason: R) {
    if let Some(person) = person
        && !list.iter().any(|(p, _)| *p == person)
    {
        list.push((person, reason));
    }
}

impl Subscriber for Notifications {
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
        let comment;
        let moment = match event.event_type.as_str() {
            "incident.created" => {
                add(&mut to, facts.raiser, Reason::Raiser);
                Moment::Created
            }
            "incident.assigned" => {
                add(&mut to, facts.assignee, Reason::Assignee);
                Moment::Assigned
            }
            "incident.comment_added" => {
                // The event names the author for display only; the stored comment says who it
                // was, and whether it is public.
                let id = id_of(event.body.get("comment").and_then(|c| c.get("id")));
                comment = match id {
                    Some(id) => recipients::comment(conn, id)?,
                    None => None,
                };
                let Some(stored) = comment
                    .as_ref()
                    .filter(|c| !c.internal && c.incident_id == facts.id)
                else {
                    tracing::warn!(
                        outbox_id = event.id,
                        "a comment event without its public comment; nobody emailed"
                    );
                    return Ok(0);
                };
                let author = (stored.author_kind == "person").then_some(stored.author_id);
                for (person, reason) in [
                    (facts.raiser, Reason::Raiser),
                    (facts.assignee, Reason::Assignee),
                ] {
                    if person != author {
                        add(&mut to, person, reason);
                    }
                }
                Moment::CommentAdded {
                    author: &stored.author_name,
                    body: &stored.body,
                }
            }
            "incident.resolved" => {
                add(&mut to, facts.raiser, Reason::Raiser);
                Moment::Resolved
            }
            kind @ ("incident.sla_at_risk" | "incident.sla_breached") => {
                if facts.assignee.is_some() {
                    add(&mut to, facts.assignee, Reason::Assignee);
                } else {
                    for manager in
                        recipients::holding_role(conn, Role::ServiceDeskManager.as_str())?
                    {
                        add(&mut to, Some(manager), Reason::Manager);
                    }
                }
                Moment::Sla {
                    breached: kind == "incident.sla_breached",
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

/// Queues one email per reachable person of `to` (active, of an active organisation, with an
/// address that parses), rendered by `render` for that person and the reason they are told.
pub(crate) fn send<R: Copy>(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    event: &Event,
    to: Vec<(i64, R)>,
    render: impl Fn(&Recipient, R) -> Result<(String, String), String>,
) -> Result<usize, StoreError> {
    let ids: Vec<i64> = to.iter().map(|(person, _)| *person).collect();
    let reachable: HashMap<i64, Recipient> = recipients::reachable(conn, &ids)?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let mut queued = 0;
    for (person, reason) in to {
        // Deactivated, or of a suspended organisation (or gone): not emailed.
        let Some(recipient) = reachable.get(&person) else {
            continue;
        };
        let Ok(address) = Email::parse(&recipient.email) else {
            tracing::warn!(
                person_id = person,
                "a stored email address does not parse; not emailed"
            );
            continue;
        };
        match render(recipient, reason) {
            Ok((subject, body)) => {
                enqueue_email(conn, now, &EmailMessage::new(vec![address], subject, body))?;
                queued += 1;
            }
            Err(why) => {
                tracing::error!(outbox_id = event.id, error = %why, "a notification did not render");
            }
        }
    }
    if queued > 0 {
        tracing::debug!(
            event = %event.event_type,
            emails = queued,
            "notifications queued"
        );
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn person() -> Recipient {
        Recipient {
            id: 9,
            name: "Ada".into(),
            email: "ada@example.com".into(),
        }
    }

    fn body() -> Value {
        json!({
            "type": "incident.created",
            "organisation_id": "2",
            "incident": {
                "id": "42",
                "reference": "INC0000042",
                "title": "Hub offline\nsince <08:00> & \"today\"",
                "priority": 2,
                "assignment_group": "comms",
                "assignee_id": "5",
                "raised_by": {"kind": "person", "id": "9"},
                "resolution_code": "fixed",
                "resolution_due_at": "2026-12-01T09:00:00Z",
            }
        })
    }

    #[test]
    fn every_template_renders_a_subject_line_reference_title_link_and_reason() {
        let body = body();
        let facts = Facts::of(&body).unwrap();
        assert_eq!(facts.raiser, Some(9));
        assert_eq!(facts.assignee, Some(5));
        let notifications = Notifications::new(NotificationSettings {
            public_url: "https://dsms.example/".into(),
            reopen_window_working_days: 5,
        });
        for moment in [
            Moment::Created,
            Moment::Assigned,
            Moment::CommentAdded {
                author: "Desk",
                body: "Engineer booked",
            },
            Moment::Resolved,
            Moment::Sla {
                breached: true,
                clock: "resolution",
            },
            Moment::Sla {
                breached: false,
                clock: "response",
            },
        ] {
            for reason in [Reason::Raiser, Reason::Assignee, Reason::Manager] {
                let (subject, text) = notifications
                    .render(&facts, &moment, &person(), reason)
                    .unwrap();
                assert!(subject.contains("INC0000042"), "{subject}");
                assert!(
                    subject.contains("Hub offline since <08:00> & \"today\""),
                    "no escaping, one line: {subject}"
                );
                assert!(text.starts_with("Hello Ada,\n"), "{text}");
                assert!(text.contains("INC0000042"), "{text}");
                assert!(text.contains("<08:00> & \"today\""), "{text}");
                assert!(
                    text.contains("https://dsms.example/incidents/INC0000042\n"),
                    "{text}"
                );
                assert!(text.contains(reason.why()), "{text}");
                assert!(!text.contains("&amp;") && !text.contains("&#"), "{text}");
                assert!(!text.contains("{{") && !text.contains("{%"), "{text}");
                assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{text:?}");
            }
        }
    }

    #[test]
    fn events_not_about_incidents_are_ignored() {
        assert!(Facts::of(&json!({"type": "x"})).is_none());
        assert!(Facts::of(&json!({"incident": {"id": "1"}})).is_none());
        let api = json!({"incident": {"id": "1", "reference": "INC1",
            "raised_by": {"kind": "api_token", "id": "3"}}});
        assert_eq!(Facts::of(&api).unwrap().raiser, None);
    }

    #[test]
    fn a_template_must_start_with_its_subject() {
        assert!(split("Hello\n").is_err());
        let (subject, body) = split("Subject:  A\tB \nHello\n\n").unwrap();
        assert_eq!(subject, "A B");
        assert_eq!(body, "Hello\n");
    }
}
