//! Wire types of OAuth client management (`/api/v1/admin/oauth/clients…`)
//! and the client-name rule, shared by the server and the admin page, so the
//! form refuses a bad name before it is sent. Times are RFC 3339, UTC.
//!
//! A client secret appears in exactly two answers, [`OAuthClientCreated`] and
//! [`OAuthClientSecret`], once each; their `Debug` is redacted.

use serde::{Deserialize, Serialize};

/// What the server answers for a name that breaks the rule.
pub const CLIENT_NAME_RULE: &str =
    "the name must be 1 to 100 characters, without control characters";

/// A client's display name (shown to users on the consent page): trimmed,
/// 1 to 100 characters, no control characters. The only constructor is
/// [`ClientName::parse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientName(String);

impl ClientName {
    pub const MAX: usize = 100;

    /// The trimmed name, or [`CLIENT_NAME_RULE`].
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > Self::MAX || name.chars().any(char::is_control)
        {
            return Err(CLIENT_NAME_RULE);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The redirect URIs typed into a text area, one per line: each line
/// trimmed, empty lines dropped (the server checks each URI).
pub fn redirect_uri_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One registered client, as the admin API shows it (never its secret).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthClientInfo {
    /// The `client_id`.
    pub id: String,
    pub name: String,
    /// A public client has no secret (PKCE only); a confidential one
    /// authenticates with its secret at the token endpoint.
    pub public: bool,
    /// Matched exactly (a loopback URI on any port).
    pub redirect_uris: Vec<String>,
    /// The scopes it may ask for.
    pub scopes: Vec<String>,
    /// The `aud` of its access tokens; none: this app's API.
    pub audience: Option<String>,
    pub created_at: String,
    /// The admin's user id (or `cli`) who registered it.
    pub created_by: Option<String>,
    pub updated_at: Option<String>,
}

/// A scope a client can be given, and the permission it lets its tokens use
/// (within the user's own roles).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthScopeInfo {
    pub name: String,
    pub permission: String,
}

/// `GET /api/v1/admin/oauth/clients`: every client, newest first, and the
/// scopes this server knows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthClientList {
    pub clients: Vec<OAuthClientInfo>,
    pub scopes: Vec<OAuthScopeInfo>,
}

/// `POST /api/v1/admin/oauth/clients`: register a client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewOAuthClientRequest {
    /// 1–100 characters, shown on the consent page.
    pub name: String,
    /// 1–20: `https`, `http` on 127.0.0.1/[::1], or a private-use scheme; no fragment.
    pub redirect_uris: Vec<String>,
    /// No secret (PKCE only) when true; otherwise a secret is returned once.
    pub public: bool,
    /// Known scopes only (see `scopes` in the list).
    pub scopes: Vec<String>,
    /// The resource server its tokens are for; none or empty: this app's API.
    #[serde(default)]
    pub audience: Option<String>,
}

/// `PUT /api/v1/admin/oauth/clients/{id}`: replaces the name, redirect URIs,
/// scopes and audience (a missing or empty `audience` means this app's API).
/// Removing a scope ends the client's sessions that were granted it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateOAuthClientRequest {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub audience: Option<String>,
}

/// `201` to a registration: the client, and its secret — shown this once,
/// stored only as an HMAC (none for a public client).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthClientCreated {
    pub client: OAuthClientInfo,
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for OAuthClientCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClientCreated")
            .field("client", &self.client)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// `POST /api/v1/admin/oauth/clients/{id}/secret`: the new secret, shown
/// this once; the previous one stops working at once.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthClientSecret {
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for OAuthClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClientSecret")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            ClientName::parse("  Reports  ").unwrap().as_str(),
            "Reports"
        );
        assert!(ClientName::parse(&"é".repeat(100)).is_ok());
        for bad in ["", "   ", "a\nb", "tab\there", &"x".repeat(101)] {
            assert_eq!(ClientName::parse(bad), Err(CLIENT_NAME_RULE), "{bad:?}");
        }
    }

    #[test]
    fn redirect_lines_drop_blanks() {
        assert_eq!(
            redirect_uri_lines(" https://a.example/cb \r\n\n  \nhttp://127.0.0.1/cb\n"),
            vec!["https://a.example/cb", "http://127.0.0.1/cb"]
        );
        assert!(redirect_uri_lines("\n \n").is_empty());
    }

    #[test]
    fn secrets_are_not_in_debug_output() {
        let info = OAuthClientInfo {
            id: "c1".into(),
            name: "n".into(),
            public: false,
            redirect_uris: vec![],
            scopes: vec![],
            audience: None,
            created_at: String::new(),
            created_by: None,
            updated_at: None,
        };
        let created = OAuthClientCreated {
            client: info,
            client_secret: Some("s3cr3t".into()),
        };
        let rotated = OAuthClientSecret {
            client_id: "c1".into(),
            client_secret: "s3cr3t".into(),
        };
        assert!(!format!("{created:?}{rotated:?}").contains("s3cr3t"));
    }
}
