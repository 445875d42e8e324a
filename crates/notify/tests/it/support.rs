use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dsms_core::{Backoff, Email, SharedClock, SystemClock};
use dsms_notify::{
    EmailMessage, EmailSettings, EmailTransport, Mailer, OutboxWorker, SmtpSettings, SmtpTls,
    WorkerSettings, enqueue_email,
};
use dsms_store::outbox::{self, OutboxRow};
use dsms_store::{Db, DbSettings, DbTarget, SqliteSynchronous};
use dsms_testkit::{SmtpSink, TestDatabase};

pub const FROM: &str = "dsms <no-reply@dsms.localhost>";

/// A migrated database for one test; keep the `TestDatabase` alive as long as the `Db`.
pub fn migrated_db() -> (TestDatabase, Db) {
    let test_db = TestDatabase::new();
    let db = connect(&test_db);
    db.migrate().expect("migrations apply");
    (test_db, db)
}

/// Another pool on the same database, as a second server instance would have.
pub fn connect(test_db: &TestDatabase) -> Db {
    Db::connect(&DbSettings {
        target: DbTarget::from_url(test_db.url()),
        pool_size: 4,
        acquire_timeout: Duration::from_secs(10),
        busy_timeout: Duration::from_secs(5),
        sqlite_synchronous: SqliteSynchronous::Normal,
    })
    .expect("pool")
}

/// True when the SMTP server can run; reports the skip otherwise.
pub fn smtp_available(test: &str) -> bool {
    let available = SmtpSink::available();
    if !available {
        dsms_testkit::skip(test, "python3 with aiosmtpd is not installed");
    }
    available
}

pub fn smtp_mailer(port: u16) -> Mailer {
    Mailer::new(&EmailSettings {
        from: FROM.into(),
        transport: EmailTransport::Smtp(SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            tls: SmtpTls::None,
            username: None,
            password: None,
            timeout: Duration::from_secs(5),
        }),
    })
    .expect("mailer")
}

pub fn file_mailer(dir: &Path) -> Mailer {
    Mailer::new(&EmailSettings {
        from: FROM.into(),
        transport: EmailTransport::File {
            dir: dir.to_path_buf(),
        },
    })
    .expect("mailer")
}

/// Fast settings so retries happen within milliseconds.
pub fn worker_settings() -> WorkerSettings {
    WorkerSettings {
        poll_interval: Duration::from_millis(20),
        batch_size: 10,
        lease: Duration::from_secs(30),
        max_attempts: 5,
        backoff: Backoff {
            base: Duration::from_millis(50),
            max: Duration::from_millis(200),
        },
    }
}

pub fn system_clock() -> SharedClock {
    Arc::new(SystemClock)
}

pub fn worker(
    db: &Db,
    mailer: Mailer,
    settings: WorkerSettings,
    clock: SharedClock,
) -> OutboxWorker {
    OutboxWorker::new(db.clone(), mailer, settings, clock)
}

pub fn email(raw: &str) -> Email {
    Email::parse(raw).expect("valid address")
}

pub fn message(n: usize) -> EmailMessage {
    EmailMessage::new(
        vec![email(&format!("ops{n}@supplier.example"))],
        format!("Ticket {n} was updated"),
        format!("Ticket {n} changed.\n"),
    )
}

/// Enqueues `message` in its own committed unit of work.
pub fn enqueue(db: &Db, now: chrono::DateTime<chrono::Utc>, message: &EmailMessage) -> i64 {
    db.write_blocking(|conn| enqueue_email(conn, now, message))
        .expect("enqueue")
}

pub fn row(db: &Db, id: i64) -> OutboxRow {
    db.read_blocking(|conn| outbox::get(conn, id))
        .expect("outbox row")
}

pub fn delivered_count(db: &Db) -> i64 {
    let counts = db.read_blocking(outbox::count_by_status).expect("count");
    counts
        .into_iter()
        .find(|(status, _)| status == "delivered")
        .map_or(0, |(_, n)| n)
}

/// Polls `done` every 20 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The value of header `name` in a raw message, with folded lines joined.
pub fn header(raw: &str, name: &str) -> Option<String> {
    let raw = raw.replace("\r\n", "\n");
    let head = raw.split("\n\n").next().unwrap_or_default();
    let mut lines: Vec<String> = Vec::new();
    for line in head.lines() {
        match lines.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
            _ => lines.push(line.to_owned()),
        }
    }
    let prefix = format!("{}:", name.to_ascii_lowercase());
    lines
        .iter()
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_owned())
}

/// The body of a raw message, with CRLF turned into LF.
pub fn body(raw: &str) -> String {
    let raw = raw.replace("\r\n", "\n");
    raw.split_once("\n\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}
