//! Where secrets come from: one [`SecretProvider`] abstraction with three
//! sources, asked in this order for a name such as `SESSION_KEY`:
//!
//! 1. the environment variable `NAME`;
//! 2. the file named by `NAME_FILE` (Docker and Kubernetes secrets), trimmed;
//! 3. HashiCorp Vault, when `VAULT_ADDR` is set: the key `NAME` of one KV v2
//!    secret, read once at start-up (see [`vault`]; with `VAULT_DB_ROLE` the
//!    database credentials also come from Vault and are renewed).
//!
//! `NAME` and `NAME_FILE` together are an error, so it is always clear which
//! local value is in force. A local value (1 or 2) wins over Vault, with a
//! warning that names the variable: it is an explicit override on this
//! machine. The names read this way are `DATABASE_URL`, `DATABASE_MIGRATION_URL` (by `config`),
//! `SESSION_KEY` and `FIELD_KEYS` (by `keys::symmetric`).
//!
//! Every secret is held in a `secrecy` wrapper, so `Debug` shows a redaction
//! marker and never the value; errors name the variable and the source, never
//! the value.
//!
//! Layer: infrastructure, below `config`, above `db` and `telemetry` (Vault's dynamic database credentials open pools).

pub mod vault;

use secrecy::SecretString;
use std::fmt;

pub use vault::{VaultConfig, VaultSecrets};

/// What a `Debug` impl prints in place of a secret.
pub const REDACTED: &str = "[redacted]";

/// A problem with one secret: the variable to fix and what is wrong. Never
/// carries the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct SecretError {
    pub variable: String,
    pub problem: String,
}

impl SecretError {
    pub fn new(variable: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            variable: variable.into(),
            problem: problem.into(),
        }
    }
}

/// One source of secrets.
pub trait SecretProvider {
    /// Whether this source is configured to give `name` (without reading it).
    fn is_set(&self, name: &str) -> bool;

    /// The value stored under `name`, or `None` when this source has none.
    fn get(&self, name: &str) -> Result<Option<SecretString>, SecretError>;

    /// How an operator puts `name` in this source, for error messages
    /// (`SESSION_KEY_FILE`, `key SESSION_KEY in Vault at secret/data/app`).
    fn how_to_set(&self, name: &str) -> String;

    /// Whether this source is local to the machine (environment, files).
    /// Two local sources holding one name are an error; a local source
    /// overrides a remote one.
    fn is_local(&self) -> bool {
        true
    }
}

impl<T: SecretProvider + ?Sized> SecretProvider for &T {
    fn is_set(&self, name: &str) -> bool {
        (**self).is_set(name)
    }

    fn get(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        (**self).get(name)
    }

    fn how_to_set(&self, name: &str) -> String {
        (**self).how_to_set(name)
    }

    fn is_local(&self) -> bool {
        (**self).is_local()
    }
}

/// The environment variable `NAME` (empty counts as unset).
pub struct EnvProvider<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> EnvProvider<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { lookup }
    }
}

impl SecretProvider for EnvProvider<'_> {
    fn is_set(&self, name: &str) -> bool {
        (self.lookup)(name).is_some_and(|v| !v.is_empty())
    }

    fn get(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        Ok((self.lookup)(name)
            .filter(|v| !v.is_empty())
            .map(SecretString::from))
    }

    fn how_to_set(&self, name: &str) -> String {
        name.to_owned()
    }
}

/// The trimmed contents of the file named by `NAME_FILE`.
pub struct FileProvider<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> FileProvider<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { lookup }
    }
}

impl SecretProvider for FileProvider<'_> {
    fn is_set(&self, name: &str) -> bool {
        (self.lookup)(&format!("{name}_FILE")).is_some_and(|v| !v.is_empty())
    }

    fn get(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        let variable = format!("{name}_FILE");
        let Some(path) = (self.lookup)(&variable).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        std::fs::read_to_string(&path)
            .map(|s| Some(SecretString::from(s.trim().to_owned())))
            .map_err(|e| SecretError::new(variable, format!("cannot read `{path}`: {}", e.kind())))
    }

    fn how_to_set(&self, name: &str) -> String {
        format!("{name}_FILE")
    }
}

/// The sources in precedence order (see the module documentation).
pub struct ProviderChain<'a> {
    providers: Vec<Box<dyn SecretProvider + 'a>>,
}

impl<'a> ProviderChain<'a> {
    pub fn new(providers: Vec<Box<dyn SecretProvider + 'a>>) -> Self {
        Self { providers }
    }

    /// Environment, `*_FILE`, then Vault when it is configured.
    pub fn standard(
        lookup: &'a dyn Fn(&str) -> Option<String>,
        vault: Option<&'a VaultSecrets>,
    ) -> Self {
        let mut providers: Vec<Box<dyn SecretProvider + 'a>> = vec![
            Box::new(EnvProvider::new(lookup)),
            Box::new(FileProvider::new(lookup)),
        ];
        if let Some(v) = vault {
            providers.push(Box::new(v));
        }
        Self::new(providers)
    }

    /// The value of `name` from the first source that has it.
    pub fn get(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        let set: Vec<&dyn SecretProvider> = self
            .providers
            .iter()
            .map(|p| p.as_ref())
            .filter(|p| p.is_set(name))
            .collect();
        let Some((first, others)) = set.split_first() else {
            return Ok(None);
        };
        for other in others {
            if first.is_local() && other.is_local() {
                return Err(SecretError::new(
                    other.how_to_set(name),
                    format!(
                        "set either {} or {}, not both",
                        first.how_to_set(name),
                        other.how_to_set(name)
                    ),
                ));
            }
            tracing::warn!(
                secret = name,
                "{} overrides the {}",
                first.how_to_set(name),
                other.how_to_set(name)
            );
        }
        first.get(name)
    }

    /// Every way to set `name`, for a "missing" message:
    /// `SESSION_KEY, SESSION_KEY_FILE or key SESSION_KEY in Vault at …`.
    pub fn how_to_set(&self, name: &str) -> String {
        let ways: Vec<String> = self.providers.iter().map(|p| p.how_to_set(name)).collect();
        match ways.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            Some((last, _)) => last.clone(),
            None => name.to_owned(),
        }
    }

    /// Whether a remote source (Vault) is configured.
    pub fn has_remote(&self) -> bool {
        self.providers.iter().any(|p| !p.is_local())
    }
}

/// A `Debug` helper for structs holding secrets: prints the marker.
pub struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn map(vars: &[(&str, &str)]) -> HashMap<String, String> {
        vars.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_environment_comes_first_then_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "from-file\n").unwrap();
        let vars = map(&[
            ("A", "from-env"),
            ("B_FILE", path.to_str().unwrap()),
            ("C", ""),
        ]);
        let lookup = |n: &str| vars.get(n).cloned();
        let chain = ProviderChain::standard(&lookup, None);
        assert_eq!(chain.get("A").unwrap().unwrap().expose_secret(), "from-env");
        assert_eq!(
            chain.get("B").unwrap().unwrap().expose_secret(),
            "from-file"
        );
        assert!(chain.get("C").unwrap().is_none());
        assert!(chain.get("D").unwrap().is_none());
        assert_eq!(chain.how_to_set("D"), "D or D_FILE");
        assert!(!chain.has_remote());
    }

    #[test]
    fn a_name_set_twice_locally_or_an_unreadable_file_is_an_error() {
        let vars = map(&[
            ("A", "x"),
            ("A_FILE", "/nope"),
            ("B_FILE", "/does/not/exist"),
        ]);
        let lookup = |n: &str| vars.get(n).cloned();
        let chain = ProviderChain::standard(&lookup, None);
        let err = chain.get("A").unwrap_err();
        assert_eq!(err.variable, "A_FILE");
        assert!(err.problem.contains("not both"), "{err}");
        let err = chain.get("B").unwrap_err();
        assert_eq!(err.variable, "B_FILE");
        assert!(err.to_string().contains("/does/not/exist"));
    }

    #[test]
    fn a_local_value_overrides_vault_and_vault_fills_the_rest() {
        let vault = VaultSecrets::from_values(
            "secret/data/app",
            [("A", "from-vault"), ("B", "vault-only")],
        );
        let vars = map(&[("A", "from-env")]);
        let lookup = |n: &str| vars.get(n).cloned();
        let chain = ProviderChain::standard(&lookup, Some(&vault));
        assert_eq!(chain.get("A").unwrap().unwrap().expose_secret(), "from-env");
        assert_eq!(
            chain.get("B").unwrap().unwrap().expose_secret(),
            "vault-only"
        );
        assert!(chain.has_remote());
        assert_eq!(
            chain.how_to_set("C"),
            "C, C_FILE or key C in Vault at secret/data/app"
        );
    }

    #[test]
    fn asvs_13_3_1_secret_errors_never_carry_the_value() {
        let vars = map(&[("A", "hunter2-value"), ("A_FILE", "/x")]);
        let lookup = |n: &str| vars.get(n).cloned();
        let err = ProviderChain::standard(&lookup, None).get("A").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
        assert!(!format!("{err:?}").contains("hunter2"));
        assert_eq!(format!("{:?}", Redacted), "[redacted]");
    }
}
