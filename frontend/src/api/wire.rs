//! JSON bodies of the `/api/v1` endpoints, as the server sends and the pages read them.

use super::FieldError;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub email: String,
    pub username: String,
    pub password: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Username or e-mail address.
    pub login: String,
    pub password: String,
}

/// The signed-in user, as `GET /api/v1/me` returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MeResponse {
    pub id: String,
    pub username: String,
    pub email: String,
    pub roles: Vec<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RegisteredResponse {
    pub id: String,
    pub username: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StatusResponse {
    pub status: String,
}

/// Every error the API returns. A 5xx carries only `error` and `request_id`;
/// a 422 also lists what was wrong with each field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: String,
    pub request_id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<FieldErrorSchema>))]
    pub fields: Vec<FieldError>,
}

/// Schema twin of [`FieldError`] for the OpenAPI document.
#[cfg(feature = "ssr")]
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct FieldErrorSchema {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// Form-level outcomes a no-JavaScript form gets back through its redirect,
/// as `?error=<code>` (codes only: never a value the user typed).
pub fn form_error_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "invalid_credentials" => "Invalid username, e-mail or password.",
        "conflict" => "An account with this username or e-mail already exists.",
        "bad_request" => "The form could not be read. Please try again.",
        "forbidden" => "The request was refused. Reload the page and try again.",
        "server" => "Something went wrong on our side. Please try again.",
        _ => return None,
    })
}
