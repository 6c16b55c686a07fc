use crate::db::schema::audit_log;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A stored audit event. Rows are written only by `crate::audit::record` and
/// never updated or deleted (the database refuses both).
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
}

#[derive(Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry<'a> {
    pub occurred_at: NaiveDateTime,
    pub actor: Option<&'a str>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub outcome: &'a str,
    pub client_ip: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub detail: &'a str,
}

impl AuditEntry {
    /// The newest entries first (read-only; for the admin views and tests).
    pub fn recent(conn: &mut crate::db::DbConn, limit: i64) -> QueryResult<Vec<AuditEntry>> {
        audit_log::table
            .order(audit_log::id.desc())
            .limit(limit)
            .select(AuditEntry::as_select())
            .load(conn)
    }

    /// One page of the log, newest first, optionally one action only.
    pub fn page(
        conn: &mut crate::db::DbConn,
        action: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> QueryResult<Vec<AuditEntry>> {
        let mut q = audit_log::table.into_boxed();
        if let Some(a) = action {
            q = q.filter(audit_log::action.eq(a.to_owned()));
        }
        if let Some(b) = before {
            q = q.filter(audit_log::id.lt(b));
        }
        q.order(audit_log::id.desc())
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
