//! The id of the request being handled, in a task-local.
//!
//! Each request gets a fresh id (never one the client chose,
//! `http::request_id`). It is returned in `X-Request-Id` and kept here, so
//! every log line of the request (`log_line`), its error responses and its
//! audit entries carry it without threading it through every call.
//!
//! Layer: infrastructure, the bottom of `telemetry`: imports nothing of the crate.

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `fut` with `id` as the current request id.
pub async fn with_request_id<F: std::future::Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// The id of the request being handled, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn request_id_is_visible_inside_its_scope_only() {
        assert_eq!(current_request_id(), None);
        let seen = with_request_id("abc".into(), async { current_request_id() }).await;
        assert_eq!(seen.as_deref(), Some("abc"));
    }
}
