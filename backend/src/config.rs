//! The one typed settings struct, read from environment variables (and `.env`,
//! loaded by `main`), validated once at start-up.
//!
//! Any secret may also be given as `<NAME>_FILE`, a path whose contents are the
//! value (Docker secrets), or come from Vault when `VAULT_ADDR` is set (see
//! `secret_provider` for the order). Every problem is reported at once, naming the
//! variable, so a misconfigured deployment fails fast and clearly.
//!
//! Layer: infrastructure, below `secrets` and `key_provider`, above `secret_provider`, `tls` and `telemetry` (whose `LogFormat` it reads).

use crate::security::brute_force::BruteForcePolicy;
use crate::security::client_ip::Cidr;
use crate::security::policy::{PolicySettings, Role};
use crate::telemetry::LogFormat;
use frontend::api::password_policy::PolicyKind;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    /// `MFA_REQUIRED_FOR_ROLES`, default `admin`: users holding any of these
    /// roles must enrol in MFA before any admin page or API answers them.
    pub mfa_required_for_roles: Vec<String>,
    /// `STEP_UP_WINDOW_SECS`, default 300: how recent a second-factor check
    /// must be for a sensitive action.
    pub step_up_window: Duration,
    /// `REAUTH_WINDOW_SECS`, default 300: how recent an authentication (the
    /// login, the password re-entered, or a second factor) must be for an
    /// account-security change (enrolling or disabling MFA, a new password,
    /// new recovery codes).
    pub reauth_window: Duration,
    /// `MFA_ISSUER`, default `Secure Reference`: the name authenticator apps show.
    pub mfa_issuer: String,
    /// `LOGIN_DELAY_AFTER` (3), `LOGIN_LOCK_AFTER` (10), `LOGIN_LOCK_SECS`
    /// (300): per-account brute-force protection.
    pub brute_force: BruteForcePolicy,
    /// `NETWORKS_ADMIN`, `NETWORKS_AUDITOR`, `NETWORKS_USER`: CIDRs each role
    /// may be used from (zero trust's network context). Unset or empty: from
    /// anywhere. Outside them the role grants nothing.
    pub role_networks: Vec<(Role, Vec<Cidr>)>,
    /// `ADMIN_ELEVATION_SECS`, default 900: an admin's write permissions are
    /// active this long after a second factor (login with MFA or step-up);
    /// after it they browse read-only until they verify again (JIT).
    pub admin_elevation: Duration,
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

/// `KEY_PROVIDER=files|pkcs11`.
#[derive(Clone, Debug)]
pub enum KeyProviderSettings {
    /// `files` (the default): `SIGNING_KEYS_DIR` and `FIELD_KEYS`.
    Files,
    /// `pkcs11`: the signing keys and a key-encryption key inside an HSM
    /// token; the field data keys stored wrapped in the database.
    Pkcs11(Pkcs11Settings),
}

/// `PKCS11_MODULE`, `PKCS11_TOKEN_LABEL`, `PKCS11_PIN` (a secret).
#[derive(Clone)]
pub struct Pkcs11Settings {
    /// The vendor's PKCS#11 library (`.so`).
    pub module: PathBuf,
    /// The label of the token (at most 32 characters): the slot is the one
    /// holding it, wherever the HSM puts it.
    pub token_label: String,
    /// The token's user PIN (`PKCS11_PIN`, `PKCS11_PIN_FILE` or Vault).
    pub pin: SecretString,
}

/// The PIN never prints.
impl fmt::Debug for Pkcs11Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Settings")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("pin", &format_args!("[redacted]"))
            .finish()
    }
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

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigErrors> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can pass a map.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigErrors> {
        let reader = Reader {
            lookup: &lookup,
            errors: std::cell::RefCell::new(Vec::new()),
        };

        let env = match reader.plain("APP_ENV").as_deref() {
            None | Some("dev") | Some("development") => AppEnv::Dev,
            Some("production") | Some("prod") => AppEnv::Production,
            Some(other) => {
                reader.fail(
                    "APP_ENV",
                    format!("must be `dev` or `production`, not `{other}`"),
                );
                AppEnv::Dev
            }
        };
        let addr = reader.parsed("APP_ADDR", SocketAddr::from(([127, 0, 0, 1], 3000)));
        let data_dir = PathBuf::from(
            reader
                .plain("APP_DATA_DIR")
                .unwrap_or_else(|| "./data".into()),
        );
        let vault = crate::secret_provider::vault::load(reader.lookup, env == AppEnv::Production)
            .unwrap_or_else(|errors| {
                for e in errors {
                    reader.fail(&e.variable, e.problem);
                }
                None
            });
        let database_url = match reader.secret("DATABASE_URL", vault.as_deref()) {
            Some(url) => {
                let s = url.expose_secret();
                if !(s.starts_with("sqlite://")
                    || s.starts_with("postgres://")
                    || s.starts_with("postgresql://"))
                {
                    reader.fail(
                        "DATABASE_URL",
                        "must start with sqlite://, postgres:// or postgresql://".into(),
                    );
                }
                url
            }
            None if env == AppEnv::Production => {
                reader.fail("DATABASE_URL", "is required in production mode".into());
                SecretString::from(String::new())
            }
            None => SecretString::from(format!("sqlite://{}", data_dir.join("app.db").display())),
        };
        if vault.as_ref().is_some_and(|v| v.database().is_some())
            && crate::secret_provider::vault::database::with_credentials(
                database_url.expose_secret(),
                "u",
                &SecretString::from("p"),
            )
            .is_none()
        {
            reader.fail(
                "DATABASE_URL",
                "with VAULT_DB_ROLE it must be postgres://host[:port]/database, without a user or password (those come from Vault)".into(),
            );
        }
        let database_migration_url = reader
            .secret("DATABASE_MIGRATION_URL", vault.as_deref())
            .filter(|url| {
                let s = url.expose_secret();
                let same_engine = if database_url.expose_secret().starts_with("sqlite://") {
                    s.starts_with("sqlite://")
                } else {
                    s.starts_with("postgres://") || s.starts_with("postgresql://")
                };
                if !same_engine {
                    reader.fail(
                        "DATABASE_MIGRATION_URL",
                        "must name the same kind of database as DATABASE_URL".into(),
                    );
                }
                same_engine
            });
        let site_root = PathBuf::from(
            reader
                .plain("LEPTOS_SITE_ROOT")
                .unwrap_or_else(|| "target/site".into()),
        );
        let output_name = reader
            .plain("LEPTOS_OUTPUT_NAME")
            .unwrap_or_else(|| "frontend".into());
        let session_idle = Duration::from_secs(reader.parsed("SESSION_IDLE_TIMEOUT_SECS", 3600u64));
        let session_absolute =
            Duration::from_secs(reader.parsed("SESSION_ABSOLUTE_TIMEOUT_SECS", 7 * 24 * 3600u64));
        if session_idle.is_zero() {
            reader.fail("SESSION_IDLE_TIMEOUT_SECS", "must be greater than 0".into());
        }
        if session_absolute < session_idle {
            reader.fail(
                "SESSION_ABSOLUTE_TIMEOUT_SECS",
                "must not be shorter than SESSION_IDLE_TIMEOUT_SECS".into(),
            );
        }
        let access_token_ttl = Duration::from_secs(reader.parsed("ACCESS_TOKEN_TTL_SECS", 900u64));
        if access_token_ttl.is_zero() || access_token_ttl > Duration::from_secs(3600) {
            reader.fail("ACCESS_TOKEN_TTL_SECS", "must be between 1 and 3600".into());
        }
        let refresh_grace = Duration::from_secs(reader.parsed("REFRESH_GRACE_SECS", 10u64));
        if refresh_grace > Duration::from_secs(60) {
            reader.fail("REFRESH_GRACE_SECS", "must be at most 60".into());
        }
        let jwt_issuer = reader
            .plain("JWT_ISSUER")
            .unwrap_or_else(|| "secure-reference".into());
        let jwt_audience = reader
            .plain("JWT_AUDIENCE")
            .unwrap_or_else(|| "secure-reference-api".into());
        let min_publication = crate::security::signing_keys::MIN_PUBLICATION_SECS;
        let signing_key_publication_secs: i64 =
            reader.parsed("SIGNING_KEY_PUBLICATION_SECS", min_publication);
        if !(0..=86_400).contains(&signing_key_publication_secs) {
            reader.fail(
                "SIGNING_KEY_PUBLICATION_SECS",
                "must be between 0 and 86400 seconds".into(),
            );
        } else if env == AppEnv::Production && signing_key_publication_secs < min_publication {
            reader.fail(
                "SIGNING_KEY_PUBLICATION_SECS",
                format!(
                    "must be at least {min_publication} in production: the JWKS may be cached \
                     for {} s, and a server reads the key folder every {} s",
                    crate::security::signing_keys::JWKS_MAX_AGE_SECS,
                    crate::security::signing_keys::FOLDER_RELOAD_SECS
                ),
            );
        }
        let signing_keys_dir = reader
            .plain("SIGNING_KEYS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("keys").join("signing"));
        let mfa_required_for_roles: Vec<String> = reader
            .plain("MFA_REQUIRED_FOR_ROLES")
            .unwrap_or_else(|| "admin".into())
            .split(',')
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty() && r != "none")
            .collect();
        for role in &mfa_required_for_roles {
            if !["admin", "auditor", "user"].contains(&role.as_str()) {
                reader.fail(
                    "MFA_REQUIRED_FOR_ROLES",
                    format!("`{role}` is not a role (admin, auditor, user, or none)"),
                );
            }
        }
        let step_up_window = Duration::from_secs(reader.parsed("STEP_UP_WINDOW_SECS", 300u64));
        let reauth_window = Duration::from_secs(reader.parsed("REAUTH_WINDOW_SECS", 300u64));
        let mfa_issuer = reader
            .plain("MFA_ISSUER")
            .unwrap_or_else(|| "Secure Reference".into());
        if mfa_issuer.contains(':') {
            reader.fail("MFA_ISSUER", "must not contain ':'".into());
        }
        let defaults = BruteForcePolicy::default();
        let brute_force = BruteForcePolicy {
            delay_after: reader.parsed("LOGIN_DELAY_AFTER", defaults.delay_after),
            lock_after: reader.parsed("LOGIN_LOCK_AFTER", defaults.lock_after),
            lock_for: Duration::from_secs(
                reader.parsed("LOGIN_LOCK_SECS", defaults.lock_for.as_secs()),
            ),
            ..defaults
        };
        if brute_force.lock_after == 0 || brute_force.lock_after > 100 {
            reader.fail(
                "LOGIN_LOCK_AFTER",
                "must be between 1 and 100 (NIST SP 800-63B)".into(),
            );
        }
        let cidrs = |var: &str| -> Vec<Cidr> {
            reader
                .plain(var)
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .filter_map(|s| {
                            Cidr::parse(s).or_else(|| {
                                reader.fail(var, format!("`{s}` is not an address or CIDR"));
                                None
                            })
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let role_networks = vec![
            (Role::Admin, cidrs("NETWORKS_ADMIN")),
            (Role::Auditor, cidrs("NETWORKS_AUDITOR")),
            (Role::User, cidrs("NETWORKS_USER")),
        ];
        let admin_elevation = Duration::from_secs(reader.parsed("ADMIN_ELEVATION_SECS", 900u64));
        let trusted_proxies = cidrs("TRUSTED_PROXIES");
        let rate = |name: &str, default: &str| {
            let raw = reader.plain(name).unwrap_or_else(|| default.to_owned());
            RateLimit::parse(&raw).unwrap_or_else(|| {
                reader.fail(
                    name,
                    format!("`{raw}` is not like `10/minute` (second, minute or hour)"),
                );
                RateLimit::parse(default).unwrap_or(RateLimit {
                    count: 1,
                    per_secs: 1,
                })
            })
        };
        let rate_limit_auth = rate("RATE_LIMIT_AUTH", "10/minute");
        let rate_limit_api = rate("RATE_LIMIT_API", "300/minute");
        let rate_limit_user = rate("RATE_LIMIT_USER", "600/minute");
        let rate_limit_ip = rate("RATE_LIMIT_IP", "600/minute");
        let rate_limit_ipv6_prefix: u8 = reader.parsed("RATE_LIMIT_IPV6_PREFIX", 64);
        if !(1..=128).contains(&rate_limit_ipv6_prefix) {
            reader.fail(
                "RATE_LIMIT_IPV6_PREFIX",
                "must be a prefix length between 1 and 128".into(),
            );
        }
        let db_pool_size: u32 = reader.parsed("DB_POOL_SIZE", 8);
        if db_pool_size == 0 {
            reader.fail("DB_POOL_SIZE", "must be at least 1".into());
        }
        let db_pool_timeout_secs: u64 = reader.parsed("DB_POOL_TIMEOUT_SECS", 10);
        if !(1..=300).contains(&db_pool_timeout_secs) {
            reader.fail(
                "DB_POOL_TIMEOUT_SECS",
                "must be between 1 and 300 seconds".into(),
            );
        }
        let db_pool_timeout = Duration::from_secs(db_pool_timeout_secs);
        let log_format = match reader.plain("LOG_FORMAT").as_deref() {
            None => match env {
                AppEnv::Dev => LogFormat::Pretty,
                AppEnv::Production => LogFormat::Json,
            },
            Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                reader.fail(
                    "LOG_FORMAT",
                    format!("must be `pretty` or `json`, not `{other}`"),
                );
                LogFormat::Pretty
            }
        };
        let request_head_timeout =
            Duration::from_secs(reader.parsed("REQUEST_HEAD_TIMEOUT_SECS", 10u64));
        if request_head_timeout.is_zero() || request_head_timeout > Duration::from_secs(300) {
            reader.fail(
                "REQUEST_HEAD_TIMEOUT_SECS",
                "must be between 1 and 300 seconds".into(),
            );
        }
        let password_policy = match reader.plain("PASSWORD_POLICY") {
            None => PolicyKind::default(),
            Some(raw) => PolicyKind::parse(&raw).unwrap_or_else(|| {
                reader.fail(
                    "PASSWORD_POLICY",
                    format!("must be `catalogue` or `nist`, not `{raw}`"),
                );
                PolicyKind::default()
            }),
        };
        let trusted_origins = reader
            .plain("APP_TRUSTED_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for origin in &trusted_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                reader.fail(
                    "APP_TRUSTED_ORIGINS",
                    format!("`{origin}` must start with http:// or https://"),
                );
            }
        }
        let public_url = reader
            .plain("APP_PUBLIC_URL")
            .map(|v| v.trim().trim_end_matches('/').to_owned())
            .filter(|v| !v.is_empty());
        if let Some(url) = &public_url {
            if crate::security::origin::origin_of(url).as_deref() != Some(url.as_str()) {
                reader.fail(
                    "APP_PUBLIC_URL",
                    format!("`{url}` must be an origin like https://app.example.org (no path)"),
                );
            }
        }
        let public_url = public_url.or_else(|| trusted_origins.first().cloned());
        let metrics_token = reader.secret("METRICS_TOKEN", vault.as_deref());
        if metrics_token
            .as_ref()
            .is_some_and(|t| t.expose_secret().chars().count() < 32)
        {
            reader.fail(
                "METRICS_TOKEN",
                "must be at least 32 characters (e.g. `openssl rand -hex 32`)".into(),
            );
        }
        let redis_url = reader.secret("REDIS_URL", vault.as_deref());
        if redis_url.as_ref().is_some_and(|u| {
            let u = u.expose_secret();
            !(u.starts_with("redis://") || u.starts_with("rediss://"))
        }) {
            reader.fail("REDIS_URL", "must start with redis:// or rediss://".into());
        }
        let redis_key_prefix = reader
            .plain("REDIS_KEY_PREFIX")
            .unwrap_or_else(|| "ratelimit".into());
        let identity_cache = reader.parsed("IDENTITY_CACHE_SECS", 30u64);
        if identity_cache > 60 {
            reader.fail(
                "IDENTITY_CACHE_SECS",
                "must be at most 60 (sessions record their use once a minute)".into(),
            );
        }
        let identity_cache = Duration::from_secs(identity_cache);
        let workshop = match reader.plain("APP_WORKSHOP").as_deref().map(str::trim) {
            None | Some("0") | Some("off") | Some("false") | Some("no") => false,
            Some("1") | Some("on") | Some("true") | Some("yes") => true,
            Some(other) => {
                reader.fail("APP_WORKSHOP", format!("must be `1` or `0`, not `{other}`"));
                false
            }
        };
        if workshop && env == AppEnv::Production {
            reader.fail(
                "APP_WORKSHOP",
                "workshop mode is not for production; unset it or use APP_ENV=dev".into(),
            );
        }
        let tls = match (reader.plain("TLS_CERT_FILE"), reader.plain("TLS_KEY_FILE")) {
            (None, None) => None,
            (Some(cert), Some(key)) => {
                for (name, path) in [("TLS_CERT_FILE", &cert), ("TLS_KEY_FILE", &key)] {
                    if !std::path::Path::new(path).is_file() {
                        reader.fail(name, format!("`{path}` is not a readable file"));
                    }
                }
                Some(crate::tls::TlsFiles {
                    cert: PathBuf::from(cert),
                    key: PathBuf::from(key),
                })
            }
            (Some(_), None) => {
                reader.fail(
                    "TLS_KEY_FILE",
                    "is required when TLS_CERT_FILE is set".into(),
                );
                None
            }
            (None, Some(_)) => {
                reader.fail(
                    "TLS_CERT_FILE",
                    "is required when TLS_KEY_FILE is set".into(),
                );
                None
            }
        };
        let admin_addr = reader.plain("ADMIN_ADDR").and_then(|raw| {
            raw.trim().parse::<SocketAddr>().ok().or_else(|| {
                reader.fail(
                    "ADMIN_ADDR",
                    format!("`{raw}` is not a socket address like 127.0.0.1:9000"),
                );
                None
            })
        });
        if admin_addr.is_some_and(|a| a == addr && a.port() != 0) {
            reader.fail("ADMIN_ADDR", "must differ from APP_ADDR".into());
        }
        let key_provider = key_provider(&reader, vault.as_deref());
        let errors = reader.errors.into_inner();

        if errors.is_empty() {
            Ok(Self {
                key_provider,
                env,
                addr,
                database_url,
                database_migration_url,
                data_dir,
                site_root,
                output_name,
                session_idle,
                session_absolute,
                access_token_ttl,
                refresh_grace,
                jwt_issuer,
                jwt_audience,
                signing_keys_dir,
                signing_key_publication_secs,
                mfa_required_for_roles,
                step_up_window,
                reauth_window,
                mfa_issuer,
                brute_force,
                role_networks,
                admin_elevation,
                trusted_proxies,
                rate_limit_auth,
                rate_limit_api,
                rate_limit_user,
                rate_limit_ip,
                rate_limit_ipv6_prefix,
                db_pool_size,
                db_pool_timeout,
                log_format,
                request_head_timeout,
                password_policy,
                trusted_origins,
                public_url,
                metrics_token,
                redis_url,
                redis_key_prefix,
                identity_cache,
                vault,
                workshop,
                tls,
                admin_addr,
            })
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// What the policy decision point applies.
    pub fn policy(&self) -> PolicySettings {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        PolicySettings {
            networks: self.role_networks.clone(),
            mfa_required_for: self
                .mfa_required_for_roles
                .iter()
                .filter_map(|r| Role::parse(r))
                .collect(),
            elevation_secs: secs(self.admin_elevation),
            step_up_secs: secs(self.step_up_window),
            reauth_secs: secs(self.reauth_window),
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

struct Reader<'a, F: Fn(&str) -> Option<String>> {
    lookup: &'a F,
    errors: std::cell::RefCell<Vec<ConfigError>>,
}

impl<F: Fn(&str) -> Option<String>> Reader<'_, F> {
    fn fail(&self, variable: &str, problem: String) {
        self.errors.borrow_mut().push(ConfigError {
            variable: variable.to_owned(),
            problem,
        });
    }

    /// A non-secret value; empty counts as unset.
    fn plain(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// A secret value, from `NAME`, the file named by `NAME_FILE`, or Vault
    /// (`secret_provider`).
    fn secret(
        &self,
        name: &str,
        vault: Option<&crate::secret_provider::VaultSecrets>,
    ) -> Option<SecretString> {
        crate::secret_provider::ProviderChain::standard(self.lookup, vault)
            .get(name)
            .unwrap_or_else(|e| {
                self.fail(&e.variable, e.problem);
                None
            })
    }

    /// A parsed value, or `default` when unset (and when invalid, after
    /// recording the error).
    fn parsed<T: std::str::FromStr>(&self, name: &str, default: T) -> T {
        match self.plain(name) {
            Some(raw) => raw.trim().parse().unwrap_or_else(|_| {
                self.fail(name, format!("`{raw}` is not a valid value"));
                default
            }),
            None => default,
        }
    }
}

/// `KEY_PROVIDER` and, for `pkcs11`, its three settings. Errors name the
/// setting, never the PIN's value.
fn key_provider<F: Fn(&str) -> Option<String>>(
    reader: &Reader<'_, F>,
    vault: Option<&crate::secret_provider::VaultSecrets>,
) -> KeyProviderSettings {
    match reader.plain("KEY_PROVIDER").as_deref().map(str::trim) {
        None | Some("files") => KeyProviderSettings::Files,
        Some("pkcs11") => {
            let needed = "is required with KEY_PROVIDER=pkcs11";
            let module = reader.plain("PKCS11_MODULE").map(PathBuf::from);
            match &module {
                None => reader.fail(
                    "PKCS11_MODULE",
                    format!("{needed} (the path of the HSM vendor's PKCS#11 library, a .so)"),
                ),
                // `dlopen` searches the library path for a bare name: the
                // file checked here might not be the one loaded.
                Some(m) if !m.is_absolute() => reader.fail(
                    "PKCS11_MODULE",
                    format!("`{}` is not an absolute path", m.display()),
                ),
                Some(m) if !m.is_file() => {
                    reader.fail("PKCS11_MODULE", format!("`{}` is not a file", m.display()))
                }
                Some(_) => {}
            }
            let token_label = reader.plain("PKCS11_TOKEN_LABEL");
            match &token_label {
                None => reader.fail(
                    "PKCS11_TOKEN_LABEL",
                    format!("{needed} (the label the token was initialised with)"),
                ),
                Some(l) if l.chars().count() > 32 => reader.fail(
                    "PKCS11_TOKEN_LABEL",
                    "a token label has at most 32 characters".into(),
                ),
                Some(_) => {}
            }
            let pin = reader.secret("PKCS11_PIN", vault);
            if pin.is_none() {
                reader.fail(
                    "PKCS11_PIN",
                    format!("{needed} (set PKCS11_PIN or PKCS11_PIN_FILE, or put it in Vault)"),
                );
            }
            match (module, token_label, pin) {
                (Some(module), Some(token_label), Some(pin)) => {
                    KeyProviderSettings::Pkcs11(Pkcs11Settings {
                        module,
                        token_label,
                        pin,
                    })
                }
                _ => KeyProviderSettings::Files,
            }
        }
        Some(other) => {
            reader.fail(
                "KEY_PROVIDER",
                format!("must be `files` or `pkcs11`, not `{other}`"),
            );
            KeyProviderSettings::Files
        }
    }
}

/// `NAME`, else the trimmed contents of the file at `NAME_FILE`. Setting both
/// is an error, so it is always clear which one is in force.
pub fn read_secret(
    lookup: &dyn Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<SecretString>, String> {
    crate::secret_provider::ProviderChain::standard(lookup, None)
        .get(name)
        .map_err(|e| e.problem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigErrors> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_run_a_dev_server_on_sqlite() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.env, AppEnv::Dev);
        assert_eq!(s.addr, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(s.database_url.expose_secret(), "sqlite://./data/app.db");
        assert_eq!(s.session_idle, Duration::from_secs(3600));
        assert_eq!(s.session_absolute, Duration::from_secs(604_800));
    }

    #[test]
    fn the_pkcs11_provider_needs_its_settings_and_never_shows_the_pin() {
        assert!(matches!(
            settings(&[]).unwrap().key_provider,
            KeyProviderSettings::Files
        ));
        let err = settings(&[("KEY_PROVIDER", "pkcs12")]).unwrap_err();
        assert_eq!(err.0[0].variable, "KEY_PROVIDER");
        let err = settings(&[("KEY_PROVIDER", "pkcs11")]).unwrap_err();
        let named: Vec<_> = err.0.iter().map(|e| e.variable.as_str()).collect();
        assert_eq!(named, ["PKCS11_MODULE", "PKCS11_TOKEN_LABEL", "PKCS11_PIN"]);
        let module = tempfile::NamedTempFile::new().unwrap();
        let module = module.path().display().to_string();
        let pin = "pin-4711-do-not-print";
        let vars = [
            ("KEY_PROVIDER", "pkcs11"),
            ("PKCS11_MODULE", module.as_str()),
            ("PKCS11_TOKEN_LABEL", "app-keys"),
            ("PKCS11_PIN", pin),
        ];
        let s = settings(&vars).unwrap();
        let KeyProviderSettings::Pkcs11(p) = &s.key_provider else {
            panic!("pkcs11 expected");
        };
        assert_eq!(p.pin.expose_secret(), pin);
        assert!(!format!("{s:?}").contains(pin));
        // A bad module path is named; the PIN is not echoed with it.
        let mut bad = vars;
        bad[1] = ("PKCS11_MODULE", "/nowhere/libpkcs11.so");
        let err = settings(&bad).unwrap_err().to_string();
        assert!(err.contains("PKCS11_MODULE") && !err.contains(pin), "{err}");
    }

    /// Attack: `PKCS11_MODULE=libvendor.so` (a bare name) passed the file
    /// check against the working directory, but the loader (`dlopen`)
    /// searches the library path for a bare name: another library than the
    /// one checked would be loaded and given the PIN. Only absolute paths.
    #[test]
    fn a_relative_pkcs11_module_path_is_refused() {
        // Files that exist relative to the test's working directory (the crate).
        for relative in ["Cargo.toml", "./Cargo.toml", "src/main.rs"] {
            assert!(std::path::Path::new(relative).is_file(), "{relative}");
            let err = settings(&[
                ("KEY_PROVIDER", "pkcs11"),
                ("PKCS11_MODULE", relative),
                ("PKCS11_TOKEN_LABEL", "app-keys"),
                ("PKCS11_PIN", "pin-4711-do-not-print"),
            ])
            .unwrap_err();
            assert_eq!(err.0.len(), 1, "{relative}: {err}");
            assert_eq!(err.0[0].variable, "PKCS11_MODULE");
            assert!(err.to_string().contains("absolute path"), "{err}");
        }
    }

    #[test]
    fn rate_limits_and_proxies_parse() {
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
    fn password_policy_is_catalogue_or_nist() {
        assert_eq!(
            settings(&[]).unwrap().password_policy,
            PolicyKind::Catalogue
        );
        for (raw, kind) in [
            ("catalogue", PolicyKind::Catalogue),
            ("nist", PolicyKind::Nist),
            (" nist ", PolicyKind::Nist),
        ] {
            assert_eq!(
                settings(&[("PASSWORD_POLICY", raw)])
                    .unwrap()
                    .password_policy,
                kind
            );
        }
        let err = settings(&[("PASSWORD_POLICY", "strong")]).unwrap_err();
        assert_eq!(err.0[0].variable, "PASSWORD_POLICY");
        assert!(err.0[0].problem.contains("`catalogue` or `nist`"));
    }

    #[test]
    fn production_requires_a_database_url() {
        let err = settings(&[("APP_ENV", "production")]).unwrap_err();
        assert!(err.0.iter().any(|e| e.variable == "DATABASE_URL"));
    }

    #[test]
    fn every_bad_variable_is_named() {
        let err = settings(&[
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

    #[test]
    fn secrets_can_come_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db_url");
        std::fs::write(&path, "postgres://app@db/app\n").unwrap();
        let s = settings(&[("DATABASE_URL_FILE", path.to_str().unwrap())]).unwrap();
        assert_eq!(s.database_url.expose_secret(), "postgres://app@db/app");
    }

    #[test]
    fn the_redis_url_is_a_redacted_secret() {
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

    #[test]
    fn the_metrics_token_is_a_long_secret_never_shown() {
        assert!(settings(&[]).unwrap().metrics_token.is_none());
        let err = settings(&[("METRICS_TOKEN", "short")]).unwrap_err();
        assert_eq!(err.0[0].variable, "METRICS_TOKEN");
        assert!(!err.to_string().contains("short"));
        let token = "0123456789abcdef0123456789abcdef";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics_token");
        std::fs::write(&path, format!("{token}\n")).unwrap();
        let s = settings(&[("METRICS_TOKEN_FILE", path.to_str().unwrap())]).unwrap();
        let read = s.metrics_token.as_ref().unwrap();
        assert_eq!(read.expose_secret(), token);
        assert!(!format!("{s:?}").contains(token));
    }

    #[test]
    fn a_new_signing_key_waits_out_the_jwks_cache_in_production() {
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

    #[test]
    fn workshop_mode_is_off_unless_asked_for_and_never_in_production() {
        assert!(!settings(&[]).unwrap().workshop);
        for (raw, on) in [
            ("1", true),
            ("on", true),
            ("true", true),
            ("0", false),
            ("off", false),
        ] {
            assert_eq!(
                settings(&[("APP_WORKSHOP", raw)]).unwrap().workshop,
                on,
                "{raw}"
            );
        }
        let err = settings(&[("APP_WORKSHOP", "maybe")]).unwrap_err();
        assert_eq!(err.0[0].variable, "APP_WORKSHOP");
        let err = settings(&[
            ("APP_ENV", "production"),
            ("DATABASE_URL", "sqlite://x"),
            ("APP_WORKSHOP", "1"),
        ])
        .unwrap_err();
        assert!(err.0.iter().any(|e| e.variable == "APP_WORKSHOP"));
    }

    #[test]
    fn tls_needs_both_files_and_they_must_exist() {
        let s = settings(&[]).unwrap();
        assert!(s.tls.is_none() && s.admin_addr.is_none());
        let err = settings(&[("TLS_CERT_FILE", "/etc/cert.pem")]).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].variable, "TLS_KEY_FILE");
        let err = settings(&[("TLS_KEY_FILE", "/etc/key.pem")]).unwrap_err();
        assert_eq!(err.0[0].variable, "TLS_CERT_FILE");
        let err = settings(&[
            ("TLS_CERT_FILE", "/does/not/exist.pem"),
            ("TLS_KEY_FILE", "/does/not/exist.key"),
        ])
        .unwrap_err();
        let named: Vec<_> = err.0.iter().map(|e| e.variable.as_str()).collect();
        assert_eq!(named, ["TLS_CERT_FILE", "TLS_KEY_FILE"]);

        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&cert, "x").unwrap();
        std::fs::write(&key, "y").unwrap();
        let s = settings(&[
            ("TLS_CERT_FILE", cert.to_str().unwrap()),
            ("TLS_KEY_FILE", key.to_str().unwrap()),
        ])
        .unwrap();
        assert_eq!(s.tls.unwrap().key, key);
    }

    #[test]
    fn admin_addr_is_a_socket_address_apart_from_app_addr() {
        let s = settings(&[("ADMIN_ADDR", "127.0.0.1:9000")]).unwrap();
        assert_eq!(s.admin_addr, Some("127.0.0.1:9000".parse().unwrap()));
        let err = settings(&[("ADMIN_ADDR", "localhost")]).unwrap_err();
        assert_eq!(err.0[0].variable, "ADMIN_ADDR");
        let err = settings(&[("ADMIN_ADDR", "127.0.0.1:3000")]).unwrap_err();
        assert!(err.0[0].problem.contains("differ from APP_ADDR"));
        // Port 0 (tests) picks a free port for each.
        let s = settings(&[("APP_ADDR", "127.0.0.1:0"), ("ADMIN_ADDR", "127.0.0.1:0")]).unwrap();
        assert!(s.admin_addr.is_some());
    }

    #[test]
    fn a_secret_given_twice_or_unreadable_is_an_error() {
        let err =
            settings(&[("DATABASE_URL", "sqlite://a"), ("DATABASE_URL_FILE", "/x")]).unwrap_err();
        assert_eq!(err.0[0].variable, "DATABASE_URL_FILE");
        let err = settings(&[("DATABASE_URL_FILE", "/does/not/exist")]).unwrap_err();
        assert!(err.0[0].problem.contains("cannot read"));
        // The error names the file problem, never a secret value.
        assert!(!err.to_string().contains("sqlite://"));
    }
}
