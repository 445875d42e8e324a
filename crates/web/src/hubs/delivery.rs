//! Hub delivery pages: an order's advance shipment notices to download (CSV or JSON), and
//! discrepancy cases at `/portal/hubs/discrepancies` — the organisation's own with their status
//! and outcome, and for the operator every case with forms to investigate, settle or reject.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use dsms_core::{PageRequest, Permission};
use dsms_hubs::{DISCREPANCY_TRANSITIONS, DiscrepancyChanges, DiscrepancyFilter, Mover, lifecycle};
use dsms_hubs::{HubError, Hubs};

use super::{Form, done, form_post, one_of, optional, refused, request_id, version_of};
use crate::admin::fields::FieldErrors;
use crate::admin::{Acting, Answer, Refusal, when, when_or};
use crate::nav::{Area, Menu};
use crate::page::{Caching, see_other, show};
use crate::session::WebSession;

/// Mounts the delivery pages.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/portal/hubs/orders/{reference}/consignments/{id}/asn.csv",
        web::get().to(asn_csv),
    )
    .route(
        "/portal/hubs/orders/{reference}/consignments/{id}/asn.json",
        web::get().to(asn_json),
    )
    .route("/portal/hubs/discrepancies", web::get().to(list))
    .route("/desk/hubs/discrepancies/{id}", web::post().to(work));
}

/// Cases listed.
const LISTED: i64 = 200;

/// One case as the page shows it.
struct CaseLine {
    id: i64,
    version: i64,
    order_reference: String,
    kind: String,
    quantity: i64,
    serials: String,
    status: String,
    outcome: String,
    note: String,
    settled: String,
    reported: String,
    next: Vec<String>,
}

#[derive(Template)]
#[template(path = "hubs/discrepancies.html")]
struct CasesPage {
    csrf_token: String,
    menu: Menu,
    notice: Option<&'static str>,
    errors: FieldErrors,
    may_manage: bool,
    cases: Vec<CaseLine>,
}

async fn render(
    req: &HttpRequest,
    acting: &Acting,
    hubs: &web::Data<Hubs>,
    errors: FieldErrors,
    status: StatusCode,
) -> Answer {
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let found = acting
        .call(move || {
            service.discrepancies(
                &principal,
                &DiscrepancyFilter::default(),
                PageRequest {
                    limit: LISTED,
                    after: None,
                },
            )
        })
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let cases = found
        .items
        .into_iter()
        .map(|c| CaseLine {
            id: c.id,
            version: c.version,
            order_reference: c.order_reference,
            kind: c.kind,
            quantity: c.quantity,
            serials: c.serials.join(", "),
            status: c.status.as_str().replace('_', " "),
            outcome: c
                .outcome
                .map_or_else(String::new, |o| o.as_str().replace('_', " ")),
            note: c.settlement_note.unwrap_or_default(),
            settled: c
                .settled_by
                .map(|by| format!("{by}, {}", when_or(c.settled_at, "")))
                .unwrap_or_default(),
            reported: when(c.created_at),
            next: lifecycle::allowed(DISCREPANCY_TRANSITIONS, c.status, Mover::Operator)
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
        })
        .collect();
    let page = CasesPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Hubs),
        notice: done(req, &[("worked", "The case has been updated.")]),
        errors,
        may_manage: acting.principal().can(Permission::ManageHubs),
        cases,
    };
    Ok(show(acting.site(), status, Caching::NoStore, &page)?)
}

async fn list(req: HttpRequest, session: WebSession, hubs: web::Data<Hubs>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewHubs)?;
    render(&req, &acting, &hubs, FieldErrors::new(), StatusCode::OK).await
}

async fn work(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    id: web::Path<i64>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    acting.require(Permission::ManageHubs)?;
    let changes = DiscrepancyChanges {
        status: one_of(&form, "status").to_owned(),
        outcome: optional(&form, "outcome"),
        note: optional(&form, "note"),
    };
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let version = version_of(&form);
    let request_id = request_id(&req);
    let id = *id;
    let result = acting
        .call(move || {
            service.update_discrepancy(&principal, id, version, changes, request_id.as_deref())
        })
        .await?;
    match result {
        Ok(_) => Ok(see_other(acting.site(), "/portal/hubs/discrepancies?done=worked").finish()),
        Err(error) => match refused(
            error,
            &[
                ("status", "status", "Status"),
                ("outcome", "outcome", "Outcome"),
                ("note", "note", "Note"),
            ],
        ) {
            Ok((errors, status)) => render(&req, &acting, &hubs, errors, status).await,
            Err(other) => Err(Refusal::from_context(acting.site(), other)),
        },
    }
}

/// The notice of one consignment, if the person may see its order.
async fn notice(
    session: WebSession,
    hubs: web::Data<Hubs>,
    path: web::Path<(String, i64)>,
) -> Result<dsms_hubs::ShipmentNotice, Refusal> {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewHubs)?;
    let (reference, id) = path.into_inner();
    let principal = acting.principal().clone();
    let service = hubs.into_inner();
    acting
        .call(move || service.shipment_notice(&principal, &reference, id))
        .await?
        .map_err(|e: HubError| Refusal::from_context(acting.site(), e))
}

fn download(name: String, content_type: &str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

async fn asn_csv(
    session: WebSession,
    hubs: web::Data<Hubs>,
    path: web::Path<(String, i64)>,
) -> Answer {
    let n = notice(session, hubs, path).await?;
    let name = format!("asn-{}-{}.csv", n.order_reference, n.consignment_id);
    Ok(download(name, "text/csv; charset=utf-8", n.to_csv()))
}

async fn asn_json(
    session: WebSession,
    hubs: web::Data<Hubs>,
    path: web::Path<(String, i64)>,
) -> Answer {
    let n = notice(session, hubs, path).await?;
    let name = format!("asn-{}-{}.json", n.order_reference, n.consignment_id);
    let body = serde_json::json!({
        "consignment_id": n.consignment_id.to_string(),
        "order_id": n.order_id.to_string(),
        "order_reference": n.order_reference,
        "organisation": n.organisation_name,
        "location": n.location_name,
        "address": n.location_address,
        "postcode": n.location_postcode,
        "delivery_date": n.delivery_date.to_string(),
        "variant": n.variant,
        "quantity": n.quantity,
        "dispatched_at": n.dispatched_at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "serials": n.serials,
    });
    Ok(download(name, "application/json", body.to_string()))
}
