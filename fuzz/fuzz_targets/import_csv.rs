//! `dsms import`'s CSV exports (crates/server/src/import: the reader, `rows` and the mapping):
//! any bytes are read with the import's own reader and each record converted as an incident,
//! an incident note, a service request and a request note under the example mapping, into a row
//! or a named reject, never a panic. A converted row keeps the rules the import promises (a
//! title and text within their limits, times not after now and in order, devices upper-cased,
//! sorted and unique, a hex digest that the same record always gives). The first byte chooses
//! what the rest is: a whole export (header row included), rows under the mapping's own header
//! row, or a mapping file, which either parses and answers for its zone and delimiter or is
//! refused.
#![no_main]

use chrono::{DateTime, Utc};
use dsms::import::directory::Directory;
use dsms::import::rows::{self, Columns, Context};
use dsms::import::{Mapping, csv_reader};
use dsms_incident::IncidentPolicy;
use libfuzzer_sys::fuzz_target;

const EXAMPLE: &str = include_str!("../../deploy/import-mapping.example.toml");

fn directory() -> Directory {
    Directory::new(
        vec![
            (1, "British Gas".into(), Some("BGAS".into())),
            (2, "Northern Powergrid".into(), Some("NPGY".into())),
            (3, "Operator".into(), None),
        ],
        vec![
            (
                10,
                "migration@dcc.example".into(),
                "Migration".into(),
                "operator".into(),
            ),
            (
                11,
                "agent@dcc.example".into(),
                "Agent".into(),
                "operator".into(),
            ),
            (12, "ops@bgas.example".into(), "Ops".into(), "user".into()),
        ],
    )
}

fn is_digest(digest: &str) -> bool {
    digest.len() == 64
        && digest
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Every converter over every record of `csv`.
fn convert_all(mapping: &Mapping, csv: &[u8], header: Option<Vec<&String>>) {
    let Ok(delimiter) = mapping.delimiter_byte() else {
        return;
    };
    let Ok(zone) = mapping.zone() else { return };
    let now: DateTime<Utc> = DateTime::from_timestamp(1_780_000_000, 0).expect("a time");
    let directory = directory();
    let policy = IncidentPolicy::default();
    let cx = Context {
        mapping,
        directory: &directory,
        policy: &policy,
        items: &[],
        zone,
        now,
    };
    let mut text = Vec::new();
    if let Some(header) = &header {
        let line: Vec<&str> = header.iter().map(|h| h.as_str()).collect();
        text.extend_from_slice(line.join(&(delimiter as char).to_string()).as_bytes());
        text.push(b'\n');
    }
    text.extend_from_slice(csv);
    let mut input = csv_reader(text.as_slice(), delimiter);
    let Ok(headers) = input.headers().cloned() else {
        return;
    };
    let columns = |named: Vec<&String>| Columns::new(&headers, named, "fuzzed").ok();
    let incidents = mapping.incidents.as_ref();
    let notes = mapping.notes.as_ref();
    let requests = mapping.requests.as_ref();
    let incident_columns = incidents.and_then(|m| columns(m.columns.named()));
    let note_columns = notes.and_then(|m| columns(m.columns.named()));
    let request_columns = requests.and_then(|m| columns(m.named()));
    let mut record = csv::StringRecord::new();
    while let Ok(true) = input.read_record(&mut record) {
        if let (Some(m), Some(columns)) = (incidents, &incident_columns)
            && let Ok(row) = rows::incident(&cx, m, columns, &record)
        {
            let i = &row.incident;
            assert!(!row.alias.is_empty());
            assert!(!i.title.is_empty() && i.title.chars().count() <= 200);
            assert!(!i.description.is_empty() && i.description.chars().count() <= 20_000);
            assert!(i.created_at <= i.updated_at && i.updated_at <= now);
            for t in [i.responded_at, i.resolved_at, i.closed_at]
                .into_iter()
                .flatten()
            {
                assert!(t <= i.updated_at);
            }
            assert!(i.devices.windows(2).all(|w| w[0] < w[1]), "{:?}", i.devices);
            assert!(i.devices.iter().all(|d| !d.is_empty()
                && !d.bytes().any(|b| b.is_ascii_lowercase())
                && d.trim() == d));
            assert!(is_digest(&row.digest));
            let again = rows::incident(&cx, m, columns, &record).expect("the same row again");
            assert_eq!(
                again.digest, row.digest,
                "a row's digest is a function of the row"
            );
        }
        if let (Some(m), Some(columns)) = (notes, &note_columns)
            && let Ok(row) = rows::note(&cx, m, "missing incident reference", columns, &record)
        {
            assert!(!row.external_id.is_empty() && !row.parent_alias.is_empty());
            assert!(!row.body.is_empty() && row.body.chars().count() <= 20_000);
            assert!(row.written_at <= now);
            assert!(is_digest(&row.digest));
        }
        if let (Some(m), Some(columns)) = (requests, &request_columns) {
            // The catalogue is empty here, so every request names an unknown item; the rows
            // before that check (reference, item lookup) must still hold up to any text.
            assert!(rows::request(&cx, m, columns, &record).is_err());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let example = Mapping::parse(EXAMPLE).expect("the example mapping parses");
    match mode % 4 {
        0 => convert_all(&example, rest, None),
        1 => {
            let header = example.incidents.as_ref().map(|m| m.columns.named());
            convert_all(&example, rest, header);
        }
        2 => {
            let header = example.notes.as_ref().map(|m| m.columns.named());
            convert_all(&example, rest, header);
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest)
                && let Ok(mapping) = Mapping::parse(text)
            {
                assert!(!mapping.source.trim().is_empty());
                let _ = mapping.zone();
                let _ = mapping.delimiter_byte();
                convert_all(&mapping, b"", None);
            }
        }
    }
});
