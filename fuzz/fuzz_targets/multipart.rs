//! `multipart/form-data` bodies (crates/api/src/multipart.rs: attachment uploads and requests
//! raised with files). The input is a `Content-Type` value up to the first newline, then the
//! body, delivered in chunks whose size the first body byte picks so that boundaries and part
//! headers straddle chunk edges. Reading never panics; what it keeps stays within its limits;
//! what it refuses is a client error (4xx), never a server error.
#![no_main]

use std::cell::RefCell;
use std::pin::Pin;

use actix_web::ResponseError;
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use actix_web::test::TestRequest;
use actix_web::web::Bytes;
use dsms_api::multipart::{TEXT_PART_LIMIT, read_multipart};
use futures_util::Stream;
use libfuzzer_sys::fuzz_target;

/// Small limits, so that inputs of a few kilobytes reach every refusal.
const FILE_LIMIT: usize = 256;
const CAP: usize = 4096;

thread_local! {
    static RUNTIME: RefCell<actix_web::rt::Runtime> =
        RefCell::new(actix_web::rt::Runtime::new().expect("a runtime"));
}

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b"multipart/form-data; boundary=B"[..], data),
    };
    let Ok(content_type) = HeaderValue::from_bytes(content_type) else {
        return;
    };
    let chunk = usize::from(body.first().copied().unwrap_or(1)).max(1);
    let chunks: Vec<_> = body
        .chunks(chunk)
        .map(|c| Ok::<_, PayloadError>(Bytes::copy_from_slice(c)))
        .collect();
    let req = TestRequest::default()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header((CONTENT_LENGTH, body.len()))
        .to_http_request();
    let stream: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(futures_util::stream::iter(chunks));
    let payload = Payload::Stream { payload: stream };
    let read = RUNTIME.with(|rt| {
        rt.borrow()
            .block_on(read_multipart(&req, payload, FILE_LIMIT, CAP, |name, _| {
                name == "file" || name.starts_with("fields.")
            }))
    });
    match read {
        Ok(parts) => {
            assert!(body.len() <= CAP, "a body over the cap was read");
            let mut kept = 0;
            for file in &parts.files {
                assert!(file.name == "file" || file.name.starts_with("fields."));
                if file.too_large {
                    assert!(file.bytes.is_empty(), "an oversized file's bytes were kept");
                } else {
                    assert!(file.bytes.len() <= FILE_LIMIT);
                }
                kept += file.bytes.len();
            }
            for (name, value) in &parts.texts {
                assert!(name != "file" && !name.starts_with("fields."));
                assert!(value.len() <= TEXT_PART_LIMIT);
                kept += value.len();
            }
            assert!(kept <= body.len(), "more bytes kept than were sent");
        }
        Err(e) => assert!(
            e.status_code().is_client_error(),
            "a client's body gave {}: {e}",
            e.status_code()
        ),
    }
});
