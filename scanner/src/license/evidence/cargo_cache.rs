//! Crates in this machine's cargo registry cache
//! (`$CARGO_HOME/registry/src/*/<name>-<version>`, or the `cargo-home`
//! setting): registry crates only (not path, git or workspace packages).
//! Their manifests' license keys are cached for the whole process: an
//! extracted registry crate version is immutable, and a diff or a history
//! reads the same crates many times. A large `Cargo.lock` is looked up on
//! several threads.

use super::config::LicenseConfig;
use super::env;
use super::reading::{
    Readings, evidence_from_manifest, path_string, text_evidence, texts_beside_field_on_disk, texts_on_disk,
};
use super::values::Evidence;
use crate::license::manifest::cargo_license_fields;
use crate::model::Package;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A crate's directory in the cargo registry cache and its manifest's
/// license keys; `None` when no registry directory has the crate.
pub(super) type CacheLookup = Option<(PathBuf, LicenseKeys)>;

/// Fewer crates than this are not worth starting threads for.
pub(super) const MIN_PARALLEL: usize = 64;

/// The registry source directories, listed on first use.
#[derive(Default)]
pub(super) struct CargoCache {
    src_dirs: Option<Vec<PathBuf>>,
}

impl CargoCache {
    /// True when the registry cache is looked in: local caches are on, or
    /// `cargo-home` names one.
    pub(super) fn enabled(config: &LicenseConfig) -> bool {
        config.local_caches || config.cargo_home.is_some()
    }

    /// `$CARGO_HOME/registry/src/*`, listed once.
    pub(super) fn src_dirs(&mut self, config: &LicenseConfig) -> &[PathBuf] {
        self.src_dirs.get_or_insert_with(|| {
            let home = config.cargo_home.clone().or_else(env::cargo_home);
            let Some(home) = home else { return Vec::new() };
            let mut dirs: Vec<PathBuf> = std::fs::read_dir(home.join("registry/src"))
                .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            dirs.sort();
            dirs
        })
    }

    /// The crate's directory in the cargo registry cache and its manifest's
    /// `(license, license-file)`.
    pub(super) fn manifest(&mut self, config: &LicenseConfig, pkg: &Package) -> Option<(PathBuf, LicenseKeys)> {
        if !Self::enabled(config) {
            return None;
        }
        // Only registry crates are in the registry cache (not path, git or
        // workspace packages).
        if !is_registry_crate(pkg) {
            return None;
        }
        let name = format!("{}-{}", pkg.name, pkg.version);
        lookup(self.src_dirs(config), &name)
    }

    /// The crate's directory in the cargo registry cache.
    pub(super) fn dir(&mut self, config: &LicenseConfig, pkg: &Package) -> Option<PathBuf> {
        self.manifest(config, pkg).map(|(dir, _)| dir)
    }
}

/// True for a crate from a registry (`registry+…`, `sparse+…`).
pub(super) fn is_registry_crate(pkg: &Package) -> bool {
    pkg.source.as_deref().is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+"))
}

/// Threads to look crates up on (1 means: do not start any).
pub(super) fn lookup_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(8)
}

/// Looks up `wanted` (index in the graph, `<name>-<version>`) in `dirs`
/// on `threads` threads (reading one small file per crate is most of the
/// time of resolving a large Cargo.lock, and it parallelises well). The
/// result is indexed like the graph's `len` packages; `None` where nothing
/// was looked up.
pub(super) fn lookup_many(
    dirs: &[PathBuf],
    wanted: &[(usize, String)],
    len: usize,
    threads: usize,
) -> Vec<Option<CacheLookup>> {
    let chunk = wanted.len().div_ceil(threads.max(1)).max(1);
    let mut found: Vec<Option<CacheLookup>> = vec![None; len];
    std::thread::scope(|s| {
        let workers: Vec<_> = wanted
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter().map(|(i, name)| (*i, lookup(dirs, name))).collect::<Vec<(usize, CacheLookup)>>()
                })
            })
            .collect();
        for w in workers {
            // A worker that panicked leaves its crates to the
            // sequential look-up.
            for (i, hit) in w.join().unwrap_or_default() {
                found[i] = Some(hit);
            }
        }
    });
    found
}

/// The first registry directory holding `name` (`<crate>-<version>`), and
/// its manifest's license keys.
fn lookup(dirs: &[PathBuf], name: &str) -> CacheLookup {
    dirs.iter().find_map(|d| {
        let dir = d.join(name);
        cargo_manifest_fields(&dir).map(|fields| (dir, fields))
    })
}

/// Evidence from a crate's directory in the registry cache: the manifest's
/// `license`, else the text of its `license-file`, else the license texts
/// in the directory.
pub(super) fn cache_evidence(
    dir: &Path,
    (license, license_file): LicenseKeys,
    threshold: f32,
    readings: &mut Readings,
) -> Vec<Evidence> {
    let mut out = Vec::new();
    if let Some(l) = license {
        let reading = readings.parse(&l);
        out.push(evidence_from_manifest(path_string(&dir.join("Cargo.toml")), "package.license", &l, reading));
        // The field decides; the texts are read to be compared with it.
        texts_beside_field_on_disk(dir, &l, threshold, &mut out);
        return out;
    }
    if let Some(f) = license_file {
        let p = dir.join(f);
        if let Ok(b) = std::fs::read(&p) {
            out.extend(text_evidence(&path_string(&p), &b, threshold));
            return out;
        }
    }
    texts_on_disk(dir, threshold, &mut out);
    out
}

/// `(license, license-file)` of a `Cargo.toml`'s `[package]`.
pub(super) type LicenseKeys = (Option<String>, Option<String>);

type ManifestFields = Option<LicenseKeys>;

/// Keyed by the directory's path as bytes (hashing an `OsString` is much
/// cheaper than hashing a `Path` component by component).
type ManifestCache = std::sync::Mutex<HashMap<std::ffi::OsString, ManifestFields>>;

fn manifest_cache() -> &'static ManifestCache {
    static CACHE: std::sync::OnceLock<ManifestCache> = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Forgets what was read from package caches in this process (for
/// benchmarks that measure a cold run, and for long-running servers after
/// a cache directory was cleaned).
pub fn clear_process_caches() {
    if let Ok(mut c) = manifest_cache().lock() {
        c.clear();
    }
}

/// `(license, license-file)` of the crate's Cargo.toml in a registry source
/// directory, `None` when there is no manifest. Cached for the whole
/// process: an extracted registry crate version is immutable (cargo never
/// rewrites it), and a diff or a history reads the same crates many times.
fn cargo_manifest_fields(dir: &Path) -> Option<(Option<String>, Option<String>)> {
    let cache = manifest_cache();
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(dir.as_os_str()).cloned()) {
        return hit;
    }
    let fields = read_manifest_fields(&dir.join("Cargo.toml"));
    if let Ok(mut c) = cache.lock() {
        if c.len() >= 200_000 {
            c.clear();
        }
        c.insert(dir.as_os_str().to_owned(), fields.clone());
    }
    fields
}

/// `(license, license-file)` of a `Cargo.toml` on disk; `None` when it
/// cannot be read or is not UTF-8. Usually one read of the file's start: a
/// normalised registry manifest opens with `[package]`, and once that table
/// has ended the rest of the file cannot change the answer (so the rest is
/// neither read nor checked for UTF-8).
fn read_manifest_fields(path: &Path) -> Option<(Option<String>, Option<String>)> {
    use std::io::Read as _;
    const FIRST_READ: usize = 16 * 1024;
    thread_local! {
        // Zeroed once per thread, not once per manifest.
        static FIRST: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let mut file = std::fs::File::open(path).ok()?;
    FIRST.with_borrow_mut(|buf| {
        buf.resize(FIRST_READ, 0);
        let n = loop {
            match file.read(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return None,
            }
        };
        let head = &buf[..n];
        let prefix = match std::str::from_utf8(head) {
            Ok(text) => text,
            // A character cut by the end of the read is fine; a bad byte is not.
            Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
            Err(_) => return None,
        };
        if n > 0
            && let Some(fields) = crate::license::manifest::package_license_keys_in_prefix(prefix)
        {
            return Some(fields);
        }
        let mut all = head.to_vec();
        file.read_to_end(&mut all).ok()?;
        let text = std::str::from_utf8(&all).ok()?;
        Some(cargo_license_fields(text))
    })
}
