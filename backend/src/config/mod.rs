//! The one typed settings struct, read from environment variables (and `.env`,
//! loaded by `main`), validated once at start-up.
//!
//! Any secret may also be given as `<NAME>_FILE`, a path whose contents are the
//! value (Docker secrets), or come from Vault when `VAULT_ADDR` is set (see
//! `secret_provider` for the order). Every problem is reported at once, naming the
//! variable, so a misconfigured deployment fails fast and clearly.
//!
//! Each area is read by its own module (`app`, `database`, `tokens`,
//! `security`, `limits`, `server`, `key_provider`) through one `Reader` that
//! collects the problems; `Settings::from_lookup` runs them in turn.
//!
//! Layer: infrastructure, below `keys` and `key_provider`, above `secret_provider`, `tls` and `telemetry` (whose `LogFormat` it reads).

mod app;
mod database;
mod key_provider;
mod limits;
mod reader;
mod security;
mod server;
mod tokens;

pub use key_provider::{KeyProviderSettings, Pkcs11Settings};
pub use limits::RateLimit;
pub use security::AccessSettings;

use crate::security::brute_force::BruteForcePolicy;
use crate::security::client_ip::Cidr;
use crate::security::policy::{PolicySettings, Role};
use crate::telemetry::LogFormat;
use reader::Reader;
use secrecy::SecretString;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use wire::password_policy::PolicyKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppEnv {
    /// Local development: missing keys are generated, demo-friendly defaults.
    Dev,
    /// Every key and the database URL must be given; nothing is generated.
    Production,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub env: AppEnv,
    /// `APP_ADDR`, default `127.0.0.1:3000`; port 0 picks a free port (tests).
    pub addr: SocketAddr,
    /// `DATABASE_URL`: `sqlite://<path>` or `postgres://…`.
    pub database_url: SecretString,
    /// `DATABASE_MIGRATION_URL` (a secret, optional): the schema owner's
    /// connection. When set, migrations run through it and the role of
    /// `DATABASE_URL` is granted only what the app needs (on the audit log
    /// INSERT and SELECT, `db::migrations::grant_app_role`).
    pub database_migration_url: Option<SecretString>,
    /// `APP_DATA_DIR`, default `./data`: the SQLite file and dev-mode keys.
    pub data_dir: PathBuf,
    /// `LEPTOS_SITE_ROOT` (set by cargo-leptos), default `target/site`.
    pub site_root: PathBuf,
    /// `LEPTOS_OUTPUT_NAME` (set by cargo-leptos), default `frontend`.
    pub output_name: String,
    /// `SESSION_IDLE_TIMEOUT_SECS`, default 3600 (the catalogue's SESSION_LIFETIME).
    pub session_idle: Duration,
    /// `SESSION_ABSOLUTE_TIMEOUT_SECS`, default 7 days.
    pub session_absolute: Duration,
    /// `ACCESS_TOKEN_TTL_SECS`, default 900 (the catalogue's TOKEN_EXPIRY).
    pub access_token_ttl: Duration,
    /// `REFRESH_GRACE_SECS`, default 10: a refresh token used twice within
    /// this window (two tabs refreshing at once) is not treated as stolen.
    pub refresh_grace: Duration,
    /// `JWT_ISSUER`, default `secure-reference`: the `iss` of our tokens.
    pub jwt_issuer: String,
    /// `JWT_AUDIENCE`, default `secure-reference-api`: the `aud` of our tokens.
    pub jwt_audience: String,
    /// `SIGNING_KEYS_DIR`, default `$APP_DATA_DIR/keys/signing`: the RS256
    /// private keys, one `<kid>.pem` each (a mounted secret in production).
    pub signing_keys_dir: PathBuf,
    /// `SIGNING_KEY_PUBLICATION_SECS`, default (and least in production)
    /// `signing_keys::MIN_PUBLICATION_SECS` (330: the JWKS max-age plus one
    /// folder reload): how long a key added by `rotate-signing-key` is only
    /// published in the JWKS before it signs. Dev mode accepts less (tests
    /// use 0 to sign with a new key at once).
    pub signing_key_publication_secs: i64,
    /// `MFA_REQUIRED_FOR_ROLES`, `STEP_UP_WINDOW_SECS`, `REAUTH_WINDOW_SECS`,
    /// `NETWORKS_*`, `ADMIN_ELEVATION_SECS`: what the access policy applies
    /// (`policy`).
    pub access: AccessSettings,
    /// `MFA_ISSUER`, default `Secure Reference`: the name authenticator apps show.
    pub mfa_issuer: String,
    /// `LOGIN_DELAY_AFTER` (3), `LOGIN_LOCK_AFTER` (10), `LOGIN_LOCK_SECS`
    /// (300): per-account brute-force protection.
    pub brute_force: BruteForcePolicy,
    /// `TRUSTED_PROXIES`: CIDRs of reverse proxies whose `X-Forwarded-For` /
    /// `Forwarded` headers are believed. Empty (the default): none are.
    pub trusted_proxies: Vec<Cidr>,
    /// `RATE_LIMIT_AUTH`, default `10/minute` per client IP (the catalogue's
    /// RATE_LIMIT_AUTH): sign-in, registration, token and refresh endpoints.
    pub rate_limit_auth: RateLimit,
    /// `RATE_LIMIT_API`, default `300/minute` per client IP for `/api/v1`.
    pub rate_limit_api: RateLimit,
    /// `RATE_LIMIT_USER`, default `600/minute` per signed-in user for `/api/v1`.
    pub rate_limit_user: RateLimit,
    /// `RATE_LIMIT_IP`, default `600/minute` per client IP on every request
    /// but health checks (pages, assets, `/metrics`, the API, …): the outer
    /// limit in front of everything that may write.
    pub rate_limit_ip: RateLimit,
    /// `RATE_LIMIT_IPV6_PREFIX`, default 64 (1–128): the per-IP limits count
    /// an IPv6 client by this network (`security::client_ip::bucket`).
    pub rate_limit_ipv6_prefix: u8,
    /// `DB_POOL_SIZE`, default 8.
    pub db_pool_size: u32,
    /// `DB_POOL_TIMEOUT_SECS`, default 10 (1–300): how long a request waits
    /// for a database connection before it is answered `503` with
    /// `Retry-After` (the database down or every connection busy).
    pub db_pool_timeout: Duration,
    /// `REQUEST_HEAD_TIMEOUT_SECS`, default 10: a client that has not sent
    /// its whole request head by then gets 408 and is disconnected (slow
    /// clients cannot hold connections open).
    pub request_head_timeout: Duration,
    /// `LOG_FORMAT`: `pretty` (default in dev) or `json` (default in production).
    pub log_format: LogFormat,
    /// `PASSWORD_POLICY`: `catalogue` (the default: 12 to 128 characters
    /// with an upper-case and a lower-case letter, a digit and a special
    /// character) or `nist` (NIST SP 800-63B for a single factor: 15 to 128
    /// characters, no composition rules). Both refuse the 100,000 most common
    /// passwords, also decorated (`security::blocklist`), and passwords
    /// containing the username or the e-mail's local part.
    pub password_policy: PolicyKind,
    /// `APP_TRUSTED_ORIGINS`: extra origins (comma-separated, like
    /// `https://app.example.org`) accepted by the CSRF origin check, for
    /// deployments behind a proxy that rewrites `Host`.
    pub trusted_origins: Vec<String>,
    /// `APP_PUBLIC_URL`: the origin users and clients reach this app at
    /// (`https://app.example.org`): the OAuth issuer and the endpoints in its
    /// metadata. Never taken from a request's `Host` or forwarded headers.
    /// Unset: the first `APP_TRUSTED_ORIGINS` origin, else this server's own
    /// listener (`Application::build` fills that in once the port is bound).
    pub public_url: Option<String>,
    /// `METRICS_TOKEN` (a secret: also `METRICS_TOKEN_FILE` or Vault): the
    /// bearer token a Prometheus scraper presents to `GET /metrics`, at
    /// least 32 characters. Unset: only admins and auditors may read it.
    pub metrics_token: Option<SecretString>,
    /// `REDIS_URL` (a secret, it may hold a password: also `REDIS_URL_FILE`
    /// or Vault), `redis://` or `rediss://`: the shared sliding-window limit
    /// on the authentication endpoints across instances
    /// (`http::shared_limit`). Unset: limits are per instance only.
    pub redis_url: Option<SecretString>,
    /// `REDIS_KEY_PREFIX`, default `ratelimit`: the prefix of the keys in
    /// Redis, so several deployments (or test runs) can share one server.
    pub redis_key_prefix: String,
    /// `IDENTITY_CACHE_SECS`, default 30, at most 60: how long a verified
    /// request may be trusted again without a database read
    /// (`services::identity_cache`); changes still take effect at once.
    /// `0` turns the cache off — needed only if several processes share one
    /// SQLite file, where no invalidation can reach them.
    pub identity_cache: Duration,
    /// `VAULT_*` (see `secret_provider::vault`): the KV v2 secret read from
    /// Vault once at start-up, the last source of `DATABASE_URL`,
    /// `SESSION_KEY` and `FIELD_KEYS`. `None` when `VAULT_ADDR` is unset.
    pub vault: Option<std::sync::Arc<crate::secret_provider::VaultSecrets>>,
    /// `APP_WORKSHOP`, default off (`0`): workshop mode, the security
    /// challenges and their scoreboard (`security::workshop`). Deliberately
    /// observable, so refused in production mode.
    pub workshop: bool,
    /// `TLS_CERT_FILE` and `TLS_KEY_FILE` (PEM paths, both or neither):
    /// native TLS 1.3 on every listener (`tls`). `None`: plain HTTP, for a
    /// deployment behind a TLS-terminating proxy, and for development.
    pub tls: Option<crate::tls::TlsFiles>,
    /// `ADMIN_ADDR`: the management listener. When set, the admin API and
    /// pages and `/metrics` are served there only; the public listener
    /// (`APP_ADDR`) answers 404 for them (`http::management`).
    pub admin_addr: Option<SocketAddr>,
    /// `KEY_PROVIDER`: where the signing keys and the field keys' key live
    /// (`key_provider`).
    pub key_provider: KeyProviderSettings,
}

/// A bad or missing variable, named.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: String,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.problem)
    }
}

/// All problems found, one per line.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Every area, read.
struct Parts {
    app: app::App,
    database: database::Database,
    tokens: tokens::Tokens,
    security: security::Security,
    limits: limits::Limits,
    server: server::Server,
    key_provider: KeyProviderSettings,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigErrors> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can pass a map.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigErrors> {
        let reader = Reader::new(&lookup);
        let app = app::read(&reader);
        let vault = app.vault.clone();
        let vault = vault.as_deref();
        let parts = Parts {
            database: database::read(&reader, &app),
            tokens: tokens::read(&reader, &app),
            security: security::read(&reader),
            limits: limits::read(&reader, vault),
            server: server::read(&reader, app.addr, vault),
            key_provider: key_provider::read(&reader, vault),
            app,
        };
        reader.finish()?;
        Ok(Self::from_parts(parts))
    }

    fn from_parts(p: Parts) -> Self {
        let Parts {
            app,
            database,
            tokens,
            security,
            limits,
            server,
            key_provider,
        } = p;
        Self {
            env: app.env,
            addr: app.addr,
            database_url: database.url,
            database_migration_url: database.migration_url,
            data_dir: app.data_dir,
            site_root: app.site_root,
            output_name: app.output_name,
            session_idle: tokens.session_idle,
            session_absolute: tokens.session_absolute,
            access_token_ttl: tokens.access_token_ttl,
            refresh_grace: tokens.refresh_grace,
            jwt_issuer: tokens.jwt_issuer,
            jwt_audience: tokens.jwt_audience,
            signing_keys_dir: tokens.signing_keys_dir,
            signing_key_publication_secs: tokens.signing_key_publication_secs,
            access: security.access,
            mfa_issuer: security.mfa_issuer,
            brute_force: security.brute_force,
            trusted_proxies: security.trusted_proxies,
            rate_limit_auth: limits.rate_limit_auth,
            rate_limit_api: limits.rate_limit_api,
            rate_limit_user: limits.rate_limit_user,
            rate_limit_ip: limits.rate_limit_ip,
            rate_limit_ipv6_prefix: limits.rate_limit_ipv6_prefix,
            db_pool_size: database.pool_size,
            db_pool_timeout: database.pool_timeout,
            request_head_timeout: limits.request_head_timeout,
            log_format: app.log_format,
            password_policy: security.password_policy,
            trusted_origins: server.trusted_origins,
            public_url: server.public_url,
            metrics_token: server.metrics_token,
            redis_url: limits.redis_url,
            redis_key_prefix: limits.redis_key_prefix,
            identity_cache: limits.identity_cache,
            vault: app.vault,
            workshop: app.workshop,
            tls: server.tls,
            admin_addr: server.admin_addr,
            key_provider,
        }
    }

    /// What the policy decision point applies.
    pub fn policy(&self) -> PolicySettings {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let access = &self.access;
        PolicySettings {
            networks: access.role_networks.clone(),
            mfa_required_for: access
                .mfa_required_for_roles
                .iter()
                .filter_map(|r| Role::parse(r))
                .collect(),
            elevation_secs: secs(access.admin_elevation),
            step_up_secs: secs(access.step_up_window),
            reauth_secs: secs(access.reauth_window),
        }
    }

    /// The origin this app is reached at (see `public_url`); before the
    /// listener is bound, from `APP_ADDR`.
    pub fn public_origin(&self) -> String {
        match &self.public_url {
            Some(url) => url.clone(),
            None => listener_origin(self.addr, self.tls.is_some()),
        }
    }

    pub fn is_production(&self) -> bool {
        self.env == AppEnv::Production
    }

    /// Settings from these variables alone (unit tests).
    #[cfg(test)]
    pub(crate) fn from_pairs(vars: &[(&str, &str)]) -> Result<Self, ConfigErrors> {
        let map: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Self::from_lookup(|k| map.get(k).cloned())
    }
}

/// `http(s)://addr` of a listener; an unspecified address (`0.0.0.0`, `::`)
/// is named by its loopback counterpart.
pub fn listener_origin(addr: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    let ip = match addr.ip() {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    format!("{scheme}://{}", SocketAddr::new(ip, addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn defaults_run_a_dev_server_on_sqlite() {
        let s = Settings::from_pairs(&[]).unwrap();
        assert_eq!(s.env, AppEnv::Dev);
        assert_eq!(s.addr, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(s.database_url.expose_secret(), "sqlite://./data/app.db");
        assert_eq!(s.session_idle, Duration::from_secs(3600));
        assert_eq!(s.session_absolute, Duration::from_secs(604_800));
    }

    #[test]
    fn every_bad_variable_is_named() {
        let err = Settings::from_pairs(&[
            ("APP_ENV", "staging"),
            ("APP_ADDR", "not-an-address"),
            ("DATABASE_URL", "mysql://x"),
            ("SESSION_IDLE_TIMEOUT_SECS", "soon"),
            ("LOG_FORMAT", "xml"),
        ])
        .unwrap_err();
        let named: Vec<_> = err.0.iter().map(|e| e.variable.as_str()).collect();
        for v in [
            "APP_ENV",
            "APP_ADDR",
            "DATABASE_URL",
            "SESSION_IDLE_TIMEOUT_SECS",
            "LOG_FORMAT",
        ] {
            assert!(named.contains(&v), "{v} missing from {named:?}");
        }
        assert!(err.to_string().contains("APP_ADDR"));
    }
}
