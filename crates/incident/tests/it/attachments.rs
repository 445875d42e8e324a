//! Files attached to incidents: who may attach and see them, what is accepted, and what the
//! history and the events queued for organisations show of them.

use diesel::prelude::*;
use dsms_incident::{IncidentError, IncidentPolicy, Incidents, Status};
use dsms_store::schema::outbox;

use crate::support::{World, assert_forbidden, assert_not_found, changes, invalid_fields};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

fn outbox_payloads(w: &World) -> Vec<String> {
    w.db.read_blocking(|conn| {
        outbox::table
            .order(outbox::id.asc())
            .select(outbox::payload)
            .load(conn)
            .map_err(dsms_store::StoreError::from)
    })
    .expect("outbox")
}

#[test]
fn the_raiser_and_the_desk_attach_files_and_read_them_back() {
    let w = World::new();
    let raised = w.raise_p3("Hub offline");
    let by_token = w
        .incidents
        .attach(
            &w.supplier.token,
            &raised.reference,
            "../../logs/hub.png",
            Some("image/png"),
            PNG,
            false,
            Some("req-1"),
        )
        .expect("attached by the API token");
    assert_eq!(by_token.filename, "hub.png", "directories are stripped");
    assert_eq!(by_token.content_type, "image/png");
    assert_eq!(by_token.size_bytes, PNG.len() as i64);
    assert_eq!(by_token.sha256.len(), 64);
    assert_eq!(by_token.uploaded_by_kind, "api_token");
    assert!(!by_token.internal);
    let by_desk = w
        .incidents
        .attach(
            &w.desk,
            &raised.id.to_string(),
            "diagnosis.pdf",
            None,
            PDF,
            false,
            None,
        )
        .expect("attached by the desk");
    assert_eq!(by_desk.content_type, "application/pdf", "sniffed");
    assert_eq!(by_desk.uploaded_by_kind, "person");

    for caller in [
        &w.supplier.user,
        &w.supplier.reporter,
        &w.supplier.token,
        &w.desk,
    ] {
        let listed = w
            .incidents
            .attachments(caller, &raised.reference)
            .expect("list");
        assert_eq!(
            listed.iter().map(|a| a.id).collect::<Vec<_>>(),
            [by_token.id, by_desk.id]
        );
        let (meta, bytes) = w
            .incidents
            .attachment(caller, &raised.reference, by_token.id)
            .expect("download");
        assert_eq!(meta, by_token);
        assert_eq!(bytes, PNG);
    }
    // Attaching is a change to the incident.
    assert_eq!(w.reload(&raised).version, raised.version + 2);
}

#[test]
fn files_of_work_notes_are_for_the_service_desk_only() {
    let w = World::new();
    let raised = w.raise_p3("Hub offline");
    for caller in [&w.supplier.user, &w.supplier.token] {
        assert_forbidden(w.incidents.attach(
            caller,
            &raised.reference,
            "note.txt",
            Some("text/plain"),
            b"sneaky",
            true,
            None,
        ));
    }
    let public = w
        .incidents
        .attach(
            &w.desk,
            &raised.reference,
            "steps.txt",
            Some("text/plain"),
            b"Power-cycle the hub",
            false,
            None,
        )
        .expect("public file");
    let secret = w
        .incidents
        .attach(
            &w.desk,
            &raised.reference,
            "Quartz-vendor-defect.txt",
            Some("text/plain"),
            b"Quartz firmware defect",
            true,
            None,
        )
        .expect("work note's file");
    assert!(secret.internal);

    let desk_view = w
        .incidents
        .attachments(&w.desk, &raised.reference)
        .expect("desk list");
    assert_eq!(desk_view.len(), 2);
    w.incidents
        .attachment(&w.agent, &raised.reference, secret.id)
        .expect("another agent reads it");
    for caller in [&w.supplier.user, &w.supplier.reporter, &w.supplier.token] {
        let seen = w
            .incidents
            .attachments(caller, &raised.reference)
            .expect("list");
        assert_eq!(seen.iter().map(|a| a.id).collect::<Vec<_>>(), [public.id]);
        assert_not_found(w.incidents.attachment(caller, &raised.reference, secret.id));
        for entry in w.history(caller, &raised) {
            assert!(!entry.changes.contains("Quartz"), "{entry:?}");
            assert!(
                !(entry.action == "incident.attachment_added"
                    && changes(&entry)["internal"]["to"] == true),
                "{entry:?}"
            );
        }
        assert_eq!(
            w.history(caller, &raised)
                .iter()
                .filter(|e| e.action == "incident.attachment_added")
                .count(),
            1
        );
    }
    let desk_history = w.history(&w.desk, &raised);
    let added: Vec<_> = desk_history
        .iter()
        .filter(|e| e.action == "incident.attachment_added")
        .collect();
    assert_eq!(added.len(), 1);
    assert_eq!(
        desk_history
            .iter()
            .filter(|e| e.action == "incident.work_note_attachment_added")
            .count(),
        1,
        "the service desk sees the work note's file in the history"
    );
    let public_entry = added
        .iter()
        .find(|e| changes(e)["attachment_id"]["to"] == public.id)
        .expect("public entry");
    assert_eq!(changes(public_entry)["filename"]["to"], "steps.txt");

    // Only the public file becomes an event for the organisation's webhooks and emails.
    let payloads = outbox_payloads(&w);
    let events: Vec<serde_json::Value> = payloads
        .iter()
        .map(|p| serde_json::from_str(p).expect("json"))
        .filter(|p: &serde_json::Value| p["type"] == "incident.attachment_added")
        .collect();
    assert_eq!(events.len(), 1, "{payloads:#?}");
    assert_eq!(events[0]["attachment"]["id"], public.id.to_string());
    assert_eq!(events[0]["attachment"]["filename"], "steps.txt");
    assert_eq!(events[0]["incident"]["reference"], raised.reference);
    assert!(payloads.iter().all(|p| !p.contains("Quartz")));
}

#[test]
fn other_organisations_see_nothing_and_readers_cannot_attach() {
    let w = World::new();
    let raised = w.raise_p3("Hub offline");
    let file = w
        .incidents
        .attach(
            &w.supplier.user,
            &raised.reference,
            "a.csv",
            Some("text/csv"),
            b"a,b\n1,2\n",
            false,
            None,
        )
        .expect("attached");
    for caller in [&w.other.user, &w.other.reporter, &w.other.token] {
        assert_not_found(w.incidents.attach(
            caller,
            &raised.reference,
            "b.csv",
            Some("text/csv"),
            b"x",
            false,
            None,
        ));
        assert_not_found(w.incidents.attachments(caller, &raised.reference));
        assert_not_found(w.incidents.attachment(caller, &raised.reference, file.id));
    }
    // An attachment id of another incident is not found through this one.
    let mine = w.raise(&w.other.user, crate::support::incident("Theirs"));
    assert_not_found(
        w.incidents
            .attachment(&w.other.user, &mine.reference, file.id),
    );
    assert_not_found(w.incidents.attachment(&w.desk, &mine.reference, file.id));
    assert_forbidden(w.incidents.attach(
        &w.supplier.reporter,
        &raised.reference,
        "r.txt",
        Some("text/plain"),
        b"read only",
        false,
        None,
    ));
}

#[test]
fn files_are_checked_for_size_name_and_type() {
    let w = World::new();
    let raised = w.raise_p3("Hub offline");
    let attach = |name: &str, declared: Option<&str>, bytes: &[u8]| {
        w.incidents.attach(
            &w.supplier.user,
            &raised.reference,
            name,
            declared,
            bytes,
            false,
            None,
        )
    };
    assert_eq!(invalid_fields(attach("empty.txt", None, b"")), ["file"]);
    assert_eq!(
        invalid_fields(attach("x.png", Some("image/png"), b"#!/bin/sh\nrm -rf /\n")),
        ["file"],
        "a script declared as an image"
    );
    assert_eq!(
        invalid_fields(attach(
            "x.png",
            Some("image/png"),
            b"MZ\x90\0\x03\0\0\0\x04\0"
        )),
        ["file"],
        "an executable declared as an image"
    );
    assert_eq!(
        invalid_fields(attach("x.exe", None, b"MZ\x90\0\x03\0\0\0\x04\0")),
        ["file"],
        "an executable of no declared type"
    );
    assert_eq!(
        invalid_fields(attach("x.html", Some("text/html"), b"<script>")),
        ["file"],
        "a type outside the allow-list"
    );
    assert_eq!(
        invalid_fields(attach("x.json", Some("application/json"), b"{oops")),
        ["file"]
    );
    assert_eq!(
        invalid_fields(attach("../..", Some("text/plain"), b"ok")),
        ["filename"]
    );
    assert_eq!(
        invalid_fields(attach("\r\n\t", Some("text/plain"), b"ok")),
        ["filename"]
    );
    assert_eq!(
        invalid_fields(attach(&"a".repeat(201), Some("text/plain"), b"ok")),
        ["filename"]
    );
    let cleaned = attach("line\r\nbreak\u{202e}txt.exe", Some("text/plain"), b"ok").expect("ok");
    assert_eq!(cleaned.filename, "linebreaktxt.exe");
    let json = attach(
        "a.json",
        Some("application/json; charset=utf-8"),
        b"{\"a\":1}",
    )
    .expect("ok");
    assert_eq!(json.content_type, "application/json");
    let xlsx = attach(
        "sheet.xlsx",
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        b"PK\x03\x04\x14\0\x06\0",
    )
    .expect("xlsx is a zip");
    assert_eq!(
        xlsx.content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );

    // The limit comes from the policy.
    let small = Incidents::new(
        w.db.clone(),
        w.clock.clone(),
        IncidentPolicy {
            max_attachment_bytes: 16,
            ..IncidentPolicy::default()
        },
    );
    small
        .attach(
            &w.supplier.user,
            &raised.reference,
            "ok.txt",
            None,
            &[b'a'; 16],
            false,
            None,
        )
        .expect("at the limit");
    assert_eq!(
        invalid_fields(small.attach(
            &w.supplier.user,
            &raised.reference,
            "big.txt",
            None,
            &[b'a'; 17],
            false,
            None,
        )),
        ["file"]
    );
    // Nothing refused was stored.
    assert_eq!(
        w.incidents
            .attachments(&w.desk, &raised.reference)
            .expect("list")
            .len(),
        4
    );
}

#[test]
fn closed_and_cancelled_incidents_take_no_more_files() {
    let w = World::new();
    let raised = w.raise_p3("Hub offline");
    w.move_to(&w.supplier.user, &raised, Status::Cancelled);
    let refused = w.incidents.attach(
        &w.supplier.user,
        &raised.reference,
        "late.txt",
        None,
        b"too late",
        false,
        None,
    );
    assert!(
        matches!(refused, Err(IncidentError::Transition { .. })),
        "{refused:?}"
    );
}
