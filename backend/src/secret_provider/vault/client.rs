//! The HTTP client Vault is reached with (rustls, no redirects, a global
//! timeout), the start-up retry, and Vault's answers read safely: bounded
//! bodies, error messages shortened, escaped and scrubbed.

use super::VaultConfig;
use crate::secret_provider::SecretError;
use std::sync::Arc;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read from Vault.
const MAX_BODY: u64 = 1024 * 1024;

impl VaultConfig {
    pub(super) fn agent(&self) -> Result<ureq::Agent, SecretError> {
        use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
        let mut tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ));
        if let Some(path) = &self.ca_cert {
            let pem = std::fs::read(path).map_err(|e| {
                SecretError::new(
                    "VAULT_CACERT",
                    format!("cannot read `{}`: {}", path.display(), e.kind()),
                )
            })?;
            let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(SecretError::new(
                    "VAULT_CACERT",
                    format!("`{}` holds no PEM certificate", path.display()),
                ));
            }
            tls = tls.root_certs(RootCerts::new_with_certs(&certs));
        }
        let config = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(TIMEOUT))
            .build();
        Ok(ureq::Agent::new_with_config(config))
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.addr)
    }
}

/// Calls `attempt` until it succeeds, fails for a reason other than
/// reaching Vault, or `timeout` has passed; waits 0.25 s, 0.5 s, 1 s, …
/// (at most 8 s) between attempts. Every request error that names
/// `VAULT_ADDR` means Vault is unreachable or not ready (HTTP 5xx).
pub(super) fn retry<T>(
    addr: &str,
    timeout: Duration,
    mut attempt: impl FnMut() -> Result<T, SecretError>,
) -> Result<T, SecretError> {
    let deadline = std::time::Instant::now() + timeout;
    let mut wait = Duration::from_millis(250);
    let mut tries = 0;
    loop {
        tries += 1;
        let e = match attempt() {
            Ok(value) => return Ok(value),
            Err(e) if e.variable != "VAULT_ADDR" => return Err(e),
            Err(e) => e,
        };
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(SecretError::new(
                "VAULT_ADDR",
                format!(
                    "{} (gave up after {tries} attempts in {} s: VAULT_START_TIMEOUT_SECS)",
                    e.problem,
                    timeout.as_secs()
                ),
            ));
        }
        tracing::warn!(vault = %addr, attempt = tries, problem = %e.problem, "Vault is not reachable yet; trying again");
        std::thread::sleep(wait.min(left));
        wait = (wait * 2).min(Duration::from_secs(8));
    }
}

pub(super) fn unreachable_error(addr: &str, e: &ureq::Error) -> SecretError {
    SecretError::new(
        "VAULT_ADDR",
        format!(
            "cannot reach Vault at {addr}: {}",
            crate::telemetry::log_safe(&e.to_string())
        ),
    )
}

pub(super) fn read_body(response: &mut ureq::http::Response<ureq::Body>) -> String {
    response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .unwrap_or_default()
}

/// Vault's `{"errors":[…]}` as `: message; message`, shortened and escaped,
/// with every credential in `scrub` cut out (a server could echo them).
pub(super) fn vault_errors(body: &str, scrub: &[&str]) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<String>,
    }
    let Ok(parsed) = serde_json::from_str::<Errors>(body) else {
        return String::new();
    };
    let mut joined = parsed.errors.join("; ");
    for s in scrub.iter().filter(|s| !s.is_empty()) {
        joined = joined.replace(s, crate::secret_provider::REDACTED);
    }
    let safe = crate::telemetry::log_safe(&joined);
    if safe.is_empty() {
        String::new()
    } else {
        format!(": {safe}")
    }
}
