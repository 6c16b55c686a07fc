//! The shared authentication rate limit (`REDIS_URL`): a sliding-window log
//! per client IP in Redis, so N instances behind one load balancer allow
//! `RATE_LIMIT_AUTH` in total, not N times it. The middleware that asks it
//! is `http::shared_limit`.
//!
//! One round trip per request: a Lua script (EVALSHA, EVAL on a cache miss)
//! drops the entries older than the window, counts the rest, adds this
//! request if under the limit, renews the key's expiry and returns the
//! oldest entry for `Retry-After`. Redis runs a script atomically, and the
//! time comes from Redis (`TIME`), so instances with skewed clocks agree.
//!
//! If Redis is unreachable or slow, the request is let through (fail open),
//! with an error log and
//! `rate_limit_backend_errors_total{backend="redis"}` in `/metrics`. Why: the per-instance
//! governor limit still applies, so an outage weakens the limit to what it
//! is without Redis instead of locking every user out of signing in; a
//! fail-closed limiter would turn a cache outage into a full login outage.
//! After a failure Redis is left alone for a few seconds, so an outage does
//! not add a timeout to every request.

use crate::config::RateLimit;
use redis::aio::ConnectionManager;
use secrecy::{ExposeSecret, SecretString};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one Redis call (connecting included) may take before the request
/// goes ahead without it.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// How long Redis is left alone after a failure.
const BACKOFF: Duration = Duration::from_secs(5);

/// KEYS[1]: the client's log. ARGV: window (ms), limit, a unique member.
/// Returns {allowed (0/1), entries in the window, oldest entry (ms), now (ms)}.
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, now .. '-' .. ARGV[3])
  count = count + 1
  allowed = 1
end
redis.call('PEXPIRE', KEYS[1], window)
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local first = now
if oldest[2] then first = tonumber(oldest[2]) end
return {allowed, count, first, now}
";

/// The Redis key of one client's log (`ip` is the client's bucket: an IPv6
/// client's network address, `client_ip::bucket`).
pub fn key(prefix: &str, ip: IpAddr) -> String {
    format!("{prefix}:auth:{ip}")
}

/// The window of a limit, in milliseconds.
pub fn window_ms(rate: RateLimit) -> u64 {
    rate.per_secs.saturating_mul(1000).max(1)
}

/// Whole seconds until the oldest entry leaves the window (at least 1).
pub fn retry_after_secs(oldest_ms: u64, now_ms: u64, window_ms: u64) -> u64 {
    let free_at = oldest_ms.saturating_add(window_ms);
    free_at.saturating_sub(now_ms).div_ceil(1000).max(1)
}

/// What Redis answered for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow { remaining: u64 },
    Refuse { retry_after_secs: u64 },
}

/// The connection (made on first use, then reused: the manager multiplexes
/// and reconnects by itself) and the script.
pub struct SharedLimiter {
    client: redis::Client,
    conn: tokio::sync::OnceCell<ConnectionManager>,
    script: redis::Script,
    prefix: String,
    rate: RateLimit,
    down_until: Mutex<Option<Instant>>,
}

impl SharedLimiter {
    /// The limit it applies (for the `X-RateLimit-Limit` header).
    pub fn rate(&self) -> RateLimit {
        self.rate
    }

    pub fn new(url: &SecretString, prefix: &str, rate: RateLimit) -> anyhow::Result<Self> {
        let client = redis::Client::open(url.expose_secret())
            .map_err(|_| anyhow::anyhow!("REDIS_URL is not a valid Redis URL"))?;
        Ok(Self {
            client,
            conn: tokio::sync::OnceCell::new(),
            script: redis::Script::new(SCRIPT),
            prefix: prefix.to_owned(),
            rate,
            down_until: Mutex::new(None),
        })
    }

    /// Checks and records one request of `ip`; `Err` when Redis could not
    /// answer in time (the caller fails open).
    pub async fn check(&self, ip: IpAddr) -> Result<Verdict, String> {
        {
            let down = self.down_until.lock().unwrap_or_else(|e| e.into_inner());
            if down.is_some_and(|until| Instant::now() < until) {
                return Err("Redis failed recently; not retried yet".into());
            }
        }
        let result = tokio::time::timeout(REDIS_TIMEOUT, self.run(ip))
            .await
            .unwrap_or_else(|_| Err("timed out".into()));
        if result.is_err() {
            *self.down_until.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(Instant::now() + BACKOFF);
        }
        result
    }

    async fn run(&self, ip: IpAddr) -> Result<Verdict, String> {
        let conn = self
            .conn
            .get_or_try_init(|| ConnectionManager::new(self.client.clone()))
            .await
            .map_err(|e| e.to_string())?;
        let mut conn = conn.clone();
        let window = window_ms(self.rate);
        let (allowed, count, oldest, now): (u8, u64, u64, u64) = self
            .script
            .key(key(&self.prefix, ip))
            .arg(window)
            .arg(self.rate.count)
            .arg(uuid::Uuid::new_v4().simple().to_string())
            .invoke_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(if allowed == 1 {
            Verdict::Allow {
                remaining: u64::from(self.rate.count).saturating_sub(count),
            }
        } else {
            Verdict::Refuse {
                retry_after_secs: retry_after_secs(oldest, now, window),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::client_ip;

    #[test]
    fn keys_windows_and_waits() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(key("p", ip), "p:auth:203.0.113.7");
        let v6 = client_ip::bucket("2001:db8:1:2:3:4:5:6".parse().unwrap(), 64);
        assert_eq!(key("p", v6), "p:auth:2001:db8:1:2::");
        let rate = RateLimit {
            count: 3,
            per_secs: 60,
        };
        assert_eq!(window_ms(rate), 60_000);
        assert_eq!(retry_after_secs(1_000, 1_000, 60_000), 60);
        assert_eq!(retry_after_secs(1_000, 60_500, 60_000), 1);
        assert_eq!(retry_after_secs(1_000, 59_999, 60_000), 2);
        assert_eq!(retry_after_secs(0, 90_000, 60_000), 1, "never 0");
    }
}
