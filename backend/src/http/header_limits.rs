//! Caps the request headers: at most 16 KiB in all and 64 fields. actix's own
//! parser allows far more; a small cap bounds what every later layer parses,
//! logs or stores (user agents, cookies) per request.

use crate::error::AppError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::Error;

pub const MAX_HEADER_BYTES: usize = 16 * 1024;
pub const MAX_HEADER_COUNT: usize = 64;

pub async fn header_limits(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let headers = req.headers();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if bytes > MAX_HEADER_BYTES || headers.len() > MAX_HEADER_COUNT {
        return Ok(req
            .error_response(AppError::HeadersTooLarge)
            .map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}
