//! The admin dashboard's use cases: figures, users, roles, decisions, the
//! policy table and the audit log. Who may call each one is decided before
//! (policy table + PDP); the functions here enforce the data rules: the last
//! permanent admin stays, grants are time-bound when asked, every change is
//! audited.

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{
    self,
    models::audit_entry::{AuditEntry, AuditFilter},
    models::decision::{AccessDecision, DecisionCount, DecisionFilter},
    models::device::Device,
    models::mfa::UserMfa,
    models::role_grant::RoleGrant,
    models::session::Session,
    models::user::{SearchField, User},
};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::policy::{self, Access, Permission, Role, RoutePolicy};
use crate::services::devices::rfc3339;
use crate::services::{access, devices, identity_cache, sessions, sessions::SignedIn};
use crate::state::AppState;
use chrono::{Duration, NaiveDateTime, Timelike};
use std::collections::BTreeMap;
use wire::*;

pub const PAGE_SIZE: i64 = 50;
/// Time-bound grants: between a minute and 30 days.
const MAX_GRANT_MINUTES: u32 = 30 * 24 * 60;

fn grant_info(g: &RoleGrant) -> RoleGrantInfo {
    RoleGrantInfo {
        role: g.role.clone(),
        granted_at: g.granted_at.map(rfc3339),
        granted_by: g.granted_by.clone(),
        expires_at: g.expires_at.map(rfc3339),
    }
}

fn summaries(users: &[User], grants: &[RoleGrant], mfa: &[String]) -> Vec<AdminUserSummary> {
    let now = sessions::now();
    users
        .iter()
        .map(|u| AdminUserSummary {
            id: u.id.clone(),
            username: u.username.clone(),
            email: u.email.clone(),
            email_verified: u.email_verified_at.is_some(),
            roles: grants
                .iter()
                .filter(|g| g.user_id == u.id)
                .map(grant_info)
                .collect(),
            mfa_enabled: mfa.contains(&u.id),
            locked_until: u.locked_until.filter(|t| *t > now).map(rfc3339),
            created_at: rfc3339(u.created_at),
        })
        .collect()
}

/// One page of users whose username (or, when `q` holds an `@`, e-mail)
/// starts with `q` (any case, literal text); `next` continues the same
/// order (`User::search`).
pub async fn users(
    state: &AppState,
    q: Option<String>,
    after: Option<String>,
    limit: Option<i64>,
) -> AppResult<UserPage> {
    // Refused rather than clamped, like every other out-of-range parameter
    // (ASVS 5.0 V2.2.1): the documented range is the accepted one.
    let limit = match limit {
        None => PAGE_SIZE,
        Some(n @ 1..=100) => n,
        Some(_) => return Err(AppError::bad_request("limit: between 1 and 100")),
    };
    if q.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(AppError::bad_request("the search text is too long"));
    }
    let field = SearchField::of(q.as_deref().map(str::trim));
    let now = sessions::now();
    let (users, grants, mfa) = db::run(&state.pool, move |c| {
        let users = User::search(c, q.as_deref(), after.as_deref(), limit + 1)?;
        let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
        let grants = RoleGrant::active_for(c, &ids, now)?;
        let mfa = UserMfa::enabled_among(c, &ids)?;
        Ok((users, grants, mfa))
    })
    .await?;
    let more = users.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    let shown = &users[..users
        .len()
        .min(usize::try_from(limit).unwrap_or(usize::MAX))];
    Ok(UserPage {
        users: summaries(shown, &grants, &mfa),
        next: if more {
            shown.last().map(|u| field.cursor_of(u))
        } else {
            None
        },
    })
}

pub async fn user_detail(
    state: &AppState,
    viewer: &SignedIn,
    user_id: &str,
) -> AppResult<AdminUserDetail> {
    let uid = user_id.to_owned();
    let now = sessions::now();
    let (user, grants, mfa, devices) = db::run(&state.pool, move |c| {
        let Some(user) = User::find_by_id(c, &uid)? else {
            return Ok(None);
        };
        let ids = vec![user.id.clone()];
        let grants = RoleGrant::active_for(c, &ids, now)?;
        let mfa = UserMfa::enabled_among(c, &ids)?;
        let devices = Device::for_user(c, &user.id)?;
        Ok(Some((user, grants, mfa, devices)))
    })
    .await?
    .ok_or(AppError::NotFound)?;
    let current = Some(viewer.session.id.as_str());
    let sessions = sessions::list(state, &user.id, current).await?;
    let summary = summaries(std::slice::from_ref(&user), &grants, &mfa)
        .pop()
        .ok_or(AppError::NotFound)?;
    Ok(AdminUserDetail {
        user: summary,
        failed_logins: user.failed_logins,
        sessions,
        devices: devices
            .iter()
            .map(|d| devices::info(d, &user.username, None))
            .collect(),
    })
}

/// Grants or revokes one role. The last permanent admin cannot lose (or
/// trade for a time-bound grant) the admin role; changes end nobody's
/// session but apply from the user's next request (roles are read live).
pub async fn change_role(
    state: &AppState,
    meta: &RequestMeta,
    admin: &SignedIn,
    user_id: &str,
    change: RoleChangeRequest,
) -> AppResult<()> {
    let role = Role::parse(&change.role)
        .ok_or_else(|| AppError::Validation(vec![FieldError::new("role", "invalid")]))?;
    let minutes = match change.expires_in_minutes {
        Some(m) if m == 0 || m > MAX_GRANT_MINUTES => {
            return Err(AppError::Validation(vec![FieldError::new(
                "expires_in_minutes",
                "invalid",
            )]))
        }
        other if change.grant => other,
        Some(_) => {
            return Err(AppError::Validation(vec![FieldError::new(
                "expires_in_minutes",
                "invalid",
            )]))
        }
        None => None,
    };
    let now = sessions::now();
    let expires_at = minutes.map(|m| now + Duration::minutes(i64::from(m)));
    let (uid, by, m) = (user_id.to_owned(), admin.user.id.clone(), meta.clone());
    let grant = change.grant;
    let outcome = db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            // Removing admin, or making it expire, must leave a permanent
            // admin who can act: decided and done under the admins' lock.
            let loses_permanent_admin = role == Role::Admin && (!grant || expires_at.is_some());
            if loses_permanent_admin {
                RoleGrant::lock_admins(c)?;
            }
            // The change and its entry commit together; a refusal is
            // recorded too (with nothing changed).
            let outcome = change_role_in(c, &uid, role, grant, &by, now, expires_at)?;
            let ok = outcome.is_ok();
            let event = AuditEvent::new(
                if grant { "role.grant" } else { "role.revoke" },
                if ok {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
            )
            .actor(by.clone())
            .target(uid.clone())
            .detail(serde_json::json!({
                "role": role.as_str(),
                "expires_at": expires_at.map(rfc3339),
                "result": if ok { "done" } else { "refused" },
            }));
            audit::record_in(c, Some(&m), event)?;
            Ok(outcome)
        })
    })
    .await?;
    if outcome.is_ok() {
        identity_cache::forget_user(state, user_id).await;
    }
    outcome
}

/// [`change_role`]'s rules and change, inside its transaction: `Ok(Err)` is
/// a refusal (nothing changed), `Err` a database error.
fn change_role_in(
    c: &mut db::DbConn,
    uid: &str,
    role: Role,
    grant: bool,
    by: &str,
    now: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
) -> AppResult<AppResult<()>> {
    if User::find_by_id(c, uid)?.is_none() {
        return Ok(Err(AppError::NotFound));
    }
    let loses_permanent_admin = role == Role::Admin && (!grant || expires_at.is_some());
    if loses_permanent_admin && !other_admin_remains(c, uid, now)? {
        return Ok(Err(AppError::Conflict(
            "the last administrator cannot lose the admin role".into(),
        )));
    }
    if grant {
        RoleGrant::grant(c, uid, role, by, now, expires_at)?;
    } else if RoleGrant::revoke(c, uid, role)? == 0 {
        return Ok(Err(AppError::NotFound));
    }
    Ok(Ok(()))
}

/// Whether a permanent, unlocked admin other than `uid` remains. Call it
/// under `RoleGrant::lock_admins`.
fn other_admin_remains(c: &mut db::DbConn, uid: &str, now: NaiveDateTime) -> AppResult<bool> {
    Ok(RoleGrant::permanent_admins(c, now)?
        .iter()
        .any(|id| id != uid))
}

/// Locks an account until an admin unlocks it, and ends its sessions. The
/// last permanent admin who can act cannot be locked.
pub async fn lock(
    state: &AppState,
    meta: &RequestMeta,
    admin: &SignedIn,
    user_id: &str,
) -> AppResult<()> {
    if user_id == admin.user.id {
        return Err(AppError::Conflict(
            "you cannot lock your own account".into(),
        ));
    }
    let (uid, m) = (user_id.to_owned(), meta.clone());
    let now = sessions::now();
    let event = AuditEvent::new("account.locked", Outcome::Success)
        .actor(admin.user.id.clone())
        .target(user_id.to_owned())
        .detail(serde_json::json!({ "by": "admin" }));
    db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            RoleGrant::lock_admins(c)?;
            if User::find_by_id(c, &uid)?.is_none() {
                return Err(AppError::NotFound);
            }
            let is_admin = RoleGrant::permanent_admins(c, now)?.contains(&uid);
            if is_admin && !other_admin_remains(c, &uid, now)? {
                return Err(AppError::Conflict(
                    "the last administrator cannot be locked".into(),
                ));
            }
            // "Until unlocked": far enough that only an unlock ends it.
            User::lock(c, &uid, now + Duration::days(36_500))?;
            Session::revoke_all_except(c, &uid, None, "account_locked", now)?;
            audit::record_in(c, Some(&m), event)
        })
    })
    .await?;
    identity_cache::forget_user(state, user_id).await;
    Ok(())
}

/// `table`: every route's entry (`routes::table`), in declaration order.
pub fn policies(state: &AppState, table: &[RoutePolicy]) -> PoliciesResponse {
    let networks = |role: Role| -> Vec<String> {
        state
            .policy
            .networks
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, c)| c.iter().map(|c| c.to_string()).collect())
            .unwrap_or_default()
    };
    PoliciesResponse {
        routes: table
            .iter()
            .map(|p| PolicyInfo {
                method: p.method.to_owned(),
                path: p.path.to_owned(),
                requires: match p.access {
                    Access::Public => "public".to_owned(),
                    Access::Requires(perm) => perm.as_str().to_owned(),
                },
                managed_device: p.managed_device,
                fresh_mfa: p.fresh_mfa,
                first_party: p.first_party,
                recent_auth: p.recent_auth,
            })
            .collect(),
        roles: Role::ALL
            .iter()
            .map(|r| RolePermissions {
                role: r.as_str().to_owned(),
                permissions: policy::permissions_of(*r)
                    .iter()
                    .map(|p| p.as_str().to_owned())
                    .collect(),
                networks: networks(*r),
            })
            .collect(),
        elevation_secs: state.policy.elevation_secs,
        step_up_secs: state.policy.step_up_secs,
        reauth_secs: state.policy.reauth_secs,
    }
}

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

fn parse_time(field: &str, text: Option<String>) -> AppResult<Option<NaiveDateTime>> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    let t = text.trim();
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|d| d.naive_utc())
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M"))
        .map(Some)
        .map_err(|_| AppError::bad_request(format!("`{field}` must be a date and time (RFC 3339)")))
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

fn hour_of(t: NaiveDateTime) -> NaiveDateTime {
    t.with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(t)
}

/// The dashboard's figures over the last 24 hours.
pub async fn overview(
    state: &AppState,
    viewer: &SignedIn,
    client_ip: Option<std::net::IpAddr>,
) -> AppResult<Overview> {
    // Counters still in memory belong in the figures too.
    access::flush(state).await?;
    state.rate_limits.flush(&state.pool).await?;
    let now = sessions::now();
    let since = hour_of(now) - Duration::hours(23);
    let idle =
        chrono::Duration::from_std(state.settings.session_idle).map_err(AppError::internal)?;
    let figures = db::run(&state.pool, move |c| {
        let users = User::count(c)?;
        let mfa_users = UserMfa::count_enabled(c)?;
        let active = Session::count_active(c, now, now - idle)?;
        let (devices, bad_devices) = Device::counts(c)?;
        let allowed = DecisionCount::allowed_since(c, now - Duration::hours(24))?;
        let events = AuditEntry::actions_since(
            c,
            since,
            &["auth.login", "rate_limit.exceeded", "account.locked"],
        )?;
        let denies = AccessDecision::denies_since(c, since)?;
        Ok((
            users,
            mfa_users,
            active,
            devices,
            bad_devices,
            allowed,
            events,
            denies,
        ))
    })
    .await?;
    let (users, mfa_users, active, devices, bad_devices, allowed, events, denies) = figures;

    let mut hours: Vec<HourStats> = (0..24)
        .map(|i| HourStats {
            hour: rfc3339(since + Duration::hours(i)),
            logins: 0,
            login_failures: 0,
            denied: 0,
            rate_limited: 0,
        })
        .collect();
    let slot = |t: NaiveDateTime| usize::try_from((hour_of(t) - since).num_hours()).ok();
    for (t, action, outcome, detail) in &events {
        let Some(h) = slot(*t).and_then(|i| hours.get_mut(i)) else {
            continue;
        };
        match (action.as_str(), outcome.as_str()) {
            ("auth.login", "success") => h.logins += 1,
            ("auth.login", _) => h.login_failures += 1,
            ("rate_limit.exceeded", _) => {
                h.rate_limited += serde_json::from_str::<serde_json::Value>(detail)
                    .ok()
                    .and_then(|d| d["hits"].as_i64())
                    .unwrap_or(1);
            }
            _ => {}
        }
    }
    let limits = limits(state, &events);
    let mut reasons: BTreeMap<String, i64> = BTreeMap::new();
    for (t, reason) in &denies {
        if let Some(h) = slot(*t).and_then(|i| hours.get_mut(i)) {
            h.denied += 1;
        }
        *reasons.entry(reason.clone()).or_insert(0) += 1;
    }
    let mut deny_reasons: Vec<LabelCount> = reasons
        .into_iter()
        .map(|(label, count)| LabelCount { label, count })
        .collect();
    deny_reasons.sort_by_key(|r| std::cmp::Reverse(r.count));

    Ok(Overview {
        users,
        mfa_users,
        active_sessions: active,
        devices,
        non_compliant_devices: bad_devices,
        allowed_last_24h: allowed,
        hours,
        deny_reasons,
        limits,
        me: my_access(state, viewer, client_ip),
    })
}

/// Every limit the app enforces, as configured, with its hits: rate-limit
/// hits come from the aggregated `rate_limit.exceeded` events, locks from
/// `account.locked` (brute force, not an admin's lock).
fn limits(state: &AppState, events: &[(NaiveDateTime, String, String, String)]) -> Vec<LimitInfo> {
    let detail = |d: &str| serde_json::from_str::<serde_json::Value>(d).unwrap_or_default();
    let rate_hits = |limit: &str| -> i64 {
        events
            .iter()
            .filter(|(_, action, _, _)| action == "rate_limit.exceeded")
            .map(|(_, _, _, d)| detail(d))
            .filter(|d| d["limit"] == limit)
            .map(|d| d["hits"].as_i64().unwrap_or(1))
            .sum()
    };
    let locks = events
        .iter()
        .filter(|(_, action, _, d)| action == "account.locked" && detail(d)["by"] != "admin")
        .count();
    let s = &state.settings;
    let bf = &s.brute_force;
    let rate = |r: crate::config::RateLimit| {
        let unit = match r.per_secs {
            1 => "second",
            60 => "minute",
            _ => "hour",
        };
        format!("{}/{unit}", r.count)
    };
    vec![
        LimitInfo {
            name: "Sign-in and registration, per IP (RATE_LIMIT_AUTH)".into(),
            setting: rate(s.rate_limit_auth),
            hits_24h: rate_hits("auth_per_ip"),
        },
        LimitInfo {
            name: "API, per IP (RATE_LIMIT_API)".into(),
            setting: rate(s.rate_limit_api),
            hits_24h: rate_hits("api_per_ip"),
        },
        LimitInfo {
            name: "API, per user (RATE_LIMIT_USER)".into(),
            setting: rate(s.rate_limit_user),
            hits_24h: rate_hits("api_per_user"),
        },
        LimitInfo {
            name: "Account lock (LOGIN_LOCK_AFTER, LOGIN_LOCK_SECS)".into(),
            setting: format!(
                "slower after {}, locked after {} failures for {} s",
                bf.delay_after,
                bf.lock_after,
                bf.lock_for.as_secs()
            ),
            hits_24h: i64::try_from(locks).unwrap_or(i64::MAX),
        },
    ]
}

/// What the viewer can do right now (elevation shown with its end).
pub fn my_access(
    state: &AppState,
    viewer: &SignedIn,
    client_ip: Option<std::net::IpAddr>,
) -> MyAccess {
    let subject = access::subject_of(viewer);
    let permissions = policy::effective_permissions(&subject, client_ip, &state.policy);
    let elevated = permissions.iter().any(|p| p.is_privileged_write());
    MyAccess {
        permissions: permissions
            .iter()
            .map(|p: &Permission| p.as_str().to_owned())
            .collect(),
        elevated,
        elevated_until: if elevated {
            viewer
                .session
                .mfa_verified_at
                .map(|t| rfc3339(t + Duration::seconds(state.policy.elevation_secs)))
        } else {
            None
        },
    }
}
