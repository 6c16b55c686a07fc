//! The `VAULT_*` settings: read and checked together (`VaultConfig::from_lookup`).

use super::{VaultAuth, VaultConfig};
use crate::secret_provider::SecretError;
use std::path::PathBuf;
use std::time::Duration;

/// How long start-up keeps trying to reach Vault without `VAULT_START_TIMEOUT_SECS`.
const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(60);

impl VaultConfig {
    /// Reads the `VAULT_*` variables through `lookup`: `Ok(None)` when
    /// `VAULT_ADDR` is unset, every problem at once otherwise.
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
        production: bool,
    ) -> Result<Option<Self>, Vec<SecretError>> {
        let plain = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let local = crate::secret_provider::ProviderChain::standard(lookup, None);
        let mut errors = Vec::new();
        let mut secret = |name: &str| {
            local.get(name).unwrap_or_else(|e| {
                errors.push(e);
                None
            })
        };
        let token = secret("VAULT_TOKEN");
        let role_id = secret("VAULT_ROLE_ID");
        let secret_id = secret("VAULT_SECRET_ID");
        let Some(addr) = plain("VAULT_ADDR") else {
            for name in ["VAULT_SECRET_PATH", "VAULT_ROLE_ID"] {
                if plain(name).is_some() {
                    errors.push(SecretError::new(
                        name,
                        "is set but VAULT_ADDR is not (set VAULT_ADDR to use Vault)",
                    ));
                }
            }
            return if errors.is_empty() {
                Ok(None)
            } else {
                Err(errors)
            };
        };
        let addr = addr.trim_end_matches('/').to_owned();
        match addr.split_once("://") {
            Some(("https", rest)) if !rest.is_empty() => {}
            Some(("http", rest)) if !rest.is_empty() => {
                if production && !is_loopback(rest) {
                    errors.push(SecretError::new(
                        "VAULT_ADDR",
                        "must start with https:// in production (plain http:// only to a loopback address)",
                    ));
                }
            }
            _ => errors.push(SecretError::new(
                "VAULT_ADDR",
                format!("`{addr}` must start with https:// (or http://)"),
            )),
        }
        let auth = match (token, role_id, secret_id) {
            (Some(token), None, None) => Some(VaultAuth::Token(token)),
            (None, Some(role_id), Some(secret_id)) => {
                Some(VaultAuth::AppRole { role_id, secret_id })
            }
            (Some(_), _, _) => {
                errors.push(SecretError::new(
                    "VAULT_TOKEN",
                    "set either VAULT_TOKEN or VAULT_ROLE_ID and VAULT_SECRET_ID (AppRole), not both",
                ));
                None
            }
            (None, Some(_), None) | (None, None, Some(_)) => {
                errors.push(SecretError::new(
                    "VAULT_SECRET_ID",
                    "AppRole needs both VAULT_ROLE_ID and VAULT_SECRET_ID",
                ));
                None
            }
            (None, None, None) => {
                errors.push(SecretError::new(
                    "VAULT_TOKEN",
                    "VAULT_ADDR is set: give VAULT_TOKEN (or VAULT_TOKEN_FILE), or VAULT_ROLE_ID and VAULT_SECRET_ID",
                ));
                None
            }
        };
        let mount = plain("VAULT_KV_MOUNT").unwrap_or_else(|| "secret".into());
        let mount = mount.trim_matches('/').to_owned();
        if !is_vault_path(&mount) {
            errors.push(SecretError::new(
                "VAULT_KV_MOUNT",
                "must be path segments of letters, digits, '.', '-' or '_'",
            ));
        }
        let path = match plain("VAULT_SECRET_PATH") {
            Some(p) => {
                let p = p.trim_matches('/').to_owned();
                if !is_vault_path(&p) {
                    errors.push(SecretError::new(
                        "VAULT_SECRET_PATH",
                        "must be path segments of letters, digits, '.', '-' or '_'",
                    ));
                }
                p
            }
            None => {
                errors.push(SecretError::new(
                    "VAULT_SECRET_PATH",
                    "is required with VAULT_ADDR (the KV v2 secret holding the keys, like `secure-reference/prod`)",
                ));
                String::new()
            }
        };
        let namespace = plain("VAULT_NAMESPACE");
        let ca_cert = plain("VAULT_CACERT").map(PathBuf::from);
        let start_timeout = match plain("VAULT_START_TIMEOUT_SECS") {
            None => DEFAULT_START_TIMEOUT,
            Some(v) => match v.parse::<u64>() {
                Ok(secs) if secs <= 3600 => Duration::from_secs(secs),
                _ => {
                    errors.push(SecretError::new(
                        "VAULT_START_TIMEOUT_SECS",
                        "must be a number of seconds from 0 to 3600",
                    ));
                    DEFAULT_START_TIMEOUT
                }
            },
        };
        let mut segment = |name: &str, default: Option<&str>| {
            let value = plain(name).or(default.map(str::to_owned))?;
            let value = value.trim_matches('/').to_owned();
            if !is_vault_path(&value) {
                errors.push(SecretError::new(
                    name,
                    "must be path segments of letters, digits, '.', '-' or '_'",
                ));
            }
            Some(value)
        };
        let db_role = segment("VAULT_DB_ROLE", None);
        let db_mount = segment("VAULT_DB_MOUNT", Some("database")).unwrap_or_default();
        match auth {
            Some(auth) if errors.is_empty() => Ok(Some(Self {
                addr,
                auth,
                mount,
                path,
                namespace,
                ca_cert,
                start_timeout,
                db_role,
                db_mount,
            })),
            _ => Err(errors),
        }
    }
}

/// `host[:port][/…]` names this machine.
pub(super) fn is_loopback(rest: &str) -> bool {
    let authority = rest.split('/').next().unwrap_or_default();
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Segments of `[A-Za-z0-9._-]`, no `.` or `..` segment.
fn is_vault_path(path: &str) -> bool {
    !path.is_empty()
        && path.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        })
}
