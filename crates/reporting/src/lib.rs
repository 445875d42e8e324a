//! Reports and diagnostics: the operator's monthly SLA performance measures (the SEC's share of
//! incidents resolved within the Target Resolution Time, priorities 1–2 and 3–5), arrivals and
//! resolutions, backlog by age, times to respond and resolve, volumes, reopen rate, and the
//! diagnostics network operators pull about incidents naming their devices. Each report is a
//! named, documented query over per-incident facts kept up to date from the incident log; each
//! renders as a table, CSV (RFC 4180) or an SVG or PNG chart; people can have them emailed on a
//! schedule, once per period however many servers run.
//!
//! Depends on `dsms-core`, `dsms-store` and `dsms-notify` only (it reads the incident tables
//! through its own queries, never through `dsms-incident`); knows nothing of HTTP.

mod availability;
mod catalogue;
mod cells;
mod chart;
mod error;
mod facts;
mod histogram;
mod hub_reports;
mod params;
mod policy;
mod raster;
mod requests;
mod rollup;
mod schedule;
mod service;
mod store;
mod store_hubs;
mod store_requests;
mod table;

pub use availability::{AvailabilitySample, MaintenanceWindow, NewMaintenanceWindow};
pub use catalogue::{PARAMETERS, ParameterDoc, REPORTS, ReportDefinition, ReportName};
pub use error::ReportError;
pub use params::{Dimension, Granularity, ReportParams, ReportQuery};
pub use policy::{ClockTargets, ReportPolicy, SlaMeasure};
pub use schedule::{Cadence, Period};
pub use service::DIAGNOSTICS_LIMIT;
pub use service::{Delivered, NetworkDevice, NewSubscription, Reports, Subscription};
pub use table::{ChartSpec, Column, ColumnKind, FileFormat, ReportFile, ReportTable, Value};
