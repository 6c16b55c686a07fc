//! The `KEY_PROVIDER=pkcs11` commands: `hsm-init`, `rotate-kek`, the new
//! data key of `rotate-keys --new-data-key`, and the provider part of
//! `keys status`.

use crate::config::Settings;
use crate::db::connection::build_pool;
use crate::key_provider::pkcs11::Token;
use crate::services::data_keys::{self, OnMissingKek, ProviderStatus};
use crate::startup::migrations::migrate_as_configured;
use anyhow::Context;
use secrecy::ExposeSecret;
use std::sync::Arc;

fn token(settings: &Settings, command: &str) -> anyhow::Result<Arc<Token>> {
    crate::key_provider::token(settings)?.with_context(|| {
        format!("`{command}` is for KEY_PROVIDER=pkcs11 (the keys are in files now)")
    })
}

/// `hsm-init`: what the token and the database lack, created; nothing
/// present is changed.
pub async fn init(settings: &Settings) -> anyhow::Result<()> {
    let token = token(settings, "hsm-init")?;
    if token.signing_keys()?.is_empty() {
        let kid = token.generate_signing_key(chrono::Utc::now().timestamp())?;
        println!(
            "signing key {kid} generated in the token `{}`",
            token.label()
        );
    } else {
        println!("the token already holds a signing key");
    }
    let had_kek = !token.keks()?.is_empty();
    let kek = data_keys::current_kek(&token, OnMissingKek::Create)?;
    if had_kek {
        println!("the token already holds a key-encryption key ({kek})");
    } else {
        println!("key-encryption key {kek} generated in the token");
    }
    let pool = build_pool(settings.database_url.expose_secret(), 1)?;
    migrate_as_configured(settings, &pool).await?;
    let keys = crate::services::key_loading::hsm_field_keys(settings, &pool, &token).await?;
    println!(
        "field data keys in the database (wrapped): {} (current {})",
        keys.key_ids().join(", "),
        keys.current_kid()
    );
    Ok(())
}

/// `rotate-kek`.
pub async fn rotate_kek(settings: &Settings) -> anyhow::Result<()> {
    let token = token(settings, "rotate-kek")?;
    let pool = build_pool(settings.database_url.expose_secret(), 1)?;
    let done = data_keys::rotate_kek(&pool, &token).await?;
    println!(
        "key-encryption key {} is current; {} data key(s) re-wrapped under it; the older ones ({}) \
         stay in the token for backups taken before now",
        done.kek,
        done.rewrapped,
        done.previous.join(", ")
    );
    Ok(())
}

/// `rotate-keys --new-data-key`: the new current data key.
pub async fn add_data_key(settings: &Settings) -> anyhow::Result<()> {
    let token = token(settings, "rotate-keys --new-data-key")?;
    let pool = build_pool(settings.database_url.expose_secret(), 1)?;
    // The existing keys first: the same checks as every other command.
    crate::services::key_loading::hsm_field_keys(settings, &pool, &token).await?;
    let kid = data_keys::add_data_key(&pool, &token).await?;
    println!("new field data key {kid} (wrapped by the token) is current");
    Ok(())
}

/// The provider part of `keys status` (`None` in files mode).
pub async fn status(
    settings: &Settings,
    pool: &crate::db::Pool,
) -> anyhow::Result<Option<ProviderStatus>> {
    match crate::key_provider::token(settings)? {
        None => Ok(None),
        Some(token) => data_keys::status(pool, &token).await.map(Some),
    }
}
