use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::{HttpResponse, test, web};
use dsms_api::{ApiState, BodyLimit, Json, Metrics};
use dsms_core::SystemClock;
use dsms_store::{Db, DbSettings, DbTarget, SqliteSynchronous};
use dsms_testkit::TestDatabase;
use serde::{Deserialize, Serialize};

/// The body the test-only echo route accepts.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    pub title: String,
    pub impact: u8,
}

async fn echo(Json(body): Json<Sample>) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

/// The body limit the test app is built with.
pub const LIMIT: usize = 2048;

/// The production app (middleware, routes, error handling) plus one test-only JSON route.
pub async fn service(
    test_db: &TestDatabase,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    let db = Db::connect(&DbSettings {
        target: DbTarget::from_url(test_db.url()),
        pool_size: 4,
        acquire_timeout: Duration::from_secs(5),
        busy_timeout: Duration::from_secs(5),
        sqlite_synchronous: SqliteSynchronous::Normal,
    })
    .expect("pool");
    db.migrate().expect("migrate");
    let clock: dsms_core::SharedClock = Arc::new(SystemClock);
    let minutes = |m: u64| Duration::from_secs(m * 60);
    let identity = dsms_auth::Identity::new(
        db.clone(),
        clock.clone(),
        dsms_auth::PasswordHasher::new(dsms_auth::Argon2Settings {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        })
        .expect("hasher"),
        &dsms_auth::credentials::MasterKey::generate(),
        dsms_auth::IdentitySettings {
            issuer: "dsms-test".into(),
            public_url: "http://127.0.0.1".into(),
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
    let state = web::Data::new(ApiState {
        db,
        clock,
        identity,
        trust_forwarded_for: false,
    });
    test::init_service(
        dsms_api::app(state, web::Data::new(Metrics::new()), BodyLimit(LIMIT))
            .service(web::resource("/__test/echo").post(echo)),
    )
    .await
}
