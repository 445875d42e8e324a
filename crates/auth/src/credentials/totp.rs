//! Time-based one-time passwords (RFC 6238) as authenticator apps implement them: HMAC-SHA-1,
//! six digits, a 30-second step. Other parameters exist but several popular apps silently
//! ignore them and fall back to these, which would lock people out.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Builder, Totp};

use super::{CredentialError, random_bytes};

/// Digits in a code.
const DIGITS: u8 = 6;
/// Seconds per step.
const PERIOD: u64 = 30;

/// Everything but RFC 3986's unreserved characters is escaped in the URI's label and issuer,
/// so an account such as `ops@supplier.example` or an issuer with spaces survives every parser.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A person's TOTP shared secret: 160 bits, the size RFC 4226 recommends for HMAC-SHA-1.
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    /// A fresh secret of 20 random bytes from the operating system.
    pub fn generate() -> Self {
        Self(random_bytes::<20>().to_vec())
    }

    /// A secret read back from storage.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The raw secret, to be sealed before it is stored.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret in RFC 4648 base32 without padding, as authenticator apps accept it typed in.
    pub fn to_base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&self.0)
    }

    fn generator(&self) -> Totp {
        // `build` would only add checks that hold by construction here (six digits, a non-zero
        // step) and a minimum secret length that `generate` exceeds; skipping them keeps code
        // generation infallible.
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_step_duration(PERIOD)
            .with_secret(self.0.as_slice())
            .build_noncompliant()
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// The `otpauth://` URI that enrols `secret` in an authenticator app (Google's Key URI format),
/// labelled `issuer:account` and with every parameter spelled out.
pub fn otpauth_uri(secret: &TotpSecret, issuer: &str, account: &str) -> String {
    let issuer = utf8_percent_encode(issuer, URI_COMPONENT);
    let account = utf8_percent_encode(account, URI_COMPONENT);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}\
         &algorithm=SHA1&digits={DIGITS}&period={PERIOD}",
        secret = secret.to_base32(),
    )
}

/// A PNG image of `uri` as a QR code, in standard base64, for a `data:image/png;base64,` URL.
pub fn qr_png_base64(uri: &str) -> Result<String, CredentialError> {
    let png = qrcodegen_image::draw_png(uri).map_err(CredentialError::Qr)?;
    Ok(STANDARD.encode(png))
}

/// The code the secret's owner sees at `unix_time`.
pub fn code_at(secret: &TotpSecret, unix_time: u64) -> String {
    secret.generator().generate(unix_time).to_string()
}

/// The step (`unix_time / 30`) that `code` belongs to, if it is the code of the current step or
/// of the step either side of it, and that step is later than `last_used_step`.
///
/// The caller stores the returned step and passes it back as `last_used_step` next time: that is
/// how each code is accepted only once (RFC 6238 section 5.2), and how a code seen over a
/// shoulder or replayed from a log is refused. Spaces, as apps display them (`123 456`), are
/// ignored; anything but six ASCII digits is refused.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    unix_time: u64,
    last_used_step: Option<i64>,
) -> Option<i64> {
    let code: String = code.chars().filter(|c| *c != ' ').collect();
    if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let generator = secret.generator();
    let current = unix_time / PERIOD;
    let candidates = [
        current.checked_sub(1),
        Some(current),
        current.checked_add(1),
    ];
    let mut matched = None;
    // Every candidate is compared, in constant time, so timing tells nothing about which step
    // (if any) matched. The latest matching step wins: should a code happen to match two steps,
    // accepting the earlier would leave it replayable for the later one.
    for step in candidates.into_iter().flatten() {
        let Some(time) = step.checked_mul(PERIOD) else {
            continue;
        };
        let Ok(step) = i64::try_from(step) else {
            continue;
        };
        let expected = generator.generate(time).to_string();
        let equal: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
        if equal && last_used_step.is_none_or(|last| step > last) {
            matched = Some(step);
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use hmac::{Hmac, KeyInit, Mac};
    use sha1::Sha1;

    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    /// RFC 6238 Appendix B, SHA-1 column: (time, eight-digit code).
    const RFC_VECTORS: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    /// HOTP (RFC 4226 section 5.3) written out independently of totp-rs, so the vectors check
    /// the library rather than the library checking itself.
    fn independent_hotp(secret: &[u8], counter: u64, digits: u32) -> String {
        let mut mac = Hmac::<Sha1>::new_from_slice(secret).unwrap();
        mac.update(&counter.to_be_bytes());
        let hash = mac.finalize().into_bytes();
        let offset = usize::from(hash[hash.len() - 1] & 0x0f);
        let binary = u32::from_be_bytes([
            hash[offset] & 0x7f,
            hash[offset + 1],
            hash[offset + 2],
            hash[offset + 3],
        ]);
        format!(
            "{:0width$}",
            binary % 10u32.pow(digits),
            width = digits as usize
        )
    }

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(RFC_SECRET.to_vec())
    }

    #[test]
    fn rfc_6238_vectors_match_an_independent_hmac_and_verify() {
        let secret = rfc_secret();
        for (time, eight_digits) in RFC_VECTORS {
            let counter = time / 30;
            assert_eq!(independent_hotp(RFC_SECRET, counter, 8), eight_digits);
            let six_digits = &eight_digits[2..];
            assert_eq!(independent_hotp(RFC_SECRET, counter, 6), six_digits);
            assert_eq!(code_at(&secret, time), six_digits, "time {time}");
            let step = i64::try_from(counter).unwrap();
            assert_eq!(verify(&secret, six_digits, time, None), Some(step));
        }
    }

    #[test]
    fn the_steps_either_side_are_accepted_and_two_away_are_not() {
        let secret = rfc_secret();
        let now: u64 = 1_111_111_111;
        let step = i64::try_from(now / 30).unwrap();
        let code = |offset: i64| code_at(&secret, now.checked_add_signed(offset * 30).unwrap());
        assert_eq!(verify(&secret, &code(0), now, None), Some(step));
        assert_eq!(verify(&secret, &code(-1), now, None), Some(step - 1));
        assert_eq!(verify(&secret, &code(1), now, None), Some(step + 1));
        assert_eq!(verify(&secret, &code(-2), now, None), None);
        assert_eq!(verify(&secret, &code(2), now, None), None);
    }

    #[test]
    fn a_used_step_is_never_accepted_again() {
        let secret = rfc_secret();
        let now = 1_234_567_890;
        let code = code_at(&secret, now);
        let step = verify(&secret, &code, now, None).unwrap();
        assert_eq!(verify(&secret, &code, now, Some(step)), None, "replay");
        assert_eq!(
            verify(&secret, &code, now + 30, Some(step)),
            None,
            "replay later"
        );
        assert_eq!(verify(&secret, &code, now, Some(step + 1)), None);
        assert_eq!(verify(&secret, &code, now, Some(step - 1)), Some(step));
        let next = code_at(&secret, now + 30);
        assert_eq!(verify(&secret, &next, now, Some(step)), Some(step + 1));
        let previous = code_at(&secret, now - 30);
        assert_eq!(verify(&secret, &previous, now, Some(step)), None);
    }

    #[test]
    fn anything_but_six_digits_is_refused() {
        let secret = rfc_secret();
        let now = 59;
        assert_eq!(verify(&secret, "287082", now, None), Some(1));
        assert_eq!(verify(&secret, " 287 082 ", now, None), Some(1));
        for bad in [
            "",
            "28708",
            "2870820",
            "94287082",
            "28708a",
            "+87082",
            "-87082",
            "28708\u{0662}",
            "287\t082",
            "２８７０８２",
        ] {
            assert_eq!(verify(&secret, bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn generated_secrets_are_random_160_bit_and_redacted() {
        let a = TotpSecret::generate();
        let b = TotpSecret::generate();
        assert_eq!(a.as_bytes().len(), 20);
        assert_ne!(a.as_bytes(), b.as_bytes());
        let shown = format!("{a:?}");
        assert!(!shown.contains(&a.to_base32()), "{shown}");
        assert_eq!(shown, "TotpSecret(<redacted>)");
    }

    #[test]
    fn base32_is_rfc_4648_without_padding() {
        assert_eq!(rfc_secret().to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        // RFC 4648 section 10 gives "MZXW6YTBOI======" for "foobar".
        let foobar = TotpSecret::from_bytes(b"foobar".to_vec());
        assert_eq!(foobar.to_base32(), "MZXW6YTBOI");
    }

    #[test]
    fn otpauth_uri_is_escaped_and_parses_back() {
        let secret = rfc_secret();
        assert_eq!(
            otpauth_uri(&secret, "dsms", "ops@supplier.example"),
            "otpauth://totp/dsms:ops%40supplier.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=dsms&algorithm=SHA1&digits=6&period=30"
        );

        let secret = TotpSecret::generate();
        let uri = otpauth_uri(
            &secret,
            "DSMS Service Desk (test)",
            "Ann O'Neil+ops@example.com",
        );
        let parsed = Totp::from_url(&uri).unwrap();
        assert_eq!(parsed.secret().as_ref(), secret.as_bytes());
        assert_eq!(parsed.algorithm(), Algorithm::SHA1);
        assert_eq!((parsed.digits(), parsed.step()), (6, 30));
        assert_eq!(parsed.issuer(), Some("DSMS Service Desk (test)"));
        assert_eq!(parsed.account_name(), "Ann O'Neil+ops@example.com");
        assert_eq!(
            parsed.generate(1_700_000_000).to_string(),
            code_at(&secret, 1_700_000_000)
        );
    }

    #[test]
    fn the_qr_code_is_a_base64_png() {
        let uri = otpauth_uri(&TotpSecret::generate(), "dsms", "ops@supplier.example");
        let png = STANDARD.decode(qr_png_base64(&uri).unwrap()).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(matches!(
            qr_png_base64(&"x".repeat(8000)),
            Err(CredentialError::Qr(_))
        ));
    }
}
