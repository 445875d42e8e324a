//! Files attached to tickets (incidents and service requests): what is accepted (an allow-list
//! of types, each checked against the file's own bytes, within a size limit), how names are
//! made safe, and the digest recorded with each file. One set of rules for every context.

use chrono::NaiveDateTime;

use crate::ValidationErrors;

/// A file attached to a ticket, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Its id.
    pub id: i64,
    /// The ticket (incident or service request) it belongs to.
    pub ticket_id: i64,
    /// The file's name, made safe (no directories, no control characters).
    pub filename: String,
    /// The media type, as checked against the content.
    pub content_type: String,
    /// Its size in bytes.
    pub size_bytes: i64,
    /// The SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
    /// Attached to a work note: only the service desk sees it.
    pub internal: bool,
    /// `person` or `api_token`.
    pub uploaded_by_kind: String,
    /// The uploader's id.
    pub uploaded_by_id: i64,
    /// The uploader's name at the time.
    pub uploaded_by_name: String,
    /// When it was attached.
    pub created_at: NaiveDateTime,
}

/// The longest file name kept, in characters.
pub const MAX_FILENAME_CHARS: usize = 200;

/// The kinds of file accepted, by what their bytes show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pdf,
    Png,
    Jpeg,
    Gif,
    Zip,
    /// Valid UTF-8 without NUL bytes.
    Text,
}

/// Every accepted media type and the kind of content it must have. `application/octet-stream`
/// (or no type at all) takes the type the content shows.
const ACCEPTED: &[(&str, Kind)] = &[
    ("application/pdf", Kind::Pdf),
    ("image/png", Kind::Png),
    ("image/jpeg", Kind::Jpeg),
    ("image/gif", Kind::Gif),
    ("application/zip", Kind::Zip),
    ("application/x-zip-compressed", Kind::Zip),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Kind::Zip,
    ),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Kind::Zip,
    ),
    ("text/plain", Kind::Text),
    ("text/csv", Kind::Text),
    ("text/x-log", Kind::Text),
    ("application/json", Kind::Text),
    ("application/xml", Kind::Text),
    ("text/xml", Kind::Text),
];

/// What the bytes of a file are, by their magic numbers; `None` when nothing accepted.
fn sniff(bytes: &[u8]) -> Option<Kind> {
    const MAGIC: &[(&[u8], Kind)] = &[
        (b"%PDF-", Kind::Pdf),
        (b"\x89PNG\r\n\x1a\n", Kind::Png),
        (b"\xFF\xD8\xFF", Kind::Jpeg),
        (b"GIF87a", Kind::Gif),
        (b"GIF89a", Kind::Gif),
        (b"PK\x03\x04", Kind::Zip),
        (b"PK\x05\x06", Kind::Zip),
    ];
    if let Some((_, kind)) = MAGIC.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        return Some(*kind);
    }
    (std::str::from_utf8(bytes).is_ok() && !bytes.contains(&0)).then_some(Kind::Text)
}

/// A file that passed every check, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFile {
    /// The file's name, made safe.
    pub filename: String,
    /// The media type, as checked against the content.
    pub content_type: String,
    /// Its size in bytes.
    pub size_bytes: i64,
    /// The SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
}

/// Checks an uploaded file: a name (problems reported against `name_field`), not empty, at most
/// `limit` bytes, and bytes of an accepted type that agrees with `declared` (absent or
/// `application/octet-stream`: the type the bytes show); problems with the content are reported
/// against `file_field`. Every problem found is returned, so callers can merge them with others.
pub fn check_file(
    file_field: &str,
    name_field: &str,
    filename: &str,
    declared: Option<&str>,
    bytes: &[u8],
    limit: usize,
) -> Result<CheckedFile, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let filename = safe_filename(name_field, filename, &mut errors);
    let content_type = if bytes.is_empty() {
        errors.push(file_field, "must not be empty");
        String::new()
    } else if bytes.len() > limit {
        errors.push(file_field, format!("must be at most {limit} bytes"));
        String::new()
    } else {
        checked_content_type(file_field, declared, bytes, &mut errors)
    };
    errors.into_result()?;
    Ok(CheckedFile {
        filename,
        content_type,
        size_bytes: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        sha256: sha256_hex(bytes),
    })
}

/// The media type a file is stored under, after checking its bytes agree with the declared
/// type; the problem is reported against `field`.
pub fn checked_content_type(
    field: &str,
    declared: Option<&str>,
    bytes: &[u8],
    errors: &mut ValidationErrors,
) -> String {
    let declared = declared
        .map(|d| {
            d.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|d| !d.is_empty() && d != "application/octet-stream");
    let shown = sniff(bytes);
    let accepted = || {
        ACCEPTED
            .iter()
            .map(|(t, _)| *t)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match declared {
        None => match shown {
            Some(kind) => ACCEPTED
                .iter()
                .find(|(_, k)| *k == kind)
                .map(|(t, _)| (*t).to_owned())
                .unwrap_or_default(),
            None => {
                errors.push(
                    field,
                    format!(
                        "this type of file is not accepted; attach one of {}",
                        accepted()
                    ),
                );
                String::new()
            }
        },
        Some(declared) => match ACCEPTED.iter().find(|(t, _)| *t == declared) {
            None => {
                errors.push(
                    field,
                    format!("{declared} is not accepted; attach one of {}", accepted()),
                );
                declared
            }
            Some((_, kind)) => {
                let agrees = shown == Some(*kind)
                    && match declared.as_str() {
                        "application/json" => {
                            serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
                        }
                        "application/xml" | "text/xml" => String::from_utf8_lossy(bytes)
                            .trim_start_matches('\u{feff}')
                            .trim_start()
                            .starts_with('<'),
                        _ => true,
                    };
                if !agrees {
                    errors.push(
                        field,
                        format!("the content is not {declared}, as the file's type claims"),
                    );
                }
                declared
            }
        },
    }
}

/// A file name made safe to store and to offer back for download: without any directories,
/// control or bidirectional-formatting characters, or surrounding blanks and dots; problems are
/// reported against `field`.
pub fn safe_filename(field: &str, raw: &str, errors: &mut ValidationErrors) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c,
                    '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
                    | '\u{feff}')
        })
        .collect();
    let cleaned = cleaned
        .trim()
        .trim_matches('.')
        .trim()
        .replace('"', "'")
        .to_owned();
    if cleaned.is_empty() {
        errors.push(field, "must name a file");
    } else if cleaned.chars().count() > MAX_FILENAME_CHARS {
        errors.push(
            field,
            format!("must be at most {MAX_FILENAME_CHARS} characters"),
        );
    }
    cleaned
}

/// The SHA-256 digest of `data` in lowercase hex, recorded so a download can be checked.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_fips_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(
            sha256_hex(&vec![b'a'; 1_000_000]),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
        // Lengths around the padding boundary.
        assert_eq!(
            sha256_hex(&[b'x'; 64]),
            "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"
        );
    }

    fn check(declared: Option<&str>, bytes: &[u8]) -> Result<String, Vec<String>> {
        let mut errors = ValidationErrors::default();
        let t = checked_content_type("file", declared, bytes, &mut errors);
        if errors.0.is_empty() {
            Ok(t)
        } else {
            Err(errors.0.iter().map(|e| e.message.clone()).collect())
        }
    }

    #[test]
    fn declared_types_must_match_the_content() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(check(Some("image/png"), png).unwrap(), "image/png");
        assert_eq!(check(Some("IMAGE/PNG; x=y"), png).unwrap(), "image/png");
        assert_eq!(check(None, png).unwrap(), "image/png");
        assert_eq!(
            check(Some("application/octet-stream"), b"%PDF-1.7\n").unwrap(),
            "application/pdf"
        );
        assert_eq!(check(Some("text/csv"), b"a,b\n1,2\n").unwrap(), "text/csv");
        assert_eq!(check(None, b"plain words").unwrap(), "text/plain");
        assert_eq!(
            check(Some("application/json"), br#"{"a": 1}"#).unwrap(),
            "application/json"
        );
        assert!(check(Some("application/json"), b"not json").is_err());
        assert!(check(Some("text/xml"), b"<a/>").is_ok());
        assert!(check(Some("application/xml"), b"nope").is_err());
        assert!(check(Some("image/png"), b"#!/bin/sh\nrm -rf /\n").is_err());
        assert!(check(Some("image/png"), b"\xFF\xD8\xFF\xE0").is_err());
        assert!(check(Some("text/plain"), b"MZ\x90\0\x03\0\0\0").is_err());
        assert!(check(None, b"MZ\x90\0\x03\0\0\0").is_err());
        assert!(check(Some("application/x-msdownload"), b"MZ").is_err());
        assert!(check(Some("text/html"), b"<html>").is_err());
        assert_eq!(
            check(
                Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                b"PK\x03\x04rest"
            )
            .unwrap(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
    }

    fn name(raw: &str) -> Result<String, ()> {
        let mut errors = ValidationErrors::default();
        let n = safe_filename("filename", raw, &mut errors);
        if errors.0.is_empty() { Ok(n) } else { Err(()) }
    }

    #[test]
    fn file_names_lose_directories_and_control_characters() {
        assert_eq!(name("report.pdf").unwrap(), "report.pdf");
        assert_eq!(name("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(name("C:\\Users\\me\\log.txt").unwrap(), "log.txt");
        assert_eq!(name("bad\r\nname\0.txt").unwrap(), "badname.txt");
        assert_eq!(name("invoice\u{202e}fdp.exe").unwrap(), "invoicefdp.exe");
        assert_eq!(name("say \"hi\".txt").unwrap(), "say 'hi'.txt");
        assert!(name("").is_err());
        assert!(name("../").is_err());
        assert!(name("..").is_err());
        assert!(name(&"a".repeat(201)).is_err());
        assert!(name(&"é".repeat(200)).is_ok());
    }

    #[test]
    fn every_problem_of_an_upload_names_its_field() {
        let errors = check_file("fields.x", "fields.x", "", None, b"", 10).unwrap_err();
        assert_eq!(errors.0.len(), 2);
        assert!(errors.0.iter().all(|e| e.field == "fields.x"));

        let errors = check_file("file", "filename", "a.txt", None, b"eleven byte", 10).unwrap_err();
        assert_eq!(errors.0[0].message, "must be at most 10 bytes");

        let file = check_file(
            "file",
            "filename",
            "dir/a.txt",
            Some("text/plain"),
            b"abc",
            10,
        )
        .unwrap();
        assert_eq!(file.filename, "a.txt");
        assert_eq!(file.content_type, "text/plain");
        assert_eq!(file.size_bytes, 3);
        assert_eq!(file.sha256, sha256_hex(b"abc"));
    }
}
