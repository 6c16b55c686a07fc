//! Verifying the audit log's hash chain: shared by `backend verify-audit`
//! and `POST /api/v1/admin/audit/verify`. The entries are read in id order,
//! in batches, and checked by `security::audit_chain::Verifier`; the walk
//! stops at the first broken entry.
//!
//! Verification only reads: it runs while the application writes (entries
//! are appended under the chain lock and committed in chain order, so a
//! batch never sees a later entry without the earlier ones).

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{self, models::audit_entry::AuditEntry, DbConn, Pool};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::audit_chain::{Broken, Verifier};
use crate::services::sessions::SignedIn;
use crate::state::AppState;
use wire::{AuditChainBreak, AuditVerifyResult};

/// Entries read per query.
pub const BATCH: i64 = 500;

/// What a walk of the chain found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainReport {
    /// Chained entries verified (before the first broken one).
    pub checked: u64,
    /// Entries from before the chain (no hashes).
    pub legacy: u64,
    pub first_broken: Option<Broken>,
    /// The last verified entry's id and hash.
    pub head: Option<(i64, String)>,
}

impl ChainReport {
    pub fn ok(&self) -> bool {
        self.first_broken.is_none()
    }

    /// The wire form of the API.
    pub fn to_wire(&self) -> AuditVerifyResult {
        AuditVerifyResult {
            ok: self.ok(),
            checked: i64::try_from(self.checked).unwrap_or(i64::MAX),
            legacy: i64::try_from(self.legacy).unwrap_or(i64::MAX),
            first_broken: self.first_broken.as_ref().map(|b| AuditChainBreak {
                id: b.id,
                problem: b.problem.describe(),
                kind: b.problem.code().to_owned(),
            }),
        }
    }
}

/// Walks the whole chain on `conn`, `batch` entries per query.
pub fn verify_chain(conn: &mut DbConn, batch: i64) -> AppResult<ChainReport> {
    let mut verifier = Verifier::new();
    let mut first_broken = None;
    'walk: loop {
        let rows = AuditEntry::chain_batch(conn, verifier.last_id(), batch.max(1))?;
        let Some(last) = rows.last().map(|r| r.id) else {
            break;
        };
        for row in &rows {
            if let Err(broken) = verifier.check(
                &row.content(),
                row.prev_hash.as_deref(),
                row.hash.as_deref(),
            ) {
                first_broken = Some(broken);
                break 'walk;
            }
        }
        // Legacy and chained entries both move `last_id`; stay safe anyway.
        if verifier.last_id() != Some(last) {
            return Err(AppError::internal(anyhow::anyhow!(
                "audit verification did not advance"
            )));
        }
    }
    Ok(ChainReport {
        checked: verifier.checked(),
        legacy: verifier.legacy(),
        first_broken,
        head: verifier.head().map(|(id, h)| (id, h.to_owned())),
    })
}

/// [`verify_chain`] on a pooled connection, off the async workers.
pub async fn verify(pool: &Pool) -> AppResult<ChainReport> {
    db::run(pool, |conn| verify_chain(conn, BATCH)).await
}

/// The API's verification: the report, and an `audit.verify` event saying
/// who ran it and what it found.
pub async fn verify_for(
    state: &AppState,
    meta: &RequestMeta,
    viewer: &SignedIn,
) -> AppResult<AuditVerifyResult> {
    let report = verify(&state.pool).await?;
    let result = report.to_wire();
    audit::record(
        &state.pool,
        Some(meta),
        AuditEvent::new(
            "audit.verify",
            if result.ok {
                Outcome::Success
            } else {
                Outcome::Failure
            },
        )
        .actor(viewer.user.id.clone())
        .detail(serde_json::json!({
            "checked": result.checked,
            "legacy": result.legacy,
            "broken_id": result.first_broken.as_ref().map(|b| b.id),
            "problem": result.first_broken.as_ref().map(|b| b.kind.clone()),
            "head": report.head.as_ref().map(|(id, hash)| format!("#{id} {hash}")),
        })),
    )
    .await?;
    Ok(result)
}
