//! Building the application: state, database, middleware, routes, server.
//! `main` and the integration tests both go through [`Application::build`].
//! What runs beside the server is in `background`; the migrations in
//! `migrations`.

mod background;
pub mod migrations;

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::connection::build_pool;
use crate::http::management::{management_plane, ManagementPlane};
use crate::http::rate_limit::{self, Limiters};
use crate::http::security_headers::X_CSP_NONCE;
use crate::http::{
    csrf::csrf, enforce::enforce_outside_scopes, header_limits::header_limits,
    request_id::request_id, security_headers::security_headers, session_refresh::session_refresh,
};
use crate::keys::Keys;
use crate::routes;
use crate::security::password;
use crate::services::{field_keys, identity_cache, workshop};
use crate::state::decision_stats::DecisionStats;
use crate::state::identity_cache::IdentityCache;
use crate::state::login_throttle::LoginThrottle;
use crate::state::shared_limiter::SharedLimiter;
use crate::state::AppState;
use actix_files::Files;
use actix_web::body::MessageBody;
use actix_web::dev::{AppConfig, Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderValue;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use background::{
    anchor_audit_periodically, flush_counters_periodically, reload_signing_keys_periodically,
    Instance,
};
use leptos::prelude::*;
use leptos_actix::{generate_route_list, LeptosRoutes};
use migrations::migrate_as_configured;
use secrecy::ExposeSecret;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub struct Application {
    port: u16,
    /// The management listener's port (`ADMIN_ADDR`), if there is one.
    management_port: Option<u16>,
    server: Server,
    state: web::Data<AppState>,
    /// This server's row in `app_instances`.
    instance: Instance,
}

impl Application {
    /// Loads keys, opens the database, applies migrations and binds the
    /// listener (port 0 picks a free one). The server runs once awaited.
    pub async fn build(mut settings: Settings) -> anyhow::Result<Self> {
        // Keys come before the database is touched: a missing key, or a
        // wrong PIN or token label, stops start-up here. With an HSM, the
        // field data keys are in the database: loaded once it is migrated.
        let hsm = crate::key_provider::token(&settings)?;
        let files_keys = match hsm {
            None => Some(Keys::load_with(&settings, &|n| std::env::var(n).ok())?),
            Some(_) => None,
        };
        let url = settings.database_url.expose_secret();
        let pool = match settings.vault.as_ref().and_then(|v| v.database()) {
            // VAULT_DB_ROLE: Vault's dynamic credentials, renewed and rotated.
            Some(dynamic) => dynamic.open_pool(url, settings.db_pool_size),
            None => build_pool(url, settings.db_pool_size),
        }
        .context("cannot open the database (check DATABASE_URL)")?
        .with_checkout_timeout(settings.db_pool_timeout);
        migrate_as_configured(&settings, &pool).await?;
        let keys = match files_keys {
            Some(keys) => keys,
            None => crate::services::key_loading::load_keys(&settings, &pool).await?,
        };
        drop(hsm);
        let keys = field_keys::refuse_unless_decryptable(&pool, keys, |k| &k.fields).await?;
        crate::services::session_keys::refuse_reused_ids(&pool, &keys.session).await?;
        crate::services::oauth_playground::ensure_client(&pool, &settings).await?;
        let dummy_hash = web::block(password::dummy_hash)
            .await?
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;

        let tls = settings
            .tls
            .as_ref()
            .map(crate::tls::server_config)
            .transpose()?;
        let listener = TcpListener::bind(settings.addr)
            .with_context(|| format!("cannot listen on {} (APP_ADDR)", settings.addr))?;
        let port = listener.local_addr()?.port();
        if settings.public_url.is_none() {
            // The OAuth issuer then names this listener (with the port it got).
            if settings.is_production() {
                tracing::warn!(
                    "APP_PUBLIC_URL is not set: the OAuth metadata names the listener address"
                );
            }
            let origin =
                crate::config::listener_origin(listener.local_addr()?, settings.tls.is_some());
            settings.public_url = Some(origin);
        }
        let management = settings
            .admin_addr
            .map(|addr| {
                TcpListener::bind(addr)
                    .with_context(|| format!("cannot listen on {addr} (ADMIN_ADDR)"))
            })
            .transpose()?;
        let management_port = match &management {
            Some(l) => Some(l.local_addr()?.port()),
            None => None,
        };
        let policy = settings.policy();
        // Workshop mode credits a solved challenge as its event is recorded.
        crate::audit::observe_with(workshop::credit);
        let shared_limit = settings
            .redis_url
            .as_ref()
            .map(|url| {
                SharedLimiter::new(url, &settings.redis_key_prefix, settings.rate_limit_auth)
            })
            .transpose()?;
        let cache_ttl = settings.identity_cache;
        let state = web::Data::new(AppState {
            shared_limit,
            settings,
            policy,
            decision_stats: DecisionStats::default(),
            metrics: Arc::default(),
            pool,
            keys,
            dummy_hash,
            clock: Clock::default(),
            rate_limits: Arc::default(),
            login_throttle: LoginThrottle::default(),
            password_work: Default::default(),
            identity_cache: Arc::new(IdentityCache::new(cache_ttl, IdentityCache::CAPACITY)),
        });
        identity_cache::listen_for_changes(&state)?;
        let listeners = Listeners {
            public: listener,
            management,
        };
        let instance = Instance::announce(&state).await?;
        let server = run(listeners, tls, state.clone())?;
        reload_signing_keys_periodically(&state);
        flush_counters_periodically(&state);
        anchor_audit_periodically(&state);
        instance.beat_periodically(&state);
        Ok(Self {
            port,
            management_port,
            server,
            state,
            instance,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The management listener's port, when `ADMIN_ADDR` is set.
    pub fn management_port(&self) -> Option<u16> {
        self.management_port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.instance.stop(&self.state).await;
        served
    }
}

/// The bound listeners: the public one (`APP_ADDR`) and, with `ADMIN_ADDR`,
/// the management one. One server serves both, so stopping it stops both.
struct Listeners {
    public: TcpListener,
    management: Option<TcpListener>,
}

fn run(
    listeners: Listeners,
    tls: Option<rustls::ServerConfig>,
    state: web::Data<AppState>,
) -> anyhow::Result<Server> {
    let site_root = state.settings.site_root.clone();
    let leptos_options = LeptosOptions::builder()
        .output_name(state.settings.output_name.clone())
        .site_root(site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .build();
    let routes = page_routes();
    let pkg_dir = site_root.join("pkg");

    let request_head_timeout = state.settings.request_head_timeout;
    let limiters = Limiters::new(&state)?;
    // Fail closed at start-up too: no route without a policy entry.
    let mut registered = None;
    let _ = App::new().configure(|cfg| registered = Some(routes::configure(cfg, &limiters)));
    let pages: Vec<String> = routes.iter().map(|r| r.path().to_owned()).collect();
    let missing =
        routes::routes_without_policy(&registered.map(|r| r.list()).unwrap_or_default(), &pages);
    if !missing.is_empty() {
        anyhow::bail!("routes without a policy entry: {}", missing.join(", "));
    }
    let plane = ManagementPlane(match &listeners.management {
        Some(l) => Some(l.local_addr()?),
        None => None,
    });
    let parts = AppParts {
        state,
        leptos_options,
        routes,
        pkg_dir,
        limiters,
        plane: web::Data::new(plane),
    };
    if let Some(tls) = tls {
        return serve_tls(listeners, tls, parts, request_head_timeout);
    }
    let mut server = HttpServer::new(move || app(&parts))
        .client_request_timeout(request_head_timeout)
        .client_disconnect_timeout(Duration::from_secs(2))
        .keep_alive(Duration::from_secs(30))
        .shutdown_timeout(10)
        .listen(listeners.public)?;
    if let Some(management) = listeners.management {
        server = server.listen(management)?;
    }
    Ok(server.run())
}

/// Native TLS (`tls`): what `HttpServer::listen_rustls_0_23` does, with
/// actix-http's HTTP/1-only service, so `h2` is never offered by ALPN nor
/// spoken. Same timeouts as the plain listeners.
fn serve_tls(
    listeners: Listeners,
    tls: rustls::ServerConfig,
    parts: AppParts,
    request_head_timeout: Duration,
) -> anyhow::Result<Server> {
    use actix_service::{map_config, IntoServiceFactory, ServiceFactoryExt};
    let mut builder = actix_server::Server::build().shutdown_timeout(10);
    for listener in std::iter::once(listeners.public).chain(listeners.management) {
        let addr = listener.local_addr()?;
        let (parts, tls) = (parts.clone(), tls.clone());
        builder = builder.listen(format!("https-{addr}"), listener, move || {
            // What HttpServer gives a TLS listener's requests: `secure` (so
            // the scheme is https and HSTS is sent) and the local address
            // (which tells the management listener apart). AppConfig has no
            // other public constructor; this one is doc(hidden) (made for
            // actix-test), so an actix-web update that drops it fails the
            // build rather than changing behaviour; tests/api/tls.rs checks
            // HSTS.
            let app_config = AppConfig::__priv_test_new(true, addr.to_string(), addr);
            let factory = app(&parts)
                .into_factory()
                .map_err(|e: actix_web::Error| e.error_response());
            actix_http::HttpService::build()
                .keep_alive(Duration::from_secs(30))
                .client_request_timeout(request_head_timeout)
                .client_disconnect_timeout(Duration::from_secs(2))
                .h1(map_config(factory, move |_| app_config.clone()))
                .rustls_0_23(tls.clone())
        })?;
    }
    Ok(builder.run())
}

/// What each server worker builds its application from.
#[derive(Clone)]
struct AppParts {
    state: web::Data<AppState>,
    leptos_options: LeptosOptions,
    routes: Vec<leptos_actix::ActixRouteListing>,
    pkg_dir: PathBuf,
    limiters: Limiters,
    plane: web::Data<ManagementPlane>,
}

/// The application: middleware, API routes, assets and pages.
fn app(
    parts: &AppParts,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let state = parts.state.clone();
    let leptos_options = parts.leptos_options.clone();
    let options = leptos_options.clone();
    let limiters = parts.limiters.clone();
    let per_ip = parts.limiters.ip.clone();
    App::new()
        .app_data(state.clone())
        .app_data(web::Data::new(leptos_options.clone()))
        .app_data(parts.plane.clone())
        .configure(crate::http::json::extractor_errors)
        // Registered innermost first: request_id runs first and last.
        .wrap(from_fn(crate::http::head::head_as_get))
        .wrap(from_fn(enforce_outside_scopes))
        .wrap(from_fn(crate::http::workshop::workshop))
        .wrap(from_fn(session_refresh))
        .wrap(from_fn(csrf))
        // Before anything that may write (CSRF refusals, forged headers,
        // decisions, pages, /metrics): the per-IP limit.
        .wrap(from_fn(move |req, next| {
            rate_limit::per_ip(per_ip.clone(), req, next)
        }))
        .wrap(from_fn(crate::http::request_target::refuse_unsafe_target))
        .wrap(from_fn(header_limits))
        .wrap(from_fn(management_plane))
        .wrap(from_fn(security_headers))
        .wrap(from_fn(request_id))
        // Outermost: counts and times every request, by route pattern.
        .wrap(from_fn(crate::http::request_metrics::track))
        .configure(|cfg| {
            routes::configure(cfg, &limiters);
        })
        .service(Files::new("/pkg", parts.pkg_dir.clone()).prefer_utf8(true))
        .leptos_routes_with_context(
            parts.routes.clone(),
            routes::pages::page_context(state.clone()),
            move || {
                forward_nonce();
                frontend::shell(options.clone())
            },
        )
        .default_service(leptos_actix::render_app_async_with_context(
            routes::pages::page_context(state.clone()),
            move || {
                forward_nonce();
                frontend::shell(leptos_options.clone())
            },
            leptos_router::Method::Get,
        ))
}

/// The Leptos page routes, generated once per process.
///
/// Generating them runs the app with resource loading switched off by a
/// process-wide flag (`leptos_server`'s `SuppressResourceLoad`): a page that
/// another server in the same process renders meanwhile would have its
/// resources wait forever (leptos issue #4773). That happened in the test
/// suite, where many servers start side by side; generating once, before any
/// server of this process serves, rules it out.
pub fn page_routes() -> Vec<leptos_actix::ActixRouteListing> {
    static ROUTES: std::sync::Mutex<Option<Vec<leptos_actix::ActixRouteListing>>> =
        std::sync::Mutex::new(None);
    let mut cached = ROUTES.lock().unwrap_or_else(|e| e.into_inner());
    cached
        .get_or_insert_with(|| generate_route_list(frontend::App))
        .clone()
}

/// Hands Leptos's per-request script nonce to the security-headers
/// middleware, which puts it in the Content-Security-Policy.
fn forward_nonce() {
    if let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_actix::ResponseOptions>(),
    ) {
        if let Ok(value) = HeaderValue::from_str(&nonce) {
            response.insert_header(X_CSP_NONCE, value);
        }
    }
}
