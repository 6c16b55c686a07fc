//! `/api/v1`: the JSON API the pages call and API clients use.

pub mod auth;
pub mod me;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/register", web::post().to(auth::register))
        .route("/auth/login", web::post().to(auth::login))
        .route("/auth/logout", web::post().to(auth::logout))
        .route("/me", web::get().to(me::me));
}
