//! Finding a page's read: the route whose pattern matches the path, the
//! decision under that route's own policy entry, then its typed read
//! (`reads`). Apart from `reads` because the route table names the reads:
//! the table -> reads edge points one way only.

use super::reads::Cx;
use super::PageRequest;
use crate::error::AppError;
use crate::routes::table::{PAGE_READS, TABLE};
use crate::security::policy_table::Lookup;
use crate::services::access;
use crate::services::sessions::{Denied, SignedIn};
use crate::state::AppState;
use actix_web::ResponseError;
use std::sync::Arc;

/// `Ok(json)` or `Err(status)`, as the HTTP API would answer `GET path`.
pub async fn get(
    state: &AppState,
    page: &PageRequest,
    who: Result<Arc<SignedIn>, Denied>,
    path_and_query: &str,
) -> Result<String, u16> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let Some((pattern, read, params)) = PAGE_READS
        .iter()
        .find_map(|(pattern, read)| match_pattern(pattern, path).map(|p| (*pattern, *read, p)))
    else {
        return Err(404);
    };
    // Declared on the same line as the read: always found.
    let Lookup::Found(policy) = TABLE.lookup("GET", pattern) else {
        return Err(404);
    };
    let request = access::Request {
        policy,
        method: "GET",
        meta: &page.meta,
        client_ip: page.client_ip,
        device_id: page.device_id.as_deref(),
    };
    let who = match access::decide_for(state, &request, who).await {
        Ok(Ok(Some(who))) => who,
        Ok(Ok(None)) => return Err(404),
        Ok(Err(deny)) => return Err(access::deny_error(deny).status_code().as_u16()),
        Err(e) => return Err(fail(e)),
    };
    let cx = Cx {
        state,
        page,
        who: &who,
        params,
        query,
        table: TABLE,
    };
    read(&cx).await.map_err(fail)
}

fn fail(e: AppError) -> u16 {
    if e.status_code().is_server_error() {
        tracing::error!(error = ?e, "a page's data read failed");
    }
    e.status_code().as_u16()
}

/// Matches `/a/{x}/b` against `/a/42/b`: `Some(["42"])`. A segment value is
/// never empty and never contains `/`.
fn match_pattern(pattern: &str, path: &str) -> Option<Vec<String>> {
    let mut params = Vec::new();
    let mut pat = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (pat.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(p), Some(g)) if p.starts_with('{') && p.ends_with('}') => {
                if g.is_empty() {
                    return None;
                }
                params.push(g.to_owned());
            }
            (Some(p), Some(g)) if p == g => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_segments_only() {
        assert_eq!(
            match_pattern("/api/v1/admin/users/{id}", "/api/v1/admin/users/abc"),
            Some(vec!["abc".to_owned()])
        );
        assert_eq!(
            match_pattern("/api/v1/admin/users/{id}", "/api/v1/admin/users/"),
            None
        );
        assert_eq!(
            match_pattern("/api/v1/admin/users/{id}", "/api/v1/admin/users/a/b"),
            None
        );
        assert_eq!(match_pattern("/api/v1/me", "/api/v1/me"), Some(vec![]));
        assert_eq!(match_pattern("/api/v1/me", "/api/v1/me/x"), None);
    }

    #[test]
    fn every_read_is_a_declared_api_get() {
        assert!(PAGE_READS.len() >= 18);
        for (pattern, _) in PAGE_READS {
            assert!(pattern.starts_with("/api/v1/"), "{pattern}");
            assert!(
                matches!(TABLE.lookup("GET", pattern), Lookup::Found(p) if p.method == "GET"),
                "{pattern} is not a declared GET"
            );
        }
        let has = |p: &str| PAGE_READS.iter().any(|(pattern, _)| *pattern == p);
        assert!(has("/api/v1/admin/users") && has("/api/v1/admin/users/{id}"));
        assert!(!has("/api/v1/auth/login") && !has("/admin/users"));
    }
}
