use std::path::PathBuf;

use dsms_store::StoreError;
use lettre::address::AddressError;
use lettre::transport::smtp::response::{Category, Code, Severity};

/// Why an email was not delivered, or why the worker could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The configured sender is not an RFC 5322 mailbox.
    #[error("the configured sender {from:?} is not a valid mailbox")]
    InvalidSender {
        /// The configured value.
        from: String,
        /// What the parser objected to.
        #[source]
        source: AddressError,
    },
    /// The directory for `.eml` files could not be created.
    #[error("cannot create the mail directory {}", dir.display())]
    MailDirectory {
        /// The configured directory.
        dir: PathBuf,
        /// The file system's answer.
        #[source]
        source: std::io::Error,
    },
    /// The SMTP transport could not be set up (its TLS parameters were refused).
    #[error("cannot set up SMTP to {host}")]
    SmtpSetup {
        /// The configured host.
        host: String,
        /// What lettre objected to.
        #[source]
        source: lettre::transport::smtp::Error,
    },
    /// A recipient passed dsms's address check but not the mail library's stricter one.
    #[error("the recipient {address:?} is not a deliverable address")]
    InvalidRecipient {
        /// The refused address.
        address: String,
        /// What the parser objected to.
        #[source]
        source: AddressError,
    },
    /// The message could not be assembled, e.g. it has no recipients.
    #[error("the message cannot be built")]
    InvalidMessage(#[source] lettre::error::Error),
    /// The SMTP server could not be reached or refused the message.
    #[error("SMTP delivery failed")]
    Smtp(#[source] lettre::transport::smtp::Error),
    /// The `.eml` file could not be written.
    #[error("writing the message file failed")]
    File(#[source] lettre::transport::file::Error),
    /// An outbox row's payload is not an [`EmailMessage`](crate::EmailMessage).
    #[error("the outbox payload is not a valid email message")]
    InvalidPayload(#[source] serde_json::Error),
    /// An outbox row is of a kind this worker cannot deliver.
    #[error("unknown outbox kind {0:?}: this worker delivers only email")]
    UnknownKind(String),
    /// The database failed while leasing rows or recording an outcome.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl NotifyError {
    /// True when sending the same message again cannot succeed, so its outbox row goes straight
    /// to dead; false for failures that may clear up (server down, timeouts, SMTP 4xx, disk full).
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::InvalidRecipient { .. }
            | Self::InvalidMessage(_)
            | Self::InvalidPayload(_)
            | Self::UnknownKind(_) => true,
            Self::Smtp(error) => error.status().is_some_and(is_permanent_reply),
            Self::InvalidSender { .. }
            | Self::MailDirectory { .. }
            | Self::SmtpSetup { .. }
            | Self::File(_)
            | Self::Store(_) => false,
        }
    }
}

/// A 5xx reply condemns the message, except the x3x authentication replies (530, 534, 535, 538):
/// those mean the deployment's credentials or TLS are wrong, which an operator can fix, and
/// parking every queued message as dead meanwhile would lose them all.
fn is_permanent_reply(code: Code) -> bool {
    code.severity == Severity::PermanentNegativeCompletion
        && code.category != Category::Unspecified3
}

/// The error and its sources on one line, for `last_error` and logs. lettre repeats its source in
/// its own message, so a source already at the end of the text is not appended again.
pub(crate) fn describe(error: &NotifyError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use lettre::transport::smtp::response::Response;

    use super::*;

    fn reply(line: &str) -> Code {
        format!("{line}\r\n")
            .parse::<Response>()
            .expect("an SMTP reply")
            .code()
    }

    #[test]
    fn mailbox_rejections_are_permanent_but_auth_and_4xx_replies_are_not() {
        for (line, permanent) in [
            ("550 5.1.1 no such user", true),
            ("553 mailbox name not allowed", true),
            ("554 transaction failed", true),
            // Wrong credentials or TLS: an operator can fix them, so keep the mail.
            ("530 authentication required", false),
            ("535 5.7.8 bad credentials", false),
            ("421 service closing", false),
            ("450 mailbox busy", false),
            ("451 local error", false),
        ] {
            assert_eq!(is_permanent_reply(reply(line)), permanent, "{line}");
        }
    }

    #[test]
    fn bad_payloads_and_kinds_are_permanent_database_and_file_failures_are_not() {
        let payload = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        assert!(NotifyError::InvalidPayload(payload).is_permanent());
        assert!(NotifyError::UnknownKind("webhook".into()).is_permanent());
        assert!(NotifyError::InvalidMessage(lettre::error::Error::MissingTo).is_permanent());
        let address = "not an address".parse::<lettre::Address>().unwrap_err();
        assert!(
            NotifyError::InvalidRecipient {
                address: "not an address".into(),
                source: address,
            }
            .is_permanent()
        );
        assert!(!NotifyError::Store(StoreError::Unavailable("down".into())).is_permanent());
    }

    #[test]
    fn describe_includes_sources_once() {
        let error = NotifyError::MailDirectory {
            dir: PathBuf::from("/nowhere"),
            source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
        };
        assert_eq!(
            describe(&error),
            "cannot create the mail directory /nowhere: denied"
        );
        let store = NotifyError::Store(StoreError::Unavailable("pool timed out".into()));
        assert_eq!(
            describe(&store),
            "the database is unavailable: pool timed out"
        );
    }
}
