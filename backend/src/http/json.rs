//! The JSON body extractor for the API, with the request limits in one place:
//! content type must be `application/json`, the body at most 16 KiB, valid
//! UTF-8, nested at most 16 levels, and shaped exactly like the target type
//! (unknown fields are refused). Each failure is a clear 4xx; nothing is changed.

use crate::error::AppError;
use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::{self, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

pub const MAX_BODY_BYTES: usize = 16 * 1024;
pub const MAX_DEPTH: usize = 16;

pub struct ApiJson<T>(pub T);

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// The body, at most [`MAX_BODY_BYTES`].
async fn read_body(mut payload: Payload) -> Result<BytesMut, AppError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| AppError::bad_request("could not read the request body"))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(AppError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn unsupported() -> AppError {
    AppError::UnsupportedMediaType("Content-Type must be application/json".into())
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = is_json(req);
        let payload = payload.take();
        Box::pin(async move {
            if !is_json {
                return Err(unsupported());
            }
            parse(&read_body(payload).await?).map(ApiJson)
        })
    }
}

/// A JSON body that may be left out: no body at all (whatever the content
/// type says) is `None`; a body that is sent is held to [`ApiJson`]'s rules
/// (a malformed one is a 400, not silently taken for none).
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = is_json(req);
        let payload = payload.take();
        Box::pin(async move {
            let body = read_body(payload).await?;
            if body.is_empty() {
                return Ok(Self(None));
            }
            if !is_json {
                return Err(unsupported());
            }
            parse(&body).map(|t| Self(Some(t)))
        })
    }
}

/// Parses a JSON body under the limits above.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| AppError::bad_request("request body is not valid UTF-8"))?;
    if depth(text) > MAX_DEPTH {
        return Err(AppError::bad_request(format!(
            "JSON is nested more than {MAX_DEPTH} levels deep"
        )));
    }
    if holds_nul(text) {
        // Like `http::request_target` for the request target; here it is a
        // field's value no field accepts, so a 422 naming the field.
        return Err(nul_field(text));
    }
    serde_json::from_str(text).map_err(describe)
}

/// The refusal of a body with a NUL in a string: a 422 naming the
/// top-level field that holds it (its name only when it looks like one of
/// ours: a field name is read from the body too), as for any invalid field.
fn nul_field(text: &str) -> AppError {
    fn holds(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(a) => a.iter().any(holds),
            serde_json::Value::Object(o) => o.values().any(holds),
            _ => false,
        }
    }
    let plain = |k: &str| {
        (1..=40).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    };
    let field = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| {
            v.as_object()?
                .iter()
                .find(|(_, v)| holds(v))
                .map(|(k, _)| k.clone())
        })
        .filter(|k| plain(k))
        .unwrap_or_else(|| "body".to_owned());
    AppError::Validation(vec![wire::FieldError::new(&field, "invalid")])
}

/// Whether a string in the JSON `text` holds an escaped NUL (`\u0000`; a
/// raw one is not valid JSON). An escaped backslash before `u0000` is text.
fn holds_nul(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes[i + 1..].starts_with(b"u0000") {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// Says what is wrong without echoing any value from the body (which could be
/// a password): syntax errors give a position, shape errors name fields only.
fn describe(e: serde_json::Error) -> AppError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => AppError::bad_request(format!(
            "malformed JSON at line {} column {}",
            e.line(),
            e.column()
        )),
        Category::Data => {
            let msg = e.to_string();
            let about_fields = msg.starts_with("missing field") || msg.starts_with("unknown field");
            if about_fields {
                let head = msg.split(" at line").next().unwrap_or("invalid JSON body");
                AppError::bad_request(head.to_owned())
            } else {
                AppError::bad_request("a field has the wrong type: every field must be a string")
            }
        }
    }
}

/// The error handlers of actix's own extractors, for the whole app (called
/// by `startup`): a query, path, form or JSON body that does not fit its
/// handler's type is answered like every other refusal — a 4xx with the
/// JSON error body and the request id — never with actix's `text/plain`
/// ("Query deserialize error: …"). Form bodies have the API's size limit.
pub fn extractor_errors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::FormConfig::default()
            .limit(MAX_BODY_BYTES)
            .error_handler(|_, _| AppError::bad_request("the form could not be read").into()),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|_, _| AppError::bad_request("invalid path").into()),
    )
    .app_data(web::QueryConfig::default().error_handler(query_error))
    .app_data(
        web::JsonConfig::default()
            .limit(MAX_BODY_BYTES)
            .error_handler(json_error),
    );
}

/// The error handler of actix's `web::Query` extractor: a query string that does not
/// fit the handler's type is a 400 with the app's JSON error body and its
/// request id, like every other refusal — not actix's `text/plain`
/// "Query deserialize error". Only field names (ours) are repeated, never a
/// value: a query string may carry a search for someone's address.
pub fn query_error(err: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    let actix_web::error::QueryPayloadError::Deserialize(e) = &err else {
        return AppError::bad_request("the query string could not be read").into();
    };
    let msg = e.to_string();
    let about_fields = ["missing field", "unknown field", "duplicate field"]
        .iter()
        .any(|p| msg.starts_with(p));
    if about_fields {
        AppError::bad_request(format!("query string: {msg}")).into()
    } else {
        AppError::bad_request("query string: a parameter has the wrong type or is out of range")
            .into()
    }
}

/// The error handler of actix's `web::Json` (`JsonConfig`): the API reads
/// bodies with [`ApiJson`], but should a handler ever take `web::Json`, its
/// refusals are the same JSON errors as [`ApiJson`]'s.
pub fn json_error(err: actix_web::error::JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::ContentType => {
            AppError::UnsupportedMediaType("Content-Type must be application/json".into())
        }
        E::Overflow { .. } | E::OverflowKnownLength { .. } => AppError::PayloadTooLarge,
        E::Deserialize(e) => describe(e),
        _ => AppError::bad_request("could not read the request body"),
    }
    .into()
}

/// The deepest nesting of arrays and objects, ignoring brackets inside strings.
fn depth(text: &str) -> usize {
    let (mut current, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                current += 1;
                max = max.max(current);
            }
            b']' | b'}' => current = current.saturating_sub(1),
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_escaped_nul_is_found_and_an_escaped_backslash_is_not() {
        assert!(super::holds_nul(r#"{"q":"a\u0000b"}"#));
        assert!(super::holds_nul(r#"{"q":"\u0000"}"#));
        assert!(!super::holds_nul(r#"{"q":"a\\u0000b"}"#));
        assert!(super::holds_nul(r#"{"q":"\u00001"}"#));
        assert!(!super::holds_nul(r#"{"q":"\u0001"}"#));
        assert!(!super::holds_nul(r#"{"q":"x\\"}"#));
    }

    #[test]
    fn a_nul_in_a_field_is_that_fields_error() {
        let Err(e) =
            super::parse::<wire::LoginRequest>(r#"{"login":"a\u0000b","password":""}"#.as_bytes())
        else {
            panic!("a NUL was accepted");
        };
        match e {
            super::AppError::Validation(fields) => {
                assert_eq!(fields.len(), 1);
                assert_eq!(
                    (fields[0].field.as_str(), fields[0].code.as_str()),
                    ("login", "invalid")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    use super::*;
    use wire::LoginRequest;

    fn err_text(r: Result<LoginRequest, AppError>) -> String {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn actix_extractor_errors_become_the_app_errors() {
        use actix_web::error::{JsonPayloadError, QueryPayloadError};
        let req = actix_web::test::TestRequest::default().to_http_request();
        let status = |e: actix_web::Error| e.as_response_error().status_code().as_u16();
        assert_eq!(status(json_error(JsonPayloadError::ContentType, &req)), 415);
        assert_eq!(
            status(json_error(JsonPayloadError::Overflow { limit: 1 }, &req)),
            413
        );
        let bad = serde_json::from_str::<LoginRequest>("{").unwrap_err();
        assert_eq!(
            status(json_error(JsonPayloadError::Deserialize(bad), &req)),
            400
        );
        // A query value never comes back in the message.
        let e = serde::de::Error::custom("invalid digit in secret-value");
        let err = query_error(QueryPayloadError::Deserialize(e), &req);
        assert_eq!(status(err), 400);
        let e = serde::de::Error::custom("invalid digit in secret-value");
        let text = query_error(QueryPayloadError::Deserialize(e), &req).to_string();
        assert!(!text.contains("secret-value"), "{text}");
    }

    #[test]
    fn depth_ignores_brackets_in_strings() {
        assert_eq!(depth(r#"{"a":"[[[{{{"}"#), 1);
        assert_eq!(depth(r#"[[[]]]"#), 3);
        assert_eq!(depth(r#"{"a":"\"[[["}"#), 1);
    }

    #[test]
    fn deep_json_is_refused() {
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert!(err_text(parse(deep.as_bytes())).contains("nested"));
    }

    #[test]
    fn bad_bodies_get_clear_messages_that_do_not_echo_values() {
        assert!(err_text(parse(b"\xff\xfe")).contains("UTF-8"));
        assert!(err_text(parse(b"{\"login\":")).contains("malformed JSON"));
        assert!(err_text(parse(br#"{"login":"a"}"#)).contains("missing field `password`"));
        assert!(
            err_text(parse(br#"{"login":"a","password":"b","admin":true}"#))
                .contains("unknown field `admin`")
        );
        let wrong_type = err_text(parse(br#"{"login":"a","password":987654321}"#));
        assert!(!wrong_type.contains("987654321"), "{wrong_type}");
    }
}
