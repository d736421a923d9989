//! Registry look-ups over HTTP for the scanner, when `[licenses] offline =
//! false` or a command's `--online`: npm's per-version documents, PyPI's
//! version JSON and the `Cargo.toml` inside crates.io's `.crate` archives,
//! each answer cached on disk. The only code that talks to a package
//! registry; what the documents mean is the scanner's
//! (`steward_scanner::license::registry`).
//!
//! **Cache.** One JSON file per (ecosystem, registry, name, version):
//! `<cache>/<ecosystem>/<host>-<hash of the base URL>/<name>/<version>.json`,
//! every part percent-encoded so no name leaves the directory. It holds the
//! extracted answer (a license record, "no license field" or "not found"
//! for a 404), never an error: timeouts, refused connections and other
//! HTTP errors are asked again next run. A published version is immutable,
//! so a cached answer is used without any request. Files are written to a
//! temporary name and renamed, so readers never see half a file.
//!
//! **Threads.** The client is blocking reqwest, which must not run on a
//! tokio worker thread: the scanner calls [`HttpRegistry::lookup`] from its
//! own threads, the commands are synchronous, the server scans inside
//! `spawn_blocking`, and a call that still finds itself inside a runtime
//! sends its request from a short-lived plain thread.

use crate::config::Config;
use crate::lookups::{cache_file_name, read_cache, request_error, write_cache};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use steward_scanner::Ecosystem;
use steward_scanner::license::registry::{
    self, GitSource, MAX_CRATE_FILE_BYTES, MAX_DOCUMENT_BYTES, MAX_GIT_MANIFESTS, RegistryAnswer, RegistryConfig,
    RegistryError, RegistrySource,
};
use steward_scanner::license::{ConfigError, ValidLicenseConfig};

/// The largest `.crate` downloaded.
pub const MAX_CRATE_BYTES: u64 = 20 << 20;
/// The most bytes unpacked from one `.crate` while looking for a file.
const MAX_UNPACKED_BYTES: u64 = 256 << 20;
/// The largest cache file read back.
const MAX_CACHE_FILE_BYTES: u64 = 2 << 20;
/// After this many failed requests in a row to one registry, the rest of
/// the run does not ask it again (a registry that is down would otherwise
/// cost one time-out per package).
const MAX_CONSECUTIVE_FAILURES: u32 = 5;
const CACHE_SCHEMA: &str = "steward.registry-cache/v1";
/// The most bytes received while fetching one git dependency's repository.
const MAX_GIT_FETCH_BYTES: usize = 512 << 20;
/// A git fetch that takes longer is cancelled (it is one look-up for every
/// crate of the repository, so it gets more than one request's time).
const GIT_FETCH_SECS_PER_TIMEOUT: u64 = 6;

/// The validated `[licenses]` settings, with an [`HttpRegistry`] when
/// registry look-ups are on (the default; `offline = true` in the file or
/// `STEWARD_OFFLINE=true` turns them off; `online` from a command's
/// `--online` turns them on whatever the file says). The cache directory
/// defaults to `<data_dir>/cache/registry`.
pub fn license_config(config: &Config, online: bool) -> Result<ValidLicenseConfig, ConfigError> {
    license_config_for(config, if online { Some(false) } else { None })
}

/// [`license_config`] with `offline` forced when `Some` (a command's
/// `--offline` or `--online`).
pub fn license_config_for(config: &Config, offline: Option<bool>) -> Result<ValidLicenseConfig, ConfigError> {
    let mut licenses = config.licenses.clone();
    if let Some(offline) = offline {
        licenses.offline = offline;
    }
    let valid = licenses.validate()?;
    if licenses.offline {
        return Ok(valid);
    }
    let cache = config.registry_cache_dir();
    Ok(crate::goproxy::attach(valid.with_registry(Arc::new(HttpRegistry::new(licenses.registry, cache))), config))
}

/// A [`RegistrySource`] over HTTP with a disk cache.
pub struct HttpRegistry {
    config: RegistryConfig,
    cache_dir: PathBuf,
    /// Built on first use, on the thread of the first request.
    client: OnceLock<Result<reqwest::blocking::Client, String>>,
    /// Transient failures of this run, by URL: not asked twice (a diff
    /// scans two points that share most packages).
    failed: Mutex<HashMap<String, RegistryError>>,
    /// Failed requests in a row, by registry base URL.
    failing: Mutex<HashMap<String, (u32, String)>>,
    /// One lock per git repository URL: crates of one repository are
    /// looked up on several threads, and the repository is fetched once.
    git_locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl HttpRegistry {
    pub fn new(config: RegistryConfig, cache_dir: PathBuf) -> Self {
        Self {
            config,
            cache_dir,
            client: OnceLock::new(),
            failed: Mutex::new(HashMap::new()),
            failing: Mutex::new(HashMap::new()),
            git_locks: Mutex::new(HashMap::new()),
        }
    }

    /// The cache file of a crate read from a git repository at one commit.
    pub fn git_cache_path(&self, source: &GitSource, name: &str) -> PathBuf {
        let hash = hex::encode(Sha256::digest(source.url.as_bytes()));
        let host = registry::url_host(&source.url).unwrap_or_else(|| "local".to_owned());
        self.cache_dir
            .join("cargo-git")
            .join(format!("{}-{}", cache_file_name(&host), &hash[..12]))
            .join(cache_file_name(name))
            .join(format!("{}.json", cache_file_name(&source.commit)))
    }

    /// The bare mirror of a git dependency's repository.
    fn git_mirror_path(&self, url: &str) -> PathBuf {
        let hash = hex::encode(Sha256::digest(url.as_bytes()));
        self.cache_dir.join("git-mirrors").join(format!("{}.git", &hash[..24]))
    }

    /// Reads crate `name` from its repository at the locked commit,
    /// fetching the repository into its mirror when the commit is missing.
    fn git_answer(&self, name: &str, version: &str, source: &GitSource) -> Result<RegistryAnswer, RegistryError> {
        let unavailable =
            |message: String| RegistryError::Unavailable { url: format!("{}#{}", source.url, source.commit), message };
        let lock = {
            let mut locks = self.git_locks.lock().map_err(|_| unavailable("a look-up thread panicked".into()))?;
            locks.entry(source.url.clone()).or_default().clone()
        };
        let _turn = lock.lock().map_err(|_| unavailable("a look-up thread panicked".into()))?;
        let path = self.git_mirror_path(&source.url);
        let git = if path.exists() {
            git2::Repository::open_bare(&path)
        } else {
            std::fs::create_dir_all(&path)
                .map_err(|e| unavailable(format!("cannot create {}: {e}", path.display())))?;
            git2::Repository::init_bare(&path)
        }
        .map_err(|e| unavailable(format!("cannot open the mirror {}: {}", path.display(), e.message())))?;
        let oid = git2::Oid::from_str(&source.commit).ok();
        let find = |git: &git2::Repository| -> Option<git2::Oid> {
            match oid {
                Some(o) if source.commit.len() == 40 => git.find_commit(o).ok().map(|c| c.id()),
                _ => git.revparse_single(&source.commit).ok().and_then(|o| o.peel_to_commit().ok()).map(|c| c.id()),
            }
        };
        let commit = match find(&git) {
            Some(c) => c,
            None => {
                tracing::debug!(url = %source.url, "fetching a git dependency's repository");
                let refspecs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"];
                self.fetch_git(&git, &source.url, &refspecs).map_err(&unavailable)?;
                match find(&git) {
                    Some(c) => c,
                    None => {
                        // A commit no branch or tag reaches: ask for it by id
                        // (servers that allow it answer).
                        let by_id = format!("+{0}:refs/steward/{0}", source.commit);
                        let _ = self.fetch_git(&git, &source.url, &[by_id.as_str()]);
                        find(&git).ok_or_else(|| {
                            unavailable(format!("commit {} is not in the repository after fetching", source.commit))
                        })?
                    }
                }
            }
        };
        let tree = git
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(|e| unavailable(format!("reading commit {commit}: {}", e.message())))?;
        let mut manifests = Vec::new();
        let _ = tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            let name = entry.name().unwrap_or("");
            if entry.kind() == Some(git2::ObjectType::Tree) && matches!(name, "target" | ".git" | "node_modules") {
                return git2::TreeWalkResult::Skip;
            }
            if entry.kind() == Some(git2::ObjectType::Blob) && name == "Cargo.toml" {
                manifests.push(format!("{dir}{name}"));
                if manifests.len() >= MAX_GIT_MANIFESTS {
                    return git2::TreeWalkResult::Abort;
                }
            }
            git2::TreeWalkResult::Ok
        });
        let mut read = |path: &str| -> Option<Vec<u8>> {
            let entry = tree.get_path(Path::new(path)).ok()?;
            let blob = git.find_blob(entry.id()).ok()?;
            (blob.size() <= MAX_CRATE_FILE_BYTES).then(|| blob.content().to_vec())
        };
        registry::git_crate_answer(source, name, version, &manifests, &mut read)
    }

    /// Fetches `refspecs` from `url` into `git`, bounded in bytes and time.
    fn fetch_git(&self, git: &git2::Repository, url: &str, refspecs: &[&str]) -> Result<(), String> {
        let mut remote = git.remote_anonymous(url).map_err(|e| e.message().to_owned())?;
        let deadline =
            std::time::Instant::now() + Duration::from_secs(self.config.timeout_secs * GIT_FETCH_SECS_PER_TIMEOUT);
        let mut callbacks = git2::RemoteCallbacks::new();
        callbacks.transfer_progress(move |p| {
            p.received_bytes() <= MAX_GIT_FETCH_BYTES && std::time::Instant::now() < deadline
        });
        let mut options = git2::FetchOptions::new();
        options.remote_callbacks(callbacks);
        options.download_tags(git2::AutotagOption::None);
        remote.fetch(refspecs, Some(&mut options), None).map_err(|e| {
            if std::time::Instant::now() >= deadline {
                format!("fetch cancelled after {} s", self.config.timeout_secs * GIT_FETCH_SECS_PER_TIMEOUT)
            } else if e.class() == git2::ErrorClass::Callback {
                format!("fetch cancelled: the repository is larger than {MAX_GIT_FETCH_BYTES} bytes")
            } else {
                e.message().to_owned()
            }
        })
    }

    /// The cache file of one package version (inside the cache directory
    /// whatever the name holds).
    pub fn cache_path(&self, ecosystem: Ecosystem, name: &str, version: &str) -> PathBuf {
        let base = self.config.base_url(ecosystem).unwrap_or("");
        let host = registry::url_host(base).unwrap_or_default();
        let hash = hex::encode(Sha256::digest(base.as_bytes()));
        let registry_dir = format!("{}-{}", cache_file_name(&host), &hash[..12]);
        self.cache_dir
            .join(ecosystem.to_string())
            .join(registry_dir)
            .join(cache_file_name(name))
            .join(format!("{}.json", cache_file_name(version)))
    }

    fn client(&self) -> Result<&reqwest::blocking::Client, RegistryError> {
        let built = self.client.get_or_init(|| {
            reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(self.config.timeout_secs))
                .connect_timeout(Duration::from_secs(self.config.timeout_secs))
                .user_agent(concat!("steward/", env!("CARGO_PKG_VERSION"), " (license metadata)"))
                .build()
                .map_err(|e| e.to_string())
        });
        built.as_ref().map_err(|e| RegistryError::Unavailable {
            url: String::new(),
            message: format!("cannot build the HTTP client: {e}"),
        })
    }

    /// GET `url`: its body, or `None` for 404/410. At most `limit` bytes.
    fn get(&self, url: &str, limit: u64) -> Result<Option<Vec<u8>>, RegistryError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            // Blocking reqwest panics on a runtime's thread.
            return std::thread::scope(|s| {
                s.spawn(|| self.get_now(url, limit)).join().unwrap_or_else(|_| {
                    Err(RegistryError::Unavailable { url: url.to_owned(), message: "the request panicked".into() })
                })
            });
        }
        self.get_now(url, limit)
    }

    fn get_now(&self, url: &str, limit: u64) -> Result<Option<Vec<u8>>, RegistryError> {
        let unavailable = |message: String| RegistryError::Unavailable { url: url.to_owned(), message };
        let client = self.client()?;
        tracing::debug!(url, "registry request");
        let response = client.get(url).send().map_err(|e| {
            unavailable(if e.is_timeout() {
                format!("no answer within {} s", self.config.timeout_secs)
            } else {
                request_error(&e)
            })
        })?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(unavailable(format!("HTTP {status}")));
        }
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(RegistryError::TooLarge { url: url.to_owned(), limit });
        }
        let mut body = Vec::new();
        response.take(limit + 1).read_to_end(&mut body).map_err(|e| unavailable(format!("reading the body: {e}")))?;
        if body.len() as u64 > limit {
            return Err(RegistryError::TooLarge { url: url.to_owned(), limit });
        }
        Ok(Some(body))
    }

    /// Fetches and reads one document, `url` (no cache).
    fn fetch(
        &self,
        url: String,
        ecosystem: Ecosystem,
        name: &str,
        version: &str,
    ) -> Result<RegistryAnswer, RegistryError> {
        let limit = if ecosystem == Ecosystem::Cargo { MAX_CRATE_BYTES } else { MAX_DOCUMENT_BYTES as u64 };
        let Some(body) = self.get(&url, limit)? else {
            return Ok(RegistryAnswer::NotFound { url });
        };
        match ecosystem {
            Ecosystem::Npm => registry::parse_npm_version(&url, &body),
            Ecosystem::Pypi => registry::parse_pypi_version(&url, &body),
            Ecosystem::Cargo => crate_answer(&url, name, version, &body),
            Ecosystem::Go | Ecosystem::Other => Err(RegistryError::Unsupported { ecosystem }),
        }
    }
}

impl RegistrySource for HttpRegistry {
    fn lookup(&self, ecosystem: Ecosystem, name: &str, version: &str) -> Result<RegistryAnswer, RegistryError> {
        let url = self.config.document_url(ecosystem, name, version)?;
        let path = self.cache_path(ecosystem, name, version);
        if let Some(answer) = read_cache(&path, CACHE_SCHEMA, "answer", MAX_CACHE_FILE_BYTES) {
            return Ok(answer);
        }
        if let Some(e) = self.failed.lock().ok().and_then(|f| f.get(&url).cloned()) {
            return Err(e);
        }
        let base = self.config.base_url(ecosystem).unwrap_or("").to_owned();
        if let Some((n, last)) = self.failing.lock().ok().and_then(|f| f.get(&base).cloned())
            && n >= MAX_CONSECUTIVE_FAILURES
        {
            return Err(RegistryError::Unavailable {
                url,
                message: format!("not asked: the last {n} requests to {base} failed (the last with: {last})"),
            });
        }
        let answer = self.fetch(url.clone(), ecosystem, name, version);
        match &answer {
            Ok(a) => {
                if let Err(e) = write_cache(&path, CACHE_SCHEMA, "answer", a) {
                    tracing::warn!(path = %path.display(), error = %e, "cannot write the registry cache");
                }
            }
            Err(e) if e.is_transient() => {
                if let Ok(mut f) = self.failed.lock() {
                    f.insert(url.clone(), e.clone());
                }
            }
            Err(_) => {}
        }
        if let Ok(mut f) = self.failing.lock() {
            match &answer {
                Err(e) if e.is_transient() => {
                    let slot = f.entry(base).or_insert((0, String::new()));
                    slot.0 += 1;
                    slot.1 = e.to_string();
                }
                _ => {
                    f.remove(&base);
                }
            }
        }
        answer
    }

    fn lookup_git(&self, name: &str, version: &str, source: &GitSource) -> Result<RegistryAnswer, RegistryError> {
        let path = self.git_cache_path(source, name);
        if let Some(answer) = read_cache(&path, CACHE_SCHEMA, "answer", MAX_CACHE_FILE_BYTES) {
            return Ok(answer);
        }
        let key = format!("git:{}#{}:{name}", source.url, source.commit);
        if let Some(e) = self.failed.lock().ok().and_then(|f| f.get(&source.url).cloned()) {
            return Err(e);
        }
        let answer = self.git_answer(name, version, source);
        match &answer {
            Ok(a) => {
                if let Err(e) = write_cache(&path, CACHE_SCHEMA, "answer", a) {
                    tracing::warn!(path = %path.display(), error = %e, "cannot write the registry cache");
                }
            }
            // A repository that cannot be fetched is not asked again in this run.
            Err(e) if e.is_transient() => {
                tracing::debug!(key, error = %e, "git dependency look-up failed");
                if let Ok(mut f) = self.failed.lock() {
                    f.insert(source.url.clone(), e.clone());
                }
            }
            Err(_) => {}
        }
        answer
    }
}

/// The answer of a downloaded `.crate`: its `<name>-<version>/Cargo.toml`
/// and, for `license-file`, that file.
fn crate_answer(url: &str, name: &str, version: &str, archive: &[u8]) -> Result<RegistryAnswer, RegistryError> {
    let root = format!("{name}-{version}");
    let manifest_path = format!("{root}/Cargo.toml");
    let manifest = crate_file(url, archive, &manifest_path)?.ok_or_else(|| RegistryError::Malformed {
        url: url.to_owned(),
        field: manifest_path.clone(),
        message: "not in the archive".into(),
    })?;
    let mut read = |relative: &str| crate_file(url, archive, &format!("{root}/{relative}")).ok().flatten();
    registry::parse_crate_manifest(url, &manifest_path, &manifest, &mut read)
}

/// The regular file `wanted` (`name-1.0.0/Cargo.toml`) of a gzip tar, when
/// it is there and at most [`MAX_CRATE_FILE_BYTES`]. Reads at most
/// [`MAX_UNPACKED_BYTES`] of the unpacked archive.
fn crate_file(url: &str, archive: &[u8], wanted: &str) -> Result<Option<Vec<u8>>, RegistryError> {
    let malformed =
        |message: String| RegistryError::Malformed { url: url.to_owned(), field: wanted.to_owned(), message };
    let mut unpacked = flate2::read::GzDecoder::new(archive).take(MAX_UNPACKED_BYTES);
    let found = (|| {
        let mut tar = tar::Archive::new(&mut unpacked);
        let entries = tar.entries().map_err(|e| malformed(format!("not a gzip tar archive: {e}")))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| malformed(format!("reading the archive: {e}")))?;
            let path = entry.path_bytes();
            let path = path.strip_prefix(b"./").unwrap_or(&path[..]);
            if path != wanted.as_bytes() || !entry.header().entry_type().is_file() {
                continue;
            }
            if entry.size() > MAX_CRATE_FILE_BYTES as u64 {
                return Err(RegistryError::TooLarge {
                    url: format!("{url}#{wanted}"),
                    limit: MAX_CRATE_FILE_BYTES as u64,
                });
            }
            let mut bytes = Vec::new();
            (&mut entry)
                .take(MAX_CRATE_FILE_BYTES as u64)
                .read_to_end(&mut bytes)
                .map_err(|e| malformed(format!("reading the file: {e}")))?;
            return Ok(Some(bytes));
        }
        Ok(None)
    })();
    if unpacked.limit() == 0 {
        return Err(RegistryError::TooLarge { url: url.to_owned(), limit: MAX_UNPACKED_BYTES });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_paths_stay_inside_the_cache_directory() {
        let r = HttpRegistry::new(RegistryConfig::default(), PathBuf::from("/cache"));
        for (name, version) in [("@scope/pkg", "1.0.0"), ("../../etc", ".."), ("a/../../b", "1/../../2"), ("", "")] {
            let p = r.cache_path(Ecosystem::Npm, name, version);
            assert!(p.to_string_lossy().starts_with("/cache/npm/registry.npmjs.org-"), "{}", p.display());
            let below: Vec<_> = p.strip_prefix("/cache").unwrap().components().collect();
            assert_eq!(below.len(), 4, "{}", p.display());
            assert!(below.iter().all(|c| matches!(c, std::path::Component::Normal(_))), "{}", p.display());
        }
        let p = r.cache_path(Ecosystem::Npm, "@scope/pkg", "1.0.0");
        assert!(p.ends_with("%40scope%2Fpkg/1.0.0.json"), "{}", p.display());
        let long = "x".repeat(300);
        let p = r.cache_path(Ecosystem::Pypi, &long, "1");
        assert!(p.file_name().is_some() && p.parent().unwrap().file_name().unwrap().len() < 100);
    }
}
