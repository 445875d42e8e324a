use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use dsms_core::{Clock, ManualClock, SharedClock};
use dsms_store::timestamp;
use dsms_testkit::{SmtpSink, free_port};

use crate::support::{
    enqueue, header, message, migrated_db, row, smtp_available, smtp_mailer, worker,
    worker_settings,
};

/// A clock the test moves, so back-off delays are crossed without sleeping.
fn manual_clock() -> (Arc<ManualClock>, SharedClock) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let shared: SharedClock = clock.clone();
    (clock, shared)
}

#[test]
fn while_smtp_is_down_the_row_waits_with_backoff_and_is_delivered_once_it_is_back() {
    if !smtp_available(
        "while_smtp_is_down_the_row_waits_with_backoff_and_is_delivered_once_it_is_back",
    ) {
        return;
    }
    let (_test_db, db) = migrated_db();
    let (clock, shared) = manual_clock();
    let port = free_port();
    let message = message(1);
    let id = enqueue(&db, clock.now(), &message);
    let worker = worker(&db, smtp_mailer(port), worker_settings(), shared);

    // Nothing listens on the port: the attempt fails and is rescheduled within the back-off
    // ceiling for a first retry (base 50 ms).
    let failed_at = clock.now();
    assert_eq!(worker.run_once().expect("pass"), 1);
    let first = row(&db, id);
    assert_eq!(first.status, "pending");
    assert_eq!(first.attempts, 1);
    assert_eq!(first.leased_until, None, "the lease is released");
    let error = first.last_error.clone().unwrap_or_default();
    assert!(error.contains("SMTP delivery failed"), "{error}");
    assert!(
        first.next_attempt_at >= timestamp(failed_at + TimeDelta::milliseconds(25))
            && first.next_attempt_at <= timestamp(failed_at + TimeDelta::milliseconds(50)),
        "next attempt {} not within the first back-off window after {failed_at}",
        first.next_attempt_at
    );
    assert_eq!(
        worker.run_once().expect("pass"),
        0,
        "not due before its retry time"
    );

    // Still down at the second attempt: the delay grows (ceiling 100 ms).
    clock.advance(TimeDelta::seconds(1));
    let failed_at = clock.now();
    assert_eq!(worker.run_once().expect("pass"), 1);
    let second = row(&db, id);
    assert_eq!(second.status, "pending");
    assert_eq!(second.attempts, 2);
    assert!(
        second.next_attempt_at >= timestamp(failed_at + TimeDelta::milliseconds(50))
            && second.next_attempt_at <= timestamp(failed_at + TimeDelta::milliseconds(100)),
        "next attempt {} not within the second back-off window after {failed_at}",
        second.next_attempt_at
    );

    // The server comes back on the same port; the next due attempt gets through.
    let sink = SmtpSink::start_on(port);
    clock.advance(TimeDelta::seconds(1));
    assert_eq!(worker.run_once().expect("pass"), 1);
    let delivered = row(&db, id);
    assert_eq!(delivered.status, "delivered");
    assert_eq!(delivered.attempts, 3);
    assert_eq!(delivered.last_error, None);
    let received = sink.wait_for(1, Duration::from_secs(5));
    assert_eq!(received.len(), 1);
    assert_eq!(header(&received[0], "Message-ID"), Some(message.message_id));
}

#[test]
fn after_max_attempts_the_row_is_dead_and_no_more_attempts_happen() {
    // Needs no SMTP server: nothing listens on the port throughout.
    let (_test_db, db) = migrated_db();
    let (clock, shared) = manual_clock();
    let id = enqueue(&db, clock.now(), &message(1));
    let mut settings = worker_settings();
    settings.max_attempts = 3;
    let worker = worker(&db, smtp_mailer(free_port()), settings, shared);

    for attempt in 1..=3 {
        assert_eq!(worker.run_once().expect("pass"), 1, "attempt {attempt}");
        let row = row(&db, id);
        assert_eq!(row.attempts, attempt);
        let expected = if attempt < 3 { "pending" } else { "dead" };
        assert_eq!(row.status, expected, "after attempt {attempt}");
        assert!(row.last_error.is_some());
        clock.advance(TimeDelta::seconds(1));
    }

    clock.advance(TimeDelta::days(1));
    assert_eq!(
        worker.run_once().expect("pass"),
        0,
        "dead rows are not leased"
    );
    let row = row(&db, id);
    assert_eq!(row.status, "dead");
    assert_eq!(row.attempts, 3);
}
