//! Email notifications for dsms: a change that should tell someone writes an [`EmailMessage`] to
//! the outbox in its own transaction ([`enqueue_email`]), and an [`OutboxWorker`] delivers it
//! afterwards through a [`Mailer`] (SMTP, or `.eml` files when no server is configured), retrying
//! with back-off and parking hopeless messages as dead.
//!
//! Delivery is at least once: a message may be sent twice if a worker dies between sending and
//! recording, so every message carries a Message-ID fixed at enqueue time for receivers to
//! de-duplicate on. This crate must not depend on HTTP or on other context crates; contexts depend
//! on it.

mod error;
mod mailer;
mod message;
mod settings;
mod worker;

pub use error::NotifyError;
pub use mailer::Mailer;
pub use message::{EMAIL_KIND, EmailAttachment, EmailMessage, enqueue_email};
pub use settings::{EmailSettings, EmailTransport, SmtpSettings, SmtpTls};
pub use worker::{OutboxWaker, OutboxWorker, WorkerSettings};
