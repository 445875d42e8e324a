//! Hub returns: the organisation's list and the form to return hubs (serials typed, or a CSV
//! file with a reason per hub) at `/portal/hubs/returns`, and each return's page at
//! `/hubs/returns/{reference}` with its status, hubs and outcome, where the operator moves it
//! along (authorised, collected, received, closed) and records the analysis.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use dsms_core::{PageRequest, Permission, Principal};
use dsms_hubs::lifecycle::allowed;
use dsms_hubs::{
    Analysis, FaultFound, HubError, HubReturn, Hubs, Mover, NewReturn, RETURN_TRANSITIONS,
    ReturnFilter, ReturnReason, ReturnRow, ReturnStatus,
};
use dsms_incident::Incidents;
use serde::Deserialize;

use super::{
    Choice, Form, ReturnLine, choices, created, done, form_post, money, one_of, optional, problems,
    refused, request_id, return_status, typed_serials, version_of,
};
use crate::admin::fields::FieldErrors;
use crate::admin::{Acting, Answer, Refusal, when};
use crate::nav::{Area, Menu};
use crate::page::{Caching, see_other, show};
use crate::session::WebSession;
use crate::upload;

/// Mounts the return pages.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/portal/hubs/returns", web::get().to(list))
        .service(
            web::resource("/portal/hubs/returns/new")
                .get(new_form)
                .post(request),
        )
        .route("/portal/hubs/returns/upload", web::post().to(upload_file))
        .route("/hubs/returns/{reference}", web::get().to(hub_return))
        .route("/hubs/returns/{reference}/advance", web::post().to(advance))
        .route("/hubs/returns/{reference}/analyse", web::post().to(analyse));
}

/// Returns on one page of the list.
const PAGE_SIZE: i64 = 25;

/// The largest file of returned hubs accepted from the page.
const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// The return forms' fields as the service names them, with their labels.
const LABELS: &[(&str, &str, &str)] = &[
    ("lines", "serials", "Serial"),
    ("rows", "file", "Row"),
    ("header", "file", "The file's header"),
    ("incident_id", "incident", "Incident"),
    ("notes", "notes", "Notes"),
];

/// A reason as people read it.
fn reason_name(reason: ReturnReason) -> String {
    let faulty = if reason.is_faulty() {
        "Faulty"
    } else {
        "No fault"
    };
    let name = reason.as_str().replace('_', " ");
    format!("{faulty}: {name}")
}

/// The list's filter, from its query string.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    status: String,
    cursor: String,
}

#[derive(Template)]
#[template(path = "hubs/returns.html")]
struct ListPage {
    csrf_token: String,
    menu: Menu,
    may_return: bool,
    show_organisation: bool,
    statuses: Vec<Choice>,
    errors: FieldErrors,
    returns: Vec<ReturnLine>,
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
    let filter = ReturnFilter {
        statuses: Some(query.status.clone())
            .filter(|s| !s.is_empty())
            .into_iter()
            .collect(),
        ..ReturnFilter::default()
    };
    let principal = acting.principal().clone();
    let service = hubs.into_inner();
    let (returns, next_cursor) = match acting
        .call(move || service.returns(&principal, &filter, page))
        .await?
    {
        Ok(found) => (
            found.items.into_iter().map(ReturnLine::from).collect(),
            found.next_cursor,
        ),
        Err(HubError::Invalid(invalid)) => {
            errors = problems(invalid, &[("status", "status", "Status")]);
            (Vec::new(), None)
        }
        Err(other) => return Err(Refusal::from_context(acting.site(), other)),
    };
    let href = |cursor: Option<&str>| {
        let mut pairs = Vec::new();
        if !query.status.is_empty() {
            pairs.push(format!("status={}", query.status));
        }
        if let Some(c) = cursor {
            pairs.push(format!("cursor={c}"));
        }
        if pairs.is_empty() {
            "/portal/hubs/returns".to_owned()
        } else {
            format!("/portal/hubs/returns?{}", pairs.join("&"))
        }
    };
    let page = ListPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Hubs),
        may_return: acting.principal().can(Permission::OrderHubs),
        show_organisation: acting.principal().is_operator_staff(),
        statuses: choices(
            std::iter::once(("", "Any status")).chain(
                ReturnStatus::ALL
                    .iter()
                    .map(|s| (s.as_str(), return_status(*s))),
            ),
            &query.status,
        ),
        errors,
        returns,
        first_page: (!query.cursor.is_empty()).then(|| href(None)),
        next_page: next_cursor.map(|c| href(Some(&c))),
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

/// The typed return form as submitted (or empty); the file form shares its incident and notes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ReturnForm {
    serials: String,
    reason: String,
    found: String,
    incident: String,
    notes: String,
    csrf_token: String,
}

#[derive(Template)]
#[template(path = "hubs/return_form.html")]
struct ReturnFormPage {
    csrf_token: String,
    menu: Menu,
    form: ReturnForm,
    reasons: Vec<Choice>,
    founds: Vec<Choice>,
    reason_codes: String,
    max_file_mb: usize,
    errors: FieldErrors,
}

fn form_page(acting: &Acting, form: ReturnForm, errors: FieldErrors) -> ReturnFormPage {
    ReturnFormPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Hubs),
        reasons: choices(
            std::iter::once((String::new(), "Choose a reason".to_owned())).chain(
                ReturnReason::ALL
                    .iter()
                    .map(|r| (r.as_str().to_owned(), reason_name(*r))),
            ),
            &form.reason,
        ),
        founds: choices(
            [
                ("", "Not applicable (no fault)"),
                ("before_installation", "Before installation"),
                ("after_installation", "After installation"),
            ],
            &form.found,
        ),
        reason_codes: ReturnReason::names(),
        max_file_mb: MAX_FILE_BYTES / (1024 * 1024),
        form,
        errors,
    }
}

async fn new_form(session: WebSession) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::OrderHubs)?;
    let page = form_page(&acting, ReturnForm::default(), FieldErrors::new());
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

/// The incident a return is linked to, by its reference: its id, or `Err` when the person's
/// organisation has no such incident.
fn incident_of(
    incidents: &Incidents,
    principal: &Principal,
    reference: &str,
) -> Result<Option<i64>, ()> {
    let reference = reference.trim();
    if reference.is_empty() {
        return Ok(None);
    }
    incidents
        .get(principal, reference)
        .map(|i| Some(i.id))
        .map_err(|_| ())
}

/// Requests a return of `rows`; back to the form with every problem, or on to the return.
async fn submit(
    req: &HttpRequest,
    acting: &Acting,
    hubs: &web::Data<Hubs>,
    incidents: &web::Data<Incidents>,
    form: ReturnForm,
    rows: Vec<ReturnRow>,
) -> Answer {
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let incident_service = incidents.clone().into_inner();
    let incident = form.incident.clone();
    let notes = Some(form.notes.clone()).filter(|n| !n.trim().is_empty());
    let request_id = request_id(req);
    let result = acting
        .call(move || {
            let Ok(incident_id) = incident_of(&incident_service, &principal, &incident) else {
                return Ok(Err(()));
            };
            let new = NewReturn {
                rows,
                incident_id,
                notes,
            };
            service
                .request_return(&principal, new, None, request_id.as_deref())
                .map(Ok)
        })
        .await?;
    let mut errors = FieldErrors::new();
    match result {
        Ok(Ok(made)) => {
            let r = created(acting.site(), made)?;
            return Ok(see_other(
                acting.site(),
                &format!("/hubs/returns/{}?done=requested", r.reference),
            )
            .finish());
        }
        Ok(Err(())) => {
            errors.add(
                "incident",
                "Incident must be the reference of one of your organisation's incidents",
            );
        }
        Err(HubError::Invalid(invalid)) => errors = problems(invalid, LABELS),
        Err(other) => return Err(Refusal::from_context(acting.site(), other)),
    }
    let page = form_page(acting, form, errors);
    Ok(show(
        acting.site(),
        StatusCode::UNPROCESSABLE_ENTITY,
        Caching::NoStore,
        &page,
    )?)
}

async fn request(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    incidents: web::Data<Incidents>,
    web::Form(form): web::Form<ReturnForm>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.check_form(&req, &form.csrf_token)?;
    acting.require(Permission::OrderHubs)?;
    // An empty choice reads better as a request to choose than as one error per serial.
    if form.reason.trim().is_empty() || form.serials.trim().is_empty() {
        let mut errors = FieldErrors::new();
        if form.serials.trim().is_empty() {
            errors.add("serials", "Enter the serial numbers of the hubs returned");
        }
        if form.reason.trim().is_empty() {
            errors.add("reason", "Choose a reason");
        }
        let page = form_page(&acting, form, errors);
        return Ok(show(
            acting.site(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Caching::NoStore,
            &page,
        )?);
    }
    let found = Some(form.found.clone()).filter(|f| !f.is_empty());
    let rows = typed_serials(&form.serials)
        .into_iter()
        .enumerate()
        .map(|(i, serial)| ReturnRow {
            at: format!("lines[{i}]"),
            serial,
            reason: form.reason.clone(),
            found: found.clone(),
        })
        .collect();
    submit(&req, &acting, &hubs, &incidents, form, rows).await
}

async fn upload_file(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    incidents: web::Data<Incidents>,
    payload: web::Payload,
) -> Answer {
    let acting = Acting::of(session)?;
    let upload = match upload::read(&req, payload, MAX_FILE_BYTES).await {
        Ok(upload) => upload,
        Err(message) => {
            let mut errors = FieldErrors::new();
            errors.add("file", message);
            let page = form_page(&acting, ReturnForm::default(), errors);
            return Ok(show(
                acting.site(),
                StatusCode::UNPROCESSABLE_ENTITY,
                Caching::NoStore,
                &page,
            )?);
        }
    };
    acting.check_form(&req, &upload.csrf_token)?;
    acting.require(Permission::OrderHubs)?;
    let form = ReturnForm {
        incident: one_of(&upload.fields, "incident").to_owned(),
        notes: one_of(&upload.fields, "notes").to_owned(),
        ..ReturnForm::default()
    };
    match dsms_hubs::bulk::return_rows(&upload.bytes) {
        Ok(rows) => submit(&req, &acting, &hubs, &incidents, form, rows).await,
        Err(invalid) => {
            let page = form_page(&acting, form, problems(invalid, LABELS));
            Ok(show(
                acting.site(),
                StatusCode::UNPROCESSABLE_ENTITY,
                Caching::NoStore,
                &page,
            )?)
        }
    }
}

/// One returned hub as a row of the page.
struct Hub {
    serial: String,
    variant: String,
    reason: String,
    found: String,
    fault_confirmed: &'static str,
    outcome: String,
}

#[derive(Template)]
#[template(path = "hubs/return.html")]
struct ReturnPage {
    csrf_token: String,
    menu: Menu,
    notice: Option<&'static str>,
    errors: FieldErrors,
    reference: String,
    version: i64,
    status: &'static str,
    facts: Vec<(&'static str, String)>,
    incident: Option<String>,
    hubs: Vec<Hub>,
    history: Vec<(String, String)>,
    next: Option<(String, &'static str)>,
    may_analyse: bool,
    back: &'static str,
}

/// What the return page says after an action worked.
const NOTICES: &[(&str, &str)] = &[
    (
        "requested",
        "Your return has been requested; the operator will authorise it.",
    ),
    ("advanced", "The return has moved on."),
    ("analysed", "The analysis has been recorded."),
];

/// The labels of the return page's actions.
const ACTION_LABELS: &[(&str, &str, &str)] =
    &[("status", "status", "Status"), ("notes", "notes", "Notes")];

/// Yes, no or not yet.
fn yes_no(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "Yes",
        Some(false) => "No",
        None => "–",
    }
}

/// Reads and shows the return page, with `errors` from a refused action.
async fn render(
    req: &HttpRequest,
    acting: &Acting,
    hubs: &web::Data<Hubs>,
    incidents: &web::Data<Incidents>,
    reference: &str,
    errors: FieldErrors,
    status: StatusCode,
) -> Answer {
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let incident_service = incidents.clone().into_inner();
    let key = reference.to_owned();
    let (found, lines, history, incident) = acting
        .call(move || {
            let found = service.hub_return(&principal, &key)?;
            let lines = service.return_lines(&principal, &key)?;
            let history = service.return_history(&principal, &key)?;
            // The incident is shown by its reference when the person may see it.
            let incident = found.incident_id.and_then(|id| {
                incident_service
                    .get(&principal, &id.to_string())
                    .ok()
                    .map(|i| i.reference)
            });
            Ok::<_, HubError>((found, lines, history, incident))
        })
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let page = build(req, acting, found, lines, history, incident, errors);
    Ok(show(acting.site(), status, Caching::NoStore, &page)?)
}

fn build(
    req: &HttpRequest,
    acting: &Acting,
    found: HubReturn,
    lines: Vec<dsms_hubs::ReturnLine>,
    history: Vec<dsms_store::audit::AuditEntry>,
    incident: Option<String>,
    errors: FieldErrors,
) -> ReturnPage {
    let principal = acting.principal();
    let operator = principal.can(Permission::ManageHubs);
    let steps = allowed(RETURN_TRANSITIONS, found.status, Mover::Operator);
    let next = steps
        .iter()
        .copied()
        .find(|s| *s != ReturnStatus::Analysed)
        .filter(|_| operator)
        .map(|s| {
            let label = match s {
                ReturnStatus::Authorised => "Authorise the return",
                ReturnStatus::Collected => "Mark as collected",
                ReturnStatus::Received => "Mark as received",
                _ => "Close the return",
            };
            (s.as_str().to_owned(), label)
        });
    let mut facts = vec![
        ("Organisation", found.organisation_name.clone()),
        ("Hubs", found.quantity.to_string()),
        (
            "Reasons",
            found
                .reasons
                .iter()
                .map(|(r, n)| format!("{} × {n}", reason_name(*r)))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        (
            "Requested",
            format!("{} by {}", when(found.created_at), found.requested_by.name),
        ),
    ];
    if let Some(charge) = found.charge_pence {
        facts.push(("Charged", money(charge)));
    }
    if let Some(credit) = found.credit_pence {
        facts.push(("Credited", money(credit)));
    }
    if let Some(notes) = &found.notes {
        facts.push(("Notes", notes.clone()));
    }
    ReturnPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Hubs),
        notice: done(req, NOTICES),
        errors,
        version: found.version,
        status: return_status(found.status),
        facts,
        incident,
        hubs: lines
            .into_iter()
            .map(|l| Hub {
                serial: l.serial,
                variant: l.variant,
                reason: reason_name(l.reason),
                found: l
                    .found
                    .map_or_else(String::new, |f: FaultFound| f.as_str().replace('_', " ")),
                fault_confirmed: yes_no(l.fault_confirmed),
                outcome: match (l.settlement, l.amount_pence) {
                    (Some(s), Some(a)) => format!("{s} {}", money(a)),
                    _ => "–".to_owned(),
                },
            })
            .collect(),
        history: history
            .into_iter()
            .map(|h| {
                (
                    when(h.occurred_at),
                    h.action.replace("hub_return.", "").replace('_', " "),
                )
            })
            .collect(),
        next,
        may_analyse: operator && steps.contains(&ReturnStatus::Analysed),
        back: if principal.is_operator_staff() {
            "/desk/hubs"
        } else {
            "/portal/hubs/returns"
        },
        reference: found.reference,
    }
}

async fn hub_return(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    incidents: web::Data<Incidents>,
    reference: web::Path<String>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewHubs)?;
    render(
        &req,
        &acting,
        &hubs,
        &incidents,
        &reference,
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

/// Back to the return page after an action, or the page with the action's refusal.
async fn answer(
    req: &HttpRequest,
    acting: &Acting,
    hubs: &web::Data<Hubs>,
    incidents: &web::Data<Incidents>,
    reference: &str,
    result: Result<HubReturn, HubError>,
    done: &str,
) -> Answer {
    match result {
        Ok(_) => Ok(see_other(
            acting.site(),
            &format!("/hubs/returns/{reference}?done={done}"),
        )
        .finish()),
        Err(error) => match refused(error, ACTION_LABELS) {
            Ok((errors, status)) => {
                render(req, acting, hubs, incidents, reference, errors, status).await
            }
            Err(other) => Err(Refusal::from_context(acting.site(), other)),
        },
    }
}

async fn advance(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    incidents: web::Data<Incidents>,
    reference: web::Path<String>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    acting.require(Permission::ManageHubs)?;
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let key = reference.clone();
    let to = one_of(&form, "status").to_owned();
    let notes = optional(&form, "notes");
    let version = version_of(&form);
    let request_id = request_id(&req);
    let result = acting
        .call(move || {
            service.advance_return(&principal, &key, version, &to, notes, request_id.as_deref())
        })
        .await?;
    answer(
        &req, &acting, &hubs, &incidents, &reference, result, "advanced",
    )
    .await
}

async fn analyse(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    incidents: web::Data<Incidents>,
    reference: web::Path<String>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    acting.require(Permission::ManageHubs)?;
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let key = reference.clone();
    let analysis = Analysis {
        fault_confirmed: one_of(&form, "fault_confirmed") == "yes",
        redeployable: one_of(&form, "redeployable") == "yes",
        exceptions: Vec::new(),
        notes: optional(&form, "notes"),
    };
    let version = version_of(&form);
    let request_id = request_id(&req);
    let result = acting
        .call(move || {
            service.analyse_return(&principal, &key, version, analysis, request_id.as_deref())
        })
        .await?;
    answer(
        &req, &acting, &hubs, &incidents, &reference, result, "analysed",
    )
    .await
}
