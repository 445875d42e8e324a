//! Hub serial-number and hub-return uploads (`text/csv`, crates/hubs/src/bulk.rs) and the
//! serial numbers in them: any bytes are read into rows or named faults, never a panic; every
//! row is named by its index; a serial that parses parses again to itself.
#![no_main]

use dsms_hubs::HubSerial;
use dsms_hubs::bulk::{MAX_ROWS, return_rows, serial_rows};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match serial_rows(data) {
        Ok(rows) => {
            assert!(!rows.is_empty() && rows.len() <= MAX_ROWS);
            for (i, row) in rows.iter().enumerate() {
                assert_eq!(row.field, format!("rows[{i}].serial"));
                if let Some(serial) = HubSerial::parse(&row.serial) {
                    assert_eq!(HubSerial::parse(serial.as_str()).as_ref(), Some(&serial));
                }
            }
        }
        Err(errors) => assert!(!errors.0.is_empty(), "a refusal names its faults"),
    }
    match return_rows(data) {
        Ok(rows) => {
            assert!(!rows.is_empty() && rows.len() <= MAX_ROWS);
            for (i, row) in rows.iter().enumerate() {
                assert_eq!(row.at, format!("rows[{i}]"));
                assert!(row.found.as_deref() != Some(""));
            }
        }
        Err(errors) => assert!(!errors.0.is_empty(), "a refusal names its faults"),
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(serial) = HubSerial::parse(text)
    {
        let s = serial.as_str();
        assert!((6..=32).contains(&s.len()) && s == s.to_ascii_uppercase());
        assert_eq!(HubSerial::parse(s).as_ref(), Some(&serial));
    }
});
