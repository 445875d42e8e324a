//! The production application in-process on a fresh database, a browser that keeps cookies the
//! way a real one does (by name and path, honouring removals), the person's phone (TOTP codes
//! computed independently of the product) and their mailbox (the emails the outbox holds).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::body::MessageBody;
use actix_web::cookie::Cookie;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::test::{self, TestRequest};
use actix_web::web;
use data_encoding::BASE32_NOPAD;
use dsms_api::{ApiState, BodyLimit, Metrics};
use dsms_auth::{
    Argon2Settings, Client, Identity, Invitation, NewOrganisation, NewPerson, OrganisationKind,
    PasswordHasher, Role, SecRole, create_organisation, create_person,
};
use dsms_core::{Actor, Clock, Email, Principal, SystemClock};
use dsms_store::outbox;
use dsms_store::{Db, DbSettings, DbTarget, SqliteSynchronous};
use dsms_testkit::TestDatabase;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// The public URL the test application is configured with.
pub const PUBLIC_URL: &str = "http://127.0.0.1:8080";
/// The password every test person starts with.
pub const PASSWORD: &str = "correct horse battery staple";

/// The production app (API middleware, API routes, web pages) on its own database.
pub struct TestApp<S> {
    service: S,
    db: Db,
    hasher: PasswordHasher,
    /// The application's identity service, for what people do outside the UI.
    pub identity: Identity,
    /// The application's clock: the wall clock until a test moves it on.
    pub clock: Arc<dsms_core::ManualClock>,
    /// The application's incident service, for incidents raised outside the UI.
    pub incidents: dsms_incident::Incidents,
    /// The application's webhook service.
    pub webhooks: dsms_webhooks::Webhooks,
    /// The application's reports service.
    pub reports: dsms_reporting::Reports,
    /// The application's service-request service, for requests raised outside the UI.
    pub requests: dsms_service_request::ServiceRequests,
    /// The application's hub service, for hub records made outside the UI.
    pub hubs: dsms_hubs::Hubs,
    /// What a browser sends as `Origin` for pages of this app.
    origin: String,
    _database: TestDatabase,
}

/// The production app served at [`PUBLIC_URL`].
pub async fn spawn() -> TestApp<
    impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
> {
    spawn_at(PUBLIC_URL).await
}

/// The production app served at `public_url` (a bare origin, no path).
pub async fn spawn_at(
    public_url: &str,
) -> TestApp<
    impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
> {
    let database = TestDatabase::new();
    let db = Db::connect(&DbSettings {
        target: DbTarget::from_url(database.url()),
        pool_size: 4,
        acquire_timeout: Duration::from_secs(5),
        busy_timeout: Duration::from_secs(5),
        sqlite_synchronous: SqliteSynchronous::Normal,
    })
    .expect("pool");
    db.migrate().expect("migrate");
    let manual = Arc::new(dsms_core::ManualClock::new(SystemClock.now()));
    let clock: dsms_core::SharedClock = manual.clone();
    let hasher = PasswordHasher::new(Argon2Settings {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    })
    .expect("hasher");
    let minutes = |m: u64| Duration::from_secs(m * 60);
    let identity = dsms_auth::Identity::new(
        db.clone(),
        clock.clone(),
        hasher.clone(),
        &dsms_auth::credentials::MasterKey::generate(),
        dsms_auth::IdentitySettings {
            issuer: "dsms-test".into(),
            public_url: public_url.into(),
            access_token_ttl: minutes(15),
            mfa_challenge_ttl: minutes(5),
            web_session_idle: minutes(30),
            web_session_max: minutes(600),
            invitation_ttl: minutes(60),
            password_reset_ttl: minutes(60),
            api_token_max_lifetime: minutes(60 * 24 * 365),
            api_token_default_lifetime: minutes(60 * 24 * 90),
            throttle: dsms_auth::ThrottleSettings::default(),
        },
    )
    .expect("identity");
    let incidents = dsms_incident::Incidents::new(
        db.clone(),
        clock.clone(),
        dsms_incident::IncidentPolicy::default(),
    );
    let webhooks = dsms_webhooks::Webhooks::new(
        db.clone(),
        clock.clone(),
        &dsms_auth::credentials::MasterKey::generate(),
        dsms_webhooks::WebhookSettings::default(),
    );
    let reports = dsms_reporting::Reports::new(
        db.clone(),
        clock.clone(),
        dsms_reporting::ReportPolicy::default(),
    );
    let requests = dsms_service_request::ServiceRequests::new(
        db.clone(),
        clock.clone(),
        dsms_service_request::RequestPolicy::default(),
    );
    let hubs = dsms_hubs::Hubs::new(db.clone(), clock.clone(), dsms_hubs::HubRules::default());
    let state = web::Data::new(ApiState {
        db: db.clone(),
        clock,
        identity: identity.clone(),
        trust_forwarded_for: false,
    });
    let service = test::init_service(
        dsms_api::app(state, web::Data::new(Metrics::new()), BodyLimit(64 * 1024))
            .app_data(web::Data::new(incidents.clone()))
            .app_data(web::Data::new(webhooks.clone()))
            .app_data(web::Data::new(hubs.clone()))
            .app_data(web::Data::new(reports.clone()))
            .app_data(web::Data::new(requests.clone()))
            .configure(dsms_web::configure),
    )
    .await;
    TestApp {
        service,
        db,
        hasher,
        identity,
        clock: manual,
        incidents,
        webhooks,
        hubs,
        reports,
        requests,
        origin: public_url.to_owned(),
        _database: database,
    }
}

impl<S, B> TestApp<S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    /// A person in a user organisation, with [`PASSWORD`], who has never signed in.
    pub fn person(&self, email: &str, must_change_password: bool) {
        self.person_with_roles(
            email,
            vec![Role::OrgUser, Role::OrgReporter],
            must_change_password,
        );
    }

    /// A person with `roles` in a user organisation of their own, with [`PASSWORD`]; returns
    /// them as the principal they act as.
    fn person_with_roles(
        &self,
        email: &str,
        roles: Vec<Role>,
        must_change_password: bool,
    ) -> Principal {
        let hash = self.hasher.hash(PASSWORD).expect("hash");
        let email = Email::parse(email).expect("email");
        let person = self
            .db
            .write_blocking(|conn| {
                let now = self.clock.now();
                let actor = Actor::system("test");
                let organisation = create_organisation(
                    conn,
                    now,
                    &actor,
                    NewOrganisation {
                        name: format!("Supplier of {email}"),
                        kind: OrganisationKind::User,
                        sec_roles: vec![SecRole::ImportSupplier],
                        sec_party_id: None,
                    },
                )?;
                create_person(
                    conn,
                    now,
                    &actor,
                    NewPerson {
                        email: email.clone(),
                        name: "Ada Lovelace".into(),
                        organisation_id: organisation.id,
                        roles,
                    },
                    &hash,
                    must_change_password,
                )
            })
            .expect("create the person");
        Principal::person(
            person.id,
            person.organisation_id,
            OrganisationKind::User,
            person.roles,
        )
        .named(person.name)
    }

    /// Invites `email` into a new organisation, as its administrator does, and returns the link
    /// in the invitation email (path and query).
    pub fn invite(&self, email: &str) -> String {
        let admin =
            self.person_with_roles(&format!("admin.of.{email}"), vec![Role::OrgAdmin], false);
        self.identity
            .invite(
                &admin,
                Invitation {
                    email: Email::parse(email).expect("email"),
                    name: "Grace Hopper".into(),
                    organisation_id: None,
                    roles: vec![Role::OrgUser],
                },
                &Client::default(),
                None,
            )
            .expect("invite");
        let emails = self.new_emails();
        assert_eq!(emails.len(), 1, "{emails:?}");
        link_in(&emails[0], email, "/invitations/accept").expect("the invitation link")
    }

    /// The emails queued since the last look (their outbox payloads, JSON), oldest first. Each
    /// is taken as a delivery worker takes it, so the next look shows only newer ones.
    pub fn new_emails(&self) -> Vec<String> {
        self.db
            .write_blocking(|conn| {
                outbox::lease_due(
                    conn,
                    self.clock.now(),
                    &["email"],
                    "test-mailbox",
                    Duration::from_secs(24 * 3600),
                    1000,
                )
            })
            .expect("read the outbox")
            .into_iter()
            .map(|row| row.payload)
            .collect()
    }

    /// A browser with no cookies yet.
    pub fn browser(&self) -> Browser<'_, S> {
        Browser {
            app: self,
            cookies: HashMap::new(),
        }
    }

    /// A new user organisation called `name`, an import supplier; returns its id.
    pub fn organisation(&self, name: &str) -> i64 {
        self.db
            .write_blocking(|conn| {
                create_organisation(
                    conn,
                    self.clock.now(),
                    &Actor::system("test"),
                    NewOrganisation {
                        name: name.to_owned(),
                        kind: OrganisationKind::User,
                        sec_roles: vec![SecRole::ImportSupplier],
                        sec_party_id: None,
                    },
                )
            })
            .expect("create the organisation")
            .id
    }

    /// A person with `roles` in `organisation_id` (the operator's when `None`), with
    /// [`PASSWORD`], who has never signed in; returns them as the principal they act as.
    pub fn member(&self, email: &str, organisation_id: Option<i64>, roles: Vec<Role>) -> Principal {
        let hash = self.hasher.hash(PASSWORD).expect("hash");
        let (person, kind) = self
            .db
            .write_blocking(|conn| {
                let now = self.clock.now();
                let actor = Actor::system("test");
                let (organisation_id, kind) = match organisation_id {
                    Some(id) => (id, OrganisationKind::User),
                    None => {
                        let operator = match dsms_auth::find_operator(conn)? {
                            Some(operator) => operator,
                            None => create_organisation(
                                conn,
                                now,
                                &actor,
                                NewOrganisation {
                                    name: "DCC".into(),
                                    kind: OrganisationKind::Operator,
                                    sec_roles: vec![SecRole::OtherUser],
                                    sec_party_id: None,
                                },
                            )?,
                        };
                        (operator.id, OrganisationKind::Operator)
                    }
                };
                let person = create_person(
                    conn,
                    now,
                    &actor,
                    NewPerson {
                        email: Email::parse(email).expect("email"),
                        name: format!("Person {email}"),
                        organisation_id,
                        roles,
                    },
                    &hash,
                    false,
                )?;
                Ok::<_, dsms_auth::AuthError>((person, kind))
            })
            .expect("create the person");
        Principal::person(person.id, person.organisation_id, kind, person.roles).named(person.name)
    }
}

/// One answer, read whole.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, as text.
    pub body: String,
    /// Every `Set-Cookie` of the answer.
    pub set_cookies: Vec<Cookie<'static>>,
}

impl Answer {
    /// The redirect target.
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// A header's value, or "" when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The cookie `name` as this answer set it.
    pub fn cookie(&self, name: &str) -> Option<&Cookie<'static>> {
        self.set_cookies.iter().find(|c| c.name() == name)
    }

    /// The value of the form field `name` (a hidden field).
    pub fn field(&self, name: &str) -> String {
        between(&self.body, &format!("name=\"{name}\" value=\""), "\"")
            .unwrap_or_else(|| panic!("no field {name} in:\n{}", self.body))
    }

    /// Asserts a `303 See Other` to `location`.
    pub fn assert_redirect(&self, location: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.body);
        assert_eq!(self.location(), location);
    }
}

/// The text between `start` and the next `end` in `text`.
pub fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(text[from..to].to_owned())
}

/// A browser: keeps the cookies it is given (by name and path), sends them where their path
/// allows, and sends `Origin` on posts as browsers do.
pub struct Browser<'a, S> {
    app: &'a TestApp<S>,
    cookies: HashMap<String, (String, String)>,
}

impl<S, B> Browser<'_, S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    /// The value of a cookie the browser holds.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(|(value, _)| value.as_str())
    }

    /// Sets a cookie by hand, as an attacker's or stale browser might hold it.
    pub fn set_cookie(&mut self, name: &str, value: &str, path: &str) {
        self.cookies
            .insert(name.to_owned(), (value.to_owned(), path.to_owned()));
    }

    /// Sends a request built by `req` for `path`, with the browser's cookies.
    pub async fn send(&mut self, req: TestRequest, path: &str) -> Answer {
        let mut req = req.uri(path);
        for (name, (value, cookie_path)) in &self.cookies {
            if path.starts_with(cookie_path.as_str()) {
                req = req.cookie(Cookie::new(name.clone(), value.clone()));
            }
        }
        let res = test::call_service(&self.app.service, req.to_request()).await;
        let status = res.status();
        let headers = res.headers().clone();
        let set_cookies: Vec<Cookie<'static>> =
            res.response().cookies().map(|c| c.into_owned()).collect();
        let body = test::read_body(res).await;
        for cookie in &set_cookies {
            let removed = cookie.max_age().is_some_and(|age| age.whole_seconds() <= 0);
            if removed {
                self.cookies.remove(cookie.name());
            } else {
                self.cookies.insert(
                    cookie.name().to_owned(),
                    (
                        cookie.value().to_owned(),
                        cookie.path().unwrap_or("/").to_owned(),
                    ),
                );
            }
        }
        Answer {
            status,
            headers,
            body: String::from_utf8(body.to_vec()).expect("UTF-8 body"),
            set_cookies,
        }
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Answer {
        self.send(TestRequest::get(), path).await
    }

    /// `GET path` for a file that need not be text: the status, the headers and the bytes.
    pub async fn get_bytes(&mut self, path: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut req = TestRequest::get().uri(path);
        for (name, (value, cookie_path)) in &self.cookies {
            if path.starts_with(cookie_path.as_str()) {
                req = req.cookie(Cookie::new(name.clone(), value.clone()));
            }
        }
        let res = test::call_service(&self.app.service, req.to_request()).await;
        let (status, headers) = (res.status(), res.headers().clone());
        (status, headers, test::read_body(res).await.to_vec())
    }

    /// `POST path` with a form, from this site.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.send(
            TestRequest::post()
                .insert_header((header::ORIGIN, self.app.origin.as_str()))
                .set_form(form),
            path,
        )
        .await
    }

    /// Opens `page` and posts its form with `fields` and the page's CSRF token.
    pub async fn submit(&mut self, page: &str, action: &str, fields: &[(&str, &str)]) -> Answer {
        let form = self.get(page).await;
        assert_eq!(form.status, StatusCode::OK, "{page}: {}", form.body);
        let token = form.field("csrf_token");
        let mut fields = fields.to_vec();
        fields.push(("csrf_token", &token));
        self.post(action, &fields).await
    }

    /// Opens an emailed link (path and query) as a click does: the page puts the token into a
    /// cookie and redirects to its bare path, whose form this returns.
    pub async fn open_link(&mut self, link: &str) -> Answer {
        let path = link
            .split_once('?')
            .map_or(link, |(path, _)| path)
            .to_owned();
        self.get(link).await.assert_redirect(&path);
        let form = self.get(&path).await;
        assert_eq!(form.status, StatusCode::OK, "{path}: {}", form.body);
        form
    }

    /// Posts `form`, a page behind an emailed link, choosing `new` (confirmed as `confirm`).
    pub async fn choose_password(&mut self, form: &Answer, new: &str, confirm: &str) -> Answer {
        let action = between(&form.body, "<form method=\"post\" action=\"", "\"")
            .unwrap_or_else(|| panic!("no form in:\n{}", form.body));
        let (token, csrf_token) = (form.field("token"), form.field("csrf_token"));
        self.post(
            &action,
            &[
                ("token", &token),
                ("new_password", new),
                ("confirm_password", confirm),
                ("csrf_token", &csrf_token),
            ],
        )
        .await
    }

    /// The password step.
    pub async fn enter_password(&mut self, email: &str, password: &str) -> Answer {
        self.submit(
            "/sign-in",
            "/sign-in",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// A first sign-in: password, then enrolment with the QR page's secret. Returns the
    /// secret, the recovery codes and the page that showed them.
    pub async fn first_sign_in(&mut self, email: &str) -> (Vec<u8>, Vec<String>, Answer) {
        self.enter_password(email, PASSWORD)
            .await
            .assert_redirect("/sign-in/enrol");
        let enrol = self.get("/sign-in/enrol").await;
        assert_eq!(enrol.status, StatusCode::OK, "{}", enrol.body);
        let secret = secret_on(&enrol.body);
        // The code of the previous step, so the next step's code is fresh for a later sign-in.
        let code = totp(&secret, unix_now() - 30);
        let token = enrol.field("csrf_token");
        let shown = self
            .post("/sign-in/enrol", &[("code", &code), ("csrf_token", &token)])
            .await;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
        let codes = recovery_codes_on(&shown.body);
        (secret, codes, shown)
    }

    /// A sign-in with an enrolled authenticator; returns the answer to the code.
    pub async fn sign_in(&mut self, email: &str, code: &str) -> Answer {
        self.enter_password(email, PASSWORD)
            .await
            .assert_redirect("/sign-in/totp");
        self.submit("/sign-in/totp", "/sign-in/totp", &[("code", code)])
            .await
    }
}

/// The link to `path` in an email (an outbox payload) to `to`, as path and query: what a
/// person's browser opens when they click it.
pub fn link_in(email: &str, to: &str, path: &str) -> Option<String> {
    if !email.contains(&format!("\"to\":[\"{to}\"]")) {
        return None;
    }
    let start = format!("{PUBLIC_URL}{path}?token=");
    let from = email.find(&start)? + PUBLIC_URL.len();
    let length = email[from..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || "/?=-_".contains(c)))
        .unwrap_or(email.len() - from);
    Some(email[from..from + length].to_owned())
}

/// The authenticator secret shown for typing, decoded.
pub fn secret_on(page: &str) -> Vec<u8> {
    let shown = between(page, "class=\"secret\" aria-label=\"Setup key\">", "<")
        .unwrap_or_else(|| panic!("no secret in:\n{page}"));
    let typed: String = shown.chars().filter(|c| !c.is_whitespace()).collect();
    BASE32_NOPAD
        .decode(typed.as_bytes())
        .expect("base32 secret")
}

/// The recovery codes a page lists.
pub fn recovery_codes_on(page: &str) -> Vec<String> {
    page.split("<li><code>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</code>").map(|(code, _)| code.to_owned()))
        .collect()
}

/// Seconds since the epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// The six-digit code a phone shows at `unix_time` (RFC 6238 over RFC 4226, SHA-1, 30 s).
pub fn totp(secret: &[u8], unix_time: u64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("key");
    mac.update(&(unix_time / 30).to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    format!("{:06}", binary % 1_000_000)
}
