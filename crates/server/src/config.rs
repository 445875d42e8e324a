//! Configuration: the documented defaults in `config/default.toml` (compiled in), overridden by
//! an optional file and then by `DSMS_*` environment variables, checked into typed settings.
//! A bad value stops start-up with one message naming the key and the variable that sets it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use dsms_core::{Backoff, Email};
use dsms_store::{DbSettings, DbTarget, SqliteSynchronous};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use toml::{Table, Value};

/// The defaults, as shipped.
pub const DEFAULTS: &str = include_str!("../../../config/default.toml");

/// Environment variables with this prefix override settings.
const ENV_PREFIX: &str = "DSMS_";

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A setting has a bad value.
    #[error("invalid configuration: `{key}` (environment variable {env}): {message}")]
    Invalid {
        /// The dotted key, e.g. `smtp.port`.
        key: String,
        /// The environment variable that sets it.
        env: String,
        /// What is wrong.
        message: String,
    },
    /// A setting that does not exist was given.
    #[error("invalid configuration: unknown setting {0}")]
    Unknown(String),
    /// The configuration file could not be read or parsed.
    #[error("invalid configuration file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        env: env_name(key),
        message: message.into(),
    }
}

/// The environment variable that sets a dotted key: `smtp.port` → `DSMS_SMTP_PORT`.
pub fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.replace('.', "_").to_uppercase())
}

/// A secret setting: never printed, never logged.
#[derive(Clone, Default)]
pub struct Secret(SecretString);

impl Secret {
    /// The secret's value, when set.
    pub fn value(&self) -> Option<&str> {
        Some(self.0.expose_secret()).filter(|v| !v.is_empty())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.value().is_some() {
            "\"***\""
        } else {
            "\"\""
        })
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Self(SecretString::from(s)))
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.value().is_some() { "***" } else { "" })
    }
}

/// Everything dsms can be told.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where local state lives.
    pub data_dir: PathBuf,
    /// The HTTP listen address.
    pub listen: String,
    /// The database.
    pub database: DatabaseConfig,
    /// The HTTP server.
    pub http: HttpConfig,
    /// Rate limits per route class.
    pub rate_limit: RateLimitConfig,
    /// Logging.
    pub log: LogConfig,
    /// Outgoing email.
    pub email: EmailConfig,
    /// The SMTP server, when email.transport is smtp.
    pub smtp: SmtpConfig,
    /// The delivery worker.
    pub outbox: OutboxConfig,
    /// Authentication.
    pub auth: AuthConfig,
    /// The business calendar.
    pub calendar: CalendarConfig,
    /// Incident rules.
    pub incidents: IncidentsConfig,
    /// The first administrator.
    pub bootstrap: BootstrapConfig,
    /// Webhook deliveries.
    pub webhooks: WebhooksConfig,
    /// Communications-hub ordering rules.
    pub hubs: HubsConfig,
    /// Reports.
    pub reports: ReportsConfig,
}

/// `[reports]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReportsConfig {
    /// How often the reports worker runs, s.
    pub worker_interval_secs: u64,
    /// The SEC performance measures.
    pub measures: Vec<MeasureConfig>,
}

/// One SEC performance measure.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureConfig {
    /// The first priority it covers.
    pub from_priority: u8,
    /// The last priority it covers.
    pub to_priority: u8,
    /// The target share, 0 to 1.
    pub target: f64,
    /// The minimum service level, 0 to 1.
    pub minimum: f64,
}

/// `[hubs]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HubsConfig {
    /// Dated rule sets; each applies from its date until the next one's.
    pub rule_sets: Vec<HubRuleSetConfig>,
}

/// The domain's default consignment amendment cut-off, for rule sets written before it existed.
fn default_consignment_cutoff() -> u32 {
    dsms_hubs::RuleSet::default().consignment_amendment_cutoff_working_days
}

/// One `[[hubs.rule_sets]]` entry.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HubRuleSetConfig {
    /// First day in force, YYYY-MM-DD.
    pub effective_from: String,
    /// Months a forecast covers.
    pub forecast_horizon_months: u32,
    /// Forecasts due by this working day of each month.
    pub forecast_due_working_day: u32,
    /// Months before the delivery month an order is placed.
    pub order_lead_time_months: u32,
    /// Quantities are multiples of this.
    pub pack_size: i64,
    /// The smallest order.
    pub minimum_quantity: i64,
    /// Lowest total against the forecast in force, %.
    pub tolerance_min_percent: i64,
    /// Highest total against the forecast in force, %.
    pub tolerance_max_percent: i64,
    /// Months before the delivery month orders become firm.
    pub amendment_cutoff_months: u32,
    /// Working days the receiver has to confirm a delivery.
    pub confirmation_window_working_days: u32,
    /// Working days before a planned consignment's delivery date its supplier may last amend it.
    #[serde(default = "default_consignment_cutoff")]
    pub consignment_amendment_cutoff_working_days: u32,
    /// Charge for a redeployable hub returned without a confirmed fault, pence.
    pub redeployable_charge_pence: i64,
    /// Value of a single-band hub that cannot be redeployed, pence.
    pub single_band_charge_pence: i64,
    /// Value of a dual-band hub that cannot be redeployed, pence.
    pub dual_band_charge_pence: i64,
}

/// `[webhooks]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Allow http:// and loopback receivers (development and tests only).
    pub allow_insecure_localhost: bool,
    /// One delivery's time limit, s.
    pub timeout_secs: u64,
    /// Disable an endpoint failing for at least this long, h ...
    pub disable_after_hours: u64,
    /// ... and at least this many attempts in a row.
    pub disable_after_failures: u32,
}

/// `[calendar]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarConfig {
    /// An IANA time zone.
    pub time_zone: String,
    /// Opening time, HH:MM.
    pub opens: String,
    /// Closing time, HH:MM.
    pub closes: String,
    /// Working weekdays (mon..sun).
    pub working_days: Vec<String>,
    /// Extra closed days, YYYY-MM-DD.
    pub extra_closures: Vec<String>,
    /// Computed holidays that do not apply, YYYY-MM-DD.
    pub cancelled_holidays: Vec<String>,
}

/// `[incidents]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentsConfig {
    /// At-risk fraction of a target.
    pub at_risk_fraction: f64,
    /// Reopen window, working days.
    pub reopen_window_working_days: u32,
    /// Sweep interval, s.
    pub sweep_interval_secs: u64,
    /// Impact rows × urgency columns → priority.
    pub priority_matrix: Vec<Vec<i64>>,
    /// Targets per priority.
    pub targets: Vec<TargetConfig>,
    /// The category catalogue.
    pub categories: Vec<CategoryConfig>,
    /// The largest file that may be attached to an incident, MiB.
    #[serde(default = "default_max_attachment_mb")]
    pub max_attachment_mb: u32,
}

fn default_max_attachment_mb() -> u32 {
    10
}

/// One priority's targets.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// 1 to 5.
    pub priority: u8,
    /// Response target, minutes.
    pub response_mins: i64,
    /// Resolution target, minutes.
    pub resolution_mins: i64,
    /// `around_the_clock` or `working`.
    pub hours: String,
}

/// One category.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryConfig {
    /// The code.
    pub code: String,
    /// The name.
    pub name: String,
    /// Allowed subcategories (any when empty).
    pub subcategories: Vec<String>,
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Empty for the embedded SQLite file, or a `postgres://` URL.
    #[serde(serialize_with = "redacted_url")]
    pub url: Secret,
    /// Most pool connections.
    pub pool_size: u32,
    /// Wait for a free connection, ms.
    pub acquire_timeout_ms: u64,
    /// SQLite lock wait, ms.
    pub busy_timeout_ms: u64,
    /// SQLite durability.
    pub sqlite_synchronous: SqliteSync,
    /// Apply migrations at start-up.
    pub migrate_on_start: bool,
    /// A read-only replica for reports, or empty to read them from `url`.
    #[serde(default, serialize_with = "redacted_url")]
    pub replica_url: Secret,
}

/// SQLite durability, as configured.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSync {
    /// Survives process crashes.
    Normal,
    /// Survives power failure.
    Full,
}

/// `[http]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Worker threads, 0 for one per core.
    pub workers: usize,
    /// Largest request body, bytes.
    pub body_limit_bytes: usize,
    /// Graceful shutdown wait, s.
    pub shutdown_timeout_secs: u64,
    /// The public base URL.
    pub public_url: String,
    /// Trust `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// How long a client may take to send a request's head, ms.
    pub client_request_timeout_ms: u64,
    /// How long a client may pause while sending a request body, ms.
    pub client_body_timeout_ms: u64,
    /// How long an idle keep-alive connection stays open, s.
    pub keep_alive_secs: u64,
    /// How long a closing connection may take to shut down, ms.
    pub client_disconnect_timeout_ms: u64,
}

/// `[rate_limit]`: requests per window, per credential and per client address, by route class.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Limit requests at all.
    pub enabled: bool,
    /// The window the limits count over, s.
    pub window_secs: u64,
    /// Reads per credential.
    pub read_per_token: u32,
    /// Reads per address.
    pub read_per_address: u32,
    /// Changes per credential.
    pub write_per_token: u32,
    /// Changes per address.
    pub write_per_address: u32,
    /// Reports, exports and searches per credential.
    pub search_per_token: u32,
    /// Reports, exports and searches per address.
    pub search_per_address: u32,
    /// Sign-in and credential submissions per credential.
    pub auth_per_token: u32,
    /// Sign-in and credential submissions per address.
    pub auth_per_address: u32,
    /// Uploads per credential.
    pub upload_per_token: u32,
    /// Uploads per address.
    pub upload_per_address: u32,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Default level.
    pub level: String,
    /// Output format.
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Pretty on a terminal, JSON otherwise.
    Auto,
    /// Human-readable.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// `[email]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// The sender mailbox.
    pub from: String,
    /// `file` or `smtp`.
    pub transport: EmailTransportKind,
}

/// Where email goes.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EmailTransportKind {
    /// .eml files under data_dir/mail.
    File,
    /// The [smtp] server.
    Smtp,
}

/// `[smtp]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Server host.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Encryption.
    pub tls: SmtpTlsKind,
    /// User, empty for none.
    pub username: String,
    /// Password.
    pub password: Secret,
    /// Per-step timeout, s.
    pub timeout_secs: u64,
}

/// SMTP encryption, as configured.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTlsKind {
    /// Plain text.
    None,
    /// STARTTLS required.
    Starttls,
    /// Implicit TLS.
    Tls,
}

/// `[outbox]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxConfig {
    /// Idle poll interval, ms.
    pub poll_interval_ms: u64,
    /// Rows per lease.
    pub batch_size: u32,
    /// Lease length, s.
    pub lease_secs: u64,
    /// Attempts before dead.
    pub max_attempts: u32,
    /// First retry ceiling, ms.
    pub backoff_base_ms: u64,
    /// Longest retry delay, ms.
    pub backoff_max_ms: u64,
}

/// `[auth]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// argon2id memory, KiB.
    pub argon2_memory_kib: u32,
    /// argon2id passes.
    pub argon2_iterations: u32,
    /// argon2id lanes.
    pub argon2_parallelism: u32,
    /// The master key, base64; empty for a key file in the data directory.
    pub secret_key: Secret,
    /// Access-token issuer.
    pub issuer: String,
    /// Access-token lifetime, s.
    pub access_token_ttl_secs: u64,
    /// MFA step allowance, s.
    pub mfa_challenge_ttl_secs: u64,
    /// Web idle timeout, min.
    pub web_session_idle_mins: u64,
    /// Web absolute timeout, h.
    pub web_session_max_hours: u64,
    /// Invitation link lifetime, h.
    pub invitation_ttl_hours: u64,
    /// Reset link lifetime, min.
    pub password_reset_ttl_mins: u64,
    /// Default API token lifetime, days.
    pub api_token_default_days: u64,
    /// Longest API token lifetime, days.
    pub api_token_max_days: u64,
    /// Failure-counting window, min.
    pub throttle_window_mins: u64,
    /// Failures before attempts slow down.
    pub throttle_delay_after: u32,
    /// Failures before an account locks.
    pub throttle_lock_after: u32,
    /// Failures before an address locks.
    pub throttle_address_lock_after: u32,
    /// Lock length, min.
    pub lock_mins: u64,
}

/// `[bootstrap]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapConfig {
    /// The operator organisation's name.
    pub operator_name: String,
    /// The first administrator's email.
    pub admin_email: String,
    /// The first administrator's name.
    pub admin_name: String,
}

fn redacted_url<S: Serializer>(url: &Secret, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&url.value().map(redact).unwrap_or_default())
}

fn redact(url: &str) -> String {
    DbTarget::from_url(url).redacted()
}

impl Config {
    /// The defaults, then `file`, then the `DSMS_*` variables among `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let defaults: Table = DEFAULTS.parse().map_err(|e| ConfigError::File {
            path: PathBuf::from("config/default.toml"),
            message: format!("{e}"),
        })?;
        let mut merged = defaults.clone();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
            let overrides: Table = text.parse().map_err(|e| ConfigError::File {
                path: path.to_owned(),
                message: format!("{e}"),
            })?;
            merge(&mut merged, overrides, "")?;
        }
        let env: BTreeMap<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        for (name, value) in env {
            apply_env(&mut merged, &defaults, &name, value)?;
        }
        let config: Self = serde_path_to_error::deserialize(Value::Table(merged)).map_err(|e| {
            let key = e.path().to_string();
            let message = e.into_inner().to_string();
            invalid(&key, message.trim().to_owned())
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.listen
            .parse::<SocketAddr>()
            .map_err(|e| invalid("listen", format!("{e} (expected e.g. 127.0.0.1:8080)")))?;
        if let Some(url) = self.database.url.value()
            && url.contains("://")
            && !(url.starts_with("postgres://")
                || url.starts_with("postgresql://")
                || url.starts_with("sqlite://"))
        {
            return Err(invalid(
                "database.url",
                "must be empty, a postgres:// URL, or a sqlite:// path",
            ));
        }
        if let Some(url) = self.database.replica_url.value()
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "database.replica_url",
                "must be empty or a postgres:// URL of a read-only replica",
            ));
        }
        if self.database.pool_size == 0 {
            return Err(invalid("database.pool_size", "must be at least 1"));
        }
        if self.http.body_limit_bytes < 1024 {
            return Err(invalid("http.body_limit_bytes", "must be at least 1024"));
        }
        if !(self.http.public_url.starts_with("http://")
            || self.http.public_url.starts_with("https://"))
        {
            return Err(invalid(
                "http.public_url",
                "must start with http:// or https://",
            ));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| invalid("log.level", e.to_string()))?;
        if !self.email.from.contains('@') {
            return Err(invalid(
                "email.from",
                "must be a mailbox such as dsms <no-reply@example.com>",
            ));
        }
        if self.email.transport == EmailTransportKind::Smtp && self.smtp.host.trim().is_empty() {
            return Err(invalid(
                "smtp.host",
                "must be set when email.transport is smtp",
            ));
        }
        if self.outbox.batch_size == 0 {
            return Err(invalid("outbox.batch_size", "must be at least 1"));
        }
        if self.outbox.max_attempts == 0 {
            return Err(invalid("outbox.max_attempts", "must be at least 1"));
        }
        if self.outbox.backoff_base_ms == 0
            || self.outbox.backoff_base_ms > self.outbox.backoff_max_ms
        {
            return Err(invalid(
                "outbox.backoff_base_ms",
                "must be above 0 and at most outbox.backoff_max_ms",
            ));
        }
        if self.email.transport == EmailTransportKind::Smtp
            && self.outbox.lease_secs <= u64::from(self.outbox.batch_size) * self.smtp.timeout_secs
        {
            // A lease that can run out while its batch is still being sent lets another
            // instance take the rows over and send them a second time.
            return Err(invalid(
                "outbox.lease_secs",
                format!(
                    "must exceed outbox.batch_size × smtp.timeout_secs ({} s)",
                    u64::from(self.outbox.batch_size) * self.smtp.timeout_secs
                ),
            ));
        }
        let w = &self.webhooks;
        if w.timeout_secs == 0 {
            return Err(invalid("webhooks.timeout_secs", "must be above 0"));
        }
        if w.disable_after_hours == 0 {
            return Err(invalid("webhooks.disable_after_hours", "must be above 0"));
        }
        if w.disable_after_failures == 0 {
            return Err(invalid(
                "webhooks.disable_after_failures",
                "must be above 0",
            ));
        }
        if self.outbox.lease_secs <= u64::from(self.outbox.batch_size) * w.timeout_secs {
            // One endpoint's deliveries in a batch are sent one after another; a lease that runs
            // out before their outcomes are recorded lets another instance send them again.
            return Err(invalid(
                "outbox.lease_secs",
                format!(
                    "must exceed outbox.batch_size × webhooks.timeout_secs ({} s)",
                    u64::from(self.outbox.batch_size) * w.timeout_secs
                ),
            ));
        }
        if self.http.client_body_timeout_ms == 0 {
            return Err(invalid("http.client_body_timeout_ms", "must be above 0"));
        }
        if self.rate_limit.window_secs == 0 || self.rate_limit.window_secs > 86_400 {
            return Err(invalid(
                "rate_limit.window_secs",
                "must be from 1 to 86400 seconds",
            ));
        }
        self.argon2()?;
        self.incident_policy()?;
        self.hub_rules()?;
        if let Some(key) = self.auth.secret_key.value() {
            dsms_auth::credentials::MasterKey::from_base64(key.trim())
                .map_err(|e| invalid("auth.secret_key", e.to_string()))?;
        }
        let a = &self.auth;
        for (key, value) in [
            ("auth.access_token_ttl_secs", a.access_token_ttl_secs),
            ("auth.mfa_challenge_ttl_secs", a.mfa_challenge_ttl_secs),
            ("auth.web_session_idle_mins", a.web_session_idle_mins),
            ("auth.web_session_max_hours", a.web_session_max_hours),
            ("auth.invitation_ttl_hours", a.invitation_ttl_hours),
            ("auth.password_reset_ttl_mins", a.password_reset_ttl_mins),
            ("auth.api_token_default_days", a.api_token_default_days),
            ("auth.throttle_window_mins", a.throttle_window_mins),
            ("auth.lock_mins", a.lock_mins),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be above 0"));
            }
        }
        if a.api_token_default_days > a.api_token_max_days {
            return Err(invalid(
                "auth.api_token_default_days",
                "must not exceed auth.api_token_max_days",
            ));
        }
        if a.throttle_lock_after == 0 || a.throttle_address_lock_after == 0 {
            return Err(invalid("auth.throttle_lock_after", "must be above 0"));
        }
        Email::parse(&self.bootstrap.admin_email)
            .map_err(|e| invalid("bootstrap.admin_email", e.message))?;
        if self.bootstrap.operator_name.trim().is_empty() {
            return Err(invalid("bootstrap.operator_name", "must not be empty"));
        }
        Ok(())
    }

    /// The effective configuration as TOML, secrets redacted.
    pub fn show(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }

    /// The listen address (validated at load).
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen
            .parse()
            .map_err(|e: std::net::AddrParseError| invalid("listen", e.to_string()))
    }

    /// Where the data lives: the configured URL, or the SQLite file in the data directory.
    pub fn db_target(&self) -> DbTarget {
        match self.database.url.value() {
            Some(url) => DbTarget::from_url(url),
            None => DbTarget::Sqlite(self.data_dir.join("dsms.sqlite3")),
        }
    }

    /// The storage settings.
    pub fn db_settings(&self) -> DbSettings {
        DbSettings {
            target: self.db_target(),
            pool_size: self.database.pool_size,
            acquire_timeout: Duration::from_millis(self.database.acquire_timeout_ms),
            busy_timeout: Duration::from_millis(self.database.busy_timeout_ms),
            sqlite_synchronous: match self.database.sqlite_synchronous {
                SqliteSync::Normal => SqliteSynchronous::Normal,
                SqliteSync::Full => SqliteSynchronous::Full,
            },
        }
    }

    /// The storage settings of the read-only replica reports use, when one is configured.
    pub fn replica_db_settings(&self) -> Option<DbSettings> {
        self.database.replica_url.value().map(|url| DbSettings {
            target: DbTarget::from_url(url),
            ..self.db_settings()
        })
    }

    /// The rate limits per route class.
    pub fn rate_limit_settings(&self) -> dsms_api::RateLimitSettings {
        use dsms_api::rate_limit::ClassLimits;
        let r = &self.rate_limit;
        let class = |per_token, per_address| ClassLimits {
            per_token,
            per_address,
        };
        dsms_api::RateLimitSettings {
            enabled: r.enabled,
            window: Duration::from_secs(r.window_secs),
            trust_forwarded_for: self.http.trust_forwarded_for,
            read: class(r.read_per_token, r.read_per_address),
            write: class(r.write_per_token, r.write_per_address),
            search: class(r.search_per_token, r.search_per_address),
            auth: class(r.auth_per_token, r.auth_per_address),
            upload: class(r.upload_per_token, r.upload_per_address),
        }
    }

    /// The email settings.
    pub fn email_settings(&self) -> dsms_notify::EmailSettings {
        use dsms_notify::{EmailSettings, EmailTransport, SmtpSettings, SmtpTls};
        let transport = match self.email.transport {
            EmailTransportKind::File => EmailTransport::File {
                dir: self.data_dir.join("mail"),
            },
            EmailTransportKind::Smtp => EmailTransport::Smtp(SmtpSettings {
                host: self.smtp.host.clone(),
                port: self.smtp.port,
                tls: match self.smtp.tls {
                    SmtpTlsKind::None => SmtpTls::None,
                    SmtpTlsKind::Starttls => SmtpTls::StartTls,
                    SmtpTlsKind::Tls => SmtpTls::Tls,
                },
                username: Some(self.smtp.username.clone()).filter(|u| !u.is_empty()),
                password: self.smtp.password.value().map(SecretString::from),
                timeout: Duration::from_secs(self.smtp.timeout_secs),
            }),
        };
        EmailSettings {
            from: self.email.from.clone(),
            transport,
        }
    }

    /// The delivery worker's settings.
    pub fn worker_settings(&self) -> dsms_notify::WorkerSettings {
        dsms_notify::WorkerSettings {
            poll_interval: Duration::from_millis(self.outbox.poll_interval_ms),
            batch_size: i64::from(self.outbox.batch_size),
            lease: Duration::from_secs(self.outbox.lease_secs),
            max_attempts: self.outbox.max_attempts,
            backoff: Backoff {
                base: Duration::from_millis(self.outbox.backoff_base_ms),
                max: Duration::from_millis(self.outbox.backoff_max_ms),
            },
        }
    }

    /// How webhooks behave; their workers pace themselves like the email worker.
    pub fn webhook_settings(&self) -> dsms_webhooks::WebhookSettings {
        let w = &self.webhooks;
        dsms_webhooks::WebhookSettings {
            allow_insecure_localhost: w.allow_insecure_localhost,
            timeout: Duration::from_secs(w.timeout_secs),
            disable_after: Duration::from_secs(w.disable_after_hours.saturating_mul(3600)),
            disable_after_failures: w.disable_after_failures,
        }
    }

    /// How incident emails are written: links to `http.public_url`, the reopen window.
    pub fn notification_settings(&self) -> dsms_webhooks::NotificationSettings {
        dsms_webhooks::NotificationSettings {
            public_url: self.http.public_url.clone(),
            reopen_window_working_days: self.incidents.reopen_window_working_days,
        }
    }

    /// The password hasher.
    pub fn argon2(&self) -> Result<dsms_auth::PasswordHasher, ConfigError> {
        dsms_auth::PasswordHasher::new(dsms_auth::Argon2Settings {
            memory_kib: self.auth.argon2_memory_kib,
            iterations: self.auth.argon2_iterations,
            parallelism: self.auth.argon2_parallelism,
        })
        .map_err(|e| invalid("auth.argon2_memory_kib", e.to_string()))
    }

    /// The master key: configured, or kept in a file in the data directory.
    pub fn master_key(&self) -> Result<dsms_auth::credentials::MasterKey, ConfigError> {
        use dsms_auth::credentials::MasterKey;
        match self.auth.secret_key.value() {
            Some(key) => MasterKey::from_base64(key.trim())
                .map_err(|e| invalid("auth.secret_key", e.to_string())),
            None => MasterKey::load_or_create(&self.data_dir.join("secret.key"))
                .map_err(|e| invalid("auth.secret_key", format!("empty, and {e}"))),
        }
    }

    /// How identity and access behave.
    pub fn identity_settings(&self) -> dsms_auth::IdentitySettings {
        let a = &self.auth;
        let minutes = |m: u64| Duration::from_secs(m * 60);
        dsms_auth::IdentitySettings {
            issuer: a.issuer.clone(),
            public_url: self.http.public_url.clone(),
            access_token_ttl: Duration::from_secs(a.access_token_ttl_secs),
            mfa_challenge_ttl: Duration::from_secs(a.mfa_challenge_ttl_secs),
            web_session_idle: minutes(a.web_session_idle_mins),
            web_session_max: minutes(a.web_session_max_hours * 60),
            invitation_ttl: minutes(a.invitation_ttl_hours * 60),
            password_reset_ttl: minutes(a.password_reset_ttl_mins),
            api_token_max_lifetime: minutes(a.api_token_max_days * 24 * 60),
            api_token_default_lifetime: minutes(a.api_token_default_days * 24 * 60),
            throttle: dsms_auth::ThrottleSettings {
                window: minutes(a.throttle_window_mins),
                account_delay_after: a.throttle_delay_after,
                account_lock_after: a.throttle_lock_after,
                address_lock_after: a.throttle_address_lock_after,
                lock_duration: minutes(a.lock_mins),
            },
        }
    }

    /// The business calendar.
    pub fn business_calendar(&self) -> Result<dsms_incident::BusinessCalendar, ConfigError> {
        use chrono::{NaiveDate, NaiveTime, Weekday};
        let c = &self.calendar;
        let zone: chrono_tz::Tz = c.time_zone.parse().map_err(|_| {
            invalid(
                "calendar.time_zone",
                format!("{:?} is not an IANA time zone", c.time_zone),
            )
        })?;
        let time = |key: &str, text: &str| {
            NaiveTime::parse_from_str(text, "%H:%M")
                .map_err(|_| invalid(key, format!("{text:?} is not a time such as 08:00")))
        };
        let days = c
            .working_days
            .iter()
            .map(|d| {
                d.parse::<Weekday>().map_err(|_| {
                    invalid(
                        "calendar.working_days",
                        format!("{d:?} is not a weekday such as mon"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let dates = |key: &str, list: &[String]| {
            list.iter()
                .map(|d| {
                    NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                        invalid(key, format!("{d:?} is not a date such as 2027-05-03"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        dsms_incident::BusinessCalendar::new(
            zone,
            time("calendar.opens", &c.opens)?,
            time("calendar.closes", &c.closes)?,
            days,
            dates("calendar.extra_closures", &c.extra_closures)?,
            dates("calendar.cancelled_holidays", &c.cancelled_holidays)?,
        )
        .map_err(|e| invalid("calendar.opens", e.to_string()))
    }

    /// What reports measure against: the incident targets, the calendar and the SEC measures.
    pub fn report_policy(&self) -> Result<dsms_reporting::ReportPolicy, ConfigError> {
        let incidents = self.incident_policy()?;
        let zone: chrono_tz::Tz = self.calendar.time_zone.parse().map_err(|_| {
            invalid(
                "calendar.time_zone",
                format!("{:?} is not an IANA time zone", self.calendar.time_zone),
            )
        })?;
        let r = &self.reports;
        if r.worker_interval_secs == 0 {
            return Err(invalid("reports.worker_interval_secs", "must be above 0"));
        }
        let mut measures = Vec::new();
        for m in &r.measures {
            let shares = (0.0..=1.0).contains(&m.target) && (0.0..=1.0).contains(&m.minimum);
            if !(1..=5).contains(&m.from_priority)
                || !(m.from_priority..=5).contains(&m.to_priority)
                || !shares
                || m.minimum > m.target
            {
                return Err(invalid(
                    "reports.measures",
                    "each measure needs priorities 1 to 5 in order and 0 <= minimum <= target <= 1",
                ));
            }
            measures.push(dsms_reporting::SlaMeasure {
                from_priority: m.from_priority,
                to_priority: m.to_priority,
                target: m.target,
                minimum: m.minimum,
            });
        }
        Ok(dsms_reporting::ReportPolicy {
            targets: incidents.targets.map(|t| dsms_reporting::ClockTargets {
                response: t.response,
                resolution: t.resolution,
                hours: t.hours,
            }),
            calendar: incidents.calendar,
            zone,
            measures,
            request_working_day: dsms_service_request::RequestPolicy::default().working_day,
            hub_cutoffs: self
                .hub_rules()?
                .sets()
                .iter()
                .map(|s| (s.effective_from, s.amendment_cutoff_months))
                .collect(),
        })
    }

    /// The incident rules.
    pub fn incident_policy(&self) -> Result<dsms_incident::IncidentPolicy, ConfigError> {
        use dsms_incident::{Category, ClockHours, IncidentPolicy, PriorityMatrix, Targets};
        let i = &self.incidents;
        if !(0.0..=1.0).contains(&i.at_risk_fraction) || i.at_risk_fraction == 0.0 {
            return Err(invalid(
                "incidents.at_risk_fraction",
                "must be above 0 and at most 1",
            ));
        }
        let matrix = PriorityMatrix::from_rows(&i.priority_matrix)
            .map_err(|e| invalid("incidents.priority_matrix", e))?;
        let mut policy = IncidentPolicy {
            matrix,
            at_risk_fraction: i.at_risk_fraction,
            calendar: self.business_calendar()?,
            ..IncidentPolicy::default()
        };
        let mut seen = [false; 5];
        for t in &i.targets {
            let slot = usize::from(t.priority.wrapping_sub(1));
            if slot >= 5 {
                return Err(invalid(
                    "incidents.targets",
                    format!("priority {} is not 1 to 5", t.priority),
                ));
            }
            if t.response_mins <= 0 || t.resolution_mins <= 0 {
                return Err(invalid(
                    "incidents.targets",
                    format!("priority {}: targets must be above 0", t.priority),
                ));
            }
            let hours = match t.hours.as_str() {
                "around_the_clock" => ClockHours::AroundTheClock,
                "working" => ClockHours::WorkingHours,
                other => {
                    return Err(invalid(
                        "incidents.targets",
                        format!(
                            "priority {}: hours {other:?} must be around_the_clock or working",
                            t.priority
                        ),
                    ));
                }
            };
            policy.targets[slot] = Targets {
                response: chrono::Duration::minutes(t.response_mins),
                resolution: chrono::Duration::minutes(t.resolution_mins),
                hours,
            };
            seen[slot] = true;
        }
        if seen.contains(&false) {
            return Err(invalid(
                "incidents.targets",
                "must give targets for priorities 1 to 5",
            ));
        }
        let day = {
            let open = chrono::NaiveTime::parse_from_str(&self.calendar.opens, "%H:%M")
                .unwrap_or_default();
            let close = chrono::NaiveTime::parse_from_str(&self.calendar.closes, "%H:%M")
                .unwrap_or_default();
            close - open
        };
        policy.reopen_window =
            day * i32::try_from(i.reopen_window_working_days).unwrap_or(i32::MAX);
        if !(1..=100).contains(&i.max_attachment_mb) {
            return Err(invalid(
                "incidents.max_attachment_mb",
                "must be from 1 to 100",
            ));
        }
        policy.max_attachment_bytes = i.max_attachment_mb as usize * 1024 * 1024;
        if i.sweep_interval_secs == 0 {
            return Err(invalid("incidents.sweep_interval_secs", "must be above 0"));
        }
        if i.categories.is_empty() {
            return Err(invalid(
                "incidents.categories",
                "must list at least one category",
            ));
        }
        policy.categories = i
            .categories
            .iter()
            .map(|c| Category {
                code: c.code.clone(),
                name: c.name.clone(),
                subcategories: c.subcategories.clone(),
            })
            .collect();
        Ok(policy)
    }

    /// The communications-hub ordering rules, over the business calendar.
    pub fn hub_rules(&self) -> Result<dsms_hubs::HubRules, ConfigError> {
        let mut sets = Vec::new();
        for r in &self.hubs.rule_sets {
            let effective_from = chrono::NaiveDate::parse_from_str(&r.effective_from, "%Y-%m-%d")
                .map_err(|_| {
                invalid(
                    "hubs.rule_sets",
                    format!(
                        "effective_from {:?} is not a date such as 2027-04-01",
                        r.effective_from
                    ),
                )
            })?;
            sets.push(dsms_hubs::RuleSet {
                effective_from,
                forecast_horizon_months: r.forecast_horizon_months,
                forecast_due_working_day: r.forecast_due_working_day,
                order_lead_time_months: r.order_lead_time_months,
                pack_size: r.pack_size,
                minimum_quantity: r.minimum_quantity,
                tolerance_min_percent: r.tolerance_min_percent,
                tolerance_max_percent: r.tolerance_max_percent,
                amendment_cutoff_months: r.amendment_cutoff_months,
                confirmation_window_working_days: r.confirmation_window_working_days,
                consignment_amendment_cutoff_working_days: r
                    .consignment_amendment_cutoff_working_days,
                return_charges: dsms_hubs::ReturnCharges {
                    redeployable_pence: r.redeployable_charge_pence,
                    single_band_pence: r.single_band_charge_pence,
                    dual_band_pence: r.dual_band_charge_pence,
                },
            });
        }
        dsms_hubs::HubRules::new(sets, self.business_calendar()?)
            .map_err(|e| invalid("hubs.rule_sets", e))
    }

    /// Who the first administrator is.
    pub fn bootstrap_settings(&self) -> Result<dsms_auth::BootstrapSettings, ConfigError> {
        Ok(dsms_auth::BootstrapSettings {
            operator_name: self.bootstrap.operator_name.trim().to_owned(),
            admin_email: Email::parse(&self.bootstrap.admin_email)
                .map_err(|e| invalid("bootstrap.admin_email", e.message))?,
            admin_name: self.bootstrap.admin_name.clone(),
        })
    }
}

/// Overlays `overrides` on `base`, refusing keys the defaults do not have.
fn merge(base: &mut Table, overrides: Table, prefix: &str) -> Result<(), ConfigError> {
    for (key, value) in overrides {
        let dotted = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (base.get_mut(&key), value) {
            (Some(Value::Table(base_table)), Value::Table(table)) => {
                merge(base_table, table, &dotted)?;
            }
            (Some(Value::Table(_)), _) => {
                return Err(invalid(&dotted, "must be a table of settings"));
            }
            (Some(slot), value) => *slot = value,
            (None, _) => return Err(ConfigError::Unknown(format!("`{dotted}`"))),
        }
    }
    Ok(())
}

/// Applies one `DSMS_*` variable. Variables for the test harness (`DSMS_TEST_*`) and the
/// command line (`DSMS_CONFIG`) are not settings and are skipped.
fn apply_env(
    merged: &mut Table,
    defaults: &Table,
    name: &str,
    raw: String,
) -> Result<(), ConfigError> {
    let key = name[ENV_PREFIX.len()..].to_lowercase();
    if key.starts_with("test_") || key == "config" {
        return Ok(());
    }
    let (path, default) =
        resolve(defaults, &key).ok_or_else(|| ConfigError::Unknown(name.to_owned()))?;
    let dotted = path.join(".");
    let value = match default {
        Value::String(_) => Value::String(raw),
        Value::Integer(_) => Value::Integer(
            raw.trim()
                .parse()
                .map_err(|_| invalid(&dotted, format!("{raw:?} is not a whole number")))?,
        ),
        Value::Boolean(_) => Value::Boolean(match raw.trim().to_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => return Err(invalid(&dotted, format!("{raw:?} is not true or false"))),
        }),
        Value::Float(_) => Value::Float(
            raw.trim()
                .parse()
                .map_err(|_| invalid(&dotted, format!("{raw:?} is not a number")))?,
        ),
        _ => return Err(invalid(&dotted, "cannot be set from the environment")),
    };
    let slot = match path.as_slice() {
        [top] => merged.get_mut(top),
        [section, key] => merged
            .get_mut(section)
            .and_then(Value::as_table_mut)
            .and_then(|t| t.get_mut(key)),
        _ => None,
    };
    if let Some(slot) = slot {
        *slot = value;
    }
    Ok(())
}

/// Finds the setting a lower-cased variable name refers to: a top-level key, or
/// `<section>_<key>` for a section of the defaults.
fn resolve<'a>(defaults: &'a Table, key: &str) -> Option<(Vec<String>, &'a Value)> {
    if let Some(value) = defaults.get(key).filter(|v| !v.is_table()) {
        return Some((vec![key.to_owned()], value));
    }
    defaults.iter().find_map(|(section, value)| {
        let rest = key.strip_prefix(section.as_str())?.strip_prefix('_')?;
        let value = value.as_table()?.get(rest)?;
        Some((vec![section.clone(), rest.to_owned()], value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_load_and_name_sqlite_in_the_data_dir() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(config.listen, "127.0.0.1:8080");
        assert_eq!(
            config.db_target(),
            DbTarget::Sqlite(PathBuf::from("./data/dsms.sqlite3"))
        );
    }

    #[test]
    fn environment_overrides_top_level_and_section_keys() {
        let config = Config::load(
            None,
            env(&[
                ("DSMS_LISTEN", "0.0.0.0:9000"),
                ("DSMS_DATA_DIR", "/var/lib/dsms"),
                ("DSMS_DATABASE_URL", "postgres://dsms:pw@db/dsms"),
                ("DSMS_OUTBOX_MAX_ATTEMPTS", "3"),
                ("DSMS_DATABASE_MIGRATE_ON_START", "false"),
                ("DSMS_TEST_DATABASE_URL", "ignored"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000");
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/dsms"));
        assert_eq!(
            config.db_target(),
            DbTarget::Postgres("postgres://dsms:pw@db/dsms".into())
        );
        assert_eq!(config.outbox.max_attempts, 3);
        assert!(!config.database.migrate_on_start);
    }

    #[test]
    fn a_file_overrides_defaults_and_the_environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("production.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:7000\"\n[smtp]\nport = 2525\n").unwrap();
        let config = Config::load(Some(&path), env(&[("DSMS_SMTP_PORT", "25")])).unwrap();
        assert_eq!(config.listen, "127.0.0.1:7000");
        assert_eq!(config.smtp.port, 25);
    }

    #[test]
    fn bad_values_name_the_key_and_its_variable() {
        let err = Config::load(None, env(&[("DSMS_SMTP_PORT", "lots")])).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("smtp.port") && message.contains("DSMS_SMTP_PORT"),
            "{message}"
        );

        let err = Config::load(None, env(&[("DSMS_SMTP_PORT", "70000")])).unwrap_err();
        assert!(err.to_string().contains("smtp.port"), "{err}");

        let err = Config::load(None, env(&[("DSMS_LISTEN", "localhost")])).unwrap_err();
        assert!(err.to_string().contains("`listen`"), "{err}");

        let err = Config::load(None, env(&[("DSMS_LOG_FORMAT", "xml")])).unwrap_err();
        assert!(err.to_string().contains("log.format"), "{err}");

        let err = Config::load(None, env(&[("DSMS_EMAIL_TRANSPORT", "smtp")])).unwrap_err();
        assert!(err.to_string().contains("smtp.host"), "{err}");

        let err = Config::load(
            None,
            env(&[
                ("DSMS_EMAIL_TRANSPORT", "smtp"),
                ("DSMS_SMTP_HOST", "mail"),
                ("DSMS_OUTBOX_LEASE_SECS", "60"),
            ]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("outbox.lease_secs"), "{err}");
    }

    #[test]
    fn webhooks_default_to_safe_settings_and_overrides_are_checked() {
        let settings = Config::load(None, env(&[])).unwrap().webhook_settings();
        assert!(!settings.allow_insecure_localhost);
        assert_eq!(settings.timeout, Duration::from_secs(10));
        assert_eq!(settings.disable_after, Duration::from_secs(24 * 3600));
        assert_eq!(settings.disable_after_failures, 10);
        let config = Config::load(
            None,
            env(&[("DSMS_WEBHOOKS_ALLOW_INSECURE_LOCALHOST", "true")]),
        )
        .unwrap();
        assert!(config.webhook_settings().allow_insecure_localhost);
        let err = Config::load(None, env(&[("DSMS_WEBHOOKS_TIMEOUT_SECS", "0")])).unwrap_err();
        assert!(err.to_string().contains("webhooks.timeout_secs"), "{err}");
        let err = Config::load(None, env(&[("DSMS_WEBHOOKS_TIMEOUT_SECS", "30")])).unwrap_err();
        assert!(err.to_string().contains("outbox.lease_secs"), "{err}");
    }

    #[test]
    fn hub_rule_sets_are_dated_configuration_and_checked() {
        let rules = Config::load(None, env(&[])).unwrap().hub_rules().unwrap();
        let day = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        assert_eq!(rules.in_force(day("2027-01-01")).pack_size, 10);
        assert_eq!(rules.in_force(day("2027-01-01")).order_lead_time_months, 4);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hubs.toml");
        let set = |from: &str, pack: i64, min: i64, max: i64| {
            format!(
                "[[hubs.rule_sets]]\neffective_from = \"{from}\"\nforecast_horizon_months = 24\n\
                 forecast_due_working_day = 1\norder_lead_time_months = 4\npack_size = {pack}\n\
                 minimum_quantity = 10\ntolerance_min_percent = {min}\n\
                 tolerance_max_percent = {max}\namendment_cutoff_months = 3\n\
                 confirmation_window_working_days = 5\nredeployable_charge_pence = 827\n\
                 single_band_charge_pence = 3087\ndual_band_charge_pence = 5875\n"
            )
        };
        let two = set("2020-01-01", 10, 50, 120) + &set("2027-03-01", 20, 50, 120);
        std::fs::write(&path, two).unwrap();
        let rules = Config::load(Some(&path), env(&[]))
            .unwrap()
            .hub_rules()
            .unwrap();
        assert_eq!(rules.in_force(day("2027-02-28")).pack_size, 10);
        assert_eq!(rules.in_force(day("2027-03-01")).pack_size, 20);

        std::fs::write(&path, set("2020-01-01", 10, 130, 120)).unwrap();
        let err = Config::load(Some(&path), env(&[])).unwrap_err();
        assert!(err.to_string().contains("hubs.rule_sets"), "{err}");
        assert!(err.to_string().contains("tolerance"), "{err}");
    }

    #[test]
    fn rate_limits_default_on_and_are_set_per_class_from_the_environment() {
        let settings = Config::load(None, env(&[])).unwrap().rate_limit_settings();
        assert!(settings.enabled);
        assert_eq!(settings.window, Duration::from_secs(60));
        assert_eq!(settings.write.per_token, 300);
        let settings = Config::load(
            None,
            env(&[
                ("DSMS_RATE_LIMIT_ENABLED", "false"),
                ("DSMS_RATE_LIMIT_UPLOAD_PER_ADDRESS", "7"),
                ("DSMS_HTTP_TRUST_FORWARDED_FOR", "true"),
            ]),
        )
        .unwrap()
        .rate_limit_settings();
        assert!(!settings.enabled);
        assert_eq!(settings.upload.per_address, 7);
        assert!(settings.trust_forwarded_for);
        let err = Config::load(None, env(&[("DSMS_RATE_LIMIT_WINDOW_SECS", "0")])).unwrap_err();
        assert!(err.to_string().contains("rate_limit.window_secs"), "{err}");
        let err = Config::load(None, env(&[("DSMS_RATE_LIMIT_READ_PER_TOKEN", "-1")])).unwrap_err();
        assert!(
            err.to_string().contains("rate_limit.read_per_token"),
            "{err}"
        );
    }

    #[test]
    fn unknown_settings_are_refused() {
        let err = Config::load(None, env(&[("DSMS_SMTP_HOSTNAME", "x")])).unwrap_err();
        assert!(err.to_string().contains("DSMS_SMTP_HOSTNAME"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[database]\nurll = \"x\"\n").unwrap();
        let err = Config::load(Some(&path), env(&[])).unwrap_err();
        assert!(err.to_string().contains("database.urll"), "{err}");
    }

    #[test]
    fn show_redacts_secrets() {
        let config = Config::load(
            None,
            env(&[
                (
                    "DSMS_DATABASE_URL",
                    "postgres://dsms:hunter2hunter2@db/dsms",
                ),
                ("DSMS_SMTP_PASSWORD", "smtp-secret"),
            ]),
        )
        .unwrap();
        let shown = config.show();
        assert!(!shown.contains("hunter2hunter2"), "{shown}");
        assert!(!shown.contains("smtp-secret"), "{shown}");
        assert!(shown.contains("postgres://dsms:***@db/dsms"), "{shown}");
        assert!(shown.contains("password = \"***\""), "{shown}");
        assert!(!format!("{config:?}").contains("smtp-secret"));
    }
}
