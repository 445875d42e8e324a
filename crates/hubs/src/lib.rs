//! Communications-hub order management, under the SEC's ordering rules: hub variants and
//! organisations' delivery locations; rolling forecasts, versioned and checked for lateness;
//! orders judged against every rule of the dated rule set in force (lead time, order window,
//! pack size, minimum, tolerance against the forecast in force, amendment cut-off), dispatched
//! in serial-numbered consignments and confirmed by the receiver; and returns by serial number,
//! analysed and settled with a charge or credit. Bulk serial lists arrive as JSON or CSV and
//! every row is checked at once.
//!
//! Depends on `dsms-core` and `dsms-store` only; knows nothing of HTTP.

mod auxiliary;
pub mod bulk;
mod delivery_store;
pub mod lifecycle;
mod model;
mod month;
pub mod rules;
mod service;
mod store;

pub use auxiliary::{
    AuxiliaryItem, AuxiliaryItemChanges, AuxiliaryLine, NewAuxiliaryItem, NewAuxiliaryLine,
    OrderAuxiliary,
};
pub use lifecycle::{
    DISCREPANCY_TRANSITIONS, DiscrepancyOutcome, DiscrepancyStatus, Mover, ORDER_TRANSITIONS,
    OrderStatus, RETURN_TRANSITIONS, ReturnStatus, Transition,
};
pub use model::{
    Analysis, ComplianceStatus, Confirmation, Consignment, DeliveryLocation, Discrepancy,
    FaultFound, Forecast, ForecastChange, ForecastCompliance, ForecastInForce, ForecastLine,
    HanBand, HubError, HubOrder, HubReturn, HubVariant, LineAnalysis, LocationChanges,
    LocationStatus, NewConsignment, NewForecastLine, NewLocation, NewOrder, NewReturn, NewVariant,
    OrderChanges, Party, RadioTechnology, Region, ReturnLine, ReturnReason, ReturnRow, SerialRow,
    VariantChanges,
};
pub use model::{
    ConsignmentPlan, DiscrepancyCase, DiscrepancyChanges, PlanLine, PlannedConsignment,
    ShipmentNotice,
};
pub use month::{HubSerial, Month, SERIAL_RULE};
pub use rules::{HubRules, ReturnCharges, RuleSet};
pub use service::{
    DeliverySweepReport, DiscrepancyFilter, EVENT_KIND, ForecastFilter, Hubs, OrderFilter,
    ReturnFilter,
};

/// An `Idempotency-Key` sent with a create, and how to render its response.
pub type Idempotent<T> = dsms_store::idempotency::Idempotent<T>;

/// The outcome of a create: the new record, or the response kept for a retried key.
pub type Created<T> = dsms_store::idempotency::Created<T>;
