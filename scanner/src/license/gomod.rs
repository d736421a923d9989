//! Go modules from a module proxy: the pure parts (no network).
//!
//! - [`ProxyList`]: `GOPROXY` read as the go command reads it (a comma
//!   falls through to the next entry on 404/410 only, a pipe on any error;
//!   `direct` and `off` end the list; a URL without a scheme is `https://`).
//! - [`match_prefix_patterns`]: `GOPRIVATE`, `GONOPROXY`, `GONOSUMDB`
//!   matched exactly as `golang.org/x/mod/module.MatchPrefixPatterns`
//!   (comma-separated `path.Match` globs against the module path's leading
//!   elements).
//! - [`escape_path`], [`escape_version`], [`zip_url`]: the proxy protocol's
//!   case escaping (`!` + lower case for an upper-case letter).
//! - [`DirHash`]: the `h1:` hash of `golang.org/x/mod/sumdb/dirhash`
//!   `Hash1`, and [`go_sum_hashes`], the `h1:` lines of a `go.sum`.
//! - [`read_module_zip`]: a module zip read as a stream (local headers,
//!   deflate or stored), every entry hashed for `h1:`, only license files
//!   of the wanted directories kept, within [`ZipLimits`].
//! - [`GoModuleSource`]: what a caller that reaches a proxy implements, and
//!   its [`GoModuleAnswer`] (serializable, so it can be cached).

use crate::license::detect::is_license_file_name;
use crate::license::registry::RegistryError;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read};

/// How a package's warning that its module zip did not match `go.sum`
/// starts; drift turns it into a `module-hash-mismatch` finding.
pub const MODULE_HASH_MISMATCH_WARNING: &str = "module-hash-mismatch:";

/// The go command's default `GOPROXY`.
pub const DEFAULT_GOPROXY: &str = "https://proxy.golang.org,direct";

/// A module zip's license data as a proxy served it: what the scanner needs
/// to decide, cached per module@version by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "kebab-case")]
pub enum GoModuleAnswer {
    /// The zip was read.
    Found(ModuleZipRecord),
    /// Every proxy asked answered 404/410 (`tried` lists them), and the
    /// list ended (`end` says how: `direct`, `off` or the end of the list).
    NotFound { tried: Vec<String>, end: String },
    /// No proxy may be asked (a private module, `GOPROXY=off`, `direct`).
    NotAsked { reason: String },
}

/// What a module zip holds that the scanner needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleZipRecord {
    /// The zip's URL.
    pub url: String,
    /// The zip's `h1:` hash, computed while reading it.
    pub h1: String,
    /// Entries in the zip.
    pub files: usize,
    /// License files of the wanted directories, by path inside the module.
    pub licenses: Vec<ZipLicenseFile>,
}

/// One license file read from a module zip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZipLicenseFile {
    /// The path inside the module (`LICENSE`, `sub/COPYING`).
    pub path: String,
    /// The text (lossy UTF-8), at most [`ZipLimits::max_license_bytes`].
    pub text: String,
    /// True when the file was longer and was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// Fetches module zips' license data from the proxies. The scanner calls
/// it from several threads; implementations bound every request in time
/// and size, and never send a private module to a proxy.
pub trait GoModuleSource: Send + Sync {
    /// The license data of `module` at `version` (a `replace` target's path
    /// and version when the graph says so).
    fn module_licenses(&self, module: &str, version: &str) -> Result<GoModuleAnswer, RegistryError>;

    /// One line on what the look-ups cost this run (requests, bytes, time),
    /// for the scan summary; `None` when nothing was asked.
    fn summary(&self) -> Option<String> {
        None
    }
}

// ---------------------------------------------------------------------------
// GOPROXY

/// One entry of `GOPROXY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyEntry {
    /// A proxy's base URL (no trailing `/`). `fall_back_on_error`: the
    /// entry was followed by `|`, so any error moves to the next entry;
    /// after `,` only 404 and 410 do.
    Proxy { url: String, fall_back_on_error: bool },
    /// Fetch from version control: the list ends here.
    Direct,
    /// No downloads at all: the list ends here.
    Off,
}

/// `GOPROXY` parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyList {
    pub entries: Vec<ProxyEntry>,
}

/// A `GOPROXY` value the go command would refuse too.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("GOPROXY={value:?}: {message}")]
pub struct ProxyListError {
    pub value: String,
    pub message: String,
}

impl ProxyList {
    /// Parses `GOPROXY` as `cmd/go/internal/modfetch` does. An unset or
    /// empty value is [`DEFAULT_GOPROXY`]. Entries after `direct` or `off`
    /// are ignored, as the go command ignores them.
    pub fn parse(value: &str) -> Result<ProxyList, ProxyListError> {
        let mut rest = if value.is_empty() { DEFAULT_GOPROXY } else { value };
        let mut entries = Vec::new();
        while !rest.is_empty() {
            let (url, fall_back_on_error) = match rest.find([',', '|']) {
                Some(i) => {
                    let sep = rest.as_bytes()[i];
                    let url = &rest[..i];
                    rest = &rest[i + 1..];
                    (url, sep == b'|')
                }
                None => {
                    let url = rest;
                    rest = "";
                    (url, false)
                }
            };
            let url = url.trim();
            if url.is_empty() {
                continue;
            }
            if url == "off" {
                entries.push(ProxyEntry::Off);
                break;
            }
            if url == "direct" {
                entries.push(ProxyEntry::Direct);
                break;
            }
            if url == "noproxy" {
                // Reserved by the go command for its own use.
                return Err(ProxyListError {
                    value: value.to_owned(),
                    message: "\"noproxy\" is not a proxy".to_owned(),
                });
            }
            // Single words are reserved; anything with `.`, `:` or `/` that
            // is not a full URL or an absolute path gets `https://`.
            let mut url = url.to_owned();
            if url.contains(['.', ':', '/']) && !url.contains(":/") && !url.starts_with('/') {
                url = format!("https://{url}");
            }
            let scheme_ok = url.starts_with("https://") || url.starts_with("http://") || url.starts_with("file://");
            if !scheme_ok {
                return Err(ProxyListError {
                    value: value.to_owned(),
                    message: format!("{url:?} is not an http(s) or file URL"),
                });
            }
            let url = url.trim_end_matches('/').to_owned();
            entries.push(ProxyEntry::Proxy { url, fall_back_on_error });
        }
        if entries.is_empty() {
            return Err(ProxyListError {
                value: value.to_owned(),
                message: "the list is not empty but contains no entries".to_owned(),
            });
        }
        Ok(ProxyList { entries })
    }
}

// ---------------------------------------------------------------------------
// GOPRIVATE, GONOPROXY, GONOSUMDB

/// Whether any comma-separated glob in `globs` matches a prefix of
/// `target`'s path elements: `golang.org/x/mod/module.MatchPrefixPatterns`.
/// A glob with N slashes is matched (as Go's `path.Match`) against the
/// first N+1 elements of `target`; a trailing `/` is ignored; a malformed
/// glob matches nothing.
pub fn match_prefix_patterns(globs: &str, target: &str) -> bool {
    let mut rest = globs;
    while !rest.is_empty() {
        let glob = match rest.find(',') {
            Some(i) => {
                let g = &rest[..i];
                rest = &rest[i + 1..];
                g
            }
            None => {
                let g = rest;
                rest = "";
                g
            }
        };
        let glob = glob.strip_suffix('/').unwrap_or(glob);
        if glob.is_empty() {
            continue;
        }
        // A glob with N slashes matches the first N+1 elements of target.
        let mut n = glob.bytes().filter(|&b| b == b'/').count();
        let mut prefix = target;
        for (i, b) in target.bytes().enumerate() {
            if b == b'/' {
                if n == 0 {
                    prefix = &target[..i];
                    break;
                }
                n -= 1;
            }
        }
        if n > 0 {
            continue; // not enough elements
        }
        if path_match(glob, prefix) == Ok(true) {
            return true;
        }
    }
    false
}

/// A malformed `path.Match` pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadPattern;

/// Go's `path.Match`: `*` any run of non-`/` bytes, `?` one non-`/`
/// character, `[...]` a class (`^` negates, `a-z` ranges), `\` escapes.
/// As in Go, a malformed pattern is an error even when an earlier part
/// already failed to match.
pub fn path_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let mut pattern = pattern;
    let mut name = name;
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // Trailing * matches the rest unless it has a /.
            return Ok(!name.contains('/'));
        }
        // Look for a match at the current position.
        let (t, ok) = match_chunk(chunk, name)?;
        // If we're the last chunk, make sure we've exhausted the name
        // otherwise we'll give a false result even if we could still match
        // using the star.
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if star {
            // Look for a match skipping i+1 bytes. Cannot skip /.
            let bytes = name.as_bytes();
            let mut i = 0;
            while i < bytes.len() && bytes[i] != b'/' {
                let Some(skipped) = name.get(i + 1..) else {
                    i += 1;
                    continue;
                };
                let (t, ok) = match_chunk(chunk, skipped)?;
                if ok {
                    // if we're the last chunk, make sure we exhausted the name
                    if pattern.is_empty() && !t.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = t;
                    continue 'pattern;
                }
                i += 1;
            }
        }
        // Before returning false with no error, check that the remainder
        // of the pattern is syntactically valid.
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            match_chunk(chunk, "")?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Go's `scanChunk`: leading stars, the chunk up to the next star outside
/// a class, and the rest.
fn scan_chunk(pattern: &str) -> (bool, &str, &str) {
    let mut p = pattern;
    let mut star = false;
    while let Some(rest) = p.strip_prefix('*') {
        p = rest;
        star = true;
    }
    let bytes = p.as_bytes();
    let mut in_range = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            // An escape takes the next byte (a lone one is an error for
            // match_chunk).
            b'\\' if i + 1 < bytes.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &p[..i], &p[i..])
}

/// Go's `matchChunk`: whether `chunk` matches the start of `s`, and what
/// is left of `s`.
fn match_chunk<'s>(chunk: &str, s: &'s str) -> Result<(&'s str, bool), BadPattern> {
    // failed records whether the match has failed; after it has, only the
    // pattern's syntax is checked.
    let mut failed = false;
    let mut chunk = chunk;
    let mut s = s;
    while !chunk.is_empty() {
        if !failed && s.is_empty() {
            failed = true;
        }
        let c0 = chunk.as_bytes()[0];
        match c0 {
            b'[' => {
                // character class
                let mut r = '\0';
                if !failed {
                    let mut it = s.chars();
                    r = it.next().unwrap_or('\0');
                    s = &s[r.len_utf8()..];
                }
                chunk = &chunk[1..];
                // possibly negated
                let mut negated = false;
                if let Some(rest) = chunk.strip_prefix('^') {
                    negated = true;
                    chunk = rest;
                }
                // parse all ranges
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if !chunk.is_empty() && chunk.as_bytes()[0] == b']' && nrange > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if let Some(rest) = chunk.strip_prefix('-') {
                        let (h, rest) = get_esc(rest)?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    nrange += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    let c = s.chars().next().unwrap_or('\0');
                    if c == '/' {
                        failed = true;
                    }
                    s = &s[c.len_utf8().min(s.len())..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                // A literal character, or one escaped with `\`.
                if c0 == b'\\' {
                    chunk = &chunk[1..];
                    if chunk.is_empty() {
                        return Err(BadPattern);
                    }
                }
                let c = chunk.chars().next().unwrap_or('\0');
                if !failed {
                    if !s.starts_with(c) {
                        failed = true;
                    } else {
                        s = &s[c.len_utf8()..];
                    }
                }
                chunk = &chunk[c.len_utf8()..];
            }
        }
    }
    if failed { Ok(("", false)) } else { Ok((s, true)) }
}

/// Go's `getEsc`: one possibly escaped character of a class.
fn get_esc(chunk: &str) -> Result<(char, &str), BadPattern> {
    let mut chunk = chunk;
    if chunk.is_empty() || chunk.starts_with('-') || chunk.starts_with(']') {
        return Err(BadPattern);
    }
    if let Some(rest) = chunk.strip_prefix('\\') {
        chunk = rest;
        if chunk.is_empty() {
            return Err(BadPattern);
        }
    }
    let r = chunk.chars().next().ok_or(BadPattern)?;
    let rest = &chunk[r.len_utf8()..];
    if rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((r, rest))
}

/// Which proxies a module may be sent to, from `GOPROXY`, `GOPRIVATE`,
/// `GONOPROXY` and `GONOSUMDB` (unset variables as empty strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoEnv {
    pub proxies: ProxyList,
    /// `GONOPROXY`, or `GOPRIVATE` when `GONOPROXY` is unset.
    pub no_proxy: String,
    /// `GONOSUMDB`, or `GOPRIVATE` when `GONOSUMDB` is unset.
    pub no_sum_db: String,
}

/// What to do with one module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    /// Ask these entries in order.
    Proxies(&'a [ProxyEntry]),
    /// Private: never sent to a proxy (the reason names the variable).
    Private(String),
}

impl GoEnv {
    /// The go command's reading of the variables (`None` = unset).
    pub fn new(
        goproxy: Option<&str>,
        goprivate: Option<&str>,
        gonoproxy: Option<&str>,
        gonosumdb: Option<&str>,
    ) -> Result<GoEnv, ProxyListError> {
        let private = goprivate.unwrap_or("");
        Ok(GoEnv {
            proxies: ProxyList::parse(goproxy.unwrap_or(""))?,
            no_proxy: gonoproxy.unwrap_or(private).to_owned(),
            no_sum_db: gonosumdb.unwrap_or(private).to_owned(),
        })
    }

    /// Where `module` may be fetched from. A module matching `GONOPROXY`
    /// (by default `GOPRIVATE`) goes to no proxy, as with the go command;
    /// a module matching `GONOSUMDB` is private too, so it is not sent to a
    /// public proxy either (the go command would still use the proxy for it:
    /// Steward is stricter, since a name is all a public proxy needs to
    /// learn of a private module).
    pub fn route(&self, module: &str) -> Route<'_> {
        if match_prefix_patterns(&self.no_proxy, module) {
            return Route::Private(format!("it matches GONOPROXY/GOPRIVATE ({:?})", self.no_proxy));
        }
        if match_prefix_patterns(&self.no_sum_db, module) {
            return Route::Private(format!("it matches GONOSUMDB ({:?})", self.no_sum_db));
        }
        Route::Proxies(&self.proxies.entries)
    }
}

// ---------------------------------------------------------------------------
// Escaping

/// A module path or version the proxy protocol cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?}: {message}")]
pub struct EscapeError {
    pub what: &'static str,
    pub value: String,
    pub message: String,
}

/// The proxy protocol's escaped module path (`github.com/Azure/x` →
/// `github.com/!azure/x`). Refuses what `module.CheckPath` refuses that
/// matters in a URL: empty paths, non-ASCII, `!`, `..`, `//`, leading or
/// trailing `/`, characters outside `[A-Za-z0-9+-._~/]`.
pub fn escape_path(path: &str) -> Result<String, EscapeError> {
    let bad = |message: &str| EscapeError { what: "module path", value: path.to_owned(), message: message.to_owned() };
    if path.is_empty() {
        return Err(bad("empty"));
    }
    if path.contains("..") || path.contains("//") || path.starts_with('/') || path.ends_with('/') {
        return Err(bad("not a clean slash-separated path"));
    }
    if let Some(c) = path.chars().find(|&c| !(c.is_ascii_alphanumeric() || "+-._~/".contains(c))) {
        return Err(bad(&format!("invalid character {c:?}")));
    }
    if path.split('/').any(|e| e.starts_with('.') || e.ends_with('.')) {
        return Err(bad("a path element starts or ends with a dot"));
    }
    Ok(go_escape(path))
}

/// The proxy protocol's escaped version. Refuses what `EscapeVersion`
/// refuses: `!`, `/`, `..`-only elements, characters not allowed in file
/// names.
pub fn escape_version(version: &str) -> Result<String, EscapeError> {
    let bad = |message: &str| EscapeError { what: "version", value: version.to_owned(), message: message.to_owned() };
    if version.is_empty() || version.bytes().all(|b| b == b'.') || version.ends_with('.') {
        return Err(bad("not a version"));
    }
    if let Some(c) = version.chars().find(|&c| !(c.is_ascii_alphanumeric() || "#$%&()+,-.=@[]^_{}~".contains(c))) {
        return Err(bad(&format!("invalid character {c:?}")));
    }
    Ok(go_escape(version))
}

/// Go's module path and version escaping (the proxy's URLs, the module
/// cache's directories): each capital letter becomes `!` + lower case.
pub fn go_escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `<base>/<escaped module>/@v/<escaped version>.zip`.
pub fn zip_url(base: &str, module: &str, version: &str) -> Result<String, EscapeError> {
    Ok(format!("{}/{}/@v/{}.zip", base.trim_end_matches('/'), escape_path(module)?, escape_version(version)?))
}

// ---------------------------------------------------------------------------
// h1: dirhash

/// `dirhash.Hash1` built file by file: each file's SHA-256 and name,
/// summarised sorted by name.
#[derive(Debug, Default, Clone)]
pub struct DirHash {
    lines: Vec<(String, [u8; 32])>,
}

/// A file name `Hash1` refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dirhash: file name {0:?} contains a newline")]
pub struct NewlineInName(pub String);

impl DirHash {
    /// Adds one file: its full name (`module@version/path`) and the SHA-256
    /// of its content.
    pub fn add(&mut self, name: &str, sha256: [u8; 32]) -> Result<(), NewlineInName> {
        if name.contains('\n') {
            return Err(NewlineInName(name.to_owned()));
        }
        self.lines.push((name.to_owned(), sha256));
        Ok(())
    }

    /// Adds one file from its content.
    pub fn add_bytes(&mut self, name: &str, content: &[u8]) -> Result<(), NewlineInName> {
        self.add(name, Sha256::digest(content).into())
    }

    /// `h1:` + base64 of the SHA-256 of the `"<hex>  <name>\n"` lines in
    /// byte order of the names (Go's `sort.Strings`).
    pub fn finish(mut self) -> String {
        self.lines.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut h = Sha256::new();
        for (name, sum) in &self.lines {
            h.update(hex::encode(sum).as_bytes());
            h.update(b"  ");
            h.update(name.as_bytes());
            h.update(b"\n");
        }
        format!("h1:{}", base64::engine::general_purpose::STANDARD.encode(h.finalize()))
    }
}

/// The `h1:` hashes of a `go.sum`'s module zips, by (module, version).
/// `/go.mod` lines and lines that are not `module version h1:…` are left
/// out (the go.mod parser reports malformed lines).
pub fn go_sum_hashes(text: &str) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [module, version, hash] = f.as_slice()
            && !version.ends_with("/go.mod")
            && hash.starts_with("h1:")
        {
            out.insert(((*module).to_owned(), (*version).to_owned()), (*hash).to_owned());
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Module zips

/// Bounds on reading one module zip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipLimits {
    /// Bytes of the zip read (the go command's limit: 500 MiB).
    pub max_zip_bytes: u64,
    /// Bytes of all files unpacked (the go command's limit: 500 MiB).
    pub max_unpacked_bytes: u64,
    /// Entries.
    pub max_files: usize,
    /// Bytes kept of one license file.
    pub max_license_bytes: usize,
    /// License files kept.
    pub max_license_files: usize,
}

impl Default for ZipLimits {
    fn default() -> Self {
        Self {
            max_zip_bytes: 500 << 20,
            max_unpacked_bytes: 500 << 20,
            max_files: 100_000,
            max_license_bytes: 256 << 10,
            max_license_files: 32,
        }
    }
}

/// What reading a module zip gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleZip {
    pub h1: String,
    pub files: usize,
    /// Bytes of the zip read (local headers and file data; the central
    /// directory is not read).
    pub zip_bytes: u64,
    pub unpacked_bytes: u64,
    pub licenses: Vec<ZipLicenseFile>,
}

/// Why a module zip could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipError {
    #[error("not a module zip: {0}")]
    Malformed(String),
    #[error("entry {name:?}: {message}")]
    Entry { name: String, message: String },
    #[error("larger than {limit} {what}")]
    TooLarge { what: &'static str, limit: u64 },
    #[error("reading: {0}")]
    Io(String),
}

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL: u32 = 0x0605_4b50;
const DATA_DESCRIPTOR: u32 = 0x0807_4b50;

/// Counts and bounds the bytes taken from the zip.
struct Counted<R> {
    inner: R,
    read: u64,
    limit: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read >= self.limit {
            return Err(std::io::Error::other(TOO_LARGE_ZIP));
        }
        let max = (self.limit - self.read).min(buf.len() as u64) as usize;
        let n = self.inner.read(&mut buf[..max])?;
        self.read += n as u64;
        Ok(n)
    }
}

const TOO_LARGE_ZIP: &str = "steward: zip byte limit";

/// Reads a module zip from `reader` as a stream: each entry's local header
/// and data, in order, until the central directory. Every entry is hashed
/// (for `h1:`, exactly as `dirhash.HashZip` over the same files); license
/// files (by name, see [`is_license_file_name`]) directly in one of
/// `dirs` (paths inside the module, `""` for its root) are kept. Names
/// must start with `module@version/`, as in every module zip. Encrypted
/// entries, methods other than stored and deflate, duplicate names, bad
/// CRCs and sizes are errors; so is going past a limit.
///
/// A zip whose local entries differ from its central directory can only
/// give the `h1:` of the files actually read, so checking that hash against
/// `go.sum` still proves those files are the module's.
pub fn read_module_zip<R: Read>(
    reader: R,
    module: &str,
    version: &str,
    dirs: &[String],
    limits: &ZipLimits,
) -> Result<ModuleZip, ZipError> {
    let prefix = format!("{module}@{version}/");
    let mut r = BufReader::with_capacity(64 << 10, Counted { inner: reader, read: 0, limit: limits.max_zip_bytes });
    let io = |e: std::io::Error| {
        if e.to_string() == TOO_LARGE_ZIP {
            ZipError::TooLarge { what: "bytes of zip", limit: limits.max_zip_bytes }
        } else if e.kind() == std::io::ErrorKind::UnexpectedEof {
            ZipError::Malformed("the zip ends in the middle of an entry".to_owned())
        } else {
            ZipError::Io(e.to_string())
        }
    };
    let mut hash = DirHash::default();
    let mut names: HashSet<String> = HashSet::new();
    let mut licenses = Vec::new();
    let mut unpacked: u64 = 0;
    let mut files = 0usize;
    loop {
        let sig = match read_u32(&mut r) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && files > 0 => {
                return Err(ZipError::Malformed("no central directory after the last entry".to_owned()));
            }
            Err(e) => return Err(io(e)),
        };
        if sig == CENTRAL_HEADER || sig == END_OF_CENTRAL {
            break;
        }
        if sig != LOCAL_HEADER {
            return Err(ZipError::Malformed(format!("unexpected signature {sig:#010x} after {files} entries")));
        }
        files += 1;
        if files > limits.max_files {
            return Err(ZipError::TooLarge { what: "entries", limit: limits.max_files as u64 });
        }
        let mut h = [0u8; 26];
        r.read_exact(&mut h).map_err(io)?;
        let le16 = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
        let le32 = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let (flags, method) = (le16(2), le16(4));
        let (crc_header, csize_header, usize_header) = (le32(10), le32(14), le32(18));
        let (name_len, extra_len) = (le16(22) as usize, le16(24) as usize);
        let mut name = vec![0u8; name_len];
        r.read_exact(&mut name).map_err(io)?;
        let mut extra = vec![0u8; extra_len];
        r.read_exact(&mut extra).map_err(io)?;
        let name = String::from_utf8(name)
            .map_err(|_| ZipError::Malformed(format!("entry {files}: the name is not UTF-8")))?;
        let entry_err = |message: String| ZipError::Entry { name: name.clone(), message };
        let Some(relative) = name.strip_prefix(&prefix) else {
            return Err(entry_err(format!("not under {prefix}")));
        };
        if flags & 1 != 0 {
            return Err(entry_err("encrypted".to_owned()));
        }
        if !names.insert(name.clone()) {
            return Err(entry_err("twice in the zip".to_owned()));
        }
        let descriptor = flags & 8 != 0;
        let zip64 = has_zip64_extra(&extra);
        if zip64 && !descriptor {
            return Err(entry_err("zip64 sizes (files over 4 GiB) are not read".to_owned()));
        }
        let keep = is_wanted_license(relative, dirs) && licenses.len() < limits.max_license_files;
        let mut sink = Sink {
            sha: Sha256::new(),
            crc: flate2::Crc::new(),
            kept: Vec::new(),
            keep_limit: if keep { limits.max_license_bytes } else { 0 },
            truncated: false,
            written: 0,
            budget: limits.max_unpacked_bytes.saturating_sub(unpacked),
        };
        let before = r.get_ref().read - r.buffer().len() as u64;
        match method {
            0 => {
                // A stored entry's size must be in its local header (a
                // writer that leaves it to the descriptor is caught below:
                // the sizes will not match).
                let mut data = (&mut r).take(u64::from(csize_header));
                copy_into(&mut data, &mut sink).map_err(|e| sink_err(e, limits, io))?;
                if sink.written != u64::from(csize_header) {
                    return Err(ZipError::Malformed("the zip ends in the middle of an entry".to_owned()));
                }
            }
            8 => {
                let mut inflate = flate2::bufread::DeflateDecoder::new(&mut r);
                copy_into(&mut inflate, &mut sink).map_err(|e| sink_err(e, limits, io))?;
            }
            m => return Err(entry_err(format!("compression method {m} (only stored and deflate are read)"))),
        }
        let after = r.get_ref().read - r.buffer().len() as u64;
        let compressed = after - before;
        let (crc, csize, usize_) = if descriptor {
            let mut first = [0u8; 4];
            r.read_exact(&mut first).map_err(io)?;
            let crc = if u32::from_le_bytes(first) == DATA_DESCRIPTOR {
                read_u32(&mut r).map_err(io)?
            } else {
                u32::from_le_bytes(first)
            };
            if zip64 {
                (crc, read_u64(&mut r).map_err(io)?, read_u64(&mut r).map_err(io)?)
            } else {
                (crc, u64::from(read_u32(&mut r).map_err(io)?), u64::from(read_u32(&mut r).map_err(io)?))
            }
        } else {
            (crc_header, u64::from(csize_header), u64::from(usize_header))
        };
        if csize != compressed || usize_ != sink.written {
            return Err(entry_err(format!(
                "sizes do not match the data ({compressed} compressed, {} unpacked; the zip says {csize} and {usize_})",
                sink.written
            )));
        }
        if crc != sink.crc.sum() {
            return Err(entry_err("CRC-32 does not match the data".to_owned()));
        }
        unpacked += sink.written;
        hash.add(&name, sink.sha.finalize().into()).map_err(|e| entry_err(e.to_string()))?;
        if keep {
            licenses.push(ZipLicenseFile {
                path: relative.to_owned(),
                text: String::from_utf8_lossy(&sink.kept).into_owned(),
                truncated: sink.truncated,
            });
        }
    }
    if files == 0 {
        return Err(ZipError::Malformed("no entries".to_owned()));
    }
    licenses.sort_by(|a, b| a.path.cmp(&b.path));
    let zip_bytes = r.get_ref().read - r.buffer().len() as u64;
    Ok(ModuleZip { h1: hash.finish(), files, zip_bytes, unpacked_bytes: unpacked, licenses })
}

/// True when `relative` is a license file directly inside one of `dirs`.
fn is_wanted_license(relative: &str, dirs: &[String]) -> bool {
    let (dir, file) = match relative.rfind('/') {
        Some(i) => (&relative[..i], &relative[i + 1..]),
        None => ("", relative),
    };
    is_license_file_name(file) && (dir.is_empty() || dirs.iter().any(|d| d.trim_matches('/') == dir))
}

fn has_zip64_extra(extra: &[u8]) -> bool {
    let mut i = 0;
    while i + 4 <= extra.len() {
        let id = u16::from_le_bytes([extra[i], extra[i + 1]]);
        let len = u16::from_le_bytes([extra[i + 2], extra[i + 3]]) as usize;
        if id == 0x0001 {
            return true;
        }
        i += 4 + len;
    }
    false
}

/// Where an entry's bytes go: its SHA-256, its CRC-32 and, for a license
/// file, the first bytes.
struct Sink {
    sha: Sha256,
    crc: flate2::Crc,
    kept: Vec<u8>,
    keep_limit: usize,
    truncated: bool,
    written: u64,
    budget: u64,
}

const TOO_LARGE_UNPACKED: &str = "steward: unpacked byte limit";

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written + buf.len() as u64 > self.budget {
            return Err(std::io::Error::other(TOO_LARGE_UNPACKED));
        }
        self.sha.update(buf);
        self.crc.update(buf);
        let room = self.keep_limit.saturating_sub(self.kept.len());
        if room < buf.len() && self.keep_limit > 0 {
            self.truncated = true;
        }
        self.kept.extend_from_slice(&buf[..room.min(buf.len())]);
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn copy_into(from: &mut impl Read, sink: &mut Sink) -> std::io::Result<u64> {
    std::io::copy(from, sink)
}

fn sink_err(e: std::io::Error, limits: &ZipLimits, io: impl Fn(std::io::Error) -> ZipError) -> ZipError {
    if e.to_string() == TOO_LARGE_UNPACKED {
        ZipError::TooLarge { what: "bytes unpacked", limit: limits.max_unpacked_bytes }
    } else if e.kind() == std::io::ErrorKind::InvalidInput || e.kind() == std::io::ErrorKind::InvalidData {
        ZipError::Malformed(format!("bad deflate data: {e}"))
    } else {
        io(e)
    }
}

fn read_u32(r: &mut impl BufRead) -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64(r: &mut impl BufRead) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_match_follows_go() {
        // Cases from Go's path/match_test.go.
        let cases: &[(&str, &str, Result<bool, BadPattern>)] = &[
            ("abc", "abc", Ok(true)),
            ("*", "abc", Ok(true)),
            ("*c", "abc", Ok(true)),
            ("a*", "a", Ok(true)),
            ("a*", "abc", Ok(true)),
            ("a*", "ab/c", Ok(false)),
            ("a*/b", "abc/b", Ok(true)),
            ("a*/b", "a/c/b", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Ok(false)),
            ("a*b?c*x", "abxbbxdbxebxczzx", Ok(true)),
            ("a*b?c*x", "abxbbxdbxebxczzy", Ok(false)),
            ("ab[c]", "abc", Ok(true)),
            ("ab[b-d]", "abc", Ok(true)),
            ("ab[e-g]", "abc", Ok(false)),
            ("ab[^c]", "abc", Ok(false)),
            ("ab[^b-d]", "abc", Ok(false)),
            ("ab[^e-g]", "abc", Ok(true)),
            ("a\\*b", "a*b", Ok(true)),
            ("a\\*b", "ab", Ok(false)),
            ("a?b", "a☺b", Ok(true)),
            ("a[^a]b", "a☺b", Ok(true)),
            ("a???b", "a☺b", Ok(false)),
            ("a[^a][^a][^a]b", "a☺b", Ok(false)),
            ("[a-ζ]*", "α", Ok(true)),
            ("*[a-ζ]", "A", Ok(false)),
            ("a?b", "a/b", Ok(false)),
            ("a*b", "a/b", Ok(false)),
            ("[\\]a]", "]", Ok(true)),
            ("[\\-]", "-", Ok(true)),
            ("[x\\-]", "x", Ok(true)),
            ("[x\\-]", "-", Ok(true)),
            ("[x\\-]", "z", Ok(false)),
            ("[\\-x]", "x", Ok(true)),
            ("[\\-x]", "-", Ok(true)),
            ("[\\-x]", "a", Ok(false)),
            ("[]a]", "]", Err(BadPattern)),
            ("[-]", "-", Err(BadPattern)),
            ("[x-]", "x", Err(BadPattern)),
            ("[x-]", "-", Err(BadPattern)),
            ("[x-]", "z", Err(BadPattern)),
            ("[-x]", "x", Err(BadPattern)),
            ("[-x]", "-", Err(BadPattern)),
            ("[-x]", "a", Err(BadPattern)),
            ("\\", "a", Err(BadPattern)),
            ("[a-b-c]", "a", Err(BadPattern)),
            ("[", "a", Err(BadPattern)),
            ("[^", "a", Err(BadPattern)),
            ("[^bc", "a", Err(BadPattern)),
            ("a[", "a", Err(BadPattern)),
            ("a[", "ab", Err(BadPattern)),
            ("a[", "x", Err(BadPattern)),
            ("a/b[", "x", Err(BadPattern)),
            ("*x", "xxx", Ok(true)),
        ];
        for (pattern, name, want) in cases {
            assert_eq!(path_match(pattern, name), *want, "path.Match({pattern:?}, {name:?})");
        }
    }
}
