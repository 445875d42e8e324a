//! Communications hubs: variants and delivery locations (reference data) and rolling forecasts.
//! Orders are in `hubs_orders`, returns in `hubs_returns`; the rules they follow are the
//! server's `[hubs]` configuration.

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use dsms_hubs::{
    DeliveryLocation, Forecast, ForecastCompliance, ForecastFilter, ForecastInForce, HubError,
    HubVariant, Hubs, Idempotent, LocationChanges, NewForecastLine, NewLocation, NewVariant, Party,
    VariantChanges,
};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, blocking};
use crate::extract::{Json, from_value};
use crate::problem::{ApiError, Problem};
use crate::routes::audit::AuditEntryOut;
use crate::routes::dto::{
    ListOf, OrganisationRef, PageQuery, created, idempotency_key, idempotency_scope, if_match,
    replayed, request_digest, time, with_etag,
};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/hub-variants")
            .get(variants)
            .post(add_variant),
    )
    .service(
        web::resource("/hub-variants/{key}")
            .get(variant)
            .patch(update_variant),
    )
    .service(
        web::resource("/delivery-locations")
            .get(locations)
            .post(register_location),
    )
    .service(
        web::resource("/delivery-locations/{id}")
            .get(location)
            .patch(update_location),
    )
    .service(web::resource("/delivery-locations/{id}/history").get(location_history))
    .service(
        web::resource("/hub-forecasts")
            .get(forecasts)
            .post(submit_forecast),
    )
    .service(web::resource("/hub-forecasts/in-force").get(in_force))
    .service(web::resource("/hub-forecasts/compliance").get(compliance))
    .service(web::resource("/hub-forecasts/{id}").get(forecast))
    .configure(crate::routes::hubs_orders::configure)
    .configure(crate::routes::hubs_returns::configure);
}

impl From<HubError> for ApiError {
    fn from(error: HubError) -> Self {
        match error {
            HubError::Invalid(errors) => Self::Validation(errors),
            HubError::NotFound => Self::NotFound,
            HubError::Forbidden(f) => Self::Forbidden(f.to_string()),
            HubError::Transition { detail, allowed } => {
                let mut extensions = serde_json::Map::new();
                extensions.insert("allowed".into(), allowed.into());
                Self::Conflict { detail, extensions }
            }
            HubError::WindowClosed { detail, closed_on } => Self::WindowClosed {
                detail,
                closed_on: closed_on.to_string(),
            },
            HubError::VersionMismatch(v) => Self::VersionMismatch(format!(
                "the record has changed since version {v}; fetch it again"
            )),
            HubError::IdempotencyMismatch => Self::invalid(
                "Idempotency-Key",
                "was already used with a different request body",
            ),
            HubError::Store(e) => e.into(),
        }
    }
}

/// Runs a service call off the async threads, mapping its error.
pub(crate) async fn call<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, HubError> + Send + 'static,
) -> Result<T, ApiError> {
    blocking(move || work().map_err(ApiError::from)).await
}

/// An `Idempotency-Key` for a create on `route`, with how to render what it creates.
pub(crate) fn keyed<T: 'static>(
    req: &HttpRequest,
    caller: &Caller,
    route: &str,
    digest: String,
    render: fn(&T) -> (String, String),
) -> Result<Option<Idempotent<T>>, ApiError> {
    Ok(idempotency_key(req)?.map(|key| Idempotent {
        scope: idempotency_scope(&caller.principal, route),
        key,
        request_digest: digest,
        render: Box::new(render),
    }))
}

/// The answer to a create: `201` with `Location` and `ETag`, or the kept response of a retry.
pub(crate) fn answer<T, O: Serialize>(
    outcome: dsms_hubs::Created<T>,
    render: fn(&T) -> (String, String),
    version: fn(&T) -> Option<i64>,
    out: fn(T) -> O,
) -> HttpResponse {
    match outcome {
        dsms_hubs::Created::New(value) => {
            let (_, location) = render(&value);
            let v = version(&value);
            created(location, v, &out(value))
        }
        dsms_hubs::Created::Replayed(kept) => replayed(kept),
    }
}

/// The largest bulk upload (JSON or CSV) accepted: room for tens of thousands of serials.
pub(crate) const BULK_LIMIT: usize = 8 * 1024 * 1024;

/// A bulk request body: JSON, or CSV rows.
pub(crate) enum Bulk {
    /// `application/json`, parsed.
    Json(serde_json::Value),
    /// `text/csv`, raw.
    Csv(Vec<u8>),
}

/// Reads a bulk body of up to [`BULK_LIMIT`] bytes as JSON or `text/csv`; any other media type
/// is 415.
pub(crate) async fn read_bulk(
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<Bulk, ApiError> {
    let mime = req.mime_type().map_err(|_| {
        ApiError::UnsupportedMediaType("the Content-Type header is not a valid media type".into())
    })?;
    let csv = match &mime {
        Some(m) if m.type_() == "text" && m.subtype() == "csv" => true,
        Some(m)
            if m.type_() == "application"
                && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json")) =>
        {
            false
        }
        _ => {
            return Err(ApiError::UnsupportedMediaType(
                "send application/json or text/csv".into(),
            ));
        }
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > BULK_LIMIT) {
        return Err(ApiError::PayloadTooLarge(BULK_LIMIT));
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0).min(BULK_LIMIT));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::Malformed(format!("the body could not be read: {e}")))?;
        if body.len() + chunk.len() > BULK_LIMIT {
            return Err(ApiError::PayloadTooLarge(BULK_LIMIT));
        }
        body.extend_from_slice(&chunk);
    }
    if csv {
        Ok(Bulk::Csv(body.to_vec()))
    } else {
        crate::extract::parse_json::<serde_json::Value>(&body).map(Bulk::Json)
    }
}

/// A digest of a CSV body, for idempotency keys.
pub(crate) fn csv_digest(bytes: &[u8], extra: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(bytes);
    hasher.update(extra.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Someone, in brief.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PartyOut {
    /// `person` or `api_token`.
    kind: String,
    /// Their id.
    id: String,
    /// Their name.
    name: String,
}

impl From<Party> for PartyOut {
    fn from(p: Party) -> Self {
        Self {
            kind: p.kind,
            id: p.id.to_string(),
            name: p.name,
        }
    }
}

/// History entries of one record, oldest first.
pub(crate) fn history_list(entries: Vec<dsms_store::audit::AuditEntry>) -> ListOf<AuditEntryOut> {
    ListOf {
        items: entries.into_iter().map(AuditEntryOut::from).collect(),
        next_cursor: None,
    }
}

/// A hub variant.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VariantOut {
    id: String,
    /// e.g. `CH-C-4G-SB`.
    product_code: String,
    name: String,
    /// `long_range_radio`, `cellular_2g3g` or `cellular_4g`.
    radio_technology: String,
    /// `north`, `central` or `south`.
    region: String,
    /// `single` or `dual`.
    han_band: String,
    /// Orderable; withdrawn variants stay for history.
    active: bool,
    created_at: String,
    updated_at: String,
    version: i64,
}

impl From<HubVariant> for VariantOut {
    fn from(v: HubVariant) -> Self {
        Self {
            id: v.id.to_string(),
            product_code: v.product_code,
            name: v.name,
            radio_technology: v.radio_technology.as_str().to_owned(),
            region: v.region.as_str().to_owned(),
            han_band: v.han_band.as_str().to_owned(),
            active: v.active,
            created_at: time(v.created_at),
            updated_at: time(v.updated_at),
            version: v.version,
        }
    }
}

/// A variant to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VariantIn {
    product_code: String,
    name: String,
    /// `long_range_radio`, `cellular_2g3g` or `cellular_4g`.
    radio_technology: String,
    /// `north`, `central` or `south`.
    region: String,
    /// `single` or `dual`.
    han_band: String,
}

/// Changes to a variant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VariantPatch {
    name: Option<String>,
    /// `false` withdraws it from ordering and forecasting.
    active: Option<bool>,
}

/// The hub variants, by product code.
#[utoipa::path(get, path = "/api/v1/hub-variants", tag = "hubs", security(("bearer" = [])),
    responses((status = 200, body = ListOf<VariantOut>),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn variants(
    hubs: web::Data<Hubs>,
    caller: Caller,
) -> Result<web::Json<ListOf<VariantOut>>, ApiError> {
    let hubs = hubs.into_inner();
    let found = call(move || hubs.variants(&caller.principal)).await?;
    Ok(web::Json(ListOf {
        items: found.into_iter().map(VariantOut::from).collect(),
        next_cursor: None,
    }))
}

/// One variant, by id or product code.
#[utoipa::path(get, path = "/api/v1/hub-variants/{key}", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The variant's id or product code")),
    responses((status = 200, body = VariantOut),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn variant(
    hubs: web::Data<Hubs>,
    caller: Caller,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let hubs = hubs.into_inner();
    let v = call(move || hubs.variant(&caller.principal, &key)).await?;
    Ok(with_etag(v.version, &VariantOut::from(v)))
}

/// Adds a hub variant (operator, manage-hubs).
#[utoipa::path(post, path = "/api/v1/hub-variants", tag = "hubs", security(("bearer" = [])),
    request_body = VariantIn,
    responses((status = 201, body = VariantOut, headers(("Location" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn add_variant(
    hubs: web::Data<Hubs>,
    caller: Caller,
    Json(body): Json<VariantIn>,
) -> Result<HttpResponse, ApiError> {
    let hubs = hubs.into_inner();
    let v = call(move || {
        hubs.add_variant(
            &caller.principal,
            NewVariant {
                product_code: body.product_code,
                name: body.name,
                radio_technology: body.radio_technology,
                region: body.region,
                han_band: body.han_band,
            },
            caller.client.request_id.as_deref(),
        )
    })
    .await?;
    Ok(created(
        format!("/api/v1/hub-variants/{}", v.id),
        Some(v.version),
        &VariantOut::from(v),
    ))
}

/// Renames, withdraws or reinstates a variant (operator). Honours `If-Match`.
#[utoipa::path(patch, path = "/api/v1/hub-variants/{key}", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The variant's id or product code"),
           ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = VariantPatch,
    responses((status = 200, body = VariantOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn update_variant(
    hubs: web::Data<Hubs>,
    caller: Caller,
    req: HttpRequest,
    key: web::Path<String>,
    Json(body): Json<VariantPatch>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let hubs = hubs.into_inner();
    let v = call(move || {
        hubs.update_variant(
            &caller.principal,
            &key,
            expected,
            VariantChanges {
                name: body.name,
                active: body.active,
            },
            caller.client.request_id.as_deref(),
        )
    })
    .await?;
    Ok(with_etag(v.version, &VariantOut::from(v)))
}

/// A delivery location.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LocationOut {
    id: String,
    organisation_id: String,
    name: String,
    address: String,
    postcode: String,
    contact_name: String,
    contact_phone: String,
    contact_email: Option<String>,
    /// Weekdays deliveries are accepted: `mon` .. `sun`.
    delivery_days: Vec<String>,
    /// `pending` (awaiting the operator), `approved` or `rejected`.
    status: String,
    decision_note: Option<String>,
    created_at: String,
    updated_at: String,
    version: i64,
}

impl From<DeliveryLocation> for LocationOut {
    fn from(l: DeliveryLocation) -> Self {
        Self {
            id: l.id.to_string(),
            organisation_id: l.organisation_id.to_string(),
            name: l.name,
            address: l.address,
            postcode: l.postcode,
            contact_name: l.contact_name,
            contact_phone: l.contact_phone,
            contact_email: l.contact_email,
            delivery_days: l.delivery_days,
            status: l.status.as_str().to_owned(),
            decision_note: l.decision_note,
            created_at: time(l.created_at),
            updated_at: time(l.updated_at),
            version: l.version,
        }
    }
}

/// A delivery location to register; it needs the operator's approval before orders use it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LocationIn {
    name: String,
    address: String,
    postcode: String,
    contact_name: String,
    contact_phone: String,
    contact_email: Option<String>,
    /// Weekdays deliveries are accepted: `mon` .. `sun`.
    delivery_days: Vec<String>,
}

/// Changes to a location: details by its organisation (a new address or delivery days needs
/// approval again), `status` and `decision_note` by the operator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LocationPatch {
    name: Option<String>,
    address: Option<String>,
    postcode: Option<String>,
    contact_name: Option<String>,
    contact_phone: Option<String>,
    /// An empty string removes it.
    contact_email: Option<String>,
    delivery_days: Option<Vec<String>>,
    /// `approved` or `rejected` (operator).
    status: Option<String>,
    /// Required to reject.
    decision_note: Option<String>,
}

fn render_location(l: &DeliveryLocation) -> (String, String) {
    (
        serde_json::to_string(&LocationOut::from(l.clone())).unwrap_or_default(),
        format!("/api/v1/delivery-locations/{}", l.id),
    )
}

/// Registers a delivery location of the caller's organisation. `Idempotency-Key` makes
/// retries safe.
#[utoipa::path(post, path = "/api/v1/delivery-locations", tag = "hubs", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = LocationIn,
    responses((status = 201, body = LocationOut, headers(("Location" = String), ("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn register_location(
    hubs: web::Data<Hubs>,
    caller: Caller,
    req: HttpRequest,
    Json(raw): Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let idempotent = keyed(
        &req,
        &caller,
        "POST /api/v1/delivery-locations",
        request_digest(&raw),
        render_location,
    )?;
    let body: LocationIn = from_value(raw)?;
    let hubs = hubs.into_inner();
    let outcome = call(move || {
        hubs.register_location(
            &caller.principal,
            NewLocation {
                name: body.name,
                address: body.address,
                postcode: body.postcode,
                contact_name: body.contact_name,
                contact_phone: body.contact_phone,
                contact_email: body.contact_email,
                delivery_days: body.delivery_days,
            },
            idempotent,
            caller.client.request_id.as_deref(),
        )
    })
    .await?;
    Ok(answer(
        outcome,
        render_location,
        |l| Some(l.version),
        LocationOut::from,
    ))
}

/// Filters for the location list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LocationQuery {
    /// Only this organisation (operator staff).
    organisation_id: Option<i64>,
    /// `pending`, `approved` or `rejected`.
    status: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The delivery locations the caller may see, oldest first.
#[utoipa::path(get, path = "/api/v1/delivery-locations", tag = "hubs", security(("bearer" = [])),
    params(LocationQuery),
    responses((status = 200, body = ListOf<LocationOut>)))]
pub(crate) async fn locations(
    hubs: web::Data<Hubs>,
    caller: Caller,
    query: web::Query<LocationQuery>,
) -> Result<web::Json<ListOf<LocationOut>>, ApiError> {
    let q = query.into_inner();
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let hubs = hubs.into_inner();
    let found = call(move || {
        hubs.locations(
            &caller.principal,
            q.organisation_id,
            q.status.as_deref(),
            page,
        )
    })
    .await?;
    Ok(web::Json(ListOf::from_page(found, LocationOut::from)))
}

/// One delivery location.
#[utoipa::path(get, path = "/api/v1/delivery-locations/{id}", tag = "hubs", security(("bearer" = [])),
    params(("id" = String, Path, description = "The location's id")),
    responses((status = 200, body = LocationOut, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn location(
    hubs: web::Data<Hubs>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let hubs = hubs.into_inner();
    let l = call(move || hubs.location(&caller.principal, *id)).await?;
    Ok(with_etag(l.version, &LocationOut::from(l)))
}

/// Changes a delivery location. Honours `If-Match`.
#[utoipa::path(patch, path = "/api/v1/delivery-locations/{id}", tag = "hubs", security(("bearer" = [])),
    params(("id" = String, Path, description = "The location's id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = LocationPatch,
    responses((status = 200, body = LocationOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn update_location(
    hubs: web::Data<Hubs>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    Json(body): Json<LocationPatch>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let hubs = hubs.into_inner();
    let l = call(move || {
        hubs.update_location(
            &caller.principal,
            *id,
            expected,
            LocationChanges {
                name: body.name,
                address: body.address,
                postcode: body.postcode,
                contact_name: body.contact_name,
                contact_phone: body.contact_phone,
                contact_email: body.contact_email.map(Some),
                delivery_days: body.delivery_days,
                status: body.status,
                decision_note: body.decision_note,
            },
            caller.client.request_id.as_deref(),
        )
    })
    .await?;
    Ok(with_etag(l.version, &LocationOut::from(l)))
}

/// Every change to a delivery location, oldest first.
#[utoipa::path(get, path = "/api/v1/delivery-locations/{id}/history", tag = "hubs", security(("bearer" = [])),
    params(("id" = String, Path, description = "The location's id")),
    responses((status = 200, body = ListOf<AuditEntryOut>),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn location_history(
    hubs: web::Data<Hubs>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<ListOf<AuditEntryOut>>, ApiError> {
    let hubs = hubs.into_inner();
    let entries = call(move || hubs.location_history(&caller.principal, *id)).await?;
    Ok(web::Json(history_list(entries)))
}

/// One month and variant of a forecast.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ForecastLineOut {
    /// `YYYY-MM`.
    month: String,
    /// Product code.
    variant: String,
    region: String,
    quantity: i64,
}

/// How one month and variant changed from the previous version.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ForecastChangeOut {
    month: String,
    variant: String,
    /// Null when newly forecast.
    from: Option<i64>,
    /// Null when no longer forecast.
    to: Option<i64>,
}

/// One submitted version of an organisation's rolling forecast.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ForecastOut {
    id: String,
    organisation: OrganisationRef,
    /// The version number: 1 for the organisation's first forecast, then 2, 3 ...
    sequence: i64,
    /// The month it was submitted for (`YYYY-MM`).
    cycle_month: String,
    /// When that month's forecast was due (its Nth working day).
    due_on: String,
    /// The month's first forecast came after the due day.
    late: bool,
    submitted_by: PartyOut,
    submitted_at: String,
    lines: Vec<ForecastLineOut>,
    /// What changed from the previous version.
    changes: Vec<ForecastChangeOut>,
}

impl From<Forecast> for ForecastOut {
    fn from(f: Forecast) -> Self {
        Self {
            id: f.id.to_string(),
            organisation: OrganisationRef {
                id: f.organisation_id.to_string(),
                name: f.organisation_name,
            },
            sequence: f.sequence,
            cycle_month: f.cycle_month.to_string(),
            due_on: f.due_on.to_string(),
            late: f.late,
            submitted_by: f.submitted_by.into(),
            submitted_at: time(f.submitted_at),
            lines: f
                .lines
                .into_iter()
                .map(|l| ForecastLineOut {
                    month: l.month.to_string(),
                    variant: l.variant,
                    region: l.region.as_str().to_owned(),
                    quantity: l.quantity,
                })
                .collect(),
            changes: f
                .changes
                .into_iter()
                .map(|c| ForecastChangeOut {
                    month: c.month.to_string(),
                    variant: c.variant,
                    from: c.from,
                    to: c.to,
                })
                .collect(),
        }
    }
}

/// One line of a forecast to submit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ForecastLineIn {
    /// `YYYY-MM`, within the horizon after the current month.
    month: String,
    /// A variant's product code.
    variant: String,
    /// The variant's region, if stated (must agree).
    region: Option<String>,
    quantity: i64,
}

/// A new version of the caller's rolling forecast, covering every month of the horizon.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ForecastIn {
    lines: Vec<ForecastLineIn>,
}

fn render_forecast(f: &Forecast) -> (String, String) {
    (
        serde_json::to_string(&ForecastOut::from(f.clone())).unwrap_or_default(),
        format!("/api/v1/hub-forecasts/{}", f.id),
    )
}

/// Submits a new version of the caller's organisation's rolling forecast.
#[utoipa::path(post, path = "/api/v1/hub-forecasts", tag = "hubs", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = ForecastIn,
    responses((status = 201, body = ForecastOut, headers(("Location" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn submit_forecast(
    hubs: web::Data<Hubs>,
    caller: Caller,
    req: HttpRequest,
    Json(raw): Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let idempotent = keyed(
        &req,
        &caller,
        "POST /api/v1/hub-forecasts",
        request_digest(&raw),
        render_forecast,
    )?;
    let body: ForecastIn = from_value(raw)?;
    let lines = body
        .lines
        .into_iter()
        .map(|l| NewForecastLine {
            month: l.month,
            variant: l.variant,
            region: l.region,
            quantity: l.quantity,
        })
        .collect();
    let hubs = hubs.into_inner();
    let outcome = call(move || {
        hubs.submit_forecast(
            &caller.principal,
            lines,
            idempotent,
            caller.client.request_id.as_deref(),
        )
    })
    .await?;
    Ok(answer(
        outcome,
        render_forecast,
        |_| None,
        ForecastOut::from,
    ))
}

/// Filters for the forecast list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ForecastQuery {
    /// Only this organisation (operator staff).
    organisation_id: Option<i64>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The forecast versions the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/hub-forecasts", tag = "hubs", security(("bearer" = [])),
    params(ForecastQuery),
    responses((status = 200, body = ListOf<ForecastOut>)))]
pub(crate) async fn forecasts(
    hubs: web::Data<Hubs>,
    caller: Caller,
    query: web::Query<ForecastQuery>,
) -> Result<web::Json<ListOf<ForecastOut>>, ApiError> {
    let q = query.into_inner();
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let filter = ForecastFilter {
        organisation_id: q.organisation_id,
    };
    let hubs = hubs.into_inner();
    let found = call(move || hubs.forecasts(&caller.principal, &filter, page)).await?;
    Ok(web::Json(ListOf::from_page(found, ForecastOut::from)))
}

/// One forecast version with its lines and what changed.
#[utoipa::path(get, path = "/api/v1/hub-forecasts/{id}", tag = "hubs", security(("bearer" = [])),
    params(("id" = String, Path, description = "The forecast's id")),
    responses((status = 200, body = ForecastOut),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn forecast(
    hubs: web::Data<Hubs>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<ForecastOut>, ApiError> {
    let hubs = hubs.into_inner();
    let f = call(move || hubs.forecast(&caller.principal, *id)).await?;
    Ok(web::Json(f.into()))
}

/// Which forecast is in force for a month.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct InForceQuery {
    /// `YYYY-MM`.
    month: String,
    /// The organisation (required for operator staff).
    organisation_id: Option<i64>,
}

/// The forecast in force for a month.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InForceOut {
    organisation_id: String,
    month: String,
    /// The month's order cut-off: the forecast in force is the latest submitted before it.
    cutoff: String,
    /// Null when no forecast is in force.
    forecast_id: Option<String>,
    sequence: Option<i64>,
    /// The forecast's lines for the month.
    lines: Vec<ForecastLineOut>,
}

impl From<ForecastInForce> for InForceOut {
    fn from(f: ForecastInForce) -> Self {
        Self {
            organisation_id: f.organisation_id.to_string(),
            month: f.month.to_string(),
            cutoff: f.cutoff.to_string(),
            forecast_id: f.forecast.map(|(id, _)| id.to_string()),
            sequence: f.forecast.map(|(_, s)| s),
            lines: f
                .lines
                .into_iter()
                .map(|l| ForecastLineOut {
                    month: l.month.to_string(),
                    variant: l.variant,
                    region: l.region.as_str().to_owned(),
                    quantity: l.quantity,
                })
                .collect(),
        }
    }
}

/// The forecast in force for a month: the latest submitted before the month's order cut-off.
#[utoipa::path(get, path = "/api/v1/hub-forecasts/in-force", tag = "hubs", security(("bearer" = [])),
    params(InForceQuery),
    responses((status = 200, body = InForceOut),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn in_force(
    hubs: web::Data<Hubs>,
    caller: Caller,
    query: web::Query<InForceQuery>,
) -> Result<web::Json<InForceOut>, ApiError> {
    let q = query.into_inner();
    let hubs = hubs.into_inner();
    let f = call(move || hubs.forecast_in_force(&caller.principal, q.organisation_id, &q.month))
        .await?;
    Ok(web::Json(f.into()))
}

/// Which cycle to check.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ComplianceQuery {
    /// `YYYY-MM`; the current month when absent.
    month: Option<String>,
}

/// Whether a supplier forecast on time in a monthly cycle.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ComplianceOut {
    organisation: OrganisationRef,
    cycle_month: String,
    due_on: String,
    first_submitted_at: Option<String>,
    /// `on_time`, `late`, `missing` or `not_yet_due`.
    status: String,
}

impl From<ForecastCompliance> for ComplianceOut {
    fn from(c: ForecastCompliance) -> Self {
        Self {
            organisation: OrganisationRef {
                id: c.organisation_id.to_string(),
                name: c.organisation_name,
            },
            cycle_month: c.cycle_month.to_string(),
            due_on: c.due_on.to_string(),
            first_submitted_at: c.first_submitted_at.map(time),
            status: c.status.as_str().to_owned(),
        }
    }
}

/// Late and missing forecasts: each supplier the caller may see, for one monthly cycle.
#[utoipa::path(get, path = "/api/v1/hub-forecasts/compliance", tag = "hubs", security(("bearer" = [])),
    params(ComplianceQuery),
    responses((status = 200, body = ListOf<ComplianceOut>)))]
pub(crate) async fn compliance(
    hubs: web::Data<Hubs>,
    caller: Caller,
    query: web::Query<ComplianceQuery>,
) -> Result<web::Json<ListOf<ComplianceOut>>, ApiError> {
    let q = query.into_inner();
    let hubs = hubs.into_inner();
    let found =
        call(move || hubs.forecast_compliance(&caller.principal, q.month.as_deref())).await?;
    Ok(web::Json(ListOf {
        items: found.into_iter().map(ComplianceOut::from).collect(),
        next_cursor: None,
    }))
}
