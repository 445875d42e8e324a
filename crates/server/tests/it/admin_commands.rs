//! `dsms admin` for the operator at 3 a.m.: each command run as the real binary against the
//! database of servers running in this process, its effect seen over HTTP, and its audit row.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use dsms::{Application, Config};
use dsms_core::ManualClock;
use dsms_store::Db;
use serde_json::{Value, json};

use crate::support::{Env, printed_password};

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The configuration the `Env`'s binary runs with, plus `extra` settings.
fn config(env: &Env, extra: &[(&str, &str)]) -> Config {
    let mut vars = vec![
        ("DSMS_DATABASE_URL".to_owned(), env.test_db.url().to_owned()),
        (
            "DSMS_DATA_DIR".to_owned(),
            env.data_dir.path().display().to_string(),
        ),
        ("DSMS_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        ("DSMS_AUTH_ARGON2_MEMORY_KIB".to_owned(), "1024".to_owned()),
        ("DSMS_AUTH_ARGON2_ITERATIONS".to_owned(), "1".to_owned()),
    ];
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Config::load(None, vars).expect("test configuration")
}

/// A server in this process on a manual clock.
struct Instance {
    url: String,
    client: reqwest::Client,
}

impl Instance {
    async fn start(config: Config, clock: Arc<ManualClock>) -> Self {
        let app = Application::build_with_clock(config, clock)
            .await
            .expect("build the application");
        let url = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        Self {
            url,
            client: reqwest::Client::new(),
        }
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let res = self
            .client
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn me(&self, token: &str) -> u16 {
        self.client
            .get(format!("{}/api/v1/me", self.url))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
            .status()
            .as_u16()
    }

    async fn login(&self, email: &str, password: &str) -> (u16, Value) {
        self.post(
            "/api/v1/auth/login",
            json!({"email": email, "password": password}),
        )
        .await
    }
}

/// The TOTP code of `secret` (base32) at the clock's time, computed here as an authenticator
/// app does (RFC 6238: HMAC-SHA1, 30-second steps, six digits).
fn totp(secret: &str, clock: &ManualClock) -> String {
    use dsms_core::Clock as _;
    use hmac::{KeyInit as _, Mac as _};
    let key = data_encoding::BASE32_NOPAD
        .decode(secret.trim_end_matches('=').as_bytes())
        .expect("base32 secret");
    let step = clock.now().timestamp() as u64 / 30;
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&key).expect("any key length");
    mac.update(&step.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let at = usize::from(hash[hash.len() - 1] & 0x0f);
    let code = u32::from_be_bytes([hash[at] & 0x7f, hash[at + 1], hash[at + 2], hash[at + 3]]);
    format!("{:06}", code % 1_000_000)
}

/// Creates a service-desk agent with the real binary and returns their initial password.
fn create_agent(env: &Env, email: &str) -> String {
    let out = env.run(&[
        "admin",
        "create-user",
        "--email",
        email,
        "--name",
        "Night Shift",
        "--role",
        "service_desk_agent",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    printed_password(&stdout(&out).lines().map(str::to_owned).collect::<Vec<_>>())
        .expect("an initial password")
}

/// Signs in for the first time, enrolling TOTP: the access token and the TOTP secret.
async fn enrol(
    server: &Instance,
    clock: &ManualClock,
    email: &str,
    password: &str,
) -> (String, String) {
    let (status, body) = server.login(email, password).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mfa"], "enrol");
    let mfa_token = body["mfa_token"].as_str().expect("mfa_token").to_owned();
    let (status, enrolment) = server
        .post("/api/v1/auth/totp/enrol", json!({"mfa_token": mfa_token}))
        .await;
    assert_eq!(status, 200, "{enrolment}");
    let secret = enrolment["secret"].as_str().expect("secret").to_owned();
    let (status, body) = server
        .post(
            "/api/v1/auth/totp/confirm",
            json!({"mfa_token": mfa_token, "code": totp(&secret, clock)}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    (
        body["access_token"].as_str().expect("token").to_owned(),
        secret,
    )
}

/// Signs in again with password and TOTP, half a minute later (a code is accepted once).
async fn sign_in(
    server: &Instance,
    clock: &ManualClock,
    email: &str,
    password: &str,
    secret: &str,
) -> String {
    clock.advance(chrono::Duration::seconds(30));
    let (status, body) = server.login(email, password).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mfa"], "totp");
    let (status, body) = server
        .post(
            "/api/v1/auth/totp/verify",
            json!({"mfa_token": body["mfa_token"], "code": totp(secret, clock)}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().expect("token").to_owned()
}

/// The audit rows of `action`, as (entity id, changes).
fn audited(db: &Db, action: &str) -> Vec<(String, String)> {
    use diesel::prelude::*;
    use dsms_store::schema::audit_log;
    db.read_blocking(|conn| {
        audit_log::table
            .filter(audit_log::action.eq(action))
            .filter(audit_log::actor_kind.eq("system"))
            .filter(audit_log::actor_id.eq("cli"))
            .select((audit_log::entity_id, audit_log::changes))
            .load::<(String, String)>(conn)
            .map_err(dsms_store::StoreError::from)
    })
    .expect("audit rows")
}

/// A manual clock (TOTP steps advance only when the test says) starting at the wall-clock
/// time, which the command-line processes use.
fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Utc::now()))
}

#[tokio::test]
async fn unlock_lets_a_locked_out_person_sign_in_again_and_is_audited() {
    let env = Env::new();
    let lock_after_three = [
        ("DSMS_AUTH_THROTTLE_LOCK_AFTER", "3"),
        ("DSMS_AUTH_THROTTLE_DELAY_AFTER", "3"),
    ];
    let config = config(&env, &lock_after_three);
    let db = Db::connect(&config.db_settings()).expect("db");
    let clock = clock();
    let server = Instance::start(config, clock.clone()).await;
    let password = create_agent(&env, "night@dcc.example");
    for _ in 0..3 {
        let (status, _) = server.login("night@dcc.example", "not the password").await;
        assert_eq!(status, 401);
    }
    let (status, _) = server.login("night@dcc.example", &password).await;
    assert_eq!(status, 429, "three failures lock the account");

    let out = env.run(&["admin", "unlock", "--email", "night@dcc.example"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("night@dcc.example: unlocked"),
        "{}",
        stdout(&out)
    );

    let (status, body) = server.login("night@dcc.example", &password).await;
    assert_eq!(status, 200, "{body}");
    let rows = audited(&db, "account.unlocked");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].1.contains("locked"), "{rows:?}");

    let again = env.run(&["admin", "unlock", "--email", "night@dcc.example"]);
    assert!(
        stdout(&again).contains("was not locked"),
        "{}",
        stdout(&again)
    );
    let nobody = env.run(&["admin", "unlock", "--email", "nobody@dcc.example"]);
    assert!(!nobody.status.success());
    assert!(
        stderr(&nobody).contains("no person has the email"),
        "{}",
        stderr(&nobody)
    );
}

#[tokio::test]
async fn reset_mfa_ends_sessions_and_makes_the_person_enrol_again() {
    let env = Env::new();
    let config = config(&env, &[]);
    let db = Db::connect(&config.db_settings()).expect("db");
    let clock = clock();
    let server = Instance::start(config, clock.clone()).await;
    let password = create_agent(&env, "lost.phone@dcc.example");
    let (token, _) = enrol(&server, &clock, "lost.phone@dcc.example", &password).await;
    assert_eq!(server.me(&token).await, 200);
    let (_, body) = server.login("lost.phone@dcc.example", &password).await;
    assert_eq!(body["mfa"], "totp", "enrolled before the reset");

    let out = env.run(&["admin", "reset-mfa", "--email", "lost.phone@dcc.example"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("MFA reset"), "{}", stdout(&out));

    assert_eq!(server.me(&token).await, 401, "the session ended");
    let (status, body) = server.login("lost.phone@dcc.example", &password).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mfa"], "enrol", "a new authenticator must be enrolled");
    let rows = audited(&db, "mfa.reset");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].1.contains("sessions_ended"), "{rows:?}");
}

#[tokio::test]
async fn rotating_the_signing_key_signs_nobody_out_and_every_instance_follows() {
    let env = Env::new();
    let key = [(
        "DSMS_AUTH_SECRET_KEY",
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    )];
    let db = Db::connect(&config(&env, &key).db_settings()).expect("db");
    let clock = clock();
    let first = Instance::start(config(&env, &key), clock.clone()).await;
    let password = create_agent(&env, "rota@dcc.example");
    let (before, secret) = enrol(&first, &clock, "rota@dcc.example", &password).await;
    assert_eq!(
        key_id(&before),
        None,
        "before any rotation tokens carry no key id"
    );

    let out = env
        .command(&["admin", "rotate-signing-key"])
        .env(key[0].0, key[0].1)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let kid = stdout(&out).trim().to_owned();
    assert!(!kid.is_empty());

    // An instance started after the rotation signs with the new key; the one started before
    // verifies its tokens (it reloads on an unknown key id) and keeps accepting the old ones.
    let second = Instance::start(config(&env, &key), clock.clone()).await;
    let after = sign_in(&second, &clock, "rota@dcc.example", &password, &secret).await;
    assert_eq!(key_id(&after).as_deref(), Some(kid.as_str()));
    // Reloads for unknown key ids are limited to one a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for (server, token) in [
        (&first, &before),
        (&first, &after),
        (&second, &before),
        (&second, &after),
    ] {
        assert_eq!(server.me(token).await, 200, "{token}");
    }

    let forged = with_key_id(&after, "k-unknown");
    assert_eq!(
        first.me(&forged).await,
        401,
        "an unknown key id verifies nothing"
    );

    let rows = audited(&db, "auth.signing_key_rotated");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, kid);

    let out = env
        .command(&["admin", "rotate-signing-key"])
        .env(key[0].0, key[0].1)
        .output()
        .expect("run");
    let newer = stdout(&out).trim().to_owned();
    assert_ne!(newer, kid, "each rotation makes a new key");
    let third = Instance::start(config(&env, &key), clock.clone()).await;
    assert_eq!(
        third.me(&after).await,
        200,
        "a key retired by a later rotation still verifies what it signed"
    );
}

fn header(token: &str) -> Value {
    use base64::Engine as _;
    let part = token.split('.').next().expect("header");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .expect("base64url"),
    )
    .expect("json header")
}

fn key_id(token: &str) -> Option<String> {
    header(token)["kid"].as_str().map(str::to_owned)
}

/// The same token with another key id in its header (the signature no longer matches, but
/// the key id is what decides which key checks it).
fn with_key_id(token: &str, kid: &str) -> String {
    use base64::Engine as _;
    let mut head = header(token);
    head["kid"] = Value::from(kid);
    let rest = token.split_once('.').expect("a JWT").1;
    format!(
        "{}.{rest}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(head.to_string())
    )
}

/// Writes outbox rows and parks some of them as dead, as the worker does after its last try.
fn outbox_with_dead_rows(db: &Db) -> (Vec<i64>, i64) {
    use dsms_store::outbox;
    let now = Utc::now();
    db.write_blocking(|conn| {
        let email = (0..2)
            .map(|i| outbox::enqueue(conn, now, "email", &json!({"n": i})))
            .collect::<Result<Vec<_>, _>>()?;
        let webhook = outbox::enqueue(conn, now, "webhook", &json!({"n": 9}))?;
        let leased = outbox::lease_due(
            conn,
            now,
            &["email", "webhook"],
            "test-worker",
            Duration::from_secs(60),
            10,
        )?;
        assert_eq!(leased.len(), 3);
        for id in email.iter().chain([&webhook]) {
            outbox::mark_failed(conn, *id, "test-worker", "550 mailbox unavailable", None)?;
        }
        outbox::enqueue(conn, now, "email", &json!({"still": "pending"}))?;
        Ok::<_, dsms_store::StoreError>((email, webhook))
    })
    .expect("outbox rows")
}

fn status_of(db: &Db, id: i64) -> (String, i32) {
    let row = db
        .read_blocking(|conn| dsms_store::outbox::get(conn, id))
        .expect("row");
    (row.status, row.attempts)
}

#[test]
fn redrive_outbox_requeues_dead_rows_of_the_kind_asked_and_audits_each() {
    let env = Env::new();
    assert!(env.run(&["migrate"]).status.success());
    let db = Db::connect(&config(&env, &[]).db_settings()).expect("db");
    let (emails, webhook) = outbox_with_dead_rows(&db);

    let out = env.run(&["admin", "redrive-outbox", "--kind", "webhook"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("1 dead row(s) re-queued"),
        "{}",
        stdout(&out)
    );
    assert_eq!(status_of(&db, webhook), ("pending".into(), 0));
    assert_eq!(
        status_of(&db, emails[0]).0,
        "dead",
        "other kinds are left alone"
    );

    let out = env.run(&["admin", "redrive-outbox", "--id", &emails[1].to_string()]);
    assert!(
        stdout(&out).contains("1 dead row(s) re-queued"),
        "{}",
        stdout(&out)
    );
    assert_eq!(status_of(&db, emails[1]), ("pending".into(), 0));
    assert_eq!(status_of(&db, emails[0]).0, "dead");

    let out = env.run(&["admin", "redrive-outbox"]);
    assert!(
        stdout(&out).contains("1 dead row(s) re-queued"),
        "{}",
        stdout(&out)
    );
    assert_eq!(status_of(&db, emails[0]), ("pending".into(), 0));

    let mut audited_ids: Vec<String> = audited(&db, "outbox.redriven")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    audited_ids.sort();
    let mut expected: Vec<String> = emails
        .iter()
        .chain([&webhook])
        .map(|id| id.to_string())
        .collect();
    expected.sort();
    assert_eq!(audited_ids, expected);
}

#[test]
fn health_shows_the_outbox_by_kind_and_fails_a_cron_check_on_dead_rows() {
    let env = Env::new();
    assert!(env.run(&["migrate"]).status.success());
    let db = Db::connect(&config(&env, &[]).db_settings()).expect("db");

    let healthy = env.run(&["admin", "health", "--fail-after-secs", "600"]);
    assert!(healthy.status.success(), "{}", stderr(&healthy));

    outbox_with_dead_rows(&db);
    let out = env.run(&["admin", "health"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let email = text
        .lines()
        .find(|l| l.starts_with("email "))
        .unwrap_or_else(|| panic!("an email line: {text}"));
    let figures: Vec<&str> = email.split_whitespace().collect();
    assert_eq!(
        &figures[1..4],
        ["1", "2", "0"],
        "pending, dead, delivered: {text}"
    );
    assert!(text.contains("accounts locked: 0"), "{text}");

    let check = env.run(&["admin", "health", "--fail-after-secs", "600"]);
    assert!(!check.status.success());
    assert!(
        stderr(&check).contains("dead email row(s)"),
        "{}",
        stderr(&check)
    );
}
