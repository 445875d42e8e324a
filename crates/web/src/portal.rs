//! The Self Service Interface for organisations' people at `/portal`: their organisation's
//! incidents (filtered, sorted, paged with the incident service's cursor) and a form to raise
//! a new one. The incident itself is shown at `/incidents/{reference}`, the page the service
//! desk uses too. What a person sees is what the incident service lets their principal see.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use dsms_core::{PageRequest, Permission};
use dsms_incident::{
    Incident, IncidentError, IncidentFilter, Incidents, NewIncident, Raised, Status,
};
use serde::Deserialize;

use crate::admin::fields::FieldErrors;
use crate::admin::{Acting, Answer, Refusal, when};
use crate::nav::{Area, Menu};
use crate::page::{Caching, see_other, show};
use crate::session::WebSession;

/// Mounts the portal.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/portal", web::get().to(list)).service(
        web::resource("/portal/incidents/new")
            .get(new_form)
            .post(raise),
    );
}

/// Incidents on one page of the list.
const PAGE_SIZE: i64 = 25;

/// How widely an incident affects the service, 1 the widest, as the form offers it.
const IMPACTS: [(&str, &str); 4] = [
    ("1", "1 – Extensive: many users or the whole service"),
    ("2", "2 – Significant: a large group or a whole region"),
    ("3", "3 – Moderate: a limited group of users or devices"),
    ("4", "4 – Minor: one user or a few devices"),
];

/// How quickly it must be dealt with, 1 the most urgent.
const URGENCIES: [(&str, &str); 4] = [
    ("1", "1 – Critical: work has stopped"),
    ("2", "2 – High: work is seriously hampered"),
    ("3", "3 – Medium: there is a workaround"),
    ("4", "4 – Low: an inconvenience"),
];

/// The form's fields as the incident service names them, with their labels.
const LABELS: &[(&str, &str, &str)] = &[
    ("title", "title", "Title"),
    ("description", "description", "Description"),
    ("category", "category", "Category"),
    ("subcategory", "subcategory", "Subcategory"),
    ("impact", "impact", "Impact"),
    ("urgency", "urgency", "Urgency"),
    ("devices", "devices", "Each device identifier"),
    ("contact", "contact", "Contact"),
];

/// The list's filters, from its query string. Empty means "any".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    status: String,
    priority: String,
    q: String,
    /// `newest` (the default) or `oldest`.
    sort: String,
    cursor: String,
}

impl ListQuery {
    fn newest_first(&self) -> bool {
        self.sort != "oldest"
    }

    /// The query string of these filters, with `cursor` when given.
    fn href(&self, cursor: Option<&str>) -> String {
        let mut pairs = Vec::new();
        for (name, value) in [
            ("status", self.status.as_str()),
            ("priority", self.priority.as_str()),
            ("q", self.q.as_str()),
            ("sort", self.sort.as_str()),
            ("cursor", cursor.unwrap_or_default()),
        ] {
            if !value.is_empty() {
                pairs.push(format!("{name}={}", encode(value)));
            }
        }
        if pairs.is_empty() {
            "/portal".to_owned()
        } else {
            format!("/portal?{}", pairs.join("&"))
        }
    }
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// One incident as a row of the list.
struct Row {
    reference: String,
    title: String,
    status: &'static str,
    priority: u8,
    raised: String,
    raised_by: String,
    resolution_due: String,
    breached: bool,
}

impl From<Incident> for Row {
    fn from(incident: Incident) -> Self {
        let resolution = incident.sla.resolution;
        Self {
            reference: incident.reference,
            title: incident.title,
            status: status_name(incident.status),
            priority: incident.priority.get(),
            raised: when(incident.created_at),
            raised_by: incident.raised_by.name,
            resolution_due: match (incident.status.is_open(), resolution.due_at) {
                (true, Some(due)) if incident.resolved_at.is_none() => when(due.naive_utc()),
                _ => "–".to_owned(),
            },
            breached: incident.resolved_at.is_none()
                && incident.status.is_open()
                && resolution.remaining < chrono::Duration::zero(),
        }
    }
}

/// A status as people read it.
pub(crate) fn status_name(status: Status) -> &'static str {
    match status {
        Status::New => "New",
        Status::Assigned => "Assigned",
        Status::InProgress => "In progress",
        Status::AwaitingUser => "Awaiting you",
        Status::Resolved => "Resolved",
        Status::Closed => "Closed",
        Status::Cancelled => "Cancelled",
    }
}

/// A choice in a select: its value, its text, whether chosen.
struct Choice {
    value: String,
    text: String,
    selected: bool,
}

fn choices<'a>(options: impl IntoIterator<Item = (&'a str, &'a str)>, chosen: &str) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, text)| Choice {
            value: value.to_owned(),
            text: text.to_owned(),
            selected: value == chosen,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "portal/list.html")]
struct ListPage {
    csrf_token: String,
    menu: Menu,
    may_raise: bool,
    statuses: Vec<Choice>,
    priorities: Vec<Choice>,
    sorts: Vec<Choice>,
    q: String,
    errors: FieldErrors,
    rows: Vec<Row>,
    first_page: Option<String>,
    next_page: Option<String>,
}

async fn list(
    session: WebSession,
    incidents: web::Data<Incidents>,
    query: web::Query<ListQuery>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewIncidents)?;
    let query = query.into_inner();
    let mut errors = FieldErrors::new();
    let priority = match query.priority.as_str() {
        "" => None,
        text => match text.parse::<i64>() {
            Ok(p) if (1..=5).contains(&p) => Some(p),
            _ => {
                errors.add("priority", "Priority must be 1 to 5");
                None
            }
        },
    };
    let page = match PageRequest::parse(Some(PAGE_SIZE), Some(&query.cursor)) {
        Ok(page) => page,
        Err(_) => {
            errors.add_other("That page of the list is no longer available; start again.");
            PageRequest::parse(Some(PAGE_SIZE), None).unwrap_or(PageRequest {
                limit: PAGE_SIZE,
                after: None,
            })
        }
    };
    let filter = IncidentFilter {
        statuses: Some(query.status.clone())
            .filter(|s| !s.is_empty())
            .into_iter()
            .collect(),
        priorities: priority.into_iter().collect(),
        search: Some(query.q.clone()).filter(|q| !q.trim().is_empty()),
        newest_first: query.newest_first(),
        ..IncidentFilter::default()
    };
    let (rows, next_cursor) = if errors.any() {
        (Vec::new(), None)
    } else {
        let principal = acting.principal().clone();
        let service = incidents.into_inner();
        match acting
            .call(move || service.list(&principal, &filter, page))
            .await?
        {
            Ok(found) => (
                found.items.into_iter().map(Row::from).collect(),
                found.next_cursor,
            ),
            Err(IncidentError::Invalid(invalid)) => {
                errors = FieldErrors::from_validation(
                    invalid,
                    &[
                        ("status", "status", "Status"),
                        ("priority", "priority", "Priority"),
                        ("q", "q", "Search"),
                    ],
                );
                (Vec::new(), None)
            }
            Err(other) => return Err(Refusal::from_context(acting.site(), other)),
        }
    };
    let mut statuses = vec![
        ("", "Any status"),
        ("open", "Open (not closed or cancelled)"),
    ];
    statuses.extend(Status::ALL.iter().map(|s| (s.as_str(), status_name(*s))));
    let page = ListPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Portal),
        may_raise: acting.principal().can(Permission::RaiseIncidents),
        statuses: choices(statuses, &query.status),
        priorities: choices(
            [
                ("", "Any priority"),
                ("1", "1 (most severe)"),
                ("2", "2"),
                ("3", "3"),
                ("4", "4"),
                ("5", "5 (least severe)"),
            ],
            &query.priority,
        ),
        sorts: choices(
            [("newest", "Newest first"), ("oldest", "Oldest first")],
            if query.newest_first() {
                "newest"
            } else {
                "oldest"
            },
        ),
        q: query.q.clone(),
        errors,
        rows,
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

/// The raise form as submitted (or empty).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct RaiseForm {
    title: String,
    description: String,
    category: String,
    subcategory: String,
    impact: String,
    urgency: String,
    devices: String,
    contact: String,
    csrf_token: String,
}

#[derive(Template)]
#[template(path = "portal/new.html")]
struct RaisePage {
    csrf_token: String,
    menu: Menu,
    form: RaiseForm,
    categories: Vec<Choice>,
    impacts: Vec<Choice>,
    urgencies: Vec<Choice>,
    errors: FieldErrors,
}

fn raise_page(
    acting: &Acting,
    incidents: &Incidents,
    form: RaiseForm,
    errors: FieldErrors,
) -> RaisePage {
    let categories = std::iter::once(("", "Choose a category"))
        .chain(
            incidents
                .policy()
                .categories
                .iter()
                .map(|c| (c.code.as_str(), c.name.as_str())),
        )
        .collect::<Vec<_>>();
    let choose = |all: &[(&'static str, &'static str)], chosen: &str| {
        choices(
            std::iter::once(("", "Choose one")).chain(all.iter().copied()),
            chosen,
        )
    };
    RaisePage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Portal),
        categories: choices(categories, &form.category),
        impacts: choose(&IMPACTS, &form.impact),
        urgencies: choose(&URGENCIES, &form.urgency),
        form,
        errors,
    }
}

async fn new_form(session: WebSession, incidents: web::Data<Incidents>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::RaiseIncidents)?;
    let page = raise_page(
        &acting,
        &incidents,
        RaiseForm::default(),
        FieldErrors::new(),
    );
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

/// A 1–4 choice as the service takes it; an empty or unreadable one as 0, which it refuses
/// with its own message.
fn scale(text: &str) -> i64 {
    text.trim().parse().unwrap_or(0)
}

async fn raise(
    req: HttpRequest,
    session: WebSession,
    incidents: web::Data<Incidents>,
    web::Form(form): web::Form<RaiseForm>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.check_form(&req, &form.csrf_token)?;
    acting.require(Permission::RaiseIncidents)?;
    let new = NewIncident {
        title: form.title.clone(),
        description: form.description.clone(),
        category: form.category.clone(),
        subcategory: Some(form.subcategory.clone()),
        impact: scale(&form.impact),
        urgency: scale(&form.urgency),
        contact: Some(form.contact.clone()),
        devices: form
            .devices
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .collect(),
        ..NewIncident::default()
    };
    let principal = acting.principal().clone();
    let service = incidents.clone().into_inner();
    match acting
        .call(move || service.raise(&principal, new, None))
        .await?
    {
        Ok(Raised::Created(incident)) => {
            Ok(see_other(acting.site(), &format!("/incidents/{}", incident.reference)).finish())
        }
        Ok(Raised::Replayed(_)) => Err(Refusal::from_context(
            acting.site(),
            dsms_api::ApiError::Internal("a replay without an idempotency key".into()),
        )),
        Err(IncidentError::Invalid(invalid)) => {
            // A choice left empty reads better as a request to choose than as the service's
            // list of what is allowed.
            let mut errors = FieldErrors::new();
            for (field, value, ask) in [
                ("category", &form.category, "Choose a category"),
                ("impact", &form.impact, "Choose the impact"),
                ("urgency", &form.urgency, "Choose the urgency"),
            ] {
                if value.trim().is_empty() {
                    errors.add(field, ask);
                }
            }
            let found = FieldErrors::from_validation(invalid, LABELS);
            for problem in found.all() {
                errors.add(&problem.field, problem.message.clone());
            }
            for other in found.others() {
                errors.add_other(other.clone());
            }
            let order: Vec<&str> = LABELS.iter().map(|(_, field, _)| *field).collect();
            let page = raise_page(&acting, &incidents, form, errors.in_order(&order));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_links_keep_the_filters_and_encode_them() {
        let query = ListQuery {
            status: "open".into(),
            q: "hub & meter".into(),
            ..ListQuery::default()
        };
        assert_eq!(
            query.href(Some("abc")),
            "/portal?status=open&q=hub+%26+meter&cursor=abc"
        );
        assert_eq!(ListQuery::default().href(None), "/portal");
    }
}
