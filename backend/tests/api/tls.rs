//! Native TLS (`TLS_CERT_FILE`, `TLS_KEY_FILE`): TLS 1.3 only, HTTP/1.1
//! only (ALPN never picks h2), HSTS on every response, on both listeners.

use crate::helpers::{fresh_database, settings_for, spawn_app_with, TestApp};
use std::sync::Arc;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

struct TlsApp {
    app: TestApp,
    cert: CertificateDer<'static>,
    _dir: TempDir,
}

/// A self-signed certificate for localhost, in a temp dir.
fn certificate() -> (TempDir, String, String, CertificateDer<'static>) {
    let dir = tempfile::tempdir().unwrap();
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    (
        dir,
        cert.display().to_string(),
        key.display().to_string(),
        generated.cert.der().clone(),
    )
}

async fn tls_app() -> TlsApp {
    let (dir, cert_file, key_file, cert) = certificate();
    let app = spawn_app_with(&[
        ("TLS_CERT_FILE", &cert_file),
        ("TLS_KEY_FILE", &key_file),
        ("ADMIN_ADDR", "127.0.0.1:0"),
    ])
    .await;
    TlsApp {
        app,
        cert,
        _dir: dir,
    }
}

fn port(address: &str) -> u16 {
    address.rsplit(':').next().unwrap().parse().unwrap()
}

fn connector(
    cert: &CertificateDer<'static>,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    TlsConnector::from(Arc::new(config))
}

async fn connect(connector: &TlsConnector, port: u16) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await
}

/// A raw HTTP/1.1 GET; the whole response, header names lower-cased by
/// the server.
async fn get(stream: &mut TlsStream<TcpStream>, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    // Until the server closes (with or without close_notify).
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_tls_1_2_client_is_refused_and_a_tls_1_3_client_served_on_both_listeners() {
    let t = tls_app().await;
    let management = t.app.management_address.clone().unwrap();
    for port in [port(&t.app.address), port(&management)] {
        let tls12 = connector(&t.cert, &[&rustls::version::TLS12], &[b"http/1.1"]);
        assert!(
            connect(&tls12, port).await.is_err(),
            "TLS 1.2 handshake on {port}"
        );

        let tls13 = connector(&t.cert, &[&rustls::version::TLS13], &[b"h2", b"http/1.1"]);
        let mut stream = connect(&tls13, port).await.expect("TLS 1.3 handshake");
        let (_, session) = stream.get_ref();
        assert_eq!(
            session.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
        // Offered h2 first, still HTTP/1.1: the server never speaks HTTP/2.
        assert_eq!(session.alpn_protocol(), Some(&b"http/1.1"[..]));
        let response = get(&mut stream, "/healthz").await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(
            response
                .to_ascii_lowercase()
                .contains("strict-transport-security: max-age=63072000; includesubdomains"),
            "{response}"
        );
    }
}

#[tokio::test]
async fn h2_is_never_negotiated() {
    let t = tls_app().await;
    let h2_only = connector(&t.cert, &[&rustls::version::TLS13], &[b"h2"]);
    match connect(&h2_only, port(&t.app.address)).await {
        // rustls refuses a client whose protocols it does not speak.
        Err(_) => {}
        Ok(stream) => assert_ne!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..])),
    }
    // No ALPN at all: HTTP/1.1.
    let plain = connector(&t.cert, &[&rustls::version::TLS13], &[]);
    let mut stream = connect(&plain, port(&t.app.address)).await.unwrap();
    let response = get(&mut stream, "/api/v1/admin/users").await;
    // The admin API is on the management listener only.
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");
}

#[tokio::test]
async fn a_bad_key_stops_start_up_without_showing_it() {
    let (dir, cert_file, _, _) = certificate();
    let key_file = dir.path().join("bad.pem");
    std::fs::write(
        &key_file,
        // Broken base64; the markers built so no key-shaped text is in the source.
        format!(
            "-----BEGIN {0}-----\nU0VDUkVUS0VZTUFURVJJQUw*\n-----END {0}-----\n",
            "PRIVATE KEY"
        ),
    )
    .unwrap();
    let database_url = fresh_database(&dir);
    let settings = settings_for(
        &dir,
        &database_url,
        &[
            ("TLS_CERT_FILE", &cert_file),
            ("TLS_KEY_FILE", key_file.to_str().unwrap()),
        ],
    );
    let err = match backend::startup::Application::build(settings).await {
        Ok(_) => panic!("started with a bad key"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("TLS_KEY_FILE"), "{err}");
    assert!(!err.contains("U0VDUkVU"), "{err}");
}
