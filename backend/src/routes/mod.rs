//! HTTP handlers: thin functions that parse the request, call a service and
//! shape the response. Every route is declared once, in [`table`], and
//! registered in [`configure`].

pub mod api;
mod declare;
pub mod forms;
pub mod health;
pub mod metrics_endpoint;
pub mod oauth;
pub mod openapi;
pub mod pages;
pub mod registrar;
pub mod table;
pub mod wellknown;

use crate::http::enforce::enforce;
use crate::http::rate_limit::Limiters;
use crate::http::shared_limit::{governor_headers, shared_limit};
use crate::security::policy_table::Lookup;
use actix_governor::Governor;
use actix_web::middleware::from_fn;
use actix_web::web;
use registrar::Registered;

/// Registers every non-page route: health checks, the JSON API, the no-JS form
/// endpoints, each group behind its rate limits. The rate-limited scopes run
/// the policy enforcement point themselves, after their limiters (so a flood
/// of refused requests is cut off before it costs a decision record); every
/// other route gets it from the app-level `enforce_outside_scopes`. (Pages are registered by the
/// Leptos integration in `startup`.)
pub fn configure(cfg: &mut web::ServiceConfig, limits: &Limiters) -> Registered {
    let log = Registered::default();
    // The enforcement points read the table from the app data.
    cfg.app_data(table::TABLE);
    cfg.app_data(web::Data::new(openapi::document_value(
        table::openapi_paths,
    )));
    table::operations::register(cfg, &log);
    table::discovery::register(cfg, &log);
    // Sign-in endpoints first (scopes match in order): the strict per-IP limit.
    // Each limiter wraps an outer scope and the PEP an inner, empty-prefix
    // one: a governor needs the boxed future of a scope beneath it.
    let (l1, l2, l3, l4, l5) = (
        log.clone(),
        log.clone(),
        log.clone(),
        log.clone(),
        log.clone(),
    );
    let l6 = log.clone();
    cfg.service(
        web::scope("/api/v1/auth")
            .wrap(Governor::new(&limits.auth))
            .wrap(from_fn(governor_headers))
            .service(
                web::scope("")
                    .wrap(from_fn(enforce))
                    .wrap(from_fn(shared_limit))
                    .configure(move |c| table::api_auth::register(c, &l1))
                    .default_service(web::to(api::not_found)),
            ),
    )
    .service(
        // Per IP on the rest of /api, per (verified) user on /api/v1.
        web::scope("/api")
            .wrap(Governor::new(&limits.api_ip))
            .service(
                web::scope("")
                    .wrap(from_fn(enforce))
                    .configure(move |c| table::api_docs::register(c, &l2))
                    .service(
                        web::scope("/v1")
                            .wrap(Governor::new(&limits.api_user))
                            .configure(move |c| table::api_v1::register(c, &l3))
                            // The rate-limit demo: its own tiny per-user bucket.
                            .service(
                                web::scope("/demo/limited")
                                    .wrap(Governor::new(&limits.demo))
                                    .configure(move |c| table::api_demo_limited::register(c, &l6)),
                            )
                            .default_service(web::to(api::not_found)),
                    )
                    .default_service(web::to(api::not_found)),
            ),
    )
    .service(
        web::scope("/auth")
            .wrap(Governor::new(&limits.auth))
            .wrap(from_fn(governor_headers))
            .service(
                web::scope("")
                    .wrap(from_fn(enforce))
                    .wrap(from_fn(shared_limit))
                    .configure(move |c| table::auth_forms::register(c, &l4)),
            ),
    )
    .service(
        // The OAuth authorization server: the same strict per-IP limit.
        web::scope("/oauth")
            .wrap(Governor::new(&limits.auth))
            .wrap(from_fn(governor_headers))
            .service(
                web::scope("")
                    .wrap(from_fn(enforce))
                    .wrap(from_fn(shared_limit))
                    .configure(move |c| table::oauth_server::register(c, &l5)),
            ),
    );
    log
}

/// Every registered route and page must have an entry in the policy table
/// (true by construction for the declared routes; pages and anything
/// registered beside the table are what this guards):
/// the names of those that do not (empty = all covered). `startup` refuses
/// to start otherwise, and a test checks it.
pub fn routes_without_policy(registered: &[(&str, String)], pages: &[String]) -> Vec<String> {
    let pages = pages.iter().map(|p| ("GET", p.clone()));
    registered
        .iter()
        .map(|(m, p)| (*m, p.clone()))
        .chain(pages)
        .filter(|(method, path)| !matches!(table::TABLE.lookup(method, path), Lookup::Found(_)))
        .map(|(method, path)| format!("{method} {path}"))
        .collect()
}
