//! How the server is reached: native TLS (`TLS_CERT_FILE`, `TLS_KEY_FILE`),
//! the management listener (`ADMIN_ADDR`), the origins it answers as
//! (`APP_TRUSTED_ORIGINS`, `APP_PUBLIC_URL`) and the scrape token of
//! `/metrics` (`METRICS_TOKEN`, a secret).

use super::reader::Reader;
use crate::secret_provider::VaultSecrets;
use crate::tls::TlsFiles;
use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub(super) struct Server {
    pub trusted_origins: Vec<String>,
    pub public_url: Option<String>,
    pub metrics_token: Option<SecretString>,
    pub tls: Option<TlsFiles>,
    pub admin_addr: Option<SocketAddr>,
}

pub(super) fn read(r: &Reader<'_>, addr: SocketAddr, vault: Option<&VaultSecrets>) -> Server {
    let trusted_origins = trusted_origins(r);
    let public_url = public_url(r).or_else(|| trusted_origins.first().cloned());
    Server {
        trusted_origins,
        public_url,
        metrics_token: metrics_token(r, vault),
        tls: tls(r),
        admin_addr: admin_addr(r, addr),
    }
}

fn trusted_origins(r: &Reader<'_>) -> Vec<String> {
    let origins = r
        .plain("APP_TRUSTED_ORIGINS")
        .map(|v| {
            v.split(',')
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for origin in &origins {
        if !(origin.starts_with("http://") || origin.starts_with("https://")) {
            r.fail(
                "APP_TRUSTED_ORIGINS",
                format!("`{origin}` must start with http:// or https://"),
            );
        }
    }
    origins
}

/// `APP_PUBLIC_URL` as given (the caller falls back to the first trusted
/// origin).
fn public_url(r: &Reader<'_>) -> Option<String> {
    let url = r
        .plain("APP_PUBLIC_URL")
        .map(|v| v.trim().trim_end_matches('/').to_owned())
        .filter(|v| !v.is_empty());
    if let Some(url) = &url {
        if crate::security::origin::origin_of(url).as_deref() != Some(url.as_str()) {
            r.fail(
                "APP_PUBLIC_URL",
                format!("`{url}` must be an origin like https://app.example.org (no path)"),
            );
        }
    }
    url
}

fn metrics_token(r: &Reader<'_>, vault: Option<&VaultSecrets>) -> Option<SecretString> {
    let token = r.secret("METRICS_TOKEN", vault);
    if token
        .as_ref()
        .is_some_and(|t| t.expose_secret().chars().count() < 32)
    {
        r.fail(
            "METRICS_TOKEN",
            "must be at least 32 characters (e.g. `openssl rand -hex 32`)".into(),
        );
    }
    token
}

/// Both files or neither; each must exist.
fn tls(r: &Reader<'_>) -> Option<TlsFiles> {
    match (r.plain("TLS_CERT_FILE"), r.plain("TLS_KEY_FILE")) {
        (None, None) => None,
        (Some(cert), Some(key)) => {
            for (name, path) in [("TLS_CERT_FILE", &cert), ("TLS_KEY_FILE", &key)] {
                if !Path::new(path).is_file() {
                    r.fail(name, format!("`{path}` is not a readable file"));
                }
            }
            Some(TlsFiles {
                cert: PathBuf::from(cert),
                key: PathBuf::from(key),
            })
        }
        (Some(_), None) => {
            r.fail(
                "TLS_KEY_FILE",
                "is required when TLS_CERT_FILE is set".into(),
            );
            None
        }
        (None, Some(_)) => {
            r.fail(
                "TLS_CERT_FILE",
                "is required when TLS_KEY_FILE is set".into(),
            );
            None
        }
    }
}

fn admin_addr(r: &Reader<'_>, addr: SocketAddr) -> Option<SocketAddr> {
    let admin_addr = r.plain("ADMIN_ADDR").and_then(|raw| {
        raw.trim().parse::<SocketAddr>().ok().or_else(|| {
            r.fail(
                "ADMIN_ADDR",
                format!("`{raw}` is not a socket address like 127.0.0.1:9000"),
            );
            None
        })
    });
    if admin_addr.is_some_and(|a| a == addr && a.port() != 0) {
        r.fail("ADMIN_ADDR", "must differ from APP_ADDR".into());
    }
    admin_addr
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;
    use secrecy::ExposeSecret;

    #[test]
    fn the_metrics_token_is_a_long_secret_never_shown() {
        let settings = Settings::from_pairs;
        assert!(settings(&[]).unwrap().metrics_token.is_none());
        let err = settings(&[("METRICS_TOKEN", "short")]).unwrap_err();
        assert_eq!(err.0[0].variable, "METRICS_TOKEN");
        assert!(!err.to_string().contains("short"));
        let token = "0123456789abcdef".repeat(2);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics_token");
        std::fs::write(&path, format!("{token}\n")).unwrap();
        let s = settings(&[("METRICS_TOKEN_FILE", path.to_str().unwrap())]).unwrap();
        let read = s.metrics_token.as_ref().unwrap();
        assert_eq!(read.expose_secret(), token);
        assert!(!format!("{s:?}").contains(&token));
    }

    #[test]
    fn tls_needs_both_files_and_they_must_exist() {
        let settings = Settings::from_pairs;
        let s = settings(&[]).unwrap();
        assert!(s.tls.is_none() && s.admin_addr.is_none());
        let err = settings(&[("TLS_CERT_FILE", "/etc/cert.pem")]).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].variable, "TLS_KEY_FILE");
        let err = settings(&[("TLS_KEY_FILE", "/etc/key.pem")]).unwrap_err();
        assert_eq!(err.0[0].variable, "TLS_CERT_FILE");
        let err = settings(&[
            ("TLS_CERT_FILE", "/does/not/exist.pem"),
            ("TLS_KEY_FILE", "/does/not/exist.key"),
        ])
        .unwrap_err();
        let named: Vec<_> = err.0.iter().map(|e| e.variable.as_str()).collect();
        assert_eq!(named, ["TLS_CERT_FILE", "TLS_KEY_FILE"]);

        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&cert, "x").unwrap();
        std::fs::write(&key, "y").unwrap();
        let s = settings(&[
            ("TLS_CERT_FILE", cert.to_str().unwrap()),
            ("TLS_KEY_FILE", key.to_str().unwrap()),
        ])
        .unwrap();
        assert_eq!(s.tls.unwrap().key, key);
    }

    #[test]
    fn admin_addr_is_a_socket_address_apart_from_app_addr() {
        let settings = Settings::from_pairs;
        let s = settings(&[("ADMIN_ADDR", "127.0.0.1:9000")]).unwrap();
        assert_eq!(s.admin_addr, Some("127.0.0.1:9000".parse().unwrap()));
        let err = settings(&[("ADMIN_ADDR", "localhost")]).unwrap_err();
        assert_eq!(err.0[0].variable, "ADMIN_ADDR");
        let err = settings(&[("ADMIN_ADDR", "127.0.0.1:3000")]).unwrap_err();
        assert!(err.0[0].problem.contains("differ from APP_ADDR"));
        // Port 0 (tests) picks a free port for each.
        let s = settings(&[("APP_ADDR", "127.0.0.1:0"), ("ADMIN_ADDR", "127.0.0.1:0")]).unwrap();
        assert!(s.admin_addr.is_some());
    }
}
