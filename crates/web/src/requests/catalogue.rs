//! The service catalogue for organisations' people at `/portal/catalogue`: the items they may
//! request, and for each a form rendered from the typed fields of its form version in force at
//! `/portal/catalogue/{code}`. A request raised there is checked by the service against that
//! version; each field it refuses is named next to its input and in the summary, and every
//! value typed is kept.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use dsms_core::Permission;
use dsms_service_request::{
    CatalogueItem, FieldType, NewFile, NewRequest, Raised, RequestError, ServiceRequests,
};

use super::answers::{self, FieldView};
use super::approval_route;
use crate::admin::fields::FieldErrors;
use crate::admin::{Acting, Answer, Refusal};
use crate::nav::{Area, Menu};
use crate::page::{Caching, see_other, show};
use crate::session::WebSession;
use crate::upload;

/// Mounts the catalogue and the raise forms.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/portal/catalogue", web::get().to(catalogue))
        .service(
            web::resource("/portal/catalogue/{code}")
                .get(new_form)
                .post(raise),
        );
}

/// One item as the catalogue lists it.
struct Entry {
    code: String,
    name: String,
    description: String,
    approvals: String,
    target: String,
}

impl From<&CatalogueItem> for Entry {
    fn from(item: &CatalogueItem) -> Self {
        let d = &item.form.definition;
        let approvers: Vec<_> = d.approvals.iter().map(|s| s.approver).collect();
        Self {
            code: item.code.clone(),
            name: d.name.clone(),
            description: d.description.clone(),
            approvals: approval_route(&approvers),
            target: format!(
                "Done within {} working day{}.",
                d.sla_working_days,
                if d.sla_working_days == 1 { "" } else { "s" }
            ),
        }
    }
}

#[derive(Template)]
#[template(path = "requests/catalogue.html")]
struct CataloguePage {
    csrf_token: String,
    menu: Menu,
    entries: Vec<Entry>,
}

/// The items the caller may request, from the service (active, and open to the organisation's
/// SEC roles and the person's roles).
async fn requestable(
    acting: &Acting,
    requests: &web::Data<ServiceRequests>,
) -> Result<Vec<CatalogueItem>, Refusal> {
    let principal = acting.principal().clone();
    let service = requests.clone();
    acting
        .call(move || service.requestable(&principal))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))
}

async fn catalogue(session: WebSession, requests: web::Data<ServiceRequests>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::RaiseRequests)?;
    let items = requestable(&acting, &requests).await?;
    let page = CataloguePage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Requests),
        entries: items.iter().map(Entry::from).collect(),
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

#[derive(Template)]
#[template(path = "requests/new.html")]
struct RaisePage {
    csrf_token: String,
    menu: Menu,
    entry: Entry,
    summary: String,
    contact: String,
    fields: Vec<FieldView>,
    /// The form has file fields, so it is posted as `multipart/form-data`.
    has_files: bool,
    errors: FieldErrors,
}

fn raise_page(
    acting: &Acting,
    item: &CatalogueItem,
    form: &[(String, String)],
    errors: FieldErrors,
) -> RaisePage {
    RaisePage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Requests),
        entry: Entry::from(item),
        summary: answers::first(form, "summary").to_owned(),
        contact: answers::first(form, "contact").to_owned(),
        fields: answers::views(&item.form.definition, form),
        has_files: item
            .form
            .definition
            .fields
            .iter()
            .any(|f| f.kind == FieldType::File),
        errors,
    }
}

/// The item `code` if the caller may request it; otherwise the page is not there for them.
async fn offered(
    acting: &Acting,
    requests: &web::Data<ServiceRequests>,
    code: &str,
) -> Result<CatalogueItem, Refusal> {
    requestable(acting, requests)
        .await?
        .into_iter()
        .find(|item| item.code == code)
        .ok_or_else(|| Refusal::not_found(acting.site()))
}

async fn new_form(
    session: WebSession,
    requests: web::Data<ServiceRequests>,
    code: web::Path<String>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::RaiseRequests)?;
    let item = offered(&acting, &requests, &code).await?;
    let page = raise_page(&acting, &item, &[], FieldErrors::new());
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

async fn raise(
    req: HttpRequest,
    session: WebSession,
    requests: web::Data<ServiceRequests>,
    code: web::Path<String>,
    payload: web::Payload,
) -> Answer {
    let acting = Acting::of(session)?;
    // A form with file fields comes as multipart, with a file per file field chosen.
    let (form, files) = if upload::is_multipart(&req) {
        let cap = requests.policy().max_attachment_bytes.saturating_mul(2);
        match upload::read_form(&req, payload, cap).await {
            Ok(read) => read,
            Err(message) => {
                let item = offered(&acting, &requests, &code).await?;
                let mut errors = FieldErrors::new();
                errors.add_other(message);
                let page = raise_page(&acting, &item, &[], errors);
                return Ok(show(
                    acting.site(),
                    StatusCode::PAYLOAD_TOO_LARGE,
                    Caching::NoStore,
                    &page,
                )?);
            }
        }
    } else {
        let web::Form(form) =
            <web::Form<Vec<(String, String)>> as actix_web::FromRequest>::from_request(
                &req,
                &mut payload.into_inner(),
            )
            .await
            .map_err(|e| {
                Refusal::from_context(acting.site(), dsms_api::ApiError::Malformed(e.to_string()))
            })?;
        (form, Vec::new())
    };
    acting.check_form(&req, answers::first(&form, "csrf_token"))?;
    acting.require(Permission::RaiseRequests)?;
    let item = offered(&acting, &requests, &code).await?;
    let fields = answers::collect(&item.form.definition, &form);
    let files: Vec<NewFile> = files
        .into_iter()
        .map(|f| NewFile {
            field: f
                .input
                .strip_prefix("field_")
                .unwrap_or(&f.input)
                .to_owned(),
            filename: f.filename,
            content_type: f.content_type,
            bytes: f.bytes,
        })
        .collect();
    let optional = |name: &str| {
        let value = answers::first(&form, name).trim();
        (!value.is_empty()).then(|| value.to_owned())
    };
    let new = NewRequest {
        item: item.code.clone(),
        summary: optional("summary"),
        contact: optional("contact"),
        fields: fields.clone(),
    };
    let principal = acting.principal().clone();
    let service = requests.clone();
    match acting
        .call(move || service.raise_with_files(&principal, new, &files, None))
        .await?
    {
        Ok(Raised::Created(request)) => Ok(see_other(
            acting.site(),
            &format!("/requests/{}?done=raised", request.reference),
        )
        .finish()),
        Ok(Raised::Replayed(_)) => Err(Refusal::from_context(
            acting.site(),
            dsms_api::ApiError::Internal("a replay without an idempotency key".into()),
        )),
        Err(RequestError::Invalid(invalid)) => {
            let errors = answers::errors(invalid, &item.form.definition, &fields);
            let page = raise_page(&acting, &item, &form, errors);
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
