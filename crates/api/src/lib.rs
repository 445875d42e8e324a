//! The dsms REST API: routes under `/api/v1` plus the operational endpoints (`/healthz`,
//! `/readyz`, `/metrics`), the strict JSON extractor, `application/problem+json` errors for every
//! failure, request ids, metrics, and the OpenAPI document generated from the code.
//!
//! Handlers are thin: they extract, call a context crate with a domain command, and map the
//! result. Nothing here touches SQL; storage is reached only through the context crates.

pub mod auth;
mod extract;
mod health;
mod metrics;
pub mod middleware;
pub mod multipart;
mod openapi;
mod problem;
pub mod rate_limit;
mod routes;
mod state;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, web};

pub use extract::{BodyLimit, Json, RequestId, from_value};
pub use metrics::Metrics;
pub use openapi::openapi;
pub use problem::{ApiError, Problem, problem_type};
pub use rate_limit::{RateLimitSettings, RateLimits};
pub use routes::reports::report_file;
pub use state::ApiState;

/// The application with its middleware stack and every API route; the server adds other route
/// sets (the web UI) with `.configure`. Middleware wraps everything registered, whenever added.
pub fn app(
    state: web::Data<ApiState>,
    metrics: web::Data<Metrics>,
    limit: BodyLimit,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .app_data(metrics)
        .app_data(limit)
        .app_data(web::PayloadConfig::new(limit.0))
        .wrap(middleware::problem_errors())
        .wrap(from_fn(middleware::body_timeout))
        // Inside the headers and metrics, so a 429 carries both and is counted per route.
        .wrap(from_fn(rate_limit::limit))
        .wrap(from_fn(middleware::security_headers))
        .wrap(from_fn(middleware::metrics))
        .wrap(from_fn(middleware::request_id))
        .configure(configure)
        .default_service(web::to(not_found))
}

/// Mounts every route of the API and the operational endpoints.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(extract::query_config())
        .app_data(extract::path_config())
        .configure(health::configure)
        // Before the /api/v1 scope, which would otherwise answer 404 for the document.
        .configure(openapi::configure)
        .configure(routes::configure);
}

/// The answer for a path no route matches.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}
