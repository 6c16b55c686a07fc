//! Workshop mode (`APP_WORKSHOP=1`): solves, the scoreboard, the answer
//! check, the instructor's view and the reset.
//!
//! What counts as solving a challenge is decided in `security::workshop`
//! from what the server observed; this module stores the first solve of each
//! participant and audits it (`workshop.solved`). Every public function
//! answers 404 while workshop mode is off, so the feature is invisible then.

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::models::workshop::{self as model, Solve};
use crate::db::{self, DbConn, Pool};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::workshop::{self as rules, Context, Observed, CHALLENGES};
use crate::services::sessions::{self, SignedIn};
use crate::state::AppState;
use std::collections::HashMap;
use wire::workshop::{
    ChallengeInfo, ChallengeTotal, ParticipantProgress, WorkshopAnswer, WorkshopAnswerResult,
    WorkshopChallenges, WorkshopProgress,
};

/// The audit action of a server error a participant caused (workshop mode
/// only): what the request-id challenge's answer is checked against.
pub const SERVER_ERROR_ACTION: &str = "workshop.server_error";

/// At most this many accounts in the instructor's view.
const MAX_PARTICIPANTS: i64 = 1000;

fn enabled(state: &AppState) -> AppResult<()> {
    if state.settings.workshop {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// The audit log's observer (`audit::observe_with`, registered by
/// `Application::build`): in workshop mode (the request's context is set),
/// credits the challenge `event` solves, in the event's own transaction.
pub fn credit(conn: &mut DbConn, meta: &RequestMeta, event: &AuditEvent) -> AppResult<()> {
    let Some(ctx) = &meta.workshop else {
        return Ok(());
    };
    if let Some((challenge, user)) = solved_by(event, ctx) {
        solve_in(conn, meta, &user, challenge)?;
    }
    Ok(())
}

/// The challenge an audit event solves, and whom to credit (see
/// `security::workshop::solved_by`).
fn solved_by(event: &AuditEvent, ctx: &Context) -> Option<(&'static str, String)> {
    rules::solved_by(
        &Observed {
            action: event.action,
            outcome: event.outcome.as_str(),
            actor: event.actor.as_deref(),
            target: event.target.as_deref(),
            detail: &event.detail,
        },
        ctx,
    )
}

/// Records that `user_id` solved `challenge`; the first time, also in the
/// audit log. Returns whether this was the first time. Only called while
/// workshop mode is on (the request context exists only then).
pub async fn solve(
    pool: &Pool,
    meta: &RequestMeta,
    user_id: &str,
    challenge: &'static str,
) -> AppResult<bool> {
    let (meta, uid) = (meta.clone(), user_id.to_owned());
    db::run(pool, move |c| {
        db::write_transaction(c, |c| solve_in(c, &meta, &uid, challenge))
    })
    .await
}

/// [`solve`] inside the caller's write transaction ([`credit`] solves in
/// the event's own transaction).
fn solve_in(
    conn: &mut DbConn,
    meta: &RequestMeta,
    user_id: &str,
    challenge: &'static str,
) -> AppResult<bool> {
    // Under the chain lock, so two requests cannot both find no solve.
    audit::lock_chain(conn)?;
    let first = Solve::insert_first(conn, user_id, challenge, sessions::now())?;
    if first {
        audit::append_in(
            conn,
            Some(meta),
            &AuditEvent::new("workshop.solved", Outcome::Success)
                .actor(user_id.to_owned())
                .target(challenge)
                .detail(serde_json::json!({ "challenge": challenge })),
        )?;
    }
    Ok(first)
}

/// A server error (5xx) answered to `user_id`'s request, recorded with the
/// request's id so the participant can prove they found it.
pub async fn server_error(
    pool: &Pool,
    meta: &RequestMeta,
    user_id: &str,
    status: u16,
    route: Option<String>,
) -> AppResult<()> {
    audit::record(
        pool,
        Some(meta),
        AuditEvent::new(SERVER_ERROR_ACTION, Outcome::Failure)
            .actor(user_id.to_owned())
            .detail(serde_json::json!({ "status": status, "route": route })),
    )
    .await
}

/// The catalogue, with the caller's solves.
pub async fn challenges(state: &AppState, user_id: &str) -> AppResult<WorkshopChallenges> {
    enabled(state)?;
    let uid = user_id.to_owned();
    let solves = db::run(&state.pool, move |c| Ok(Solve::of_user(c, &uid)?)).await?;
    let solved_at: HashMap<&str, String> = solves
        .iter()
        .map(|s| (s.challenge_id.as_str(), s.solved_at.and_utc().to_rfc3339()))
        .collect();
    let challenges: Vec<ChallengeInfo> = CHALLENGES
        .iter()
        .map(|c| ChallengeInfo {
            id: c.id.to_owned(),
            title: c.title.to_owned(),
            category: c.category.to_owned(),
            difficulty: c.difficulty,
            hint: c.hint.to_owned(),
            pattern: c.pattern.to_owned(),
            answered: c.answered,
            solved_at: solved_at.get(c.id).cloned(),
        })
        .collect();
    Ok(WorkshopChallenges {
        solved: challenges.iter().filter(|c| c.solved_at.is_some()).count(),
        total: challenges.len(),
        challenges,
    })
}

/// Checks an answer against the server's own records: for the request-id
/// challenge, a server error recorded for this very participant under that
/// request id. A correct answer solves the challenge; a wrong one changes
/// nothing.
pub async fn answer(
    state: &AppState,
    meta: &RequestMeta,
    who: &SignedIn,
    body: WorkshopAnswer,
) -> AppResult<WorkshopAnswerResult> {
    enabled(state)?;
    let challenge = rules::find(body.challenge.trim())
        .filter(|c| c.answered)
        .ok_or_else(|| AppError::bad_request("this challenge takes no answer"))?;
    let answer = body.answer.trim().to_ascii_lowercase();
    let correct = rules::is_request_id(&answer) && {
        let uid = who.user.id.clone();
        db::run(&state.pool, move |c| {
            Ok(model::audited_for_request(
                c,
                SERVER_ERROR_ACTION,
                &uid,
                &answer,
            )?)
        })
        .await?
    };
    if correct {
        solve(&state.pool, meta, &who.user.id, challenge.id).await?;
    }
    Ok(WorkshopAnswerResult {
        challenge: challenge.id.to_owned(),
        correct,
    })
}

/// The instructor's view: every account × every challenge, with totals.
pub async fn progress(state: &AppState) -> AppResult<WorkshopProgress> {
    enabled(state)?;
    let (people, solves) = db::run(&state.pool, |c| {
        Ok((model::participants(c, MAX_PARTICIPANTS)?, Solve::all(c)?))
    })
    .await?;
    let mut by_user: HashMap<String, Vec<String>> = HashMap::new();
    let mut by_challenge: HashMap<String, usize> = HashMap::new();
    for s in solves {
        *by_challenge.entry(s.challenge_id.clone()).or_default() += 1;
        by_user.entry(s.user_id).or_default().push(s.challenge_id);
    }
    Ok(WorkshopProgress {
        challenges: CHALLENGES
            .iter()
            .map(|c| ChallengeTotal {
                id: c.id.to_owned(),
                title: c.title.to_owned(),
                category: c.category.to_owned(),
                difficulty: c.difficulty,
                solved_by: by_challenge.get(c.id).copied().unwrap_or(0),
            })
            .collect(),
        participants: people
            .into_iter()
            .map(|(user_id, username)| ParticipantProgress {
                solved: by_user.remove(&user_id).unwrap_or_default(),
                user_id,
                username,
            })
            .collect(),
    })
}

/// Clears every solve (`backend workshop-reset`), audited; returns how many.
pub async fn reset(pool: &Pool, meta: Option<&RequestMeta>) -> AppResult<usize> {
    let m = meta.cloned();
    db::run(pool, move |c| {
        db::write_transaction(c, |c| {
            // The chain lock first: solves are inserted under it.
            audit::lock_chain(c)?;
            let removed = Solve::delete_all(c)?;
            audit::record_in(
                c,
                m.as_ref(),
                AuditEvent::new("workshop.reset", Outcome::Success)
                    .detail(serde_json::json!({ "solves_removed": removed })),
            )?;
            Ok(removed)
        })
    })
    .await
}
