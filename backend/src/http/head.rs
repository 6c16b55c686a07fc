//! `HEAD` is answered as `GET` is, without the body (RFC 9110 §9.3.2: the
//! same header fields as a GET would get). The routes and pages register
//! GET only, so without this a HEAD met no route: pages answered an empty
//! 200 without a content type (hence the non-page CSP and no
//! Permissions-Policy) and API reads a 404.
//!
//! The request is routed, decided and handled as the GET it stands for; the
//! HTTP/1 codec, which remembers the request was a HEAD, sends the headers
//! of the answer and drops its body. Registered innermost, so the log lines
//! and metrics still name the method the client sent.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::Error;

pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}
