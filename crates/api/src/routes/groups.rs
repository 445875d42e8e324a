//! Resolver groups: the operator's teams incidents are assigned to, and their members.
//! Administrators manage them; operator staff read them.

use actix_web::{HttpResponse, web};
use dsms_auth::{NewGroup, ResolverGroup};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, blocking};
use crate::extract::Json;
use crate::problem::{ApiError, Problem};
use crate::routes::dto::{ListOf, created};
use crate::state::ApiState;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/groups").get(list).post(create))
        .service(
            web::resource("/groups/{id}/members/{person_id}")
                .post(add_member)
                .delete(remove_member),
        );
}

/// A member of a group.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MemberOut {
    /// The person's id.
    id: String,
    /// Their name.
    name: String,
}

/// A resolver group.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GroupOut {
    /// Its id.
    id: String,
    /// Its name, as incidents' `assignment_group` carries it.
    name: String,
    /// What it does.
    description: String,
    /// Its members, by name.
    members: Vec<MemberOut>,
}

impl From<ResolverGroup> for GroupOut {
    fn from(g: ResolverGroup) -> Self {
        Self {
            id: g.id.to_string(),
            name: g.name,
            description: g.description,
            members: g
                .members
                .into_iter()
                .map(|m| MemberOut {
                    id: m.person_id.to_string(),
                    name: m.name,
                })
                .collect(),
        }
    }
}

/// A group to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GroupIn {
    /// Letters, digits, spaces, `-` and `_`, up to 100 characters; unique.
    #[schema(example = "Second line")]
    name: String,
    /// What the group does.
    #[serde(default)]
    description: String,
}

/// Every resolver group with its members (operator staff).
#[utoipa::path(get, path = "/api/v1/groups", tag = "groups", security(("bearer" = [])),
    responses((status = 200, body = ListOf<GroupOut>),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    state: web::Data<ApiState>,
    caller: Caller,
) -> Result<web::Json<ListOf<GroupOut>>, ApiError> {
    let identity = state.identity.clone();
    let groups = blocking(move || {
        identity
            .list_groups(&caller.principal)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(ListOf {
        items: groups.into_iter().map(GroupOut::from).collect(),
        next_cursor: None,
    }))
}

/// Creates a resolver group (operator administrators).
#[utoipa::path(post, path = "/api/v1/groups", tag = "groups", security(("bearer" = [])),
    request_body = GroupIn,
    responses((status = 201, body = GroupOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn create(
    state: web::Data<ApiState>,
    caller: Caller,
    Json(body): Json<GroupIn>,
) -> Result<HttpResponse, ApiError> {
    let identity = state.identity.clone();
    let group = blocking(move || {
        identity
            .create_group(
                &caller.principal,
                NewGroup {
                    name: body.name,
                    description: body.description,
                },
                &caller.client,
            )
            .map_err(ApiError::from)
    })
    .await?;
    Ok(created(
        format!("/api/v1/groups/{}", group.id),
        None,
        &GroupOut::from(group),
    ))
}

/// Adds one of the operator's staff to a group (operator administrators); the group as it
/// now is.
#[utoipa::path(post, path = "/api/v1/groups/{id}/members/{person_id}", tag = "groups",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The group's id"),
        ("person_id" = String, Path, description = "The person's id")),
    responses((status = 200, body = GroupOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn add_member(
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<GroupOut>, ApiError> {
    let identity = state.identity.clone();
    let (group_id, person_id) = path.into_inner();
    let group = blocking(move || {
        identity
            .add_group_member(&caller.principal, group_id, person_id, &caller.client)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(group.into()))
}

/// Removes a member from a group (operator administrators).
#[utoipa::path(delete, path = "/api/v1/groups/{id}/members/{person_id}", tag = "groups",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The group's id"),
        ("person_id" = String, Path, description = "The person's id")),
    responses((status = 204, description = "Removed"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn remove_member(
    state: web::Data<ApiState>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let identity = state.identity.clone();
    let (group_id, person_id) = path.into_inner();
    blocking(move || {
        identity
            .remove_group_member(&caller.principal, group_id, person_id, &caller.client)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
