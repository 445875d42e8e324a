use std::sync::OnceLock;

use actix_web::{HttpResponse, http::header, web};
use utoipa::OpenApi;
use utoipa_swagger_ui::{Config, SwaggerUi};

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
        crate::routes::hubs_auxiliary::list,
        crate::routes::hubs_auxiliary::create,
        crate::routes::hubs_auxiliary::get,
        crate::routes::hubs_auxiliary::update,
        crate::routes::hubs_auxiliary::history,
        crate::routes::hubs_auxiliary::lines,
        crate::routes::hubs_auxiliary::set_lines,
        crate::routes::hubs_delivery::plan,
        crate::routes::hubs_delivery::amend_plan,
        crate::routes::hubs_delivery::asn,
        crate::routes::hubs_delivery::discrepancies,
        crate::routes::hubs_delivery::discrepancy,
        crate::routes::hubs_delivery::update_discrepancy,
        crate::routes::hubs_delivery::discrepancy_history,
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
        crate::routes::requests::attach,
        crate::routes::requests::attachments,
        crate::routes::requests::download,
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
        crate::routes::reports::schedule_maintenance,
        crate::routes::reports::maintenance_windows,
        crate::routes::reports::cancel_maintenance,
        crate::routes::report_subscriptions::subscribe,
        crate::routes::report_subscriptions::list,
        crate::routes::report_subscriptions::unsubscribe,
        crate::routes::groups::list,
        crate::routes::groups::create,
        crate::routes::groups::add_member,
        crate::routes::groups::remove_member,
    ),
    components(schemas(Problem, ProblemField)),
    modifiers(&BearerAuth, &CommonProblems),
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

/// Documents the problem answers that the extractors and middleware give on any operation, so
/// the document lists every status a client can receive: 400, 413, 415 and 422 for a request
/// body; 400 and 422 for parameters; 404 for a path naming nothing; 412 for a stale
/// `If-Match`; 401 and 403 for a bearer-protected operation; 429 (rate limits) and
/// 503 (database unavailable) on every `/api/` operation. An operation's own description of a
/// status is kept.
struct CommonProblems;

impl CommonProblems {
    fn statuses(
        path: &str,
        op: &utoipa::openapi::path::Operation,
    ) -> Vec<(&'static str, &'static str)> {
        use utoipa::openapi::path::ParameterIn;
        let params = op.parameters.as_deref().unwrap_or_default();
        let mut statuses = Vec::new();
        if op.request_body.is_some() {
            statuses.extend([
                ("400", "Malformed request"),
                ("413", "Request body too large"),
                ("415", "Unsupported media type"),
                ("422", "Validation failed"),
            ]);
        }
        if !params.is_empty() {
            statuses.extend([("400", "Malformed request"), ("422", "Validation failed")]);
        }
        if params.iter().any(|p| p.parameter_in == ParameterIn::Path) {
            statuses.push(("404", "Not found"));
        }
        if params
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case("if-match"))
        {
            statuses.push(("412", "Version mismatch"));
        }
        if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
            statuses.extend([("401", "Not signed in"), ("403", "Forbidden")]);
        }
        if path.starts_with("/api/") {
            statuses.extend([("429", "Rate limited"), ("503", "Service unavailable")]);
        }
        statuses
    }
}

impl utoipa::Modify for CommonProblems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{Content, Ref, ResponseBuilder};
        for (path, item) in &mut openapi.paths.paths {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                for (status, description) in Self::statuses(path, op) {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| {
                            ResponseBuilder::new()
                                .description(description)
                                .content(
                                    "application/problem+json",
                                    Content::new(Some(Ref::from_schema_name("Problem"))),
                                )
                                .build()
                                .into()
                        });
                }
            }
        }
    }
}

/// The OpenAPI 3.1 document describing every route, generated from the code.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// The document serialised once per process: each HTTP worker builds its own app, and a copy of
/// the document per worker cost about 10 MB of resident memory (docs/performance.md).
fn document_json() -> web::Bytes {
    static DOCUMENT: OnceLock<web::Bytes> = OnceLock::new();
    DOCUMENT
        .get_or_init(|| {
            serde_json::to_vec(&openapi())
                .expect("the document serialises")
                .into()
        })
        .clone()
}

async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document_json())
}

/// Serves the document at `/api/v1/openapi.json` and the interactive docs (Swagger UI, shipped
/// inside the binary) at `/api/docs/`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/docs").get(docs_slash))
        .service(web::resource("/api/v1/openapi.json").get(document))
        .service(SwaggerUi::new("/api/docs/{_:.*}").config(Config::from("/api/v1/openapi.json")));
}

async fn docs_slash() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/api/docs/"))
        .finish()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn document() -> Value {
        serde_json::to_value(super::openapi()).expect("the document serialises")
    }

    fn operations(doc: &Value) -> Vec<(String, &Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                out.push((format!("{} {path}", method.to_uppercase()), op));
            }
        }
        out
    }

    /// Found by API fuzzing: answers the extractors and middleware give (a body that is not
    /// JSON, a missing bearer token, an unknown id, a stale If-Match, a rate limit) were missing
    /// from most operations, so clients generated from the document could not expect them.
    #[test]
    fn every_operation_documents_the_problems_any_request_can_meet() {
        let doc = document();
        for (name, op) in operations(&doc) {
            let responses = &op["responses"];
            let has = |status: &str| responses[status].is_object();
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            if op["requestBody"].is_object() {
                for status in ["400", "413", "415", "422"] {
                    assert!(has(status), "{name} documents {status}");
                }
            }
            if params.iter().any(|p| p["in"] == "path") {
                assert!(has("404"), "{name} documents 404");
            }
            if params.iter().any(|p| p["name"] == "If-Match") {
                assert!(has("412"), "{name} documents 412");
            }
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                assert!(has("401") && has("403"), "{name} documents 401 and 403");
            }
            if name.contains(" /api/") {
                assert!(has("429") && has("503"), "{name} documents 429 and 503");
                let problem = &responses["429"]["content"]["application/problem+json"]["schema"];
                assert_eq!(problem["$ref"], "#/components/schemas/Problem", "{name}");
            }
        }
    }

    /// Found by API fuzzing: a report answered JSON by default while the document, which kept
    /// only the last of several `200` entries, promised a PNG image.
    #[test]
    fn reports_document_every_format_they_answer_in() {
        let doc = document();
        let formats = |path: &str| -> Vec<String> {
            let mut found: Vec<String> = doc["paths"][path]["get"]["responses"]["200"]["content"]
                .as_object()
                .map(|c| c.keys().cloned().collect())
                .unwrap_or_default();
            found.sort();
            found
        };
        assert_eq!(
            formats("/api/v1/reports/{name}"),
            ["application/json", "image/png", "image/svg+xml", "text/csv"]
        );
        assert_eq!(
            formats("/api/v1/reports/diagnostics"),
            ["application/json", "text/csv"]
        );
    }
}
