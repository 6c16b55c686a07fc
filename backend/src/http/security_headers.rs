//! The catalogue's fail-safe defaults, on every response.

use super::has_auth_cookie;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::Error;

/// Set by the page renderer to pass its per-request script nonce to this
/// middleware; removed here, never sent to the client.
pub const X_CSP_NONCE: HeaderName = HeaderName::from_static("x-csp-nonce");

/// Set by the OAuth consent page to the origin of the (already validated)
/// redirect URI: browsers apply `form-action` to the redirect that follows
/// the form, so the policy must name it. Removed here, never sent.
pub const X_CSP_FORM_ACTION: HeaderName = HeaderName::from_static("x-csp-form-action");

/// The Content-Security-Policy. Scripts only from this origin, plus the
/// hydration script by its nonce; `'wasm-unsafe-eval'` lets the page compile
/// its own WebAssembly (it does not allow JavaScript `eval`). No inline script
/// or style is allowed, and the page may not be framed. Forms post to this
/// origin only, plus `form_target` (an origin) where a page needs it.
pub fn content_security_policy(nonce: Option<&str>, form_target: Option<&str>) -> String {
    let script = match nonce {
        Some(n) => format!("script-src 'self' 'nonce-{n}' 'wasm-unsafe-eval'"),
        None => "script-src 'self' 'wasm-unsafe-eval'".to_owned(),
    };
    let form = match form_target.filter(|o| is_origin(o)) {
        Some(o) => format!("form-action 'self' {o}"),
        None => "form-action 'self'".to_owned(),
    };
    format!(
        "default-src 'self'; {script}; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         {form}; frame-ancestors 'none'"
    )
}

/// `scheme://host[:port]` with nothing that could end or extend a directive.
fn is_origin(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

const PERMISSIONS_POLICY: &str =
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), fullscreen=(self)";

/// [`content_security_policy`] without a nonce or form target — what every
/// response but a hydrating page gets — spelled out so it costs nothing per
/// request (a test keeps the two equal).
const DEFAULT_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The policy for everything that is not a page (JSON, the wasm, styles,
/// health checks): nothing may load and nothing may frame it, should a
/// browser ever render one as a document (OWASP's REST Security cheat
/// sheet). Stricter than the pages' policy, and a quarter of its length on
/// the answers an API client fetches most.
const NON_PAGE_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    // A forwarded `proto=https` counts only from a trusted proxy (anyone
    // else could claim it).
    let over_tls = req.app_config().secure()
        || (super::client::from_trusted_proxy(req.request())
            && req.connection_info().scheme() == "https");
    let private = has_auth_cookie(req.request())
        || req.headers().contains_key(header::AUTHORIZATION)
        || req.path().starts_with("/api/")
        || req.path().starts_with("/auth/");

    let mut res = next.call(req).await?;
    let headers = res.headers_mut();

    let nonce = headers
        .remove(X_CSP_NONCE)
        .next()
        .and_then(|v| v.to_str().ok().map(str::to_owned))
        .filter(|n| {
            n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b))
        });
    let form_target = headers
        .remove(X_CSP_FORM_ACTION)
        .next()
        .and_then(|v| v.to_str().ok().map(str::to_owned));
    let page = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let csp = match (page, nonce.as_deref(), form_target.as_deref()) {
        (false, ..) => HeaderValue::from_static(NON_PAGE_CSP),
        (true, None, None) => HeaderValue::from_static(DEFAULT_CSP),
        (true, nonce, target) => HeaderValue::from_str(&content_security_policy(nonce, target))
            .unwrap_or(HeaderValue::from_static(DEFAULT_CSP)),
    };
    headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    // Constants: no validation or copy per request.
    let set = |headers: &mut header::HeaderMap, name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(
        headers,
        header::REFERRER_POLICY,
        "strict-origin-when-cross-origin",
    );
    // Only documents have features to restrict or a browsing context to isolate.
    if page {
        set(
            headers,
            HeaderName::from_static("permissions-policy"),
            PERMISSIONS_POLICY,
        );
        set(
            headers,
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        );
    }
    set(
        headers,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    if over_tls {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        );
    }
    if private {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    // ASVS 14.4.1: HTML always declares its charset.
    if headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"text/html")
    {
        set(headers, header::CONTENT_TYPE, "text/html; charset=utf-8");
    }
    headers.remove(header::SERVER);
    headers.remove(HeaderName::from_static("x-powered-by"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_has_no_unsafe_inline_and_carries_the_nonce() {
        let with = content_security_policy(Some("abc123"), None);
        assert!(with.starts_with("default-src 'self';"));
        assert!(with.contains("'nonce-abc123'"));
        assert!(with.contains("frame-ancestors 'none'"));
        assert!(!with.contains("unsafe-inline"));
        assert!(!content_security_policy(None, None).contains("nonce"));
    }

    #[test]
    fn the_precomputed_policy_is_the_built_one() {
        assert_eq!(DEFAULT_CSP, content_security_policy(None, None));
    }

    #[test]
    fn a_form_target_must_be_a_plain_origin() {
        let csp = content_security_policy(None, Some("https://client.example:8443"));
        assert!(csp.contains("form-action 'self' https://client.example:8443;"));
        for bad in [
            "https://a.example; script-src *",
            "javascript:x",
            "https://a b",
            "*",
        ] {
            assert!(
                content_security_policy(None, Some(bad)).contains("form-action 'self';"),
                "{bad}"
            );
        }
    }
}
