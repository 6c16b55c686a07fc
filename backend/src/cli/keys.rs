//! The key commands: `rotate-keys`, `keys status`, `rotate-signing-key`,
//! `rotate-session-key`. Each loads only the keys it needs and checks them
//! against the data first.

use super::hsm;
use super::SessionKeyStep;
use crate::config::Settings;
use crate::db::connection::build_pool;
use crate::security::field_crypto::FieldKeys;
use crate::services::field_keys;
use anyhow::Context;
use secrecy::ExposeSecret;

/// `FIELD_KEYS` and a pool, checked against the data.
async fn checked_field_keys(
    settings: &Settings,
    pool_size: u32,
) -> anyhow::Result<(std::sync::Arc<FieldKeys>, crate::db::Pool)> {
    let pool = build_pool(settings.database_url.expose_secret(), pool_size)?;
    let keys = crate::services::key_loading::load_field_keys(settings, &pool).await?;
    let keys = field_keys::refuse_unless_decryptable(&pool, keys, |k| k).await?;
    Ok((std::sync::Arc::new(keys), pool))
}

/// `rotate-keys`: re-wraps the data keys and moves old values, in batches.
pub async fn rotate_keys(
    settings: &Settings,
    batch_size: usize,
    new_data_key: bool,
) -> anyhow::Result<()> {
    use crate::services::key_rotation::{self, RotationOptions};
    if new_data_key {
        hsm::add_data_key(settings).await?;
    }
    let (keys, pool) = checked_field_keys(settings, 2).await?;
    let kid = keys.current_kid().to_owned();
    let lacking = crate::db::run(&pool, move |c| {
        field_keys::instances_lacking(c, &kid, chrono::Utc::now().naive_utc())
    })
    .await?;
    if !lacking.is_empty() {
        let names: Vec<String> = lacking
            .iter()
            .map(|i| format!("{} ({}: holds {})", i.label, i.id, i.key_ids().join(", ")))
            .collect();
        anyhow::bail!(
            "not rotating: {} live instance(s) do not hold field key {} yet, and could not \
             read what the rotation writes: {}. Restart every instance with these field keys \
             first (FIELD_KEYS; with KEY_PROVIDER=pkcs11 a restart loads the database's \
             data keys), then run `backend rotate-keys` (without --new-data-key) \
             (`backend keys status` lists them)",
            lacking.len(),
            keys.current_kid(),
            names.join("; ")
        );
    }
    println!(
        "re-encrypting under field key {} in batches of {batch_size}",
        keys.current_kid()
    );
    let options = RotationOptions {
        batch_size,
        max_batches: None,
    };
    let report = key_rotation::rotate(&pool, keys, options, |c| {
        println!(
            "{}: {}/{} checked, {} re-encrypted",
            c.column, c.checked, c.total, c.rotated
        );
    })
    .await
    .context("key rotation stopped (has `backend migrate` run?); run it again to resume")?;
    for f in &report.failures {
        eprintln!("{} row {}: {}", f.column, f.row_id, f.problem);
    }
    println!(
        "{} re-encrypted, {} already current, {} failed",
        report.rotated(),
        report.already_current(),
        report.failed()
    );
    if report.failed() > 0 {
        anyhow::bail!(
            "{} value(s) could not be re-encrypted (listed above); fix FIELD_KEYS and run again",
            report.failed()
        );
    }
    Ok(())
}

/// `keys status`: the field keys, the provider, the session keys.
pub async fn status(settings: &Settings, json: bool) -> anyhow::Result<()> {
    let pool = build_pool(settings.database_url.expose_secret(), 1)?;
    let keys = crate::services::key_loading::load_field_keys(settings, &pool).await?;
    let provider = hsm::status(settings, &pool).await?;
    let now = chrono::Utc::now().naive_utc();
    let status = crate::db::run(&pool, move |c| field_keys::status(c, &keys, now))
        .await
        .context("cannot read the key status (has `backend migrate` run?)")?;
    // The session-key part (`services::session_keys::status`).
    let session = match crate::keys::symmetric::load_session_keys(settings)? {
        Some(keys) => Some(
            crate::db::run(&pool, move |c| {
                crate::services::session_keys::status(c, &keys, now)
            })
            .await?,
        ),
        None => None,
    };
    if json {
        let mut out = serde_json::to_value(&status)?;
        out["session_keys"] = serde_json::to_value(&session)?;
        out["key_provider"] = match &provider {
            Some(p) => serde_json::to_value(p)?,
            None => serde_json::json!({ "provider": "files" }),
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        if let Some(p) = &provider {
            print!("{}", p.render());
        }
        print!("{}", status.render(now));
        match &session {
            Some(s) => print!("{}", crate::services::session_keys::render(s)),
            None => println!("SESSION_KEY: not set here (nothing to report)"),
        }
    }
    if !status.problems.is_empty() {
        anyhow::bail!(
            "FIELD_KEYS cannot decrypt {} part(s) of the data (listed above)",
            status.problems.len()
        );
    }
    Ok(())
}

/// `rotate-signing-key`: a new key, published now, signing later.
pub fn rotate_signing_key(settings: &Settings) -> anyhow::Result<()> {
    let publication = settings.signing_key_publication_secs;
    let (rotated, place) = crate::keys::signing::rotate_signing_key_as_configured(settings)?;
    println!("new signing key {} in {place}", rotated.kid);
    // The running servers publish it at their next folder read; it
    // signs only once every cached JWKS can hold it.
    let starts = chrono::DateTime::from_timestamp(rotated.signs_from, 0)
        .map_or_else(|| rotated.signs_from.to_string(), |t| t.to_rfc3339());
    let wait = rotated.signs_from - chrono::Utc::now().timestamp();
    println!(
        "published in the JWKS now; starts signing at {starts} (in {} s, \
         SIGNING_KEY_PUBLICATION_SECS={publication})",
        wait.max(0)
    );
    Ok(())
}

/// `rotate-session-key`: the next `SESSION_KEY` on standard output only.
pub async fn rotate_session_key(settings: &Settings, step: SessionKeyStep) -> anyhow::Result<()> {
    use crate::services::session_keys;
    let keys = crate::keys::symmetric::load_session_keys(settings)?
        .context("SESSION_KEY is not set here: run this with the SESSION_KEY the servers use")?;
    let pool = build_pool(settings.database_url.expose_secret(), 1)?;
    let now = chrono::Utc::now().naive_utc();
    let planned = crate::db::run(&pool, move |c| match step {
        SessionKeyStep::Add => session_keys::add_step(c, &keys, now),
        SessionKeyStep::Promote => session_keys::promote_step(c, &keys, now),
        SessionKeyStep::Retire { kid, force } => {
            session_keys::retire_step(c, &keys, &kid, force, now)
        }
    })
    .await;
    let step = match planned {
        Ok(step) => step,
        Err(crate::error::AppError::Conflict(why)) => anyhow::bail!("{why}"),
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context("cannot read the session key ids (has `backend migrate` run?)"))
        }
    };
    println!("{}", step.keys.expose_spec());
    eprintln!(
        "SESSION_KEY key ids: {} (the first current). {}",
        step.keys.key_ids().join(", "),
        step.next
    );
    Ok(())
}
