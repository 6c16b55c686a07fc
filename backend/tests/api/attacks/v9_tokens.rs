//! ASVS 5.0 V9 (self-contained tokens): algorithm confusion and what the workshop credits for it.

use crate::helpers::{spawn_app_with, TestApp};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

async fn solved(app: &TestApp, cookie: &str) -> Vec<String> {
    let board: Value = app
        .get("/api/v1/workshop/challenges", Some(cookie))
        .await
        .json()
        .await
        .unwrap();
    board["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["solved_at"].is_null())
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn me_with(app: &TestApp, token: &str, cookie: &str) -> u16 {
    app.client
        .get(app.url("/api/v1/me"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn claims_of(cookie: &str) -> Value {
    let token = cookie
        .split("; ")
        .find_map(|c| c.strip_prefix("__Host-access="))
        .unwrap();
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Item 14: `jwt-key-confusion` is credited only for a token really
/// HMAC-signed with the server's public key as a naive library would take
/// it (the PEM of a key the JWKS publishes) — which the server still
/// refuses. An `alg: HS256` header over a garbage signature credits nothing.
#[tokio::test]
async fn key_confusion_is_credited_only_for_a_token_signed_with_the_public_key() {
    let app = spawn_app_with(&[("APP_WORKSHOP", "1")]).await;
    let alice = app.signed_in("kc_alice").await;
    let claims = claims_of(&alice);
    let jwks: Value = app
        .get("/.well-known/jwks.json", None)
        .await
        .json()
        .await
        .unwrap();
    let jwk = &jwks["keys"][0];
    let kid = jwk["kid"].as_str().unwrap().to_owned();

    // Garbage signature: refused, and no credit.
    let header = URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&json!({"alg": "HS256", "typ": "JWT", "kid": kid})).unwrap());
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let garbage = format!(
        "{header}.{payload}.{}",
        URL_SAFE_NO_PAD.encode(b"not a mac")
    );
    assert_eq!(me_with(&app, &garbage, &alice).await, 401);
    // Signed with some other secret: no credit either.
    let other = encode(
        &Header {
            alg: Algorithm::HS256,
            kid: Some(kid.clone()),
            ..Default::default()
        },
        &claims,
        &EncodingKey::from_secret(b"a guess"),
    )
    .unwrap();
    assert_eq!(me_with(&app, &other, &alice).await, 401);
    assert!(
        !solved(&app, &alice)
            .await
            .contains(&"jwt-key-confusion".to_owned()),
        "nothing was signed with the public key"
    );

    // The real attack: the JWK turned into its PEM, used as the HMAC key.
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
    let pem = backend::security::workshop::rsa_public_pem(&n, &e);
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
    let forged = encode(
        &Header {
            alg: Algorithm::HS256,
            kid: Some(kid),
            ..Default::default()
        },
        &claims,
        &EncodingKey::from_secret(pem.as_bytes()),
    )
    .unwrap();
    assert_eq!(me_with(&app, &forged, &alice).await, 401, "still refused");
    assert!(solved(&app, &alice)
        .await
        .contains(&"jwt-key-confusion".to_owned()));
}
