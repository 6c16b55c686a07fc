use crate::db::schema::audit_log;
use crate::security::audit_chain::EntryContent;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A stored audit event. Rows are written only by `crate::audit::record` and
/// never updated or deleted (the database refuses both). `prev_hash`/`hash`
/// link it into the hash chain (`security::audit_chain`); both are `None`
/// on rows written before the chain existed.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i64,
    pub occurred_at: NaiveDateTime,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
    pub detail: String,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry<'a> {
    pub id: i64,
    pub occurred_at: NaiveDateTime,
    pub actor: Option<&'a str>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub outcome: &'a str,
    pub client_ip: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub detail: &'a str,
    pub prev_hash: &'a str,
    pub hash: &'a str,
}

impl NewAuditEntry<'_> {
    /// The content the chain hashes.
    pub fn content(&self) -> EntryContent<'_> {
        EntryContent {
            id: self.id,
            occurred_at: self.occurred_at,
            actor: self.actor,
            action: self.action,
            target: self.target,
            outcome: self.outcome,
            client_ip: self.client_ip,
            request_id: self.request_id,
            detail: self.detail,
        }
    }
}

/// The filters of the audit page and its CSV export; every field optional.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    /// From this time on (inclusive).
    pub from: Option<NaiveDateTime>,
    /// Before this time (exclusive).
    pub to: Option<NaiveDateTime>,
    /// Keyset pagination: only ids below this one.
    pub before: Option<i64>,
    /// Entries about this user: they acted (`actor`) or were acted on
    /// (`target`). A user's own activity (`GET /api/v1/me/activity`).
    pub involving: Option<String>,
}

impl AuditEntry {
    /// The content the chain hashes.
    pub fn content(&self) -> EntryContent<'_> {
        EntryContent {
            id: self.id,
            occurred_at: self.occurred_at,
            actor: self.actor.as_deref(),
            action: &self.action,
            target: self.target.as_deref(),
            outcome: &self.outcome,
            client_ip: self.client_ip.as_deref(),
            request_id: self.request_id.as_deref(),
            detail: &self.detail,
        }
    }

    /// The newest entries first (read-only; for the admin views and tests).
    pub fn recent(conn: &mut crate::db::DbConn, limit: i64) -> QueryResult<Vec<AuditEntry>> {
        audit_log::table
            .order(audit_log::id.desc())
            .limit(limit)
            .select(AuditEntry::as_select())
            .load(conn)
    }

    /// Newest first, `limit` entries matching `filter`.
    pub fn page(
        conn: &mut crate::db::DbConn,
        filter: &AuditFilter,
        limit: i64,
    ) -> QueryResult<Vec<AuditEntry>> {
        let mut q = audit_log::table.into_boxed();
        if let Some(a) = &filter.actor {
            q = q.filter(audit_log::actor.eq(a.clone()));
        }
        if let Some(a) = &filter.action {
            q = q.filter(audit_log::action.eq(a.clone()));
        }
        if let Some(o) = &filter.outcome {
            q = q.filter(audit_log::outcome.eq(o.clone()));
        }
        if let Some(t) = filter.from {
            q = q.filter(audit_log::occurred_at.ge(t));
        }
        if let Some(t) = filter.to {
            q = q.filter(audit_log::occurred_at.lt(t));
        }
        if let Some(b) = filter.before {
            q = q.filter(audit_log::id.lt(b));
        }
        if let Some(u) = &filter.involving {
            q = q.filter(
                audit_log::actor
                    .eq(u.clone())
                    .or(audit_log::target.eq(u.clone())),
            );
        }
        q.order(audit_log::id.desc())
            .limit(limit)
            .select(AuditEntry::as_select())
            .load(conn)
    }

    /// The id and hash of the newest entry: where the chain continues.
    pub fn chain_head(conn: &mut crate::db::DbConn) -> QueryResult<Option<(i64, Option<String>)>> {
        audit_log::table
            .order(audit_log::id.desc())
            .select((audit_log::id, audit_log::hash))
            .first(conn)
            .optional()
    }

    /// The stored hash of entry `id`, if there is such an entry.
    pub fn hash_at(conn: &mut crate::db::DbConn, id: i64) -> QueryResult<Option<String>> {
        Ok(audit_log::table
            .filter(audit_log::id.eq(id))
            .select(audit_log::hash)
            .first::<Option<String>>(conn)
            .optional()?
            .flatten())
    }

    /// Up to `limit` entries after id `after`, oldest first: the chain in
    /// the order it is verified.
    pub fn chain_batch(
        conn: &mut crate::db::DbConn,
        after: Option<i64>,
        limit: i64,
    ) -> QueryResult<Vec<AuditEntry>> {
        let mut q = audit_log::table.into_boxed();
        if let Some(a) = after {
            q = q.filter(audit_log::id.gt(a));
        }
        q.order(audit_log::id.asc())
            .limit(limit)
            .select(AuditEntry::as_select())
            .load(conn)
    }

    /// (time, action, outcome, detail) of these actions since `since`.
    pub fn actions_since(
        conn: &mut crate::db::DbConn,
        since: NaiveDateTime,
        actions: &[&str],
    ) -> QueryResult<Vec<(NaiveDateTime, String, String, String)>> {
        audit_log::table
            .filter(audit_log::occurred_at.ge(since))
            .filter(audit_log::action.eq_any(actions))
            .select((
                audit_log::occurred_at,
                audit_log::action,
                audit_log::outcome,
                audit_log::detail,
            ))
            .load(conn)
    }
}
