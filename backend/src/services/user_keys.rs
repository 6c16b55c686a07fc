//! Per-user data keys in the database: finding, creating and destroying a
//! user's key, and reading and writing their encrypted fields with it. The
//! crypto is `security::user_keys`; the field keys (`FieldKeys`) wrap.
//!
//! The write rule (a shred racing a write): a value under a user's data key
//! is written only in a transaction that holds that key's row
//! ([`UserDataKey::lock`]) and finds it still the key the value was sealed
//! under; otherwise the value is sealed again under the key found. A shred
//! deletes the key's row first, then the user's encrypted values, in one
//! transaction. So a write commits either before a shred (and the shred
//! deletes it) or after it (under a new key, readable); never under a
//! destroyed key.

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::models::{mfa::UserMfa, ssn::StoredSsn, user::User, user_key::UserDataKey};
use crate::db::{self, DbConn};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::field_crypto::{FieldKeys, FieldRef};
use crate::security::user_keys::{format_of, DataKey, Format};
use crate::services::identity_cache;
use crate::services::sessions::{self, SignedIn};
use crate::state::AppState;

/// Attempts of a write whose key changed meanwhile (a rotation re-wrapped
/// it, or a shred destroyed it): each one seals again.
const WRITE_ATTEMPTS: usize = 3;

/// The answer for a value whose key was destroyed.
fn shredded() -> AppError {
    AppError::Gone(
        "this data was destroyed (its key was crypto-shredded) and can no longer be read".into(),
    )
}

fn unwrap_key(kek: &FieldKeys, user_id: &str, wrapped: &str) -> AppResult<DataKey> {
    DataKey::unwrap(kek, user_id, wrapped)
        .map_err(|e| AppError::internal(anyhow::anyhow!("cannot unwrap a user's data key: {e}")))
}

/// Decrypts a stored value of `user_id`'s: `v1` under the field keys (data
/// from before per-user keys), `v2` under the user's data key, `wrapped`
/// (read by the caller for a `v2` value). A `v2` value whose key is gone
/// answers 410.
fn decrypt(
    kek: &FieldKeys,
    field: FieldRef<'_>,
    user_id: &str,
    stored: &str,
    wrapped: Option<String>,
) -> AppResult<Vec<u8>> {
    let opened = match format_of(stored) {
        Format::UserKey => {
            let wrapped = wrapped.ok_or_else(shredded)?;
            unwrap_key(kek, user_id, &wrapped)?.decrypt(field, stored)
        }
        Format::FieldKey(_) | Format::Unknown => kek.decrypt(field, stored),
    };
    opened.map_err(|e| AppError::internal(anyhow::anyhow!("cannot decrypt a value: {e}")))
}

/// [`decrypt`] on a connection (rotation, checks, tests).
pub fn open_blocking(
    conn: &mut DbConn,
    kek: &FieldKeys,
    field: FieldRef<'_>,
    user_id: &str,
    stored: &str,
) -> AppResult<Vec<u8>> {
    let wrapped = match format_of(stored) {
        Format::UserKey => UserDataKey::find(conn, user_id)?,
        _ => None,
    };
    decrypt(kek, field, user_id, stored, wrapped)
}

/// [`decrypt`] for a request: the key is read only for a `v2` value.
pub async fn open(
    state: &AppState,
    field: FieldRef<'_>,
    user_id: &str,
    stored: &str,
) -> AppResult<Vec<u8>> {
    let wrapped = match format_of(stored) {
        Format::UserKey => {
            let uid = user_id.to_owned();
            db::run(&state.pool, move |c| Ok(UserDataKey::find(c, &uid)?)).await?
        }
        _ => None,
    };
    decrypt(&state.keys.fields, field, user_id, stored, wrapped)
}

/// The user's data key, created (wrapped under the current field key) when
/// they have none. Inside a write transaction: the row stays held until it
/// ends (see the module's rule).
pub fn key_for_write_blocking(
    conn: &mut DbConn,
    kek: &FieldKeys,
    user_id: &str,
) -> AppResult<DataKey> {
    if let Some(wrapped) = UserDataKey::lock(conn, user_id)? {
        return unwrap_key(kek, user_id, &wrapped);
    }
    let fresh = DataKey::generate();
    let wrapped = fresh.wrap(kek, user_id).map_err(AppError::internal)?;
    if UserDataKey::create_if_absent(conn, user_id, &wrapped, sessions::now())? {
        UserDataKey::lock(conn, user_id)?;
        return Ok(fresh);
    }
    // Another transaction created one first: use theirs.
    let theirs = UserDataKey::lock(conn, user_id)?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("a user's data key vanished")))?;
    unwrap_key(kek, user_id, &theirs)
}

/// `plaintext` sealed as `v2` under the user's data key (created if need
/// be), inside a write transaction.
pub fn seal_blocking(
    conn: &mut DbConn,
    kek: &FieldKeys,
    field: FieldRef<'_>,
    user_id: &str,
    plaintext: &[u8],
) -> AppResult<String> {
    key_for_write_blocking(conn, kek, user_id)?
        .encrypt(field, plaintext)
        .map_err(AppError::internal)
}

/// The key a value was sealed under, as the write transaction must find it.
enum Expected {
    /// The user's key, as stored (wrapped) when it was read.
    Stored(String),
    /// The user had none: this new one (wrapped) is stored with the value.
    New(String),
}

/// Seals `plaintext` under the user's data key (a new one if they have
/// none) and runs `write(conn, value)` in a write transaction that holds
/// that key (the module's rule) and, for a new key, stores it: the key, the
/// value and `write`'s audit event commit together or not at all. `write`
/// stores the value and records its audit event.
pub async fn write_sealed<T, F>(
    state: &AppState,
    user_id: &str,
    field: FieldRef<'_>,
    plaintext: &[u8],
    mut write: F,
) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, String) -> AppResult<T> + Send + 'static,
{
    let kek = &state.keys.fields;
    for _ in 0..WRITE_ATTEMPTS {
        let uid = user_id.to_owned();
        let found = db::run(&state.pool, move |c| Ok(UserDataKey::find(c, &uid)?)).await?;
        let (key, expected) = match found {
            Some(wrapped) => (
                unwrap_key(kek, user_id, &wrapped)?,
                Expected::Stored(wrapped),
            ),
            None => {
                let key = DataKey::generate();
                let wrapped = key.wrap(kek, user_id).map_err(AppError::internal)?;
                (key, Expected::New(wrapped))
            }
        };
        let value = key.encrypt(field, plaintext).map_err(AppError::internal)?;
        drop(key);
        let uid = user_id.to_owned();
        let outcome = db::run(&state.pool, move |c| {
            db::write_transaction(c, |c| {
                let held = match (&expected, UserDataKey::lock(c, &uid)?) {
                    (Expected::Stored(sealed_under), Some(now)) => *sealed_under == now,
                    (Expected::New(wrapped), None) => {
                        UserDataKey::create_if_absent(c, &uid, wrapped, sessions::now())?
                            && UserDataKey::lock(c, &uid)?.is_some()
                    }
                    _ => false,
                };
                if !held {
                    // Shredded, re-wrapped or created meanwhile: seal again.
                    return Ok(Err(write));
                }
                write(c, value).map(Ok)
            })
        })
        .await?;
        match outcome {
            Ok(done) => return Ok(done),
            Err(back) => write = back,
        }
    }
    Err(AppError::Conflict(
        "the user's data key kept changing while the value was written; try again".into(),
    ))
}

/// What a shred removed.
#[derive(Clone, Copy, Debug, serde::Serialize)]
struct Shredded {
    data_key: bool,
    ssn: bool,
    mfa: bool,
}

/// Crypto-shreds a user's encrypted data (`POST
/// /api/v1/admin/users/{id}/shred`): destroys their data key, removes the
/// values under it (SSN, TOTP secret and recovery codes) and, as an MFA
/// reset does, ends the user's sessions; audited, all in one transaction.
/// Nothing to shred (done already, or nothing ever stored): 409.
pub async fn shred(
    state: &AppState,
    meta: &RequestMeta,
    admin: &SignedIn,
    user_id: &str,
) -> AppResult<()> {
    let (uid, by, m) = (user_id.to_owned(), admin.user.id.clone(), meta.clone());
    let mfa_removed = db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            if User::find_by_id(c, &uid)?.is_none() {
                return Err(AppError::NotFound);
            }
            // The key first: its row is what a concurrent write holds.
            let done = Shredded {
                data_key: UserDataKey::destroy(c, &uid)?,
                ssn: StoredSsn::remove(c, &uid)? > 0,
                mfa: UserMfa::find(c, &uid)?.is_some(),
            };
            if !(done.data_key || done.ssn || done.mfa) {
                return Err(AppError::Conflict(
                    "nothing to shred: this user has no data key and no encrypted data \
                     (shredded already, or never stored any)"
                        .into(),
                ));
            }
            if done.mfa {
                UserMfa::remove(c, &uid)?;
                sessions::manage::revoke_all_except_in(
                    c,
                    &m,
                    &by,
                    &uid,
                    None,
                    "data_shredded_by_admin",
                )?;
            }
            let detail = serde_json::to_value(done).map_err(AppError::internal)?;
            audit::record_in(
                c,
                Some(&m),
                AuditEvent::new("user_keys.shredded", Outcome::Success)
                    .actor(by.clone())
                    .target(uid.clone())
                    .detail(detail),
            )?;
            Ok(done.mfa)
        })
    })
    .await?;
    if mfa_removed {
        identity_cache::forget_user(state, user_id).await;
    }
    Ok(())
}
