//! The request metrics (`crate::metrics`): the outermost middleware counts
//! every request by the route pattern the router matched, its method and
//! status, and times it until the response head is ready (a streamed body's
//! transfer is not included). One pattern lookup, one short lock.

use crate::metrics::method_label;
use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error};
use std::time::Instant;

pub async fn track<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    let method = method_label(req.method().as_str());
    let started = Instant::now();
    let result = next.call(req).await;
    if let Ok(res) = &result {
        // The pattern (`/api/v1/admin/users/{id}`), never the path: the
        // router recorded which resource matched, so this is a lookup.
        let route = res.request().match_pattern();
        state
            .metrics
            .request(route, method, res.status().as_u16(), started.elapsed());
    }
    result
}
