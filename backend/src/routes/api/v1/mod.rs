//! `/api/v1`: the JSON API the pages call and API clients use.

pub mod admin;
pub mod auth;
pub mod me;
pub mod mfa;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/register", web::post().to(auth::register))
        .route("/auth/login", web::post().to(auth::login))
        .route("/auth/login/mfa", web::post().to(auth::login_mfa))
        .route("/auth/token", web::post().to(auth::token))
        .route("/auth/token/mfa", web::post().to(auth::token_mfa))
        .route("/auth/refresh", web::post().to(auth::refresh))
        .route("/auth/logout", web::post().to(auth::logout))
        .route("/me", web::get().to(me::me))
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
