//! What the look-up clients (`registry.rs`, `goproxy.rs`) share.
//!
//! - Their disk caches of answers that never change (a package version's
//!   registry answer, a Go module version's licenses): one JSON file per
//!   entry, `{"schema", "fetched_at", <field>: value}`, written through a
//!   temporary file and a rename so a reader never sees half a file, read
//!   with a size limit, and ignored (asked again, then rewritten) when its
//!   schema is another or it does not parse.
//! - The text of a failed request: without the URL (the caller names it)
//!   and with its causes.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::io::Read as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use steward_scanner::license::registry::encode_segment;

/// A name as one safe file name: percent-encoded (no `/`, no `..`), and
/// hashed when too long for a file system.
pub fn cache_file_name(s: &str) -> String {
    if s.is_empty() {
        return "%".to_owned(); // never an encoding's output
    }
    let encoded = encode_segment(s);
    if encoded.len() > 150 {
        return format!("%sha256-{}", hex::encode(Sha256::digest(s.as_bytes())));
    }
    encoded
}

/// The value under `field` of the cache file at `path`, when the file is
/// at most `max_bytes`, has `schema` and parses.
pub fn read_cache<T: DeserializeOwned>(path: &Path, schema: &str, field: &str, max_bytes: u64) -> Option<T> {
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(max_bytes).read_to_end(&mut bytes).ok()?;
    let parsed = serde_json::from_slice::<serde_json::Value>(&bytes).ok().and_then(|mut entry| {
        if entry.get("schema").and_then(|s| s.as_str()) != Some(schema) {
            return None;
        }
        serde_json::from_value(entry.get_mut(field)?.take()).ok()
    });
    if parsed.is_none() {
        tracing::debug!(path = %path.display(), schema, "ignoring an unreadable cache file");
    }
    parsed
}

/// Writes `value` under `field` (with `schema` and the time) to `path`,
/// through a temporary file in the same directory and a rename.
pub fn write_cache<T: Serialize>(path: &Path, schema: &str, field: &str, value: &T) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().ok_or_else(|| std::io::Error::other("cache path has no directory"))?;
    std::fs::create_dir_all(dir)?;
    let mut entry = serde_json::Map::new();
    entry.insert("schema".into(), schema.into());
    entry.insert("fetched_at".into(), crate::gate::rfc3339(time::OffsetDateTime::now_utc()).into());
    entry.insert(field.into(), serde_json::to_value(value).map_err(std::io::Error::other)?);
    let bytes = serde_json::to_vec_pretty(&entry).map_err(std::io::Error::other)?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".tmp-{}-{n}", std::process::id()));
    let written = (|| {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// A reqwest error without the URL (the caller names it) and with its
/// causes, which say what went wrong (`Connection refused`).
pub fn request_error(e: &reqwest::Error) -> String {
    let mut message = String::from(if e.is_connect() { "cannot connect" } else { "request failed" });
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_entry_reads_back_and_another_schema_or_junk_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a").join("b.json");
        write_cache(&path, "test/v1", "answer", &vec![1, 2, 3]).unwrap();
        assert_eq!(read_cache::<Vec<u32>>(&path, "test/v1", "answer", 1 << 20), Some(vec![1, 2, 3]));
        assert_eq!(read_cache::<Vec<u32>>(&path, "test/v2", "answer", 1 << 20), None, "another schema");
        assert_eq!(read_cache::<Vec<u32>>(&path, "test/v1", "record", 1 << 20), None, "another field");
        assert_eq!(read_cache::<Vec<u32>>(&path, "test/v1", "answer", 10), None, "cut by the size limit");
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(read_cache::<Vec<u32>>(&path, "test/v1", "answer", 1 << 20), None);
        assert!(std::fs::read_dir(path.parent().unwrap()).unwrap().count() == 1, "no temporary file left");
    }

    #[test]
    fn file_names_are_one_safe_segment() {
        for s in ["", "..", "a/../../b", "@scope/pkg", &"x".repeat(400)] {
            let f = cache_file_name(s);
            assert!(!f.is_empty() && f != ".." && !f.contains('/') && f.len() <= 160, "{s:?} → {f}");
        }
    }
}
