//! What the attachment routes of every ticket kind (incidents, service requests) share: the
//! attachment as the API shows it, the multipart upload read within its size limits, and the
//! download response.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use dsms_core::ValidationErrors;
use dsms_core::attachment::Attachment;
use serde::Serialize;
use utoipa::ToSchema;

use crate::problem::ApiError;
use crate::routes::dto::time;
use crate::routes::incidents::PartyOut;

/// A file attached to a ticket (its bytes are at `GET .../attachments/{id}`).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttachmentOut {
    id: String,
    /// The file's name, without directories or control characters.
    filename: String,
    /// The media type, checked against the file's content.
    content_type: String,
    size_bytes: i64,
    /// SHA-256 of the content, lowercase hex.
    sha256: String,
    /// Attached to a work note: only the service desk sees it.
    internal: bool,
    uploaded_by: PartyOut,
    created_at: String,
}

impl From<Attachment> for AttachmentOut {
    fn from(a: Attachment) -> Self {
        Self {
            id: a.id.to_string(),
            filename: a.filename,
            content_type: a.content_type,
            size_bytes: a.size_bytes,
            sha256: a.sha256,
            internal: a.internal,
            uploaded_by: PartyOut {
                kind: a.uploaded_by_kind,
                id: a.uploaded_by_id.to_string(),
                name: a.uploaded_by_name,
            },
            created_at: time(a.created_at),
        }
    }
}

/// A file to attach, as `multipart/form-data`.
#[derive(Debug, ToSchema)]
#[allow(
    dead_code,
    reason = "describes the multipart body for the OpenAPI document only"
)]
pub(crate) struct AttachmentUpload {
    /// The file, with its name in the part's `filename` and its media type in the part's
    /// `Content-Type`. Accepted: PDF, PNG, JPEG, GIF, plain text, CSV, logs, ZIP (and so XLSX
    /// and DOCX), JSON and XML; the content must agree with the declared type.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// `true` to attach it to the work notes (service desk only).
    internal: Option<bool>,
}

/// Room for the multipart framing around the files: boundaries, part headers, small parts.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// The most bytes kept of a part that is not a file.
const TEXT_PART_LIMIT: usize = 1024 * 1024;

/// One file part of a multipart body.
pub(crate) struct FilePart {
    /// The part's name.
    pub name: String,
    /// The file's name as sent.
    pub filename: String,
    /// The media type as sent.
    pub content_type: Option<String>,
    /// Its bytes; empty when it was larger than the limit.
    pub bytes: Vec<u8>,
    /// It was larger than the limit, so its bytes were not kept.
    pub too_large: bool,
}

/// The parts of a multipart body.
pub(crate) struct Parts {
    /// The file parts, in order.
    pub files: Vec<FilePart>,
    /// The other parts, by name, in order.
    pub texts: Vec<(String, Vec<u8>)>,
}

/// Whether the request's body is `multipart/form-data`.
pub(crate) fn is_form_data(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<actix_web::mime::Mime>().ok())
        .is_some_and(|m| m.type_() == "multipart" && m.subtype() == "form-data")
}

/// Reads a multipart body without ever holding more than `cap` bytes of it: a body declared
/// or found larger is refused with 413 as soon as that is known. Parts that `is_file` names are
/// files: one larger than `file_limit` is read through but not kept (`too_large`). The JSON
/// body limit does not apply here; the caller's own does.
pub(crate) async fn read_multipart(
    req: &HttpRequest,
    payload: actix_web::dev::Payload,
    file_limit: usize,
    cap: usize,
    is_file: impl Fn(&str) -> bool,
) -> Result<Parts, ApiError> {
    use futures_util::StreamExt;

    let declared_length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared_length.is_some_and(|n| n > cap) {
        return Err(ApiError::PayloadTooLarge(file_limit));
    }
    // The whole body, framing included, is cut off at `cap`, whatever it declared.
    let mut seen = 0usize;
    let capped = payload.map(move |chunk| {
        let chunk = chunk?;
        seen = seen.saturating_add(chunk.len());
        if seen > cap {
            Err(actix_web::error::PayloadError::Overflow)
        } else {
            Ok(chunk)
        }
    });
    let mut multipart = actix_multipart::Multipart::new(req.headers(), capped);
    let mut parts = Parts {
        files: Vec::new(),
        texts: Vec::new(),
    };
    let read_error = |e: actix_multipart::MultipartError| match e {
        actix_multipart::MultipartError::Payload(actix_web::error::PayloadError::Overflow) => {
            ApiError::PayloadTooLarge(file_limit)
        }
        other => ApiError::Malformed(format!("the multipart body could not be read: {other}")),
    };
    while let Some(field) = multipart.next().await {
        let too_large_before = parts.files.iter().any(|f| f.too_large);
        let mut field = match field {
            Ok(field) => field,
            // Past an oversized file, a cut-off stream is that file's doing.
            Err(_) if too_large_before => return Err(ApiError::PayloadTooLarge(file_limit)),
            Err(e) => return Err(read_error(e)),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if is_file(&name) {
            let filename = field
                .content_disposition()
                .and_then(|d| d.get_filename())
                .unwrap_or_default()
                .to_owned();
            let content_type = field.content_type().map(|m| m.essence_str().to_owned());
            let mut bytes = Vec::new();
            let mut too_large = false;
            while let Some(chunk) = field.next().await {
                let chunk = match chunk {
                    Ok(chunk) => chunk,
                    Err(_) if too_large => return Err(ApiError::PayloadTooLarge(file_limit)),
                    Err(e) => return Err(read_error(e)),
                };
                if too_large {
                    continue;
                }
                if bytes.len() + chunk.len() > file_limit {
                    // Keep reading (within the cap) but nothing more, so the client sees the
                    // answer rather than a connection cut while it is still sending.
                    too_large = true;
                    bytes = Vec::new();
                    continue;
                }
                bytes.extend_from_slice(&chunk);
            }
            parts.files.push(FilePart {
                name,
                filename,
                content_type,
                bytes,
                too_large,
            });
        } else {
            let mut value = Vec::new();
            let mut overflow = false;
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(read_error)?;
                if overflow || value.len() + chunk.len() > TEXT_PART_LIMIT {
                    overflow = true;
                    value.clear();
                } else {
                    value.extend_from_slice(&chunk);
                }
            }
            if overflow {
                return Err(ApiError::invalid(
                    &name,
                    format!("must be at most {TEXT_PART_LIMIT} bytes"),
                ));
            }
            parts.texts.push((name, value));
        }
    }
    Ok(parts)
}

/// The parts of an attachment upload.
pub(crate) struct Upload {
    /// The file's name as sent.
    pub filename: String,
    /// The media type as sent.
    pub content_type: Option<String>,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// For the work notes.
    pub internal: bool,
}

/// Reads an attachment upload (a `file` part and optionally `internal`) from `payload` without
/// ever holding more than `limit` bytes of file: a larger file is refused with 413, other media
/// types with 415.
pub(crate) async fn read_upload(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Upload, ApiError> {
    if !is_form_data(req) {
        return Err(ApiError::UnsupportedMediaType(
            "attach a file as multipart/form-data with a `file` part".into(),
        ));
    }
    let cap = limit.saturating_add(MULTIPART_OVERHEAD);
    let parts = read_multipart(req, payload.into_inner(), limit, cap, |n| n == "file").await?;
    if parts.files.iter().any(|f| f.too_large) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let mut errors = ValidationErrors::default();
    let mut internal = false;
    for (name, value) in &parts.texts {
        match name.as_str() {
            "internal" => match std::str::from_utf8(value).map(str::trim) {
                Ok("true") => internal = true,
                Ok("false") | Ok("") => internal = false,
                _ => errors.push("internal", "must be true or false"),
            },
            other => errors.push(
                if other.is_empty() { "body" } else { other },
                "is not a part of an attachment upload; send `file` and optionally `internal`",
            ),
        }
    }
    if parts.files.len() > 1 {
        errors.push("file", "send one file per request");
    }
    if parts.files.is_empty() {
        errors.push("file", "is required: a multipart part named `file`");
    }
    errors.into_result()?;
    let file = parts
        .files
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::invalid("file", "is required"))?;
    Ok(Upload {
        filename: file.filename,
        content_type: file.content_type,
        bytes: file.bytes,
        internal,
    })
}

/// The most bytes a multipart body with files for several fields may have: twice the file
/// limit (so a file over the limit is named in the 422 rather than cut off), and framing.
pub(crate) fn form_cap(limit: usize) -> usize {
    limit.saturating_mul(2).saturating_add(MULTIPART_OVERHEAD)
}

/// `filename*` of RFC 6266 / RFC 5987: UTF-8, percent-encoding all but `attr-char`.
fn rfc5987(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A plain ASCII stand-in for old clients that ignore `filename*`.
fn ascii_filename(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A download of an attached file: its stored media type, as an attachment (never rendered
/// inline), sandboxed and never cached.
pub(crate) fn download(attachment: &Attachment, bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, attachment.content_type.as_str()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"{}\"; filename*=UTF-8''{}",
                ascii_filename(&attachment.filename),
                rfc5987(&attachment.filename)
            ),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "sandbox"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(bytes)
}
