//! Several `dsms serve` processes on one PostgreSQL database (quality.md, Reliability), each
//! running every worker against a real SMTP server and a real webhook receiver:
//!
//! - every outbox email reaches the SMTP server exactly once (counted by Message-ID), and every
//!   notification the scenario calls for is among them once;
//! - every webhook reaches the receiver exactly once (counted by `Dsms-Delivery`), one per event;
//! - each SLA at-risk and breach event fires once, whatever the number of sweepers;
//! - each scheduled report is emailed once per period;
//! - references stay unique under concurrent creates through every process;
//! - `If-Match` stops lost updates made through different processes.
//!
//! On SQLite the same scenario runs with one process: SQLite is one host's embedded database, so
//! several servers on one file is no supported deployment, but the exactly-once promises still
//! hold between the workers of one process.

mod desk;
mod receiver;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::prelude::*;
use dsms_store::schema::{
    incident_sla_events, incidents, organisations, outbox, report_deliveries, report_subscriptions,
};
use dsms_store::{Db, StoreError};
use dsms_testkit::SmtpSink;
use serde_json::{Value, json};

use crate::fixtures::{self, Acknowledged};
use crate::support::{Env, Server};
use desk::Person;
use receiver::Receiver;

/// Priority 4 (what the load raises) gets a one-minute response target and is at risk after
/// 1% of it, so every instance's one-second sweep crosses the at-risk line within the test.
const SHORT_SLA: &str = r#"
[incidents]
at_risk_fraction = 0.01
sweep_interval_secs = 1
targets = [
    { priority = 1, response_mins = 15, resolution_mins = 240, hours = "around_the_clock" },
    { priority = 2, response_mins = 30, resolution_mins = 480, hours = "around_the_clock" },
    { priority = 3, response_mins = 120, resolution_mins = 1800, hours = "working" },
    { priority = 4, response_mins = 1, resolution_mins = 600, hours = "around_the_clock" },
    { priority = 5, response_mins = 600, resolution_mins = 6000, hours = "working" },
]
"#;

/// One master key for every instance, as several instances require: a webhook secret sealed by
/// one is opened by another, and an access token signed by one is accepted by all.
const SECRET_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Concurrent API clients per instance.
const CLIENTS_PER_INSTANCE: usize = 4;
/// Incidents each client raises.
const INCIDENTS_PER_CLIENT: usize = 4;
/// Comments on each incident, each through a different instance.
const COMMENTS_PER_INCIDENT: usize = 2;
/// Writers per instance racing to change one incident.
const WRITERS_PER_INSTANCE: usize = 3;
/// Changes each writer must get in.
const CHANGES_PER_WRITER: usize = 3;
/// The reports subscribed to, each at every cadence of [`CADENCES`].
const REPORTS: [&str; 4] = [
    "sla-performance",
    "arrivals-resolutions",
    "response-resolution-times",
    "reopen-rate",
];
/// The cadences subscribed to; each period of each subscription is emailed once.
const CADENCES: [&str; 3] = ["daily", "weekly", "monthly"];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_servers_on_one_database_deliver_everything_once_and_lose_no_update() {
    let env = Env::new();
    if !SmtpSink::available() {
        dsms_testkit::skip(
            "several_servers_on_one_database_...",
            "python3 with aiosmtpd is not installed",
        );
        return;
    }
    let instances = if env.test_db.is_postgres() {
        3
    } else {
        eprintln!(
            "several_servers_on_one_database_...: SQLite is one host's embedded database; running \
             with one server process (set DSMS_TEST_DATABASE_URL to run three on PostgreSQL)"
        );
        1
    };
    let started = Instant::now();
    let sink = SmtpSink::start();
    let receiver = Receiver::start();
    let config = env.data_dir.path().join("short-sla.toml");
    std::fs::write(&config, SHORT_SLA).expect("config");
    let config = config.to_string_lossy().into_owned();
    let smtp_port = sink.port().to_string();
    let settings = [
        ("DSMS_CONFIG", config.as_str()),
        ("DSMS_AUTH_SECRET_KEY", SECRET_KEY),
        ("DSMS_EMAIL_TRANSPORT", "smtp"),
        ("DSMS_SMTP_HOST", "127.0.0.1"),
        ("DSMS_SMTP_PORT", smtp_port.as_str()),
        ("DSMS_SMTP_TLS", "none"),
        // Small batches polled often, so the instances' workers contend for the same rows.
        ("DSMS_OUTBOX_POLL_INTERVAL_MS", "100"),
        ("DSMS_OUTBOX_BATCH_SIZE", "5"),
        ("DSMS_OUTBOX_BACKOFF_BASE_MS", "200"),
        ("DSMS_OUTBOX_BACKOFF_MAX_MS", "1000"),
        ("DSMS_WEBHOOKS_ALLOW_INSECURE_LOCALHOST", "true"),
        ("DSMS_REPORTS_WORKER_INTERVAL_SECS", "1"),
    ];
    let mut servers = Vec::new();
    for _ in 0..instances {
        let mut server = env.serve_with(&settings);
        server.wait_ready().await;
        servers.push(server);
    }
    let bases: Vec<String> = servers.iter().map(|s| s.url("")).collect();
    let base = |i: usize| bases[i % bases.len()].clone();
    let db = fixtures::db(env.test_db.url());
    let http = reqwest::Client::new();

    // The supplier's API token raises and comments; the desk lead (a service-desk manager and
    // operator administrator) assigns, registers the supplier's webhook and subscribes to reports.
    let token = fixtures::api_token(env.test_db.url(), "Twin Supplier");
    let supplier: i64 = read(&db, |conn| {
        organisations::table
            .filter(organisations::name.eq("Twin Supplier"))
            .select(organisations::id)
            .first(conn)
    });
    let lead = desk::create_and_sign_in(
        &env,
        &base(0),
        "lead@dcc.example",
        &["service_desk_manager", "dcc_admin"],
    )
    .await;
    let registered = http
        .post(format!("{}/api/v1/webhooks", base(1)))
        .bearer_auth(&lead.access_token)
        .json(&json!({
            "url": receiver.url(),
            "events": ["incident.*"],
            "organisation_id": supplier.to_string(),
            "description": "the supplier's ticketing system",
        }))
        .send()
        .await
        .expect("register webhook");
    assert_eq!(registered.status(), 201, "{:?}", registered.text().await);
    let mut subscriptions = BTreeSet::new();
    for (report, cadence) in REPORTS
        .iter()
        .flat_map(|r| CADENCES.iter().map(move |c| (r, c)))
    {
        let res = http
            .post(format!("{}/api/v1/report-subscriptions", base(2)))
            .bearer_auth(&lead.access_token)
            .json(&json!({"report": report, "cadence": cadence}))
            .send()
            .await
            .expect("subscribe");
        let status = res.status();
        let body: Value = res.json().await.expect("json");
        assert_eq!(status, 201, "{body}");
        let id: i64 = body["id"]
            .as_str()
            .expect("id")
            .parse()
            .expect("numeric id");
        subscriptions.insert(id);
    }
    // Subscribed long enough ago that the last complete period of each cadence is due now (a new
    // subscription asks only for periods that end after it).
    let long_ago = dsms_store::timestamp(Utc::now() - chrono::Days::new(40));
    write(&db, |conn| {
        diesel::update(report_subscriptions::table)
            .set(report_subscriptions::created_at.eq(long_ago))
            .execute(conn)
    });

    // Concurrent creates through every instance: references stay unique, incidents whole.
    let acknowledged = raise_incidents(&bases, &token).await;
    assert_eq!(
        acknowledged.len(),
        instances * CLIENTS_PER_INSTANCE * INCIDENTS_PER_CLIENT
    );
    let references: BTreeSet<&str> = acknowledged.iter().map(|a| a.reference.as_str()).collect();
    assert_eq!(
        references.len(),
        acknowledged.len(),
        "references are unique"
    );
    fixtures::assert_incidents_whole(env.test_db.url(), &acknowledged);
    let ids: BTreeSet<i64> = acknowledged
        .iter()
        .map(|a| a.id.parse().expect("numeric id"))
        .collect();

    // Every sweeper crosses the at-risk line of every response clock.
    wait_until("every response clock at risk", || {
        ids.is_subset(&sla_events(&db, "response", "at_risk"))
    })
    .await;

    // Assignments and comments through every instance, each emailing the lead.
    let assigned = join_all(acknowledged.iter().enumerate().map(|(i, ack)| {
        http.patch(format!("{}/api/v1/incidents/{}", base(i), ack.id))
            .bearer_auth(&lead.access_token)
            .json(&json!({"assignee_id": lead.id}))
            .send()
    }))
    .await;
    for res in assigned {
        let res = res.expect("assign");
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
    }
    let commented = join_all(acknowledged.iter().enumerate().flat_map(|(i, ack)| {
        let (http, token) = (&http, &token);
        (0..COMMENTS_PER_INCIDENT).map(move |c| {
            http.post(format!(
                "{}/api/v1/incidents/{}/comments",
                base(i + c),
                ack.id
            ))
            .bearer_auth(token)
            .json(&json!({"body": format!("still down, check {c}")}))
            .send()
        })
    }))
    .await;
    for res in commented {
        let res = res.expect("comment");
        assert_eq!(res.status(), 201, "{:?}", res.text().await);
    }

    // The resolution target passes (moved into the past rather than waiting ten hours): every
    // sweeper sees the breach, one records it.
    let past = dsms_store::timestamp(Utc::now() - chrono::TimeDelta::minutes(1));
    let id_list: Vec<i64> = ids.iter().copied().collect();
    write(&db, |conn| {
        diesel::update(incidents::table.filter(incidents::id.eq_any(&id_list)))
            .set(incidents::resolution_due_at.eq(Some(past)))
            .execute(conn)
    });
    wait_until("every resolution clock breached", || {
        ids.is_subset(&sla_events(&db, "resolution", "breached"))
    })
    .await;

    let contested = lost_updates_are_refused(&http, &bases, &token).await;

    // Quiet: the last incident's at-risk event fired, every report period recorded, nothing
    // pending, and the SMTP server and the receiver hold as many as the outbox delivered.
    let settled = || {
        let delivered = delivered_counts(&db);
        sla_events(&db, "response", "at_risk").contains(&contested)
            && delivered_reports(&db).len() >= subscriptions.len()
            && delivered.pending == 0
            && sink.messages().len() == delivered.emails
            && receiver.received().len() == delivered.webhooks
    };
    wait_until("every outbox row delivered", settled).await;
    // Let every worker and sweeper run a few more times over work already done.
    let quiet_until = Instant::now() + Duration::from_secs(3);
    let (emails, webhooks) = (sink.messages().len(), receiver.received().len());
    while Instant::now() < quiet_until {
        assert!(settled(), "more was delivered after everything was");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(sink.messages().len(), emails);
    assert_eq!(receiver.received().len(), webhooks);

    check_emails(&db, &sink, &acknowledged, &lead, &subscriptions);
    check_webhooks(&db, &receiver, &acknowledged, supplier);
    check_sla_events(&db);
    // Each instance logs how many scheduled reports it emailed: together, once per period.
    let logs: Vec<Vec<String>> = servers.iter().map(log_lines).collect();
    let sent_by: Vec<u64> = logs.iter().map(|l| reports_sent(l)).collect();
    assert_eq!(
        sent_by.iter().sum::<u64>(),
        delivered_reports(&db).len() as u64,
        "reports emailed per instance: {sent_by:?}"
    );
    for line in logs.iter().flatten() {
        if line.contains("\"WARN\"") || line.contains("\"ERROR\"") {
            eprintln!("server log: {line}");
        }
    }
    for server in &mut servers {
        assert!(
            server.child.try_wait().expect("wait").is_none(),
            "a server exited: {}",
            server.stderr_text()
        );
    }
    let workers = delivering_processes(&db);
    if instances > 1 {
        // The instances really contended: each kind of row was taken by several processes.
        for kind in ["email", "event", "webhook"] {
            let processes = workers.keys().filter(|(k, _)| k == kind).count();
            assert!(
                processes > 1,
                "only one process delivered {kind} rows: {workers:?}"
            );
        }
    }
    eprintln!(
        "{instances} instance(s): {} incidents, {emails} emails, {webhooks} webhooks in {:?}; \
         rows delivered per process and kind: {workers:?}; reports emailed per process: \
         {sent_by:?}",
        acknowledged.len(),
        started.elapsed()
    );
}

/// Raises incidents from [`CLIENTS_PER_INSTANCE`] concurrent clients per instance; every one
/// must be answered 201.
async fn raise_incidents(bases: &[String], token: &str) -> Vec<Acknowledged> {
    let http = reqwest::Client::new();
    let clients = (0..bases.len() * CLIENTS_PER_INSTANCE).map(|client| {
        let base = bases[client % bases.len()].clone();
        let (http, token) = (http.clone(), token.to_owned());
        async move {
            let mut raised = Vec::new();
            for n in 0..INCIDENTS_PER_CLIENT {
                let title = format!("twin {client}-{n}");
                let res = http
                    .post(format!("{base}/api/v1/incidents"))
                    .bearer_auth(&token)
                    .json(&fixtures::incident(&title))
                    .send()
                    .await
                    .expect("raise");
                let status = res.status();
                let body: Value = res.json().await.expect("json");
                assert_eq!(status, 201, "{body}");
                raised.push(Acknowledged {
                    title,
                    id: body["id"].as_str().expect("id").to_owned(),
                    reference: body["reference"].as_str().expect("reference").to_owned(),
                });
            }
            raised
        }
    });
    join_all(clients).await.into_iter().flatten().collect()
}

/// One incident that writers change through every instance.
struct Contest {
    http: reqwest::Client,
    bases: Vec<String>,
    token: String,
    id: String,
}

impl Contest {
    /// The incident's `ETag` and description, through instance `w`.
    async fn read(&self, w: usize) -> (String, String) {
        let res = self
            .http
            .get(format!("{}/api/v1/incidents/{}", self.base(w), self.id))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), 200);
        let etag = res.headers()["etag"].to_str().expect("etag").to_owned();
        let body: Value = res.json().await.expect("json");
        (etag, body["description"].as_str().expect("text").to_owned())
    }

    /// Writes `description` if the incident is still at `etag`, through instance `w`.
    async fn change(&self, w: usize, etag: &str, description: String) -> reqwest::Response {
        self.http
            .patch(format!("{}/api/v1/incidents/{}", self.base(w), self.id))
            .bearer_auth(&self.token)
            .header("If-Match", etag)
            .json(&json!({"description": description}))
            .send()
            .await
            .expect("patch")
    }

    fn base(&self, w: usize) -> &str {
        &self.bases[w % self.bases.len()]
    }
}

/// Writers on every instance change one incident's description by read, then `If-Match`
/// write. When all hold the same version only one may win; retrying on 412, every change each
/// writer made survives. Returns the incident's id.
async fn lost_updates_are_refused(http: &reqwest::Client, bases: &[String], token: &str) -> i64 {
    let res = http
        .post(format!("{}/api/v1/incidents", bases[0]))
        .bearer_auth(token)
        .json(&fixtures::incident("contested"))
        .send()
        .await
        .expect("raise");
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.expect("json");
    let contest = Arc::new(Contest {
        http: http.clone(),
        bases: bases.to_vec(),
        token: token.to_owned(),
        id: created["id"].as_str().expect("id").to_owned(),
    });
    let writers = bases.len() * WRITERS_PER_INSTANCE;

    // Every writer holds the same version; all write at once, each through its instance.
    let (etag, first) = contest.read(0).await;
    let raced = join_all((0..writers).map(|w| {
        let (contest, etag, text) = (contest.clone(), etag.clone(), format!("{first} [race {w}]"));
        async move { contest.change(w, &etag, text).await.status().as_u16() }
    }))
    .await;
    assert_eq!(
        raced.iter().filter(|s| **s == 200).count(),
        1,
        "one write wins: {raced:?}"
    );
    assert!(raced.iter().all(|s| *s == 200 || *s == 412), "{raced:?}");

    // Read-modify-write loops through different instances, retried on 412.
    let deadline = Instant::now() + Duration::from_secs(30);
    let refused = join_all((0..writers).map(|w| {
        let contest = contest.clone();
        async move {
            let mut refused = 0;
            for n in 0..CHANGES_PER_WRITER {
                loop {
                    let (etag, text) = contest.read(w).await;
                    let res = contest.change(w, &etag, format!("{text} [w{w}.{n}]")).await;
                    match res.status().as_u16() {
                        200 => break,
                        412 => refused += 1,
                        other => panic!("a change answered {other}: {:?}", res.text().await),
                    }
                    assert!(
                        Instant::now() < deadline,
                        "writer {w} never got change {n} in"
                    );
                }
            }
            refused
        }
    }))
    .await;
    let (etag, text) = contest.read(0).await;
    for w in 0..writers {
        for n in 0..CHANGES_PER_WRITER {
            assert_eq!(
                text.matches(&format!("[w{w}.{n}]")).count(),
                1,
                "change {n} of writer {w} is kept once: {text}"
            );
        }
    }
    assert_eq!(text.matches("[race ").count(), 1, "{text}");
    let changes = 1 + writers * CHANGES_PER_WRITER;
    let version = created["version"].as_i64().expect("version") + changes as i64;
    assert_eq!(etag, format!("\"{version}\""), "one version per change");
    eprintln!(
        "{writers} writers: {changes} changes kept, {} stale writes refused",
        refused.iter().sum::<usize>() + writers - 1
    );
    contest.id.parse().expect("numeric id")
}

/// Every outbox email reached the SMTP server exactly once, and the lead got exactly the
/// notifications the scenario calls for, and one email per scheduled report period.
fn check_emails(
    db: &Db,
    sink: &SmtpSink,
    acknowledged: &[Acknowledged],
    lead: &Person,
    subscriptions: &BTreeSet<i64>,
) {
    let rows: Vec<(i64, String, String)> = read(db, |conn| {
        outbox::table
            .filter(outbox::kind.eq("email"))
            .select((outbox::id, outbox::status, outbox::payload))
            .load(conn)
    });
    let mut received: BTreeMap<String, usize> = BTreeMap::new();
    for message in sink.messages() {
        *received.entry(message_id(&message)).or_default() += 1;
    }
    let mut sent = BTreeMap::new();
    for (id, status, payload) in &rows {
        assert_eq!(status, "delivered", "email {id}");
        let payload: Value = serde_json::from_str(payload).expect("JSON");
        let message_id = payload["message_id"]
            .as_str()
            .expect("message id")
            .to_owned();
        assert_eq!(
            received.get(&message_id),
            Some(&1),
            "email {id} ({}) reached the SMTP server once",
            payload["subject"]
        );
        sent.insert(*id, payload);
    }
    assert_eq!(
        received.len(),
        sent.len(),
        "nothing but the outbox was sent"
    );

    let subjects: Vec<&str> = sent
        .values()
        .filter(|p| p["to"] == json!([lead.email]))
        .filter_map(|p| p["subject"].as_str())
        .collect();
    for ack in acknowledged {
        let about = |what: &str| {
            let prefix = format!("[{}] {what}", ack.reference);
            subjects.iter().filter(|s| s.starts_with(&prefix)).count()
        };
        assert_eq!(about("SLA at risk"), 1, "{}: at-risk email", ack.reference);
        assert_eq!(about("SLA breached"), 1, "{}: breach email", ack.reference);
        assert_eq!(about("Assigned to you"), 1, "{}: assigned", ack.reference);
        assert_eq!(
            about("New comment"),
            COMMENTS_PER_INCIDENT,
            "{}: one email per comment",
            ack.reference
        );
    }

    let deliveries = delivered_reports(db);
    let periods: BTreeSet<i64> = deliveries.iter().map(|(s, _)| *s).collect();
    assert_eq!(&periods, subscriptions, "every subscription was emailed");
    let reports: BTreeSet<i64> = sent
        .iter()
        .filter(|(_, p)| p["attachments"].as_array().is_some_and(|a| !a.is_empty()))
        .map(|(id, _)| *id)
        .collect();
    let recorded: BTreeSet<i64> = deliveries.iter().map(|(_, outbox)| *outbox).collect();
    assert_eq!(reports, recorded, "one report email per recorded period");
    assert_eq!(recorded.len(), deliveries.len());
}

/// Every webhook row reached the receiver exactly once, each event was fanned out once, and
/// each incident's events arrived once each.
fn check_webhooks(db: &Db, receiver: &Receiver, acknowledged: &[Acknowledged], supplier: i64) {
    let received = receiver.received();
    let mut per_delivery: BTreeMap<&str, usize> = BTreeMap::new();
    for delivery in &received {
        *per_delivery.entry(delivery.id.as_str()).or_default() += 1;
    }
    let rows: Vec<(i64, String, String)> = read(db, |conn| {
        outbox::table
            .filter(outbox::kind.eq_any(["webhook", "event"]))
            .select((outbox::id, outbox::kind, outbox::status, outbox::payload))
            .load::<(i64, String, String, String)>(conn)
            .map(|rows| {
                rows.into_iter()
                    .map(|(id, kind, status, payload)| {
                        assert_eq!(status, "delivered", "{kind} {id}");
                        (id, kind, payload)
                    })
                    .collect()
            })
    });
    let mut fanned_out = BTreeMap::new();
    let mut events = BTreeSet::new();
    for (id, kind, payload) in &rows {
        let payload: Value = serde_json::from_str(payload).expect("JSON");
        if kind == "webhook" {
            assert_eq!(
                per_delivery.get(id.to_string().as_str()),
                Some(&1),
                "webhook {id} ({}) arrived once",
                payload["event_type"]
            );
            let event = payload["event_id"].as_i64().expect("event id");
            assert!(
                fanned_out.insert(event, *id).is_none(),
                "event {event} was fanned out twice"
            );
        } else if payload["organisation_id"]
            .as_str()
            .and_then(|id| id.parse::<i64>().ok())
            == Some(supplier)
        {
            events.insert(*id);
        }
    }
    assert_eq!(per_delivery.len(), fanned_out.len(), "nothing else arrived");
    assert_eq!(
        fanned_out.keys().copied().collect::<BTreeSet<_>>(),
        events,
        "every event of the supplier was delivered"
    );

    let mut per_incident: BTreeMap<(String, String), usize> = BTreeMap::new();
    for delivery in &received {
        let body = &delivery.body;
        let kind = match body["clock"].as_str() {
            Some(clock) => format!("{} {clock}", body["type"].as_str().unwrap_or_default()),
            None => body["type"].as_str().unwrap_or_default().to_owned(),
        };
        let incident = body["incident"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        *per_incident.entry((incident, kind)).or_default() += 1;
    }
    for ack in acknowledged {
        for (kind, expected) in [
            ("incident.created", 1),
            ("incident.assigned", 1),
            ("incident.sla_at_risk response", 1),
            ("incident.sla_breached resolution", 1),
            ("incident.comment_added", COMMENTS_PER_INCIDENT),
        ] {
            assert_eq!(
                per_incident.get(&(ack.id.clone(), kind.to_owned())),
                Some(&expected),
                "{}: {kind}",
                ack.reference
            );
        }
    }
}

/// Whatever the number of sweepers, each SLA event was queued once.
fn check_sla_events(db: &Db) {
    let payloads: Vec<String> = read(db, |conn| {
        outbox::table
            .filter(outbox::kind.eq("event"))
            .select(outbox::payload)
            .load(conn)
    });
    let mut fired: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for payload in payloads {
        let event: Value = serde_json::from_str(&payload).expect("JSON");
        let kind = event["type"].as_str().unwrap_or_default();
        if kind.starts_with("incident.sla_") {
            let key = (
                event["incident"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                kind.to_owned(),
                event["clock"].as_str().unwrap_or_default().to_owned(),
            );
            *fired.entry(key).or_default() += 1;
        }
    }
    let recorded: i64 = read(db, |conn| {
        incident_sla_events::table.count().get_result(conn)
    });
    assert_eq!(usize::try_from(recorded).ok(), Some(fired.len()));
    for (key, count) in fired {
        assert_eq!(count, 1, "{key:?} fired {count} times");
    }
}

/// The value of a raw message's Message-ID header.
fn message_id(raw: &str) -> String {
    raw.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("message-id")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("a message without a Message-ID: {raw}"))
}

/// The incidents with an SLA event of `kind` on `clock`.
fn sla_events(db: &Db, clock: &str, kind: &str) -> BTreeSet<i64> {
    read(db, |conn| {
        incident_sla_events::table
            .filter(incident_sla_events::clock.eq(clock))
            .filter(incident_sla_events::kind.eq(kind))
            .select(incident_sla_events::incident_id)
            .load::<i64>(conn)
    })
    .into_iter()
    .collect()
}

/// Each scheduled report delivery: its subscription and its email's outbox row.
fn delivered_reports(db: &Db) -> Vec<(i64, i64)> {
    read(db, |conn| {
        report_deliveries::table
            .select((
                report_deliveries::subscription_id,
                report_deliveries::outbox_id,
            ))
            .load(conn)
    })
}

/// Everything a server has logged so far (JSON lines on standard error).
fn log_lines(server: &Server) -> Vec<String> {
    server.stderr_text().lines().map(str::to_owned).collect()
}

/// The scheduled reports a server's log says it emailed.
fn reports_sent(lines: &[String]) -> u64 {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "scheduled reports emailed")
        .filter_map(|l| l["sent"].as_u64())
        .sum()
}

/// How many outbox rows of each kind each server process delivered (`leased_by` names the
/// host, the process id and the worker).
fn delivering_processes(db: &Db) -> BTreeMap<(String, String), usize> {
    let rows: Vec<(String, Option<String>)> = read(db, |conn| {
        outbox::table
            .select((outbox::kind, outbox::leased_by))
            .load(conn)
    });
    let mut per_process = BTreeMap::new();
    for (kind, worker) in rows {
        let pid = worker
            .as_deref()
            .and_then(|w| w.split(':').nth(1))
            .unwrap_or_default()
            .to_owned();
        *per_process.entry((kind, pid)).or_default() += 1;
    }
    per_process
}

#[derive(Debug)]
struct Delivered {
    pending: usize,
    emails: usize,
    webhooks: usize,
}

fn delivered_counts(db: &Db) -> Delivered {
    let rows: Vec<(String, String)> = read(db, |conn| {
        outbox::table
            .select((outbox::kind, outbox::status))
            .load(conn)
    });
    let count = |kind: &str| {
        rows.iter()
            .filter(|(k, s)| k == kind && s == "delivered")
            .count()
    };
    Delivered {
        pending: rows.iter().filter(|(_, s)| s == "pending").count(),
        emails: count("email"),
        webhooks: count("webhook"),
    }
}

fn read<T>(db: &Db, query: impl FnOnce(&mut dsms_store::DbConnection) -> QueryResult<T>) -> T {
    db.read_blocking(|conn| query(conn).map_err(StoreError::from))
        .expect("read the database")
}

fn write<T>(db: &Db, query: impl FnOnce(&mut dsms_store::DbConnection) -> QueryResult<T>) -> T {
    db.write_blocking(|conn| query(conn).map_err(StoreError::from))
        .expect("write the database")
}

/// Polls `done` every 100 ms for at most 60 s.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs every future at once, each as a task, and collects the outputs in order.
async fn join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(tasks.len());
    for task in tasks {
        outputs.push(task.await.expect("task"));
    }
    outputs
}
