use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use crate::support::{
    enqueue, file_mailer, message, migrated_db, row, system_clock, wait_until, worker,
    worker_settings,
};

fn eml_count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| entries.count())
}

/// Waits on a blocking thread so the runtime keeps driving the worker.
async fn eventually(timeout: Duration, done: impl FnMut() -> bool + Send + 'static) -> bool {
    tokio::task::spawn_blocking(move || wait_until(timeout, done))
        .await
        .expect("wait")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_stops_promptly_when_shutdown_flips() {
    let (_test_db, db) = migrated_db();
    let mail = tempfile::tempdir().expect("temp dir");
    let mut settings = worker_settings();
    settings.poll_interval = Duration::from_secs(600);
    let id = enqueue(&db, Utc::now(), &message(1));
    let worker = worker(&db, file_mailer(mail.path()), settings, system_clock());
    let (stop, shutdown) = watch::channel(false);
    let running = tokio::spawn(worker.run(shutdown));

    // Once the first pass has delivered, the worker is idle for the long poll interval.
    let dir = mail.path().to_path_buf();
    assert!(eventually(Duration::from_secs(10), move || eml_count(&dir) == 1).await);
    let delivered = {
        let db = db.clone();
        eventually(Duration::from_secs(10), move || {
            row(&db, id).status == "delivered"
        })
        .await
    };
    assert!(delivered);

    stop.send(true).expect("worker listening");
    tokio::time::timeout(Duration::from_secs(2), running)
        .await
        .expect("run returns well before the poll interval")
        .expect("worker task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_stops_when_the_shutdown_sender_is_dropped() {
    let (_test_db, db) = migrated_db();
    let mail = tempfile::tempdir().expect("temp dir");
    let mut settings = worker_settings();
    settings.poll_interval = Duration::from_secs(600);
    let worker = worker(&db, file_mailer(mail.path()), settings, system_clock());
    let (stop, shutdown) = watch::channel(false);
    let running = tokio::spawn(worker.run(shutdown));
    drop(stop);
    tokio::time::timeout(Duration::from_secs(2), running)
        .await
        .expect("run returns once nobody can signal shutdown any more")
        .expect("worker task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wake_starts_a_pass_without_waiting_for_the_poll_interval() {
    let (_test_db, db) = migrated_db();
    let mail = tempfile::tempdir().expect("temp dir");
    let mut settings = worker_settings();
    settings.poll_interval = Duration::from_secs(600);
    enqueue(&db, Utc::now(), &message(1));
    let worker = worker(&db, file_mailer(mail.path()), settings, system_clock());
    let waker = worker.waker();
    let (stop, shutdown) = watch::channel(false);
    let running = tokio::spawn(worker.run(shutdown));

    // The first pass delivers the first message; after it the worker sleeps for ten minutes.
    let dir = mail.path().to_path_buf();
    assert!(eventually(Duration::from_secs(10), move || eml_count(&dir) == 1).await);

    let id = enqueue(&db, Utc::now(), &message(2));
    waker.wake();
    let dir = mail.path().to_path_buf();
    assert!(
        eventually(Duration::from_secs(10), move || eml_count(&dir) == 2).await,
        "the woken worker delivers the new message"
    );
    let delivered = {
        let db = db.clone();
        eventually(Duration::from_secs(10), move || {
            row(&db, id).status == "delivered"
        })
        .await
    };
    assert!(delivered);

    stop.send(true).expect("worker listening");
    tokio::time::timeout(Duration::from_secs(2), running)
        .await
        .expect("run returns")
        .expect("worker task");
}
