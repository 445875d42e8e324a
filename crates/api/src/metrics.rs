use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClockLabels {
    clock: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    class: String,
    by: String,
}

/// The server's Prometheus metrics. One registry per server instance, so tests running several
/// servers in one process never mix their figures.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    pool: Family<StateLabels, Gauge>,
    outbox: Family<StateLabels, Gauge>,
    pool_max: Gauge,
    outbox_oldest: Family<KindLabels, Gauge>,
    sla_breached_open: Family<ClockLabels, Gauge>,
    sla_breaches_recent: Family<ClockLabels, Gauge>,
    locked_accounts: Gauge,
    sign_in_failures: Gauge,
    rate_limited: Family<LimitLabels, Counter>,
    /// Requests answered and server errors since the availability recorder last took them.
    outcomes: (AtomicI64, AtomicI64),
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with dsms's metrics registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("dsms");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests handled, by method, route pattern and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to handle HTTP requests, by method and route pattern",
            latency.clone(),
        );
        let pool = Family::<StateLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database pool connections by state (idle, in_use)",
            pool.clone(),
        );
        let outbox = Family::<StateLabels, Gauge>::default();
        registry.register(
            "outbox_rows",
            "Outbox rows by status (pending, delivered, dead)",
            outbox.clone(),
        );
        let pool_max = Gauge::default();
        registry.register(
            "db_pool_max_connections",
            "The most connections the database pool opens (saturation = in_use / this)",
            pool_max.clone(),
        );
        let outbox_oldest = Family::<KindLabels, Gauge>::default();
        registry.register(
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest undelivered outbox row, by kind (0 when none is pending)",
            outbox_oldest.clone(),
        );
        let sla_breached_open = Family::<ClockLabels, Gauge>::default();
        registry.register(
            "sla_breached_open_incidents",
            "Open incidents whose SLA clock has breached, by clock (response, resolution)",
            sla_breached_open.clone(),
        );
        let sla_breaches_recent = Family::<ClockLabels, Gauge>::default();
        registry.register(
            "sla_breaches_last_hour",
            "SLA breaches recorded in the last hour, by clock",
            sla_breaches_recent.clone(),
        );
        let locked_accounts = Gauge::default();
        registry.register(
            "sign_in_locked_accounts",
            "Accounts locked now by repeated failed sign-ins",
            locked_accounts.clone(),
        );
        let sign_in_failures = Gauge::default();
        registry.register(
            "sign_in_failures",
            "Failed sign-ins counted in the current throttle windows (accounts and addresses)",
            sign_in_failures.clone(),
        );
        let rate_limited = Family::<LimitLabels, Counter>::default();
        registry.register(
            "rate_limited_requests",
            "Requests refused with 429 by the route rate limits, by route class and by which \
             allowance was spent (token or address)",
            rate_limited.clone(),
        );
        let build = Family::<Vec<(String, String)>, Gauge>::default();
        build
            .get_or_create(&vec![(
                "version".to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
            )])
            .set(1);
        registry.register("build_info", "The running dsms version", build);
        let metrics = Self {
            registry,
            requests,
            latency,
            pool,
            outbox,
            pool_max,
            outbox_oldest,
            sla_breached_open,
            sla_breaches_recent,
            locked_accounts,
            sign_in_failures,
            rate_limited,
            outcomes: (AtomicI64::new(0), AtomicI64::new(0)),
        };
        // Every known series exists from the first scrape, before the first sample of the
        // database lands: an alert on a missing series would otherwise see nothing to compare.
        metrics.set_outbox_oldest_age(&[]);
        metrics.set_sla_breaches(&[], &[]);
        metrics
    }

    /// Records one request refused by the rate limits of `class`, spent `by` token or address.
    pub fn observe_rate_limited(&self, class: &str, by: &str) {
        self.rate_limited
            .get_or_create(&LimitLabels {
                class: class.to_owned(),
                by: by.to_owned(),
            })
            .inc();
    }

    /// Records the most connections the pool opens.
    pub fn set_pool_max(&self, max: u32) {
        self.pool_max.set(i64::from(max));
    }

    /// Records the age in seconds of the oldest pending outbox row of each kind; kinds seen
    /// before and absent now read 0.
    pub fn set_outbox_oldest_age(&self, ages: &[(String, i64)]) {
        set_family(
            &self.outbox_oldest,
            ages,
            &["email", "event", "webhook"],
            |kind| KindLabels { kind },
        );
    }

    /// Records open incidents with a breached clock, and breaches in the last hour, by clock.
    pub fn set_sla_breaches(&self, open: &[(String, i64)], last_hour: &[(String, i64)]) {
        for (family, values) in [
            (&self.sla_breached_open, open),
            (&self.sla_breaches_recent, last_hour),
        ] {
            set_family(family, values, &["response", "resolution"], |clock| {
                ClockLabels { clock }
            });
        }
    }

    /// Records locked accounts and failed sign-ins in the current throttle windows.
    pub fn set_sign_in(&self, locked_accounts: i64, failures: i64) {
        self.locked_accounts.set(locked_accounts);
        self.sign_in_failures.set(failures);
    }

    /// Records one handled request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
        self.outcomes.0.fetch_add(1, Ordering::Relaxed);
        if status >= 500 {
            self.outcomes.1.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The requests answered, and of them server errors (5xx), since the last call: what the
    /// availability recorder adds to the minute's sample.
    pub fn take_outcomes(&self) -> (i64, i64) {
        (
            self.outcomes.0.swap(0, Ordering::Relaxed),
            self.outcomes.1.swap(0, Ordering::Relaxed),
        )
    }

    /// Records the pool's current connections.
    pub fn set_pool(&self, open: u32, idle: u32) {
        let set = |state: &str, value: u32| {
            self.pool
                .get_or_create(&StateLabels {
                    state: state.to_owned(),
                })
                .set(i64::from(value));
        };
        set("idle", idle);
        set("in_use", open.saturating_sub(idle));
    }

    /// Records the outbox's row counts by status.
    pub fn set_outbox(&self, counts: &[(String, i64)]) {
        for status in ["pending", "delivered", "dead"] {
            let value = counts
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
            self.outbox
                .get_or_create(&StateLabels {
                    state: status.to_owned(),
                })
                .set(value);
        }
    }

    /// The metrics in Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Sets each labelled gauge of `values`, and zeroes gauges of labels no longer present, so a
/// queue that drained reads 0 rather than its last depth.
fn set_family<L>(
    family: &Family<L, Gauge>,
    values: &[(String, i64)],
    known: &[&str],
    label: impl Fn(String) -> L,
) where
    L: Clone + std::hash::Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
{
    let mut present = std::collections::HashSet::new();
    for (name, value) in values {
        let key = label(name.clone());
        family.get_or_create(&key).set(*value);
        present.insert(key);
    }
    for name in known {
        let key = label((*name).to_owned());
        if !present.contains(&key) {
            family.get_or_create(&key).set(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Metrics;

    #[test]
    fn the_operational_gauges_are_exported_before_the_first_sample() {
        let text = Metrics::new().render();
        for series in [
            "dsms_outbox_oldest_pending_age_seconds{kind=\"email\"} 0",
            "dsms_outbox_oldest_pending_age_seconds{kind=\"webhook\"} 0",
            "dsms_sla_breached_open_incidents{clock=\"resolution\"} 0",
            "dsms_sla_breaches_last_hour{clock=\"response\"} 0",
        ] {
            assert!(text.contains(series), "{series} missing from:\n{text}");
        }
    }
}
