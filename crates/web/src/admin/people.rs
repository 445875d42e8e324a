//! The people of an organisation (the Self Service Management Interface), for its
//! administrators and the operator's: the list, inviting someone, changing their roles,
//! deactivating and reactivating them, and resetting their authenticator after a confirmation.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use dsms_auth::{
    AuthError, Invitation, Organisation, OrganisationKind, Person, PersonChanges, Role,
};
use dsms_core::{Email, PageRequest, Permission};
use serde::Deserialize;

use super::fields::FieldErrors;
use super::organisations::{Tick, form_pairs};
use super::{Acting, Answer, Refusal, when, when_or};
use crate::nav::{Area, Menu};
use crate::page::{Caching, see_other, show};
use crate::session::WebSession;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/people", web::get().to(list))
        .service(
            web::resource("/admin/people/new")
                .get(invite_form)
                .post(invite),
        )
        .route("/admin/people/{id}", web::get().to(person))
        .route("/admin/people/{id}/roles", web::post().to(change_roles))
        .route("/admin/people/{id}/status", web::post().to(change_status))
        .service(
            web::resource("/admin/people/{id}/reset-mfa")
                .get(confirm_reset)
                .post(reset_mfa),
        );
}

/// People on one page of the list.
const PAGE_SIZE: i64 = 50;

/// A role as people call it.
pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::DccAdmin => "DCC administrator",
        Role::ServiceDeskManager => "Service desk manager",
        Role::ServiceDeskAgent => "Service desk agent",
        Role::OrgAdmin => "Organisation administrator",
        Role::OrgUser => "Organisation user",
        Role::OrgReporter => "Organisation reporter",
    }
}

/// The roles people of `organisation` can hold, ticked when in `chosen`.
fn role_ticks(organisation: &Organisation, chosen: &[String]) -> Vec<Tick> {
    let operator = organisation.kind == OrganisationKind::Operator;
    Role::ALL
        .iter()
        .filter(|r| r.is_operator_role() == operator)
        .map(|r| Tick {
            value: r.as_str(),
            text: role_name(*r),
            checked: chosen.iter().any(|c| c == r.as_str()),
        })
        .collect()
}

/// Reads ticked roles; a value that is not a role is reported against `roles`.
fn parse_roles(chosen: &[String], errors: &mut FieldErrors) -> Vec<Role> {
    let roles: Vec<Role> = chosen.iter().filter_map(|r| Role::parse(r)).collect();
    if roles.len() != chosen.len() {
        errors.add("roles", "Roles must be chosen from the list");
    }
    roles
}

/// Moves the identity service's field errors onto the form.
fn merge(
    errors: &mut FieldErrors,
    error: AuthError,
    site: &crate::site::Site,
) -> Result<(), Refusal> {
    match error {
        AuthError::Invalid(invalid) => {
            let found = FieldErrors::from_validation(
                invalid,
                &[
                    ("name", "name", "Name"),
                    ("email", "email", "Email address"),
                    ("roles", "roles", "Roles"),
                    ("status", "status", "Status"),
                ],
            );
            for problem in found.all() {
                errors.add(&problem.field, problem.message.clone());
            }
            for other in found.others() {
                errors.add_other(other.clone());
            }
            Ok(())
        }
        AuthError::Duplicate(message) => {
            errors.add("email", message);
            Ok(())
        }
        AuthError::VersionMismatch(_) => {
            errors.add_other(
                "Someone else changed this person while you were looking. Reload the page and \
                 try again.",
            );
            Ok(())
        }
        other => Err(Refusal::from_context(site, other)),
    }
}

struct Row {
    id: i64,
    name: String,
    email: String,
    roles: String,
    status: &'static str,
    mfa: &'static str,
    last_sign_in: String,
}

impl From<Person> for Row {
    fn from(p: Person) -> Self {
        Self {
            id: p.id,
            name: p.name,
            email: p.email,
            roles: roles_text(&p.roles),
            status: if p.status == "active" {
                "Active"
            } else {
                "Deactivated"
            },
            mfa: if p.mfa_enrolled {
                "Set up"
            } else {
                "Not set up"
            },
            last_sign_in: when_or(p.last_sign_in_at, "Never"),
        }
    }
}

fn roles_text(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| role_name(*r))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    organisation: Option<i64>,
    cursor: String,
    done: String,
}

#[derive(Template)]
#[template(path = "admin/people.html")]
struct ListPage {
    csrf_token: String,
    menu: Menu,
    notice: Option<&'static str>,
    organisation: Organisation,
    rows: Vec<Row>,
    first_page: bool,
    next_page: Option<String>,
}

/// The organisation a page is about: the one asked for, or the person's own; 404 when it is
/// not visible to them.
async fn organisation_of(acting: &Acting, asked: Option<i64>) -> Result<Organisation, Refusal> {
    let principal = acting.principal().clone();
    let id = asked.unwrap_or(principal.organisation_id);
    let identity = acting.session.ui.identity.clone();
    acting
        .call(move || identity.organisation(&principal, id))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))
}

async fn list(session: WebSession, query: web::Query<ListQuery>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ManagePeople)?;
    let organisation = organisation_of(&acting, query.organisation).await?;
    let page = PageRequest::parse(Some(PAGE_SIZE), Some(&query.cursor))
        .map_err(|_| Refusal::not_found(acting.site()))?;
    let principal = acting.principal().clone();
    let identity = acting.session.ui.identity.clone();
    let id = organisation.id;
    let found = acting
        .call(move || identity.list_people(&principal, Some(id), page))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let page = ListPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Administration),
        notice: match query.done.as_str() {
            "invited" => Some("The invitation has been sent."),
            _ => None,
        },
        next_page: found
            .next_cursor
            .map(|c| format!("/admin/people?organisation={id}&cursor={c}")),
        rows: found.items.into_iter().map(Row::from).collect(),
        first_page: query.cursor.is_empty(),
        organisation,
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

/// The invitation form as submitted (or empty).
#[derive(Debug, Default)]
struct InviteForm {
    name: String,
    email: String,
    roles: Vec<String>,
    organisation_id: String,
    csrf_token: String,
}

impl InviteForm {
    fn parse(body: &[u8]) -> Self {
        let mut form = Self::default();
        for (name, value) in form_pairs(body) {
            match name.as_str() {
                "name" => form.name = value,
                "email" => form.email = value,
                "roles" => form.roles.push(value),
                "organisation_id" => form.organisation_id = value,
                "csrf_token" => form.csrf_token = value,
                _ => {}
            }
        }
        form
    }
}

#[derive(Template)]
#[template(path = "admin/invite.html")]
struct InvitePage {
    csrf_token: String,
    menu: Menu,
    organisation: Organisation,
    form: InviteForm,
    roles: Vec<Tick>,
    errors: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OrganisationQuery {
    organisation: Option<i64>,
}

async fn invite_form(session: WebSession, query: web::Query<OrganisationQuery>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ManagePeople)?;
    let organisation = organisation_of(&acting, query.organisation).await?;
    let form = InviteForm::default();
    let page = InvitePage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Administration),
        roles: role_ticks(&organisation, &form.roles),
        organisation,
        form,
        errors: FieldErrors::new(),
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

async fn invite(req: HttpRequest, session: WebSession, body: web::Bytes) -> Answer {
    let acting = Acting::of(session)?;
    let form = InviteForm::parse(&body);
    acting.check_form(&req, &form.csrf_token)?;
    acting.require(Permission::ManagePeople)?;
    let asked = form.organisation_id.parse::<i64>().ok();
    let organisation = organisation_of(&acting, asked).await?;
    let mut errors = FieldErrors::new();
    let email = Email::parse(&form.email)
        .map_err(|e| errors.add("email", format!("Email address {}", e.message)))
        .ok();
    if form.name.trim().is_empty() {
        errors.add("name", "Name must not be empty");
    }
    let roles = parse_roles(&form.roles, &mut errors);
    if roles.is_empty() {
        errors.add("roles", "Choose at least one role");
    }
    if let (Some(email), false) = (email, errors.any()) {
        let invitation = Invitation {
            email,
            name: form.name.trim().to_owned(),
            organisation_id: Some(organisation.id),
            roles,
        };
        let principal = acting.principal().clone();
        let identity = acting.session.ui.identity.clone();
        let client = acting.client(&req);
        match acting
            .call(move || identity.invite(&principal, invitation, &client, None))
            .await?
        {
            Ok(_) => {
                return Ok(see_other(
                    acting.site(),
                    &format!(
                        "/admin/people?organisation={}&done=invited",
                        organisation.id
                    ),
                )
                .finish());
            }
            Err(error) => merge(&mut errors, error, acting.site())?,
        }
    }
    let page = InvitePage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Administration),
        roles: role_ticks(&organisation, &form.roles),
        organisation,
        form,
        errors: errors.in_order(&["name", "email", "roles"]),
    };
    Ok(show(
        acting.site(),
        StatusCode::UNPROCESSABLE_ENTITY,
        Caching::NoStore,
        &page,
    )?)
}

#[derive(Template)]
#[template(path = "admin/person.html")]
struct PersonPage {
    csrf_token: String,
    menu: Menu,
    notice: Option<&'static str>,
    person: Person,
    organisation: Organisation,
    roles_text: String,
    roles: Vec<Tick>,
    last_sign_in: String,
    added: String,
    is_self: bool,
    errors: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DoneQuery {
    done: String,
}

/// The person `id` and their organisation, or 404 when not visible.
async fn load(acting: &Acting, id: i64) -> Result<(Person, Organisation), Refusal> {
    let principal = acting.principal().clone();
    let identity = acting.session.ui.identity.clone();
    acting
        .call(move || {
            let person = identity.person(&principal, id)?;
            let organisation = identity.organisation(&principal, person.organisation_id)?;
            Ok::<_, AuthError>((person, organisation))
        })
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))
}

fn person_page(
    acting: &Acting,
    person: Person,
    organisation: Organisation,
    chosen: &[String],
    notice: Option<&'static str>,
    errors: FieldErrors,
) -> PersonPage {
    PersonPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Administration),
        notice,
        roles_text: roles_text(&person.roles),
        roles: role_ticks(&organisation, chosen),
        last_sign_in: when_or(person.last_sign_in_at, "Never"),
        added: when(person.created_at),
        is_self: acting.principal().person_id() == Some(person.id),
        person,
        organisation,
        errors,
    }
}

async fn person(session: WebSession, id: web::Path<i64>, query: web::Query<DoneQuery>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ManagePeople)?;
    let (person, organisation) = load(&acting, id.into_inner()).await?;
    let chosen: Vec<String> = person.roles.iter().map(|r| r.as_str().to_owned()).collect();
    let notice = match query.done.as_str() {
        "roles" => Some("Their roles have been changed."),
        "deactivated" => Some("They have been deactivated and signed out."),
        "active" => Some("They have been reactivated."),
        "mfa-reset" => Some(
            "Their authenticator has been reset and they have been signed out. They will set \
             up a new one at their next sign-in.",
        ),
        _ => None,
    };
    let page = person_page(
        &acting,
        person,
        organisation,
        &chosen,
        notice,
        FieldErrors::new(),
    );
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

/// Applies `changes` to person `id` at `version`; on success redirects to their page with
/// `done`, otherwise shows the page with the errors.
async fn change(
    req: &HttpRequest,
    acting: Acting,
    id: i64,
    version: Option<i64>,
    changes: PersonChanges,
    chosen: Vec<String>,
    done: &str,
) -> Answer {
    let principal = acting.principal().clone();
    let identity = acting.session.ui.identity.clone();
    let client = acting.client(req);
    let mut errors = FieldErrors::new();
    match acting
        .call(move || identity.update_person(&principal, id, version, changes, &client))
        .await?
    {
        Ok(_) => {
            return Ok(
                see_other(acting.site(), &format!("/admin/people/{id}?done={done}")).finish(),
            );
        }
        Err(error) => merge(&mut errors, error, acting.site())?,
    }
    let (person, organisation) = load(&acting, id).await?;
    let page = person_page(&acting, person, organisation, &chosen, None, errors);
    Ok(show(
        acting.site(),
        StatusCode::UNPROCESSABLE_ENTITY,
        Caching::NoStore,
        &page,
    )?)
}

async fn change_roles(
    req: HttpRequest,
    session: WebSession,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Answer {
    let acting = Acting::of(session)?;
    let pairs = form_pairs(&body);
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    acting.check_form(&req, &field("csrf_token"))?;
    acting.require(Permission::ManagePeople)?;
    let chosen: Vec<String> = pairs
        .iter()
        .filter(|(n, _)| n == "roles")
        .map(|(_, v)| v.clone())
        .collect();
    let mut errors = FieldErrors::new();
    let roles = parse_roles(&chosen, &mut errors);
    let id = id.into_inner();
    if errors.any() {
        let (person, organisation) = load(&acting, id).await?;
        let page = person_page(&acting, person, organisation, &chosen, None, errors);
        return Ok(show(
            acting.site(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Caching::NoStore,
            &page,
        )?);
    }
    let changes = PersonChanges {
        roles: Some(roles),
        ..PersonChanges::default()
    };
    let version = field("version").parse().ok();
    change(&req, acting, id, version, changes, chosen, "roles").await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StatusForm {
    status: String,
    version: String,
    csrf_token: String,
}

async fn change_status(
    req: HttpRequest,
    session: WebSession,
    id: web::Path<i64>,
    web::Form(form): web::Form<StatusForm>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.check_form(&req, &form.csrf_token)?;
    acting.require(Permission::ManagePeople)?;
    let id = id.into_inner();
    let done = if form.status == "deactivated" {
        "deactivated"
    } else {
        "active"
    };
    let changes = PersonChanges {
        status: Some(form.status.clone()),
        ..PersonChanges::default()
    };
    let (person, _) = load(&acting, id).await?;
    let chosen = person.roles.iter().map(|r| r.as_str().to_owned()).collect();
    change(
        &req,
        acting,
        id,
        form.version.parse().ok(),
        changes,
        chosen,
        done,
    )
    .await
}

#[derive(Template)]
#[template(path = "admin/reset_mfa.html")]
struct ResetPage {
    csrf_token: String,
    menu: Menu,
    person: Person,
}

async fn confirm_reset(session: WebSession, id: web::Path<i64>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ManagePeople)?;
    let (person, _) = load(&acting, id.into_inner()).await?;
    let page = ResetPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Administration),
        person,
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ConfirmForm {
    csrf_token: String,
}

async fn reset_mfa(
    req: HttpRequest,
    session: WebSession,
    id: web::Path<i64>,
    web::Form(form): web::Form<ConfirmForm>,
) -> Answer {
    let acting = Acting::of(session)?;
    acting.check_form(&req, &form.csrf_token)?;
    acting.require(Permission::ManagePeople)?;
    let id = id.into_inner();
    let principal = acting.principal().clone();
    let identity = acting.session.ui.identity.clone();
    let client = acting.client(&req);
    acting
        .call(move || identity.reset_mfa(&principal, id, &client))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    Ok(see_other(acting.site(), &format!("/admin/people/{id}?done=mfa-reset")).finish())
}
