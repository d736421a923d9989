//! The server's ed25519 signing key: generated on first start, kept in a
//! file only the owner can read (mode 0600), never logged or printed.
//!
//! File format: one line, the 32-byte seed in standard base64. Several
//! instances sharing one PostgreSQL database must share this file (it is
//! the ledger's checkpoint key).

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read signing key {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot create signing key {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("signing key {path} is malformed: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error("signing key {path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`")]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("no randomness available to generate a signing key: {0}")]
    Random(getrandom::Error),
}

/// Whether [`load_or_create`] found a key or made one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    Loaded,
    Generated,
}

/// Loads the key at `path`, or generates and stores a new one when the file
/// does not exist. Creation uses `O_EXCL`, so two instances starting at
/// once cannot both write a key.
pub fn load_or_create(path: &Path) -> Result<(SigningKey, KeyOrigin), KeyError> {
    match std::fs::metadata(path) {
        Ok(_) => Ok((load(path)?, KeyOrigin::Loaded)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match create(path) {
            Ok(key) => Ok((key, KeyOrigin::Generated)),
            // Another instance won the race: use its key.
            Err(KeyError::Write { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok((load(path)?, KeyOrigin::Loaded))
            }
            Err(e) => Err(e),
        },
        Err(source) => Err(KeyError::Read { path: path.to_path_buf(), source }),
    }
}

/// Loads an existing key, refusing one that others can read.
pub fn load(path: &Path) -> Result<SigningKey, KeyError> {
    let read_err = |source| KeyError::Read { path: path.to_path_buf(), source };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::TooOpen { path: path.to_path_buf(), mode });
    }
    let text = std::fs::read_to_string(path).map_err(read_err)?;
    let malformed = |reason: String| KeyError::Malformed { path: path.to_path_buf(), reason };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| malformed(format!("not base64: {e}")))?;
    let seed: [u8; 32] =
        bytes.try_into().map_err(|b: Vec<u8>| malformed(format!("expected 32 bytes, found {}", b.len())))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Writes a new key beside `path`, then links it into place: the link
/// fails if another process created the key first, and a process that
/// finds the key never finds it half written (two instances sharing a data
/// directory may start at once).
fn create(path: &Path) -> Result<SigningKey, KeyError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(KeyError::Random)?;
    let write_err = |source| KeyError::Write { path: path.to_path_buf(), source };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("key");
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_file_name(format!(".{name}.{}-{n}.tmp", std::process::id()));
    let written = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        let line = format!("{}\n", base64::engine::general_purpose::STANDARD.encode(seed));
        file.write_all(line.as_bytes())?;
        file.sync_all()?;
        std::fs::hard_link(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    written.map_err(write_err)?;
    Ok(SigningKey::from_bytes(&seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_starting_at_once_all_get_the_one_key() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("signing-key");
            let keys: Vec<SigningKey> = std::thread::scope(|s| {
                let threads: Vec<_> = (0..8).map(|_| s.spawn(|| load_or_create(&path).unwrap().0)).collect();
                threads.into_iter().map(|t| t.join().unwrap()).collect()
            });
            assert!(keys.iter().all(|k| k.to_bytes() == keys[0].to_bytes()), "one key for everyone");
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
        }
    }

    #[test]
    fn generates_once_with_mode_0600_then_loads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing-key");
        let (a, origin) = load_or_create(&path).unwrap();
        assert_eq!(origin, KeyOrigin::Generated);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (b, origin) = load_or_create(&path).unwrap();
        assert_eq!(origin, KeyOrigin::Loaded);
        assert_eq!(a.to_bytes(), b.to_bytes());
    }

    #[test]
    fn refuses_world_readable_and_malformed_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing-key");
        load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(load(&path), Err(KeyError::TooOpen { .. })));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, "c2hvcnQ=\n").unwrap();
        let err = load(&path).unwrap_err();
        assert!(err.to_string().contains("expected 32 bytes"), "{err}");
    }
}
