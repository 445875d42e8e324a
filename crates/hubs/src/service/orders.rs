//! Orders: placed per delivery month, location and variant and judged against every rule of
//! the rule set in force (each rule broken is named); accepted or rejected by the operator;
//! amended or cancelled by the supplier until the cut-off; dispatched in consignments of
//! serial-numbered hubs; delivered once the receiver has confirmed every consignment.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use dsms_core::{Page, PageRequest, Permission, Principal, ValidationErrors};
use dsms_store::audit::{AuditEntry, Changes};
use dsms_store::idempotency::{Created, Idempotent};
use dsms_store::{DbConnection, StoreError, timestamp};
use serde_json::{Value, json};

use super::reference::delivers_on;
use super::{Hubs, date, emit, optional_text, party, record, resolve_key};
use crate::auxiliary::NewAuxiliaryLine;
use crate::lifecycle::{self, Mover, ORDER_TRANSITIONS, OrderStatus};
use crate::model::{
    Confirmation, Consignment, Discrepancy, HubError, HubOrder, LocationStatus, NewConsignment,
    NewOrder, OrderChanges, Party, Region,
};
use crate::month::{HubSerial, Month, SERIAL_RULE};
use crate::rules::RuleSet;
use crate::store::{
    self, ConsignmentRow, DiscrepancyRow, OrderQuery, OrderRow, SerialRecord, VariantRow,
};

/// What a list of orders is filtered by.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// Only this organisation (operator staff).
    pub organisation_id: Option<i64>,
    /// Only these statuses.
    pub statuses: Vec<String>,
    /// Only this delivery month (`YYYY-MM`).
    pub delivery_month: Option<String>,
    /// Only this variant (product code).
    pub variant: Option<String>,
}

/// Serials checked for format and repeats, in upload order, with the fields that named them.
fn parse_serials(
    rows: &[crate::model::SerialRow],
    errors: &mut ValidationErrors,
) -> Vec<(String, String)> {
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        match HubSerial::parse(&row.serial) {
            None => errors.push(row.field.as_str(), SERIAL_RULE),
            Some(serial) => {
                if let Some(first) = seen.insert(serial.as_str().to_owned(), i) {
                    errors.push(
                        row.field.as_str(),
                        format!("repeats {} ({})", rows[first].field, serial.as_str()),
                    );
                } else {
                    out.push((row.field.clone(), serial.into_string()));
                }
            }
        }
    }
    out
}

pub(super) fn order_event(order: &HubOrder) -> Value {
    json!({
        "id": order.id.to_string(),
        "reference": order.reference,
        "status": order.status.as_str(),
        "delivery_month": order.delivery_month.to_string(),
        "variant": order.variant,
        "quantity": order.quantity,
        "dispatched_quantity": order.dispatched_quantity,
        "location_id": order.location_id.to_string(),
        "version": order.version,
    })
}

impl Hubs {
    /// Checks the total ordered for a month and variant against the forecast in force; returns
    /// that forecast's id.
    #[allow(clippy::too_many_arguments)]
    fn check_tolerance(
        &self,
        conn: &mut DbConnection,
        rules: &RuleSet,
        organisation_id: i64,
        month: Month,
        variant: &VariantRow,
        quantity: i64,
        except: i64,
        now: DateTime<Utc>,
        errors: &mut ValidationErrors,
    ) -> Result<Option<i64>, StoreError> {
        let before = self.forecast_horizon_instant(month, timestamp(now));
        let Some(forecast) = store::forecast_before(conn, organisation_id, before)? else {
            errors.push(
                "quantity",
                format!(
                    "forecast tolerance: there is no forecast in force for {month}; submit a forecast covering it first"
                ),
            );
            return Ok(None);
        };
        let forecast_quantity = store::forecast_lines(conn, forecast.id)?
            .iter()
            .find(|l| l.month == month.to_string() && l.variant_id == variant.id)
            .map_or(0, |l| l.quantity);
        let total = store::ordered_total(
            conn,
            organisation_id,
            &month.to_string(),
            variant.id,
            except,
        )? + quantity;
        let (low, high) = rules.tolerance(forecast_quantity);
        if total < low || total > high {
            errors.push(
                "quantity",
                format!(
                    "forecast tolerance: orders for {} in {month} would total {total}, outside {}%-{}% of the forecast in force ({forecast_quantity}, version {}): {low} to {high} allowed",
                    variant.product_code,
                    rules.tolerance_min_percent,
                    rules.tolerance_max_percent,
                    forecast.sequence
                ),
            );
        }
        Ok(Some(forecast.id))
    }

    /// Places an order for the caller's organisation, judged against every rule in force; a
    /// refused order names each rule it breaks.
    pub fn place_order(
        &self,
        principal: &Principal,
        new: NewOrder,
        idempotent: Option<Idempotent<HubOrder>>,
        request_id: Option<&str>,
    ) -> Result<Created<HubOrder>, HubError> {
        self.place_order_with(principal, new, &[], idempotent, request_id)
    }

    /// Places an order with `auxiliary` items on it, judged with it in one transaction.
    pub(super) fn place_order_with(
        &self,
        principal: &Principal,
        new: NewOrder,
        auxiliary: &[NewAuxiliaryLine],
        idempotent: Option<Idempotent<HubOrder>>,
        request_id: Option<&str>,
    ) -> Result<Created<HubOrder>, HubError> {
        principal.require(Permission::OrderHubs, "order hubs")?;
        let (kind, actor_id) = party(principal)?;
        let now = self.now();
        let (rules, today) = self.in_force(now);
        let organisation_id = principal.organisation_id;
        self.create(now, idempotent, |conn| {
            let mut errors = ValidationErrors::default();
            let month = Month::parse(&new.delivery_month);
            if month.is_none() {
                errors.push("delivery_month", "must be a month such as 2027-05");
            }
            let variants = store::variants(conn)?;
            let variant = variants
                .iter()
                .find(|v| v.product_code.eq_ignore_ascii_case(new.variant.trim()));
            match variant {
                None => errors.push("variant", "is not a known hub variant product code"),
                Some(v) if !v.active => errors.push("variant", "has been withdrawn and cannot be ordered"),
                Some(_) => {}
            }
            match store::location_visible(conn, principal, new.location_id) {
                Ok(l) if l.organisation_id != organisation_id => errors.push(
                    "location_id",
                    "is not a delivery location of your organisation",
                ),
                Ok(l) if l.status != LocationStatus::Approved.as_str() => errors.push(
                    "location_id",
                    format!(
                        "approved delivery location: the operator must approve this location before orders may use it (it is {})",
                        l.status
                    ),
                ),
                Ok(_) => {}
                Err(StoreError::NotFound) => errors.push(
                    "location_id",
                    "is not a delivery location of your organisation",
                ),
                Err(e) => return Err(e.into()),
            }
            if let Some(m) = month {
                let deadline = rules.order_deadline(m);
                if today > deadline {
                    errors.push(
                        "delivery_month",
                        format!(
                            "lead time: orders for {m} had to be placed by {deadline}, {} months before the delivery month",
                            rules.order_lead_time_months
                        ),
                    );
                }
                let end = rules.horizon_end(today);
                if m > end {
                    errors.push(
                        "delivery_month",
                        format!(
                            "order window: must be no later than {end}, the end of the {}-month forecast horizon",
                            rules.forecast_horizon_months
                        ),
                    );
                }
            }
            rules.check_quantity("quantity", new.quantity, &mut errors);
            let auxiliary = Self::check_auxiliary_lines(conn, month, auxiliary, &mut errors)?;
            let mut forecast_id = None;
            if let (Some(m), Some(v)) = (month, variant) {
                forecast_id = self.check_tolerance(
                    conn, rules, organisation_id, m, v, new.quantity, 0, now, &mut errors,
                )?;
            }
            errors.into_result()?;
            let (Some(month), Some(variant)) = (month, variant) else {
                return Err(ValidationErrors::default().into());
            };
            let stamp = timestamp(now);
            let row = OrderRow {
                id: 0,
                reference: format!("pending:{kind}:{actor_id}:{}", stamp.and_utc().timestamp_micros()),
                organisation_id,
                location_id: new.location_id,
                variant_id: variant.id,
                delivery_month: month.to_string(),
                quantity: new.quantity,
                status: OrderStatus::Submitted.as_str().to_owned(),
                rules_effective_from: rules.effective_from.to_string(),
                forecast_id,
                decision_reason: None,
                placed_by_kind: kind.to_owned(),
                placed_by_id: actor_id,
                placed_by_name: principal.display_name.clone(),
                created_at: stamp,
                updated_at: stamp,
                version: 1,
            };
            let id = store::insert_order(conn, &row)?;
            record(
                conn,
                now,
                principal,
                Some(organisation_id),
                "hub_order.submitted",
                "hub_order",
                id,
                Changes::new()
                    .created("reference", store::order_reference(id))
                    .created("delivery_month", row.delivery_month.as_str())
                    .created("variant", variant.product_code.as_str())
                    .created("location_id", row.location_id)
                    .created("quantity", row.quantity)
                    .created("status", row.status.as_str())
                    .created("rules_effective_from", row.rules_effective_from.as_str()),
                request_id,
            )?;
            Self::record_placed_auxiliary(conn, now, principal, (id, organisation_id), &auxiliary, request_id)?;
            let placed = store::order_visible(conn, principal, id)?;
            let order = self.assemble_order(conn, placed, now)?;
            emit(conn, now, "hub_order.submitted", organisation_id, "hub_order", order_event(&order))?;
            Ok(order)
        })
    }

    pub(super) fn assemble_order(
        &self,
        conn: &mut DbConnection,
        row: OrderRow,
        now: DateTime<Utc>,
    ) -> Result<HubOrder, StoreError> {
        let (rules, _) = self.in_force(now);
        let variant = store::variant(conn, row.variant_id)?;
        let location = store::location_by_id(conn, row.location_id)?;
        let discrepancies = store::discrepancies_of(conn, &[row.id])?;
        let consignments: Vec<Consignment> = store::consignments_of(conn, &[row.id])?
            .into_iter()
            .map(|c| self.consignment_of(c, rules, &discrepancies))
            .collect();
        let month = Month::parse(&row.delivery_month).unwrap_or(Month::of(NaiveDate::MIN));
        Ok(HubOrder {
            id: row.id,
            reference: row.reference,
            organisation_id: row.organisation_id,
            organisation_name: store::organisation_name(conn, row.organisation_id)?,
            location_id: row.location_id,
            location_name: location.name,
            variant: variant.product_code,
            region: Region::parse(&variant.region).unwrap_or(Region::Central),
            delivery_month: month,
            quantity: row.quantity,
            status: OrderStatus::parse(&row.status).unwrap_or(OrderStatus::Submitted),
            rules_effective_from: date(&row.rules_effective_from),
            cutoff: rules.cutoff(month),
            forecast_id: row.forecast_id,
            decision_reason: row.decision_reason,
            placed_by: Party {
                kind: row.placed_by_kind,
                id: row.placed_by_id,
                name: row.placed_by_name,
            },
            dispatched_quantity: consignments.iter().map(|c| c.quantity).sum(),
            consignments,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        })
    }

    fn consignment_of(
        &self,
        c: ConsignmentRow,
        rules: &RuleSet,
        discrepancies: &[DiscrepancyRow],
    ) -> Consignment {
        let delivery_date = date(&c.delivery_date);
        Consignment {
            id: c.id,
            order_id: c.order_id,
            delivery_date,
            quantity: c.quantity,
            status: c.status,
            confirmation_due_on: self
                .rules()
                .confirmation_deadline(delivery_date, rules.confirmation_window_working_days),
            confirmed_at: c.confirmed_at,
            confirmed_by: c.confirmed_by_name,
            notes: c.notes,
            deemed_accepted_at: c.deemed_accepted_at,
            discrepancies: discrepancies
                .iter()
                .filter(|d| d.consignment_id == c.id)
                .map(|d| Discrepancy {
                    id: d.id,
                    kind: d.kind.clone(),
                    serials: d.serials.split_whitespace().map(str::to_owned).collect(),
                    quantity: d.quantity,
                    status: d.status.clone(),
                    created_at: d.created_at,
                })
                .collect(),
            created_at: c.created_at,
        }
    }

    /// One order by id or reference, if the caller may see it.
    pub fn order(&self, principal: &Principal, key: &str) -> Result<HubOrder, HubError> {
        principal.require(Permission::ViewHubs, "see hub orders")?;
        let id = resolve_key(key, "ORD")?;
        let now = self.now();
        Ok(self.db().read_blocking(|conn| {
            let row = store::order_visible(conn, principal, id)?;
            self.assemble_order(conn, row, now)
        })?)
    }

    /// One page of the orders the caller may see, oldest first.
    pub fn orders(
        &self,
        principal: &Principal,
        filter: &OrderFilter,
        page: PageRequest,
    ) -> Result<Page<HubOrder>, HubError> {
        principal.require(Permission::ViewHubs, "see hub orders")?;
        let mut errors = ValidationErrors::default();
        for s in &filter.statuses {
            if OrderStatus::parse(s).is_none() {
                errors.push("status", format!("must be one of {}", OrderStatus::names()));
            }
        }
        if let Some(m) = &filter.delivery_month
            && Month::parse(m).is_none()
        {
            errors.push("delivery_month", "must be a month such as 2027-05");
        }
        errors.into_result()?;
        let now = self.now();
        Ok(self.db().read_blocking(|conn| {
            let variant_id = match &filter.variant {
                Some(code) => Some(
                    store::variants(conn)?
                        .into_iter()
                        .find(|v| v.product_code.eq_ignore_ascii_case(code.trim()))
                        .map_or(-1, |v| v.id),
                ),
                None => None,
            };
            let query = OrderQuery {
                organisation_id: filter.organisation_id,
                statuses: filter.statuses.clone(),
                delivery_month: filter.delivery_month.clone(),
                variant_id,
            };
            let rows = store::orders(conn, principal, &query, page)?;
            let page = Page::from_rows(rows, page, |r| r.id);
            let mut items = Vec::with_capacity(page.items.len());
            for row in page.items {
                items.push(self.assemble_order(conn, row, now)?);
            }
            Ok::<_, StoreError>(Page {
                items,
                next_cursor: page.next_cursor,
            })
        })?)
    }

    /// Who the caller is to an order of `organisation_id`.
    pub(super) fn order_mover(principal: &Principal, organisation_id: i64) -> Option<Mover> {
        if principal.can(Permission::ManageHubs) {
            Some(Mover::Operator)
        } else if principal.organisation_id == organisation_id
            && principal.can(Permission::OrderHubs)
        {
            Some(Mover::Supplier)
        } else {
            None
        }
    }

    /// Changes an order: the supplier amends the quantity or cancels (until the cut-off); the
    /// operator accepts or rejects (with a reason). Honours `expected` (If-Match).
    pub fn update_order(
        &self,
        principal: &Principal,
        key: &str,
        expected: Option<i64>,
        changes: OrderChanges,
        request_id: Option<&str>,
    ) -> Result<HubOrder, HubError> {
        principal.require(Permission::ViewHubs, "see hub orders")?;
        let id = resolve_key(key, "ORD")?;
        let now = self.now();
        let (rules, today) = self.in_force(now);
        self.db().write_blocking(|conn| {
            let before = store::order_visible(conn, principal, id)?;
            let mover = Self::order_mover(principal, before.organisation_id)
                .ok_or_else(|| super::forbidden("change hub orders"))?;
            if expected.is_some_and(|v| v != before.version) {
                return Err(HubError::VersionMismatch(before.version));
            }
            let from = OrderStatus::parse(&before.status).unwrap_or(OrderStatus::Submitted);
            let mut errors = ValidationErrors::default();
            let asked = match changes.status.as_deref().map(str::trim) {
                None => None,
                Some(s) => match OrderStatus::parse(s) {
                    Some(s) => Some(s),
                    None => {
                        errors.push("status", format!("must be one of {}", OrderStatus::names()));
                        None
                    }
                },
            };
            let to = match (changes.quantity, asked) {
                (Some(_), None | Some(OrderStatus::Amended)) => OrderStatus::Amended,
                (Some(_), Some(_)) => {
                    errors.push("status", "send a quantity to amend, or a status, not both");
                    from
                }
                (None, Some(s)) => s,
                (None, None) => {
                    std::mem::take(&mut errors).into_result()?;
                    return Err(dsms_core::FieldError::new(
                        "body",
                        "send a new quantity (amend) or status (cancel, accept, reject)",
                    )
                    .into());
                }
            };
            std::mem::take(&mut errors).into_result()?;
            if !lifecycle::may(ORDER_TRANSITIONS, from, to, mover) {
                let allowed = lifecycle::allowed(ORDER_TRANSITIONS, from, mover);
                return Err(HubError::Transition {
                    detail: format!("an order that is {from} cannot become {to} by you"),
                    allowed: allowed.iter().map(|s| s.as_str().to_owned()).collect(),
                });
            }
            let month = Month::parse(&before.delivery_month).unwrap_or(Month::of(today));
            let mut row = before.clone();
            if mover == Mover::Supplier {
                let cutoff = rules.cutoff(month);
                if today >= cutoff {
                    errors.push(
                        if changes.quantity.is_some() { "quantity" } else { "status" },
                        format!(
                            "amendment cut-off: orders for {month} became firm on {cutoff}, {} months before the delivery month, and can no longer be amended or cancelled",
                            rules.amendment_cutoff_months
                        ),
                    );
                }
            }
            if let Some(quantity) = changes.quantity {
                rules.check_quantity("quantity", quantity, &mut errors);
                let variant = store::variant(conn, before.variant_id)?;
                row.forecast_id = self.check_tolerance(
                    conn, rules, before.organisation_id, month, &variant, quantity, id, now,
                    &mut errors,
                )?;
                row.quantity = quantity;
                row.rules_effective_from = rules.effective_from.to_string();
            }
            if to == OrderStatus::Rejected {
                row.decision_reason = optional_text("reason", changes.reason.clone(), 2000, &mut errors);
                if row.decision_reason.is_none() {
                    errors.push("reason", "must say why the order is rejected");
                }
            }
            errors.into_result()?;
            row.status = to.as_str().to_owned();
            row.updated_at = timestamp(now);
            row.version += 1;
            if !store::update_order(conn, &row, before.version)? {
                return Err(HubError::VersionMismatch(before.version));
            }
            let action = format!("hub_order.{to}");
            let opt = |v: &Option<String>| v.clone().map_or(Value::Null, Value::from);
            record(
                conn,
                now,
                principal,
                Some(row.organisation_id),
                &action,
                "hub_order",
                id,
                Changes::new()
                    .field("status", before.status.as_str(), row.status.as_str())
                    .field("quantity", before.quantity, row.quantity)
                    .field("decision_reason", opt(&before.decision_reason), opt(&row.decision_reason)),
                request_id,
            )?;
            let order = self.assemble_order(conn, row, now)?;
            emit(conn, now, &action, order.organisation_id, "hub_order", order_event(&order))?;
            Ok(order)
        })
    }

    /// Dispatches a consignment of an accepted order (operator): serial-numbered hubs on a
    /// delivery date inside the delivery month, on one of the location's delivery days. Every
    /// serial is checked and every fault named at once.
    pub fn dispatch(
        &self,
        principal: &Principal,
        key: &str,
        new: NewConsignment,
        idempotent: Option<Idempotent<Consignment>>,
        request_id: Option<&str>,
    ) -> Result<Created<Consignment>, HubError> {
        principal.require(Permission::ViewHubs, "see hub orders")?;
        let id = resolve_key(key, "ORD")?;
        let now = self.now();
        let (rules, _) = self.in_force(now);
        self.create(now, idempotent, |conn| {
            let before = store::order_visible(conn, principal, id)?;
            if !principal.can(Permission::ManageHubs) {
                return Err(super::forbidden("dispatch hub orders (the operator does)"));
            }
            let from = OrderStatus::parse(&before.status).unwrap_or(OrderStatus::Submitted);
            if !matches!(from, OrderStatus::Accepted | OrderStatus::Dispatched) {
                return Err(HubError::Transition {
                    detail: format!(
                        "an order that is {from} cannot be dispatched; accept it first"
                    ),
                    allowed: lifecycle::allowed(ORDER_TRANSITIONS, from, Mover::Operator)
                        .iter()
                        .map(|s| s.as_str().to_owned())
                        .collect(),
                });
            }
            let mut errors = ValidationErrors::default();
            let month = Month::parse(&before.delivery_month).unwrap_or(Month::of(NaiveDate::MIN));
            let location = store::location_by_id(conn, before.location_id)?;
            let delivery_date =
                NaiveDate::parse_from_str(new.delivery_date.trim(), "%Y-%m-%d").ok();
            match delivery_date {
                None => errors.push("delivery_date", "must be a date such as 2027-05-12"),
                Some(d) if !month.contains(d) => errors.push(
                    "delivery_date",
                    format!("delivery month: must be inside the order's delivery month {month}"),
                ),
                Some(d) if !delivers_on(&location.delivery_days, d.weekday()) => errors.push(
                    "delivery_date",
                    format!(
                        "delivery days: {} accepts deliveries only on {}",
                        location.name,
                        location.delivery_days.replace(' ', ", ")
                    ),
                ),
                Some(_) => {}
            }
            if new.serials.is_empty() {
                errors.push("serials", "must list the consignment's hub serial numbers");
            }
            let serials = parse_serials(&new.serials, &mut errors);
            let dispatched: i64 = store::consignments_of(conn, &[id])?
                .iter()
                .map(|c| c.quantity)
                .sum();
            let count = new.serials.len() as i64;
            if dispatched + count > before.quantity {
                errors.push(
                    "serials",
                    format!(
                        "the order has {} hubs left to dispatch; this consignment lists {count}",
                        before.quantity - dispatched
                    ),
                );
            }
            let plain: Vec<String> = serials.iter().map(|(_, s)| s.clone()).collect();
            let known = store::known_serials(conn, &plain)?;
            for (field, serial) in &serials {
                if known.contains(serial) {
                    errors.push(field.as_str(), format!("{serial} was already dispatched"));
                }
            }
            errors.into_result()?;
            let Some(delivery_date) = delivery_date else {
                return Err(ValidationErrors::default().into());
            };
            let stamp = timestamp(now);
            let mut consignment = ConsignmentRow {
                id: 0,
                order_id: id,
                delivery_date: delivery_date.to_string(),
                quantity: count,
                status: "dispatched".to_owned(),
                confirmed_at: None,
                confirmed_by_name: None,
                notes: None,
                created_at: stamp,
                deemed_accepted_at: None,
            };
            consignment.id = store::insert_consignment(conn, &consignment)?;
            Self::consume_plan(conn, id, delivery_date, count, stamp)?;
            let records: Vec<SerialRecord> = plain
                .into_iter()
                .map(|serial| SerialRecord {
                    serial,
                    variant_id: before.variant_id,
                    organisation_id: before.organisation_id,
                    order_id: id,
                    consignment_id: consignment.id,
                    status: "dispatched".to_owned(),
                })
                .collect();
            store::insert_serials(conn, &records)?;
            let mut row = before.clone();
            row.status = OrderStatus::Dispatched.as_str().to_owned();
            row.updated_at = stamp;
            row.version += 1;
            if !store::update_order(conn, &row, before.version)? {
                return Err(HubError::VersionMismatch(before.version));
            }
            record(
                conn,
                now,
                principal,
                Some(row.organisation_id),
                "hub_order.dispatched",
                "hub_order",
                id,
                Changes::new()
                    .field("status", before.status.as_str(), row.status.as_str())
                    .field("dispatched_quantity", dispatched, dispatched + count)
                    .created("consignment_id", consignment.id)
                    .created("delivery_date", consignment.delivery_date.as_str()),
                request_id,
            )?;
            let order = self.assemble_order(conn, row, now)?;
            emit(
                conn,
                now,
                "hub_order.dispatched",
                order.organisation_id,
                "hub_order",
                order_event(&order),
            )?;
            Ok(self.consignment_of(consignment, rules, &[]))
        })
    }

    /// One consignment of an order with its hubs' serials and their state (the advance
    /// shipment notice).
    pub fn consignment(
        &self,
        principal: &Principal,
        key: &str,
        consignment_id: i64,
    ) -> Result<(Consignment, Vec<(String, String)>), HubError> {
        principal.require(Permission::ViewHubs, "see hub orders")?;
        let id = resolve_key(key, "ORD")?;
        let now = self.now();
        let (rules, _) = self.in_force(now);
        Ok(self.db().read_blocking(|conn| {
            store::order_visible(conn, principal, id)?;
            let row = store::consignments_of(conn, &[id])?
                .into_iter()
                .find(|c| c.id == consignment_id)
                .ok_or(StoreError::NotFound)?;
            let discrepancies = store::discrepancies_of(conn, &[id])?;
            let serials = store::consignment_serials(conn, consignment_id)?;
            Ok::<_, StoreError>((self.consignment_of(row, rules, &discrepancies), serials))
        })?)
    }

    /// The receiver confirms a consignment within the confirmation window, reporting hubs
    /// missing, damaged or in excess; each kind reported opens a discrepancy case. Once every
    /// hub is dispatched and every consignment confirmed, the order is delivered.
    pub fn confirm_delivery(
        &self,
        principal: &Principal,
        key: &str,
        consignment_id: i64,
        confirmation: Confirmation,
        request_id: Option<&str>,
    ) -> Result<HubOrder, HubError> {
        principal.require(Permission::ViewHubs, "see hub orders")?;
        let id = resolve_key(key, "ORD")?;
        let now = self.now();
        let (rules, today) = self.in_force(now);
        self.db().write_blocking(|conn| {
            let before = store::order_visible(conn, principal, id)?;
            if Self::order_mover(principal, before.organisation_id) != Some(Mover::Supplier) {
                return Err(super::forbidden("confirm deliveries (the receiving organisation does)"));
            }
            let consignments = store::consignments_of(conn, &[id])?;
            let mut consignment = consignments
                .iter()
                .find(|c| c.id == consignment_id)
                .cloned()
                .ok_or(HubError::NotFound)?;
            let delivered_on = date(&consignment.delivery_date);
            let deadline = self
                .rules()
                .confirmation_deadline(delivered_on, rules.confirmation_window_working_days);
            if consignment.deemed_accepted_at.is_some()
                || (consignment.status == "dispatched" && today > deadline)
            {
                return Err(HubError::WindowClosed {
                    detail: format!(
                        "confirmation window: deliveries are confirmed within {} working days; this one closed on {deadline} and the delivery is deemed accepted",
                        rules.confirmation_window_working_days
                    ),
                    closed_on: deadline,
                });
            }
            if consignment.status != "dispatched" {
                return Err(HubError::Transition {
                    detail: "this consignment has already been confirmed".into(),
                    allowed: Vec::new(),
                });
            }
            let mut errors = ValidationErrors::default();
            if today < delivered_on {
                errors.push(
                    "confirmation",
                    format!("cannot be confirmed before the delivery date {delivered_on}"),
                );
            }
            let listed: HashSet<String> = store::consignment_serials(conn, consignment_id)?
                .into_iter()
                .map(|(s, _)| s)
                .collect();
            let mut check = |name: &str, values: &[String], in_consignment: bool| {
                let mut out = Vec::new();
                for (i, raw) in values.iter().enumerate() {
                    let field = format!("{name}[{i}]");
                    match HubSerial::parse(raw) {
                        None => errors.push(field, SERIAL_RULE),
                        Some(s) if listed.contains(s.as_str()) != in_consignment => errors.push(
                            field,
                            if in_consignment {
                                format!("{} is not in this consignment", s.as_str())
                            } else {
                                format!("{} is listed in this consignment, so it is not excess", s.as_str())
                            },
                        ),
                        Some(s) => out.push(s.into_string()),
                    }
                }
                out
            };
            let missing = check("missing", &confirmation.missing, true);
            let damaged = check("damaged", &confirmation.damaged, true);
            let excess = check("excess", &confirmation.excess, false);
            for (i, s) in damaged.iter().enumerate() {
                if missing.contains(s) {
                    errors.push(format!("damaged[{i}]"), format!("{s} is also reported missing"));
                }
            }
            let notes = optional_text("notes", confirmation.notes.clone(), 4000, &mut errors);
            errors.into_result()?;
            let stamp = timestamp(now);
            store::set_serial_status(conn, consignment_id, None, "delivered")?;
            store::set_serial_status(conn, consignment_id, Some(&missing), "missing")?;
            store::set_serial_status(conn, consignment_id, Some(&damaged), "damaged")?;
            let mut reported = Vec::new();
            for (kind, serials) in [("shortage", &missing), ("damage", &damaged), ("excess", &excess)] {
                if !serials.is_empty() {
                    self.report_discrepancy(
                        conn, now, principal, &before, consignment_id, kind, serials, request_id,
                    )?;
                    reported.push(kind);
                }
            }
            consignment.status = if reported.is_empty() { "delivered" } else { "discrepancy" }.to_owned();
            consignment.confirmed_at = Some(stamp);
            consignment.confirmed_by_name = Some(principal.display_name.clone());
            consignment.notes = notes;
            store::update_consignment(conn, &consignment)?;
            let all_confirmed = consignments
                .iter()
                .all(|c| c.id == consignment_id || c.status != "dispatched");
            let dispatched: i64 = consignments.iter().map(|c| c.quantity).sum();
            let mut row = before.clone();
            let from = OrderStatus::parse(&before.status).unwrap_or(OrderStatus::Dispatched);
            if all_confirmed
                && dispatched == before.quantity
                && lifecycle::may(ORDER_TRANSITIONS, from, OrderStatus::Delivered, Mover::System)
            {
                row.status = OrderStatus::Delivered.as_str().to_owned();
            }
            row.updated_at = stamp;
            row.version += 1;
            if !store::update_order(conn, &row, before.version)? {
                return Err(HubError::VersionMismatch(before.version));
            }
            record(
                conn,
                now,
                principal,
                Some(row.organisation_id),
                "hub_order.delivery_confirmed",
                "hub_order",
                id,
                Changes::new()
                    .field("status", before.status.as_str(), row.status.as_str())
                    .created("consignment_id", consignment_id)
                    .created("consignment_status", consignment.status.as_str())
                    .created("missing", missing.len() as i64)
                    .created("damaged", damaged.len() as i64)
                    .created("excess", excess.len() as i64),
                request_id,
            )?;
            let order = self.assemble_order(conn, row, now)?;
            if !reported.is_empty() {
                let mut body = order_event(&order);
                body["discrepancies"] = json!(reported);
                body["consignment_id"] = json!(consignment_id.to_string());
                emit(conn, now, "hub_order.discrepancy_reported", order.organisation_id, "hub_order", body)?;
            }
            if order.status == OrderStatus::Delivered {
                emit(conn, now, "hub_order.delivered", order.organisation_id, "hub_order", order_event(&order))?;
            }
            Ok(order)
        })
    }

    /// The history of an order, oldest first.
    pub fn order_history(
        &self,
        principal: &Principal,
        key: &str,
    ) -> Result<Vec<AuditEntry>, HubError> {
        principal.require(Permission::ViewHubs, "see hub orders")?;
        let id = resolve_key(key, "ORD")?;
        Ok(self.db().read_blocking(|conn| {
            store::order_visible(conn, principal, id)?;
            Hubs::history_of(conn, "hub_order", id)
        })?)
    }
}
