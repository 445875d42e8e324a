//! People: organisation admins invite and manage their own organisation's people; operator
//! administrators manage everyone, including operator staff.

use actix_web::{HttpRequest, HttpResponse, web};
use dsms_auth::{Invitation, Person, PersonChanges, Role};
use dsms_core::Email;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, blocking};
use crate::extract::{Json, from_value};
use crate::problem::{ApiError, Problem};
use crate::routes::audit::AuditEntryOut;
use crate::routes::dto::{
    ListOf, PageQuery, created, idempotency_key, idempotency_scope, if_match,
    opt_id_from_string_or_number, replayed, request_digest, time, time_opt, with_etag,
};
use crate::state::ApiState;
use dsms_store::idempotency::{Created, Idempotent};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/users").post(invite).get(list))
        .service(web::resource("/users/{id}").get(get).patch(update))
        .service(web::resource("/users/{id}/mfa-reset").post(reset_mfa))
        .service(web::resource("/users/{id}/sign-ins").get(sign_ins));
}

/// A person.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PersonOut {
    /// Their id.
    id: String,
    /// Their email address.
    email: String,
    /// Their name.
    name: String,
    /// The organisation they act for.
    organisation_id: String,
    /// Their roles.
    roles: Vec<String>,
    /// `active` or `deactivated`.
    status: String,
    /// Whether an authenticator is enrolled.
    mfa_enrolled: bool,
    /// Whether they must choose a new password at next sign-in.
    must_change_password: bool,
    /// When they last signed in.
    last_sign_in_at: Option<String>,
    /// Optimistic-concurrency version (also the `ETag`).
    version: i64,
    /// When they were added.
    created_at: String,
    /// When they last changed.
    updated_at: String,
}

impl From<Person> for PersonOut {
    fn from(p: Person) -> Self {
        Self {
            id: p.id.to_string(),
            email: p.email,
            name: p.name,
            organisation_id: p.organisation_id.to_string(),
            roles: p.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            status: p.status,
            mfa_enrolled: p.mfa_enrolled,
            must_change_password: p.must_change_password,
            last_sign_in_at: time_opt(p.last_sign_in_at),
            version: p.version,
            created_at: time(p.created_at),
            updated_at: time(p.updated_at),
        }
    }
}

/// A person to invite.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUserIn {
    /// Their email address; the invitation goes there.
    #[schema(value_type = String)]
    email: Email,
    /// Their name.
    name: String,
    /// Their organisation; the caller's own when absent.
    #[serde(default, deserialize_with = "opt_id_from_string_or_number")]
    #[schema(value_type = Option<String>)]
    organisation_id: Option<i64>,
    /// Their roles.
    #[schema(value_type = Vec<String>, example = json!(["org_user"]))]
    roles: Vec<Role>,
}

/// Invites a person: their account is created without a password and a single-use link to
/// choose one is emailed to them.
#[utoipa::path(post, path = "/api/v1/users", tag = "people", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = NewUserIn,
    responses((status = 201, body = PersonOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn invite(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    Json(raw): Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let idempotent = idempotency_key(&req)?.map(|key| Idempotent {
        scope: idempotency_scope(&caller.principal, "POST /api/v1/users"),
        key,
        request_digest: request_digest(&raw),
        render: Box::new(|p: &Person| {
            (
                serde_json::to_string(&PersonOut::from(p.clone())).unwrap_or_default(),
                format!("/api/v1/users/{}", p.id),
            )
        }),
    });
    let body: NewUserIn = from_value(raw)?;
    let identity = state.identity.clone();
    let outcome = blocking(move || {
        identity
            .invite(
                &caller.principal,
                Invitation {
                    email: body.email,
                    name: body.name,
                    organisation_id: body.organisation_id,
                    roles: body.roles,
                },
                &caller.client,
                idempotent,
            )
            .map_err(ApiError::from)
    })
    .await?;
    Ok(match outcome {
        Created::New(person) => created(
            format!("/api/v1/users/{}", person.id),
            Some(person.version),
            &PersonOut::from(person),
        ),
        Created::Replayed(kept) => replayed(kept),
    })
}

/// Filters for the people list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PeopleQuery {
    /// Only people of this organisation.
    organisation_id: Option<i64>,
    /// Items per page, 1 to 500 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The people the caller may see.
#[utoipa::path(get, path = "/api/v1/users", tag = "people", security(("bearer" = [])),
    params(PeopleQuery),
    responses((status = 200, body = ListOf<PersonOut>),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    state: web::Data<ApiState>,
    caller: Caller,
    query: web::Query<PeopleQuery>,
) -> Result<web::Json<ListOf<PersonOut>>, ApiError> {
    let query = query.into_inner();
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .page()?;
    let identity = state.identity.clone();
    let found = blocking(move || {
        identity
            .list_people(&caller.principal, query.organisation_id, page)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(ListOf::from_page(found, PersonOut::from)))
}

/// One person (404 when not visible to the caller).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "people", security(("bearer" = [])),
    params(("id" = String, Path, description = "The person's id")),
    responses((status = 200, body = PersonOut),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get(
    state: web::Data<ApiState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let identity = state.identity.clone();
    let id = id.into_inner();
    let person = blocking(move || {
        identity
            .person(&caller.principal, id)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(with_etag(person.version, &PersonOut::from(person)))
}

/// Changes to a person; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserPatch {
    /// A new name.
    name: Option<String>,
    /// New roles, replacing the old.
    #[schema(value_type = Option<Vec<String>>)]
    roles: Option<Vec<Role>>,
    /// `active` or `deactivated` (their sessions end at once).
    status: Option<String>,
}

/// Changes a person's name, roles or status; honours `If-Match`.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "people", security(("bearer" = [])),
    params(("id" = String, Path, description = "The person's id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = UserPatch,
    responses((status = 200, body = PersonOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn update(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    Json(body): Json<UserPatch>,
) -> Result<HttpResponse, ApiError> {
    let version = if_match(&req)?;
    let identity = state.identity.clone();
    let id = id.into_inner();
    let person = blocking(move || {
        identity
            .update_person(
                &caller.principal,
                id,
                version,
                PersonChanges {
                    name: body.name,
                    roles: body.roles,
                    status: body.status,
                },
                &caller.client,
            )
            .map_err(ApiError::from)
    })
    .await?;
    Ok(with_etag(person.version, &PersonOut::from(person)))
}

/// Clears a person's authenticator and recovery codes and ends their sessions; they enrol
/// again at next sign-in. Audited.
#[utoipa::path(post, path = "/api/v1/users/{id}/mfa-reset", tag = "people", security(("bearer" = [])),
    params(("id" = String, Path, description = "The person's id")),
    responses((status = 200, body = PersonOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn reset_mfa(
    state: web::Data<ApiState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let identity = state.identity.clone();
    let id = id.into_inner();
    let person = blocking(move || {
        identity
            .reset_mfa(&caller.principal, id, &caller.client)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(with_etag(person.version, &PersonOut::from(person)))
}

/// A person's sign-in activity, newest first.
#[utoipa::path(get, path = "/api/v1/users/{id}/sign-ins", tag = "people", security(("bearer" = [])),
    params(("id" = String, Path, description = "The person's id"), PageQuery),
    responses((status = 200, body = ListOf<AuditEntryOut>),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn sign_ins(
    state: web::Data<ApiState>,
    caller: Caller,
    id: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListOf<AuditEntryOut>>, ApiError> {
    let page = query.page()?;
    let identity = state.identity.clone();
    let id = id.into_inner();
    let found = blocking(move || {
        identity
            .sign_in_activity(&caller.principal, id, page)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(ListOf::from_page(found, AuditEntryOut::from)))
}
