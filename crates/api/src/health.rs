use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::metrics::Metrics;
use crate::problem::ApiError;
use crate::state::ApiState;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").get(healthz))
        .service(web::resource("/readyz").get(readyz))
        .service(web::resource("/metrics").get(metrics));
}

/// The answer of the health endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// `ok` (alive) or `ready` (able to serve).
    status: &'static str,
    /// The database backend in use (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<&'static str>,
}

/// Liveness: the process is up and serving HTTP. Never touches the database, so a database
/// outage does not get the process restarted.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is alive", body = Health)))]
pub(crate) async fn healthz() -> web::Json<Health> {
    web::Json(Health {
        status: "ok",
        database: None,
    })
}

/// Readiness: the database answers and every migration is applied.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "Not ready: the database is unreachable or not migrated",
         body = crate::Problem, content_type = "application/problem+json")))]
pub(crate) async fn readyz(state: web::Data<ApiState>) -> Result<web::Json<Health>, ApiError> {
    let db = state.db.clone();
    let backend = db.backend().name();
    db.read(|_| Ok::<_, ApiError>(())).await?;
    let db = state.db.clone();
    actix_web::rt::task::spawn_blocking(move || db.check_ready())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Unavailable(format!("not ready: {e}")))?;
    Ok(web::Json(Health {
        status: "ready",
        database: Some(backend),
    }))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Metrics", content_type = "text/plain", body = String)))]
pub(crate) async fn metrics(
    state: web::Data<ApiState>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, ApiError> {
    let (open, idle) = state.db.pool_state();
    metrics.set_pool(open, idle);
    if let Ok(counts) = state.db.read(dsms_store::outbox::count_by_status).await {
        metrics.set_outbox(&counts);
    }
    Ok(HttpResponse::Ok()
        .insert_header(ContentType(
            "text/plain; version=0.0.4; charset=utf-8"
                .parse()
                .map_err(|_| ApiError::Internal("bad metrics media type".into()))?,
        ))
        .body(metrics.render()))
}
