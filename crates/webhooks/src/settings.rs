use std::time::Duration;

/// How webhooks behave; built by the server from `[webhooks]`. The workers' pacing (poll
/// interval, batch, lease, attempts, back-off) is the outbox's, [`dsms_notify::WorkerSettings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Accept `http://` and `https://` endpoints on `localhost` and loopback addresses, and let
    /// deliveries connect to them. For development and tests only: in production it would let
    /// organisations make the server call itself.
    pub allow_insecure_localhost: bool,
    /// How long one delivery may take, from connecting to the response's status line.
    pub timeout: Duration,
    /// An endpoint failing every delivery for at least this long ...
    pub disable_after: Duration,
    /// ... and at least this many attempts in a row is disabled and its owners emailed.
    pub disable_after_failures: u32,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_insecure_localhost: false,
            timeout: Duration::from_secs(10),
            disable_after: Duration::from_secs(24 * 60 * 60),
            disable_after_failures: 10,
        }
    }
}

/// How email notifications about incidents are written; built by the server from
/// `http.public_url` and `[incidents]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationSettings {
    /// Where people reach dsms, e.g. `https://dsms.example`; links in emails are
    /// `{public_url}/incidents/{reference}`.
    pub public_url: String,
    /// How many working days after resolution the raiser may reopen an incident, as the
    /// resolution email tells them.
    pub reopen_window_working_days: u32,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            reopen_window_working_days: 5,
        }
    }
}
