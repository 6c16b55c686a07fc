//! The RS256 signing keys: loaded from `SIGNING_KEYS_DIR` or the HSM
//! token, reloaded while the server runs, rotated (`rotate-signing-key`)
//! with the publication delay and pruning rules.

use super::files::{remove_stale_temp_files, restrict, write_private};
use crate::config::{AppEnv, Settings};
use crate::key_provider::pkcs11::Token;
use crate::security::signing_keys::{self, KeySet, SigningKey};
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
