//! Wire types of the admin dashboard and of device registration
//! (`/api/v1/admin/…`, `/api/v1/me/devices`). Times are RFC 3339, UTC.

use super::SessionInfo;
use serde::{Deserialize, Serialize};

/// A role a user holds, and for how long.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleGrantInfo {
    /// `admin`, `auditor` or `user`.
    pub role: String,
    pub granted_at: Option<String>,
    /// The admin's user id who granted it (none for registration or the CLI).
    pub granted_by: Option<String>,
    /// A time-bound grant lapses by itself at this time.
    pub expires_at: Option<String>,
}

/// One row of the users list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUserSummary {
    pub id: String,
    pub username: String,
    pub email: String,
    /// False while the address is only claimed (see `MeResponse`).
    pub email_verified: bool,
    pub roles: Vec<RoleGrantInfo>,
    pub mfa_enabled: bool,
    /// Set while a sign-in lock is in force.
    pub locked_until: Option<String>,
    pub created_at: String,
}

/// `GET /api/v1/admin/users?q=…&after=…&limit=…`: one page, ordered by
/// username; `next` is the cursor for the following page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserPage {
    pub users: Vec<AdminUserSummary>,
    pub next: Option<String>,
}

/// `GET /api/v1/admin/users/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUserDetail {
    pub user: AdminUserSummary,
    pub failed_logins: i32,
    pub sessions: Vec<SessionInfo>,
    pub devices: Vec<DeviceInfo>,
}

/// `PUT /api/v1/admin/users/{id}/roles`: grant or revoke one role. A grant
/// may be time-bound (`expires_in_minutes`). Needs a recent second factor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleChangeRequest {
    pub role: String,
    pub grant: bool,
    #[serde(default)]
    pub expires_in_minutes: Option<u32>,
}

/// A device a user registered: the browser's device cookie or an API
/// client's `X-Device-ID`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceInfo {
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub label: String,
    /// An admin marks a device non-compliant to quarantine it: requests that
    /// name it are refused.
    pub compliant: bool,
    pub registered_at: String,
    pub last_seen_at: Option<String>,
    pub reviewed_at: Option<String>,
    /// The current request names this device.
    #[serde(default)]
    pub current: bool,
}

/// `POST /api/v1/me/devices`: register the calling device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceRegistration {
    /// A name the user recognises ("Work laptop"). 1–60 characters, not
    /// all spaces, no control characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 60,
            pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
        )
    )]
    pub label: String,
}

/// `PUT /api/v1/admin/devices/{id}/compliance`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComplianceRequest {
    pub compliant: bool,
}

/// One access decision of the policy decision point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionInfo {
    pub id: i64,
    pub decided_at: String,
    pub user_id: Option<String>,
    pub method: String,
    /// The route pattern, e.g. `/api/v1/admin/users/{id}`.
    pub route: String,
    /// `allow` or `deny`.
    pub outcome: String,
    pub reason: String,
    pub client_ip: Option<String>,
    pub device_id: Option<String>,
    pub request_id: Option<String>,
}

/// `GET /api/v1/admin/decisions?user=&route=&outcome=&reason=&from=&to=&before=`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionPage {
    pub decisions: Vec<DecisionInfo>,
    /// Pass as `before` for older entries.
    pub next: Option<i64>,
}

/// One row of the policy table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyInfo {
    pub method: String,
    pub path: String,
    /// `public`, or the permission required (`admin:read`, …).
    pub requires: String,
    pub managed_device: bool,
    pub fresh_mfa: bool,
    /// Only a first-party session (the browser's or `/api/v1/auth/token`'s):
    /// an OAuth client's token is refused whatever its scopes.
    pub first_party: bool,
    /// A password (or second factor) entered within `reauth_secs`.
    pub recent_auth: bool,
}

/// Which permissions a role grants.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolePermissions {
    pub role: String,
    pub permissions: Vec<String>,
    /// CIDRs the role may be used from; empty = anywhere.
    pub networks: Vec<String>,
}

/// `GET /api/v1/admin/policies`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PoliciesResponse {
    pub routes: Vec<PolicyInfo>,
    pub roles: Vec<RolePermissions>,
    /// Admin writes are active this long after a second factor.
    pub elevation_secs: i64,
    pub step_up_secs: i64,
    /// How recent an authentication a `recent_auth` route needs.
    pub reauth_secs: i64,
}

/// One hour of activity for the overview charts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HourStats {
    /// Start of the hour.
    pub hour: String,
    pub logins: i64,
    pub login_failures: i64,
    pub denied: i64,
    pub rate_limited: i64,
}

/// A count per label (deny reasons, roles…).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabelCount {
    pub label: String,
    pub count: i64,
}

/// One configured limit and how often it was hit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LimitInfo {
    /// What is limited ("Sign-in per IP", …).
    pub name: String,
    /// The configured value ("10/minute", "lock after 10 failures for 300 s").
    pub setting: String,
    /// Times it stopped a request (or locked an account), last 24 hours.
    pub hits_24h: i64,
}

/// What the signed-in admin or auditor may do right now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyAccess {
    pub permissions: Vec<String>,
    /// Admin writes are active (a second factor within the elevation window).
    pub elevated: bool,
    pub elevated_until: Option<String>,
}

/// `GET /api/v1/admin/overview`: the dashboard's figures, last 24 hours.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overview {
    pub users: i64,
    pub mfa_users: i64,
    pub active_sessions: i64,
    pub devices: i64,
    pub non_compliant_devices: i64,
    pub allowed_last_24h: i64,
    pub hours: Vec<HourStats>,
    pub deny_reasons: Vec<LabelCount>,
    /// Every rate limit and the account lock, with their hits.
    pub limits: Vec<LimitInfo>,
    pub me: MyAccess,
}

/// One audit-log row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntryInfo {
    pub id: i64,
    pub occurred_at: String,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
    /// JSON object with event details (never secrets).
    pub detail: String,
    /// The entry's link in the hash chain (lowercase hex SHA-256); none on
    /// entries written before the chain existed.
    #[serde(default)]
    pub hash: Option<String>,
}

/// `GET /api/v1/admin/audit?actor=&action=&outcome=&from=&to=&before=`:
/// newest first; `next` is the `before` cursor of the following page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub entries: Vec<AuditEntryInfo>,
    pub next: Option<i64>,
}
