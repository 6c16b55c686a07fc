//! The management plane (`ADMIN_ADDR`): the admin API, the admin pages,
//! the workshop's progress board and `/metrics` are served on the management listener only. On the public
//! listener this middleware answers 404 for them before any other layer
//! or handler runs, as if they did not exist. Everything else is served on
//! both listeners, so an administrator's browser can sign in, load the
//! `/pkg` assets and enrol in MFA on the management address too (the
//! `__Host-` cookies are bound to the host, not the port). Enforcement and
//! the policy table apply on both listeners alike.
//!
//! Which listener a request came in on is the listener's local address
//! (`AppConfig::local_addr`), compared with the bound management address.

use crate::error::AppError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error, ResponseError};
use std::net::SocketAddr;

/// The bound management listener's address, when there is one.
#[derive(Clone, Copy, Debug, Default)]
pub struct ManagementPlane(pub Option<SocketAddr>);

/// Whether `path` belongs to the management plane: `/api/v1/admin…`,
/// `/admin…` or `/metrics…`, by whole segments, after dropping empty and
/// `.` segments and resolving `..` (however a request spells the path, if
/// some layer would clean it up to a management path, it is one).
pub fn is_management_path(path: &str) -> bool {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    matches!(
        segments.as_slice(),
        ["admin", ..]
            | ["metrics", ..]
            | ["api", "v1", "admin", ..]
            // The workshop's progress board: who solved what, an admin read.
            | ["api", "v1", "workshop", "progress", ..]
    )
}

pub async fn management_plane<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let plane = req
        .app_data::<web::Data<ManagementPlane>>()
        .map(|p| p.0)
        .unwrap_or_default();
    if let Some(management) = plane {
        let public = req.app_config().local_addr() != management;
        // The raw path and the one the router matches (percent-decoded
        // where safe), so `/api/v1/%61dmin` is hidden too.
        if public
            && (is_management_path(req.path()) || is_management_path(req.match_info().as_str()))
        {
            let response = AppError::NotFound.error_response();
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    next.call(req).await.map(|r| r.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn management_paths_are_whole_segments() {
        for p in [
            "/admin",
            "/admin/",
            "//admin",
            "/./admin",
            "/x/../admin/users",
            "/api//v1/admin",
            "/admin/users/1",
            "/api/v1/admin",
            "/api/v1/admin/users",
            "/metrics",
            "/metrics/x",
            "/api/v1/workshop/progress",
            "/api//v1/workshop/./progress",
        ] {
            assert!(is_management_path(p), "{p}");
        }
        for p in [
            "/",
            "/administrator",
            "/api/v1/me",
            "/api/v1/administer",
            "/metricsx",
            "/healthz",
            "/api/v1/workshop/challenges",
            "/api/v1/workshop/progressx",
        ] {
            assert!(!is_management_path(p), "{p}");
        }
    }
}
