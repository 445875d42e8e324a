//! Bulk input as CSV (`text/csv`): consignments' serial numbers and returned hubs. Every row is
//! read and every fault collected, so one answer names all of them (`rows[17].serial`, counting
//! data rows from 0, after the header; blank lines are skipped and not counted).

use dsms_core::ValidationErrors;

use crate::model::{ReturnRow, SerialRow};

/// The most rows one upload may carry.
pub const MAX_ROWS: usize = 50_000;

fn read(
    bytes: &[u8],
    required: &[&str],
    optional: &[&str],
    errors: &mut ValidationErrors,
) -> Option<(Vec<csv::StringRecord>, Vec<Option<usize>>)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header = match reader.headers() {
        Ok(h) if h.iter().any(|c| !c.is_empty()) => h.clone(),
        Ok(_) => {
            errors.push(
                "header",
                format!(
                    "the CSV must start with a header row: {}",
                    required.join(",")
                ),
            );
            return None;
        }
        Err(e) => {
            errors.push("header", format!("cannot be read: {e}"));
            return None;
        }
    };
    let position = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    for name in required {
        if position(name).is_none() {
            errors.push(
                "header",
                format!(
                    "must name a `{name}` column (expected {})",
                    required
                        .iter()
                        .chain(optional)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            );
        }
    }
    for (i, h) in header.iter().enumerate() {
        if !required
            .iter()
            .chain(optional)
            .any(|n| h.eq_ignore_ascii_case(n))
        {
            errors.push(format!("header[{i}]"), format!("unknown column {h:?}"));
        }
    }
    if !errors.0.is_empty() {
        return None;
    }
    let columns = required
        .iter()
        .chain(optional)
        .map(|n| position(n))
        .collect();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if rows.len() >= MAX_ROWS {
            errors.push(
                "rows",
                format!("must be at most {MAX_ROWS} rows per upload"),
            );
            return None;
        }
        match record {
            // A blank line is no row at all.
            Ok(r) if r.iter().all(str::is_empty) => {}
            Ok(r) => rows.push(r),
            Err(e) => errors.push(format!("rows[{i}]"), format!("cannot be read: {e}")),
        }
    }
    if rows.is_empty() && errors.0.is_empty() {
        errors.push("rows", "the CSV has no data rows");
    }
    Some((rows, columns))
}

/// Reads a CSV with a `serial` column into rows named `rows[i].serial`.
pub fn serial_rows(bytes: &[u8]) -> Result<Vec<SerialRow>, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let Some((records, columns)) = read(bytes, &["serial"], &[], &mut errors) else {
        return Err(errors);
    };
    let serial = columns[0].unwrap_or(0);
    let rows = records
        .iter()
        .enumerate()
        .map(|(i, r)| SerialRow {
            field: format!("rows[{i}].serial"),
            serial: r.get(serial).unwrap_or_default().to_owned(),
        })
        .collect();
    errors.into_result().map(|()| rows)
}

/// Reads a CSV with `serial`, `reason` and (for faulty reasons) `found` columns into rows named
/// `rows[i]`.
pub fn return_rows(bytes: &[u8]) -> Result<Vec<ReturnRow>, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let Some((records, columns)) = read(bytes, &["serial", "reason"], &["found"], &mut errors)
    else {
        return Err(errors);
    };
    let cell = |r: &csv::StringRecord, c: Option<usize>| {
        c.and_then(|c| r.get(c)).unwrap_or_default().to_owned()
    };
    let rows = records
        .iter()
        .enumerate()
        .map(|(i, r)| ReturnRow {
            at: format!("rows[{i}]"),
            serial: cell(r, columns[0]),
            reason: cell(r, columns[1]),
            found: Some(cell(r, columns[2])).filter(|f| !f.is_empty()),
        })
        .collect();
    errors.into_result().map(|()| rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_rows_are_numbered_from_zero_and_blank_lines_skipped() {
        let rows = serial_rows(b"serial\nCH0000001\n\n ch0000002 \n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].field, "rows[1].serial");
        assert_eq!(rows[1].serial, "ch0000002");
    }

    #[test]
    fn a_missing_or_unknown_header_is_named() {
        let errors = serial_rows(b"serials\nCH0000001\n").unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["header", "header[0]"]);
        assert_eq!(serial_rows(b"").unwrap_err().0[0].field, "header");
        assert_eq!(serial_rows(b"serial\n").unwrap_err().0[0].field, "rows");
    }

    #[test]
    fn return_rows_read_reason_and_found_in_any_column_order() {
        let rows = return_rows(
            b"reason,serial,found\naerial,CH0000001,after_installation\ngeneral,CH0000002,\n",
        )
        .unwrap();
        assert_eq!(rows[0].reason, "aerial");
        assert_eq!(rows[0].found.as_deref(), Some("after_installation"));
        assert_eq!(rows[1].found, None);
        assert_eq!(rows[1].at, "rows[1]");
    }
}
