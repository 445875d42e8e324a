//! The end-to-end test harness: [`TestApp::spawn`] starts the real [`dsms::Application`] on a
//! random port against a fresh database (a temp SQLite file, or a new PostgreSQL database when
//! `DSMS_TEST_DATABASE_URL` is set) and talks to it over real HTTP.
//!
//! On top of that it speaks the sign-in protocol as a client would: an independent RFC 6238
//! implementation ([`totp_code`]), the emails the outbox delivered ([`TestApp::wait_for_email`]),
//! and one-line set-ups such as [`TestApp::sign_in_admin`] and [`TestApp::invite_and_activate`]
//! that return a [`Session`] to make authenticated requests with.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant, SystemTime};

use actix_web::dev::ServerHandle;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use dsms::{Application, Config};
use dsms_auth::InitialCredentials;
use dsms_core::{ManualClock, SharedClock, SystemClock};
use dsms_store::Db;
use dsms_testkit::TestDatabase;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};

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
    manual: Option<Arc<ManualClock>>,
    adjust: Vec<ConfigAdjustment>,
}

impl TestAppBuilder {
    /// Uses `clock` instead of the wall clock.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self.manual = None;
        self
    }

    /// Runs the server on a [`ManualClock`] stopped at `start`; [`TestApp::advance`] moves it.
    pub fn manual_clock(mut self, start: DateTime<Utc>) -> Self {
        let manual = Arc::new(ManualClock::new(start));
        self.clock = manual.clone();
        self.manual = Some(manual);
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
        TestApp::start(config, self.clock, self.manual, data_dir, self.test_db).await
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
    manual: Option<Arc<ManualClock>>,
    /// The last TOTP step used per secret, so each sign-in uses a code the server still accepts.
    totp_steps: Mutex<HashMap<String, u64>>,
    /// Emails already handed out by [`TestApp::wait_for_email`].
    seen_mail: Mutex<HashSet<PathBuf>>,
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
            manual: None,
            adjust: Vec::new(),
        }
    }

    async fn start(
        config: Config,
        clock: SharedClock,
        manual: Option<Arc<ManualClock>>,
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
            manual,
            totp_steps: Mutex::new(HashMap::new()),
            seen_mail: Mutex::new(HashSet::new()),
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

    /// `POST path` with a JSON body and no credentials.
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The server's data directory (key file, delivered mail).
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
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
        let manual = self.manual.clone();
        let (test_db, data_dir, config, clock) = self.stop().await;
        Self::start(config, clock, manual, data_dir, test_db).await
    }
}

// ---------------------------------------------------------------------------------------------
// Time

impl TestApp {
    /// What the server's clock says now.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Moves the server's manual clock forward; panics when the server runs on the wall clock.
    pub fn advance(&self, by: Duration) {
        self.manual
            .as_ref()
            .expect("advance needs TestApp::builder().manual_clock(..)")
            .advance(by);
    }

    /// A fresh TOTP code for `secret`: for the server's current step, or for a later one when
    /// that step was already used (the server accepts each step once, within ±1 step). On a
    /// manual clock, time is moved on by 30 s when even the next step has been used.
    pub fn next_totp(&self, secret: &str) -> String {
        let mut steps = self.totp_steps.lock().expect("totp steps");
        let mut current = self.unix_now() / 30;
        let step = match steps.get(secret) {
            Some(&last) if last >= current => last + 1,
            _ => current,
        };
        if step > current + 1 {
            assert!(
                self.manual.is_some(),
                "a third sign-in within one 30 s step needs a manual clock"
            );
            self.advance(Duration::seconds(30 * (step - current - 1) as i64));
            current = self.unix_now() / 30;
        }
        debug_assert!(step <= current + 1);
        steps.insert(secret.to_owned(), step);
        totp_code(secret, step * 30)
    }

    /// Records that the code of `unix_time`'s step was used outside [`TestApp::next_totp`].
    pub fn mark_totp_used(&self, secret: &str, unix_time: u64) {
        let mut steps = self.totp_steps.lock().expect("totp steps");
        let step = unix_time / 30;
        let last = steps.entry(secret.to_owned()).or_insert(step);
        *last = (*last).max(step);
    }

    /// The server's clock as seconds since the Unix epoch.
    pub fn unix_now(&self) -> u64 {
        u64::try_from(self.now().timestamp()).expect("after 1970")
    }
}

// ---------------------------------------------------------------------------------------------
// TOTP (RFC 4226 / RFC 6238), written independently of the product's implementation

/// The HOTP value (RFC 4226 section 5.3) of `key` at `counter`, with `digits` digits.
pub fn hotp(key: &[u8], counter: u64, digits: u32) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    format!(
        "{:0width$}",
        binary % 10u32.pow(digits),
        width = digits as usize
    )
}

/// Decodes an RFC 4648 base32 secret as authenticator apps accept it (any case, optional
/// padding, spaces ignored).
pub fn base32_decode(secret: &str) -> Vec<u8> {
    let cleaned: String = secret
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    data_encoding::BASE32_NOPAD
        .decode(cleaned.as_bytes())
        .unwrap_or_else(|e| panic!("not base32: {secret:?}: {e}"))
}

/// The six-digit RFC 6238 code (HMAC-SHA-1, 30 s step) of a base32 secret at `unix_time`.
pub fn totp_code(secret_base32: &str, unix_time: u64) -> String {
    hotp(&base32_decode(secret_base32), unix_time / 30, 6)
}

// ---------------------------------------------------------------------------------------------
// Responses

/// Asserts the response's status and returns its JSON body (`Null` when empty).
pub async fn expect(res: reqwest::Response, status: u16) -> Value {
    let method_url = res.url().to_string();
    let got = res.status().as_u16();
    let text = res.text().await.expect("response body");
    assert_eq!(got, status, "{method_url} answered {got}: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }
}

/// Asserts an RFC 9457 problem: the status, `application/problem+json`, the type
/// `https://dsms.example/problems/{slug}`, and a title and detail. Returns the body.
pub async fn expect_problem(res: reqwest::Response, status: u16, slug: &str) -> Value {
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let body = expect(res, status).await;
    assert_eq!(content_type, "application/problem+json", "{body}");
    assert_problem(&body, status, slug);
    body
}

/// Asserts that `body` is a problem of `status` and type `slug`.
pub fn assert_problem(body: &Value, status: u16, slug: &str) {
    assert_eq!(
        body["type"],
        format!("https://dsms.example/problems/{slug}"),
        "{body}"
    );
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
}

/// The `errors[].field` names of a validation problem.
pub fn problem_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts a 422 validation problem naming `field` (and every error with a message).
pub async fn expect_invalid(res: reqwest::Response, field: &str) -> Value {
    let body = expect_problem(res, 422, "validation").await;
    let fields = problem_fields(&body);
    assert!(fields.iter().any(|f| f == field), "{field} in {body}");
    for error in body["errors"].as_array().expect("errors") {
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
    body
}

/// The string ids of a list response's `items`.
pub fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|item| item["id"].as_str().expect("string id").to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Bearer credentials and sessions

/// Requests made with one bearer credential (a person's access token or an API token).
#[derive(Clone)]
pub struct Bearer {
    /// The credential sent as `Authorization: Bearer`.
    pub token: String,
    client: reqwest::Client,
    address: String,
}

impl Bearer {
    /// A request with the bearer header, for adding further headers.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(&self.token)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        send(self.request(reqwest::Method::GET, path)).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        send(self.request(reqwest::Method::POST, path).json(body)).await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch(&self, path: &str, body: &Value) -> reqwest::Response {
        send(self.request(reqwest::Method::PATCH, path).json(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> reqwest::Response {
        send(self.request(reqwest::Method::DELETE, path)).await
    }

    /// `GET /api/v1/me`, which must succeed.
    pub async fn me(&self) -> Value {
        expect(self.get("/api/v1/me").await, 200).await
    }

    /// The status `GET /api/v1/me` answers: 200 while the credential works, 401 after.
    pub async fn me_status(&self) -> u16 {
        self.get("/api/v1/me").await.status().as_u16()
    }
}

async fn send(request: reqwest::RequestBuilder) -> reqwest::Response {
    request.send().await.expect("request sent")
}

/// A person signed in through the API: their access token and what they signed in with.
#[derive(Clone)]
pub struct Session {
    /// Requests with the access token (also reachable through `Deref`).
    pub bearer: Bearer,
    /// The access token.
    pub access_token: String,
    /// The person's id.
    pub person_id: String,
    /// The organisation they act for.
    pub organisation_id: String,
    /// Their email address.
    pub email: String,
    /// Their current password.
    pub password: String,
    /// Their TOTP secret, base32.
    pub totp_secret: String,
    /// The recovery codes issued when they enrolled (empty for later sign-ins).
    pub recovery_codes: Vec<String>,
}

impl std::ops::Deref for Session {
    type Target = Bearer;

    fn deref(&self) -> &Bearer {
        &self.bearer
    }
}

/// What enrolling an authenticator returned.
#[derive(Debug, Clone)]
pub struct Enrolled {
    /// The access token.
    pub access_token: String,
    /// The TOTP secret, base32.
    pub secret: String,
    /// The ten recovery codes.
    pub recovery_codes: Vec<String>,
    /// The whole confirm response.
    pub confirm: Value,
}

/// A strong password no policy refuses, different every call.
pub fn strong_password() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("correct horse battery staple {n}")
}

impl TestApp {
    /// A client for `token` (an access token or an API token).
    pub fn bearer(&self, token: &str) -> Bearer {
        Bearer {
            token: token.to_owned(),
            client: self.client.clone(),
            address: self.address.clone(),
        }
    }

    /// `POST /api/v1/auth/login`.
    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post(
            "/api/v1/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// The password step, which must succeed: the `mfa_token` and the `mfa` step named.
    pub async fn login_ok(&self, email: &str, password: &str) -> (String, String) {
        let body = expect(self.login(email, password).await, 200).await;
        (
            body["mfa_token"].as_str().expect("mfa_token").to_owned(),
            body["mfa"].as_str().expect("mfa").to_owned(),
        )
    }

    /// `POST /api/v1/auth/totp/verify` with a code.
    pub async fn verify_code(&self, mfa_token: &str, code: &str) -> reqwest::Response {
        self.post(
            "/api/v1/auth/totp/verify",
            &json!({"mfa_token": mfa_token, "code": code}),
        )
        .await
    }

    /// Enrols an authenticator with an `enrol` MFA token and confirms it with an independently
    /// computed code.
    pub async fn enrol_and_confirm(&self, mfa_token: &str) -> Enrolled {
        let enrolment = expect(
            self.post("/api/v1/auth/totp/enrol", &json!({"mfa_token": mfa_token}))
                .await,
            200,
        )
        .await;
        let secret = enrolment["secret"].as_str().expect("secret").to_owned();
        let code = self.next_totp(&secret);
        let confirm = expect(
            self.post(
                "/api/v1/auth/totp/confirm",
                &json!({"mfa_token": mfa_token, "code": code}),
            )
            .await,
            200,
        )
        .await;
        Enrolled {
            access_token: confirm["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
            secret,
            recovery_codes: confirm["recovery_codes"]
                .as_array()
                .expect("recovery_codes")
                .iter()
                .map(|c| c.as_str().expect("code").to_owned())
                .collect(),
            confirm,
        }
    }

    async fn session(
        &self,
        access_token: String,
        email: &str,
        password: &str,
        totp_secret: String,
        recovery_codes: Vec<String>,
    ) -> Session {
        let bearer = self.bearer(&access_token);
        let me = bearer.me().await;
        Session {
            access_token,
            person_id: me["id"].as_str().expect("id").to_owned(),
            organisation_id: me["organisation"]["id"]
                .as_str()
                .expect("organisation id")
                .to_owned(),
            email: email.to_owned(),
            password: password.to_owned(),
            totp_secret,
            recovery_codes,
            bearer,
        }
    }

    /// A first sign-in: the password, then enrolling an authenticator.
    pub async fn sign_in_enrolling(&self, email: &str, password: &str) -> Session {
        let (mfa_token, mfa) = self.login_ok(email, password).await;
        assert_eq!(mfa, "enrol", "{email} has no authenticator yet");
        let enrolled = self.enrol_and_confirm(&mfa_token).await;
        self.session(
            enrolled.access_token,
            email,
            password,
            enrolled.secret,
            enrolled.recovery_codes,
        )
        .await
    }

    /// A sign-in of an enrolled person: the password, then a fresh TOTP code.
    pub async fn sign_in(&self, email: &str, password: &str, totp_secret: &str) -> Session {
        let (mfa_token, mfa) = self.login_ok(email, password).await;
        assert_eq!(mfa, "totp", "{email} has an authenticator");
        let code = self.next_totp(totp_secret);
        let body = expect(self.verify_code(&mfa_token, &code).await, 200).await;
        let access_token = body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        self.session(
            access_token,
            email,
            password,
            totp_secret.to_owned(),
            Vec::new(),
        )
        .await
    }

    /// Another session of the person `session` belongs to.
    pub async fn sign_in_again(&self, session: &Session) -> Session {
        self.sign_in(&session.email, &session.password, &session.totp_secret)
            .await
    }

    /// The first administrator, signed in: enrolled, and past the forced change of the
    /// initial password (until then every other route answers `password-change-required`).
    pub async fn sign_in_admin(&self) -> Session {
        let initial = self
            .initial_admin
            .clone()
            .expect("this server created the first administrator");
        let mut admin = self
            .sign_in_enrolling(&initial.email, &initial.password)
            .await;
        let password = strong_password();
        expect(
            admin
                .post(
                    "/api/v1/me/password",
                    &json!({"current_password": initial.password, "new_password": password}),
                )
                .await,
            204,
        )
        .await;
        admin.password = password;
        admin
    }

    /// Registers a user organisation as `admin`; returns its id.
    pub async fn create_org(&self, admin: &Bearer, name: &str, sec_roles: &[&str]) -> String {
        let body = expect(
            admin
                .post(
                    "/api/v1/organisations",
                    &json!({"name": name, "sec_roles": sec_roles}),
                )
                .await,
            201,
        )
        .await;
        body["id"].as_str().expect("organisation id").to_owned()
    }

    /// Invites a person through `POST /api/v1/users`; returns the created person.
    pub async fn invite(
        &self,
        inviter: &Bearer,
        organisation_id: &str,
        email: &str,
        roles: &[&str],
    ) -> Value {
        expect(
            inviter
                .post(
                    "/api/v1/users",
                    &json!({
                        "email": email,
                        "name": format!("Person {email}"),
                        "organisation_id": organisation_id,
                        "roles": roles,
                    }),
                )
                .await,
            201,
        )
        .await
    }

    /// Accepts the invitation emailed to `email` with a new password; returns the password.
    pub async fn accept_invitation(&self, email: &str) -> String {
        let token = self
            .wait_for_email(email, "invited")
            .await
            .link_token("/invitations/accept");
        let password = strong_password();
        expect(
            self.post(
                "/api/v1/auth/invitations/accept",
                &json!({"token": token, "password": password}),
            )
            .await,
            204,
        )
        .await;
        password
    }

    /// Invites a person, accepts the emailed invitation, and signs them in (enrolling TOTP).
    pub async fn invite_and_activate(
        &self,
        inviter: &Bearer,
        organisation_id: &str,
        email: &str,
        roles: &[&str],
    ) -> Session {
        self.invite(inviter, organisation_id, email, roles).await;
        let password = self.accept_invitation(email).await;
        self.sign_in_enrolling(email, &password).await
    }

    /// Issues an API token as `admin`; returns its id and a client for it.
    pub async fn issue_api_token(&self, admin: &Bearer, scopes: &[&str]) -> (String, Bearer) {
        let body = expect(
            admin
                .post(
                    "/api/v1/tokens",
                    &json!({"name": "integration", "scopes": scopes}),
                )
                .await,
            201,
        )
        .await;
        (
            body["id"].as_str().expect("token id").to_owned(),
            self.bearer(body["token"].as_str().expect("token")),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Delivered email

/// One email the file transport delivered.
#[derive(Debug, Clone)]
pub struct Email {
    /// The file it was written to.
    pub path: PathBuf,
    /// The `To` addresses.
    pub to: Vec<String>,
    /// The `Subject`.
    pub subject: String,
    /// The text body, transfer-decoded, with `\n` line ends.
    pub body: String,
}

impl Email {
    /// Parses a message as written by the file transport (RFC 5322, one text part).
    pub fn parse(path: PathBuf, raw: &str) -> Self {
        let (head, body) = raw
            .split_once("\r\n\r\n")
            .or_else(|| raw.split_once("\n\n"))
            .unwrap_or((raw, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = headers.last_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let to = header("to")
            .split(',')
            .map(|a| {
                let a = a.trim();
                match (a.find('<'), a.rfind('>')) {
                    (Some(start), Some(end)) if start < end => &a[start + 1..end],
                    _ => a,
                }
                .to_ascii_lowercase()
            })
            .filter(|a| !a.is_empty())
            .collect();
        let body = match header("content-transfer-encoding")
            .to_ascii_lowercase()
            .as_str()
        {
            "quoted-printable" => decode_quoted_printable(body),
            "base64" => {
                let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
                String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(compact)
                        .expect("base64 body"),
                )
                .expect("UTF-8 body")
            }
            _ => body.to_owned(),
        };
        Self {
            path,
            to,
            subject: header("subject"),
            body: body.replace("\r\n", "\n"),
        }
    }

    /// The first link in the body whose path contains `path`.
    pub fn link(&self, path: &str) -> String {
        self.body
            .split_whitespace()
            .find(|word| word.starts_with("http") && word.contains(path))
            .unwrap_or_else(|| panic!("no link to {path} in {:?}", self.body))
            .to_owned()
    }

    /// The `token` query parameter of the first link whose path contains `path`.
    pub fn link_token(&self, path: &str) -> String {
        let link = self.link(path);
        let (_, query) = link.split_once("?token=").expect("a token parameter");
        query
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
            .collect()
    }
}

/// Decodes a quoted-printable body (RFC 2045 section 6.7): `=XX` escapes and `=` soft breaks.
pub fn decode_quoted_printable(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'=' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let rest = &bytes[i + 1..];
        if rest.starts_with(b"\r\n") {
            i += 3;
        } else if rest.starts_with(b"\n") {
            i += 2;
        } else if let Some(byte) = rest
            .get(..2)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(b'=');
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8 after quoted-printable decoding")
}

impl TestApp {
    /// Every email delivered so far, oldest first.
    pub fn delivered_emails(&self) -> Vec<Email> {
        let Ok(entries) = std::fs::read_dir(&self.mail_dir) else {
            return Vec::new();
        };
        let mut files: Vec<(SystemTime, PathBuf)> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .map(|p| {
                let modified = std::fs::metadata(&p)
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                (modified, p)
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .filter_map(|(_, path)| {
                // A file being written may not be complete yet; it is read on the next poll.
                let raw = std::fs::read_to_string(&path).ok()?;
                raw.contains("\r\n\r\n").then(|| Email::parse(path, &raw))
            })
            .collect()
    }

    /// Waits (polling, up to 10 s) for an email to `to` whose subject contains `subject` that
    /// no earlier call returned.
    pub async fn wait_for_email(&self, to: &str, subject: &str) -> Email {
        let to = to.to_ascii_lowercase();
        let deadline = Instant::now() + StdDuration::from_secs(10);
        loop {
            let found = self.delivered_emails().into_iter().find(|e| {
                e.to.contains(&to)
                    && e.subject.contains(subject)
                    && !self.seen_mail.lock().expect("seen").contains(&e.path)
            });
            if let Some(email) = found {
                self.seen_mail
                    .lock()
                    .expect("seen")
                    .insert(email.path.clone());
                return email;
            }
            assert!(
                Instant::now() < deadline,
                "no email to {to} about {subject:?} within 10 s; delivered: {:?}",
                self.delivered_emails()
                    .iter()
                    .map(|e| (&e.to, &e.subject))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(StdDuration::from_millis(25)).await;
        }
    }

    /// How many emails and webhooks the outbox holds, whatever their state.
    pub async fn outbox_rows(&self) -> i64 {
        self.db
            .read(dsms_store::outbox::count_by_status)
            .await
            .expect("outbox counts")
            .iter()
            .map(|(_, n)| n)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, the SHA-1 column: (time, eight-digit code).
    const RFC_6238_SHA1: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn totp_matches_the_rfc_6238_sha1_vectors() {
        // ASCII "12345678901234567890" in base32.
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert_eq!(base32_decode(secret), b"12345678901234567890");
        for (time, eight) in RFC_6238_SHA1 {
            assert_eq!(
                hotp(b"12345678901234567890", time / 30, 8),
                eight,
                "T={time}"
            );
            assert_eq!(totp_code(secret, time), eight[2..], "T={time}");
        }
        assert_eq!(totp_code(secret, 59), "287082");
        assert_eq!(
            totp_code("gezdgnbvgy3tqojq gezdgnbvgy3tqojq", 59),
            "287082",
            "any case, spaces ignored"
        );
    }

    #[test]
    fn hotp_matches_the_rfc_4226_appendix_d_values() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(b"12345678901234567890", counter as u64, 6), *code);
        }
    }

    #[test]
    fn quoted_printable_bodies_are_decoded() {
        assert_eq!(
            decode_quoted_printable("Hello Si=C3=A2n,\r\nhttp://x/a?token=3Dab=\r\ncd\r\n"),
            "Hello Si\u{e2}n,\r\nhttp://x/a?token=abcd\r\n"
        );
        assert_eq!(decode_quoted_printable("a=3Db"), "a=b");
        assert_eq!(decode_quoted_printable("long=\nline"), "longline");
    }

    #[test]
    fn emails_are_parsed_from_the_file_transport_format() {
        let raw = "From: dsms <no-reply@dsms.localhost>\r\nSubject: You are invited to dsms\r\n\
                   To: ann@example.com\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
                   Choose here:\r\n\r\nhttp://127.0.0.1:8080/invitations/accept?token=3Dinvite_=\r\n\
                   AbC-d_9\r\n\r\nThe link works once.\r\n";
        let email = Email::parse(PathBuf::from("x.eml"), raw);
        assert_eq!(email.to, ["ann@example.com"]);
        assert_eq!(email.subject, "You are invited to dsms");
        assert_eq!(email.link_token("/invitations/accept"), "invite_AbC-d_9");
    }
}
