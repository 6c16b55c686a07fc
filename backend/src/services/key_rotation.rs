//! Re-encrypts what the field keys protect under the current field key (the
//! first of `FIELD_KEYS`): `backend rotate-keys`.
//!
//! Since per-user data keys (`security::user_keys`), the field keys wrap
//! each user's data key, and the users' fields are under their data keys
//! (`v2`). So a run:
//!
//! - re-wraps every user's data key under the current field key (cheap: the
//!   fields under it are not touched), and
//! - moves every `v1` value (encrypted directly under a field key, written
//!   before data keys) to `v2` under its user's data key, creating the key
//!   when the user has none.
//!
//! How:
//!
//! - Each encrypted column is one entry of [`ENCRYPTED_COLUMNS`]: its table,
//!   its column and the key column whose value is the row id in the
//!   ciphertext's associated data (for users' values, the user id, which
//!   finds the data key).
//! - Rows are read in key order, `batch_size` at a time; each batch is one
//!   write transaction in which every row is decrypted, encrypted again and
//!   written back with a compare-and-swap on the old ciphertext. A value the
//!   running app changed in the meantime is read again, never overwritten.
//! - A value already current (a `v2` value, a data key wrapped under the
//!   current key) is skipped, so an interrupted run simply resumes when
//!   started again, and nothing is encrypted twice: the new ciphertext
//!   always comes from the decrypted plaintext.
//! - A value that does not decrypt (an unknown key id, a damaged value) is
//!   reported with its table, column and row id and left as it is; the run
//!   goes on with the others and ends as failed.
//!
//! Deploy the new `FIELD_KEYS` (new key first, old ones after it) to every
//! instance first, so the app wraps new data keys under the new key, then
//! run this.

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{self, DbConn, Pool};
use crate::error::AppError;
use crate::security::field_crypto::{CryptoError, FieldKeys};
use crate::security::user_keys::{format_of, Format};
use crate::services::user_keys;
use std::sync::Arc;

pub use crate::services::encrypted_columns::{EncryptedColumn, Holds, ENCRYPTED_COLUMNS};

/// How many rows a run lists by name when they fail (the count is exact).
const MAX_LISTED_FAILURES: usize = 50;
/// Attempts for a row the app keeps changing while it is being rotated.
const SWAP_ATTEMPTS: usize = 3;

#[derive(Clone, Copy, Debug)]
pub struct RotationOptions {
    /// Rows per transaction.
    pub batch_size: usize,
    /// Stop after this many batches (tests simulate an interrupted run).
    pub max_batches: Option<usize>,
}

impl Default for RotationOptions {
    fn default() -> Self {
        Self {
            batch_size: 500,
            max_batches: None,
        }
    }
}

/// A value that could not be re-encrypted: where, and why (never the value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowFailure {
    pub column: String,
    pub row_id: String,
    pub problem: String,
}

/// What happened to one column.
#[derive(Clone, Debug, Default)]
pub struct ColumnReport {
    /// `table.column`.
    pub column: String,
    /// Rows in the table when the run reached it.
    pub total: i64,
    /// Rows read so far.
    pub checked: u64,
    /// Rows written by this run: data keys re-wrapped under the current
    /// key, `v1` values moved under their user's data key.
    pub rotated: u64,
    /// Rows already current (a data key under the current key, a value
    /// under its user's data key: an earlier run, or written by the app),
    /// or deleted by the app meanwhile: nothing to do.
    pub already_current: u64,
    /// Rows that failed (see `RotationReport::failures`).
    pub failed: u64,
}

#[derive(Clone, Debug, Default)]
pub struct RotationReport {
    pub current_kid: String,
    pub columns: Vec<ColumnReport>,
    /// The first failures, by row.
    pub failures: Vec<RowFailure>,
    /// False when the run stopped early (`max_batches`).
    pub finished: bool,
}

impl RotationReport {
    pub fn rotated(&self) -> u64 {
        self.columns.iter().map(|c| c.rotated).sum()
    }

    pub fn already_current(&self) -> u64 {
        self.columns.iter().map(|c| c.already_current).sum()
    }

    pub fn failed(&self) -> u64 {
        self.columns.iter().map(|c| c.failed).sum()
    }

    /// Every data key is under the current key and every value under its
    /// user's data key.
    pub fn is_complete(&self) -> bool {
        self.finished && self.failed() == 0
    }
}

/// Rotates every column and records `keys.rotated`. `progress` is called
/// after each batch.
pub async fn rotate(
    pool: &Pool,
    keys: Arc<FieldKeys>,
    options: RotationOptions,
    mut progress: impl FnMut(&ColumnReport) + Send + 'static,
) -> Result<RotationReport, AppError> {
    let current_kid = keys.current_kid().to_owned();
    let result = db::run(pool, move |conn| {
        rotate_blocking(conn, &keys, options, &mut progress)
    })
    .await;
    let event = match &result {
        Ok(report) => {
            let columns: Vec<serde_json::Value> = report
                .columns
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "column": c.column,
                        "rotated": c.rotated,
                        "already_current": c.already_current,
                        "failed": c.failed,
                    })
                })
                .collect();
            let outcome = if report.failed() == 0 {
                Outcome::Success
            } else {
                Outcome::Failure
            };
            AuditEvent::new("keys.rotated", outcome).detail(serde_json::json!({
                "current_kid": current_kid,
                "batch_size": options.batch_size,
                "complete": report.is_complete(),
                "rotated": report.rotated(),
                "failed": report.failed(),
                "columns": columns,
            }))
        }
        Err(_) => AuditEvent::new("keys.rotated", Outcome::Failure).detail(serde_json::json!({
            "current_kid": current_kid,
            "error": "the rotation stopped on a database error",
        })),
    };
    audit::record(pool, None, event).await?;
    result
}

/// The rotation itself, on one connection (each batch its own transaction).
pub fn rotate_blocking(
    conn: &mut DbConn,
    keys: &FieldKeys,
    options: RotationOptions,
    progress: &mut dyn FnMut(&ColumnReport),
) -> Result<RotationReport, AppError> {
    let batch_size = options.batch_size.max(1);
    let limit = i64::try_from(batch_size).unwrap_or(i64::MAX);
    let mut report = RotationReport {
        current_kid: keys.current_kid().to_owned(),
        finished: true,
        ..RotationReport::default()
    };
    let mut batches = 0usize;
    'columns: for column in ENCRYPTED_COLUMNS {
        let mut col = ColumnReport {
            column: column.name(),
            total: (column.count)(conn)?,
            ..ColumnReport::default()
        };
        let mut after = String::new();
        loop {
            if options.max_batches.is_some_and(|max| batches >= max) {
                report.finished = false;
                report.columns.push(col);
                break 'columns;
            }
            let batch = db::write_transaction(conn, |conn| {
                rotate_batch(conn, keys, column, &after, limit)
            })?;
            batches += 1;
            col.checked += batch.rows as u64;
            col.rotated += batch.rotated;
            col.already_current += batch.already_current;
            col.failed += batch.failures.len() as u64;
            let room = MAX_LISTED_FAILURES.saturating_sub(report.failures.len());
            report
                .failures
                .extend(batch.failures.into_iter().take(room));
            if batch.rows > 0 {
                progress(&col);
            }
            match batch.last_key {
                Some(last) if batch.rows == batch_size => after = last,
                _ => break,
            }
        }
        report.columns.push(col);
    }
    Ok(report)
}

#[derive(Default)]
struct Batch {
    rows: usize,
    last_key: Option<String>,
    rotated: u64,
    already_current: u64,
    failures: Vec<RowFailure>,
}

fn rotate_batch(
    conn: &mut DbConn,
    keys: &FieldKeys,
    column: &EncryptedColumn,
    after: &str,
    limit: i64,
) -> Result<Batch, AppError> {
    let rows = (column.page)(conn, after, limit)?;
    let mut batch = Batch {
        rows: rows.len(),
        last_key: rows.last().map(|(id, _)| id.clone()),
        ..Batch::default()
    };
    for (id, stored) in rows {
        match rotate_row(conn, keys, column, &id, stored)? {
            RowOutcome::Rotated => batch.rotated += 1,
            RowOutcome::AlreadyCurrent | RowOutcome::Gone => batch.already_current += 1,
            RowOutcome::Failed(problem) => {
                tracing::warn!(column = %column.name(), row = %id, %problem, "cannot re-encrypt a value");
                batch.failures.push(RowFailure {
                    column: column.name(),
                    row_id: id,
                    problem,
                });
            }
        }
    }
    Ok(batch)
}

enum RowOutcome {
    Rotated,
    AlreadyCurrent,
    /// Deleted by the app meanwhile: nothing to rotate.
    Gone,
    Failed(String),
}

/// Decrypts, re-encrypts and swaps one value; when the app changed it
/// meanwhile, starts again from what the app wrote.
fn rotate_row(
    conn: &mut DbConn,
    keys: &FieldKeys,
    column: &EncryptedColumn,
    id: &str,
    mut stored: String,
) -> Result<RowOutcome, AppError> {
    for _ in 0..SWAP_ATTEMPTS {
        let current = match (column.holds, format_of(&stored)) {
            (Holds::UserValues, Format::UserKey) => true,
            (Holds::WrappedKeys, Format::FieldKey(kid)) => kid == keys.current_kid(),
            _ => false,
        };
        if current {
            return Ok(RowOutcome::AlreadyCurrent);
        }
        let field = column.field(id);
        let plaintext = match keys.decrypt(field, &stored) {
            Ok(p) => zeroize::Zeroizing::new(p),
            Err(e) => return Ok(RowOutcome::Failed(describe(&e, &stored))),
        };
        let fresh = match column.holds {
            // The row id is the user id: sealed under their data key
            // (created under the current field key if they have none),
            // held until this batch's transaction ends.
            Holds::UserValues => user_keys::seal_blocking(conn, keys, field, id, &plaintext)?,
            Holds::WrappedKeys => keys
                .encrypt(field, &plaintext)
                .map_err(|e| AppError::internal(anyhow::anyhow!("re-encryption failed: {e}")))?,
        };
        if (column.swap)(conn, id, &stored, &fresh)? {
            return Ok(RowOutcome::Rotated);
        }
        match (column.find)(conn, id)? {
            Some(now) => stored = now,
            None => return Ok(RowOutcome::Gone),
        }
    }
    Ok(RowOutcome::Failed(
        "the value kept changing while it was being re-encrypted; run again".into(),
    ))
}

/// Why a value does not decrypt, naming its key id, never its content.
fn describe(e: &CryptoError, stored: &str) -> String {
    let kid = FieldKeys::key_id_of(stored)
        .map(|k| crate::telemetry::log_safe(&k.chars().take(32).collect::<String>()))
        .unwrap_or_default();
    match e {
        CryptoError::UnknownKey => format!(
            "encrypted under key `{kid}`, which FIELD_KEYS does not hold (add it after the current key)"
        ),
        CryptoError::Format => "not in an encrypted format (`v1:<kid>:…` or `v2:…`)".into(),
        CryptoError::Decrypt => format!(
            "does not decrypt under key `{kid}` (damaged, or copied from another row or column)"
        ),
        other => other.to_string(),
    }
}
