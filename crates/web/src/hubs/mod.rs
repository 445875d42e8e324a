//! Communications hubs in the web UI: for organisations, `/portal/hubs` with their delivery
//! locations, rolling forecasts, orders and returns; for the operator's staff, `/desk/hubs`
//! with the orders, locations and returns waiting for them; and one page per order
//! (`/hubs/orders/{reference}`) and per return (`/hubs/returns/{reference}`) for both, with the
//! actions the person's permissions and the lifecycle allow. Every rule is the hub service's:
//! the pages read forms, call it, and show each refusal it names.

mod auxiliary;
mod delivery;
mod desk;
mod forecasts;
mod locations;
mod orders;
mod returns;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use dsms_core::{PageRequest, Permission, ValidationErrors};
use dsms_hubs::{
    Created, HubError, HubOrder, HubReturn, Hubs, OrderFilter, OrderStatus, ReturnFilter,
    ReturnStatus,
};

use crate::admin::fields::FieldErrors;
use crate::admin::{Acting, Answer, Refusal, when};
pub(super) use crate::desk::one_of;
use crate::nav::{Area, Menu};
use crate::page::{Caching, see_other, show};
use crate::session::WebSession;

/// Mounts the hub pages.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/portal/hubs", web::get().to(overview))
        .configure(locations::configure)
        .configure(forecasts::configure)
        .configure(orders::configure)
        .configure(returns::configure)
        .configure(desk::configure)
        .configure(delivery::configure)
        .configure(auxiliary::configure);
}

/// A choice in a select: its value, its text, whether chosen.
pub(super) struct Choice {
    value: String,
    text: String,
    selected: bool,
}

/// Choices from `(value, text)` pairs, with `chosen` selected.
pub(super) fn choices<V: Into<String>, T: Into<String>>(
    options: impl IntoIterator<Item = (V, T)>,
    chosen: &str,
) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, text)| {
            let value = value.into();
            Choice {
                selected: value == chosen,
                text: text.into(),
                value,
            }
        })
        .collect()
}

/// A box to tick: its value, its text, whether ticked.
pub(super) struct Tick {
    value: String,
    text: String,
    checked: bool,
}

/// The optional text `name` of a posted form: none when blank.
pub(super) fn optional(form: &[(String, String)], name: &str) -> Option<String> {
    let value = one_of(form, name).trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// The version a form was shown at, for the service's stale-edit check.
pub(super) fn version_of(form: &[(String, String)]) -> Option<i64> {
    one_of(form, "version").trim().parse().ok()
}

/// Serial numbers as typed: separated by new lines, commas or spaces.
pub(super) fn typed_serials(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An amount of money for people: `£30.87`.
pub(super) fn money(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let pence = pence.unsigned_abs();
    format!("{sign}£{}.{:02}", pence / 100, pence % 100)
}

/// An order's status as people read it.
pub(super) fn order_status(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Submitted => "Submitted",
        OrderStatus::Accepted => "Accepted",
        OrderStatus::Rejected => "Rejected",
        OrderStatus::Amended => "Amended",
        OrderStatus::Cancelled => "Cancelled",
        OrderStatus::Dispatched => "Dispatched",
        OrderStatus::Delivered => "Delivered",
    }
}

/// A return's status as people read it.
pub(super) fn return_status(status: ReturnStatus) -> &'static str {
    match status {
        ReturnStatus::Requested => "Requested",
        ReturnStatus::Authorised => "Authorised",
        ReturnStatus::Collected => "Collected",
        ReturnStatus::Received => "Received",
        ReturnStatus::Analysed => "Analysed",
        ReturnStatus::Closed => "Closed",
    }
}

/// One error of the hub service as a sentence: `label` names the field; a list item
/// (`rows[3].serial`) is counted from one; a message naming its rule (`pack size: must be ...`)
/// says which rule is broken.
pub(super) fn sentence(path: &str, label: &str, message: &str) -> String {
    let rest = path.split_once('[').map_or("", |(_, rest)| rest);
    let index = rest
        .split_once(']')
        .and_then(|(n, _)| n.parse::<usize>().ok());
    let part = rest
        .split_once("].")
        .map(|(_, p)| p.replace('_', " "))
        .filter(|p| !p.is_empty());
    let subject = match (index, part) {
        (Some(i), Some(part)) => format!("{label} {} ({part})", i + 1),
        (Some(i), None) => format!("{label} {}", i + 1),
        _ => label.to_owned(),
    };
    // A rule's name leads its message (`pack size: ...`); "must be ...: ..." is no rule.
    let rule = message.split_once(": ").filter(|(rule, _)| {
        !rule.is_empty()
            && rule
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == ' ' || c == '-')
            && !["must", "cannot", "is"].contains(&rule.split(' ').next().unwrap_or_default())
    });
    match rule {
        Some((rule, detail)) => format!("{subject} breaks the {rule} rule: {detail}"),
        _ if index.is_some() => format!("{subject}: {message}"),
        _ => format!("{subject} {message}"),
    }
}

/// The hub service's validation errors on a form, every one kept: `labels` maps each field
/// the service names (list items count as their list) to the form's field and its label. The
/// first message of a field is shown by it and in the summary; the others, and those about
/// no field of the form, in the summary, so a refused order lists each rule it breaks.
pub(super) fn problems(errors: ValidationErrors, labels: &[(&str, &str, &str)]) -> FieldErrors {
    let mut out = FieldErrors::new();
    for error in errors.0 {
        let name = error.field.split(['[', '.']).next().unwrap_or_default();
        match labels.iter().find(|(context, _, _)| *context == name) {
            Some((_, field, label)) => {
                let message = sentence(&error.field, label, &error.message);
                if out.has(field) {
                    out.add_other(message);
                } else {
                    out.add(field, message);
                }
            }
            None => out.add_other(sentence(
                &error.field,
                &error.field.replace('_', " "),
                &error.message,
            )),
        }
    }
    out
}

/// How a refused action reads on a record's page, and its status; `None` when the refusal
/// has its own page (not found, forbidden, a failure).
pub(super) fn refused(
    error: HubError,
    labels: &[(&str, &str, &str)],
) -> Result<(FieldErrors, StatusCode), HubError> {
    let mut errors = FieldErrors::new();
    let status = match error {
        HubError::Invalid(invalid) => {
            let found = problems(invalid, labels);
            for p in found.all() {
                errors.add_other(p.message.clone());
            }
            for o in found.others() {
                errors.add_other(o.clone());
            }
            StatusCode::UNPROCESSABLE_ENTITY
        }
        HubError::Transition { detail, .. } => {
            errors.add_other(format!("This cannot be done now: {detail}."));
            StatusCode::CONFLICT
        }
        HubError::VersionMismatch(_) => {
            errors.add_other(
                "Someone changed this while you were looking at it. Here it is as it is now; \
                 make your change again if it is still needed.",
            );
            StatusCode::CONFLICT
        }
        other => return Err(other),
    };
    Ok((errors, status))
}

/// The notice a record's page shows after an action worked: `?done=` names it.
pub(super) fn done(req: &HttpRequest, notices: &[(&str, &'static str)]) -> Option<&'static str> {
    let done = req
        .query_string()
        .split('&')
        .find_map(|pair| pair.strip_prefix("done="))?;
    notices
        .iter()
        .find(|(code, _)| *code == done)
        .map(|(_, text)| *text)
}

/// A posted form with its CSRF token checked, from a person who may see hubs.
pub(super) fn form_post(
    req: &HttpRequest,
    session: WebSession,
    form: &[(String, String)],
) -> Result<Acting, Refusal> {
    let acting = Acting::of(session)?;
    acting.check_form(req, one_of(form, "csrf_token"))?;
    acting.require(Permission::ViewHubs)?;
    Ok(acting)
}

/// The request id recorded with what a page changes.
pub(super) fn request_id(req: &HttpRequest) -> Option<String> {
    dsms_api::auth::client_of(req).request_id
}

/// What a create made; without an idempotency key (pages send none) it is never a replay.
pub(super) fn created<T>(site: &crate::site::Site, created: Created<T>) -> Result<T, Refusal> {
    match created {
        Created::New(value) => Ok(value),
        Created::Replayed(_) => Err(Refusal::from_context(
            site,
            dsms_api::ApiError::Internal("a replay without an idempotency key".into()),
        )),
    }
}

/// A posted form, as name and value pairs (repeated names allowed).
pub(super) type Form = web::Form<Vec<(String, String)>>;

/// One order as a row of a list.
pub(super) struct OrderLine {
    reference: String,
    organisation: String,
    location: String,
    variant: String,
    month: String,
    quantity: i64,
    dispatched: i64,
    status: &'static str,
    placed: String,
}

impl From<HubOrder> for OrderLine {
    fn from(o: HubOrder) -> Self {
        Self {
            reference: o.reference,
            organisation: o.organisation_name,
            location: o.location_name,
            variant: o.variant,
            month: o.delivery_month.to_string(),
            quantity: o.quantity,
            dispatched: o.dispatched_quantity,
            status: order_status(o.status),
            placed: when(o.created_at),
        }
    }
}

/// One return as a row of a list.
pub(super) struct ReturnLine {
    reference: String,
    organisation: String,
    quantity: i64,
    status: &'static str,
    requested: String,
}

impl From<HubReturn> for ReturnLine {
    fn from(r: HubReturn) -> Self {
        Self {
            reference: r.reference,
            organisation: r.organisation_name,
            quantity: r.quantity,
            status: return_status(r.status),
            requested: when(r.created_at),
        }
    }
}

/// The first `n` orders with `statuses` the caller may see.
pub(super) fn some_orders(
    hubs: &Hubs,
    principal: &dsms_core::Principal,
    statuses: &[OrderStatus],
    n: i64,
) -> Result<Vec<OrderLine>, HubError> {
    let filter = OrderFilter {
        statuses: statuses.iter().map(|s| s.as_str().to_owned()).collect(),
        ..OrderFilter::default()
    };
    let page = PageRequest {
        limit: n,
        after: None,
    };
    Ok(hubs
        .orders(principal, &filter, page)?
        .items
        .into_iter()
        .map(OrderLine::from)
        .collect())
}

/// The first `n` returns with `statuses` the caller may see.
pub(super) fn some_returns(
    hubs: &Hubs,
    principal: &dsms_core::Principal,
    statuses: &[ReturnStatus],
    n: i64,
) -> Result<Vec<ReturnLine>, HubError> {
    let filter = ReturnFilter {
        statuses: statuses.iter().map(|s| s.as_str().to_owned()).collect(),
        ..ReturnFilter::default()
    };
    let page = PageRequest {
        limit: n,
        after: None,
    };
    Ok(hubs
        .returns(principal, &filter, page)?
        .items
        .into_iter()
        .map(ReturnLine::from)
        .collect())
}

/// Orders still in play for a supplier.
const OPEN_ORDERS: [OrderStatus; 4] = [
    OrderStatus::Submitted,
    OrderStatus::Amended,
    OrderStatus::Accepted,
    OrderStatus::Dispatched,
];

/// Returns not yet closed.
const OPEN_RETURNS: [ReturnStatus; 5] = [
    ReturnStatus::Requested,
    ReturnStatus::Authorised,
    ReturnStatus::Collected,
    ReturnStatus::Received,
    ReturnStatus::Analysed,
];

#[derive(Template)]
#[template(path = "hubs/overview.html")]
struct OverviewPage {
    csrf_token: String,
    menu: Menu,
    may_order: bool,
    approved: usize,
    pending: usize,
    rejected: usize,
    forecast: Option<String>,
    orders: Vec<OrderLine>,
    returns: Vec<ReturnLine>,
}

/// The organisation's start page for hubs; the operator's staff have theirs at `/desk/hubs`.
async fn overview(session: WebSession, hubs: web::Data<Hubs>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewHubs)?;
    if acting.principal().is_operator_staff() {
        return Ok(see_other(acting.site(), "/desk/hubs").finish());
    }
    let principal = acting.principal().clone();
    let service = hubs.into_inner();
    let (locations, latest, orders, returns) = acting
        .call(move || {
            let all = PageRequest {
                limit: 500,
                after: None,
            };
            let locations = service.locations(&principal, None, None, all)?.items;
            let latest = service
                .forecasts(
                    &principal,
                    &dsms_hubs::ForecastFilter::default(),
                    PageRequest {
                        limit: 1,
                        after: None,
                    },
                )?
                .items
                .into_iter()
                .next();
            let orders = some_orders(&service, &principal, &OPEN_ORDERS, 10)?;
            let returns = some_returns(&service, &principal, &OPEN_RETURNS, 10)?;
            Ok::<_, HubError>((locations, latest, orders, returns))
        })
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let count = |s: dsms_hubs::LocationStatus| locations.iter().filter(|l| l.status == s).count();
    let page = OverviewPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Hubs),
        may_order: acting.principal().can(Permission::OrderHubs),
        approved: count(dsms_hubs::LocationStatus::Approved),
        pending: count(dsms_hubs::LocationStatus::Pending),
        rejected: count(dsms_hubs::LocationStatus::Rejected),
        forecast: latest.map(|f| {
            format!(
                "Version {}, submitted {} by {}{}",
                f.sequence,
                when(f.submitted_at),
                f.submitted_by.name,
                if f.late { " (late for its month)" } else { "" }
            )
        }),
        orders,
        returns,
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_sentences_naming_rows_and_rules() {
        assert_eq!(
            sentence(
                "quantity",
                "Quantity",
                "pack size: must be a whole multiple of 10"
            ),
            "Quantity breaks the pack size rule: must be a whole multiple of 10"
        );
        assert_eq!(
            sentence("rows[3].serial", "Row", "CH1 was already returned"),
            "Row 4 (serial): CH1 was already returned"
        );
        assert_eq!(
            sentence(
                "rows[1].serial",
                "Row",
                "must be a hub serial number: 6 to 32"
            ),
            "Row 2 (serial): must be a hub serial number: 6 to 32"
        );
        assert_eq!(
            sentence("name", "Name", "must not be empty"),
            "Name must not be empty"
        );
        assert_eq!(money(3087), "£30.87");
        assert_eq!(money(-5), "-£0.05");
    }

    #[test]
    fn every_message_of_a_field_is_kept() {
        let errors = ValidationErrors(vec![
            dsms_core::FieldError::new("quantity", "minimum order: must be at least 10 hubs"),
            dsms_core::FieldError::new("quantity", "pack size: must be a whole multiple of 10"),
            dsms_core::FieldError::new("elsewhere", "is wrong"),
        ]);
        let shown = problems(errors, &[("quantity", "quantity", "Quantity")]);
        assert_eq!(
            shown.get("quantity"),
            Some("Quantity breaks the minimum order rule: must be at least 10 hubs")
        );
        assert_eq!(shown.others().len(), 2, "{shown:?}");
    }
}
