//! Wire types of `GET /api/v1/admin/logs`: the server's recent log lines,
//! for finding the cause of an error by the request id its user was shown.

use serde::{Deserialize, Serialize};

/// One log line: what the server wrote to its log (never a secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogLineInfo {
    /// Increasing in the order the lines were written.
    pub seq: u64,
    /// RFC 3339, UTC.
    pub time: String,
    /// `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`.
    pub level: String,
    /// The message and its fields; control characters escaped.
    pub text: String,
    /// The request that wrote it, if any.
    pub request_id: Option<String>,
}

/// The newest lines first, at most `limit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogsResponse {
    pub lines: Vec<LogLineInfo>,
    /// How many lines this instance keeps in memory.
    pub capacity: usize,
}

/// A request id as the server makes them (a UUID, or whatever an operator
/// pastes: letters, digits and `-`, at most 64), so a search cannot carry
/// anything else.
pub fn valid_request_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_plain_tokens() {
        assert!(valid_request_id("2f1c9a7e-41f4-4c55-9d2f-0d7c1f5b9a10"));
        assert!(!valid_request_id(""));
        assert!(!valid_request_id("abc def"));
        assert!(!valid_request_id("' OR 1=1 --"));
        assert!(!valid_request_id(&"a".repeat(65)));
    }
}
