use crate::db::schema::app_instances;
use crate::db::DbConn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A running server, as it announces itself (`services::field_keys`): the
/// field and session key ids it holds — ids only, never a key — and its
/// last heartbeat.
#[derive(Clone, Debug, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = app_instances)]
pub struct AppInstance {
    pub id: String,
    /// Host and process id, for an operator to find it.
    pub label: String,
    /// Comma-separated, the current key first.
    pub field_key_ids: String,
    pub started_at: NaiveDateTime,
    pub heartbeat_at: NaiveDateTime,
    /// `SESSION_KEY`'s key ids, comma-separated, the current one first
    /// (empty for a server from before this column).
    pub session_key_ids: String,
}

impl AppInstance {
    /// Its key ids, the current one first.
    pub fn key_ids(&self) -> Vec<&str> {
        self.field_key_ids
            .split(',')
            .filter(|k| !k.is_empty())
            .collect()
    }

    /// The key id it encrypts new values with.
    pub fn current_key_id(&self) -> Option<&str> {
        self.key_ids().first().copied()
    }

    pub fn holds(&self, kid: &str) -> bool {
        self.key_ids().contains(&kid)
    }

    /// Its `SESSION_KEY` key ids, the current one first.
    pub fn session_key_ids(&self) -> Vec<&str> {
        self.session_key_ids
            .split(',')
            .filter(|k| !k.is_empty())
            .collect()
    }

    pub fn holds_session_key(&self, kid: &str) -> bool {
        self.session_key_ids().contains(&kid)
    }

    /// Writes this instance's row, or refreshes it (its heartbeat and key
    /// ids) when it is there already.
    pub fn beat(
        conn: &mut DbConn,
        id: &str,
        label: &str,
        field_key_ids: &str,
        session_key_ids: &str,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        let updated = diesel::update(app_instances::table.find(id))
            .set((
                app_instances::heartbeat_at.eq(now),
                app_instances::field_key_ids.eq(field_key_ids),
                app_instances::session_key_ids.eq(session_key_ids),
            ))
            .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(app_instances::table)
                .values((
                    app_instances::id.eq(id),
                    app_instances::label.eq(label),
                    app_instances::field_key_ids.eq(field_key_ids),
                    app_instances::session_key_ids.eq(session_key_ids),
                    app_instances::started_at.eq(now),
                    app_instances::heartbeat_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(())
    }

    /// Instances whose last heartbeat is at or after `since`, by label.
    pub fn live_since(conn: &mut DbConn, since: NaiveDateTime) -> QueryResult<Vec<AppInstance>> {
        app_instances::table
            .filter(app_instances::heartbeat_at.ge(since))
            .order((app_instances::label.asc(), app_instances::id.asc()))
            .select(AppInstance::as_select())
            .load(conn)
    }

    /// A clean stop: the instance is gone at once, not after its heartbeat
    /// ages.
    pub fn remove(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
        diesel::delete(app_instances::table.find(id)).execute(conn)
    }

    /// Forgets instances silent since before `before` (crashed or killed).
    pub fn prune(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
        diesel::delete(app_instances::table.filter(app_instances::heartbeat_at.lt(before)))
            .execute(conn)
    }
}
