//! Rate limits on every route class, per credential and per client address, kept in memory by
//! each process (GCRA through `governor`).
//!
//! Every request is put in a [`RouteClass`] by its method and path; each class has its own
//! allowance per credential (an API token, an access token or a web session, keyed by a digest
//! of the credential itself, so nobody can spend another caller's allowance without holding
//! their credential) and per client address. The address is checked first, so a client cycling
//! through made-up credentials is still held by its address. Over either limit the answer is 429
//! `rate-limited` with `Retry-After`; every limited answer carries `RateLimit-Limit`,
//! `RateLimit-Remaining` and `RateLimit-Reset` for the tighter of the two allowances.
//!
//! Limits are per instance: behind a load balancer with N instances a client can make up to N
//! times the configured rate. That is acceptable because these limits protect capacity, which
//! also grows N-fold; the sign-in throttle that protects accounts is kept in the database and
//! shared by every instance.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use sha2::{Digest, Sha256};

use crate::metrics::Metrics;
use crate::problem::ApiError;

/// The web UI's session cookie (named in `dsms-web`, which depends on this crate).
const SESSION_COOKIE: &str = "dsms_session";

/// Every this many requests, keys whose allowance is full again are forgotten.
const PRUNE_EVERY: u64 = 4096;

/// `RateLimit-Limit`: the allowance per window of the tighter limit.
pub const RATE_LIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
/// `RateLimit-Remaining`: requests left before the limit.
pub const RATE_LIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
/// `RateLimit-Reset`: seconds until the whole allowance is back.
pub const RATE_LIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// What a request costs the server, which decides the allowance it draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteClass {
    /// Reading: `GET` of API resources and web pages.
    Read,
    /// Changing: `POST`, `PATCH`, `PUT`, `DELETE` of API resources and web forms.
    Write,
    /// Expensive reads: reports and diagnostics, CSV exports, the dashboard, and lists
    /// searched for words (`q=`).
    Search,
    /// Signing in and credentials: the `/api/v1/auth/*` calls, password changes and the web
    /// sign-in, reset and invitation forms when submitted.
    Auth,
    /// Uploads: attachments and bulk CSV (consignments, hub returns), or any body sent as
    /// `multipart/form-data` or `text/csv`.
    Upload,
}

impl RouteClass {
    /// Every class, in configuration order.
    pub const ALL: [Self; 5] = [
        Self::Read,
        Self::Write,
        Self::Search,
        Self::Auth,
        Self::Upload,
    ];

    /// The class's name in configuration and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Search => "search",
            Self::Auth => "auth",
            Self::Upload => "upload",
        }
    }

    /// The class of a request, or `None` for the operational endpoints and static assets,
    /// which load balancers, probes and scrapers call constantly from one address.
    pub fn of(
        method: &Method,
        path: &str,
        query: &str,
        content_type: Option<&str>,
    ) -> Option<Self> {
        if matches!(path, "/healthz" | "/readyz" | "/metrics") || path.starts_with("/static/") {
            return None;
        }
        let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe && is_auth_path(path) {
            return Some(Self::Auth);
        }
        if safe {
            return Some(if is_search(path, query) {
                Self::Search
            } else {
                Self::Read
            });
        }
        let media = content_type
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase());
        let upload_media = media
            .as_deref()
            .is_some_and(|m| m == "multipart/form-data" || m == "text/csv");
        let upload_path = path.ends_with("/attachments")
            || path.ends_with("/consignments")
            || path == "/api/v1/hub-returns";
        Some(if upload_media || upload_path {
            Self::Upload
        } else {
            Self::Write
        })
    }
}

/// Paths whose submissions check passwords, codes or emailed tokens.
fn is_auth_path(path: &str) -> bool {
    path.starts_with("/api/v1/auth/")
        || matches!(
            path,
            "/api/v1/me/password"
                | "/account/password"
                | "/forgot-password"
                | "/reset-password"
                | "/invitations/accept"
        )
        || path == "/sign-in"
        || path.starts_with("/sign-in/")
}

/// Reads that scan or aggregate many rows.
fn is_search(path: &str, query: &str) -> bool {
    path.starts_with("/api/v1/reports")
        || path == "/desk/dashboard"
        || path.ends_with(".csv")
        || query
            .split('&')
            .any(|pair| pair.strip_prefix("q=").is_some_and(|v| !v.is_empty()))
}

/// One class's allowances per window; 0 means no limit of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassLimits {
    /// Requests per window for one credential.
    pub per_token: u32,
    /// Requests per window from one client address.
    pub per_address: u32,
}

/// How requests are limited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// Off: nothing is limited (sign-in throttling still applies).
    pub enabled: bool,
    /// The window the allowances are counted over; an allowance refills steadily across it.
    pub window: Duration,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// `GET` of resources and pages.
    pub read: ClassLimits,
    /// Changes.
    pub write: ClassLimits,
    /// Reports, exports, dashboards, searches.
    pub search: ClassLimits,
    /// Sign-in and credential submissions.
    pub auth: ClassLimits,
    /// Attachments and bulk uploads.
    pub upload: ClassLimits,
}

impl RateLimitSettings {
    /// The allowances of one class.
    pub fn limits(&self, class: RouteClass) -> ClassLimits {
        match class {
            RouteClass::Read => self.read,
            RouteClass::Write => self.write,
            RouteClass::Search => self.search,
            RouteClass::Auth => self.auth,
            RouteClass::Upload => self.upload,
        }
    }
}

/// A credential, as a digest: the map never holds a usable token.
type CredentialKey = [u8; 16];

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// One class's limiters.
struct ClassLimiters {
    per_token: Option<Keyed<CredentialKey>>,
    per_address: Option<Keyed<IpAddr>>,
}

/// The rate limiters of one process; registered as `web::Data<RateLimits>`, read by [`limit`].
pub struct RateLimits {
    settings: RateLimitSettings,
    classes: Vec<(RouteClass, ClassLimiters)>,
    seen: AtomicU64,
    clock: DefaultClock,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("settings", &self.settings)
            .finish()
    }
}

/// The tighter of the allowances a request drew on.
struct Standing {
    limit: u32,
    remaining: u32,
    reset: Duration,
}

/// Why a request was refused.
struct Refusal {
    by: &'static str,
    limit: u32,
    retry_after: Duration,
}

fn quota(window: Duration, per_window: u32) -> Option<Quota> {
    let burst = NonZeroU32::new(per_window)?;
    let period = (window / per_window).max(Duration::from_nanos(1));
    Quota::with_period(period).map(|q| q.allow_burst(burst))
}

impl RateLimits {
    /// Limiters for `settings`.
    pub fn new(settings: RateLimitSettings) -> Self {
        let clock = DefaultClock::default();
        let classes = RouteClass::ALL
            .iter()
            .map(|&class| {
                let limits = settings.limits(class);
                let keyed = |n: u32| quota(settings.window, n).filter(|_| settings.enabled);
                (
                    class,
                    ClassLimiters {
                        per_token: keyed(limits.per_token).map(|q| {
                            RateLimiter::dashmap_with_clock(q, clock.clone()).with_middleware()
                        }),
                        per_address: keyed(limits.per_address).map(|q| {
                            RateLimiter::dashmap_with_clock(q, clock.clone()).with_middleware()
                        }),
                    },
                )
            })
            .collect();
        Self {
            settings,
            classes,
            seen: AtomicU64::new(0),
            clock,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &RateLimitSettings {
        &self.settings
    }

    fn limiters(&self, class: RouteClass) -> Option<&ClassLimiters> {
        self.classes
            .iter()
            .find(|(c, _)| *c == class)
            .map(|(_, l)| l)
    }

    /// Draws one request of `class` from the address's allowance and then the credential's.
    fn check(
        &self,
        class: RouteClass,
        address: Option<IpAddr>,
        credential: Option<CredentialKey>,
    ) -> Result<Option<Standing>, Refusal> {
        let Some(limiters) = self.limiters(class) else {
            return Ok(None);
        };
        if self.seen.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.prune();
        }
        let mut standing: Option<Standing> = None;
        let mut note = |snapshot: governor::middleware::StateSnapshot| {
            let quota = snapshot.quota();
            let limit = quota.burst_size().get();
            let remaining = snapshot.remaining_burst_capacity();
            let next = Standing {
                limit,
                remaining,
                reset: quota.replenish_interval() * (limit - remaining.min(limit)),
            };
            if standing
                .as_ref()
                .is_none_or(|s| next.remaining < s.remaining)
            {
                standing = Some(next);
            }
        };
        let refuse = |by, not_until: governor::NotUntil<_>| Refusal {
            by,
            limit: not_until.quota().burst_size().get(),
            retry_after: not_until.wait_time_from(self.clock.now()),
        };
        if let (Some(limiter), Some(address)) = (&limiters.per_address, address) {
            note(
                limiter
                    .check_key(&address)
                    .map_err(|n| refuse("address", n))?,
            );
        }
        if let (Some(limiter), Some(credential)) = (&limiters.per_token, credential) {
            note(
                limiter
                    .check_key(&credential)
                    .map_err(|n| refuse("token", n))?,
            );
        }
        Ok(standing)
    }

    /// Forgets keys whose allowance is full again, so memory follows recent clients only.
    fn prune(&self) {
        for (_, limiters) in &self.classes {
            if let Some(l) = &limiters.per_token {
                l.retain_recent();
            }
            if let Some(l) = &limiters.per_address {
                l.retain_recent();
            }
        }
    }
}

/// The calling client's address: the peer, or behind a trusted proxy the address the proxy
/// appended last to `X-Forwarded-For` (earlier entries are the client's own say, so a client
/// could name any address there).
pub(crate) fn caller_address(req: &HttpRequest, trust_forwarded_for: bool) -> Option<IpAddr> {
    trust_forwarded_for
        .then(|| {
            req.headers()
                .get_all("x-forwarded-for")
                .last()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok())
        })
        .flatten()
        .or_else(|| req.peer_addr().map(|a| a.ip()))
}

/// The client address limits are counted against: the caller's address, with IPv6 addresses
/// counted by their /64, which one subscriber usually holds whole.
fn client_address(req: &HttpRequest, trust_forwarded_for: bool) -> Option<IpAddr> {
    let ip = caller_address(req, trust_forwarded_for)?;
    Some(match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
        v4 => v4,
    })
}

/// The credential a request presents: its bearer token, or else its web session cookie.
fn credential(req: &HttpRequest) -> Option<CredentialKey> {
    let headers = req.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let session = || {
        headers
            .get_all(header::COOKIE)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| c.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
            .filter(|v| !v.is_empty())
    };
    let (kind, value): (&[u8], &str) = match bearer {
        Some(token) => (b"bearer:", token),
        None => (b"session:", session()?),
    };
    let digest = Sha256::new()
        .chain_update(kind)
        .chain_update(value.as_bytes())
        .finalize();
    let mut key = [0; 16];
    key.copy_from_slice(&digest[..16]);
    Some(key)
}

/// Whole seconds, rounded up; waits are never shown as 0.
fn seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

fn insert_standing(
    headers: &mut actix_web::http::header::HeaderMap,
    limit: u32,
    remaining: u32,
    reset: u64,
) {
    headers.insert(RATE_LIMIT_LIMIT, HeaderValue::from(limit));
    headers.insert(RATE_LIMIT_REMAINING, HeaderValue::from(remaining));
    headers.insert(RATE_LIMIT_RESET, HeaderValue::from(reset));
}

/// The 429 answer: problem+json for the API, a plain page for the web UI.
fn refusal_response(req: &HttpRequest, refusal: &Refusal) -> HttpResponse {
    let retry_after = seconds(refusal.retry_after).max(1);
    let mut response = if req.path().starts_with("/api/") {
        ApiError::RateLimited(retry_after).error_response()
    } else {
        HttpResponse::build(StatusCode::TOO_MANY_REQUESTS)
            .insert_header((header::RETRY_AFTER, retry_after.to_string()))
            .content_type("text/html; charset=utf-8")
            .body(format!(
                "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <title>Too many requests - dsms</title></head><body><main>\
                 <h1>Too many requests</h1><p>Please wait {retry_after} seconds, then try \
                 again.</p></main></body></html>\n"
            ))
    };
    insert_standing(response.headers_mut(), refusal.limit, 0, retry_after);
    response
}

/// Counts each request against its class's allowances (when `web::Data<RateLimits>` is
/// registered) and answers 429 once either is spent.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(limits) = req.app_data::<web::Data<RateLimits>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let class = RouteClass::of(req.method(), req.path(), req.query_string(), content_type);
    let Some(class) = class.filter(|_| limits.settings.enabled) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let address = client_address(req.request(), limits.settings.trust_forwarded_for);
    match limits.check(class, address, credential(req.request())) {
        Ok(standing) => {
            let mut res = next.call(req).await?;
            if let Some(s) = standing {
                insert_standing(res.headers_mut(), s.limit, s.remaining, seconds(s.reset));
            }
            Ok(res.map_into_left_body())
        }
        Err(refusal) => {
            if let Some(metrics) = req.app_data::<web::Data<Metrics>>() {
                metrics.observe_rate_limited(class.as_str(), refusal.by);
            }
            tracing::debug!(
                class = class.as_str(),
                by = refusal.by,
                retry_after_ms = refusal.retry_after.as_millis() as u64,
                "rate limited"
            );
            let response = refusal_response(req.request(), &refusal);
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(method: Method, path: &str, query: &str, media: Option<&str>) -> Option<RouteClass> {
        RouteClass::of(&method, path, query, media)
    }

    #[test]
    fn behind_a_trusted_proxy_the_caller_is_the_address_the_proxy_appended() {
        let peer: std::net::SocketAddr = "10.0.0.2:40000".parse().unwrap();
        let req = actix_web::test::TestRequest::default()
            .peer_addr(peer)
            .insert_header(("x-forwarded-for", "203.0.113.9, 198.51.100.7"))
            .to_http_request();
        assert_eq!(
            caller_address(&req, true),
            Some("198.51.100.7".parse().unwrap()),
            "the client's own entry does not choose its address"
        );
        assert_eq!(caller_address(&req, false), Some(peer.ip()));
    }

    #[test]
    fn requests_fall_in_the_class_of_their_cost() {
        use RouteClass::*;
        assert_eq!(class(Method::GET, "/healthz", "", None), None);
        assert_eq!(class(Method::GET, "/metrics", "", None), None);
        assert_eq!(class(Method::GET, "/static/dsms.css", "", None), None);
        assert_eq!(
            class(Method::GET, "/api/v1/incidents", "", None),
            Some(Read)
        );
        assert_eq!(class(Method::GET, "/sign-in", "", None), Some(Read));
        assert_eq!(
            class(Method::GET, "/api/v1/incidents", "q=", None),
            Some(Read)
        );
        assert_eq!(
            class(Method::GET, "/api/v1/incidents", "status=open&q=hub", None),
            Some(Search)
        );
        assert_eq!(
            class(Method::GET, "/api/v1/reports/backlog", "", None),
            Some(Search)
        );
        assert_eq!(
            class(Method::GET, "/admin/audit.csv", "", None),
            Some(Search)
        );
        assert_eq!(
            class(Method::GET, "/desk/dashboard", "", None),
            Some(Search)
        );
        let json = Some("application/json");
        assert_eq!(
            class(Method::POST, "/api/v1/incidents", "", json),
            Some(Write)
        );
        assert_eq!(
            class(Method::PATCH, "/api/v1/incidents/1", "", json),
            Some(Write)
        );
        assert_eq!(
            class(Method::DELETE, "/api/v1/tokens/1", "", None),
            Some(Write)
        );
        assert_eq!(
            class(Method::POST, "/api/v1/auth/login", "", json),
            Some(Auth)
        );
        assert_eq!(class(Method::POST, "/sign-in/totp", "", None), Some(Auth));
        assert_eq!(
            class(Method::POST, "/api/v1/me/password", "", json),
            Some(Auth)
        );
        assert_eq!(
            class(Method::POST, "/api/v1/incidents/1/attachments", "", None),
            Some(Upload)
        );
        assert_eq!(
            class(Method::POST, "/api/v1/hub-returns", "", json),
            Some(Upload)
        );
        assert_eq!(
            class(
                Method::POST,
                "/anything",
                "",
                Some("text/csv; charset=utf-8")
            ),
            Some(Upload)
        );
        assert_eq!(
            class(
                Method::POST,
                "/x",
                "",
                Some("Multipart/Form-Data; boundary=a")
            ),
            Some(Upload)
        );
    }

    #[test]
    fn an_allowance_is_spread_over_the_window() {
        let q = quota(Duration::from_secs(60), 300).expect("quota");
        assert_eq!(q.burst_size().get(), 300);
        assert_eq!(q.replenish_interval(), Duration::from_millis(200));
        assert!(quota(Duration::from_secs(60), 0).is_none());
    }

    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert_eq!(seconds(Duration::from_millis(1)), 1);
        assert_eq!(seconds(Duration::from_secs(2)), 2);
        assert_eq!(seconds(Duration::from_millis(2001)), 3);
    }
}
