//! `dsms bench`: drives a running server over loopback HTTP, scenario by scenario, with a fixed
//! number of concurrent clients and a bounded number of requests each, and prints throughput
//! and latency percentiles. In the same run it measures the raw commit rate of a single-row
//! insert of an incident-shaped row on the same database, with the server's durability
//! settings, so the create figure reads as a ratio of what the database itself can commit.
//!
//! It signs in as the people `dsms seed` made (password and TOTP, both derived from the seed's
//! options), so it runs against a seeded database.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use dsms_auth::credentials::{TotpSecret, totp};
use dsms_core::{Page, PageRequest};
use dsms_store::{Backend, Db, StoreError};
use serde_json::{Value, json};

use crate::config::Config;
use crate::seed;

/// How to run the benchmark.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The server's base URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// Concurrent clients per scenario.
    pub concurrency: usize,
    /// Requests per scenario.
    pub requests: usize,
    /// The seed `dsms seed` ran with (the TOTP secrets derive from it).
    pub seed: u64,
    /// The password `dsms seed` gave everyone.
    pub password: String,
    /// The server's process id, to report its memory.
    pub server_pid: Option<u32>,
    /// Only these scenarios (all when empty).
    pub only: Vec<String>,
}

/// What one scenario measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The scenario's name.
    pub name: String,
    /// Requests answered with success.
    pub ok: usize,
    /// Requests that failed or were answered with an error status.
    pub errors: usize,
    /// Wall time of the whole scenario.
    pub elapsed: Duration,
    /// Latencies of every request, sorted.
    pub latencies: Vec<Duration>,
    /// The server's largest resident memory seen during the scenario, in KiB.
    pub peak_rss_kib: Option<u64>,
}

impl Measured {
    /// Requests per second.
    pub fn throughput(&self) -> f64 {
        (self.ok + self.errors) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency below which `p` percent of requests finished.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Per scenario.
    pub scenarios: Vec<Measured>,
    /// Single-row commits per second on the same database.
    pub commit_rate: Option<f64>,
    /// The server's resident memory before the run, in KiB.
    pub rss_before_kib: Option<u64>,
    /// The server's peak resident memory at the end of the run, in KiB.
    pub rss_peak_kib: Option<u64>,
}

const SEARCH_WORDS: &[&str] = &[
    "firmware",
    "offline",
    "tariff",
    "commissioned",
    "gateway",
    "certificate",
    "consignment",
    "registration",
    "prepayment",
    "mesh",
    "anomaly",
    "readings",
];

/// A signed-in HTTP client.
#[derive(Clone)]
struct Session {
    http: reqwest::Client,
    base: String,
    bearer: String,
}

impl Session {
    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.bearer)
    }
}

/// Runs the benchmark against the server at `options.url` whose database `config` names.
pub async fn run(config: &Config, options: &BenchOptions) -> anyhow::Result<BenchReport> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(options.concurrency.max(1))
        .timeout(Duration::from_secs(60))
        .build()?;
    let base = options.url.trim_end_matches('/').to_owned();
    let wanted = |name: &str| {
        options.only.is_empty() || options.only.iter().any(|o| name.starts_with(o.as_str()))
    };
    let rss_before_kib = options.server_pid.and_then(|pid| memory(pid, "VmRSS"));

    let agent = sign_in(&http, &base, &seed::agent_email(0), options).await?;
    let admin = sign_in(&http, &base, &seed::org_admin_email(0), options).await?;
    let token: Value = http
        .post(format!("{base}/api/v1/tokens"))
        .bearer_auth(&admin)
        .json(&json!({"name": format!("bench {}", Utc::now().timestamp()), "scopes": ["incidents:write"]}))
        .send()
        .await?
        .error_for_status()
        .context("issuing an API token as the first seeded organisation's admin")?
        .json()
        .await?;
    let api = Session {
        http: http.clone(),
        base: base.clone(),
        bearer: token["token"]
            .as_str()
            .context("no token in the response")?
            .to_owned(),
    };
    let desk = Session {
        http: http.clone(),
        base: base.clone(),
        bearer: agent,
    };
    let newest: Value = desk
        .get("/api/v1/incidents?sort=-created_at&limit=1")
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let max_id: i64 = newest["items"][0]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| newest["items"][0]["id"].as_i64())
        .context("the database holds no incidents; run dsms seed first")?;

    let peak = Arc::new(AtomicU64::new(0));
    if let Some(pid) = options.server_pid {
        let peak = peak.clone();
        tokio::spawn(async move {
            while let Some(kib) = memory(pid, "VmRSS") {
                peak.fetch_max(kib, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }
    let sampled = |mut m: Measured| {
        if options.server_pid.is_some() {
            m.peak_rss_kib = Some(peak.swap(0, Ordering::Relaxed));
        }
        m
    };
    let mut scenarios = Vec::new();
    let n = options.requests;
    let c = options.concurrency;
    if wanted("create") {
        let api = api.clone();
        scenarios.push(sampled(
            drive("create (API token)", n, c, move |i| {
                let api = api.clone();
                async move {
                    answered(api.http
                        .post(format!("{}/api/v1/incidents", api.base))
                        .bearer_auth(&api.bearer)
                        .json(&json!({
                            "title": format!("Communications hub 00-1D-00-FF-FE-00-{:02X}-{:02X} offline", i % 251, i % 241),
                            "description": "The hub stopped answering after the overnight firmware window. Region: London.",
                            "category": "communications_hub",
                            "impact": 3,
                            "urgency": 3,
                            "devices": [format!("00-1D-00-FF-FE-00-{:02X}-{:02X}", i % 251, i % 241)],
                        }))
                        .send()
                        .await)
                    .await
                }
            })
            .await,
        ));
    }
    if wanted("get") {
        let desk = desk.clone();
        scenarios.push(sampled(
            drive("get by id", n, c, move |i| {
                let id = 1 + (i as i64 * 7_919) % max_id;
                let request = desk.get(&format!("/api/v1/incidents/{id}"));
                async move { answered(request.send().await).await }
            })
            .await,
        ));
    }
    // The largest queue: every closed low-priority incident.
    let filter = "status=closed&priority=4";
    if wanted("list") {
        let desk_first = desk.clone();
        scenarios.push(sampled(
            drive("list status+priority, first page", n, c, move |_| {
                let request = desk_first.get(&format!("/api/v1/incidents?{filter}"));
                async move { answered(request.send().await).await }
            })
            .await,
        ));
        let desk_deep = desk.clone();
        scenarios.push(sampled(
            drive("list status+priority, deep cursor", n, c, move |i| {
                // Pages far into the queue, 70 to 95 % of the way through.
                let after = max_id * (70 + (i as i64 % 26)) / 100;
                let request = desk_deep.get(&format!(
                    "/api/v1/incidents?{filter}&cursor={}",
                    cursor_after(after)
                ));
                async move { answered(request.send().await).await }
            })
            .await,
        ));
    }
    if wanted("search") {
        let desk = desk.clone();
        scenarios.push(sampled(
            drive("full-text search", n, c, move |i| {
                let words = format!(
                    "{} {}",
                    SEARCH_WORDS[i % SEARCH_WORDS.len()],
                    if i % 3 == 0 { "hub" } else { "" }
                );
                let request = desk.get(&format!(
                    "/api/v1/incidents?q={}",
                    words.trim().replace(' ', "+")
                ));
                async move { answered(request.send().await).await }
            })
            .await,
        ));
    }
    if wanted("sign-in") {
        scenarios.push(sampled(sign_in_scenario(&http, &base, options).await));
    }
    if wanted("report") {
        scenarios.extend(report_scenarios(&desk, c, n, &sampled).await?);
    }
    let commit_rate = if wanted("create") {
        Some(commit_rate(config, options.concurrency, options.requests.max(1_000)).await?)
    } else {
        None
    };
    Ok(BenchReport {
        scenarios,
        commit_rate,
        rss_before_kib,
        rss_peak_kib: options.server_pid.and_then(|pid| memory(pid, "VmHWM")),
    })
}

/// A cursor that continues a list after incident `id`, built as the server builds one.
fn cursor_after(id: i64) -> String {
    let request = PageRequest {
        limit: 1,
        after: None,
    };
    Page::from_rows(vec![id, id], request, |x| *x)
        .next_cursor
        .unwrap_or_default()
}

/// Whether a request succeeded (2xx, body read), or why not.
async fn answered(result: reqwest::Result<reqwest::Response>) -> Result<(), String> {
    match result {
        Ok(response) if response.status().is_success() => response
            .bytes()
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Ok(response) => {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            Err(format!(
                "{status}: {}",
                body.chars().take(300).collect::<String>()
            ))
        }
        Err(error) => Err(error.to_string()),
    }
}

/// Runs `requests` requests, `concurrency` at a time, timing each.
async fn drive<F, Fut>(name: &str, requests: usize, concurrency: usize, request: F) -> Measured
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (request, next) = (request.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let began = Instant::now();
                match request(i).await {
                    Ok(()) => latencies.push(began.elapsed()),
                    Err(why) => {
                        // The first failure of each client says why; the count says how often.
                        if errors == 0 {
                            eprintln!("bench: {why}");
                        }
                        errors += 1;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::with_capacity(requests);
    let mut errors = 0;
    for worker in workers {
        if let Ok((l, e)) = worker.await {
            latencies.extend(l);
            errors += e;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Measured {
        name: name.to_owned(),
        ok: latencies.len(),
        errors,
        elapsed,
        latencies,
        peak_rss_kib: None,
    }
}

/// The code of `email`'s authenticator for the step at `unix + offset * 30` seconds.
fn code(options: &BenchOptions, email: &str, offset: u64) -> String {
    let secret = TotpSecret::from_bytes(seed::totp_secret(options.seed, email));
    totp::code_at(&secret, Utc::now().timestamp().max(0) as u64 + offset * 30)
}

/// Signs a seeded person in with password and TOTP; returns the access token. A code is
/// accepted once, so when this step's was used (a run moments ago) the next step's is sent.
async fn sign_in(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    options: &BenchOptions,
) -> anyhow::Result<String> {
    let challenge: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": options.password}))
        .send()
        .await?
        .error_for_status()
        .with_context(|| {
            format!("signing in as {email}: is the database seeded with this --password?")
        })?
        .json()
        .await?;
    let mfa_token = challenge["mfa_token"].as_str().context("no mfa_token")?;
    for offset in 0..2 {
        let response = http
            .post(format!("{base}/api/v1/auth/totp/verify"))
            .json(&json!({"mfa_token": mfa_token, "code": code(options, email, offset)}))
            .send()
            .await?;
        if response.status().is_success() {
            let body: Value = response.json().await?;
            return Ok(body["access_token"]
                .as_str()
                .context("no access_token")?
                .to_owned());
        }
    }
    bail!("{email}: the TOTP code was refused (was the database seeded with this --seed?)")
}

/// Sign-ins as many different agents, as each TOTP code is accepted only once.
async fn sign_in_scenario(http: &reqwest::Client, base: &str, options: &BenchOptions) -> Measured {
    let requests = options.requests.min(seed::AGENTS - 1);
    let (http, base, options2) = (http.clone(), base.to_owned(), options.clone());
    drive(
        "sign-in (password + TOTP)",
        requests,
        options.concurrency,
        move |i| {
            let (http, base, options) = (http.clone(), base.clone(), options2.clone());
            async move {
                sign_in(&http, &base, &seed::agent_email(i + 1), &options)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("{e:#}"))
            }
        },
    )
    .await
}

/// Each report the server lists, over the last twelve months, a few times each.
async fn report_scenarios(
    desk: &Session,
    concurrency: usize,
    requests: usize,
    sampled: &impl Fn(Measured) -> Measured,
) -> anyhow::Result<Vec<Measured>> {
    let listed = desk.get("/api/v1/reports").send().await?;
    if !listed.status().is_success() {
        eprintln!(
            "bench: no reports at /api/v1/reports ({}); skipping them",
            listed.status()
        );
        return Ok(Vec::new());
    }
    let listed: Value = listed.json().await?;
    let items = listed
        .get("items")
        .or_else(|| listed.get("reports"))
        .unwrap_or(&listed)
        .as_array()
        .cloned()
        .unwrap_or_default();
    let to = Utc::now().date_naive();
    let from = to - chrono::Months::new(12);
    let mut out = Vec::new();
    for item in items {
        let Some(name) = item["name"]
            .as_str()
            .or_else(|| item["id"].as_str())
            .map(str::to_owned)
        else {
            continue;
        };
        let desk = desk.clone();
        let path = format!("/api/v1/reports/{name}?from={from}&to={to}&granularity=month");
        out.push(sampled(
            drive(
                &format!("report {name}"),
                (requests / 50).clamp(3, 20),
                concurrency.min(4),
                move |_| {
                    let request = desk.get(&path);
                    async move { answered(request.send().await).await }
                },
            )
            .await,
        ));
    }
    Ok(out)
}

/// Single-row inserts of an incident-shaped row, each its own transaction, `concurrency` at a
/// time, through the same pool and durability settings the server uses.
async fn commit_rate(config: &Config, concurrency: usize, commits: usize) -> anyhow::Result<f64> {
    let mut settings = config.db_settings();
    settings.pool_size = concurrency.max(1) as u32;
    let db = Db::connect(&settings)?;
    let probe = "bench_commit_probe";
    let backend = db.backend();
    db.write_blocking(|conn| {
        conn.batch_execute(&format!(
            "DROP TABLE IF EXISTS {probe}; CREATE TABLE {probe} AS SELECT * FROM incidents WHERE 1 = 0;"
        ))
        .map_err(StoreError::from)
    })?;
    let sql = match backend {
        Backend::Sqlite => format!("INSERT INTO {probe} SELECT * FROM incidents WHERE id = ?"),
        Backend::Postgres => format!("INSERT INTO {probe} SELECT * FROM incidents WHERE id = $1"),
    };
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (db, sql, next) = (db.clone(), sql.clone(), next.clone());
        workers.push(tokio::task::spawn_blocking(
            move || -> Result<(), StoreError> {
                while next.fetch_add(1, Ordering::Relaxed) < commits {
                    db.write_blocking(|conn| {
                        diesel::sql_query(&sql)
                            .bind::<BigInt, _>(1i64)
                            .execute(conn)?;
                        Ok::<_, StoreError>(())
                    })?;
                }
                Ok(())
            },
        ));
    }
    for worker in workers {
        worker.await??;
    }
    let rate = commits as f64 / started.elapsed().as_secs_f64();
    db.write_blocking(|conn| {
        conn.batch_execute(&format!("DROP TABLE {probe};"))
            .map_err(StoreError::from)
    })?;
    Ok(rate)
}

/// A memory figure of a process from `/proc` (Linux), in KiB.
fn memory(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Prints the report as a table.
pub fn print(report: &BenchReport, options: &BenchOptions) {
    println!(
        "dsms bench: {} concurrent clients, up to {} requests per scenario, {}",
        options.concurrency, options.requests, options.url
    );
    println!(
        "{:<36} {:>7} {:>6} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "scenario", "ok", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "RSS MiB"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for m in &report.scenarios {
        println!(
            "{:<36} {:>7} {:>6} {:>10.1} {:>9.2} {:>9.2} {:>9.2} {:>9}",
            m.name,
            m.ok,
            m.errors,
            m.throughput(),
            ms(m.percentile(50.0)),
            ms(m.percentile(95.0)),
            ms(m.percentile(99.0)),
            m.peak_rss_kib
                .map_or_else(|| "-".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0)),
        );
    }
    if let Some(rate) = report.commit_rate {
        println!("raw single-row commits on the same database: {rate:.0}/s");
        if let Some(create) = report
            .scenarios
            .iter()
            .find(|m| m.name.starts_with("create"))
        {
            println!(
                "create throughput as a share of the raw commit rate: {:.1} %",
                100.0 * create.throughput() / rate
            );
        }
    }
    if let Some(kib) = report.rss_before_kib {
        println!("server RSS before the run: {:.1} MiB", kib as f64 / 1024.0);
    }
    if let Some(kib) = report.rss_peak_kib {
        println!("server peak RSS (VmHWM): {:.1} MiB", kib as f64 / 1024.0);
    }
}
