use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use dsms_notify::{EmailMessage, enqueue_email};
use dsms_store::StoreError;
use dsms_testkit::SmtpSink;
use tokio::sync::watch;

use crate::support::{
    connect, delivered_count, header, message, migrated_db, smtp_available, smtp_mailer,
    system_clock, wait_until, worker, worker_settings,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_deliver_each_message_exactly_once() {
    if !smtp_available("two_workers_deliver_each_message_exactly_once") {
        return;
    }
    let sink = SmtpSink::start();
    let (test_db, db) = migrated_db();
    let messages: Vec<EmailMessage> = (0..100).map(message).collect();
    let batch = messages.clone();
    db.write(move |conn| {
        for message in &batch {
            enqueue_email(conn, Utc::now(), message)?;
        }
        Ok::<_, StoreError>(())
    })
    .await
    .expect("enqueue");

    // Two server instances: separate pools, separate workers, one database.
    let (stop, shutdown) = watch::channel(false);
    let workers: Vec<_> = [db.clone(), connect(&test_db)]
        .into_iter()
        .map(|pool| {
            let worker = worker(
                &pool,
                smtp_mailer(sink.port()),
                worker_settings(),
                system_clock(),
            );
            tokio::spawn(worker.run(shutdown.clone()))
        })
        .collect();

    let all_delivered = {
        let db = db.clone();
        tokio::task::spawn_blocking(move || {
            wait_until(Duration::from_secs(60), || delivered_count(&db) == 100)
        })
        .await
        .expect("wait")
    };
    stop.send(true).expect("workers listening");
    for handle in workers {
        tokio::time::timeout(Duration::from_secs(10), handle)
            .await
            .expect("worker stops")
            .expect("worker task");
    }
    assert!(
        all_delivered,
        "only {} of 100 delivered",
        delivered_count(&db)
    );

    // The workers have stopped, so every send that will ever happen has happened.
    let received = sink.messages();
    let ids: Vec<String> = received
        .iter()
        .map(|raw| header(raw, "Message-ID").expect("Message-ID header"))
        .collect();
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), 100, "each message arrives once");
    assert_eq!(distinct.len(), 100, "no Message-ID arrives twice");
    let expected: HashSet<&String> = messages.iter().map(|m| &m.message_id).collect();
    assert_eq!(distinct, expected);
}
