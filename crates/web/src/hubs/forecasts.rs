//! An organisation's rolling forecast at `/portal/hubs/forecasts`: the forecast in force for
//! each month of the horizon (the one orders are judged against), this month's compliance,
//! the version history, each version with what it changed, and a grid to submit a new version
//! (months down, variants across), filled in from the latest version.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use dsms_core::{PageRequest, Permission, ValidationErrors};
use dsms_hubs::{
    ComplianceStatus, Forecast, ForecastFilter, HubError, Hubs, Month, NewForecastLine, rules,
};

use super::{Form, done, form_post, sentence};
use crate::admin::fields::FieldErrors;
use crate::admin::{Acting, Answer, Refusal, when};
use crate::desk::now_of;
use crate::nav::{Area, Menu};
use crate::page::{Caching, see_other, show};
use crate::session::WebSession;

/// Mounts the forecast pages.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/portal/hubs/forecasts", web::get().to(forecasts))
        .service(
            web::resource("/portal/hubs/forecasts/new")
                .get(new_form)
                .post(submit),
        )
        .route("/portal/hubs/forecasts/{id}", web::get().to(version));
}

/// Versions listed in the history.
const HISTORY: i64 = 50;

/// The months a forecast submitted today covers.
fn horizon(hubs: &Hubs, req: &HttpRequest) -> Vec<Month> {
    let today = rules::today(now_of(req));
    let months = hubs.rules().in_force(today).forecast_horizon_months;
    let first = Month::of(today).plus(1);
    (0..months).map(|n| first.plus(n)).collect()
}

/// One month of the forecast in force.
struct InForce {
    month: String,
    cutoff: String,
    version: Option<i64>,
    lines: Vec<String>,
}

/// One version in the history.
struct Version {
    id: i64,
    sequence: i64,
    submitted: String,
    by: String,
    late: bool,
    changes: usize,
}

#[derive(Template)]
#[template(path = "hubs/forecasts.html")]
struct ForecastsPage {
    csrf_token: String,
    menu: Menu,
    may_submit: bool,
    notice: Option<&'static str>,
    compliance: Option<String>,
    in_force: Vec<InForce>,
    versions: Vec<Version>,
}

/// How a month's compliance reads.
fn compliance_text(status: ComplianceStatus, due: chrono::NaiveDate) -> String {
    match status {
        ComplianceStatus::OnTime => format!("This month's forecast came in on time (due {due})."),
        ComplianceStatus::Late => format!("This month's forecast came in late (due {due})."),
        ComplianceStatus::Missing => {
            format!("This month's forecast is missing: it was due on {due}.")
        }
        ComplianceStatus::NotYetDue => format!("This month's forecast is due on {due}."),
    }
}

async fn forecasts(req: HttpRequest, session: WebSession, hubs: web::Data<Hubs>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewHubs)?;
    if acting.principal().is_operator_staff() {
        // Operator staff see every organisation's forecasts through the API and reports.
        return Err(Refusal::forbidden(acting.site()));
    }
    let months = horizon(&hubs, &req);
    let principal = acting.principal().clone();
    let service = hubs.into_inner();
    let (in_force, versions, compliance) = acting
        .call(move || {
            let mut in_force = Vec::with_capacity(months.len());
            for month in &months {
                in_force.push(service.forecast_in_force(&principal, None, &month.to_string())?);
            }
            let page = PageRequest {
                limit: HISTORY,
                after: None,
            };
            let versions = service.forecasts(&principal, &ForecastFilter::default(), page)?;
            let compliance = service.forecast_compliance(&principal, None)?;
            Ok::<_, HubError>((in_force, versions.items, compliance))
        })
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let page = ForecastsPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Hubs),
        may_submit: acting.principal().can(Permission::OrderHubs),
        notice: done(&req, &[("submitted", "Your forecast has been submitted.")]),
        compliance: compliance
            .into_iter()
            .next()
            .map(|c| compliance_text(c.status, c.due_on)),
        in_force: in_force
            .into_iter()
            .map(|f| InForce {
                month: f.month.to_string(),
                cutoff: f.cutoff.to_string(),
                version: f.forecast.map(|(_, sequence)| sequence),
                lines: f
                    .lines
                    .iter()
                    .filter(|l| l.quantity > 0)
                    .map(|l| format!("{} ({}): {}", l.variant, l.region, l.quantity))
                    .collect(),
            })
            .collect(),
        versions: versions
            .into_iter()
            .map(|f| Version {
                id: f.id,
                sequence: f.sequence,
                submitted: when(f.submitted_at),
                by: f.submitted_by.name,
                late: f.late,
                changes: f.changes.len(),
            })
            .collect(),
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

#[derive(Template)]
#[template(path = "hubs/forecast.html")]
struct VersionPage {
    csrf_token: String,
    menu: Menu,
    forecast: Forecast,
    submitted: String,
    changes: Vec<(String, String, String, String)>,
}

async fn version(session: WebSession, hubs: web::Data<Hubs>, id: web::Path<i64>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewHubs)?;
    let principal = acting.principal().clone();
    let service = hubs.into_inner();
    let id = *id;
    let forecast = acting
        .call(move || service.forecast(&principal, id))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let quantity = |q: Option<i64>| q.map_or_else(|| "–".to_owned(), |q| q.to_string());
    let page = VersionPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Hubs),
        submitted: when(forecast.submitted_at),
        changes: forecast
            .changes
            .iter()
            .map(|c| {
                (
                    c.month.to_string(),
                    c.variant.clone(),
                    quantity(c.from),
                    quantity(c.to),
                )
            })
            .collect(),
        forecast,
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

/// One cell of the grid: a month and variant.
struct Cell {
    id: String,
    name: String,
    column: String,
    value: String,
    error: Option<String>,
}

/// One month of the grid.
struct GridRow {
    id: String,
    month: String,
    cells: Vec<Cell>,
}

/// One variant of the grid.
struct Column {
    id: String,
    code: String,
    name: String,
}

#[derive(Template)]
#[template(path = "hubs/forecast_form.html")]
struct GridPage {
    csrf_token: String,
    menu: Menu,
    columns: Vec<Column>,
    rows: Vec<GridRow>,
    errors: FieldErrors,
}

/// A grid cell's form field name.
fn cell_name(month: &str, variant: &str) -> String {
    format!("q:{month}:{variant}")
}

/// A grid cell's element id.
fn cell_id(month: &str, variant: &str) -> String {
    format!("q-{month}-{variant}")
}

/// The grid for the horizon and the active variants, with `values` by cell name and
/// `errors` by cell id.
async fn grid(
    req: &HttpRequest,
    acting: &Acting,
    hubs: &web::Data<Hubs>,
    values: Option<HashMap<String, String>>,
    errors: FieldErrors,
) -> Result<GridPage, Refusal> {
    let months = horizon(hubs, req);
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let (variants, latest) = acting
        .call(move || {
            let variants = service.variants(&principal)?;
            let latest = service
                .forecasts(
                    &principal,
                    &ForecastFilter::default(),
                    PageRequest {
                        limit: 1,
                        after: None,
                    },
                )?
                .items
                .into_iter()
                .next();
            Ok::<_, HubError>((variants, latest))
        })
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    // A new version starts from the latest one's figures.
    let values = values.unwrap_or_else(|| {
        latest
            .map(|f| {
                f.lines
                    .iter()
                    .map(|l| {
                        (
                            cell_name(&l.month.to_string(), &l.variant),
                            l.quantity.to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let variants: Vec<_> = variants.into_iter().filter(|v| v.active).collect();
    let columns = variants
        .iter()
        .map(|v| Column {
            id: format!("v-{}", v.product_code),
            code: v.product_code.clone(),
            name: v.name.clone(),
        })
        .collect();
    let rows = months
        .iter()
        .map(|m| {
            let month = m.to_string();
            GridRow {
                id: format!("m-{month}"),
                cells: variants
                    .iter()
                    .map(|v| {
                        let name = cell_name(&month, &v.product_code);
                        let id = cell_id(&month, &v.product_code);
                        Cell {
                            error: errors.get(&id).map(str::to_owned),
                            value: values.get(&name).cloned().unwrap_or_default(),
                            column: format!("v-{}", v.product_code),
                            name,
                            id,
                        }
                    })
                    .collect(),
                month,
            }
        })
        .collect();
    Ok(GridPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Hubs),
        columns,
        rows,
        errors,
    })
}

async fn new_form(req: HttpRequest, session: WebSession, hubs: web::Data<Hubs>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::OrderHubs)?;
    let page = grid(&req, &acting, &hubs, None, FieldErrors::new()).await?;
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

/// The service's errors on the lines submitted, each by its cell.
fn by_cell(invalid: ValidationErrors, cells: &[(String, String)]) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for e in invalid.0 {
        let index = e
            .field
            .strip_prefix("lines[")
            .and_then(|rest| rest.split_once(']'))
            .and_then(|(n, _)| n.parse::<usize>().ok());
        match index.and_then(|i| cells.get(i)) {
            Some((month, variant)) => {
                let id = cell_id(month, variant);
                let message = sentence("", &format!("{variant} in {month}"), &e.message);
                if errors.has(&id) {
                    errors.add_other(message);
                } else {
                    errors.add(&id, message);
                }
            }
            None => errors.add_other(sentence("", "The forecast", &e.message)),
        }
    }
    errors
}

async fn submit(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    acting.require(Permission::OrderHubs)?;
    let mut errors = FieldErrors::new();
    let mut lines = Vec::new();
    let mut cells = Vec::new();
    let mut values = HashMap::new();
    for (name, value) in &form {
        let Some((month, variant)) = name
            .strip_prefix("q:")
            .and_then(|rest| rest.split_once(':'))
        else {
            continue;
        };
        values.insert(name.clone(), value.clone());
        let value = value.trim();
        // A blank cell is no forecast for that month and variant.
        if value.is_empty() {
            continue;
        }
        match value.parse::<i64>() {
            Ok(quantity) => {
                lines.push(NewForecastLine {
                    month: month.to_owned(),
                    variant: variant.to_owned(),
                    region: None,
                    quantity,
                });
                cells.push((month.to_owned(), variant.to_owned()));
            }
            Err(_) => errors.add(
                &cell_id(month, variant),
                format!("{variant} in {month} must be a whole number of hubs"),
            ),
        }
    }
    if !errors.any() {
        let principal = acting.principal().clone();
        let service = hubs.clone().into_inner();
        let request_id = super::request_id(&req);
        match acting
            .call(move || service.submit_forecast(&principal, lines, None, request_id.as_deref()))
            .await?
        {
            Ok(made) => {
                super::created(acting.site(), made)?;
                return Ok(
                    see_other(acting.site(), "/portal/hubs/forecasts?done=submitted").finish(),
                );
            }
            Err(HubError::Invalid(invalid)) => errors = by_cell(invalid, &cells),
            Err(other) => return Err(Refusal::from_context(acting.site(), other)),
        }
    }
    let page = grid(&req, &acting, &hubs, Some(values), errors).await?;
    Ok(show(
        acting.site(),
        StatusCode::UNPROCESSABLE_ENTITY,
        Caching::NoStore,
        &page,
    )?)
}
