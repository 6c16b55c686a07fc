//! Refuses a request target the server's router and the pages' router would
//! read differently, or that no part of this app can hold, before anything
//! runs: a 400 with the JSON error body.
//!
//! - A NUL character (`%00`): no name, address, id or search text of this
//!   app holds one, and PostgreSQL refuses it in a text parameter, so it
//!   would surface as a server error deep inside a query (found by
//!   attacks::v6_enumeration). JSON bodies are held to the same rule in
//!   `http::json`; `AppError`'s conversion of the database's refusal is the
//!   backstop for any other way in (form bodies).
//! - A dot segment (`.` or `..`, also percent-encoded) in the path: actix
//!   matches the path as sent, so `/x/../admin/policies` matches no route and
//!   reaches the pages' fallback, where the Leptos router resolves the dots
//!   and renders the admin page — without the policy entry of that page ever
//!   being decided (found by attacks::v8_page_reads). Browsers resolve dot
//!   segments before sending (RFC 3986 §5.2.4), so only a hand-made request
//!   has one.

use crate::error::AppError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::Error;

pub async fn refuse_unsafe_target(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let target = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("");
    let refusal = if encodes_nul(target) {
        Some("the request holds a NUL character (%00)")
    } else if has_dot_segment(req.uri().path()) {
        Some("the path holds a `.` or `..` segment")
    } else {
        None
    };
    if let Some(why) = refusal {
        return Ok(req
            .error_response(AppError::bad_request(why))
            .map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// Whether percent-decoding `text` yields a NUL.
fn encodes_nul(text: &str) -> bool {
    text.as_bytes().windows(3).any(|w| w == b"%00")
}

/// Whether a segment of `path` is `.` or `..`, with the dots written as they
/// are or as `%2E`/`%2e` (RFC 3986 §6.2.2.2: an encoded unreserved character
/// is the same character).
fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| {
        let dots = crate::security::percent::decode(segment);
        dots == "." || dots == ".."
    })
}

#[cfg(test)]
mod tests {
    use super::{encodes_nul, has_dot_segment};

    #[test]
    fn only_an_encoded_nul_counts() {
        assert!(encodes_nul("/api/v1/admin/users?after=a%00"));
        assert!(encodes_nul("/x%00/y"));
        assert!(!encodes_nul("/api/v1/admin/users?q=100%25&after=%2000"));
        assert!(!encodes_nul("/a%0a%30%300"));
    }

    #[test]
    fn dot_segments_are_found_however_written() {
        for path in [
            "/nowhere/../admin/policies",
            "/admin/./policies",
            "/%2E%2E/admin/policies",
            "/%2e/admin",
            "/.%2E/admin",
            "/admin/policies/.",
            "/admin/users/..",
            "/..",
        ] {
            assert!(has_dot_segment(path), "{path}");
        }
        for path in [
            "/",
            "/admin/policies",
            "/pkg/frontend.wasm",
            "/a.b/c",
            "/.well-known/jwks.json",
            "/x/...",
            "/x/%2E%2E%2E",
            "/admin/users/a..b",
        ] {
            assert!(!has_dot_segment(path), "{path}");
        }
    }
}
