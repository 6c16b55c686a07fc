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
}
