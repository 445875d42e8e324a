//! Organisations, for operator administrators: the list, registering one, and changing its
//! name, SEC roles and standing.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use dsms_auth::{
    AuthError, NewOrganisation, Organisation, OrganisationChanges, OrganisationKind,
    OrganisationStatus, SecRole,
};
use dsms_core::{PageRequest, Permission};
use dsms_store::idempotency::Created;
use serde::Deserialize;

use super::fields::FieldErrors;
use super::{Acting, Answer, Refusal, when};
use crate::nav::{Area, Menu};
use crate::page::{Caching, see_other, show};
use crate::session::WebSession;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/organisations", web::get().to(list))
        .service(
            web::resource("/admin/organisations/new")
                .get(new_form)
                .post(create),
        )
        .service(
            web::resource("/admin/organisations/{id}")
                .get(edit_form)
                .post(update),
        );
}

/// Organisations on one page of the list.
const PAGE_SIZE: i64 = 50;

/// The form's fields as the identity service names them, with their labels.
const LABELS: &[(&str, &str, &str)] = &[
    ("name", "name", "Name"),
    ("sec_party_id", "sec_party_id", "SEC party id"),
    ("sec_roles", "sec_roles", "SEC roles"),
    ("status", "status", "Standing"),
];

/// A SEC role as people call it, with the SEC's code.
pub(crate) fn sec_role_name(role: SecRole) -> &'static str {
    match role {
        SecRole::ImportSupplier => "Import supplier (IS)",
        SecRole::ExportSupplier => "Export supplier (ES)",
        SecRole::GasSupplier => "Gas supplier (GS)",
        SecRole::ElectricityDistributor => "Electricity distributor (ED)",
        SecRole::GasTransporter => "Gas transporter (GT)",
        SecRole::RegisteredSupplierAgent => "Registered supplier agent (RSA)",
        SecRole::OtherUser => "Other user (OU)",
    }
}

fn status_name(status: OrganisationStatus) -> &'static str {
    match status {
        OrganisationStatus::Active => "Active",
        OrganisationStatus::Suspended => "Suspended",
        OrganisationStatus::Withdrawn => "Withdrawn",
    }
}

/// A checkbox or radio button: its value, its text, whether ticked.
pub(crate) struct Tick {
    /// The submitted value.
    pub value: &'static str,
    /// What people read.
    pub text: &'static str,
    /// Ticked.
    pub checked: bool,
}

fn sec_role_ticks(chosen: &[String]) -> Vec<Tick> {
    SecRole::ALL
        .iter()
        .map(|r| Tick {
            value: r.as_str(),
            text: sec_role_name(*r),
            checked: chosen.iter().any(|c| c == r.as_str()),
        })
        .collect()
}

struct Row {
    id: i64,
    name: String,
    kind: &'static str,
    sec_roles: String,
    status: &'static str,
    registered: String,
}

impl From<Organisation> for Row {
    fn from(o: Organisation) -> Self {
        Self {
            id: o.id,
            name: o.name,
            kind: match o.kind {
                OrganisationKind::Operator => "Operator",
                OrganisationKind::User => "User",
            },
            sec_roles: o
                .sec_roles
                .iter()
                .map(|r| sec_role_name(*r))
                .collect::<Vec<_>>()
                .join(", "),
            status: status_name(o.status),
            registered: when(o.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/organisations.html")]
struct ListPage {
    csrf_token: String,
    menu: Menu,
    notice: Option<&'static str>,
    rows: Vec<Row>,
    first_page: bool,
    next_page: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    cursor: String,
    done: String,
}

async fn list(session: WebSession, query: web::Query<ListQuery>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ManageOrganisations)?;
    let page = PageRequest::parse(Some(PAGE_SIZE), Some(&query.cursor))
        .map_err(|_| Refusal::not_found(acting.site()))?;
    let principal = acting.principal().clone();
    let identity = acting.session.ui.identity.clone();
    let found = acting
        .call(move || identity.list_organisations(&principal, page))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let page = ListPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Administration),
        notice: match query.done.as_str() {
            "registered" => Some("The organisation has been registered."),
            "changed" => Some("The organisation has been changed."),
            _ => None,
        },
        rows: found.items.into_iter().map(Row::from).collect(),
        first_page: query.cursor.is_empty(),
        next_page: found
            .next_cursor
            .map(|c| format!("/admin/organisations?cursor={c}")),
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

/// The organisation form as submitted (or prefilled).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OrganisationForm {
    name: String,
    sec_party_id: String,
    /// Repeated `sec_roles` fields, one per ticked box (parsed from the raw body).
    #[serde(skip)]
    sec_roles: Vec<String>,
    status: String,
    version: String,
    csrf_token: String,
}

impl OrganisationForm {
    /// Reads a posted form whose checkboxes repeat a name, which `web::Form` cannot.
    fn parse(body: &[u8]) -> Self {
        let mut form = Self::default();
        for (name, value) in form_pairs(body) {
            match name.as_str() {
                "name" => form.name = value,
                "sec_party_id" => form.sec_party_id = value,
                "sec_roles" => form.sec_roles.push(value),
                "status" => form.status = value,
                "version" => form.version = value,
                "csrf_token" => form.csrf_token = value,
                _ => {}
            }
        }
        form
    }

    fn sec_roles(&self, errors: &mut FieldErrors) -> Vec<SecRole> {
        let roles: Vec<SecRole> = self
            .sec_roles
            .iter()
            .filter_map(|r| SecRole::parse(r))
            .collect();
        if roles.len() != self.sec_roles.len() {
            errors.add("sec_roles", "SEC roles must be chosen from the list");
        }
        roles
    }
}

/// The `name=value` pairs of an `application/x-www-form-urlencoded` body, decoded, in order.
pub(crate) fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

#[derive(Template)]
#[template(path = "admin/organisation_form.html")]
struct FormPage {
    csrf_token: String,
    menu: Menu,
    /// `None` when registering a new one.
    id: Option<i64>,
    operator: bool,
    form: OrganisationForm,
    sec_roles: Vec<Tick>,
    statuses: Vec<Tick>,
    errors: FieldErrors,
}

impl FormPage {
    fn new(acting: &Acting, id: Option<i64>, operator: bool, form: OrganisationForm) -> Self {
        let statuses = OrganisationStatus::ALL
            .iter()
            .map(|s| Tick {
                value: s.as_str(),
                text: status_name(*s),
                checked: form.status == s.as_str(),
            })
            .collect();
        Self {
            csrf_token: acting.csrf_token(),
            menu: acting.menu(Area::Administration),
            id,
            operator,
            sec_roles: sec_role_ticks(&form.sec_roles),
            statuses,
            form,
            errors: FieldErrors::new(),
        }
    }

    fn with_errors(mut self, errors: FieldErrors) -> Self {
        let order: Vec<&str> = LABELS.iter().map(|(_, field, _)| *field).collect();
        self.errors = errors.in_order(&order);
        self
    }
}

async fn new_form(session: WebSession) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ManageOrganisations)?;
    let form = OrganisationForm {
        status: OrganisationStatus::Active.as_str().to_owned(),
        ..OrganisationForm::default()
    };
    let page = FormPage::new(&acting, None, false, form);
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

/// A form that the identity service refused, shown again with its errors; anything else it
/// answered is a refusal.
fn refused(acting: &Acting, page: FormPage, mut errors: FieldErrors, error: AuthError) -> Answer {
    match error {
        AuthError::Invalid(invalid) => {
            let found = FieldErrors::from_validation(invalid, LABELS);
            for problem in found.all() {
                errors.add(&problem.field, problem.message.clone());
            }
            for other in found.others() {
                errors.add_other(other.clone());
            }
        }
        AuthError::Duplicate(message) => errors.add("name", message),
        AuthError::VersionMismatch(_) => errors.add_other(
            "Someone else changed this organisation while you were editing it. Reload the \
             page to see their changes, then make yours again.",
        ),
        other => return Err(Refusal::from_context(acting.site(), other)),
    }
    Ok(show(
        acting.site(),
        StatusCode::UNPROCESSABLE_ENTITY,
        Caching::NoStore,
        &page.with_errors(errors),
    )?)
}

async fn create(req: HttpRequest, session: WebSession, body: web::Bytes) -> Answer {
    let acting = Acting::of(session)?;
    let form = OrganisationForm::parse(&body);
    acting.check_form(&req, &form.csrf_token)?;
    acting.require(Permission::ManageOrganisations)?;
    let mut errors = FieldErrors::new();
    let new = NewOrganisation {
        name: form.name.clone(),
        kind: OrganisationKind::User,
        sec_roles: form.sec_roles(&mut errors),
        sec_party_id: Some(form.sec_party_id.trim().to_owned()).filter(|p| !p.is_empty()),
    };
    if errors.any() {
        let page = FormPage::new(&acting, None, false, form);
        return Ok(show(
            acting.site(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Caching::NoStore,
            &page.with_errors(errors),
        )?);
    }
    let principal = acting.principal().clone();
    let identity = acting.session.ui.identity.clone();
    match acting
        .call(move || identity.register_organisation(&principal, new, None))
        .await?
    {
        Ok(Created::New(_) | Created::Replayed(_)) => {
            Ok(see_other(acting.site(), "/admin/organisations?done=registered").finish())
        }
        Err(error) => {
            let page = FormPage::new(&acting, None, false, form);
            refused(&acting, page, errors, error)
        }
    }
}

async fn edit_form(session: WebSession, id: web::Path<i64>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ManageOrganisations)?;
    let id = id.into_inner();
    let principal = acting.principal().clone();
    let identity = acting.session.ui.identity.clone();
    let organisation = acting
        .call(move || identity.organisation(&principal, id))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let form = OrganisationForm {
        name: organisation.name,
        sec_party_id: organisation.sec_party_id.unwrap_or_default(),
        sec_roles: organisation
            .sec_roles
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect(),
        status: organisation.status.as_str().to_owned(),
        version: organisation.version.to_string(),
        csrf_token: String::new(),
    };
    let operator = organisation.kind == OrganisationKind::Operator;
    let page = FormPage::new(&acting, Some(id), operator, form);
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

async fn update(
    req: HttpRequest,
    session: WebSession,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Answer {
    let acting = Acting::of(session)?;
    let form = OrganisationForm::parse(&body);
    acting.check_form(&req, &form.csrf_token)?;
    acting.require(Permission::ManageOrganisations)?;
    let id = id.into_inner();
    let mut errors = FieldErrors::new();
    let status = OrganisationStatus::parse(&form.status);
    if status.is_none() {
        errors.add("status", "Choose the organisation's standing");
    }
    let sec_roles = form.sec_roles(&mut errors);
    let version = form.version.parse::<i64>().ok();
    let changes = OrganisationChanges {
        name: Some(form.name.clone()),
        status,
        sec_roles: Some(sec_roles),
        sec_party_id: Some(Some(form.sec_party_id.trim().to_owned()).filter(|p| !p.is_empty())),
    };
    let principal = acting.principal().clone();
    let identity = acting.session.ui.identity.clone();
    let request_id = acting.client(&req).request_id;
    let outcome = if errors.any() {
        None
    } else {
        Some(
            acting
                .call(move || {
                    identity.update_organisation(
                        &principal,
                        id,
                        version,
                        changes,
                        request_id.as_deref(),
                    )
                })
                .await?,
        )
    };
    match outcome {
        Some(Ok(_)) => Ok(see_other(acting.site(), "/admin/organisations?done=changed").finish()),
        None => {
            let page = FormPage::new(&acting, Some(id), false, form);
            Ok(show(
                acting.site(),
                StatusCode::UNPROCESSABLE_ENTITY,
                Caching::NoStore,
                &page.with_errors(errors),
            )?)
        }
        Some(Err(error)) => {
            let page = FormPage::new(&acting, Some(id), false, form);
            refused(&acting, page, errors, error)
        }
    }
}
