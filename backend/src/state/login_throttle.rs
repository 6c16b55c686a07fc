//! Growing delays after failed sign-ins (`security::brute_force` sets how
//! long), per login name, in memory; `services::accounts` and
//! `services::mfa` wait here after a wrong answer.

use crate::security::brute_force::BruteForcePolicy;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Growing delays after consecutive failures, keyed by what was typed (the
/// login name, or the user id at the second-factor step) rather than by
/// account: an unknown name is slowed down exactly like a real account, so
/// the delay does not tell which accounts exist. In memory, per instance;
/// entries expire after the lock period.
#[derive(Default)]
pub struct LoginThrottle {
    entries: Mutex<HashMap<String, (u32, Instant)>>,
}

/// More entries than this and expired ones are swept out on the next failure.
const THROTTLE_SWEEP_AT: usize = 10_000;

impl LoginThrottle {
    /// Records a failure for `key` and waits the policy's delay for it.
    pub async fn fail(&self, key: &str, policy: &BruteForcePolicy) {
        let delay = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            if entries.len() > THROTTLE_SWEEP_AT {
                entries.retain(|_, (_, at)| now.duration_since(*at) < policy.lock_for);
            }
            let entry = entries.entry(key.to_lowercase()).or_insert((0, now));
            if now.duration_since(entry.1) >= policy.lock_for {
                *entry = (0, now);
            }
            entry.0 = entry.0.saturating_add(1);
            entry.1 = now;
            policy.delay_for(entry.0)
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    pub fn clear(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key.to_lowercase());
    }
}
