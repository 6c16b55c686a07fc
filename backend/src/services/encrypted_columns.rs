//! The encrypted columns of the schema (what `rotate-keys`, the start-up
//! check, `keys status` and backups walk) and the queries each one needs,
//! written once with the query builder. Split from `key_rotation` to keep
//! that file to the rotation itself.

use crate::db::schema::{user_data_keys, user_mfa, user_ssn};
use crate::db::DbConn;
use crate::security::field_crypto::FieldRef;
use diesel::prelude::*;

/// A (row key, ciphertext) pair.
type Row = (String, String);
/// (row key, ciphertext) pairs.
type Rows = Vec<Row>;
/// (key id, rows) pairs; `None`: values not in the `v1` format.
type KeyIdCounts = Vec<(Option<String>, i64)>;

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holds {
    /// Users' values: `v2` under the user's data key (the row id is the
    /// user id), or `v1` under a field key (from before data keys).
    UserValues,
    /// Users' data keys, wrapped (`v1`) under a field key.
    WrappedKeys,
}

/// One encrypted column and the queries that rotate it.
pub struct EncryptedColumn {
    pub table: &'static str,
    pub column: &'static str,
    /// The primary key column; its value is the ciphertext's row id.
    pub key_column: &'static str,
    pub holds: Holds,
    /// Up to `limit` (key, ciphertext) pairs with a key after the given one,
    /// in key order.
    pub(super) page: fn(&mut DbConn, &str, i64) -> QueryResult<Rows>,
    /// The ciphertext of one row, if the row still exists.
    pub(super) find: fn(&mut DbConn, &str) -> QueryResult<Option<String>>,
    /// Writes the new ciphertext where the key is `id` and the column still
    /// holds `old`; whether it did.
    pub(super) swap: fn(&mut DbConn, &str, &str, &str) -> QueryResult<bool>,
    pub(super) count: fn(&mut DbConn) -> QueryResult<i64>,
    /// The smallest key id of a stored value greater than the given one
    /// (one seek in the `(field_key_id, key)` index).
    pub(super) next_key_id: fn(&mut DbConn, &str) -> QueryResult<Option<String>>,
    /// The (key, ciphertext) of the first (or, when true, the last) row
    /// stored under a key id, in key order (one seek).
    pub(super) edge_row: fn(&mut DbConn, &str, bool) -> QueryResult<Option<Row>>,
    /// Rows per key id (None: not in the `v1` format). Reads the whole index.
    pub(super) by_key_id: fn(&mut DbConn) -> QueryResult<KeyIdCounts>,
    /// Rows in the `v2` format (under a user's data key). Reads the table.
    pub(super) count_v2: fn(&mut DbConn) -> QueryResult<i64>,
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

    /// Rows under their user's data key (`v2`).
    pub fn rows_under_user_keys(&self, conn: &mut DbConn) -> QueryResult<i64> {
        (self.count_v2)(conn)
    }
}

/// The queries of one column, written once with the query builder.
macro_rules! encrypted_column {
    ($table:ident . $column:ident, key $key:ident, kid $kid:ident, $holds:ident) => {
        EncryptedColumn {
            table: stringify!($table),
            column: stringify!($column),
            key_column: stringify!($key),
            holds: Holds::$holds,
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
                    .filter($table::$kid.gt(after))
                    .order($table::$kid.asc())
                    .select($table::$kid)
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
                        .filter($table::$kid.le(kid))
                        .order(($table::$kid.desc(), $table::$key.desc()))
                        .select(($table::$kid, $table::$key, $table::$column))
                        .first(conn)
                        .optional()?
                } else {
                    $table::table
                        .filter($table::$kid.ge(kid))
                        .order(($table::$kid.asc(), $table::$key.asc()))
                        .select(($table::$kid, $table::$key, $table::$column))
                        .first(conn)
                        .optional()?
                };
                Ok(row
                    .filter(|(found, _, _)| found.as_deref() == Some(kid))
                    .map(|(_, id, stored)| (id, stored)))
            },
            count_v2: |conn| {
                $table::table
                    .filter($table::$column.like("v2:%"))
                    .count()
                    .get_result(conn)
            },
            by_key_id: |conn| {
                $table::table
                    .group_by($table::$kid)
                    .select(($table::$kid, diesel::dsl::count_star()))
                    .order($table::$kid.asc())
                    .load(conn)
            },
        }
    };
}

/// Every encrypted column of the schema. A new one is one more line here
/// (and must use this table, column and key as its associated data, and
/// have a generated key-id column indexed with its key, as migrations
/// 000018 and 000022 give these). A users' values column is keyed by the
/// user id (it finds the data key). The wrapped data keys come last: the
/// values' pass creates the keys it needs under the current field key.
pub const ENCRYPTED_COLUMNS: &[EncryptedColumn] = &[
    encrypted_column!(user_mfa.secret, key user_id, kid field_key_id, UserValues),
    encrypted_column!(user_ssn.ciphertext, key user_id, kid field_key_id, UserValues),
    encrypted_column!(user_data_keys.wrapped, key user_id, kid kek_id, WrappedKeys),
];
