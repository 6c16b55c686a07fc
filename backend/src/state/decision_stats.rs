//! Allowed reads and anonymous refusals, counted in memory per route and
//! reason by the policy enforcement point and the CSRF check, and written
//! once a minute by `services::access::flush` (why only counted: see
//! `services::access`).

use std::collections::BTreeMap;
use std::sync::Mutex;

/// What an anonymous refusal is counted under: the audit action its full
/// record would have, the reason, and the route when there is one.
type AnonymousKey = (&'static str, &'static str, Option<&'static str>);

/// Allowed reads and anonymous refusals, counted in memory and written once
/// a minute.
#[derive(Default)]
pub struct DecisionStats {
    allowed: Mutex<BTreeMap<&'static str, i64>>,
    anonymous_denials: Mutex<BTreeMap<AnonymousKey, u64>>,
}

impl DecisionStats {
    /// Counts a refusal of a request that presented no credential (see
    /// `services::access`); `action` is the audit action of its full
    /// record (`access.denied`, `csrf.rejected`, `access.forged_header`).
    pub fn denied_anonymously(
        &self,
        action: &'static str,
        reason: &'static str,
        route: Option<&'static str>,
    ) {
        let mut counts = self
            .anonymous_denials
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *counts.entry((action, reason, route)).or_insert(0) += 1;
    }

    pub(crate) fn drain_anonymous(&self) -> BTreeMap<AnonymousKey, u64> {
        std::mem::take(
            &mut *self
                .anonymous_denials
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }

    pub fn allowed(&self, route: &'static str) {
        let mut counts = self.allowed.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry(route).or_insert(0) += 1;
    }

    pub(crate) fn drain(&self) -> Vec<(String, i64)> {
        let mut counts = self.allowed.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *counts)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }
}
