//! Go module licenses from a module proxy, for the scanner, whenever
//! registry look-ups are on: `<proxy>/<escaped module>/@v/<version>.zip`
//! is streamed through `steward_scanner::license::gomod::read_module_zip`
//! (every entry hashed for `h1:`, only the module root's license files
//! kept); the scanner checks the hash against `go.sum` and detects the
//! texts. The only code that talks to a Go module proxy.
//!
//! **Environment.** `GOPROXY` (default `https://proxy.golang.org,direct`),
//! `GOPRIVATE`, `GONOPROXY` and `GONOSUMDB` are read as the go command
//! reads them (empty = unset; `go env -w` files are not read). A module
//! matching `GONOPROXY`/`GOPRIVATE` or `GONOSUMDB` is never sent to a proxy;
//! `direct` and `off` end the list (Steward does not clone repositories).
//!
//! **Cache.** One JSON file per module@version,
//! `<cache>/go/<escaped module>/<version>.json` (parts percent-encoded),
//! holding the answer (the zip's URL and `h1:`, the license texts), never
//! the zip and never an error or a 404: a published version is immutable,
//! so a cached answer is used with no request.
//!
//! **Limits.** At most [`MAX_PARALLEL`] downloads at once per source, the
//! zip limits of [`ZipLimits::default`] (500 MiB read or unpacked, as the
//! go command), a time limit per zip of four times `[licenses.registry]
//! timeout-secs`, and after [`MAX_CONSECUTIVE_FAILURES`] failed requests
//! in a row to one proxy the rest of the run does not ask it.
//!
//! **Threads.** Blocking reqwest, as `registry.rs`: a call made on a tokio
//! runtime's thread sends its request from a short-lived plain thread.

use crate::config::Config;
use crate::lookups::{cache_file_name, read_cache, request_error, write_cache};
use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};
use steward_scanner::license::ValidLicenseConfig;
use steward_scanner::license::gomod::{
    self, GoEnv, GoModuleAnswer, GoModuleSource, ModuleZipRecord, ProxyEntry, ProxyListError, Route, ZipError,
    ZipLimits,
};
use steward_scanner::license::registry::RegistryError;

/// Module zips downloaded at once by one source.
pub const MAX_PARALLEL: usize = 8;
/// After this many failed requests in a row to one proxy, the rest of the
/// run does not ask it again.
const MAX_CONSECUTIVE_FAILURES: u32 = 5;
/// The largest cache file read back.
const MAX_CACHE_FILE_BYTES: u64 = 16 << 20;
const CACHE_SCHEMA: &str = "steward.goproxy-cache/v1";

/// Gives `valid` a [`GoProxy`] reading the environment, when registry
/// look-ups are on; the cache is under the registry cache directory.
pub fn attach(valid: ValidLicenseConfig, config: &Config) -> ValidLicenseConfig {
    if !valid.looks_up_registries() {
        return valid;
    }
    let timeout = Duration::from_secs(config.licenses.registry.timeout_secs.saturating_mul(4));
    let proxy = GoProxy::new(GoProxy::env_from_process(), config.registry_cache_dir().join("go"), timeout);
    valid.with_go_modules(Arc::new(proxy))
}

/// What a [`GoProxy`] did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GoProxyStats {
    /// HTTP requests sent (zips and 404s).
    pub requests: u64,
    /// Zips read.
    pub zips: u64,
    /// Bytes of zips read from the network.
    pub bytes: u64,
    /// Time spent in requests, summed over the parallel downloads.
    pub request_time: Duration,
    /// Answers read from the cache.
    pub cache_hits: u64,
}

/// A [`GoModuleSource`] over HTTP with a disk cache.
pub struct GoProxy {
    env: Result<GoEnv, ProxyListError>,
    cache_dir: PathBuf,
    timeout: Duration,
    limits: ZipLimits,
    client: OnceLock<Result<reqwest::blocking::Client, String>>,
    slots: (Mutex<usize>, Condvar),
    failing: Mutex<HashMap<String, (u32, String)>>,
    requests: AtomicU64,
    zips: AtomicU64,
    bytes: AtomicU64,
    nanos: AtomicU64,
    cache_hits: AtomicU64,
}

/// The outcome of one proxy.
enum Fetched {
    Found(ModuleZipRecord),
    Missing,
}

impl GoProxy {
    /// A source with the given Go settings (see [`GoEnv::new`]), cache
    /// directory and time limit per zip.
    pub fn new(env: Result<GoEnv, ProxyListError>, cache_dir: PathBuf, timeout: Duration) -> Self {
        Self {
            env,
            cache_dir,
            timeout,
            limits: ZipLimits::default(),
            client: OnceLock::new(),
            slots: (Mutex::new(0), Condvar::new()),
            failing: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            zips: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            nanos: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
        }
    }

    /// Other zip limits (tests use small ones).
    pub fn with_limits(mut self, limits: ZipLimits) -> Self {
        self.limits = limits;
        self
    }

    /// `GOPROXY`, `GOPRIVATE`, `GONOPROXY`, `GONOSUMDB` of this process
    /// (empty values count as unset, as for the go command).
    pub fn env_from_process() -> Result<GoEnv, ProxyListError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        GoEnv::new(
            var("GOPROXY").as_deref(),
            var("GOPRIVATE").as_deref(),
            var("GONOPROXY").as_deref(),
            var("GONOSUMDB").as_deref(),
        )
    }

    pub fn stats(&self) -> GoProxyStats {
        GoProxyStats {
            requests: self.requests.load(Ordering::Relaxed),
            zips: self.zips.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            request_time: Duration::from_nanos(self.nanos.load(Ordering::Relaxed)),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
        }
    }

    /// The cache file of one module version (inside the cache directory
    /// whatever the names hold).
    pub fn cache_path(&self, module: &str, version: &str) -> PathBuf {
        self.cache_dir.join(cache_file_name(module)).join(format!("{}.json", cache_file_name(version)))
    }

    fn client(&self) -> Result<&reqwest::blocking::Client, RegistryError> {
        let built = self.client.get_or_init(|| {
            reqwest::blocking::Client::builder()
                .timeout(self.timeout)
                .connect_timeout(self.timeout.min(Duration::from_secs(30)))
                .user_agent(concat!("steward/", env!("CARGO_PKG_VERSION"), " (Go module licenses)"))
                .build()
                .map_err(|e| e.to_string())
        });
        built.as_ref().map_err(|e| RegistryError::Unavailable {
            url: String::new(),
            message: format!("cannot build the HTTP client: {e}"),
        })
    }

    /// Waits for one of the [`MAX_PARALLEL`] download slots.
    fn slot(&self) -> SlotGuard<'_> {
        let (lock, cv) = &self.slots;
        let mut n = lock.lock().unwrap_or_else(|p| p.into_inner());
        while *n >= MAX_PARALLEL {
            n = cv.wait(n).unwrap_or_else(|p| p.into_inner());
        }
        *n += 1;
        SlotGuard(self)
    }

    /// One proxy's zip: read, or missing (404/410).
    fn fetch(&self, url: &str, module: &str, version: &str) -> Result<Fetched, RegistryError> {
        if let Some(path) = url.strip_prefix("file://") {
            return match std::fs::File::open(path) {
                Ok(f) => self.read_zip(url, f, module, version).map(Fetched::Found),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Fetched::Missing),
                Err(e) => Err(RegistryError::Unavailable { url: url.to_owned(), message: e.to_string() }),
            };
        }
        if tokio::runtime::Handle::try_current().is_ok() {
            // Blocking reqwest panics on a runtime's thread.
            return std::thread::scope(|s| {
                s.spawn(|| self.fetch_http(url, module, version)).join().unwrap_or_else(|_| {
                    Err(RegistryError::Unavailable { url: url.to_owned(), message: "the request panicked".into() })
                })
            });
        }
        self.fetch_http(url, module, version)
    }

    fn fetch_http(&self, url: &str, module: &str, version: &str) -> Result<Fetched, RegistryError> {
        let unavailable = |message: String| RegistryError::Unavailable { url: url.to_owned(), message };
        let client = self.client()?;
        let _slot = self.slot();
        let started = Instant::now();
        self.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(url, "module proxy request");
        let result = (|| {
            let response = client.get(url).send().map_err(|e| {
                unavailable(if e.is_timeout() {
                    format!("no answer within {} s", self.timeout.as_secs())
                } else {
                    request_error(&e)
                })
            })?;
            let status = response.status();
            if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
                return Ok(Fetched::Missing);
            }
            if !status.is_success() {
                return Err(unavailable(format!("HTTP {status}")));
            }
            if response.content_length().is_some_and(|n| n > self.limits.max_zip_bytes) {
                return Err(RegistryError::TooLarge { url: url.to_owned(), limit: self.limits.max_zip_bytes });
            }
            self.read_zip(url, response, module, version).map(Fetched::Found)
        })();
        self.nanos.fetch_add(u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
        result
    }

    /// Streams one zip through the scanner's reader.
    fn read_zip(
        &self,
        url: &str,
        body: impl Read,
        module: &str,
        version: &str,
    ) -> Result<ModuleZipRecord, RegistryError> {
        let counted = CountingReader { inner: body, count: &self.bytes };
        let zip = gomod::read_module_zip(counted, module, version, &[], &self.limits).map_err(|e| match e {
            ZipError::TooLarge { limit, .. } => RegistryError::TooLarge { url: url.to_owned(), limit },
            ZipError::Io(message) => RegistryError::Unavailable { url: url.to_owned(), message },
            other => {
                RegistryError::Malformed { url: url.to_owned(), field: "zip".to_owned(), message: other.to_string() }
            }
        })?;
        self.zips.fetch_add(1, Ordering::Relaxed);
        Ok(ModuleZipRecord { url: url.to_owned(), h1: zip.h1, files: zip.files, licenses: zip.licenses })
    }

    /// Whether `base` failed too often in a row to be asked again.
    fn given_up(&self, base: &str, url: &str) -> Option<RegistryError> {
        let failing = self.failing.lock().ok()?;
        let (n, last) = failing.get(base)?;
        (*n >= MAX_CONSECUTIVE_FAILURES).then(|| RegistryError::Unavailable {
            url: url.to_owned(),
            message: format!("not asked: the last {n} requests to {base} failed (the last with: {last})"),
        })
    }

    fn note(&self, base: &str, result: &Result<Fetched, RegistryError>) {
        if let Ok(mut f) = self.failing.lock() {
            match result {
                Err(e) if e.is_transient() => {
                    let slot = f.entry(base.to_owned()).or_insert((0, String::new()));
                    slot.0 += 1;
                    slot.1 = e.to_string();
                }
                _ => {
                    f.remove(base);
                }
            }
        }
    }
}

struct SlotGuard<'a>(&'a GoProxy);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        let (lock, cv) = &self.0.slots;
        let mut n = lock.lock().unwrap_or_else(|p| p.into_inner());
        *n = n.saturating_sub(1);
        cv.notify_one();
    }
}

impl GoModuleSource for GoProxy {
    fn module_licenses(&self, module: &str, version: &str) -> Result<GoModuleAnswer, RegistryError> {
        let env =
            self.env.as_ref().map_err(|e| RegistryError::Unavailable { url: String::new(), message: e.to_string() })?;
        let entries = match env.route(module) {
            Route::Private(why) => {
                return Ok(GoModuleAnswer::NotAsked {
                    reason: format!("{module} is private ({why}); private modules are never sent to a proxy"),
                });
            }
            Route::Proxies(entries) => entries,
        };
        let path = self.cache_path(module, version);
        if let Some(record) = read_cache(&path, CACHE_SCHEMA, "record", MAX_CACHE_FILE_BYTES) {
            self.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(GoModuleAnswer::Found(record));
        }
        let mut tried = Vec::new();
        let mut last_error: Option<RegistryError> = None;
        for entry in entries {
            let (base, fall_back_on_error) = match entry {
                ProxyEntry::Off | ProxyEntry::Direct => {
                    let end = if *entry == ProxyEntry::Off { "off" } else { "direct" };
                    if let Some(e) = last_error {
                        return Err(e);
                    }
                    if tried.is_empty() {
                        return Ok(GoModuleAnswer::NotAsked {
                            reason: if end == "off" {
                                "GOPROXY=off disables module downloads".to_owned()
                            } else {
                                "GOPROXY says direct (fetch from version control), which Steward does not do".to_owned()
                            },
                        });
                    }
                    return Ok(GoModuleAnswer::NotFound { tried, end: end.to_owned() });
                }
                ProxyEntry::Proxy { url, fall_back_on_error } => (url.as_str(), *fall_back_on_error),
            };
            let url = gomod::zip_url(base, module, version).map_err(|e| RegistryError::Malformed {
                url: base.to_owned(),
                field: "module".to_owned(),
                message: e.to_string(),
            })?;
            let result = match self.given_up(base, &url) {
                Some(e) => Err(e),
                None => self.fetch(&url, module, version),
            };
            self.note(base, &result);
            match result {
                Ok(Fetched::Found(record)) => {
                    if let Err(e) = write_cache(&path, CACHE_SCHEMA, "record", &record) {
                        tracing::warn!(path = %path.display(), error = %e, "cannot write the Go module cache");
                    }
                    return Ok(GoModuleAnswer::Found(record));
                }
                Ok(Fetched::Missing) => tried.push(url),
                Err(e) if fall_back_on_error => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        if let Some(e) = last_error {
            return Err(e);
        }
        Ok(GoModuleAnswer::NotFound { tried, end: "the end of GOPROXY".to_owned() })
    }

    fn summary(&self) -> Option<String> {
        let s = self.stats();
        if s.requests == 0 && s.cache_hits == 0 {
            return None;
        }
        Some(format!(
            "Go module proxy: {} request{} ({} zip{}, {:.1} MiB read, {:.2} s of requests), {} answer{} from the cache",
            s.requests,
            if s.requests == 1 { "" } else { "s" },
            s.zips,
            if s.zips == 1 { "" } else { "s" },
            s.bytes as f64 / f64::from(1u32 << 20),
            s.request_time.as_secs_f64(),
            s.cache_hits,
            if s.cache_hits == 1 { "" } else { "s" },
        ))
    }
}

/// Counts the bytes read from a response into a shared counter.
struct CountingReader<'a, R> {
    inner: R,
    count: &'a AtomicU64,
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_paths_stay_inside_the_cache_directory() {
        let p = GoProxy::new(GoEnv::new(None, None, None, None), PathBuf::from("/cache"), Duration::from_secs(1));
        for (module, version) in [("github.com/Azure/x", "v1.0.0"), ("../../etc", ".."), ("a/../../b", "v1/../../2")] {
            let path = p.cache_path(module, version);
            let below: Vec<_> = path.strip_prefix("/cache").unwrap().components().collect();
            assert_eq!(below.len(), 2, "{}", path.display());
            assert!(below.iter().all(|c| matches!(c, std::path::Component::Normal(_))), "{}", path.display());
        }
    }
}
