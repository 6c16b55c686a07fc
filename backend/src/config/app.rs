//! The settings every other part depends on: `APP_ENV`, `APP_ADDR`,
//! `APP_DATA_DIR`, Vault (the last source of every secret), where the site
//! files are, `LOG_FORMAT` and workshop mode.

use super::reader::Reader;
use super::AppEnv;
use crate::secret_provider::VaultSecrets;
use crate::telemetry::LogFormat;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub(super) struct App {
    pub env: AppEnv,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub vault: Option<Arc<VaultSecrets>>,
    pub site_root: PathBuf,
    pub output_name: String,
    pub log_format: LogFormat,
    pub workshop: bool,
}

pub(super) fn read(r: &Reader<'_>) -> App {
    let env = app_env(r);
    let addr = r.parsed("APP_ADDR", SocketAddr::from(([127, 0, 0, 1], 3000)));
    let data_dir = PathBuf::from(r.plain("APP_DATA_DIR").unwrap_or_else(|| "./data".into()));
    let vault = crate::secret_provider::vault::load(r.lookup, env == AppEnv::Production)
        .unwrap_or_else(|errors| {
            for e in errors {
                r.fail(&e.variable, e.problem);
            }
            None
        });
    App {
        env,
        addr,
        data_dir,
        vault,
        site_root: PathBuf::from(
            r.plain("LEPTOS_SITE_ROOT")
                .unwrap_or_else(|| "target/site".into()),
        ),
        output_name: r
            .plain("LEPTOS_OUTPUT_NAME")
            .unwrap_or_else(|| "frontend".into()),
        log_format: log_format(r, env),
        workshop: workshop(r, env),
    }
}

fn app_env(r: &Reader<'_>) -> AppEnv {
    match r.plain("APP_ENV").as_deref() {
        None | Some("dev") | Some("development") => AppEnv::Dev,
        Some("production") | Some("prod") => AppEnv::Production,
        Some(other) => {
            r.fail(
                "APP_ENV",
                format!("must be `dev` or `production`, not `{other}`"),
            );
            AppEnv::Dev
        }
    }
}

fn log_format(r: &Reader<'_>, env: AppEnv) -> LogFormat {
    match r.plain("LOG_FORMAT").as_deref() {
        None => match env {
            AppEnv::Dev => LogFormat::Pretty,
            AppEnv::Production => LogFormat::Json,
        },
        Some("pretty") => LogFormat::Pretty,
        Some("json") => LogFormat::Json,
        Some(other) => {
            r.fail(
                "LOG_FORMAT",
                format!("must be `pretty` or `json`, not `{other}`"),
            );
            LogFormat::Pretty
        }
    }
}

fn workshop(r: &Reader<'_>, env: AppEnv) -> bool {
    let workshop = match r.plain("APP_WORKSHOP").as_deref().map(str::trim) {
        None | Some("0") | Some("off") | Some("false") | Some("no") => false,
        Some("1") | Some("on") | Some("true") | Some("yes") => true,
        Some(other) => {
            r.fail("APP_WORKSHOP", format!("must be `1` or `0`, not `{other}`"));
            false
        }
    };
    if workshop && env == AppEnv::Production {
        r.fail(
            "APP_WORKSHOP",
            "workshop mode is not for production; unset it or use APP_ENV=dev".into(),
        );
    }
    workshop
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;

    #[test]
    fn workshop_mode_is_off_unless_asked_for_and_never_in_production() {
        let settings = Settings::from_pairs;
        assert!(!settings(&[]).unwrap().workshop);
        for (raw, on) in [
            ("1", true),
            ("on", true),
            ("true", true),
            ("0", false),
            ("off", false),
        ] {
            assert_eq!(
                settings(&[("APP_WORKSHOP", raw)]).unwrap().workshop,
                on,
                "{raw}"
            );
        }
        let err = settings(&[("APP_WORKSHOP", "maybe")]).unwrap_err();
        assert_eq!(err.0[0].variable, "APP_WORKSHOP");
        let err = settings(&[
            ("APP_ENV", "production"),
            ("DATABASE_URL", "sqlite://x"),
            ("APP_WORKSHOP", "1"),
        ])
        .unwrap_err();
        assert!(err.0.iter().any(|e| e.variable == "APP_WORKSHOP"));
    }
}
