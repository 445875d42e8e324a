//! The small value types hub rules speak in: a delivery [`Month`] and a [`HubSerial`], each
//! parsed once from text and trusted afterwards.

use chrono::{Datelike, Months, NaiveDate};

/// A calendar month, e.g. a delivery month or a forecast month (`2027-05`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    first: NaiveDate,
}

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (year, month) = text.split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        let first = NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)?;
        Some(Self { first })
    }

    /// The month `date` falls in.
    pub fn of(date: NaiveDate) -> Self {
        Self {
            first: date.with_day(1).unwrap_or(date),
        }
    }

    /// Its first day.
    pub fn first_day(self) -> NaiveDate {
        self.first
    }

    /// Its last day.
    pub fn last_day(self) -> NaiveDate {
        self.plus(1).first.pred_opt().unwrap_or(self.first)
    }

    /// The month `n` months later.
    pub fn plus(self, n: u32) -> Self {
        Self {
            first: self
                .first
                .checked_add_months(Months::new(n))
                .unwrap_or(self.first),
        }
    }

    /// The month `n` months earlier.
    pub fn minus(self, n: u32) -> Self {
        Self {
            first: self
                .first
                .checked_sub_months(Months::new(n))
                .unwrap_or(self.first),
        }
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.first.year()
    }

    /// The month of the year, 1 to 12.
    pub fn number(self) -> u32 {
        self.first.month()
    }

    /// True when `date` falls in this month.
    pub fn contains(self, date: NaiveDate) -> bool {
        Self::of(date) == self
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.first.year(), self.first.month())
    }
}

/// A communications hub's serial number: 6 to 32 letters, digits and hyphens, starting with a
/// letter or digit, kept upper-case (`00-1B-C5-0C-00-00-0A-01`, `CH4G000123`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HubSerial(String);

/// What a serial number must look like, for error messages.
pub const SERIAL_RULE: &str = "must be a hub serial number: 6 to 32 letters, digits and hyphens, starting with a letter or digit";

impl HubSerial {
    /// Parses a serial number, ignoring surrounding space and case.
    pub fn parse(text: &str) -> Option<Self> {
        let serial = text.trim().to_ascii_uppercase();
        let bytes = serial.as_bytes();
        let ok = (6..=32).contains(&bytes.len())
            && bytes[0].is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-');
        ok.then_some(Self(serial))
    }

    /// The serial as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The serial as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_count() {
        let may = Month::parse("2027-05").unwrap();
        assert_eq!(may.to_string(), "2027-05");
        assert_eq!(may.minus(4).to_string(), "2027-01");
        assert_eq!(may.plus(8).to_string(), "2028-01");
        assert_eq!(
            may.last_day(),
            NaiveDate::from_ymd_opt(2027, 5, 31).unwrap()
        );
        assert!(may.contains(NaiveDate::from_ymd_opt(2027, 5, 31).unwrap()));
        for bad in ["2027-5", "2027-13", "27-05", "May 2027", ""] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn serials_are_normalised_and_checked() {
        assert_eq!(
            HubSerial::parse(" ch4g-000123 ").unwrap().as_str(),
            "CH4G-000123"
        );
        for bad in ["", "ABC", "-CH4G000123", "CH 4G 000123", &"A".repeat(33)] {
            assert_eq!(HubSerial::parse(bad), None, "{bad}");
        }
    }
}
