//! Cross-cutting request handling: request ids and access logs, metrics, and turning every error
//! response (including the framework's own 404/405 and extractor failures) into problem+json.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::ConnectionType;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers, Next};
use actix_web::{HttpMessage, HttpResponse, ResponseError, web};
use tracing::Instrument;

use crate::extract::RequestId;
use crate::metrics::Metrics;
use crate::problem::{ApiError, PROBLEM_JSON, Problem, problem_type};

/// The header carrying the request id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Gives every request an id (the client's `X-Request-Id` when it is sane, a new UUIDv7
/// otherwise), runs it inside a tracing span carrying that id, logs one access line, and echoes
/// the id on the response.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_acceptable_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.path(),
    );
    let started = Instant::now();
    let outcome = next.call(req).instrument(span.clone()).await;
    let header_value = HeaderValue::from_str(&id).ok();
    let _entered = span.enter();
    match outcome {
        Ok(mut res) => {
            if let Some(value) = header_value {
                res.headers_mut().insert(REQUEST_ID, value);
            }
            tracing::info!(
                status = res.status().as_u16(),
                elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                "handled"
            );
            Ok(res)
        }
        Err(error) => {
            tracing::warn!(%error, "request failed before a response was built");
            Err(error)
        }
    }
}

/// A client-chosen id is echoed only if it cannot smuggle anything into logs or headers.
fn is_acceptable_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Counts requests and their latency per route pattern (never per raw path, which would let any
/// client create unbounded series).
pub async fn metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().to_string();
    let started = Instant::now();
    let res = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        metrics.observe_request(&method, &route, res.status().as_u16(), started.elapsed());
    }
    Ok(res)
}

/// How long a client may pause while sending a request body (`http.client_body_timeout_ms`);
/// registered as app data. The head has its own limit in the HTTP server.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

/// The slowest average a body may arrive at once it has been arriving for [`BodyTimeout`]: far
/// below any real link, far above a client trickling bytes to hold the request open.
const MIN_BODY_BYTES_PER_SEC: f64 = 1024.0;

/// A request body that fails once its client has sent nothing for the timeout, or has been
/// sending for longer than the timeout at under [`MIN_BODY_BYTES_PER_SEC`] on average, so a
/// client stopping mid-body or trickling it cannot hold a worker's request open.
struct TimedBody {
    inner: Payload,
    limit: Duration,
    /// Started when the handler first waits for data, restarted by every chunk.
    timer: Option<Pin<Box<actix_web::rt::time::Sleep>>>,
    /// When the handler first asked for the body.
    started: Option<Instant>,
    received: usize,
    stalled: Rc<Cell<bool>>,
}

impl TimedBody {
    fn stall(&self, why: &str) -> Poll<Option<Result<web::Bytes, PayloadError>>> {
        self.stalled.set(true);
        Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            why.to_owned(),
        )))))
    }
}

impl futures_util::Stream for TimedBody {
    type Item = Result<web::Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.stalled.get() {
            return Poll::Ready(None);
        }
        let started = *this.started.get_or_insert_with(Instant::now);
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(item) => {
                this.timer = None;
                if let Some(Ok(chunk)) = &item {
                    this.received = this.received.saturating_add(chunk.len());
                    let elapsed = started.elapsed();
                    if elapsed > this.limit
                        && (this.received as f64) < MIN_BODY_BYTES_PER_SEC * elapsed.as_secs_f64()
                    {
                        return this.stall("the client is sending the request body too slowly");
                    }
                }
                Poll::Ready(item)
            }
            Poll::Pending => {
                let limit = this.limit;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(actix_web::rt::time::sleep(limit)));
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.stall("the client stopped sending the request body")
            }
        }
    }
}

/// Answers 408 problem+json and closes the connection when the client pauses mid-body longer
/// than [`BodyTimeout`] (when registered) or trickles the body in, whatever the handler made of
/// the cut-off body.
pub async fn body_timeout(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let declares_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    let limit = req.app_data::<BodyTimeout>().map(|t| t.0);
    let Some(limit) = limit.filter(|_| declares_body) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let stalled = Rc::new(Cell::new(false));
    let body: Pin<Box<dyn futures_util::Stream<Item = _>>> = Box::pin(TimedBody {
        inner: req.take_payload(),
        limit,
        timer: None,
        started: None,
        received: 0,
        stalled: stalled.clone(),
    });
    req.set_payload(Payload::from(body));
    let res = next.call(req).await?;
    if !stalled.get() {
        return Ok(res.map_into_left_body());
    }
    let problem = Problem {
        kind: problem_type("request-timeout"),
        title: "Request timeout".into(),
        status: StatusCode::REQUEST_TIMEOUT.as_u16(),
        detail: format!(
            "the request body stopped arriving for {} ms, or arrived at under {} bytes a second",
            limit.as_millis(),
            MIN_BODY_BYTES_PER_SEC
        ),
        errors: Vec::new(),
        extensions: serde_json::Map::new(),
    };
    let mut response = HttpResponse::build(StatusCode::REQUEST_TIMEOUT)
        .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
        .body(serde_json::to_string(&problem).unwrap_or_default());
    response
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    let (req, _) = res.into_parts();
    Ok(ServiceResponse::new(req, response).map_into_right_body())
}

/// Sets the security headers every response carries.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(res)
}

/// Rewrites any error response that is not already problem+json — the framework's 404 and 405,
/// extractor failures, anything unforeseen — into a problem with the matching stable type.
pub fn problem_errors<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(|res: ServiceResponse<B>| Ok(as_problem(res)))
}

fn as_problem<B: MessageBody + 'static>(res: ServiceResponse<B>) -> ErrorHandlerResponse<B> {
    // Problems are left as they are, and so are the web UI's own HTML error pages.
    let already = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()) || v.as_bytes().starts_with(b"text/html")
    });
    if already {
        return ErrorHandlerResponse::Response(res.map_into_left_body());
    }
    let status = res.status();
    let detail = res
        .response()
        .error()
        .map(|e| e.to_string())
        .filter(|d| !d.is_empty());
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed(format!(
            "{} is not supported on {}",
            res.request().method(),
            res.request().path()
        )),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(
            res.request()
                .app_data::<crate::BodyLimit>()
                .copied()
                .unwrap_or_default()
                .0,
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(
            detail.unwrap_or_else(|| "unsupported media type".into()),
        ),
        s if s.is_server_error() => ApiError::Internal(detail.unwrap_or_else(|| s.to_string())),
        _ => ApiError::Malformed(detail.unwrap_or_else(|| status.to_string())),
    };
    let mut response: HttpResponse<BoxBody> = error.error_response();
    // Keep the original status: a framework error with an unusual code (e.g. 408) stays that code.
    *response.status_mut() = status;
    let (req, original) = res.into_parts();
    for (name, value) in original.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    ErrorHandlerResponse::Response(ServiceResponse::new(req, response).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::is_acceptable_id;

    #[test]
    fn request_ids_from_clients_are_checked() {
        assert!(is_acceptable_id("abc-123_X.y:z"));
        assert!(!is_acceptable_id(""));
        assert!(!is_acceptable_id("has space"));
        assert!(!is_acceptable_id("line\nbreak"));
        assert!(!is_acceptable_id(&"a".repeat(129)));
    }
}
