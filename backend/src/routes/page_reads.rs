//! The JSON API reads a server-rendered page makes, answered in-process:
//! the same policy entry, the same decision (recorded like any other), the
//! same service call and the same JSON as over HTTP — without a loopback
//! request. In the browser the same pages call the HTTP API.

use crate::error::AppError;
use crate::http::client::RequestMeta;
use crate::routes::api::v1::admin::UserQuery;
use crate::routes::table::POLICIES;
use crate::security::policy::RoutePolicy;
use crate::services::admin::{self, AuditQuery, DecisionQuery};
use crate::services::sessions::{self, Denied, SignedIn};
use crate::services::{access, devices, mfa, oauth_clients, ssn};
use crate::state::AppState;
use actix_web::{web, ResponseError};
use std::net::IpAddr;
use std::sync::Arc;

/// The page request the reads are made for.
pub struct PageRequest {
    pub meta: RequestMeta,
    pub client_ip: Option<IpAddr>,
    pub device_id: Option<String>,
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
    let Some((policy, params)) = find(path) else {
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
    read(state, page, &who, policy.path, &params, query)
        .await
        .map_err(fail)
}

fn fail(e: AppError) -> u16 {
    if e.status_code().is_server_error() {
        tracing::error!(error = ?e, "a page's data read failed");
    }
    e.status_code().as_u16()
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(AppError::internal)
}

fn query<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, AppError> {
    web::Query::<T>::from_query(text)
        .map(web::Query::into_inner)
        .map_err(|_| AppError::bad_request("invalid query string"))
}

async fn read(
    state: &AppState,
    page: &PageRequest,
    who: &SignedIn,
    route: &str,
    params: &[String],
    q: &str,
) -> Result<String, AppError> {
    let param = || params.first().cloned().ok_or(AppError::NotFound);
    match route {
        "/api/v1/me" => json(&who.to_me()),
        "/api/v1/me/mfa" => json(&mfa::status(state, who).await?),
        "/api/v1/me/sessions" => {
            json(&sessions::list(state, &who.user.id, Some(&who.session.id)).await?)
        }
        "/api/v1/me/ssn" => json(&ssn::status(state, &who.user.id).await?),
        "/api/v1/me/devices" => json(&devices::mine(state, who, page.device_id.as_deref()).await?),
        "/api/v1/admin/overview" => json(&admin::overview(state, who, page.client_ip).await?),
        "/api/v1/admin/users" => {
            let q: UserQuery = query(q)?;
            json(&admin::users(state, q.q, q.after, q.limit).await?)
        }
        "/api/v1/admin/users/{id}" => json(&admin::user_detail(state, who, &param()?).await?),
        "/api/v1/admin/users/{id}/sessions" => {
            json(&sessions::list(state, &param()?, Some(&who.session.id)).await?)
        }
        "/api/v1/admin/devices" => json(&devices::all(state).await?),
        "/api/v1/admin/decisions" => {
            json(&admin::decisions(state, query::<DecisionQuery>(q)?).await?)
        }
        "/api/v1/admin/policies" => json(&admin::policies(state, POLICIES)),
        "/api/v1/admin/audit" => json(&admin::audit_page(state, query::<AuditQuery>(q)?).await?),
        "/api/v1/admin/logs" => json(&crate::routes::api::v1::logs::lines(query(q)?)?),
        "/api/v1/admin/oauth/clients" => json(&oauth_clients::list_clients(&state.pool).await?),
        "/api/v1/workshop/challenges" => {
            json(&crate::services::workshop::challenges(state, &who.user.id).await?)
        }
        "/api/v1/workshop/progress" => json(&crate::services::workshop::progress(state).await?),
        "/api/v1/admin/oauth/clients/{id}" => {
            json(&oauth_clients::get_client(&state.pool, &param()?).await?)
        }
        _ => Err(AppError::NotFound),
    }
}

/// The GET policy entry under `/api/v1` whose pattern matches `path`, with
/// the values of its `{…}` segments.
fn find(path: &str) -> Option<(&'static RoutePolicy, Vec<String>)> {
    POLICIES
        .iter()
        .filter(|p| p.method == "GET" && p.path.starts_with("/api/v1/"))
        .find_map(|p| match_pattern(p.path, path).map(|params| (p, params)))
}

/// Matches `/a/{x}/b` against `/a/42/b`: `Some(["42"])`. A segment value is
/// never empty and never contains `/`.
pub fn match_pattern(pattern: &str, path: &str) -> Option<Vec<String>> {
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
    fn only_listed_api_reads_are_found() {
        assert!(find("/api/v1/admin/users").is_some());
        assert!(find("/api/v1/admin/users/u1").is_some());
        assert!(find("/api/v1/auth/login").is_none());
        assert!(find("/admin/users").is_none());
    }
}
