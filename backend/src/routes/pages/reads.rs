//! The JSON API reads a server-rendered page makes, answered in-process:
//! the same policy entry, the same decision (recorded like any other), the
//! same service call and the same JSON as over HTTP — without a loopback
//! request. In the browser the same pages call the HTTP API.
//!
//! Which route has which read is declared with the route (`page_read` in
//! `routes::table`), so a read is found by the route's own pattern and
//! decided under the route's own entry; each read below is typed and calls
//! the services as the route's handler does.

use super::PageRequest;
use crate::error::{AppError, AppResult};
use crate::routes::api::v1::admin::UserQuery;
use crate::routes::api::v1::logs;
use crate::routes::table::{PAGE_READS, POLICIES, TABLE};
use crate::security::policy_table::Lookup;
use crate::services::admin::{self, AuditQuery, DecisionQuery};
use crate::services::sessions::{self, Denied, SignedIn};
use crate::services::{access, devices, mfa, oauth_clients, ssn, workshop};
use crate::state::AppState;
use actix_web::{web, ResponseError};
use frontend::api::workshop::{WorkshopChallenges, WorkshopProgress};
use frontend::api::*;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A read, as the route table holds it: the JSON body, or why not.
pub type Read =
    for<'a> fn(&'a Cx<'a>) -> Pin<Box<dyn Future<Output = AppResult<String>> + Send + 'a>>;

/// What a read has to go on: the app, the page request, the caller the
/// policy allowed, and the request's path parameters and query.
pub struct Cx<'a> {
    state: &'a AppState,
    page: &'a PageRequest,
    who: &'a SignedIn,
    params: Vec<String>,
    query: &'a str,
}

impl Cx<'_> {
    /// The value of the pattern's `{id}` segment.
    fn id(&self) -> AppResult<&str> {
        self.params
            .first()
            .map(String::as_str)
            .ok_or(AppError::NotFound)
    }

    /// The query string, parsed as the route's handler parses it.
    fn query<T: serde::de::DeserializeOwned>(&self) -> AppResult<T> {
        web::Query::<T>::from_query(self.query)
            .map(web::Query::into_inner)
            .map_err(|_| AppError::bad_request("invalid query string"))
    }
}

/// `Ok(json)` or `Err(status)`, as the HTTP API would answer `GET path`.
pub async fn get(
    state: &AppState,
    page: &PageRequest,
    who: Result<Arc<SignedIn>, Denied>,
    path_and_query: &str,
) -> Result<String, u16> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let Some((pattern, read, params)) = PAGE_READS
        .iter()
        .find_map(|(pattern, read)| match_pattern(pattern, path).map(|p| (*pattern, *read, p)))
    else {
        return Err(404);
    };
    // Declared on the same line as the read: always found.
    let Lookup::Found(policy) = TABLE.lookup("GET", pattern) else {
        return Err(404);
    };
    let request = access::Request {
        policy,
        method: "GET",
        meta: &page.meta,
        client_ip: page.client_ip,
        device_id: page.device_id.as_deref(),
    };
    let who = match access::decide_for(state, &request, who).await {
        Ok(Ok(Some(who))) => who,
        Ok(Ok(None)) => return Err(404),
        Ok(Err(deny)) => return Err(access::deny_error(deny).status_code().as_u16()),
        Err(e) => return Err(fail(e)),
    };
    let cx = Cx {
        state,
        page,
        who: &who,
        params,
        query,
    };
    read(&cx).await.map_err(fail)
}

fn fail(e: AppError) -> u16 {
    if e.status_code().is_server_error() {
        tracing::error!(error = ?e, "a page's data read failed");
    }
    e.status_code().as_u16()
}

/// The body the route's handler would send.
pub fn json<T: serde::Serialize>(value: &T) -> AppResult<String> {
    serde_json::to_string(value).map_err(AppError::internal)
}

/// Matches `/a/{x}/b` against `/a/42/b`: `Some(["42"])`. A segment value is
/// never empty and never contains `/`.
fn match_pattern(pattern: &str, path: &str) -> Option<Vec<String>> {
    let mut params = Vec::new();
    let mut pat = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (pat.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(p), Some(g)) if p.starts_with('{') && p.ends_with('}') => {
                if g.is_empty() {
                    return None;
                }
                params.push(g.to_owned());
            }
            (Some(p), Some(g)) if p == g => {}
            _ => return None,
        }
    }
}

// The reads, one per route that declares it (`page_read`).

pub async fn me(cx: &Cx<'_>) -> AppResult<MeResponse> {
    Ok(cx.who.to_me())
}

pub async fn my_mfa(cx: &Cx<'_>) -> AppResult<MfaStatus> {
    mfa::status(cx.state, cx.who).await
}

pub async fn my_sessions(cx: &Cx<'_>) -> AppResult<Vec<SessionInfo>> {
    sessions::list(cx.state, &cx.who.user.id, Some(&cx.who.session.id)).await
}

pub async fn my_ssn(cx: &Cx<'_>) -> AppResult<SsnStatus> {
    ssn::status(cx.state, &cx.who.user.id).await
}

pub async fn my_devices(cx: &Cx<'_>) -> AppResult<Vec<DeviceInfo>> {
    devices::mine(cx.state, cx.who, cx.page.device_id.as_deref()).await
}

pub async fn admin_overview(cx: &Cx<'_>) -> AppResult<Overview> {
    admin::overview(cx.state, cx.who, cx.page.client_ip).await
}

pub async fn admin_users(cx: &Cx<'_>) -> AppResult<UserPage> {
    let q: UserQuery = cx.query()?;
    admin::users(cx.state, q.q, q.after, q.limit).await
}

pub async fn admin_user(cx: &Cx<'_>) -> AppResult<AdminUserDetail> {
    admin::user_detail(cx.state, cx.who, cx.id()?).await
}

pub async fn admin_user_sessions(cx: &Cx<'_>) -> AppResult<Vec<SessionInfo>> {
    sessions::list(cx.state, cx.id()?, Some(&cx.who.session.id)).await
}

pub async fn admin_devices(cx: &Cx<'_>) -> AppResult<Vec<DeviceInfo>> {
    devices::all(cx.state).await
}

pub async fn admin_decisions(cx: &Cx<'_>) -> AppResult<DecisionPage> {
    admin::decisions(cx.state, cx.query::<DecisionQuery>()?).await
}

pub async fn admin_policies(cx: &Cx<'_>) -> AppResult<PoliciesResponse> {
    Ok(admin::policies(cx.state, POLICIES))
}

pub async fn admin_audit(cx: &Cx<'_>) -> AppResult<AuditPage> {
    admin::audit_page(cx.state, cx.query::<AuditQuery>()?).await
}

pub async fn admin_logs(cx: &Cx<'_>) -> AppResult<LogsResponse> {
    logs::lines(cx.query()?)
}

pub async fn oauth_clients(cx: &Cx<'_>) -> AppResult<OAuthClientList> {
    oauth_clients::list_clients(&cx.state.pool).await
}

pub async fn oauth_client(cx: &Cx<'_>) -> AppResult<OAuthClientInfo> {
    oauth_clients::get_client(&cx.state.pool, cx.id()?).await
}

pub async fn workshop_challenges(cx: &Cx<'_>) -> AppResult<WorkshopChallenges> {
    workshop::challenges(cx.state, &cx.who.user.id).await
}

pub async fn workshop_progress(cx: &Cx<'_>) -> AppResult<WorkshopProgress> {
    workshop::progress(cx.state).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_segments_only() {
        assert_eq!(
            match_pattern("/api/v1/admin/users/{id}", "/api/v1/admin/users/abc"),
            Some(vec!["abc".to_owned()])
        );
        assert_eq!(
            match_pattern("/api/v1/admin/users/{id}", "/api/v1/admin/users/"),
            None
        );
        assert_eq!(
            match_pattern("/api/v1/admin/users/{id}", "/api/v1/admin/users/a/b"),
            None
        );
        assert_eq!(match_pattern("/api/v1/me", "/api/v1/me"), Some(vec![]));
        assert_eq!(match_pattern("/api/v1/me", "/api/v1/me/x"), None);
    }

    #[test]
    fn every_read_is_a_declared_api_get() {
        assert!(PAGE_READS.len() >= 18);
        for (pattern, _) in PAGE_READS {
            assert!(pattern.starts_with("/api/v1/"), "{pattern}");
            assert!(
                matches!(TABLE.lookup("GET", pattern), Lookup::Found(p) if p.method == "GET"),
                "{pattern} is not a declared GET"
            );
        }
        let has = |p: &str| PAGE_READS.iter().any(|(pattern, _)| *pattern == p);
        assert!(has("/api/v1/admin/users") && has("/api/v1/admin/users/{id}"));
        assert!(!has("/api/v1/auth/login") && !has("/admin/users"));
    }
}
