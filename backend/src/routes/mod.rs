//! HTTP handlers: thin functions that parse the request, call a service and
//! shape the response. Every route is registered in [`configure`].

pub mod api;
pub mod forms;
pub mod health;
pub mod openapi;
pub mod session_cookie;
pub mod wellknown;

use crate::http::rate_limit::Limiters;
use actix_governor::Governor;
use actix_web::web;

/// Registers every non-page route: health checks, the JSON API, the no-JS form
/// endpoints, each group behind its rate limits. (Pages are registered by the
/// Leptos integration in `startup`.)
pub fn configure(cfg: &mut web::ServiceConfig, limits: &Limiters) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/.well-known/jwks.json", web::get().to(wellknown::jwks))
        .route("/readyz", web::get().to(health::readyz))
        // Sign-in endpoints first (scopes match in order): the strict per-IP limit.
        .service(
            web::scope("/api/v1/auth")
                .wrap(Governor::new(&limits.auth))
                .configure(api::v1::configure_auth)
                .default_service(web::to(api::not_found)),
        )
        .service(
            // Per IP on the rest of /api, per user on /api/v1 (nested scopes:
            // two governors cannot wrap the same scope).
            web::scope("/api")
                .wrap(Governor::new(&limits.api_ip))
                .route("/openapi.json", web::get().to(openapi::document))
                .service(
                    web::scope("/v1")
                        .wrap(Governor::new(&limits.api_user))
                        .configure(api::v1::configure)
                        .default_service(web::to(api::not_found)),
                )
                .default_service(web::to(api::not_found)),
        )
        .service(
            web::scope("/auth")
                .wrap(Governor::new(&limits.auth))
                .route("/register", web::post().to(forms::register))
                .route("/login", web::post().to(forms::login))
                .route("/login/mfa", web::post().to(forms::login_mfa))
                .route("/logout", web::post().to(forms::logout))
                .route("/password", web::post().to(forms::change_password))
                .route(
                    "/sessions/revoke-others",
                    web::post().to(forms::revoke_others),
                )
                .route(
                    "/sessions/{id}/revoke",
                    web::post().to(forms::revoke_session),
                ),
        );
}
