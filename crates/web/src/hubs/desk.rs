//! The operator's hub work at `/desk/hubs`: orders to accept or reject, orders to dispatch,
//! delivery locations awaiting approval (approved or rejected here), and returns to move
//! along. Each order and return opens on its own page, where its actions are.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use dsms_core::{PageRequest, Permission};
use dsms_hubs::{HubError, Hubs, LocationChanges, OrderStatus, ReturnStatus};

use super::{
    Form, OrderLine, ReturnLine, done, form_post, one_of, optional, refused, request_id,
    some_orders, some_returns, version_of,
};
use crate::admin::fields::FieldErrors;
use crate::admin::{Acting, Answer, Refusal, when};
use crate::nav::{Area, Menu};
use crate::page::{Caching, see_other, show};
use crate::session::WebSession;

/// Mounts the operator's hub page.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/desk/hubs", web::get().to(desk))
        .route("/desk/hubs/locations/{id}/decide", web::post().to(decide));
}

/// Records listed in each section.
const LISTED: i64 = 100;

/// A location awaiting approval.
struct Pending {
    id: i64,
    version: i64,
    organisation: String,
    name: String,
    address: String,
    days: String,
    registered: String,
}

#[derive(Template)]
#[template(path = "hubs/desk.html")]
struct DeskPage {
    csrf_token: String,
    menu: Menu,
    notice: Option<&'static str>,
    errors: FieldErrors,
    may_manage: bool,
    to_decide: Vec<OrderLine>,
    to_dispatch: Vec<OrderLine>,
    locations: Vec<Pending>,
    returns: Vec<ReturnLine>,
}

/// Reads and shows the page, with `errors` from a refused decision.
async fn render(
    req: &HttpRequest,
    acting: &Acting,
    hubs: &web::Data<Hubs>,
    errors: FieldErrors,
    status: StatusCode,
) -> Answer {
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let identity = acting.session.ui.identity.clone();
    let (to_decide, to_dispatch, locations, returns) = acting
        .call(move || {
            let to_decide = some_orders(
                &service,
                &principal,
                &[OrderStatus::Submitted, OrderStatus::Amended],
                LISTED,
            )?;
            let to_dispatch = some_orders(
                &service,
                &principal,
                &[OrderStatus::Accepted, OrderStatus::Dispatched],
                LISTED,
            )?;
            let page = PageRequest {
                limit: LISTED,
                after: None,
            };
            let mut names: HashMap<i64, String> = HashMap::new();
            let mut locations = Vec::new();
            for l in service
                .locations(&principal, None, Some("pending"), page)?
                .items
            {
                let organisation = names
                    .entry(l.organisation_id)
                    .or_insert_with(|| {
                        identity
                            .organisation(&principal, l.organisation_id)
                            .map_or_else(
                                |_| format!("Organisation {}", l.organisation_id),
                                |o| o.name,
                            )
                    })
                    .clone();
                locations.push(Pending {
                    id: l.id,
                    version: l.version,
                    organisation,
                    address: format!("{}, {}", l.address, l.postcode),
                    days: l.delivery_days.join(", "),
                    registered: when(l.created_at),
                    name: l.name,
                });
            }
            let returns = some_returns(
                &service,
                &principal,
                &[
                    ReturnStatus::Requested,
                    ReturnStatus::Authorised,
                    ReturnStatus::Collected,
                    ReturnStatus::Received,
                    ReturnStatus::Analysed,
                ],
                LISTED,
            )?;
            Ok::<_, HubError>((to_decide, to_dispatch, locations, returns))
        })
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let page = DeskPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Hubs),
        notice: done(
            req,
            &[("decided", "The location decision has been recorded.")],
        ),
        errors,
        may_manage: acting.principal().can(Permission::ManageHubs),
        to_decide,
        to_dispatch,
        locations,
        returns,
    };
    Ok(show(acting.site(), status, Caching::NoStore, &page)?)
}

async fn desk(req: HttpRequest, session: WebSession, hubs: web::Data<Hubs>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewHubs)?;
    if !acting.principal().is_operator_staff() {
        return Err(Refusal::forbidden(acting.site()));
    }
    render(&req, &acting, &hubs, FieldErrors::new(), StatusCode::OK).await
}

async fn decide(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    id: web::Path<i64>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    acting.require(Permission::ManageHubs)?;
    let changes = LocationChanges {
        status: Some(one_of(&form, "decision").to_owned()),
        decision_note: optional(&form, "note"),
        ..LocationChanges::default()
    };
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let version = version_of(&form);
    let request_id = request_id(&req);
    let id = *id;
    let result = acting
        .call(move || {
            service.update_location(&principal, id, version, changes, request_id.as_deref())
        })
        .await?;
    match result {
        Ok(_) => Ok(see_other(acting.site(), "/desk/hubs?done=decided").finish()),
        Err(error) => match refused(
            error,
            &[
                ("status", "decision", "Decision"),
                ("decision_note", "note", "Note"),
            ],
        ) {
            Ok((errors, status)) => render(&req, &acting, &hubs, errors, status).await,
            Err(other) => Err(Refusal::from_context(acting.site(), other)),
        },
    }
}
