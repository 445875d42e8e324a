use chrono::{DateTime, Utc};
use dsms_core::Email;
use dsms_store::{DbConnection, StoreError, outbox};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};
use serde::{Deserialize, Serialize};

use crate::error::NotifyError;

/// The outbox `kind` of email rows.
pub const EMAIL_KIND: &str = "email";

/// A text file sent with an email (a CSV report, an SVG chart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailAttachment {
    /// The file name the receiver sees.
    pub filename: String,
    /// Its media type, e.g. `text/csv; charset=utf-8`.
    pub content_type: String,
    /// Its content.
    pub content: String,
}

/// A plain-text email, possibly with text attachments, waiting in the outbox; its JSON form is
/// the outbox payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailMessage {
    /// The recipients, all in the To header.
    pub to: Vec<Email>,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text_body: String,
    /// The RFC 5322 Message-ID, e.g. `<3f2a…@dsms>`, kept for every retry.
    pub message_id: String,
    /// Files sent with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<EmailAttachment>,
}

impl EmailMessage {
    /// A message with a fresh Message-ID.
    ///
    /// The id is fixed here, before the message is stored, so every retry of the same outbox row
    /// sends the same id and receivers can discard the duplicates at-least-once delivery allows.
    pub fn new(to: Vec<Email>, subject: impl Into<String>, text_body: impl Into<String>) -> Self {
        Self {
            to,
            subject: subject.into(),
            text_body: text_body.into(),
            message_id: format!("<{}@dsms>", uuid::Uuid::new_v4().simple()),
            attachments: Vec::new(),
        }
    }

    /// The same message with `attachment` added.
    pub fn with_attachment(mut self, attachment: EmailAttachment) -> Self {
        self.attachments.push(attachment);
        self
    }

    /// The outbox payload. Spelled out because every field is a string, so unlike
    /// `serde_json::to_value` it cannot fail; the round-trip test keeps it in step with
    /// `Deserialize`.
    fn payload(&self) -> serde_json::Value {
        let mut payload = serde_json::json!({
            "to": self.to,
            "subject": self.subject,
            "text_body": self.text_body,
            "message_id": self.message_id,
        });
        if !self.attachments.is_empty() {
            payload["attachments"] = self
                .attachments
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "filename": a.filename,
                        "content_type": a.content_type,
                        "content": a.content,
                    })
                })
                .collect();
        }
        payload
    }

    /// The message as it goes over SMTP (RFC 5322), from `from` (`Name <address>`): the bytes
    /// the mailer sends, for checking what a rendered notification becomes.
    pub fn to_rfc5322(&self, from: &str) -> Result<Vec<u8>, NotifyError> {
        let from = from
            .parse::<Mailbox>()
            .map_err(|source| NotifyError::InvalidSender {
                from: from.to_owned(),
                source,
            })?;
        Ok(self.to_lettre(&from)?.formatted())
    }

    /// The message as lettre sends it, from `from`.
    pub(crate) fn to_lettre(&self, from: &Mailbox) -> Result<Message, NotifyError> {
        let mut builder = Message::builder()
            .from(from.clone())
            .subject(self.subject.as_str())
            .message_id(Some(self.message_id.clone()));
        for to in &self.to {
            let address =
                to.as_str()
                    .parse::<Address>()
                    .map_err(|source| NotifyError::InvalidRecipient {
                        address: to.to_string(),
                        source,
                    })?;
            builder = builder.to(Mailbox::new(None, address));
        }
        if self.attachments.is_empty() {
            return builder
                .header(ContentType::TEXT_PLAIN)
                .body(self.text_body.clone())
                .map_err(NotifyError::InvalidMessage);
        }
        let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(self.text_body.clone()));
        for attachment in &self.attachments {
            // An unparsable media type is sent as a generic download rather than lost.
            let content_type = ContentType::parse(&attachment.content_type).unwrap_or_else(|_| {
                ContentType::parse("application/octet-stream").unwrap_or(ContentType::TEXT_PLAIN)
            });
            parts = parts.singlepart(
                Attachment::new(attachment.filename.clone())
                    .body(attachment.content.clone(), content_type),
            );
        }
        builder
            .multipart(parts)
            .map_err(NotifyError::InvalidMessage)
    }
}

/// Records `message` in the outbox; call it in the same unit of work as the change that causes
/// the email, so the email is sent if and only if the change commits.
pub fn enqueue_email(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    message: &EmailMessage,
) -> Result<i64, StoreError> {
    outbox::enqueue(conn, now, EMAIL_KIND, &message.payload())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender() -> Mailbox {
        "dsms <no-reply@dsms.localhost>".parse().unwrap()
    }

    fn message() -> EmailMessage {
        EmailMessage::new(
            vec![
                Email::parse("ops@supplier.example").unwrap(),
                Email::parse("lead@supplier.example").unwrap(),
            ],
            "Ticket 42 was updated",
            "Hello,\nthe ticket changed.\n",
        )
    }

    fn formatted(message: &EmailMessage) -> String {
        let built = message.to_lettre(&sender()).expect("builds");
        String::from_utf8(built.formatted()).expect("utf-8")
    }

    #[test]
    fn headers_and_body_are_present() {
        let message = message();
        let text = formatted(&message);
        for expected in [
            "From: dsms <no-reply@dsms.localhost>\r\n".to_owned(),
            "To: ops@supplier.example, lead@supplier.example\r\n".to_owned(),
            "Subject: Ticket 42 was updated\r\n".to_owned(),
            format!("Message-ID: {}\r\n", message.message_id),
            "Content-Type: text/plain; charset=utf-8\r\n".to_owned(),
            "Date: ".to_owned(),
        ] {
            assert!(
                text.contains(&expected),
                "{expected:?} missing from\n{text}"
            );
        }
        assert!(
            text.ends_with("\r\n\r\nHello,\r\nthe ticket changed.\r\n"),
            "{text}"
        );
    }

    #[test]
    fn attachments_travel_through_the_outbox_payload_and_become_mime_parts() {
        let message = message().with_attachment(EmailAttachment {
            filename: "sla-performance-2026-10.csv".into(),
            content_type: "text/csv; charset=utf-8".into(),
            content: "period,met\r\n2026-10,3\r\n".into(),
        });
        let stored: EmailMessage = serde_json::from_value(message.payload()).unwrap();
        assert_eq!(stored, message);
        assert_eq!(message.payload(), serde_json::to_value(&message).unwrap());
        let text = formatted(&stored);
        for expected in [
            "Content-Type: multipart/mixed",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Disposition: attachment; filename=\"sla-performance-2026-10.csv\"",
            "Content-Type: text/csv; charset=utf-8",
            "period,met",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from\n{text}");
        }
        let plain: EmailMessage = serde_json::from_value(message_without_attachments()).unwrap();
        assert!(
            plain.attachments.is_empty(),
            "payloads written before attachments still load"
        );
    }

    fn message_without_attachments() -> serde_json::Value {
        serde_json::json!({
            "to": ["ops@supplier.example"],
            "subject": "s",
            "text_body": "b",
            "message_id": "<1@dsms>",
        })
    }

    #[test]
    fn message_id_is_unique_per_message_and_stable_across_builds_and_storage() {
        let first = message();
        let second = message();
        assert_ne!(first.message_id, second.message_id);
        assert!(first.message_id.starts_with('<') && first.message_id.ends_with("@dsms>"));

        let stored: EmailMessage = serde_json::from_value(first.payload()).unwrap();
        assert_eq!(stored, first);
        assert_eq!(first.payload(), serde_json::to_value(&first).unwrap());
        let header = format!("Message-ID: {}\r\n", first.message_id);
        assert!(formatted(&first).contains(&header));
        assert!(
            formatted(&stored).contains(&header),
            "a retry reuses the id"
        );
    }

    #[test]
    fn a_subject_cannot_inject_headers() {
        let mut message = message();
        message.subject = "Hi\r\nBcc: attacker@evil.example".to_owned();
        let text = formatted(&message);
        let headers = text.split("\r\n\r\n").next().unwrap_or_default();
        assert!(
            !headers.lines().any(|l| l.starts_with("Bcc:")),
            "injected header in\n{headers}"
        );
    }

    #[test]
    fn addresses_lettre_refuses_are_reported_as_permanent() {
        let mut message = message();
        message.to = vec![Email::parse("a\"b@supplier.example").unwrap()];
        let error = message.to_lettre(&sender()).unwrap_err();
        assert!(
            matches!(error, NotifyError::InvalidRecipient { .. }),
            "{error:?}"
        );
        assert!(error.is_permanent());

        message.to.clear();
        let error = message.to_lettre(&sender()).unwrap_err();
        assert!(matches!(error, NotifyError::InvalidMessage(_)), "{error:?}");
        assert!(error.is_permanent());
    }

    #[test]
    fn non_ascii_text_is_encoded() {
        let mut message = message();
        message.subject = "Störung behoben".to_owned();
        message.text_body = "Grüße aus Zürich".to_owned();
        let text = formatted(&message);
        assert!(text.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(!text.contains("Störung"), "headers must be encoded: {text}");
    }
}
