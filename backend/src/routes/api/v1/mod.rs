//! `/api/v1`: the JSON API the pages call and API clients use.

pub mod admin;
pub mod auth;
pub mod me;
pub mod mfa;

use actix_web::web;

/// `/api/v1/auth/*`: sign-in, registration, tokens. Registered by the caller
/// under its own scope, behind the per-IP authentication limit only.
pub fn configure_auth(cfg: &mut web::ServiceConfig) {
    cfg.route("/register", web::post().to(auth::register))
        .route("/login", web::post().to(auth::login))
        .route("/login/mfa", web::post().to(auth::login_mfa))
        .route("/token", web::post().to(auth::token))
        .route("/token/mfa", web::post().to(auth::token_mfa))
        .route("/refresh", web::post().to(auth::refresh))
        .route("/logout", web::post().to(auth::logout));
}

/// The rest of `/api/v1`, behind the per-IP and per-user API limits.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(me::me))
        .route("/me/password", web::post().to(me::change_password))
        .route("/me/mfa", web::get().to(mfa::status))
        .route("/me/mfa/totp/setup", web::post().to(mfa::setup))
        .route("/me/mfa/totp/confirm", web::post().to(mfa::confirm))
        .route("/me/mfa/step-up", web::post().to(mfa::step_up))
        .route("/me/mfa/recovery-codes", web::post().to(mfa::regenerate))
        .route("/me/mfa/disable", web::post().to(mfa::disable))
        .route("/me/sessions", web::get().to(me::sessions))
        .route(
            "/me/sessions/revoke-others",
            web::post().to(me::revoke_others),
        )
        .route("/me/sessions/{id}", web::delete().to(me::revoke_session))
        .route(
            "/admin/users/{id}/sessions",
            web::get().to(admin::user_sessions),
        )
        .route("/admin/users/{id}/unlock", web::post().to(admin::unlock))
        .route(
            "/admin/users/{id}/mfa/reset",
            web::post().to(admin::reset_mfa),
        )
        .route(
            "/admin/sessions/{id}",
            web::delete().to(admin::revoke_session),
        );
}
