//! Integration tests of the API's request handling: the real middleware stack and extractors
//! over an in-process service, on a real (migrated) database.

mod errors;
mod rate_limit;
mod support;
mod webhooks;
