//! Rate-limit hits (`http::rate_limit`, `http::shared_limit`), counted in
//! memory and written to the audit log once a minute as one event per
//! limit, so a flood does not flood the log.

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::Pool;
use crate::error::AppError;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Hits per limit since the last flush.
#[derive(Default)]
pub struct RateLimitStats {
    hits: Mutex<BTreeMap<&'static str, u64>>,
    total: AtomicU64,
}

impl RateLimitStats {
    /// Counts one request refused by `limit`.
    pub(crate) fn hit(&self, limit: &'static str) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        *hits.entry(limit).or_default() += 1;
    }

    /// All hits since start (for the dashboard).
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    fn drain(&self) -> BTreeMap<&'static str, u64> {
        std::mem::take(&mut *self.hits.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Writes one `rate_limit.exceeded` audit event per limit that was hit
    /// since the last call. Called once a minute (and by tests).
    pub async fn flush(&self, pool: &Pool) -> Result<(), AppError> {
        for (limit, count) in self.drain() {
            audit::record(
                pool,
                None,
                AuditEvent::new("rate_limit.exceeded", Outcome::Denied).detail(
                    serde_json::json!({ "limit": limit, "hits": count, "window_secs": 60 }),
                ),
            )
            .await?;
        }
        Ok(())
    }
}
