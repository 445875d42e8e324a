//! Credential primitives: the policy for new passwords, TOTP second factors, encryption of
//! secrets at rest, high-entropy bearer tokens and recovery codes, and signed access tokens.
//!
//! Everything here is computation on bytes and text, with no database and no HTTP, so each
//! security property is tested where it is implemented. The callers (sign-in, enrolment, API
//! tokens) decide what to store and when.

pub mod jwt;
pub mod password_policy;
pub mod secretbox;
pub mod tokens;
pub mod totp;

use std::path::PathBuf;

use rand::rngs::OsRng;
use rand::{RngCore as _, TryRngCore as _};

pub use jwt::{AccessClaims, JwtKeys};
pub use password_policy::NewPassword;
pub use secretbox::{MasterKey, SecretBox};
pub use totp::TotpSecret;

/// What can go wrong with a credential, in terms callers branch on.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// A master key in configuration or in the key file is malformed.
    #[error("invalid master key: {0}")]
    InvalidKey(String),
    /// The master key file could not be read or created.
    #[error("master key file {}: {source}", path.display())]
    KeyFile {
        /// The file's path.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A sealed value is malformed, was sealed under another key or for another record, or was
    /// altered; the reasons are deliberately not told apart.
    #[error("cannot decrypt the sealed value")]
    Decrypt,
    /// An access token was rejected; the reason is for logs, not for the client.
    #[error("invalid access token: {0}")]
    Token(String),
    /// An access token could not be issued.
    #[error("cannot issue an access token: {0}")]
    Signing(String),
    /// A QR code could not be drawn (the text is too long for a QR code).
    #[error("cannot draw the QR code: {0}")]
    Qr(String),
}

/// `N` bytes from the operating system's random number generator.
///
/// Every key, nonce, secret and token in this module comes from here. The kernel's generator
/// does not fail once the system has booted; if it ever did, no fallback would be safe for key
/// material, so the panic in `unwrap_err` is the right outcome.
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.unwrap_err().fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_differ_between_calls() {
        let a: [u8; 32] = random_bytes();
        let b: [u8; 32] = random_bytes();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
    }
}
