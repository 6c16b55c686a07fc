//! Keys the server needs, from the environment (or `<NAME>_FILE`) or — in dev
//! mode only — generated once under `APP_DATA_DIR/keys/` with mode 0600.
//!
//! In production a missing key stops start-up: a generated key there would be
//! lost on the next deploy (logging everyone out) or differ between replicas.

use crate::config::{read_secret, AppEnv, Settings};
use crate::security::field_crypto::FieldKeys;
use crate::security::signing_keys::{self, KeySet, SigningKey};
use anyhow::{bail, Context};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretSlice};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Every key the server loads at start-up.
pub struct Keys {
    /// `SESSION_KEY`: 32 bytes, hex. Session tokens are stored only as an
    /// HMAC under this key, so a copy of the sessions table alone is useless.
    pub session: SecretSlice<u8>,
    /// The RS256 keys that sign and verify access tokens.
    pub signing: SigningKeys,
    /// `FIELD_KEYS`: AES-256-GCM keys for encrypted columns, `kid:hex,…`,
    /// the first one current.
    pub fields: FieldKeys,
}

impl Keys {
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        Ok(Self {
            session: load_key(settings, "SESSION_KEY", "session.key")?,
            signing: SigningKeys::load(settings)?,
            fields: load_field_keys(settings)?,
        })
    }
}

/// The signing keys in `SIGNING_KEYS_DIR`, reloadable while the server runs
/// (so a key added by `backend rotate-signing-key` is picked up).
pub struct SigningKeys {
    dir: PathBuf,
    token_ttl_secs: i64,
    set: RwLock<Arc<KeySet>>,
}

impl SigningKeys {
    /// Loads the folder. When it holds no key: dev mode generates one,
    /// production refuses to start.
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        let dir = settings.signing_keys_dir.clone();
        let token_ttl_secs = i64::try_from(settings.access_token_ttl.as_secs()).unwrap_or(900);
        if read_key_dir(&dir)?.is_empty() {
            match settings.env {
                AppEnv::Production => bail!(
                    "SIGNING_KEYS_DIR ({}) holds no signing key: run `backend rotate-signing-key` \
                     or mount the keys there",
                    dir.display()
                ),
                AppEnv::Dev => {
                    let kid = write_new_key(&dir)?;
                    tracing::warn!(kid, dir = %dir.display(), "dev mode: generated a signing key");
                }
            }
        }
        let set = KeySet::new(read_key_dir(&dir)?, token_ttl_secs)?;
        Ok(Self {
            dir,
            token_ttl_secs,
            set: RwLock::new(Arc::new(set)),
        })
    }

    /// The keys as of the last (re)load.
    pub fn current(&self) -> Arc<KeySet> {
        self.set.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Re-reads the folder; keeps the old set if the folder is unreadable or empty.
    pub fn reload(&self) -> anyhow::Result<()> {
        let set = KeySet::new(read_key_dir(&self.dir)?, self.token_ttl_secs)?;
        *self.set.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
        Ok(())
    }
}

/// Adds a new current key to `dir` and deletes the files of keys that can no
/// longer verify anything. Returns the new kid.
pub fn rotate_signing_key(dir: &Path, token_ttl_secs: i64) -> anyhow::Result<String> {
    let kid = write_new_key(dir)?;
    let set = KeySet::new(read_key_dir(dir)?, token_ttl_secs)?;
    let now = chrono::Utc::now().timestamp();
    for old in set.kids() {
        if set.verifying_key(old, now).is_none() {
            std::fs::remove_file(dir.join(format!("{old}.pem")))
                .with_context(|| format!("cannot remove the expired key {old}"))?;
        }
    }
    Ok(kid)
}

fn write_new_key(dir: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    restrict(dir, 0o700)?;
    // A new key must be strictly newer than every key already there, or two
    // keys created in the same second could not be ordered.
    let newest = read_key_dir(dir)?.iter().map(|k| k.created_at).max();
    let now = chrono::Utc::now().timestamp();
    let created = newest.map_or(now, |n| now.max(n + 1));
    let (kid, pem) = signing_keys::generate(created)?;
    write_private(&dir.join(format!("{kid}.pem")), pem.as_bytes())?;
    Ok(kid)
}

/// Every `<kid>.pem` in `dir` (a missing folder holds none).
fn read_key_dir(dir: &Path) -> anyhow::Result<Vec<SigningKey>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut keys = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "pem") {
            continue;
        }
        let kid = path
            .file_stem()
            .and_then(|s| s.to_str())
            .context("key file name is not UTF-8")?;
        let pem =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        keys.push(SigningKey::from_pem(kid, &pem)?);
    }
    Ok(keys)
}

fn load_key(settings: &Settings, name: &str, file_name: &str) -> anyhow::Result<SecretSlice<u8>> {
    let lookup = |n: &str| std::env::var(n).ok();
    if let Some(value) = read_secret(&lookup, name).map_err(|p| anyhow::anyhow!("{name}: {p}"))? {
        return decode_key(name, value.expose_secret());
    }
    match settings.env {
        AppEnv::Production => bail!(
            "{name} is required in production mode (set {name} or {name}_FILE to 64 hex characters)"
        ),
        AppEnv::Dev => dev_key(name, &settings.data_dir.join("keys").join(file_name)),
    }
}

fn load_field_keys(settings: &Settings) -> anyhow::Result<FieldKeys> {
    let lookup = |n: &str| std::env::var(n).ok();
    if let Some(spec) =
        read_secret(&lookup, "FIELD_KEYS").map_err(|p| anyhow::anyhow!("FIELD_KEYS: {p}"))?
    {
        return FieldKeys::parse(spec.expose_secret())
            .map_err(|e| anyhow::anyhow!("FIELD_KEYS: {e}"));
    }
    if settings.env == AppEnv::Production {
        bail!("FIELD_KEYS is required in production mode (set FIELD_KEYS or FIELD_KEYS_FILE to `kid:64-hex-chars`)");
    }
    let path = settings.data_dir.join("keys").join("field.keys");
    if !path.exists() {
        let dir = path.parent().context("key path has no parent folder")?;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        restrict(dir, 0o700)?;
        let entry = FieldKeys::generate_entry(&format!("k{}", chrono::Utc::now().timestamp()));
        write_private(&path, entry.as_bytes())?;
        tracing::warn!(path = %path.display(), "dev mode: generated a field encryption key; set FIELD_KEYS in production");
    }
    let spec = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    FieldKeys::parse(&spec).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn decode_key(name: &str, hex_value: &str) -> anyhow::Result<SecretSlice<u8>> {
    let bytes = hex::decode(hex_value.trim())
        .ok()
        .filter(|b| b.len() == 32)
        .with_context(|| format!("{name} must be 64 hex characters (32 bytes)"))?;
    Ok(SecretSlice::from(bytes))
}

/// Reads the dev key at `path`, creating it (0600, in a 0700 folder) if absent.
fn dev_key(name: &str, path: &Path) -> anyhow::Result<SecretSlice<u8>> {
    if path.exists() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read dev key {}", path.display()))?;
        return decode_key(name, &text);
    }
    let dir = path.parent().context("key path has no parent folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    restrict(dir, 0o700)?;
    let mut bytes = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    write_private(path, hex::encode(&bytes).as_bytes())?;
    tracing::warn!(
        key = name,
        path = %path.display(),
        "dev mode: generated a new key; set {name} or {name}_FILE in production"
    );
    Ok(SecretSlice::from(bytes))
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents)?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("cannot create {}", path.display()))
}

#[cfg(unix)]
fn restrict(dir: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set permissions on {}", dir.display()))
}

#[cfg(not(unix))]
fn restrict(_dir: &Path, _mode: u32) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_keys_are_generated_once_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("k.key");
        let first = dev_key("K", &path).unwrap();
        let second = dev_key("K", &path).unwrap();
        assert_eq!(first.expose_secret(), second.expose_secret());
        assert_eq!(first.expose_secret().len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn malformed_keys_are_refused_without_echoing_them() {
        let err = decode_key("SESSION_KEY", "zz-not-hex")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("SESSION_KEY"));
        assert!(!err.contains("zz-not-hex"));
        assert!(decode_key("SESSION_KEY", &"ab".repeat(16)).is_err());
        assert!(decode_key("SESSION_KEY", &"ab".repeat(32)).is_ok());
    }
}
