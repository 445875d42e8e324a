//! `dsms import` from the old tool's CSV exports of incidents, service requests and the notes of
//! each, through the example mapping shipped in `deploy/import-mapping.example.toml`: generated
//! exports of realistic shape, bad rows placed at known positions so the reject report can be
//! checked exactly, and re-runs that must update and never duplicate.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Duration, TimeZone as _, Utc};
use diesel::prelude::*;
use dsms_core::{OrganisationKind, PageRequest, Principal, Role, SystemClock};
use dsms_incident::{IncidentError, IncidentFilter, Incidents};
use dsms_service_request::{RequestError, RequestFilter, ServiceRequests};
use dsms_store::Db;
use dsms_store::schema::{
    imported_comments, imported_request_comments, incident_aliases, incident_comments, incidents,
    service_request_aliases, service_request_comments, service_requests,
};

use crate::support::Env;

const MAPPING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../deploy/import-mapping.example.toml"
);

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The organisations and people the old system's rows name.
struct World {
    operator_agent: i64,
    british_gas: i64,
    british_gas_user: i64,
}

fn created_id(output: &std::process::Output) -> i64 {
    assert!(output.status.success(), "{}", stderr(output));
    let text = stdout(output);
    text.trim()
        .parse()
        .or_else(|_| {
            text.split("person ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .ok_or(())
                .and_then(|id| id.parse().map_err(|_| ()))
        })
        .unwrap_or_else(|()| panic!("an id in {text}"))
}

fn world(env: &Env) -> World {
    let migrated = env.run(&["migrate"]);
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    let org = |name: &str, party: &str, role: &str| {
        created_id(&env.run(&[
            "admin",
            "create-org",
            "--name",
            name,
            "--sec-party-id",
            party,
            "--sec-role",
            role,
        ]))
    };
    let british_gas = org("British Gas Trading", "BGAS", "gas_supplier");
    let yorkshire = org(
        "Northern Powergrid Yorkshire",
        "NPGY",
        "electricity_distributor",
    );
    org("EDF Energy", "EDFE", "import_supplier");
    let person = |email: &str, org: Option<i64>, role: &str| {
        let org = org.map(|o| o.to_string());
        let mut args = vec![
            "admin",
            "create-user",
            "--email",
            email,
            "--name",
            email,
            "--role",
            role,
        ];
        if let Some(org) = &org {
            args.extend(["--org", org.as_str()]);
        }
        created_id(&env.run(&args))
    };
    let operator_agent = person("agent.one@dcc.example", None, "service_desk_agent");
    person("agent.two@dcc.example", None, "service_desk_agent");
    person("migration@dcc.example", None, "service_desk_agent");
    let british_gas_user = person("ops@britishgas.example", Some(british_gas), "org_user");
    person("control@npg.example", Some(yorkshire), "org_user");
    World {
        operator_agent,
        british_gas,
        british_gas_user,
    }
}

/// Where a deliberately bad row sits in each thousand, and what is wrong with it.
const BAD: [(usize, &str); 6] = [
    (7, "unknown status"),
    (13, "unknown organisation"),
    (21, "bad time"),
    (33, "missing title"),
    (41, "unknown category"),
    (55, "duplicate reference"),
];

fn bad(i: usize) -> Option<&'static str> {
    BAD.iter()
        .find(|(at, _)| i % 1000 == *at)
        .map(|(_, why)| *why)
}

fn reference(i: usize) -> String {
    format!("LEG{i:07}")
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// An incidents export of `n` rows and a notes export of one note per incident row, in the
/// shape the example mapping reads. `edited` rows get a different summary.
fn exports(dir: &Path, n: usize, edited: &[usize]) -> (PathBuf, PathBuf) {
    let statuses = [
        "New",
        "Assigned",
        "In Progress",
        "Pending",
        "Resolved",
        "Closed",
        "Cancelled",
    ];
    let priorities = ["1-Critical", "2-High", "3-Medium", "4-Low", "5-Planning"];
    let categories = [
        "Comms Hub",
        "Smart Meter",
        "SR Failure",
        "DUIS / Gateway",
        "Orders",
        "other",
    ];
    let customers = ["British Gas", "NPGY", "EDF Energy", "bgas"];
    let submitters = [
        ("ops@britishgas.example", "Ops Desk"),
        ("control@npg.example", "Control Room"),
        ("left.years.ago@britishgas.example", "Pat Departed"),
        ("agent.one@dcc.example", "Agent One"),
    ];
    let start = Utc.with_ymd_and_hms(2023, 1, 2, 8, 0, 0).unwrap();
    let mut incidents = String::from(
        "Incident ID,Summary,Notes,Status,Priority,Impact,Urgency,Category,Customer,\
         Submitter Email,Submitter,Submit Date,Last Modified Date,Responded Date,Resolved Date,\
         Closed Date,Assigned Group,Assignee Email,Resolution Category,Resolution,Contact,Region,\
         Device IDs,Reported Source\n",
    );
    let mut notes = String::from(
        "Work Log ID,Incident ID,Date,Detailed Description,Submitter Email,Submitter,View Access\n",
    );
    // Local times, as the old tool wrote them (never in the hour skipped when clocks go forward).
    let when = |t: chrono::DateTime<Utc>| {
        t.with_timezone(&chrono_tz::Europe::London)
            .format("%d/%m/%Y %H:%M:%S")
            .to_string()
    };
    for i in 0..n {
        let created = start + Duration::minutes(13 * i as i64);
        let status = statuses[i % statuses.len()];
        let (email, name) = submitters[i % submitters.len()];
        let assigned = !matches!(status, "New");
        let done = matches!(status, "Resolved" | "Closed");
        let why = bad(i);
        let row_ref = if why == Some("duplicate reference") {
            reference(i - 1)
        } else {
            reference(i)
        };
        let title = match why {
            Some("missing title") => String::new(),
            _ if edited.contains(&i) => format!("Hub {i} offline after firmware update (edited)"),
            _ => format!("Hub {i} offline after firmware update"),
        };
        let fields = [
            row_ref.clone(),
            quoted(&title),
            quoted(&format!(
                "Communications hub {i:06} lost WAN, \"no SMWAN\" reported by field engineer,\nsecond line of text"
            )),
            if why == Some("unknown status") {
                "Escalated".into()
            } else {
                status.into()
            },
            priorities[i % priorities.len()].into(),
            (1 + i % 4).to_string(),
            (1 + (i / 4) % 4).to_string(),
            if why == Some("unknown category") {
                "Hardware".into()
            } else {
                quoted(categories[i % categories.len()])
            },
            if why == Some("unknown organisation") {
                "Unknown Plc".into()
            } else {
                quoted(customers[i % customers.len()])
            },
            email.into(),
            quoted(name),
            if why == Some("bad time") {
                "31/02/2024 10:00:00".into()
            } else {
                when(created)
            },
            when(created + Duration::hours(2)),
            if assigned {
                when(created + Duration::minutes(10))
            } else {
                String::new()
            },
            if done {
                when(created + Duration::hours(1))
            } else {
                String::new()
            },
            if status == "Closed" {
                when(created + Duration::hours(2))
            } else {
                String::new()
            },
            if assigned {
                "2nd Line Support".into()
            } else {
                String::new()
            },
            if assigned && i % 2 == 0 {
                "agent.one@dcc.example".into()
            } else {
                String::new()
            },
            if done { "fixed".into() } else { String::new() },
            if done {
                "Hub replaced".into()
            } else {
                String::new()
            },
            "01234 567890".into(),
            ["north", "central", "south"][i % 3].into(),
            format!("00-DB-12-FF-{:02X};2000{i:06}", i % 256),
            ["Web", "E-mail", "Phone", "B2B"][i % 4].into(),
        ];
        let _ = writeln!(incidents, "{}", fields.join(","));
        let _ = writeln!(
            notes,
            "WL{i:08},{},{},{},{},{},{}",
            reference(i),
            when(created + Duration::minutes(30)),
            quoted(&format!("Engineer visit {i} booked; customer informed")),
            submitters[(i + 1) % submitters.len()].0,
            quoted(submitters[(i + 1) % submitters.len()].1),
            if i % 3 == 0 { "Public" } else { "Internal" },
        );
    }
    let incidents_path = dir.join("incidents.csv");
    let notes_path = dir.join("worklog.csv");
    std::fs::write(&incidents_path, incidents).expect("write incidents");
    std::fs::write(&notes_path, notes).expect("write notes");
    (incidents_path, notes_path)
}

/// Where a deliberately bad service-request row sits in each thousand, and what is wrong with it.
const BAD_REQUESTS: [(usize, &str); 5] = [
    (9, "unknown status"),
    (17, "unknown catalogue item"),
    (29, "unknown organisation"),
    (37, "bad time"),
    (61, "duplicate reference"),
];

fn bad_request(i: usize) -> Option<&'static str> {
    BAD_REQUESTS
        .iter()
        .find(|(at, _)| i % 1000 == *at)
        .map(|(_, why)| *why)
}

fn request_reference(i: usize) -> String {
    format!("SR{i:07}")
}

/// A service requests export of `n` rows and a notes export of one note per request row, in the
/// shape the example mapping reads. Rows cycle through five catalogue items named as the old
/// tool named them (mapped, a dsms code, a dsms name), eight statuses and the old columns that
/// answer each item's form; some values do not fit (a diagnostic the form does not offer, a
/// question the registration form has no field for) and must land in the details note. `edited`
/// rows get a different summary.
fn request_exports(dir: &Path, n: usize, edited: &[usize]) -> (PathBuf, PathBuf) {
    let items = [
        "Device Diagnostics",
        "Reg Data Query",
        "General Enquiry",
        "information",
        "Report request",
    ];
    let statuses = [
        "Submitted",
        "Awaiting Approval",
        "Approved",
        "Rejected",
        "Work In Progress",
        "Completed",
        "Closed",
        "Cancelled",
    ];
    let customers = ["British Gas", "NPGY", "EDF Energy", "bgas"];
    let requesters = [
        ("ops@britishgas.example", "Ops Desk"),
        ("control@npg.example", "Control Room"),
        ("left.years.ago@britishgas.example", "Pat Departed"),
    ];
    let start = Utc.with_ymd_and_hms(2023, 2, 1, 9, 0, 0).unwrap();
    let when = |t: chrono::DateTime<Utc>| {
        t.with_timezone(&chrono_tz::Europe::London)
            .format("%d/%m/%Y %H:%M:%S")
            .to_string()
    };
    let mut requests = String::from(
        "Request ID,Service,Status,Customer,Requester Email,Requester,Submit Date,Summary,\
         Description,Contact,Reported Source,Last Modified Date,Completed Date,Closed Date,\
         Device IDs,Diagnostic Type,Symptoms,MPxNs,Query Type,Question,Needed By,Justification\n",
    );
    let mut notes = String::from(
        "Work Log ID,Request ID,Date,Detailed Description,Submitter Email,Submitter,View Access\n",
    );
    for i in 0..n {
        let created = start + Duration::minutes(17 * i as i64);
        let item = items[i % items.len()];
        let status = statuses[i % statuses.len()];
        let (email, name) = requesters[i % requesters.len()];
        let why = bad_request(i);
        let fulfilled = matches!(status, "Completed" | "Closed");
        let closed = matches!(status, "Closed" | "Rejected" | "Cancelled");
        let row_ref = if why == Some("duplicate reference") {
            request_reference(i - 1)
        } else {
            request_reference(i)
        };
        let summary = if edited.contains(&i) {
            format!("Request {i} from the old desk (edited)")
        } else {
            format!("Request {i} from the old desk")
        };
        let diagnostics = item == "Device Diagnostics";
        let registration = item == "Reg Data Query";
        let enquiry = matches!(item, "General Enquiry" | "information");
        let fields = [
            row_ref,
            if why == Some("unknown catalogue item") {
                "Meter Exchange".into()
            } else {
                quoted(item)
            },
            if why == Some("unknown status") {
                "On Hold".into()
            } else {
                quoted(status)
            },
            if why == Some("unknown organisation") {
                "Unknown Plc".into()
            } else {
                quoted(customers[i % customers.len()])
            },
            email.into(),
            quoted(name),
            if why == Some("bad time") {
                "30/02/2024 10:00:00".into()
            } else {
                when(created)
            },
            quoted(&summary),
            quoted(&format!(
                "Raised by telephone, \"urgent\" per the customer,\nsecond line of request {i}"
            )),
            "01234 567890".into(),
            ["Web", "E-mail", "Phone", "B2B"][i % 4].into(),
            when(created + Duration::hours(3)),
            if fulfilled {
                when(created + Duration::hours(2))
            } else {
                String::new()
            },
            if closed {
                when(created + Duration::hours(3))
            } else {
                String::new()
            },
            if diagnostics {
                format!(
                    "00-DB-12-FF-00-00-{:02X}-{:02X};00DB12FF0000FFFF",
                    i / 256 % 256,
                    i % 256
                )
            } else {
                String::new()
            },
            match (diagnostics, i % 10) {
                (true, 0) => "Event Log".into(),
                (true, _) => "Thermal Imaging".into(),
                (false, _) => String::new(),
            },
            if diagnostics {
                quoted(&format!("Hub {i} drops off the WAN at night"))
            } else {
                String::new()
            },
            if registration {
                format!("1{i:012};1234567")
            } else {
                String::new()
            },
            if registration {
                ["Query", "Correction"][i % 2].into()
            } else {
                String::new()
            },
            if registration || enquiry {
                quoted(&format!(
                    "Why does meter point {i} show the wrong supplier?"
                ))
            } else {
                String::new()
            },
            if diagnostics {
                (created + Duration::days(3)).format("%d/%m/%Y").to_string()
            } else {
                String::new()
            },
            if i % 3 == 0 {
                "Regulatory deadline".into()
            } else {
                String::new()
            },
        ];
        let _ = writeln!(requests, "{}", fields.join(","));
        let _ = writeln!(
            notes,
            "RWL{i:08},{},{},{},agent.one@dcc.example,Agent One,{}",
            request_reference(i),
            when(created + Duration::minutes(45)),
            quoted(&format!("Called the customer about request {i}")),
            if i % 2 == 0 { "Public" } else { "Internal" },
        );
    }
    let requests_path = dir.join("requests.csv");
    let notes_path = dir.join("request-worklog.csv");
    std::fs::write(&requests_path, requests).expect("write requests");
    std::fs::write(&notes_path, notes).expect("write request notes");
    (requests_path, notes_path)
}

/// The four exports of one run.
struct Exports {
    incidents: PathBuf,
    notes: PathBuf,
    requests: PathBuf,
    request_notes: PathBuf,
}

fn all_exports(dir: &Path, incidents: usize, requests: usize) -> Exports {
    let (incidents, notes) = exports(dir, incidents, &[]);
    let (requests, request_notes) = request_exports(dir, requests, &[]);
    Exports {
        incidents,
        notes,
        requests,
        request_notes,
    }
}

fn import(env: &Env, dir: &Path, files: &Exports, extra: &[&str]) -> String {
    let mut args = vec![
        "import",
        "--mapping",
        MAPPING,
        "--incidents",
        files.incidents.to_str().expect("path"),
        "--notes",
        files.notes.to_str().expect("path"),
        "--requests",
        files.requests.to_str().expect("path"),
        "--request-notes",
        files.request_notes.to_str().expect("path"),
        "--rejects-dir",
        dir.to_str().expect("path"),
    ];
    args.extend_from_slice(extra);
    let out = env.run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

fn count<T>(db: &Db, query: impl FnOnce(&mut dsms_store::DbConnection) -> QueryResult<T>) -> T {
    db.read_blocking(|conn| query(conn).map_err(dsms_store::StoreError::from))
        .expect("count")
}

fn totals(db: &Db) -> (i64, i64, i64, i64) {
    (
        count(db, |c| incidents::table.count().get_result(c)),
        count(db, |c| incident_aliases::table.count().get_result(c)),
        count(db, |c| incident_comments::table.count().get_result(c)),
        count(db, |c| imported_comments::table.count().get_result(c)),
    )
}

fn request_totals(db: &Db) -> (i64, i64, i64, i64) {
    (
        count(db, |c| service_requests::table.count().get_result(c)),
        count(db, |c| service_request_aliases::table.count().get_result(c)),
        count(db, |c| {
            service_request_comments::table.count().get_result(c)
        }),
        count(db, |c| {
            imported_request_comments::table.count().get_result(c)
        }),
    )
}

fn db(env: &Env) -> Db {
    Db::connect(&dsms_store::DbSettings {
        target: dsms_store::DbTarget::from_url(env.test_db.url()),
        pool_size: 2,
        acquire_timeout: std::time::Duration::from_secs(10),
        busy_timeout: std::time::Duration::from_secs(10),
        sqlite_synchronous: dsms_store::SqliteSynchronous::Normal,
    })
    .expect("db")
}

fn rejects_file(dir: &Path, name: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(dir.join(name))
        .expect("rejects file")
        .records()
        .map(|r| r.expect("a CSV record"))
        .collect()
}

#[test]
fn a_large_export_round_trips_with_an_exact_reject_report_and_no_duplicates() {
    // DSMS_TEST_IMPORT_INCIDENTS incidents, as many notes, DSMS_TEST_IMPORT_REQUESTS requests
    // (as many as incidents unless set) and as many request notes: 25000 is the 100,000-row
    // import of docs/performance.md, too long for every CI run, which imports 12,000 rows
    // through the same code.
    let size = |var: &str, default: usize| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let n = size("DSMS_TEST_IMPORT_INCIDENTS", 3_000);
    let r = size("DSMS_TEST_IMPORT_REQUESTS", n);
    let env = Env::new();
    world(&env);
    let dir = tempfile::tempdir().expect("dir");
    let files = all_exports(dir.path(), n, r);
    let started = std::time::Instant::now();
    let report = import(&env, dir.path(), &files, &["--quiet"]);
    let first_run = started.elapsed();

    let per_kind = n as u64 / 1000;
    let bad_incidents = per_kind * BAD.len() as u64;
    // Each bad row's note names a reference no incident was imported under.
    let bad_notes = bad_incidents;
    let expected = format!(
        "incidents: {n} read, {} imported, 0 updated, 0 unchanged, {bad_incidents} rejected",
        n as u64 - bad_incidents
    );
    assert!(report.contains(&expected), "{report}");
    for (_, why) in BAD {
        assert!(
            report.contains(&format!("rejected, {why}: {per_kind}")),
            "{why}: {report}"
        );
    }
    let notes_line = format!(
        "notes: {n} read, {} imported, 0 updated, 0 unchanged, {bad_notes} rejected",
        n as u64 - bad_notes
    );
    assert!(report.contains(&notes_line), "{report}");
    assert!(
        report.contains(&format!("rejected, unknown incident: {bad_notes}")),
        "{report}"
    );
    let request_per_kind = r as u64 / 1000;
    let bad_requests = request_per_kind * BAD_REQUESTS.len() as u64;
    assert!(
        report.contains(&format!(
            "requests: {r} read, {} imported, 0 updated, 0 unchanged, {bad_requests} rejected",
            r as u64 - bad_requests
        )),
        "{report}"
    );
    let requests_section = report.split("requests:").nth(1).expect("requests section");
    for (_, why) in BAD_REQUESTS {
        assert!(
            requests_section.contains(&format!("rejected, {why}: {request_per_kind}")),
            "{why}: {report}"
        );
    }
    assert!(
        report.contains(&format!(
            "request notes: {r} read, {} imported, 0 updated, 0 unchanged, {bad_requests} rejected\n  rejected, unknown request: {bad_requests}",
            r as u64 - bad_requests
        )),
        "{report}"
    );

    let rejects = rejects_file(dir.path(), "incidents-rejects.csv");
    assert_eq!(rejects.len() as u64, bad_incidents);
    let first = &rejects[0];
    assert_eq!(&first[0], "LEG0000007", "the original columns come first");
    assert_eq!(&first[first.len() - 1], "unknown status: \"Escalated\"");
    // Each row spans two lines (its description has a line break), after the header.
    assert_eq!(
        &first[first.len() - 2],
        "16",
        "the line the row starts on in the export"
    );
    assert_eq!(
        rejects_file(dir.path(), "notes-rejects.csv").len() as u64,
        bad_notes
    );
    let request_rejects = rejects_file(dir.path(), "requests-rejects.csv");
    assert_eq!(request_rejects.len() as u64, bad_requests);
    let reasons: Vec<(&str, &str, &str)> = request_rejects
        .iter()
        .take(BAD_REQUESTS.len())
        .map(|row| (&row[0], &row[row.len() - 2], &row[row.len() - 1]))
        .collect();
    assert_eq!(
        reasons,
        [
            ("SR0000009", "20", "unknown status: \"On Hold\""),
            (
                "SR0000017",
                "36",
                "unknown catalogue item: \"Meter Exchange\""
            ),
            ("SR0000029", "60", "unknown organisation: \"Unknown Plc\""),
            (
                "SR0000037",
                "76",
                "bad time: created_at \"30/02/2024 10:00:00\""
            ),
            ("SR0000060", "124", "duplicate reference: first on line 122"),
        ],
        "original columns, the line each row starts on, and why"
    );
    let request_note_rejects = rejects_file(dir.path(), "request-notes-rejects.csv");
    assert_eq!(request_note_rejects.len() as u64, bad_requests);
    assert_eq!(
        &request_note_rejects[0][request_note_rejects[0].len() - 1],
        "unknown request: SR0000009"
    );

    let db = db(&env);
    let imported = n as i64 - bad_incidents as i64;
    let notes = n as i64 - bad_notes as i64;
    assert_eq!(totals(&db), (imported, imported, notes, notes));
    let requests = r as i64 - bad_requests as i64;
    // Every request has a details note (its old description) besides its imported note.
    assert_eq!(
        request_totals(&db),
        (requests, requests, 2 * requests, 2 * requests)
    );

    let started = std::time::Instant::now();
    let again = import(&env, dir.path(), &files, &["--quiet"]);
    let second_run = started.elapsed();
    assert!(
        again.contains(&format!(
            "incidents: {n} read, 0 imported, 0 updated, {imported} unchanged, {bad_incidents} rejected"
        )),
        "{again}"
    );
    assert!(
        again.contains(&format!(
            "notes: {n} read, 0 imported, 0 updated, {notes} unchanged, {bad_notes} rejected"
        )),
        "{again}"
    );
    assert!(
        again.contains(&format!(
            "requests: {r} read, 0 imported, 0 updated, {requests} unchanged, {bad_requests} rejected"
        )),
        "{again}"
    );
    assert!(
        again.contains(&format!(
            "request notes: {r} read, 0 imported, 0 updated, {requests} unchanged, {bad_requests} rejected"
        )),
        "{again}"
    );
    assert_eq!(
        totals(&db),
        (imported, imported, notes, notes),
        "nothing duplicated"
    );
    assert_eq!(
        request_totals(&db),
        (requests, requests, 2 * requests, 2 * requests),
        "nothing duplicated"
    );
    eprintln!(
        "import of {} rows ({}): first run {first_run:?}, unchanged re-run {second_run:?}",
        2 * n + 2 * r,
        if env.test_db.is_postgres() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
}

fn desk(world: &World) -> Principal {
    Principal::person(
        world.operator_agent,
        1,
        OrganisationKind::Operator,
        vec![Role::ServiceDeskAgent],
    )
}

fn request_service(db: &Db) -> ServiceRequests {
    ServiceRequests::new(
        db.clone(),
        Arc::new(SystemClock),
        dsms_service_request::RequestPolicy::default(),
    )
}

#[test]
fn a_rerun_rewrites_changed_rows_and_a_dry_run_writes_nothing() {
    let env = Env::new();
    let world = world(&env);
    let dir = tempfile::tempdir().expect("dir");
    let mut files = all_exports(dir.path(), 120, 120);
    let db = db(&env);

    let dry = import(&env, dir.path(), &files, &["--dry-run", "--quiet"]);
    assert!(dry.contains("dry run: nothing was written"), "{dry}");
    assert!(dry.contains("incidents: 120 read, 114 valid"), "{dry}");
    assert!(dry.contains("notes: 120 read, 114 valid"), "{dry}");
    assert!(dry.contains("requests: 120 read, 115 valid"), "{dry}");
    assert!(dry.contains("request notes: 120 read, 115 valid"), "{dry}");
    assert_eq!(totals(&db), (0, 0, 0, 0));
    assert_eq!(request_totals(&db), (0, 0, 0, 0));
    assert_eq!(rejects_file(dir.path(), "incidents-rejects.csv").len(), 6);
    assert_eq!(rejects_file(dir.path(), "requests-rejects.csv").len(), 5);
    assert_eq!(
        rejects_file(dir.path(), "request-notes-rejects.csv").len(),
        5
    );

    import(&env, dir.path(), &files, &["--batch-size", "7"]);
    let before = totals(&db);
    let requests_before = request_totals(&db);
    let (edited_csv, _) = exports(dir.path(), 120, &[3, 60]);
    let (edited_requests, _) = request_exports(dir.path(), 120, &[5, 100]);
    files.incidents = edited_csv;
    files.requests = edited_requests;
    let report = import(&env, dir.path(), &files, &[]);
    assert!(
        report.contains("incidents: 120 read, 0 imported, 2 updated, 112 unchanged, 6 rejected"),
        "{report}"
    );
    assert!(
        report.contains("requests: 120 read, 0 imported, 2 updated, 113 unchanged, 5 rejected"),
        "{report}"
    );
    assert_eq!(totals(&db), before);
    assert_eq!(request_totals(&db), requests_before, "nothing duplicated");
    let incidents = Incidents::new(
        db.clone(),
        Arc::new(SystemClock),
        dsms_incident::IncidentPolicy::default(),
    );
    let desk = desk(&world);
    let edited = incidents
        .get(&desk, "leg0000060")
        .expect("found by its old reference");
    assert_eq!(
        edited.title,
        "Hub 60 offline after firmware update (edited)"
    );
    assert_eq!(edited.version, 2, "rewritten once");
    let history = incidents.history(
        &desk,
        &edited.reference,
        PageRequest::parse(None, None).expect("first page"),
    );
    let actions: Vec<String> = history
        .expect("history")
        .items
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert!(
        actions.contains(&"incident.imported".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"incident.import_updated".to_owned()),
        "{actions:?}"
    );

    let requests = request_service(&db);
    let edited = requests
        .get(&desk, "sr0000100")
        .expect("found by its old reference");
    assert_eq!(edited.summary, "Request 100 from the old desk (edited)");
    assert_eq!(edited.version, 2, "rewritten once");
    let actions: Vec<String> = requests
        .history(
            &desk,
            &edited.reference,
            PageRequest::parse(None, None).expect("first page"),
        )
        .expect("history")
        .items
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        ["service_request.import_updated", "service_request.imported"],
        "newest first"
    );
    // The rewrite kept one details note, rewritten in place, and the imported note.
    assert_eq!(
        requests
            .comments(&desk, &edited.reference)
            .expect("notes")
            .len(),
        2
    );
}

#[test]
fn imported_requests_keep_their_history_answers_and_everything_the_form_has_no_place_for() {
    let env = Env::new();
    let world = world(&env);
    let dir = tempfile::tempdir().expect("dir");
    let files = all_exports(dir.path(), 10, 40);
    import(&env, dir.path(), &files, &[]);
    let db = db(&env);
    let requests = request_service(&db);
    let desk = desk(&world);
    let supplier = Principal::person(
        world.british_gas_user,
        world.british_gas,
        OrganisationKind::User,
        vec![Role::OrgUser],
    );

    // Row 0: "Device Diagnostics" (mapped), submitted, British Gas by name.
    let diagnostics = requests.get(&supplier, "SR0000000").expect("its own");
    assert_eq!(diagnostics.item_code, "device_diagnostics");
    assert_eq!(diagnostics.status.as_str(), "submitted");
    assert_eq!(diagnostics.organisation_id, world.british_gas);
    assert_eq!(diagnostics.raised_by.name, "ops@britishgas.example");
    assert_eq!(diagnostics.channel, "portal");
    assert_eq!(
        serde_json::Value::Object(diagnostics.answers.clone()),
        serde_json::json!({
            "device_ids": ["00DB12FF00000000", "00DB12FF0000FFFF"],
            "diagnostic": "event_log",
            "symptoms": "Hub 0 drops off the WAN at night",
            "wanted_by": "2023-02-04",
        })
    );
    // Its description and its justification are in the details note, a work note the
    // organisation does not see.
    let notes = requests
        .comments(&desk, &diagnostics.reference)
        .expect("notes");
    let details = &notes[0];
    assert!(details.internal);
    assert_eq!(
        details.body,
        "Raised by telephone, \"urgent\" per the customer,\nsecond line of request 0\n\n\
         Recorded in legacy-itsm, with no place on this form:\nJustification: Regulatory deadline"
    );
    assert_eq!(
        requests
            .comments(&supplier, &diagnostics.reference)
            .expect("comments")
            .len(),
        1,
        "only the public note"
    );

    // Row 5: a diagnostic the form does not offer, kept aside; "Completed" is fulfilled with
    // its task done and its approval-free clock stopped.
    let fulfilled = requests.get(&desk, "SR0000005").expect("desk");
    assert_eq!(fulfilled.status.as_str(), "fulfilled");
    assert!(fulfilled.fulfilled_at.is_some());
    assert!(!fulfilled.answers.contains_key("diagnostic"));
    assert!(fulfilled.tasks.iter().all(|t| t.status.as_str() == "done"));
    let kept = &requests
        .comments(&desk, &fulfilled.reference)
        .expect("notes")[0];
    assert!(
        kept.body.ends_with("Diagnostic Type: Thermal Imaging"),
        "{}",
        kept.body
    );

    // Row 1: "Reg Data Query", awaiting approval: its step pending; the question, which its
    // form has no field for, kept aside; "Correction" folded into the option.
    let registration = requests.get(&desk, "SR0000001").expect("desk");
    assert_eq!(registration.item_code, "registration_data");
    assert_eq!(registration.status.as_str(), "awaiting_approval");
    assert_eq!(registration.approvals[0].status.as_str(), "pending");
    assert_eq!(registration.answers["request_type"], "correction");
    assert_eq!(
        registration.answers["mpxns"],
        serde_json::json!(["1000000000001", "1234567"])
    );
    // Row 3 ("information", a dsms code) was rejected in the old tool; row 4 ("Report
    // request", a dsms name) is in fulfilment with its operator approval recorded.
    let rejected = requests.get(&desk, "SR0000003").expect("desk");
    assert_eq!(
        (rejected.item_code.as_str(), rejected.status.as_str()),
        ("information", "rejected")
    );
    assert!(rejected.closed_at.is_some());
    let report = requests.get(&desk, "SR0000004").expect("desk");
    assert_eq!(
        (report.item_code.as_str(), report.status.as_str()),
        ("report_request", "in_fulfilment")
    );
    assert_eq!(report.approvals[0].status.as_str(), "approved");

    // Found by the old reference in a list search, within the caller's organisation only.
    let search = |who: &Principal, q: &str| {
        requests
            .list(
                who,
                &RequestFilter {
                    search: Some(q.into()),
                    ..RequestFilter::default()
                },
                PageRequest::parse(None, None).expect("first page"),
            )
            .expect("list")
            .items
            .into_iter()
            .map(|r| r.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(search(&supplier, "sr0000000"), vec![diagnostics.id]);
    assert_eq!(search(&desk, "SR0000001"), vec![registration.id]);
    assert!(
        search(&supplier, "SR0000001").is_empty(),
        "another organisation's"
    );
    assert!(matches!(
        requests.get(&supplier, "SR0000001"),
        Err(RequestError::NotFound)
    ));
    assert_eq!(
        search(&desk, &registration.reference),
        vec![registration.id],
        "dsms's own reference too"
    );
    assert_eq!(
        search(&desk, "request 12 FROM the old"),
        vec![requests.get(&desk, "SR0000012").expect("desk").id],
        "words of the summary, ignoring case"
    );
    // Row 2's requester left years ago: kept by name, raised in the fallback person's account.
    assert_eq!(
        requests
            .get(&desk, "SR0000002")
            .expect("desk")
            .raised_by
            .name,
        "Pat Departed"
    );
}

#[test]
fn people_find_imported_incidents_by_their_old_reference_within_their_own_organisation() {
    let env = Env::new();
    let world = world(&env);
    let dir = tempfile::tempdir().expect("dir");
    let files = all_exports(dir.path(), 40, 10);
    import(&env, dir.path(), &files, &[]);
    let db = db(&env);
    let incidents = Incidents::new(
        db.clone(),
        Arc::new(SystemClock),
        dsms_incident::IncidentPolicy::default(),
    );
    let desk = Principal::person(
        world.operator_agent,
        1,
        OrganisationKind::Operator,
        vec![Role::ServiceDeskAgent],
    );
    let supplier = Principal::person(
        world.british_gas_user,
        world.british_gas,
        OrganisationKind::User,
        vec![Role::OrgUser],
    );
    // Row 0 is British Gas's (by its name, mapped to its party id), row 1 Northern Powergrid's.
    let ours = incidents
        .get(&supplier, "LEG0000000")
        .expect("its own, by old reference");
    assert_eq!(ours.organisation_id, world.british_gas);
    assert_eq!(ours.raised_by.name, "ops@britishgas.example");
    assert!(matches!(
        incidents.get(&supplier, "LEG0000001"),
        Err(IncidentError::NotFound)
    ));
    assert_eq!(
        incidents
            .get(&desk, "LEG0000001")
            .expect("desk")
            .reference
            .len(),
        10
    );

    let search = |who: &Principal, q: &str| {
        incidents
            .list(
                who,
                &IncidentFilter {
                    search: Some(q.into()),
                    ..IncidentFilter::default()
                },
                PageRequest::parse(None, None).expect("first page"),
            )
            .expect("list")
            .items
            .into_iter()
            .map(|i| i.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        search(&desk, "LEG0000001"),
        vec![incidents.get(&desk, "LEG0000001").unwrap().id]
    );
    assert!(
        search(&supplier, "LEG0000001").is_empty(),
        "another organisation's"
    );
    assert_eq!(search(&supplier, "leg0000000"), vec![ours.id]);

    // Row 2's raiser left years ago: kept by name, raised in the fallback person's account.
    let departed = incidents.get(&desk, "LEG0000002").expect("desk");
    assert_eq!(departed.raised_by.name, "Pat Departed");
    // Notes: every third is public; the others are work notes the organisation never sees.
    let public = incidents
        .comments(&supplier, &ours.reference)
        .expect("comments");
    assert_eq!(public.len(), 1, "row 0's note is public");
    let hidden = incidents.get(&desk, "LEG0000004").expect("desk");
    let notes = incidents
        .comments(&desk, &hidden.reference)
        .expect("comments");
    assert_eq!(notes.len(), 1);
    assert!(notes[0].internal);
    assert_eq!(
        count(&db, |c| {
            incident_comments::table
                .filter(incident_comments::internal.eq(false))
                .count()
                .get_result::<i64>(c)
        }),
        // Rows 0, 3, ..., 39 have public notes; row 21 (bad time) and row 33 (missing title)
        // were rejected, so their notes were too.
        12
    );
}
