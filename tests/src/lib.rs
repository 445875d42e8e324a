//! The end-to-end test harness: [`TestApp::spawn`] starts the real [`dsms::Application`] on a
//! random port against a fresh database (a temp SQLite file, or a new PostgreSQL database when
//! `DSMS_TEST_DATABASE_URL` is set) and talks to it over real HTTP.

use std::path::PathBuf;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use dsms::{Application, Config};
use dsms_auth::InitialCredentials;
use dsms_core::{SharedClock, SystemClock};
use dsms_store::Db;
use dsms_testkit::TestDatabase;

/// The configuration every test server starts from: the shipped defaults, then the test's
/// database and data directory, port 0, a fast delivery worker and a cheap password hash.
pub fn test_config(data_dir: &std::path::Path, database_url: &str) -> Config {
    let env = [
        ("DSMS_DATA_DIR", data_dir.display().to_string()),
        ("DSMS_DATABASE_URL", database_url.to_owned()),
        ("DSMS_LISTEN", "127.0.0.1:0".to_owned()),
        ("DSMS_HTTP_WORKERS", "2".to_owned()),
        ("DSMS_DATABASE_POOL_SIZE", "8".to_owned()),
        ("DSMS_OUTBOX_POLL_INTERVAL_MS", "50".to_owned()),
        ("DSMS_OUTBOX_BACKOFF_BASE_MS", "100".to_owned()),
        ("DSMS_OUTBOX_BACKOFF_MAX_MS", "500".to_owned()),
        // Hashing cost is not under test here; the ASVS floor is checked in dsms-auth.
        ("DSMS_AUTH_ARGON2_MEMORY_KIB", "1024".to_owned()),
        ("DSMS_AUTH_ARGON2_ITERATIONS", "1".to_owned()),
        ("DSMS_LOG_LEVEL", "warn".to_owned()),
    ];
    Config::load(None, env.map(|(k, v)| (k.to_owned(), v))).expect("test configuration")
}

/// A change to the test configuration, applied before the server starts.
type ConfigAdjustment = Box<dyn FnOnce(&mut Config)>;

/// Builds a [`TestApp`] with adjustments.
pub struct TestAppBuilder {
    test_db: TestDatabase,
    clock: SharedClock,
    adjust: Vec<ConfigAdjustment>,
}

impl TestAppBuilder {
    /// Uses `clock` instead of the wall clock.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Changes the configuration before the server starts.
    pub fn configure(mut self, adjust: impl FnOnce(&mut Config) + 'static) -> Self {
        self.adjust.push(Box::new(adjust));
        self
    }

    /// Starts the server.
    pub async fn spawn(self) -> TestApp {
        let data_dir = tempfile::Builder::new()
            .prefix("dsms-data-")
            .tempdir()
            .expect("temp data dir");
        let mut config = test_config(data_dir.path(), self.test_db.url());
        for adjust in self.adjust {
            adjust(&mut config);
        }
        TestApp::start(config, self.clock, data_dir, self.test_db).await
    }
}

/// A running server for one test; stopped and its database removed when dropped.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// A client for the server.
    pub client: reqwest::Client,
    /// The server's database.
    pub db: Db,
    /// The credentials of the first administrator the server created.
    pub initial_admin: Option<InitialCredentials>,
    /// Where the file email transport writes messages.
    pub mail_dir: PathBuf,
    config: Config,
    clock: SharedClock,
    stop: ServerHandle,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    data_dir: tempfile::TempDir,
    test_db: TestDatabase,
}

impl TestApp {
    /// A server on a fresh database with the test configuration.
    pub async fn spawn() -> Self {
        Self::builder().spawn().await
    }

    /// A builder for a server with adjustments.
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            test_db: TestDatabase::new(),
            clock: Arc::new(SystemClock),
            adjust: Vec::new(),
        }
    }

    async fn start(
        config: Config,
        clock: SharedClock,
        data_dir: tempfile::TempDir,
        test_db: TestDatabase,
    ) -> Self {
        let app = Application::build_with_clock(config.clone(), clock.clone())
            .await
            .expect("the application starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        let db = app.db().clone();
        let initial_admin = app.initial_admin().cloned();
        let stop = app.stop_handle();
        let task = tokio::spawn(app.run_until_stopped());
        Self {
            address,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            db,
            initial_admin,
            mail_dir: data_dir.path().join("mail"),
            config,
            clock,
            stop,
            task,
            data_dir,
            test_db,
        }
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// Stops the server gracefully and waits for it to finish.
    pub async fn stop(self) -> (TestDatabase, tempfile::TempDir, Config, SharedClock) {
        self.stop.stop(true).await;
        self.task
            .await
            .expect("server task")
            .expect("the server stops cleanly");
        (self.test_db, self.data_dir, self.config, self.clock)
    }

    /// Stops the server and starts a new one on the same database and data directory, as an
    /// operator restarting the service would.
    pub async fn restart(self) -> Self {
        let (test_db, data_dir, config, clock) = self.stop().await;
        Self::start(config, clock, data_dir, test_db).await
    }
}
