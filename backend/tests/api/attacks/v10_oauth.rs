//! ASVS 5.0 V10 (OAuth and OIDC): consent, scopes, metadata.

use crate::helpers::{spawn_app, spawn_app_with};
use serde_json::Value;

/// Issue 16, item 12: the metadata named `https://evil.example` as issuer
/// for `Forwarded: host=evil.example;proto=https`, and was cached `public`.
#[tokio::test]
async fn v10_metadata_urls_come_from_configuration_not_request_headers() {
    let configured = "https://auth.example.org";
    for (app, base) in [
        (
            spawn_app_with(&[("APP_PUBLIC_URL", configured)]).await,
            configured.to_owned(),
        ),
        // Behind a trusted proxy too: the metadata is configuration.
        (
            spawn_app_with(&[
                ("APP_PUBLIC_URL", configured),
                ("TRUSTED_PROXIES", "127.0.0.1/32"),
            ])
            .await,
            configured.to_owned(),
        ),
    ] {
        let forged: [&[(&str, &str)]; 4] = [
            &[("Forwarded", "host=evil.example;proto=https")],
            &[
                ("X-Forwarded-Host", "evil.example"),
                ("X-Forwarded-Proto", "https"),
            ],
            &[("Host", "evil.example")],
            &[],
        ];
        for headers in forged {
            let mut req = app
                .client
                .get(app.url("/.well-known/oauth-authorization-server"));
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 200, "{headers:?}");
            assert_eq!(r.headers()["cache-control"], "public, max-age=300");
            let vary = r
                .headers()
                .get("vary")
                .map(|v| v.to_str().unwrap().to_ascii_lowercase());
            assert!(
                !vary.unwrap_or_default().contains("host"),
                "nothing in it varies by host"
            );
            let m: Value = r.json().await.unwrap();
            assert_eq!(m["issuer"], base.as_str(), "{headers:?}");
            for (name, path) in [
                ("authorization_endpoint", "/oauth/authorize"),
                ("token_endpoint", "/oauth/token"),
                ("revocation_endpoint", "/oauth/revoke"),
                ("introspection_endpoint", "/oauth/introspect"),
                ("jwks_uri", "/.well-known/jwks.json"),
            ] {
                assert_eq!(m[name], format!("{base}{path}"), "{name} {headers:?}");
            }
            assert!(!m.to_string().contains("evil"), "{m}");
        }
    }
}

/// Unconfigured, the metadata names this server's own listener, whatever
/// the request says.
#[tokio::test]
async fn v10_unconfigured_metadata_names_the_listener_not_the_request() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/.well-known/oauth-authorization-server"))
        .header("Forwarded", "host=evil.example;proto=https")
        .header("X-Forwarded-Host", "evil.example")
        .send()
        .await
        .unwrap();
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["issuer"], app.address.as_str());
    assert_eq!(m["token_endpoint"], format!("{}/oauth/token", app.address));
}

/// Forwarded headers count only from a trusted proxy: a client that claims
/// `proto=https` over plain HTTP is not treated as TLS (no HSTS).
#[tokio::test]
async fn v10_forwarded_proto_counts_only_from_a_trusted_proxy() {
    let untrusted = spawn_app().await;
    let trusted = spawn_app_with(&[("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    for (app, hsts) in [(&untrusted, false), (&trusted, true)] {
        for (k, v) in [
            ("X-Forwarded-Proto", "https"),
            ("Forwarded", "for=203.0.113.9;proto=https"),
        ] {
            let r = app
                .client
                .get(app.url("/healthz"))
                .header(k, v)
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.headers().get("strict-transport-security").is_some(),
                hsts,
                "{k}: {v}"
            );
        }
    }
}
