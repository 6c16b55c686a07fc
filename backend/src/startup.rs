//! Building the application: state, database, middleware, routes, server.
//! `main` and the integration tests both go through [`Application::build`].

use crate::config::Settings;
use crate::db::{self, connection::build_pool, Pool};
use crate::error::AppError;
use crate::http::security_headers::X_CSP_NONCE;
use crate::http::{
    csrf::csrf, header_limits::header_limits, request_id::request_id,
    security_headers::security_headers, SESSION_COOKIE,
};
use crate::routes;
use crate::secrets::Keys;
use crate::security::password;
use crate::services::accounts;
use actix_files::Files;
use actix_web::dev::Server;
use actix_web::http::header::HeaderValue;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use frontend::current_user::CurrentUserSource;
use leptos::prelude::*;
use leptos_actix::{generate_route_list, LeptosRoutes};
use secrecy::ExposeSecret;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// What every handler can reach.
pub struct AppState {
    pub settings: Settings,
    pub pool: Pool,
    pub keys: Keys,
    /// See `security::password::dummy_hash`.
    pub dummy_hash: String,
}

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Loads keys, opens the database, applies migrations and binds the
    /// listener (port 0 picks a free one). The server runs once awaited.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let keys = Keys::load(&settings)?;
        let pool = build_pool(settings.database_url.expose_secret(), settings.db_pool_size)
            .context("cannot open the database (check DATABASE_URL)")?;
        migrate(&pool).await?;
        let dummy_hash = web::block(password::dummy_hash)
            .await?
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;

        let listener = TcpListener::bind(settings.addr)
            .with_context(|| format!("cannot listen on {} (APP_ADDR)", settings.addr))?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState {
            settings,
            pool,
            keys,
            dummy_hash,
        });
        let server = run(listener, state.clone())?;
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Applies pending migrations on a blocking thread.
pub async fn migrate(pool: &Pool) -> anyhow::Result<usize> {
    let pool = pool.clone();
    let applied = web::block(move || {
        let mut conn = pool.get()?;
        db::migrations::run(&mut conn)
    })
    .await??;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(applied)
}

fn run(listener: TcpListener, state: web::Data<AppState>) -> anyhow::Result<Server> {
    let site_root = state.settings.site_root.clone();
    let leptos_options = LeptosOptions::builder()
        .output_name(state.settings.output_name.clone())
        .site_root(site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .build();
    let routes = generate_route_list(frontend::App);
    let pkg_dir = site_root.join("pkg");

    let server = HttpServer::new(move || {
        let options = leptos_options.clone();
        App::new()
            .app_data(state.clone())
            .app_data(web::Data::new(leptos_options.clone()))
            .app_data(
                web::FormConfig::default()
                    .limit(crate::http::json::MAX_BODY_BYTES)
                    .error_handler(|_, _| {
                        AppError::bad_request("the form could not be read").into()
                    }),
            )
            .app_data(
                web::PathConfig::default()
                    .error_handler(|_, _| AppError::bad_request("invalid path").into()),
            )
            // Registered innermost first: request_id runs first and last.
            .wrap(from_fn(csrf))
            .wrap(from_fn(header_limits))
            .wrap(from_fn(security_headers))
            .wrap(from_fn(request_id))
            .configure(routes::configure)
            .service(Files::new("/pkg", pkg_dir.clone()).prefer_utf8(true))
            .leptos_routes_with_context(routes.clone(), page_context(state.clone()), move || {
                forward_nonce();
                frontend::shell(options.clone())
            })
            .default_service(leptos_actix::render_app_async_with_context(
                page_context(state.clone()),
                {
                    let options = leptos_options.clone();
                    move || {
                        forward_nonce();
                        frontend::shell(options.clone())
                    }
                },
                leptos_router::Method::Get,
            ))
    })
    .client_request_timeout(Duration::from_secs(10))
    .client_disconnect_timeout(Duration::from_secs(2))
    .keep_alive(Duration::from_secs(30))
    .shutdown_timeout(10)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Per page request: how the pages load the signed-in user on the server.
fn page_context(state: web::Data<AppState>) -> impl Fn() + Clone + Send + 'static {
    move || {
        let token = use_context::<leptos_actix::Request>()
            .and_then(|req| req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()));
        let state = state.clone();
        provide_context(CurrentUserSource(Arc::new(move || {
            let state = state.clone();
            let token = token.clone();
            Box::pin(async move {
                match accounts::current_user(&state, token.as_deref()).await {
                    Ok(user) => user.map(|u| u.to_me()),
                    Err(e) => {
                        tracing::error!(error = ?e, "could not load the current user for a page");
                        None
                    }
                }
            })
        })));
    }
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
