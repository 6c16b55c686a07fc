//! Seeded audit entries: a plausible mix of events, appended to the hash
//! chain in one transaction, the audit log's secondary indexes rebuilt once
//! for a large load.

use super::ROWS_PER_BATCH;
use crate::audit;
use crate::db::schema::audit_log;
use crate::db::{self, DbConn};
use crate::error::AppError;
use chrono::{Duration, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use rand::Rng;

/// Audit entries spread over at most this much time, ending now.
const AUDIT_SPAN_DAYS: i64 = 30;

/// One kind of seeded audit event: what happened, and how often.
struct EventKind {
    action: &'static str,
    outcome: audit::Outcome,
    /// Relative frequency.
    weight: u32,
    /// Whether it is about another user (an admin's action).
    targeted: bool,
    /// Whether it may come from nobody known (a failed sign-in).
    anonymous: bool,
    detail: &'static str,
}

/// A plausible day of a busy service: mostly sign-ins and token refreshes,
/// some failures and refusals, a few admin actions. Every detail says
/// `seeded`, so these entries are recognisable.
const KINDS: &[EventKind] = {
    use audit::Outcome::{Denied, Failure, Success};
    const fn kind(
        action: &'static str,
        outcome: audit::Outcome,
        weight: u32,
        targeted: bool,
        anonymous: bool,
        detail: &'static str,
    ) -> EventKind {
        EventKind {
            action,
            outcome,
            weight,
            targeted,
            anonymous,
            detail,
        }
    }
    &[
        kind(
            "auth.login",
            Success,
            40,
            false,
            false,
            r#"{"method":"password","seeded":true}"#,
        ),
        kind(
            "auth.login",
            Failure,
            12,
            false,
            true,
            r#"{"reason":"bad_credentials","seeded":true}"#,
        ),
        kind(
            "auth.refresh",
            Success,
            20,
            false,
            false,
            r#"{"seeded":true}"#,
        ),
        kind(
            "mfa.verify",
            Success,
            6,
            false,
            false,
            r#"{"method":"totp","seeded":true}"#,
        ),
        kind(
            "mfa.verify",
            Failure,
            2,
            false,
            false,
            r#"{"method":"totp","seeded":true}"#,
        ),
        kind(
            "access.denied",
            Denied,
            6,
            false,
            true,
            r#"{"reason":"missing_permission","seeded":true}"#,
        ),
        kind(
            "session.revoke",
            Success,
            4,
            false,
            false,
            r#"{"seeded":true}"#,
        ),
        kind(
            "oauth.token",
            Success,
            3,
            false,
            false,
            r#"{"grant_type":"authorization_code","seeded":true}"#,
        ),
        kind(
            "device.register",
            Success,
            2,
            false,
            false,
            r#"{"seeded":true}"#,
        ),
        kind(
            "account.password_change",
            Success,
            2,
            false,
            false,
            r#"{"seeded":true}"#,
        ),
        kind(
            "rate_limit.exceeded",
            Denied,
            1,
            false,
            true,
            r#"{"limit":"auth_per_ip","hits":3,"seeded":true}"#,
        ),
        kind(
            "account.locked",
            Success,
            1,
            true,
            false,
            r#"{"by":"admin","seeded":true}"#,
        ),
        kind(
            "role.grant",
            Success,
            1,
            true,
            false,
            r#"{"role":"auditor","seeded":true}"#,
        ),
    ]
};

/// The kind at `roll`, a number below the sum of the weights.
fn kind_at(roll: u32) -> &'static EventKind {
    let mut left = roll;
    for kind in KINDS {
        if left < kind.weight {
            return kind;
        }
        left -= kind.weight;
    }
    &KINDS[0]
}

fn total_weight() -> u32 {
    KINDS.iter().map(|k| k.weight).sum()
}

/// The audit log's secondary indexes (migrations `audit_log` and
/// `scale_indexes`) as (drop, create) statements. Keeping seven B-trees
/// up to date row by row makes a load several times slower than inserting
/// the rows and building each index once, in one sorted pass; a test checks
/// this list against the migrated schema.
pub const AUDIT_INDEXES: &[(&str, &str)] = &[
    (
        "DROP INDEX audit_log_occurred_at",
        "CREATE INDEX audit_log_occurred_at ON audit_log (occurred_at)",
    ),
    (
        "DROP INDEX audit_log_actor_id",
        "CREATE INDEX audit_log_actor_id ON audit_log (actor, id)",
    ),
    (
        "DROP INDEX audit_log_action_id",
        "CREATE INDEX audit_log_action_id ON audit_log (action, id)",
    ),
    (
        "DROP INDEX audit_log_action_outcome_id",
        "CREATE INDEX audit_log_action_outcome_id ON audit_log (action, outcome, id)",
    ),
    (
        "DROP INDEX audit_log_outcome_id",
        "CREATE INDEX audit_log_outcome_id ON audit_log (outcome, id)",
    ),
    (
        "DROP INDEX audit_log_target_id",
        "CREATE INDEX audit_log_target_id ON audit_log (target, id)",
    ),
];

/// One entry before it is borrowed into an [`audit::Unlinked`].
struct Draft {
    kind: &'static EventKind,
    actor: Option<usize>,
    target: Option<usize>,
    client_ip: String,
    request_id: String,
}

fn draft(rng: &mut impl Rng, actors: usize, weights: u32) -> Draft {
    let kind = kind_at(rng.random_range(0..weights));
    let pick = |rng: &mut dyn rand::RngCore| (actors > 0).then(|| rng.random_range(0..actors));
    let actor = if kind.anonymous && rng.random_bool(0.5) {
        None
    } else {
        pick(rng)
    };
    let target = if kind.targeted { pick(rng) } else { None };
    Draft {
        kind,
        actor,
        target,
        // A documentation range (RFC 5737): no real client's address.
        client_ip: format!("203.0.113.{}", rng.random_range(1..255)),
        request_id: uuid::Builder::from_random_bytes(rng.random())
            .into_uuid()
            .to_string(),
    }
}

/// Appends `count` entries to the chain, `actors` (user ids) acting, in ONE
/// write transaction: all or nothing, and a large load may drop the
/// secondary indexes and build them again before it commits (DDL is
/// transactional on both databases, so an interrupted load leaves them
/// as they were). The chain lock is held throughout: a server recording
/// at the same time waits (seed an idle database).
pub(super) fn seed_audit(
    conn: &mut DbConn,
    count: u64,
    actors: &[String],
    progress: &mut impl FnMut(&str, u64, u64),
) -> Result<(), AppError> {
    if count == 0 {
        return Ok(());
    }
    let now = crate::services::sessions::now();
    let newest: Option<(i64, NaiveDateTime)> = audit_log::table
        .order(audit_log::id.desc())
        .select((audit_log::id, audit_log::occurred_at))
        .first(conn)
        .optional()?;
    // From the newest entry (or 30 days ago) to now, evenly, so times keep
    // the chain's order.
    let start = newest
        .map(|(_, t)| t)
        .filter(|t| *t > now - Duration::days(AUDIT_SPAN_DAYS))
        .unwrap_or(now - Duration::days(AUDIT_SPAN_DAYS));
    let step_micros =
        (now - start).num_microseconds().unwrap_or(0) / i64::try_from(count).unwrap_or(i64::MAX);
    // Ids are consecutive: the newest id is about the table's size.
    let existing = newest.map_or(0, |(id, _)| u64::try_from(id).unwrap_or(0));
    let rebuild_indexes = count >= existing;

    let mut rng = rand::rng();
    let weights = total_weight();
    db::write_transaction(conn, |conn| {
        if rebuild_indexes {
            for (drop, _) in AUDIT_INDEXES {
                conn.batch_execute(drop)?;
            }
        }
        let mut done = 0u64;
        while done < count {
            let take = (count - done).min(ROWS_PER_BATCH as u64);
            let drafts: Vec<Draft> = (0..take)
                .map(|_| draft(&mut rng, actors.len(), weights))
                .collect();
            let entries: Vec<audit::Unlinked<'_>> = drafts
                .iter()
                .zip(done..)
                .map(|(d, n)| audit::Unlinked {
                    occurred_at: start
                        + Duration::microseconds(
                            step_micros.saturating_mul(i64::try_from(n).unwrap_or(0)),
                        ),
                    actor: d.actor.map(|a| actors[a].as_str()),
                    action: d.kind.action,
                    target: d.target.map(|t| actors[t].as_str()),
                    outcome: d.kind.outcome,
                    client_ip: Some(&d.client_ip),
                    request_id: Some(&d.request_id),
                    detail: d.kind.detail,
                })
                .collect();
            audit::append_many(conn, &entries)?;
            done += take;
            progress("audit entries", done, count);
        }
        if rebuild_indexes {
            if let DbConn::Postgres(_) = conn {
                // Index builds sort in memory up to this much.
                conn.batch_execute("SET LOCAL maintenance_work_mem = '256MB'")?;
            }
            for (_, create) in AUDIT_INDEXES {
                conn.batch_execute(create)?;
            }
            progress("audit indexes rebuilt", count, count);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_roll_picks_a_kind_in_proportion() {
        let weights = total_weight();
        let logins = (0..weights)
            .filter(|r| kind_at(*r).action == "auth.login")
            .count();
        assert_eq!(logins, 52);
        assert_eq!(kind_at(weights - 1).action, "role.grant");
        assert!(KINDS.iter().all(|k| k.detail.contains(r#""seeded":true"#)));
    }
}
