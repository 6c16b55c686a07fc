//! `/api/v1`: the JSON API the pages call and API clients use.

pub mod activity;
pub mod admin;
pub mod auth;
pub mod demo;
pub mod devices;
pub mod logs;
pub mod me;
pub mod mfa;
pub mod oauth_clients;
pub mod ssn;
pub mod workshop;

use crate::routes::registrar::Registrar;

/// `/api/v1/auth/*`: sign-in, registration, tokens. Registered by the caller
/// under its own scope, behind the per-IP authentication limit only.
pub fn configure_auth(r: &mut Registrar<'_>) {
    r.post("/register", auth::register)
        .get("/password-policy", auth::password_policy)
        .post("/login", auth::login)
        .post("/login/mfa", auth::login_mfa)
        .post("/token", auth::token)
        .post("/token/mfa", auth::token_mfa)
        .post("/refresh", auth::refresh)
        .post("/logout", auth::logout);
}

/// The rest of `/api/v1`, behind the per-IP and per-user API limits.
pub fn configure(r: &mut Registrar<'_>) {
    r.get("/me", me::me)
        .get("/workshop/challenges", workshop::challenges)
        .post("/workshop/answer", workshop::answer)
        .get("/workshop/progress", workshop::progress)
        .post("/me/password", me::change_password)
        .post("/me/reauthenticate", me::reauthenticate)
        .get("/me/mfa", mfa::status)
        .post("/me/mfa/totp/setup", mfa::setup)
        .post("/me/mfa/totp/confirm", mfa::confirm)
        .post("/me/mfa/step-up", mfa::step_up)
        .post("/me/mfa/recovery-codes", mfa::regenerate)
        .post("/me/mfa/disable", mfa::disable)
        .get("/me/activity", activity::activity)
        .get("/me/token", demo::token)
        .get("/demo/search", demo::search)
        .post("/demo/fail", demo::fail)
        .get("/demo/managed-device", demo::managed_device)
        .post("/demo/password-check", demo::password_check)
        .get("/me/sessions", me::sessions)
        .post("/me/sessions/revoke-others", me::revoke_others)
        .delete("/me/sessions/{id}", me::revoke_session)
        .get("/me/ssn", ssn::status)
        .put("/me/ssn", ssn::set)
        .delete("/me/ssn", ssn::remove)
        .post("/me/ssn/reveal", ssn::reveal_mine)
        .post("/admin/users/{id}/ssn/reveal", ssn::reveal_theirs)
        .get("/me/devices", devices::list)
        .post("/me/devices", devices::register)
        .delete("/me/devices/{id}", devices::remove)
        .get("/admin/overview", admin::overview)
        .get("/admin/users", admin::users)
        .get("/admin/users/{id}", admin::user)
        .put("/admin/users/{id}/roles", admin::change_role)
        .post("/admin/users/{id}/lock", admin::lock)
        .post("/admin/users/{id}/unlock", admin::unlock)
        .post("/admin/users/{id}/mfa/reset", admin::reset_mfa)
        .post("/admin/users/{id}/shred", admin::shred)
        .get("/admin/users/{id}/sessions", admin::user_sessions)
        .delete("/admin/sessions/{id}", admin::revoke_session)
        .get("/admin/devices", admin::devices_list)
        .put("/admin/devices/{id}/compliance", admin::device_compliance)
        .get("/admin/decisions", admin::decisions)
        .get("/admin/policies", admin::policies)
        .get("/admin/audit", admin::audit)
        .get("/admin/logs", logs::logs)
        .get("/admin/audit.csv", admin::audit_csv)
        .post("/admin/audit/verify", admin::audit_verify)
        .get("/admin/oauth/clients", oauth_clients::list)
        .post("/admin/oauth/clients", oauth_clients::create)
        .get("/admin/oauth/clients/{id}", oauth_clients::get)
        .put("/admin/oauth/clients/{id}", oauth_clients::update)
        .delete("/admin/oauth/clients/{id}", oauth_clients::delete)
        .post(
            "/admin/oauth/clients/{id}/secret",
            oauth_clients::rotate_secret,
        );
}
