//! Workshop mode: the challenges each participant has solved, and the one
//! audit-log read the request-id challenge needs.

use crate::db::schema::{audit_log, users, workshop_solves};
use crate::db::DbConn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// One solved challenge.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = workshop_solves)]
pub struct Solve {
    pub user_id: String,
    pub challenge_id: String,
    pub solved_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = workshop_solves)]
struct NewSolve<'a> {
    user_id: &'a str,
    challenge_id: &'a str,
    solved_at: NaiveDateTime,
}

impl Solve {
    /// Records a first solve; `false` when this participant had already
    /// solved it. Runs inside a write transaction holding the audit chain
    /// lock (`services::workshop::solve_in`): it looks before it inserts, because on PostgreSQL a refused insert would abort the
    /// whole transaction (the caller's change with it); the primary key
    /// still refuses a second row, should two ever race.
    pub fn insert_first(
        conn: &mut DbConn,
        user_id: &str,
        challenge_id: &str,
        now: NaiveDateTime,
    ) -> QueryResult<bool> {
        let known: i64 = workshop_solves::table
            .filter(workshop_solves::user_id.eq(user_id))
            .filter(workshop_solves::challenge_id.eq(challenge_id))
            .count()
            .get_result(conn)?;
        if known > 0 {
            return Ok(false);
        }
        let row = NewSolve {
            user_id,
            challenge_id,
            solved_at: now,
        };
        diesel::insert_into(workshop_solves::table)
            .values(&row)
            .execute(conn)?;
        Ok(true)
    }

    /// One participant's solves, oldest first.
    pub fn of_user(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<Solve>> {
        workshop_solves::table
            .filter(workshop_solves::user_id.eq(user_id))
            .order(workshop_solves::solved_at.asc())
            .select(Solve::as_select())
            .load(conn)
    }

    /// Everyone's solves, oldest first.
    pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Solve>> {
        workshop_solves::table
            .order(workshop_solves::solved_at.asc())
            .select(Solve::as_select())
            .load(conn)
    }

    /// Removes every solve (`backend workshop-reset`); returns how many.
    pub fn delete_all(conn: &mut DbConn) -> QueryResult<usize> {
        diesel::delete(workshop_solves::table).execute(conn)
    }
}

/// Participants for the instructor view: every account (id, username), by
/// username, at most `limit`.
pub fn participants(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<(String, String)>> {
    users::table
        .order(users::username.asc())
        .limit(limit)
        .select((users::id, users::username))
        .load(conn)
}

/// Whether the audit log holds `action` by `actor` for request `request_id`
/// (the request-id challenge: a server error this participant caused).
pub fn audited_for_request(
    conn: &mut DbConn,
    action: &str,
    actor: &str,
    request_id: &str,
) -> QueryResult<bool> {
    let found: Option<i64> = audit_log::table
        .filter(audit_log::action.eq(action))
        .filter(audit_log::actor.eq(actor))
        .filter(audit_log::request_id.eq(request_id))
        .select(audit_log::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}
