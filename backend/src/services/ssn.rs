//! The SSN field: stored only encrypted, shown masked, revealed only after a
//! fresh second factor (the route's policy says so) and always audited with
//! who revealed whose. The plaintext lives in memory only for the request.
//! Encrypted under the user's own data key (`user_keys`): shredding it
//! makes the number unreadable for good.

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{self, models::ssn::StoredSsn, models::user::User};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::field_crypto::FieldRef;
use crate::services::sessions::{self, SignedIn};
use crate::services::user_keys;
use crate::state::AppState;
use wire::{Ssn, SsnRequest, SsnRevealed, SsnStatus};

/// Where an SSN ciphertext lives (its associated data): copied to another
/// row or column it no longer decrypts.
pub fn field(user_id: &str) -> FieldRef<'_> {
    FieldRef {
        table: "user_ssn",
        column: "ciphertext",
        row_id: user_id,
    }
}

/// The number: under the user's data key (`v2`), or a field key for a
/// value from before per-user keys (`v1`). Shredded: 410.
async fn open(state: &AppState, row: &StoredSsn) -> AppResult<Ssn> {
    let bytes = user_keys::open(state, field(&row.user_id), &row.user_id, &row.ciphertext).await?;
    let text = String::from_utf8(bytes)
        .map_err(|_| AppError::internal(anyhow::anyhow!("a stored SSN is not UTF-8")))?;
    Ssn::parse(&text)
        .map_err(|_| AppError::internal(anyhow::anyhow!("a stored SSN does not parse")))
}

async fn load(state: &AppState, user_id: &str) -> AppResult<Option<StoredSsn>> {
    let uid = user_id.to_owned();
    db::run(&state.pool, move |c| Ok(StoredSsn::find(c, &uid)?)).await
}

/// Whether the user stored one, masked.
pub async fn status(state: &AppState, user_id: &str) -> AppResult<SsnStatus> {
    Ok(match load(state, user_id).await? {
        Some(row) => SsnStatus {
            stored: true,
            masked: Some(open(state, &row).await?.masked()),
            updated_at: Some(row.updated_at.and_utc().to_rfc3339()),
        },
        None => SsnStatus {
            stored: false,
            masked: None,
            updated_at: None,
        },
    })
}

/// Stores (or replaces) my SSN.
pub async fn set(
    state: &AppState,
    meta: &RequestMeta,
    who: &SignedIn,
    body: SsnRequest,
) -> AppResult<SsnStatus> {
    let ssn = Ssn::parse(&body.ssn).map_err(|e| AppError::Validation(vec![e]))?;
    let (uid, m) = (who.user.id.clone(), meta.clone());
    let now = sessions::now();
    let event = AuditEvent::new("ssn.set", Outcome::Success)
        .actor(who.user.id.clone())
        .target(who.user.id.clone());
    // Sealed under my data key; stored only while that key is still mine
    // (`user_keys`' rule against a concurrent shred).
    user_keys::write_sealed(
        state,
        &who.user.id,
        field(&who.user.id),
        ssn.expose().as_bytes(),
        move |c, ciphertext| {
            StoredSsn::put(c, &uid, &ciphertext, now)?;
            audit::record_in(c, Some(&m), event)
        },
    )
    .await?;
    Ok(SsnStatus {
        stored: true,
        masked: Some(ssn.masked()),
        updated_at: Some(now.and_utc().to_rfc3339()),
    })
}

pub async fn remove(state: &AppState, meta: &RequestMeta, who: &SignedIn) -> AppResult<()> {
    let (uid, m) = (who.user.id.clone(), meta.clone());
    let event = AuditEvent::new("ssn.remove", Outcome::Success)
        .actor(who.user.id.clone())
        .target(who.user.id.clone());
    db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            if StoredSsn::remove(c, &uid)? == 0 {
                return Err(AppError::NotFound);
            }
            audit::record_in(c, Some(&m), event)
        })
    })
    .await
}

/// The full number of `whose` for `actor` (themselves, or an admin with the
/// permission — the route's policy decided that, with a fresh second factor).
pub async fn reveal(
    state: &AppState,
    meta: &RequestMeta,
    actor: &SignedIn,
    whose: &str,
) -> AppResult<SsnRevealed> {
    let (row, exists) = {
        let uid = whose.to_owned();
        db::run(&state.pool, move |c| {
            Ok((
                StoredSsn::find(c, &uid)?,
                User::find_by_id(c, &uid)?.is_some(),
            ))
        })
        .await?
    };
    let Some(row) = row.filter(|_| exists) else {
        return Err(AppError::NotFound);
    };
    let ssn = open(state, &row).await?;
    audit::record(
        &state.pool,
        Some(meta),
        AuditEvent::new("ssn.reveal", Outcome::Success)
            .actor(actor.user.id.clone())
            .target(whose.to_owned())
            .detail(serde_json::json!({ "own": actor.user.id == whose })),
    )
    .await?;
    Ok(SsnRevealed {
        ssn: ssn.expose().to_owned(),
    })
}
