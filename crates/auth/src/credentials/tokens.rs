//! High-entropy bearer secrets (API, session, MFA-challenge and invitation tokens) and MFA
//! recovery codes. Only their digests are stored.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use data_encoding::{BASE32_NOPAD, HEXLOWER};
use sha2::{Digest as _, Sha256};

use super::random_bytes;

/// Recovery codes issued at a time.
const RECOVERY_CODES: usize = 10;
/// Characters in each group of a recovery code as shown.
const GROUP_LEN: usize = 4;

/// A new bearer token: `prefix` followed by 43 characters, the unpadded base64url of 32 random
/// bytes. The prefix (`dsms_` for API tokens) tells a person, or a secret scanner, what a leaked
/// token is.
pub fn random_token(prefix: &str) -> String {
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
}

/// The SHA-256 of `token` in lowercase hex: the form in which tokens and recovery codes are
/// stored and looked up.
///
/// A fast hash is safe here, unlike for passwords: these secrets carry 256 bits (recovery
/// codes 80) of randomness, so there is nothing for a slow hash to protect against guessing,
/// and verifying a request is one indexed lookup instead of an argon2 run.
pub fn digest(token: &str) -> String {
    HEXLOWER.encode(&Sha256::digest(token.as_bytes()))
}

/// Ten single-use MFA recovery codes, each 80 random bits as 16 lowercase base32 characters
/// shown in groups: `xxxx-xxxx-xxxx-xxxx`. Store `digest(&normalise_recovery_code(code))`.
pub fn recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES).map(|_| recovery_code()).collect()
}

fn recovery_code() -> String {
    let plain = BASE32_NOPAD
        .encode(&random_bytes::<10>())
        .to_ascii_lowercase();
    let mut shown = String::with_capacity(plain.len() + plain.len() / GROUP_LEN);
    for (index, c) in plain.chars().enumerate() {
        if index > 0 && index % GROUP_LEN == 0 {
            shown.push('-');
        }
        shown.push(c);
    }
    shown
}

/// A recovery code as typed, reduced to the form that is digested: lower case, without the
/// spaces and dashes people add or copy along with it.
pub fn normalise_recovery_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn tokens_are_prefixed_43_url_safe_characters_of_32_bytes() {
        let token = random_token("dsms_");
        let body = token.strip_prefix("dsms_").unwrap();
        assert_eq!(body.len(), 43);
        assert!(
            body.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        assert_eq!(random_token("").len(), 43);
    }

    #[test]
    fn tokens_do_not_repeat() {
        let tokens: HashSet<_> = (0..1000).map(|_| random_token("s_")).collect();
        assert_eq!(tokens.len(), 1000);
    }

    #[test]
    fn digest_is_lowercase_hex_sha256() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            digest(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_ne!(digest("dsms_a"), digest("dsms_b"));
    }

    #[test]
    fn recovery_codes_are_ten_distinct_grouped_base32_codes() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes.iter().collect::<HashSet<_>>().len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 19, "{code}");
            for (index, c) in code.chars().enumerate() {
                if index % 5 == 4 {
                    assert_eq!(c, '-', "{code}");
                } else {
                    assert!(matches!(c, 'a'..='z' | '2'..='7'), "{code}");
                }
            }
            assert_eq!(normalise_recovery_code(code).len(), 16);
        }
        assert_ne!(recovery_codes(), codes);
    }

    #[test]
    fn recovery_codes_normalise_however_they_are_typed() {
        assert_eq!(
            normalise_recovery_code(" ABCD-efgh ijkl\tMNOP\n"),
            "abcdefghijklmnop"
        );
        let code = &recovery_codes()[0];
        let typed = code.to_uppercase().replace('-', " ");
        assert_eq!(
            digest(&normalise_recovery_code(&typed)),
            digest(&normalise_recovery_code(code))
        );
    }
}
