//! Where the keys that must not be copied live (`KEY_PROVIDER`):
//!
//! - `files` (the default): the RS256 signing keys as PEM files in
//!   `SIGNING_KEYS_DIR` and the field keys in `FIELD_KEYS` (`keys`).
//! - `pkcs11`: an HSM token (`pkcs11`). The signing keys are generated in
//!   it and sign there (`security::signing_keys::ExternalSigner`); a
//!   key-encryption key in it wraps the field data keys, which the database
//!   stores only wrapped (`services::data_keys`) and the server unwraps
//!   into memory at start — so the rest of the app keeps using `FieldKeys`.
//!
//! Layer: infrastructure, below `keys`, above `config` (it reads its settings).

pub mod pkcs11;

use crate::config::{KeyProviderSettings, Settings};
use std::sync::Arc;

/// The token, when `KEY_PROVIDER=pkcs11` (opened once per process).
pub fn token(settings: &Settings) -> anyhow::Result<Option<Arc<pkcs11::Token>>> {
    match &settings.key_provider {
        KeyProviderSettings::Files => Ok(None),
        KeyProviderSettings::Pkcs11(p) => pkcs11::open(p).map(Some),
    }
}
