//! Auxiliary equipment: the operator-maintained catalogue of items ordered alongside hubs, and
//! the rules an item's quantity on an order must meet. Every limit is the item's own data
//! (pack size, minimum and maximum per order, the dates it may be delivered), so the operator
//! changes them without a code change. Items are ordered as lines of a hub order, which
//! carries the lifecycle, the lead time and the amendment cut-off.

use chrono::{NaiveDate, NaiveDateTime};
use dsms_core::ValidationErrors;

use crate::month::Month;

/// An item of the auxiliary-equipment catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuxiliaryItem {
    /// Its id.
    pub id: i64,
    /// Its item code, e.g. `AUX-AERIAL-EXT`.
    pub code: String,
    /// Its name.
    pub name: String,
    /// What it is, for people choosing it.
    pub description: String,
    /// Quantities are whole multiples of this.
    pub pack_size: i64,
    /// The fewest one order may carry.
    pub minimum_quantity: i64,
    /// The most one order may carry, if limited.
    pub maximum_quantity: Option<i64>,
    /// Orderable (withdrawn items stay for history).
    pub active: bool,
    /// The first day it may be delivered.
    pub available_from: NaiveDate,
    /// The last day it may be delivered, if it is being withdrawn.
    pub available_until: Option<NaiveDate>,
    /// When it was added.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
    /// Optimistic-concurrency version.
    pub version: i64,
}

impl AuxiliaryItem {
    /// True when some day of `month` lies inside the item's delivery dates.
    pub fn available_in(&self, month: Month) -> bool {
        self.available_from <= month.last_day()
            && self.available_until.is_none_or(|u| u >= month.first_day())
    }

    /// Checks `quantity` of this item on an order for delivery in `month` (when known),
    /// naming on `field` every rule broken.
    pub fn check(
        &self,
        field: &str,
        quantity: i64,
        month: Option<Month>,
        errors: &mut ValidationErrors,
    ) {
        if !self.active {
            errors.push(
                field,
                format!("{} has been withdrawn and cannot be ordered", self.code),
            );
        }
        if let Some(m) = month
            && !self.available_in(m)
        {
            let until = self
                .available_until
                .map_or_else(String::new, |u| format!(" until {u}"));
            errors.push(
                field,
                format!(
                    "availability: {} may be delivered from {}{until}, not in {m}",
                    self.code, self.available_from
                ),
            );
        }
        if quantity < self.minimum_quantity {
            errors.push(
                field,
                format!(
                    "minimum order: at least {} of {} per order",
                    self.minimum_quantity, self.code
                ),
            );
        }
        if let Some(max) = self.maximum_quantity
            && quantity > max
        {
            errors.push(
                field,
                format!("maximum order: at most {max} of {} per order", self.code),
            );
        }
        if self.pack_size > 0 && quantity % self.pack_size != 0 {
            errors.push(
                field,
                format!(
                    "pack size: must be a whole multiple of {} ({} comes in packs of {})",
                    self.pack_size, self.code, self.pack_size
                ),
            );
        }
    }
}

/// An item to add to the catalogue.
#[derive(Debug, Clone, Default)]
pub struct NewAuxiliaryItem {
    /// Its item code: letters, digits and hyphens.
    pub code: String,
    /// Its name.
    pub name: String,
    /// What it is.
    pub description: Option<String>,
    /// Quantities are whole multiples of this (at least 1).
    pub pack_size: i64,
    /// The fewest one order may carry (at least 1).
    pub minimum_quantity: i64,
    /// The most one order may carry, if limited.
    pub maximum_quantity: Option<i64>,
    /// `YYYY-MM-DD`: the first day it may be delivered (today when absent).
    pub available_from: Option<String>,
    /// `YYYY-MM-DD`: the last day it may be delivered, if any.
    pub available_until: Option<String>,
}

/// Changes to a catalogue item; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct AuxiliaryItemChanges {
    /// A new name.
    pub name: Option<String>,
    /// A new description (empty clears it).
    pub description: Option<String>,
    /// A new pack size.
    pub pack_size: Option<i64>,
    /// A new minimum per order.
    pub minimum_quantity: Option<i64>,
    /// A new maximum per order, or none to lift it.
    pub maximum_quantity: Option<Option<i64>>,
    /// Withdraw or reinstate.
    pub active: Option<bool>,
    /// A new first delivery day (`YYYY-MM-DD`).
    pub available_from: Option<String>,
    /// A new last delivery day (`YYYY-MM-DD`), or none to lift it.
    pub available_until: Option<Option<String>>,
}

/// One item on a hub order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuxiliaryLine {
    /// The item's id.
    pub item_id: i64,
    /// The item's code.
    pub code: String,
    /// The item's name.
    pub name: String,
    /// How many.
    pub quantity: i64,
}

/// An item to put on an order, as asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewAuxiliaryLine {
    /// An item code.
    pub code: String,
    /// How many.
    pub quantity: i64,
}

/// The auxiliary equipment on one hub order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderAuxiliary {
    /// The order's id.
    pub order_id: i64,
    /// Its reference (`ORD…`).
    pub reference: String,
    /// The order's status name.
    pub status: String,
    /// The order's version (its `ETag`): changing the lines amends the order.
    pub version: i64,
    /// The items, by code.
    pub lines: Vec<AuxiliaryLine>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn item() -> AuxiliaryItem {
        let at = day("2026-12-01").and_time(chrono::NaiveTime::MIN);
        AuxiliaryItem {
            id: 1,
            code: "AUX-AERIAL".into(),
            name: "External aerial".into(),
            description: String::new(),
            pack_size: 5,
            minimum_quantity: 10,
            maximum_quantity: Some(50),
            active: true,
            available_from: day("2027-03-15"),
            available_until: Some(day("2027-08-31")),
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    fn broken(item: &AuxiliaryItem, quantity: i64, month: &str) -> Vec<String> {
        let mut errors = ValidationErrors::default();
        item.check("q", quantity, Month::parse(month), &mut errors);
        errors.0.into_iter().map(|e| e.message).collect()
    }

    #[test]
    fn a_quantity_inside_every_limit_passes() {
        assert!(broken(&item(), 25, "2027-05").is_empty());
        assert!(broken(&item(), 10, "2027-03").is_empty());
        assert!(broken(&item(), 50, "2027-08").is_empty());
    }

    #[test]
    fn every_rule_broken_is_named() {
        let mut withdrawn = item();
        withdrawn.active = false;
        let messages = broken(&withdrawn, 7, "2027-09");
        for rule in ["withdrawn", "availability", "minimum order", "pack size"] {
            assert!(
                messages.iter().any(|m| m.contains(rule)),
                "{rule}: {messages:?}"
            );
        }
        let messages = broken(&item(), 55, "2027-02");
        assert!(
            messages.iter().any(|m| m.contains("maximum order")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("from 2027-03-15 until 2027-08-31"))
        );
    }

    #[test]
    fn an_open_ended_item_is_available_from_its_first_month_on() {
        let mut open = item();
        open.available_until = None;
        assert!(open.available_in(Month::parse("2030-01").unwrap()));
        assert!(!open.available_in(Month::parse("2027-02").unwrap()));
    }
}
