//! Organisations: the operator registers the SEC parties that use the network.

use actix_web::{HttpRequest, HttpResponse, web};
use dsms_auth::{
    NewOrganisation, Organisation, OrganisationChanges, OrganisationKind, OrganisationStatus,
    SecRole,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, blocking};
use crate::extract::{Json, from_value};
use crate::problem::{ApiError, Problem};
use crate::routes::dto::{
    ListOf, PageQuery, created, idempotency_key, idempotency_scope, if_match, replayed,
    request_digest, time, with_etag,
};
use crate::state::ApiState;
use dsms_store::idempotency::{Created, Idempotent};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/organisations").post(create).get(list))
        .service(web::resource("/organisations/{id}").get(get).patch(update));
}

/// An organisation.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrganisationOut {
    /// Its id.
    id: String,
    /// Its name.
    name: String,
    /// `operator` or `user`.
    kind: String,
    /// Its SEC party id.
    sec_party_id: Option<String>,
    /// Its SEC user roles.
    sec_roles: Vec<String>,
    /// `active`, `suspended` or `withdrawn`.
    status: String,
    /// Optimistic-concurrency version (also the `ETag`).
    version: i64,
    /// When it was registered.
    created_at: String,
    /// When it last changed.
    updated_at: String,
}

impl From<Organisation> for OrganisationOut {
    fn from(o: Organisation) -> Self {
        Self {
            id: o.id.to_string(),
            name: o.name,
            kind: o.kind.as_str().to_owned(),
            sec_party_id: o.sec_party_id,
            sec_roles: o.sec_roles.iter().map(|r| r.as_str().to_owned()).collect(),
            status: o.status.as_str().to_owned(),
            version: o.version,
            created_at: time(o.created_at),
            updated_at: time(o.updated_at),
        }
    }
}

/// A new organisation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewOrganisationIn {
    /// Its name, unique regardless of case.
    name: String,
    /// Its SEC user roles, at least one.
    #[schema(value_type = Vec<String>, example = json!(["import_supplier"]))]
    sec_roles: Vec<SecRole>,
    /// Its SEC party id.
    #[serde(default)]
    sec_party_id: Option<String>,
}

/// Registers an organisation that uses the network (operator administrators). An
/// `Idempotency-Key` makes retries return the first response.
#[utoipa::path(post, path = "/api/v1/organisations", tag = "organisations", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = NewOrganisationIn,
    responses((status = 201, body = OrganisationOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn create(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    Json(raw): Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let idempotent = idempotency_key(&req)?.map(|key| Idempotent {
        scope: idempotency_scope(&caller.principal, "POST /api/v1/organisations"),
        key,
        request_digest: request_digest(&raw),
        render: Box::new(|o: &Organisation| {
            (
                serde_json::to_string(&OrganisationOut::from(o.clone())).unwrap_or_default(),
                format!("/api/v1/organisations/{}", o.id),
            )
        }),
    });
    let body: NewOrganisationIn = from_value(raw)?;
    let identity = state.identity.clone();
    let outcome = blocking(move || {
        identity
            .register_organisation(
                &caller.principal,
                NewOrganisation {
                    name: body.name,
                    kind: OrganisationKind::User,
                    sec_roles: body.sec_roles,
                    sec_party_id: body.sec_party_id,
                },
                idempotent,
            )
            .map_err(ApiError::from)
    })
    .await?;
    Ok(match outcome {
        Created::New(organisation) => created(
            format!("/api/v1/organisations/{}", organisation.id),
            Some(organisation.version),
            &OrganisationOut::from(organisation),
        ),
        Created::Replayed(kept) => replayed(kept),
    })
}

/// The organisations the caller may see: all of them for operator staff, their own otherwise.
#[utoipa::path(get, path = "/api/v1/organisations", tag = "organisations", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = ListOf<OrganisationOut>)))]
pub(crate) async fn list(
    state: web::Data<ApiState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListOf<OrganisationOut>>, ApiError> {
    let page = query.page()?;
    let identity = state.identity.clone();
    let found = blocking(move || {
        identity
            .list_organisations(&caller.principal, page)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(ListOf::from_page(found, OrganisationOut::from)))
}

/// One organisation (404 when not visible to the caller).
#[utoipa::path(get, path = "/api/v1/organisations/{id}", tag = "organisations", security(("bearer" = [])),
    params(("id" = String, Path, description = "The organisation's id")),
    responses((status = 200, body = OrganisationOut),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get(
    state: web::Data<ApiState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let identity = state.identity.clone();
    let id = id.into_inner();
    let organisation = blocking(move || {
        identity
            .organisation(&caller.principal, id)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(with_etag(
        organisation.version,
        &OrganisationOut::from(organisation),
    ))
}

/// Changes to an organisation; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrganisationPatch {
    /// A new name.
    name: Option<String>,
    /// `active`, `suspended` (its people and tokens stop working) or `withdrawn`.
    #[schema(value_type = Option<String>)]
    status: Option<OrganisationStatus>,
    /// New SEC roles, replacing the old.
    #[schema(value_type = Option<Vec<String>>)]
    sec_roles: Option<Vec<SecRole>>,
    /// A new SEC party id; null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    sec_party_id: Option<Option<String>>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Changes an organisation (operator administrators); honours `If-Match`.
#[utoipa::path(patch, path = "/api/v1/organisations/{id}", tag = "organisations", security(("bearer" = [])),
    params(("id" = String, Path, description = "The organisation's id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = OrganisationPatch,
    responses((status = 200, body = OrganisationOut),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn update(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    Json(body): Json<OrganisationPatch>,
) -> Result<HttpResponse, ApiError> {
    let version = if_match(&req)?;
    let identity = state.identity.clone();
    let id = id.into_inner();
    let organisation = blocking(move || {
        identity
            .update_organisation(
                &caller.principal,
                id,
                version,
                OrganisationChanges {
                    name: body.name,
                    status: body.status,
                    sec_roles: body.sec_roles,
                    sec_party_id: body.sec_party_id,
                },
                caller.client.request_id.as_deref(),
            )
            .map_err(ApiError::from)
    })
    .await?;
    Ok(with_etag(
        organisation.version,
        &OrganisationOut::from(organisation),
    ))
}
