//! Hub orders: the organisation's list with filters and the form to place one at
//! `/portal/hubs/orders`, and each order's page at `/hubs/orders/{reference}` with its
//! consignments and their serials, where the supplier amends, cancels and confirms deliveries
//! and the operator accepts, rejects and dispatches (serials typed or uploaded as CSV).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use dsms_core::{PageRequest, Permission};
use dsms_hubs::lifecycle::allowed;
use dsms_hubs::{
    Confirmation, HubError, HubOrder, Hubs, Mover, NewConsignment, NewOrder, ORDER_TRANSITIONS,
    OrderChanges, OrderFilter, OrderStatus, SerialRow, rules,
};
use serde::Deserialize;

use super::auxiliary;
use super::{
    Choice, Form, OrderLine, choices, created, done, form_post, one_of, optional, order_status,
    problems, refused, request_id, typed_serials, version_of,
};
use crate::admin::fields::FieldErrors;
use crate::admin::{Acting, Answer, Refusal, when};
use crate::desk::now_of;
use crate::nav::{Area, Menu};
use crate::page::{Caching, see_other, show};
use crate::session::WebSession;
use crate::upload;

/// Mounts the order pages.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/portal/hubs/orders", web::get().to(list))
        .service(
            web::resource("/portal/hubs/orders/new")
                .get(new_form)
                .post(place),
        )
        .route("/hubs/orders/{reference}", web::get().to(order))
        .route("/hubs/orders/{reference}/amend", web::post().to(amend))
        .route(
            "/hubs/orders/{reference}/auxiliary",
            web::post().to(amend_auxiliary),
        )
        .route("/hubs/orders/{reference}/cancel", web::post().to(cancel))
        .route("/hubs/orders/{reference}/decide", web::post().to(decide))
        .route(
            "/hubs/orders/{reference}/dispatch",
            web::post().to(dispatch),
        )
        .route(
            "/hubs/orders/{reference}/dispatch-file",
            web::post().to(dispatch_file),
        )
        .route(
            "/hubs/orders/{reference}/consignments/{id}/confirm",
            web::post().to(confirm),
        );
}

/// Orders on one page of the list.
const PAGE_SIZE: i64 = 25;

/// The largest serial-number file accepted from the page.
const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// The order form's fields as the service names them, with their labels.
const LABELS: &[(&str, &str, &str)] = &[
    ("delivery_month", "delivery_month", "Delivery month"),
    ("location_id", "location_id", "Delivery location"),
    ("variant", "variant", "Hub variant"),
    ("quantity", "quantity", "Quantity"),
    auxiliary::LINES_LABEL,
];

/// The labels of the order page's actions.
const ACTION_LABELS: &[(&str, &str, &str)] = &[
    ("quantity", "quantity", "Quantity"),
    ("status", "status", "Status"),
    ("reason", "reason", "Reason"),
    ("delivery_date", "delivery_date", "Delivery date"),
    ("serials", "serials", "Serial"),
    ("rows", "rows", "Row"),
    ("header", "header", "The file's header"),
    ("missing", "missing", "Missing serial"),
    ("damaged", "damaged", "Damaged serial"),
    ("excess", "excess", "Excess serial"),
    ("confirmation", "confirmation", "The confirmation"),
    auxiliary::LINES_LABEL,
    ("notes", "notes", "Notes"),
];

/// The list's filters, from its query string. Empty means "any".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    status: String,
    month: String,
    variant: String,
    cursor: String,
}

impl ListQuery {
    /// The query string of these filters, with `cursor` when given.
    fn href(&self, cursor: Option<&str>) -> String {
        let pairs: Vec<String> = [
            ("status", self.status.as_str()),
            ("month", self.month.as_str()),
            ("variant", self.variant.as_str()),
            ("cursor", cursor.unwrap_or_default()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| {
            format!(
                "{k}={}",
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect();
        if pairs.is_empty() {
            "/portal/hubs/orders".to_owned()
        } else {
            format!("/portal/hubs/orders?{}", pairs.join("&"))
        }
    }
}

#[derive(Template)]
#[template(path = "hubs/orders.html")]
struct ListPage {
    csrf_token: String,
    menu: Menu,
    may_order: bool,
    show_organisation: bool,
    statuses: Vec<Choice>,
    variants: Vec<Choice>,
    month: String,
    errors: FieldErrors,
    orders: Vec<OrderLine>,
    first_page: Option<String>,
    next_page: Option<String>,
}

async fn list(session: WebSession, hubs: web::Data<Hubs>, query: web::Query<ListQuery>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewHubs)?;
    let query = query.into_inner();
    let mut errors = FieldErrors::new();
    let page = PageRequest::parse(Some(PAGE_SIZE), Some(&query.cursor)).unwrap_or_else(|_| {
        errors.add_other("That page of the list is no longer available; start again.");
        PageRequest {
            limit: PAGE_SIZE,
            after: None,
        }
    });
    let filter = OrderFilter {
        statuses: Some(query.status.clone())
            .filter(|s| !s.is_empty())
            .into_iter()
            .collect(),
        delivery_month: Some(query.month.trim().to_owned()).filter(|m| !m.is_empty()),
        variant: Some(query.variant.clone()).filter(|v| !v.is_empty()),
        ..OrderFilter::default()
    };
    let principal = acting.principal().clone();
    let service = hubs.into_inner();
    let (found, variants) = acting
        .call(move || {
            let variants = service.variants(&principal)?;
            Ok::<_, HubError>((service.orders(&principal, &filter, page), variants))
        })
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let (orders, next_cursor) = match found {
        Ok(found) => (
            found.items.into_iter().map(OrderLine::from).collect(),
            found.next_cursor,
        ),
        Err(HubError::Invalid(invalid)) => {
            errors = problems(
                invalid,
                &[
                    ("status", "status", "Status"),
                    ("delivery_month", "month", "Delivery month"),
                ],
            );
            (Vec::new(), None)
        }
        Err(other) => return Err(Refusal::from_context(acting.site(), other)),
    };
    let page = ListPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Hubs),
        may_order: acting.principal().can(Permission::OrderHubs),
        show_organisation: acting.principal().is_operator_staff(),
        statuses: choices(
            std::iter::once(("", "Any status")).chain(
                OrderStatus::ALL
                    .iter()
                    .map(|s| (s.as_str(), order_status(*s))),
            ),
            &query.status,
        ),
        variants: choices(
            std::iter::once((String::new(), "Any variant".to_owned())).chain(
                variants.into_iter().map(|v| {
                    (
                        v.product_code.clone(),
                        format!("{} – {}", v.product_code, v.name),
                    )
                }),
            ),
            &query.variant,
        ),
        month: query.month.clone(),
        errors,
        orders,
        first_page: (!query.cursor.is_empty()).then(|| query.href(None)),
        next_page: next_cursor.map(|c| query.href(Some(&c))),
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

/// The order form as submitted (or empty).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct OrderForm {
    delivery_month: String,
    location_id: String,
    variant: String,
    quantity: String,
    /// Auxiliary items, `CODE QUANTITY` one a line.
    auxiliary: String,
    csrf_token: String,
}

#[derive(Template)]
#[template(path = "hubs/order_form.html")]
struct OrderFormPage {
    csrf_token: String,
    menu: Menu,
    form: OrderForm,
    months: Vec<Choice>,
    locations: Vec<Choice>,
    variants: Vec<Choice>,
    rules: String,
    /// The orderable auxiliary items and their rules.
    catalogue: Vec<String>,
    errors: FieldErrors,
}

/// The choices the form offers: the months of the horizon, the organisation's approved
/// locations, the orderable variants.
async fn order_form_page(
    req: &HttpRequest,
    acting: &Acting,
    hubs: &web::Data<Hubs>,
    form: OrderForm,
    errors: FieldErrors,
) -> Result<OrderFormPage, Refusal> {
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let (locations, variants, catalogue) = acting
        .call(move || {
            let locations = service
                .locations(
                    &principal,
                    None,
                    Some("approved"),
                    PageRequest {
                        limit: 500,
                        after: None,
                    },
                )?
                .items;
            let catalogue = service.auxiliary_items(&principal, true)?;
            Ok::<_, HubError>((locations, service.variants(&principal)?, catalogue))
        })
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let today = rules::today(now_of(req));
    let set = hubs.rules().in_force(today);
    let first = dsms_hubs::Month::of(today).plus(1);
    let months = (0..set.forecast_horizon_months).map(|n| {
        let m = first.plus(n).to_string();
        (m.clone(), m)
    });
    Ok(OrderFormPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Hubs),
        months: choices(
            std::iter::once((String::new(), "Choose a month".to_owned())).chain(months),
            &form.delivery_month,
        ),
        locations: choices(
            std::iter::once((String::new(), "Choose an approved location".to_owned())).chain(
                locations
                    .into_iter()
                    .map(|l| (l.id.to_string(), format!("{} ({})", l.name, l.postcode))),
            ),
            &form.location_id,
        ),
        variants: choices(
            std::iter::once((String::new(), "Choose a variant".to_owned())).chain(
                variants.into_iter().filter(|v| v.active).map(|v| {
                    (
                        v.product_code.clone(),
                        format!("{} – {}", v.product_code, v.name),
                    )
                }),
            ),
            &form.variant,
        ),
        rules: format!(
            "Orders are placed at least {} months before the delivery month, in whole packs of {} \
             and at least {} hubs, and orders for a month and variant total {}% to {}% of the \
             forecast in force. They may be amended or cancelled until {} months before the \
             delivery month.",
            set.order_lead_time_months,
            set.pack_size,
            set.minimum_quantity,
            set.tolerance_min_percent,
            set.tolerance_max_percent,
            set.amendment_cutoff_months
        ),
        catalogue: catalogue.iter().map(auxiliary::item_rules).collect(),
        form,
        errors,
    })
}

async fn new_form(req: HttpRequest, session: WebSession, hubs: web::Data<Hubs>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::OrderHubs)?;
    let page = order_form_page(
        &req,
        &acting,
        &hubs,
        OrderForm::default(),
        FieldErrors::new(),
    )
    .await?;
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

async fn place(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    web::Form(form): web::Form<OrderForm>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.check_form(&req, &form.csrf_token)?;
    acting.require(Permission::OrderHubs)?;
    let quantity = form.quantity.trim().parse::<i64>().ok();
    let new = NewOrder {
        delivery_month: form.delivery_month.trim().to_owned(),
        // No location is id 0, which the service names as not one of the organisation's.
        location_id: form.location_id.trim().parse().unwrap_or(0),
        variant: form.variant.trim().to_owned(),
        quantity: quantity.unwrap_or(0),
    };
    let (lines, unreadable) = auxiliary::parse_lines(&form.auxiliary);
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let request_id = request_id(&req);
    match acting
        .call(move || {
            service.place_order_with_auxiliary(&principal, new, lines, None, request_id.as_deref())
        })
        .await?
    {
        Ok(placed) => {
            let order = created(acting.site(), placed)?;
            Ok(see_other(
                acting.site(),
                &format!("/hubs/orders/{}?done=placed", order.reference),
            )
            .finish())
        }
        Err(HubError::Invalid(mut invalid)) => {
            let mut errors = FieldErrors::new();
            auxiliary::unreadable(&mut invalid, &unreadable, &mut errors);
            if quantity.is_none() {
                // The service judged 0 hubs; what was typed is not a number at all.
                invalid.0.retain(|e| e.field != "quantity");
                errors.add("quantity", "Quantity must be a whole number of hubs");
            }
            for (field, value, ask) in [
                (
                    "delivery_month",
                    &form.delivery_month,
                    "Choose a delivery month",
                ),
                (
                    "location_id",
                    &form.location_id,
                    "Choose a delivery location",
                ),
                ("variant", &form.variant, "Choose a hub variant"),
            ] {
                if value.trim().is_empty() {
                    invalid.0.retain(|e| e.field != field);
                    errors.add(field, ask);
                }
            }
            let found = problems(invalid, LABELS);
            for p in found.all() {
                errors.add(&p.field, p.message.clone());
            }
            for o in found.others() {
                errors.add_other(o.clone());
            }
            let order: Vec<&str> = LABELS.iter().map(|(_, field, _)| *field).collect();
            let page = order_form_page(&req, &acting, &hubs, form, errors.in_order(&order)).await?;
            Ok(show(
                acting.site(),
                StatusCode::UNPROCESSABLE_ENTITY,
                Caching::NoStore,
                &page,
            )?)
        }
        Err(other) => Err(Refusal::from_context(acting.site(), other)),
    }
}

/// One consignment as its card shows it.
struct ConsignmentView {
    id: i64,
    delivery_date: String,
    quantity: i64,
    status: String,
    confirmation_due_on: String,
    confirmed: Option<String>,
    notes: Option<String>,
    discrepancies: Vec<String>,
    serials: Vec<(String, String)>,
    may_confirm: bool,
}

/// One entry of the order's history.
struct Event {
    at: String,
    what: String,
}

#[derive(Template)]
#[template(path = "hubs/order.html")]
struct OrderPage {
    csrf_token: String,
    menu: Menu,
    notice: Option<&'static str>,
    errors: FieldErrors,
    reference: String,
    version: i64,
    facts: Vec<(&'static str, String)>,
    status: &'static str,
    remaining: i64,
    consignments: Vec<ConsignmentView>,
    history: Vec<Event>,
    may_amend: bool,
    may_cancel: bool,
    may_decide: bool,
    may_dispatch: bool,
    max_file_mb: usize,
    back: &'static str,
    /// The auxiliary items on the order, as the amendment form shows them.
    auxiliary: String,
}

/// What the order page says after an action worked.
const NOTICES: &[(&str, &str)] = &[
    (
        "placed",
        "Your order has been placed; the operator will accept or reject it.",
    ),
    (
        "amended",
        "The order has been amended; the operator will look at it again.",
    ),
    ("cancelled", "The order has been cancelled."),
    ("decided", "Your decision has been recorded."),
    ("dispatched", "The consignment has been dispatched."),
    ("confirmed", "The delivery has been confirmed."),
];

/// Reads and shows the order page, with `errors` from a refused action.
async fn render(
    req: &HttpRequest,
    acting: &Acting,
    hubs: &web::Data<Hubs>,
    reference: &str,
    errors: FieldErrors,
    status: StatusCode,
) -> Answer {
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let key = reference.to_owned();
    let (order, serials, history, extra) = acting
        .call(move || {
            let order = service.order(&principal, &key)?;
            let extra = service.order_auxiliary(&principal, &key)?.lines;
            let mut serials = Vec::with_capacity(order.consignments.len());
            for c in &order.consignments {
                serials.push(service.consignment(&principal, &order.reference, c.id)?.1);
            }
            let history = service.order_history(&principal, &key)?;
            Ok::<_, HubError>((order, serials, history, extra))
        })
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let mut page = build(req, acting, order, serials, history, errors);
    page.facts
        .push(("Auxiliary equipment", auxiliary::describe(&extra)));
    page.auxiliary = auxiliary::lines_text(&extra);
    Ok(show(acting.site(), status, Caching::NoStore, &page)?)
}

fn build(
    req: &HttpRequest,
    acting: &Acting,
    order: HubOrder,
    serials: Vec<Vec<(String, String)>>,
    history: Vec<dsms_store::audit::AuditEntry>,
    errors: FieldErrors,
) -> OrderPage {
    let principal = acting.principal();
    let today = rules::today(now_of(req));
    let supplier = principal.organisation_id == order.organisation_id
        && principal.can(Permission::OrderHubs)
        && !principal.is_operator_staff();
    let operator = principal.can(Permission::ManageHubs);
    let for_supplier = allowed(ORDER_TRANSITIONS, order.status, Mover::Supplier);
    let for_operator = allowed(ORDER_TRANSITIONS, order.status, Mover::Operator);
    let before_cutoff = today < order.cutoff;
    let mut facts = vec![
        ("Organisation", order.organisation_name.clone()),
        ("Delivery month", order.delivery_month.to_string()),
        (
            "Hub variant",
            format!("{} ({})", order.variant, order.region),
        ),
        ("Delivery location", order.location_name.clone()),
        ("Hubs ordered", order.quantity.to_string()),
        ("Hubs dispatched", order.dispatched_quantity.to_string()),
        (
            "Firm from",
            format!(
                "{} (no amendment or cancellation from this day)",
                order.cutoff
            ),
        ),
        (
            "Placed",
            format!("{} by {}", when(order.created_at), order.placed_by.name),
        ),
        (
            "Judged by the rules in force from",
            order.rules_effective_from.to_string(),
        ),
    ];
    if let Some(reason) = &order.decision_reason {
        facts.push(("Reason for rejection", reason.clone()));
    }
    let consignments = order
        .consignments
        .iter()
        .zip(serials)
        .map(|(c, serials)| ConsignmentView {
            id: c.id,
            delivery_date: c.delivery_date.to_string(),
            quantity: c.quantity,
            status: c.status.replace('_', " "),
            confirmation_due_on: c.confirmation_due_on.to_string(),
            confirmed: c.confirmed_at.map(|at| {
                format!(
                    "{} by {}",
                    when(at),
                    c.confirmed_by.clone().unwrap_or_default()
                )
            }),
            notes: c.notes.clone(),
            discrepancies: c
                .discrepancies
                .iter()
                .map(|d| {
                    format!(
                        "{} of {} hub{} ({}): {}",
                        d.kind,
                        d.quantity,
                        if d.quantity == 1 { "" } else { "s" },
                        d.status,
                        d.serials.join(", ")
                    )
                })
                .collect(),
            serials,
            may_confirm: supplier && c.status == "dispatched",
        })
        .collect();
    OrderPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Hubs),
        notice: done(req, NOTICES),
        errors,
        version: order.version,
        facts,
        status: order_status(order.status),
        remaining: order.quantity - order.dispatched_quantity,
        consignments,
        history: history
            .into_iter()
            .map(|h| Event {
                at: when(h.occurred_at),
                what: h.action.replace("hub_order.", "").replace('_', " "),
            })
            .collect(),
        may_amend: supplier && before_cutoff && for_supplier.contains(&OrderStatus::Amended),
        may_cancel: supplier && before_cutoff && for_supplier.contains(&OrderStatus::Cancelled),
        may_decide: operator && for_operator.contains(&OrderStatus::Accepted),
        may_dispatch: operator
            && matches!(
                order.status,
                OrderStatus::Accepted | OrderStatus::Dispatched
            )
            && order.dispatched_quantity < order.quantity,
        max_file_mb: MAX_FILE_BYTES / (1024 * 1024),
        back: if principal.is_operator_staff() {
            "/desk/hubs"
        } else {
            "/portal/hubs/orders"
        },
        reference: order.reference,
        auxiliary: String::new(),
    }
}

async fn order(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    reference: web::Path<String>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewHubs)?;
    render(
        &req,
        &acting,
        &hubs,
        &reference,
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

/// Back to the order page after an action, or the page with the action's refusal.
async fn answer<T>(
    req: &HttpRequest,
    acting: &Acting,
    hubs: &web::Data<Hubs>,
    reference: &str,
    result: Result<T, HubError>,
    done: &str,
) -> Answer {
    match result {
        Ok(_) => Ok(see_other(
            acting.site(),
            &format!("/hubs/orders/{reference}?done={done}"),
        )
        .finish()),
        Err(error) => match refused(error, ACTION_LABELS) {
            Ok((errors, status)) => render(req, acting, hubs, reference, errors, status).await,
            Err(other) => Err(Refusal::from_context(acting.site(), other)),
        },
    }
}

/// Applies `changes` at the version the page showed.
async fn change(
    req: &HttpRequest,
    acting: &Acting,
    hubs: &web::Data<Hubs>,
    reference: &str,
    version: Option<i64>,
    changes: OrderChanges,
    done: &str,
) -> Answer {
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let key = reference.to_owned();
    let request_id = request_id(req);
    let result = acting
        .call(move || {
            service.update_order(&principal, &key, version, changes, request_id.as_deref())
        })
        .await?;
    answer(req, acting, hubs, reference, result, done).await
}

async fn amend(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    reference: web::Path<String>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    let Ok(quantity) = one_of(&form, "quantity").trim().parse::<i64>() else {
        let mut errors = FieldErrors::new();
        errors.add_other("Quantity must be a whole number of hubs");
        return render(
            &req,
            &acting,
            &hubs,
            &reference,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let changes = OrderChanges {
        quantity: Some(quantity),
        ..OrderChanges::default()
    };
    let version = version_of(&form);
    change(
        &req, &acting, &hubs, &reference, version, changes, "amended",
    )
    .await
}

/// Replaces the auxiliary items on the order (an amendment), typed `CODE QUANTITY` one a line.
async fn amend_auxiliary(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    reference: web::Path<String>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    let (lines, unreadable) = auxiliary::parse_lines(one_of(&form, "auxiliary"));
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let key = reference.to_string();
    let version = version_of(&form);
    let request_id = request_id(&req);
    let result = acting
        .call(move || {
            service.set_order_auxiliary(&principal, &key, version, lines, request_id.as_deref())
        })
        .await?;
    match result {
        Err(HubError::Invalid(mut invalid)) => {
            let mut errors = FieldErrors::new();
            auxiliary::unreadable(&mut invalid, &unreadable, &mut errors);
            let found = problems(invalid, ACTION_LABELS);
            for p in found.all() {
                errors.add(&p.field, p.message.clone());
            }
            for o in found.others() {
                errors.add_other(o.clone());
            }
            render(
                &req,
                &acting,
                &hubs,
                &reference,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        other => answer(&req, &acting, &hubs, &reference, other, "amended").await,
    }
}

async fn cancel(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    reference: web::Path<String>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    let changes = OrderChanges {
        status: Some(OrderStatus::Cancelled.as_str().to_owned()),
        ..OrderChanges::default()
    };
    let version = version_of(&form);
    change(
        &req,
        &acting,
        &hubs,
        &reference,
        version,
        changes,
        "cancelled",
    )
    .await
}

async fn decide(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    reference: web::Path<String>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    acting.require(Permission::ManageHubs)?;
    let changes = OrderChanges {
        status: Some(one_of(&form, "decision").to_owned()),
        reason: optional(&form, "reason"),
        ..OrderChanges::default()
    };
    let version = version_of(&form);
    change(
        &req, &acting, &hubs, &reference, version, changes, "decided",
    )
    .await
}

/// Dispatches a consignment of `serials` on `delivery_date`.
async fn send(
    req: &HttpRequest,
    acting: &Acting,
    hubs: &web::Data<Hubs>,
    reference: &str,
    delivery_date: String,
    serials: Vec<SerialRow>,
) -> Answer {
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let key = reference.to_owned();
    let request_id = request_id(req);
    let new = NewConsignment {
        delivery_date,
        serials,
    };
    let result = acting
        .call(move || service.dispatch(&principal, &key, new, None, request_id.as_deref()))
        .await?;
    answer(req, acting, hubs, reference, result, "dispatched").await
}

async fn dispatch(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    reference: web::Path<String>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    acting.require(Permission::ManageHubs)?;
    let serials = typed_serials(one_of(&form, "serials"))
        .into_iter()
        .enumerate()
        .map(|(i, serial)| SerialRow {
            field: format!("serials[{i}]"),
            serial,
        })
        .collect();
    let date = one_of(&form, "delivery_date").to_owned();
    send(&req, &acting, &hubs, &reference, date, serials).await
}

async fn dispatch_file(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    reference: web::Path<String>,
    payload: web::Payload,
) -> Answer {
    let acting = Acting::of(session)?;
    let upload = match upload::read(&req, payload, MAX_FILE_BYTES).await {
        Ok(upload) => upload,
        Err(message) => {
            let mut errors = FieldErrors::new();
            errors.add_other(message);
            return render(
                &req,
                &acting,
                &hubs,
                &reference,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    acting.check_form(&req, &upload.csrf_token)?;
    acting.require(Permission::ManageHubs)?;
    let serials = match dsms_hubs::bulk::serial_rows(&upload.bytes) {
        Ok(rows) => rows,
        Err(invalid) => {
            let (errors, status) = refused(HubError::Invalid(invalid), ACTION_LABELS)
                .map_err(|e| Refusal::from_context(acting.site(), e))?;
            return render(&req, &acting, &hubs, &reference, errors, status).await;
        }
    };
    let date = one_of(&upload.fields, "delivery_date").to_owned();
    send(&req, &acting, &hubs, &reference, date, serials).await
}

async fn confirm(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    path: web::Path<(String, i64)>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    acting.require(Permission::OrderHubs)?;
    let (reference, consignment) = path.into_inner();
    let confirmation = Confirmation {
        missing: typed_serials(one_of(&form, "missing")),
        damaged: typed_serials(one_of(&form, "damaged")),
        excess: typed_serials(one_of(&form, "excess")),
        notes: optional(&form, "notes"),
    };
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let key = reference.clone();
    let request_id = request_id(&req);
    let result = acting
        .call(move || {
            service.confirm_delivery(
                &principal,
                &key,
                consignment,
                confirmation,
                request_id.as_deref(),
            )
        })
        .await?;
    answer(&req, &acting, &hubs, &reference, result, "confirmed").await
}
