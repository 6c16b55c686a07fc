//! The one way to record a security event.
//!
//! Every event has a time, an actor (user id, when known), an action, a
//! target, an outcome, the client IP, the request id and a small JSON detail.
//! Callers build the detail from known-safe values: a password, token or SSN
//! never goes in. Rows are only ever inserted (the database refuses updates
//! and deletes), and if recording fails the request fails too: a security
//! event that cannot be recorded is not allowed to happen silently.
//!
//! A change and its entry are one transaction: [`record_in`] writes the
//! entry on the caller's open write transaction, so a change can never
//! commit without its entry (nor an entry describe a change that was rolled
//! back). [`record`] is the same on a transaction of its own, for events
//! with no change attached (refusals, reads).
//!
//! Entries form a hash chain (`security::audit_chain`): each stores the hash
//! of its content and of the entry before it, assigned here and only here,
//! under a lock; `services::audit_verify` walks it.

use crate::db::models::audit_entry::{AuditEntry, NewAuditEntry};
use crate::db::schema::audit_log;
use crate::db::{self, DbConn, Pool};
use crate::error::AppError;
use crate::request_meta::RequestMeta;
use crate::security::audit_chain;
use diesel::prelude::*;
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// One event, built with the small builder below.
#[derive(Debug)]
pub struct AuditEvent {
    pub action: &'static str,
    pub outcome: Outcome,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub detail: serde_json::Value,
}

impl AuditEvent {
    pub fn new(action: &'static str, outcome: Outcome) -> Self {
        Self {
            action,
            outcome,
            actor: None,
            target: None,
            detail: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn actor(mut self, user_id: impl Into<String>) -> Self {
        self.actor = Some(user_id.into());
        self
    }

    /// The actor when there may be none (an anonymous request).
    pub fn actor_opt(mut self, user_id: Option<String>) -> Self {
        self.actor = user_id;
        self
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

/// Any fixed number, distinct from the migration lock's; every instance of
/// this app uses the same one.
const CHAIN_LOCK_ID: i64 = 0x5EC0_A0D1;

/// Records `event` inside the caller's open write transaction
/// (`db::write_transaction`), so the change it describes and its entry
/// commit together or not at all: if the entry cannot be written, the
/// caller's `?` rolls the change back. `meta` is `None` for events outside a
/// request (the CLI).
///
/// This is where the hash chain grows, one entry at a time: holding the
/// chain lock (SQLite: the transaction's `BEGIN IMMEDIATE`, the database's
/// single write lock; PostgreSQL: a transaction-scoped advisory lock, taken
/// here and held until the caller's transaction ends), it reads the newest
/// entry, takes the next id and links the new entry's hash to that entry's.
/// Writers queue on the lock, so two of them can never link to the same
/// entry (and if one ever did, the primary key would refuse the second).
///
/// Call it after the transaction's other writes: on PostgreSQL the chain
/// lock is held from the first entry to the commit, and a row written after
/// taking it could be one another writer holds while it waits for the lock
/// (a deadlock).
///
/// Then the [`Observer`], if one is registered, sees the event of a request
/// in the same transaction: workshop mode credits a challenge the event
/// solves, so a rolled-back change solves nothing.
pub fn record_in(
    conn: &mut DbConn,
    meta: Option<&RequestMeta>,
    event: AuditEvent,
) -> Result<(), AppError> {
    append_in(conn, meta, &event)?;
    if let (Some(meta), Some(observer)) = (meta, OBSERVER.get()) {
        observer(conn, meta, &event)?;
    }
    Ok(())
}

/// What sees each event of a request recorded by [`record_in`], inside the
/// transaction that records it: workshop mode's crediting
/// (`services::workshop::credit`). A function registered from above
/// ([`observe_with`]), so this module reaches the services without
/// importing them.
pub type Observer = fn(&mut DbConn, &RequestMeta, &AuditEvent) -> Result<(), AppError>;

static OBSERVER: OnceLock<Observer> = OnceLock::new();

/// Registers the [`Observer`] (`startup::Application::build`). Every build
/// registers the same function (tests build many apps in one process), so
/// the first registration is the one kept.
pub fn observe_with(observer: Observer) {
    OBSERVER.get_or_init(|| observer);
}

/// Records an event that comes with no change of its own (a refusal, a
/// read, an observation) in a write transaction of its own: [`record_in`]
/// on a pooled connection. A change is recorded with [`record_in`] inside
/// the transaction that makes it.
pub async fn record(
    pool: &Pool,
    meta: Option<&RequestMeta>,
    event: AuditEvent,
) -> Result<(), AppError> {
    let meta = meta.cloned();
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| record_in(conn, meta.as_ref(), event))
    })
    .await
}

/// Writes one entry, with nothing else attached: [`record_in`] is the way
/// in; workshop mode uses this for its own `workshop.solved` entries (which
/// the observer must not see again).
pub(crate) fn append_in(
    conn: &mut DbConn,
    meta: Option<&RequestMeta>,
    event: &AuditEvent,
) -> Result<(), AppError> {
    tracing::info!(
        audit.action = event.action,
        audit.outcome = event.outcome.as_str(),
        audit.actor = event.actor.as_deref().unwrap_or("-"),
        "audit event"
    );
    let (client_ip, request_id) = match meta {
        Some(m) => (m.client_ip.as_deref(), m.request_id.as_deref()),
        None => (None, None),
    };
    let detail = event.detail.to_string();
    lock_chain(conn)?;
    let (id, prev_hash) = chain_tip(conn)?;
    let mut entry = NewAuditEntry {
        id,
        // Taken under the lock, so times follow the chain's order.
        occurred_at: audit_chain::stored_precision(chrono::Utc::now().naive_utc()),
        actor: event.actor.as_deref(),
        action: event.action,
        target: event.target.as_deref(),
        outcome: event.outcome.as_str(),
        client_ip,
        request_id,
        detail: &detail,
        prev_hash: &prev_hash,
        hash: "",
    };
    let hash = audit_chain::entry_hash(&prev_hash, &entry.content());
    entry.hash = &hash;
    diesel::insert_into(audit_log::table)
        .values(&entry)
        .execute(conn)?;
    Ok(())
}

/// Where the chain continues: the id the next entry takes and the hash it
/// links to. Call it under [`lock_chain`], inside the write transaction that
/// inserts the entry.
fn chain_tip(conn: &mut DbConn) -> Result<(i64, String), AppError> {
    let head = AuditEntry::chain_head(conn)?;
    let id = match &head {
        None => 1,
        Some((last, _)) => last
            .checked_add(1)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("audit ids exhausted")))?,
    };
    // A legacy newest entry (no hash) means the chain starts here.
    let prev_hash = head
        .and_then(|(_, hash)| hash)
        .unwrap_or_else(|| audit_chain::GENESIS.to_owned());
    Ok((id, prev_hash))
}

/// Serialises the writers of the chain until the transaction ends (taking
/// it twice in one transaction is harmless).
pub(crate) fn lock_chain(conn: &mut DbConn) -> Result<(), AppError> {
    match conn {
        // `write_transaction` began with BEGIN IMMEDIATE: the write lock is held.
        DbConn::Sqlite(_) => Ok(()),
        DbConn::Postgres(pg) => {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(CHAIN_LOCK_ID)
                .execute(pg)?;
            Ok(())
        }
    }
}

/// One entry for [`append_many`]: its content without its place in the
/// chain (id and hashes), which only this module assigns.
pub(crate) struct Unlinked<'a> {
    pub occurred_at: chrono::NaiveDateTime,
    pub actor: Option<&'a str>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub outcome: Outcome,
    pub client_ip: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub detail: &'a str,
}

/// Appends `entries`, in order, to the chain, linked exactly as [`append_in`]
/// links one entry, with multi-row inserts: for bulk writers
/// (`cli::seed`), not for events (use [`record_in`]). Runs inside the
/// caller's `db::write_transaction`, under the chain lock (taken again
/// here; both locks may be taken twice in one transaction). Times are
/// stored at microseconds, as hashed.
pub(crate) fn append_many(conn: &mut DbConn, entries: &[Unlinked<'_>]) -> Result<(), AppError> {
    lock_chain(conn)?;
    let (first_id, mut prev_hash) = chain_tip(conn)?;
    let mut links: Vec<(String, String)> = Vec::with_capacity(entries.len());
    let mut rows: Vec<NewAuditEntry<'_>> = Vec::with_capacity(entries.len());
    for (e, id) in entries.iter().zip(first_id..) {
        let row = NewAuditEntry {
            id,
            occurred_at: audit_chain::stored_precision(e.occurred_at),
            actor: e.actor,
            action: e.action,
            target: e.target,
            outcome: e.outcome.as_str(),
            client_ip: e.client_ip,
            request_id: e.request_id,
            detail: e.detail,
            prev_hash: "",
            hash: "",
        };
        let hash = audit_chain::entry_hash(&prev_hash, &row.content());
        links.push((std::mem::replace(&mut prev_hash, hash.clone()), hash));
        rows.push(row);
    }
    for (row, (prev, hash)) in rows.iter_mut().zip(&links) {
        row.prev_hash = prev;
        row.hash = hash;
    }
    // SQLite allows 32,766 bound values per statement (PostgreSQL 65,535).
    for chunk in rows.chunks(32_766 / 11) {
        let values: Vec<_> = chunk.iter().map(bulk_values).collect();
        // Diesel's MultiConnection has no multi-row insert of its own (the
        // dialects differ): the same statement on the concrete connection.
        match conn {
            DbConn::Sqlite(c) => diesel::insert_into(audit_log::table)
                .values(values)
                .execute(c)?,
            DbConn::Postgres(c) => diesel::insert_into(audit_log::table)
                .values(values)
                .execute(c)?,
        };
    }
    Ok(())
}

/// A row as column values for a multi-row insert. Not `NewAuditEntry`'s
/// `Insertable`: that writes an absent value as DEFAULT, which SQLite cannot
/// hold in a multi-row insert (Diesel then inserts row by row in a
/// transaction of its own, which cannot nest in ours); a bound NULL can.
#[allow(clippy::type_complexity)]
fn bulk_values<'a>(
    e: &NewAuditEntry<'a>,
) -> (
    diesel::dsl::Eq<audit_log::id, i64>,
    diesel::dsl::Eq<audit_log::occurred_at, chrono::NaiveDateTime>,
    diesel::dsl::Eq<audit_log::actor, Option<&'a str>>,
    diesel::dsl::Eq<audit_log::action, &'a str>,
    diesel::dsl::Eq<audit_log::target, Option<&'a str>>,
    diesel::dsl::Eq<audit_log::outcome, &'a str>,
    diesel::dsl::Eq<audit_log::client_ip, Option<&'a str>>,
    diesel::dsl::Eq<audit_log::request_id, Option<&'a str>>,
    diesel::dsl::Eq<audit_log::detail, &'a str>,
    diesel::dsl::Eq<audit_log::prev_hash, Option<&'a str>>,
    diesel::dsl::Eq<audit_log::hash, Option<&'a str>>,
) {
    (
        audit_log::id.eq(e.id),
        audit_log::occurred_at.eq(e.occurred_at),
        audit_log::actor.eq(e.actor),
        audit_log::action.eq(e.action),
        audit_log::target.eq(e.target),
        audit_log::outcome.eq(e.outcome),
        audit_log::client_ip.eq(e.client_ip),
        audit_log::request_id.eq(e.request_id),
        audit_log::detail.eq(e.detail),
        audit_log::prev_hash.eq(Some(e.prev_hash)),
        audit_log::hash.eq(Some(e.hash)),
    )
}
