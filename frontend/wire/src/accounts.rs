//! JSON bodies of the `/api/v1` sign-in, account, session and MFA endpoints (and the error body), as the server sends and the pages read them.

use super::FieldError;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub email: String,
    pub username: String,
    pub password: String,
}

/// Where a login may continue to (`/login?next=…`): only back to this
/// server's OAuth authorization endpoint, as a relative path — anything else
/// (another site, `//host`, a scheme, other pages) is ignored, so `next`
/// cannot be used as an open redirect.
pub fn login_next(next: &str) -> Option<&str> {
    let path_ok = next == "/oauth/authorize" || next.starts_with("/oauth/authorize?");
    let chars_ok = next.len() <= 4096 && next.bytes().all(|b| b > b' ' && b != 0x7f && b != b'\\');
    (path_ok && chars_ok).then_some(next)
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Username or e-mail address.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub login: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub password: String,
}

/// The signed-in user, as `GET /api/v1/me` returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeResponse {
    pub id: String,
    pub username: String,
    pub email: String,
    /// False while the address is only claimed: it signs in to nothing and
    /// other accounts may claim it too, until its owner proves it.
    pub email_verified: bool,
    pub roles: Vec<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// What `POST /api/v1/auth/login` (and `/auth/token`) answer: either the user
/// (signed in) or a request for the second factor, with the token that
/// `POST /api/v1/auth/login/mfa` takes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    pub mfa_required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<MeResponse>,
}

/// The second step of a login with MFA.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MfaLoginRequest {
    pub mfa_token: String,
    /// A 6-digit TOTP code or a recovery code.
    pub code: String,
}

/// A one-time code: TOTP (6 digits) or, where allowed, a recovery code.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MfaCodeRequest {
    pub code: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DisableMfaRequest {
    pub password: String,
    pub code: String,
}

/// A new (not yet enabled) TOTP enrolment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaSetupResponse {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    pub otpauth_uri: String,
    /// The QR code of `otpauth_uri`, as an SVG document.
    pub qr_svg: String,
}

/// Shown once: at enrolment and when regenerated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodesResponse {
    pub recovery_codes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaStatus {
    pub enabled: bool,
    /// RFC 3339, UTC.
    pub enabled_at: Option<String>,
    pub recovery_codes_remaining: i64,
    /// Whether my roles require MFA (`MFA_REQUIRED_FOR_ROLES`).
    pub required: bool,
}

/// One of my sessions, as `GET /api/v1/me/sessions` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    pub id: String,
    /// "Firefox on Linux", from the user agent at login.
    pub device: String,
    pub ip: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC.
    pub last_seen_at: String,
    /// The session making this request.
    pub current: bool,
}

/// Tokens for API clients (`POST /api/v1/auth/token`, `POST /api/v1/auth/refresh`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Single use: each refresh returns the next one.
    pub refresh_token: String,
}

/// `POST /api/v1/me/reauthenticate`: the password again, so that this
/// session may change the account's security (`reauthentication_required`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReauthenticateRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub password: String,
}

/// `POST /api/v1/auth/refresh`: API clients send the token; browsers send
/// nothing here (their refresh token travels in an HttpOnly cookie).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[serde(default)]
    pub refresh_token: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// The password rules in force, as `GET /api/v1/auth/password-policy`
/// returns them (the server's `PASSWORD_POLICY`), so a form can say and check
/// what the server will require. The server also refuses the 100,000 most
/// common passwords, which this does not describe.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordPolicyResponse {
    pub policy: super::password_policy::PolicyKind,
    /// The fewest Unicode code points.
    pub min_length: usize,
    /// The most Unicode code points.
    pub max_length: usize,
    /// Whether upper, lower, digit and special characters are required.
    pub composition: bool,
}

impl PasswordPolicyResponse {
    pub fn of(kind: super::password_policy::PolicyKind) -> Self {
        Self {
            policy: kind,
            min_length: kind.min_chars(),
            max_length: kind.max_chars(),
            composition: kind.composition(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokedResponse {
    /// How many sessions were ended.
    pub revoked: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisteredResponse {
    pub id: String,
    pub username: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusResponse {
    pub status: String,
}

/// Every error the API returns. A 5xx carries only `error` and `request_id`;
/// a 422 also lists what was wrong with each field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: String,
    pub request_id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<FieldErrorSchema>))]
    pub fields: Vec<FieldError>,
}

/// Schema twin of [`FieldError`] for the OpenAPI document.
#[cfg(feature = "openapi")]
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
        "wrong_password" => "Your current password is not correct.",
        "invalid_code" => "That code is not valid. Enter the current code from your authenticator app, or a recovery code.",
        "step_up_required" => "For this change, first confirm it is you with a code from your authenticator app.",
        "reauthentication_required" => "For this change, first confirm it is you: enter your password again.",
        "mfa_expired" => "The sign-in took too long. Enter your password again.",
        "server" => "Something went wrong on our side. Please try again.",
        _ => return None,
    })
}

#[cfg(test)]
mod login_next_tests {
    use super::login_next;

    #[test]
    fn only_the_authorize_endpoint_is_a_valid_next() {
        assert!(login_next("/oauth/authorize?client_id=a&state=b").is_some());
        assert!(login_next("/oauth/authorize").is_some());
        for bad in [
            "",
            "https://evil.example/oauth/authorize?x",
            "//evil.example/oauth/authorize?x",
            "/\\evil.example",
            "/oauth/authorizeX",
            "/oauth/authorize/../../account",
            "/account",
            "javascript:alert(1)",
            "/oauth/authorize?x=\\y",
            "/oauth/authorize?x y",
        ] {
            assert!(login_next(bad).is_none(), "{bad:?}");
        }
    }
}
