//! Wire types of the audit log's integrity check
//! (`POST /api/v1/admin/audit/verify`).

use serde::{Deserialize, Serialize};

/// The result of walking the audit log's hash chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditVerifyResult {
    /// No broken entry was found.
    pub ok: bool,
    /// Chained entries verified (up to the first broken one).
    pub checked: i64,
    /// Entries written before the chain existed (no hashes; not verifiable).
    #[serde(default)]
    pub legacy: i64,
    /// The first broken entry, if any.
    pub first_broken: Option<AuditChainBreak>,
}

/// Where the chain breaks and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditChainBreak {
    /// The broken entry's id; for deleted entries, the first missing id.
    pub id: i64,
    /// One sentence: content changed, link broken, entry missing…
    pub problem: String,
    /// `content_changed`, `link_broken`, `entry_missing` or `hash_missing`.
    pub kind: String,
}

impl AuditVerifyResult {
    /// What the page and the command line say.
    pub fn summary(&self) -> String {
        match &self.first_broken {
            None => format!("Intact: {} entries checked", self.checked),
            Some(b) => format!("Broken at entry #{}: {}", b.id, b.problem),
        }
    }
}
