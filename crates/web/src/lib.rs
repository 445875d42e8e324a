//! The dsms web UI: server-rendered HTML pages for people using a browser, with the templates
//! and the stylesheet compiled into the binary. So far it lets a person sign in with a password
//! and a phone authenticator (enrolling one with a QR code on first sign-in), see their account,
//! change their password and sign out, and it serves the pages behind the emailed links (choosing
//! a first password through an invitation, resetting a forgotten one); the full UI grows from the
//! same layout, one module per group of pages.
//!
//! Pages are thin: they read a form, call a context crate (today `dsms-auth`'s `Identity`) on a
//! blocking thread, and render the result. This crate must not depend on diesel nor contain SQL
//! (it names `dsms-store`'s plain audit-log types, never its connections): storage is reached
//! only through the context crates. It is mounted into the API's application
//! (`dsms_api::app(..).configure(dsms_web::configure)`) so that it shares its state, middleware
//! and request ids.

mod account;
mod admin;
mod assets;
mod charts;
mod cookies;
mod csrf;
mod dashboard;
mod desk;
mod hubs;
mod incident_page;
mod labels;
mod links;
mod nav;
mod page;
mod portal;
mod reports;
mod requests;
mod session;
mod signin;
mod site;
mod upload;

use actix_web::web;

/// Mounts every page of the web UI and its static assets.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(assets::configure)
        .configure(signin::configure)
        .configure(links::configure)
        .configure(account::configure)
        .configure(portal::configure)
        .configure(admin::configure)
        .configure(desk::configure)
        .configure(incident_page::configure)
        .configure(dashboard::configure)
        .configure(reports::configure)
        .configure(requests::configure)
        .configure(hubs::configure);
}
