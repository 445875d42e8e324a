//! Impact × urgency → priority (the SEC's incident category, 1 the most severe), through a
//! configurable matrix.

use serde::{Deserialize, Serialize};

use dsms_core::FieldError;

/// How widely an incident affects the service, 1 (extensive) to 4 (minor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Impact(u8);

/// How quickly it must be dealt with, 1 (critical) to 4 (low).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Urgency(u8);

/// The incident category of severity, 1 (most severe) to 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Priority(u8);

macro_rules! bounded {
    ($name:ident, $field:literal, $max:literal) => {
        impl $name {
            /// Parses a value, naming the field when it is out of range.
            pub fn parse(value: i64) -> Result<Self, FieldError> {
                if (1..=$max).contains(&value) {
                    Ok(Self(value as u8))
                } else {
                    Err(FieldError::new(
                        $field,
                        concat!("must be a whole number from 1 to ", $max),
                    ))
                }
            }

            /// The number.
            pub fn get(self) -> u8 {
                self.0
            }
        }

        impl TryFrom<i64> for $name {
            type Error = String;

            fn try_from(value: i64) -> Result<Self, String> {
                Self::parse(value).map_err(|e| e.message)
            }
        }

        impl From<$name> for i64 {
            fn from(value: $name) -> i64 {
                i64::from(value.0)
            }
        }
    };
}

bounded!(Impact, "impact", 4);
bounded!(Urgency, "urgency", 4);
bounded!(Priority, "priority", 5);

impl Impact {
    /// The least impact (4).
    pub const LOWEST: Self = Self(4);
}

impl Urgency {
    /// The least urgency (4).
    pub const LOWEST: Self = Self(4);
}

impl Priority {
    /// The least severe priority (5).
    pub const LOWEST: Self = Self(5);
}

/// The table from impact and urgency to priority: `rows[impact - 1][urgency - 1]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityMatrix {
    rows: [[Priority; 4]; 4],
}

impl Default for PriorityMatrix {
    /// Priority 1 only for extensive impact that is critical; minor and low lands at 5.
    fn default() -> Self {
        let p = Priority;
        Self {
            rows: [
                [p(1), p(2), p(3), p(4)],
                [p(2), p(3), p(3), p(4)],
                [p(3), p(3), p(4), p(5)],
                [p(4), p(4), p(5), p(5)],
            ],
        }
    }
}

impl PriorityMatrix {
    /// A matrix from configuration: four rows (impact 1 to 4) of four priorities (urgency 1
    /// to 4), each 1 to 5.
    pub fn from_rows(rows: &[Vec<i64>]) -> Result<Self, String> {
        if rows.len() != 4 || rows.iter().any(|r| r.len() != 4) {
            return Err("must be 4 rows (impact 1-4) of 4 priorities (urgency 1-4)".into());
        }
        let mut matrix = Self::default();
        for (i, row) in rows.iter().enumerate() {
            for (u, value) in row.iter().enumerate() {
                matrix.rows[i][u] = Priority::parse(*value)
                    .map_err(|e| format!("impact {} urgency {}: {}", i + 1, u + 1, e.message))?;
            }
        }
        Ok(matrix)
    }

    /// The priority of an incident with this impact and urgency.
    pub fn priority(&self, impact: Impact, urgency: Urgency) -> Priority {
        self.rows[usize::from(impact.0 - 1)][usize::from(urgency.0 - 1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_matrix_gives_priority_one_only_to_extensive_critical_incidents() {
        let m = PriorityMatrix::default();
        let p = |i, u| {
            m.priority(Impact::parse(i).unwrap(), Urgency::parse(u).unwrap())
                .get()
        };
        assert_eq!(p(1, 1), 1);
        assert_eq!(p(1, 2), 2);
        assert_eq!(p(2, 1), 2);
        assert_eq!(p(4, 4), 5);
        let ones = (1..=4)
            .flat_map(|i| (1..=4).map(move |u| (i, u)))
            .filter(|(i, u)| p(*i, *u) == 1)
            .count();
        assert_eq!(ones, 1);
    }

    #[test]
    fn configured_matrices_are_checked() {
        let rows = vec![vec![1, 1, 1, 1]; 4];
        let m = PriorityMatrix::from_rows(&rows).unwrap();
        assert_eq!(
            m.priority(Impact::parse(4).unwrap(), Urgency::parse(4).unwrap())
                .get(),
            1
        );
        assert!(PriorityMatrix::from_rows(&rows[..3]).is_err());
        assert!(
            PriorityMatrix::from_rows(&[vec![1, 2, 3, 6], vec![1; 4], vec![1; 4], vec![1; 4]])
                .unwrap_err()
                .contains("urgency 4")
        );
    }

    #[test]
    fn out_of_range_values_name_their_field() {
        assert_eq!(Impact::parse(0).unwrap_err().field, "impact");
        assert_eq!(Urgency::parse(5).unwrap_err().field, "urgency");
        assert_eq!(Priority::parse(6).unwrap_err().field, "priority");
        assert!(serde_json::from_str::<Impact>("7").is_err());
    }
}
