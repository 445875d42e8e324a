//! The HTTP client deliveries go through: blocking (deliveries run on blocking threads), rustls
//! on the ring provider with the Mozilla roots, one overall timeout, no redirects (a receiver
//! could redirect into the internal network), no proxy, and a resolver that refuses internal
//! addresses, so a host name pointing at one is no way around the registration rules.

use std::io;
use std::time::{Duration, Instant};

use ureq::Agent;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::address::may_connect;
use crate::settings::WebhookSettings;

/// What one POST came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attempt {
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// Why the attempt failed; `None` when the receiver answered 2xx.
    pub error: Option<String>,
    /// How long it took.
    pub duration: Duration,
}

impl Attempt {
    pub(crate) fn delivered(&self) -> bool {
        self.error.is_none()
    }
}

/// Sends deliveries.
#[derive(Debug)]
pub(crate) struct DeliveryClient {
    agent: Agent,
}

impl DeliveryClient {
    pub(crate) fn new(settings: &WebhookSettings) -> Self {
        let config = Config::builder()
            .http_status_as_error(false)
            .https_only(!settings.allow_insecure_localhost)
            .max_redirects(0)
            .proxy(None)
            .timeout_global(Some(settings.timeout))
            .user_agent(concat!("dsms-webhooks/", env!("CARGO_PKG_VERSION")))
            .build();
        let resolver = GuardedResolver {
            inner: DefaultResolver::default(),
            allow_loopback: settings.allow_insecure_localhost,
        };
        Self {
            agent: Agent::with_parts(config, DefaultConnector::default(), resolver),
        }
    }

    /// POSTs `body` with `headers` to `url` and reports the outcome; never panics, never
    /// retries (the outbox does).
    pub(crate) fn post(&self, url: &str, headers: &[(&str, String)], body: &[u8]) -> Attempt {
        let started = Instant::now();
        let mut request = self.agent.post(url);
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let result = request.send(body);
        let duration = started.elapsed();
        match result {
            Ok(response) => {
                let status = response.status().as_u16();
                // The response body is not read: nothing in it matters, and a receiver
                // streaming a huge one must not hold the worker.
                drop(response);
                Attempt {
                    status: Some(status),
                    error: (!(200..300).contains(&status))
                        .then(|| format!("the receiver answered HTTP {status}")),
                    duration,
                }
            }
            Err(error) => Attempt {
                status: None,
                error: Some(describe(&error)),
                duration,
            },
        }
    }
}

fn describe(error: &ureq::Error) -> String {
    let text = match error {
        ureq::Error::Timeout(_) => "the receiver did not answer in time".to_owned(),
        ureq::Error::HostNotFound => "the receiver's host name does not resolve".to_owned(),
        ureq::Error::ConnectionFailed => "the receiver could not be reached".to_owned(),
        other => other.to_string(),
    };
    text.chars().take(500).collect()
}

/// Resolves as usual, then keeps only the addresses deliveries may connect to.
#[derive(Debug)]
struct GuardedResolver {
    inner: DefaultResolver,
    allow_loopback: bool,
}

impl Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let resolved = self.inner.resolve(uri, config, timeout)?;
        let mut allowed = self.empty();
        for address in resolved.iter() {
            if may_connect(address.ip(), self.allow_loopback) {
                allowed.push(*address);
            }
        }
        if allowed.is_empty() {
            return Err(ureq::Error::Io(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the receiver's host resolves only to private, loopback or reserved addresses",
            )));
        }
        Ok(allowed)
    }
}
