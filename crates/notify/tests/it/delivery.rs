use std::time::Duration;

use chrono::Utc;
use dsms_notify::{EmailMessage, enqueue_email};
use dsms_store::StoreError;
use dsms_store::outbox;
use dsms_testkit::SmtpSink;

use crate::support::{
    FROM, body, email, enqueue, file_mailer, header, message, migrated_db, row, smtp_available,
    smtp_mailer, system_clock, worker, worker_settings,
};

#[test]
fn an_email_enqueued_in_a_committed_transaction_is_delivered_over_smtp() {
    if !smtp_available("an_email_enqueued_in_a_committed_transaction_is_delivered_over_smtp") {
        return;
    }
    let sink = SmtpSink::start();
    let (_test_db, db) = migrated_db();
    let message = EmailMessage::new(
        vec![
            email("ops@supplier.example"),
            email("lead@supplier.example"),
        ],
        "Ticket 42 was updated",
        "Hello,\nticket 42 changed.\n",
    );
    let id = db
        .write_blocking(|conn| enqueue_email(conn, Utc::now(), &message))
        .expect("enqueue");

    let worker = worker(
        &db,
        smtp_mailer(sink.port()),
        worker_settings(),
        system_clock(),
    );
    assert_eq!(worker.run_once().expect("pass"), 1);

    let received = sink.wait_for(1, Duration::from_secs(5));
    assert_eq!(received.len(), 1, "exactly one message arrives");
    let raw = &received[0];
    assert_eq!(
        header(raw, "X-Envelope-To").as_deref(),
        Some("ops@supplier.example,lead@supplier.example"),
        "both recipients are in the envelope"
    );
    assert_eq!(
        header(raw, "To").as_deref(),
        Some("ops@supplier.example, lead@supplier.example")
    );
    assert_eq!(header(raw, "From").as_deref(), Some(FROM));
    assert_eq!(
        header(raw, "Subject").as_deref(),
        Some("Ticket 42 was updated")
    );
    assert_eq!(header(raw, "Message-ID"), Some(message.message_id.clone()));
    assert_eq!(
        header(raw, "Content-Type").as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(body(raw).trim_end(), "Hello,\nticket 42 changed.");

    let row = row(&db, id);
    assert_eq!(row.status, "delivered");
    assert_eq!(row.attempts, 1);
    assert!(row.delivered_at.is_some());
    assert_eq!(row.last_error, None);
    assert_eq!(worker.run_once().expect("pass"), 0, "nothing left to do");
}

#[test]
fn an_email_enqueued_in_a_rolled_back_transaction_is_never_sent() {
    if !smtp_available("an_email_enqueued_in_a_rolled_back_transaction_is_never_sent") {
        return;
    }
    let sink = SmtpSink::start();
    let (_test_db, db) = migrated_db();
    let rolled_back = message(1);
    let result: Result<(), StoreError> = db.write_blocking(|conn| {
        enqueue_email(conn, Utc::now(), &rolled_back)?;
        // The change that caused the email fails, so the whole unit of work is undone.
        Err(StoreError::NotFound)
    });
    assert!(result.is_err());
    let committed = message(2);
    enqueue(&db, Utc::now(), &committed);

    let worker = worker(
        &db,
        smtp_mailer(sink.port()),
        worker_settings(),
        system_clock(),
    );
    assert_eq!(
        worker.run_once().expect("pass"),
        1,
        "only the committed row"
    );

    let received = sink.wait_for(1, Duration::from_secs(5));
    let ids: Vec<_> = received
        .iter()
        .filter_map(|raw| header(raw, "Message-ID"))
        .collect();
    assert_eq!(ids, vec![committed.message_id.clone()]);
    assert_eq!(worker.run_once().expect("pass"), 0);
    assert_eq!(sink.messages().len(), 1, "the rolled-back email never left");
}

#[test]
fn the_file_transport_writes_a_readable_eml_file() {
    let (_test_db, db) = migrated_db();
    let mail_root = tempfile::tempdir().expect("temp dir");
    let dir = mail_root.path().join("data").join("mail");
    let message = EmailMessage::new(
        vec![email("ops@supplier.example")],
        "Störung behoben",
        "The outage is over.\n",
    );
    let id = enqueue(&db, Utc::now(), &message);

    let worker = worker(&db, file_mailer(&dir), worker_settings(), system_clock());
    assert_eq!(worker.run_once().expect("pass"), 1);
    assert_eq!(row(&db, id).status, "delivered");

    let files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the mail directory was created")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
    let raw = std::fs::read_to_string(&files[0]).expect("readable text");
    assert_eq!(header(&raw, "From").as_deref(), Some(FROM));
    assert_eq!(header(&raw, "To").as_deref(), Some("ops@supplier.example"));
    assert_eq!(header(&raw, "Message-ID"), Some(message.message_id.clone()));
    assert!(header(&raw, "Date").is_some());
    assert_eq!(
        header(&raw, "Subject").as_deref(),
        Some("=?utf-8?b?U3TDtnJ1bmc=?= behoben"),
        "non-ASCII subjects are RFC 2047 encoded"
    );
    assert_eq!(body(&raw).trim_end(), "The outage is over.");
}

#[test]
fn permanent_failures_go_straight_to_dead_and_other_kinds_are_left_alone() {
    let (_test_db, db) = migrated_db();
    let mail_root = tempfile::tempdir().expect("temp dir");
    let now = Utc::now();
    // dsms accepts this address; the mail library's stricter RFC 5322 parser does not.
    let undeliverable = enqueue(
        &db,
        now,
        &EmailMessage::new(vec![email("a\"b@supplier.example")], "Hi", "Hello"),
    );
    let (unknown_kind, garbled) = db
        .write_blocking(|conn| {
            Ok::<_, StoreError>((
                outbox::enqueue(conn, now, "carrier-pigeon", &serde_json::json!({}))?,
                outbox::enqueue(conn, now, "email", &serde_json::json!({ "to": "nobody" }))?,
            ))
        })
        .expect("enqueue");

    let mut settings = worker_settings();
    settings.max_attempts = 10;
    let worker = worker(&db, file_mailer(mail_root.path()), settings, system_clock());
    assert_eq!(worker.run_once().expect("pass"), 2);

    let other = row(&db, unknown_kind);
    assert_eq!(
        (other.status.as_str(), other.attempts),
        ("pending", 0),
        "another kind's rows are left to their own worker"
    );
    for (id, expected) in [
        (undeliverable, "not a deliverable address"),
        (garbled, "payload is not a valid email message"),
    ] {
        let row = row(&db, id);
        assert_eq!(row.status, "dead", "row {id}");
        assert_eq!(row.attempts, 1, "row {id} is not retried");
        let error = row.last_error.unwrap_or_default();
        assert!(error.contains(expected), "row {id}: {error}");
    }
    assert_eq!(
        std::fs::read_dir(mail_root.path()).expect("dir").count(),
        0,
        "nothing was written"
    );
}
