//! Registry metadata: the license a public registry declares for one
//! package version, for lockfiles whose packages are not on this machine.
//!
//! On by default ([`super::LicenseConfig::offline`] is `false`) when the
//! caller gives a source; `offline = true` for air-gapped use. This module
//! is pure: it defines what a caller that can reach the registries
//! implements ([`RegistrySource`]), the answers it gives
//! ([`RegistryAnswer`]), where each registry keeps a version's metadata
//! ([`RegistryConfig::document_url`]) and parsers of those documents:
//!
//! - npm: the per-version document `{npm}/{name}/{version}` — `license` as
//!   a string, the legacy `{"type": …}` object, the legacy `licenses:
//!   [{"type": …}]` array;
//! - PyPI: `{pypi}/{name}/{version}/json` — `info.license_expression`
//!   (PEP 639), else `info.license` when it is short (not a whole license
//!   text), else the `License ::` trove classifiers mapped to SPDX ids;
//! - crates.io: the `Cargo.toml` inside the downloaded
//!   `{crates}/{name}/{name}-{version}.crate` — `package.license`, else the
//!   text of `package.license-file`.
//!
//! Go has no registry license metadata: the module proxy serves go.mod
//! files and zips, not licenses. Sending requests, caching and size limits
//! of the transfer are the caller's (the steward server's `registry.rs`);
//! the parsers refuse documents larger than [`MAX_DOCUMENT_BYTES`].

use crate::model::Ecosystem;
use crate::names::pep503;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::PathBuf;

/// The largest registry document the parsers read (a PyPI document
/// carries the project's whole description).
pub const MAX_DOCUMENT_BYTES: usize = 16 << 20;
/// The largest `Cargo.toml` or license file read from a crate archive.
pub const MAX_CRATE_FILE_BYTES: usize = 1 << 20;
/// License texts kept from a registry (longer ones are cut).
const MAX_TEXT_BYTES: usize = 256 << 10;
/// A declared value longer than this, or of more than two lines, is read
/// as a license text rather than an expression.
const MAX_DECLARED_CHARS: usize = 1024;

/// Looks up a package version's license metadata in a registry. The
/// scanner calls it from several threads at once; implementations that
/// reach the network must bound each request in time.
pub trait RegistrySource: Send + Sync {
    /// The registry's answer for `name` at exactly `version` in
    /// `ecosystem` (Cargo, npm or PyPI). An error is reported on the
    /// package and never stops a scan.
    fn lookup(&self, ecosystem: Ecosystem, name: &str, version: &str) -> Result<RegistryAnswer, RegistryError>;

    /// The license of crate `name` at `version` from its manifest at the
    /// commit a Cargo git source pins ([`GitSource`]): a git dependency, or
    /// a `[patch]` to a git repository. Implementations fetch the
    /// repository once, cache the answer, and read it with
    /// [`git_crate_answer`]. The default: not supported.
    fn lookup_git(&self, name: &str, version: &str, source: &GitSource) -> Result<RegistryAnswer, RegistryError> {
        let _ = (name, version, source);
        Err(RegistryError::Unsupported { ecosystem: Ecosystem::Cargo })
    }
}

/// A Cargo git source as `Cargo.lock` writes it:
/// `git+URL[?branch=…|tag=…|rev=…]#COMMIT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSource {
    /// The repository URL, without `git+`, the query or the fragment.
    pub url: String,
    /// The locked commit (hex, as the lockfile writes it).
    pub commit: String,
}

impl GitSource {
    /// Reads a Cargo git source; `None` for anything else or without a
    /// locked commit (hex, 7 to 64 digits).
    pub fn parse(source: &str) -> Option<GitSource> {
        let rest = source.strip_prefix("git+")?;
        let (url_query, commit) = rest.rsplit_once('#')?;
        let url = url_query.split('?').next().unwrap_or(url_query).trim();
        let commit = commit.trim();
        let hex = (7..=64).contains(&commit.len()) && commit.bytes().all(|b| b.is_ascii_hexdigit());
        (hex && !url.is_empty()).then(|| GitSource { url: url.to_owned(), commit: commit.to_ascii_lowercase() })
    }

    /// Where a record says it was read from: `URL@COMMIT:path`.
    pub fn location(&self, path: &str) -> String {
        format!("{}@{}:{path}", self.url, self.commit)
    }
}

/// The most `Cargo.toml` files of a repository read while looking for one
/// crate.
pub const MAX_GIT_MANIFESTS: usize = 2_000;

/// The answer for crate `name` at `version` in a repository at one commit:
/// the `Cargo.toml` (among `manifests`, paths in the repository) whose
/// `[package]` is `name`, read like a published crate's
/// ([`parse_crate_manifest`]); `license.workspace = true` takes
/// `[workspace.package] license` from the nearest manifest above that has
/// one. A version other than the locked one is read all the same, with a
/// warning in the value. `read` returns a file of the repository (at most
/// [`MAX_CRATE_FILE_BYTES`] is used).
pub fn git_crate_answer(
    source: &GitSource,
    name: &str,
    version: &str,
    manifests: &[String],
    read: &mut dyn FnMut(&str) -> Option<Vec<u8>>,
) -> Result<RegistryAnswer, RegistryError> {
    let mut paths: Vec<&String> = manifests.iter().filter(|p| p.rsplit('/').next() == Some("Cargo.toml")).collect();
    paths.sort_by_key(|p| (p.matches('/').count(), p.as_str()));
    for path in paths.into_iter().take(MAX_GIT_MANIFESTS) {
        let Some(bytes) = read(path).filter(|b| b.len() <= MAX_CRATE_FILE_BYTES) else { continue };
        let Ok(text) = std::str::from_utf8(&bytes) else { continue };
        let Ok(table) = toml::from_str::<toml::Table>(text) else { continue };
        let Some(package) = table.get("package").and_then(|p| p.as_table()) else { continue };
        if package.get("name").and_then(|n| n.as_str()) != Some(name) {
            continue;
        }
        let url = source.location(path);
        let dir = path.strip_suffix("Cargo.toml").unwrap_or("").to_owned();
        let inherits = |key: &str| {
            package.get(key).and_then(|v| v.as_table()).and_then(|t| t.get("workspace")).and_then(|w| w.as_bool())
                == Some(true)
        };
        if inherits("license") || inherits("license-file") {
            return workspace_license(source, &dir, inherits("license"), read);
        }
        let mut read_in_crate = |relative: &str| read(&format!("{dir}{relative}"));
        let answer = parse_crate_manifest(&url, path, &bytes, &mut read_in_crate)?;
        let locked = package.get("version").and_then(|v| v.as_str());
        return Ok(match (answer, locked) {
            (RegistryAnswer::Found(mut r), Some(v)) if v != version => {
                r.value = format!("{} (Cargo.toml says version {v}, the lockfile {version})", r.value);
                RegistryAnswer::Found(r)
            }
            (a, _) => a,
        });
    }
    Ok(RegistryAnswer::NotFound { url: source.location(&format!("**/Cargo.toml with [package] name = {name:?}")) })
}

/// `[workspace.package] license` (or `license-file`) of the nearest
/// manifest above `crate_dir` that has it.
fn workspace_license(
    source: &GitSource,
    crate_dir: &str,
    license: bool,
    read: &mut dyn FnMut(&str) -> Option<Vec<u8>>,
) -> Result<RegistryAnswer, RegistryError> {
    let mut dir = crate_dir.trim_end_matches('/').to_owned();
    loop {
        let path = if dir.is_empty() { "Cargo.toml".to_owned() } else { format!("{dir}/Cargo.toml") };
        let shared = read(&path)
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
            .and_then(|t| t.get("workspace")?.get("package")?.as_table().cloned());
        if let Some(shared) = shared {
            let url = source.location(&path);
            let key = if license { "license" } else { "license-file" };
            if let Some(value) = shared.get(key).and_then(|v| v.as_str()) {
                if license {
                    return Ok(declared(&url, "workspace.package.license", value));
                }
                let Some(file) = crate_relative_path(value) else {
                    return Err(RegistryError::malformed(
                        &url,
                        "workspace.package.license-file",
                        "leaves the workspace",
                    ));
                };
                let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
                let Some(bytes) = read(&format!("{prefix}{file}")) else {
                    return Err(RegistryError::malformed(
                        &url,
                        "workspace.package.license-file",
                        format!("{file:?} is not in the repository"),
                    ));
                };
                let text = cut(&String::from_utf8_lossy(&bytes), MAX_TEXT_BYTES);
                return Ok(found(&url, "workspace.package.license-file", &file, RegistryLicense::Text { text }));
            }
            return Ok(RegistryAnswer::NoLicense { url });
        }
        if dir.is_empty() {
            return Ok(RegistryAnswer::NoLicense { url: source.location("Cargo.toml") });
        }
        dir = match dir.rfind('/') {
            Some(i) => dir[..i].to_owned(),
            None => String::new(),
        };
    }
}

/// What a registry says about one package version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "kebab-case")]
pub enum RegistryAnswer {
    /// The version's metadata declares a license.
    Found(RegistryRecord),
    /// The version's metadata exists and has no license field.
    NoLicense { url: String },
    /// The registry does not have this version (HTTP 404).
    NotFound { url: String },
}

/// License data read from a registry document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryRecord {
    /// The document it was read from.
    pub url: String,
    /// The field: `license`, `license.type`, `licenses[0].type`,
    /// `info.license_expression`, `info.license`, `info.classifiers`,
    /// `package.license`, `package.license-file`.
    pub field: String,
    /// The value as found (several entries joined with `; `; for a license
    /// file its path).
    pub value: String,
    /// What the value says.
    pub license: RegistryLicense,
}

/// A registry's license data: a license string or a license text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RegistryLicense {
    /// A license string to read leniently (an SPDX expression or what
    /// passes for one; several legacy entries or classifiers joined with
    /// ` OR `).
    Declared { expression: String },
    /// A license text to run detection on (a crate's `license-file`, a
    /// PyPI `license` field holding the whole text).
    Text { text: String },
}

/// Why a registry look-up gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The document is not what the registry serves: not JSON, a field of
    /// the wrong type, a file missing from an archive.
    #[error("{url}: {field}: {message}")]
    Malformed { url: String, field: String, message: String },
    /// The document is larger than the limit.
    #[error("{url}: larger than {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    /// The registry could not be asked or did not answer usably (an HTTP
    /// error status, a timeout, a refused connection). Transient: a later
    /// look-up may succeed.
    #[error("{url}: {message}")]
    Unavailable { url: String, message: String },
    /// The ecosystem has no license metadata in its registry.
    #[error("{ecosystem} packages have no license metadata in a registry")]
    Unsupported { ecosystem: Ecosystem },
}

impl RegistryError {
    fn malformed(url: &str, field: &str, message: impl Into<String>) -> Self {
        RegistryError::Malformed { url: url.to_owned(), field: field.to_owned(), message: message.into() }
    }

    /// True for errors a later look-up may not repeat (never cache these).
    pub fn is_transient(&self) -> bool {
        matches!(self, RegistryError::Unavailable { .. })
    }
}

/// `[licenses.registry]` in `steward.toml`: where the registries are and
/// how long to wait for them. Used only when `offline = false`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct RegistryConfig {
    /// npm registry base URL.
    pub npm: String,
    /// crates.io download base: crates are fetched from
    /// `{crates}/{name}/{name}-{version}.crate`.
    pub crates: String,
    /// PyPI JSON API base: `{pypi}/{name}/{version}/json`.
    pub pypi: String,
    /// Time limit of one request, in seconds (1–300).
    pub timeout_secs: u64,
    /// Where answers are cached on disk (default: chosen by the caller; the
    /// steward server uses `<data_dir>/cache/registry`).
    pub cache_dir: Option<PathBuf>,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            npm: "https://registry.npmjs.org".to_owned(),
            crates: "https://static.crates.io/crates".to_owned(),
            pypi: "https://pypi.org/pypi".to_owned(),
            timeout_secs: 10,
            cache_dir: None,
        }
    }
}

impl RegistryConfig {
    /// Checks the URLs and the timeout; the error is `(field, message)`
    /// with the field relative to `[licenses]`.
    pub(crate) fn check(&self) -> Result<(), (String, String)> {
        for (key, value) in [("npm", &self.npm), ("crates", &self.crates), ("pypi", &self.pypi)] {
            check_base_url(value).map_err(|m| (format!("registry.{key}"), format!("{value:?} {m}")))?;
        }
        if !(1..=300).contains(&self.timeout_secs) {
            return Err(("registry.timeout-secs".to_owned(), format!("{} is not in 1–300", self.timeout_secs)));
        }
        if self.cache_dir.as_ref().is_some_and(|d| d.as_os_str().is_empty()) {
            return Err(("registry.cache-dir".to_owned(), "is empty".to_owned()));
        }
        Ok(())
    }

    /// The base URL configured for `ecosystem`, without a trailing `/`.
    pub fn base_url(&self, ecosystem: Ecosystem) -> Option<&str> {
        let base = match ecosystem {
            Ecosystem::Npm => &self.npm,
            Ecosystem::Cargo => &self.crates,
            Ecosystem::Pypi => &self.pypi,
            Ecosystem::Go | Ecosystem::Other => return None,
        };
        Some(base.trim_end_matches('/'))
    }

    /// The URL of the document that holds the license of `name` at
    /// `version`: npm's per-version document, PyPI's version JSON (at the
    /// PEP 503 normalised name, which PyPI serves without a redirect), the
    /// `.crate` archive. Each part is percent-encoded, so no name can
    /// leave the registry's path.
    pub fn document_url(&self, ecosystem: Ecosystem, name: &str, version: &str) -> Result<String, RegistryError> {
        let base = self.base_url(ecosystem).ok_or(RegistryError::Unsupported { ecosystem })?;
        let v = encode_segment(version);
        Ok(match ecosystem {
            Ecosystem::Npm => {
                // `@scope/name` keeps its one slash (the registry's route).
                let name = match name.strip_prefix('@').and_then(|rest| rest.split_once('/')) {
                    Some((scope, rest)) => format!("@{}/{}", encode_segment(scope), encode_segment(rest)),
                    None => encode_segment(name),
                };
                format!("{base}/{name}/{v}")
            }
            Ecosystem::Cargo => {
                let n = encode_segment(name);
                format!("{base}/{n}/{n}-{v}.crate")
            }
            Ecosystem::Pypi => format!("{base}/{}/{v}/json", encode_segment(&pep503(name))),
            Ecosystem::Go | Ecosystem::Other => return Err(RegistryError::Unsupported { ecosystem }),
        })
    }
}

fn check_base_url(value: &str) -> Result<(), &'static str> {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or("is not an http:// or https:// URL")?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err("has no host");
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#')) {
        return Err("may not contain spaces, a query or a fragment");
    }
    if host.contains('@') {
        return Err("may not contain credentials");
    }
    Ok(())
}

/// The host (lower case, without user or port) of a URL; `None` when the
/// value is not a URL.
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host.split(':').next()?,
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so the
/// result is one path segment (no `/`, no `..` meaning).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') || (b == b'.' && !matches!(s, "." | "..")) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn json_document<'a>(
    url: &str,
    body: &[u8],
    value: &'a mut Value,
) -> Result<&'a serde_json::Map<String, Value>, RegistryError> {
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(RegistryError::TooLarge { url: url.to_owned(), limit: MAX_DOCUMENT_BYTES as u64 });
    }
    *value = serde_json::from_slice(body)
        .map_err(|e| RegistryError::malformed(url, "(document)", format!("not JSON: {e}")))?;
    value
        .as_object()
        .ok_or_else(|| RegistryError::malformed(url, "(document)", format!("is {}, not a JSON object", kind(value))))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn found(url: &str, field: &str, value: &str, license: RegistryLicense) -> RegistryAnswer {
    RegistryAnswer::Found(RegistryRecord {
        url: url.to_owned(),
        field: field.to_owned(),
        value: value.to_owned(),
        license,
    })
}

/// A declared license string, or a text when it is too long to be one.
fn declared(url: &str, field: &str, value: &str) -> RegistryAnswer {
    let value = value.trim();
    if value.chars().count() > MAX_DECLARED_CHARS || value.lines().count() > 2 {
        let text = cut(value, MAX_TEXT_BYTES);
        let shown = format!("(a license text of {} characters)", value.chars().count());
        return found(url, field, &shown, RegistryLicense::Text { text });
    }
    found(url, field, value, RegistryLicense::Declared { expression: value.to_owned() })
}

/// `s` cut to at most `max` bytes at a character boundary.
fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// Reads npm's per-version document (`GET {npm}/{name}/{version}`).
pub fn parse_npm_version(url: &str, body: &[u8]) -> Result<RegistryAnswer, RegistryError> {
    let mut doc = Value::Null;
    let obj = json_document(url, body, &mut doc)?;
    match obj.get("license") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.trim().is_empty() => {}
        Some(Value::String(s)) => return Ok(declared(url, "license", s)),
        Some(Value::Object(o)) => match o.get("type") {
            Some(Value::String(t)) if !t.trim().is_empty() => return Ok(declared(url, "license.type", t)),
            None | Some(Value::Null) | Some(Value::String(_)) => {}
            Some(other) => {
                return Err(RegistryError::malformed(url, "license.type", format!("is {}, not a string", kind(other))));
            }
        },
        Some(Value::Array(items)) => {
            if let Some(answer) = npm_license_list(url, "license", items)? {
                return Ok(answer);
            }
        }
        Some(other) => {
            return Err(RegistryError::malformed(
                url,
                "license",
                format!("is {}, not a string or an object", kind(other)),
            ));
        }
    }
    match obj.get("licenses") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.trim().is_empty() => {}
        Some(Value::String(s)) => return Ok(declared(url, "licenses", s)),
        Some(Value::Array(items)) => {
            if let Some(answer) = npm_license_list(url, "licenses", items)? {
                return Ok(answer);
            }
        }
        Some(one @ Value::Object(_)) => {
            if let Some(answer) = npm_license_list(url, "licenses", std::slice::from_ref(one))? {
                return Ok(answer);
            }
        }
        Some(other) => {
            return Err(RegistryError::malformed(url, "licenses", format!("is {}, not an array", kind(other))));
        }
    }
    Ok(RegistryAnswer::NoLicense { url: url.to_owned() })
}

/// The legacy list form: `[{"type": "MIT", "url": …}, …]` (or strings).
/// Its entries are alternatives, read as `OR`.
fn npm_license_list(url: &str, key: &str, items: &[Value]) -> Result<Option<RegistryAnswer>, RegistryError> {
    let mut types: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let t = match item {
            Value::String(s) => s.trim(),
            Value::Object(o) => match o.get("type") {
                Some(Value::String(t)) => t.trim(),
                None | Some(Value::Null) => continue,
                Some(other) => {
                    return Err(RegistryError::malformed(
                        url,
                        &format!("{key}[{i}].type"),
                        format!("is {}, not a string", kind(other)),
                    ));
                }
            },
            Value::Null => continue,
            other => {
                return Err(RegistryError::malformed(
                    url,
                    &format!("{key}[{i}]"),
                    format!("is {}, not an object with a type", kind(other)),
                ));
            }
        };
        if !t.is_empty() && !types.iter().any(|x| x == t) {
            types.push(t.to_owned());
        }
    }
    let field = match types.len() {
        0 => return Ok(None),
        1 => format!("{key}[0].type"),
        _ => format!("{key}[*].type"),
    };
    if types.iter().any(|t| t.chars().count() > MAX_DECLARED_CHARS || t.lines().count() > 2) {
        return Err(RegistryError::malformed(url, &field, "is not a license name (too long)"));
    }
    let expression = types.iter().map(|t| if t.contains(char::is_whitespace) { format!("({t})") } else { t.clone() });
    let expression = expression.collect::<Vec<_>>().join(" OR ");
    Ok(Some(found(url, &field, &types.join("; "), RegistryLicense::Declared { expression })))
}

/// Reads PyPI's version document (`GET {pypi}/{name}/{version}/json`).
pub fn parse_pypi_version(url: &str, body: &[u8]) -> Result<RegistryAnswer, RegistryError> {
    let mut doc = Value::Null;
    let obj = json_document(url, body, &mut doc)?;
    let info = match obj.get("info") {
        Some(Value::Object(info)) => info,
        None => return Err(RegistryError::malformed(url, "info", "is missing")),
        Some(other) => return Err(RegistryError::malformed(url, "info", format!("is {}, not an object", kind(other)))),
    };
    let string = |key: &str| -> Result<Option<&str>, RegistryError> {
        match info.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim()).filter(|s| !s.is_empty())),
            Some(other) => {
                Err(RegistryError::malformed(url, &format!("info.{key}"), format!("is {}, not a string", kind(other))))
            }
        }
    };
    if let Some(e) = string("license_expression")? {
        return Ok(declared(url, "info.license_expression", e));
    }
    let license = string("license")?.filter(|l| !l.eq_ignore_ascii_case("UNKNOWN"));
    let mut classifiers: Vec<&str> = Vec::new();
    match info.get("classifiers") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let Value::String(c) = item else {
                    return Err(RegistryError::malformed(
                        url,
                        &format!("info.classifiers[{i}]"),
                        format!("is {}, not a string", kind(item)),
                    ));
                };
                if c.starts_with("License ::") {
                    classifiers.push(c);
                }
            }
        }
        Some(other) => {
            return Err(RegistryError::malformed(url, "info.classifiers", format!("is {}, not an array", kind(other))));
        }
    }
    let mut mapped: Vec<&str> = Vec::new();
    for id in classifiers.iter().filter_map(|c| super::classifiers::classifier_license(c)) {
        if !mapped.contains(&id) {
            mapped.push(id);
        }
    }
    let short = license.filter(|l| l.lines().count() <= 2 && l.chars().count() <= 120);
    // A short free-text License that names no known license is weaker
    // than a classifier.
    if let Some(l) = short
        && super::parse_lenient(l).is_some_and(|p| !p.has_unidentified)
    {
        return Ok(declared(url, "info.license", l));
    }
    if !mapped.is_empty() {
        let expression = mapped.join(" OR ");
        return Ok(found(url, "info.classifiers", &classifiers.join("; "), RegistryLicense::Declared { expression }));
    }
    if let Some(l) = short {
        return Ok(declared(url, "info.license", l));
    }
    if let Some(text) = license {
        // Some projects put the whole license text in this field.
        let shown = format!("(a license text of {} characters)", text.chars().count());
        return Ok(found(url, "info.license", &shown, RegistryLicense::Text { text: cut(text, MAX_TEXT_BYTES) }));
    }
    Ok(RegistryAnswer::NoLicense { url: url.to_owned() })
}

/// Reads the `Cargo.toml` of a crate downloaded from `url`: its
/// `package.license`, else the text of its `package.license-file`, which
/// `read_file` returns from the archive (by a path relative to the
/// crate's root, already checked to stay inside it). `manifest_path` names
/// the manifest in errors (`serde-1.0.0/Cargo.toml`).
pub fn parse_crate_manifest(
    url: &str,
    manifest_path: &str,
    manifest: &[u8],
    read_file: &mut dyn FnMut(&str) -> Option<Vec<u8>>,
) -> Result<RegistryAnswer, RegistryError> {
    if manifest.len() > MAX_CRATE_FILE_BYTES {
        return Err(RegistryError::TooLarge {
            url: format!("{url}#{manifest_path}"),
            limit: MAX_CRATE_FILE_BYTES as u64,
        });
    }
    let text = std::str::from_utf8(manifest)
        .map_err(|e| RegistryError::malformed(url, manifest_path, format!("not UTF-8 ({e})")))?;
    let (license, license_file) = super::manifest::cargo_license_fields(text);
    if let Some(l) = license.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        return Ok(declared(url, "package.license", l));
    }
    let Some(file) = license_file else {
        return Ok(RegistryAnswer::NoLicense { url: url.to_owned() });
    };
    let Some(path) = crate_relative_path(&file) else {
        return Err(RegistryError::malformed(url, "package.license-file", format!("{file:?} leaves the crate")));
    };
    // Cargo copies a license file from outside the package to its root.
    let base_name = path.rsplit('/').next().unwrap_or(&path).to_owned();
    let bytes = read_file(&path).or_else(|| if base_name != path { read_file(&base_name) } else { None });
    let Some(bytes) = bytes else {
        return Err(RegistryError::malformed(url, "package.license-file", format!("{file:?} is not in the archive")));
    };
    let text = String::from_utf8_lossy(&bytes);
    Ok(found(url, "package.license-file", &file, RegistryLicense::Text { text: cut(&text, MAX_TEXT_BYTES) }))
}

/// A `license-file` value as a clean relative path (`./LICENSE` →
/// `LICENSE`); `None` when it is absolute or climbs out with `..`.
pub fn crate_relative_path(file: &str) -> Option<String> {
    let file = file.replace('\\', "/");
    if file.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for seg in file.split('/') {
        match seg {
            "" | "." => {}
            ".." => return None,
            s => parts.push(s),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://registry.example/x/1.0.0";

    fn declared_of(a: RegistryAnswer) -> (String, String, String) {
        match a {
            RegistryAnswer::Found(RegistryRecord {
                field,
                value,
                license: RegistryLicense::Declared { expression },
                ..
            }) => (field, value, expression),
            other => panic!("not a declared license: {other:?}"),
        }
    }

    #[test]
    fn npm_license_forms() {
        let a = parse_npm_version(URL, br#"{"name":"x","version":"1.0.0","license":"MIT"}"#).unwrap();
        assert_eq!(declared_of(a), ("license".into(), "MIT".into(), "MIT".into()));
        let a = parse_npm_version(URL, br#"{"license":{"type":"ISC","url":"http://x"}}"#).unwrap();
        assert_eq!(declared_of(a).0, "license.type");
        let a = parse_npm_version(URL, br#"{"licenses":[{"type":"MIT"},{"type":"Apache-2.0"}]}"#).unwrap();
        assert_eq!(declared_of(a), ("licenses[*].type".into(), "MIT; Apache-2.0".into(), "MIT OR Apache-2.0".into()));
        let a = parse_npm_version(URL, br#"{"licenses":[{"type":"BSD-3-Clause","url":"u"}]}"#).unwrap();
        assert_eq!(declared_of(a).0, "licenses[0].type");
        let a = parse_npm_version(URL, br#"{"name":"x","license":""}"#).unwrap();
        assert_eq!(a, RegistryAnswer::NoLicense { url: URL.into() });
    }

    #[test]
    fn npm_errors_name_the_url_and_field() {
        let e = parse_npm_version(URL, br#"{"license":42}"#).unwrap_err();
        assert_eq!(e.to_string(), format!("{URL}: license: is a number, not a string or an object"));
        let e = parse_npm_version(URL, br#"{"licenses":[{"type":"MIT"},{"type":7}]}"#).unwrap_err();
        assert!(e.to_string().contains("licenses[1].type"), "{e}");
        let e = parse_npm_version(URL, b"<html>oops</html>").unwrap_err();
        assert!(e.to_string().starts_with(&format!("{URL}: (document): not JSON")), "{e}");
        assert!(!e.is_transient());
        let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
        assert!(matches!(parse_npm_version(URL, &big), Err(RegistryError::TooLarge { .. })));
    }

    #[test]
    fn npm_long_license_string_is_a_text() {
        let doc = serde_json::json!({"license": "Permission is hereby granted\nfree of charge\nto any person"});
        let a = parse_npm_version(URL, doc.to_string().as_bytes()).unwrap();
        assert!(matches!(a, RegistryAnswer::Found(RegistryRecord { license: RegistryLicense::Text { .. }, .. })));
    }

    #[test]
    fn pypi_prefers_expression_then_short_license_then_classifiers() {
        let doc = |info: Value| serde_json::json!({ "info": info, "urls": [] }).to_string();
        let a =
            parse_pypi_version(URL, doc(serde_json::json!({"license_expression": "MIT", "license": "BSD"})).as_bytes());
        assert_eq!(declared_of(a.unwrap()).0, "info.license_expression");
        let a = parse_pypi_version(
            URL,
            doc(
                serde_json::json!({"license": "Apache 2.0", "classifiers": ["License :: OSI Approved :: MIT License"]}),
            )
            .as_bytes(),
        );
        assert_eq!(declared_of(a.unwrap()).0, "info.license");
        let classifiers = serde_json::json!([
            "Programming Language :: Python",
            "License :: OSI Approved :: Apache Software License",
            "License :: OSI Approved :: MIT License"
        ]);
        let a =
            parse_pypi_version(URL, doc(serde_json::json!({"license": "Dual", "classifiers": classifiers})).as_bytes());
        let (field, value, expression) = declared_of(a.unwrap());
        assert_eq!(field, "info.classifiers");
        assert_eq!(expression, "Apache-2.0 OR MIT");
        assert!(value.contains("License :: OSI Approved :: MIT License"), "{value}");
        let long = "Copyright (c) 2020\n\nPermission is hereby granted, free of charge, to any person…\n".repeat(3);
        let a = parse_pypi_version(URL, doc(serde_json::json!({"license": long, "classifiers": []})).as_bytes());
        assert!(matches!(
            a.unwrap(),
            RegistryAnswer::Found(RegistryRecord { license: RegistryLicense::Text { .. }, .. })
        ));
        let a = parse_pypi_version(
            URL,
            doc(serde_json::json!({"license": "UNKNOWN", "classifiers": ["License :: OSI Approved"]})).as_bytes(),
        );
        assert_eq!(a.unwrap(), RegistryAnswer::NoLicense { url: URL.into() });
    }

    #[test]
    fn pypi_errors_name_the_field() {
        let e = parse_pypi_version(URL, br#"{"info":{"classifiers":["License :: OSI Approved :: MIT License", 3]}}"#);
        assert!(e.unwrap_err().to_string().contains("info.classifiers[1]: is a number"));
        let e = parse_pypi_version(URL, br#"{"message":"Not Found"}"#).unwrap_err();
        assert_eq!(e.to_string(), format!("{URL}: info: is missing"));
        let e = parse_pypi_version(URL, br#"{"info":{"license_expression":["MIT"]}}"#).unwrap_err();
        assert!(e.to_string().contains("info.license_expression: is an array"), "{e}");
    }

    #[test]
    fn crate_manifest_license_and_license_file() {
        let mut none = |_: &str| -> Option<Vec<u8>> { None };
        let m = b"[package]\nname = \"a\"\nversion = \"1.0.0\"\nlicense = \"MIT OR Apache-2.0\"\n";
        let a = parse_crate_manifest(URL, "a-1.0.0/Cargo.toml", m, &mut none).unwrap();
        assert_eq!(declared_of(a).0, "package.license");
        let m = b"[package]\nname = \"a\"\nversion = \"1.0.0\"\nlicense-file = \"../LICENSE.txt\"\n";
        let e = parse_crate_manifest(URL, "a-1.0.0/Cargo.toml", m, &mut none).unwrap_err();
        assert!(e.to_string().contains("package.license-file"), "{e}");
        let m = b"[package]\nname = \"a\"\nversion = \"1.0.0\"\nlicense-file = \"./legal/LICENSE.txt\"\n";
        let mut asked = Vec::new();
        let mut files = |p: &str| {
            asked.push(p.to_owned());
            (p == "LICENSE.txt").then(|| b"license text".to_vec())
        };
        let a = parse_crate_manifest(URL, "a-1.0.0/Cargo.toml", m, &mut files).unwrap();
        assert_eq!(asked, ["legal/LICENSE.txt", "LICENSE.txt"]);
        assert!(
            matches!(a, RegistryAnswer::Found(RegistryRecord { ref field, license: RegistryLicense::Text { .. }, .. }) if field == "package.license-file")
        );
        let a = parse_crate_manifest(URL, "a-1.0.0/Cargo.toml", b"[package]\nname = \"a\"\n", &mut none).unwrap();
        assert_eq!(a, RegistryAnswer::NoLicense { url: URL.into() });
        let e = parse_crate_manifest(URL, "a-1.0.0/Cargo.toml", &[0xff, 0xfe], &mut none).unwrap_err();
        assert!(e.to_string().contains("a-1.0.0/Cargo.toml: not UTF-8"), "{e}");
    }

    #[test]
    fn urls_encode_every_part() {
        let c = RegistryConfig { npm: "http://127.0.0.1:9/npm/".into(), ..RegistryConfig::default() };
        assert_eq!(
            c.document_url(Ecosystem::Npm, "@types/node", "20.1.0").unwrap(),
            "http://127.0.0.1:9/npm/@types/node/20.1.0"
        );
        assert_eq!(
            c.document_url(Ecosystem::Npm, "../../admin", "1.0.0").unwrap(),
            "http://127.0.0.1:9/npm/..%2F..%2Fadmin/1.0.0"
        );
        assert_eq!(c.document_url(Ecosystem::Npm, "x", "..").unwrap(), "http://127.0.0.1:9/npm/x/%2E%2E");
        assert_eq!(
            c.document_url(Ecosystem::Cargo, "serde", "1.0.0").unwrap(),
            "https://static.crates.io/crates/serde/serde-1.0.0.crate"
        );
        assert_eq!(
            c.document_url(Ecosystem::Pypi, "Foo_Bar.baz", "2.0").unwrap(),
            "https://pypi.org/pypi/foo-bar-baz/2.0/json"
        );
        assert!(matches!(
            c.document_url(Ecosystem::Go, "golang.org/x/mod", "v0.1.0"),
            Err(RegistryError::Unsupported { .. })
        ));
    }

    #[test]
    fn config_checks_urls_and_timeout() {
        assert!(RegistryConfig::default().check().is_ok());
        let bad = RegistryConfig { npm: "ftp://x".into(), ..RegistryConfig::default() };
        assert_eq!(bad.check().unwrap_err().0, "registry.npm");
        let bad = RegistryConfig { pypi: "https:///pypi".into(), ..RegistryConfig::default() };
        assert_eq!(bad.check().unwrap_err().0, "registry.pypi");
        let bad = RegistryConfig { crates: "https://u:p@host/c".into(), ..RegistryConfig::default() };
        assert_eq!(bad.check().unwrap_err().0, "registry.crates");
        let bad = RegistryConfig { timeout_secs: 0, ..RegistryConfig::default() };
        assert_eq!(bad.check().unwrap_err().0, "registry.timeout-secs");
    }
}
