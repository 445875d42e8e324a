//! Lists of service requests: an organisation's own at `/portal/requests`, and the service
//! desk's queues at `/desk/requests` (awaiting approval, ready to fulfil, in fulfilment, all
//! open, all). Each page is one call to `ServiceRequests::list`, scoped by the service to what
//! the caller may see, and paged with its cursor.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use chrono::{DateTime, Utc};
use dsms_api::ApiError;
use dsms_auth::{Identity, OrganisationKind};
use dsms_core::{PageRequest, Permission, Principal};
use dsms_service_request::{
    ApprovalStatus, RequestError, RequestFilter, ServiceRequest, ServiceRequests, Status,
    TaskStatus,
};
use serde::Deserialize;

use super::{approver_name, encode, status_name};
use crate::admin::fields::FieldErrors;
use crate::admin::{Acting, Answer, Refusal};
use crate::desk::{Choice, now_of};
use crate::labels::{self, SlaBadge};
use crate::nav::{Area, Menu};
use crate::page::{Caching, show};
use crate::session::WebSession;

/// Mounts the lists.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/portal/requests", web::get().to(portal))
        .route("/desk/requests", web::get().to(desk));
}

/// Requests on one page of a list.
const PAGE_SIZE: i64 = 25;

/// The desk's queues: code, name, and the statuses each shows (none: every status).
const QUEUES: [(&str, &str, &[&str]); 5] = [
    ("approval", "Awaiting approval", &["awaiting_approval"]),
    ("ready", "Ready to fulfil", &["submitted", "approved"]),
    ("fulfilment", "In fulfilment", &["in_fulfilment"]),
    ("open", "All open", &["open"]),
    ("all", "All requests", &[]),
];

/// A list's filters, from its query string; empty means "any".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    queue: String,
    status: String,
    item: String,
    organisation: String,
    /// `oldest` or `newest`; each list has its own default.
    sort: String,
    cursor: String,
}

impl ListQuery {
    fn queue(&self) -> (&'static str, &'static str, &'static [&'static str]) {
        QUEUES
            .iter()
            .copied()
            .find(|(code, ..)| *code == self.queue)
            .unwrap_or(QUEUES[0])
    }

    /// The query string of these filters at `path`, with `cursor` when given.
    fn href(&self, path: &str, cursor: Option<&str>) -> String {
        let pairs: Vec<String> = [
            ("queue", self.queue.as_str()),
            ("status", self.status.as_str()),
            ("item", self.item.as_str()),
            ("organisation", self.organisation.as_str()),
            ("sort", self.sort.as_str()),
            ("cursor", cursor.unwrap_or_default()),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={}", encode(value)))
        .collect();
        if pairs.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", pairs.join("&"))
        }
    }
}

/// One request as a row of a list.
struct Row {
    reference: String,
    summary: String,
    item: String,
    organisation: String,
    status: &'static str,
    status_code: &'static str,
    waiting_on: String,
    sla: SlaBadge,
    raised: String,
    raised_by: String,
}

/// Who or what a request waits for now.
fn waiting_on(request: &ServiceRequest) -> String {
    match request.status {
        Status::AwaitingApproval => request
            .approvals
            .iter()
            .find(|a| a.status == ApprovalStatus::Pending)
            .map_or_else(String::new, |a| {
                format!("Step {}: {}", a.step, approver_name(a.approver))
            }),
        Status::Submitted | Status::Approved | Status::InFulfilment => {
            let done = request
                .tasks
                .iter()
                .filter(|t| t.status == TaskStatus::Done)
                .count();
            format!("Tasks: {done} of {} done", request.tasks.len())
        }
        Status::Fulfilled => "Closing".to_owned(),
        Status::Rejected | Status::Closed | Status::Cancelled => "Nothing".to_owned(),
    }
}

impl Row {
    fn of(request: ServiceRequest, now: DateTime<Utc>) -> Self {
        Self {
            waiting_on: waiting_on(&request),
            sla: SlaBadge::of(&request.sla, now),
            status: status_name(request.status),
            status_code: request.status.as_str(),
            raised: labels::when(request.created_at),
            reference: request.reference,
            summary: request.summary,
            item: request.form.definition.name,
            organisation: request.organisation_name,
            raised_by: request.raised_by.name,
        }
    }
}

/// What a list page shows besides its rows.
struct Shown {
    rows: Vec<Row>,
    errors: FieldErrors,
    first_page: Option<String>,
    next_page: Option<String>,
}

/// The catalogue's items as `(code, name)`, for the item filter.
fn items(
    requests: &ServiceRequests,
    principal: &Principal,
) -> Result<Vec<(String, String)>, RequestError> {
    Ok(requests
        .catalogue(principal)?
        .into_iter()
        .map(|i| (i.code, i.form.definition.name))
        .collect())
}

/// One page of the requests matching `filter`, or what is wrong with the filters.
async fn rows(
    acting: &Acting,
    requests: &web::Data<ServiceRequests>,
    filter: RequestFilter,
    query: &ListQuery,
    path: &str,
    now: DateTime<Utc>,
) -> Result<Shown, Refusal> {
    let mut errors = FieldErrors::new();
    let page = PageRequest::parse(Some(PAGE_SIZE), Some(&query.cursor)).unwrap_or_else(|_| {
        errors.add_other("That page of the list is no longer available; start again.");
        PageRequest {
            limit: PAGE_SIZE,
            after: None,
        }
    });
    let principal = acting.principal().clone();
    let service = requests.clone();
    let found = acting
        .call(move || service.list(&principal, &filter, page))
        .await?;
    let (rows, next) = match found {
        Ok(found) => (
            found.items.into_iter().map(|r| Row::of(r, now)).collect(),
            found.next_cursor,
        ),
        Err(RequestError::Invalid(invalid)) => {
            errors = FieldErrors::from_validation(invalid, &[("statuses", "status", "Status")]);
            (Vec::new(), None)
        }
        Err(other) => return Err(Refusal::from_context(acting.site(), other)),
    };
    Ok(Shown {
        rows,
        errors,
        first_page: (!query.cursor.is_empty()).then(|| query.href(path, None)),
        next_page: next.map(|c| query.href(path, Some(&c))),
    })
}

/// The status filter's options: any, open, then each status.
fn statuses(any: &str, current: &str) -> Vec<Choice> {
    Choice::list(
        any,
        std::iter::once((
            "open".to_owned(),
            "Open (not closed, rejected or cancelled)".to_owned(),
        ))
        .chain(
            Status::ALL
                .iter()
                .map(|s| (s.as_str().to_owned(), status_name(*s).to_owned())),
        ),
        current,
    )
}

fn sorts(current: &str) -> Vec<Choice> {
    Choice::list(
        "",
        [
            ("newest".to_owned(), "Newest first".to_owned()),
            ("oldest".to_owned(), "Oldest first".to_owned()),
        ],
        current,
    )
}

#[derive(Template)]
#[template(path = "requests/list.html")]
struct PortalPage {
    csrf_token: String,
    menu: Menu,
    may_raise: bool,
    statuses: Vec<Choice>,
    items: Vec<Choice>,
    sorts: Vec<Choice>,
    errors: FieldErrors,
    rows: Vec<Row>,
    first_page: Option<String>,
    next_page: Option<String>,
}

/// The caller's organisation's requests.
async fn portal(
    req: HttpRequest,
    session: WebSession,
    requests: web::Data<ServiceRequests>,
    query: web::Query<ListQuery>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewRequests)?;
    let query = ListQuery {
        queue: String::new(),
        organisation: String::new(),
        ..query.into_inner()
    };
    let newest_first = query.sort != "oldest";
    let filter = RequestFilter {
        statuses: Some(query.status.clone())
            .filter(|s| !s.is_empty())
            .into_iter()
            .collect(),
        item: Some(query.item.clone()).filter(|i| !i.is_empty()),
        newest_first,
        ..RequestFilter::default()
    };
    let principal = acting.principal().clone();
    let service = requests.clone();
    let items = acting
        .call(move || items(&service, &principal))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let shown = rows(
        &acting,
        &requests,
        filter,
        &query,
        "/portal/requests",
        now_of(&req),
    )
    .await?;
    let page = PortalPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Requests),
        may_raise: acting.principal().can(Permission::RaiseRequests),
        statuses: statuses("Any status", &query.status),
        items: Choice::list("Any item", items, &query.item),
        sorts: sorts(if newest_first { "newest" } else { "oldest" }),
        errors: shown.errors,
        rows: shown.rows,
        first_page: shown.first_page,
        next_page: shown.next_page,
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

/// A queue as a tab.
struct QueueTab {
    href: String,
    label: &'static str,
    current: bool,
}

#[derive(Template)]
#[template(path = "requests/queue.html")]
struct QueuePage {
    csrf_token: String,
    menu: Menu,
    heading: &'static str,
    queue: &'static str,
    tabs: Vec<QueueTab>,
    statuses: Vec<Choice>,
    items: Vec<Choice>,
    organisations: Vec<Choice>,
    sorts: Vec<Choice>,
    errors: FieldErrors,
    rows: Vec<Row>,
    first_page: Option<String>,
    next_page: Option<String>,
}

/// The organisations that use the network, as `(id, name)`, for the organisation filter.
fn organisations(
    identity: &Identity,
    principal: &Principal,
) -> Result<Vec<(String, String)>, dsms_auth::AuthError> {
    Ok(identity
        .list_organisations(
            principal,
            PageRequest {
                limit: 500,
                after: None,
            },
        )?
        .items
        .into_iter()
        .filter(|o| o.kind == OrganisationKind::User)
        .map(|o| (o.id.to_string(), o.name))
        .collect())
}

/// The service desk's queues of requests.
async fn desk(
    req: HttpRequest,
    session: WebSession,
    requests: web::Data<ServiceRequests>,
    query: web::Query<ListQuery>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::WorkRequests)?;
    let query = query.into_inner();
    let (queue, heading, queue_statuses) = query.queue();
    let oldest_first = query.sort != "newest";
    let mut bad_organisation = false;
    let filter = RequestFilter {
        statuses: if query.status.is_empty() {
            queue_statuses.iter().map(|s| (*s).to_owned()).collect()
        } else {
            vec![query.status.clone()]
        },
        item: Some(query.item.clone()).filter(|i| !i.is_empty()),
        organisation_id: match query.organisation.as_str() {
            "" => None,
            id => id.parse().ok().or_else(|| {
                bad_organisation = true;
                None
            }),
        },
        newest_first: !oldest_first,
        ..RequestFilter::default()
    };
    let principal = acting.principal().clone();
    let identity = acting.session.ui.identity.clone();
    let service = requests.clone();
    let (items, organisations) = acting
        .call(move || {
            let items = items(&service, &principal).map_err(ApiError::from)?;
            let organisations = organisations(&identity, &principal).map_err(ApiError::from)?;
            Ok::<_, ApiError>((items, organisations))
        })
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let shown = if bad_organisation {
        let mut errors = FieldErrors::new();
        errors.add("organisation", "Choose an organisation from the list");
        Shown {
            rows: Vec::new(),
            errors,
            first_page: None,
            next_page: None,
        }
    } else {
        rows(
            &acting,
            &requests,
            filter,
            &query,
            "/desk/requests",
            now_of(&req),
        )
        .await?
    };
    let page = QueuePage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::RequestQueue),
        heading,
        queue,
        tabs: QUEUES
            .iter()
            .map(|(code, label, _)| QueueTab {
                href: format!("/desk/requests?queue={code}"),
                label,
                current: *code == queue,
            })
            .collect(),
        statuses: statuses("Every status of this queue", &query.status),
        items: Choice::list("Any item", items, &query.item),
        organisations: Choice::list("Any organisation", organisations, &query.organisation),
        sorts: sorts(if oldest_first { "oldest" } else { "newest" }),
        errors: shown.errors,
        rows: shown.rows,
        first_page: shown.first_page,
        next_page: shown.next_page,
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::Private,
        &page,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_links_keep_the_filters_and_encode_them() {
        let query = ListQuery {
            queue: "ready".into(),
            item: "device_diagnostics".into(),
            organisation: "7".into(),
            ..ListQuery::default()
        };
        assert_eq!(
            query.href("/desk/requests", Some("a b")),
            "/desk/requests?queue=ready&item=device_diagnostics&organisation=7&cursor=a+b"
        );
        assert_eq!(
            ListQuery::default().href("/portal/requests", None),
            "/portal/requests"
        );
    }

    #[test]
    fn an_unknown_queue_is_the_approval_queue() {
        let query = ListQuery {
            queue: "nonsense".into(),
            ..ListQuery::default()
        };
        assert_eq!(query.queue().0, "approval");
    }
}
