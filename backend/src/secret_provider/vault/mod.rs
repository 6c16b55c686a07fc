//! HashiCorp Vault as a secret source: one KV version 2 secret, read once at
//! start-up over HTTPS.
//!
//! Configuration (all optional; Vault is used only when `VAULT_ADDR` is set):
//!
//! - `VAULT_ADDR`: `https://vault.example.org:8200` (plain `http://` only to
//!   a loopback address in production).
//! - `VAULT_TOKEN` (or `VAULT_TOKEN_FILE`), or AppRole: `VAULT_ROLE_ID` and
//!   `VAULT_SECRET_ID` (or their `*_FILE`). An AppRole login's token is
//!   revoked once the secret has been read.
//! - `VAULT_KV_MOUNT` (default `secret`) and `VAULT_SECRET_PATH` (like
//!   `secure-reference/prod`): the secret read is
//!   `GET /v1/<mount>/data/<path>`, whose keys are the secret names
//!   (`SESSION_KEY`, `FIELD_KEYS`, `DATABASE_URL`).
//! - `VAULT_NAMESPACE` (Vault Enterprise), `VAULT_CACERT` (a PEM file of the
//!   CA that signed Vault's certificate, instead of the public roots).
//! - `VAULT_START_TIMEOUT_SECS` (default 60): how long start-up retries, with
//!   exponential backoff, while Vault is unreachable or answers 5xx.
//! - `VAULT_DB_ROLE` (and `VAULT_DB_MOUNT`, default `database`): dynamic
//!   database credentials ([`database`]); the token is then kept and renewed
//!   (`session`).
//!
//! The client is `ureq` (blocking, rustls with the aws-lc-rs provider). It
//! follows no redirect (the token header would go along) and gives up after
//! ten seconds. Errors name the variable to fix and the Vault location, never
//! a token or a value; messages Vault returns are shortened, escaped, and
//! scrubbed of the credentials sent.
//!
//! One file per job: `settings` (the `VAULT_*` variables), `client` (HTTP,
//! retries, Vault's answers), `login` (AppRole tokens), `kv` (reading the
//! secret), `session` and `database` (the kept token and the dynamic
//! database credentials). This file holds the types they share and `load`.
//!
//! Layer: infrastructure, in `secret_provider`: imports `telemetry` below it.

mod client;
pub mod database;
mod kv;
#[cfg(test)]
mod lifecycle_tests;
mod login;
mod session;
mod settings;

use super::{Redacted, SecretError, SecretProvider};
use secrecy::SecretString;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How to log in.
enum VaultAuth {
    Token(SecretString),
    AppRole {
        role_id: SecretString,
        secret_id: SecretString,
    },
}

/// Where and how to read the secret, from the `VAULT_*` variables.
pub struct VaultConfig {
    addr: String,
    auth: VaultAuth,
    mount: String,
    path: String,
    namespace: Option<String>,
    ca_cert: Option<PathBuf>,
    /// How long start-up keeps trying to reach Vault.
    start_timeout: Duration,
    /// `VAULT_DB_ROLE`: the database secrets engine role whose dynamic
    /// credentials the app connects with (see [`database`]).
    db_role: Option<String>,
    db_mount: String,
}

impl fmt::Debug for VaultConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = match self.auth {
            VaultAuth::Token(_) => "token",
            VaultAuth::AppRole { .. } => "approle",
        };
        f.debug_struct("VaultConfig")
            .field("addr", &self.addr)
            .field("auth", &auth)
            .field("credentials", &Redacted)
            .field("mount", &self.mount)
            .field("path", &self.path)
            .field("namespace", &self.namespace)
            .field("ca_cert", &self.ca_cert)
            .field("start_timeout", &self.start_timeout)
            .field("db_role", &self.db_role)
            .field("db_mount", &self.db_mount)
            .finish()
    }
}

/// The keys of one KV v2 secret, as read at start-up.
pub struct VaultSecrets {
    location: String,
    values: HashMap<String, SecretString>,
    /// With `VAULT_DB_ROLE`: where the database credentials come from.
    database: Option<Arc<database::DynamicCredentials>>,
}

impl VaultSecrets {
    /// Values as if read from `location` (for tests and tools).
    pub fn from_values<'a>(
        location: &str,
        values: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        Self {
            location: location.to_owned(),
            values: values
                .into_iter()
                .map(|(k, v)| (k.to_owned(), SecretString::from(v)))
                .collect(),
            database: None,
        }
    }

    /// The dynamic database credentials, when `VAULT_DB_ROLE` is set.
    pub fn database(&self) -> Option<&Arc<database::DynamicCredentials>> {
        self.database.as_ref()
    }

    /// `<mount>/data/<path>`.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The names the secret holds, sorted (not secret themselves).
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.values.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

impl fmt::Debug for VaultSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultSecrets")
            .field("location", &self.location)
            .field("names", &self.names())
            .field("values", &Redacted)
            .finish()
    }
}

impl SecretProvider for VaultSecrets {
    fn is_set(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    fn get(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        Ok(self.values.get(name).cloned())
    }

    fn how_to_set(&self, name: &str) -> String {
        format!("key {name} in Vault at {}", self.location)
    }

    fn is_local(&self) -> bool {
        false
    }
}

/// Reads and fetches in one step: `Ok(None)` when Vault is not configured.
/// What `Settings` calls at start-up.
pub fn load(
    lookup: &dyn Fn(&str) -> Option<String>,
    production: bool,
) -> Result<Option<Arc<VaultSecrets>>, Vec<SecretError>> {
    match VaultConfig::from_lookup(lookup, production)? {
        None => Ok(None),
        Some(config) => config
            .fetch()
            .map(|s| Some(Arc::new(s)))
            .map_err(|e| vec![e]),
    }
}

#[cfg(test)]
mod tests {
    use super::settings::is_loopback;
    use super::*;
    use secrecy::ExposeSecret;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::Mutex;

    const TOKEN: &str = "hvs.test-token-0123456789";
    const ROLE_ID: &str = "role-3f2a";
    const SECRET_ID: &str = "secret-id-9c1e-do-not-print";
    const SESSION_KEY: &str = "5e55105e55105e55105e55105e55105e55105e55105e55105e55105e55105e55";
    const FIELD_KEYS: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    /// A tiny stand-in for Vault on 127.0.0.1: the KV v2 read API, the
    /// AppRole login and token self-revocation. Answers every connection
    /// once and closes it; records what was asked.
    struct FakeVault {
        addr: String,
        requests: Arc<Mutex<Vec<String>>>,
    }

    impl FakeVault {
        fn start(data: serde_json::Value) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = format!("http://{}", listener.local_addr().unwrap());
            let requests = Arc::new(Mutex::new(Vec::new()));
            let seen = requests.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    let Some((line, status, body)) = answer(stream.try_clone().unwrap(), &data)
                    else {
                        continue;
                    };
                    seen.lock().unwrap().push(line);
                    let mut stream = stream;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
            });
            Self { addr, requests }
        }

        fn requests(&self) -> Vec<String> {
            self.requests.lock().unwrap().clone()
        }
    }

    /// Reads one request; returns its request line, the status and the
    /// body (`None` for what is not HTTP, like a TLS handshake).
    fn answer(
        stream: std::net::TcpStream,
        data: &serde_json::Value,
    ) -> Option<(String, u16, String)> {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end().to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).ok()?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body).ok()?;
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let token_ok = headers.get("x-vault-token").map(String::as_str) == Some(TOKEN);
        let denied = r#"{"errors":["permission denied"]}"#.to_owned();
        let (status, reply) = match line.split(' ').take(2).collect::<Vec<_>>()[..] {
            ["POST", "/v1/auth/approle/login"] => {
                if body["role_id"] == ROLE_ID && body["secret_id"] == SECRET_ID {
                    let auth = serde_json::json!({
                        "auth": { "client_token": TOKEN, "lease_duration": 60, "renewable": true }
                    });
                    (200, auth.to_string())
                } else {
                    // A misbehaving server echoing what it was sent.
                    let echo = format!("invalid role or secret ID ({})", body["secret_id"]);
                    (400, serde_json::json!({ "errors": [echo] }).to_string())
                }
            }
            ["POST", "/v1/auth/token/revoke-self"] if token_ok => (204, String::new()),
            ["GET", "/v1/secret/data/app"] if token_ok => {
                let read = serde_json::json!({
                    "request_id": "r1",
                    "data": {
                        "data": data,
                        "metadata": { "version": 3, "deletion_time": "", "destroyed": false }
                    }
                });
                (200, read.to_string())
            }
            ["GET", _] if token_ok => (404, r#"{"errors":[]}"#.to_owned()),
            _ => (403, denied),
        };
        Some((line, status, reply))
    }

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn secrets() -> serde_json::Value {
        serde_json::json!({
            "SESSION_KEY": SESSION_KEY,
            "FIELD_KEYS": FIELD_KEYS,
            "DATABASE_URL": "sqlite:///tmp/from-vault.db",
            "PORT": 8200,
        })
    }

    fn fetch(pairs: &[(&str, &str)]) -> Result<Option<Arc<VaultSecrets>>, Vec<SecretError>> {
        let map = vars(pairs);
        load(&|n| map.get(n).cloned(), false)
    }

    fn assert_no_secret(text: &str) {
        for secret in [
            TOKEN,
            SECRET_ID,
            ROLE_ID,
            SESSION_KEY,
            "000102030405060708090a0b",
        ] {
            assert!(!text.contains(secret), "`{secret}` leaked into: {text}");
        }
    }

    #[test]
    fn values_come_through_with_a_token() {
        let vault = FakeVault::start(secrets());
        let read = fetch(&[
            ("VAULT_ADDR", &vault.addr),
            ("VAULT_TOKEN", TOKEN),
            ("VAULT_SECRET_PATH", "app"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(read.location(), "secret/data/app");
        let get = |n: &str| read.get(n).unwrap().map(|v| v.expose_secret().to_owned());
        assert_eq!(get("SESSION_KEY").as_deref(), Some(SESSION_KEY));
        assert_eq!(get("FIELD_KEYS").as_deref(), Some(FIELD_KEYS));
        assert_eq!(get("PORT").as_deref(), Some("8200"));
        assert_eq!(get("MISSING"), None);
        assert_eq!(vault.requests(), ["GET /v1/secret/data/app HTTP/1.1"]);
        let debug = format!("{read:?}");
        assert!(debug.contains("SESSION_KEY") && debug.contains("[redacted]"));
        assert_no_secret(&debug);
    }

    #[test]
    fn approle_logs_in_reads_and_revokes_its_token() {
        let vault = FakeVault::start(secrets());
        let map = vars(&[
            ("VAULT_ADDR", &vault.addr),
            ("VAULT_ROLE_ID", ROLE_ID),
            ("VAULT_SECRET_ID", SECRET_ID),
            ("VAULT_KV_MOUNT", "/secret/"),
            ("VAULT_SECRET_PATH", "/app"),
        ]);
        let config = VaultConfig::from_lookup(&|n| map.get(n).cloned(), true)
            .unwrap()
            .unwrap();
        assert_no_secret(&format!("{config:?}"));
        let read = config.fetch().unwrap();
        assert!(read.get("SESSION_KEY").unwrap().is_some());
        assert_eq!(
            vault.requests(),
            [
                "POST /v1/auth/approle/login HTTP/1.1",
                "GET /v1/secret/data/app HTTP/1.1",
                "POST /v1/auth/token/revoke-self HTTP/1.1"
            ]
        );
    }

    #[test]
    fn a_wrong_token_or_secret_id_is_a_clear_error_without_the_secret() {
        let vault = FakeVault::start(secrets());
        let err = fetch(&[
            ("VAULT_ADDR", &vault.addr),
            ("VAULT_TOKEN", "hvs.wrong-token-value"),
            ("VAULT_SECRET_PATH", "app"),
        ])
        .unwrap_err();
        let text = err[0].to_string();
        assert!(text.starts_with("VAULT_TOKEN: Vault at"), "{text}");
        assert!(text.contains("HTTP 403: permission denied"), "{text}");
        assert!(!text.contains("wrong-token-value"), "{text}");

        let err = fetch(&[
            ("VAULT_ADDR", &vault.addr),
            ("VAULT_ROLE_ID", ROLE_ID),
            ("VAULT_SECRET_ID", "secret-id-wrong-do-not-print"),
            ("VAULT_SECRET_PATH", "app"),
        ])
        .unwrap_err();
        let text = err[0].to_string();
        assert!(
            text.contains("VAULT_SECRET_ID") && text.contains("AppRole"),
            "{text}"
        );
        assert!(text.contains("invalid role or secret ID"), "{text}");
        assert!(!text.contains("secret-id-wrong"), "{text}");
        assert!(!format!("{err:?}").contains("secret-id-wrong"));
    }

    #[test]
    fn a_missing_secret_or_unreachable_vault_is_a_clear_error() {
        let vault = FakeVault::start(secrets());
        let err = fetch(&[
            ("VAULT_ADDR", &vault.addr),
            ("VAULT_TOKEN", TOKEN),
            ("VAULT_SECRET_PATH", "other/app"),
        ])
        .unwrap_err();
        let text = err[0].to_string();
        assert!(text.starts_with("VAULT_SECRET_PATH:"), "{text}");
        assert!(
            text.contains("no secret at secret/data/other/app"),
            "{text}"
        );
        assert_no_secret(&text);

        // A port nobody listens on.
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let err = fetch(&[
            ("VAULT_ADDR", &addr),
            ("VAULT_TOKEN", TOKEN),
            ("VAULT_SECRET_PATH", "app"),
            ("VAULT_START_TIMEOUT_SECS", "0"),
        ])
        .unwrap_err();
        let text = err[0].to_string();
        assert!(text.starts_with("VAULT_ADDR: cannot reach Vault"), "{text}");
        assert_no_secret(&text);

        // HTTPS to a server that does not speak TLS: the rustls client (with
        // the aws-lc-rs provider) refuses, as a startup error.
        let https = vault.addr.replacen("http://", "https://", 1);
        let err = fetch(&[
            ("VAULT_ADDR", &https),
            ("VAULT_TOKEN", TOKEN),
            ("VAULT_SECRET_PATH", "app"),
            ("VAULT_START_TIMEOUT_SECS", "0"),
        ])
        .unwrap_err();
        let text = err[0].to_string();
        assert!(text.starts_with("VAULT_ADDR: cannot reach Vault"), "{text}");
        assert_no_secret(&text);
    }

    #[test]
    fn vault_settings_are_checked_together() {
        let map = vars(&[]);
        assert!(VaultConfig::from_lookup(&|n| map.get(n).cloned(), true)
            .unwrap()
            .is_none());
        let check = |pairs: &[(&str, &str)], production: bool| -> Vec<String> {
            let map = vars(pairs);
            VaultConfig::from_lookup(&|n| map.get(n).cloned(), production)
                .err()
                .unwrap_or_default()
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        let errors = check(&[("VAULT_ADDR", "https://vault:8200")], false);
        assert!(
            errors.iter().any(|e| e.starts_with("VAULT_TOKEN:")),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.starts_with("VAULT_SECRET_PATH:")),
            "{errors:?}"
        );
        let errors = check(
            &[
                ("VAULT_ADDR", "https://vault:8200"),
                ("VAULT_TOKEN", TOKEN),
                ("VAULT_ROLE_ID", ROLE_ID),
                ("VAULT_SECRET_ID", SECRET_ID),
                ("VAULT_SECRET_PATH", "../sys"),
            ],
            false,
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("not both") && errors[1].starts_with("VAULT_SECRET_PATH"));
        for e in &errors {
            assert_no_secret(e);
        }
        let plain = [
            ("VAULT_ADDR", "http://vault.internal:8200"),
            ("VAULT_TOKEN", TOKEN),
            ("VAULT_SECRET_PATH", "app"),
        ];
        assert!(check(&plain, false).is_empty());
        assert!(check(&plain, true)[0].contains("https://"));
        let local = [
            ("VAULT_ADDR", "http://127.0.0.1:8200"),
            ("VAULT_TOKEN", TOKEN),
            ("VAULT_SECRET_PATH", "app"),
        ];
        assert!(check(&local, true).is_empty());
        assert!(!check(&[("VAULT_SECRET_PATH", "app")], false).is_empty());
        assert!(is_loopback("[::1]:8200/x") && is_loopback("localhost"));
        assert!(!is_loopback("10.0.0.1:8200"));
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let map = vars(&[
            ("VAULT_ADDR", "https://127.0.0.1:1"),
            ("VAULT_TOKEN", TOKEN),
            ("VAULT_SECRET_PATH", "app"),
            ("VAULT_CACERT", "/does/not/exist.pem"),
        ]);
        let err = load(&|n| map.get(n).cloned(), true).unwrap_err();
        assert!(err[0].to_string().starts_with("VAULT_CACERT:"), "{err:?}");
    }

    #[test]
    fn settings_read_the_database_url_from_vault_and_fail_startup_on_a_bad_token() {
        let vault = FakeVault::start(secrets());
        let good = vars(&[
            ("VAULT_ADDR", &vault.addr),
            ("VAULT_TOKEN", TOKEN),
            ("VAULT_SECRET_PATH", "app"),
        ]);
        let settings = crate::config::Settings::from_lookup(|n| good.get(n).cloned()).unwrap();
        assert_eq!(
            settings.database_url.expose_secret(),
            "sqlite:///tmp/from-vault.db"
        );
        assert_no_secret(&format!("{settings:?}"));

        let bad = vars(&[
            ("VAULT_ADDR", &vault.addr),
            ("VAULT_TOKEN", "hvs.bad"),
            ("VAULT_SECRET_PATH", "app"),
        ]);
        let err = crate::config::Settings::from_lookup(|n| bad.get(n).cloned()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("VAULT_TOKEN: Vault at"), "{text}");
        assert!(!text.contains("hvs.bad"));
    }
}
