//! Delivery and acceptance: the ordering supplier plans and amends an order's consignments
//! until a cut-off before each delivery date; each dispatched consignment has an advance
//! shipment notice listing its hubs; a delivery the receiver leaves unconfirmed past the
//! confirmation window is deemed accepted, once, by the sweep; and shortages, excess and
//! damage reported at confirmation are cases the operator investigates and settles.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use dsms_core::{Actor, Page, PageRequest, Permission, Principal, ValidationErrors};
use dsms_store::audit::{self, AuditEntry, AuditEvent, Changes};
use dsms_store::{DbConnection, StoreError, timestamp};
use serde_json::{Value, json};

use super::orders::order_event;
use super::reference::delivers_on;
use super::{Hubs, date, emit, optional_text, record, resolve_key};
use crate::delivery_store::{self as dstore, CaseRow, PlannedRow};
use crate::lifecycle::{
    self, DISCREPANCY_TRANSITIONS, DiscrepancyOutcome, DiscrepancyStatus, Mover, ORDER_TRANSITIONS,
    OrderStatus,
};
use crate::model::{
    ConsignmentPlan, DiscrepancyCase, DiscrepancyChanges, HubError, PlanLine, PlannedConsignment,
    ShipmentNotice,
};
use crate::month::Month;
use crate::store::{self, OrderRow};

/// Consignments one read of the delivery sweep looks at.
const SWEEP_PAGE: i64 = 500;

/// The component named in the history of what the sweep does.
const SWEEP_COMPONENT: &str = "hub-delivery-sweep";

/// What one delivery sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliverySweepReport {
    /// Consignments deemed accepted.
    pub deemed_accepted: usize,
    /// Orders that became delivered as a result.
    pub delivered: usize,
}

/// What a list of discrepancy cases is filtered by.
#[derive(Debug, Clone, Default)]
pub struct DiscrepancyFilter {
    /// Only these statuses.
    pub statuses: Vec<String>,
    /// Only this organisation (operator staff).
    pub organisation_id: Option<i64>,
    /// Only this order (id or reference).
    pub order: Option<String>,
}

/// A short account of a plan for history: `2027-05-12 x 50, 2027-05-19 x 30`.
fn plan_summary(rows: &[(String, i64)]) -> String {
    if rows.is_empty() {
        return "none".to_owned();
    }
    rows.iter()
        .map(|(d, q)| format!("{d} x {q}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn case_event(case: &DiscrepancyCase) -> Value {
    json!({
        "id": case.id.to_string(),
        "order_id": case.order_id.to_string(),
        "order_reference": case.order_reference,
        "consignment_id": case.consignment_id.to_string(),
        "kind": case.kind,
        "quantity": case.quantity,
        "status": case.status.as_str(),
        "outcome": case.outcome.map(|o| o.as_str()),
        "version": case.version,
    })
}

/// One CSV field as RFC 4180 has it: quoted when it holds a comma, quote or line break.
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

impl ShipmentNotice {
    /// The notice as RFC 4180 CSV (CRLF line ends): a header, then one row per hub.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "consignment_id,order_reference,organisation,location,address,postcode,delivery_date,variant,serial\r\n",
        );
        let fixed = [
            self.consignment_id.to_string(),
            self.order_reference.clone(),
            self.organisation_name.clone(),
            self.location_name.clone(),
            self.location_address.clone(),
            self.location_postcode.clone(),
            self.delivery_date.to_string(),
            self.variant.clone(),
        ]
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
        for serial in &self.serials {
            out.push_str(&fixed);
            out.push(',');
            out.push_str(&csv_field(serial));
            out.push_str("\r\n");
        }
        out
    }
}

impl Hubs {
    fn plan_of(
        &self,
        conn: &mut DbConnection,
        order: &OrderRow,
    ) -> Result<ConsignmentPlan, StoreError> {
        let (rules, _) = self.in_force(self.now());
        let window = rules.consignment_amendment_cutoff_working_days;
        let dispatched = store::consignments_of(conn, &[order.id])?
            .iter()
            .map(|c| c.quantity)
            .sum();
        let consignments = dstore::planned_of(conn, order.id)?
            .into_iter()
            .map(|p| {
                let delivery_date = date(&p.delivery_date);
                PlannedConsignment {
                    id: p.id,
                    delivery_date,
                    quantity: p.quantity,
                    amendable_until: self
                        .rules()
                        .consignment_amendment_deadline(delivery_date, window),
                    created_at: p.created_at,
                    updated_at: p.updated_at,
                }
            })
            .collect();
        Ok(ConsignmentPlan {
            order_id: order.id,
            order_reference: order.reference.clone(),
            quantity: order.quantity,
            dispatched_quantity: dispatched,
            consignments,
            version: order.version,
        })
    }

    /// The consignments of an order still to dispatch, if the caller may see the order.
    pub fn consignment_plan(
        &self,
        principal: &Principal,
        key: &str,
    ) -> Result<ConsignmentPlan, HubError> {
        principal.require(Permission::ViewHubs, "see hub orders")?;
        let id = resolve_key(key, "ORD")?;
        Ok(self.db().read_blocking(|conn| {
            let order = store::order_visible(conn, principal, id)?;
            self.plan_of(conn, &order)
        })?)
    }

    /// The ordering supplier splits an order into consignments, or amends the split: moves
    /// delivery dates inside the delivery month (on the location's delivery days) and
    /// redistributes hubs between consignments, keeping the order total, until the cut-off
    /// before each consignment's delivery date. Each rule broken is named. Honours `expected`
    /// (the order's version, If-Match).
    pub fn amend_consignments(
        &self,
        principal: &Principal,
        key: &str,
        expected: Option<i64>,
        lines: Vec<PlanLine>,
        request_id: Option<&str>,
    ) -> Result<ConsignmentPlan, HubError> {
        principal.require(Permission::OrderHubs, "plan hub consignments")?;
        let id = resolve_key(key, "ORD")?;
        let now = self.now();
        let (rules, today) = self.in_force(now);
        let window = rules.consignment_amendment_cutoff_working_days;
        self.db().write_blocking(|conn| {
            let before = store::order_visible(conn, principal, id)?;
            if principal.organisation_id != before.organisation_id {
                return Err(super::forbidden("amend consignments (the ordering supplier does)"));
            }
            if let Some(v) = expected
                && v != before.version
            {
                return Err(HubError::VersionMismatch(v));
            }
            let status = OrderStatus::parse(&before.status).unwrap_or(OrderStatus::Submitted);
            if !matches!(
                status,
                OrderStatus::Submitted | OrderStatus::Amended | OrderStatus::Accepted | OrderStatus::Dispatched
            ) {
                return Err(HubError::Transition {
                    detail: format!("an order that is {status} has no consignments left to plan"),
                    allowed: Vec::new(),
                });
            }
            let month = Month::parse(&before.delivery_month).unwrap_or(Month::of(NaiveDate::MIN));
            let location = store::location_by_id(conn, before.location_id)?;
            let existing = dstore::planned_of(conn, id)?;
            let dispatched: i64 = store::consignments_of(conn, &[id])?.iter().map(|c| c.quantity).sum();
            let deadline = |d: NaiveDate| self.rules().consignment_amendment_deadline(d, window);
            let mut errors = ValidationErrors::default();
            let mut seen_ids: HashMap<i64, usize> = HashMap::new();
            let mut seen_dates: HashMap<NaiveDate, usize> = HashMap::new();
            let mut kept: HashSet<i64> = HashSet::new();
            let mut parsed: Vec<(Option<i64>, NaiveDate, i64)> = Vec::with_capacity(lines.len());
            for (i, line) in lines.iter().enumerate() {
                let at = format!("consignments[{i}]");
                let old = match line.id {
                    None => None,
                    Some(pid) => match existing.iter().find(|p| p.id == pid) {
                        None => {
                            errors.push(format!("{at}.id"), "is not a planned consignment of this order");
                            None
                        }
                        Some(p) => {
                            if let Some(first) = seen_ids.insert(pid, i) {
                                errors.push(format!("{at}.id"), format!("repeats consignments[{first}]"));
                            }
                            kept.insert(pid);
                            Some(p)
                        }
                    },
                };
                let delivery_date = NaiveDate::parse_from_str(line.delivery_date.trim(), "%Y-%m-%d").ok();
                let field = format!("{at}.delivery_date");
                match delivery_date {
                    None => errors.push(field.as_str(), "must be a date such as 2027-05-12"),
                    Some(d) => {
                        if !month.contains(d) {
                            errors.push(
                                field.as_str(),
                                format!("delivery month: must be inside the order's delivery month {month}"),
                            );
                        }
                        if !delivers_on(&location.delivery_days, d.weekday()) {
                            errors.push(
                                field.as_str(),
                                format!(
                                    "delivery days: {} accepts deliveries only on {}",
                                    location.name,
                                    location.delivery_days.replace(' ', ", ")
                                ),
                            );
                        }
                        if let Some(first) = seen_dates.insert(d, i) {
                            errors.push(
                                field.as_str(),
                                format!("repeats consignments[{first}]: one consignment per delivery date"),
                            );
                        }
                    }
                }
                if line.quantity < 1 {
                    errors.push(format!("{at}.quantity"), "must be at least 1 hub");
                } else if rules.pack_size > 0 && line.quantity % rules.pack_size != 0 {
                    errors.push(
                        format!("{at}.quantity"),
                        format!("pack size: must be a whole multiple of {}", rules.pack_size),
                    );
                }
                let changed = old.is_none_or(|p| {
                    Some(date(&p.delivery_date)) != delivery_date || p.quantity != line.quantity
                });
                if changed {
                    if let Some(p) = old {
                        let was = date(&p.delivery_date);
                        let last = deadline(was);
                        if today > last {
                            errors.push(
                                at.as_str(),
                                format!(
                                    "amendment cut-off: the consignment for {was} is firm since {last} ({window} working days before its delivery date) and can no longer change"
                                ),
                            );
                        }
                    }
                    if let Some(d) = delivery_date {
                        let last = deadline(d);
                        if today > last {
                            errors.push(
                                field.as_str(),
                                format!(
                                    "amendment cut-off: a consignment for {d} had to be planned by {last}, {window} working days before it"
                                ),
                            );
                        }
                    }
                }
                if let Some(d) = delivery_date {
                    parsed.push((old.map(|p| p.id), d, line.quantity));
                }
            }
            for p in existing.iter().filter(|p| !kept.contains(&p.id)) {
                let was = date(&p.delivery_date);
                let last = deadline(was);
                if today > last {
                    errors.push(
                        "consignments",
                        format!(
                            "amendment cut-off: the consignment for {was} is firm since {last} ({window} working days before its delivery date) and cannot be removed"
                        ),
                    );
                }
            }
            let total: i64 = lines.iter().map(|l| l.quantity).sum();
            let owed = before.quantity - dispatched;
            if total != owed {
                errors.push(
                    "consignments",
                    format!(
                        "order total: consignments must total {owed} hubs (the order's {} less {dispatched} dispatched); these total {total}",
                        before.quantity
                    ),
                );
            }
            errors.into_result()?;
            let stamp = timestamp(now);
            let removed: Vec<i64> = existing.iter().filter(|p| !kept.contains(&p.id)).map(|p| p.id).collect();
            dstore::delete_planned(conn, &removed)?;
            for (pid, d, quantity) in &parsed {
                match pid.and_then(|pid| existing.iter().find(|p| p.id == pid)) {
                    Some(p) if date(&p.delivery_date) == *d && p.quantity == *quantity => {}
                    Some(p) => dstore::update_planned(
                        conn,
                        &PlannedRow {
                            delivery_date: d.to_string(),
                            quantity: *quantity,
                            updated_at: stamp,
                            ..p.clone()
                        },
                    )?,
                    None => dstore::insert_planned(
                        conn,
                        &PlannedRow {
                            id: 0,
                            order_id: id,
                            delivery_date: d.to_string(),
                            quantity: *quantity,
                            created_at: stamp,
                            updated_at: stamp,
                        },
                    )?,
                }
            }
            let mut row = before.clone();
            row.updated_at = stamp;
            row.version += 1;
            if !store::update_order(conn, &row, before.version)? {
                return Err(HubError::VersionMismatch(before.version));
            }
            let was: Vec<(String, i64)> = existing.iter().map(|p| (p.delivery_date.clone(), p.quantity)).collect();
            let mut now_planned: Vec<(String, i64)> =
                parsed.iter().map(|(_, d, q)| (d.to_string(), *q)).collect();
            now_planned.sort();
            record(
                conn,
                now,
                principal,
                Some(row.organisation_id),
                "hub_order.consignments_amended",
                "hub_order",
                id,
                Changes::new().field("consignments", plan_summary(&was), plan_summary(&now_planned)),
                request_id,
            )?;
            let plan = self.plan_of(conn, &row)?;
            let order = self.assemble_order(conn, row, now)?;
            let mut body = order_event(&order);
            body["planned_consignments"] = plan
                .consignments
                .iter()
                .map(|c| json!({"id": c.id.to_string(), "delivery_date": c.delivery_date.to_string(), "quantity": c.quantity}))
                .collect();
            emit(conn, now, "hub_order.consignments_amended", order.organisation_id, "hub_order", body)?;
            Ok(plan)
        })
    }

    /// Takes `count` dispatched hubs off the plan: from the consignment planned for the
    /// dispatch date first, then from the earliest; a consignment left empty is removed.
    pub(super) fn consume_plan(
        conn: &mut DbConnection,
        order_id: i64,
        dispatched_on: NaiveDate,
        count: i64,
        stamp: NaiveDateTime,
    ) -> Result<(), StoreError> {
        let mut planned = dstore::planned_of(conn, order_id)?;
        planned.sort_by_key(|p| {
            (
                p.delivery_date != dispatched_on.to_string(),
                p.delivery_date.clone(),
            )
        });
        let mut left = count;
        let mut emptied = Vec::new();
        for p in planned {
            if left == 0 {
                break;
            }
            let take = left.min(p.quantity);
            left -= take;
            if take == p.quantity {
                emptied.push(p.id);
            } else {
                dstore::update_planned(
                    conn,
                    &PlannedRow {
                        quantity: p.quantity - take,
                        updated_at: stamp,
                        ..p
                    },
                )?;
            }
        }
        dstore::delete_planned(conn, &emptied)
    }

    /// The advance shipment notice of a dispatched consignment: the order, location, delivery
    /// date, variant and every hub's serial.
    pub fn shipment_notice(
        &self,
        principal: &Principal,
        key: &str,
        consignment_id: i64,
    ) -> Result<ShipmentNotice, HubError> {
        principal.require(Permission::ViewHubs, "see hub orders")?;
        let id = resolve_key(key, "ORD")?;
        Ok(self.db().read_blocking(|conn| {
            let order = store::order_visible(conn, principal, id)?;
            let consignment = store::consignments_of(conn, &[id])?
                .into_iter()
                .find(|c| c.id == consignment_id)
                .ok_or(StoreError::NotFound)?;
            let location = store::location_by_id(conn, order.location_id)?;
            let variant = store::variant(conn, order.variant_id)?;
            let serials = store::consignment_serials(conn, consignment_id)?
                .into_iter()
                .map(|(s, _)| s)
                .collect();
            Ok::<_, StoreError>(ShipmentNotice {
                consignment_id,
                order_id: id,
                order_reference: order.reference,
                organisation_name: store::organisation_name(conn, order.organisation_id)?,
                location_name: location.name,
                location_address: location.address,
                location_postcode: location.postcode,
                delivery_date: date(&consignment.delivery_date),
                variant: variant.product_code,
                quantity: consignment.quantity,
                dispatched_at: consignment.created_at,
                serials,
            })
        })?)
    }

    /// One pass over the dispatched consignments whose confirmation window has closed: each
    /// is deemed accepted once, however many instances sweep (the write only succeeds while
    /// the consignment still awaits confirmation), with history and an event; an order whose
    /// every consignment is then settled becomes delivered.
    pub fn sweep_deliveries(&self) -> Result<DeliverySweepReport, HubError> {
        let now = self.now();
        let (rules, today) = self.in_force(now);
        let stamp = timestamp(now);
        let actor = Actor::system(SWEEP_COMPONENT);
        let mut report = DeliverySweepReport::default();
        let mut after = 0;
        loop {
            let rows = self.db().read_blocking(|conn| {
                dstore::awaiting_confirmation(conn, &today.to_string(), after, SWEEP_PAGE)
            })?;
            let last = rows.last().map(|r| r.id);
            let full = i64::try_from(rows.len()).is_ok_and(|n| n >= SWEEP_PAGE);
            for row in rows {
                let delivered_on = date(&row.delivery_date);
                let closed_on = self
                    .rules()
                    .confirmation_deadline(delivered_on, rules.confirmation_window_working_days);
                if today <= closed_on {
                    continue;
                }
                let outcome = self.db().write_blocking(|conn| {
                    if !dstore::deem_accepted(conn, row.id, stamp)? {
                        return Ok::<_, HubError>(None);
                    }
                    store::set_serial_status(conn, row.id, None, "delivered")?;
                    let before = store::order_by_id(conn, row.order_id)?;
                    let consignments = store::consignments_of(conn, &[row.order_id])?;
                    let all_settled = consignments.iter().all(|c| c.status != "dispatched");
                    let dispatched: i64 = consignments.iter().map(|c| c.quantity).sum();
                    let from =
                        OrderStatus::parse(&before.status).unwrap_or(OrderStatus::Dispatched);
                    let mut order = before.clone();
                    if all_settled
                        && dispatched == before.quantity
                        && lifecycle::may(
                            ORDER_TRANSITIONS,
                            from,
                            OrderStatus::Delivered,
                            Mover::System,
                        )
                    {
                        order.status = OrderStatus::Delivered.as_str().to_owned();
                    }
                    order.updated_at = stamp;
                    order.version += 1;
                    if !store::update_order(conn, &order, before.version)? {
                        return Err(HubError::VersionMismatch(before.version));
                    }
                    audit::record(
                        conn,
                        now,
                        AuditEvent {
                            actor: &actor,
                            organisation_id: Some(order.organisation_id),
                            action: "hub_order.delivery_deemed_accepted",
                            entity_type: "hub_order",
                            entity_id: order.id.to_string(),
                            changes: Changes::new()
                                .field("status", before.status.as_str(), order.status.as_str())
                                .created("consignment_id", row.id)
                                .created("confirmation_closed_on", closed_on.to_string()),
                            request_id: None,
                        },
                    )?;
                    let assembled = self.assemble_order(conn, order, now)?;
                    let mut body = order_event(&assembled);
                    body["consignment_id"] = json!(row.id.to_string());
                    body["confirmation_closed_on"] = json!(closed_on.to_string());
                    emit(
                        conn,
                        now,
                        "hub_order.delivery_deemed_accepted",
                        assembled.organisation_id,
                        "hub_order",
                        body,
                    )?;
                    let delivered = assembled.status == OrderStatus::Delivered;
                    if delivered {
                        emit(
                            conn,
                            now,
                            "hub_order.delivered",
                            assembled.organisation_id,
                            "hub_order",
                            order_event(&assembled),
                        )?;
                    }
                    Ok(Some(delivered))
                })?;
                if let Some(delivered) = outcome {
                    report.deemed_accepted += 1;
                    if delivered {
                        report.delivered += 1;
                    }
                }
            }
            match last {
                Some(last) if full => after = last,
                _ => break,
            }
        }
        Ok(report)
    }

    fn case_of(
        &self,
        conn: &mut DbConnection,
        row: CaseRow,
    ) -> Result<DiscrepancyCase, StoreError> {
        let order = store::order_by_id(conn, row.order_id)?;
        Ok(DiscrepancyCase {
            id: row.id,
            order_id: row.order_id,
            order_reference: order.reference,
            organisation_id: order.organisation_id,
            consignment_id: row.consignment_id,
            kind: row.kind,
            serials: row.serials.split_whitespace().map(str::to_owned).collect(),
            quantity: row.quantity,
            status: DiscrepancyStatus::parse(&row.status).unwrap_or(DiscrepancyStatus::Open),
            outcome: row.outcome.as_deref().and_then(DiscrepancyOutcome::parse),
            settlement_note: row.settlement_note,
            settled_at: row.settled_at,
            settled_by: row.settled_by_name,
            created_at: row.created_at,
            updated_at: row.updated_at.unwrap_or(row.created_at),
            version: row.version,
        })
    }

    /// Opens a case of `kind` for hubs reported at confirmation, or extends the order's case of
    /// that kind still being worked, with history and an event.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn report_discrepancy(
        &self,
        conn: &mut DbConnection,
        now: DateTime<Utc>,
        principal: &Principal,
        order: &OrderRow,
        consignment_id: i64,
        kind: &str,
        serials: &[String],
        request_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let stamp = timestamp(now);
        let count = serials.len() as i64;
        let (id, action, changes) = match dstore::live_case(conn, order.id, kind)? {
            Some(mut case) => {
                let before = case.quantity;
                let expected = case.version;
                case.serials = format!("{} {}", case.serials, serials.join(" "));
                case.quantity += count;
                case.updated_at = Some(stamp);
                case.version += 1;
                if !dstore::update_case(conn, &case, expected)? {
                    return Err(StoreError::Conflict(
                        "the discrepancy case changed while it was being extended; retry".into(),
                    ));
                }
                (
                    case.id,
                    "hub_discrepancy.extended",
                    Changes::new()
                        .field("quantity", before, case.quantity)
                        .created("consignment_id", consignment_id)
                        .created("serials", serials.join(" ")),
                )
            }
            None => {
                let row = CaseRow {
                    id: 0,
                    order_id: order.id,
                    consignment_id,
                    kind: kind.to_owned(),
                    serials: serials.join(" "),
                    quantity: count,
                    status: DiscrepancyStatus::Open.as_str().to_owned(),
                    created_at: stamp,
                    outcome: None,
                    settlement_note: None,
                    settled_at: None,
                    settled_by_name: None,
                    organisation_id: Some(order.organisation_id),
                    updated_at: Some(stamp),
                    version: 1,
                };
                let id = dstore::insert_case(conn, &row)?;
                (
                    id,
                    "hub_discrepancy.opened",
                    Changes::new()
                        .created("order_id", order.id)
                        .created("consignment_id", consignment_id)
                        .created("kind", kind)
                        .created("quantity", count)
                        .created("status", row.status.as_str()),
                )
            }
        };
        record(
            conn,
            now,
            principal,
            Some(order.organisation_id),
            action,
            "hub_discrepancy",
            id,
            changes,
            request_id,
        )?;
        let row = dstore::case_visible(conn, principal, id)?;
        let case = self.case_of(conn, row)?;
        emit(
            conn,
            now,
            action,
            order.organisation_id,
            "hub_discrepancy",
            case_event(&case),
        )
    }

    /// One discrepancy case, if the caller may see it.
    pub fn discrepancy(&self, principal: &Principal, id: i64) -> Result<DiscrepancyCase, HubError> {
        principal.require(Permission::ViewHubs, "see hub orders")?;
        Ok(self.db().read_blocking(|conn| {
            let row = dstore::case_visible(conn, principal, id)?;
            self.case_of(conn, row)
        })?)
    }

    /// One page of the discrepancy cases the caller may see, oldest first.
    pub fn discrepancies(
        &self,
        principal: &Principal,
        filter: &DiscrepancyFilter,
        page: PageRequest,
    ) -> Result<Page<DiscrepancyCase>, HubError> {
        principal.require(Permission::ViewHubs, "see hub orders")?;
        let mut errors = ValidationErrors::default();
        for s in &filter.statuses {
            if DiscrepancyStatus::parse(s).is_none() {
                errors.push(
                    "status",
                    format!("must be one of {}", DiscrepancyStatus::names()),
                );
            }
        }
        errors.into_result()?;
        let order_id = filter
            .order
            .as_ref()
            .map(|key| resolve_key(key, "ORD").unwrap_or(-1));
        Ok(self.db().read_blocking(|conn| {
            let rows = dstore::cases(
                conn,
                principal,
                &filter.statuses,
                filter.organisation_id,
                order_id,
                page,
            )?;
            let page = Page::from_rows(rows, page, |r| r.id);
            let mut items = Vec::with_capacity(page.items.len());
            for row in page.items {
                items.push(self.case_of(conn, row)?);
            }
            Ok::<_, StoreError>(Page {
                items,
                next_cursor: page.next_cursor,
            })
        })?)
    }

    /// The operator works a case: investigates it, then settles it with an outcome and a note,
    /// or rejects it with a note. Honours `expected` (If-Match).
    pub fn update_discrepancy(
        &self,
        principal: &Principal,
        id: i64,
        expected: Option<i64>,
        changes: DiscrepancyChanges,
        request_id: Option<&str>,
    ) -> Result<DiscrepancyCase, HubError> {
        principal.require(Permission::ViewHubs, "see hub orders")?;
        let now = self.now();
        self.db().write_blocking(|conn| {
            let before = dstore::case_visible(conn, principal, id)?;
            if !principal.can(Permission::ManageHubs) {
                return Err(super::forbidden(
                    "work discrepancy cases (the operator does)",
                ));
            }
            if let Some(v) = expected
                && v != before.version
            {
                return Err(HubError::VersionMismatch(v));
            }
            let from = DiscrepancyStatus::parse(&before.status).unwrap_or(DiscrepancyStatus::Open);
            let mut errors = ValidationErrors::default();
            let Some(to) = DiscrepancyStatus::parse(changes.status.trim()) else {
                errors.push(
                    "status",
                    format!("must be one of {}", DiscrepancyStatus::names()),
                );
                return Err(errors.into());
            };
            if !lifecycle::may(DISCREPANCY_TRANSITIONS, from, to, Mover::Operator) {
                return Err(HubError::Transition {
                    detail: format!("a discrepancy case that is {from} cannot become {to}"),
                    allowed: lifecycle::allowed(DISCREPANCY_TRANSITIONS, from, Mover::Operator)
                        .iter()
                        .map(|s| s.as_str().to_owned())
                        .collect(),
                });
            }
            let outcome = match changes
                .outcome
                .as_deref()
                .map(str::trim)
                .filter(|o| !o.is_empty())
            {
                None => None,
                Some(o) => match DiscrepancyOutcome::parse(o) {
                    Some(o) => Some(o),
                    None => {
                        errors.push(
                            "outcome",
                            format!("must be one of {}", DiscrepancyOutcome::names()),
                        );
                        None
                    }
                },
            };
            let note = optional_text("note", changes.note.clone(), 4000, &mut errors);
            let outcome = match to {
                DiscrepancyStatus::Settled => {
                    if outcome.is_none() && changes.outcome.is_none() {
                        errors.push("outcome", "is required to settle a case");
                    }
                    outcome
                }
                DiscrepancyStatus::Rejected => {
                    if outcome.is_some_and(|o| o != DiscrepancyOutcome::NoAction) {
                        errors.push("outcome", "a rejected case has no outcome but no_action");
                    }
                    Some(DiscrepancyOutcome::NoAction)
                }
                _ => {
                    if changes.outcome.is_some() {
                        errors.push(
                            "outcome",
                            "is given only when the case is settled or rejected",
                        );
                    }
                    None
                }
            };
            let closing = matches!(to, DiscrepancyStatus::Settled | DiscrepancyStatus::Rejected);
            if closing && note.is_none() {
                errors.push("note", "is required to settle or reject a case");
            }
            errors.into_result()?;
            let stamp = timestamp(now);
            let mut row = before.clone();
            row.status = to.as_str().to_owned();
            if closing {
                row.outcome = outcome.map(|o| o.as_str().to_owned());
                row.settlement_note = note;
                row.settled_at = Some(stamp);
                row.settled_by_name = Some(principal.display_name.clone());
            }
            row.updated_at = Some(stamp);
            row.version += 1;
            if !dstore::update_case(conn, &row, before.version)? {
                return Err(HubError::VersionMismatch(before.version));
            }
            let mut recorded =
                Changes::new().field("status", before.status.as_str(), row.status.as_str());
            if let Some(o) = &row.outcome {
                recorded = recorded.created("outcome", o.as_str());
            }
            if let Some(n) = &row.settlement_note {
                recorded = recorded.created("note", n.as_str());
            }
            let action = format!("hub_discrepancy.{to}");
            let organisation_id = row.organisation_id.unwrap_or(principal.organisation_id);
            record(
                conn,
                now,
                principal,
                Some(organisation_id),
                &action,
                "hub_discrepancy",
                id,
                recorded,
                request_id,
            )?;
            let case = self.case_of(conn, row)?;
            emit(
                conn,
                now,
                &action,
                case.organisation_id,
                "hub_discrepancy",
                case_event(&case),
            )?;
            Ok(case)
        })
    }

    /// The history of a discrepancy case, oldest first.
    pub fn discrepancy_history(
        &self,
        principal: &Principal,
        id: i64,
    ) -> Result<Vec<AuditEntry>, HubError> {
        principal.require(Permission::ViewHubs, "see hub orders")?;
        Ok(self.db().read_blocking(|conn| {
            dstore::case_visible(conn, principal, id)?;
            Hubs::history_of(conn, "hub_discrepancy", id)
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_rfc_4180_needs_it() {
        assert_eq!(csv_field("CH4G00000001"), "CH4G00000001");
        assert_eq!(csv_field("1 High St, Leeds"), "\"1 High St, Leeds\"");
        assert_eq!(
            csv_field("the \"north\" yard"),
            "\"the \"\"north\"\" yard\""
        );
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
    }

    #[test]
    fn plans_are_summarised_for_history() {
        assert_eq!(plan_summary(&[]), "none");
        assert_eq!(
            plan_summary(&[("2027-05-12".into(), 50), ("2027-05-19".into(), 30)]),
            "2027-05-12 x 50, 2027-05-19 x 30"
        );
    }
}
