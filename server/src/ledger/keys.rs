//! The checkpoint key: derived from the server's 32-byte seed file
//! (`crate::keys`) with the log's origin as its C2SP key name, and key
//! rotation.
//!
//! Rotation (`steward ledger rotate-key`) is crash-safe in three steps:
//! 1. the new seed is written to `signing-key.next` (mode 0600, `O_EXCL`);
//! 2. a `key-rotation` entry signed by the old key is appended, and its
//!    checkpoint is signed by the new key (one transaction);
//! 3. `signing-key` is renamed to `signing-key.retired-<unix time>` and
//!    `signing-key.next` to `signing-key`.
//!
//! A crash after step 2 leaves `signing-key.next` holding the key in force;
//! running the command again finishes step 3 without a second rotation.

use ed25519_dalek::SigningKey;
use std::path::{Path, PathBuf};
use steward_ledger::entry::{Entry, EntryError, KeyRotation, Payload, SchemaV1, Timestamp};
use steward_ledger::note::{NoteError, SignerKey};

/// The C2SP signer for the log `origin` from the server's ed25519 key.
pub fn signer_from_seed(origin: &str, key: &SigningKey) -> Result<SignerKey, NoteError> {
    SignerKey::from_seed(origin, &key.to_bytes())
}

/// A `key-rotation` entry from `old` to `new`, signed by `old`.
pub fn rotation_entry(
    old: &SignerKey,
    new: &SignerKey,
    reason: &str,
    actor: &str,
    time: Timestamp,
) -> Result<Entry, EntryError> {
    let payload = Payload::KeyRotation(KeyRotation {
        schema: SchemaV1,
        old_key: old.verifier_key().to_string(),
        new_key: new.verifier_key().to_string(),
        reason: reason.to_owned(),
    });
    let mut entry = Entry::new(&payload, time, actor)?;
    entry.sign(old)?;
    Ok(entry)
}

/// True when the key file at `path` exists and its key, named `origin`,
/// is `verifier_key`.
pub fn key_file_matches(path: &Path, origin: &str, verifier_key: &str) -> bool {
    crate::keys::load(path)
        .ok()
        .and_then(|seed| signer_from_seed(origin, &seed).ok())
        .is_some_and(|s| s.verifier_key().to_string() == verifier_key)
}

/// Where the next key waits during a rotation.
pub fn next_key_path(key_path: &Path) -> PathBuf {
    with_suffix(key_path, ".next")
}

/// Where a retired key is kept.
pub fn retired_key_path(key_path: &Path, unix_time: u64) -> PathBuf {
    with_suffix(key_path, &format!(".retired-{unix_time}"))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// Step 3 of a rotation: retire the old key file and put the next one in
/// its place, then sync the directory.
pub fn promote_next_key(key_path: &Path) -> std::io::Result<PathBuf> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let retired = retired_key_path(key_path, now);
    std::fs::rename(key_path, &retired)?;
    std::fs::rename(next_key_path(key_path), key_path)?;
    if let Some(dir) = key_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(retired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_entries_are_signed_by_the_old_key() {
        let old = SignerKey::from_seed("example.org/steward", &[1; 32]).unwrap();
        let new = SignerKey::from_seed("example.org/steward", &[2; 32]).unwrap();
        let e = rotation_entry(&old, &new, "scheduled", "cli", Timestamp::from_unix(0, 0).unwrap()).unwrap();
        let (o, n) = e.key_rotation().unwrap().unwrap();
        assert_eq!((o, n), (old.verifier_key(), new.verifier_key()));
        assert_eq!(next_key_path(Path::new("/d/signing-key")), Path::new("/d/signing-key.next"));
        assert_eq!(retired_key_path(Path::new("/d/signing-key"), 7), Path::new("/d/signing-key.retired-7"));
    }
}
