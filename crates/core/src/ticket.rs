//! What every ticket lifecycle (incidents, service requests) shares: choosing statuses to list.

use crate::ValidationErrors;

/// A ticket's status: one of a fixed set, each either open (work to do) or not.
pub trait TicketStatus: Copy + 'static {
    /// Every status.
    const EVERY: &'static [Self];
    /// The status's name in the API.
    fn name(self) -> &'static str;
    /// The status called `text`, if there is one.
    fn named(text: &str) -> Option<Self>;
    /// Whether work on the ticket is still to do.
    fn open(self) -> bool;
}

/// The status names a list filter asks for: each name given, with `open` standing for every open
/// status; an unknown name is reported against the `status` field.
pub fn status_filter<S: TicketStatus>(
    given: &[String],
    errors: &mut ValidationErrors,
) -> Vec<String> {
    let mut statuses = Vec::new();
    for name in given {
        if name == "open" {
            statuses.extend(
                S::EVERY
                    .iter()
                    .filter(|s| s.open())
                    .map(|s| s.name().to_owned()),
            );
        } else if let Some(status) = S::named(name) {
            statuses.push(status.name().to_owned());
        } else {
            let names: Vec<&str> = S::EVERY.iter().map(|s| s.name()).collect();
            errors.push(
                "status",
                format!(
                    "unknown status {name:?}; expected open or one of {}",
                    names.join(", ")
                ),
            );
        }
    }
    statuses
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Door {
        Ajar,
        Shut,
    }

    impl TicketStatus for Door {
        const EVERY: &'static [Self] = &[Door::Ajar, Door::Shut];

        fn name(self) -> &'static str {
            match self {
                Door::Ajar => "ajar",
                Door::Shut => "shut",
            }
        }

        fn named(text: &str) -> Option<Self> {
            Self::EVERY.iter().copied().find(|d| d.name() == text)
        }

        fn open(self) -> bool {
            self == Door::Ajar
        }
    }

    #[test]
    fn open_stands_for_every_open_status_and_unknown_names_are_reported() {
        let mut errors = ValidationErrors::default();
        let given = ["open", "shut", "wide"].map(String::from);
        assert_eq!(status_filter::<Door>(&given, &mut errors), ["ajar", "shut"]);
        assert_eq!(errors.0.len(), 1);
        assert_eq!(errors.0[0].field, "status");
        assert!(
            errors.0[0]
                .message
                .contains("expected open or one of ajar, shut")
        );
    }
}
