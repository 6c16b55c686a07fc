//! The one way to record a security event.
//!
//! Every event has a time, an actor (user id, when known), an action, a
//! target, an outcome, the client IP, the request id and a small JSON detail.
//! Callers build the detail from known-safe values: a password, token or SSN
//! never goes in. Rows are only ever inserted (the database refuses updates
//! and deletes), and if recording fails the request fails too: a security
//! event that cannot be recorded is not allowed to happen silently.

use crate::db::models::audit_entry::NewAuditEntry;
use crate::db::schema::audit_log;
use crate::db::{self, Pool};
use crate::error::AppError;
use crate::http::client::RequestMeta;
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

/// Records `event`; `meta` is `None` for events outside a request (the CLI).
pub async fn record(
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
        diesel::insert_into(audit_log::table)
            .values(NewAuditEntry {
                occurred_at: chrono::Utc::now().naive_utc(),
                actor: event.actor.as_deref(),
                action: event.action,
                target: event.target.as_deref(),
                outcome: event.outcome.as_str(),
                client_ip: meta.client_ip.as_deref(),
                request_id: meta.request_id.as_deref(),
                detail: &detail,
            })
            .execute(conn)?;
        Ok(())
    })
    .await
}
