//! Reading `multipart/form-data` bodies from untrusted clients within size limits: the one
//! place the API parses multipart framing (attachment uploads, requests raised with files), and
//! the surface the `multipart` fuzz target drives.

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::problem::ApiError;

/// Room for the multipart framing around the files: boundaries, part headers, small parts.
pub const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// The most bytes kept of a part that is not a file.
pub const TEXT_PART_LIMIT: usize = 1024 * 1024;

/// One file part of a multipart body.
pub struct FilePart {
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
pub struct Parts {
    /// The file parts, in order.
    pub files: Vec<FilePart>,
    /// The other parts, by name, in order.
    pub texts: Vec<(String, Vec<u8>)>,
}

/// Whether the request's body is `multipart/form-data`.
pub fn is_form_data(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<actix_web::mime::Mime>().ok())
        .is_some_and(|m| m.type_() == "multipart" && m.subtype() == "form-data")
}

/// Reads a multipart body without ever holding more than `cap` bytes of it: a body declared
/// or found larger is refused with 413 as soon as that is known. Parts that `is_file` picks, by
/// their name and whether they carry a file name, are files: one larger than `file_limit` is
/// read through but not kept (`too_large`). The JSON body limit does not apply here; the
/// caller's own does.
pub async fn read_multipart(
    req: &HttpRequest,
    payload: actix_web::dev::Payload,
    file_limit: usize,
    cap: usize,
    is_file: impl Fn(&str, bool) -> bool,
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
        let filename = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_owned);
        if is_file(&name, filename.is_some()) {
            let filename = filename.unwrap_or_default();
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

/// The most bytes a multipart body with files for several fields may have: twice the file
/// limit (so a file over the limit is named in the 422 rather than cut off), and framing.
pub fn form_cap(limit: usize) -> usize {
    limit.saturating_mul(2).saturating_add(MULTIPART_OVERHEAD)
}
