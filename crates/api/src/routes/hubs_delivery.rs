//! Hub delivery: the ordering supplier's consignment plan (amendable until a cut-off before each
//! delivery date), advance shipment notices of dispatched consignments (JSON, or RFC 4180 CSV
//! with `Accept: text/csv`), and discrepancy cases the operator investigates and settles.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use dsms_hubs::{
    ConsignmentPlan, DiscrepancyCase, DiscrepancyChanges, DiscrepancyFilter, Hubs, PlanLine,
    ShipmentNotice,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::extract::Json;
use crate::problem::{ApiError, Problem};
use crate::routes::audit::AuditEntryOut;
use crate::routes::dto::{ListOf, PageQuery, if_match, time, time_opt, with_etag};
use crate::routes::hubs::{call, history_list};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/hub-orders/{key}/consignment-plan")
            .get(plan)
            .put(amend_plan),
    )
    .service(web::resource("/hub-orders/{key}/consignments/{id}/asn").get(asn))
    .service(web::resource("/hub-discrepancies").get(discrepancies))
    .service(
        web::resource("/hub-discrepancies/{id}")
            .get(discrepancy)
            .patch(update_discrepancy),
    )
    .service(web::resource("/hub-discrepancies/{id}/history").get(discrepancy_history));
}

/// A consignment planned but not yet dispatched.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PlannedConsignmentOut {
    id: String,
    delivery_date: String,
    quantity: i64,
    /// The last day the supplier may move or resize it.
    amendable_until: String,
    created_at: String,
    updated_at: String,
}

/// An order's consignments still to dispatch.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConsignmentPlanOut {
    order_id: String,
    order_reference: String,
    /// Hubs ordered.
    quantity: i64,
    /// Hubs dispatched so far.
    dispatched_quantity: i64,
    consignments: Vec<PlannedConsignmentOut>,
    /// The order's version (its ETag).
    version: i64,
}

impl From<ConsignmentPlan> for ConsignmentPlanOut {
    fn from(p: ConsignmentPlan) -> Self {
        Self {
            order_id: p.order_id.to_string(),
            order_reference: p.order_reference,
            quantity: p.quantity,
            dispatched_quantity: p.dispatched_quantity,
            consignments: p
                .consignments
                .into_iter()
                .map(|c| PlannedConsignmentOut {
                    id: c.id.to_string(),
                    delivery_date: c.delivery_date.to_string(),
                    quantity: c.quantity,
                    amendable_until: c.amendable_until.to_string(),
                    created_at: time(c.created_at),
                    updated_at: time(c.updated_at),
                })
                .collect(),
            version: p.version,
        }
    }
}

/// The consignments an order's undispatched hubs are split into.
#[utoipa::path(get, path = "/api/v1/hub-orders/{key}/consignment-plan", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The order's id or reference")),
    responses((status = 200, body = ConsignmentPlanOut, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn plan(
    hubs: web::Data<Hubs>,
    caller: Caller,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let hubs = hubs.into_inner();
    let p = call(move || hubs.consignment_plan(&caller.principal, &key)).await?;
    Ok(with_etag(p.version, &ConsignmentPlanOut::from(p)))
}

/// One consignment of a plan: an existing one by id (to move or resize it), or a new one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlanLineIn {
    /// An existing planned consignment's id; omit for a new one.
    id: Option<String>,
    /// `YYYY-MM-DD`, inside the delivery month, on one of the location's delivery days.
    delivery_date: String,
    /// Hubs, a whole multiple of the pack size.
    quantity: i64,
}

/// The whole plan: planned consignments left out are removed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlanIn {
    consignments: Vec<PlanLineIn>,
}

/// Splits an order into consignments or amends the split (the ordering supplier): moves
/// delivery dates inside the delivery month and redistributes hubs between consignments,
/// keeping the order total, until the configured number of working days before each delivery
/// date. A refusal names every rule broken. Honours `If-Match` (the order's version).
#[utoipa::path(put, path = "/api/v1/hub-orders/{key}/consignment-plan", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The order's id or reference"),
           ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = PlanIn,
    responses((status = 200, body = ConsignmentPlanOut, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn amend_plan(
    hubs: web::Data<Hubs>,
    caller: Caller,
    req: HttpRequest,
    key: web::Path<String>,
    Json(body): Json<PlanIn>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let mut errors = dsms_core::ValidationErrors::default();
    let lines: Vec<PlanLine> = body
        .consignments
        .into_iter()
        .enumerate()
        .map(|(i, l)| PlanLine {
            id: l.id.and_then(|raw| {
                let id = raw.trim().parse().ok();
                if id.is_none() {
                    errors.push(format!("consignments[{i}].id"), "must be a consignment id");
                }
                id
            }),
            delivery_date: l.delivery_date,
            quantity: l.quantity,
        })
        .collect();
    errors.into_result().map_err(ApiError::Validation)?;
    let hubs = hubs.into_inner();
    let p = call(move || {
        hubs.amend_consignments(
            &caller.principal,
            &key,
            expected,
            lines,
            caller.client.request_id.as_deref(),
        )
    })
    .await?;
    Ok(with_etag(p.version, &ConsignmentPlanOut::from(p)))
}

/// The advance shipment notice of a dispatched consignment.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ShipmentNoticeOut {
    consignment_id: String,
    order_id: String,
    order_reference: String,
    organisation: String,
    location: String,
    address: String,
    postcode: String,
    delivery_date: String,
    /// The variant's product code.
    variant: String,
    quantity: i64,
    dispatched_at: String,
    /// Every hub's serial number.
    serials: Vec<String>,
}

impl From<ShipmentNotice> for ShipmentNoticeOut {
    fn from(n: ShipmentNotice) -> Self {
        Self {
            consignment_id: n.consignment_id.to_string(),
            order_id: n.order_id.to_string(),
            order_reference: n.order_reference,
            organisation: n.organisation_name,
            location: n.location_name,
            address: n.location_address,
            postcode: n.location_postcode,
            delivery_date: n.delivery_date.to_string(),
            variant: n.variant,
            quantity: n.quantity,
            dispatched_at: time(n.dispatched_at),
            serials: n.serials,
        }
    }
}

/// True when the caller's `Accept` header lists `text/csv` before any JSON type.
fn wants_csv(req: &HttpRequest) -> bool {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for media in accept.split(',') {
        match media.split(';').next().unwrap_or("").trim() {
            "text/csv" => return true,
            "application/json" | "application/*" | "*/*" => return false,
            _ => {}
        }
    }
    false
}

/// The advance shipment notice of a dispatched consignment: order, location, delivery date,
/// variant and every hub serial, as JSON or as RFC 4180 CSV (`Accept: text/csv`, one row per
/// hub) to download.
#[utoipa::path(get, path = "/api/v1/hub-orders/{key}/consignments/{id}/asn", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The order's id or reference"),
           ("id" = String, Path, description = "The consignment's id")),
    responses((status = 200, description = "The notice, in the format the Accept header asks for",
            content((ShipmentNoticeOut = "application/json"), (String = "text/csv"))),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn asn(
    hubs: web::Data<Hubs>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (key, id) = path.into_inner();
    let hubs = hubs.into_inner();
    let notice = call(move || hubs.shipment_notice(&caller.principal, &key, id)).await?;
    if wants_csv(&req) {
        let name = format!(
            "asn-{}-{}.csv",
            notice.order_reference, notice.consignment_id
        );
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ))
            .body(notice.to_csv()));
    }
    Ok(HttpResponse::Ok().json(ShipmentNoticeOut::from(notice)))
}

/// A delivery discrepancy case.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DiscrepancyCaseOut {
    id: String,
    order_id: String,
    order_reference: String,
    organisation_id: String,
    /// The consignment it was first reported on.
    consignment_id: String,
    /// `shortage`, `excess` or `damage`.
    kind: String,
    serials: Vec<String>,
    quantity: i64,
    /// `open`, `investigating`, `settled` or `rejected`.
    status: String,
    /// `replacement_consignment`, `credit` or `no_action`, once settled or rejected.
    outcome: Option<String>,
    settlement_note: Option<String>,
    settled_at: Option<String>,
    settled_by: Option<String>,
    created_at: String,
    updated_at: String,
    version: i64,
}

impl From<DiscrepancyCase> for DiscrepancyCaseOut {
    fn from(c: DiscrepancyCase) -> Self {
        Self {
            id: c.id.to_string(),
            order_id: c.order_id.to_string(),
            order_reference: c.order_reference,
            organisation_id: c.organisation_id.to_string(),
            consignment_id: c.consignment_id.to_string(),
            kind: c.kind,
            serials: c.serials,
            quantity: c.quantity,
            status: c.status.as_str().to_owned(),
            outcome: c.outcome.map(|o| o.as_str().to_owned()),
            settlement_note: c.settlement_note,
            settled_at: time_opt(c.settled_at),
            settled_by: c.settled_by,
            created_at: time(c.created_at),
            updated_at: time(c.updated_at),
            version: c.version,
        }
    }
}

/// Filters for the discrepancy list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DiscrepancyQuery {
    /// Comma-separated statuses.
    status: Option<String>,
    /// Only this organisation (operator staff).
    organisation_id: Option<i64>,
    /// Only this order (id or reference).
    order: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The discrepancy cases the caller may see (its own organisation's, or all for operator
/// staff), oldest first.
#[utoipa::path(get, path = "/api/v1/hub-discrepancies", tag = "hubs", security(("bearer" = [])),
    params(DiscrepancyQuery),
    responses((status = 200, body = ListOf<DiscrepancyCaseOut>),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn discrepancies(
    hubs: web::Data<Hubs>,
    caller: Caller,
    query: web::Query<DiscrepancyQuery>,
) -> Result<web::Json<ListOf<DiscrepancyCaseOut>>, ApiError> {
    let q = query.into_inner();
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let filter = DiscrepancyFilter {
        statuses: q
            .status
            .map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        organisation_id: q.organisation_id,
        order: q.order,
    };
    let hubs = hubs.into_inner();
    let found = call(move || hubs.discrepancies(&caller.principal, &filter, page)).await?;
    Ok(web::Json(ListOf::from_page(
        found,
        DiscrepancyCaseOut::from,
    )))
}

/// One discrepancy case.
#[utoipa::path(get, path = "/api/v1/hub-discrepancies/{id}", tag = "hubs", security(("bearer" = [])),
    params(("id" = String, Path, description = "The case's id")),
    responses((status = 200, body = DiscrepancyCaseOut, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn discrepancy(
    hubs: web::Data<Hubs>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let hubs = hubs.into_inner();
    let id = id.into_inner();
    let c = call(move || hubs.discrepancy(&caller.principal, id)).await?;
    Ok(with_etag(c.version, &DiscrepancyCaseOut::from(c)))
}

/// The operator's change to a case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DiscrepancyPatch {
    /// `investigating`, then `settled` or `rejected`.
    status: String,
    /// `replacement_consignment`, `credit` or `no_action` (required to settle).
    outcome: Option<String>,
    /// Why (required to settle or reject).
    note: Option<String>,
}

/// Works a discrepancy case (operator staff): open, then investigating, then settled with an
/// outcome and a note, or rejected with a note (409 listing the allowed next states
/// otherwise). Honours `If-Match`.
#[utoipa::path(patch, path = "/api/v1/hub-discrepancies/{id}", tag = "hubs", security(("bearer" = [])),
    params(("id" = String, Path, description = "The case's id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = DiscrepancyPatch,
    responses((status = 200, body = DiscrepancyCaseOut, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn update_discrepancy(
    hubs: web::Data<Hubs>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    Json(body): Json<DiscrepancyPatch>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let hubs = hubs.into_inner();
    let id = id.into_inner();
    let c = call(move || {
        hubs.update_discrepancy(
            &caller.principal,
            id,
            expected,
            DiscrepancyChanges {
                status: body.status,
                outcome: body.outcome,
                note: body.note,
            },
            caller.client.request_id.as_deref(),
        )
    })
    .await?;
    Ok(with_etag(c.version, &DiscrepancyCaseOut::from(c)))
}

/// Every change to a discrepancy case, oldest first.
#[utoipa::path(get, path = "/api/v1/hub-discrepancies/{id}/history", tag = "hubs", security(("bearer" = [])),
    params(("id" = String, Path, description = "The case's id")),
    responses((status = 200, body = ListOf<AuditEntryOut>),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn discrepancy_history(
    hubs: web::Data<Hubs>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<ListOf<AuditEntryOut>>, ApiError> {
    let hubs = hubs.into_inner();
    let id = id.into_inner();
    let entries = call(move || hubs.discrepancy_history(&caller.principal, id)).await?;
    Ok(web::Json(history_list(entries)))
}
