//! Service-request forms (crates/service-request/src/form.rs): an administrator's definition
//! and a requester's answers, identifier lists (device ids, MPxNs) and patterns included. The
//! input is a definition and answers as JSON, separated by a NUL byte; when the definition does
//! not parse, a fixed one with every kind of field is used. Checking never panics, and answers
//! that passed, checked again, pass unchanged (normalising is idempotent).
#![no_main]

use chrono::NaiveDate;
use dsms_core::ValidationErrors;
use dsms_service_request::Definition;
use dsms_service_request::form::check_answers;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fn every_kind() -> Definition {
    serde_json::from_value(json!({
        "name": "Diagnostics", "description": "Everything a form can ask",
        "fields": [
            {"key": "devices", "label": "Devices", "type": "identifiers",
             "identifier": "device_id", "max_items": 50},
            {"key": "mpxns", "label": "Meter points", "type": "identifiers", "identifier": "mpxn"},
            {"key": "refs", "label": "References", "type": "identifiers", "pattern": "[A-Z]{2}[0-9]+"},
            {"key": "email", "label": "E", "type": "text", "pattern": "[^@]+@[^@]+", "max_length": 80},
            {"key": "days", "label": "D", "type": "number", "integer": true, "min": 1, "max": 20},
            {"key": "from", "label": "F", "type": "date", "not_in_past": true},
            {"key": "kind", "label": "K", "type": "choice", "options": ["a", "b"]},
            {"key": "roles", "label": "R", "type": "multi_choice", "options": ["x", "y"], "max_items": 1}
        ],
        "tasks": [{"name": "Run", "group": "second-line"}], "sla_working_days": 5
    }))
    .expect("the fixed definition parses")
}

fuzz_target!(|data: &[u8]| {
    let (first, second) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&[][..], data),
    };
    let definition = serde_json::from_slice::<Definition>(first)
        .ok()
        .and_then(|d| d.checked().ok())
        .unwrap_or_else(every_kind);
    let Ok(answers) = serde_json::from_slice::<Value>(second) else {
        return;
    };
    let today = NaiveDate::from_ymd_opt(2026, 11, 30).expect("a date");
    let mut errors = ValidationErrors::default();
    let normalised = check_answers(&definition, &answers, today, &mut errors);
    if errors.0.is_empty() {
        let mut again = ValidationErrors::default();
        let twice = check_answers(
            &definition,
            &Value::Object(normalised.clone()),
            today,
            &mut again,
        );
        assert!(again.0.is_empty(), "normalised answers pass: {:?}", again.0);
        assert_eq!(twice, normalised, "normalising is idempotent");
    }
});
