//! Reading a file posted from a page's upload form (`multipart/form-data`) without holding
//! more than the configured limit, through the API's multipart reader (the body is cut off past
//! the limit plus the form's framing); and the download of an attached file.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use dsms_api::ApiError;
use dsms_api::multipart::read_multipart;
use dsms_core::attachment::Attachment;

/// Room for the form's other fields and the multipart framing.
const FRAMING: usize = 16 * 1024;

/// A file posted with the page's form fields.
#[derive(Debug, Default)]
pub(crate) struct Upload {
    /// The form's CSRF token.
    pub csrf_token: String,
    /// The file's name as the browser gave it.
    pub filename: String,
    /// The type the browser declared.
    pub content_type: Option<String>,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// A work note's file (the service desk only).
    pub internal: bool,
    /// The form's other text fields, by name, in the order sent.
    pub fields: Vec<(String, String)>,
}

/// Reads the upload, or says in a sentence why it cannot be used.
pub(crate) async fn read(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Upload, String> {
    let too_large = || format!("The file must be at most {} MB.", limit / (1024 * 1024));
    let parts = read_multipart(
        req,
        payload.into_inner(),
        limit,
        limit.saturating_add(FRAMING),
        |name, _| name == "file",
    )
    .await
    .map_err(|e| unreadable(e, too_large))?;
    let mut upload = Upload::default();
    for file in parts.files {
        if file.too_large {
            return Err(too_large());
        }
        upload.filename = file.filename;
        upload.content_type = file.content_type;
        upload.bytes = file.bytes;
    }
    for (name, value) in parts.texts {
        match name.as_str() {
            "csrf_token" => upload.csrf_token = String::from_utf8_lossy(&value).into_owned(),
            "visibility" => upload.internal = value == b"work_note",
            _ => upload
                .fields
                .push((name, String::from_utf8_lossy(&value).into_owned())),
        }
    }
    if upload.bytes.is_empty() {
        return Err("Choose a file to attach.".to_owned());
    }
    Ok(upload)
}

/// Why a posted form could not be read, in a sentence.
fn unreadable(error: ApiError, too_large: impl Fn() -> String) -> String {
    match error {
        ApiError::PayloadTooLarge(_) => too_large(),
        other => format!("The form could not be read: {other}."),
    }
}

/// One file of a posted form.
#[derive(Debug)]
pub(crate) struct PostedFile {
    /// The form input's name.
    pub input: String,
    /// The file's name as the browser gave it.
    pub filename: String,
    /// The type the browser declared.
    pub content_type: Option<String>,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Whether the request's body is `multipart/form-data`.
pub(crate) fn is_multipart(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("multipart/form-data"))
}

/// Reads a form posted as `multipart/form-data` with files for any of its inputs: the text
/// fields in the order sent, and each file chosen (inputs left empty send no bytes and are
/// dropped). The whole body is cut off at `cap`; says in a sentence why it cannot be used.
pub(crate) async fn read_form(
    req: &HttpRequest,
    payload: web::Payload,
    cap: usize,
) -> Result<(Vec<(String, String)>, Vec<PostedFile>), String> {
    let too_large = || {
        format!(
            "The files must be at most {} MB together.",
            cap / (1024 * 1024)
        )
    };
    let parts = read_multipart(
        req,
        payload.into_inner(),
        cap,
        cap.saturating_add(FRAMING),
        |_, has_file_name| has_file_name,
    )
    .await
    .map_err(|e| unreadable(e, too_large))?;
    let mut files = Vec::new();
    for file in parts.files {
        if file.too_large {
            return Err(too_large());
        }
        if !(file.filename.is_empty() && file.bytes.is_empty()) {
            files.push(PostedFile {
                input: file.name,
                filename: file.filename,
                content_type: file.content_type,
                bytes: file.bytes,
            });
        }
    }
    let fields = parts
        .texts
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    Ok((fields, files))
}

/// Downloads an attached file: always as an attachment, never shown inline, so a file cannot
/// act as a page of this site.
pub(crate) fn download(attachment: Attachment, bytes: Vec<u8>) -> HttpResponse {
    let ascii: String = attachment
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    HttpResponse::Ok()
        .content_type(attachment.content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{ascii}\""),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        ))
        .body(bytes)
}
