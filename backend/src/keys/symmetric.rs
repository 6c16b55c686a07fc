//! The symmetric keys: `SESSION_KEY` (HMAC) and `FIELD_KEYS` (AES-GCM),
//! from the secret providers or, in dev mode without Vault, the dev key
//! files; a missing key stops start-up where generating one is not allowed.

use super::files::{dev_key, restrict, write_private};
use crate::config::{AppEnv, Settings};
use crate::secret_provider::ProviderChain;
use crate::security::field_crypto::FieldKeys;
use crate::security::session_keys::SessionKeys;
use anyhow::{bail, Context};
use secrecy::ExposeSecret;

/// `SESSION_KEY` for a report (`keys status`): from the secret providers or
/// the dev key file, never generated. `None` when nothing holds it.
pub fn load_session_keys(settings: &Settings) -> anyhow::Result<Option<SessionKeys>> {
    let lookup = |n: &str| std::env::var(n).ok();
    let providers = ProviderChain::standard(&lookup, settings.vault.as_deref());
    if let Some(value) = providers.get("SESSION_KEY")? {
        return parse_session_keys("SESSION_KEY", value.expose_secret()).map(Some);
    }
    let path = settings.data_dir.join("keys").join("session.key");
    if settings.env == AppEnv::Production || providers.has_remote() || !path.exists() {
        return Ok(None);
    }
    let spec = dev_key("SESSION_KEY", &path)?;
    parse_session_keys(&path.display().to_string(), spec.expose_secret()).map(Some)
}

/// `SESSION_KEY` from the secret providers, or the dev key file (generated
/// when missing and allowed).
pub fn session_keys(settings: &Settings) -> anyhow::Result<SessionKeys> {
    let lookup = |n: &str| std::env::var(n).ok();
    let providers = ProviderChain::standard(&lookup, settings.vault.as_deref());
    session_keys_from(settings, &providers)
}

pub(super) fn session_keys_from(
    settings: &Settings,
    providers: &ProviderChain<'_>,
) -> anyhow::Result<SessionKeys> {
    let name = "SESSION_KEY";
    if let Some(value) = providers.get(name)? {
        return parse_session_keys(name, value.expose_secret());
    }
    missing(
        settings,
        providers,
        name,
        "64 hex characters or `kid:64-hex-chars,…`",
    )?;
    let path = settings.data_dir.join("keys").join("session.key");
    let spec = dev_key(name, &path)?;
    parse_session_keys(&path.display().to_string(), spec.expose_secret())
}

fn parse_session_keys(source: &str, spec: &str) -> anyhow::Result<SessionKeys> {
    SessionKeys::parse(spec).map_err(|e| anyhow::anyhow!("{source}: {e}"))
}

/// Fails when a key no source holds may not be generated: in production,
/// and whenever Vault is configured.
fn missing(
    settings: &Settings,
    providers: &ProviderChain<'_>,
    name: &str,
    format: &str,
) -> anyhow::Result<()> {
    let ways = providers.how_to_set(name);
    if providers.has_remote() {
        bail!("{name} is missing: Vault is configured but no source holds it (put it in {ways}: {format})");
    }
    if settings.env == AppEnv::Production {
        bail!("{name} is required in production mode (set {ways} to {format})");
    }
    Ok(())
}

/// `FIELD_KEYS` from the secret providers (or the dev key file).
pub fn field_keys_from_files(settings: &Settings) -> anyhow::Result<FieldKeys> {
    let lookup = |n: &str| std::env::var(n).ok();
    let providers = ProviderChain::standard(&lookup, settings.vault.as_deref());
    field_keys_from(settings, &providers)
}

/// Field keys as (id, key) pairs, the current first.
pub type ImportedFieldKeys = Vec<(String, Vec<u8>)>;

/// `KEY_PROVIDER=pkcs11`: `FIELD_KEYS`' keys (id, key), when a secret
/// provider holds it — imported into an empty `field_data_keys` table, the
/// move from files (`services::key_loading`).
pub fn field_keys_to_import(settings: &Settings) -> anyhow::Result<Option<ImportedFieldKeys>> {
    let lookup = |n: &str| std::env::var(n).ok();
    let providers = ProviderChain::standard(&lookup, settings.vault.as_deref());
    let Some(spec) = providers.get("FIELD_KEYS")? else {
        return Ok(None);
    };
    let keys = crate::security::field_crypto::parse_key_set(spec.expose_secret())
        .map_err(|e| anyhow::anyhow!("FIELD_KEYS: {e}"))?;
    Ok(Some(
        keys.into_iter().map(|(_, kid, key)| (kid, key)).collect(),
    ))
}

pub(super) fn field_keys_from(
    settings: &Settings,
    providers: &ProviderChain<'_>,
) -> anyhow::Result<FieldKeys> {
    if let Some(spec) = providers.get("FIELD_KEYS")? {
        return FieldKeys::parse(spec.expose_secret())
            .map_err(|e| anyhow::anyhow!("FIELD_KEYS: {e}"));
    }
    missing(settings, providers, "FIELD_KEYS", "`kid:64-hex-chars`")?;
    let path = settings.data_dir.join("keys").join("field.keys");
    if !path.exists() {
        let dir = path.parent().context("key path has no parent folder")?;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        restrict(dir, 0o700)?;
        let entry = FieldKeys::generate_entry(&format!("k{}", chrono::Utc::now().timestamp()));
        write_private(&path, entry.as_bytes())?;
        tracing::warn!(path = %path.display(), "dev mode: generated a field encryption key; set FIELD_KEYS in production");
    }
    let spec = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    FieldKeys::parse(&spec).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_keys_are_refused_without_echoing_them() {
        let err = parse_session_keys("SESSION_KEY", "zz-not-hex")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("SESSION_KEY"));
        assert!(!err.contains("zz-not-hex"));
        assert!(parse_session_keys("SESSION_KEY", &"ab".repeat(16)).is_err());
        assert!(parse_session_keys("SESSION_KEY", &"ab".repeat(32)).is_ok());
    }
}
