//! Reports and diagnostics: the list of standard reports, each report as JSON, CSV
//! (`Accept: text/csv`) or a chart as SVG (`Accept: image/svg+xml`) or PNG (`Accept: image/png`),
//! and the register of which network operator is responsible for which device.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use dsms_reporting::{
    FileFormat, MaintenanceWindow, NetworkDevice, NewMaintenanceWindow, PARAMETERS, ReportError,
    ReportFile, ReportName, ReportQuery, ReportTable, Reports, Value,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, blocking};
use crate::extract::{Json, from_value};
use crate::problem::{ApiError, Problem};
use crate::routes::dto::{time, time_opt};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/reports").get(list))
        .service(web::resource("/reports/diagnostics").get(diagnostics))
        .service(web::resource("/reports/{name}").get(run))
        .service(
            web::resource("/network-devices")
                .post(register_devices)
                .get(devices),
        )
        .service(
            web::resource("/maintenance-windows")
                .post(schedule_maintenance)
                .get(maintenance_windows),
        )
        .service(web::resource("/maintenance-windows/{id}/cancel").post(cancel_maintenance));
}

impl From<ReportError> for ApiError {
    fn from(error: ReportError) -> Self {
        match error {
            ReportError::Invalid(errors) => Self::Validation(errors),
            ReportError::NotFound => Self::NotFound,
            ReportError::Forbidden(f) => Self::Forbidden(f.to_string()),
            ReportError::Store(e) => e.into(),
            ReportError::Csv(e) | ReportError::Image(e) => Self::Internal(e),
        }
    }
}

/// A parameter reports accept.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ParameterOut {
    /// Its name in the query string.
    name: &'static str,
    /// What it does.
    description: &'static str,
}

/// A standard report.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReportDefinitionOut {
    /// Its name, as in `/api/v1/reports/{name}`.
    name: &'static str,
    /// Its title.
    title: &'static str,
    /// What it measures and how.
    description: &'static str,
    /// The parameters it takes.
    parameters: Vec<ParameterOut>,
    /// Where to get it.
    href: String,
}

/// The standard reports.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReportListOut {
    /// Every report.
    items: Vec<ReportDefinitionOut>,
}

/// The standard reports with what they measure and the parameters they take.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", security(("bearer" = [])),
    responses((status = 200, body = ReportListOut),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    reports: web::Data<Reports>,
    caller: Caller,
) -> Result<web::Json<ReportListOut>, ApiError> {
    let visible = reports.catalogue(&caller.principal)?;
    Ok(web::Json(ReportListOut {
        items: visible
            .iter()
            .map(|d| ReportDefinitionOut {
                name: d.name.as_str(),
                title: d.title,
                description: d.description,
                parameters: d
                    .parameters
                    .iter()
                    .filter_map(|p| PARAMETERS.iter().find(|doc| doc.name == *p))
                    .map(|doc| ParameterOut {
                        name: doc.name,
                        description: doc.description,
                    })
                    .collect(),
                href: format!("/api/v1/reports/{}", d.name),
            })
            .collect(),
    }))
}

/// Report parameters, plus `format` for links that cannot set `Accept`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportQueryIn {
    /// First day, YYYY-MM-DD (default: twelve calendar months up to `to`).
    from: Option<String>,
    /// Last day, YYYY-MM-DD, inclusive (default: today).
    to: Option<String>,
    /// day, week or month (default month).
    granularity: Option<String>,
    /// Only this organisation (operator staff; others always see only their own).
    organisation_id: Option<String>,
    /// Only this priority, 1 to 5.
    priority: Option<String>,
    /// Only this category code.
    category: Option<String>,
    /// Only this resolver group.
    group: Option<String>,
    /// volumes: category, organisation, group or priority; request and hub reports: organisation.
    by: Option<String>,
    /// network-diagnostics: open or all.
    status: Option<String>,
    /// network-diagnostics: a device, hub or meter-point id.
    device: Option<String>,
    /// network-diagnostics and hub reports: a region.
    region: Option<String>,
    /// json, csv, svg or png; overrides `Accept`.
    format: Option<String>,
}

impl ReportQueryIn {
    fn split(self) -> (ReportQuery, Option<String>) {
        (
            ReportQuery {
                from: self.from,
                to: self.to,
                granularity: self.granularity,
                organisation_id: self.organisation_id,
                priority: self.priority,
                category: self.category,
                group: self.group,
                by: self.by,
                status: self.status,
                device: self.device,
                region: self.region,
            },
            self.format,
        )
    }
}

/// A column of a report.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ColumnOut {
    /// The key of the column in each row, and its CSV header.
    name: &'static str,
    /// Its heading for people.
    label: &'static str,
    /// text, integer or decimal.
    #[serde(rename = "type")]
    kind: &'static str,
}

/// A report's result.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReportOut {
    /// The report's name.
    report: &'static str,
    /// Its title.
    title: String,
    /// The columns, in order.
    columns: Vec<ColumnOut>,
    /// One object per row, keyed by column name; numbers are numbers, empty cells null.
    #[schema(value_type = Vec<Object>)]
    rows: RowsOut,
}

/// A report's rows, written as JSON objects straight from the table. Building a
/// `serde_json::Map` per row (a key and a value allocated and freed per cell) cost more CPU
/// than the queries for the 5,000 rows of 15 cells diagnostics answer with.
#[derive(Debug)]
pub(crate) struct RowsOut {
    table: ReportTable,
    /// Column positions in the order the keys are written: by name, as the maps wrote them.
    keys: Vec<usize>,
}

impl RowsOut {
    fn new(table: ReportTable) -> Self {
        let mut keys: Vec<usize> = (0..table.columns.len()).collect();
        keys.sort_by_key(|i| table.columns[*i].name);
        Self { table, keys }
    }
}

impl Serialize for RowsOut {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        /// One cell: text, a number, or null (also for a decimal that is not finite).
        struct Cell<'a>(&'a Value);
        impl Serialize for Cell<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self.0 {
                    Value::Text(t) => serializer.serialize_str(t),
                    Value::Integer(i) => serializer.serialize_i64(*i),
                    Value::Decimal(d) if d.is_finite() => serializer.serialize_f64(*d),
                    Value::Decimal(_) | Value::Null => serializer.serialize_unit(),
                }
            }
        }
        /// One row, keyed by column name.
        struct Row<'a>(&'a RowsOut, &'a [Value]);
        impl Serialize for Row<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let Row(rows, cells) = self;
                let mut map = serializer.serialize_map(Some(rows.keys.len()))?;
                for i in &rows.keys {
                    if let Some(cell) = cells.get(*i) {
                        map.serialize_entry(rows.table.columns[*i].name, &Cell(cell))?;
                    }
                }
                map.end()
            }
        }
        let mut seq = serializer.serialize_seq(Some(self.table.rows.len()))?;
        for cells in &self.table.rows {
            seq.serialize_element(&Row(self, cells))?;
        }
        seq.end()
    }
}

/// How a report is wanted: as JSON, or written out as a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    File(FileFormat),
}

fn format_of(req: &HttpRequest, format: Option<&str>) -> Result<Format, ApiError> {
    match format {
        Some("json") => return Ok(Format::Json),
        Some(other) => {
            return FileFormat::from_extension(other)
                .map(Format::File)
                .ok_or_else(|| ApiError::invalid("format", "must be json, csv, svg or png"));
        }
        None => {}
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // The first listed type the server can produce wins.
    for media in accept.split(',') {
        match media.split(';').next().unwrap_or("").trim() {
            "text/csv" => return Ok(Format::File(FileFormat::Csv)),
            "image/svg+xml" => return Ok(Format::File(FileFormat::Svg)),
            "image/png" => return Ok(Format::File(FileFormat::Png)),
            "application/json" | "application/*" | "*/*" => return Ok(Format::Json),
            _ => {}
        }
    }
    Ok(Format::Json)
}

/// A report written out as a file, as a download: CSV to save (`attachment`), the chart to
/// show in place. The web UI's download links answer with this too.
pub fn report_file(file: ReportFile) -> HttpResponse {
    let disposition = if file.format == FileFormat::Csv {
        "attachment"
    } else {
        "inline"
    };
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, file.format.media_type()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("{disposition}; filename=\"{}\"", file.file_name),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"));
    if file.format == FileFormat::Svg {
        // The chart is opened on its own: nothing in it may load or run anything.
        res.insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'",
        ));
    }
    res.body(file.bytes)
}

/// A report as it is answered: the table, for JSON, or already written out as a file.
enum Answer {
    Json(ReportTable),
    File(ReportFile),
}

fn respond(answer: Answer) -> HttpResponse {
    let table = match answer {
        Answer::File(file) => return report_file(file),
        Answer::Json(table) => table,
    };
    let columns = table
        .columns
        .iter()
        .map(|c| ColumnOut {
            name: c.name,
            label: c.label,
            kind: match c.kind {
                dsms_reporting::ColumnKind::Text => "text",
                dsms_reporting::ColumnKind::Integer => "integer",
                dsms_reporting::ColumnKind::Decimal => "decimal",
            },
        })
        .collect();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .json(ReportOut {
            report: table.name.as_str(),
            title: table.title.clone(),
            columns,
            rows: RowsOut::new(table),
        })
}

async fn produce(
    reports: web::Data<Reports>,
    caller: Caller,
    req: HttpRequest,
    name: ReportName,
    query: ReportQueryIn,
) -> Result<HttpResponse, ApiError> {
    let (query, format) = query.split();
    let format = format_of(&req, format.as_deref())?;
    let reports = reports.into_inner();
    // Drawing a PNG takes a few milliseconds of CPU: it is done off the async threads too.
    let answer = blocking(move || {
        let table = reports.run(&caller.principal, name, &query)?;
        Ok(match format {
            Format::Json => Answer::Json(table),
            Format::File(file) => Answer::File(table.to_file(file)?),
        })
    })
    .await?;
    Ok(respond(answer))
}

/// One report as JSON, CSV (`Accept: text/csv`, RFC 4180 with a header row), or its chart as
/// SVG (`Accept: image/svg+xml`) or PNG (`Accept: image/png`). Organisations see only their own
/// figures.
#[utoipa::path(get, path = "/api/v1/reports/{name}", tag = "reports", security(("bearer" = [])),
    params(("name" = String, Path, description = "sla-performance, arrivals-resolutions, backlog, response-resolution-times, volumes, reopen-rate, network-diagnostics, request-fulfilment, hub-forecast-accuracy, hub-delivery-otif, hub-returns, hub-fault-confirmation or availability"), ReportQueryIn),
    responses((status = 200, description = "The report, in the format the Accept header asks for",
            content((ReportOut = "application/json"), (String = "text/csv"),
                (String = "image/svg+xml"), (Vec<u8> = "image/png"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn run(
    reports: web::Data<Reports>,
    caller: Caller,
    req: HttpRequest,
    name: web::Path<String>,
    query: web::Query<ReportQueryIn>,
) -> Result<HttpResponse, ApiError> {
    let name = ReportName::parse(&name).ok_or(ApiError::NotFound)?;
    produce(reports, caller, req, name, query.into_inner()).await
}

/// Diagnostics for network operators: incidents raised by the caller's organisation or naming
/// devices registered to it, with references, status, devices, region, times and SLA state.
/// The same as `/api/v1/reports/network-diagnostics`; at most 5000 incidents, newest first.
#[utoipa::path(get, path = "/api/v1/reports/diagnostics", tag = "reports", security(("bearer" = [])),
    params(ReportQueryIn),
    responses((status = 200, description = "The diagnostics, in the format the Accept header asks for",
            content((ReportOut = "application/json"), (String = "text/csv"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn diagnostics(
    reports: web::Data<Reports>,
    caller: Caller,
    req: HttpRequest,
    query: web::Query<ReportQueryIn>,
) -> Result<HttpResponse, ApiError> {
    produce(
        reports,
        caller,
        req,
        ReportName::NetworkDiagnostics,
        query.into_inner(),
    )
    .await
}

/// A device to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeviceIn {
    /// The device, hub or meter-point id as incidents name it.
    device_id: String,
    /// What it is.
    device_type: Option<String>,
    /// Its region.
    region: Option<String>,
}

/// Devices to register to one network operator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DevicesIn {
    /// The network operator responsible for them.
    #[serde(deserialize_with = "crate::routes::dto::id_from_string_or_number")]
    #[schema(value_type = String)]
    organisation_id: i64,
    /// Up to 10000 devices.
    devices: Vec<DeviceIn>,
}

/// A registered device.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeviceOut {
    device_id: String,
    organisation_id: String,
    device_type: Option<String>,
    region: Option<String>,
    recorded_at: String,
}

impl From<NetworkDevice> for DeviceOut {
    fn from(d: NetworkDevice) -> Self {
        Self {
            device_id: d.device_id,
            organisation_id: d.organisation_id.to_string(),
            device_type: d.device_type,
            region: d.region,
            recorded_at: time(d.recorded_at),
        }
    }
}

/// Registered devices.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeviceListOut {
    items: Vec<DeviceOut>,
}

/// Registers devices and hubs to the network operator responsible for them (operator staff who
/// manage hubs), so its diagnostics show the incidents naming them.
#[utoipa::path(post, path = "/api/v1/network-devices", tag = "reports", security(("bearer" = [])),
    request_body = DevicesIn,
    responses((status = 200, body = DeviceListOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn register_devices(
    reports: web::Data<Reports>,
    caller: Caller,
    Json(raw): Json<serde_json::Value>,
) -> Result<web::Json<DeviceListOut>, ApiError> {
    let body: DevicesIn = from_value(raw)?;
    let devices = body
        .devices
        .into_iter()
        .map(|d| (d.device_id, d.device_type, d.region))
        .collect();
    let reports = reports.into_inner();
    let registered = blocking(move || {
        reports
            .register_devices(&caller.principal, body.organisation_id, devices)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(DeviceListOut {
        items: registered.into_iter().map(DeviceOut::from).collect(),
    }))
}

/// Which devices to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct DevicesQuery {
    /// Only this organisation's devices (operator staff).
    organisation_id: Option<i64>,
}

/// Devices registered to the caller's organisation (operator staff: to any, or to one).
#[utoipa::path(get, path = "/api/v1/network-devices", tag = "reports", security(("bearer" = [])),
    params(DevicesQuery),
    responses((status = 200, body = DeviceListOut),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn devices(
    reports: web::Data<Reports>,
    caller: Caller,
    query: web::Query<DevicesQuery>,
) -> Result<web::Json<DeviceListOut>, ApiError> {
    let reports = reports.into_inner();
    let organisation_id = query.organisation_id;
    let found = blocking(move || {
        reports
            .devices(&caller.principal, organisation_id)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(DeviceListOut {
        items: found.into_iter().map(DeviceOut::from).collect(),
    }))
}

/// A planned maintenance window to announce.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MaintenanceWindowIn {
    /// When it starts, RFC 3339.
    starts_at: String,
    /// When it ends (exclusive), RFC 3339; at most 7 days after it starts.
    ends_at: String,
    /// What is maintained, 1 to 500 characters.
    reason: String,
}

/// A planned maintenance window: its minutes are left out of the availability report.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MaintenanceWindowOut {
    id: String,
    starts_at: String,
    ends_at: String,
    reason: String,
    created_by_name: String,
    created_at: String,
    /// Set once cancelled; a cancelled window counts for nothing.
    cancelled_at: Option<String>,
}

impl From<MaintenanceWindow> for MaintenanceWindowOut {
    fn from(w: MaintenanceWindow) -> Self {
        Self {
            id: w.id.to_string(),
            starts_at: time(w.starts_at),
            ends_at: time(w.ends_at),
            reason: w.reason,
            created_by_name: w.created_by_name,
            created_at: time(w.created_at),
            cancelled_at: time_opt(w.cancelled_at),
        }
    }
}

/// Planned maintenance windows.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MaintenanceWindowListOut {
    items: Vec<MaintenanceWindowOut>,
}

/// Which maintenance windows to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct MaintenanceQuery {
    /// Only windows ending after this instant, RFC 3339 (default: all).
    since: Option<String>,
}

fn instant(
    field: &str,
    value: &str,
    errors: &mut dsms_core::ValidationErrors,
) -> Option<chrono::DateTime<chrono::Utc>> {
    match chrono::DateTime::parse_from_rfc3339(value.trim()) {
        Ok(t) => Some(t.with_timezone(&chrono::Utc)),
        Err(_) => {
            errors.push(
                field,
                "must be an RFC 3339 instant, e.g. 2027-01-05T22:00:00Z",
            );
            None
        }
    }
}

/// Announces a planned maintenance window (the operator's administrators, `dcc_admin`); the
/// availability report leaves its minutes out.
#[utoipa::path(post, path = "/api/v1/maintenance-windows", tag = "reports", security(("bearer" = [])),
    request_body = MaintenanceWindowIn,
    responses((status = 201, body = MaintenanceWindowOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn schedule_maintenance(
    reports: web::Data<Reports>,
    caller: Caller,
    Json(raw): Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let body: MaintenanceWindowIn = from_value(raw)?;
    let mut errors = dsms_core::ValidationErrors::default();
    let starts_at = instant("starts_at", &body.starts_at, &mut errors);
    let ends_at = instant("ends_at", &body.ends_at, &mut errors);
    let (Some(starts_at), Some(ends_at)) = (starts_at, ends_at) else {
        return Err(ApiError::Validation(errors));
    };
    let new = NewMaintenanceWindow {
        starts_at,
        ends_at,
        reason: body.reason,
    };
    let reports = reports.into_inner();
    let window = blocking(move || {
        reports
            .schedule_maintenance(&caller.principal, new)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(HttpResponse::Created().json(MaintenanceWindowOut::from(window)))
}

/// Planned maintenance windows, earliest first, cancelled ones included.
#[utoipa::path(get, path = "/api/v1/maintenance-windows", tag = "reports", security(("bearer" = [])),
    params(MaintenanceQuery),
    responses((status = 200, body = MaintenanceWindowListOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn maintenance_windows(
    reports: web::Data<Reports>,
    caller: Caller,
    query: web::Query<MaintenanceQuery>,
) -> Result<web::Json<MaintenanceWindowListOut>, ApiError> {
    let mut errors = dsms_core::ValidationErrors::default();
    let since = match query.since.as_deref() {
        None => None,
        Some(text) => {
            Some(instant("since", text, &mut errors).ok_or(ApiError::Validation(errors))?)
        }
    };
    let reports = reports.into_inner();
    let found = blocking(move || {
        reports
            .maintenance_windows(&caller.principal, since)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(MaintenanceWindowListOut {
        items: found.into_iter().map(MaintenanceWindowOut::from).collect(),
    }))
}

/// Cancels a planned maintenance window (`dcc_admin`): it is kept, marked cancelled, and its
/// minutes count in the availability report again.
#[utoipa::path(post, path = "/api/v1/maintenance-windows/{id}/cancel", tag = "reports", security(("bearer" = [])),
    params(("id" = String, Path, description = "The window's id")),
    responses((status = 200, body = MaintenanceWindowOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn cancel_maintenance(
    reports: web::Data<Reports>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<MaintenanceWindowOut>, ApiError> {
    let id: i64 = id.trim().parse().map_err(|_| ApiError::NotFound)?;
    let reports = reports.into_inner();
    let window = blocking(move || {
        reports
            .cancel_maintenance(&caller.principal, id)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(MaintenanceWindowOut::from(window)))
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn wanted(accept: &str, format: Option<&str>) -> Result<Format, ApiError> {
        let req = TestRequest::default()
            .insert_header((header::ACCEPT, accept))
            .to_http_request();
        format_of(&req, format)
    }

    #[test]
    fn png_is_chosen_by_accept_or_format() {
        assert_eq!(
            wanted("image/png", None).ok(),
            Some(Format::File(FileFormat::Png))
        );
        assert_eq!(
            wanted("image/png;q=0.9, text/html", None).ok(),
            Some(Format::File(FileFormat::Png))
        );
        assert_eq!(
            wanted("application/json", Some("png")).ok(),
            Some(Format::File(FileFormat::Png))
        );
        assert_eq!(wanted("*/*", None).ok(), Some(Format::Json));
        assert!(wanted("*/*", Some("pdf")).is_err());
    }

    #[test]
    fn a_png_is_answered_inline_with_its_type() {
        let res = report_file(ReportFile {
            format: FileFormat::Png,
            file_name: "backlog.png".into(),
            bytes: b"\x89PNG".to_vec(),
        });
        let headers = res.headers();
        assert_eq!(headers.get(header::CONTENT_TYPE).expect("set"), "image/png");
        assert_eq!(
            headers.get(header::CONTENT_DISPOSITION).expect("set"),
            "inline; filename=\"backlog.png\""
        );
        assert_eq!(
            headers.get(header::CACHE_CONTROL).expect("set"),
            "private, no-store"
        );
    }
}
