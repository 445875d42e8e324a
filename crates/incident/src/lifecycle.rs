//! The incident lifecycle as data: every allowed transition in one table, each with the kind of
//! caller that may make it. Code, tests and the OpenAPI description all read this table.

use serde::{Deserialize, Serialize};

dsms_core::text_enum! {
    /// Where an incident stands.
    Status {
        /// Raised, not yet triaged.
        New => "new",
        /// Given to a resolver group or person.
        Assigned => "assigned",
        /// Being worked.
        InProgress => "in_progress",
        /// Waiting on the raising organisation; SLA clocks pause.
        AwaitingUser => "awaiting_user",
        /// Fixed; the raiser may confirm or reopen within the reopen window.
        Resolved => "resolved",
        /// Finished for good: confirmed, or the reopen window passed.
        Closed => "closed",
        /// Withdrawn: raised in error or a duplicate.
        Cancelled => "cancelled",
    }
}

/// Who may make a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mover {
    /// The service desk (people with the work-incidents permission).
    Desk,
    /// The raising organisation (its people or systems that may raise incidents).
    Raiser,
    /// The system itself (automatic closure after the reopen window).
    System,
}

/// One allowed transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// From.
    pub from: Status,
    /// To.
    pub to: Status,
    /// Who may.
    pub by: &'static [Mover],
}

use Mover::{Desk, Raiser, System};
use Status::{Assigned, AwaitingUser, Cancelled, Closed, InProgress, New, Resolved};

/// Every allowed transition. Reopening (resolved → in progress) by the raiser is further
/// limited to the reopen window; closed and cancelled are final (a repeat fault is a new
/// incident linked to the old one).
pub const TRANSITIONS: &[Transition] = &[
    Transition {
        from: New,
        to: Assigned,
        by: &[Desk],
    },
    Transition {
        from: New,
        to: InProgress,
        by: &[Desk],
    },
    Transition {
        from: New,
        to: AwaitingUser,
        by: &[Desk],
    },
    Transition {
        from: New,
        to: Resolved,
        by: &[Desk],
    },
    Transition {
        from: New,
        to: Cancelled,
        by: &[Desk, Raiser],
    },
    Transition {
        from: Assigned,
        to: InProgress,
        by: &[Desk],
    },
    Transition {
        from: Assigned,
        to: AwaitingUser,
        by: &[Desk],
    },
    Transition {
        from: Assigned,
        to: Resolved,
        by: &[Desk],
    },
    Transition {
        from: Assigned,
        to: Cancelled,
        by: &[Desk, Raiser],
    },
    Transition {
        from: InProgress,
        to: Assigned,
        by: &[Desk],
    },
    Transition {
        from: InProgress,
        to: AwaitingUser,
        by: &[Desk],
    },
    Transition {
        from: InProgress,
        to: Resolved,
        by: &[Desk],
    },
    Transition {
        from: InProgress,
        to: Cancelled,
        by: &[Desk],
    },
    Transition {
        from: AwaitingUser,
        to: InProgress,
        by: &[Desk, Raiser],
    },
    Transition {
        from: AwaitingUser,
        to: Resolved,
        by: &[Desk],
    },
    Transition {
        from: AwaitingUser,
        to: Cancelled,
        by: &[Desk, Raiser],
    },
    Transition {
        from: Resolved,
        to: InProgress,
        by: &[Desk, Raiser],
    },
    Transition {
        from: Resolved,
        to: Closed,
        by: &[Raiser, System],
    },
];

/// The statuses `mover` may move an incident to from `from`.
pub fn allowed(from: Status, mover: Mover) -> Vec<Status> {
    TRANSITIONS
        .iter()
        .filter(|t| t.from == from && t.by.contains(&mover))
        .map(|t| t.to)
        .collect()
}

/// True when `mover` may move an incident from `from` to `to`.
pub fn may(from: Status, to: Status, mover: Mover) -> bool {
    TRANSITIONS
        .iter()
        .any(|t| t.from == from && t.to == to && t.by.contains(&mover))
}

impl Status {
    /// Open incidents still need work (or confirmation).
    pub fn is_open(self) -> bool {
        !matches!(self, Closed | Cancelled)
    }

    /// True while the operator's resolution clock does not run.
    pub fn pauses_clock(self) -> bool {
        matches!(self, AwaitingUser)
    }
}

impl dsms_core::TicketStatus for Status {
    const EVERY: &'static [Self] = Status::ALL;

    fn name(self) -> &'static str {
        self.as_str()
    }

    fn named(text: &str) -> Option<Self> {
        Status::parse(text)
    }

    fn open(self) -> bool {
        self.is_open()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_and_cancelled_are_final() {
        for mover in [Desk, Raiser, System] {
            assert!(allowed(Closed, mover).is_empty());
            assert!(allowed(Cancelled, mover).is_empty());
        }
    }

    #[test]
    fn only_the_desk_resolves_and_only_the_raiser_or_system_closes() {
        for t in TRANSITIONS {
            if t.to == Resolved {
                assert_eq!(t.by, &[Desk], "{:?}", t.from);
            }
            if t.to == Closed {
                assert!(!t.by.contains(&Desk));
            }
        }
    }

    #[test]
    fn the_raiser_may_reopen_confirm_or_answer_but_not_work() {
        assert_eq!(allowed(Resolved, Raiser), [InProgress, Closed]);
        assert_eq!(allowed(AwaitingUser, Raiser), [InProgress, Cancelled]);
        assert!(!may(New, Resolved, Raiser));
        assert!(may(New, Cancelled, Raiser));
    }

    #[test]
    fn every_transition_is_unique() {
        for (i, a) in TRANSITIONS.iter().enumerate() {
            for b in &TRANSITIONS[i + 1..] {
                assert!(
                    !(a.from == b.from && a.to == b.to),
                    "{:?} -> {:?} twice",
                    a.from,
                    a.to
                );
            }
        }
    }
}
