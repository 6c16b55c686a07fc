//! The audit log read back: the admin's filtered pages and CSV export,
//! and a user's own recent activity.

use super::{parse_time, PAGE_SIZE};
use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{
    self,
    models::audit_entry::{AuditEntry, AuditFilter},
};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::services::devices::rfc3339;
use crate::services::sessions::SignedIn;
use crate::state::AppState;
use wire::*;

/// Query parameters of the audit log (its page and its CSV export), as they
/// arrive.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct AuditQuery {
    /// A user id.
    pub actor: Option<String>,
    pub action: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: Option<String>,
    /// RFC 3339 (inclusive).
    pub from: Option<String>,
    /// RFC 3339 (exclusive).
    pub to: Option<String>,
    pub before: Option<i64>,
}

/// The most entries one CSV export holds (the newest of the filtered view).
pub const CSV_MAX_ROWS: i64 = 10_000;

fn audit_filter(q: AuditQuery) -> AppResult<AuditFilter> {
    let nonempty = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let (actor, action, outcome) = (nonempty(q.actor), nonempty(q.action), nonempty(q.outcome));
    if [&actor, &action]
        .iter()
        .any(|v| v.as_ref().is_some_and(|v| v.chars().count() > 200))
    {
        return Err(AppError::bad_request("a filter value is too long"));
    }
    if outcome
        .as_deref()
        .is_some_and(|o| !matches!(o, "success" | "failure" | "denied"))
    {
        return Err(AppError::bad_request(
            "`outcome` must be success, failure or denied",
        ));
    }
    Ok(AuditFilter {
        actor,
        action,
        outcome,
        from: parse_time("from", q.from)?,
        to: parse_time("to", q.to)?,
        before: q.before,
        involving: None,
    })
}

fn audit_info(r: AuditEntry) -> AuditEntryInfo {
    AuditEntryInfo {
        id: r.id,
        occurred_at: rfc3339(r.occurred_at),
        actor: r.actor,
        action: r.action,
        target: r.target,
        outcome: r.outcome,
        client_ip: r.client_ip,
        request_id: r.request_id,
        detail: r.detail,
        hash: r.hash,
    }
}

/// One page of the audit log, newest first, filtered.
pub async fn audit_page(state: &AppState, q: AuditQuery) -> AppResult<AuditPage> {
    let filter = audit_filter(q)?;
    let rows = db::run(&state.pool, move |c| {
        Ok(AuditEntry::page(c, &filter, PAGE_SIZE)?)
    })
    .await?;
    let next = (rows.len() == usize::try_from(PAGE_SIZE).unwrap_or(0))
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    Ok(AuditPage {
        entries: rows.into_iter().map(audit_info).collect(),
        next,
    })
}

/// How many entries `GET /api/v1/me/activity` returns.
pub const ACTIVITY_LIMIT: i64 = 20;

/// A user's own recent activity (not an admin read): the audit log's query
/// narrowed to the entries where `user_id` acted or was acted on, newest
/// first, with only the fields that concern them (no other user's id, no
/// IP address or request id).
pub async fn my_activity(state: &AppState, user_id: &str) -> AppResult<Vec<ActivityEntry>> {
    let filter = AuditFilter {
        involving: Some(user_id.to_owned()),
        ..AuditFilter::default()
    };
    let rows = db::run(&state.pool, move |c| {
        Ok(AuditEntry::page(c, &filter, ACTIVITY_LIMIT)?)
    })
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ActivityEntry {
            id: r.id,
            time: rfc3339(r.occurred_at),
            detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::String(r.detail)),
            action: r.action,
            outcome: r.outcome,
        })
        .collect())
}

/// The filtered view as CSV (newest first, at most [`CSV_MAX_ROWS`]
/// entries), with the chain's hashes so it can be checked elsewhere.
/// Exporting is itself audited.
pub async fn audit_csv(
    state: &AppState,
    meta: &RequestMeta,
    viewer: &SignedIn,
    q: AuditQuery,
) -> AppResult<String> {
    use crate::security::csv;
    let filter = audit_filter(q)?;
    let query = filter.clone();
    let rows = db::run(&state.pool, move |c| {
        Ok(AuditEntry::page(c, &query, CSV_MAX_ROWS)?)
    })
    .await?;
    let mut out = csv::row([
        "id",
        "occurred_at",
        "actor",
        "action",
        "target",
        "outcome",
        "client_ip",
        "request_id",
        "detail",
        "prev_hash",
        "hash",
    ]);
    for r in &rows {
        let (id, time) = (r.id.to_string(), rfc3339(r.occurred_at));
        out.push_str(&csv::row([
            id.as_str(),
            &time,
            r.actor.as_deref().unwrap_or(""),
            &r.action,
            r.target.as_deref().unwrap_or(""),
            &r.outcome,
            r.client_ip.as_deref().unwrap_or(""),
            r.request_id.as_deref().unwrap_or(""),
            &r.detail,
            r.prev_hash.as_deref().unwrap_or(""),
            r.hash.as_deref().unwrap_or(""),
        ]));
    }
    audit::record(
        &state.pool,
        Some(meta),
        AuditEvent::new("audit.export", Outcome::Success)
            .actor(viewer.user.id.clone())
            .detail(serde_json::json!({
                "rows": rows.len(),
                "actor": filter.actor,
                "action": filter.action,
                "outcome": filter.outcome,
                "from": filter.from.map(rfc3339),
                "to": filter.to.map(rfc3339),
                "before": filter.before,
            })),
    )
    .await?;
    Ok(out)
}
