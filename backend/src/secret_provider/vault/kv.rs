//! Reading the KV version 2 secret (`GET /v1/<mount>/data/<path>`): with
//! a token kept for the database credentials, or a one-off login.

use super::client::{read_body, retry, unreachable_error, vault_errors};
use super::{database, session, VaultAuth, VaultConfig, VaultSecrets};
use crate::secret_provider::SecretError;
use secrecy::{ExposeSecret, SecretString};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

impl VaultConfig {
    /// `<mount>/data/<path>`, as Vault's own tools show a KV v2 secret.
    pub fn location(&self) -> String {
        format!("{}/data/{}", self.mount, self.path)
    }

    /// Logs in (AppRole) if needed and reads the secret, trying again with
    /// exponential backoff while Vault is unreachable or not ready (sealed,
    /// standby), for at most `VAULT_START_TIMEOUT_SECS`. With `VAULT_DB_ROLE`
    /// the token is kept, and renewed, for the database credentials;
    /// otherwise an AppRole login's token is revoked at once.
    pub fn fetch(self) -> Result<VaultSecrets, SecretError> {
        let agent = self.agent()?;
        let addr = self.addr.clone();
        let timeout = self.start_timeout;
        if self.db_role.is_some() {
            let (token, mut secrets) = retry(&addr, timeout, || {
                let token = session::Token::log_in(&self, &agent)?;
                let secrets = self.read(&agent, &token.value)?;
                Ok((token, secrets))
            })?;
            let session = Arc::new(session::Session::new(self, agent, token));
            session::Session::keep_renewing(&session)?;
            secrets.database = Some(Arc::new(database::DynamicCredentials::new(session)));
            return Ok(secrets);
        }
        retry(&addr, timeout, || {
            let (token, logged_in) = match &self.auth {
                VaultAuth::Token(token) => (token.clone(), false),
                VaultAuth::AppRole { role_id, secret_id } => {
                    (self.approle_login(&agent, role_id, secret_id)?.token, true)
                }
            };
            let read = self.read(&agent, &token);
            if logged_in {
                self.revoke(&agent, &token);
            }
            read
        })
    }

    fn read(&self, agent: &ureq::Agent, token: &SecretString) -> Result<VaultSecrets, SecretError> {
        let location = self.location();
        let mut request = agent
            .get(self.url(&location))
            .header("X-Vault-Token", token.expose_secret());
        if let Some(ns) = &self.namespace {
            request = request.header("X-Vault-Namespace", ns);
        }
        let mut response = request
            .call()
            .map_err(|e| unreachable_error(&self.addr, &e))?;
        let status = response.status().as_u16();
        let text = read_body(&mut response);
        let errors = vault_errors(&text, &[token.expose_secret()]);
        match status {
            200 => {}
            401 | 403 => {
                let variable = match self.auth {
                    VaultAuth::Token(_) => "VAULT_TOKEN",
                    VaultAuth::AppRole { .. } => "VAULT_ROLE_ID",
                };
                return Err(SecretError::new(
                    variable,
                    format!(
                        "Vault at {} denied reading {location} (HTTP {status}{errors}): check the token and that its policy may read this path",
                        self.addr
                    ),
                ));
            }
            404 => {
                return Err(SecretError::new(
                    "VAULT_SECRET_PATH",
                    format!(
                        "Vault at {} has no secret at {location} (HTTP 404): check VAULT_KV_MOUNT and VAULT_SECRET_PATH, and that the mount is a KV version 2 engine",
                        self.addr
                    ),
                ));
            }
            _ => {
                return Err(SecretError::new(
                    "VAULT_ADDR",
                    format!(
                        "Vault at {} answered HTTP {status} reading {location}{errors}",
                        self.addr
                    ),
                ));
            }
        }
        #[derive(serde::Deserialize)]
        struct Read {
            data: Option<Kv>,
        }
        #[derive(serde::Deserialize)]
        struct Kv {
            data: Option<BTreeMap<String, serde_json::Value>>,
            metadata: Option<serde_json::Value>,
        }
        let kv = serde_json::from_str::<Read>(&text)
            .ok()
            .and_then(|r| r.data)
            .ok_or_else(|| {
                SecretError::new(
                    "VAULT_KV_MOUNT",
                    format!("Vault's answer for {location} is not a KV version 2 secret (is the mount KV v1?)"),
                )
            })?;
        let data = kv.data.ok_or_else(|| {
            SecretError::new(
                "VAULT_SECRET_PATH",
                format!("the current version of {location} in Vault is deleted"),
            )
        })?;
        let version = kv
            .metadata
            .as_ref()
            .and_then(|m| m.get("version"))
            .and_then(serde_json::Value::as_u64);
        let mut values = HashMap::new();
        for (key, value) in data {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            values.insert(key, SecretString::from(text));
        }
        tracing::info!(
            location = %location,
            version,
            keys = values.len(),
            "read the secrets from Vault"
        );
        Ok(VaultSecrets {
            location,
            values,
            database: None,
        })
    }
}
