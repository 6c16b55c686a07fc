use crate::telemetry::{log_safe, request_id::with_request_id};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use std::time::Instant;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, also available from request extensions.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Outermost middleware: assigns the request id, scopes logging to it, puts
/// it on the response, and logs one line per request.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = log_safe(req.path());
    let started = Instant::now();
    with_request_id(id.clone(), async move {
        // Handlers and extractors turn their errors into responses
        // themselves; an `Err` here is exceptional and is passed on
        // unchanged. (Cloning the request to build a response would break
        // actix's routing.)
        let mut res = next.call(req).await?.map_into_boxed_body();
        if let Ok(value) = HeaderValue::from_str(&id) {
            res.headers_mut().insert(X_REQUEST_ID, value);
        }
        tracing::info!(
            method = method.as_str(),
            path = path.as_str(),
            status = res.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "handled"
        );
        Ok(res)
    })
    .await
}
