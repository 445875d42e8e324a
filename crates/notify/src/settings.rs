use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

/// How outgoing email leaves the system; built by the server from its configuration.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// The sender, as an RFC 5322 mailbox such as `dsms <no-reply@dsms.localhost>`.
    pub from: String,
    /// Where messages go.
    pub transport: EmailTransport,
}

/// Where messages go.
#[derive(Debug, Clone)]
pub enum EmailTransport {
    /// Each message is written as an `.eml` file under `dir`: the embedded default, so nothing is
    /// lost while no SMTP server is configured.
    File {
        /// The directory the files are written to; created if missing.
        dir: PathBuf,
    },
    /// Messages are handed to an SMTP server.
    Smtp(SmtpSettings),
}

/// How to reach the SMTP server.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// The server's host name, also used to verify its TLS certificate.
    pub host: String,
    /// The server's port.
    pub port: u16,
    /// How the connection is encrypted.
    pub tls: SmtpTls,
    /// The user to authenticate as; no authentication when absent.
    pub username: Option<String>,
    /// The password for `username`.
    pub password: Option<SecretString>,
    /// How long to wait for the server at each step before the attempt counts as failed.
    pub timeout: Duration,
}

/// How the SMTP connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text, for a relay on the same host or a trusted network only.
    None,
    /// A plain connection upgraded with STARTTLS, which must succeed before anything is sent.
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}
