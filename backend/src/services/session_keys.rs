//! `SESSION_KEY` held against the data: the check every server passes at
//! start, and the session-key part of `backend keys status`.
//!
//! - A key id given to other key material than it first named is refused
//!   ([`refuse_reused_ids`]): every row stored under that id would silently
//!   stop verifying. Each id's fingerprint is recorded the first time a
//!   server holds it (`session_key_ids`).
//! - A key removed while rows are still stored under it is only warned
//!   about: those rows stop verifying, which ends sessions and pending
//!   sign-ins, and makes the recovery codes and client secrets under it
//!   useless until regenerated/rotated. That is also what an operator who
//!   removes a leaked key wants, at once, so it must stay possible (as
//!   Keycloak lets an administrator delete or disable a realm key, ending
//!   what it signed). Unlike `FIELD_KEYS`, nothing is lost that its owner
//!   cannot replace: no data is encrypted under these keys.

use crate::db::models::instance::AppInstance;
use crate::db::models::session_key_id::{self, LiveRows};
use crate::db::{self, DbConn, Pool};
use crate::error::AppError;
use crate::security::session_keys::{SessionKeys, LEGACY_KID};
use crate::services::field_keys::LIVE_WITHIN;
use chrono::NaiveDateTime;

/// One key id: whether `SESSION_KEY` holds it, what is still under it,
/// and whether it can leave.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SessionKeyStatus {
    pub key_id: String,
    pub in_session_key: bool,
    pub current: bool,
    pub live_rows: LiveRows,
    pub can_go: bool,
    pub verdict: String,
}

/// At start: refuses a reused key id; warns about rows under key ids no
/// longer held (sessions and codes under them end).
pub async fn refuse_reused_ids(pool: &Pool, keys: &SessionKeys) -> anyhow::Result<()> {
    let (kids, prints): (Vec<String>, Vec<String>) = keys
        .fingerprints()
        .into_iter()
        .map(|(k, f)| (k.to_owned(), f))
        .unzip();
    let held = keys.key_ids().join(",");
    let now = chrono::Utc::now().naive_utc();
    let (problems, orphaned) = db::run(pool, move |conn| {
        let mut problems = Vec::new();
        for (kid, fingerprint) in kids.iter().zip(&prints) {
            if session_key_id::record(conn, kid, fingerprint, now)? != *fingerprint {
                problems.push(kid.clone());
            }
        }
        let mut orphaned = Vec::new();
        for kid in session_key_id::all(conn)? {
            if !held.split(',').any(|h| h == kid) {
                let rows = rows_under(conn, &kid, now)?;
                if rows.total() > 0 {
                    orphaned.push((kid, rows));
                }
            }
        }
        Ok((problems, orphaned))
    })
    .await
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot check SESSION_KEY against the data (has `backend migrate` run?): {e}"
        )
    })?;
    for (kid, rows) in orphaned {
        tracing::warn!(
            kid = %kid,
            refresh_tokens = rows.refresh_tokens,
            recovery_codes = rows.recovery_codes,
            client_secrets = rows.client_secrets,
            pending = rows.mfa_challenges + rows.oauth_codes + rows.consent_requests,
            "SESSION_KEY no longer holds a key that live rows are stored under: those sessions \
             end, and those recovery codes and client secrets no longer work until regenerated \
             or rotated (see `backend keys status`)"
        );
    }
    if let Some(kid) = problems.first() {
        anyhow::bail!(
            "SESSION_KEY gives key id `{kid}` a key other than the one first used under that \
             id: what is stored under `{kid}` would stop verifying. Put the original `{kid}` \
             back; a new key needs a new id"
        );
    }
    Ok(())
}

/// The live rows under `kid` (for [`LEGACY_KID`], also the rows written
/// before key sets, which have no prefix).
fn rows_under(conn: &mut DbConn, kid: &str, now: NaiveDateTime) -> Result<LiveRows, AppError> {
    let mut rows = session_key_id::live_rows(conn, kid, false, now)?;
    if kid == LEGACY_KID {
        let bare = session_key_id::live_rows(conn, kid, true, now)?;
        rows.refresh_tokens += bare.refresh_tokens;
        rows.mfa_challenges += bare.mfa_challenges;
        rows.recovery_codes += bare.recovery_codes;
        rows.oauth_codes += bare.oauth_codes;
        rows.consent_requests += bare.consent_requests;
        rows.client_secrets += bare.client_secrets;
    }
    Ok(rows)
}

/// Per key id held or ever recorded (and `legacy` while rows are under
/// it): what is under it and whether it can leave `SESSION_KEY`.
pub fn status(
    conn: &mut DbConn,
    keys: &SessionKeys,
    now: NaiveDateTime,
) -> Result<Vec<SessionKeyStatus>, AppError> {
    let mut kids: Vec<String> = keys.key_ids().into_iter().map(str::to_owned).collect();
    for kid in session_key_id::all(conn)?
        .into_iter()
        .chain([LEGACY_KID.to_owned()])
    {
        if !kids.contains(&kid) {
            kids.push(kid);
        }
    }
    let mut out = Vec::new();
    for kid in kids {
        let rows = rows_under(conn, &kid, now)?;
        let held = keys.holds(&kid);
        if !held && kid == LEGACY_KID && rows.total() == 0 {
            continue;
        }
        out.push(verdict(kid, keys, rows));
    }
    Ok(out)
}

fn verdict(key_id: String, keys: &SessionKeys, rows: LiveRows) -> SessionKeyStatus {
    let held = keys.holds(&key_id);
    let current = keys.current_kid() == key_id;
    let n = rows.total();
    let under = describe(&rows);
    let (can_go, verdict) = if current {
        (false, "current: new values are stored under it".to_owned())
    } else if held && n == 0 {
        (
            true,
            "nothing live is stored under it: it can leave SESSION_KEY".to_owned(),
        )
    } else if held {
        (
            false,
            format!(
                "still under it: {under}. Refresh tokens move to the current key when used and \
                 the rest expire; recovery codes move only when their users regenerate them, \
                 client secrets only when rotated"
            ),
        )
    } else if n == 0 {
        (true, "not in SESSION_KEY; nothing live under it".to_owned())
    } else {
        (
            true,
            format!("not in SESSION_KEY: these no longer verify: {under}"),
        )
    };
    SessionKeyStatus {
        key_id,
        in_session_key: held,
        current,
        live_rows: rows,
        can_go,
        verdict,
    }
}

fn describe(rows: &LiveRows) -> String {
    let parts: Vec<String> = [
        (rows.refresh_tokens, "refresh token(s)"),
        (rows.mfa_challenges, "pending MFA sign-in(s)"),
        (rows.recovery_codes, "recovery code(s)"),
        (rows.oauth_codes, "authorization code(s)"),
        (rows.consent_requests, "consent request(s)"),
        (rows.client_secrets, "client secret(s)"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    parts.join(", ")
}

/// The text of `keys status`'s session-key part.
pub fn render(status: &[SessionKeyStatus]) -> String {
    let mut out = String::from("SESSION_KEY key ids:\n");
    for s in status {
        out.push_str(&format!("  {}: {}\n", s.key_id, s.verdict));
    }
    out
}

/// A step of the rotation (`backend rotate-session-key`): the set to
/// deploy next, and what the operator does with it.
pub struct RotationStep {
    pub keys: SessionKeys,
    pub next: String,
}

/// A step run with a `SESSION_KEY` that gives a recorded key id other key
/// material than the servers recorded is refused: the set it printed would
/// stop every server at start ([`refuse_reused_ids`]), or make values
/// stored under that id unverifiable. Reads only; records nothing.
fn refuse_other_material(conn: &mut DbConn, keys: &SessionKeys) -> Result<(), AppError> {
    for (kid, fingerprint) in keys.fingerprints() {
        if session_key_id::fingerprint_of(conn, kid)?.is_some_and(|f| f != fingerprint) {
            return Err(AppError::Conflict(format!(
                "this SESSION_KEY gives key id `{kid}` a key other than the one first used \
                 under that id (the servers hold another): run the step with the SESSION_KEY \
                 the servers were given"
            )));
        }
    }
    Ok(())
}

/// Key ids held and not current that were first seen after the current
/// key (or never seen: not deployed yet): added by step 1, not yet made
/// current. Older non-current keys are retired ones, kept for verifying.
fn pending(conn: &mut DbConn, keys: &SessionKeys) -> Result<Vec<String>, AppError> {
    let recorded = session_key_id::all(conn)?;
    let rank = |kid: &str| recorded.iter().position(|r| r == kid);
    let current = rank(keys.current_kid());
    Ok(keys
        .key_ids()
        .into_iter()
        .skip(1)
        .filter(|kid| match (rank(kid), current) {
            (None, _) => true,
            (Some(at), Some(cur)) => at > cur,
            (Some(_), None) => false,
        })
        .map(str::to_owned)
        .collect())
}

/// Step 1: a new random key under a new id (never used before on this
/// database), after the current key.
pub fn add_step(
    conn: &mut DbConn,
    keys: &SessionKeys,
    now: NaiveDateTime,
) -> Result<RotationStep, AppError> {
    refuse_other_material(conn, keys)?;
    if let Some(kid) = pending(conn, keys)?.first() {
        return Err(AppError::Conflict(format!(
            "`{kid}` was added after the current key `{}` and is not current yet: finish that \
             rotation first (`backend rotate-session-key promote`)",
            keys.current_kid()
        )));
    }
    let used = session_key_id::all(conn)?;
    let mut n = now.and_utc().timestamp();
    let kid = loop {
        let kid = format!("s{n}");
        if !keys.holds(&kid) && !used.contains(&kid) {
            break kid;
        }
        n += 1;
    };
    let next = keys.with_new_key(&kid).map_err(AppError::internal)?;
    Ok(RotationStep {
        keys: next,
        next: format!(
            "Deploy this SESSION_KEY to every instance (`{kid}` is held but not current yet), \
             then run `backend rotate-session-key promote`."
        ),
    })
}

/// Step 2: the key added by step 1 first. Refused until every live
/// instance holds it: one that does not could not verify what the others
/// would store under it (sessions, codes, secrets).
pub fn promote_step(
    conn: &mut DbConn,
    keys: &SessionKeys,
    now: NaiveDateTime,
) -> Result<RotationStep, AppError> {
    refuse_other_material(conn, keys)?;
    let pending = pending(conn, keys)?;
    let Some(kid) = pending.last() else {
        return Err(AppError::Conflict(format!(
            "no key waits to become current (every other key is older than `{}`): start with \
             `backend rotate-session-key add`",
            keys.current_kid()
        )));
    };
    if !session_key_id::all(conn)?.contains(kid) {
        return Err(AppError::Conflict(format!(
            "no server has started with `{kid}` yet: deploy step 1's SESSION_KEY to every \
             instance first"
        )));
    }
    let live = AppInstance::live_since(conn, now - LIVE_WITHIN)?;
    let lacking: Vec<String> = live
        .iter()
        .filter(|i| !i.holds_session_key(kid))
        .map(|i| format!("{} ({})", i.label, i.id))
        .collect();
    if !lacking.is_empty() {
        return Err(AppError::Conflict(format!(
            "{} live instance(s) do not hold `{kid}` yet and could not verify what would be \
             stored under it: {}. Deploy step 1's SESSION_KEY to them first",
            lacking.len(),
            lacking.join("; ")
        )));
    }
    let next = keys
        .with_current(kid)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("pending key not held")))?;
    Ok(RotationStep {
        keys: next,
        next: format!(
            "Deploy this SESSION_KEY to every instance (`{kid}` current). Then wait until \
             `backend keys status` says `{}` can go, and run `backend rotate-session-key retire \
             {}`.",
            keys.current_kid(),
            keys.current_kid()
        ),
    })
}

/// Step 4: `kid` out of the set. Refused for the current key; and, unless
/// `force` (a leaked key goes at once, ending what is under it), while
/// live rows are stored under it or a live instance still stores new
/// values under it.
pub fn retire_step(
    conn: &mut DbConn,
    keys: &SessionKeys,
    kid: &str,
    force: bool,
    now: NaiveDateTime,
) -> Result<RotationStep, AppError> {
    refuse_other_material(conn, keys)?;
    if keys.current_kid() == kid {
        return Err(AppError::Conflict(format!(
            "`{kid}` is the current key: make another current first (`add`, then `promote`)"
        )));
    }
    let Some(next) = keys.without(kid) else {
        return Err(AppError::Conflict(format!(
            "SESSION_KEY holds no key `{kid}` (it holds {})",
            keys.key_ids().join(", ")
        )));
    };
    let storing: Vec<String> = AppInstance::live_since(conn, now - LIVE_WITHIN)?
        .iter()
        .filter(|i| i.session_key_ids().first() == Some(&kid))
        .map(|i| format!("{} ({})", i.label, i.id))
        .collect();
    let rows = rows_under(conn, kid, now)?;
    if !force && !storing.is_empty() {
        return Err(AppError::Conflict(format!(
            "live instance(s) still store new values under `{kid}`: {}. Deploy the promoted \
             SESSION_KEY to them first",
            storing.join("; ")
        )));
    }
    if !force && rows.total() > 0 {
        return Err(AppError::Conflict(format!(
            "still under `{kid}`: {}. Wait for them to move or expire (`backend keys status`), \
             or give --force to end them now (for a leaked key)",
            describe(&rows)
        )));
    }
    let ended = if rows.total() > 0 {
        format!(" These stop verifying: {}.", describe(&rows))
    } else {
        String::new()
    };
    Ok(RotationStep {
        keys: next,
        next: format!("Deploy this SESSION_KEY to every instance.{ended}"),
    })
}
