//! The running system: database, delivery worker and HTTP server, started and stopped together.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{HttpServer, web};
use anyhow::Context;
use dsms_api::{ApiState, BodyLimit, Metrics, RateLimits};
use dsms_auth::InitialCredentials;
use dsms_core::{SharedClock, SystemClock};
use dsms_notify::{Mailer, OutboxWorker};
use dsms_store::Db;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;

/// A built server, bound to its port and ready to run.
pub struct Application {
    port: u16,
    server: Server,
    handle: ServerHandle,
    worker: JoinHandle<()>,
    background_workers: Vec<JoinHandle<()>>,
    stop_worker: watch::Sender<bool>,
    initial_admin: Option<InitialCredentials>,
    db: Db,
    reports_db: Db,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .field("db", &self.db)
            .finish()
    }
}

impl Application {
    /// Builds the system on the wall clock.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Builds the system: opens the database pool, applies migrations (unless configured off),
    /// creates the first administrator on an empty database, starts the delivery worker and
    /// binds the HTTP listener. Must be called inside a Tokio runtime.
    pub async fn build_with_clock(config: Config, clock: SharedClock) -> anyhow::Result<Self> {
        let started = std::time::Instant::now();
        let settings = config.db_settings();
        let db = Db::connect(&settings).context("cannot open the database")?;
        tracing::info!(database = %settings.target.redacted(), "database selected");
        // Reports read a replica when one is configured, so their long scans never hold up the
        // desk's writes on the primary; without one they read the primary.
        let reports_db = match config.replica_db_settings() {
            Some(replica) => {
                tracing::info!(replica = %replica.target.redacted(), "read replica for reports");
                Db::connect(&replica).context("cannot open the read replica")?
            }
            None => db.clone(),
        };

        let hasher = config.argon2()?;
        let bootstrap = config.bootstrap_settings()?;
        let migrate = config.database.migrate_on_start;
        let (db_for_setup, clock_for_setup) = (db.clone(), clock.clone());
        let initial_admin = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            if migrate {
                let applied = db_for_setup
                    .migrate()
                    .context("cannot migrate the database")?;
                if !applied.is_empty() {
                    tracing::info!(?applied, "migrations applied");
                }
            } else if let Err(error) = db_for_setup.check_ready() {
                // A separate `dsms migrate` step owns the schema; it bootstraps the first
                // administrator itself once it has migrated.
                tracing::warn!(%error, "database not ready; serving 503 on /readyz until migrated");
                return Ok(None);
            }
            crate::bootstrap_first_admin(&db_for_setup, &hasher, &*clock_for_setup, &bootstrap)
        })
        .await??;

        let mailer = Mailer::new(&config.email_settings()).context("email.from or [smtp]")?;
        let worker = OutboxWorker::new(db.clone(), mailer, config.worker_settings(), clock.clone());
        let (stop_worker, worker_stopped) = watch::channel(false);
        let worker = tokio::spawn(worker.run(worker_stopped.clone()));
        let worker_stopped_for_sweeper = worker_stopped.clone();
        let worker_stopped_for_reports = worker_stopped.clone();
        let worker_stopped_for_metrics = worker_stopped.clone();
        let clock_for_metrics = clock.clone();

        let listen = config.listen_addr()?;
        let listener =
            TcpListener::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
        let port = listener.local_addr()?.port();

        if config.auth.secret_key.value().is_none()
            && settings.target.backend() == dsms_store::Backend::Postgres
        {
            tracing::warn!(
                "auth.secret_key is not set: using the key file in the data directory; several \
                 instances on one database must share one key (DSMS_AUTH_SECRET_KEY)"
            );
        }
        let master_key = config.master_key()?;
        let identity = dsms_auth::Identity::new(
            db.clone(),
            clock.clone(),
            config.argon2()?,
            &master_key,
            config.identity_settings(),
        )?;
        let webhooks = dsms_webhooks::Webhooks::new(
            db.clone(),
            clock.clone(),
            &master_key,
            config.webhook_settings(),
        );
        let incidents =
            dsms_incident::Incidents::new(db.clone(), clock.clone(), config.incident_policy()?);
        let hubs = web::Data::new(dsms_hubs::Hubs::new(
            db.clone(),
            clock.clone(),
            config.hub_rules()?,
        ));
        let requests = dsms_service_request::ServiceRequests::new(
            db.clone(),
            clock.clone(),
            dsms_service_request::RequestPolicy {
                calendar: config.business_calendar()?,
                max_attachment_bytes: config.incident_policy()?.max_attachment_bytes,
                ..dsms_service_request::RequestPolicy::default()
            },
        );
        let mut background_workers = vec![
            tokio::spawn(
                webhooks
                    .dispatcher(config.worker_settings(), config.notification_settings())
                    .run(worker_stopped.clone()),
            ),
            tokio::spawn(
                webhooks
                    .delivery_worker(config.worker_settings())
                    .run(worker_stopped),
            ),
        ];
        background_workers.push(tokio::spawn(sweep_incidents(
            incidents.clone(),
            requests.clone(),
            hubs.get_ref().clone(),
            Duration::from_secs(config.incidents.sweep_interval_secs),
            worker_stopped_for_sweeper,
        )));
        let reports =
            dsms_reporting::Reports::new(db.clone(), clock.clone(), config.report_policy()?);
        background_workers.push(tokio::spawn(run_reports(
            reports.clone(),
            Duration::from_secs(config.reports.worker_interval_secs),
            worker_stopped_for_reports,
        )));
        let reports = web::Data::new(reports);
        let webhooks = web::Data::new(webhooks);
        let state = web::Data::new(ApiState {
            db: db.clone(),
            clock,
            identity,
            trust_forwarded_for: config.http.trust_forwarded_for,
        });
        let metrics = web::Data::new(Metrics::new());
        metrics.set_pool_max(config.database.pool_size);
        background_workers.push(tokio::spawn(sample_operations(
            db.clone(),
            reports.get_ref().clone(),
            metrics.clone(),
            clock_for_metrics,
            worker_stopped_for_metrics,
        )));
        let incidents = web::Data::new(incidents);
        let requests = web::Data::new(requests);
        let limit = BodyLimit(config.http.body_limit_bytes);
        let rate_limits = web::Data::new(RateLimits::new(config.rate_limit_settings()));
        let body_timeout = dsms_api::middleware::BodyTimeout(Duration::from_millis(
            config.http.client_body_timeout_ms,
        ));
        let mut server = HttpServer::new(move || {
            dsms_api::app(state.clone(), metrics.clone(), limit)
                .app_data(rate_limits.clone())
                .app_data(body_timeout)
                .app_data(incidents.clone())
                .app_data(hubs.clone())
                .app_data(requests.clone())
                .app_data(webhooks.clone())
                .app_data(reports.clone())
                .configure(dsms_web::configure)
        })
        .listen(listener)?
        .shutdown_timeout(config.http.shutdown_timeout_secs)
        .client_request_timeout(Duration::from_millis(config.http.client_request_timeout_ms))
        .keep_alive(Duration::from_secs(config.http.keep_alive_secs))
        .client_disconnect_timeout(Duration::from_millis(
            config.http.client_disconnect_timeout_ms,
        ))
        .disable_signals();
        if config.http.workers > 0 {
            server = server.workers(config.http.workers);
        }
        let server = server.run();
        let handle = server.handle();
        tracing::info!(
            address = %format!("{}:{port}", listen.ip()),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "listening"
        );
        Ok(Self {
            port,
            server,
            handle,
            worker,
            background_workers,
            stop_worker,
            initial_admin,
            db,
            reports_db,
        })
    }

    /// The port the server listens on (useful when configured with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The credentials of the administrator created on this start, if one was.
    pub fn initial_admin(&self) -> Option<&InitialCredentials> {
        self.initial_admin.as_ref()
    }

    /// The database handle.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The database reports read: the read replica (`database.replica_url`) when configured,
    /// otherwise the primary.
    pub fn reports_db(&self) -> &Db {
        &self.reports_db
    }

    /// A handle that stops the server gracefully, as SIGTERM does.
    pub fn stop_handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Serves until SIGTERM or SIGINT (or a stop through [`Application::stop_handle`]), then
    /// shuts down gracefully: stops accepting, lets in-flight requests finish, stops the worker.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.handle.clone();
        let signals = tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown requested; finishing in-flight requests");
            handle.stop(true).await;
        });
        let served = self.server.await;
        signals.abort();
        let _ = self.stop_worker.send(true);
        if tokio::time::timeout(Duration::from_secs(30), self.worker)
            .await
            .is_err()
        {
            tracing::warn!("the delivery worker did not stop in time");
        }
        for worker in self.background_workers {
            if tokio::time::timeout(Duration::from_secs(30), worker)
                .await
                .is_err()
            {
                tracing::warn!("a background worker did not stop in time");
            }
        }
        tracing::info!("stopped");
        served.context("the HTTP server failed")
    }
}

/// How often the operational gauges (outbox age, SLA breaches, locked accounts) are read.
const OPERATIONS_SAMPLE_INTERVAL: Duration = Duration::from_secs(15);

/// Reads the operational figures into the metrics every [`OPERATIONS_SAMPLE_INTERVAL`] until
/// shutdown. They describe the shared database, so every instance reports the same values:
/// aggregate them with `max`, not `sum`.
async fn sample_operations(
    db: Db,
    reports: dsms_reporting::Reports,
    metrics: web::Data<Metrics>,
    clock: SharedClock,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow_and_update() {
        record_availability(&db, &reports, &metrics, clock.now()).await;
        let (db, now) = (db.clone(), clock.now());
        match tokio::task::spawn_blocking(move || crate::admin::health_at(&db, now)).await {
            Ok(Ok(health)) => {
                let now = dsms_store::timestamp(now);
                let ages: Vec<(String, i64)> = health
                    .outbox
                    .iter()
                    .map(|(kind, k)| {
                        let age = k.oldest_pending_at.map_or(0, |at| (now - at).num_seconds());
                        (kind.clone(), age.max(0))
                    })
                    .collect();
                metrics.set_outbox_oldest_age(&ages);
                let pairs = |m: &std::collections::BTreeMap<String, i64>| {
                    m.iter().map(|(k, v)| (k.clone(), *v)).collect::<Vec<_>>()
                };
                metrics.set_sla_breaches(
                    &pairs(&health.sla_breached_open),
                    &pairs(&health.sla_breaches_recent),
                );
                metrics.set_sign_in(health.accounts_locked, health.sign_in_failures);
            }
            Ok(Err(error)) => tracing::debug!(%error, "cannot read the operational figures"),
            Err(error) => {
                tracing::debug!(%error, "reading the operational figures did not complete")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(OPERATIONS_SAMPLE_INTERVAL) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
}

/// Adds this instance's availability sample to the current minute's row: one readiness check
/// (database reachable, migrations applied) and the API requests and server errors answered
/// since the last sample. Sampling every [`OPERATIONS_SAMPLE_INTERVAL`] gives each minute
/// several samples, so a late tick never leaves a minute without one.
async fn record_availability(
    db: &Db,
    reports: &dsms_reporting::Reports,
    metrics: &Metrics,
    now: chrono::DateTime<chrono::Utc>,
) {
    let check = db.clone();
    let ready = matches!(
        tokio::task::spawn_blocking(move || check.check_ready()).await,
        Ok(Ok(_))
    );
    let (requests, server_errors) = metrics.take_outcomes();
    let sample = dsms_reporting::AvailabilitySample {
        checks: 1,
        checks_failed: i64::from(!ready),
        requests,
        server_errors,
    };
    let reports = reports.clone();
    match tokio::task::spawn_blocking(move || reports.record_availability(now, sample)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::debug!(%error, "cannot record the availability sample"),
        Err(error) => tracing::debug!(%error, "recording the availability sample did not complete"),
    }
}

/// Brings report figures up to date and emails due scheduled reports every `interval` until
/// shutdown. Every instance may run it: each period of a subscription is recorded once.
async fn run_reports(
    reports: dsms_reporting::Reports,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow_and_update() {
        let pass = reports.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            pass.refresh_facts(usize::MAX)?;
            pass.deliver_due()
        })
        .await;
        match outcome {
            Ok(Ok(delivered)) if delivered.sent > 0 => {
                tracing::info!(sent = delivered.sent, "scheduled reports emailed");
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "reports worker failed; retrying next tick"),
            Err(error) => tracing::warn!(%error, "reports worker did not complete"),
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
}

/// Runs the incident sweep (SLA events, automatic closure), the service-request SLA sweep and
/// the hub delivery sweep (deliveries left unconfirmed past the window are deemed accepted)
/// every `interval` until shutdown. Every instance may run them: each event is recorded once by
/// the database's keys, and a delivery is deemed accepted only while it still awaits
/// confirmation.
async fn sweep_incidents(
    incidents: dsms_incident::Incidents,
    requests: dsms_service_request::ServiceRequests,
    hubs: dsms_hubs::Hubs,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow_and_update() {
        let pass = incidents.clone();
        match tokio::task::spawn_blocking(move || pass.sweep()).await {
            Ok(Ok(report)) if report != dsms_incident::SweepReport::default() => {
                tracing::info!(?report, "incident sweep");
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "incident sweep failed; retrying next tick"),
            Err(error) => tracing::warn!(%error, "incident sweep did not complete"),
        }
        let pass = requests.clone();
        match tokio::task::spawn_blocking(move || pass.sweep()).await {
            Ok(Ok(report)) if report != dsms_service_request::RequestSweepReport::default() => {
                tracing::info!(?report, "request sweep");
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "request sweep failed; retrying next tick"),
            Err(error) => tracing::warn!(%error, "request sweep did not complete"),
        }
        let pass = hubs.clone();
        match tokio::task::spawn_blocking(move || pass.sweep_deliveries()).await {
            Ok(Ok(report)) if report != dsms_hubs::DeliverySweepReport::default() => {
                tracing::info!(?report, "hub delivery sweep");
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, "hub delivery sweep failed; retrying next tick");
            }
            Err(error) => tracing::warn!(%error, "hub delivery sweep did not complete"),
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
