//! What hub variants, delivery locations, forecasts, orders and returns are, as read, and what
//! callers ask to create or change.

use chrono::{NaiveDate, NaiveDateTime};
use dsms_core::{Forbidden, ValidationErrors};
use dsms_store::StoreError;

use crate::lifecycle::{DiscrepancyOutcome, DiscrepancyStatus, OrderStatus, ReturnStatus};
use crate::month::Month;

dsms_core::text_enum! {
    /// The network region a hub works in.
    Region {
        /// The north region.
        North => "north",
        /// The central region.
        Central => "central",
        /// The south region.
        South => "south",
    }
}

dsms_core::text_enum! {
    /// How a hub reaches the network.
    RadioTechnology {
        /// Long-range radio (the north region).
        LongRangeRadio => "long_range_radio",
        /// 2G/3G cellular.
        Cellular2g3g => "cellular_2g3g",
        /// 4G cellular, being introduced in the central and south regions.
        Cellular4g => "cellular_4g",
    }
}

dsms_core::text_enum! {
    /// The home-area-network bands a hub offers.
    HanBand {
        /// 2.4 GHz only.
        Single => "single",
        /// 2.4 GHz and sub-GHz.
        Dual => "dual",
    }
}

dsms_core::text_enum! {
    /// Whether the operator has approved a delivery location.
    LocationStatus {
        /// Registered, awaiting the operator; orders may not use it yet.
        Pending => "pending",
        /// Approved: orders may be delivered there.
        Approved => "approved",
        /// Refused by the operator.
        Rejected => "rejected",
    }
}

dsms_core::text_enum! {
    /// Why a hub is returned (the SEC's faulty and no-fault reasons).
    ReturnReason {
        /// Faulty: aerial.
        Aerial => "aerial",
        /// Faulty: damaged case.
        DamagedCase => "damaged_case",
        /// Faulty: damaged connector.
        DamagedConnector => "damaged_connector",
        /// Faulty: environmental conditions exceeded.
        EnvironmentalConditionsExceeded => "environmental_conditions_exceeded",
        /// Faulty: illegal interference or missing seals.
        IllegalInterference => "illegal_interference_or_missing_seals",
        /// Faulty: LED.
        Led => "led",
        /// Faulty: manufacturing defect.
        ManufacturingDefect => "manufacturing_defect",
        /// Faulty: smart-metering HAN.
        SmHan => "sm_han",
        /// Faulty: smart-metering WAN.
        SmWan => "sm_wan",
        /// No fault: general.
        General => "general",
        /// No fault: lost or stolen.
        LostOrStolen => "lost_or_stolen",
        /// No fault: non-domestic opt-out.
        NonDomesticOptOut => "non_domestic_opt_out",
        /// No fault: WAN variant swap requested by the operator.
        WanVariantSwap => "wan_variant_swap",
        /// No fault: dual-supplier HAN variant swap.
        DualSupplierHanSwap => "dual_supplier_han_variant_swap",
    }
}

impl ReturnReason {
    /// True for the faulty reasons, which must say whether the fault was found before or after
    /// installation.
    pub fn is_faulty(self) -> bool {
        !matches!(
            self,
            Self::General
                | Self::LostOrStolen
                | Self::NonDomesticOptOut
                | Self::WanVariantSwap
                | Self::DualSupplierHanSwap
        )
    }
}

dsms_core::text_enum! {
    /// When a fault was found.
    FaultFound {
        /// Before the hub was installed.
        BeforeInstallation => "before_installation",
        /// After the hub was installed.
        AfterInstallation => "after_installation",
    }
}

dsms_core::text_enum! {
    /// Whether a supplier's forecast for a month came in on time.
    ComplianceStatus {
        /// Submitted by the due day.
        OnTime => "on_time",
        /// Submitted after the due day.
        Late => "late",
        /// Not submitted and the due day has passed.
        Missing => "missing",
        /// Not submitted yet, and not yet due.
        NotYetDue => "not_yet_due",
    }
}

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// `person` or `api_token`.
    pub kind: String,
    /// Their id.
    pub id: i64,
    /// Their name at the time.
    pub name: String,
}

/// A hub variant the operator offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubVariant {
    /// Its id.
    pub id: i64,
    /// Its product code, e.g. `CH-C-4G-SB`.
    pub product_code: String,
    /// Its name.
    pub name: String,
    /// How it reaches the network.
    pub radio_technology: RadioTechnology,
    /// The region it works in.
    pub region: Region,
    /// Its HAN bands.
    pub han_band: HanBand,
    /// Orderable (withdrawn variants stay for history).
    pub active: bool,
    /// When it was added.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// A variant to add.
#[derive(Debug, Clone, Default)]
pub struct NewVariant {
    /// Its product code.
    pub product_code: String,
    /// Its name.
    pub name: String,
    /// A [`RadioTechnology`] name.
    pub radio_technology: String,
    /// A [`Region`] name.
    pub region: String,
    /// A [`HanBand`] name.
    pub han_band: String,
}

/// Changes to a variant.
#[derive(Debug, Clone, Default)]
pub struct VariantChanges {
    /// A new name.
    pub name: Option<String>,
    /// Withdraw or reinstate.
    pub active: Option<bool>,
}

/// Where an organisation takes deliveries of hubs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryLocation {
    /// Its id.
    pub id: i64,
    /// The organisation it belongs to.
    pub organisation_id: i64,
    /// A name for people.
    pub name: String,
    /// The postal address.
    pub address: String,
    /// The postcode.
    pub postcode: String,
    /// Who receives deliveries.
    pub contact_name: String,
    /// Their telephone number.
    pub contact_phone: String,
    /// Their email address.
    pub contact_email: Option<String>,
    /// The weekdays deliveries are accepted (`mon` .. `sun`).
    pub delivery_days: Vec<String>,
    /// Whether the operator approved it.
    pub status: LocationStatus,
    /// The operator's note on approval or refusal.
    pub decision_note: Option<String>,
    /// When it was registered.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// A location to register.
#[derive(Debug, Clone, Default)]
pub struct NewLocation {
    /// A name for people.
    pub name: String,
    /// The postal address.
    pub address: String,
    /// The postcode.
    pub postcode: String,
    /// Who receives deliveries.
    pub contact_name: String,
    /// Their telephone number.
    pub contact_phone: String,
    /// Their email address.
    pub contact_email: Option<String>,
    /// Weekdays deliveries are accepted: `mon` .. `sun`.
    pub delivery_days: Vec<String>,
}

/// Changes to a location; the address or delivery days changing sends it back for approval.
#[derive(Debug, Clone, Default)]
pub struct LocationChanges {
    /// A new name.
    pub name: Option<String>,
    /// A new address.
    pub address: Option<String>,
    /// A new postcode.
    pub postcode: Option<String>,
    /// A new contact.
    pub contact_name: Option<String>,
    /// A new telephone number.
    pub contact_phone: Option<String>,
    /// A new email address, or none.
    pub contact_email: Option<Option<String>>,
    /// New delivery days.
    pub delivery_days: Option<Vec<String>>,
    /// `approved` or `rejected` (operator).
    pub status: Option<String>,
    /// The operator's note.
    pub decision_note: Option<String>,
}

/// One month and variant of a forecast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForecastLine {
    /// The month.
    pub month: Month,
    /// The variant's product code.
    pub variant: String,
    /// The variant's region.
    pub region: Region,
    /// Hubs needed.
    pub quantity: i64,
}

/// How one month and variant changed from the previous version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForecastChange {
    /// The month.
    pub month: Month,
    /// The variant's product code.
    pub variant: String,
    /// The previous quantity, if the month and variant were forecast.
    pub from: Option<i64>,
    /// The new quantity, if still forecast.
    pub to: Option<i64>,
}

/// One submitted version of an organisation's rolling forecast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forecast {
    /// Its id.
    pub id: i64,
    /// The organisation.
    pub organisation_id: i64,
    /// The organisation's name.
    pub organisation_name: String,
    /// Its version: 1 for the organisation's first forecast, then 2, 3 ...
    pub sequence: i64,
    /// The month whose forecast it is (the month it was submitted in).
    pub cycle_month: Month,
    /// When that month's forecast was due.
    pub due_on: NaiveDate,
    /// Submitted after the due day with no earlier submission that month.
    pub late: bool,
    /// Who submitted it.
    pub submitted_by: Party,
    /// When.
    pub submitted_at: NaiveDateTime,
    /// What it forecasts.
    pub lines: Vec<ForecastLine>,
    /// What changed from the previous version.
    pub changes: Vec<ForecastChange>,
}

/// A forecast line as submitted.
#[derive(Debug, Clone, Default)]
pub struct NewForecastLine {
    /// `YYYY-MM`.
    pub month: String,
    /// A product code.
    pub variant: String,
    /// The variant's region, if stated (must agree).
    pub region: Option<String>,
    /// Hubs needed.
    pub quantity: i64,
}

/// The forecast in force for a month: the latest submitted before the month's order cut-off
/// (or before now, while the cut-off is still ahead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForecastInForce {
    /// The organisation.
    pub organisation_id: i64,
    /// The month.
    pub month: Month,
    /// The month's order cut-off.
    pub cutoff: NaiveDate,
    /// The forecast in force, if any: its id and version.
    pub forecast: Option<(i64, i64)>,
    /// Its lines for the month.
    pub lines: Vec<ForecastLine>,
}

/// Whether an organisation forecast on time for one monthly cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForecastCompliance {
    /// The organisation.
    pub organisation_id: i64,
    /// Its name.
    pub organisation_name: String,
    /// The cycle.
    pub cycle_month: Month,
    /// The due day.
    pub due_on: NaiveDate,
    /// The first submission in the cycle.
    pub first_submitted_at: Option<NaiveDateTime>,
    /// On time, late, missing or not yet due.
    pub status: ComplianceStatus,
}

/// A shortage, excess or damage the receiver reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discrepancy {
    /// Its id.
    pub id: i64,
    /// `shortage`, `excess` or `damage`.
    pub kind: String,
    /// The serials concerned.
    pub serials: Vec<String>,
    /// How many hubs.
    pub quantity: i64,
    /// `open` until the operator settles it.
    pub status: String,
    /// When it was reported.
    pub created_at: NaiveDateTime,
}

/// One delivery of an order's hubs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consignment {
    /// Its id.
    pub id: i64,
    /// The order.
    pub order_id: i64,
    /// The delivery date, inside the delivery month.
    pub delivery_date: NaiveDate,
    /// Hubs in it.
    pub quantity: i64,
    /// `dispatched`, `delivered` or `discrepancy`.
    pub status: String,
    /// The last day the receiver may confirm it.
    pub confirmation_due_on: NaiveDate,
    /// When the receiver confirmed it.
    pub confirmed_at: Option<NaiveDateTime>,
    /// Who confirmed it.
    pub confirmed_by: Option<String>,
    /// The receiver's notes.
    pub notes: Option<String>,
    /// When the confirmation window lapsed unconfirmed and the delivery was deemed accepted.
    pub deemed_accepted_at: Option<NaiveDateTime>,
    /// What the receiver reported missing, extra or damaged.
    pub discrepancies: Vec<Discrepancy>,
    /// When it was dispatched.
    pub created_at: NaiveDateTime,
}

/// A hub order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubOrder {
    /// Its id.
    pub id: i64,
    /// `ORD` and seven or more digits.
    pub reference: String,
    /// The ordering organisation.
    pub organisation_id: i64,
    /// Its name.
    pub organisation_name: String,
    /// The delivery location.
    pub location_id: i64,
    /// Its name.
    pub location_name: String,
    /// The variant's product code.
    pub variant: String,
    /// The variant's region.
    pub region: Region,
    /// The delivery month.
    pub delivery_month: Month,
    /// Hubs ordered.
    pub quantity: i64,
    /// Where it stands.
    pub status: OrderStatus,
    /// The rule set it was last judged by (its effective date).
    pub rules_effective_from: NaiveDate,
    /// The order cut-off: amendments and cancellations end the day before.
    pub cutoff: NaiveDate,
    /// The forecast in force it was judged against.
    pub forecast_id: Option<i64>,
    /// The operator's reason for rejecting it.
    pub decision_reason: Option<String>,
    /// Who placed it.
    pub placed_by: Party,
    /// Hubs dispatched so far.
    pub dispatched_quantity: i64,
    /// Its consignments.
    pub consignments: Vec<Consignment>,
    /// When it was placed.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// An order to place.
#[derive(Debug, Clone, Default)]
pub struct NewOrder {
    /// `YYYY-MM`.
    pub delivery_month: String,
    /// An approved location of the caller's organisation.
    pub location_id: i64,
    /// A product code.
    pub variant: String,
    /// Hubs.
    pub quantity: i64,
}

/// Changes to an order: an amended quantity, or a status (cancel; accept or reject for the
/// operator, with a reason to reject).
#[derive(Debug, Clone, Default)]
pub struct OrderChanges {
    /// A new quantity (an amendment).
    pub quantity: Option<i64>,
    /// A new status.
    pub status: Option<String>,
    /// Why (required to reject).
    pub reason: Option<String>,
}

/// One row of a bulk upload naming a serial number, with where it came from for errors
/// (`serials[3]`, `rows[17].serial`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialRow {
    /// The field path errors name.
    pub field: String,
    /// The serial as sent.
    pub serial: String,
}

/// A consignment to dispatch.
#[derive(Debug, Clone, Default)]
pub struct NewConsignment {
    /// `YYYY-MM-DD`, inside the delivery month, on one of the location's delivery days.
    pub delivery_date: String,
    /// The hubs in it.
    pub serials: Vec<SerialRow>,
}

/// The receiver's confirmation of a consignment.
#[derive(Debug, Clone, Default)]
pub struct Confirmation {
    /// Serials listed but not received (a shortage).
    pub missing: Vec<String>,
    /// Serials received damaged.
    pub damaged: Vec<String>,
    /// Serials received but not listed (excess).
    pub excess: Vec<String>,
    /// Notes.
    pub notes: Option<String>,
}

/// A returned hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnLine {
    /// Its serial.
    pub serial: String,
    /// Its variant's product code.
    pub variant: String,
    /// Why it is returned.
    pub reason: ReturnReason,
    /// A faulty reason.
    pub faulty: bool,
    /// When the fault was found (faulty reasons).
    pub found: Option<FaultFound>,
    /// The analysis confirmed the fault.
    pub fault_confirmed: Option<bool>,
    /// The analysis found it fit to redeploy.
    pub redeployable: Option<bool>,
    /// `charge` or `credit`, once analysed.
    pub settlement: Option<String>,
    /// The amount charged or credited, pence.
    pub amount_pence: Option<i64>,
}

/// A hub return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubReturn {
    /// Its id.
    pub id: i64,
    /// `RET` and seven or more digits.
    pub reference: String,
    /// The returning organisation.
    pub organisation_id: i64,
    /// Its name.
    pub organisation_name: String,
    /// Where it stands.
    pub status: ReturnStatus,
    /// The incident that reported the fault.
    pub incident_id: Option<i64>,
    /// Hubs returned.
    pub quantity: i64,
    /// How many hubs per reason.
    pub reasons: Vec<(ReturnReason, i64)>,
    /// Charged in total, pence, once analysed.
    pub charge_pence: Option<i64>,
    /// Credited in total, pence, once analysed.
    pub credit_pence: Option<i64>,
    /// Notes.
    pub notes: Option<String>,
    /// Who asked for it.
    pub requested_by: Party,
    /// When.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// One row of a return request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReturnRow {
    /// The row's path for errors (`lines[3]`, `rows[17]`).
    pub at: String,
    /// The serial.
    pub serial: String,
    /// A [`ReturnReason`] name.
    pub reason: String,
    /// A [`FaultFound`] name (faulty reasons only).
    pub found: Option<String>,
}

/// A return to request.
#[derive(Debug, Clone, Default)]
pub struct NewReturn {
    /// The hubs.
    pub rows: Vec<ReturnRow>,
    /// The incident that reported the fault (faulty returns).
    pub incident_id: Option<i64>,
    /// Notes.
    pub notes: Option<String>,
}

/// One hub's analysis, where it differs from the return's.
#[derive(Debug, Clone, Default)]
pub struct LineAnalysis {
    /// The serial.
    pub serial: String,
    /// The fault was confirmed.
    pub fault_confirmed: bool,
    /// It can be redeployed.
    pub redeployable: bool,
}

/// The outcome of analysing a return.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// For every hub not listed in `exceptions`: the fault was confirmed.
    pub fault_confirmed: bool,
    /// For every hub not listed in `exceptions`: it can be redeployed.
    pub redeployable: bool,
    /// Hubs whose outcome differs.
    pub exceptions: Vec<LineAnalysis>,
    /// Notes.
    pub notes: Option<String>,
}

/// A consignment planned but not yet dispatched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedConsignment {
    /// Its id.
    pub id: i64,
    /// The delivery date, inside the delivery month, on one of the location's delivery days.
    pub delivery_date: NaiveDate,
    /// Hubs planned.
    pub quantity: i64,
    /// The last day its supplier may move or resize it.
    pub amendable_until: NaiveDate,
    /// When it was planned.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
}

/// How an order's hubs are split into consignments not yet dispatched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsignmentPlan {
    /// The order.
    pub order_id: i64,
    /// Its reference.
    pub order_reference: String,
    /// Hubs ordered.
    pub quantity: i64,
    /// Hubs dispatched so far.
    pub dispatched_quantity: i64,
    /// The consignments still to dispatch, by delivery date.
    pub consignments: Vec<PlannedConsignment>,
    /// The order's version, which every change of plan advances.
    pub version: i64,
}

/// One consignment of an amended plan: an existing one by id, or a new one.
#[derive(Debug, Clone, Default)]
pub struct PlanLine {
    /// An existing planned consignment's id; none for a new one.
    pub id: Option<i64>,
    /// `YYYY-MM-DD`.
    pub delivery_date: String,
    /// Hubs.
    pub quantity: i64,
}

/// The advance shipment notice of a dispatched consignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentNotice {
    /// The consignment.
    pub consignment_id: i64,
    /// The order's id.
    pub order_id: i64,
    /// The order's reference.
    pub order_reference: String,
    /// The receiving organisation.
    pub organisation_name: String,
    /// The delivery location's name.
    pub location_name: String,
    /// Its address.
    pub location_address: String,
    /// Its postcode.
    pub location_postcode: String,
    /// The delivery date.
    pub delivery_date: NaiveDate,
    /// The variant's product code.
    pub variant: String,
    /// Hubs in the consignment.
    pub quantity: i64,
    /// When it was dispatched.
    pub dispatched_at: NaiveDateTime,
    /// Every hub's serial, in order.
    pub serials: Vec<String>,
}

/// A shortage, excess or damage case the operator investigates and settles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscrepancyCase {
    /// Its id.
    pub id: i64,
    /// The order.
    pub order_id: i64,
    /// Its reference.
    pub order_reference: String,
    /// The ordering organisation.
    pub organisation_id: i64,
    /// The consignment it was first reported on.
    pub consignment_id: i64,
    /// `shortage`, `excess` or `damage`.
    pub kind: String,
    /// The serials concerned.
    pub serials: Vec<String>,
    /// How many hubs.
    pub quantity: i64,
    /// Where it stands.
    pub status: DiscrepancyStatus,
    /// How it was settled.
    pub outcome: Option<DiscrepancyOutcome>,
    /// The operator's note on settling or rejecting it.
    pub settlement_note: Option<String>,
    /// When it was settled or rejected.
    pub settled_at: Option<NaiveDateTime>,
    /// Who settled or rejected it.
    pub settled_by: Option<String>,
    /// When it was reported.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// The operator's change to a discrepancy case.
#[derive(Debug, Clone, Default)]
pub struct DiscrepancyChanges {
    /// `investigating`, `settled` or `rejected`.
    pub status: String,
    /// A [`DiscrepancyOutcome`] name (required to settle).
    pub outcome: Option<String>,
    /// Why (required to settle or reject).
    pub note: Option<String>,
}

/// What can go wrong with hubs, in terms callers branch on.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The input broke the rules; each field (and rule) is named.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// No such record, or not visible to the caller.
    #[error("not found")]
    NotFound,
    /// The caller may not do this.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// A status change the lifecycle does not allow for this caller.
    #[error("{detail}")]
    Transition {
        /// What was refused.
        detail: String,
        /// The statuses the caller may move it to.
        allowed: Vec<String>,
    },
    /// A window has closed: the action came too late.
    #[error("{detail}")]
    WindowClosed {
        /// What was refused and why.
        detail: String,
        /// The last day the action was allowed.
        closed_on: NaiveDate,
    },
    /// `If-Match` named a stale version.
    #[error("the record has changed since version {0}; fetch it again")]
    VersionMismatch(i64),
    /// The same `Idempotency-Key` came with a different request.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyMismatch,
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for HubError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            other => Self::Store(other),
        }
    }
}

impl From<dsms_core::FieldError> for HubError {
    fn from(error: dsms_core::FieldError) -> Self {
        Self::Invalid(error.into())
    }
}
