//! The delivery signature: `Dsms-Signature: v1=<hex>` where `<hex>` is the lowercase hex
//! HMAC-SHA256, keyed with the endpoint's secret (its text, as shown once), of
//! `<Dsms-Timestamp>.<raw body>`. See the crate documentation for how receivers verify it.

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

/// The scheme's version label, the part before `=` in `Dsms-Signature`.
pub const SCHEME: &str = "v1";

/// The header naming the event type, e.g. `incident.created`.
pub const EVENT_HEADER: &str = "Dsms-Event";
/// The header carrying the delivery id: the same on every retry, so receivers de-duplicate on it.
pub const DELIVERY_HEADER: &str = "Dsms-Delivery";
/// The header carrying the signing time, in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "Dsms-Timestamp";
/// The header carrying the signature(s).
pub const SIGNATURE_HEADER: &str = "Dsms-Signature";

/// How far a receiver should let `Dsms-Timestamp` be from its own clock before refusing a
/// request as a replay: five minutes, the tolerance this crate's documentation recommends.
pub const RECOMMENDED_TOLERANCE_SECS: i64 = 300;

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Dsms-Signature` value for `body` signed at `timestamp` (Unix seconds) with `secret`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    let mut text = String::with_capacity(SCHEME.len() + 1 + tag.len() * 2);
    text.push_str(SCHEME);
    text.push('=');
    for byte in tag.iter() {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    text
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Checks a delivery as a receiver would: `timestamp` within `tolerance_secs` of `now` (Unix
/// seconds), and any `v1=` entry of the comma-separated `signature` header matching, compared in
/// constant time. Receivers written in Rust may use this; others follow the crate documentation.
pub fn verify(
    secret: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> bool {
    let Ok(timestamp) = timestamp.trim().parse::<i64>() else {
        return false;
    };
    if now.abs_diff(timestamp) > tolerance_secs.unsigned_abs() {
        return false;
    }
    signature.split(',').any(|entry| {
        entry
            .trim()
            .strip_prefix(SCHEME)
            .and_then(|rest| rest.strip_prefix('='))
            .and_then(decode_hex)
            .is_some_and(|tag| mac(secret, timestamp, body).verify_slice(&tag).is_ok())
    })
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let high = char::from(pair[0]).to_digit(16)?;
            let low = char::from(pair[1]).to_digit(16)?;
            u8::try_from(high * 16 + low).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_timestamp_a_dot_and_the_body() {
        // Computed independently: python3 -c 'import hmac, hashlib;
        // print(hmac.new(b"whsec_test", b"1700000000.{\"a\":1}", hashlib.sha256).hexdigest())'
        assert_eq!(
            sign("whsec_test", 1_700_000_000, br#"{"a":1}"#),
            "v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }

    #[test]
    fn verification_accepts_the_signature_within_tolerance_only() {
        let body = br#"{"type":"incident.created"}"#;
        let signature = sign("whsec_abc", 1_000, body);
        assert!(verify("whsec_abc", "1000", &signature, body, 1_100, 300));
        assert!(verify("whsec_abc", "1000", &signature, body, 700, 300));
        assert!(!verify("whsec_abc", "1000", &signature, body, 1_301, 300));
        assert!(!verify("whsec_abd", "1000", &signature, body, 1_000, 300));
        assert!(!verify("whsec_abc", "1001", &signature, body, 1_000, 300));
        assert!(!verify("whsec_abc", "1000", &signature, b"{}", 1_000, 300));
        assert!(!verify("whsec_abc", "soon", &signature, body, 1_000, 300));
    }

    #[test]
    fn any_listed_v1_signature_may_match() {
        let body = b"{}";
        let good = sign("new", 5, body);
        let old = sign("old", 5, body);
        assert!(verify("new", "5", &format!("{old}, {good}"), body, 5, 300));
        assert!(!verify("new", "5", &old, body, 5, 300));
        let tampered = good.replace("v1=", "v0=");
        assert!(!verify("new", "5", &tampered, body, 5, 300));
        assert!(!verify("new", "5", "v1=zz", body, 5, 300));
        assert!(!verify("new", "5", "v1=abc", body, 5, 300));
    }
}
