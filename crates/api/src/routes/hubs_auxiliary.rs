//! Auxiliary equipment: the catalogue the operator's admins keep (`/hub-auxiliary-items`, read
//! by everyone signed in) and the items on a hub order (`/hub-orders/{key}/auxiliary-lines`),
//! which the ordering organisation replaces as an amendment of the order until its cut-off.

use actix_web::{HttpRequest, HttpResponse, web};
use dsms_hubs::{
    AuxiliaryItem, AuxiliaryItemChanges, AuxiliaryLine, Hubs, NewAuxiliaryItem, NewAuxiliaryLine,
    OrderAuxiliary,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::extract::Json;
use crate::problem::{ApiError, Problem};
use crate::routes::audit::AuditEntryOut;
use crate::routes::dto::{ListOf, created, if_match, time, with_etag};
use crate::routes::hubs::{call, history_list};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/hub-auxiliary-items").get(list).post(create))
        .service(
            web::resource("/hub-auxiliary-items/{key}")
                .get(get)
                .patch(update),
        )
        .service(web::resource("/hub-auxiliary-items/{key}/history").get(history))
        .service(
            web::resource("/hub-orders/{key}/auxiliary-lines")
                .get(lines)
                .put(set_lines),
        );
}

/// An item of the auxiliary-equipment catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuxiliaryItemOut {
    id: String,
    /// The item code, e.g. `AUX-AERIAL-EXT`.
    code: String,
    name: String,
    description: String,
    /// Quantities are whole multiples of this.
    pack_size: i64,
    /// The fewest one order may carry.
    minimum_quantity: i64,
    /// The most one order may carry; none when unlimited.
    maximum_quantity: Option<i64>,
    /// Orderable; withdrawn items stay for history.
    active: bool,
    /// `YYYY-MM-DD`: the first day it may be delivered.
    available_from: String,
    /// `YYYY-MM-DD`: the last day it may be delivered, if it is being withdrawn.
    available_until: Option<String>,
    created_at: String,
    updated_at: String,
    version: i64,
}

impl From<AuxiliaryItem> for AuxiliaryItemOut {
    fn from(i: AuxiliaryItem) -> Self {
        Self {
            id: i.id.to_string(),
            code: i.code,
            name: i.name,
            description: i.description,
            pack_size: i.pack_size,
            minimum_quantity: i.minimum_quantity,
            maximum_quantity: i.maximum_quantity,
            active: i.active,
            available_from: i.available_from.to_string(),
            available_until: i.available_until.map(|d| d.to_string()),
            created_at: time(i.created_at),
            updated_at: time(i.updated_at),
            version: i.version,
        }
    }
}

/// An item to add to the catalogue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuxiliaryItemIn {
    /// Letters, digits and hyphens; stored upper-case.
    code: String,
    name: String,
    description: Option<String>,
    /// At least 1.
    pack_size: i64,
    /// At least 1.
    minimum_quantity: i64,
    /// At least the minimum; absent for no limit.
    maximum_quantity: Option<i64>,
    /// `YYYY-MM-DD`; today when absent.
    available_from: Option<String>,
    /// `YYYY-MM-DD`, not before `available_from`.
    available_until: Option<String>,
}

fn double<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Changes to a catalogue item; absent fields stay as they are, null lifts a limit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuxiliaryItemPatch {
    name: Option<String>,
    description: Option<String>,
    pack_size: Option<i64>,
    minimum_quantity: Option<i64>,
    /// A new maximum per order; `null` lifts it.
    #[serde(default, deserialize_with = "double")]
    #[schema(value_type = Option<i64>)]
    maximum_quantity: Option<Option<i64>>,
    /// `false` withdraws it from ordering.
    active: Option<bool>,
    /// `YYYY-MM-DD`.
    available_from: Option<String>,
    /// `YYYY-MM-DD`; `null` lifts it.
    #[serde(default, deserialize_with = "double")]
    #[schema(value_type = Option<String>)]
    available_until: Option<Option<String>>,
}

/// Which catalogue items to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ItemQuery {
    /// `true` lists only the items that may be ordered; every item otherwise.
    active_only: Option<bool>,
}

/// The catalogue, by code.
#[utoipa::path(get, path = "/api/v1/hub-auxiliary-items", tag = "hubs", security(("bearer" = [])),
    params(ItemQuery),
    responses((status = 200, body = ListOf<AuxiliaryItemOut>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    hubs: web::Data<Hubs>,
    caller: Caller,
    query: web::Query<ItemQuery>,
) -> Result<web::Json<ListOf<AuxiliaryItemOut>>, ApiError> {
    let hubs = hubs.into_inner();
    let active_only = query.active_only.unwrap_or(false);
    let found = call(move || hubs.auxiliary_items(&caller.principal, active_only)).await?;
    Ok(web::Json(ListOf {
        items: found.into_iter().map(AuxiliaryItemOut::from).collect(),
        next_cursor: None,
    }))
}

/// One catalogue item, by id or code.
#[utoipa::path(get, path = "/api/v1/hub-auxiliary-items/{key}", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The item's id or code")),
    responses((status = 200, body = AuxiliaryItemOut, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get(
    hubs: web::Data<Hubs>,
    caller: Caller,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let hubs = hubs.into_inner();
    let item = call(move || hubs.auxiliary_item(&caller.principal, &key)).await?;
    Ok(with_etag(item.version, &AuxiliaryItemOut::from(item)))
}

/// Adds an item to the catalogue (the operator's `dcc_admin`).
#[utoipa::path(post, path = "/api/v1/hub-auxiliary-items", tag = "hubs", security(("bearer" = [])),
    request_body = AuxiliaryItemIn,
    responses((status = 201, body = AuxiliaryItemOut, headers(("Location" = String), ("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn create(
    hubs: web::Data<Hubs>,
    caller: Caller,
    Json(body): Json<AuxiliaryItemIn>,
) -> Result<HttpResponse, ApiError> {
    let hubs = hubs.into_inner();
    let item = call(move || {
        hubs.add_auxiliary_item(
            &caller.principal,
            NewAuxiliaryItem {
                code: body.code,
                name: body.name,
                description: body.description,
                pack_size: body.pack_size,
                minimum_quantity: body.minimum_quantity,
                maximum_quantity: body.maximum_quantity,
                available_from: body.available_from,
                available_until: body.available_until,
            },
            caller.client.request_id.as_deref(),
        )
    })
    .await?;
    Ok(created(
        format!("/api/v1/hub-auxiliary-items/{}", item.id),
        Some(item.version),
        &AuxiliaryItemOut::from(item),
    ))
}

/// Changes a catalogue item's name, description, limits or delivery dates, or withdraws or
/// reinstates it (the operator's `dcc_admin`). Honours `If-Match`.
#[utoipa::path(patch, path = "/api/v1/hub-auxiliary-items/{key}", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The item's id or code"),
           ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = AuxiliaryItemPatch,
    responses((status = 200, body = AuxiliaryItemOut, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn update(
    hubs: web::Data<Hubs>,
    caller: Caller,
    req: HttpRequest,
    key: web::Path<String>,
    Json(body): Json<AuxiliaryItemPatch>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let hubs = hubs.into_inner();
    let item = call(move || {
        hubs.update_auxiliary_item(
            &caller.principal,
            &key,
            expected,
            AuxiliaryItemChanges {
                name: body.name,
                description: body.description,
                pack_size: body.pack_size,
                minimum_quantity: body.minimum_quantity,
                maximum_quantity: body.maximum_quantity,
                active: body.active,
                available_from: body.available_from,
                available_until: body.available_until,
            },
            caller.client.request_id.as_deref(),
        )
    })
    .await?;
    Ok(with_etag(item.version, &AuxiliaryItemOut::from(item)))
}

/// Every change to a catalogue item, oldest first.
#[utoipa::path(get, path = "/api/v1/hub-auxiliary-items/{key}/history", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The item's id or code")),
    responses((status = 200, body = ListOf<AuditEntryOut>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn history(
    hubs: web::Data<Hubs>,
    caller: Caller,
    key: web::Path<String>,
) -> Result<web::Json<ListOf<AuditEntryOut>>, ApiError> {
    let hubs = hubs.into_inner();
    let entries = call(move || hubs.auxiliary_item_history(&caller.principal, &key)).await?;
    Ok(web::Json(history_list(entries)))
}

/// One item on an order.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuxiliaryLineOut {
    item_id: String,
    code: String,
    name: String,
    quantity: i64,
}

impl From<AuxiliaryLine> for AuxiliaryLineOut {
    fn from(l: AuxiliaryLine) -> Self {
        Self {
            item_id: l.item_id.to_string(),
            code: l.code,
            name: l.name,
            quantity: l.quantity,
        }
    }
}

/// The auxiliary equipment on a hub order.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrderAuxiliaryOut {
    order_id: String,
    /// `ORD…`.
    reference: String,
    /// The order's status.
    status: String,
    /// The order's version: its `ETag`.
    version: i64,
    lines: Vec<AuxiliaryLineOut>,
}

impl From<OrderAuxiliary> for OrderAuxiliaryOut {
    fn from(o: OrderAuxiliary) -> Self {
        Self {
            order_id: o.order_id.to_string(),
            reference: o.reference,
            status: o.status,
            version: o.version,
            lines: o.lines.into_iter().map(AuxiliaryLineOut::from).collect(),
        }
    }
}

/// An item to put on an order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuxiliaryLineIn {
    /// A catalogue item code.
    code: String,
    /// Whole packs, within the item's minimum and maximum per order.
    quantity: i64,
}

/// The items an order should carry, replacing those it has; an empty list removes them all.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuxiliaryLinesIn {
    lines: Vec<AuxiliaryLineIn>,
}

/// The auxiliary equipment on an order, with the order's version as `ETag`.
#[utoipa::path(get, path = "/api/v1/hub-orders/{key}/auxiliary-lines", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The order's id or reference (ORD…)")),
    responses((status = 200, body = OrderAuxiliaryOut, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn lines(
    hubs: web::Data<Hubs>,
    caller: Caller,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let hubs = hubs.into_inner();
    let found = call(move || hubs.order_auxiliary(&caller.principal, &key)).await?;
    Ok(with_etag(found.version, &OrderAuxiliaryOut::from(found)))
}

/// Replaces the auxiliary equipment on an order (the ordering organisation). This amends the
/// order: allowed where the lifecycle allows an amendment and before the cut-off, and the order
/// awaits the operator again (409 listing the allowed next states otherwise). Each item's
/// rules (active, delivery dates, pack size, minimum, maximum) are checked and every broken
/// rule is named, as `lines[N].code` or `lines[N].quantity`. Honours `If-Match` (the order's
/// ETag).
#[utoipa::path(put, path = "/api/v1/hub-orders/{key}/auxiliary-lines", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The order's id or reference (ORD…)"),
           ("If-Match" = Option<String>, Header, description = "The order's ETag last read")),
    request_body = AuxiliaryLinesIn,
    responses((status = 200, body = OrderAuxiliaryOut, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn set_lines(
    hubs: web::Data<Hubs>,
    caller: Caller,
    req: HttpRequest,
    key: web::Path<String>,
    Json(body): Json<AuxiliaryLinesIn>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let hubs = hubs.into_inner();
    let lines = body
        .lines
        .into_iter()
        .map(|l| NewAuxiliaryLine {
            code: l.code,
            quantity: l.quantity,
        })
        .collect();
    let found = call(move || {
        hubs.set_order_auxiliary(
            &caller.principal,
            &key,
            expected,
            lines,
            caller.client.request_id.as_deref(),
        )
    })
    .await?;
    Ok(with_etag(found.version, &OrderAuxiliaryOut::from(found)))
}
