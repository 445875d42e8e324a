//! The ordering rules of `domain.md` ("Communications hubs") as data: every window, limit,
//! tolerance and charge is a parameter of a [`RuleSet`], and [`HubRules`] holds dated rule sets
//! so that temporary rules can come into force (and lapse) without a code change. An action is
//! judged by the rule set in force on the day it happens (Europe/London).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use dsms_core::calendar::BusinessCalendar;

use crate::month::Month;

/// What a returned hub costs or earns, in pence (the SEC's 2023 figures by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturnCharges {
    /// Charged for a hub returned without a confirmed fault that can be redeployed.
    pub redeployable_pence: i64,
    /// A single-band hub that cannot be redeployed: charged when the fault is not confirmed,
    /// credited when it is.
    pub single_band_pence: i64,
    /// A dual-band hub that cannot be redeployed: charged or credited likewise.
    pub dual_band_pence: i64,
}

/// One set of ordering rules, in force from `effective_from` until the next set's date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    /// The first day these rules apply.
    pub effective_from: NaiveDate,
    /// A forecast covers this many months, starting with the month after it is submitted.
    pub forecast_horizon_months: u32,
    /// A forecast is due each month by this working day of the month.
    pub forecast_due_working_day: u32,
    /// An order is placed at least this many months before its delivery month.
    pub order_lead_time_months: u32,
    /// Quantities are whole multiples of this.
    pub pack_size: i64,
    /// The smallest order.
    pub minimum_quantity: i64,
    /// Orders for a month and variant total at least this percentage of the forecast in force.
    pub tolerance_min_percent: i64,
    /// ... and at most this percentage.
    pub tolerance_max_percent: i64,
    /// Orders may be amended or cancelled until this many months before the delivery month.
    pub amendment_cutoff_months: u32,
    /// The receiver confirms a delivery within this many working days of its delivery date.
    pub confirmation_window_working_days: u32,
    /// A planned consignment may be moved or resized until this many working days before its
    /// delivery date.
    pub consignment_amendment_cutoff_working_days: u32,
    /// What returned hubs cost or earn.
    pub return_charges: ReturnCharges,
}

impl Default for RuleSet {
    /// The defaults of `domain.md`, in force since long ago.
    fn default() -> Self {
        Self {
            effective_from: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default(),
            forecast_horizon_months: 24,
            forecast_due_working_day: 1,
            order_lead_time_months: 4,
            pack_size: 10,
            minimum_quantity: 10,
            tolerance_min_percent: 50,
            tolerance_max_percent: 120,
            amendment_cutoff_months: 3,
            confirmation_window_working_days: 5,
            consignment_amendment_cutoff_working_days: 2,
            return_charges: ReturnCharges {
                redeployable_pence: 827,
                single_band_pence: 3087,
                dual_band_pence: 5875,
            },
        }
    }
}

impl RuleSet {
    /// The last day an order for `month` may be placed: `order_lead_time_months` before it.
    pub fn order_deadline(&self, month: Month) -> NaiveDate {
        month.minus(self.order_lead_time_months).first_day()
    }

    /// The order cut-off of `month`: from this day its orders are firm, and the forecast in
    /// force for it is the latest submitted before this day.
    pub fn cutoff(&self, month: Month) -> NaiveDate {
        month.minus(self.amendment_cutoff_months).first_day()
    }

    /// The furthest delivery month that may be ordered or forecast from `today`.
    pub fn horizon_end(&self, today: NaiveDate) -> Month {
        Month::of(today).plus(self.forecast_horizon_months)
    }

    /// The fewest and most hubs that may be ordered in total against a forecast of `forecast`.
    pub fn tolerance(&self, forecast: i64) -> (i64, i64) {
        let low = (forecast * self.tolerance_min_percent + 99) / 100;
        let high = forecast * self.tolerance_max_percent / 100;
        (low, high)
    }

    /// Checks a quantity against the pack size and minimum, naming each rule broken.
    pub fn check_quantity(
        &self,
        field: &str,
        quantity: i64,
        errors: &mut dsms_core::ValidationErrors,
    ) {
        if quantity < self.minimum_quantity {
            errors.push(
                field,
                format!(
                    "minimum order: must be at least {} hubs",
                    self.minimum_quantity
                ),
            );
        }
        if self.pack_size > 0 && quantity % self.pack_size != 0 {
            errors.push(
                field,
                format!(
                    "pack size: must be a whole multiple of {} (hubs come in packs of {})",
                    self.pack_size, self.pack_size
                ),
            );
        }
    }
}

/// The dated rule sets and the calendar their working days are counted in.
#[derive(Debug, Clone)]
pub struct HubRules {
    sets: Vec<RuleSet>,
    calendar: BusinessCalendar,
}

impl Default for HubRules {
    fn default() -> Self {
        Self {
            sets: vec![RuleSet::default()],
            calendar: BusinessCalendar::england_and_wales(),
        }
    }
}

impl HubRules {
    /// Rule sets (in any order) over `calendar`; refuses an empty list, two sets from the same
    /// day, and parameters that cannot work, naming the set's date.
    pub fn new(mut sets: Vec<RuleSet>, calendar: BusinessCalendar) -> Result<Self, String> {
        if sets.is_empty() {
            return Err("at least one rule set is needed".into());
        }
        sets.sort_by_key(|s| s.effective_from);
        for pair in sets.windows(2) {
            if pair[0].effective_from == pair[1].effective_from {
                return Err(format!(
                    "two rule sets take effect on {}",
                    pair[0].effective_from
                ));
            }
        }
        for s in &sets {
            let at = s.effective_from;
            let fail = |what: &str| Err(format!("the rule set from {at}: {what}"));
            if s.forecast_horizon_months == 0 || s.forecast_horizon_months > 120 {
                return fail("forecast_horizon_months must be 1 to 120");
            }
            if !(1..=20).contains(&s.forecast_due_working_day) {
                return fail("forecast_due_working_day must be 1 to 20");
            }
            if s.pack_size < 1 || s.minimum_quantity < 1 {
                return fail("pack_size and minimum_quantity must be at least 1");
            }
            if s.tolerance_min_percent < 0 || s.tolerance_max_percent < s.tolerance_min_percent {
                return fail("tolerance must be 0 <= min_percent <= max_percent");
            }
            if s.amendment_cutoff_months > s.order_lead_time_months {
                return fail("amendment_cutoff_months must not exceed order_lead_time_months");
            }
            if s.order_lead_time_months > s.forecast_horizon_months {
                return fail("order_lead_time_months must not exceed forecast_horizon_months");
            }
            if s.confirmation_window_working_days == 0 {
                return fail("confirmation_window_working_days must be at least 1");
            }
            let c = s.return_charges;
            if c.redeployable_pence < 0 || c.single_band_pence < 0 || c.dual_band_pence < 0 {
                return fail("return charges must not be negative");
            }
        }
        Ok(Self { sets, calendar })
    }

    /// The rule set in force on `day` (the earliest set for days before any took effect).
    pub fn in_force(&self, day: NaiveDate) -> &RuleSet {
        self.sets
            .iter()
            .rev()
            .find(|s| s.effective_from <= day)
            .unwrap_or(&self.sets[0])
    }

    /// Every rule set, oldest first.
    pub fn sets(&self) -> &[RuleSet] {
        &self.sets
    }

    /// The calendar working days are counted in.
    pub fn calendar(&self) -> &BusinessCalendar {
        &self.calendar
    }

    /// The day forecasts made in `cycle` (a calendar month) are due: its Nth working day.
    pub fn forecast_due(&self, cycle: Month) -> NaiveDate {
        let rules = self.in_force(cycle.first_day());
        self.calendar
            .nth_working_day(cycle.year(), cycle.number(), rules.forecast_due_working_day)
            .unwrap_or(cycle.last_day())
    }

    /// The last day a planned consignment for `delivery_date` may be amended: `working_days`
    /// working days before it (the delivery date itself when zero).
    pub fn consignment_amendment_deadline(
        &self,
        delivery_date: NaiveDate,
        working_days: u32,
    ) -> NaiveDate {
        let mut day = delivery_date;
        let mut counted = 0;
        while counted < working_days {
            day = day.pred_opt().unwrap_or(day);
            if self.calendar.is_working_day(day) {
                counted += 1;
            }
            if delivery_date - day > Duration::days(3660) {
                break;
            }
        }
        day
    }

    /// The last day a delivery on `delivered_on` may be confirmed: the Nth working day after it.
    pub fn confirmation_deadline(&self, delivered_on: NaiveDate, window_days: u32) -> NaiveDate {
        let mut day = delivered_on;
        let mut counted = 0;
        while counted < window_days {
            day = day.succ_opt().unwrap_or(day);
            if self.calendar.is_working_day(day) {
                counted += 1;
            }
            if day - delivered_on > Duration::days(3660) {
                break;
            }
        }
        day
    }
}

/// The day in Great Britain at `now`: rule windows are counted in local calendar days.
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&chrono_tz::Europe::London).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_rule_set_in_force_is_the_latest_that_has_taken_effect() {
        let temporary = RuleSet {
            effective_from: date("2027-03-01"),
            pack_size: 20,
            ..RuleSet::default()
        };
        let rules = HubRules::new(
            vec![temporary, RuleSet::default()],
            BusinessCalendar::england_and_wales(),
        )
        .unwrap();
        assert_eq!(rules.in_force(date("2027-02-28")).pack_size, 10);
        assert_eq!(rules.in_force(date("2027-03-01")).pack_size, 20);
        assert_eq!(rules.in_force(date("2019-01-01")).pack_size, 10);
    }

    #[test]
    fn windows_are_counted_back_from_the_delivery_month() {
        let rules = RuleSet::default();
        let may = Month::parse("2027-05").unwrap();
        assert_eq!(rules.order_deadline(may), date("2027-01-01"));
        assert_eq!(rules.cutoff(may), date("2027-02-01"));
        assert_eq!(rules.tolerance(200), (100, 240));
        assert_eq!(rules.tolerance(15), (8, 18));
    }

    #[test]
    fn forecasts_fall_due_on_the_first_working_day_and_confirmations_count_working_days() {
        let rules = HubRules::default();
        // 1 January 2027 is a bank holiday (a Friday); the first working day is Monday the 4th.
        assert_eq!(
            rules.forecast_due(Month::parse("2027-01").unwrap()),
            date("2027-01-04")
        );
        // Delivered Friday 7 May 2027: five working days later is Friday 14 May.
        assert_eq!(
            rules.confirmation_deadline(date("2027-05-07"), 5),
            date("2027-05-14")
        );
        // Delivery Tuesday 1 June 2027: two working days before skips the Spring bank holiday
        // (Monday 31 May) and the weekend, to Thursday 27 May.
        assert_eq!(
            rules.consignment_amendment_deadline(date("2027-06-01"), 2),
            date("2027-05-27")
        );
        assert_eq!(
            rules.consignment_amendment_deadline(date("2027-06-01"), 0),
            date("2027-06-01")
        );
    }

    #[test]
    fn unworkable_rule_sets_are_refused() {
        let calendar = BusinessCalendar::england_and_wales;
        assert!(HubRules::new(Vec::new(), calendar()).is_err());
        let twice = vec![RuleSet::default(), RuleSet::default()];
        assert!(HubRules::new(twice, calendar()).is_err());
        let bad = RuleSet {
            tolerance_min_percent: 130,
            ..RuleSet::default()
        };
        assert!(
            HubRules::new(vec![bad], calendar())
                .unwrap_err()
                .contains("tolerance")
        );
    }
}
