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
    paths(
        crate::health::healthz,
        crate::health::readyz,
        crate::health::metrics,
        crate::routes::auth::login,
        crate::routes::auth::enrol,
        crate::routes::auth::confirm,
        crate::routes::auth::verify,
        crate::routes::auth::logout,
        crate::routes::auth::me,
        crate::routes::auth::change_password,
        crate::routes::auth::request_reset,
        crate::routes::auth::confirm_reset,
        crate::routes::auth::accept_invitation,
        crate::routes::organisations::create,
        crate::routes::organisations::list,
        crate::routes::organisations::get,
        crate::routes::organisations::update,
        crate::routes::users::invite,
        crate::routes::users::list,
        crate::routes::users::get,
        crate::routes::users::update,
        crate::routes::users::reset_mfa,
        crate::routes::users::sign_ins,
        crate::routes::tokens::issue,
        crate::routes::tokens::list,
        crate::routes::tokens::revoke,
        crate::routes::audit::list,
        crate::routes::incidents::raise,
        crate::routes::incidents::list,
        crate::routes::incidents::lifecycle,
        crate::routes::incidents::get,
        crate::routes::incidents::update,
        crate::routes::incidents::comment,
        crate::routes::incidents::comments,
        crate::routes::incidents::attach,
        crate::routes::incidents::attachments,
        crate::routes::incidents::download,
        crate::routes::incidents::history,
        crate::routes::hubs::variants,
        crate::routes::hubs::add_variant,
        crate::routes::hubs::variant,
        crate::routes::hubs::update_variant,
        crate::routes::hubs::register_location,
        crate::routes::hubs::locations,
        crate::routes::hubs::location,
        crate::routes::hubs::update_location,
        crate::routes::hubs::location_history,
        crate::routes::hubs::submit_forecast,
        crate::routes::hubs::forecasts,
        crate::routes::hubs::in_force,
        crate::routes::hubs::compliance,
        crate::routes::hubs::forecast,
        crate::routes::hubs_orders::place,
        crate::routes::hubs_orders::list,
        crate::routes::hubs_orders::lifecycle,
        crate::routes::hubs_orders::get,
        crate::routes::hubs_orders::update,
        crate::routes::hubs_orders::dispatch,
        crate::routes::hubs_orders::consignment,
        crate::routes::hubs_orders::confirm,
        crate::routes::hubs_orders::history,
        crate::routes::hubs_returns::request,
        crate::routes::hubs_returns::list,
        crate::routes::hubs_returns::get,
        crate::routes::hubs_returns::update,
        crate::routes::hubs_returns::lines,
        crate::routes::hubs_returns::authorise,
        crate::routes::hubs_returns::analyse,
        crate::routes::hubs_returns::history,
        crate::routes::catalogue::list,
        crate::routes::catalogue::create,
        crate::routes::catalogue::get,
        crate::routes::catalogue::update,
        crate::routes::catalogue::version,
        crate::routes::requests::raise,
        crate::routes::requests::list,
        crate::routes::requests::lifecycle,
        crate::routes::requests::get,
        crate::routes::requests::update,
        crate::routes::requests::decide,
        crate::routes::requests::approvals,
        crate::routes::requests::complete_task,
        crate::routes::requests::comment,
        crate::routes::requests::comments,
        crate::routes::requests::history,
        crate::routes::webhooks::create,
        crate::routes::webhooks::list,
        crate::routes::webhooks::get,
        crate::routes::webhooks::update,
        crate::routes::webhooks::delete,
        crate::routes::webhooks::rotate_secret,
        crate::routes::webhooks::deliveries,
        crate::routes::reports::list,
        crate::routes::reports::diagnostics,
        crate::routes::reports::run,
        crate::routes::reports::register_devices,
        crate::routes::reports::devices,
        crate::routes::report_subscriptions::subscribe,
        crate::routes::report_subscriptions::list,
        crate::routes::report_subscriptions::unsubscribe,
        crate::routes::groups::list,
        crate::routes::groups::create,
        crate::routes::groups::add_member,
        crate::routes::groups::remove_member,
    ),
    components(schemas(Problem, ProblemField)),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Health, readiness and metrics"),
        (name = "sign-in", description = "Password, then TOTP; access tokens"),
        (name = "account", description = "The caller's own account"),
        (name = "organisations", description = "Organisations using the network"),
        (name = "people", description = "People, invitations, roles, MFA resets"),
        (name = "api tokens", description = "Organisations' API tokens"),
        (name = "audit", description = "The audit log"),
        (name = "incidents", description = "Incidents: raise, follow, work, resolve"),
        (name = "hubs", description = "Communications hubs: variants, delivery locations, forecasts, orders and consignments, returns"),
        (name = "service requests", description = "The service catalogue and service requests: raise, approve, fulfil"),
        (name = "webhooks", description = "Organisations' webhook endpoints and their deliveries"),
        (name = "reports", description = "Reports and diagnostics as JSON, CSV or SVG; network devices; scheduled reports"),
        (name = "groups", description = "The operator's resolver groups and their members"),
    )
)]
struct ApiDoc;

/// Declares the bearer scheme every protected route names.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

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
