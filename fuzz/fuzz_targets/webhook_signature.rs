//! Webhook endpoint addresses and delivery signatures (crates/webhooks): any URL text is
//! accepted or refused without a panic, and an accepted one parses again to itself; any
//! signature header is checked without a panic, and what `sign` makes, `verify` accepts.
#![no_main]

use dsms_webhooks::EndpointUrl;
use dsms_webhooks::signature::{sign, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for allow_localhost in [false, true] {
        if let Ok(url) = EndpointUrl::parse(&text, allow_localhost) {
            let again = EndpointUrl::parse(url.as_str(), allow_localhost);
            assert_eq!(again.as_ref().map(EndpointUrl::as_str), Ok(url.as_str()));
        }
    }
    let (secret, rest) = text.split_once('\n').unwrap_or(("whsec_fuzz", &text));
    let (header, body) = rest.split_once('\n').unwrap_or((rest, ""));
    let now = 1_800_000_000;
    verify(secret, "1800000000", header, body.as_bytes(), now, 300);
    verify(secret, header, header, body.as_bytes(), now, 300);
    let signed = sign(secret, now, body.as_bytes());
    assert!(verify(
        secret,
        &now.to_string(),
        &signed,
        body.as_bytes(),
        now,
        300
    ));
    assert!(verify(
        secret,
        &now.to_string(),
        &format!("v0=00,{signed}"),
        body.as_bytes(),
        now,
        0
    ));
});
