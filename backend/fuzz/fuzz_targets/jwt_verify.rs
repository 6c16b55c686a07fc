//! Access-token verification (`security::jwt`) against any text, and against
//! tokens whose header and claims are arbitrary JSON. Nothing the fuzzer
//! writes carries a valid RS256 signature of our key, so every input must be
//! refused, and without a panic.
#![no_main]

use backend::security::jwt::{self, TokenPolicy};
use backend::security::signing_keys::{self, KeySet, SigningKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const NOW: i64 = 1_800_000_000;

fn keys() -> &'static (KeySet, TokenPolicy, String) {
    static KEYS: OnceLock<(KeySet, TokenPolicy, String)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let (kid, pem) = signing_keys::generate(NOW - 60).expect("a key");
        let key = SigningKey::from_pem(&kid, pem.as_bytes()).expect("its own key loads");
        let set = KeySet::new(vec![key], 900).expect("a key set");
        let policy = TokenPolicy {
            issuer: "https://fuzz.example".into(),
            audience: "fuzz-api".into(),
            ttl_secs: 900,
        };
        (set, policy, kid)
    })
}

fuzz_target!(|data: &[u8]| {
    let (set, policy, kid) = keys();
    // 1. The input as a token.
    if let Ok(text) = std::str::from_utf8(data) {
        assert!(jwt::verify(set, policy, text, NOW).is_err());
        assert!(jwt::verify_any_audience(set, policy, text, NOW).is_err());
    }
    // 2. The input as header JSON and claims JSON (split at the first 0xff),
    //    wrapped as a compact JWS with our kid and an arbitrary signature.
    let (header, rest) = match data.iter().position(|b| *b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"{}"[..]),
    };
    let header = if header.is_empty() {
        format!("{{\"alg\":\"RS256\",\"kid\":\"{kid}\"}}").into_bytes()
    } else {
        header.to_vec()
    };
    let token = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(&header),
        URL_SAFE_NO_PAD.encode(rest),
        URL_SAFE_NO_PAD.encode(&data[..data.len().min(256)])
    );
    assert!(jwt::verify(set, policy, &token, NOW).is_err());
});
