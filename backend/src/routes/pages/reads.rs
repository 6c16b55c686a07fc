//! The JSON API reads a server-rendered page makes, answered in-process:
//! the same policy entry, the same decision (recorded like any other), the
//! same service call and the same JSON as over HTTP — without a loopback
//! request. In the browser the same pages call the HTTP API.
//!
//! Which route has which read is declared with the route (`page_read` in
//! `routes::table`), so a read is found by the route's own pattern and
//! decided under the route's own entry (`dispatch`); each read below is
//! typed and calls the services as the route's handler does.

use super::PageRequest;
use crate::error::{AppError, AppResult};
use crate::routes::api::v1::admin::UserQuery;
use crate::routes::api::v1::logs;
use crate::security::policy_table::PolicyTable;
use crate::services::admin::{self, audit_log::AuditQuery, decisions::DecisionQuery};
use crate::services::sessions::{self, SignedIn};
use crate::services::{devices, mfa, oauth_clients, ssn, workshop};
use crate::state::AppState;
use actix_web::web;
use std::future::Future;
use std::pin::Pin;
use wire::workshop::{WorkshopChallenges, WorkshopProgress};
use wire::*;

/// A read, as the route table holds it: the JSON body, or why not.
pub type Read =
    for<'a> fn(&'a Cx<'a>) -> Pin<Box<dyn Future<Output = AppResult<String>> + Send + 'a>>;

/// What a read has to go on: the app, the page request, the caller the
/// policy allowed, and the request's path parameters and query.
pub struct Cx<'a> {
    pub(super) state: &'a AppState,
    pub(super) page: &'a PageRequest,
    pub(super) who: &'a SignedIn,
    pub(super) params: Vec<String>,
    pub(super) query: &'a str,
    /// The policy table the read was decided by (the policies page lists it).
    pub(super) table: PolicyTable,
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

/// The body the route's handler would send.
pub fn json<T: serde::Serialize>(value: &T) -> AppResult<String> {
    serde_json::to_string(value).map_err(AppError::internal)
}

// The reads, one per route that declares it (`page_read`).

pub async fn me(cx: &Cx<'_>) -> AppResult<MeResponse> {
    Ok(cx.who.to_me())
}

pub async fn my_mfa(cx: &Cx<'_>) -> AppResult<MfaStatus> {
    mfa::status(cx.state, cx.who).await
}

pub async fn my_sessions(cx: &Cx<'_>) -> AppResult<Vec<SessionInfo>> {
    sessions::manage::list(cx.state, &cx.who.user.id, Some(&cx.who.session.id)).await
}

pub async fn my_ssn(cx: &Cx<'_>) -> AppResult<SsnStatus> {
    ssn::status(cx.state, &cx.who.user.id).await
}

pub async fn my_devices(cx: &Cx<'_>) -> AppResult<Vec<DeviceInfo>> {
    devices::mine(cx.state, cx.who, cx.page.device_id.as_deref()).await
}

pub async fn admin_overview(cx: &Cx<'_>) -> AppResult<Overview> {
    admin::overview::overview(cx.state, cx.who, cx.page.client_ip).await
}

pub async fn admin_users(cx: &Cx<'_>) -> AppResult<UserPage> {
    let q: UserQuery = cx.query()?;
    admin::users::users(cx.state, q.q, q.after, q.limit).await
}

pub async fn admin_user(cx: &Cx<'_>) -> AppResult<AdminUserDetail> {
    admin::users::user_detail(cx.state, cx.who, cx.id()?).await
}

pub async fn admin_user_sessions(cx: &Cx<'_>) -> AppResult<Vec<SessionInfo>> {
    sessions::manage::list(cx.state, cx.id()?, Some(&cx.who.session.id)).await
}

pub async fn admin_devices(cx: &Cx<'_>) -> AppResult<Vec<DeviceInfo>> {
    devices::all(cx.state).await
}

pub async fn admin_decisions(cx: &Cx<'_>) -> AppResult<DecisionPage> {
    admin::decisions::decisions(cx.state, cx.query::<DecisionQuery>()?).await
}

pub async fn admin_policies(cx: &Cx<'_>) -> AppResult<PoliciesResponse> {
    Ok(admin::policies::policies(cx.state, cx.table.0))
}

pub async fn admin_audit(cx: &Cx<'_>) -> AppResult<AuditPage> {
    admin::audit_log::audit_page(cx.state, cx.query::<AuditQuery>()?).await
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
