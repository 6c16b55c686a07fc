//! Wire type of `GET /api/v1/me/activity`: the signed-in user's own recent
//! security events (the audit entries where they acted or were acted on).

use serde::{Deserialize, Serialize};

/// One entry of my activity, newest first. Only what concerns me: no other
/// user's id, no IP address, no request id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityEntry {
    /// The audit entry's id.
    pub id: i64,
    /// When it happened (RFC 3339, UTC).
    pub time: String,
    /// Like `auth.login`, `oauth.token`, `oauth.code_reuse`.
    pub action: String,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// The event's details as recorded (never a secret).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
}

impl ActivityEntry {
    /// A string field of the detail (`reason`, `client_id`…), if present.
    pub fn detail_str(&self, key: &str) -> Option<&str> {
        self.detail.get(key).and_then(serde_json::Value::as_str)
    }
}
