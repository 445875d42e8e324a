//! The policy for new passwords.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use dsms_core::FieldError;

/// The shortest password accepted, in characters (OWASP ASVS 2.1.1).
pub const MIN_CHARS: usize = 12;
/// The longest password accepted, in characters: long enough for any passphrase, short enough
/// that hashing an attacker's megabyte "password" costs nothing extra.
pub const MAX_CHARS: usize = 256;

const FIELD: &str = "password";

/// The list of common passwords, one a line after a header of lines starting with `# `.
const COMMON_PASSWORDS: &str = include_str!("../../data/common-passwords.txt");

/// The common passwords long enough to pass the length rule: shorter ones are already refused
/// by length, so keeping them in memory would only cost space. The list is lower case, so a
/// lookup lowercases the candidate and nothing else.
static COMMON_LONG_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    list_entries()
        .filter(|entry| entry.chars().count() >= MIN_CHARS)
        .collect()
});

fn list_entries() -> impl Iterator<Item = &'static str> {
    COMMON_PASSWORDS
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with("# "))
}

/// A password that meets the policy for new passwords (OWASP ASVS level 2): 12 to 256
/// characters, not a common password and not the person's email address. There are
/// deliberately no composition rules (NIST SP 800-63B 5.1.1.2): they push people towards
/// predictable patterns without adding strength.
pub struct NewPassword(String);

impl NewPassword {
    /// Checks `raw` against the policy; `email` is the address of the person it is for.
    ///
    /// The password is taken exactly as typed: it is not trimmed, and its length counts Unicode
    /// scalar values so a passphrase in any script is judged by what the person typed.
    pub fn parse(raw: &str, email: Option<&str>) -> Result<Self, FieldError> {
        let invalid = |why: String| FieldError::new(FIELD, why);
        let length = raw.chars().count();
        if length < MIN_CHARS {
            return Err(invalid(format!("must be at least {MIN_CHARS} characters")));
        }
        if length > MAX_CHARS {
            return Err(invalid(format!("must be at most {MAX_CHARS} characters")));
        }
        let lowered = raw.to_lowercase();
        if COMMON_LONG_PASSWORDS.contains(lowered.as_str()) {
            return Err(invalid(
                "is one of the most commonly used passwords; choose another".to_owned(),
            ));
        }
        if let Some(email) = email.map(|e| e.trim().to_lowercase()) {
            let local_part = email.rsplit_once('@').map(|(local, _)| local);
            if lowered == email || Some(lowered.as_str()) == local_part {
                return Err(invalid(
                    "must not be your email address or the part of it before the @".to_owned(),
                ));
            }
        }
        Ok(Self(raw.to_owned()))
    }

    /// The password itself, to be hashed.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(raw: &str, email: Option<&str>) -> String {
        let error = NewPassword::parse(raw, email).expect_err(raw);
        assert_eq!(error.field, "password");
        error.message
    }

    fn accepted(raw: &str, email: Option<&str>) {
        let password = NewPassword::parse(raw, email).expect(raw);
        assert_eq!(password.expose(), raw);
    }

    #[test]
    fn the_list_is_large_lower_case_and_holds_long_entries() {
        let entries: Vec<_> = list_entries().collect();
        assert!(entries.len() >= 10_000, "only {} entries", entries.len());
        assert!(entries.iter().all(|e| *e == e.to_lowercase()));
        assert!(
            entries.contains(&"123456"),
            "the header must not hide entries"
        );
        assert!(COMMON_LONG_PASSWORDS.len() > 100);
        assert!(COMMON_LONG_PASSWORDS.contains("password1234"));
        assert!(COMMON_LONG_PASSWORDS.contains("qwertyuiop123"));
    }

    #[test]
    fn eleven_characters_are_too_few_and_twelve_enough() {
        let message = rejected("tangerine-o", None);
        assert_eq!(message, "must be at least 12 characters");
        accepted("tangerine-ox", None);
    }

    #[test]
    fn length_counts_characters_not_bytes_and_nothing_is_trimmed() {
        rejected(&"é".repeat(11), None);
        accepted(&"é".repeat(12), None);
        rejected(" tangerine ", None);
        accepted("  tangerine ", None);
    }

    #[test]
    fn more_than_256_characters_are_too_many() {
        accepted(&"x".repeat(256), None);
        assert_eq!(
            rejected(&"x".repeat(257), None),
            "must be at most 256 characters"
        );
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for common in [
            "password1234",
            "PassWord1234",
            "QWERTYUIOP123",
            "qwertyuiop123",
        ] {
            assert!(rejected(common, None).contains("commonly used"), "{common}");
        }
    }

    #[test]
    fn the_email_address_and_its_local_part_are_refused() {
        let email = Some("Facilities.Manager@Supplier.example");
        let message = rejected("facilities.manager", email);
        assert!(message.contains("email"), "{message}");
        rejected("FACILITIES.MANAGER@supplier.example", email);
        accepted("facilities.manager", Some("someone.else@supplier.example"));
        accepted("facilities.manager", None);
    }

    #[test]
    fn long_passphrases_are_accepted() {
        accepted("correct horse battery staple", None);
        accepted("the meter on plot 7 reads backwards on tuesdays", None);
    }

    #[test]
    fn there_are_no_composition_rules() {
        accepted("onlylowercaseletters", None);
        accepted("830274619583", None);
        accepted("ALL CAPS AND SPACES", None);
    }

    #[test]
    fn debug_does_not_show_the_password() {
        let password = NewPassword::parse("correct horse battery staple", None).unwrap();
        let shown = format!("{password:?}");
        assert!(!shown.contains("horse"), "{shown}");
    }
}
