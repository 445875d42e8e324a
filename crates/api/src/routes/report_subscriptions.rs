//! Scheduled reports: a person subscribes to a report at a cadence and receives it by email as
//! CSV, once per period.

use actix_web::{HttpResponse, web};
use dsms_reporting::{NewSubscription, ReportQuery, Reports, Subscription};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, blocking};
use crate::extract::{Json, from_value};
use crate::problem::{ApiError, Problem};
use crate::routes::dto::time;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/report-subscriptions")
            .post(subscribe)
            .get(list),
    )
    .service(web::resource("/report-subscriptions/{id}").delete(unsubscribe));
}

/// A subscription to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewSubscriptionIn {
    /// The report's name.
    report: String,
    /// daily, weekly, monthly or monthly_working_day.
    cadence: String,
    /// For monthly_working_day: the working day of the month, 1 to 23.
    working_day: Option<i32>,
    /// The report's parameters (not from/to: each email covers the last complete period).
    #[serde(default)]
    #[schema(value_type = Object)]
    parameters: ReportQuery,
}

/// A subscription.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubscriptionOut {
    id: String,
    report: &'static str,
    cadence: &'static str,
    working_day: Option<u32>,
    #[schema(value_type = Object)]
    parameters: ReportQuery,
    created_at: String,
}

impl From<Subscription> for SubscriptionOut {
    fn from(s: Subscription) -> Self {
        Self {
            id: s.id.to_string(),
            report: s.report.as_str(),
            cadence: s.cadence.as_str(),
            working_day: s.cadence.working_day(),
            parameters: s.parameters,
            created_at: time(s.created_at),
        }
    }
}

/// The caller's subscriptions.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubscriptionListOut {
    items: Vec<SubscriptionOut>,
}

/// Subscribes the calling person to a report, emailed as CSV at the cadence chosen.
#[utoipa::path(post, path = "/api/v1/report-subscriptions", tag = "reports", security(("bearer" = [])),
    request_body = NewSubscriptionIn,
    responses((status = 201, body = SubscriptionOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn subscribe(
    reports: web::Data<Reports>,
    caller: Caller,
    Json(raw): Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let body: NewSubscriptionIn = from_value(raw)?;
    let new = NewSubscription {
        report: body.report,
        cadence: body.cadence,
        working_day: body.working_day,
        parameters: body.parameters,
    };
    let reports = reports.into_inner();
    let created = blocking(move || {
        reports
            .subscribe(&caller.principal, new)
            .map_err(ApiError::from)
    })
    .await?;
    let out = SubscriptionOut::from(created);
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/report-subscriptions/{}", out.id),
        ))
        .json(out))
}

/// The calling person's subscriptions.
#[utoipa::path(get, path = "/api/v1/report-subscriptions", tag = "reports", security(("bearer" = [])),
    responses((status = 200, body = SubscriptionListOut),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    reports: web::Data<Reports>,
    caller: Caller,
) -> Result<web::Json<SubscriptionListOut>, ApiError> {
    let reports = reports.into_inner();
    let found = blocking(move || {
        reports
            .subscriptions(&caller.principal)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(SubscriptionListOut {
        items: found.into_iter().map(SubscriptionOut::from).collect(),
    }))
}

/// Cancels one of the calling person's subscriptions (404 for anyone else's).
#[utoipa::path(delete, path = "/api/v1/report-subscriptions/{id}", tag = "reports", security(("bearer" = [])),
    params(("id" = String, Path, description = "The subscription's id")),
    responses((status = 204),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn unsubscribe(
    reports: web::Data<Reports>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: i64 = id.trim().parse().map_err(|_| ApiError::NotFound)?;
    let reports = reports.into_inner();
    blocking(move || {
        reports
            .unsubscribe(&caller.principal, id)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
