use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;
use rand::distr::Alphanumeric;

use crate::AuthError;

/// Argon2id cost parameters (OWASP ASVS level 2 asks for at least m=19 MiB, t=2, p=1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Settings {
    /// Memory cost in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Degree of parallelism.
    pub parallelism: u32,
}

impl Default for Argon2Settings {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Hashes and verifies passwords with argon2id.
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", self.argon2.params())
            .finish()
    }
}

impl PasswordHasher {
    /// A hasher with the given cost; fails on parameters argon2 rejects.
    pub fn new(settings: Argon2Settings) -> Result<Self, AuthError> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| AuthError::Hashing(e.to_string()))?;
        Ok(Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
        })
    }

    /// A PHC-format hash of `password` with a fresh random salt.
    pub fn hash(&self, password: &str) -> Result<String, AuthError> {
        use argon2::PasswordHasher as _;
        let salt = SaltString::generate(&mut OsRng);
        self.argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AuthError::Hashing(e.to_string()))
    }

    /// True when `password` matches `hash`. The parameters stored in the hash are used, so
    /// raising the configured cost never locks out people hashed under the old one.
    pub fn verify(&self, password: &str, hash: &str) -> bool {
        PasswordHash::new(hash).is_ok_and(|parsed| {
            self.argon2
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    }
}

/// A random password for a new account, to be changed at first sign-in: 20 characters from 62
/// give about 119 bits of entropy.
pub fn generate_initial_password() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(Argon2Settings {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let hasher = cheap();
        let a = hasher.hash("correct horse battery staple").unwrap();
        let b = hasher.hash("correct horse battery staple").unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert_ne!(a, b, "each hash has its own salt");
        assert!(hasher.verify("correct horse battery staple", &a));
        assert!(!hasher.verify("correct horse battery stapler", &a));
        assert!(!hasher.verify("anything", "not a hash"));
    }

    #[test]
    fn default_cost_meets_the_asvs_floor() {
        let s = Argon2Settings::default();
        assert!(s.memory_kib >= 19 * 1024 && s.iterations >= 2 && s.parallelism >= 1);
    }

    #[test]
    fn initial_passwords_are_long_and_distinct() {
        let a = generate_initial_password();
        assert_eq!(a.len(), 20);
        assert_ne!(a, generate_initial_password());
    }
}
