//! The service catalogue: what organisations may ask the operator for, maintained by the
//! operator's administrators in immutable form versions.

use actix_web::{HttpRequest, HttpResponse, web};
use dsms_service_request::{
    CatalogueChanges, CatalogueItem, Definition, FormVersion, NewCatalogueItem, RequestError,
    ServiceRequests,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, blocking};
use crate::extract::{Json, from_value};
use crate::problem::{ApiError, Problem};
use crate::routes::dto::{ListOf, created, if_match, time, with_etag};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/catalogue").get(list).post(create))
        .service(web::resource("/catalogue/{key}").get(get).patch(update))
        .service(web::resource("/catalogue/{key}/versions/{number}").get(version));
}

impl From<RequestError> for ApiError {
    fn from(error: RequestError) -> Self {
        match error {
            RequestError::Invalid(errors) => Self::Validation(errors),
            RequestError::NotFound => Self::NotFound,
            RequestError::Forbidden(f) => Self::Forbidden(f.to_string()),
            RequestError::Transition { detail, allowed } => {
                let mut extensions = serde_json::Map::new();
                extensions.insert(
                    "allowed".into(),
                    allowed
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .into(),
                );
                Self::Conflict { detail, extensions }
            }
            RequestError::Duplicate(detail) => Self::Conflict {
                detail,
                extensions: serde_json::Map::new(),
            },
            RequestError::VersionMismatch(v) => Self::VersionMismatch(format!(
                "the record has changed since version {v}; fetch it again"
            )),
            RequestError::IdempotencyMismatch => Self::invalid(
                "Idempotency-Key",
                "was already used with a different request body",
            ),
            e @ RequestError::Corrupt(_) => Self::Internal(e.to_string()),
            RequestError::Store(e) => e.into(),
        }
    }
}

/// One form version of a catalogue item: its whole definition.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FormVersionOut {
    id: String,
    /// 1, 2, … per item; requests name the one they were raised against.
    number: i32,
    name: String,
    description: String,
    /// Who may request the item: `{"sec_roles": [...], "roles": [...]}`; empty lists allow all.
    #[schema(value_type = Object)]
    requesters: serde_json::Value,
    /// The form's fields, each `{"key", "label", "type", "required", ...rules}`; types `text`,
    /// `number`, `date`, `choice`, `multi_choice`, `identifiers`; rules `min_length`,
    /// `max_length`, `pattern`, `min`, `max`, `integer`, `not_in_past`, `options`, `min_items`,
    /// `max_items`, `identifier` (`device_id` or `mpxn`).
    #[schema(value_type = Vec<Object>)]
    fields: serde_json::Value,
    /// Approval steps in order, each `{"approver": "organisation_admin" | "operator"}`.
    #[schema(value_type = Vec<Object>)]
    approvals: serde_json::Value,
    /// Fulfilment tasks, each `{"name", "group"}` (the resolver group).
    #[schema(value_type = Vec<Object>)]
    tasks: serde_json::Value,
    /// The fulfilment target in working days.
    sla_working_days: u32,
    created_by: String,
    created_at: String,
}

impl From<FormVersion> for FormVersionOut {
    fn from(v: FormVersion) -> Self {
        let d = v.definition;
        let json = |value: serde_json::Result<serde_json::Value>| value.unwrap_or_default();
        Self {
            id: v.id.to_string(),
            number: v.number,
            name: d.name,
            description: d.description,
            requesters: json(serde_json::to_value(&d.requesters)),
            fields: json(serde_json::to_value(&d.fields)),
            approvals: json(serde_json::to_value(&d.approvals)),
            tasks: json(serde_json::to_value(&d.tasks)),
            sla_working_days: d.sla_working_days,
            created_by: v.created_by,
            created_at: time(v.created_at),
        }
    }
}

/// A catalogue item with its form version in force.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CatalogueItemOut {
    id: String,
    /// A stable code, e.g. `device_diagnostics`; usable wherever the id is.
    code: String,
    /// Offered for new requests.
    active: bool,
    /// The form version in force.
    form: FormVersionOut,
    created_at: String,
    updated_at: String,
    /// Optimistic-concurrency version (also the `ETag`).
    version: i64,
}

impl From<CatalogueItem> for CatalogueItemOut {
    fn from(i: CatalogueItem) -> Self {
        Self {
            id: i.id.to_string(),
            code: i.code,
            active: i.active,
            form: i.form.into(),
            created_at: time(i.created_at),
            updated_at: time(i.updated_at),
            version: i.version,
        }
    }
}

/// A definition as sent: the same shape as a form version's, without its id and number.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DefinitionIn {
    name: String,
    description: String,
    /// `{"sec_roles": [...], "roles": [...]}`; empty or absent allows everyone.
    #[serde(default)]
    #[schema(value_type = Object)]
    requesters: serde_json::Value,
    /// The form's fields (see the form version's `fields`).
    #[schema(value_type = Vec<Object>)]
    fields: serde_json::Value,
    /// Approval steps in order; the organisation's administrator before the operator.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    approvals: serde_json::Value,
    /// At least one fulfilment task.
    #[schema(value_type = Vec<Object>)]
    tasks: serde_json::Value,
    /// 1 to 250 working days.
    sla_working_days: u32,
}

impl DefinitionIn {
    /// The domain definition, every fault named by its path in the request.
    fn parse(self, prefix: &str) -> Result<Definition, ApiError> {
        let or_empty = |v: serde_json::Value, empty: serde_json::Value| {
            if v.is_null() { empty } else { v }
        };
        let value = serde_json::json!({
            "name": self.name,
            "description": self.description,
            "requesters": or_empty(self.requesters, serde_json::json!({})),
            "fields": self.fields,
            "approvals": or_empty(self.approvals, serde_json::json!([])),
            "tasks": self.tasks,
            "sla_working_days": self.sla_working_days,
        });
        from_value(value).map_err(|e| match e {
            ApiError::Validation(mut errors) if !prefix.is_empty() => {
                for error in &mut errors.0 {
                    error.field = format!("{prefix}{}", error.field);
                }
                ApiError::Validation(errors)
            }
            other => other,
        })
    }
}

/// A catalogue item to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewCatalogueItemIn {
    /// Lowercase letters, digits and `_`, starting with a letter.
    code: String,
    name: String,
    description: String,
    /// `{"sec_roles": [...], "roles": [...]}`; empty or absent allows everyone.
    #[serde(default)]
    #[schema(value_type = Object)]
    requesters: serde_json::Value,
    /// The form's fields (see the form version's `fields`).
    #[schema(value_type = Vec<Object>)]
    fields: serde_json::Value,
    /// Approval steps in order; the organisation's administrator before the operator.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    approvals: serde_json::Value,
    /// At least one fulfilment task.
    #[schema(value_type = Vec<Object>)]
    tasks: serde_json::Value,
    /// 1 to 250 working days.
    sla_working_days: u32,
}

/// The catalogue: the items on offer (operator administrators also see withdrawn ones).
#[utoipa::path(get, path = "/api/v1/catalogue", tag = "service requests", security(("bearer" = [])),
    responses((status = 200, body = ListOf<CatalogueItemOut>),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    requests: web::Data<ServiceRequests>,
    caller: Caller,
) -> Result<web::Json<ListOf<CatalogueItemOut>>, ApiError> {
    let requests = requests.into_inner();
    let items = blocking(move || {
        requests
            .catalogue(&caller.principal)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(ListOf {
        items: items.into_iter().map(CatalogueItemOut::from).collect(),
        next_cursor: None,
    }))
}

/// One catalogue item by id or code, with its form version in force.
#[utoipa::path(get, path = "/api/v1/catalogue/{key}", tag = "service requests", security(("bearer" = [])),
    params(("key" = String, Path, description = "The item's id or code")),
    responses((status = 200, body = CatalogueItemOut, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get(
    requests: web::Data<ServiceRequests>,
    caller: Caller,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let requests = requests.into_inner();
    let key = key.into_inner();
    let item = blocking(move || {
        requests
            .catalogue_item(&caller.principal, &key)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(with_etag(item.version, &CatalogueItemOut::from(item)))
}

/// One form version of an item, as requests raised against it were validated.
#[utoipa::path(get, path = "/api/v1/catalogue/{key}/versions/{number}", tag = "service requests",
    security(("bearer" = [])),
    params(("key" = String, Path, description = "The item's id or code"),
           ("number" = i32, Path, description = "The form version's number")),
    responses((status = 200, body = FormVersionOut),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn version(
    requests: web::Data<ServiceRequests>,
    caller: Caller,
    path: web::Path<(String, i32)>,
) -> Result<web::Json<FormVersionOut>, ApiError> {
    let (key, number) = path.into_inner();
    let requests = requests.into_inner();
    let version = blocking(move || {
        requests
            .form_version(&caller.principal, &key, number)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(version.into()))
}

/// Adds a catalogue item with its first form version (operator administrators).
#[utoipa::path(post, path = "/api/v1/catalogue", tag = "service requests", security(("bearer" = [])),
    request_body = NewCatalogueItemIn,
    responses((status = 201, body = CatalogueItemOut, headers(("Location" = String), ("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn create(
    requests: web::Data<ServiceRequests>,
    caller: Caller,
    Json(body): Json<NewCatalogueItemIn>,
) -> Result<HttpResponse, ApiError> {
    let definition = DefinitionIn {
        name: body.name,
        description: body.description,
        requesters: body.requesters,
        fields: body.fields,
        approvals: body.approvals,
        tasks: body.tasks,
        sla_working_days: body.sla_working_days,
    };
    let new = NewCatalogueItem {
        code: body.code,
        definition: definition.parse("")?,
    };
    let requests = requests.into_inner();
    let item = blocking(move || {
        requests
            .add_item(&caller.principal, new)
            .map_err(ApiError::from)
    })
    .await?;
    let location = format!("/api/v1/catalogue/{}", item.id);
    Ok(created(
        location,
        Some(item.version),
        &CatalogueItemOut::from(item),
    ))
}

/// Changes to a catalogue item.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CatalogueItemPatch {
    /// Offer the item for new requests, or withdraw it.
    active: Option<bool>,
    /// The whole new definition; when it differs from the one in force it becomes the next
    /// form version. Requests already raised keep theirs.
    definition: Option<DefinitionIn>,
}

/// Changes a catalogue item (operator administrators). Honours `If-Match`.
#[utoipa::path(patch, path = "/api/v1/catalogue/{key}", tag = "service requests", security(("bearer" = [])),
    params(("key" = String, Path, description = "The item's id or code"),
           ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = CatalogueItemPatch,
    responses((status = 200, body = CatalogueItemOut, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn update(
    requests: web::Data<ServiceRequests>,
    caller: Caller,
    req: HttpRequest,
    key: web::Path<String>,
    Json(body): Json<CatalogueItemPatch>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let changes = CatalogueChanges {
        active: body.active,
        definition: body
            .definition
            .map(|d| d.parse("definition."))
            .transpose()?,
    };
    let requests = requests.into_inner();
    let key = key.into_inner();
    let item = blocking(move || {
        requests
            .change_item(&caller.principal, &key, expected, changes)
            .map_err(|e| match ApiError::from(e) {
                // Only the definition is validated here: name its faults by their path in
                // the request body.
                ApiError::Validation(mut errors) => {
                    for error in &mut errors.0 {
                        error.field = format!("definition.{}", error.field);
                    }
                    ApiError::Validation(errors)
                }
                other => other,
            })
    })
    .await?;
    Ok(with_etag(item.version, &CatalogueItemOut::from(item)))
}
