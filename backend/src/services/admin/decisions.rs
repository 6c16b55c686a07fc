//! The access decisions feed: the recorded decisions of the policy
//! decision point, filtered and paged.

use super::{parse_time, PAGE_SIZE};
use crate::db::{
    self,
    models::decision::{AccessDecision, DecisionFilter},
};
use crate::error::{AppError, AppResult};
use crate::services::devices::rfc3339;
use crate::state::AppState;
use wire::*;

/// Query parameters of the decisions feed, as they arrive.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct DecisionQuery {
    pub user: Option<String>,
    pub route: Option<String>,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub before: Option<i64>,
}

pub async fn decisions(state: &AppState, q: DecisionQuery) -> AppResult<DecisionPage> {
    let nonempty = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let outcome = nonempty(q.outcome);
    if outcome
        .as_deref()
        .is_some_and(|o| o != "allow" && o != "deny")
    {
        return Err(AppError::bad_request("`outcome` must be allow or deny"));
    }
    let filter = DecisionFilter {
        user_id: nonempty(q.user),
        route: nonempty(q.route),
        outcome,
        reason: nonempty(q.reason),
        from: parse_time("from", q.from)?,
        to: parse_time("to", q.to)?,
        before: q.before,
    };
    let rows = db::run(&state.pool, move |c| {
        Ok(AccessDecision::search(c, &filter, PAGE_SIZE)?)
    })
    .await?;
    let next = (rows.len() == usize::try_from(PAGE_SIZE).unwrap_or(0))
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    Ok(DecisionPage {
        decisions: rows
            .into_iter()
            .map(|r| DecisionInfo {
                id: r.id,
                decided_at: rfc3339(r.decided_at),
                user_id: r.user_id,
                method: r.method,
                route: r.route,
                outcome: r.outcome,
                reason: r.reason,
                client_ip: r.client_ip,
                device_id: r.device_id,
                request_id: r.request_id,
            })
            .collect(),
        next,
    })
}
