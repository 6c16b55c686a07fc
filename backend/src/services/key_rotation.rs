//! Re-encrypts every encrypted column under the current field key (the first
//! of `FIELD_KEYS`): `backend rotate-keys`.
//!
//! - Each encrypted column is one entry of [`ENCRYPTED_COLUMNS`]: its table,
//!   its column and the key column whose value is the row id in the
//!   ciphertext's associated data.
//! - Rows are read in key order, `batch_size` at a time; each batch is one
//!   write transaction in which every row is decrypted, encrypted again and
//!   written back with a compare-and-swap on the old ciphertext. A value the
//!   running app changed in the meantime is read again, never overwritten.
//! - A value already under the current key is skipped, so an interrupted run
//!   simply resumes when started again, and nothing is encrypted twice: the
//!   new ciphertext always comes from the decrypted plaintext.
//! - A value that does not decrypt (an unknown key id, a damaged value) is
//!   reported with its table, column and row id and left as it is; the run
//!   goes on with the others and ends as failed.
//!
//! Deploy the new `FIELD_KEYS` (new key first, old ones after it) to every
//! instance first, so the app writes under the new key, then run this.

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::schema::{user_mfa, user_ssn};
use crate::db::{self, DbConn, Pool};
use crate::error::AppError;
use crate::security::field_crypto::{CryptoError, FieldKeys, FieldRef};
use diesel::prelude::*;
use std::sync::Arc;

/// How many rows a run lists by name when they fail (the count is exact).
const MAX_LISTED_FAILURES: usize = 50;
/// Attempts for a row the app keeps changing while it is being rotated.
const SWAP_ATTEMPTS: usize = 3;

/// A (row key, ciphertext) pair.
type Row = (String, String);
/// (row key, ciphertext) pairs.
type Rows = Vec<Row>;
/// (key id, rows) pairs; `None`: values not in the `v1` format.
type KeyIdCounts = Vec<(Option<String>, i64)>;

/// One encrypted column and the queries that rotate it.
pub struct EncryptedColumn {
    pub table: &'static str,
    pub column: &'static str,
    /// The primary key column; its value is the ciphertext's row id.
    pub key_column: &'static str,
    /// Up to `limit` (key, ciphertext) pairs with a key after the given one,
    /// in key order.
    page: fn(&mut DbConn, &str, i64) -> QueryResult<Rows>,
    /// The ciphertext of one row, if the row still exists.
    find: fn(&mut DbConn, &str) -> QueryResult<Option<String>>,
    /// Writes the new ciphertext where the key is `id` and the column still
    /// holds `old`; whether it did.
    swap: fn(&mut DbConn, &str, &str, &str) -> QueryResult<bool>,
    count: fn(&mut DbConn) -> QueryResult<i64>,
    /// The smallest key id of a stored value greater than the given one
    /// (one seek in the `(field_key_id, key)` index).
    next_key_id: fn(&mut DbConn, &str) -> QueryResult<Option<String>>,
    /// The (key, ciphertext) of the first (or, when true, the last) row
    /// stored under a key id, in key order (one seek).
    edge_row: fn(&mut DbConn, &str, bool) -> QueryResult<Option<Row>>,
    /// Rows per key id (None: not in the `v1` format). Reads the whole index.
    by_key_id: fn(&mut DbConn) -> QueryResult<KeyIdCounts>,
}

impl EncryptedColumn {
    /// Where a row's value lives: its ciphertext's associated data.
    pub fn field<'a>(&self, row_id: &'a str) -> FieldRef<'a> {
        FieldRef {
            table: self.table,
            column: self.column,
            row_id,
        }
    }

    /// `table.column`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }

    /// Every key id values of this column are stored under, found by
    /// skipping through the index from one id to the next: as many seeks
    /// as there are ids, however many rows.
    pub fn key_ids(&self, conn: &mut DbConn) -> QueryResult<Vec<String>> {
        let mut kids: Vec<String> = Vec::new();
        let mut after = String::new();
        while let Some(kid) = (self.next_key_id)(conn, &after)? {
            after.clone_from(&kid);
            kids.push(kid);
        }
        Ok(kids)
    }

    /// The first and the last row (in key order) stored under `kid`: the
    /// same row twice when it holds one.
    pub fn first_and_last(&self, conn: &mut DbConn, kid: &str) -> QueryResult<Rows> {
        let mut rows = Vec::new();
        for last in [false, true] {
            if let Some(row) = (self.edge_row)(conn, kid, last)? {
                if !rows.contains(&row) {
                    rows.push(row);
                }
            }
        }
        Ok(rows)
    }

    /// Rows per key id; `None` counts the values not in the `v1` format.
    pub fn rows_by_key_id(&self, conn: &mut DbConn) -> QueryResult<KeyIdCounts> {
        (self.by_key_id)(conn)
    }
}

/// The queries of one column, written once with the query builder.
macro_rules! encrypted_column {
    ($table:ident . $column:ident, key $key:ident) => {
        EncryptedColumn {
            table: stringify!($table),
            column: stringify!($column),
            key_column: stringify!($key),
            page: |conn, after, limit| {
                $table::table
                    .filter($table::$key.gt(after))
                    .order($table::$key.asc())
                    .select(($table::$key, $table::$column))
                    .limit(limit)
                    .load(conn)
            },
            find: |conn, id| {
                $table::table
                    .filter($table::$key.eq(id))
                    .select($table::$column)
                    .first(conn)
                    .optional()
            },
            swap: |conn, id, old, new| {
                diesel::update(
                    $table::table
                        .filter($table::$key.eq(id))
                        .filter($table::$column.eq(old)),
                )
                .set($table::$column.eq(new))
                .execute(conn)
                .map(|n| n == 1)
            },
            count: |conn| $table::table.count().get_result(conn),
            next_key_id: |conn, after| {
                $table::table
                    .filter($table::field_key_id.gt(after))
                    .order($table::field_key_id.asc())
                    .select($table::field_key_id)
                    .first::<Option<String>>(conn)
                    .optional()
                    .map(Option::flatten)
            },
            edge_row: |conn, kid, last| {
                // A range, not `= kid`, ordered like the `(field_key_id, key)`
                // index: the plan is then a seek in that index whatever the
                // statistics say. (With `=`, PostgreSQL drops the key id from
                // the order and, on stale statistics, walks the primary key
                // filtering every row: measured a second on a million rows.)
                let row: Option<(Option<String>, String, String)> = if last {
                    $table::table
                        .filter($table::field_key_id.le(kid))
                        .order(($table::field_key_id.desc(), $table::$key.desc()))
                        .select(($table::field_key_id, $table::$key, $table::$column))
                        .first(conn)
                        .optional()?
                } else {
                    $table::table
                        .filter($table::field_key_id.ge(kid))
                        .order(($table::field_key_id.asc(), $table::$key.asc()))
                        .select(($table::field_key_id, $table::$key, $table::$column))
                        .first(conn)
                        .optional()?
                };
                Ok(row
                    .filter(|(found, _, _)| found.as_deref() == Some(kid))
                    .map(|(_, id, stored)| (id, stored)))
            },
            by_key_id: |conn| {
                $table::table
                    .group_by($table::field_key_id)
                    .select(($table::field_key_id, diesel::dsl::count_star()))
                    .order($table::field_key_id.asc())
                    .load(conn)
            },
        }
    };
}

/// Every encrypted column of the schema. A new one is one more line here
/// (and must use this table, column and key as its associated data, and
/// have a generated `field_key_id` column indexed with its key, as
/// migration 000018 gives these two).
pub const ENCRYPTED_COLUMNS: &[EncryptedColumn] = &[
    encrypted_column!(user_mfa.secret, key user_id),
    encrypted_column!(user_ssn.ciphertext, key user_id),
];

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
    /// Rows written under the current key by this run.
    pub rotated: u64,
    /// Rows found under the current key already (an earlier run, or written
    /// by the app), or deleted by the app meanwhile: nothing to do.
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

    /// Every value is now under the current key.
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
        if FieldKeys::key_id_of(&stored) == Some(keys.current_kid()) {
            return Ok(RowOutcome::AlreadyCurrent);
        }
        let field = column.field(id);
        let plaintext = match keys.decrypt(field, &stored) {
            Ok(p) => p,
            Err(e) => return Ok(RowOutcome::Failed(describe(&e, &stored))),
        };
        let fresh = keys
            .encrypt(field, &plaintext)
            .map_err(|e| AppError::internal(anyhow::anyhow!("re-encryption failed: {e}")))?;
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
        CryptoError::Format => "not in the encrypted `v1:<kid>:…` format".into(),
        CryptoError::Decrypt => format!(
            "does not decrypt under key `{kid}` (damaged, or copied from another row or column)"
        ),
        other => other.to_string(),
    }
}
