//! The field keys held against the data they must decrypt, and the running
//! instances that hold them: the checks every command using `FIELD_KEYS`
//! passes before it starts, the instance heartbeat, and `backend keys
//! status`.
//!
//! A mistake in `FIELD_KEYS` (the old key removed too early, a new key
//! given the old key's id) used to start fine and lose every TOTP secret and
//! SSN under the old key the moment they were read. So:
//!
//! - [`check`] refuses when rows are stored under a key id `FIELD_KEYS`
//!   does not hold, or when the key it holds for an id decrypts none of the
//!   sampled rows stored under that id. The users' wrapped data keys
//!   (`user_data_keys.wrapped`) are one of those columns: a field key that
//!   wraps data keys is checked (and counted) like one that encrypts values.
//! - Every server writes its key ids (never a key) and a heartbeat to
//!   `app_instances`; `rotate-keys` refuses while a live instance lacks the
//!   key it rotates to ([`instances_lacking`]).
//! - [`status`] says, per key id, whether it can leave `FIELD_KEYS`.
//!
//! The sample: for each encrypted column and each key id present, the first
//! and the last row under that id in the `(field_key_id, row key)` index —
//! two index seeks, so start-up costs the same on ten rows or ten million.
//! A wrong key fails on every row (AES-GCM's tag), so any row shows it; two
//! rows far apart rather than one so that a single damaged value does not
//! decide: the key is refused only when no sampled row decrypts.

use crate::db::models::instance::AppInstance;
use crate::db::{self, DbConn, Pool};
use crate::error::AppError;
use crate::security::field_crypto::{CryptoError, FieldKeys};
use crate::security::session_keys::SessionKeys;
use crate::services::key_rotation::ENCRYPTED_COLUMNS;
use chrono::NaiveDateTime;
use std::collections::BTreeMap;
use std::time::Duration;

/// How often a server refreshes its `app_instances` row.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(30);
/// An instance is live if it beat within this: three heartbeats, so one
/// slow database write does not make it disappear.
pub const LIVE_WITHIN: Duration = Duration::from_secs(90);
/// Rows of instances silent for longer are deleted.
const FORGET_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// Something in the data `FIELD_KEYS` cannot decrypt.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum KeyProblem {
    /// Rows stored under a key id `FIELD_KEYS` does not hold.
    NotHeld {
        column: String,
        key_id: String,
        row_id: String,
    },
    /// The key `FIELD_KEYS` holds for `key_id` decrypts none of the sampled
    /// rows stored under that id.
    WrongKey {
        column: String,
        key_id: String,
        row_ids: Vec<String>,
    },
}

impl std::fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyProblem::NotHeld {
                column,
                key_id,
                row_id,
            } => write!(
                f,
                "{column} has rows under key `{key_id}` (row {row_id}, for one), which FIELD_KEYS \
                 does not hold: they cannot be decrypted{}. Put `{key_id}` back after the current \
                 key; it may leave only when `backend keys status` says so",
                if column.starts_with("user_data_keys.") {
                    " (users' data keys: nor can any value under them)"
                } else {
                    ""
                }
            ),
            KeyProblem::WrongKey {
                column,
                key_id,
                row_ids,
            } => write!(
                f,
                "the key FIELD_KEYS holds as `{key_id}` decrypts none of the {column} rows stored \
                 under `{key_id}` (tried rows {}): it is not the key they were encrypted with. \
                 Put the original `{key_id}` back; a new key needs a new id",
                row_ids.join(", ")
            ),
        }
    }
}

/// A key id read from the database, fit to print (it is data, not config).
fn printable(kid: &str) -> String {
    crate::telemetry::log_safe(&kid.chars().take(32).collect::<String>())
}

/// Whether `keys` can decrypt the data: the problems found (none: fine).
/// Bounded: a few index seeks per encrypted column and key id.
pub fn check(conn: &mut DbConn, keys: &FieldKeys) -> Result<Vec<KeyProblem>, AppError> {
    let mut problems = Vec::new();
    for column in ENCRYPTED_COLUMNS {
        for kid in column.key_ids(conn)? {
            let sample = column.first_and_last(conn, &kid)?;
            if !keys.holds(&kid) {
                if let Some((row_id, _)) = sample.into_iter().next() {
                    problems.push(KeyProblem::NotHeld {
                        column: column.name(),
                        key_id: printable(&kid),
                        row_id,
                    });
                }
                continue;
            }
            let failed: Vec<&String> = sample
                .iter()
                .filter(|(id, stored)| {
                    matches!(
                        keys.decrypt(column.field(id), stored),
                        Err(CryptoError::Decrypt | CryptoError::Format)
                    )
                })
                .map(|(id, _)| id)
                .collect();
            if !sample.is_empty() && failed.len() == sample.len() {
                problems.push(KeyProblem::WrongKey {
                    column: column.name(),
                    key_id: printable(&kid),
                    row_ids: failed.into_iter().cloned().collect(),
                });
            } else if !failed.is_empty() {
                tracing::warn!(column = %column.name(), kid = %printable(&kid), rows = ?failed,
                    "a sampled value does not decrypt though others under its key do: damaged?");
            }
        }
    }
    Ok(problems)
}

/// [`check`] for a command about to start: an error listing every problem.
/// Takes what holds the keys and gives it back (the check runs on a
/// blocking thread).
pub async fn refuse_unless_decryptable<K: Send + 'static>(
    pool: &Pool,
    holder: K,
    fields: fn(&K) -> &FieldKeys,
) -> anyhow::Result<K> {
    let (holder, problems) = db::run(pool, move |conn| {
        let problems = check(conn, fields(&holder))?;
        Ok((holder, problems))
    })
    .await
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot check FIELD_KEYS against the data (has `backend migrate` run?): {e}"
        )
    })?;
    if problems.is_empty() {
        return Ok(holder);
    }
    let list: Vec<String> = problems.iter().map(|p| format!("  - {p}")).collect();
    anyhow::bail!(
        "FIELD_KEYS cannot decrypt the stored data; refusing to start:\n{}",
        list.join("\n")
    )
}

/// How a server names itself in `app_instances` and in refusals.
pub fn instance_label() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into());
    format!("{host} pid {}", std::process::id())
}

/// One heartbeat: writes (or refreshes) this instance's row and forgets
/// instances silent for a week.
pub async fn beat(
    pool: &Pool,
    id: String,
    label: String,
    keys: &FieldKeys,
    session: &SessionKeys,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let kids = keys.key_ids().join(",");
    let session_kids = session.key_ids().join(",");
    db::run(pool, move |conn| {
        AppInstance::beat(conn, &id, &label, &kids, &session_kids, now)?;
        AppInstance::prune(conn, now - FORGET_AFTER)?;
        Ok(())
    })
    .await
}

/// A clean stop.
pub async fn forget_instance(pool: &Pool, id: String) -> Result<(), AppError> {
    db::run(pool, move |conn| {
        Ok(AppInstance::remove(conn, &id).map(|_| ())?)
    })
    .await
}

fn live(conn: &mut DbConn, now: NaiveDateTime) -> Result<Vec<AppInstance>, AppError> {
    Ok(AppInstance::live_since(conn, now - LIVE_WITHIN)?)
}

/// Live instances that do not hold `kid`.
pub fn instances_lacking(
    conn: &mut DbConn,
    kid: &str,
    now: NaiveDateTime,
) -> Result<Vec<AppInstance>, AppError> {
    Ok(live(conn, now)?
        .into_iter()
        .filter(|i| !i.holds(kid))
        .collect())
}

/// What `backend keys status` shows.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KeyStatus {
    /// The key ids of this command's `FIELD_KEYS`, the current one first.
    pub field_keys: Vec<String>,
    pub columns: Vec<ColumnKeys>,
    /// Instances count as live when they beat within this many seconds.
    pub live_within_secs: u64,
    pub instances: Vec<AppInstance>,
    /// One per key id in `FIELD_KEYS`, in the data, or on a live instance.
    pub keys: Vec<KeyVerdict>,
    /// What would stop a server from starting.
    pub problems: Vec<KeyProblem>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct ColumnKeys {
    /// `table.column`.
    pub column: String,
    /// `v1` values (and wrapped data keys) per field key id.
    pub rows_by_key_id: BTreeMap<String, i64>,
    /// `v2` values, under their user's data key (counted, per field key,
    /// by the wrapped keys in `user_data_keys.wrapped`).
    pub under_user_keys: i64,
    /// Values in neither format (undecryptable whatever the keys).
    pub not_in_format: i64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct KeyVerdict {
    pub key_id: String,
    pub in_field_keys: bool,
    pub current: bool,
    /// Rows stored under it, over every encrypted column: `v1` values and
    /// the users' data keys it wraps.
    pub rows: i64,
    /// Labels of the live instances that encrypt new values with it.
    pub current_on: Vec<String>,
    /// Labels of the live instances whose FIELD_KEYS lacks it.
    pub missing_on: Vec<String>,
    pub can_go: bool,
    pub verdict: String,
}

/// Rows per key id in every encrypted column (reads each column's key-id
/// index once: an operator's command, not a start-up check), the live
/// instances, and a verdict per key id.
pub fn status(
    conn: &mut DbConn,
    keys: &FieldKeys,
    now: NaiveDateTime,
) -> Result<KeyStatus, AppError> {
    let mut columns = Vec::new();
    for column in ENCRYPTED_COLUMNS {
        let under_user_keys = column.rows_under_user_keys(conn)?;
        let mut report = ColumnKeys {
            column: column.name(),
            rows_by_key_id: BTreeMap::new(),
            under_user_keys,
            not_in_format: -under_user_keys,
        };
        for (kid, rows) in column.rows_by_key_id(conn)? {
            match kid {
                Some(kid) => {
                    report.rows_by_key_id.insert(printable(&kid), rows);
                }
                None => report.not_in_format += rows,
            }
        }
        columns.push(report);
    }
    let instances = live(conn, now)?;
    let problems = check(conn, keys)?;

    let mut kids: Vec<String> = keys.key_ids().to_vec();
    let others = columns
        .iter()
        .flat_map(|c| c.rows_by_key_id.keys().cloned())
        .chain(
            instances
                .iter()
                .flat_map(|i| i.key_ids().into_iter().map(printable).collect::<Vec<_>>()),
        );
    for kid in others {
        if !kids.contains(&kid) {
            kids.push(kid);
        }
    }
    let verdicts = kids
        .into_iter()
        .map(|kid| verdict(kid, keys, &columns, &instances))
        .collect();
    Ok(KeyStatus {
        field_keys: keys.key_ids().to_vec(),
        columns,
        live_within_secs: LIVE_WITHIN.as_secs(),
        instances,
        keys: verdicts,
        problems,
    })
}

fn verdict(
    kid: String,
    keys: &FieldKeys,
    columns: &[ColumnKeys],
    instances: &[AppInstance],
) -> KeyVerdict {
    let rows: i64 = columns
        .iter()
        .filter_map(|c| c.rows_by_key_id.get(&kid))
        .sum();
    let labels = |pick: &dyn Fn(&AppInstance) -> bool| -> Vec<String> {
        instances
            .iter()
            .filter(|i| pick(i))
            .map(|i| i.label.clone())
            .collect()
    };
    let current_on = labels(&|i| i.current_key_id() == Some(kid.as_str()));
    let missing_on = labels(&|i| !i.holds(&kid));
    let in_field_keys = keys.holds(&kid);
    let current = keys.current_kid() == kid;
    let (can_go, verdict) = if current {
        let mut text = "the current key: new values are encrypted with it".to_owned();
        if !missing_on.is_empty() {
            text.push_str(&format!(
                "; not yet on {}: restart them with this FIELD_KEYS before `backend rotate-keys`",
                missing_on.join(", ")
            ));
        }
        (false, text)
    } else if rows > 0 {
        let mut text = format!("keep: {rows} row(s) still under it; run `backend rotate-keys`");
        if !in_field_keys {
            text.push_str(" — and FIELD_KEYS does not hold it: put it back first, those rows cannot be decrypted");
        }
        (false, text)
    } else if !current_on.is_empty() {
        (
            false,
            format!(
                "keep: {} still encrypt new values with it; restart them with the new FIELD_KEYS, then run `backend rotate-keys`",
                current_on.join(", ")
            ),
        )
    } else {
        (
            true,
            "can go: no rows under it and no live instance encrypts with it; remove it from FIELD_KEYS and restart every instance".to_owned(),
        )
    };
    KeyVerdict {
        key_id: kid,
        in_field_keys,
        current,
        rows,
        current_on,
        missing_on,
        can_go,
        verdict,
    }
}

impl KeyStatus {
    /// The text `backend keys status` prints.
    pub fn render(&self, now: NaiveDateTime) -> String {
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        line(format!("FIELD_KEYS here: {}", self.field_keys.join(", ")));
        line("rows per key id:".into());
        for c in &self.columns {
            let mut parts: Vec<String> = c
                .rows_by_key_id
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            if c.under_user_keys > 0 {
                parts.push(format!("under users' data keys {}", c.under_user_keys));
            }
            if c.not_in_format > 0 {
                parts.push(format!("in no known format {}", c.not_in_format));
            }
            if parts.is_empty() {
                parts.push("no rows".into());
            }
            line(format!("  {}: {}", c.column, parts.join(", ")));
        }
        line(format!(
            "live instances (a heartbeat within {} s): {}",
            self.live_within_secs,
            self.instances.len()
        ));
        for i in &self.instances {
            let ago = (now - i.heartbeat_at).num_seconds().max(0);
            line(format!(
                "  {} ({}): holds {} (current {}), session keys {}, heartbeat {ago} s ago",
                i.label,
                i.id,
                i.key_ids().join(", "),
                i.current_key_id().unwrap_or("none"),
                match i.session_key_ids().as_slice() {
                    [] => "unknown".to_owned(),
                    kids => kids.join(", "),
                }
            ));
        }
        line("key ids:".into());
        for k in &self.keys {
            line(format!("  {}: {}", k.key_id, k.verdict));
        }
        for p in &self.problems {
            line(format!("PROBLEM: {p}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const K2: &str = "k2:a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";

    fn instance(label: &str, kids: &str) -> AppInstance {
        let now = chrono::Utc::now().naive_utc();
        AppInstance {
            id: label.into(),
            label: label.into(),
            field_key_ids: kids.into(),
            started_at: now,
            heartbeat_at: now,
            session_key_ids: String::new(),
        }
    }

    fn column(rows: &[(&str, i64)]) -> ColumnKeys {
        ColumnKeys {
            column: "user_mfa.secret".into(),
            rows_by_key_id: rows.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect(),
            under_user_keys: 0,
            not_in_format: 0,
        }
    }

    #[test]
    fn an_old_key_can_go_only_without_rows_and_without_an_instance_encrypting_with_it() {
        let keys = FieldKeys::parse(&format!("{K2},{K1}")).unwrap();
        let done = [column(&[("k2", 10)])];
        let both = [instance("a", "k2,k1"), instance("b", "k2,k1")];
        assert!(verdict("k1".into(), &keys, &done, &both).can_go);

        // Rows still under it.
        let pending = [column(&[("k2", 9), ("k1", 1)])];
        let v = verdict("k1".into(), &keys, &pending, &both);
        assert!(
            !v.can_go && v.verdict.contains("1 row(s) still under it"),
            "{v:?}"
        );

        // No rows yet, but an instance still writes new values with it.
        let lagging = [instance("a", "k2,k1"), instance("b", "k1")];
        let v = verdict("k1".into(), &keys, &done, &lagging);
        assert!(!v.can_go && v.current_on == ["b"], "{v:?}");

        // The current key never can; it says which instance lacks it.
        let v = verdict("k2".into(), &keys, &done, &lagging);
        assert!(!v.can_go && v.current && v.missing_on == ["b"], "{v:?}");
    }

    /// A key that encrypts no value any more but still wraps users' data
    /// keys must stay: every value under those keys depends on it.
    #[test]
    fn a_key_wrapping_data_keys_cannot_go() {
        let keys = FieldKeys::parse(&format!("{K2},{K1}")).unwrap();
        let instances = [instance("a", "k2,k1")];
        let mut values = column(&[]);
        values.under_user_keys = 5;
        let mut wrapped = column(&[("k1", 2), ("k2", 3)]);
        wrapped.column = "user_data_keys.wrapped".into();
        let v = verdict("k1".into(), &keys, &[values, wrapped], &instances);
        assert!(!v.can_go && v.rows == 2, "{v:?}");
        assert!(v.verdict.contains("2 row(s) still under it"), "{v:?}");
        let problem = KeyProblem::NotHeld {
            column: "user_data_keys.wrapped".into(),
            key_id: "k1".into(),
            row_id: "u1".into(),
        };
        assert!(problem.to_string().contains("nor can any value under them"));
    }
}
