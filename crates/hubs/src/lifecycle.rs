//! The order and return lifecycles as data: every allowed transition in one table each, with
//! who may make it. Amending and cancelling are further limited to before the order cut-off.

use serde::{Deserialize, Serialize};

dsms_core::text_enum! {
    /// Where a hub order stands.
    OrderStatus {
        /// Placed by the supplier, awaiting the operator.
        Submitted => "submitted",
        /// Accepted by the operator, to be dispatched.
        Accepted => "accepted",
        /// Refused by the operator, with a reason.
        Rejected => "rejected",
        /// Changed by the supplier before the cut-off, awaiting the operator again.
        Amended => "amended",
        /// Withdrawn by the supplier before the cut-off.
        Cancelled => "cancelled",
        /// At least one consignment is on its way.
        Dispatched => "dispatched",
        /// Every hub was dispatched and every consignment confirmed by the receiver.
        Delivered => "delivered",
    }
}

dsms_core::text_enum! {
    /// Where a hub return stands.
    ReturnStatus {
        /// Asked for by the supplier.
        Requested => "requested",
        /// Authorised by the operator: the hubs may be sent.
        Authorised => "authorised",
        /// Collected from the supplier.
        Collected => "collected",
        /// Received at the operator's returns centre.
        Received => "received",
        /// Analysed: faults confirmed or not, charges and credits decided.
        Analysed => "analysed",
        /// Finished.
        Closed => "closed",
    }
}

dsms_core::text_enum! {
    /// Where a delivery discrepancy case stands.
    DiscrepancyStatus {
        /// Reported by the receiver, not yet looked at.
        Open => "open",
        /// The operator is looking into it.
        Investigating => "investigating",
        /// Settled with an outcome.
        Settled => "settled",
        /// Found without substance.
        Rejected => "rejected",
    }
}

dsms_core::text_enum! {
    /// How the operator settles a discrepancy case.
    DiscrepancyOutcome {
        /// The missing or damaged hubs are sent again in a replacement consignment.
        ReplacementConsignment => "replacement_consignment",
        /// The supplier is credited for them.
        Credit => "credit",
        /// Nothing is owed either way.
        NoAction => "no_action",
    }
}

/// Who may make a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mover {
    /// The ordering or returning organisation.
    Supplier,
    /// The operator's staff with the manage-hubs permission.
    Operator,
    /// The system itself (delivery once every consignment is confirmed).
    System,
}

/// One allowed transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition<S: 'static> {
    /// From.
    pub from: S,
    /// To.
    pub to: S,
    /// Who may.
    pub by: &'static [Mover],
}

use Mover::{Operator, Supplier, System};

/// Every allowed order transition. An amendment keeps or returns the order to `amended`
/// until the operator accepts it again.
pub const ORDER_TRANSITIONS: &[Transition<OrderStatus>] = {
    use OrderStatus::*;
    &[
        Transition {
            from: Submitted,
            to: Accepted,
            by: &[Operator],
        },
        Transition {
            from: Submitted,
            to: Rejected,
            by: &[Operator],
        },
        Transition {
            from: Submitted,
            to: Amended,
            by: &[Supplier],
        },
        Transition {
            from: Submitted,
            to: Cancelled,
            by: &[Supplier],
        },
        Transition {
            from: Amended,
            to: Accepted,
            by: &[Operator],
        },
        Transition {
            from: Amended,
            to: Rejected,
            by: &[Operator],
        },
        Transition {
            from: Amended,
            to: Amended,
            by: &[Supplier],
        },
        Transition {
            from: Amended,
            to: Cancelled,
            by: &[Supplier],
        },
        Transition {
            from: Accepted,
            to: Amended,
            by: &[Supplier],
        },
        Transition {
            from: Accepted,
            to: Cancelled,
            by: &[Supplier],
        },
        Transition {
            from: Accepted,
            to: Dispatched,
            by: &[Operator],
        },
        Transition {
            from: Dispatched,
            to: Delivered,
            by: &[System],
        },
    ]
};

/// Every allowed return transition: a straight line from request to closure.
pub const RETURN_TRANSITIONS: &[Transition<ReturnStatus>] = {
    use ReturnStatus::*;
    &[
        Transition {
            from: Requested,
            to: Authorised,
            by: &[Operator],
        },
        Transition {
            from: Authorised,
            to: Collected,
            by: &[Operator],
        },
        Transition {
            from: Collected,
            to: Received,
            by: &[Operator],
        },
        Transition {
            from: Received,
            to: Analysed,
            by: &[Operator],
        },
        Transition {
            from: Analysed,
            to: Closed,
            by: &[Operator],
        },
    ]
};

/// Every allowed discrepancy transition: the operator investigates, then settles or rejects.
pub const DISCREPANCY_TRANSITIONS: &[Transition<DiscrepancyStatus>] = {
    use DiscrepancyStatus::*;
    &[
        Transition {
            from: Open,
            to: Investigating,
            by: &[Operator],
        },
        Transition {
            from: Investigating,
            to: Settled,
            by: &[Operator],
        },
        Transition {
            from: Investigating,
            to: Rejected,
            by: &[Operator],
        },
    ]
};

/// The statuses `mover` may move something in `from` to.
pub fn allowed<S: Copy + PartialEq>(table: &[Transition<S>], from: S, mover: Mover) -> Vec<S> {
    table
        .iter()
        .filter(|t| t.from == from && t.by.contains(&mover))
        .map(|t| t.to)
        .collect()
}

/// True when `mover` may move something from `from` to `to`.
pub fn may<S: Copy + PartialEq>(table: &[Transition<S>], from: S, to: S, mover: Mover) -> bool {
    table
        .iter()
        .any(|t| t.from == from && t.to == to && t.by.contains(&mover))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_open_orders_may_be_amended_or_cancelled_by_the_supplier() {
        use OrderStatus::*;
        for status in OrderStatus::ALL {
            let open = matches!(status, Submitted | Accepted | Amended);
            assert_eq!(
                may(ORDER_TRANSITIONS, *status, Cancelled, Supplier),
                open,
                "{status}"
            );
            assert_eq!(
                may(ORDER_TRANSITIONS, *status, Amended, Supplier),
                open,
                "{status}"
            );
        }
        for last in [Rejected, Cancelled, Delivered] {
            assert!(allowed(ORDER_TRANSITIONS, last, Operator).is_empty());
            assert!(allowed(ORDER_TRANSITIONS, last, Supplier).is_empty());
        }
    }

    #[test]
    fn returns_move_one_step_at_a_time_and_only_the_operator_moves_them() {
        for status in ReturnStatus::ALL {
            assert!(allowed(RETURN_TRANSITIONS, *status, Supplier).is_empty());
            assert!(allowed(RETURN_TRANSITIONS, *status, Operator).len() <= 1);
        }
        assert!(allowed(RETURN_TRANSITIONS, ReturnStatus::Closed, Operator).is_empty());
    }

    #[test]
    fn discrepancies_are_investigated_before_they_are_settled_or_rejected() {
        use DiscrepancyStatus::*;
        for status in DiscrepancyStatus::ALL {
            assert!(allowed(DISCREPANCY_TRANSITIONS, *status, Supplier).is_empty());
        }
        assert_eq!(
            allowed(DISCREPANCY_TRANSITIONS, Open, Operator),
            vec![Investigating]
        );
        assert!(!may(DISCREPANCY_TRANSITIONS, Open, Settled, Operator));
        assert_eq!(
            allowed(DISCREPANCY_TRANSITIONS, Investigating, Operator),
            vec![Settled, Rejected]
        );
        for last in [Settled, Rejected] {
            assert!(allowed(DISCREPANCY_TRANSITIONS, last, Operator).is_empty());
        }
    }
}
