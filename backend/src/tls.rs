//! Native TLS (`TLS_CERT_FILE`, `TLS_KEY_FILE`): the rustls server
//! configuration, framework-free. `startup` serves it through actix-server.
//!
//! - TLS 1.3 only: a TLS 1.2 (or older) client is refused at the handshake.
//! - The crypto provider is aws-lc-rs, the one the signing keys and the Vault
//!   client already use (no ring, no OpenSSL).
//! - ALPN offers `http/1.1` only. The server never speaks HTTP/2: that is
//!   why deny.toml may ignore RUSTSEC-2026-0258 (h2). actix-web's own rustls
//!   listener (`HttpServer::listen_rustls_0_23`) always adds `h2` to ALPN when
//!   actix-http's `http2` feature is on (it is, through Leptos), so `startup`
//!   uses actix-http's HTTP/1-only service instead. Keep it that way.
//!
//! Errors name the variable and the file, never the file's contents.
//!
//! Layer: infrastructure, below `config` (which names its files): imports nothing of the crate.

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The certificate chain and private key files, both PEM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// `TLS_CERT_FILE`: the certificate, then any intermediates.
    pub cert: PathBuf,
    /// `TLS_KEY_FILE`: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The only ALPN protocol offered.
pub const ALPN_HTTP1: &[u8] = b"http/1.1";

/// Reads the files and builds the server configuration.
pub fn server_config(files: &TlsFiles) -> anyhow::Result<rustls::ServerConfig> {
    let certs = read_certs(&files.cert)?;
    let key = read_key(&files.key)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| anyhow::anyhow!("TLS setup failed: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            anyhow::anyhow!("TLS_CERT_FILE / TLS_KEY_FILE: the certificate and key are not usable together: {e}")
        })?;
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(config)
}

fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| pem_problem("TLS_CERT_FILE", path, "certificate", &e))?;
    if certs.is_empty() {
        anyhow::bail!("TLS_CERT_FILE: {} holds no PEM certificate", path.display());
    }
    Ok(certs)
}

fn read_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|e| pem_problem("TLS_KEY_FILE", path, "private key", &e))
}

/// What went wrong, without the parser's own message: that may quote a line
/// of the file, and the file may be a private key.
fn pem_problem(variable: &str, path: &Path, what: &str, e: &pem::Error) -> anyhow::Error {
    let problem = match e {
        pem::Error::Io(io) => format!("cannot read it ({})", io.kind()),
        pem::Error::NoItemsFound => format!("holds no PEM {what}"),
        _ => format!("is not a valid PEM {what}"),
    };
    anyhow::anyhow!("{variable}: {} {problem}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path, cert: &str, key: &str) -> TlsFiles {
        let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&c, cert).unwrap();
        std::fs::write(&k, key).unwrap();
        TlsFiles { cert: c, key: k }
    }

    #[test]
    fn bad_files_are_named_and_their_contents_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        // A broken PEM key, its markers built so no key-shaped text is in the source.
        let label = "PRIVATE KEY";
        let secret = format!(
            "-----BEGIN {label}-----\nc2VjcmV0LWtleS1tYXRlcmlhbA!!\n-----END {label}-----\n"
        );
        let err = server_config(&files(dir.path(), "not a certificate", &secret))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("TLS_CERT_FILE:"), "{err}");
        let missing = TlsFiles {
            cert: dir.path().join("nope.pem"),
            key: dir.path().join("nope.key"),
        };
        let err = server_config(&missing).unwrap_err().to_string();
        assert!(
            err.contains("TLS_CERT_FILE") && err.contains("cannot read"),
            "{err}"
        );

        let err = read_key(&files(dir.path(), "", &secret).key)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("TLS_KEY_FILE:"), "{err}");
        assert!(!err.contains("c2VjcmV0"), "{err}");
    }
}
