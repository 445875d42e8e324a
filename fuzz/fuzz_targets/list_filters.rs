//! The list and search syntax of the API's query strings: page cursors and limits
//! (dsms-core), comma-separated status filters for incidents and service requests, token scope
//! patterns and email addresses. Never a panic; what parses keeps its promises.
#![no_main]

use dsms_core::{Email, MAX_LIMIT, PageRequest, Scope, ValidationErrors, status_filter};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limit = text.len() as i64 - 50;
    if let Ok(page) = PageRequest::parse(Some(limit), Some(text)) {
        assert!((1..=MAX_LIMIT).contains(&page.limit));
        assert!(page.after.is_some() || text.is_empty());
    }
    let given: Vec<String> = text.split(',').map(|s| s.trim().to_owned()).collect();
    let mut errors = ValidationErrors::default();
    let statuses = status_filter::<dsms_incident::Status>(&given, &mut errors);
    for s in &statuses {
        assert!(dsms_incident::Status::parse(s).is_some(), "{s} is a status");
    }
    let mut errors = ValidationErrors::default();
    status_filter::<dsms_service_request::Status>(&given, &mut errors);
    if let Some(scopes) = Scope::parse_pattern(text) {
        assert!(!scopes.is_empty());
    }
    if let Ok(email) = Email::parse(text) {
        assert_eq!(Email::parse(email.as_str()).ok().as_ref(), Some(&email));
    }
});
