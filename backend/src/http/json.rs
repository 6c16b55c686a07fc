//! The JSON body extractor for the API, with the request limits in one place:
//! content type must be `application/json`, the body at most 16 KiB, valid
//! UTF-8, nested at most 16 levels, and shaped exactly like the target type
//! (unknown fields are refused). Each failure is a clear 4xx; nothing is changed.

use crate::error::AppError;
use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

pub const MAX_BODY_BYTES: usize = 16 * 1024;
pub const MAX_DEPTH: usize = 16;

pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json {
                return Err(AppError::UnsupportedMediaType(
                    "Content-Type must be application/json".into(),
                ));
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk =
                    chunk.map_err(|_| AppError::bad_request("could not read the request body"))?;
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(AppError::PayloadTooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            parse(&body).map(ApiJson)
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
    serde_json::from_str(text).map_err(describe)
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
    use super::*;
    use frontend::api::LoginRequest;

    fn err_text(r: Result<LoginRequest, AppError>) -> String {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
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
