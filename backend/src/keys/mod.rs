//! Keys the server needs, from the secret providers (the environment,
//! `<NAME>_FILE`, then Vault: `secret_provider`) or — in dev mode without
//! Vault only — generated once under `APP_DATA_DIR/keys/` with mode 0600.
//!
//! In production a missing key stops start-up: a generated key there would be
//! lost on the next deploy (logging everyone out) or differ between replicas.
//! With Vault configured a missing key stops start-up in dev mode too: the
//! operator asked for managed keys, a generated one would hide the mistake.
//!
//! Layer: infrastructure, the top of it: above `key_provider`, `config`, `secret_provider`; the field keys the database holds are loaded by `services::key_loading`, above it.
//!
//! `Keys` (this file) is what the server holds once they are loaded; the
//! loading is by kind: `signing` (RS256, folder or HSM), `symmetric`
//! (`SESSION_KEY`, `FIELD_KEYS`), and `files` (how key files are written).

pub mod files;
pub mod signing;
pub mod symmetric;

use crate::config::Settings;
use crate::secret_provider::{ProviderChain, Redacted};
use crate::security::field_crypto::FieldKeys;
use crate::security::session_keys::SessionKeys;
use signing::SigningKeys;
use symmetric::{field_keys_from, session_keys_from};

/// Every key the server loads at start-up.
pub struct Keys {
    /// `SESSION_KEY`: HMAC keys, `kid:hex,…` the first current, or one
    /// 64-hex key (id `legacy`). Refresh tokens, MFA challenges, recovery
    /// codes, OAuth codes and client secrets are stored only as an HMAC under
    /// these keys, so a copy of the database alone is useless.
    pub session: SessionKeys,
    /// The RS256 keys that sign and verify access tokens.
    pub signing: SigningKeys,
    /// `FIELD_KEYS`: AES-256-GCM keys for encrypted columns, `kid:hex,…`,
    /// the first one current.
    pub fields: FieldKeys,
}

impl Keys {
    /// Every key with `KEY_PROVIDER=files`, the variables read through
    /// `lookup` (`std::env::var`, or a map in tests). With `pkcs11` the field
    /// keys are in the database: `services::key_loading::load_keys`.
    pub fn load_with(
        settings: &Settings,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let providers = ProviderChain::standard(lookup, settings.vault.as_deref());
        Ok(Self {
            session: session_keys_from(settings, &providers)?,
            signing: SigningKeys::load(settings)?,
            fields: field_keys_from(settings, &providers)?,
        })
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("session", &Redacted)
            .field("signing", &self.signing)
            .field("fields", &self.fields)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    fn dev_settings(dir: &Path, extra: &[(&str, &str)]) -> Settings {
        let mut vars: std::collections::HashMap<String, String> = extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        vars.insert("APP_DATA_DIR".into(), dir.display().to_string());
        Settings::from_lookup(|n| vars.get(n).cloned()).unwrap()
    }

    const SESSION_HEX: &str = "5e55105e55105e55105e55105e55105e55105e55105e55105e55105e55105e55";
    const FIELD_HEX: &str = "f1e1df1e1df1e1df1e1df1e1df1e1df1e1df1e1df1e1df1e1df1e1df1e1df1e1";

    #[test]
    fn keys_come_from_vault_when_nothing_local_holds_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = dev_settings(dir.path(), &[]);
        let field_keys = format!("vk:{FIELD_HEX}");
        settings.vault = Some(Arc::new(crate::secret_provider::VaultSecrets::from_values(
            "secret/data/app",
            [
                ("SESSION_KEY", SESSION_HEX),
                ("FIELD_KEYS", field_keys.as_str()),
            ],
        )));
        let keys = Keys::load_with(&settings, &|_| None).unwrap();
        assert_eq!(hex::encode(keys.session.current_key()), SESSION_HEX);
        assert_eq!(keys.session.current_kid(), "legacy");
        assert_eq!(keys.fields.current_kid(), "vk");
        // A local value overrides Vault.
        let local = format!("lk:{FIELD_HEX}");
        let keys =
            Keys::load_with(&settings, &|n| (n == "FIELD_KEYS").then(|| local.clone())).unwrap();
        assert_eq!(keys.fields.current_kid(), "lk");
    }

    #[test]
    fn a_key_missing_from_vault_is_a_clear_error_even_in_dev_mode() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = dev_settings(dir.path(), &[]);
        settings.vault = Some(Arc::new(crate::secret_provider::VaultSecrets::from_values(
            "secret/data/app",
            [("SESSION_KEY", SESSION_HEX)],
        )));
        let err = Keys::load_with(&settings, &|_| None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("FIELD_KEYS is missing: Vault is configured"),
            "{err}"
        );
        assert!(
            err.contains("key FIELD_KEYS in Vault at secret/data/app"),
            "{err}"
        );
        assert!(!err.contains(SESSION_HEX));
        // Nothing was generated in its place.
        assert!(!dir.path().join("keys").join("field.keys").exists());
    }

    #[test]
    fn asvs_13_3_1_no_secret_the_app_holds_prints() {
        let dir = tempfile::tempdir().unwrap();
        let db_url = "postgres://app:db-pass-w0rd@db.internal/app";
        let settings = dev_settings(dir.path(), &[("DATABASE_URL", db_url)]);
        let field_keys = format!("fk:{FIELD_HEX}");
        let lookup = |n: &str| match n {
            "SESSION_KEY" => Some(SESSION_HEX.to_owned()),
            "FIELD_KEYS" => Some(field_keys.clone()),
            _ => None,
        };
        let keys = Keys::load_with(&settings, &lookup).unwrap();
        let pem = std::fs::read_dir(dir.path().join("keys").join("signing"))
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .next()
            .unwrap();
        let pem_body: String = pem.lines().nth(1).unwrap().chars().take(40).collect();
        let printed = format!(
            "{keys:?} {settings:?} {:?}",
            keys.signing.current().current()
        );
        for secret in [SESSION_HEX, FIELD_HEX, "db-pass-w0rd", pem_body.as_str()] {
            assert!(!printed.contains(secret), "{secret} printed in {printed}");
        }
        assert!(printed.contains("[redacted]"));
        assert!(printed.contains("fk"), "key ids may show: {printed}");
    }
}
