//! One line of setup per test: a fresh migrated database (SQLite, or PostgreSQL when
//! `DSMS_TEST_DATABASE_URL` is set) with the operator and two supplier organisations and their
//! people, a manual clock, the webhook service over them, and a real HTTP receiver on loopback.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use dsms_auth::credentials::MasterKey;
use dsms_auth::{NewOrganisation, NewPerson, create_organisation, create_person};
use dsms_core::{
    Actor, Backoff, Clock, Email, ManualClock, OrganisationKind, Principal, Role, SecRole,
    SharedClock,
};
use dsms_notify::WorkerSettings;
use dsms_store::outbox::{self, OutboxRow};
use dsms_store::schema::outbox as outbox_table;
use dsms_store::{Db, DbSettings, DbTarget, SqliteSynchronous, StoreError};
use dsms_testkit::TestDatabase;
use dsms_webhooks::{Endpoint, NewEndpoint, NotificationSettings, WebhookSettings, Webhooks};
use hmac::{Hmac, KeyInit as _, Mac as _};
use serde_json::{Value, json};
use sha2::Sha256;

/// A Monday in winter, inside working hours.
pub const START: &str = "2026-11-30T09:00:00Z";

pub fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

/// One organisation that uses the network.
pub struct Org {
    pub id: i64,
    /// An `org_admin`: manages the organisation's webhooks, is emailed when one is disabled.
    pub admin: Principal,
    pub admin_email: &'static str,
    /// An `org_user`: may not manage webhooks, is not emailed.
    pub user: Principal,
    pub user_email: &'static str,
}

pub struct World {
    pub hooks: Webhooks,
    pub db: Db,
    pub clock: Arc<ManualClock>,
    pub master_key: MasterKey,
    pub settings: WebhookSettings,
    /// A `dcc_admin` of the operator.
    pub dcc_admin: Principal,
    /// A `service_desk_agent`: operator staff without the webhook permission.
    pub desk: Principal,
    pub northern: Org,
    pub southern: Org,
    // Dropped last: the database outlives the pools.
    pub test_db: TestDatabase,
}

/// Settings for tests: loopback receivers allowed, short timeout.
pub fn test_settings() -> WebhookSettings {
    WebhookSettings {
        allow_insecure_localhost: true,
        timeout: StdDuration::from_secs(5),
        ..WebhookSettings::default()
    }
}

/// Links in emails point here.
pub const PUBLIC_URL: &str = "https://dsms.test";

/// Notification settings for tests.
pub fn notification_settings() -> NotificationSettings {
    NotificationSettings {
        public_url: format!("{PUBLIC_URL}/"),
        reopen_window_working_days: 5,
    }
}

/// Fast pacing so retries are due within a second of clock time.
pub fn pacing() -> WorkerSettings {
    WorkerSettings {
        poll_interval: StdDuration::from_millis(20),
        batch_size: 10,
        lease: StdDuration::from_secs(60),
        max_attempts: 5,
        backoff: Backoff {
            base: StdDuration::from_millis(100),
            max: StdDuration::from_millis(500),
        },
    }
}

/// A pool on the test database, as one server instance would have.
pub fn connect(test_db: &TestDatabase) -> Db {
    Db::connect(&DbSettings {
        target: DbTarget::from_url(test_db.url()),
        pool_size: 4,
        acquire_timeout: StdDuration::from_secs(30),
        busy_timeout: StdDuration::from_secs(10),
        sqlite_synchronous: SqliteSynchronous::Normal,
    })
    .expect("pool")
}

impl World {
    pub fn new() -> Self {
        Self::with_settings(test_settings())
    }

    pub fn with_settings(settings: WebhookSettings) -> Self {
        let test_db = TestDatabase::new();
        let db = connect(&test_db);
        db.migrate().expect("migrations apply");
        let clock = Arc::new(ManualClock::new(utc(START)));
        let now = utc(START);
        let actor = Actor::system("test");
        let ids = db
            .write_blocking(|conn| {
                let mut org = |name: &str, kind, sec_roles| {
                    create_organisation(
                        conn,
                        now,
                        &actor,
                        NewOrganisation {
                            name: name.into(),
                            kind,
                            sec_roles,
                            sec_party_id: None,
                        },
                    )
                    .map(|o| o.id)
                };
                let operator = org("Operator", OrganisationKind::Operator, Vec::new())?;
                let northern = org(
                    "Northern Supply",
                    OrganisationKind::User,
                    vec![SecRole::ImportSupplier],
                )?;
                let southern = org(
                    "Southern Gas",
                    OrganisationKind::User,
                    vec![SecRole::GasSupplier],
                )?;
                let mut person = |email: &str, organisation_id: i64, role: Role| {
                    create_person(
                        conn,
                        now,
                        &actor,
                        NewPerson {
                            email: Email::parse(email).expect("email"),
                            name: email.split('@').next().unwrap_or(email).to_owned(),
                            organisation_id,
                            roles: vec![role],
                        },
                        "!",
                        false,
                    )
                    .map(|p| p.id)
                };
                Ok::<_, dsms_auth::AuthError>([
                    operator,
                    person("admin@operator.example", operator, Role::DccAdmin)?,
                    person("desk@operator.example", operator, Role::ServiceDeskAgent)?,
                    northern,
                    person(NORTHERN_ADMIN, northern, Role::OrgAdmin)?,
                    person(NORTHERN_USER, northern, Role::OrgUser)?,
                    southern,
                    person(SOUTHERN_ADMIN, southern, Role::OrgAdmin)?,
                    person(SOUTHERN_USER, southern, Role::OrgUser)?,
                ])
            })
            .expect("organisations and people");
        let [operator, dcc, desk, n, n_admin, n_user, s, s_admin, s_user] = ids;
        let person = |id: i64, org: i64, kind, role: Role, name: &str| {
            Principal::person(id, org, kind, vec![role]).named(name)
        };
        let master_key = MasterKey::generate();
        let hooks = Webhooks::new(db.clone(), clock.clone(), &master_key, settings);
        Self {
            hooks,
            db,
            clock,
            master_key,
            settings,
            dcc_admin: person(
                dcc,
                operator,
                OrganisationKind::Operator,
                Role::DccAdmin,
                "DCC Admin",
            ),
            desk: person(
                desk,
                operator,
                OrganisationKind::Operator,
                Role::ServiceDeskAgent,
                "Desk",
            ),
            northern: Org {
                id: n,
                admin: person(
                    n_admin,
                    n,
                    OrganisationKind::User,
                    Role::OrgAdmin,
                    "N Admin",
                ),
                admin_email: NORTHERN_ADMIN,
                user: person(n_user, n, OrganisationKind::User, Role::OrgUser, "N User"),
                user_email: NORTHERN_USER,
            },
            southern: Org {
                id: s,
                admin: person(
                    s_admin,
                    s,
                    OrganisationKind::User,
                    Role::OrgAdmin,
                    "S Admin",
                ),
                admin_email: SOUTHERN_ADMIN,
                user: person(s_user, s, OrganisationKind::User, Role::OrgUser, "S User"),
                user_email: SOUTHERN_USER,
            },
            test_db,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn shared_clock(&self) -> SharedClock {
        self.clock.clone()
    }

    /// Another server instance: its own pool and service, the same database and master key.
    pub fn second_instance(&self, clock: SharedClock) -> Webhooks {
        Webhooks::new(
            connect(&self.test_db),
            clock,
            &MasterKey::from_base64(&self.master_key.to_base64()).expect("key"),
            self.settings,
        )
    }

    /// Registers an endpoint for `admin`'s organisation, expecting success.
    pub fn register(&self, admin: &Principal, url: &str, events: &[&str]) -> (Endpoint, String) {
        self.hooks
            .register(
                admin,
                NewEndpoint {
                    url: url.to_owned(),
                    events: events.iter().map(|e| (*e).to_owned()).collect(),
                    description: Some("test receiver".into()),
                    organisation_id: None,
                },
                None,
            )
            .unwrap_or_else(|e| panic!("register {url}: {e:?}"))
    }

    /// Queues a domain event as the incident service does, committed; returns its outbox id.
    pub fn emit(&self, organisation_id: i64, event_type: &str) -> i64 {
        let now = self.now();
        self.db
            .write_blocking(|conn| {
                outbox::enqueue(conn, now, "event", &event(organisation_id, event_type, now))
            })
            .expect("enqueue event")
    }

    /// Fans out and delivers everything due now, once.
    pub fn dispatch_and_deliver(&self) {
        self.hooks
            .dispatcher(pacing(), notification_settings())
            .run_once()
            .expect("dispatch");
        self.hooks
            .delivery_worker(pacing())
            .run_once()
            .expect("deliver");
    }

    /// Every outbox row of `kind`, oldest first.
    pub fn outbox_rows(&self, kind: &str) -> Vec<OutboxRow> {
        let kind = kind.to_owned();
        self.db
            .read_blocking(move |conn| {
                let ids: Vec<i64> = outbox_table::table
                    .filter(outbox_table::kind.eq(&kind))
                    .order(outbox_table::id.asc())
                    .select(outbox_table::id)
                    .load(conn)
                    .map_err(StoreError::from)?;
                ids.into_iter().map(|id| outbox::get(conn, id)).collect()
            })
            .expect("outbox rows")
    }
}

/// One queued email, as its outbox payload says.
#[derive(Debug, Clone)]
pub struct QueuedEmail {
    pub to: Vec<String>,
    pub subject: String,
    pub text_body: String,
    pub message_id: String,
}

impl World {
    /// Every queued email, oldest first.
    pub fn emails(&self) -> Vec<QueuedEmail> {
        self.outbox_rows("email")
            .into_iter()
            .map(|row| {
                let payload: Value = serde_json::from_str(&row.payload).expect("JSON payload");
                let text = |key: &str| payload[key].as_str().expect(key).to_owned();
                QueuedEmail {
                    to: payload["to"]
                        .as_array()
                        .expect("to")
                        .iter()
                        .map(|a| a.as_str().expect("address").to_owned())
                        .collect(),
                    subject: text("subject"),
                    text_body: text("text_body"),
                    message_id: text("message_id"),
                }
            })
            .collect()
    }

    /// Adds an active person with `role` to an organisation; returns their id.
    pub fn add_person(&self, email: &str, organisation_id: i64, role: Role) -> i64 {
        let now = self.now();
        self.db
            .write_blocking(|conn| {
                create_person(
                    conn,
                    now,
                    &Actor::system("test"),
                    NewPerson {
                        email: Email::parse(email).expect("email"),
                        name: email.split('@').next().unwrap_or(email).to_owned(),
                        organisation_id,
                        roles: vec![role],
                    },
                    "!",
                    false,
                )
                .map(|p| p.id)
            })
            .expect("person")
    }

    /// Sets a person's status (`active`, `deactivated`) directly.
    pub fn set_person_status(&self, id: i64, status: &str) {
        use dsms_store::schema::people;
        self.db
            .write_blocking(|conn| {
                diesel::update(people::table.find(id))
                    .set(people::status.eq(status))
                    .execute(conn)
                    .map_err(StoreError::from)
            })
            .expect("person status");
    }

    /// Sets an organisation's status (`active`, `suspended`) directly.
    pub fn set_organisation_status(&self, id: i64, status: &str) {
        use dsms_store::schema::organisations;
        self.db
            .write_blocking(|conn| {
                diesel::update(organisations::table.find(id))
                    .set(organisations::status.eq(status))
                    .execute(conn)
                    .map_err(StoreError::from)
            })
            .expect("organisation status");
    }
}

const NORTHERN_ADMIN: &str = "admin@northern.example";
const NORTHERN_USER: &str = "user@northern.example";
const SOUTHERN_ADMIN: &str = "admin@southern.example";
const SOUTHERN_USER: &str = "user@southern.example";

/// A domain event shaped like `dsms_incident::event_payload`.
pub fn event(organisation_id: i64, event_type: &str, now: DateTime<Utc>) -> Value {
    json!({
        "type": event_type,
        "occurred_at": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "organisation_id": organisation_id.to_string(),
        "incident": {
            "id": "1",
            "reference": "INC0000001",
            "title": "Hub offline — “quotes” and ünïcode",
            "status": "new",
            "priority": 3,
            "version": 1,
        },
    })
}

/// Lowercase hex HMAC-SHA256 of `<timestamp>.<body>`, computed here independently of the crate.
pub fn expected_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("v1={hex}")
}

/// One request a [`Receiver`] accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

struct Shared {
    received: Mutex<Vec<Received>>,
    /// Statuses to answer with, in order; 200 once they run out.
    script: Mutex<VecDeque<u16>>,
    /// The status when the script is empty.
    otherwise: Mutex<u16>,
    stop: AtomicBool,
}

/// A minimal HTTP/1.1 server on loopback that records every request and answers with scripted
/// statuses: a real receiver for deliveries to go to.
pub struct Receiver {
    port: u16,
    shared: Arc<Shared>,
}

impl Receiver {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let shared = Arc::new(Shared {
            received: Mutex::new(Vec::new()),
            script: Mutex::new(VecDeque::new()),
            otherwise: Mutex::new(200),
            stop: AtomicBool::new(false),
        });
        let accepting = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accepting.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&accepting);
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        Self { port, shared }
    }

    /// The URL of `path` on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Answers the next requests with `statuses`, then with the default.
    pub fn script(&self, statuses: &[u16]) {
        self.shared
            .script
            .lock()
            .unwrap()
            .extend(statuses.iter().copied());
    }

    /// Answers every request with `status` once the script runs out.
    pub fn answer_always(&self, status: u16) {
        *self.shared.otherwise.lock().unwrap() = status;
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    pub fn received_at(&self, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Unblock the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(StdDuration::from_secs(10)));
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 {
            return;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let status = {
        let next = shared.script.lock().unwrap().pop_front();
        next.unwrap_or_else(|| *shared.otherwise.lock().unwrap())
    };
    shared.received.lock().unwrap().push(Received {
        method,
        path,
        headers,
        body,
    });
    let mut stream = reader.into_inner();
    let _ = write!(
        stream,
        "HTTP/1.1 {status} Scripted\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    );
    let _ = stream.flush();
}

/// Polls `done` every 20 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: StdDuration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(StdDuration::from_millis(20));
    }
}
