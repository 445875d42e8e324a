//! The service-request lifecycle as data: every allowed transition in one table, each with the
//! kind of caller that may make it. Code, tests and the OpenAPI description all read this table.

use serde::{Deserialize, Serialize};

dsms_core::text_enum! {
    /// Where a service request stands.
    Status {
        /// Raised; needs no approval and waits for the service desk to fulfil it.
        Submitted => "submitted",
        /// Waiting for its approval steps, in order.
        AwaitingApproval => "awaiting_approval",
        /// Every approval step approved; waits for the service desk to fulfil it.
        Approved => "approved",
        /// Refused at an approval step. Final.
        Rejected => "rejected",
        /// The service desk is working its fulfilment tasks.
        InFulfilment => "in_fulfilment",
        /// Every fulfilment task is done.
        Fulfilled => "fulfilled",
        /// Confirmed by the raiser or closed by the service desk. Final.
        Closed => "closed",
        /// Withdrawn before it was fulfilled. Final.
        Cancelled => "cancelled",
    }
}

/// Who may make a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mover {
    /// The service desk (people with the work-requests permission).
    Desk,
    /// The raising organisation (its people or systems that may raise requests).
    Raiser,
    /// Whoever decides the approval step due (see `POST …/approvals`).
    Approver,
    /// The system itself (fulfilled once the last task is done).
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

use Mover::{Approver, Desk, Raiser, System};
use Status::{
    Approved, AwaitingApproval, Cancelled, Closed, Fulfilled, InFulfilment, Rejected, Submitted,
};

/// Every allowed transition. A request needing approval starts `awaiting_approval`, any other
/// `submitted`. Approval moves on only when the last step approves; completing a task of a
/// request not yet in fulfilment starts its fulfilment.
pub const TRANSITIONS: &[Transition] = &[
    Transition {
        from: Submitted,
        to: InFulfilment,
        by: &[Desk],
    },
    Transition {
        from: Submitted,
        to: Cancelled,
        by: &[Desk, Raiser],
    },
    Transition {
        from: AwaitingApproval,
        to: Approved,
        by: &[Approver],
    },
    Transition {
        from: AwaitingApproval,
        to: Rejected,
        by: &[Approver],
    },
    Transition {
        from: AwaitingApproval,
        to: Cancelled,
        by: &[Desk, Raiser],
    },
    Transition {
        from: Approved,
        to: InFulfilment,
        by: &[Desk],
    },
    Transition {
        from: Approved,
        to: Cancelled,
        by: &[Desk, Raiser],
    },
    Transition {
        from: InFulfilment,
        to: Fulfilled,
        by: &[System],
    },
    Transition {
        from: InFulfilment,
        to: Cancelled,
        by: &[Desk],
    },
    Transition {
        from: Fulfilled,
        to: Closed,
        by: &[Desk, Raiser],
    },
];

/// The statuses `mover` may move a request to from `from`.
pub fn allowed(from: Status, mover: Mover) -> Vec<Status> {
    TRANSITIONS
        .iter()
        .filter(|t| t.from == from && t.by.contains(&mover))
        .map(|t| t.to)
        .collect()
}

/// True when `mover` may move a request from `from` to `to`.
pub fn may(from: Status, to: Status, mover: Mover) -> bool {
    TRANSITIONS
        .iter()
        .any(|t| t.from == from && t.to == to && t.by.contains(&mover))
}

impl Status {
    /// Open requests still need something from someone.
    pub fn is_open(self) -> bool {
        !matches!(self, Rejected | Closed | Cancelled)
    }

    /// True once nothing more can happen to the request's fulfilment (its SLA clock stops).
    pub fn is_settled(self) -> bool {
        matches!(self, Rejected | Fulfilled | Closed | Cancelled)
    }

    /// True while the service desk may complete fulfilment tasks.
    pub fn accepts_task_work(self) -> bool {
        matches!(self, Submitted | Approved | InFulfilment)
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
    fn rejected_closed_and_cancelled_are_final() {
        for mover in [Desk, Raiser, Approver, System] {
            for status in [Rejected, Closed, Cancelled] {
                assert!(allowed(status, mover).is_empty(), "{status} by {mover:?}");
            }
        }
    }

    #[test]
    fn only_approvers_approve_or_reject_and_only_the_system_fulfils() {
        for t in TRANSITIONS {
            if matches!(t.to, Approved | Rejected) {
                assert_eq!(t.by, &[Approver]);
            }
            if t.to == Fulfilled {
                assert_eq!(t.by, &[System]);
            }
        }
    }

    #[test]
    fn the_raiser_may_cancel_until_fulfilment_starts_and_then_only_confirm() {
        assert!(may(Submitted, Cancelled, Raiser));
        assert!(may(AwaitingApproval, Cancelled, Raiser));
        assert!(may(Approved, Cancelled, Raiser));
        assert!(!may(InFulfilment, Cancelled, Raiser));
        assert_eq!(allowed(Fulfilled, Raiser), [Closed]);
    }

    #[test]
    fn every_transition_is_unique() {
        for (i, a) in TRANSITIONS.iter().enumerate() {
            for b in &TRANSITIONS[i + 1..] {
                assert!(
                    !(a.from == b.from && a.to == b.to),
                    "{:?} -> {:?}",
                    a.from,
                    a.to
                );
            }
        }
    }
}
