//! Key files on disk: written atomically and private (0600 in a 0700
//! folder), and the dev key files generated once.

use anyhow::Context;
use rand::{RngCore, TryRngCore};
use std::path::Path;

/// Reads the dev key file at `path` (its text: one key or a key set),
/// creating it with one new key (0600, in a 0700 folder) if absent.
pub(super) fn dev_key(name: &str, path: &Path) -> anyhow::Result<secrecy::SecretString> {
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
/// extension keeps them out of `signing::read_key_dir`).
const TEMP_PREFIX: &str = ".key-";
const TEMP_SUFFIX: &str = ".tmp";

/// Writes a new private file (0600) at `path`, atomically: into a temporary
/// file in the same folder, synced to disk, then moved into place — without
/// replacing a file already there — and the folder synced. A crash (`kill
/// -9`, power loss) leaves the whole file or none, never a truncated key
/// that would stop the next start; at worst a temporary file, which the
/// next key generation removes.
pub(super) fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
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
pub(super) fn remove_stale_temp_files(dir: &Path) {
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
pub(super) fn restrict(dir: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set permissions on {}", dir.display()))
}

#[cfg(not(unix))]
pub(super) fn restrict(_dir: &Path, _mode: u32) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

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
}
