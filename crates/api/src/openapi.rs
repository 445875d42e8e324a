use actix_web::{HttpResponse, http::header, web};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::problem::{Problem, ProblemField};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "dsms",
        description = "Service management for the smart-metering network: incidents, service \
                       requests, communications-hub orders and returns, reports. Errors are \
                       application/problem+json (RFC 9457) with a stable `type`.",
    ),
    paths(crate::health::healthz, crate::health::readyz, crate::health::metrics),
    components(schemas(Problem, ProblemField)),
    tags((name = "operations", description = "Health, readiness and metrics"))
)]
struct ApiDoc;

/// The OpenAPI 3.1 document describing every route, generated from the code.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// Serves the document at `/api/v1/openapi.json` and the interactive docs (Swagger UI, shipped
/// inside the binary) at `/api/docs/`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/docs").get(docs_slash))
        .service(SwaggerUi::new("/api/docs/{_:.*}").url("/api/v1/openapi.json", openapi()));
}

async fn docs_slash() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/api/docs/"))
        .finish()
}
