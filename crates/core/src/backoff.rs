use std::time::Duration;

use rand::Rng;

/// Exponential back-off with full jitter, for retrying deliveries to systems that may be down.
///
/// Full jitter (a uniform draw between zero and the exponential ceiling) spreads retries from many
/// rows and many server instances so a recovering SMTP server or webhook receiver is not hit by a
/// synchronised burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first retry's delay.
    pub base: Duration,
    /// No delay is ever longer than this.
    pub max: Duration,
}

impl Backoff {
    /// The upper bound of the delay before retry number `attempt` (1 for the first retry).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(32);
        self.base
            .checked_mul(1u32 << exponent.min(31))
            .map_or(self.max, |d| d.min(self.max))
    }

    /// A random delay in `[ceiling/2, ceiling]` before retry number `attempt`.
    ///
    /// Half the ceiling is kept as a floor so a retry is never immediate, which would turn an
    /// outage into a busy loop.
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(attempt).as_millis() as u64;
        let floor = ceiling / 2;
        Duration::from_millis(rng.random_range(floor..=ceiling.max(floor)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff() -> Backoff {
        Backoff {
            base: Duration::from_secs(2),
            max: Duration::from_secs(60),
        }
    }

    #[test]
    fn ceiling_doubles_then_caps() {
        let b = backoff();
        assert_eq!(b.ceiling(1), Duration::from_secs(2));
        assert_eq!(b.ceiling(2), Duration::from_secs(4));
        assert_eq!(b.ceiling(5), Duration::from_secs(32));
        assert_eq!(b.ceiling(6), Duration::from_secs(60));
        assert_eq!(b.ceiling(1000), Duration::from_secs(60));
    }

    #[test]
    fn delay_is_jittered_within_half_and_full_ceiling() {
        let b = backoff();
        let mut rng = rand::rng();
        let delays: Vec<_> = (0..200).map(|_| b.delay(3, &mut rng)).collect();
        assert!(
            delays
                .iter()
                .all(|d| *d >= Duration::from_secs(4) && *d <= Duration::from_secs(8))
        );
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(
            distinct.len() > 10,
            "delays must be spread, got {distinct:?}"
        );
    }
}
