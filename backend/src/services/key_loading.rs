//! Every key the server and the key commands load, where the field keys
//! may live in the database: with `KEY_PROVIDER=pkcs11` they are the
//! wrapped data keys of `field_data_keys`, unwrapped through the HSM
//! (`data_keys`); with `files` everything comes from `keys`.
//!
//! Here rather than in `keys` so that key loading (infrastructure) never
//! reaches up into the services and the audit log the data keys need.

use crate::config::{AppEnv, Settings};
use crate::db::Pool;
use crate::key_provider::pkcs11::Token;
use crate::keys::signing::SigningKeys;
use crate::keys::{symmetric, Keys};
use crate::security::field_crypto::FieldKeys;
use crate::services::data_keys::{self, OnMissingKek};
use std::sync::Arc;

/// Every key, once the database is open and migrated: with
/// `KEY_PROVIDER=pkcs11` the field data keys are stored in it, wrapped by
/// the HSM.
pub async fn load_keys(settings: &Settings, pool: &Pool) -> anyhow::Result<Keys> {
    let Some(token) = crate::key_provider::token(settings)? else {
        return Keys::load_with(settings, &|n| std::env::var(n).ok());
    };
    let session = symmetric::session_keys(settings)?;
    let signing = SigningKeys::load(settings)?;
    let fields = hsm_field_keys(settings, pool, &token).await?;
    Ok(Keys {
        session,
        signing,
        fields,
    })
}

/// The field keys, for commands that need only them (like `rotate-keys`):
/// `FIELD_KEYS` from the secret providers, or with `KEY_PROVIDER=pkcs11`
/// the data keys in the database, unwrapped by the HSM.
pub async fn load_field_keys(settings: &Settings, pool: &Pool) -> anyhow::Result<FieldKeys> {
    match crate::key_provider::token(settings)? {
        Some(token) => hsm_field_keys(settings, pool, &token).await,
        None => symmetric::field_keys_from_files(settings),
    }
}

/// `KEY_PROVIDER=pkcs11`: the wrapped data keys, unwrapped. An empty table
/// (a first start) gets `FIELD_KEYS`' keys when it is set — the move from
/// files — or one new data key; afterwards `FIELD_KEYS` is ignored.
/// Production never creates a missing key-encryption key: `hsm-init` does.
pub async fn hsm_field_keys(
    settings: &Settings,
    pool: &Pool,
    token: &Arc<Token>,
) -> anyhow::Result<FieldKeys> {
    let import = symmetric::field_keys_to_import(settings)?;
    let on_missing = match settings.env {
        AppEnv::Production => OnMissingKek::Refuse,
        AppEnv::Dev => OnMissingKek::Create,
    };
    let importing = import
        .as_ref()
        .map(|keys| keys.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>());
    let keys = data_keys::load(pool, token, on_missing, import, true).await?;
    if let Some(ids) = importing {
        if ids.iter().all(|id| keys.holds(id)) {
            tracing::warn!("FIELD_KEYS is set with KEY_PROVIDER=pkcs11: its keys are stored wrapped in the database now; remove FIELD_KEYS");
        } else {
            tracing::warn!("FIELD_KEYS is ignored with KEY_PROVIDER=pkcs11 (the database already holds wrapped data keys)");
        }
    }
    Ok(keys)
}
