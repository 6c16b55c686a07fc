//! OAuth redirect-URI rules (`security::pkce`): what may be registered, and
//! whether a requested URI matches. The last line is the requested URI, the
//! lines before it the registered ones. A match is either exact or a
//! loopback `http` URI (RFC 8252 §7.3: any port); a registrable URI has no
//! fragment, no control characters and at most 2000 bytes.
#![no_main]

use backend::security::pkce::{redirect_uri_matches, redirect_uri_registrable};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines: Vec<&str> = text.split('\n').collect();
    let requested = lines.pop().unwrap_or_default();
    let registered: Vec<String> = lines.iter().map(|s| (*s).to_owned()).collect();

    if redirect_uri_matches(&registered, requested) && !registered.iter().any(|r| r == requested) {
        assert!(
            requested.starts_with("http://127.") || requested.starts_with("http://[::1]"),
            "a non-exact match must be a loopback URI"
        );
    }
    // Nothing matches an empty registration.
    assert!(!redirect_uri_matches(&[], requested));

    if redirect_uri_registrable(requested) {
        assert!(!requested.is_empty() && requested.len() <= 2000);
        assert!(!requested.contains('#'));
        assert!(!requested.bytes().any(|b| b <= b' ' || b == 0x7f));
    }
});
