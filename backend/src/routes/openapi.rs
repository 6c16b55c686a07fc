//! The OpenAPI 3 document, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Secure Reference App API",
        description = "JSON API of the secure reference application. Browsers authenticate with the \
                       `__Host-session` cookie; state-changing requests must come from the app's own origin.",
    ),
    paths(
        super::health::healthz,
        super::health::readyz,
        super::api::v1::auth::register,
        super::api::v1::auth::login,
        super::api::v1::auth::logout,
        super::api::v1::me::me,
    ),
    components(schemas(
        frontend::api::RegisterRequest,
        frontend::api::LoginRequest,
        frontend::api::MeResponse,
        frontend::api::RegisteredResponse,
        frontend::api::StatusResponse,
        frontend::api::ErrorBody,
        frontend::api::wire::FieldErrorSchema,
    )),
    tags(
        (name = "auth", description = "Registration and sessions"),
        (name = "account", description = "The signed-in user"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
