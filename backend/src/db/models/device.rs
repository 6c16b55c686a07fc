use crate::db::schema::{devices, users};
use crate::db::DbConn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A device a user registered. The compliance flag is the device's posture
/// as an admin (or, in a real deployment, an MDM feed) last judged it.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = devices)]
pub struct Device {
    pub id: String,
    pub user_id: String,
    pub label: String,
    pub compliant: bool,
    pub registered_at: NaiveDateTime,
    pub last_seen_at: Option<NaiveDateTime>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub reviewed_by: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = devices)]
pub struct NewDevice<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub label: &'a str,
    pub compliant: bool,
    pub registered_at: NaiveDateTime,
}

/// At most this many devices per user.
pub const MAX_DEVICES_PER_USER: i64 = 20;

impl Device {
    /// The device only if it belongs to `user_id` (no IDOR).
    pub fn find_owned(conn: &mut DbConn, id: &str, user_id: &str) -> QueryResult<Option<Device>> {
        devices::table
            .filter(devices::id.eq(id))
            .filter(devices::user_id.eq(user_id))
            .select(Device::as_select())
            .first(conn)
            .optional()
    }

    pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Device>> {
        devices::table
            .filter(devices::id.eq(id))
            .select(Device::as_select())
            .first(conn)
            .optional()
    }

    pub fn for_user(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<Device>> {
        devices::table
            .filter(devices::user_id.eq(user_id))
            .order(devices::registered_at.desc())
            .select(Device::as_select())
            .load(conn)
    }

    /// Whether any of the user's devices is marked non-compliant.
    pub fn any_non_compliant(conn: &mut DbConn, user_id: &str) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            devices::table
                .filter(devices::user_id.eq(user_id))
                .filter(devices::compliant.eq(false)),
        ))
        .get_result(conn)
    }

    pub fn count_for_user(conn: &mut DbConn, user_id: &str) -> QueryResult<i64> {
        devices::table
            .filter(devices::user_id.eq(user_id))
            .count()
            .get_result(conn)
    }

    /// Every device with its owner's username, newest first.
    pub fn all_with_owner(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<(Device, String)>> {
        devices::table
            .inner_join(users::table)
            .order(devices::registered_at.desc())
            .limit(limit)
            .select((Device::as_select(), users::username))
            .load(conn)
    }

    pub fn insert(conn: &mut DbConn, new: &NewDevice<'_>) -> QueryResult<()> {
        diesel::insert_into(devices::table)
            .values(new)
            .execute(conn)
            .map(|_| ())
    }

    pub fn delete_owned(conn: &mut DbConn, id: &str, user_id: &str) -> QueryResult<usize> {
        diesel::delete(
            devices::table
                .filter(devices::id.eq(id))
                .filter(devices::user_id.eq(user_id)),
        )
        .execute(conn)
    }

    pub fn set_compliance(
        conn: &mut DbConn,
        id: &str,
        compliant: bool,
        by: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(devices::table.filter(devices::id.eq(id)))
            .set((
                devices::compliant.eq(compliant),
                devices::reviewed_at.eq(Some(now)),
                devices::reviewed_by.eq(Some(by)),
            ))
            .execute(conn)
    }

    pub fn touch(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<()> {
        diesel::update(devices::table.filter(devices::id.eq(id)))
            .set(devices::last_seen_at.eq(Some(now)))
            .execute(conn)
            .map(|_| ())
    }

    /// (all devices, non-compliant ones), for the dashboard.
    pub fn counts(conn: &mut DbConn) -> QueryResult<(i64, i64)> {
        let all = devices::table.count().get_result(conn)?;
        let bad = devices::table
            .filter(devices::compliant.eq(false))
            .count()
            .get_result(conn)?;
        Ok((all, bad))
    }
}
