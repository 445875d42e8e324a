//! Service requests in the web UI. For organisations' people: the catalogue items they may
//! request (`/portal/catalogue`), a form per item rendered from its form version's typed fields,
//! and their organisation's requests (`/portal/requests`). For the service desk: the requests
//! queues (`/desk/requests`). For both: the request's own page (`/requests/{reference}`) with
//! its answers, approvals, tasks and one timeline, and the actions the viewer may take there.
//! Everything goes through `dsms_service_request::ServiceRequests`, which decides visibility
//! (another organisation's request is 404), who may decide an approval step and which status
//! moves the lifecycle allows.

mod answers;
mod catalogue;
mod lists;
mod page;

use actix_web::web;
use dsms_service_request::{Approver, Status};

/// Mounts the service-request pages.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(catalogue::configure)
        .configure(lists::configure)
        .configure(page::configure);
}

/// A status as people read it.
pub(crate) fn status_name(status: Status) -> &'static str {
    match status {
        Status::Submitted => "Submitted",
        Status::AwaitingApproval => "Awaiting approval",
        Status::Approved => "Approved",
        Status::Rejected => "Rejected",
        Status::InFulfilment => "In fulfilment",
        Status::Fulfilled => "Fulfilled",
        Status::Closed => "Closed",
        Status::Cancelled => "Cancelled",
    }
}

/// Who decides an approval step, as people read it.
pub(crate) fn approver_name(approver: Approver) -> &'static str {
    match approver {
        Approver::OrganisationAdmin => "The organisation's administrator",
        Approver::Operator => "The service desk's managers",
    }
}

/// Who approves an item's requests, in order, in one sentence.
pub(crate) fn approval_route(approvers: &[Approver]) -> String {
    match approvers {
        [] => "No approval is needed.".to_owned(),
        [only] => format!("{} approves it.", approver_name(*only)),
        [first, rest @ ..] => {
            let then: Vec<String> = rest
                .iter()
                .map(|a| approver_name(*a).to_lowercase())
                .collect();
            format!(
                "{} approves it, then {}.",
                approver_name(*first),
                then.join(", then ")
            )
        }
    }
}

/// Percent-encodes a query value.
pub(crate) fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_approval_route_reads_in_order() {
        assert_eq!(approval_route(&[]), "No approval is needed.");
        assert_eq!(
            approval_route(&[Approver::OrganisationAdmin, Approver::Operator]),
            "The organisation's administrator approves it, then the service desk's managers."
        );
    }
}
