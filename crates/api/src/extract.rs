use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::problem::ApiError;

/// The largest request body accepted, in bytes; set as app data, 1 MiB when absent.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl Default for BodyLimit {
    fn default() -> Self {
        Self(1024 * 1024)
    }
}

/// A JSON request body, read strictly: `application/json` (or a `+json` type) only, within the
/// body limit, and deserialized so that every fault names its field.
///
/// Syntax errors are 400 (malformed); a well-formed body with a missing, unknown or mistyped
/// field is 422 (validation) naming the field's path.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<BodyLimit>()
            .or_else(|| req.app_data::<web::Data<BodyLimit>>().map(|d| d.get_ref()))
            .copied()
            .unwrap_or_default()
            .0;
        let content_type = check_content_type(req);
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            content_type?;
            if declared_length.is_some_and(|n| n > limit) {
                return Err(ApiError::PayloadTooLarge(limit));
            }
            let mut body = web::BytesMut::with_capacity(declared_length.unwrap_or(0).min(limit));
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|e| ApiError::Malformed(format!("the body could not be read: {e}")))?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge(limit));
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(Json)
        })
    }
}

fn check_content_type(req: &HttpRequest) -> Result<(), ApiError> {
    let mime = req.mime_type().map_err(|_| {
        ApiError::UnsupportedMediaType("the Content-Type header is not a valid media type".into())
    })?;
    match mime {
        Some(m)
            if m.type_() == "application"
                && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json")) =>
        {
            Ok(())
        }
        Some(m) => Err(ApiError::UnsupportedMediaType(format!(
            "the body must be application/json, not {m}"
        ))),
        None => Err(ApiError::UnsupportedMediaType(
            "the body must be application/json; no Content-Type was given".into(),
        )),
    }
}

/// Deserializes `body`, naming the offending field on failure.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                // serde_path_to_error already ends the path with an unknown field's name; a
                // missing field is reported against its parent, so name the field itself.
                let field = match quoted_after(&message, "missing field `") {
                    Some(name) if path == "." => name,
                    Some(name) => format!("{path}.{name}"),
                    None if path == "." => "body".to_owned(),
                    None => path,
                };
                ApiError::invalid(&field, clean_message(&inner.to_string()))
            }
            _ => ApiError::Malformed(format!("the body is not valid JSON: {inner}")),
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::Malformed(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Converts an already parsed JSON body into `T`, naming the offending field on failure.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        let field = match quoted_after(&message, "missing field `") {
            Some(name) if path == "." => name,
            Some(name) => format!("{path}.{name}"),
            None if path == "." => "body".to_owned(),
            None => path,
        };
        ApiError::invalid(&field, message)
    })
}

/// serde reports missing and unknown fields against their parent object; name the field itself.
fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    Some(rest[..rest.find('`')?].to_owned())
}

/// serde's messages end with a source position that means nothing to an API client.
fn clean_message(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// The request's id, as echoed in `X-Request-Id`; set by [`crate::middleware::request_id`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl FromRequest for RequestId {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            req.extensions()
                .get::<RequestId>()
                .cloned()
                .ok_or_else(|| ApiError::Internal("request id middleware missing".into())),
        )
    }
}

/// Query-string errors become 422 problems naming the parameter.
pub(crate) fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _| {
        let message = error.to_string();
        let field = message
            .split('`')
            .nth(1)
            .filter(|_| message.contains("field `"))
            .unwrap_or("query")
            .to_owned();
        ApiError::invalid(&field, clean_message(&message)).into()
    })
}

/// Path-segment errors (an id that is not a number) become 404: such a resource cannot exist.
pub(crate) fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        title: String,
        impact: u8,
        devices: Vec<String>,
    }

    fn field_of(error: ApiError) -> String {
        match error {
            ApiError::Validation(errors) => errors.0[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn reads_a_valid_body() {
        let body: Body =
            parse_json(br#"{"title": "t", "impact": 2, "devices": ["00-0A"]}"#).unwrap();
        assert_eq!((body.title.as_str(), body.impact), ("t", 2));
        assert_eq!(body.devices, ["00-0A"]);
    }

    #[test]
    fn names_the_missing_field() {
        let e = parse_json::<Body>(br#"{"impact": 1, "devices": []}"#).unwrap_err();
        assert_eq!(field_of(e), "title");
    }

    #[test]
    fn names_the_mistyped_nested_field() {
        let e =
            parse_json::<Body>(br#"{"title": "t", "impact": 1, "devices": ["a", 2]}"#).unwrap_err();
        assert_eq!(field_of(e), "devices[1]");
    }

    #[test]
    fn names_the_unknown_field() {
        let e = parse_json::<Body>(br#"{"title": "t", "impact": 1, "devices": [], "x": 1}"#)
            .unwrap_err();
        match e {
            ApiError::Validation(errors) => {
                assert_eq!(errors.0[0].field, "x");
                assert!(errors.0[0].message.contains("unknown field `x`"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn syntax_errors_are_malformed() {
        assert!(matches!(
            parse_json::<Body>(b"{\"title\": "),
            Err(ApiError::Malformed(_))
        ));
        assert!(matches!(
            parse_json::<Body>(br#"{"title": "t", "impact": 1, "devices": []} trailing"#),
            Err(ApiError::Malformed(_))
        ));
    }
}
