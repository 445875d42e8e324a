//! Reports at `/reports`: the standard reports a person may run (the reporting service decides
//! which, as it does for the API), each at `/reports/{name}` with a parameter form, its result as
//! a table and the chart drawn on the server beside it, and downloads of the same result as CSV,
//! SVG or PNG (`/reports/{name}.csv` and so on, with the same query string) answered exactly as
//! the API answers them. A person subscribes to a report there to have it emailed daily, weekly
//! or monthly, and lists and cancels their subscriptions at `/reports/subscriptions`. Every
//! figure is scoped by the reporting service to the caller's organisation.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use dsms_auth::OrganisationKind;
use dsms_core::{PageRequest, Principal};
use dsms_reporting::{
    Cadence, Dimension, FileFormat, Granularity, NewSubscription, ReportDefinition, ReportError,
    ReportName, ReportParams, ReportQuery, ReportTable, Reports, Subscription,
};
use serde::Deserialize;

use crate::admin::fields::FieldErrors;
use crate::admin::{Acting, Answer, Refusal, when};
use crate::desk::Choice;
use crate::nav::{Area, Menu};
use crate::page::{Caching, see_other, show};
use crate::session::WebSession;

/// Mounts the reports pages.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/reports", web::get().to(index))
        .route("/reports/subscriptions", web::get().to(subscriptions))
        .route("/reports/subscriptions/{id}/cancel", web::post().to(cancel))
        .route("/reports/{name}/subscribe", web::post().to(subscribe))
        .route("/reports/{name}", web::get().to(report));
}

/// The form's fields as the reporting service names them, with their labels, in form order.
const LABELS: &[(&str, &str, &str)] = &[
    ("from", "from", "From"),
    ("to", "to", "To"),
    ("granularity", "granularity", "Divided into"),
    ("organisation_id", "organisation_id", "Organisation"),
    ("priority", "priority", "Priority"),
    ("category", "category", "Category"),
    ("group", "group", "Resolver group"),
    ("by", "by", "Grouped by"),
    ("status", "status", "Incidents"),
    ("device", "device", "Device"),
    ("region", "region", "Region"),
    ("cadence", "cadence", "Send it"),
];

/// The cadences offered, with how they are described.
const CADENCES: [(&str, &str); 3] = [
    ("daily", "Every day, covering the day before"),
    ("weekly", "Every Monday, covering the week before"),
    ("monthly", "On the 1st, covering the month before"),
];

/// A report's parameters as a form sends them; empty means "not given".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ReportForm {
    from: String,
    to: String,
    granularity: String,
    organisation_id: String,
    priority: String,
    category: String,
    group: String,
    by: String,
    status: String,
    device: String,
    region: String,
}

impl ReportForm {
    /// The parameters `accepted` (a report's) that were given, as the reporting service takes
    /// them; the others are dropped so that a field the page does not show cannot refuse it.
    fn query(&self, accepted: &[&str]) -> ReportQuery {
        let take = |name: &str, value: &str| {
            (accepted.contains(&name) && !value.trim().is_empty()).then(|| value.trim().to_owned())
        };
        ReportQuery {
            from: take("from", &self.from),
            to: take("to", &self.to),
            granularity: take("granularity", &self.granularity),
            organisation_id: take("organisation_id", &self.organisation_id),
            priority: take("priority", &self.priority),
            category: take("category", &self.category),
            group: take("group", &self.group),
            by: take("by", &self.by),
            status: take("status", &self.status),
            device: take("device", &self.device),
            region: take("region", &self.region),
        }
    }
}

/// `query`'s parameters as `(name, value)` pairs, in the catalogue's order.
fn pairs(query: &ReportQuery) -> Vec<(&'static str, String)> {
    [
        ("from", &query.from),
        ("to", &query.to),
        ("granularity", &query.granularity),
        ("organisation_id", &query.organisation_id),
        ("priority", &query.priority),
        ("category", &query.category),
        ("group", &query.group),
        ("by", &query.by),
        ("status", &query.status),
        ("device", &query.device),
        ("region", &query.region),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
    .collect()
}

/// `query` as a query string, with its `?`, or empty when it has no parameters.
fn query_string(query: &ReportQuery) -> String {
    let pairs = pairs(query);
    if pairs.is_empty() {
        return String::new();
    }
    let mut out = url::form_urlencoded::Serializer::new(String::from("?"));
    for (name, value) in &pairs {
        out.append_pair(name, value);
    }
    out.finish()
}

/// A report as listed.
struct Listed {
    href: String,
    title: &'static str,
    description: &'static str,
}

#[derive(Template)]
#[template(path = "reports/index.html")]
struct IndexPage {
    csrf_token: String,
    menu: Menu,
    reports: Vec<Listed>,
}

/// The reports `acting` may run, or the refusal the reporting service gives.
async fn catalogue(
    acting: &Acting,
    reports: &Reports,
) -> Result<&'static [ReportDefinition], Refusal> {
    let service = reports.clone();
    let principal = acting.principal().clone();
    acting
        .call(move || service.catalogue(&principal))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))
}

async fn index(session: WebSession, reports: web::Data<Reports>) -> Answer {
    let acting = Acting::of(session)?;
    let visible = catalogue(&acting, &reports).await?;
    let page = IndexPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Reports),
        reports: visible
            .iter()
            .map(|d| Listed {
                href: format!("/reports/{}", d.name),
                title: d.title,
                description: d.description,
            })
            .collect(),
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::Private,
        &page,
    )?)
}

/// One row of a report's table: its first cell heads the row.
struct Row {
    head: String,
    cells: Vec<Cell>,
}

/// One cell, numbers aligned as numbers.
struct Cell {
    text: String,
    numeric: bool,
}

/// A report's result as the page shows it.
struct Outcome {
    headings: Vec<&'static str>,
    rows: Vec<Row>,
    svg: String,
}

impl From<&ReportTable> for Outcome {
    fn from(table: &ReportTable) -> Self {
        let numeric: Vec<bool> = table
            .columns
            .iter()
            .map(|c| c.kind != dsms_reporting::ColumnKind::Text)
            .collect();
        Self {
            headings: table.columns.iter().map(|c| c.label).collect(),
            rows: table
                .rows
                .iter()
                .map(|row| {
                    let mut values = row.iter().map(|v| v.display());
                    Row {
                        head: values.next().unwrap_or_default(),
                        cells: values
                            .zip(numeric.iter().skip(1))
                            .map(|(text, numeric)| Cell {
                                text,
                                numeric: *numeric,
                            })
                            .collect(),
                    }
                })
                .collect(),
            svg: table.to_svg(),
        }
    }
}

/// A download of the shown result.
struct Download {
    href: String,
    file_name: String,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "reports/report.html")]
struct ReportPage {
    csrf_token: String,
    menu: Menu,
    name: &'static str,
    title: &'static str,
    description: &'static str,
    /// Which fields the form shows.
    shows: Vec<&'static str>,
    errors: FieldErrors,
    from: String,
    to: String,
    granularities: Vec<Choice>,
    organisations: Vec<Choice>,
    priorities: Vec<Choice>,
    category: String,
    group: String,
    dimensions: Vec<Choice>,
    statuses: Vec<Choice>,
    device: String,
    region: String,
    /// What the table's caption says of the period.
    period: String,
    result: Option<Outcome>,
    downloads: Vec<Download>,
    /// The parameters a subscription keeps (all but the period, which its cadence sets).
    kept: Vec<(&'static str, String)>,
    cadences: Vec<Choice>,
}

impl ReportPage {
    /// Whether the form shows `field`.
    fn shows(&self, field: &str) -> bool {
        self.shows.contains(&field)
    }
}

/// The user organisations operator staff may report on, as `(id, name)`; nobody else chooses.
async fn organisations(acting: &Acting) -> Result<Vec<(String, String)>, Refusal> {
    if !acting.principal().is_operator_staff() {
        return Ok(Vec::new());
    }
    let principal = acting.principal().clone();
    let page = acting
        .session
        .ui
        .call(move |identity| {
            identity.list_organisations(
                &principal,
                PageRequest {
                    limit: 500,
                    after: None,
                },
            )
        })
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    Ok(page
        .items
        .into_iter()
        .filter(|o| o.kind == OrganisationKind::User)
        .map(|o| (o.id.to_string(), o.name))
        .collect())
}

/// Which form fields `definition` takes for `principal`: operator staff alone choose an
/// organisation, or group volumes by organisation.
fn fields_for(definition: &ReportDefinition, principal: &Principal) -> Vec<&'static str> {
    definition
        .parameters
        .iter()
        .copied()
        .filter(|p| *p != "organisation_id" || principal.is_operator_staff())
        .collect()
}

/// Everything the report page needs besides the acting person.
struct Shown {
    name: ReportName,
    form: ReportForm,
    outcome: Result<ReportTable, ReportError>,
    subscribe_errors: FieldErrors,
    cadence: String,
}

/// Runs report `name` with `form` for `acting`.
async fn run(
    acting: &Acting,
    reports: &Reports,
    name: ReportName,
    query: ReportQuery,
) -> Result<Result<ReportTable, ReportError>, Refusal> {
    let service = reports.clone();
    let principal = acting.principal().clone();
    Ok(acting
        .call(move || service.run(&principal, name, &query))
        .await?)
}

/// The report page: the form, and the result or what is wrong with the parameters.
async fn report_page(acting: &Acting, reports: &Reports, shown: Shown) -> Answer {
    let definition = shown.name.definition();
    let principal = acting.principal();
    let query = shown.form.query(definition.parameters);
    let mut errors = shown.subscribe_errors;
    let table = match shown.outcome {
        Ok(table) => Some(table),
        Err(ReportError::Invalid(invalid)) => {
            errors = FieldErrors::from_validation(invalid, LABELS);
            None
        }
        Err(other) => return Err(Refusal::from_context(acting.site(), other)),
    };
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let shows = fields_for(definition, principal);
    // The period as the report counted it: the defaults filled in where nothing was given.
    let effective = ReportParams::parse(&query, reports.today()).ok();
    let (from, to) = match (&effective, &query.from, &query.to) {
        (Some(p), _, _) => (p.from.to_string(), p.to.to_string()),
        (None, from, to) => (
            from.clone().unwrap_or_default(),
            to.clone().unwrap_or_default(),
        ),
    };
    let period = if !shows.contains(&"from") {
        "as it stands now".to_owned()
    } else {
        format!("from {from} to {to}")
    };
    let organisations = if shows.contains(&"organisation_id") {
        organisations(acting).await?
    } else {
        Vec::new()
    };
    let form = &shown.form;
    // Volumes group by any dimension; the request and hub reports split by organisation only.
    let volumes = shown.name == ReportName::Volumes;
    let dimensions = Dimension::ALL
        .iter()
        .filter(|d| volumes || **d == Dimension::Organisation)
        .filter(|d| **d != Dimension::Organisation || principal.is_operator_staff())
        .map(|d| {
            let text = match d {
                Dimension::Category => "Category",
                Dimension::Organisation => "Organisation",
                Dimension::Group => "Resolver group",
                Dimension::Priority => "Priority",
            };
            (d.as_str().to_owned(), text.to_owned())
        });
    let name = shown.name.as_str();
    let query_text = query_string(&query);
    let downloads = match &table {
        Some(_) => [
            (FileFormat::Csv, "Table as CSV"),
            (FileFormat::Svg, "Chart as SVG"),
            (FileFormat::Png, "Chart as PNG"),
        ]
        .into_iter()
        .map(|(format, label)| Download {
            href: format!("/reports/{name}.{}{query_text}", format.extension()),
            file_name: format!("{name}.{}", format.extension()),
            label,
        })
        .collect(),
        None => Vec::new(),
    };
    let mut kept = query.clone();
    kept.from = None;
    kept.to = None;
    let page = ReportPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Reports),
        name,
        title: definition.title,
        description: definition.description,
        errors,
        from,
        to,
        granularities: Choice::list(
            "",
            Granularity::ALL.iter().map(|g| {
                let text = match g {
                    Granularity::Day => "Days",
                    Granularity::Week => "Weeks, Monday to Sunday",
                    Granularity::Month => "Calendar months",
                };
                (g.as_str().to_owned(), text.to_owned())
            }),
            if form.granularity.is_empty() {
                Granularity::Month.as_str()
            } else {
                &form.granularity
            },
        ),
        organisations: Choice::list("All organisations", organisations, &form.organisation_id),
        priorities: Choice::list(
            "Any priority",
            (1..=5).map(|p| (p.to_string(), format!("P{p}"))),
            &form.priority,
        ),
        category: form.category.clone(),
        group: form.group.clone(),
        dimensions: Choice::list("", dimensions, &form.by),
        statuses: Choice::list(
            "",
            [
                ("all".to_owned(), "All".to_owned()),
                ("open".to_owned(), "Unresolved only".to_owned()),
            ],
            &form.status,
        ),
        device: form.device.clone(),
        region: form.region.clone(),
        shows,
        period,
        result: table.as_ref().map(Outcome::from),
        downloads,
        kept: pairs(&kept),
        cadences: Choice::list(
            "",
            CADENCES.map(|(v, t)| (v.to_owned(), t.to_owned())),
            if shown.cadence.is_empty() {
                "monthly"
            } else {
                &shown.cadence
            },
        ),
    };
    Ok(show(acting.site(), status, Caching::Private, &page)?)
}

/// `name` from the path: a report, and the file it is wanted as when it ends in `.csv`, `.svg`
/// or `.png`.
fn named(acting: &Acting, path: &str) -> Result<(ReportName, Option<FileFormat>), Refusal> {
    let (name, format) = match path.rsplit_once('.') {
        Some((name, extension)) => (name, Some(FileFormat::from_extension(extension))),
        None => (path, None),
    };
    let not_found = || Refusal::not_found(acting.site());
    let name = ReportName::parse(name).ok_or_else(not_found)?;
    match format {
        None => Ok((name, None)),
        Some(Some(format)) => Ok((name, Some(format))),
        Some(None) => Err(not_found()),
    }
}

async fn report(
    session: WebSession,
    reports: web::Data<Reports>,
    path: web::Path<String>,
    form: web::Query<ReportForm>,
) -> Answer {
    let acting = Acting::of(session)?;
    let (name, format) = named(&acting, &path)?;
    let form = form.into_inner();
    let query = form.query(name.definition().parameters);
    let Some(format) = format else {
        let outcome = run(&acting, &reports, name, query).await?;
        let shown = Shown {
            name,
            form,
            outcome,
            subscribe_errors: FieldErrors::new(),
            cadence: String::new(),
        };
        return report_page(&acting, &reports, shown).await;
    };
    let service = reports.get_ref().clone();
    let principal = acting.principal().clone();
    // Drawn off the async threads: a PNG takes a few milliseconds of CPU.
    let file = acting
        .call(move || service.run(&principal, name, &query)?.to_file(format))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    Ok(dsms_api::report_file(file))
}

/// The subscribe form: how often, and the report's parameters but the period.
#[derive(Debug, Deserialize)]
struct SubscribeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    cadence: String,
    #[serde(flatten)]
    report: ReportForm,
}

async fn subscribe(
    session: WebSession,
    req: HttpRequest,
    reports: web::Data<Reports>,
    path: web::Path<String>,
    form: web::Form<SubscribeForm>,
) -> Answer {
    let acting = Acting::of(session)?;
    let SubscribeForm {
        csrf_token,
        cadence,
        report: mut form,
    } = form.into_inner();
    acting.check_form(&req, &csrf_token)?;
    let (name, None) = named(&acting, &path)? else {
        return Err(Refusal::not_found(acting.site()));
    };
    form.from.clear();
    form.to.clear();
    let new = NewSubscription {
        report: name.as_str().to_owned(),
        cadence: cadence.clone(),
        working_day: None,
        parameters: form.query(name.definition().parameters),
    };
    let service = reports.get_ref().clone();
    let principal = acting.principal().clone();
    let subscribed = acting
        .call(move || service.subscribe(&principal, new))
        .await?;
    match subscribed {
        Ok(_) => Ok(see_other(acting.site(), "/reports/subscriptions?subscribed=1").finish()),
        Err(ReportError::Invalid(invalid)) => {
            let subscribe_errors = FieldErrors::from_validation(invalid, LABELS);
            let outcome = run(
                &acting,
                &reports,
                name,
                form.query(name.definition().parameters),
            )
            .await?;
            let shown = Shown {
                name,
                form,
                outcome,
                subscribe_errors,
                cadence,
            };
            report_page(&acting, &reports, shown).await
        }
        Err(other) => Err(Refusal::from_context(acting.site(), other)),
    }
}

/// A subscription as listed.
struct Listing {
    id: i64,
    title: &'static str,
    href: String,
    cadence: String,
    filters: String,
    since: String,
}

impl From<Subscription> for Listing {
    fn from(s: Subscription) -> Self {
        let cadence = match s.cadence {
            Cadence::Daily => "Daily".to_owned(),
            Cadence::Weekly => "Weekly, on Mondays".to_owned(),
            Cadence::Monthly => "Monthly, on the 1st".to_owned(),
            Cadence::MonthlyOnWorkingDay(n) => format!("Monthly, on working day {n}"),
        };
        let filters = pairs(&s.parameters)
            .into_iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            id: s.id,
            title: s.report.definition().title,
            href: format!("/reports/{}{}", s.report, query_string(&s.parameters)),
            cadence,
            filters: if filters.is_empty() {
                "None".to_owned()
            } else {
                filters
            },
            since: when(s.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "reports/subscriptions.html")]
struct SubscriptionsPage {
    csrf_token: String,
    menu: Menu,
    notice: Option<&'static str>,
    subscriptions: Vec<Listing>,
}

/// The notice a redirect to the subscriptions page asks for.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SubscriptionsQuery {
    subscribed: Option<String>,
    cancelled: Option<String>,
}

async fn subscriptions(
    session: WebSession,
    reports: web::Data<Reports>,
    query: web::Query<SubscriptionsQuery>,
) -> Answer {
    let acting = Acting::of(session)?;
    let service = reports.get_ref().clone();
    let principal = acting.principal().clone();
    let mine = acting
        .call(move || service.subscriptions(&principal))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let notice = if query.subscribed.is_some() {
        Some("Subscribed: the report will be emailed to you as CSV at the end of each period.")
    } else if query.cancelled.is_some() {
        Some("Subscription cancelled: no more emails of that report.")
    } else {
        None
    };
    let page = SubscriptionsPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Reports),
        notice,
        subscriptions: mine.into_iter().map(Listing::from).collect(),
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::Private,
        &page,
    )?)
}

/// A cancel button's form.
#[derive(Debug, Deserialize)]
struct CancelForm {
    #[serde(default)]
    csrf_token: String,
}

async fn cancel(
    session: WebSession,
    req: HttpRequest,
    reports: web::Data<Reports>,
    id: web::Path<String>,
    form: web::Form<CancelForm>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.check_form(&req, &form.csrf_token)?;
    let id: i64 = id.parse().map_err(|_| Refusal::not_found(acting.site()))?;
    let service = reports.get_ref().clone();
    let principal = acting.principal().clone();
    acting
        .call(move || service.unsubscribe(&principal, id))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    Ok(see_other(acting.site(), "/reports/subscriptions?cancelled=1").finish())
}
