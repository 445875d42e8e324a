//! The agents' workspace at `/desk`: queues (mine, my groups, unassigned, breaching soon, major
//! incidents, all open) narrowed by filters, ordered, paged with the incident service's cursor,
//! kept as saved views; SLA countdowns in colour; and bulk assignment or status changes on the
//! ticked incidents of a queue. Every list is one call to `Incidents::list` (whose queries load
//! a page's details in a fixed number of statements), never a query per row.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use chrono::{DateTime, Duration, Utc};
use dsms_api::ApiState;
use dsms_auth::{Identity, Role};
use dsms_core::{PageRequest, Permission, Principal};
use dsms_incident::{Incident, IncidentChanges, IncidentFilter, Incidents, Status};
use serde::Deserialize;

use crate::admin::{Acting, Answer, Refusal};
use crate::labels::{self, SlaBadge};
use crate::nav::{Area, Menu};
use crate::page::{Caching, PageError, see_other, show};
use crate::session::WebSession;

/// Mounts the workspace.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/desk", web::get().to(queue))
        .route("/desk/bulk", web::post().to(bulk))
        .route("/desk/views", web::post().to(save_view))
        .route("/desk/views/{id}/delete", web::post().to(delete_view));
}

/// Incidents on one page of a queue.
const PAGE_SIZE: i64 = 50;

/// How far ahead "breaching soon" looks.
const BREACHING_WINDOW_HOURS: i64 = 4;

/// The queues, by code and name.
const QUEUES: [(&str, &str); 6] = [
    ("mine", "Assigned to me"),
    ("groups", "My groups"),
    ("unassigned", "Unassigned"),
    ("breaching", "Breaching soon"),
    ("major", "Major incidents"),
    ("open", "All open"),
];

/// The orders a queue may be shown in.
const SORTS: [(&str, &str); 4] = [
    ("oldest", "Oldest first"),
    ("newest", "Newest first"),
    ("priority", "Priority (this page)"),
    ("due", "Resolution due (this page)"),
];

/// The workspace is for people who work incidents.
pub(crate) fn desk_worker(session: WebSession) -> Result<Acting, Refusal> {
    let acting = Acting::of(session)?;
    acting.require(Permission::WorkIncidents)?;
    Ok(acting)
}

/// The app's clock, which SLA countdowns are read against.
pub(crate) fn now_of(req: &HttpRequest) -> DateTime<Utc> {
    req.app_data::<web::Data<ApiState>>()
        .map_or_else(Utc::now, |state| state.clock.now())
}

/// A queue's filters, from its query string; empty means "any".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DeskQuery {
    queue: String,
    status: String,
    priority: String,
    category: String,
    organisation: String,
    group: String,
    q: String,
    sort: String,
    cursor: String,
    updated: String,
    failed: String,
}

impl DeskQuery {
    fn queue(&self) -> &'static str {
        QUEUES
            .iter()
            .map(|(code, _)| *code)
            .find(|code| *code == self.queue)
            .unwrap_or("open")
    }

    fn sort(&self) -> &'static str {
        let default = if self.queue() == "breaching" {
            "due"
        } else {
            "oldest"
        };
        SORTS
            .iter()
            .map(|(code, _)| *code)
            .find(|code| *code == self.sort)
            .unwrap_or(default)
    }

    /// The query string of this view, without paging or notices: what a saved view keeps.
    fn view_query(&self) -> String {
        let pairs = [
            ("queue", self.queue()),
            ("status", self.status.as_str()),
            ("priority", self.priority.as_str()),
            ("category", self.category.as_str()),
            ("organisation", self.organisation.as_str()),
            ("group", self.group.as_str()),
            ("q", self.q.as_str()),
            ("sort", self.sort.as_str()),
        ];
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in pairs {
            if !value.is_empty() {
                out.append_pair(key, value);
            }
        }
        out.finish()
    }

    /// The incident service's filter for this view, or why it cannot be shown.
    fn filter(&self, principal: &Principal, now: DateTime<Utc>) -> Result<IncidentFilter, String> {
        let mut filter = IncidentFilter {
            statuses: vec![if self.status.is_empty() {
                "open".to_owned()
            } else {
                self.status.clone()
            }],
            category: non_empty(&self.category),
            assignment_group: non_empty(&self.group),
            search: non_empty(&self.q),
            newest_first: self.sort() == "newest",
            ..IncidentFilter::default()
        };
        if !self.priority.is_empty() {
            let p = self
                .priority
                .parse()
                .map_err(|_| "Choose a priority from the list.".to_owned())?;
            filter.priorities = vec![p];
        }
        if !self.organisation.is_empty() {
            filter.organisation_id = Some(
                self.organisation
                    .parse()
                    .map_err(|_| "Choose an organisation from the list.".to_owned())?,
            );
        }
        match self.queue() {
            "mine" => filter.assignee_id = principal.person_id(),
            "unassigned" => filter.unassigned = true,
            "breaching" => {
                filter.resolution_due_before = Some(now + Duration::hours(BREACHING_WINDOW_HOURS));
            }
            "major" => filter.major = Some(true),
            _ => {}
        }
        Ok(filter)
    }
}

fn non_empty(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// One option of a select.
#[derive(Debug, Clone)]
pub(crate) struct Choice {
    /// Its value.
    pub value: String,
    /// What it says.
    pub text: String,
    /// Chosen.
    pub selected: bool,
}

impl Choice {
    pub(crate) fn list(
        any: &str,
        options: impl IntoIterator<Item = (String, String)>,
        current: &str,
    ) -> Vec<Self> {
        let mut out = Vec::new();
        if !any.is_empty() {
            out.push(Self {
                value: String::new(),
                text: any.to_owned(),
                selected: current.is_empty(),
            });
        }
        out.extend(options.into_iter().map(|(value, text)| Self {
            selected: value == current,
            value,
            text,
        }));
        out
    }
}

/// A queue as a tab.
struct QueueTab {
    href: String,
    label: &'static str,
    current: bool,
}

/// One incident in a queue.
pub(crate) struct Row {
    /// Its reference.
    pub reference: String,
    /// Its title.
    pub title: String,
    /// The raising organisation.
    pub organisation: String,
    /// Its status, as people say it.
    pub status: &'static str,
    /// Its priority.
    pub priority: u8,
    /// Declared major.
    pub major: bool,
    /// Its resolver group.
    pub group: String,
    /// Its assignee.
    pub assignee: String,
    /// Its resolution clock.
    pub sla: SlaBadge,
    /// When it was raised.
    pub raised: String,
}

impl Row {
    /// A queue row for `incident`, its clock read at `now`.
    pub fn of(incident: &Incident, now: DateTime<Utc>) -> Self {
        Self {
            reference: incident.reference.clone(),
            title: incident.title.clone(),
            organisation: incident.organisation_name.clone(),
            status: labels::status(incident.status),
            priority: incident.priority.get(),
            major: incident.major,
            group: incident.assignment_group.clone().unwrap_or_default(),
            assignee: incident.assignee_name.clone().unwrap_or_default(),
            sla: SlaBadge::of(&incident.sla.resolution, now),
            raised: labels::when(incident.created_at),
        }
    }
}

/// A saved view as a link.
struct ViewLink {
    id: i64,
    name: String,
    href: String,
}

#[derive(Template)]
#[template(path = "desk/queue.html")]
struct QueuePage {
    csrf_token: String,
    menu: Menu,
    heading: &'static str,
    tabs: Vec<QueueTab>,
    problem: Option<String>,
    notice: Option<String>,
    statuses: Vec<Choice>,
    priorities: Vec<Choice>,
    categories: Vec<Choice>,
    organisations: Vec<Choice>,
    groups: Vec<Choice>,
    sorts: Vec<Choice>,
    queue: &'static str,
    q: String,
    rows: Vec<Row>,
    next_href: Option<String>,
    views: Vec<ViewLink>,
    view_query: String,
    assign_groups: Vec<Choice>,
    assignees: Vec<Choice>,
    bulk_statuses: Vec<Choice>,
}

/// The operator's people who may be given incidents, by name, as `(id, name)`.
pub(crate) fn assignable_staff(
    identity: &Identity,
    principal: &Principal,
) -> Result<Vec<(String, String)>, dsms_auth::AuthError> {
    let people = identity.list_people(
        principal,
        Some(principal.organisation_id),
        PageRequest {
            limit: 500,
            after: None,
        },
    )?;
    let mut staff: Vec<(String, String)> = people
        .items
        .into_iter()
        .filter(|p| p.status == "active")
        .filter(|p| {
            p.roles
                .iter()
                .any(|r| matches!(r, Role::ServiceDeskAgent | Role::ServiceDeskManager))
        })
        .map(|p| (p.id.to_string(), p.name))
        .collect();
    staff.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(staff)
}

/// Everything a queue page shows besides its rows.
struct Surroundings {
    my_groups: Vec<String>,
    all_groups: Vec<String>,
    staff: Vec<(String, String)>,
    organisations: Vec<(String, String)>,
    views: Vec<dsms_auth::SavedView>,
}

fn surroundings(
    identity: &Identity,
    principal: &Principal,
) -> Result<Surroundings, dsms_auth::AuthError> {
    let organisations = identity
        .list_organisations(
            principal,
            PageRequest {
                limit: 500,
                after: None,
            },
        )?
        .items
        .into_iter()
        .filter(|o| o.kind == dsms_auth::OrganisationKind::User)
        .map(|o| (o.id.to_string(), o.name))
        .collect();
    Ok(Surroundings {
        my_groups: identity.my_groups(principal)?,
        all_groups: identity
            .list_groups(principal)?
            .into_iter()
            .map(|g| g.name)
            .collect(),
        staff: assignable_staff(identity, principal)?,
        organisations,
        views: identity.saved_views(principal)?,
    })
}

/// The rows of the "my groups" queue: one list per group (a person is in a few), merged.
fn my_groups_rows(
    incidents: &Incidents,
    principal: &Principal,
    filter: &IncidentFilter,
    groups: &[String],
) -> Result<Vec<Incident>, dsms_incident::IncidentError> {
    let mut found = Vec::new();
    for group in groups {
        let filter = IncidentFilter {
            assignment_group: Some(group.clone()),
            ..filter.clone()
        };
        found.extend(
            incidents
                .list(
                    principal,
                    &filter,
                    PageRequest {
                        limit: PAGE_SIZE,
                        after: None,
                    },
                )?
                .items,
        );
    }
    found.sort_by_key(|i| i.id);
    if filter.newest_first {
        found.reverse();
    }
    found.truncate(PAGE_SIZE as usize);
    Ok(found)
}

async fn queue(
    req: HttpRequest,
    session: WebSession,
    incidents: web::Data<Incidents>,
    query: web::Query<DeskQuery>,
) -> Answer {
    let acting = desk_worker(session)?;
    let query = query.into_inner();
    let now = now_of(&req);
    let principal = acting.principal().clone();
    let identity = acting.session.ui.identity.clone();
    let categories = categories(&incidents);
    let (around, listed) = {
        let query = query.clone();
        acting
            .call(move || {
                let around = surroundings(&identity, &principal)?;
                let listed = list(&incidents, &principal, &query, &around, now);
                Ok::<_, dsms_auth::AuthError>((around, listed))
            })
            .await?
            .map_err(|e| Refusal::from_context(acting.site(), e))?
    };
    let (mut items, next, mut problem) = match listed {
        Ok((items, next)) => (items, next, None),
        Err(problem) => (Vec::new(), None, Some(problem)),
    };
    match query.sort() {
        "priority" => items.sort_by_key(|i| (i.priority.get(), i.id)),
        "due" => items.sort_by_key(|i| {
            (
                i.sla.resolution.due_at.is_none(),
                i.sla.resolution.due_at,
                i.id,
            )
        }),
        _ => {}
    }
    if query.queue() == "groups" && around.my_groups.is_empty() {
        problem = Some("You are not a member of any resolver group.".to_owned());
    }
    let shown = Shown {
        items,
        next,
        problem,
        categories,
    };
    render_queue(&acting, &query, around, shown, now)
}

/// The incidents of a queue view and the cursor of its next page, or what is wrong with it.
fn list(
    incidents: &Incidents,
    principal: &Principal,
    query: &DeskQuery,
    around: &Surroundings,
    now: DateTime<Utc>,
) -> Result<(Vec<Incident>, Option<String>), String> {
    let filter = query.filter(principal, now)?;
    if query.queue() == "groups" && filter.assignment_group.is_none() {
        return my_groups_rows(incidents, principal, &filter, &around.my_groups)
            .map(|items| (items, None))
            .map_err(|e| incident_problem(&e));
    }
    let page = PageRequest::parse(Some(PAGE_SIZE), non_empty(&query.cursor).as_deref())
        .map_err(|_| "That page of the queue no longer exists.".to_owned())?;
    incidents
        .list(principal, &filter, page)
        .map(|p| (p.items, p.next_cursor))
        .map_err(|e| incident_problem(&e))
}

/// The configured categories, as `(code, name)`.
pub(crate) fn categories(incidents: &Incidents) -> Vec<(String, String)> {
    incidents
        .policy()
        .categories
        .iter()
        .map(|c| (c.code.clone(), c.name.clone()))
        .collect()
}

/// The rows of a queue page and what is said about them.
struct Shown {
    items: Vec<Incident>,
    next: Option<String>,
    problem: Option<String>,
    categories: Vec<(String, String)>,
}

/// What a failed list says to the agent.
fn incident_problem(error: &dsms_incident::IncidentError) -> String {
    match error {
        dsms_incident::IncidentError::Invalid(errors) => errors
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

fn render_queue(
    acting: &Acting,
    query: &DeskQuery,
    around: Surroundings,
    shown: Shown,
    now: DateTime<Utc>,
) -> Answer {
    let Shown {
        items,
        next,
        problem,
        categories,
    } = shown;
    let view_query = query.view_query();
    let queue = query.queue();
    let tabs = QUEUES
        .iter()
        .map(|(code, label)| QueueTab {
            href: format!("/desk?queue={code}"),
            label,
            current: *code == queue,
        })
        .collect();
    let heading = QUEUES
        .iter()
        .find(|(code, _)| *code == queue)
        .map_or("All open", |(_, label)| label);
    let notice = match (
        query.updated.parse::<usize>(),
        query.failed.parse::<usize>(),
    ) {
        (Ok(done), Ok(0)) => Some(format!("{done} incident(s) updated.")),
        (Ok(done), Ok(failed)) => Some(format!(
            "{done} incident(s) updated; {failed} could not be (not allowed in their state, or changed meanwhile)."
        )),
        _ => None,
    };
    let mut status_options = vec![("all".to_owned(), "Any status".to_owned())];
    status_options.extend(
        Status::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), labels::status(*s).to_owned())),
    );
    let page = QueuePage {
        csrf_token: acting.csrf_token(),
        menu: Menu::of(acting.principal(), Area::Workspace),
        heading,
        tabs,
        problem,
        notice,
        statuses: Choice::list(
            "Any open status",
            status_options.into_iter().filter(|(v, _)| v != "all"),
            &query.status,
        ),
        priorities: Choice::list(
            "Any priority",
            (1..=5).map(|p| (p.to_string(), format!("P{p}"))),
            &query.priority,
        ),
        categories: Choice::list("Any category", categories, &query.category),
        organisations: Choice::list(
            "Any organisation",
            around.organisations,
            &query.organisation,
        ),
        groups: Choice::list(
            "Any group",
            around.all_groups.iter().map(|g| (g.clone(), g.clone())),
            &query.group,
        ),
        sorts: Choice::list(
            "",
            SORTS
                .iter()
                .map(|(c, t)| ((*c).to_owned(), (*t).to_owned())),
            query.sort(),
        ),
        queue,
        q: query.q.clone(),
        rows: items.iter().map(|i| Row::of(i, now)).collect(),
        next_href: next.map(|cursor| {
            let mut href = format!("/desk?{view_query}");
            href.push_str(if view_query.is_empty() { "" } else { "&" });
            href.push_str(
                &url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("cursor", &cursor)
                    .finish(),
            );
            href
        }),
        views: around
            .views
            .into_iter()
            .map(|v| ViewLink {
                href: format!("/desk?{}", v.query),
                id: v.id,
                name: v.name,
            })
            .collect(),
        view_query,
        assign_groups: Choice::list(
            "Leave as it is",
            around.all_groups.into_iter().map(|g| (g.clone(), g)),
            "",
        ),
        assignees: Choice::list(
            "Leave as it is",
            std::iter::once(("me".to_owned(), "Me".to_owned())).chain(around.staff),
            "",
        ),
        bulk_statuses: Choice::list(
            "Leave as it is",
            [
                Status::Assigned,
                Status::InProgress,
                Status::AwaitingUser,
                Status::Resolved,
                Status::Cancelled,
            ]
            .iter()
            .map(|s| (s.as_str().to_owned(), labels::status(*s).to_owned())),
            "",
        ),
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::Private,
        &page,
    )?)
}

/// The value of every `name` field of a posted form, in order.
fn all_of<'a>(form: &'a [(String, String)], name: &str) -> impl Iterator<Item = &'a str> {
    form.iter()
        .filter(move |(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The first value of `name` in a posted form, or empty.
pub(crate) fn one_of<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    all_of(form, name).next().unwrap_or_default()
}

/// The change a bulk form asks for, or why it asks for none.
fn bulk_changes(form: &[(String, String)], me: Option<i64>) -> Result<IncidentChanges, String> {
    let mut changes = IncidentChanges::default();
    let group = one_of(form, "group");
    if !group.is_empty() {
        changes.assignment_group = Some(Some(group.to_owned()));
    }
    match one_of(form, "assignee") {
        "" => {}
        "me" => changes.assignee_id = Some(me),
        id => {
            changes.assignee_id =
                Some(Some(id.parse().map_err(|_| {
                    "Choose an assignee from the list.".to_owned()
                })?));
        }
    }
    let status = one_of(form, "status");
    if !status.is_empty() {
        changes.status = Some(status.to_owned());
        let code = one_of(form, "resolution_code").trim();
        if !code.is_empty() {
            changes.resolution_code = Some(code.to_owned());
        }
    }
    if changes.assignment_group.is_none()
        && changes.assignee_id.is_none()
        && changes.status.is_none()
    {
        return Err("Choose a group, an assignee or a status to apply.".to_owned());
    }
    Ok(changes)
}

/// Applies one change to every ticked incident of a queue, each in its own unit of work (one
/// refused does not hold back the others), then shows the queue again with the counts.
async fn bulk(
    req: HttpRequest,
    session: WebSession,
    incidents: web::Data<Incidents>,
    web::Form(form): web::Form<Vec<(String, String)>>,
) -> Answer {
    let acting = desk_worker(session)?;
    acting.check_form(&req, one_of(&form, "csrf_token"))?;
    let back = one_of(&form, "view");
    let references: Vec<String> = all_of(&form, "incident").map(str::to_owned).collect();
    let changes = match bulk_changes(&form, acting.principal().person_id()) {
        Ok(changes) if !references.is_empty() => changes,
        _ => {
            return Ok(
                see_other(acting.site(), &format!("/desk?{back}&updated=0&failed=0")).finish(),
            );
        }
    };
    let principal = acting.principal().clone();
    let request_id = dsms_api::auth::client_of(&req).request_id;
    let (updated, failed) = acting
        .call(move || {
            let mut updated = 0usize;
            for reference in &references {
                if incidents
                    .update(
                        &principal,
                        reference,
                        None,
                        changes.clone(),
                        request_id.as_deref(),
                    )
                    .is_ok()
                {
                    updated += 1;
                }
            }
            Ok::<_, PageError>((updated, references.len() - updated))
        })
        .await??;
    Ok(see_other(
        acting.site(),
        &format!("/desk?{back}&updated={updated}&failed={failed}"),
    )
    .finish())
}

/// Keeps the current filters under a name.
async fn save_view(
    req: HttpRequest,
    session: WebSession,
    web::Form(form): web::Form<Vec<(String, String)>>,
) -> Answer {
    let acting = desk_worker(session)?;
    acting.check_form(&req, one_of(&form, "csrf_token"))?;
    // Only the filters a queue understands are kept, re-serialised: a view cannot carry
    // anything else into the page's links.
    let query: DeskQuery = serde_urlencoded_query(one_of(&form, "view"));
    let kept = query.view_query();
    let name = one_of(&form, "name").to_owned();
    let principal = acting.principal().clone();
    let identity = acting.session.ui.identity.clone();
    let saved = {
        let kept = kept.clone();
        acting
            .call(move || identity.save_view(&principal, &name, &kept))
            .await?
    };
    match saved {
        Ok(_) | Err(dsms_auth::AuthError::Invalid(_)) => {
            Ok(see_other(acting.site(), &format!("/desk?{kept}")).finish())
        }
        Err(other) => Err(Refusal::from_context(acting.site(), other)),
    }
}

/// Parses a queue's query string, ignoring anything it does not know.
fn serde_urlencoded_query(text: &str) -> DeskQuery {
    web::Query::<DeskQuery>::from_query(text)
        .map(web::Query::into_inner)
        .unwrap_or_default()
}

/// Forgets one of the person's saved views.
async fn delete_view(
    req: HttpRequest,
    session: WebSession,
    id: web::Path<i64>,
    web::Form(form): web::Form<Vec<(String, String)>>,
) -> Answer {
    let acting = desk_worker(session)?;
    acting.check_form(&req, one_of(&form, "csrf_token"))?;
    let principal = acting.principal().clone();
    let identity = acting.session.ui.identity.clone();
    let id = id.into_inner();
    acting
        .call(move || identity.delete_view(&principal, id))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    Ok(see_other(acting.site(), "/desk").finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_saved_view_keeps_only_the_filters() {
        let query = serde_urlencoded_query(
            "queue=major&priority=2&cursor=abc&updated=3&evil=%3Cscript%3E&q=hub+offline",
        );
        assert_eq!(query.view_query(), "queue=major&priority=2&q=hub+offline");
        assert_eq!(
            serde_urlencoded_query("queue=nonsense").view_query(),
            "queue=open"
        );
    }

    #[test]
    fn a_bulk_change_must_change_something() {
        assert!(bulk_changes(&form(&[("incident", "INC1")]), Some(7)).is_err());
        let to_me = bulk_changes(&form(&[("assignee", "me")]), Some(7)).expect("a change");
        assert_eq!(to_me.assignee_id, Some(Some(7)));
        let resolve = bulk_changes(
            &form(&[("status", "resolved"), ("resolution_code", "fixed")]),
            None,
        )
        .expect("a change");
        assert_eq!(resolve.status.as_deref(), Some("resolved"));
        assert_eq!(resolve.resolution_code.as_deref(), Some("fixed"));
    }
}
