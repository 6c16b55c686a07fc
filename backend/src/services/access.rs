//! Access decisions: gathers the facts the policy decision point needs
//! (identity, device, network), asks it, and records the answer. Used by the
//! enforcement middleware for every request and by the pages' in-process
//! API reads, so both decide the same way.
//!
//! A deny is recorded in full (a decision row and an `access.denied` audit
//! event) when the request presented a credential (a verified identity, or
//! a token that failed: an attempt worth its own entry, ASVS 16.3.1). A
//! deny of a request that presented none is only counted, per reason, route
//! and minute (`state::decision_stats`), like rate-limit hits:
//! a flood of anonymous requests must not queue on the audit chain's lock.
//! The CSRF check and the forged-header record count their anonymous
//! refusals the same way. Allowed changes (non-GET) are recorded in full;
//! allowed reads are only counted, per route and minute, so the hot path
//! adds no database write.

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{
    self,
    models::decision::{AccessDecision, DecisionCount, NewAccessDecision},
};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::policy::{
    self, Access, Decision, Deny, DeviceFact, Facts, RoutePolicy, Subject,
};
use crate::services::sessions::{self, Denied, SignedIn};
use crate::state::identity_cache::Invalidation;
use crate::state::AppState;
use std::net::IpAddr;
use std::sync::Arc;

/// The header API clients name their device with (the catalogue's).
pub const DEVICE_HEADER: &str = "x-device-id";

/// What the PDP sees of a signed-in user.
pub fn subject_of(who: &SignedIn) -> Subject {
    Subject {
        roles: who.roles.clone(),
        mfa_enrolled: who.mfa_enabled,
        scopes: who
            .session
            .oauth_scope
            .as_ref()
            .map(|s| s.split_whitespace().map(str::to_owned).collect()),
        // Rounded up: 1.5 s ago is past a 1-second window.
        mfa_age_secs: who.session.mfa_verified_at.map(age_secs),
        auth_age_secs: who.session.reauthenticated_at.map(age_secs),
    }
}

/// Whole seconds since `t`, rounded up.
fn age_secs(t: chrono::NaiveDateTime) -> i64 {
    let ms = (sessions::now() - t).num_milliseconds().max(0);
    (ms + 999) / 1000
}

/// The device fact for a request that named `device_id` (or none): the
/// device its session is bound to or it named (`sessions::verify::device_posture`);
/// a quarantined account state is reported as the non-compliant device it
/// may be, so the PDP refuses it everywhere.
pub fn device_fact(device_id: Option<&str>, who: Option<&SignedIn>) -> DeviceFact {
    let Some(who) = who else {
        return match device_id {
            None => DeviceFact::Absent,
            Some(_) => DeviceFact::Unknown,
        };
    };
    if who.device_quarantined {
        return DeviceFact::Registered { compliant: false };
    }
    match (&who.device, device_id.or(who.session.device_id.as_deref())) {
        (Some(d), _) => DeviceFact::Registered {
            compliant: d.compliant,
        },
        (None, Some(_)) => DeviceFact::Unknown,
        (None, None) => DeviceFact::Absent,
    }
}

/// One request about to be decided.
pub struct Request<'a> {
    pub policy: &'static RoutePolicy,
    pub method: &'a str,
    pub meta: &'a RequestMeta,
    pub client_ip: Option<IpAddr>,
    pub device_id: Option<&'a str>,
}

/// Verifies the identity if the route needs one, decides, records.
/// `Ok(Some(who))` for an allowed request with an identity, `Ok(None)` for
/// an allowed public one, `Err(deny)` otherwise.
pub async fn decide(
    state: &AppState,
    req: &Request<'_>,
    token: Option<&str>,
) -> AppResult<Result<Option<Arc<SignedIn>>, Deny>> {
    if req.policy.access == Access::Public {
        state.decision_stats.allowed(req.policy.path);
        return Ok(Ok(None));
    }
    let who = sessions::verify::authenticate_shared(state, token, req.device_id).await;
    decide_for(state, req, who).await
}

/// [`decide`] for an identity that was already looked up.
pub async fn decide_for(
    state: &AppState,
    req: &Request<'_>,
    who: Result<Arc<SignedIn>, Denied>,
) -> AppResult<Result<Option<Arc<SignedIn>>, Deny>> {
    if let Some(outage) = who.as_ref().err().and_then(|d| d.outage()) {
        return Err(outage);
    }
    let subject = who.as_deref().map(subject_of).map_err(|d| d.as_str());
    let facts = Facts {
        subject: subject.as_ref().map_err(|e| *e),
        device: device_fact(req.device_id, who.as_deref().ok()),
        client_ip: req.client_ip,
    };
    let decision = policy::decide(req.policy, &facts, &state.policy);
    let anonymous = matches!(who, Err(Denied::NoToken));
    let user_id = who.as_ref().ok().map(|w| w.user.id.clone());
    match decision {
        Decision::Allow => {
            if matches!(req.method, "GET" | "HEAD") {
                state.decision_stats.allowed(req.policy.path);
            } else {
                record(state, req, user_id.as_deref(), "allow", "allowed").await?;
            }
            if let Ok(w) = &who {
                touch_device(state, w).await;
            }
            Ok(Ok(who.ok()))
        }
        Decision::Deny(deny) if anonymous => {
            state.metrics.denied(deny.reason());
            state.decision_stats.denied_anonymously(
                "access.denied",
                deny.reason(),
                Some(req.policy.path),
            );
            Ok(Err(deny))
        }
        Decision::Deny(deny) => {
            state.metrics.denied(deny.reason());
            record(state, req, user_id.as_deref(), "deny", deny.reason()).await?;
            audit::record(
                &state.pool,
                Some(req.meta),
                AuditEvent::new("access.denied", Outcome::Denied)
                    .actor_opt(user_id)
                    .detail(serde_json::json!({
                        "reason": deny.reason(),
                        "method": req.method,
                        "route": req.policy.path,
                    })),
            )
            .await?;
            Ok(Err(deny))
        }
    }
}

/// A route the policy table does not list: refused and recorded.
pub async fn deny_unlisted(
    state: &AppState,
    meta: &RequestMeta,
    method: &str,
    pattern: &str,
) -> AppResult<()> {
    state.metrics.denied("no_policy");
    let (method, pattern, m) = (method.to_owned(), pattern.to_owned(), meta.clone());
    db::run(&state.pool, move |c| {
        Ok(AccessDecision::insert(
            c,
            &NewAccessDecision {
                decided_at: sessions::now(),
                user_id: None,
                method: &method,
                route: &pattern,
                outcome: "deny",
                reason: "no_policy",
                client_ip: m.client_ip.as_deref(),
                device_id: None,
                request_id: m.request_id.as_deref(),
            },
        )?)
    })
    .await
}

/// The response for a deny: 401 without an identity, 401 `step_up_required`
/// when a second factor would help, 403 otherwise. The body is generic; the
/// reason is in the decision log.
pub fn deny_error(deny: Deny) -> AppError {
    match deny {
        Deny::Unauthenticated(_) => AppError::Unauthenticated,
        Deny::ElevationRequired | Deny::StepUpRequired => AppError::StepUpRequired,
        Deny::ReauthenticationRequired => AppError::ReauthenticationRequired,
        Deny::FirstPartyRequired => AppError::Forbidden("first_party_session_required".into()),
        Deny::MfaEnrollmentRequired => AppError::MfaEnrollmentRequired,
        Deny::MissingPermission
        | Deny::ScopeInsufficient
        | Deny::Network
        | Deny::DeviceNotCompliant
        | Deny::DeviceNotRegistered => AppError::Forbidden("forbidden".into()),
    }
}

async fn record(
    state: &AppState,
    req: &Request<'_>,
    user_id: Option<&str>,
    outcome: &'static str,
    reason: &'static str,
) -> AppResult<()> {
    let user_id = user_id.map(str::to_owned);
    let method = req.method.to_owned();
    let route = req.policy.path;
    let device = req
        .device_id
        .map(|d| d.chars().take(64).collect::<String>());
    let meta = req.meta.clone();
    db::run(&state.pool, move |c| {
        Ok(AccessDecision::insert(
            c,
            &NewAccessDecision {
                decided_at: sessions::now(),
                user_id: user_id.as_deref(),
                method: &method,
                route,
                outcome,
                reason,
                client_ip: meta.client_ip.as_deref(),
                device_id: device.as_deref(),
                request_id: meta.request_id.as_deref(),
            },
        )?)
    })
    .await
}

/// Notes when a registered device was last used (at most once a minute).
async fn touch_device(state: &AppState, who: &SignedIn) {
    let Some(device) = &who.device else { return };
    let now = sessions::now();
    if device
        .last_seen_at
        .is_some_and(|t| (now - t).num_seconds() < 60)
    {
        return;
    }
    let id = device.id.clone();
    let result = db::run(&state.pool, move |c| {
        Ok(crate::db::models::device::Device::touch(c, &id, now)?)
    })
    .await;
    match result {
        // The cached identity still holds the old time, which would make
        // every request touch again until it expires: read it afresh.
        Ok(()) => state
            .identity_cache
            .forget(&Invalidation::User(who.user.id.clone())),
        Err(e) => tracing::warn!(error = ?e, "could not record device use"),
    }
}

/// Writes the counted allowed decisions, and one audit event per anonymous
/// refusal kind with its count (called once a minute, and by tests).
pub async fn flush(state: &AppState) -> AppResult<()> {
    for ((action, reason, route), hits) in state.decision_stats.drain_anonymous() {
        audit::record(
            &state.pool,
            None,
            AuditEvent::new(action, Outcome::Denied).detail(serde_json::json!({
                "anonymous": true,
                "reason": reason,
                "route": route,
                "hits": hits,
                "window_secs": 60,
            })),
        )
        .await?;
    }
    let counts = state.decision_stats.drain();
    if counts.is_empty() {
        return Ok(());
    }
    let minute = sessions::now();
    db::run(&state.pool, move |c| {
        Ok(DecisionCount::insert_batch(c, minute, &counts)?)
    })
    .await
}
