//! Integration tests of the web UI: the production application (API middleware and routes plus
//! the pages) in-process on a real, migrated database, driven like a browser driven by a person
//! with a phone authenticator.

mod account;
mod admin;
mod desk;
mod forms;
mod headers;
mod hubs;
mod incident_page;
mod links;
mod portal;
mod reports;
mod request_files;
mod requests;
mod sign_in;
mod support;
