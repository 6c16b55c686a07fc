//! The one way to record a security event.
//!
//! Every event has a time, an actor (user id, when known), an action, a
//! target, an outcome, the client IP, the request id and a small JSON detail.
//! Callers build the detail from known-safe values: a password, token or SSN
//! never goes in. Rows are only ever inserted (the database refuses updates
//! and deletes), and if recording fails the request fails too: a security
//! event that cannot be recorded is not allowed to happen silently.
//!
//! Entries form a hash chain (`security::audit_chain`): each stores the hash
//! of its content and of the entry before it, assigned here and only here,
//! under a lock; `services::audit_verify` walks it.

use crate::db::models::audit_entry::{AuditEntry, NewAuditEntry};
use crate::db::schema::audit_log;
use crate::db::{self, DbConn, Pool};
use crate::error::AppError;
use crate::http::client::RequestMeta;
use crate::security::audit_chain;
use diesel::prelude::*;

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

/// Records `event`; `meta` is `None` for events outside a request (the CLI).
///
/// This is where the hash chain grows, one entry at a time: inside one
/// write transaction holding the chain lock (SQLite: `BEGIN IMMEDIATE`, the
/// database's single write lock; PostgreSQL: a transaction-scoped advisory
/// lock), it reads the newest entry, takes the next id and links the new
/// entry's hash to that entry's. Writers queue on the lock, so two of them
/// can never link to the same entry (and if one ever did, the primary key
/// would refuse the second).
pub async fn record(
    pool: &Pool,
    meta: Option<&RequestMeta>,
    event: AuditEvent,
) -> Result<(), AppError> {
    // Workshop mode only (the context is set per request when it is on):
    // does this event solve a challenge, and for whom?
    let solved = meta
        .and_then(|m| m.workshop.as_ref())
        .and_then(|ctx| crate::services::workshop::solved_by(&event, ctx));
    append(pool, meta, event).await?;
    if let (Some((challenge, user)), Some(meta)) = (solved, meta) {
        crate::services::workshop::solve(pool, meta, &user, challenge).await?;
    }
    Ok(())
}

/// Writes one entry, with nothing else attached: [`record`] is the way in;
/// workshop mode uses this for its own `workshop.solved` entries.
pub(crate) async fn append(
    pool: &Pool,
    meta: Option<&RequestMeta>,
    event: AuditEvent,
) -> Result<(), AppError> {
    let meta = meta.cloned().unwrap_or_default();
    tracing::info!(
        audit.action = event.action,
        audit.outcome = event.outcome.as_str(),
        audit.actor = event.actor.as_deref().unwrap_or("-"),
        "audit event"
    );
    db::run(pool, move |conn| {
        let detail = event.detail.to_string();
        db::write_transaction(conn, |conn| {
            lock_chain(conn)?;
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
            let mut entry = NewAuditEntry {
                id,
                // Taken under the lock, so times follow the chain's order.
                occurred_at: audit_chain::stored_precision(chrono::Utc::now().naive_utc()),
                actor: event.actor.as_deref(),
                action: event.action,
                target: event.target.as_deref(),
                outcome: event.outcome.as_str(),
                client_ip: meta.client_ip.as_deref(),
                request_id: meta.request_id.as_deref(),
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
        })
    })
    .await
}

/// Serialises the writers of the chain until the transaction ends.
fn lock_chain(conn: &mut DbConn) -> Result<(), AppError> {
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
