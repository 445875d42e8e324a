//! Hub orders: placed by suppliers against the rules in force, accepted or rejected by the
//! operator, amended or cancelled until the cut-off, dispatched in consignments of serial
//! numbers (JSON or `text/csv`), and confirmed by the receiver.

use actix_web::{HttpRequest, HttpResponse, web};
use dsms_hubs::{
    Confirmation, Consignment, HubOrder, Hubs, NewConsignment, NewOrder, ORDER_TRANSITIONS,
    OrderChanges, OrderFilter, SerialRow, bulk,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::extract::{Json, from_value};
use crate::problem::{ApiError, Problem};
use crate::routes::audit::AuditEntryOut;
use crate::routes::dto::{
    ListOf, OrganisationRef, PageQuery, if_match, request_digest, time, time_opt, with_etag,
};
use crate::routes::hubs::{
    Bulk, PartyOut, answer, call, csv_digest, history_list, keyed, read_bulk,
};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/hub-orders").get(list).post(place))
        .service(web::resource("/hub-orders/lifecycle").get(lifecycle))
        .service(web::resource("/hub-orders/{key}").get(get).patch(update))
        .service(web::resource("/hub-orders/{key}/consignments").post(dispatch))
        .service(web::resource("/hub-orders/{key}/consignments/{id}").get(consignment))
        .service(web::resource("/hub-orders/{key}/consignments/{id}/confirmation").post(confirm))
        .service(web::resource("/hub-orders/{key}/history").get(history))
        .configure(crate::routes::hubs_delivery::configure);
}

/// A discrepancy the receiver reported.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DiscrepancyOut {
    id: String,
    /// `shortage`, `excess` or `damage`.
    kind: String,
    serials: Vec<String>,
    quantity: i64,
    /// `open` until the operator settles it.
    status: String,
    created_at: String,
}

/// One consignment of an order.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConsignmentOut {
    id: String,
    order_id: String,
    delivery_date: String,
    quantity: i64,
    /// `dispatched`, `delivered` or `discrepancy`.
    status: String,
    /// The last day the receiver may confirm it.
    confirmation_due_on: String,
    confirmed_at: Option<String>,
    confirmed_by: Option<String>,
    notes: Option<String>,
    /// When the window lapsed unconfirmed and the delivery was deemed accepted.
    deemed_accepted_at: Option<String>,
    discrepancies: Vec<DiscrepancyOut>,
    created_at: String,
}

impl From<Consignment> for ConsignmentOut {
    fn from(c: Consignment) -> Self {
        Self {
            id: c.id.to_string(),
            order_id: c.order_id.to_string(),
            delivery_date: c.delivery_date.to_string(),
            quantity: c.quantity,
            status: c.status,
            confirmation_due_on: c.confirmation_due_on.to_string(),
            confirmed_at: time_opt(c.confirmed_at),
            confirmed_by: c.confirmed_by,
            notes: c.notes,
            deemed_accepted_at: time_opt(c.deemed_accepted_at),
            discrepancies: c
                .discrepancies
                .into_iter()
                .map(|d| DiscrepancyOut {
                    id: d.id.to_string(),
                    kind: d.kind,
                    serials: d.serials,
                    quantity: d.quantity,
                    status: d.status,
                    created_at: time(d.created_at),
                })
                .collect(),
            created_at: time(c.created_at),
        }
    }
}

/// A location, in brief.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LocationRef {
    id: String,
    name: String,
}

/// A hub order.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrderOut {
    id: String,
    /// `ORD` and seven or more digits.
    reference: String,
    organisation: OrganisationRef,
    location: LocationRef,
    /// The variant's product code.
    variant: String,
    region: String,
    /// `YYYY-MM`.
    delivery_month: String,
    quantity: i64,
    /// `submitted`, `accepted`, `rejected`, `amended`, `cancelled`, `dispatched`, `delivered`.
    status: String,
    /// The rule set it was judged by (its effective date).
    rules_effective_from: String,
    /// From this day the order is firm.
    cutoff: String,
    /// The forecast in force it was judged against.
    forecast_id: Option<String>,
    /// Why the operator rejected it.
    decision_reason: Option<String>,
    placed_by: PartyOut,
    dispatched_quantity: i64,
    consignments: Vec<ConsignmentOut>,
    created_at: String,
    updated_at: String,
    version: i64,
}

impl From<HubOrder> for OrderOut {
    fn from(o: HubOrder) -> Self {
        Self {
            id: o.id.to_string(),
            reference: o.reference,
            organisation: OrganisationRef {
                id: o.organisation_id.to_string(),
                name: o.organisation_name,
            },
            location: LocationRef {
                id: o.location_id.to_string(),
                name: o.location_name,
            },
            variant: o.variant,
            region: o.region.as_str().to_owned(),
            delivery_month: o.delivery_month.to_string(),
            quantity: o.quantity,
            status: o.status.as_str().to_owned(),
            rules_effective_from: o.rules_effective_from.to_string(),
            cutoff: o.cutoff.to_string(),
            forecast_id: o.forecast_id.map(|f| f.to_string()),
            decision_reason: o.decision_reason,
            placed_by: o.placed_by.into(),
            dispatched_quantity: o.dispatched_quantity,
            consignments: o
                .consignments
                .into_iter()
                .map(ConsignmentOut::from)
                .collect(),
            created_at: time(o.created_at),
            updated_at: time(o.updated_at),
            version: o.version,
        }
    }
}

/// An order to place.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrderIn {
    /// `YYYY-MM`.
    delivery_month: String,
    /// An approved delivery location of the caller's organisation.
    #[serde(deserialize_with = "crate::routes::dto::id_from_string_or_number")]
    #[schema(value_type = String)]
    location_id: i64,
    /// A variant's product code.
    variant: String,
    quantity: i64,
}

fn render(o: &HubOrder) -> (String, String) {
    (
        serde_json::to_string(&OrderOut::from(o.clone())).unwrap_or_default(),
        format!("/api/v1/hub-orders/{}", o.id),
    )
}

/// Places an order. It is judged against every rule in force (lead time, order window, pack
/// size, minimum, tolerance against the forecast in force, approved location); a refusal is
/// 422 naming each rule broken.
#[utoipa::path(post, path = "/api/v1/hub-orders", tag = "hubs", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = OrderIn,
    responses((status = 201, body = OrderOut, headers(("Location" = String), ("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn place(
    hubs: web::Data<Hubs>,
    caller: Caller,
    req: HttpRequest,
    Json(raw): Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let idempotent = keyed(
        &req,
        &caller,
        "POST /api/v1/hub-orders",
        request_digest(&raw),
        render,
    )?;
    let body: OrderIn = from_value(raw)?;
    let hubs = hubs.into_inner();
    let outcome = call(move || {
        hubs.place_order(
            &caller.principal,
            NewOrder {
                delivery_month: body.delivery_month,
                location_id: body.location_id,
                variant: body.variant,
                quantity: body.quantity,
            },
            idempotent,
            caller.client.request_id.as_deref(),
        )
    })
    .await?;
    Ok(answer(outcome, render, |o| Some(o.version), OrderOut::from))
}

/// Filters for the order list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OrderQuery {
    /// Only this organisation (operator staff).
    organisation_id: Option<i64>,
    /// Comma-separated statuses.
    status: Option<String>,
    /// `YYYY-MM`.
    delivery_month: Option<String>,
    /// A product code.
    variant: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The orders the caller may see, oldest first.
#[utoipa::path(get, path = "/api/v1/hub-orders", tag = "hubs", security(("bearer" = [])),
    params(OrderQuery),
    responses((status = 200, body = ListOf<OrderOut>),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    hubs: web::Data<Hubs>,
    caller: Caller,
    query: web::Query<OrderQuery>,
) -> Result<web::Json<ListOf<OrderOut>>, ApiError> {
    let q = query.into_inner();
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let filter = OrderFilter {
        organisation_id: q.organisation_id,
        statuses: q
            .status
            .map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        delivery_month: q.delivery_month,
        variant: q.variant,
    };
    let hubs = hubs.into_inner();
    let found = call(move || hubs.orders(&caller.principal, &filter, page)).await?;
    Ok(web::Json(ListOf::from_page(found, OrderOut::from)))
}

/// One order, by id or reference.
#[utoipa::path(get, path = "/api/v1/hub-orders/{key}", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The order's id or reference (ORD…)")),
    responses((status = 200, body = OrderOut, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get(
    hubs: web::Data<Hubs>,
    caller: Caller,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let hubs = hubs.into_inner();
    let o = call(move || hubs.order(&caller.principal, &key)).await?;
    Ok(with_etag(o.version, &OrderOut::from(o)))
}

/// Changes to an order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrderPatch {
    /// A new quantity: an amendment (supplier, before the cut-off).
    quantity: Option<i64>,
    /// `cancelled` (supplier, before the cut-off), `accepted` or `rejected` (operator).
    status: Option<String>,
    /// Why the order is rejected.
    reason: Option<String>,
}

/// Amends, cancels, accepts or rejects an order through its lifecycle (409 listing the allowed
/// next states otherwise). Honours `If-Match`.
#[utoipa::path(patch, path = "/api/v1/hub-orders/{key}", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The order's id or reference"),
           ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = OrderPatch,
    responses((status = 200, body = OrderOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn update(
    hubs: web::Data<Hubs>,
    caller: Caller,
    req: HttpRequest,
    key: web::Path<String>,
    Json(body): Json<OrderPatch>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let hubs = hubs.into_inner();
    let o = call(move || {
        hubs.update_order(
            &caller.principal,
            &key,
            expected,
            OrderChanges {
                quantity: body.quantity,
                status: body.status,
                reason: body.reason,
            },
            caller.client.request_id.as_deref(),
        )
    })
    .await?;
    Ok(with_etag(o.version, &OrderOut::from(o)))
}

/// A consignment to dispatch, as JSON. As `text/csv`, send a `serial` column and the delivery
/// date as the `delivery_date` query parameter; bad rows are named `rows[N].serial`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsignmentIn {
    /// `YYYY-MM-DD`, inside the delivery month, on one of the location's delivery days.
    delivery_date: String,
    /// The hubs' serial numbers.
    serials: Vec<String>,
}

/// The delivery date of a CSV consignment.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ConsignmentQuery {
    /// `YYYY-MM-DD` (CSV uploads).
    delivery_date: Option<String>,
}

fn render_consignment(c: &Consignment) -> (String, String) {
    (
        serde_json::to_string(&ConsignmentOut::from(c.clone())).unwrap_or_default(),
        format!("/api/v1/hub-orders/{}/consignments/{}", c.order_id, c.id),
    )
}

/// Dispatches a consignment of an accepted order (operator), as JSON or as a `text/csv`
/// upload of serial numbers. Every row is checked and every bad row named at once.
#[utoipa::path(post, path = "/api/v1/hub-orders/{key}/consignments", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The order's id or reference"), ConsignmentQuery,
           ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body(content(
        (ConsignmentIn = "application/json"),
        (String = "text/csv", example = "serial\nCH4G00000001\nCH4G00000002\n"))),
    responses((status = 201, body = ConsignmentOut, headers(("Location" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn dispatch(
    hubs: web::Data<Hubs>,
    caller: Caller,
    req: HttpRequest,
    key: web::Path<String>,
    query: web::Query<ConsignmentQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let route = "POST /api/v1/hub-orders/{key}/consignments";
    let key = key.into_inner();
    let (new, digest) = match read_bulk(&req, payload).await? {
        Bulk::Json(raw) => {
            let digest = request_digest(&raw);
            let body: ConsignmentIn = from_value(raw)?;
            let serials = body
                .serials
                .into_iter()
                .enumerate()
                .map(|(i, serial)| SerialRow {
                    field: format!("serials[{i}]"),
                    serial,
                })
                .collect();
            (
                NewConsignment {
                    delivery_date: body.delivery_date,
                    serials,
                },
                digest,
            )
        }
        Bulk::Csv(bytes) => {
            let delivery_date = query.into_inner().delivery_date.ok_or_else(|| {
                ApiError::invalid("delivery_date", "is required: send it as a query parameter")
            })?;
            let digest = csv_digest(&bytes, &delivery_date);
            let serials = bulk::serial_rows(&bytes).map_err(ApiError::Validation)?;
            (
                NewConsignment {
                    delivery_date,
                    serials,
                },
                digest,
            )
        }
    };
    let idempotent = keyed(
        &req,
        &caller,
        &format!("{route} {key}"),
        digest,
        render_consignment,
    )?;
    let hubs = hubs.into_inner();
    let outcome = call(move || {
        hubs.dispatch(
            &caller.principal,
            &key,
            new,
            idempotent,
            caller.client.request_id.as_deref(),
        )
    })
    .await?;
    Ok(answer(
        outcome,
        render_consignment,
        |_| None,
        ConsignmentOut::from,
    ))
}

/// A hub of a consignment.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SerialOut {
    serial: String,
    /// `dispatched`, `delivered`, `missing` or `damaged`.
    status: String,
}

/// A consignment with its hubs: the advance shipment notice.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConsignmentDetailOut {
    consignment: ConsignmentOut,
    serials: Vec<SerialOut>,
}

/// One consignment with its hubs' serial numbers (the advance shipment notice).
#[utoipa::path(get, path = "/api/v1/hub-orders/{key}/consignments/{id}", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The order's id or reference"),
           ("id" = String, Path, description = "The consignment's id")),
    responses((status = 200, body = ConsignmentDetailOut),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn consignment(
    hubs: web::Data<Hubs>,
    caller: Caller,
    path: web::Path<(String, i64)>,
) -> Result<web::Json<ConsignmentDetailOut>, ApiError> {
    let (key, id) = path.into_inner();
    let hubs = hubs.into_inner();
    let (c, serials) = call(move || hubs.consignment(&caller.principal, &key, id)).await?;
    Ok(web::Json(ConsignmentDetailOut {
        consignment: c.into(),
        serials: serials
            .into_iter()
            .map(|(serial, status)| SerialOut { serial, status })
            .collect(),
    }))
}

/// The receiver's confirmation of a consignment.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfirmationIn {
    /// Listed serials not received (a shortage).
    #[serde(default)]
    missing: Vec<String>,
    /// Listed serials received damaged.
    #[serde(default)]
    damaged: Vec<String>,
    /// Serials received but not listed.
    #[serde(default)]
    excess: Vec<String>,
    notes: Option<String>,
}

/// Confirms delivery of a consignment (the receiving organisation, within the confirmation
/// window), reporting shortages, damage and excess; each opens a discrepancy.
#[utoipa::path(post, path = "/api/v1/hub-orders/{key}/consignments/{id}/confirmation", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The order's id or reference"),
           ("id" = String, Path, description = "The consignment's id")),
    request_body = ConfirmationIn,
    responses((status = 200, body = OrderOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn confirm(
    hubs: web::Data<Hubs>,
    caller: Caller,
    path: web::Path<(String, i64)>,
    Json(body): Json<ConfirmationIn>,
) -> Result<HttpResponse, ApiError> {
    let (key, id) = path.into_inner();
    let hubs = hubs.into_inner();
    let o = call(move || {
        hubs.confirm_delivery(
            &caller.principal,
            &key,
            id,
            Confirmation {
                missing: body.missing,
                damaged: body.damaged,
                excess: body.excess,
                notes: body.notes,
            },
            caller.client.request_id.as_deref(),
        )
    })
    .await?;
    Ok(with_etag(o.version, &OrderOut::from(o)))
}

/// Every change to an order, oldest first.
#[utoipa::path(get, path = "/api/v1/hub-orders/{key}/history", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The order's id or reference")),
    responses((status = 200, body = ListOf<AuditEntryOut>),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn history(
    hubs: web::Data<Hubs>,
    caller: Caller,
    key: web::Path<String>,
) -> Result<web::Json<ListOf<AuditEntryOut>>, ApiError> {
    let hubs = hubs.into_inner();
    let entries = call(move || hubs.order_history(&caller.principal, &key)).await?;
    Ok(web::Json(history_list(entries)))
}

/// One allowed status change.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TransitionOut {
    from: String,
    to: String,
    /// `supplier`, `operator` or `system`.
    by: Vec<String>,
}

/// The order lifecycle: every allowed status change and who makes it. Supplier changes end at
/// the cut-off.
#[utoipa::path(get, path = "/api/v1/hub-orders/lifecycle", tag = "hubs",
    responses((status = 200, body = Vec<TransitionOut>)))]
pub(crate) async fn lifecycle() -> web::Json<Vec<TransitionOut>> {
    web::Json(
        ORDER_TRANSITIONS
            .iter()
            .map(|t| TransitionOut {
                from: t.from.as_str().to_owned(),
                to: t.to.as_str().to_owned(),
                by: t
                    .by
                    .iter()
                    .map(|m| {
                        serde_json::to_value(m)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default()
                    })
                    .collect(),
            })
            .collect(),
    )
}
