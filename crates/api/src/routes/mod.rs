//! The `/api/v1` routes, grouped by resource. Handlers are thin: extract, call the context with
//! the caller's principal, map the result.

pub(crate) mod attachments;
pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod catalogue;
pub(crate) mod dto;
pub(crate) mod groups;
pub(crate) mod hubs;
pub(crate) mod hubs_auxiliary;
pub(crate) mod hubs_delivery;
pub(crate) mod hubs_orders;
pub(crate) mod hubs_returns;
pub(crate) mod incidents;
pub(crate) mod organisations;
pub(crate) mod report_subscriptions;
pub(crate) mod reports;
pub(crate) mod requests;
pub(crate) mod tokens;
pub(crate) mod users;
pub(crate) mod webhooks;

use actix_web::web;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .configure(auth::configure)
            .configure(organisations::configure)
            .configure(users::configure)
            .configure(tokens::configure)
            .configure(audit::configure)
            .configure(incidents::configure)
            .configure(hubs::configure)
            .configure(hubs_auxiliary::configure)
            .configure(catalogue::configure)
            .configure(requests::configure)
            .configure(reports::configure)
            .configure(report_subscriptions::configure)
            .configure(webhooks::configure)
            .configure(groups::configure),
    );
}
