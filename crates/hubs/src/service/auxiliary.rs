//! Auxiliary equipment: the catalogue the operator's maintainers keep (everyone signed in with
//! a view of hubs may read it; changes are versioned and in the history), and the items on hub
//! orders. Items ride on the order: they are judged with it when it is placed, and changing
//! them later is an amendment through the order lifecycle, until the order's cut-off.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use dsms_core::{Permission, Principal, ValidationErrors};
use dsms_store::audit::{AuditEntry, Changes};
use dsms_store::idempotency::{Created, Idempotent};
use dsms_store::{DbConnection, StoreError, timestamp};
use serde_json::{Value, json};

use super::orders::order_event;
use super::{Hubs, date, emit, optional_text, record, resolve_key, text};
use crate::auxiliary::{
    AuxiliaryItem, AuxiliaryItemChanges, AuxiliaryLine, NewAuxiliaryItem, NewAuxiliaryLine,
    OrderAuxiliary,
};
use crate::lifecycle::{self, Mover, ORDER_TRANSITIONS, OrderStatus};
use crate::model::{HubError, HubOrder, NewOrder};
use crate::month::Month;
use crate::store::auxiliary::{self as store, ItemRow, LineRow};
use crate::store::{self as orders, OrderRow};

/// The most items one order may carry.
const MAX_LINES: usize = 100;

impl From<ItemRow> for AuxiliaryItem {
    fn from(r: ItemRow) -> Self {
        Self {
            id: r.id,
            code: r.code,
            name: r.name,
            description: r.description,
            pack_size: r.pack_size,
            minimum_quantity: r.minimum_quantity,
            maximum_quantity: r.maximum_quantity,
            active: r.active,
            available_from: date(&r.available_from),
            available_until: r.available_until.as_deref().map(date),
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

/// The catalogue is the operator's to keep: its staff who manage hubs and the catalogue
/// (`dcc_admin`).
fn require_maintainer(principal: &Principal) -> Result<(), HubError> {
    principal.require(
        Permission::ManageHubs,
        "maintain the auxiliary-equipment catalogue",
    )?;
    principal.require(
        Permission::ManageCatalogue,
        "maintain the auxiliary-equipment catalogue",
    )?;
    Ok(())
}

/// A `YYYY-MM-DD` date, or the field named.
fn day(field: &str, value: &str, errors: &mut ValidationErrors) -> Option<NaiveDate> {
    let parsed = NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").ok();
    if parsed.is_none() {
        errors.push(field, "must be a date such as 2027-05-01");
    }
    parsed
}

/// Checks the limits of an item against each other, naming each that cannot work.
fn check_item(row: &ItemRow, errors: &mut ValidationErrors) {
    if row.pack_size < 1 {
        errors.push("pack_size", "must be at least 1");
    }
    if row.minimum_quantity < 1 {
        errors.push("minimum_quantity", "must be at least 1");
    }
    if let Some(max) = row.maximum_quantity {
        if max < row.minimum_quantity {
            errors.push(
                "maximum_quantity",
                format!(
                    "must be at least the minimum_quantity ({})",
                    row.minimum_quantity
                ),
            );
        } else if row.pack_size >= 1 && row.minimum_quantity >= 1 {
            let smallest =
                (row.minimum_quantity + row.pack_size - 1) / row.pack_size * row.pack_size;
            if smallest > max {
                errors.push(
                    "maximum_quantity",
                    format!(
                        "no whole number of packs of {} lies between {} and {max}",
                        row.pack_size, row.minimum_quantity
                    ),
                );
            }
        }
    }
    if let Some(until) = &row.available_until
        && until.as_str() < row.available_from.as_str()
    {
        errors.push(
            "available_until",
            format!("must not be before available_from ({})", row.available_from),
        );
    }
}

/// The lines as one line of text for the history: `AUX-A × 20, AUX-B × 5`, or `none`.
fn summary(lines: &[(String, i64)]) -> String {
    if lines.is_empty() {
        return "none".into();
    }
    lines
        .iter()
        .map(|(code, quantity)| format!("{code} × {quantity}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn line_of(line: LineRow, item: ItemRow) -> AuxiliaryLine {
    AuxiliaryLine {
        item_id: line.item_id,
        code: item.code,
        name: item.name,
        quantity: line.quantity,
    }
}

/// Items judged fit for an order, by code: each item and its quantity.
pub(super) struct CheckedLines(Vec<(ItemRow, i64)>);

impl Hubs {
    /// The catalogue, by code; withdrawn items too unless `active_only`.
    pub fn auxiliary_items(
        &self,
        principal: &Principal,
        active_only: bool,
    ) -> Result<Vec<AuxiliaryItem>, HubError> {
        principal.require(
            Permission::ViewHubs,
            "see the auxiliary-equipment catalogue",
        )?;
        let rows = self
            .db()
            .read_blocking(|conn| store::items(conn, active_only))?;
        Ok(rows.into_iter().map(AuxiliaryItem::from).collect())
    }

    /// One catalogue item, by id or code.
    pub fn auxiliary_item(
        &self,
        principal: &Principal,
        key: &str,
    ) -> Result<AuxiliaryItem, HubError> {
        principal.require(
            Permission::ViewHubs,
            "see the auxiliary-equipment catalogue",
        )?;
        Ok(self
            .db()
            .read_blocking(|conn| Self::find_item(conn, key))?
            .into())
    }

    fn find_item(conn: &mut DbConnection, key: &str) -> Result<ItemRow, StoreError> {
        let key = key.trim();
        match key.parse::<i64>() {
            Ok(id) => store::item(conn, id),
            Err(_) => {
                store::item_by_code(conn, &key.to_ascii_uppercase())?.ok_or(StoreError::NotFound)
            }
        }
    }

    /// Adds an item to the catalogue (the operator's maintainers).
    pub fn add_auxiliary_item(
        &self,
        principal: &Principal,
        new: NewAuxiliaryItem,
        request_id: Option<&str>,
    ) -> Result<AuxiliaryItem, HubError> {
        require_maintainer(principal)?;
        let now = self.now();
        let (_, today) = self.in_force(now);
        let mut errors = ValidationErrors::default();
        let code = text("code", &new.code, 40, &mut errors).to_ascii_uppercase();
        if !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            errors.push("code", "must be letters, digits and hyphens");
        }
        let name = text("name", &new.name, 200, &mut errors);
        let description = optional_text("description", new.description, 4000, &mut errors);
        let available_from = match &new.available_from {
            Some(d) => day("available_from", d, &mut errors).unwrap_or(today),
            None => today,
        };
        let available_until = new
            .available_until
            .as_deref()
            .and_then(|d| day("available_until", d, &mut errors));
        let stamp = timestamp(now);
        let row = ItemRow {
            id: 0,
            code,
            name,
            description: description.unwrap_or_default(),
            pack_size: new.pack_size,
            minimum_quantity: new.minimum_quantity,
            maximum_quantity: new.maximum_quantity,
            active: true,
            available_from: available_from.to_string(),
            available_until: available_until.map(|d| d.to_string()),
            created_at: stamp,
            updated_at: stamp,
            version: 1,
        };
        check_item(&row, &mut errors);
        errors.into_result()?;
        self.db().write_blocking(|conn| {
            if store::item_by_code(conn, &row.code)?.is_some() {
                return Err(HubError::from(dsms_core::FieldError::new(
                    "code",
                    "is already used by another auxiliary item",
                )));
            }
            let id = store::insert_item(conn, &row)?;
            record(
                conn,
                now,
                principal,
                None,
                "hub_auxiliary_item.created",
                "hub_auxiliary_item",
                id,
                Changes::new()
                    .created("code", row.code.as_str())
                    .created("name", row.name.as_str())
                    .created("pack_size", row.pack_size)
                    .created("minimum_quantity", row.minimum_quantity)
                    .created("maximum_quantity", row.maximum_quantity)
                    .created("available_from", row.available_from.as_str())
                    .created("available_until", row.available_until.clone()),
                request_id,
            )?;
            Ok(AuxiliaryItem::from(store::item(conn, id)?))
        })
    }

    /// Changes a catalogue item (the operator's maintainers): its name, description, limits,
    /// delivery dates, or withdraws or reinstates it. Orders already placed keep their lines;
    /// the new limits judge what is ordered or amended from now on. Honours `expected`.
    pub fn update_auxiliary_item(
        &self,
        principal: &Principal,
        key: &str,
        expected: Option<i64>,
        changes: AuxiliaryItemChanges,
        request_id: Option<&str>,
    ) -> Result<AuxiliaryItem, HubError> {
        require_maintainer(principal)?;
        let now = self.now();
        self.db().write_blocking(|conn| {
            let before = Self::find_item(conn, key)?;
            if expected.is_some_and(|v| v != before.version) {
                return Err(HubError::VersionMismatch(before.version));
            }
            let mut errors = ValidationErrors::default();
            let mut row = before.clone();
            if let Some(name) = &changes.name {
                row.name = text("name", name, 200, &mut errors);
            }
            if let Some(description) = &changes.description {
                row.description =
                    optional_text("description", Some(description.clone()), 4000, &mut errors)
                        .unwrap_or_default();
            }
            if let Some(pack) = changes.pack_size {
                row.pack_size = pack;
            }
            if let Some(min) = changes.minimum_quantity {
                row.minimum_quantity = min;
            }
            if let Some(max) = changes.maximum_quantity {
                row.maximum_quantity = max;
            }
            if let Some(active) = changes.active {
                row.active = active;
            }
            if let Some(from) = &changes.available_from
                && let Some(d) = day("available_from", from, &mut errors)
            {
                row.available_from = d.to_string();
            }
            if let Some(until) = &changes.available_until {
                row.available_until = match until {
                    None => None,
                    Some(u) => day("available_until", u, &mut errors)
                        .map(|d| d.to_string())
                        .or(before.available_until.clone()),
                };
            }
            check_item(&row, &mut errors);
            errors.into_result()?;
            row.updated_at = timestamp(now);
            row.version += 1;
            if !store::update_item(conn, &row, before.version)? {
                return Err(HubError::VersionMismatch(before.version));
            }
            record(
                conn,
                now,
                principal,
                None,
                "hub_auxiliary_item.updated",
                "hub_auxiliary_item",
                row.id,
                Changes::new()
                    .field("name", before.name.as_str(), row.name.as_str())
                    .field(
                        "description",
                        before.description.as_str(),
                        row.description.as_str(),
                    )
                    .field("pack_size", before.pack_size, row.pack_size)
                    .field(
                        "minimum_quantity",
                        before.minimum_quantity,
                        row.minimum_quantity,
                    )
                    .field(
                        "maximum_quantity",
                        before.maximum_quantity,
                        row.maximum_quantity,
                    )
                    .field("active", before.active, row.active)
                    .field(
                        "available_from",
                        before.available_from.as_str(),
                        row.available_from.as_str(),
                    )
                    .field(
                        "available_until",
                        before.available_until.clone(),
                        row.available_until.clone(),
                    ),
                request_id,
            )?;
            Ok(AuxiliaryItem::from(row))
        })
    }

    /// The history of a catalogue item, oldest first.
    pub fn auxiliary_item_history(
        &self,
        principal: &Principal,
        key: &str,
    ) -> Result<Vec<AuditEntry>, HubError> {
        principal.require(
            Permission::ViewHubs,
            "see the auxiliary-equipment catalogue",
        )?;
        Ok(self.db().read_blocking(|conn| {
            let item = Self::find_item(conn, key)?;
            Hubs::history_of(conn, "hub_auxiliary_item", item.id)
        })?)
    }

    /// Judges the items asked for an order delivering in `month` (when known): every code must
    /// name a catalogue item, once, and each quantity meet the item's rules; every fault is
    /// named on `lines[N].code` or `lines[N].quantity`.
    pub(super) fn check_auxiliary_lines(
        conn: &mut DbConnection,
        month: Option<Month>,
        lines: &[NewAuxiliaryLine],
        errors: &mut ValidationErrors,
    ) -> Result<CheckedLines, StoreError> {
        if lines.len() > MAX_LINES {
            errors.push("lines", format!("must list at most {MAX_LINES} items"));
        }
        let mut seen: HashMap<String, usize> = HashMap::with_capacity(lines.len());
        let mut checked = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            let code = line.code.trim().to_ascii_uppercase();
            let at = format!("lines[{i}]");
            if let Some(first) = seen.insert(code.clone(), i) {
                errors.push(
                    format!("{at}.code"),
                    format!("repeats lines[{first}] ({code}); put the whole quantity on one line"),
                );
                continue;
            }
            match store::item_by_code(conn, &code)? {
                None => errors.push(format!("{at}.code"), "is not a known auxiliary item code"),
                Some(item) => {
                    AuxiliaryItem::from(item.clone()).check(
                        &format!("{at}.quantity"),
                        line.quantity,
                        month,
                        errors,
                    );
                    checked.push((item, line.quantity));
                }
            }
        }
        checked.sort_by(|a, b| a.0.code.cmp(&b.0.code));
        Ok(CheckedLines(checked))
    }

    /// Stores the checked items on order `order_id` (replacing any), returning the summaries
    /// before and after for its history.
    pub(super) fn save_auxiliary_lines(
        conn: &mut DbConnection,
        order_id: i64,
        lines: &CheckedLines,
    ) -> Result<(String, String), StoreError> {
        let before: Vec<(String, i64)> = store::lines_of(conn, order_id)?
            .into_iter()
            .map(|(l, i)| (i.code, l.quantity))
            .collect();
        let rows: Vec<LineRow> = lines
            .0
            .iter()
            .map(|(item, quantity)| LineRow {
                order_id,
                item_id: item.id,
                quantity: *quantity,
            })
            .collect();
        store::replace_lines(conn, order_id, &rows)?;
        let after: Vec<(String, i64)> = lines
            .0
            .iter()
            .map(|(item, quantity)| (item.code.clone(), *quantity))
            .collect();
        Ok((summary(&before), summary(&after)))
    }

    /// Places a hub order with auxiliary items on it, in one transaction: the order meets
    /// every hub rule and each item its own, or nothing is placed and every fault is named.
    pub fn place_order_with_auxiliary(
        &self,
        principal: &Principal,
        new: NewOrder,
        lines: Vec<NewAuxiliaryLine>,
        idempotent: Option<Idempotent<HubOrder>>,
        request_id: Option<&str>,
    ) -> Result<Created<HubOrder>, HubError> {
        self.place_order_with(principal, new, &lines, idempotent, request_id)
    }

    /// The auxiliary items on an order the caller may see.
    pub fn order_auxiliary(
        &self,
        principal: &Principal,
        key: &str,
    ) -> Result<OrderAuxiliary, HubError> {
        principal.require(Permission::ViewHubs, "see hub orders")?;
        let id = resolve_key(key, "ORD")?;
        Ok(self.db().read_blocking(|conn| {
            let order = orders::order_visible(conn, principal, id)?;
            Self::auxiliary_of(conn, order)
        })?)
    }

    fn auxiliary_of(
        conn: &mut DbConnection,
        order: OrderRow,
    ) -> Result<OrderAuxiliary, StoreError> {
        let lines = store::lines_of(conn, order.id)?
            .into_iter()
            .map(|(l, i)| line_of(l, i))
            .collect();
        Ok(OrderAuxiliary {
            order_id: order.id,
            reference: order.reference,
            status: order.status,
            version: order.version,
            lines,
        })
    }

    /// Replaces the auxiliary items on an order (the ordering organisation). This amends the
    /// order: it is allowed where the lifecycle allows an amendment and only before the
    /// order's cut-off, and the order awaits the operator again. An empty list removes every
    /// item. Honours `expected` (the order's version).
    pub fn set_order_auxiliary(
        &self,
        principal: &Principal,
        key: &str,
        expected: Option<i64>,
        lines: Vec<NewAuxiliaryLine>,
        request_id: Option<&str>,
    ) -> Result<OrderAuxiliary, HubError> {
        principal.require(Permission::ViewHubs, "see hub orders")?;
        let id = resolve_key(key, "ORD")?;
        let now = self.now();
        let (rules, today) = self.in_force(now);
        self.db().write_blocking(|conn| {
            let before = orders::order_visible(conn, principal, id)?;
            if Self::order_mover(principal, before.organisation_id) != Some(Mover::Supplier) {
                return Err(super::forbidden(
                    "change the auxiliary equipment on hub orders (the ordering organisation does)",
                ));
            }
            if expected.is_some_and(|v| v != before.version) {
                return Err(HubError::VersionMismatch(before.version));
            }
            let from = OrderStatus::parse(&before.status).unwrap_or(OrderStatus::Submitted);
            if !lifecycle::may(ORDER_TRANSITIONS, from, OrderStatus::Amended, Mover::Supplier) {
                return Err(HubError::Transition {
                    detail: format!(
                        "an order that is {from} cannot be amended, so its auxiliary equipment cannot change"
                    ),
                    allowed: lifecycle::allowed(ORDER_TRANSITIONS, from, Mover::Supplier)
                        .iter()
                        .map(|s| s.as_str().to_owned())
                        .collect(),
                });
            }
            let mut errors = ValidationErrors::default();
            let month = Month::parse(&before.delivery_month);
            if let Some(m) = month {
                let cutoff = rules.cutoff(m);
                if today >= cutoff {
                    errors.push(
                        "lines",
                        format!(
                            "amendment cut-off: orders for {m} became firm on {cutoff}, {} months before the delivery month, and can no longer be amended",
                            rules.amendment_cutoff_months
                        ),
                    );
                }
            }
            let checked = Self::check_auxiliary_lines(conn, month, &lines, &mut errors)?;
            errors.into_result()?;
            let (was, now_lines) = Self::save_auxiliary_lines(conn, id, &checked)?;
            let mut row = before.clone();
            row.status = OrderStatus::Amended.as_str().to_owned();
            row.rules_effective_from = rules.effective_from.to_string();
            row.updated_at = timestamp(now);
            row.version += 1;
            if !orders::update_order(conn, &row, before.version)? {
                return Err(HubError::VersionMismatch(before.version));
            }
            record(
                conn,
                now,
                principal,
                Some(row.organisation_id),
                "hub_order.amended",
                "hub_order",
                id,
                Changes::new()
                    .field("status", before.status.as_str(), row.status.as_str())
                    .field("auxiliary", was, now_lines),
                request_id,
            )?;
            let order = self.assemble_order(conn, row.clone(), now)?;
            let mut body = order_event(&order);
            body["auxiliary"] = auxiliary_event(&checked);
            emit(conn, now, "hub_order.amended", order.organisation_id, "hub_order", body)?;
            Ok(Self::auxiliary_of(conn, row)?)
        })
    }

    /// Records the items placed with a new order in its history.
    pub(super) fn record_placed_auxiliary(
        conn: &mut DbConnection,
        now: DateTime<Utc>,
        principal: &Principal,
        (order_id, organisation_id): (i64, i64),
        lines: &CheckedLines,
        request_id: Option<&str>,
    ) -> Result<(), StoreError> {
        if lines.0.is_empty() {
            return Ok(());
        }
        let (_, placed) = Self::save_auxiliary_lines(conn, order_id, lines)?;
        record(
            conn,
            now,
            principal,
            Some(organisation_id),
            "hub_order.auxiliary_ordered",
            "hub_order",
            order_id,
            Changes::new().created("auxiliary", placed),
            request_id,
        )
    }
}

/// The items as an event carries them.
fn auxiliary_event(lines: &CheckedLines) -> Value {
    Value::Array(
        lines
            .0
            .iter()
            .map(|(item, quantity)| json!({"code": item.code, "quantity": quantity}))
            .collect(),
    )
}
