//! The OpenAPI 3 document, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Secure Reference App API",
        description = "JSON API of the secure reference application. Browsers authenticate with the \
                       `__Host-access` / `__Host-refresh` cookies; API clients with `Authorization: Bearer` \
                       (tokens from `/api/v1/auth/token`). State-changing cookie requests must come from the app's own origin.",
    ),
    paths(
        super::health::healthz,
        super::health::readyz,
        super::api::v1::auth::register,
        super::api::v1::auth::login,
        super::api::v1::auth::login_mfa,
        super::api::v1::auth::token,
        super::api::v1::auth::token_mfa,
        super::api::v1::auth::refresh,
        super::api::v1::auth::logout,
        super::api::v1::me::me,
        super::api::v1::me::change_password,
        super::api::v1::me::sessions,
        super::api::v1::me::revoke_session,
        super::api::v1::me::revoke_others,
        super::api::v1::admin::user_sessions,
        super::api::v1::admin::revoke_session,
        super::api::v1::admin::reset_mfa,
        super::api::v1::admin::unlock,
        super::api::v1::mfa::status,
        super::api::v1::mfa::setup,
        super::api::v1::mfa::confirm,
        super::api::v1::mfa::step_up,
        super::api::v1::mfa::regenerate,
        super::api::v1::mfa::disable,
        super::wellknown::jwks,
    ),
    components(schemas(
        frontend::api::RegisterRequest,
        frontend::api::LoginRequest,
        frontend::api::MeResponse,
        frontend::api::RegisteredResponse,
        frontend::api::StatusResponse,
        frontend::api::ErrorBody,
        frontend::api::SessionInfo,
        frontend::api::LoginResponse,
        frontend::api::MfaLoginRequest,
        frontend::api::MfaCodeRequest,
        frontend::api::DisableMfaRequest,
        frontend::api::MfaSetupResponse,
        frontend::api::RecoveryCodesResponse,
        frontend::api::MfaStatus,
        frontend::api::TokenResponse,
        frontend::api::RefreshRequest,
        frontend::api::ChangePasswordRequest,
        frontend::api::RevokedResponse,
        frontend::api::wire::FieldErrorSchema,
    )),
    tags(
        (name = "auth", description = "Registration and sessions"),
        (name = "account", description = "The signed-in user, their password and sessions"),
        (name = "mfa", description = "Two-factor authentication (TOTP, recovery codes, step-up)"),
        (name = "admin", description = "Administration (role `admin`)"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
