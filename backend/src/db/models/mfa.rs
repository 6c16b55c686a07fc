use crate::db::schema::{mfa_challenges, recovery_codes, user_mfa};
use crate::db::DbConn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A user's TOTP enrolment. `secret` is ciphertext (see `security::field_crypto`).
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = user_mfa)]
pub struct UserMfa {
    pub user_id: String,
    pub secret: String,
    pub created_at: NaiveDateTime,
    pub enabled_at: Option<NaiveDateTime>,
    pub last_used_step: Option<i64>,
}

impl UserMfa {
    /// Which of these users have MFA enabled.
    pub fn enabled_among(conn: &mut DbConn, user_ids: &[String]) -> QueryResult<Vec<String>> {
        user_mfa::table
            .filter(user_mfa::user_id.eq_any(user_ids))
            .filter(user_mfa::enabled_at.is_not_null())
            .select(user_mfa::user_id)
            .load(conn)
    }

    pub fn count_enabled(conn: &mut DbConn) -> QueryResult<i64> {
        user_mfa::table
            .filter(user_mfa::enabled_at.is_not_null())
            .count()
            .get_result(conn)
    }

    pub fn find(conn: &mut DbConn, user_id: &str) -> QueryResult<Option<UserMfa>> {
        user_mfa::table
            .filter(user_mfa::user_id.eq(user_id))
            .select(UserMfa::as_select())
            .first(conn)
            .optional()
    }

    /// Starts (or restarts) an enrolment with a new secret, not yet enabled.
    pub fn start(
        conn: &mut DbConn,
        user_id: &str,
        secret: &str,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        diesel::delete(user_mfa::table.filter(user_mfa::user_id.eq(user_id))).execute(conn)?;
        diesel::insert_into(user_mfa::table)
            .values((
                user_mfa::user_id.eq(user_id),
                user_mfa::secret.eq(secret),
                user_mfa::created_at.eq(now),
            ))
            .execute(conn)
            .map(|_| ())
    }

    pub fn enable(
        conn: &mut DbConn,
        user_id: &str,
        step: i64,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        diesel::update(user_mfa::table.filter(user_mfa::user_id.eq(user_id)))
            .set((
                user_mfa::enabled_at.eq(Some(now)),
                user_mfa::last_used_step.eq(Some(step)),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// Records a used step. Only moves forward, so two racing uses of one
    /// code cannot both succeed: the second finds no row to update.
    pub fn use_step(conn: &mut DbConn, user_id: &str, step: i64) -> QueryResult<bool> {
        let n = diesel::update(
            user_mfa::table
                .filter(user_mfa::user_id.eq(user_id))
                .filter(
                    user_mfa::last_used_step
                        .is_null()
                        .or(user_mfa::last_used_step.lt(step)),
                ),
        )
        .set(user_mfa::last_used_step.eq(Some(step)))
        .execute(conn)?;
        Ok(n > 0)
    }

    /// Removes the enrolment and the recovery codes.
    pub fn remove(conn: &mut DbConn, user_id: &str) -> QueryResult<()> {
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
            .execute(conn)?;
        diesel::delete(user_mfa::table.filter(user_mfa::user_id.eq(user_id))).execute(conn)?;
        Ok(())
    }

    /// Every (id, ciphertext) pair, for re-encryption under a new key.
    pub fn all_secrets(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
        user_mfa::table
            .select((user_mfa::user_id, user_mfa::secret))
            .load(conn)
    }
}

pub struct RecoveryCode;

impl RecoveryCode {
    /// Replaces the user's codes with these digests.
    pub fn replace(
        conn: &mut DbConn,
        user_id: &str,
        digests: &[String],
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
            .execute(conn)?;
        for d in digests {
            diesel::insert_into(recovery_codes::table)
                .values((
                    recovery_codes::id.eq(uuid::Uuid::new_v4().to_string()),
                    recovery_codes::user_id.eq(user_id),
                    recovery_codes::code_hash.eq(d),
                    recovery_codes::created_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(())
    }

    /// Uses an unused code of this user; returns whether one was used.
    /// `lookups`: every stored form of the presented value under the held
    /// session keys (`SessionKeys::lookups`).
    pub fn consume(
        conn: &mut DbConn,
        user_id: &str,
        lookups: &[String],
        now: NaiveDateTime,
    ) -> QueryResult<bool> {
        let n = diesel::update(
            recovery_codes::table
                .filter(recovery_codes::user_id.eq(user_id))
                .filter(recovery_codes::code_hash.eq_any(lookups))
                .filter(recovery_codes::used_at.is_null()),
        )
        .set(recovery_codes::used_at.eq(Some(now)))
        .execute(conn)?;
        Ok(n > 0)
    }

    pub fn remaining(conn: &mut DbConn, user_id: &str) -> QueryResult<i64> {
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::used_at.is_null())
            .count()
            .get_result(conn)
    }
}

/// A login waiting for its second factor.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = mfa_challenges)]
pub struct MfaChallenge {
    pub id: String,
    pub token_hash: String,
    pub user_id: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub failed_attempts: i32,
}

impl MfaChallenge {
    pub fn create(
        conn: &mut DbConn,
        token_hash: &str,
        user_id: &str,
        now: NaiveDateTime,
        expires_at: NaiveDateTime,
    ) -> QueryResult<()> {
        diesel::insert_into(mfa_challenges::table)
            .values((
                mfa_challenges::id.eq(uuid::Uuid::new_v4().to_string()),
                mfa_challenges::token_hash.eq(token_hash),
                mfa_challenges::user_id.eq(user_id),
                mfa_challenges::created_at.eq(now),
                mfa_challenges::expires_at.eq(expires_at),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// `lookups`: every stored form of the presented value under the held
    /// session keys (`SessionKeys::lookups`).
    pub fn find_by_hash(
        conn: &mut DbConn,
        lookups: &[String],
    ) -> QueryResult<Option<MfaChallenge>> {
        mfa_challenges::table
            .filter(mfa_challenges::token_hash.eq_any(lookups))
            .select(MfaChallenge::as_select())
            .first(conn)
            .optional()
    }

    /// Claims one code attempt on a pending login, atomically: only while
    /// it is unused, unexpired and has attempts left. `failed_attempts`
    /// counts the attempts claimed (a right code consumes the challenge), so
    /// parallel guesses on one token take one attempt each and never more
    /// than `max` are evaluated.
    pub fn claim_attempt(
        conn: &mut DbConn,
        id: &str,
        now: NaiveDateTime,
        max: i32,
    ) -> QueryResult<bool> {
        let n = diesel::update(
            mfa_challenges::table
                .filter(mfa_challenges::id.eq(id))
                .filter(mfa_challenges::used_at.is_null())
                .filter(mfa_challenges::expires_at.gt(now))
                .filter(mfa_challenges::failed_attempts.lt(max)),
        )
        .set(mfa_challenges::failed_attempts.eq(mfa_challenges::failed_attempts + 1))
        .execute(conn)?;
        Ok(n > 0)
    }

    /// Marks the challenge used; false if it already was (single use).
    pub fn consume(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
        let n = diesel::update(
            mfa_challenges::table
                .filter(mfa_challenges::id.eq(id))
                .filter(mfa_challenges::used_at.is_null()),
        )
        .set(mfa_challenges::used_at.eq(Some(now)))
        .execute(conn)?;
        Ok(n > 0)
    }
}
