//! Wire types of the Patterns area's live demonstrations
//! (`/api/v1/me/token`, `/api/v1/demo/*`).

use serde::{Deserialize, Serialize};

/// `GET /api/v1/me/token`: the decoded parts of the access token this very
/// request was authenticated with. The token itself is never sent back (the
/// cookie holding it is HttpOnly, and stays the only copy the browser has).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenView {
    /// The JOSE header (`alg`, `typ`, `kid`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub header: serde_json::Value,
    /// The verified claims.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub claims: serde_json::Value,
    /// Seconds left before `exp`.
    pub expires_in_secs: i64,
}

/// `GET /api/v1/demo/search?q=`: a search over the caller's own audit
/// actions, built with the query builder; `q` is bound as one value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DemoSearchResult {
    /// What was searched for, exactly as received.
    pub query: String,
    /// The LIKE pattern bound as a parameter (wildcards in `q` escaped).
    pub bound_pattern: String,
    /// The distinct actions of my audit entries that contain `q`.
    pub matches: Vec<String>,
}

/// `POST /api/v1/demo/password-check`. Deliberately not `Debug`: the
/// password must not reach a log line.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordCheckRequest {
    pub password: String,
}

/// One policy's verdict on a candidate password.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyVerdict {
    /// `catalogue` or `nist`.
    pub policy: String,
    pub accepted: bool,
    /// The rule codes it breaks (`too_short`, `missing_upper`, `common`…).
    pub problems: Vec<String>,
}

/// The verdicts of both policies (the password is not echoed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordCheckResponse {
    pub length: usize,
    pub catalogue: PolicyVerdict,
    pub nist: PolicyVerdict,
    /// The policy this server enforces at registration (`PASSWORD_POLICY`).
    pub in_force: String,
}

/// `GET /api/v1/demo/limited`: allowed, within the demo's own limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DemoLimitedResponse {
    pub status: String,
    /// The demo limit: this many calls per minute, per user.
    pub per_minute: u32,
}

/// The demo limiter's allowance: calls per minute and user.
pub const DEMO_LIMIT_PER_MINUTE: u32 = 5;
