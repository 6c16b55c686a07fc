//! The time the second-factor checks use. Production reads the system clock;
//! tests shift it to check the ±1-step window and replay rules.

use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Default)]
pub struct Clock {
    offset_secs: AtomicI64,
}

impl Clock {
    /// Seconds since the epoch, with the test offset applied.
    pub fn now_unix(&self) -> u64 {
        let now = chrono::Utc::now().timestamp() + self.offset_secs.load(Ordering::Relaxed);
        u64::try_from(now).unwrap_or(0)
    }

    /// Moves this clock by `secs` relative to the system clock (tests only).
    pub fn set_offset(&self, secs: i64) {
        self.offset_secs.store(secs, Ordering::Relaxed);
    }
}
