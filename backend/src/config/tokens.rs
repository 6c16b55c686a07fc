//! Sessions and tokens: how long they live (`SESSION_*_TIMEOUT_SECS`,
//! `ACCESS_TOKEN_TTL_SECS`, `REFRESH_GRACE_SECS`), what they say
//! (`JWT_ISSUER`, `JWT_AUDIENCE`) and the keys that sign them
//! (`SIGNING_KEYS_DIR`, `SIGNING_KEY_PUBLICATION_SECS`).

use super::app::App;
use super::reader::Reader;
use super::AppEnv;
use crate::security::signing_keys::{FOLDER_RELOAD_SECS, JWKS_MAX_AGE_SECS, MIN_PUBLICATION_SECS};
use std::path::PathBuf;
use std::time::Duration;

pub(super) struct Tokens {
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub access_token_ttl: Duration,
    pub refresh_grace: Duration,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub signing_key_publication_secs: i64,
    pub signing_keys_dir: PathBuf,
}

pub(super) fn read(r: &Reader<'_>, app: &App) -> Tokens {
    let secs = |name: &str, default: u64| Duration::from_secs(r.parsed(name, default));
    let session_idle = secs("SESSION_IDLE_TIMEOUT_SECS", 3600);
    let session_absolute = secs("SESSION_ABSOLUTE_TIMEOUT_SECS", 7 * 24 * 3600);
    if session_idle.is_zero() {
        r.fail("SESSION_IDLE_TIMEOUT_SECS", "must be greater than 0".into());
    }
    if session_absolute < session_idle {
        r.fail(
            "SESSION_ABSOLUTE_TIMEOUT_SECS",
            "must not be shorter than SESSION_IDLE_TIMEOUT_SECS".into(),
        );
    }
    let access_token_ttl = secs("ACCESS_TOKEN_TTL_SECS", 900);
    if access_token_ttl.is_zero() || access_token_ttl > Duration::from_secs(3600) {
        r.fail("ACCESS_TOKEN_TTL_SECS", "must be between 1 and 3600".into());
    }
    let refresh_grace = secs("REFRESH_GRACE_SECS", 10);
    if refresh_grace > Duration::from_secs(60) {
        r.fail("REFRESH_GRACE_SECS", "must be at most 60".into());
    }
    Tokens {
        session_idle,
        session_absolute,
        access_token_ttl,
        refresh_grace,
        jwt_issuer: r
            .plain("JWT_ISSUER")
            .unwrap_or_else(|| "secure-reference".into()),
        jwt_audience: r
            .plain("JWT_AUDIENCE")
            .unwrap_or_else(|| "secure-reference-api".into()),
        signing_key_publication_secs: publication_secs(r, app.env),
        signing_keys_dir: r
            .plain("SIGNING_KEYS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| app.data_dir.join("keys").join("signing")),
    }
}

/// `SIGNING_KEY_PUBLICATION_SECS`: at least the JWKS cache and a folder
/// reload in production.
fn publication_secs(r: &Reader<'_>, env: AppEnv) -> i64 {
    let secs: i64 = r.parsed("SIGNING_KEY_PUBLICATION_SECS", MIN_PUBLICATION_SECS);
    if !(0..=86_400).contains(&secs) {
        r.fail(
            "SIGNING_KEY_PUBLICATION_SECS",
            "must be between 0 and 86400 seconds".into(),
        );
    } else if env == AppEnv::Production && secs < MIN_PUBLICATION_SECS {
        r.fail(
            "SIGNING_KEY_PUBLICATION_SECS",
            format!(
                "must be at least {MIN_PUBLICATION_SECS} in production: the JWKS may be cached \
                 for {JWKS_MAX_AGE_SECS} s, and a server reads the key folder every \
                 {FOLDER_RELOAD_SECS} s"
            ),
        );
    }
    secs
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;

    #[test]
    fn a_new_signing_key_waits_out_the_jwks_cache_in_production() {
        let settings = Settings::from_pairs;
        let min = crate::security::signing_keys::MIN_PUBLICATION_SECS;
        assert_eq!(settings(&[]).unwrap().signing_key_publication_secs, min);
        assert_eq!(
            settings(&[("SIGNING_KEY_PUBLICATION_SECS", "0")])
                .unwrap()
                .signing_key_publication_secs,
            0,
            "dev mode (tests) may sign with a new key at once"
        );
        let prod = [
            ("APP_ENV", "production"),
            ("DATABASE_URL", "postgres://db/app"),
        ];
        let below = (min - 1).to_string();
        let mut vars = prod.to_vec();
        vars.push(("SIGNING_KEY_PUBLICATION_SECS", below.as_str()));
        let err = settings(&vars).unwrap_err().to_string();
        assert!(err.contains("SIGNING_KEY_PUBLICATION_SECS"), "{err}");
        let at_least = min.to_string();
        let mut vars = prod.to_vec();
        vars.push(("SIGNING_KEY_PUBLICATION_SECS", at_least.as_str()));
        let err = settings(&vars)
            .map(|_| String::new())
            .unwrap_or_else(|e| e.to_string());
        assert!(!err.contains("SIGNING_KEY_PUBLICATION_SECS"), "{err}");
        assert!(settings(&[("SIGNING_KEY_PUBLICATION_SECS", "-1")]).is_err());
    }
}
