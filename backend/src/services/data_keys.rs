//! `KEY_PROVIDER=pkcs11`: the field data keys, envelope-encrypted.
//!
//! The database table `field_data_keys` holds each data key (the AES-256 key
//! a `v1:<kid>:…` value names) only wrapped by a key-encryption key (KEK)
//! inside the HSM (`key_provider::pkcs11`). At start the server unwraps them
//! through the HSM into a `FieldKeys` — the newest is current — so the rest
//! of the app is the same in both modes. Data keys come from the OS
//! generator, not the token: any HSM can wrap them, and they are the same
//! keys `FIELD_KEYS` would hold.
//!
//! Every change here is audited in its own transaction: the first data key
//! (`keys.data_key_created`), a new current one (`rotate-keys
//! --new-data-key`), and a new KEK with every data key re-wrapped under it
//! in one transaction (`rotate-kek`, `keys.kek_rotated`).

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::models::field_data_key::WrappedDataKey;
use crate::db::{self, Pool};
use crate::error::AppError;
use crate::key_provider::pkcs11::{Token, TokenReport, KEK_PREFIX};
use crate::security::field_crypto::FieldKeys;
use anyhow::{anyhow, bail};
use chrono::NaiveDateTime;
use rand::{RngCore, TryRngCore};
use std::sync::Arc;

/// Whether a missing key-encryption key may be created on the way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnMissingKek {
    /// Dev mode and `backend hsm-init`.
    Create,
    /// Production: the operator creates it, knowingly (`hsm-init`).
    Refuse,
}

/// The current (newest) KEK in the token, created when allowed.
pub fn current_kek(token: &Token, on_missing: OnMissingKek) -> anyhow::Result<String> {
    if let Some(label) = token.keks()?.pop() {
        return Ok(label);
    }
    match on_missing {
        OnMissingKek::Refuse => bail!(
            "the token `{}` holds no key-encryption key ({KEK_PREFIX}…): run `backend hsm-init` \
             (with the same KEY_PROVIDER settings) to create it",
            token.label()
        ),
        OnMissingKek::Create => {
            let label = token.generate_kek(chrono::Utc::now().timestamp())?;
            tracing::warn!(kek = %label, token = token.label(), "created a key-encryption key in the token");
            Ok(label)
        }
    }
}

/// The field keys: every stored data key unwrapped through the token, the
/// newest current. An empty table first gets its data keys: `import`
/// (`FIELD_KEYS`' keys, when moving from files; the first is current) or
/// one new key — unless `create` is false (reading a backup).
pub async fn load(
    pool: &Pool,
    token: &Arc<Token>,
    on_missing_kek: OnMissingKek,
    import: Option<Vec<(String, Vec<u8>)>>,
    create: bool,
) -> anyhow::Result<FieldKeys> {
    if create {
        ensure_some(pool, token, on_missing_kek, import).await?;
    }
    let token = Arc::clone(token);
    let keys = db::run(pool, move |c| {
        // Every KEK in use (the newest, which wraps new keys, and each one a
        // stored key is under) must have been made inside the token.
        let rows = WrappedDataKey::all(c)?;
        let mut in_use: Vec<String> = token
            .keks()
            .map_err(AppError::Internal)?
            .pop()
            .into_iter()
            .collect();
        for row in &rows {
            if !in_use.contains(&row.kek_label) {
                in_use.push(row.kek_label.clone());
            }
        }
        for label in &in_use {
            refuse_leaky_kek(&token, label).map_err(AppError::Internal)?;
        }
        unwrap_all(c, &token).map_err(AppError::Internal)
    })
    .await
    .map_err(|e| anyhow!("cannot load the wrapped field data keys: {}", chain(&e)))?;
    if keys.is_empty() {
        bail!("the database holds no field data key (run `backend hsm-init`)");
    }
    FieldKeys::from_keys(keys).map_err(|e| anyhow!("field data keys: {e}"))
}

/// Every data key stored in `conn`, unwrapped through the token: the first
/// that will not (its KEK gone from the token, or changed) is the error,
/// naming the key and the KEK. Also reads a backup's copy (`restore`).
pub fn unwrap_all(
    conn: &mut crate::db::DbConn,
    token: &Token,
) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let rows = WrappedDataKey::all(conn)?;
    let mut keys = Vec::with_capacity(rows.len());
    for row in rows {
        let key = token.unwrap_key(&row.kek_label, &row.key_id, &row.wrapped)?;
        keys.push((row.key_id, key));
    }
    Ok(keys)
}

/// A KEK that wraps stored data keys, or will wrap new ones, must be
/// inside the token for good: one that can leave it, or was imported into
/// it (its value existed outside, where a copy may be), protects nothing
/// the token was meant to. `rotate-kek` moves every data key to a new KEK
/// generated inside (it does not come through here).
fn refuse_leaky_kek(token: &Token, label: &str) -> anyhow::Result<()> {
    let p = token.kek_protection(label)?;
    if !p.kept_inside() {
        bail!(
            "the key-encryption key `{label}` in the token `{}` can leave it or was not \
             generated in it ({}): run `backend rotate-kek` to re-wrap every data key under a \
             new KEK generated in the token, then destroy `{label}` once no backup needs it",
            token.label(),
            p.describe()
        );
    }
    Ok(())
}

/// The error and its causes on one line (an `AppError::Internal` displays
/// only "internal server error").
fn chain(e: &AppError) -> String {
    match e {
        AppError::Internal(cause) => format!("{cause:#}"),
        other => other.to_string(),
    }
}

/// A new data key id: `dk<created>-<hex>` (a field key id: at most 32 of
/// letters, digits, `-`).
fn new_key_id(now: i64) -> String {
    let mut suffix = [0u8; 4];
    rand::rngs::OsRng.unwrap_err().fill_bytes(&mut suffix);
    format!("dk{now}-{}", hex::encode(suffix))
}

fn new_data_key() -> Vec<u8> {
    let mut key = vec![0u8; 32];
    rand::rngs::OsRng.unwrap_err().fill_bytes(&mut key);
    key
}

/// When the table is empty, stores its first data keys (wrapped). Two
/// servers starting at once: the first to commit wins, the other stores
/// nothing (the table lock and the emptiness check are one transaction).
async fn ensure_some(
    pool: &Pool,
    token: &Arc<Token>,
    on_missing_kek: OnMissingKek,
    import: Option<Vec<(String, Vec<u8>)>>,
) -> anyhow::Result<()> {
    let empty = db::run(pool, |c| Ok(WrappedDataKey::all(c)?.is_empty()))
        .await
        .map_err(|e| {
            anyhow!(
                "cannot read field_data_keys (has `backend migrate` run?): {}",
                chain(&e)
            )
        })?;
    if !empty {
        return Ok(());
    }
    let kek = current_kek(token, on_missing_kek)?;
    let now = chrono::Utc::now();
    let imported = import.is_some();
    let entries = import.unwrap_or_else(|| vec![(new_key_id(now.timestamp()), new_data_key())]);
    let mut rows = Vec::with_capacity(entries.len());
    for (i, (key_id, key)) in entries.iter().enumerate() {
        // The first entry is current: the newest.
        let created_at = (now - chrono::Duration::seconds(i as i64)).naive_utc();
        rows.push(WrappedDataKey {
            key_id: key_id.clone(),
            kek_label: kek.clone(),
            wrapped: token.wrap(&kek, key_id, key)?,
            created_at,
        });
    }
    let ids: Vec<String> = rows.iter().map(|r| r.key_id.clone()).collect();
    let stored = db::run(pool, move |c| {
        db::write_transaction(c, |c| {
            WrappedDataKey::lock(c)?;
            if !WrappedDataKey::all(c)?.is_empty() {
                return Ok(false);
            }
            for row in &rows {
                row.insert(c)?;
            }
            audit::record_in(
                c,
                None,
                AuditEvent::new("keys.data_key_created", Outcome::Success).detail(
                    serde_json::json!({
                        "key_ids": ids,
                        "kek": kek,
                        "reason": if imported { "imported from FIELD_KEYS" } else { "first start" },
                    }),
                ),
            )?;
            Ok(true)
        })
    })
    .await
    .map_err(|e| anyhow!("cannot store the first field data key: {}", chain(&e)))?;
    if stored {
        tracing::warn!(
            imported,
            "stored the first field data key(s), wrapped by the HSM's key-encryption key"
        );
    }
    Ok(())
}

/// `rotate-keys --new-data-key`: a new data key, wrapped under the current
/// KEK and made current (audited). Returns its id.
pub async fn add_data_key(pool: &Pool, token: &Arc<Token>) -> anyhow::Result<String> {
    let kek = current_kek(token, OnMissingKek::Refuse)?;
    let now = chrono::Utc::now();
    let key_id = new_key_id(now.timestamp());
    let row = WrappedDataKey {
        key_id: key_id.clone(),
        kek_label: kek.clone(),
        wrapped: token.wrap(&kek, &key_id, &new_data_key())?,
        created_at: now.naive_utc(),
    };
    db::run(pool, move |c| {
        db::write_transaction(c, |c| {
            WrappedDataKey::lock(c)?;
            // Strictly newest, whatever the clocks of earlier writers said.
            let newest = WrappedDataKey::all(c)?.first().map(|r| r.created_at);
            let mut row = row;
            if let Some(n) = newest.filter(|n| *n >= row.created_at) {
                row.created_at = n + chrono::Duration::milliseconds(1);
            }
            row.insert(c)?;
            audit::record_in(
                c,
                None,
                AuditEvent::new("keys.data_key_created", Outcome::Success).detail(
                    serde_json::json!({
                        "key_ids": [row.key_id],
                        "kek": row.kek_label,
                        "reason": "rotation",
                    }),
                ),
            )
        })
    })
    .await
    .map_err(|e| anyhow!("the new data key was not stored: {}", chain(&e)))?;
    Ok(key_id)
}

/// What `rotate-kek` did.
#[derive(Debug)]
pub struct KekRotation {
    pub kek: String,
    pub previous: Vec<String>,
    pub rewrapped: usize,
}

/// `rotate-kek`: a new KEK in the token, and every data key re-wrapped
/// under it in one transaction with its audit entry (`keys.kek_rotated`).
/// The older KEKs stay in the token: backups of the database taken before
/// need them (`keys status` shows which KEKs wrap nothing any more).
pub async fn rotate_kek(pool: &Pool, token: &Arc<Token>) -> anyhow::Result<KekRotation> {
    let previous = token.keks()?;
    let Some(newest) = previous.last() else {
        bail!(
            "the token `{}` holds no key-encryption key: run `backend hsm-init` first",
            token.label()
        );
    };
    // Strictly newer than the newest, so "current = newest" holds.
    let created = newest
        .strip_prefix(KEK_PREFIX)
        .and_then(|r| r.split('-').next())
        .and_then(|s| s.parse::<i64>().ok())
        .map_or(chrono::Utc::now().timestamp(), |n| {
            chrono::Utc::now().timestamp().max(n + 1)
        });
    let kek = token.generate_kek(created)?;
    let (t, new, old) = (Arc::clone(token), kek.clone(), previous.clone());
    let rewrapped = db::run(pool, move |c| {
        db::write_transaction(c, |c| {
            WrappedDataKey::lock(c)?;
            let rows = WrappedDataKey::all(c)?;
            for row in &rows {
                let key = t
                    .unwrap_key(&row.kek_label, &row.key_id, &row.wrapped)
                    .map_err(AppError::Internal)?;
                let wrapped = t
                    .wrap(&new, &row.key_id, &key)
                    .map_err(AppError::Internal)?;
                if !WrappedDataKey::rewrap(c, &row.key_id, &row.wrapped, &new, &wrapped)? {
                    return Err(AppError::Conflict(format!(
                        "data key {} changed during the rotation",
                        row.key_id
                    )));
                }
            }
            audit::record_in(
                c,
                None,
                AuditEvent::new("keys.kek_rotated", Outcome::Success).detail(serde_json::json!({
                    "kek": new,
                    "previous": old,
                    "rewrapped": rows.iter().map(|r| r.key_id.as_str()).collect::<Vec<_>>(),
                })),
            )?;
            Ok(rows.len())
        })
    })
    .await
    .map_err(|e| {
        anyhow!(
            "the data keys were not re-wrapped (nothing changed in the database; the new KEK {kek} \
             is unused): {}",
            chain(&e)
        )
    })?;
    Ok(KekRotation {
        kek,
        previous,
        rewrapped,
    })
}

/// One stored data key, as `keys status` shows it (never the wrapping).
#[derive(Clone, Debug, serde::Serialize)]
pub struct DataKeyInfo {
    pub key_id: String,
    pub kek_label: String,
    pub created_at: NaiveDateTime,
}

/// The provider part of `keys status`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProviderStatus {
    pub provider: &'static str,
    #[serde(flatten)]
    pub token: TokenReport,
    /// The current (newest) first.
    pub data_keys: Vec<DataKeyInfo>,
    /// KEKs no data key is wrapped by (kept for older backups).
    pub unused_keks: Vec<String>,
}

pub async fn status(pool: &Pool, token: &Token) -> anyhow::Result<ProviderStatus> {
    let rows = db::run(pool, |c| Ok(WrappedDataKey::all(c)?))
        .await
        .map_err(|e| anyhow!("cannot read field_data_keys: {}", chain(&e)))?;
    let report = token.report()?;
    let unused_keks = report
        .keks
        .iter()
        .filter(|k| !rows.iter().any(|r| r.kek_label == k.label))
        .map(|k| k.label.clone())
        .collect();
    Ok(ProviderStatus {
        provider: "pkcs11",
        token: report,
        data_keys: rows
            .into_iter()
            .map(|r| DataKeyInfo {
                key_id: r.key_id,
                kek_label: r.kek_label,
                created_at: r.created_at,
            })
            .collect(),
        unused_keks,
    })
}

impl ProviderStatus {
    pub fn render(&self) -> String {
        let yes_no = |inside: bool| {
            if inside {
                "kept inside"
            } else {
                "CAN LEAVE THE TOKEN"
            }
        };
        let mut out = format!(
            "key provider: pkcs11, token `{}` ({})\n",
            self.token.token_label, self.token.module
        );
        out.push_str("signing keys in the token:\n");
        for k in &self.token.signing_keys {
            out.push_str(&format!(
                "  {}  sensitive={} extractable={} ({})\n",
                k.label,
                k.protection.sensitive,
                k.protection.extractable,
                yes_no(k.protection.kept_inside())
            ));
        }
        out.push_str("key-encryption keys in the token (the last is current):\n");
        for k in &self.token.keks {
            let unused = if self.unused_keks.contains(&k.label) {
                ", wraps no data key now (older backups may need it)"
            } else {
                ""
            };
            out.push_str(&format!(
                "  {}  sensitive={} extractable={} ({}{unused})\n",
                k.label,
                k.protection.sensitive,
                k.protection.extractable,
                yes_no(k.protection.kept_inside())
            ));
        }
        out.push_str("wrapped field data keys in the database (the first is current):\n");
        for d in &self.data_keys {
            out.push_str(&format!(
                "  {}  wrapped by {}  created {}\n",
                d.key_id,
                d.kek_label,
                d.created_at.format("%Y-%m-%d %H:%M:%S")
            ));
        }
        out
    }
}
