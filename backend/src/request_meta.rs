//! What the audit trail and the session records want to know about a
//! request, without the web framework, so `audit` and the services can take
//! it; `http::client` reads it from an actix request.

/// The facts about one request that are recorded with what it does.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
    /// Truncated to 256 characters.
    pub user_agent: Option<String>,
    /// Set only in workshop mode (`http::workshop`): who to credit for a
    /// challenge this request's events solve.
    pub workshop: Option<crate::security::workshop::Context>,
}
