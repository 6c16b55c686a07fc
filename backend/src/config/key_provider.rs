//! `KEY_PROVIDER` and, for `pkcs11`, its three settings. Errors name the
//! setting, never the PIN's value.

use super::reader::Reader;
use crate::secret_provider::VaultSecrets;
use secrecy::SecretString;
use std::fmt;
use std::path::PathBuf;

/// `KEY_PROVIDER=files|pkcs11`.
#[derive(Clone, Debug)]
pub enum KeyProviderSettings {
    /// `files` (the default): `SIGNING_KEYS_DIR` and `FIELD_KEYS`.
    Files,
    /// `pkcs11`: the signing keys and a key-encryption key inside an HSM
    /// token; the field data keys stored wrapped in the database.
    Pkcs11(Pkcs11Settings),
}

/// `PKCS11_MODULE`, `PKCS11_TOKEN_LABEL`, `PKCS11_PIN` (a secret).
#[derive(Clone)]
pub struct Pkcs11Settings {
    /// The vendor's PKCS#11 library (`.so`).
    pub module: PathBuf,
    /// The label of the token (at most 32 characters): the slot is the one
    /// holding it, wherever the HSM puts it.
    pub token_label: String,
    /// The token's user PIN (`PKCS11_PIN`, `PKCS11_PIN_FILE` or Vault).
    pub pin: SecretString,
}

/// The PIN never prints.
impl fmt::Debug for Pkcs11Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Settings")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("pin", &format_args!("[redacted]"))
            .finish()
    }
}

const NEEDED: &str = "is required with KEY_PROVIDER=pkcs11";

pub(super) fn read(r: &Reader<'_>, vault: Option<&VaultSecrets>) -> KeyProviderSettings {
    match r.plain("KEY_PROVIDER").as_deref().map(str::trim) {
        None | Some("files") => KeyProviderSettings::Files,
        Some("pkcs11") => match (module(r), token_label(r), pin(r, vault)) {
            (Some(module), Some(token_label), Some(pin)) => {
                KeyProviderSettings::Pkcs11(Pkcs11Settings {
                    module,
                    token_label,
                    pin,
                })
            }
            _ => KeyProviderSettings::Files,
        },
        Some(other) => {
            r.fail(
                "KEY_PROVIDER",
                format!("must be `files` or `pkcs11`, not `{other}`"),
            );
            KeyProviderSettings::Files
        }
    }
}

fn module(r: &Reader<'_>) -> Option<PathBuf> {
    let module = r.plain("PKCS11_MODULE").map(PathBuf::from);
    match &module {
        None => r.fail(
            "PKCS11_MODULE",
            format!("{NEEDED} (the path of the HSM vendor's PKCS#11 library, a .so)"),
        ),
        // `dlopen` searches the library path for a bare name: the
        // file checked here might not be the one loaded.
        Some(m) if !m.is_absolute() => r.fail(
            "PKCS11_MODULE",
            format!("`{}` is not an absolute path", m.display()),
        ),
        Some(m) if !m.is_file() => {
            r.fail("PKCS11_MODULE", format!("`{}` is not a file", m.display()))
        }
        Some(_) => {}
    }
    module
}

fn token_label(r: &Reader<'_>) -> Option<String> {
    let label = r.plain("PKCS11_TOKEN_LABEL");
    match &label {
        None => r.fail(
            "PKCS11_TOKEN_LABEL",
            format!("{NEEDED} (the label the token was initialised with)"),
        ),
        Some(l) if l.chars().count() > 32 => r.fail(
            "PKCS11_TOKEN_LABEL",
            "a token label has at most 32 characters".into(),
        ),
        Some(_) => {}
    }
    label
}

fn pin(r: &Reader<'_>, vault: Option<&VaultSecrets>) -> Option<SecretString> {
    let pin = r.secret("PKCS11_PIN", vault);
    if pin.is_none() {
        r.fail(
            "PKCS11_PIN",
            format!("{NEEDED} (set PKCS11_PIN or PKCS11_PIN_FILE, or put it in Vault)"),
        );
    }
    pin
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use secrecy::ExposeSecret;

    #[test]
    fn the_pkcs11_provider_needs_its_settings_and_never_shows_the_pin() {
        let settings = Settings::from_pairs;
        assert!(matches!(
            settings(&[]).unwrap().key_provider,
            KeyProviderSettings::Files
        ));
        let err = settings(&[("KEY_PROVIDER", "pkcs12")]).unwrap_err();
        assert_eq!(err.0[0].variable, "KEY_PROVIDER");
        let err = settings(&[("KEY_PROVIDER", "pkcs11")]).unwrap_err();
        let named: Vec<_> = err.0.iter().map(|e| e.variable.as_str()).collect();
        assert_eq!(named, ["PKCS11_MODULE", "PKCS11_TOKEN_LABEL", "PKCS11_PIN"]);
        let module = tempfile::NamedTempFile::new().unwrap();
        let module = module.path().display().to_string();
        let pin = "pin-4711-do-not-print";
        let vars = [
            ("KEY_PROVIDER", "pkcs11"),
            ("PKCS11_MODULE", module.as_str()),
            ("PKCS11_TOKEN_LABEL", "app-keys"),
            ("PKCS11_PIN", pin),
        ];
        let s = settings(&vars).unwrap();
        let KeyProviderSettings::Pkcs11(p) = &s.key_provider else {
            panic!("pkcs11 expected");
        };
        assert_eq!(p.pin.expose_secret(), pin);
        assert!(!format!("{s:?}").contains(pin));
        // A bad module path is named; the PIN is not echoed with it.
        let mut bad = vars;
        bad[1] = ("PKCS11_MODULE", "/nowhere/libpkcs11.so");
        let err = settings(&bad).unwrap_err().to_string();
        assert!(err.contains("PKCS11_MODULE") && !err.contains(pin), "{err}");
    }

    /// Attack: `PKCS11_MODULE=libvendor.so` (a bare name) passed the file
    /// check against the working directory, but the loader (`dlopen`)
    /// searches the library path for a bare name: another library than the
    /// one checked would be loaded and given the PIN. Only absolute paths.
    #[test]
    fn a_relative_pkcs11_module_path_is_refused() {
        // Files that exist relative to the test's working directory (the crate).
        for relative in ["Cargo.toml", "./Cargo.toml", "src/main.rs"] {
            assert!(std::path::Path::new(relative).is_file(), "{relative}");
            let err = Settings::from_pairs(&[
                ("KEY_PROVIDER", "pkcs11"),
                ("PKCS11_MODULE", relative),
                ("PKCS11_TOKEN_LABEL", "app-keys"),
                ("PKCS11_PIN", "pin-4711-do-not-print"),
            ])
            .unwrap_err();
            assert_eq!(err.0.len(), 1, "{relative}: {err}");
            assert_eq!(err.0[0].variable, "PKCS11_MODULE");
            assert!(err.to_string().contains("absolute path"), "{err}");
        }
    }
}
