//! Who a verified request is (`SignedIn`): the live session, its user and
//! roles as the database has them, the token's claims and the device the
//! request is judged as. `services::sessions` builds it; it sits below
//! `state` because the identity cache (`state::identity_cache`) holds it.

use crate::db::models::{
    device::Device,
    session::Session,
    user::{Role, User},
};
use crate::security::jwt::AccessClaims;
use chrono::NaiveDateTime;
use wire::MeResponse;

/// A verified request: the live session, its user and roles (read from the
/// database, never from the token), and the token's claims.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub user: User,
    /// From the database, for this request (grants past their expiry dropped).
    pub roles: Vec<Role>,
    /// When the first time-bound grant among `roles` ends (then `roles` is
    /// out of date).
    pub roles_until: Option<NaiveDateTime>,
    pub session: Session,
    pub claims: AccessClaims,
    pub mfa_enabled: bool,
    /// The device this request is judged as, if it is registered to this
    /// user: the one the session is bound to, else the one it named.
    pub device: Option<Device>,
    /// The account's known-bad device state applies to this request: the
    /// session's device is quarantined, or the request names none of the
    /// user's devices, its session is bound to none, and the user has a
    /// quarantined device. See `services::sessions::verify::device_posture`.
    pub device_quarantined: bool,
}

impl SignedIn {
    pub fn to_me(&self) -> MeResponse {
        me_view(
            &self.user,
            self.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        )
    }
}

/// The account as its owner sees it (`GET /api/v1/me`, a login's answer).
pub fn me_view(user: &User, roles: Vec<String>) -> MeResponse {
    MeResponse {
        id: user.id.clone(),
        username: user.username.clone(),
        email: user.email.clone(),
        email_verified: user.email_verified_at.is_some(),
        roles,
        created_at: user.created_at.and_utc().to_rfc3339(),
    }
}
