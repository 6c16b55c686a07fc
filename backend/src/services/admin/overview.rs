//! The dashboard's overview: the last 24 hours in figures, every limit
//! with its hits, and what the viewer can do right now.

use crate::db::{
    self,
    models::audit_entry::AuditEntry,
    models::decision::{AccessDecision, DecisionCount},
    models::device::Device,
    models::mfa::UserMfa,
    models::session::Session,
    models::user::User,
};
use crate::error::{AppError, AppResult};
use crate::security::policy::{self, Permission};
use crate::services::devices::rfc3339;
use crate::services::{access, sessions, sessions::SignedIn};
use crate::state::AppState;
use chrono::{Duration, NaiveDateTime, Timelike};
use std::collections::BTreeMap;
use wire::*;

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
