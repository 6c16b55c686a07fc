//! A Vault token kept for the life of the process (only with
//! `VAULT_DB_ROLE`: the database credentials need Vault after start-up).
//!
//! The token is renewed (`auth/token/renew-self`) when two thirds of what
//! Vault last granted have passed. An AppRole login logs in again when
//! Vault refuses the renewal or grants less than the token was issued with
//! (it is at its max TTL); a `VAULT_TOKEN` cannot be replaced, so then the
//! log says loudly when it will expire. While Vault is unreachable the token
//! in hand is kept and the renewal tried again, with an error in the log.
//!
//! Layer: infrastructure, in `secret_provider`: imports nothing outside it.

use super::client::{read_body, unreachable_error, vault_errors};
use super::{VaultAuth, VaultConfig};
use crate::secret_provider::SecretError;
use secrecy::{ExposeSecret, SecretString};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What Vault granted: a token and how long it lives.
pub(super) struct Grant {
    pub token: SecretString,
    /// Zero: it does not expire.
    pub ttl: Duration,
    pub renewable: bool,
}

/// The token in use.
pub(super) struct Token {
    pub value: SecretString,
    /// What it was issued with; a renewal granting less means max TTL.
    issued: Duration,
    /// What the last login or renewal granted, and when.
    granted: Duration,
    at: Instant,
    renewable: bool,
}

impl Token {
    fn from_grant(grant: Grant) -> Self {
        Self {
            value: grant.token,
            issued: grant.ttl,
            granted: grant.ttl,
            at: Instant::now(),
            renewable: grant.renewable,
        }
    }

    /// Logs in with AppRole, or looks the given token up to learn its TTL.
    pub fn log_in(config: &VaultConfig, agent: &ureq::Agent) -> Result<Self, SecretError> {
        match &config.auth {
            VaultAuth::AppRole { role_id, secret_id } => Ok(Self::from_grant(
                config.approle_login(agent, role_id, secret_id)?,
            )),
            VaultAuth::Token(token) => {
                let (status, text) =
                    call(config, agent, token, "GET", "auth/token/lookup-self", None)?;
                #[derive(serde::Deserialize)]
                struct Lookup {
                    data: LookupData,
                }
                #[derive(serde::Deserialize)]
                struct LookupData {
                    #[serde(default)]
                    ttl: u64,
                    #[serde(default)]
                    renewable: bool,
                    #[serde(default)]
                    creation_ttl: u64,
                    #[serde(default)]
                    period: Option<u64>,
                }
                let data = match serde_json::from_str::<Lookup>(&text) {
                    Ok(l) if status == 200 => l.data,
                    _ => {
                        return Err(SecretError::new(
                            "VAULT_TOKEN",
                            format!(
                                "Vault at {} refused to look up the token (HTTP {status}{}): its policy must allow auth/token/lookup-self and renew-self",
                                config.addr,
                                vault_errors(&text, &[token.expose_secret()])
                            ),
                        ))
                    }
                };
                let issued = data.period.filter(|p| *p > 0).unwrap_or(data.creation_ttl);
                Ok(Self {
                    value: token.clone(),
                    issued: Duration::from_secs(issued),
                    granted: Duration::from_secs(data.ttl),
                    at: Instant::now(),
                    renewable: data.renewable,
                })
            }
        }
    }

    /// When the next renewal is due (`None`: the token does not expire).
    fn due(&self) -> Option<Instant> {
        (!self.granted.is_zero()).then(|| self.at + self.granted * 2 / 3)
    }

    fn expires(&self) -> Instant {
        self.at + self.granted
    }
}

/// The logged-in client, shared by the renewal thread and the database
/// credentials.
pub(super) struct Session {
    pub config: VaultConfig,
    agent: ureq::Agent,
    token: Mutex<Token>,
}

/// How long to wait before trying again after Vault could not be reached.
const RETRY: Duration = Duration::from_secs(5);

impl Session {
    pub fn new(config: VaultConfig, agent: ureq::Agent, token: Token) -> Self {
        Self {
            config,
            agent,
            token: Mutex::new(token),
        }
    }

    pub fn token(&self) -> SecretString {
        self.lock().value.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Token> {
        self.token.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A request with the current token: the status and the body.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, String), SecretError> {
        call(&self.config, &self.agent, &self.token(), method, path, body)
    }

    /// Starts the thread that keeps the token alive.
    pub fn keep_renewing(session: &Arc<Self>) -> Result<(), SecretError> {
        let session = Arc::clone(session);
        std::thread::Builder::new()
            .name("vault-token".into())
            .spawn(move || loop {
                let due = session.lock().due();
                let Some(due) = due else {
                    tracing::info!("the Vault token does not expire; no renewal needed");
                    return;
                };
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                if session.renew().is_err() {
                    std::thread::sleep(RETRY);
                }
            })
            .map(drop)
            .map_err(|e| {
                SecretError::new(
                    "VAULT_ADDR",
                    format!("cannot start the token renewal thread: {}", e.kind()),
                )
            })
    }

    /// Renews the token now, or logs in again (AppRole) when Vault refuses
    /// or the token is at its max TTL. `Err` when Vault could not be
    /// reached; the token in hand is kept (and logged about) then.
    pub fn renew(&self) -> Result<(), SecretError> {
        let renewable = self.lock().renewable;
        let renewed = if renewable {
            self.renew_self()
        } else {
            Ok(false)
        };
        let result = match renewed {
            Ok(true) => Ok(()),
            Ok(false) => self.log_in_again(),
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            let left = self
                .lock()
                .expires()
                .saturating_duration_since(Instant::now());
            tracing::error!(
                problem = %e,
                expires_in_secs = left.as_secs(),
                "cannot renew the Vault token; keeping the current one until it expires"
            );
        }
        result
    }

    /// `Ok(true)` when renewed for the full TTL, `Ok(false)` when refused or
    /// capped by the max TTL.
    fn renew_self(&self) -> Result<bool, SecretError> {
        let (status, text) = self.call(
            "POST",
            "auth/token/renew-self",
            Some(&serde_json::json!({})),
        )?;
        if status >= 500 {
            return Err(SecretError::new(
                "VAULT_ADDR",
                format!(
                    "Vault at {} answered HTTP {status} to the token renewal",
                    self.config.addr
                ),
            ));
        }
        #[derive(serde::Deserialize)]
        struct Renewed {
            auth: RenewedAuth,
        }
        #[derive(serde::Deserialize)]
        struct RenewedAuth {
            lease_duration: u64,
            #[serde(default)]
            renewable: bool,
        }
        let renewed = (status == 200)
            .then(|| serde_json::from_str::<Renewed>(&text).ok())
            .flatten();
        let Some(Renewed { auth: renewed }) = renewed else {
            let token = self.token();
            tracing::warn!(
                status,
                problem = %vault_errors(&text, &[token.expose_secret()]),
                "Vault refused to renew the token"
            );
            return Ok(false);
        };
        let mut token = self.lock();
        token.granted = Duration::from_secs(renewed.lease_duration);
        token.at = Instant::now();
        token.renewable = renewed.renewable;
        let full = token.granted >= token.issued;
        if full {
            tracing::info!(ttl_secs = renewed.lease_duration, "renewed the Vault token");
        } else {
            tracing::warn!(
                ttl_secs = renewed.lease_duration,
                "the Vault token is at its max TTL"
            );
        }
        Ok(full)
    }

    /// AppRole: a fresh token (the old one is revoked). A `VAULT_TOKEN`
    /// cannot be replaced: it is kept, with a warning, until it expires.
    fn log_in_again(&self) -> Result<(), SecretError> {
        let VaultAuth::AppRole { role_id, secret_id } = &self.config.auth else {
            let left = self
                .lock()
                .expires()
                .saturating_duration_since(Instant::now());
            tracing::error!(
                expires_in_secs = left.as_secs(),
                "the Vault token (VAULT_TOKEN) can no longer be renewed; give the app a new token or use AppRole before it expires"
            );
            return Ok(());
        };
        let grant = self.config.approle_login(&self.agent, role_id, secret_id)?;
        let old = std::mem::replace(&mut *self.lock(), Token::from_grant(grant));
        self.config.revoke(&self.agent, &old.value);
        tracing::info!("logged in to Vault again with AppRole");
        Ok(())
    }
}

/// One request to Vault with `token`.
fn call(
    config: &VaultConfig,
    agent: &ureq::Agent,
    token: &SecretString,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Result<(u16, String), SecretError> {
    let url = config.url(path);
    let builder = ureq::http::Request::builder()
        .method(method)
        .uri(&url)
        .header("X-Vault-Token", token.expose_secret());
    let builder = match &config.namespace {
        Some(ns) => builder.header("X-Vault-Namespace", ns),
        None => builder,
    };
    let invalid = |_| SecretError::new("VAULT_ADDR", format!("`{url}` is not a valid URL"));
    let sent = match body {
        Some(body) => agent.run(builder.body(body.to_string()).map_err(invalid)?),
        None => agent.run(builder.body(()).map_err(invalid)?),
    };
    let mut response = sent.map_err(|e| unreachable_error(&config.addr, &e))?;
    let status = response.status().as_u16();
    Ok((status, read_body(&mut response)))
}
