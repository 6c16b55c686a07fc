//! Anchoring the audit chain outside its table (`security::audit_anchor`):
//! `backend anchor-audit`, a server's periodic anchor, the anchor a restore
//! writes, and holding a chain against the newest anchor
//! (`backend verify-audit`, `backend restore`).
//!
//! Anchors go to `<APP_DATA_DIR>/audit-anchors.jsonl`, one JSON line each,
//! only ever appended, and to the log (`audit anchor` lines, which a log
//! collector keeps off the host). The newest line is the one that counts.
//!
//! A new anchor is written only when the chain still reaches the newest
//! anchor: a server restarted on a cut log must not bless the cut by
//! anchoring the shorter head. After a restore, the restore itself writes
//! the anchor that accepts the shorter chain, and says how many entries it
//! dropped.

use crate::db::{models::audit_entry::AuditEntry, DbConn, Pool};
use crate::error::AppError;
use crate::security::audit_anchor::{self, AnchorClaims, Standing, TYP};
use crate::security::signing_keys::KeySet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often a server anchors the head (when it moved).
pub const ANCHOR_EVERY: Duration = Duration::from_secs(10 * 60);

/// One line of the anchor file: the claims, readable, and the JWS that signs
/// them (only the JWS is trusted when reading back).
#[derive(serde::Serialize, serde::Deserialize)]
struct Line {
    #[serde(flatten)]
    claims: AnchorClaims,
    jws: String,
}

/// The anchor file under the data dir.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("audit-anchors.jsonl")
}

/// The newest anchor in the file, its signature verified: `None` when there
/// is no file or no line yet; an error when the newest line does not verify
/// (changed, or not ours) — it is never skipped for an older one.
pub fn newest(keys: &KeySet, data_dir: &Path) -> anyhow::Result<Option<AnchorClaims>> {
    Ok(newest_signed(keys, data_dir)?.map(|(claims, _)| claims))
}

/// [`newest`] and the id of the key that signed it.
fn newest_signed(
    keys: &KeySet,
    data_dir: &Path,
) -> anyhow::Result<Option<(AnchorClaims, Option<String>)>> {
    let file = path(data_dir);
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => anyhow::bail!("cannot read {}: {e}", file.display()),
    };
    let Some(last) = text.lines().rev().find(|l| !l.trim().is_empty()) else {
        return Ok(None);
    };
    let line: Line = serde_json::from_str(last)
        .map_err(|_| anyhow::anyhow!("the newest line of {} is not an anchor", file.display()))?;
    let claims = audit_anchor::verify(keys, &line.jws)
        .map_err(|e| anyhow::anyhow!("the newest anchor in {}: {e}", file.display()))?;
    let kid = jsonwebtoken::decode_header(&line.jws)
        .ok()
        .and_then(|h| h.kid);
    Ok(Some((claims, kid)))
}

/// Where the chain on `conn`, whose verified head is `head`, stands against
/// `anchor`.
pub fn standing(
    conn: &mut DbConn,
    head: Option<(i64, &str)>,
    anchor: &AnchorClaims,
) -> Result<Standing, AppError> {
    let at = AuditEntry::hash_at(conn, anchor.head_id)?;
    Ok(audit_anchor::standing(head, at.as_deref(), anchor))
}

/// Signs and appends an anchor for `head`, and logs it.
pub fn write(
    keys: &KeySet,
    data_dir: &Path,
    head: (i64, &str),
    reason: &str,
    dropped: Option<i64>,
) -> anyhow::Result<AnchorClaims> {
    let claims = AnchorClaims {
        typ: TYP.to_owned(),
        head_id: head.0,
        head_hash: head.1.to_owned(),
        anchored_at: chrono::Utc::now().timestamp(),
        reason: reason.to_owned(),
        dropped,
    };
    let jws = audit_anchor::sign(keys, &claims)?;
    let mut text = serde_json::to_string(&Line {
        claims: claims.clone(),
        jws: jws.clone(),
    })?;
    text.push('\n');
    let file = path(data_dir);
    std::fs::create_dir_all(data_dir)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
        .map_err(|e| anyhow::anyhow!("cannot append to {}: {e}", file.display()))?;
    // One write of one line: appends from two processes do not interleave.
    f.write_all(text.as_bytes())?;
    f.sync_data()?;
    tracing::info!(
        head_id = claims.head_id,
        head_hash = %claims.head_hash,
        reason,
        dropped,
        anchor = %jws,
        "audit anchor"
    );
    Ok(claims)
}

/// What [`anchor`] did.
#[derive(Debug)]
pub enum Anchored {
    /// A new anchor.
    Written(AnchorClaims),
    /// The newest anchor already names the head.
    Unchanged(AnchorClaims),
    /// No chained entry yet.
    Empty,
}

/// Anchors the chain's current head (no full walk: the newest entry as
/// stored), unless the chain no longer reaches the newest anchor — then it
/// refuses, naming the gap, and nothing is written.
pub async fn anchor(
    pool: &Pool,
    keys: &KeySet,
    data_dir: &Path,
    reason: &'static str,
) -> anyhow::Result<Anchored> {
    let (previous, signed_by) = newest_signed(keys, data_dir)?.unzip();
    let prev = previous.clone();
    let (head, standing) = crate::db::run(pool, move |conn| {
        let head = AuditEntry::chain_head(conn)?.and_then(|(id, h)| h.map(|h| (id, h)));
        let standing = match &prev {
            Some(a) => Some(standing(
                conn,
                head.as_ref().map(|(id, h)| (*id, h.as_str())),
                a,
            )?),
            None => None,
        };
        Ok((head, standing))
    })
    .await?;
    if let (Some(a), Some(s)) = (&previous, &standing) {
        refuse_unless_covered(s, a)?;
    }
    let Some((id, hash)) = head else {
        return Ok(Anchored::Empty);
    };
    // Signed again under a new signing key even when the head stayed: a
    // rotation deletes keys past their token lifetime, and an anchor whose
    // key is gone cannot be checked.
    let current = Some(keys.current().kid.clone());
    if let Some(a) = previous
        .filter(|a| a.head_id == id && a.head_hash == hash && signed_by.flatten() == current)
    {
        return Ok(Anchored::Unchanged(a));
    }
    Ok(Anchored::Written(write(
        keys,
        data_dir,
        (id, &hash),
        reason,
        None,
    )?))
}

/// An error naming what is wrong unless the chain covers the anchor.
pub fn refuse_unless_covered(standing: &Standing, anchor: &AnchorClaims) -> anyhow::Result<()> {
    match standing {
        Standing::Covers => Ok(()),
        Standing::Behind { head_id, missing } => anyhow::bail!(
            "the audit log ends at entry #{head_id}, {missing} entr{} short of its newest anchor \
             (#{} at {}): its tail was cut, or an older database was put back",
            if *missing == 1 { "y" } else { "ies" },
            anchor.head_id,
            when(anchor.anchored_at)
        ),
        Standing::Diverged => anyhow::bail!(
            "the audit log's entry #{} is not the one its newest anchor ({}) signed: the log \
             was rewritten, or belongs to another deployment",
            anchor.head_id,
            when(anchor.anchored_at)
        ),
    }
}

/// An anchor's time, for people.
pub fn when(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| secs.to_string())
}
