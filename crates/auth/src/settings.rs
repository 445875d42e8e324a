use std::time::Duration;

/// How identity and access behave; built by the server from configuration.
#[derive(Debug, Clone)]
pub struct IdentitySettings {
    /// Names this service in access tokens (`iss`) and authenticator apps.
    pub issuer: String,
    /// The base URL used in emailed links.
    pub public_url: String,
    /// How long an access token (and its API session) lives.
    pub access_token_ttl: Duration,
    /// How long the step between password and TOTP may take.
    pub mfa_challenge_ttl: Duration,
    /// A web session ends after this long without use.
    pub web_session_idle: Duration,
    /// A web session ends this long after sign-in, however busy.
    pub web_session_max: Duration,
    /// How long an invitation link works.
    pub invitation_ttl: Duration,
    /// How long a password-reset link works.
    pub password_reset_ttl: Duration,
    /// The longest an API token may live.
    pub api_token_max_lifetime: Duration,
    /// The lifetime of an API token created without an expiry.
    pub api_token_default_lifetime: Duration,
    /// Brute-force protection.
    pub throttle: ThrottleSettings,
}

/// Brute-force protection: failures are counted per account name and per client address within
/// a window; an account slows down after a few failures and locks after more.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleSettings {
    /// The period over which failures are counted.
    pub window: Duration,
    /// Failures after which each further attempt on an account must wait, doubling each time.
    pub account_delay_after: u32,
    /// Failures after which an account is locked.
    pub account_lock_after: u32,
    /// Failures from one address after which it is locked.
    pub address_lock_after: u32,
    /// How long a lock lasts.
    pub lock_duration: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(15 * 60),
            account_delay_after: 3,
            account_lock_after: 10,
            address_lock_after: 100,
            lock_duration: Duration::from_secs(15 * 60),
        }
    }
}
