//! OAuth clients and authorization codes. Secrets and codes are stored only
//! as HMACs under SESSION_KEY.

use super::session::Session;
use crate::db::schema::{
    oauth_clients, oauth_codes, oauth_consent_requests, oauth_grants, sessions,
};
use crate::db::DbConn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = oauth_clients)]
pub struct OAuthClient {
    pub id: String,
    pub name: String,
    /// HMAC of the secret; `None` for a public client.
    pub secret_hash: Option<String>,
    /// One URI per line.
    pub redirect_uris: String,
    /// Space-separated.
    pub scopes: String,
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
    /// The `aud` of this client's access tokens; `None`: this app's API.
    pub audience: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

impl OAuthClient {
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    pub fn redirect_uri_list(&self) -> Vec<String> {
        self.redirect_uris
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub fn scope_list(&self) -> Vec<&str> {
        self.scopes.split(' ').filter(|s| !s.is_empty()).collect()
    }

    pub fn create(conn: &mut DbConn, client: &OAuthClient) -> QueryResult<()> {
        diesel::insert_into(oauth_clients::table)
            .values(client)
            .execute(conn)
            .map(|_| ())
    }

    pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<OAuthClient>> {
        oauth_clients::table
            .filter(oauth_clients::id.eq(id))
            .select(OAuthClient::as_select())
            .first(conn)
            .optional()
    }

    /// Replaces the client's redirect URIs (one per line); false if there is
    /// no such client. For the built-in playground client, kept in line with
    /// the configuration at start-up.
    pub fn set_redirect_uris(
        conn: &mut DbConn,
        id: &str,
        redirect_uris: &str,
        now: NaiveDateTime,
    ) -> QueryResult<bool> {
        let n = diesel::update(oauth_clients::table.filter(oauth_clients::id.eq(id)))
            .set((
                oauth_clients::redirect_uris.eq(redirect_uris),
                oauth_clients::updated_at.eq(Some(now)),
            ))
            .execute(conn)?;
        Ok(n > 0)
    }

    /// Every client, newest first.
    pub fn list(conn: &mut DbConn) -> QueryResult<Vec<OAuthClient>> {
        oauth_clients::table
            .order((oauth_clients::created_at.desc(), oauth_clients::id))
            .select(OAuthClient::as_select())
            .load(conn)
    }

    /// Replaces what an admin may edit; false if there is no such client.
    pub fn update(
        conn: &mut DbConn,
        id: &str,
        edit: &ClientEdit,
        now: NaiveDateTime,
    ) -> QueryResult<bool> {
        let n = diesel::update(oauth_clients::table.filter(oauth_clients::id.eq(id)))
            .set((
                oauth_clients::name.eq(&edit.name),
                oauth_clients::redirect_uris.eq(&edit.redirect_uris),
                oauth_clients::scopes.eq(&edit.scopes),
                oauth_clients::audience.eq(edit.audience.as_deref()),
                oauth_clients::updated_at.eq(Some(now)),
            ))
            .execute(conn)?;
        Ok(n > 0)
    }

    /// Stores a new secret's HMAC for a confidential client (a public one
    /// stays public); false if no confidential client has this id.
    pub fn set_secret_hash(
        conn: &mut DbConn,
        id: &str,
        secret_hash: &str,
        now: NaiveDateTime,
    ) -> QueryResult<bool> {
        let n = diesel::update(
            oauth_clients::table
                .filter(oauth_clients::id.eq(id))
                .filter(oauth_clients::secret_hash.is_not_null()),
        )
        .set((
            oauth_clients::secret_hash.eq(Some(secret_hash)),
            oauth_clients::updated_at.eq(Some(now)),
        ))
        .execute(conn)?;
        Ok(n > 0)
    }

    /// Deletes the client (its codes go with it: `ON DELETE CASCADE`).
    pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
        let n =
            diesel::delete(oauth_clients::table.filter(oauth_clients::id.eq(id))).execute(conn)?;
        Ok(n > 0)
    }

    /// The sessions this client opened that are not revoked: those naming it
    /// (`sessions.oauth_client_id`) and those its codes recorded.
    pub fn open_sessions(conn: &mut DbConn, id: &str) -> QueryResult<Vec<Session>> {
        let mut ids: Vec<String> = oauth_codes::table
            .filter(oauth_codes::client_id.eq(id))
            .filter(oauth_codes::session_id.is_not_null())
            .select(oauth_codes::session_id.assume_not_null())
            .load(conn)?;
        let mut found: Vec<Session> = sessions::table
            .filter(sessions::oauth_client_id.eq(id))
            .filter(sessions::revoked_at.is_null())
            .select(Session::as_select())
            .load(conn)?;
        ids.retain(|sid| !found.iter().any(|s| s.id == *sid));
        ids.sort();
        ids.dedup();
        if !ids.is_empty() {
            found.extend(
                sessions::table
                    .filter(sessions::id.eq_any(&ids))
                    .filter(sessions::revoked_at.is_null())
                    .select(Session::as_select())
                    .load(conn)?,
            );
        }
        Ok(found)
    }
}

/// The editable columns of a client, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientEdit {
    pub name: String,
    /// One URI per line.
    pub redirect_uris: String,
    /// Space-separated.
    pub scopes: String,
    pub audience: Option<String>,
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = oauth_codes, primary_key(code_hash))]
pub struct OAuthCode {
    pub code_hash: String,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub session_id: Option<String>,
}

impl OAuthCode {
    pub fn create(conn: &mut DbConn, code: &OAuthCode) -> QueryResult<()> {
        diesel::insert_into(oauth_codes::table)
            .values(code)
            .execute(conn)
            .map(|_| ())
    }

    /// `lookups`: every stored form of the presented value under the held
    /// session keys (`SessionKeys::lookups`).
    pub fn find(conn: &mut DbConn, lookups: &[String]) -> QueryResult<Option<OAuthCode>> {
        oauth_codes::table
            .filter(oauth_codes::code_hash.eq_any(lookups))
            .select(OAuthCode::as_select())
            .first(conn)
            .optional()
    }

    /// Marks the code used. False if it already was (a concurrent request
    /// won): the caller treats this use as a second one.
    pub fn mark_used(conn: &mut DbConn, code_hash: &str, now: NaiveDateTime) -> QueryResult<bool> {
        let n = diesel::update(
            oauth_codes::table
                .filter(oauth_codes::code_hash.eq(code_hash))
                .filter(oauth_codes::used_at.is_null()),
        )
        .set(oauth_codes::used_at.eq(Some(now)))
        .execute(conn)?;
        Ok(n > 0)
    }

    /// Records the session the code's token request opened (or, on a second
    /// use, a marker). False if one was already recorded.
    pub fn set_session_if_unset(
        conn: &mut DbConn,
        code_hash: &str,
        session_id: &str,
    ) -> QueryResult<bool> {
        let n = diesel::update(
            oauth_codes::table
                .filter(oauth_codes::code_hash.eq(code_hash))
                .filter(oauth_codes::session_id.is_null()),
        )
        .set(oauth_codes::session_id.eq(Some(session_id)))
        .execute(conn)?;
        Ok(n > 0)
    }

    /// The scope granted to `client_id` for the session a code of theirs
    /// opened (`None`: the session is not this client's).
    pub fn scope_for_session(
        conn: &mut DbConn,
        session_id: &str,
        client_id: &str,
    ) -> QueryResult<Option<String>> {
        oauth_codes::table
            .filter(oauth_codes::session_id.eq(session_id))
            .filter(oauth_codes::client_id.eq(client_id))
            .select(oauth_codes::scope)
            .first(conn)
            .optional()
    }

    /// Deletes unused codes that expired before `cutoff` (housekeeping).
    /// Used codes stay: they tie a session to its client for refreshes and
    /// reuse detection.
    pub fn delete_expired(conn: &mut DbConn, cutoff: NaiveDateTime) -> QueryResult<usize> {
        diesel::delete(
            oauth_codes::table
                .filter(oauth_codes::expires_at.lt(cutoff))
                .filter(oauth_codes::used_at.is_null()),
        )
        .execute(conn)
    }
}

/// A consent page the server rendered, waiting for the user's decision
/// (`services::oauth::consent`): single use, bound to the session that
/// loaded it; the id is stored only as its HMAC.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_consent_requests, primary_key(id_hash))]
pub struct OAuthConsentRequest {
    pub id_hash: String,
    pub session_id: String,
    pub user_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    /// Space-separated, as validated.
    pub scope: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

impl OAuthConsentRequest {
    pub fn create(conn: &mut DbConn, row: &OAuthConsentRequest) -> QueryResult<()> {
        diesel::insert_into(oauth_consent_requests::table)
            .values(row)
            .execute(conn)
            .map(|_| ())
    }

    /// `lookups`: every stored form of the presented value under the held
    /// session keys (`SessionKeys::lookups`).
    pub fn find(conn: &mut DbConn, lookups: &[String]) -> QueryResult<Option<OAuthConsentRequest>> {
        oauth_consent_requests::table
            .filter(oauth_consent_requests::id_hash.eq_any(lookups))
            .select(OAuthConsentRequest::as_select())
            .first(conn)
            .optional()
    }

    /// Deletes the request; false if it was already gone (a concurrent
    /// decision took it first).
    pub fn delete(conn: &mut DbConn, id_hash: &str) -> QueryResult<bool> {
        let n = diesel::delete(
            oauth_consent_requests::table.filter(oauth_consent_requests::id_hash.eq(id_hash)),
        )
        .execute(conn)?;
        Ok(n > 0)
    }

    /// Deletes requests that expired before `cutoff` (housekeeping).
    pub fn delete_expired(conn: &mut DbConn, cutoff: NaiveDateTime) -> QueryResult<usize> {
        diesel::delete(
            oauth_consent_requests::table.filter(oauth_consent_requests::expires_at.lt(cutoff)),
        )
        .execute(conn)
    }
}

/// The scopes a user has approved for a client, over all their consents.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_grants, primary_key(user_id, client_id))]
pub struct OAuthGrant {
    pub user_id: String,
    pub client_id: String,
    /// Space-separated, sorted.
    pub scope: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl OAuthGrant {
    pub fn find(
        conn: &mut DbConn,
        user_id: &str,
        client_id: &str,
    ) -> QueryResult<Option<OAuthGrant>> {
        oauth_grants::table
            .filter(oauth_grants::user_id.eq(user_id))
            .filter(oauth_grants::client_id.eq(client_id))
            .select(OAuthGrant::as_select())
            .first(conn)
            .optional()
    }

    /// Inserts the grant; false if the user already has one for this client.
    pub fn create_if_absent(conn: &mut DbConn, grant: &OAuthGrant) -> QueryResult<bool> {
        // Both engines have `ON CONFLICT DO NOTHING`; the multi-backend
        // connection does not offer it, each engine's own does.
        let insert = diesel::insert_into(oauth_grants::table)
            .values(grant)
            .on_conflict_do_nothing();
        let n = match conn {
            DbConn::Postgres(pg) => insert.execute(pg)?,
            DbConn::Sqlite(lite) => insert.execute(lite)?,
        };
        Ok(n > 0)
    }

    /// Narrows every user's grant for `client_id` to the scopes in `kept`
    /// (a grant left with none is deleted); how many grants changed.
    pub fn narrow_to(
        conn: &mut DbConn,
        client_id: &str,
        kept: &[&str],
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        let grants: Vec<OAuthGrant> = oauth_grants::table
            .filter(oauth_grants::client_id.eq(client_id))
            .select(OAuthGrant::as_select())
            .load(conn)?;
        let mut changed = 0;
        for g in grants {
            let left: Vec<&str> = g
                .scope
                .split(' ')
                .filter(|s| !s.is_empty() && kept.contains(s))
                .collect();
            let left = left.join(" ");
            if left == g.scope {
                continue;
            }
            let row = oauth_grants::table
                .filter(oauth_grants::user_id.eq(&g.user_id))
                .filter(oauth_grants::client_id.eq(client_id));
            if left.is_empty() {
                diesel::delete(row).execute(conn)?;
            } else {
                diesel::update(row)
                    .set((
                        oauth_grants::scope.eq(&left),
                        oauth_grants::updated_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            changed += 1;
        }
        Ok(changed)
    }

    /// Replaces the scope if it is still `expected` (compare and swap, so
    /// two concurrent consents never lose each other's scopes); false if
    /// another change came first.
    pub fn replace_scope(
        conn: &mut DbConn,
        user_id: &str,
        client_id: &str,
        expected: &str,
        scope: &str,
        now: NaiveDateTime,
    ) -> QueryResult<bool> {
        let n = diesel::update(
            oauth_grants::table
                .filter(oauth_grants::user_id.eq(user_id))
                .filter(oauth_grants::client_id.eq(client_id))
                .filter(oauth_grants::scope.eq(expected)),
        )
        .set((
            oauth_grants::scope.eq(scope),
            oauth_grants::updated_at.eq(now),
        ))
        .execute(conn)?;
        Ok(n > 0)
    }
}
