//! Hub returns: requested by import and gas suppliers by serial number (JSON or `text/csv`),
//! authorised, collected, received and analysed by the operator, then closed.

use actix_web::{HttpRequest, HttpResponse, web};
use dsms_hubs::{
    Analysis, HubReturn, Hubs, LineAnalysis, NewReturn, ReturnFilter, ReturnLine, ReturnRow, bulk,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::extract::{Json, from_value};
use crate::problem::{ApiError, Problem};
use crate::routes::audit::AuditEntryOut;
use crate::routes::dto::{
    ListOf, OrganisationRef, PageQuery, if_match, request_digest, time, with_etag,
};
use crate::routes::hubs::{
    Bulk, PartyOut, answer, call, csv_digest, history_list, keyed, read_bulk,
};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/hub-returns").get(list).post(request))
        .service(web::resource("/hub-returns/{key}").get(get).patch(update))
        .service(web::resource("/hub-returns/{key}/lines").get(lines))
        .service(web::resource("/hub-returns/{key}/authorisation").post(authorise))
        .service(web::resource("/hub-returns/{key}/analysis").post(analyse))
        .service(web::resource("/hub-returns/{key}/history").get(history));
}

/// How many hubs were returned for a reason.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReasonCountOut {
    reason: String,
    quantity: i64,
}

/// A hub return.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReturnOut {
    id: String,
    /// `RET` and seven or more digits.
    reference: String,
    organisation: OrganisationRef,
    /// `requested`, `authorised`, `collected`, `received`, `analysed`, `closed`.
    status: String,
    /// The incident that reported the fault.
    incident_id: Option<String>,
    quantity: i64,
    reasons: Vec<ReasonCountOut>,
    /// Charged in total once analysed, pence.
    charge_pence: Option<i64>,
    /// Credited in total once analysed, pence.
    credit_pence: Option<i64>,
    notes: Option<String>,
    requested_by: PartyOut,
    created_at: String,
    updated_at: String,
    version: i64,
}

impl From<HubReturn> for ReturnOut {
    fn from(r: HubReturn) -> Self {
        Self {
            id: r.id.to_string(),
            reference: r.reference,
            organisation: OrganisationRef {
                id: r.organisation_id.to_string(),
                name: r.organisation_name,
            },
            status: r.status.as_str().to_owned(),
            incident_id: r.incident_id.map(|i| i.to_string()),
            quantity: r.quantity,
            reasons: r
                .reasons
                .into_iter()
                .map(|(reason, quantity)| ReasonCountOut {
                    reason: reason.as_str().to_owned(),
                    quantity,
                })
                .collect(),
            charge_pence: r.charge_pence,
            credit_pence: r.credit_pence,
            notes: r.notes,
            requested_by: r.requested_by.into(),
            created_at: time(r.created_at),
            updated_at: time(r.updated_at),
            version: r.version,
        }
    }
}

/// One hub returned.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReturnLineIn {
    serial: String,
    /// Faulty: aerial, damaged_case, damaged_connector, environmental_conditions_exceeded,
    /// illegal_interference_or_missing_seals, led, manufacturing_defect, sm_han, sm_wan.
    /// No fault: general, lost_or_stolen, non_domestic_opt_out, wan_variant_swap,
    /// dual_supplier_han_variant_swap.
    reason: String,
    /// `before_installation` or `after_installation` (faulty reasons only).
    found: Option<String>,
}

/// A return to request, as JSON. As `text/csv`, send `serial,reason,found` columns and the
/// incident as the `incident_id` query parameter; bad rows are named `rows[N].serial` etc.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReturnIn {
    lines: Vec<ReturnLineIn>,
    /// The incident that reported the fault (faulty returns).
    #[serde(
        default,
        deserialize_with = "crate::routes::dto::opt_id_from_string_or_number"
    )]
    #[schema(value_type = Option<String>)]
    incident_id: Option<i64>,
    notes: Option<String>,
}

/// The incident of a CSV return.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReturnQuery {
    /// The incident that reported the fault (CSV uploads).
    incident_id: Option<i64>,
}

fn render(r: &HubReturn) -> (String, String) {
    (
        serde_json::to_string(&ReturnOut::from(r.clone())).unwrap_or_default(),
        format!("/api/v1/hub-returns/{}", r.id),
    )
}

/// Requests a return of the caller's organisation's hubs (import and gas suppliers), as JSON or
/// a `text/csv` upload. Each serial must be known, delivered to the organisation and not yet
/// returned; every bad row is named at once.
#[utoipa::path(post, path = "/api/v1/hub-returns", tag = "hubs", security(("bearer" = [])),
    params(ReturnQuery, ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body(content(
        (ReturnIn = "application/json"),
        (String = "text/csv", example = "serial,reason,found\nCH4G00000001,sm_wan,after_installation\nCH4G00000002,general,\n"))),
    responses((status = 201, body = ReturnOut, headers(("Location" = String), ("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn request(
    hubs: web::Data<Hubs>,
    caller: Caller,
    req: HttpRequest,
    query: web::Query<ReturnQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (new, digest) = match read_bulk(&req, payload).await? {
        Bulk::Json(raw) => {
            let digest = request_digest(&raw);
            let body: ReturnIn = from_value(raw)?;
            let rows = body
                .lines
                .into_iter()
                .enumerate()
                .map(|(i, l)| ReturnRow {
                    at: format!("lines[{i}]"),
                    serial: l.serial,
                    reason: l.reason,
                    found: l.found,
                })
                .collect();
            (
                NewReturn {
                    rows,
                    incident_id: body.incident_id,
                    notes: body.notes,
                },
                digest,
            )
        }
        Bulk::Csv(bytes) => {
            let incident_id = query.into_inner().incident_id;
            let digest = csv_digest(&bytes, &format!("{incident_id:?}"));
            let rows = bulk::return_rows(&bytes).map_err(ApiError::Validation)?;
            (
                NewReturn {
                    rows,
                    incident_id,
                    notes: None,
                },
                digest,
            )
        }
    };
    let idempotent = keyed(&req, &caller, "POST /api/v1/hub-returns", digest, render)?;
    let hubs = hubs.into_inner();
    let outcome = call(move || {
        hubs.request_return(
            &caller.principal,
            new,
            idempotent,
            caller.client.request_id.as_deref(),
        )
    })
    .await?;
    Ok(answer(
        outcome,
        render,
        |r| Some(r.version),
        ReturnOut::from,
    ))
}

/// Filters for the return list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReturnListQuery {
    /// Only this organisation (operator staff).
    organisation_id: Option<i64>,
    /// Comma-separated statuses.
    status: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The returns the caller may see, oldest first.
#[utoipa::path(get, path = "/api/v1/hub-returns", tag = "hubs", security(("bearer" = [])),
    params(ReturnListQuery),
    responses((status = 200, body = ListOf<ReturnOut>),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    hubs: web::Data<Hubs>,
    caller: Caller,
    query: web::Query<ReturnListQuery>,
) -> Result<web::Json<ListOf<ReturnOut>>, ApiError> {
    let q = query.into_inner();
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let filter = ReturnFilter {
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
    };
    let hubs = hubs.into_inner();
    let found = call(move || hubs.returns(&caller.principal, &filter, page)).await?;
    Ok(web::Json(ListOf::from_page(found, ReturnOut::from)))
}

/// One return, by id or reference.
#[utoipa::path(get, path = "/api/v1/hub-returns/{key}", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The return's id or reference (RET…)")),
    responses((status = 200, body = ReturnOut, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get(
    hubs: web::Data<Hubs>,
    caller: Caller,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let hubs = hubs.into_inner();
    let r = call(move || hubs.hub_return(&caller.principal, &key)).await?;
    Ok(with_etag(r.version, &ReturnOut::from(r)))
}

/// A returned hub and its analysis.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReturnLineOut {
    serial: String,
    variant: String,
    reason: String,
    faulty: bool,
    found: Option<String>,
    fault_confirmed: Option<bool>,
    redeployable: Option<bool>,
    /// `charge` or `credit`, once analysed.
    settlement: Option<String>,
    amount_pence: Option<i64>,
}

impl From<ReturnLine> for ReturnLineOut {
    fn from(l: ReturnLine) -> Self {
        Self {
            serial: l.serial,
            variant: l.variant,
            reason: l.reason.as_str().to_owned(),
            faulty: l.faulty,
            found: l.found.map(|f| f.as_str().to_owned()),
            fault_confirmed: l.fault_confirmed,
            redeployable: l.redeployable,
            settlement: l.settlement,
            amount_pence: l.amount_pence,
        }
    }
}

/// The hubs of a return, by serial.
#[utoipa::path(get, path = "/api/v1/hub-returns/{key}/lines", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The return's id or reference")),
    responses((status = 200, body = ListOf<ReturnLineOut>),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn lines(
    hubs: web::Data<Hubs>,
    caller: Caller,
    key: web::Path<String>,
) -> Result<web::Json<ListOf<ReturnLineOut>>, ApiError> {
    let hubs = hubs.into_inner();
    let found = call(move || hubs.return_lines(&caller.principal, &key)).await?;
    Ok(web::Json(ListOf {
        items: found.into_iter().map(ReturnLineOut::from).collect(),
        next_cursor: None,
    }))
}

/// A lifecycle step of a return.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReturnPatch {
    /// `collected`, `received` or `closed` (operator), one step at a time.
    status: String,
    notes: Option<String>,
}

/// Moves a return one step (operator): collected, received, closed. Honours `If-Match`.
#[utoipa::path(patch, path = "/api/v1/hub-returns/{key}", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The return's id or reference"),
           ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = ReturnPatch,
    responses((status = 200, body = ReturnOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn update(
    hubs: web::Data<Hubs>,
    caller: Caller,
    req: HttpRequest,
    key: web::Path<String>,
    Json(body): Json<ReturnPatch>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let hubs = hubs.into_inner();
    let r = call(move || {
        hubs.advance_return(
            &caller.principal,
            &key,
            expected,
            &body.status,
            body.notes,
            caller.client.request_id.as_deref(),
        )
    })
    .await?;
    Ok(with_etag(r.version, &ReturnOut::from(r)))
}

/// The operator's authorisation of a return.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthorisationIn {
    /// Collection instructions.
    notes: Option<String>,
}

/// Authorises a requested return (operator). Honours `If-Match`.
#[utoipa::path(post, path = "/api/v1/hub-returns/{key}/authorisation", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The return's id or reference"),
           ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = AuthorisationIn,
    responses((status = 200, body = ReturnOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn authorise(
    hubs: web::Data<Hubs>,
    caller: Caller,
    req: HttpRequest,
    key: web::Path<String>,
    Json(body): Json<AuthorisationIn>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let hubs = hubs.into_inner();
    let r = call(move || {
        hubs.advance_return(
            &caller.principal,
            &key,
            expected,
            "authorised",
            body.notes,
            caller.client.request_id.as_deref(),
        )
    })
    .await?;
    Ok(with_etag(r.version, &ReturnOut::from(r)))
}

/// One hub whose analysis differs from the return's.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineAnalysisIn {
    serial: String,
    fault_confirmed: bool,
    redeployable: bool,
}

/// The analysis of a received return.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnalysisIn {
    /// For every hub not listed in `exceptions`: the fault was confirmed (faulty reasons only).
    fault_confirmed: bool,
    /// For every hub not listed in `exceptions`: it can be redeployed.
    redeployable: bool,
    #[serde(default)]
    exceptions: Vec<LineAnalysisIn>,
    notes: Option<String>,
}

/// Records the analysis of a received return (operator): a confirmed fault is credited at the
/// hub's value; otherwise the redeployment charge, or the hub's value when it cannot be
/// redeployed, is charged (amounts from the rules in force). Honours `If-Match`.
#[utoipa::path(post, path = "/api/v1/hub-returns/{key}/analysis", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The return's id or reference"),
           ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = AnalysisIn,
    responses((status = 200, body = ReturnOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn analyse(
    hubs: web::Data<Hubs>,
    caller: Caller,
    req: HttpRequest,
    key: web::Path<String>,
    Json(body): Json<AnalysisIn>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let hubs = hubs.into_inner();
    let r = call(move || {
        hubs.analyse_return(
            &caller.principal,
            &key,
            expected,
            Analysis {
                fault_confirmed: body.fault_confirmed,
                redeployable: body.redeployable,
                exceptions: body
                    .exceptions
                    .into_iter()
                    .map(|e| LineAnalysis {
                        serial: e.serial,
                        fault_confirmed: e.fault_confirmed,
                        redeployable: e.redeployable,
                    })
                    .collect(),
                notes: body.notes,
            },
            caller.client.request_id.as_deref(),
        )
    })
    .await?;
    Ok(with_etag(r.version, &ReturnOut::from(r)))
}

/// Every change to a return, oldest first.
#[utoipa::path(get, path = "/api/v1/hub-returns/{key}/history", tag = "hubs", security(("bearer" = [])),
    params(("key" = String, Path, description = "The return's id or reference")),
    responses((status = 200, body = ListOf<AuditEntryOut>),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn history(
    hubs: web::Data<Hubs>,
    caller: Caller,
    key: web::Path<String>,
) -> Result<web::Json<ListOf<AuditEntryOut>>, ApiError> {
    let hubs = hubs.into_inner();
    let entries = call(move || hubs.return_history(&caller.principal, &key)).await?;
    Ok(web::Json(history_list(entries)))
}
