//! Brute-force protection per account (ASVS 2.2.1), independent of the
//! client's address so distributed guessing is caught too. Like Keycloak's
//! detection: after a few consecutive failures each further failure is
//! answered after a growing delay; after more, the account is locked for a
//! short while. The answer always looks like a wrong password.
//!
//! The trade-off: a lock is also a way for anyone who knows a username to
//! keep its owner out (denial of service). Locks are therefore short by
//! default (5 minutes), an administrator can lift one, and the per-IP rate
//! limits are the first line against a single noisy client.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct BruteForcePolicy {
    /// Failures before responses start being delayed.
    pub delay_after: u32,
    /// The first delay; it doubles with each further failure.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Failures that lock the account.
    pub lock_after: u32,
    pub lock_for: Duration,
}

impl Default for BruteForcePolicy {
    fn default() -> Self {
        Self {
            delay_after: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(4),
            lock_after: 10,
            lock_for: Duration::from_secs(300),
        }
    }
}

impl BruteForcePolicy {
    /// How long to hold back the answer to the `failures`-th consecutive failure.
    pub fn delay_for(&self, failures: u32) -> Duration {
        if failures <= self.delay_after {
            return Duration::ZERO;
        }
        let doublings = (failures - self.delay_after - 1).min(16);
        self.base_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay)
    }

    /// Whether this many consecutive failures lock the account.
    pub fn locks(&self, failures: u32) -> bool {
        failures >= self.lock_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_cap() {
        let p = BruteForcePolicy::default();
        assert_eq!(p.delay_for(1), Duration::ZERO);
        assert_eq!(p.delay_for(3), Duration::ZERO);
        assert_eq!(p.delay_for(4), Duration::from_millis(250));
        assert_eq!(p.delay_for(5), Duration::from_millis(500));
        assert_eq!(p.delay_for(6), Duration::from_millis(1000));
        assert_eq!(p.delay_for(9), Duration::from_secs(4));
        assert_eq!(p.delay_for(u32::MAX), Duration::from_secs(4));
    }

    #[test]
    fn asvs_2_2_1_the_lock_comes_well_before_nists_hundred() {
        let p = BruteForcePolicy::default();
        assert!(!p.locks(9));
        assert!(p.locks(10));
        assert!(p.lock_after <= 100);
    }
}
