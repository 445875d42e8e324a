//! An organisation's delivery locations at `/portal/hubs/locations`: the list with each one's
//! approval by the operator, and the forms to register one and to change one (a changed
//! address or delivery days goes back to the operator for approval).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use dsms_core::{PageRequest, Permission};
use dsms_hubs::{DeliveryLocation, HubError, Hubs, LocationChanges, LocationStatus, NewLocation};

use super::{Form, Tick, created, done, form_post, one_of, problems, request_id, version_of};
use crate::admin::fields::FieldErrors;
use crate::admin::{Acting, Answer, Refusal};
use crate::nav::{Area, Menu};
use crate::page::{Caching, see_other, show};
use crate::session::WebSession;

/// Mounts the location pages.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/portal/hubs/locations", web::get().to(list))
        .service(
            web::resource("/portal/hubs/locations/new")
                .get(new_form)
                .post(register),
        )
        .service(
            web::resource("/portal/hubs/locations/{id}")
                .get(edit_form)
                .post(save),
        );
}

/// Weekdays as the service names them, with their names for people.
const DAYS: [(&str, &str); 7] = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

/// The form's fields as the service names them, with their labels.
const LABELS: &[(&str, &str, &str)] = &[
    ("name", "name", "Name"),
    ("address", "address", "Address"),
    ("postcode", "postcode", "Postcode"),
    ("contact_name", "contact_name", "Contact name"),
    ("contact_phone", "contact_phone", "Contact telephone"),
    ("contact_email", "contact_email", "Contact email"),
    ("delivery_days", "delivery_days", "Delivery days"),
];

/// What the operator decided, as people read it.
fn approval(location: &DeliveryLocation) -> String {
    match (location.status, &location.decision_note) {
        (LocationStatus::Pending, _) => "Awaiting the operator's approval".to_owned(),
        (LocationStatus::Approved, _) => "Approved".to_owned(),
        (LocationStatus::Rejected, Some(note)) => format!("Rejected: {note}"),
        (LocationStatus::Rejected, None) => "Rejected".to_owned(),
    }
}

/// The weekdays of `days` as people read them.
fn day_names(days: &[String]) -> String {
    DAYS.iter()
        .filter(|(code, _)| days.iter().any(|d| d == code))
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One location as a row of the list.
struct Row {
    id: i64,
    name: String,
    address: String,
    postcode: String,
    contact: String,
    days: String,
    approval: String,
    approved: bool,
}

#[derive(Template)]
#[template(path = "hubs/locations.html")]
struct ListPage {
    csrf_token: String,
    menu: Menu,
    may_edit: bool,
    notice: Option<&'static str>,
    rows: Vec<Row>,
}

async fn list(req: HttpRequest, session: WebSession, hubs: web::Data<Hubs>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewHubs)?;
    let principal = acting.principal().clone();
    let service = hubs.into_inner();
    let page = PageRequest {
        limit: 500,
        after: None,
    };
    let found = acting
        .call(move || service.locations(&principal, None, None, page))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let rows = found
        .items
        .into_iter()
        .map(|l| Row {
            approval: approval(&l),
            approved: l.status == LocationStatus::Approved,
            days: day_names(&l.delivery_days),
            contact: format!("{}, {}", l.contact_name, l.contact_phone),
            id: l.id,
            name: l.name,
            address: l.address,
            postcode: l.postcode,
        })
        .collect();
    let page = ListPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Hubs),
        may_edit: acting.principal().can(Permission::OrderHubs)
            && !acting.principal().is_operator_staff(),
        notice: done(
            &req,
            &[
                (
                    "added",
                    "The location is registered and awaits the operator's approval.",
                ),
                ("saved", "The location has been changed."),
            ],
        ),
        rows,
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

/// The location form as submitted (or shown).
#[derive(Debug, Clone, Default)]
struct LocationForm {
    name: String,
    address: String,
    postcode: String,
    contact_name: String,
    contact_phone: String,
    contact_email: String,
    days: Vec<String>,
}

impl LocationForm {
    fn read(form: &[(String, String)]) -> Self {
        Self {
            name: one_of(form, "name").to_owned(),
            address: one_of(form, "address").to_owned(),
            postcode: one_of(form, "postcode").to_owned(),
            contact_name: one_of(form, "contact_name").to_owned(),
            contact_phone: one_of(form, "contact_phone").to_owned(),
            contact_email: one_of(form, "contact_email").to_owned(),
            days: form
                .iter()
                .filter(|(k, _)| k == "delivery_days")
                .map(|(_, v)| v.clone())
                .collect(),
        }
    }

    fn of(l: &DeliveryLocation) -> Self {
        Self {
            name: l.name.clone(),
            address: l.address.clone(),
            postcode: l.postcode.clone(),
            contact_name: l.contact_name.clone(),
            contact_phone: l.contact_phone.clone(),
            contact_email: l.contact_email.clone().unwrap_or_default(),
            days: l.delivery_days.clone(),
        }
    }

    fn email(&self) -> Option<String> {
        Some(self.contact_email.trim().to_owned()).filter(|e| !e.is_empty())
    }
}

#[derive(Template)]
#[template(path = "hubs/location_form.html")]
struct FormPage {
    csrf_token: String,
    menu: Menu,
    /// `None` for a new location.
    id: Option<i64>,
    version: i64,
    approval: Option<String>,
    form: LocationForm,
    days: Vec<Tick>,
    errors: FieldErrors,
}

fn form_page(
    acting: &Acting,
    existing: Option<&DeliveryLocation>,
    form: LocationForm,
    errors: FieldErrors,
) -> FormPage {
    FormPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Hubs),
        id: existing.map(|l| l.id),
        version: existing.map_or(0, |l| l.version),
        approval: existing.map(approval),
        days: DAYS
            .iter()
            .map(|(value, text)| Tick {
                value: (*value).to_owned(),
                text: (*text).to_owned(),
                checked: form.days.iter().any(|d| d == value),
            })
            .collect(),
        form,
        errors,
    }
}

async fn new_form(session: WebSession) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::OrderHubs)?;
    let form = LocationForm {
        days: ["mon", "tue", "wed", "thu", "fri"]
            .map(String::from)
            .to_vec(),
        ..LocationForm::default()
    };
    let page = form_page(&acting, None, form, FieldErrors::new());
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

/// The form again with the service's refusal, or the refusal's own page.
fn refused(
    acting: &Acting,
    existing: Option<&DeliveryLocation>,
    form: LocationForm,
    error: HubError,
) -> Answer {
    match error {
        HubError::Invalid(invalid) => {
            let order: Vec<&str> = LABELS.iter().map(|(_, field, _)| *field).collect();
            let errors = problems(invalid, LABELS).in_order(&order);
            let page = form_page(acting, existing, form, errors);
            Ok(show(
                acting.site(),
                StatusCode::UNPROCESSABLE_ENTITY,
                Caching::NoStore,
                &page,
            )?)
        }
        HubError::VersionMismatch(_) => {
            let mut errors = FieldErrors::new();
            errors.add_other(
                "Someone changed this location while you were editing it; go back to the list \
                 and open it again.",
            );
            let page = form_page(acting, existing, form, errors);
            Ok(show(
                acting.site(),
                StatusCode::CONFLICT,
                Caching::NoStore,
                &page,
            )?)
        }
        other => Err(Refusal::from_context(acting.site(), other)),
    }
}

async fn register(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    web::Form(posted): Form,
) -> Answer {
    let acting = form_post(&req, session, &posted)?;
    acting.require(Permission::OrderHubs)?;
    let form = LocationForm::read(&posted);
    let new = NewLocation {
        name: form.name.clone(),
        address: form.address.clone(),
        postcode: form.postcode.clone(),
        contact_name: form.contact_name.clone(),
        contact_phone: form.contact_phone.clone(),
        contact_email: form.email(),
        delivery_days: form.days.clone(),
    };
    let principal = acting.principal().clone();
    let service = hubs.into_inner();
    let request_id = request_id(&req);
    match acting
        .call(move || service.register_location(&principal, new, None, request_id.as_deref()))
        .await?
    {
        Ok(made) => {
            created(acting.site(), made)?;
            Ok(see_other(acting.site(), "/portal/hubs/locations?done=added").finish())
        }
        Err(error) => refused(&acting, None, form, error),
    }
}

/// The location `id`, if the person may see it.
async fn load(
    acting: &Acting,
    hubs: &web::Data<Hubs>,
    id: i64,
) -> Result<DeliveryLocation, Refusal> {
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    acting
        .call(move || service.location(&principal, id))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))
}

async fn edit_form(session: WebSession, hubs: web::Data<Hubs>, id: web::Path<i64>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewHubs)?;
    let location = load(&acting, &hubs, *id).await?;
    acting.require(Permission::OrderHubs)?;
    let form = LocationForm::of(&location);
    let page = form_page(&acting, Some(&location), form, FieldErrors::new());
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

async fn save(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    id: web::Path<i64>,
    web::Form(posted): Form,
) -> Answer {
    let acting = form_post(&req, session, &posted)?;
    let location = load(&acting, &hubs, *id).await?;
    acting.require(Permission::OrderHubs)?;
    let form = LocationForm::read(&posted);
    let changes = LocationChanges {
        name: Some(form.name.clone()),
        address: Some(form.address.clone()),
        postcode: Some(form.postcode.clone()),
        contact_name: Some(form.contact_name.clone()),
        contact_phone: Some(form.contact_phone.clone()),
        contact_email: Some(form.email()),
        delivery_days: Some(form.days.clone()),
        ..LocationChanges::default()
    };
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let request_id = request_id(&req);
    let version = version_of(&posted);
    let key = location.id;
    match acting
        .call(move || {
            service.update_location(&principal, key, version, changes, request_id.as_deref())
        })
        .await?
    {
        Ok(_) => Ok(see_other(acting.site(), "/portal/hubs/locations?done=saved").finish()),
        Err(error) => refused(&acting, Some(&location), form, error),
    }
}
