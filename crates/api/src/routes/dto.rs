//! Shapes shared by several resources, and the conventions every response follows: ids as
//! strings, RFC 3339 UTC timestamps, `ETag` carrying the version, `If-Match` honoured.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{NaiveDateTime, SecondsFormat};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::problem::ApiError;

/// An RFC 3339 UTC timestamp with second precision, as every response shows times.
pub(crate) fn time(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An optional timestamp.
pub(crate) fn time_opt(at: Option<NaiveDateTime>) -> Option<String> {
    at.map(time)
}

/// Accepts an id given as a string (as the API writes them) or as a number.
pub(crate) fn id_from_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(i64),
    }
    match Raw::deserialize(d)? {
        Raw::Number(n) => Ok(n),
        Raw::Text(t) => t
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom("must be an id such as \"12\"")),
    }
}

/// The optional form of [`id_from_string_or_number`].
pub(crate) fn opt_id_from_string_or_number<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<i64>, D::Error> {
    id_from_string_or_number(d).map(Some)
}

/// `limit` and `cursor` of every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// Items per page, 1 to 500 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub(crate) fn page(&self) -> Result<dsms_core::PageRequest, ApiError> {
        dsms_core::PageRequest::parse(self.limit, self.cursor.as_deref())
            .map_err(|e| ApiError::Validation(e.into()))
    }
}

/// A page of items.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ListOf<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> ListOf<T> {
    pub(crate) fn from_page<U>(page: dsms_core::Page<U>, f: impl FnMut(U) -> T) -> Self {
        let page = page.map(f);
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

/// The version an `If-Match` header names, if any; a malformed header is a 412 because it
/// cannot match.
pub(crate) fn if_match(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    text.parse().map(Some).map_err(|_| {
        ApiError::VersionMismatch(format!(
            "If-Match must be an ETag this API returned, such as \"3\"; got {text:?}"
        ))
    })
}

/// A 200 response carrying `body` and its version as the `ETag`.
pub(crate) fn with_etag<T: Serialize>(version: i64, body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, format!("\"{version}\"")))
        .json(body)
}

/// A 201 response with `Location` and `ETag`.
pub(crate) fn created<T: Serialize>(
    location: String,
    version: Option<i64>,
    body: &T,
) -> HttpResponse {
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, location));
    if let Some(version) = version {
        response.insert_header((header::ETAG, format!("\"{version}\"")));
    }
    response.json(body)
}

/// The organisation a person acts for, in brief.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrganisationRef {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// The `Idempotency-Key` of a create, if one was sent.
pub(crate) fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::invalid(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            )
        })?;
    Ok(Some(key.to_owned()))
}

/// Keys belong to a caller and a route: two callers may use the same key.
pub(crate) fn idempotency_scope(principal: &dsms_core::Principal, route: &str) -> String {
    format!(
        "{}:{} {route}",
        principal.actor.kind(),
        principal.actor.identifier()
    )
}

/// A digest of a parsed request body. serde_json's maps are ordered, so the same JSON with its
/// members in another order or other spacing digests the same.
pub(crate) fn request_digest(body: &serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(body.to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The response kept for a retried idempotency key, marked as a replay.
pub(crate) fn replayed(kept: dsms_store::idempotency::Recorded) -> HttpResponse {
    let mut response = HttpResponse::build(
        actix_web::http::StatusCode::from_u16(u16::try_from(kept.status).unwrap_or(201))
            .unwrap_or(actix_web::http::StatusCode::CREATED),
    );
    if let Some(location) = kept.location {
        response.insert_header((header::LOCATION, location));
    }
    response
        .insert_header(("Idempotent-Replayed", "true"))
        .content_type("application/json")
        .body(kept.body)
}
