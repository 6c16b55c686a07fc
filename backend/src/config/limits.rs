//! What bounds the load one client or one request can put on the server:
//! the rate limits (`RATE_LIMIT_*`, shared through Redis with `REDIS_URL`),
//! the request-head timeout and how long a verified request is trusted
//! without a database read (`IDENTITY_CACHE_SECS`).

use super::reader::Reader;
use crate::secret_provider::VaultSecrets;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// `count` requests per `per_secs` seconds, as `10/minute`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub count: u32,
    pub per_secs: u64,
}

impl RateLimit {
    pub fn parse(text: &str) -> Option<Self> {
        let (count, unit) = text.trim().split_once('/')?;
        let count: u32 = count.trim().parse().ok().filter(|c| *c > 0)?;
        let per_secs = match unit.trim() {
            "second" | "s" => 1,
            "minute" | "min" | "m" => 60,
            "hour" | "h" => 3600,
            _ => return None,
        };
        Some(Self { count, per_secs })
    }
}

pub(super) struct Limits {
    pub rate_limit_auth: RateLimit,
    pub rate_limit_api: RateLimit,
    pub rate_limit_user: RateLimit,
    pub rate_limit_ip: RateLimit,
    pub rate_limit_ipv6_prefix: u8,
    pub request_head_timeout: Duration,
    pub redis_url: Option<SecretString>,
    pub redis_key_prefix: String,
    pub identity_cache: Duration,
}

pub(super) fn read(r: &Reader<'_>, vault: Option<&VaultSecrets>) -> Limits {
    let rate_limit_ipv6_prefix: u8 = r.parsed("RATE_LIMIT_IPV6_PREFIX", 64);
    if !(1..=128).contains(&rate_limit_ipv6_prefix) {
        r.fail(
            "RATE_LIMIT_IPV6_PREFIX",
            "must be a prefix length between 1 and 128".into(),
        );
    }
    let request_head_timeout = Duration::from_secs(r.parsed("REQUEST_HEAD_TIMEOUT_SECS", 10u64));
    if request_head_timeout.is_zero() || request_head_timeout > Duration::from_secs(300) {
        r.fail(
            "REQUEST_HEAD_TIMEOUT_SECS",
            "must be between 1 and 300 seconds".into(),
        );
    }
    Limits {
        rate_limit_auth: rate(r, "RATE_LIMIT_AUTH", "10/minute"),
        rate_limit_api: rate(r, "RATE_LIMIT_API", "300/minute"),
        rate_limit_user: rate(r, "RATE_LIMIT_USER", "600/minute"),
        rate_limit_ip: rate(r, "RATE_LIMIT_IP", "600/minute"),
        rate_limit_ipv6_prefix,
        request_head_timeout,
        redis_url: redis_url(r, vault),
        redis_key_prefix: r
            .plain("REDIS_KEY_PREFIX")
            .unwrap_or_else(|| "ratelimit".into()),
        identity_cache: identity_cache(r),
    }
}

fn rate(r: &Reader<'_>, name: &str, default: &str) -> RateLimit {
    let raw = r.plain(name).unwrap_or_else(|| default.to_owned());
    RateLimit::parse(&raw).unwrap_or_else(|| {
        r.fail(
            name,
            format!("`{raw}` is not like `10/minute` (second, minute or hour)"),
        );
        RateLimit::parse(default).unwrap_or(RateLimit {
            count: 1,
            per_secs: 1,
        })
    })
}

/// `REDIS_URL`, a secret (it may hold a password).
fn redis_url(r: &Reader<'_>, vault: Option<&VaultSecrets>) -> Option<SecretString> {
    let url = r.secret("REDIS_URL", vault);
    if url.as_ref().is_some_and(|u| {
        let u = u.expose_secret();
        !(u.starts_with("redis://") || u.starts_with("rediss://"))
    }) {
        r.fail("REDIS_URL", "must start with redis:// or rediss://".into());
    }
    url
}

fn identity_cache(r: &Reader<'_>) -> Duration {
    let secs = r.parsed("IDENTITY_CACHE_SECS", 30u64);
    if secs > 60 {
        r.fail(
            "IDENTITY_CACHE_SECS",
            "must be at most 60 (sessions record their use once a minute)".into(),
        );
    }
    Duration::from_secs(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn rate_limits_and_proxies_parse() {
        let settings = Settings::from_pairs;
        assert_eq!(
            RateLimit::parse("10/minute"),
            Some(RateLimit {
                count: 10,
                per_secs: 60
            })
        );
        assert_eq!(
            RateLimit::parse("100/hour"),
            Some(RateLimit {
                count: 100,
                per_secs: 3600
            })
        );
        for bad in ["", "10", "0/minute", "ten/minute", "10/fortnight"] {
            assert!(RateLimit::parse(bad).is_none(), "{bad}");
        }
        let s = settings(&[("TRUSTED_PROXIES", "10.0.0.0/8, ::1")]).unwrap();
        assert_eq!(s.trusted_proxies.len(), 2);
        let err =
            settings(&[("TRUSTED_PROXIES", "everyone"), ("RATE_LIMIT_AUTH", "lots")]).unwrap_err();
        let named: Vec<_> = err.0.iter().map(|e| e.variable.as_str()).collect();
        assert!(named.contains(&"TRUSTED_PROXIES") && named.contains(&"RATE_LIMIT_AUTH"));
        assert_eq!(settings(&[]).unwrap().rate_limit_ipv6_prefix, 64);
        let s = settings(&[("RATE_LIMIT_IPV6_PREFIX", "56")]).unwrap();
        assert_eq!(s.rate_limit_ipv6_prefix, 56);
        for bad in ["0", "129", "/64", "many"] {
            let err = settings(&[("RATE_LIMIT_IPV6_PREFIX", bad)]).unwrap_err();
            assert_eq!(err.0[0].variable, "RATE_LIMIT_IPV6_PREFIX", "{bad}");
        }
    }

    #[test]
    fn the_redis_url_is_a_redacted_secret() {
        let settings = Settings::from_pairs;
        assert!(settings(&[]).unwrap().redis_url.is_none());
        let s = settings(&[("REDIS_URL", "redis://:hunter2@cache:6379/0")]).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
        let err = settings(&[("REDIS_URL", "http://cache")]).unwrap_err();
        assert!(err.0.iter().any(|e| e.variable == "REDIS_URL"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("redis_url");
        std::fs::write(&path, "rediss://:pw@cache:6380\n").unwrap();
        let s = settings(&[("REDIS_URL_FILE", path.to_str().unwrap())]).unwrap();
        assert_eq!(
            s.redis_url.unwrap().expose_secret(),
            "rediss://:pw@cache:6380"
        );
    }
}
