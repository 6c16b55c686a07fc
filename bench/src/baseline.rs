//! The baseline the hot path is compared with: a bare actix-web handler
//! returning a small JSON body — same framework, same version, same number
//! of workers as the app, none of its middleware.

use actix_web::{web, App, HttpResponse, HttpServer};

async fn hello() -> HttpResponse {
    HttpResponse::Ok()
        .json(serde_json::json!({ "id": "00000000-0000-0000-0000-000000000000", "ok": true }))
}

/// Serves `GET /` on `addr` until the process is killed.
pub fn serve(addr: std::net::SocketAddr) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| App::new().route("/", web::get().to(hello)))
            .bind(addr)?
            .run()
            .await
    })?;
    Ok(())
}
