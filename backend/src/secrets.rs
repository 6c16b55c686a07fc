//! Keys the server needs, from the secret providers (the environment,
//! `<NAME>_FILE`, then Vault: `secret_provider`) or — in dev mode without
//! Vault only — generated once under `APP_DATA_DIR/keys/` with mode 0600.
//!
//! In production a missing key stops start-up: a generated key there would be
//! lost on the next deploy (logging everyone out) or differ between replicas.
//! With Vault configured a missing key stops start-up in dev mode too: the
//! operator asked for managed keys, a generated one would hide the mistake.
//!
//! Layer: infrastructure, the top of it: above `key_provider`, `config`, `secret_provider`; the field keys the database holds are loaded by `services::key_loading`, above it.

use crate::config::{AppEnv, Settings};
use crate::key_provider::pkcs11::Token;
use crate::secret_provider::{ProviderChain, Redacted};
use crate::security::field_crypto::FieldKeys;
use crate::security::session_keys::SessionKeys;
use crate::security::signing_keys::{self, KeySet, SigningKey};
use anyhow::{bail, Context};
use rand::{RngCore, TryRngCore};
use secrecy::ExposeSecret;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

/// Every key the server loads at start-up.
pub struct Keys {
    /// `SESSION_KEY`: HMAC keys, `kid:hex,…` the first current, or one
    /// 64-hex key (id `legacy`). Refresh tokens, MFA challenges, recovery
    /// codes, OAuth codes and client secrets are stored only as an HMAC under
    /// these keys, so a copy of the database alone is useless.
    pub session: SessionKeys,
    /// The RS256 keys that sign and verify access tokens.
    pub signing: SigningKeys,
    /// `FIELD_KEYS`: AES-256-GCM keys for encrypted columns, `kid:hex,…`,
    /// the first one current.
    pub fields: FieldKeys,
}

impl Keys {
    /// Every key with `KEY_PROVIDER=files`, the variables read through
    /// `lookup` (`std::env::var`, or a map in tests). With `pkcs11` the field
    /// keys are in the database: `services::key_loading::load_keys`.
    pub fn load_with(
        settings: &Settings,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let providers = ProviderChain::standard(lookup, settings.vault.as_deref());
        Ok(Self {
            session: session_keys_from(settings, &providers)?,
            signing: SigningKeys::load(settings)?,
            fields: field_keys_from(settings, &providers)?,
        })
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("session", &Redacted)
            .field("signing", &self.signing)
            .field("fields", &self.fields)
            .finish()
    }
}

/// The signing keys in `SIGNING_KEYS_DIR` (or, with `KEY_PROVIDER=pkcs11`,
/// in the HSM token), reloadable while the server runs (so a key added by
/// `backend rotate-signing-key` is picked up).
pub struct SigningKeys {
    dir: PathBuf,
    /// `KEY_PROVIDER=pkcs11`: the token holding the keys (then `dir` is unused).
    hsm: Option<Arc<Token>>,
    token_ttl_secs: i64,
    /// `SIGNING_KEY_PUBLICATION_SECS`: a new key signs this long after it appeared.
    publication_secs: i64,
    set: RwLock<Arc<KeySet>>,
    /// When the folder was last read (milliseconds since the epoch).
    loaded_at_ms: AtomicI64,
}

/// How often a token naming an unknown key may make us re-read the folder.
const UNKNOWN_KID_RELOAD_MS: i64 = 1000;

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("dir", &self.dir)
            .field("set", &*self.current())
            .finish()
    }
}

impl SigningKeys {
    /// Loads the folder. When it holds no key: dev mode generates one,
    /// production refuses to start.
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        let dir = settings.signing_keys_dir.clone();
        let token_ttl_secs = i64::try_from(settings.access_token_ttl.as_secs()).unwrap_or(900);
        let publication_secs = settings.signing_key_publication_secs;
        if let Some(token) = crate::key_provider::token(settings)? {
            if token.signing_keys()?.is_empty() {
                match settings.env {
                    AppEnv::Production => bail!(
                        "the token `{}` holds no signing key: run `backend hsm-init` (with the \
                         same KEY_PROVIDER settings) to create one",
                        token.label()
                    ),
                    AppEnv::Dev => {
                        let kid = token.generate_signing_key(chrono::Utc::now().timestamp())?;
                        tracing::warn!(
                            kid,
                            token = token.label(),
                            "dev mode: generated a signing key in the token"
                        );
                    }
                }
            }
            let set = KeySet::new(token.signing_keys()?, token_ttl_secs)?
                .publishing_for(publication_secs);
            return Ok(Self {
                dir,
                hsm: Some(token),
                token_ttl_secs,
                publication_secs,
                set: RwLock::new(Arc::new(set)),
                loaded_at_ms: AtomicI64::new(chrono::Utc::now().timestamp_millis()),
            });
        }
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
        let set =
            KeySet::new(read_key_dir(&dir)?, token_ttl_secs)?.publishing_for(publication_secs);
        Ok(Self {
            dir,
            hsm: None,
            token_ttl_secs,
            publication_secs,
            set: RwLock::new(Arc::new(set)),
            loaded_at_ms: AtomicI64::new(chrono::Utc::now().timestamp_millis()),
        })
    }

    /// The keys as of the last (re)load.
    pub fn current(&self) -> Arc<KeySet> {
        self.set.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Re-reads the folder (or the token); keeps the old set if it is
    /// unreadable or empty.
    pub fn reload(&self) -> anyhow::Result<()> {
        self.loaded_at_ms
            .store(chrono::Utc::now().timestamp_millis(), Ordering::Relaxed);
        let keys = match &self.hsm {
            Some(token) => token.signing_keys()?,
            None => read_key_dir(&self.dir)?,
        };
        let set = KeySet::new(keys, self.token_ttl_secs)?.publishing_for(self.publication_secs);
        *self.set.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
        Ok(())
    }

    /// A token names a key this instance has not loaded: another instance
    /// may have just rotated (the folder is shared). Re-reads the folder now
    /// instead of waiting for the periodic reload — at most once a second, so
    /// made-up key ids cannot turn every request into a disk read. True when
    /// it re-read.
    pub fn reload_for_unknown_kid(&self) -> bool {
        let now = chrono::Utc::now().timestamp_millis();
        let last = self.loaded_at_ms.load(Ordering::Relaxed);
        if now - last < UNKNOWN_KID_RELOAD_MS
            || self
                .loaded_at_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return false;
        }
        match self.reload() {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "cannot re-read the signing keys");
                false
            }
        }
    }
}

/// A key added by [`rotate_signing_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    pub kid: String,
    /// When it starts signing (unix seconds); until then it is only published.
    pub signs_from: i64,
}

/// Adds a new key to `dir` — published by every server at its next folder
/// read, signing `publication_secs` after its creation — and deletes the
/// files of keys that can no longer verify anything.
pub fn rotate_signing_key(
    dir: &Path,
    token_ttl_secs: i64,
    publication_secs: i64,
) -> anyhow::Result<Rotated> {
    let kid = write_new_key(dir)?;
    let now = chrono::Utc::now().timestamp();
    let prune = KeySet::new(read_key_dir(dir)?, token_ttl_secs)?
        .publishing_for(pruning_publication(publication_secs));
    for old in prune.kids() {
        if prune.verifying_key(old, now).is_none() {
            std::fs::remove_file(dir.join(format!("{old}.pem")))
                .with_context(|| format!("cannot remove the expired key {old}"))?;
        }
    }
    let set = KeySet::new(read_key_dir(dir)?, token_ttl_secs)?.publishing_for(publication_secs);
    let signs_from = set
        .signs_from_kid(&kid)
        .context("the new key did not load")?;
    Ok(Rotated { kid, signs_from })
}

/// The publication delay pruning assumes: never below the production
/// minimum, whatever this command was given. Run with a smaller
/// `SIGNING_KEY_PUBLICATION_SECS` than the servers use, it would think a
/// newer key signs earlier than it does and delete the key the servers
/// still sign with (or whose tokens still live); keeping a retired key a
/// few minutes longer costs nothing.
fn pruning_publication(publication_secs: i64) -> i64 {
    publication_secs.max(signing_keys::MIN_PUBLICATION_SECS)
}

/// `rotate-signing-key` as the settings say: a new key in `SIGNING_KEYS_DIR`
/// or in the token (`KEY_PROVIDER=pkcs11`), the same pruning and
/// publication rules. Returns the new key and where it is.
pub fn rotate_signing_key_as_configured(settings: &Settings) -> anyhow::Result<(Rotated, String)> {
    let ttl = i64::try_from(settings.access_token_ttl.as_secs()).unwrap_or(900);
    let publication = settings.signing_key_publication_secs;
    match crate::key_provider::token(settings)? {
        None => {
            let dir = &settings.signing_keys_dir;
            Ok((
                rotate_signing_key(dir, ttl, publication)?,
                dir.display().to_string(),
            ))
        }
        Some(token) => {
            let rotated = rotate_signing_key_in_token(&token, ttl, publication)?;
            Ok((rotated, format!("the token `{}`", token.label())))
        }
    }
}

/// Generates a new pair in the token and destroys the pairs that can no
/// longer verify anything (the `KeySet` rules, as for the folder).
pub fn rotate_signing_key_in_token(
    token: &Arc<Token>,
    token_ttl_secs: i64,
    publication_secs: i64,
) -> anyhow::Result<Rotated> {
    let newest = token.signing_keys()?.iter().map(|k| k.created_at).max();
    let now = chrono::Utc::now().timestamp();
    let kid = token.generate_signing_key(newest.map_or(now, |n| now.max(n + 1)))?;
    let prune = KeySet::new(token.signing_keys()?, token_ttl_secs)?
        .publishing_for(pruning_publication(publication_secs));
    for old in prune.kids() {
        if prune.verifying_key(old, now).is_none() {
            token.destroy_signing_key(old)?;
        }
    }
    let set = KeySet::new(token.signing_keys()?, token_ttl_secs)?.publishing_for(publication_secs);
    let signs_from = set
        .signs_from_kid(&kid)
        .context("the new key did not load")?;
    Ok(Rotated { kid, signs_from })
}

fn write_new_key(dir: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    restrict(dir, 0o700)?;
    remove_stale_temp_files(dir);
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
///
/// A file that cannot be read or parsed is skipped with a warning — one
/// damaged old key must not keep every server down; the tokens it signed no
/// longer verify here — unless it is the newest: that key signs (or is about
/// to), and a server without it would go on signing with a key the others
/// retire. Then loading fails (at start-up: the server does not start; on a
/// reload: the loaded keys stay).
fn read_key_dir(dir: &Path) -> anyhow::Result<Vec<SigningKey>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut keys = Vec::new();
    let mut unreadable = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot read {}", dir.display()))?
            .path();
        if path.extension().is_none_or(|e| e != "pem") {
            continue;
        }
        let loaded = path
            .file_stem()
            .and_then(|s| s.to_str())
            .context("key file name is not UTF-8")
            .and_then(|kid| {
                let pem = std::fs::read(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                Ok(SigningKey::from_pem(kid, &pem)?)
            });
        match loaded {
            Ok(key) => keys.push(key),
            Err(e) => unreadable.push((path, e)),
        }
    }
    let newest = keys.iter().map(|k| k.created_at).max();
    for (path, error) in unreadable {
        let created = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(signing_keys::created_at_of);
        match (newest, created) {
            (Some(newest), Some(created)) if created < newest => {
                tracing::warn!(file = %path.display(), error = %format!("{error:#}"),
                    "skipping a signing key that cannot be loaded; tokens it signed will not verify here");
            }
            (Some(_), None) => {
                tracing::warn!(file = %path.display(), error = %format!("{error:#}"),
                    "skipping a file that is not a signing key");
            }
            _ => bail!(
                "the newest signing key {} cannot be loaded, and it is the one that signs: \
                 restore it or remove it ({error:#})",
                path.display()
            ),
        }
    }
    Ok(keys)
}

/// `SESSION_KEY` for a report (`keys status`): from the secret providers or
/// the dev key file, never generated. `None` when nothing holds it.
pub fn load_session_keys(settings: &Settings) -> anyhow::Result<Option<SessionKeys>> {
    let lookup = |n: &str| std::env::var(n).ok();
    let providers = ProviderChain::standard(&lookup, settings.vault.as_deref());
    if let Some(value) = providers.get("SESSION_KEY")? {
        return parse_session_keys("SESSION_KEY", value.expose_secret()).map(Some);
    }
    let path = settings.data_dir.join("keys").join("session.key");
    if settings.env == AppEnv::Production || providers.has_remote() || !path.exists() {
        return Ok(None);
    }
    let spec = dev_key("SESSION_KEY", &path)?;
    parse_session_keys(&path.display().to_string(), spec.expose_secret()).map(Some)
}

/// `SESSION_KEY` from the secret providers, or the dev key file (generated
/// when missing and allowed).
pub fn session_keys(settings: &Settings) -> anyhow::Result<SessionKeys> {
    let lookup = |n: &str| std::env::var(n).ok();
    let providers = ProviderChain::standard(&lookup, settings.vault.as_deref());
    session_keys_from(settings, &providers)
}

fn session_keys_from(
    settings: &Settings,
    providers: &ProviderChain<'_>,
) -> anyhow::Result<SessionKeys> {
    let name = "SESSION_KEY";
    if let Some(value) = providers.get(name)? {
        return parse_session_keys(name, value.expose_secret());
    }
    missing(
        settings,
        providers,
        name,
        "64 hex characters or `kid:64-hex-chars,…`",
    )?;
    let path = settings.data_dir.join("keys").join("session.key");
    let spec = dev_key(name, &path)?;
    parse_session_keys(&path.display().to_string(), spec.expose_secret())
}

fn parse_session_keys(source: &str, spec: &str) -> anyhow::Result<SessionKeys> {
    SessionKeys::parse(spec).map_err(|e| anyhow::anyhow!("{source}: {e}"))
}

/// Fails when a key no source holds may not be generated: in production,
/// and whenever Vault is configured.
fn missing(
    settings: &Settings,
    providers: &ProviderChain<'_>,
    name: &str,
    format: &str,
) -> anyhow::Result<()> {
    let ways = providers.how_to_set(name);
    if providers.has_remote() {
        bail!("{name} is missing: Vault is configured but no source holds it (put it in {ways}: {format})");
    }
    if settings.env == AppEnv::Production {
        bail!("{name} is required in production mode (set {ways} to {format})");
    }
    Ok(())
}

/// `FIELD_KEYS` from the secret providers (or the dev key file).
pub fn field_keys_from_files(settings: &Settings) -> anyhow::Result<FieldKeys> {
    let lookup = |n: &str| std::env::var(n).ok();
    let providers = ProviderChain::standard(&lookup, settings.vault.as_deref());
    field_keys_from(settings, &providers)
}

/// Field keys as (id, key) pairs, the current first.
pub type ImportedFieldKeys = Vec<(String, Vec<u8>)>;

/// `KEY_PROVIDER=pkcs11`: `FIELD_KEYS`' keys (id, key), when a secret
/// provider holds it — imported into an empty `field_data_keys` table, the
/// move from files (`services::key_loading`).
pub fn field_keys_to_import(settings: &Settings) -> anyhow::Result<Option<ImportedFieldKeys>> {
    let lookup = |n: &str| std::env::var(n).ok();
    let providers = ProviderChain::standard(&lookup, settings.vault.as_deref());
    let Some(spec) = providers.get("FIELD_KEYS")? else {
        return Ok(None);
    };
    let keys = crate::security::field_crypto::parse_key_set(spec.expose_secret())
        .map_err(|e| anyhow::anyhow!("FIELD_KEYS: {e}"))?;
    Ok(Some(
        keys.into_iter().map(|(_, kid, key)| (kid, key)).collect(),
    ))
}

fn field_keys_from(
    settings: &Settings,
    providers: &ProviderChain<'_>,
) -> anyhow::Result<FieldKeys> {
    if let Some(spec) = providers.get("FIELD_KEYS")? {
        return FieldKeys::parse(spec.expose_secret())
            .map_err(|e| anyhow::anyhow!("FIELD_KEYS: {e}"));
    }
    missing(settings, providers, "FIELD_KEYS", "`kid:64-hex-chars`")?;
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

/// Reads the dev key file at `path` (its text: one key or a key set),
/// creating it with one new key (0600, in a 0700 folder) if absent.
fn dev_key(name: &str, path: &Path) -> anyhow::Result<secrecy::SecretString> {
    if path.exists() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read dev key {}", path.display()))?;
        return Ok(text.into());
    }
    let dir = path.parent().context("key path has no parent folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    restrict(dir, 0o700)?;
    let mut bytes = vec![0u8; 32];
    rand::rngs::OsRng.unwrap_err().fill_bytes(&mut bytes);
    let text = hex::encode(&bytes);
    write_private(path, text.as_bytes())?;
    tracing::warn!(
        key = name,
        path = %path.display(),
        "dev mode: generated a new key; set {name} or {name}_FILE in production"
    );
    Ok(text.into())
}

/// Prefix and suffix of [`write_private`]'s temporary files (their `.tmp`
/// extension keeps them out of [`read_key_dir`]).
const TEMP_PREFIX: &str = ".key-";
const TEMP_SUFFIX: &str = ".tmp";

/// Writes a new private file (0600) at `path`, atomically: into a temporary
/// file in the same folder, synced to disk, then moved into place — without
/// replacing a file already there — and the folder synced. A crash (`kill
/// -9`, power loss) leaves the whole file or none, never a truncated key
/// that would stop the next start; at worst a temporary file, which the
/// next key generation removes.
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // tempfile creates it with mode 0600 on Unix.
    let mut temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    temp.write_all(contents)
        .and_then(|()| temp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    temp.persist_noclobber(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot create {}", path.display()))?;
    sync_dir(dir)
}

/// Makes a rename in `dir` durable (POSIX: the entry lives in the folder).
#[cfg(unix)]
fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", dir.display()))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// Temporary files a crashed write left behind (older than a minute, so a
/// write under way in another process is never touched).
fn remove_stale_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > 60);
        if name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX) && stale {
            if let Err(e) = std::fs::remove_file(entry.path()) {
                tracing::warn!(file = %entry.path().display(), error = %e, "cannot remove a stale temporary key file");
            }
        }
    }
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
        assert_eq!(first.expose_secret().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    /// Attack (an operator's mistake): `rotate-signing-key` run with a
    /// smaller SIGNING_KEY_PUBLICATION_SECS than the servers use must not
    /// delete the key the servers still sign with.
    #[test]
    fn a_rotation_with_a_shorter_publication_never_prunes_the_key_still_signing() {
        let dir = tempfile::tempdir().unwrap();
        let now = chrono::Utc::now().timestamp();
        // k1 signed until k2 took over; k2 appeared 100 s ago, so with the
        // servers' delay (330 s) k1 still signs for 230 s more.
        for created in [now - 1_000, now - 100] {
            let (kid, pem) = signing_keys::generate(created).unwrap();
            write_private(&dir.path().join(format!("{kid}.pem")), pem.as_bytes()).unwrap();
        }
        let before = read_key_dir(dir.path()).unwrap().len();
        // A 10 s token lifetime and no delay, as this command sees it: k1
        // would look retired 10 s (+ leeway) after k2 appeared.
        rotate_signing_key(dir.path(), 10, 0).unwrap();
        assert_eq!(
            read_key_dir(dir.path()).unwrap().len(),
            before + 1,
            "a key the servers still sign with was deleted"
        );
    }

    #[test]
    fn key_files_are_written_whole_private_and_never_over_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        write_private(&path, b"first").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        assert!(
            write_private(&path, b"second").is_err(),
            "an existing key is kept"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["k.pem"], "no temporary file is left");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    fn put_key(dir: &Path, i: usize) -> String {
        let (kid, pem) = &signing_keys::tests::test_pems()[i];
        std::fs::write(dir.join(format!("{kid}.pem")), pem).unwrap();
        kid.clone()
    }

    #[test]
    fn an_unreadable_old_key_is_skipped_but_an_unreadable_newest_key_stops_loading() {
        let dir = tempfile::tempdir().unwrap();
        let old = put_key(dir.path(), 0);
        let current = put_key(dir.path(), 1);
        // What a crash in the middle of a write used to leave (a temporary
        // file is ignored; its name is not a key's).
        std::fs::write(dir.path().join(".key-crashed.tmp"), b"-----BEGIN").unwrap();
        std::fs::write(dir.path().join(format!("{old}.pem")), b"truncated").unwrap();
        std::fs::write(dir.path().join("notes.pem"), b"not a key").unwrap();
        let keys = read_key_dir(dir.path()).unwrap();
        let kids: Vec<&str> = keys.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(kids, [current.as_str()]);

        // The newest key damaged: it is the one that signs, so loading fails
        // (naming the file, not its contents).
        let newest = put_key(dir.path(), 2);
        std::fs::write(dir.path().join(format!("{newest}.pem")), b"truncated").unwrap();
        let err = format!("{:#}", read_key_dir(dir.path()).unwrap_err());
        assert!(err.contains(&newest) && err.contains("newest"), "{err}");
        assert!(!err.contains("truncated"), "{err}");
    }

    #[test]
    fn malformed_keys_are_refused_without_echoing_them() {
        let err = parse_session_keys("SESSION_KEY", "zz-not-hex")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("SESSION_KEY"));
        assert!(!err.contains("zz-not-hex"));
        assert!(parse_session_keys("SESSION_KEY", &"ab".repeat(16)).is_err());
        assert!(parse_session_keys("SESSION_KEY", &"ab".repeat(32)).is_ok());
    }

    fn dev_settings(dir: &Path, extra: &[(&str, &str)]) -> Settings {
        let mut vars: std::collections::HashMap<String, String> = extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        vars.insert("APP_DATA_DIR".into(), dir.display().to_string());
        Settings::from_lookup(|n| vars.get(n).cloned()).unwrap()
    }

    const SESSION_HEX: &str = "5e55105e55105e55105e55105e55105e55105e55105e55105e55105e55105e55";
    const FIELD_HEX: &str = "f1e1df1e1df1e1df1e1df1e1df1e1df1e1df1e1df1e1df1e1df1e1df1e1df1e1";

    #[test]
    fn keys_come_from_vault_when_nothing_local_holds_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = dev_settings(dir.path(), &[]);
        let field_keys = format!("vk:{FIELD_HEX}");
        settings.vault = Some(Arc::new(crate::secret_provider::VaultSecrets::from_values(
            "secret/data/app",
            [
                ("SESSION_KEY", SESSION_HEX),
                ("FIELD_KEYS", field_keys.as_str()),
            ],
        )));
        let keys = Keys::load_with(&settings, &|_| None).unwrap();
        assert_eq!(hex::encode(keys.session.current_key()), SESSION_HEX);
        assert_eq!(keys.session.current_kid(), "legacy");
        assert_eq!(keys.fields.current_kid(), "vk");
        // A local value overrides Vault.
        let local = format!("lk:{FIELD_HEX}");
        let keys =
            Keys::load_with(&settings, &|n| (n == "FIELD_KEYS").then(|| local.clone())).unwrap();
        assert_eq!(keys.fields.current_kid(), "lk");
    }

    #[test]
    fn a_key_missing_from_vault_is_a_clear_error_even_in_dev_mode() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = dev_settings(dir.path(), &[]);
        settings.vault = Some(Arc::new(crate::secret_provider::VaultSecrets::from_values(
            "secret/data/app",
            [("SESSION_KEY", SESSION_HEX)],
        )));
        let err = Keys::load_with(&settings, &|_| None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("FIELD_KEYS is missing: Vault is configured"),
            "{err}"
        );
        assert!(
            err.contains("key FIELD_KEYS in Vault at secret/data/app"),
            "{err}"
        );
        assert!(!err.contains(SESSION_HEX));
        // Nothing was generated in its place.
        assert!(!dir.path().join("keys").join("field.keys").exists());
    }

    #[test]
    fn asvs_13_3_1_no_secret_the_app_holds_prints() {
        let dir = tempfile::tempdir().unwrap();
        let db_url = "postgres://app:db-pass-w0rd@db.internal/app";
        let settings = dev_settings(dir.path(), &[("DATABASE_URL", db_url)]);
        let field_keys = format!("fk:{FIELD_HEX}");
        let lookup = |n: &str| match n {
            "SESSION_KEY" => Some(SESSION_HEX.to_owned()),
            "FIELD_KEYS" => Some(field_keys.clone()),
            _ => None,
        };
        let keys = Keys::load_with(&settings, &lookup).unwrap();
        let pem = std::fs::read_dir(dir.path().join("keys").join("signing"))
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .next()
            .unwrap();
        let pem_body: String = pem.lines().nth(1).unwrap().chars().take(40).collect();
        let printed = format!(
            "{keys:?} {settings:?} {:?}",
            keys.signing.current().current()
        );
        for secret in [SESSION_HEX, FIELD_HEX, "db-pass-w0rd", pem_body.as_str()] {
            assert!(!printed.contains(secret), "{secret} printed in {printed}");
        }
        assert!(printed.contains("[redacted]"));
        assert!(printed.contains("fk"), "key ids may show: {printed}");
    }
}
