//! Vault tokens this process logs in for: the AppRole login and the
//! revocation of its token once it is no longer needed.

use super::client::{read_body, unreachable_error, vault_errors};
use super::{session, VaultConfig};
use crate::secret_provider::SecretError;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

impl VaultConfig {
    pub(super) fn approle_login(
        &self,
        agent: &ureq::Agent,
        role_id: &SecretString,
        secret_id: &SecretString,
    ) -> Result<session::Grant, SecretError> {
        let fail = |problem: String| SecretError::new("VAULT_SECRET_ID", problem);
        let body = serde_json::json!({
            "role_id": role_id.expose_secret(),
            "secret_id": secret_id.expose_secret(),
        });
        let mut request = agent.post(self.url("auth/approle/login"));
        if let Some(ns) = &self.namespace {
            request = request.header("X-Vault-Namespace", ns);
        }
        let mut response = request
            .send_json(&body)
            .map_err(|e| unreachable_error(&self.addr, &e))?;
        let status = response.status().as_u16();
        let text = read_body(&mut response);
        let scrub = [role_id.expose_secret(), secret_id.expose_secret()];
        if status >= 500 {
            // Not ready (sealed, standby): worth trying again at start-up.
            return Err(SecretError::new(
                "VAULT_ADDR",
                format!(
                    "Vault at {} answered HTTP {status} to the AppRole login{}",
                    self.addr,
                    vault_errors(&text, &scrub)
                ),
            ));
        }
        if status != 200 {
            return Err(fail(format!(
                "Vault refused the AppRole login at {} (HTTP {status}{}): check VAULT_ROLE_ID and VAULT_SECRET_ID",
                self.addr,
                vault_errors(&text, &scrub)
            )));
        }
        #[derive(serde::Deserialize)]
        struct Login {
            auth: Option<Auth>,
        }
        #[derive(serde::Deserialize)]
        struct Auth {
            client_token: String,
            #[serde(default)]
            lease_duration: u64,
            #[serde(default)]
            renewable: bool,
        }
        serde_json::from_str::<Login>(&text)
            .ok()
            .and_then(|l| l.auth)
            .filter(|a| !a.client_token.is_empty())
            .map(|a| session::Grant {
                token: SecretString::from(a.client_token),
                ttl: Duration::from_secs(a.lease_duration),
                renewable: a.renewable,
            })
            .ok_or_else(|| {
                fail(format!(
                    "Vault's AppRole login answer at {} holds no client token",
                    self.addr
                ))
            })
    }

    /// Revokes a token this process logged in for (best effort: it expires anyway).
    pub(super) fn revoke(&self, agent: &ureq::Agent, token: &SecretString) {
        let mut request = agent
            .post(self.url("auth/token/revoke-self"))
            .header("X-Vault-Token", token.expose_secret());
        if let Some(ns) = &self.namespace {
            request = request.header("X-Vault-Namespace", ns);
        }
        match request.send_empty() {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => tracing::warn!(
                status = r.status().as_u16(),
                "could not revoke the Vault login token; it expires with its TTL"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "could not revoke the Vault login token; it expires with its TTL")
            }
        }
    }
}
