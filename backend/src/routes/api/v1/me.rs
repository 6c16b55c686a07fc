use crate::http::auth::Authenticated;
use actix_web::HttpResponse;
use frontend::api::{ErrorBody, MeResponse};

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "account",
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)))]
pub async fn me(Authenticated(signed_in): Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(signed_in.to_me())
}
