//! What the attachment routes of every ticket kind (incidents, service requests) share: the
//! attachment as the API shows it, the multipart upload read within its size limits, and the
//! download response.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use dsms_core::ValidationErrors;
use dsms_core::attachment::Attachment;
use serde::Serialize;
use utoipa::ToSchema;

use crate::multipart::{MULTIPART_OVERHEAD, is_form_data, read_multipart};
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
    let parts = read_multipart(req, payload.into_inner(), limit, cap, |n, _| n == "file").await?;
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
