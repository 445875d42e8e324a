//! Comments, internal work notes and full-text search.

use dsms_incident::{IncidentChanges, IncidentError, IncidentFilter};

use crate::support::{World, assert_forbidden, incident, invalid_fields};

fn search(text: &str) -> IncidentFilter {
    IncidentFilter {
        search: Some(text.into()),
        ..IncidentFilter::default()
    }
}

#[test]
fn only_the_service_desk_writes_work_notes() {
    let w = World::new();
    let raised = w.raise_p3("Hub offline");
    for caller in [&w.supplier.user, &w.supplier.token] {
        assert_forbidden(w.incidents.comment(
            caller,
            &raised.reference,
            "Trying to write an internal note",
            true,
            None,
        ));
    }
    let note = w
        .incidents
        .comment(
            &w.desk,
            &raised.reference,
            "Vendor ticket 4711 opened",
            true,
            None,
        )
        .expect("work note");
    assert!(note.internal);
    assert_eq!(note.author_name, "Desk Agent");
    assert_eq!(note.author_kind, "person");
    assert_eq!(
        invalid_fields(
            w.incidents
                .comment(&w.desk, &raised.reference, "  ", false, None)
        ),
        ["body"]
    );
}

#[test]
fn organisations_never_see_work_notes_in_comments_or_history() {
    let w = World::new();
    let raised = w.raise_p3("Hub offline");
    w.incidents
        .comment(
            &w.supplier.user,
            &raised.reference,
            "It is still offline",
            false,
            None,
        )
        .expect("comment");
    w.incidents
        .comment(
            &w.desk,
            &raised.reference,
            "Suspect the vendor firmware",
            true,
            None,
        )
        .expect("work note");
    w.incidents
        .comment(
            &w.desk,
            &raised.reference,
            "We are investigating",
            false,
            None,
        )
        .expect("reply");

    let desk_view: Vec<_> = w
        .incidents
        .comments(&w.desk, &raised.reference)
        .expect("desk comments")
        .into_iter()
        .map(|c| (c.body, c.internal))
        .collect();
    assert_eq!(
        desk_view,
        [
            ("It is still offline".to_owned(), false),
            ("Suspect the vendor firmware".to_owned(), true),
            ("We are investigating".to_owned(), false),
        ]
    );
    let desk_actions: Vec<_> = w
        .history(&w.desk, &raised)
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(desk_actions.contains(&"incident.work_note_added".to_owned()));

    for caller in [&w.supplier.user, &w.supplier.reporter, &w.supplier.token] {
        let bodies: Vec<_> = w
            .incidents
            .comments(caller, &raised.reference)
            .expect("comments")
            .into_iter()
            .map(|c| {
                assert!(!c.internal);
                c.body
            })
            .collect();
        assert_eq!(bodies, ["It is still offline", "We are investigating"]);
        let history = w.history(caller, &raised);
        assert!(!history.is_empty());
        for entry in &history {
            assert_ne!(entry.action, "incident.work_note_added", "{entry:?}");
            assert!(!entry.changes.contains("vendor firmware"));
        }
        assert_eq!(
            history
                .iter()
                .filter(|e| e.action == "incident.comment_added")
                .count(),
            2
        );
    }
}

#[test]
fn search_finds_words_in_titles_descriptions_and_public_comments() {
    let w = World::new();
    let by_title = w.raise_p3("Zigbee pairing fails");
    let by_description = w.raise(
        &w.supplier.user,
        dsms_incident::NewIncident {
            description: "The gateway answers with timeouts after midnight".into(),
            ..incident("Gateway problem")
        },
    );
    let by_comment = w.raise_p3("Meter trouble");
    w.incidents
        .comment(
            &w.supplier.user,
            &by_comment.reference,
            "Engineers saw condensation inside the cabinet",
            false,
            None,
        )
        .expect("comment");
    let by_reply = w.raise_p3("Another meter trouble");
    w.incidents
        .comment(
            &w.desk,
            &by_reply.reference,
            "Replacement scheduled for Friday",
            false,
            None,
        )
        .expect("reply");
    let renamed = w.raise(
        &w.supplier.user,
        dsms_incident::NewIncident {
            description: "Text unrelated to the heading".into(),
            ..incident("Old wording")
        },
    );
    w.update(
        &w.supplier.user,
        &renamed,
        IncidentChanges {
            title: Some("Firmware rollback needed".into()),
            ..IncidentChanges::default()
        },
    )
    .expect("retitled");

    for (words, expected) in [
        ("zigbee", &by_title),
        ("timeouts", &by_description),
        ("condensation", &by_comment),
        ("replacement", &by_reply),
        ("firmware rollback", &renamed),
    ] {
        for caller in [&w.desk, &w.supplier.user] {
            assert_eq!(
                w.references(caller, &search(words)),
                vec![expected.reference.clone()],
                "{words:?}"
            );
        }
    }
    // Every word must match, and the old title is forgotten.
    assert!(
        w.references(&w.desk, &search("zigbee condensation"))
            .is_empty()
    );
    assert!(w.references(&w.desk, &search("wording")).is_empty());
    // Stemmed forms match.
    assert_eq!(
        w.references(&w.desk, &search("pairing")),
        vec![by_title.reference.clone()]
    );
}

#[test]
fn search_never_finds_words_that_only_appear_in_work_notes() {
    let w = World::new();
    let raised = w.raise_p3("Hub offline");
    w.incidents
        .comment(
            &w.desk,
            &raised.reference,
            "Blame the xylophone vendor",
            true,
            None,
        )
        .expect("work note");
    // A later public comment and a title change re-index the incident: still no work notes.
    w.incidents
        .comment(&w.desk, &raised.reference, "Working on it", false, None)
        .expect("comment");
    w.update(
        &w.desk,
        &raised,
        IncidentChanges {
            title: Some("Hub offline since Monday".into()),
            ..IncidentChanges::default()
        },
    )
    .expect("retitled");
    for caller in [&w.desk, &w.supplier.user] {
        assert!(w.references(caller, &search("xylophone")).is_empty());
        assert_eq!(
            w.references(caller, &search("working")),
            vec![raised.reference.clone()]
        );
    }
}

#[test]
fn search_input_with_fts_syntax_never_errors() {
    let w = World::new();
    let raised = w.raise_p3("Hub \"offline\" (north) OR south");
    for text in [
        "\"offline",
        "offline\"",
        "(north",
        "north)",
        "offline OR",
        "OR offline",
        "NEAR(offline north)",
        "NEAR offline",
        "offline*",
        "off*",
        "north AND NOT south",
        "north -south",
        "title:offline",
        "^offline",
        "{offline}",
        "offline + north",
        "'offline'",
        "offline\\",
        "offline & north | south",
        "offline <-> north",
        "offline:*",
        "!offline",
    ] {
        let result = w
            .incidents
            .list(&w.desk, &search(text), crate::support::page(50, None));
        assert!(result.is_ok(), "{text:?}: {result:?}");
    }
    // Syntax around plain words is just punctuation.
    for text in ["\"offline\"", "(north)", "offline*", "(\"north\" offline)"] {
        assert_eq!(
            w.references(&w.desk, &search(text)),
            vec![raised.reference.clone()],
            "{text:?}"
        );
    }
    // Only syntax, no words: named as invalid input, never a database error.
    for text in ["*", "\"\"", "()", "-", "^"] {
        let result = w
            .incidents
            .list(&w.desk, &search(text), crate::support::page(50, None));
        match result {
            Err(IncidentError::Invalid(errors)) => assert_eq!(errors.0[0].field, "q"),
            Ok(page) => assert!(page.items.is_empty(), "{text:?}"),
            Err(other) => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn work_notes_never_reach_the_events_queued_for_organisations() {
    // Events in the outbox are fanned out to the organisation's webhooks and emails.
    use diesel::prelude::*;
    use dsms_store::schema::outbox;

    let w = World::new();
    let raised = w.raise_p3("Hub offline");
    w.incidents
        .comment(
            &w.desk,
            &raised.reference,
            "Quartz vendor blamed",
            true,
            None,
        )
        .expect("work note");
    w.incidents
        .comment(&w.desk, &raised.reference, "Engineer booked", false, None)
        .expect("comment");
    let payloads: Vec<String> =
        w.db.read_blocking(|conn| {
            outbox::table
                .order(outbox::id.asc())
                .select(outbox::payload)
                .load(conn)
                .map_err(dsms_store::StoreError::from)
        })
        .expect("outbox");
    assert!(payloads.iter().any(|p| p.contains("Engineer booked")));
    assert!(
        payloads.iter().all(|p| !p.contains("Quartz")),
        "{payloads:#?}"
    );
}
