//! Files on service requests: attached by the raiser and the service desk, listed and read
//! back, checked like incidents' files, never seen by another organisation; and file fields of
//! catalogue forms, answered by files sent as the request is raised.

use diesel::prelude::*;
use dsms_core::PageRequest;
use dsms_core::attachment::sha256_hex;
use dsms_service_request::{
    Definition, NewCatalogueItem, NewFile, Raised, RequestChanges, RequestPolicy, ServiceRequests,
    answer_attachment_id,
};
use dsms_store::schema::outbox;
use serde_json::{Value, json};

use crate::support::{
    World, assert_conflict, assert_forbidden, assert_not_found, diagnostics, invalid_fields,
    request,
};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDRpixels";
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n";

fn events_of(w: &World, kind: &str) -> Vec<Value> {
    w.db.read_blocking(|conn| {
        outbox::table
            .filter(outbox::kind.eq("event"))
            .order(outbox::id.asc())
            .select(outbox::payload)
            .load::<String>(conn)
            .map_err(dsms_store::StoreError::from)
    })
    .expect("outbox")
    .iter()
    .map(|p| serde_json::from_str::<Value>(p).expect("JSON"))
    .filter(|e| e["type"] == kind)
    .collect()
}

/// The service over the same database with a `limit`-byte attachment limit.
fn limited(w: &World, limit: usize) -> ServiceRequests {
    ServiceRequests::new(
        w.db.clone(),
        w.clock.clone(),
        RequestPolicy {
            max_attachment_bytes: limit,
            ..RequestPolicy::default()
        },
    )
}

#[test]
fn the_raiser_and_the_desk_attach_files_and_read_them_back() {
    let w = World::new();
    let raised = w.raise(&w.supplier.user, diagnostics());
    let key = raised.reference.as_str();

    let photo = w
        .requests
        .attach(
            &w.supplier.user,
            key,
            "C:\\photos\\meter.png",
            Some("image/png"),
            PNG,
            false,
            Some("req-1"),
        )
        .expect("the raiser attaches");
    assert_eq!(photo.filename, "meter.png");
    assert_eq!(photo.content_type, "image/png");
    assert_eq!(photo.size_bytes, PNG.len() as i64);
    assert_eq!(photo.sha256, sha256_hex(PNG));
    assert_eq!(photo.ticket_id, raised.id);
    let note = w
        .requests
        .attach(
            &w.agent,
            key,
            "trace.log",
            None,
            b"link down 09:01",
            true,
            None,
        )
        .expect("the desk attaches to its work notes");
    assert_eq!(note.content_type, "text/plain");

    let listed: Vec<i64> = w
        .requests
        .attachments(&w.supplier.reporter, key)
        .expect("list")
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(
        listed,
        [photo.id],
        "organisations never see work notes' files"
    );
    let listed: Vec<i64> = w
        .requests
        .attachments(&w.agent, key)
        .expect("list")
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(listed, [photo.id, note.id]);

    let (meta, bytes) = w
        .requests
        .attachment(&w.supplier.reporter, key, photo.id)
        .expect("download");
    assert_eq!(bytes, PNG);
    assert_eq!(meta, photo);
    assert_not_found(w.requests.attachment(&w.supplier.user, key, note.id));
    let (_, bytes) = w
        .requests
        .attachment(&w.agent, key, note.id)
        .expect("the desk reads its work note's file");
    assert_eq!(bytes, b"link down 09:01");

    // Each file bumps the request's version and is in its history.
    assert_eq!(w.reload(&raised).version, raised.version + 2);
    let history = w
        .requests
        .history(
            &w.supplier.user,
            key,
            PageRequest::parse(None, None).unwrap(),
        )
        .expect("history");
    let actions: Vec<&str> = history.items.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"service_request.attachment_added"),
        "{actions:?}"
    );
    assert!(
        !actions.iter().any(|a| a.contains("work_note")),
        "organisations never learn of work notes' files: {actions:?}"
    );

    // One event, for the file the organisation can see.
    let events = events_of(&w, "request.attachment_added");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["attachment"]["id"], photo.id.to_string());
    assert_eq!(events[0]["attachment"]["filename"], "meter.png");
    assert_eq!(events[0]["request"]["reference"], raised.reference);
}

#[test]
fn files_are_checked_for_type_content_size_and_name() {
    let w = World::new();
    let raised = w.raise(&w.supplier.user, diagnostics());
    let key = raised.reference.as_str();
    let attach = |requests: &ServiceRequests, name: &str, kind: Option<&str>, bytes: &[u8]| {
        requests.attach(&w.supplier.user, key, name, kind, bytes, false, None)
    };
    assert_eq!(
        invalid_fields(attach(
            &w.requests,
            "x.exe",
            Some("application/x-msdownload"),
            b"MZ"
        )),
        ["file"]
    );
    assert_eq!(
        invalid_fields(attach(
            &w.requests,
            "x.png",
            Some("image/png"),
            b"#!/bin/sh\n"
        )),
        ["file"]
    );
    assert_eq!(
        invalid_fields(attach(&w.requests, "x.txt", None, b"")),
        ["file"]
    );
    assert_eq!(
        invalid_fields(attach(&w.requests, "../", Some("text/plain"), b"ok")),
        ["filename"]
    );
    let small = limited(&w, 16);
    assert_eq!(
        invalid_fields(attach(&small, "x.txt", Some("text/plain"), &[b'a'; 17])),
        ["file"]
    );
    attach(&small, "x.txt", Some("text/plain"), &[b'a'; 16]).expect("at the limit");
    assert_eq!(
        w.requests.attachments(&w.agent, key).expect("list").len(),
        1,
        "nothing refused was stored"
    );
}

#[test]
fn another_organisation_sees_nothing_and_readers_cannot_attach() {
    let w = World::new();
    let raised = w.raise(&w.supplier.user, diagnostics());
    let key = raised.reference.as_str();
    let photo = w
        .requests
        .attach(&w.supplier.user, key, "m.png", None, PNG, false, None)
        .expect("attach");
    for other in [&w.other.admin, &w.other.user, &w.other.token] {
        assert_not_found(w.requests.attachments(other, key));
        assert_not_found(w.requests.attachment(other, key, photo.id));
        assert_not_found(
            w.requests
                .attach(other, key, "x.txt", None, b"x", false, None),
        );
    }
    // A file of one request is not found through another's, even the same organisation's.
    let second = w.raise(&w.supplier.user, diagnostics());
    assert_not_found(
        w.requests
            .attachment(&w.supplier.user, &second.reference, photo.id),
    );
    assert!(
        w.requests
            .attachments(&w.supplier.user, &second.reference)
            .expect("list")
            .is_empty()
    );
    assert_forbidden(w.requests.attach(
        &w.supplier.reporter,
        key,
        "x.txt",
        None,
        b"x",
        false,
        None,
    ));
    assert_forbidden(
        w.requests
            .attach(&w.supplier.user, key, "x.txt", None, b"x", true, None),
    );
}

#[test]
fn closed_requests_take_no_more_files() {
    let w = World::new();
    let raised = w.raise(&w.supplier.user, diagnostics());
    w.requests
        .update(
            &w.supplier.user,
            &raised.reference,
            None,
            RequestChanges {
                status: Some("cancelled".into()),
                ..RequestChanges::default()
            },
            None,
        )
        .expect("cancel");
    assert_conflict(w.requests.attach(
        &w.supplier.user,
        &raised.reference,
        "x.txt",
        None,
        b"x",
        false,
        None,
    ));
}

/// Adds `meter_evidence`, a form with a required file field and an optional one.
fn add_evidence_item(w: &World) {
    let definition: Definition = serde_json::from_value(json!({
        "name": "Meter evidence", "description": "Send evidence of a meter fault.",
        "fields": [
            {"key": "summary", "label": "What is wrong", "type": "text", "required": true},
            {"key": "evidence", "label": "Evidence", "type": "file", "required": true},
            {"key": "photo", "label": "Photo", "type": "file"},
        ],
        "tasks": [{"name": "Review", "group": "second-line"}], "sla_working_days": 5,
    }))
    .expect("definition");
    w.requests
        .add_item(
            &w.dcc_admin,
            NewCatalogueItem {
                code: "meter_evidence".into(),
                definition,
            },
        )
        .expect("item");
}

fn file(field: &str, name: &str, kind: Option<&str>, bytes: &[u8]) -> NewFile {
    NewFile {
        field: field.into(),
        filename: name.into(),
        content_type: kind.map(str::to_owned),
        bytes: bytes.to_vec(),
    }
}

#[test]
fn file_fields_are_answered_by_files_sent_with_the_request() {
    let w = World::new();
    add_evidence_item(&w);
    let new = || request("meter_evidence", json!({"summary": "Display blank"}));
    let raise = |requests: &ServiceRequests, files: &[NewFile]| {
        requests.raise_with_files(&w.supplier.user, new(), files, None)
    };

    assert_eq!(
        invalid_fields(raise(&w.requests, &[])),
        ["fields.evidence"],
        "a required file field needs a file"
    );
    assert_eq!(
        invalid_fields(raise(
            &w.requests,
            &[file("evidence", "e.png", Some("image/png"), b"not a png")]
        )),
        ["fields.evidence"],
        "the content must agree with the type"
    );
    assert_eq!(
        invalid_fields(raise(
            &limited(&w, 8),
            &[file("evidence", "e.pdf", None, PDF)]
        )),
        ["fields.evidence"],
        "too big"
    );
    assert_eq!(
        invalid_fields(raise(
            &w.requests,
            &[
                file("evidence", "e.pdf", None, PDF),
                file("summary", "s.txt", None, b"x"),
                file("evidence", "f.pdf", None, PDF),
            ]
        )),
        ["fields.summary", "fields.evidence"],
        "files only for file fields, one each"
    );
    assert_eq!(
        invalid_fields(w.requests.raise_with_files(
            &w.supplier.user,
            request(
                "meter_evidence",
                json!({"summary": "Blank", "evidence": "12"})
            ),
            &[],
            None,
        )),
        ["fields.evidence"],
        "a file field is not answered in JSON"
    );
    assert!(
        events_of(&w, "request.submitted").is_empty(),
        "nothing refused was raised"
    );

    let raised = match raise(
        &w.requests,
        &[
            file("evidence", "fault report.pdf", None, PDF),
            file("photo", "meter.png", Some("image/png"), PNG),
        ],
    ) {
        Ok(Raised::Created(request)) => *request,
        other => panic!("expected a new request, got {other:?}"),
    };
    assert_eq!(raised.answers["summary"], "Display blank");
    assert_eq!(raised.answers["evidence"]["filename"], "fault report.pdf");
    assert_eq!(
        raised.answers["evidence"]["content_type"],
        "application/pdf"
    );
    let listed = w
        .requests
        .attachments(&w.supplier.user, &raised.reference)
        .expect("list");
    assert_eq!(listed.len(), 2);
    let evidence = answer_attachment_id(&raised.answers["evidence"]).expect("attachment id");
    assert_eq!(evidence, listed[0].id);
    assert_eq!(
        answer_attachment_id(&raised.answers["photo"]),
        Some(listed[1].id)
    );
    let (_, bytes) = w
        .requests
        .attachment(&w.supplier.user, &raised.reference, evidence)
        .expect("download");
    assert_eq!(bytes, PDF);
    assert_not_found(
        w.requests
            .attachment(&w.other.user, &raised.reference, evidence),
    );
    let history = w
        .requests
        .history(
            &w.supplier.user,
            &raised.reference,
            PageRequest::parse(None, None).unwrap(),
        )
        .expect("history");
    assert_eq!(
        history
            .items
            .iter()
            .filter(|e| e.action == "service_request.attachment_added")
            .count(),
        2
    );
    assert_eq!(events_of(&w, "request.attachment_added").len(), 2);

    // The optional file field may be left out.
    match raise(&w.requests, &[file("evidence", "e.txt", None, b"log")]) {
        Ok(Raised::Created(request)) => assert!(!request.answers.contains_key("photo")),
        other => panic!("expected a new request, got {other:?}"),
    }
}

#[test]
fn adding_a_file_field_leaves_requests_raised_on_older_versions_intact() {
    let w = World::new();
    let raised = w.raise(&w.supplier.user, diagnostics());
    let item = w
        .requests
        .catalogue_item(&w.dcc_admin, "device_diagnostics")
        .expect("item");
    let mut definition = item.form.definition.clone();
    definition.fields.push(
        serde_json::from_value(
            json!({"key": "photo", "label": "Photo", "type": "file", "required": true}),
        )
        .expect("field"),
    );
    w.requests
        .change_item(
            &w.dcc_admin,
            "device_diagnostics",
            None,
            dsms_service_request::CatalogueChanges {
                definition: Some(definition),
                ..Default::default()
            },
        )
        .expect("new version");
    let old = w.reload(&raised);
    assert_eq!(old.form.number, 1);
    assert!(old.form.definition.field("photo").is_none());
    assert_eq!(old.answers, raised.answers);
    assert_eq!(
        invalid_fields(w.requests.raise(&w.supplier.user, diagnostics(), None)),
        ["fields.photo"]
    );
}
