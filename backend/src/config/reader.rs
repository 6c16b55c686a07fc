//! How `Settings::from_lookup` reads variables: each read goes through one
//! `Reader`, which collects every problem instead of stopping at the first,
//! so a misconfigured deployment sees them all at once.

use super::{ConfigError, ConfigErrors};
use crate::secret_provider::{ProviderChain, VaultSecrets};
use crate::security::client_ip::Cidr;
use secrecy::SecretString;
use std::cell::RefCell;

pub(super) struct Reader<'a> {
    pub(super) lookup: &'a dyn Fn(&str) -> Option<String>,
    errors: RefCell<Vec<ConfigError>>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            lookup,
            errors: RefCell::new(Vec::new()),
        }
    }

    pub(super) fn fail(&self, variable: &str, problem: String) {
        self.errors.borrow_mut().push(ConfigError {
            variable: variable.to_owned(),
            problem,
        });
    }

    /// Every problem recorded, if any.
    pub(super) fn finish(self) -> Result<(), ConfigErrors> {
        let errors = self.errors.into_inner();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// A non-secret value; empty counts as unset.
    pub(super) fn plain(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// A secret value, from `NAME`, the file named by `NAME_FILE`, or Vault
    /// (`secret_provider`).
    pub(super) fn secret(&self, name: &str, vault: Option<&VaultSecrets>) -> Option<SecretString> {
        ProviderChain::standard(self.lookup, vault)
            .get(name)
            .unwrap_or_else(|e| {
                self.fail(&e.variable, e.problem);
                None
            })
    }

    /// A parsed value, or `default` when unset (and when invalid, after
    /// recording the error).
    pub(super) fn parsed<T: std::str::FromStr>(&self, name: &str, default: T) -> T {
        match self.plain(name) {
            Some(raw) => raw.trim().parse().unwrap_or_else(|_| {
                self.fail(name, format!("`{raw}` is not a valid value"));
                default
            }),
            None => default,
        }
    }

    /// A comma-separated list of addresses or CIDRs (unset: empty).
    pub(super) fn cidrs(&self, name: &str) -> Vec<Cidr> {
        self.plain(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .filter_map(|s| {
                        Cidr::parse(s).or_else(|| {
                            self.fail(name, format!("`{s}` is not an address or CIDR"));
                            None
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}
