//! Refuses a NUL character (`%00`) in the request target: no name, address,
//! id or search text of this app holds one, and PostgreSQL refuses it in a
//! text parameter, so it would surface as a server error deep inside a
//! query (found by attacks::v6_enumeration). Refused here, at the edge, it
//! is a 400 with the JSON error body before anything runs. JSON bodies are
//! held to the same rule in `http::json`; `AppError`'s conversion of the
//! database's refusal is the backstop for any other way in (form bodies).

use crate::error::AppError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::Error;

pub async fn refuse_nul_in_target(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let target = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("");
    if encodes_nul(target) {
        return Ok(req
            .error_response(AppError::bad_request(
                "the request holds a NUL character (%00)",
            ))
            .map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// Whether percent-decoding `text` yields a NUL.
fn encodes_nul(text: &str) -> bool {
    text.as_bytes().windows(3).any(|w| w == b"%00")
}

#[cfg(test)]
mod tests {
    use super::encodes_nul;

    #[test]
    fn only_an_encoded_nul_counts() {
        assert!(encodes_nul("/api/v1/admin/users?after=a%00"));
        assert!(encodes_nul("/x%00/y"));
        assert!(!encodes_nul("/api/v1/admin/users?q=100%25&after=%2000"));
        assert!(!encodes_nul("/a%0a%30%300"));
    }
}
