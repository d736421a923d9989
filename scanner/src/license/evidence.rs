//! Resolving each package's license with evidence.
//!
//! Sources, in the order they decide the license:
//! 1. a clarification from configuration (optionally pinned to the SHA-256
//!    of the package's license file: it stops applying when the text
//!    changes);
//! 2. license data in the input itself (npm lockfile `license`, SBOM
//!    licenses);
//! 3. local manifests: the cargo registry source cache, `node_modules`,
//!    the Go module cache, Python `*.dist-info/METADATA`, vendored
//!    directories;
//! 4. text detection on LICENSE/COPYING/NOTICE files found there;
//! 5. only when [`LicenseConfig::offline`] is `false` (default `true`) and
//!    a [`RegistrySource`] was given ([`ValidLicenseConfig::with_registry`]):
//!    the public registry's metadata for the exact version (crates.io, npm,
//!    PyPI; see [`super::registry`]). Registry evidence is declared, not
//!    verified, so its confidence is [`REGISTRY_CONFIDENCE`] of the
//!    reading's. A failed look-up is a warning on the package, never an
//!    aborted scan.
//!
//! A package with no license data is unknown, with the reason; it is never
//! guessed.
//!
//! Reads local caches from the file system and the input through
//! [`InputTree`]; the network only through the caller's [`RegistrySource`].

use super::classifiers::classifier_license;
use super::detect::{self, Detection};
use super::expr::{LicenseExpr, LicenseValue, ParsedLicense, parse_lenient};
use super::registry::{
    RegistryAnswer, RegistryConfig, RegistryError, RegistryLicense, RegistryRecord, RegistrySource, url_host,
};
use crate::model::{DependencyGraph, Ecosystem, Package};
use crate::source::InputTree;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Registry evidence's confidence is this share of its reading's: the
/// registry repeats what the package declares, nobody checked it.
pub const REGISTRY_CONFIDENCE: f32 = 0.9;

/// License settings, as read from `[licenses]` in `steward.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct LicenseConfig {
    /// Minimum text-detection score (0–1] for a license text to count.
    pub confidence_threshold: f32,
    /// Per-package corrections.
    pub clarifications: Vec<Clarification>,
    /// Look in this machine's package caches (`$CARGO_HOME`, `$GOMODCACHE`,
    /// `$VIRTUAL_ENV`). Off makes a scan depend on its input only.
    pub local_caches: bool,
    /// Overrides `$CARGO_HOME` (default `~/.cargo`).
    pub cargo_home: Option<PathBuf>,
    /// Overrides `$GOMODCACHE` (default `$GOPATH/pkg/mod`, `~/go/pkg/mod`).
    pub go_mod_cache: Option<PathBuf>,
    /// Python `site-packages` directories to read `*.dist-info` from, in
    /// addition to `$VIRTUAL_ENV/lib/python*/site-packages`.
    pub site_packages: Vec<PathBuf>,
    /// Never contact a registry (the default). `false` looks up, for
    /// packages that neither the input nor local data decided, the license
    /// the public registry declares (`[licenses.registry]`); it needs a
    /// [`RegistrySource`] ([`ValidLicenseConfig::with_registry`]), without
    /// which a scan warns and stays offline.
    pub offline: bool,
    /// `[licenses.registry]`: registry URLs, time limit and cache directory.
    pub registry: RegistryConfig,
}

impl Default for LicenseConfig {
    fn default() -> Self {
        Self {
            confidence_threshold: detect::DEFAULT_THRESHOLD,
            clarifications: Vec::new(),
            local_caches: true,
            cargo_home: None,
            go_mod_cache: None,
            site_packages: Vec::new(),
            offline: true,
            registry: RegistryConfig::default(),
        }
    }
}

/// A correction for a package whose license metadata is missing or wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Clarification {
    /// Package name as the lockfile writes it.
    pub name: String,
    /// Semver requirement (`"^1.2"`, `"=0.3.1"`) or an exact version for
    /// ecosystems without semver; `None` matches every version.
    #[serde(default)]
    pub version_req: Option<String>,
    /// Restricts the clarification to one ecosystem.
    #[serde(default)]
    pub ecosystem: Option<Ecosystem>,
    /// The SPDX expression that applies.
    pub expression: String,
    /// SHA-256 (hex) of the package's license file. When set, the
    /// clarification applies only while a license file with this hash is
    /// found for the package.
    #[serde(default)]
    pub license_file_sha256: Option<String>,
    /// The license file's path relative to the package directory, when
    /// several exist (default: every LICENSE/COPYING file found).
    #[serde(default)]
    pub license_file: Option<String>,
}

/// A configuration value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("licenses.{field}: {message}")]
pub struct ConfigError {
    /// The TOML path of the bad value, e.g. `clarifications[2].expression`.
    pub field: String,
    pub message: String,
}

/// A [`LicenseConfig`] whose values were checked, and the registry source
/// used when `offline` is `false`.
#[derive(Debug, Clone)]
pub struct ValidLicenseConfig {
    pub(crate) raw: LicenseConfig,
    pub(crate) clarifications: Vec<ValidClarification>,
    pub(crate) registry: Option<SharedSource>,
}

/// A registry source shared by every resolver of a scan (and by the
/// threads that look packages up).
#[derive(Clone)]
pub(crate) struct SharedSource(pub(crate) Arc<dyn RegistrySource>);

impl std::fmt::Debug for SharedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RegistrySource")
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ValidClarification {
    pub(crate) raw: Clarification,
    pub(crate) expression: LicenseExpr,
    pub(crate) version_req: Option<semver::VersionReq>,
    pub(crate) sha256: Option<String>,
}

impl LicenseConfig {
    /// Checks every value; the error names the first bad one.
    pub fn validate(&self) -> Result<ValidLicenseConfig, ConfigError> {
        let err = |field: String, message: String| ConfigError { field, message };
        self.registry.check().map_err(|(field, message)| err(field, message))?;
        if !(self.confidence_threshold > 0.0 && self.confidence_threshold <= 1.0) {
            return Err(err(
                "confidence-threshold".into(),
                format!("{} is not in (0, 1]; 0.8 is a good default", self.confidence_threshold),
            ));
        }
        let mut clarifications = Vec::new();
        for (i, c) in self.clarifications.iter().enumerate() {
            let at = |f: &str| format!("clarifications[{i}].{f}");
            let parsed = parse_lenient(&c.expression).ok_or_else(|| err(at("expression"), "is empty".into()))?;
            let expression = match parsed.value {
                LicenseValue::Expr(e) if !parsed.has_unidentified => e,
                _ => {
                    return Err(err(
                        at("expression"),
                        format!("{:?} is not an SPDX expression ({})", c.expression, parsed.warnings.join("; ")),
                    ));
                }
            };
            let version_req = match &c.version_req {
                None => None,
                // Not semver (PEP 440, Go pseudo-versions): exact match.
                Some(r) => semver::VersionReq::parse(r).ok(),
            };
            let sha256 = match &c.license_file_sha256 {
                None => None,
                Some(h) => {
                    let h = h.trim().to_ascii_lowercase();
                    if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(err(at("license-file-sha256"), "must be 64 hex digits".into()));
                    }
                    Some(h)
                }
            };
            clarifications.push(ValidClarification { raw: c.clone(), expression, version_req, sha256 });
        }
        Ok(ValidLicenseConfig { raw: self.clone(), clarifications, registry: None })
    }
}

impl ValidLicenseConfig {
    pub fn config(&self) -> &LicenseConfig {
        &self.raw
    }

    /// Gives the resolvers a registry to ask when `offline` is `false`
    /// (with `offline = true` the source is kept but never called).
    pub fn with_registry(mut self, source: Arc<dyn RegistrySource>) -> Self {
        self.registry = Some(SharedSource(source));
        self
    }

    /// The registry source, if one was given.
    pub fn registry(&self) -> Option<&Arc<dyn RegistrySource>> {
        self.registry.as_ref().map(|s| &s.0)
    }

    /// True when packages without local license data are looked up in a
    /// registry: `offline = false` and a source was given.
    pub fn looks_up_registries(&self) -> bool {
        !self.raw.offline && self.registry.is_some()
    }
}

impl ValidClarification {
    fn matches(&self, pkg: &Package) -> bool {
        if self.raw.name != pkg.name {
            return false;
        }
        if self.raw.ecosystem.is_some_and(|e| e != pkg.ecosystem) {
            return false;
        }
        match (&self.raw.version_req, &self.version_req) {
            (None, _) => true,
            (Some(_), Some(req)) => crate::version::parse_semver(&pkg.version).is_some_and(|v| req.matches(&v)),
            (Some(exact), None) => exact.trim_start_matches(['=', 'v']) == pkg.version.trim_start_matches('v'),
        }
    }
}

/// Where a piece of evidence came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceSource {
    InputField,
    LocalManifest,
    LicenseText,
    Clarification,
    Registry,
}

/// One piece of evidence about a package's license.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub source: EvidenceSource,
    /// The file it was read from: the lockfile, a manifest, a license text,
    /// or `steward.toml` for clarifications. Paths in the input tree are
    /// relative; cache paths are absolute.
    pub file: String,
    /// The field inside the file (`packages["node_modules/x"].license`,
    /// `package.license`, `License-Expression`), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The value as found (for texts: the detected ids).
    pub value: String,
    /// The reading of the value, when it is a license.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<LicenseValue>,
    /// 1.0 for exact SPDX in a license field; lower for lenient readings;
    /// the detection score for texts.
    pub confidence: f32,
    /// Values of a parameter block (BUSL-1.1's Licensor, Change Date…).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A package's license: an expression with evidence, or unknown with the
/// reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolvedLicense {
    /// The license; `None` when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<LicenseValue>,
    /// The canonical form used for comparison (flattened, sorted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical: Option<String>,
    /// Why the license is unknown (set exactly when `expression` is `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
    /// The confidence of the deciding evidence.
    pub confidence: f32,
    /// The evidence that decided, first, then any other evidence gathered.
    pub evidence: Vec<Evidence>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl ResolvedLicense {
    /// True when the license is known.
    pub fn is_known(&self) -> bool {
        self.expression.is_some()
    }

    /// The expression tree, when known.
    pub fn expr(&self) -> Option<&LicenseExpr> {
        self.expression.as_ref().and_then(LicenseValue::expr)
    }

    fn unknown(reason: impl Into<String>, evidence: Vec<Evidence>, warnings: Vec<String>) -> Self {
        Self {
            expression: None,
            canonical: None,
            unknown_reason: Some(reason.into()),
            confidence: 0.0,
            evidence,
            warnings,
        }
    }

    fn known_with_canonical(
        expr: LicenseExpr,
        canonical: String,
        confidence: f32,
        evidence: Vec<Evidence>,
        warnings: Vec<String>,
    ) -> Self {
        Self {
            expression: Some(LicenseValue::Expr(expr)),
            canonical: Some(canonical),
            unknown_reason: None,
            confidence,
            evidence,
            warnings,
        }
    }
}

/// Resolves the licenses of many packages, caching what is shared between
/// them (parsed strings, cache directory listings, detected texts).
pub struct Resolver<'a> {
    config: &'a ValidLicenseConfig,
    parsed: HashMap<String, Option<ParsedLicense>>,
    cargo_src_dirs: Option<Vec<PathBuf>>,
    go_mod_cache: Option<Option<PathBuf>>,
    dist_info: Option<HashMap<(String, String), PathBuf>>,
    tree_paths: Option<Vec<String>>,
    /// The last base directory asked about and whether it has `node_modules`.
    node_modules: Option<(String, bool)>,
    /// The registry-cache look-up already done (on a worker thread) for the
    /// package being resolved.
    cargo_lookup: Option<CacheLookup>,
    /// The base directory last asked about and its own crates' directories
    /// by package name.
    local_crates: Option<(String, HashMap<String, String>)>,
    /// The base directory last asked about and whether it has `vendor/`.
    vendor: Option<(String, bool)>,
    /// Canonical forms of the expressions resolved so far.
    canonical: HashMap<LicenseExpr, String>,
    /// Registry answers so far, by (ecosystem, name, version).
    registry_answers: HashMap<RegistryKey, Result<RegistryAnswer, RegistryError>>,
    /// While [`Resolver::resolve_graph`] runs, registry look-ups wait and
    /// are then done together on several threads; `deferred` tells that the
    /// package just resolved waits for one.
    defer_registry: bool,
    deferred: bool,
    /// Packages whose registry look-up failed.
    registry_failures: usize,
}

type RegistryKey = (Ecosystem, String, String);

/// Whether a package that nothing local decided is looked up in a registry.
enum RegistryPlan {
    /// Offline, or no source: the offline reason stands as it is.
    Off,
    /// Online, but a registry cannot help; the reason says why.
    Skip(String),
    Ask,
}

/// Registry look-ups done at once (they wait on the network, not the CPU).
const REGISTRY_THREADS: usize = 8;

/// A crate's directory in the cargo registry cache and its manifest's
/// license keys; `None` when no registry directory has the crate.
type CacheLookup = Option<(PathBuf, LicenseKeys)>;

impl<'a> Resolver<'a> {
    pub fn new(config: &'a ValidLicenseConfig) -> Self {
        Self {
            config,
            parsed: HashMap::new(),
            cargo_src_dirs: None,
            go_mod_cache: None,
            dist_info: None,
            tree_paths: None,
            node_modules: None,
            cargo_lookup: None,
            local_crates: None,
            vendor: None,
            canonical: HashMap::new(),
            registry_answers: HashMap::new(),
            defer_registry: false,
            deferred: false,
            registry_failures: 0,
        }
    }

    /// Packages whose registry look-up failed so far (each also carries a
    /// warning).
    pub fn registry_failures(&self) -> usize {
        self.registry_failures
    }

    /// Gives the resolver the tree's file list (for vendored directories),
    /// so it does not list the tree again.
    pub fn with_tree_paths(mut self, paths: Vec<String>) -> Self {
        self.tree_paths = Some(paths);
        self
    }

    /// [`ResolvedLicense::known`] with the canonical form cached: most
    /// packages of a graph share a handful of expressions.
    fn known(
        &mut self,
        expr: LicenseExpr,
        confidence: f32,
        evidence: Vec<Evidence>,
        warnings: Vec<String>,
    ) -> ResolvedLicense {
        let canonical = match self.canonical.get(&expr) {
            Some(c) => c.clone(),
            None => {
                let c = expr.canonical().to_string();
                if self.canonical.len() < 4096 {
                    self.canonical.insert(expr.clone(), c.clone());
                }
                c
            }
        };
        ResolvedLicense::known_with_canonical(expr, canonical, confidence, evidence, warnings)
    }

    fn parse(&mut self, raw: &str) -> Option<ParsedLicense> {
        cached_parse(&mut self.parsed, raw)
    }

    /// Resolves every package of `graph`, in package order.
    pub fn resolve_graph(&mut self, tree: &dyn InputTree, graph: &DependencyGraph) -> Vec<ResolvedLicense> {
        let base_dir = match graph.source.path.rfind('/') {
            Some(i) => graph.source.path[..i].to_owned(),
            None => String::new(),
        };
        let mut prefetched = self.prefetch_cargo_manifests(tree, &base_dir, graph);
        let mut waiting: Vec<usize> = Vec::new();
        self.defer_registry = true;
        let mut resolved: Vec<ResolvedLicense> = graph
            .packages
            .iter()
            .enumerate()
            .map(|(i, p)| {
                self.cargo_lookup = prefetched.get_mut(i).and_then(Option::take);
                self.deferred = false;
                let resolved = self.resolve(tree, &graph.source.path, &base_dir, p);
                if self.deferred {
                    waiting.push(i);
                }
                self.cargo_lookup = None;
                resolved
            })
            .collect();
        self.defer_registry = false;
        self.deferred = false;
        if !waiting.is_empty() {
            self.look_up_all(waiting.iter().map(|&i| &graph.packages[i]));
            for i in waiting {
                let pkg = &graph.packages[i];
                let offline = std::mem::replace(&mut resolved[i], ResolvedLicense::unknown("", Vec::new(), Vec::new()));
                let answer = self.registry_answers.get(&registry_key(pkg)).cloned().unwrap_or_else(|| {
                    Err(RegistryError::Unavailable {
                        url: String::new(),
                        message: "the registry look-up did not finish".to_owned(),
                    })
                });
                resolved[i] = self.with_registry(offline, answer);
            }
        }
        resolved
    }

    /// Looks up every package not asked about yet, on up to
    /// [`REGISTRY_THREADS`] threads, and keeps the answers.
    fn look_up_all<'p>(&mut self, packages: impl Iterator<Item = &'p Package>) {
        let Some(SharedSource(source)) = self.config.registry.clone() else { return };
        let mut keys: Vec<RegistryKey> = Vec::new();
        for p in packages {
            let key = registry_key(p);
            if !self.registry_answers.contains_key(&key) && !keys.contains(&key) {
                keys.push(key);
            }
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let threads = keys.len().min(REGISTRY_THREADS);
        let (keys_ref, next_ref, source_ref) = (&keys, &next, &source);
        let answers: Vec<(usize, Result<RegistryAnswer, RegistryError>)> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(move || {
                        let mut out = Vec::new();
                        loop {
                            let i = next_ref.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some((eco, name, version)) = keys_ref.get(i) else { break };
                            out.push((i, source_ref.lookup(*eco, name, version)));
                        }
                        out
                    })
                })
                .collect();
            // A look-up that panicked leaves its package without an
            // answer (reported as a failed look-up).
            workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
        });
        for (i, answer) in answers {
            if let Some(key) = keys.get(i) {
                self.registry_answers.insert(key.clone(), answer);
            }
        }
    }

    /// The registry's answer for `pkg`, asked now unless known.
    fn look_up(&mut self, pkg: &Package) -> Result<RegistryAnswer, RegistryError> {
        let key = registry_key(pkg);
        if let Some(a) = self.registry_answers.get(&key) {
            return a.clone();
        }
        let answer = match &self.config.registry {
            Some(SharedSource(source)) => source.lookup(pkg.ecosystem, &pkg.name, &pkg.version),
            None => Err(RegistryError::Unavailable { url: String::new(), message: "no registry source".to_owned() }),
        };
        self.registry_answers.insert(key, answer.clone());
        answer
    }

    /// Whether `pkg` is looked up in a registry once nothing local decided.
    fn registry_plan(&self, pkg: &Package) -> RegistryPlan {
        if !self.config.looks_up_registries() {
            return RegistryPlan::Off;
        }
        let from = |s: &str| format!("it comes from {s}, not a registry, so no registry was asked");
        match pkg.ecosystem {
            Ecosystem::Go => {
                return RegistryPlan::Skip(
                    "Go's module proxy serves no license metadata, so no registry can be asked".to_owned(),
                );
            }
            Ecosystem::Other => {
                return RegistryPlan::Skip("only crates.io, npm and PyPI are looked up".to_owned());
            }
            Ecosystem::Cargo => match pkg.source.as_deref() {
                Some(s) if is_crates_io(s) => {}
                Some(s) if is_registry_crate(pkg) => {
                    return RegistryPlan::Skip(format!("the crate comes from {s}; only crates.io is looked up"));
                }
                Some(s) => return RegistryPlan::Skip(from(s)),
                None => {
                    return RegistryPlan::Skip("it is the project's own crate, so no registry was asked".to_owned());
                }
            },
            Ecosystem::Npm | Ecosystem::Pypi => match pkg.source.as_deref() {
                None => {
                    return RegistryPlan::Skip("it is the project's own package, so no registry was asked".to_owned());
                }
                Some(s) if is_local_or_vcs(s) => return RegistryPlan::Skip(from(s)),
                Some(s) => {
                    // A package from a private registry may have a public
                    // namesake that is another package: only ask the
                    // registry it came from.
                    let configured = self.config.raw.registry.base_url(pkg.ecosystem).and_then(url_host);
                    if let Some(host) = url_host(s)
                        && !is_public_registry_host(pkg.ecosystem, &host)
                        && configured.as_deref() != Some(host.as_str())
                    {
                        return RegistryPlan::Skip(format!(
                            "it was resolved from {host}, not from the registry that is looked up ({}), \
                             so no registry was asked (a namesake there may be another package)",
                            configured.as_deref().unwrap_or("none")
                        ));
                    }
                }
            },
        }
        if pkg.version.trim().is_empty() {
            return RegistryPlan::Skip("the input gives no exact version to look up in the registry".to_owned());
        }
        RegistryPlan::Ask
    }

    /// An unknown license decided again with the registry's answer.
    fn with_registry(
        &mut self,
        offline: ResolvedLicense,
        answer: Result<RegistryAnswer, RegistryError>,
    ) -> ResolvedLicense {
        let ResolvedLicense { mut evidence, mut warnings, unknown_reason, .. } = offline;
        let reason = unknown_reason.unwrap_or_default();
        let (ev, said) = match answer {
            Ok(RegistryAnswer::Found(record)) => {
                let ev = self.registry_evidence(&record);
                if let Some(LicenseValue::Expr(expr)) = &ev.expression {
                    let (expr, confidence) = (expr.clone(), ev.confidence);
                    evidence.insert(0, ev);
                    return self.known(expr, confidence, evidence, warnings);
                }
                let said = match (&ev.expression, &record.license) {
                    (_, RegistryLicense::Declared { expression }) if see_license_in(expression).is_some() => format!(
                        "the registry ({}) says the license is in a file of the package (\"{}\"), which registry metadata does not include",
                        record.url, record.value
                    ),
                    (Some(v), _) => format!("the registry ({}) says {v} in {}", record.url, record.field),
                    (None, _) => format!(
                        "the license text the registry has ({}, {}) matched no license above the threshold",
                        record.url, record.field
                    ),
                };
                (Some(ev), said)
            }
            Ok(RegistryAnswer::NoLicense { url }) => {
                (None, format!("the registry's metadata ({url}) has no license field"))
            }
            Ok(RegistryAnswer::NotFound { url }) => {
                (None, format!("the registry does not have this version ({url} answered 404 Not Found)"))
            }
            Err(e) => {
                self.registry_failures += 1;
                warnings.push(format!("registry look-up failed: {e}"));
                (None, format!("the registry look-up failed ({e})"))
            }
        };
        evidence.extend(ev);
        ResolvedLicense::unknown(format!("{reason}; {said}"), evidence, warnings)
    }

    /// Evidence from a registry record.
    fn registry_evidence(&mut self, record: &RegistryRecord) -> Evidence {
        let mut ev = match &record.license {
            RegistryLicense::Declared { expression } => {
                let parsed = self.parse(expression);
                let mut ev = evidence_from_manifest(record.url.clone(), &record.field, &record.value, parsed);
                if see_license_in(expression).is_some() {
                    ev.expression = None;
                    ev.confidence = 0.0;
                }
                if record.field == "info.classifiers" {
                    // As for installed metadata: a classifier is coarse.
                    ev.confidence = ev.confidence.min(0.8);
                }
                ev
            }
            RegistryLicense::Text { text } => {
                let threshold = self.config.raw.confidence_threshold;
                let mut ev = text_evidence(&record.url, text.as_bytes(), threshold).unwrap_or_else(|| Evidence {
                    source: EvidenceSource::LicenseText,
                    file: record.url.clone(),
                    field: None,
                    value: "(an empty license text)".to_owned(),
                    expression: None,
                    confidence: 0.0,
                    parameters: BTreeMap::new(),
                    warnings: Vec::new(),
                });
                ev.field = Some(record.field.clone());
                if record.field == "package.license-file" {
                    ev.warnings.insert(0, format!("license-file = {:?}", record.value));
                }
                ev
            }
        };
        ev.source = EvidenceSource::Registry;
        ev.confidence *= REGISTRY_CONFIDENCE;
        ev
    }

    /// Looks up the graph's crates in the cargo registry cache on several
    /// threads (reading one small file per crate is most of the time of
    /// resolving a large Cargo.lock, and it parallelises well). The result
    /// is indexed like `graph.packages`; `None` where nothing was looked up.
    fn prefetch_cargo_manifests(
        &mut self,
        tree: &dyn InputTree,
        base_dir: &str,
        graph: &DependencyGraph,
    ) -> Vec<Option<CacheLookup>> {
        /// Fewer crates than this are not worth starting threads for.
        const MIN_PARALLEL: usize = 64;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        if threads < 2 || !self.cargo_cache_enabled() {
            return Vec::new();
        }
        let mut wanted: Vec<(usize, String)> = Vec::new();
        for (i, p) in graph.packages.iter().enumerate() {
            if p.ecosystem == Ecosystem::Cargo
                && is_registry_crate(p)
                && self.cargo_vendored_dir(tree, base_dir, p).is_none()
            {
                wanted.push((i, format!("{}-{}", p.name, p.version)));
            }
        }
        if wanted.len() < MIN_PARALLEL {
            return Vec::new();
        }
        let dirs = self.cargo_src_dirs();
        let chunk = wanted.len().div_ceil(threads);
        let mut found: Vec<Option<CacheLookup>> = vec![None; graph.packages.len()];
        std::thread::scope(|s| {
            let workers: Vec<_> = wanted
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .map(|(i, name)| (*i, cargo_cache_lookup(dirs, name)))
                            .collect::<Vec<(usize, CacheLookup)>>()
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

    /// Resolves one package found in `lockfile` (a path in `tree`).
    pub fn resolve(&mut self, tree: &dyn InputTree, lockfile: &str, base_dir: &str, pkg: &Package) -> ResolvedLicense {
        let mut evidence = Vec::new();
        let mut warnings = Vec::new();

        // (d) Clarifications decide when they apply.
        let clarification = self.config.clarifications.iter().find(|c| c.matches(pkg)).cloned();
        if let Some(c) = clarification {
            let applies = match &c.sha256 {
                None => true,
                Some(want) => {
                    let files = self.license_files(tree, base_dir, pkg, c.raw.license_file.as_deref());
                    let hashes: Vec<(String, String)> =
                        files.iter().map(|(path, bytes)| (path.clone(), hex::encode(Sha256::digest(bytes)))).collect();
                    if hashes.iter().any(|(_, h)| h == want) {
                        true
                    } else {
                        warnings.push(if hashes.is_empty() {
                            format!(
                                "clarification for {} not applied: no license file found to check its SHA-256",
                                pkg.name
                            )
                        } else {
                            format!(
                                "clarification for {} not applied: license file changed (SHA-256 {} ≠ pinned {want})",
                                pkg.name,
                                hashes.iter().map(|(p, h)| format!("{p}={h}")).collect::<Vec<_>>().join(", ")
                            )
                        });
                        false
                    }
                }
            };
            if applies {
                evidence.push(Evidence {
                    source: EvidenceSource::Clarification,
                    file: "steward.toml".to_owned(),
                    field: Some(format!("licenses.clarifications[name={:?}]", c.raw.name)),
                    value: c.raw.expression.clone(),
                    expression: Some(LicenseValue::Expr(c.expression.clone())),
                    confidence: 1.0,
                    parameters: BTreeMap::new(),
                    warnings: Vec::new(),
                });
                // Keep what the input said, for the record.
                evidence.extend(self.input_evidence(lockfile, pkg).into_iter().map(|(e, _)| e));
                return self.known(c.expression, 1.0, evidence, warnings);
            }
        }

        // (a) License data inside the input.
        let input = self.input_evidence(lockfile, pkg);
        let mut file_pointer: Option<String> = None;
        let mut said_noassertion = false;
        let mut said_none = false;
        let mut usable: Vec<(Evidence, LicenseExpr)> = Vec::new();
        for (ev, parsed) in input {
            match parsed.map(|p| p.value) {
                Some(LicenseValue::Expr(e)) => {
                    if let Some(f) = see_license_in(&ev.value) {
                        // A pointer to a file, not a license.
                        let mut ev = ev;
                        ev.expression = None;
                        ev.confidence = 0.0;
                        ev.warnings = vec![format!("npm's \"SEE LICENSE IN\": the license text is in {f}")];
                        file_pointer = Some(f);
                        evidence.push(ev);
                    } else {
                        usable.push((ev, e));
                    }
                }
                Some(LicenseValue::NoAssertion) => {
                    said_noassertion = true;
                    evidence.push(ev);
                }
                Some(LicenseValue::None) => {
                    said_none = true;
                    evidence.push(ev);
                }
                None => evidence.push(ev),
            }
        }
        if !usable.is_empty() {
            // SPDX: a concluded license beats a declared one.
            if usable.iter().any(|(e, _)| e.field.as_deref().is_some_and(|f| f.contains("licenseConcluded"))) {
                usable.sort_by_key(|(e, _)| !e.field.as_deref().is_some_and(|f| f.contains("licenseConcluded")));
                usable.truncate(1);
            }
            let mut exprs: Vec<LicenseExpr> = Vec::new();
            let mut confidence: f32 = 1.0;
            for (ev, e) in &usable {
                confidence = confidence.min(ev.confidence);
                if !exprs.iter().any(|x| x.canonical() == e.canonical()) {
                    exprs.push(e.clone());
                }
            }
            let expr = if exprs.len() == 1 {
                exprs.pop().unwrap_or_else(|| LicenseExpr::id("NOASSERTION"))
            } else {
                warnings.push(format!("{} license entries in the input combined with AND", exprs.len()));
                LicenseExpr::And(exprs)
            };
            let mut all: Vec<Evidence> = usable.into_iter().map(|(e, _)| e).collect();
            all.extend(evidence);
            return self.known(expr, confidence, all, warnings);
        }

        // (b)+(c) Local manifests and license texts.
        let local = self.local_evidence(tree, base_dir, pkg, file_pointer.as_deref());
        let mut best: Option<(LicenseExpr, f32)> = None;
        for ev in &local {
            if let Some(LicenseValue::Expr(e)) = &ev.expression
                && best.is_none()
            {
                best = Some((e.clone(), ev.confidence));
            }
        }
        let mut all = local;
        all.extend(evidence);
        if let Some((expr, confidence)) = best {
            return self.known(expr, confidence, all, warnings);
        }
        let reason = if said_none {
            "the input says NONE (no license)".to_owned()
        } else if said_noassertion {
            "the input says NOASSERTION and no local manifest or license text was found".to_owned()
        } else if let Some(f) = file_pointer {
            format!("the license is in a file ({f}) that was not found locally")
        } else if let Some(low) = all.iter().find(|e| e.source == EvidenceSource::LicenseText) {
            format!("a license text was found ({}) but matched no license above the threshold", low.file)
        } else {
            let where_ = match pkg.ecosystem {
                Ecosystem::Cargo
                    if !pkg
                        .source
                        .as_deref()
                        .is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+")) =>
                {
                    "a workspace, path or git crate whose Cargo.toml in the scanned tree has no license (or is not there): Cargo.lock has no license field and only registry crates are looked up in the cargo registry cache"
                }
                Ecosystem::Cargo => {
                    "the input has no license field and the crate is not in the local cargo registry cache"
                }
                Ecosystem::Npm => "the input has no license field and node_modules has no package.json for it",
                Ecosystem::Go => "Go modules carry no license field and the module is not in the local module cache",
                Ecosystem::Pypi => "the input has no license field and no installed *.dist-info was found",
                Ecosystem::Other => "the input has no license field",
            };
            format!("no license data: {where_}")
        };
        let offline = ResolvedLicense::unknown(reason, all, warnings);
        if said_none {
            // The input decided: there is no license.
            return offline;
        }
        // (e) The registry, when online.
        match self.registry_plan(pkg) {
            RegistryPlan::Off => offline,
            RegistryPlan::Skip(why) => {
                let mut offline = offline;
                if let Some(r) = offline.unknown_reason.as_mut() {
                    r.push_str("; ");
                    r.push_str(&why);
                }
                offline
            }
            RegistryPlan::Ask if self.defer_registry => {
                self.deferred = true;
                offline
            }
            RegistryPlan::Ask => {
                let answer = self.look_up(pkg);
                self.with_registry(offline, answer)
            }
        }
    }

    fn input_evidence(&mut self, lockfile: &str, pkg: &Package) -> Vec<(Evidence, Option<ParsedLicense>)> {
        pkg.raw_licenses
            .iter()
            .map(|raw| {
                let parsed = self.parse(&raw.value);
                let (expression, confidence, warnings) = match &parsed {
                    Some(p) => (Some(p.value.clone()), parsed_confidence(p), p.warnings.clone()),
                    None => (None, 0.0, vec!["empty license string".to_owned()]),
                };
                let ev = Evidence {
                    source: EvidenceSource::InputField,
                    file: lockfile.to_owned(),
                    field: Some(raw.field.clone()),
                    value: raw.value.clone(),
                    expression,
                    confidence,
                    parameters: BTreeMap::new(),
                    warnings,
                };
                (ev, parsed)
            })
            .collect()
    }

    /// Evidence from local manifests and texts, best first.
    fn local_evidence(
        &mut self,
        tree: &dyn InputTree,
        base_dir: &str,
        pkg: &Package,
        file_pointer: Option<&str>,
    ) -> Vec<Evidence> {
        let mut out = Vec::new();
        match pkg.ecosystem {
            Ecosystem::Cargo => {
                if let Some(dir) = self.cargo_vendored_dir(tree, base_dir, pkg) {
                    self.cargo_manifest_in_tree(tree, &dir, &mut out);
                } else if pkg.source.is_none()
                    && let Some(dir) = self.local_crate_dir(tree, base_dir, &pkg.name)
                {
                    self.local_crate_manifest(tree, base_dir, &dir, &mut out);
                }
                let done = self.cargo_lookup.take();
                if out.is_empty()
                    && let Some((dir, keys)) = done.unwrap_or_else(|| self.cargo_cache_manifest(pkg))
                {
                    let threshold = self.config.raw.confidence_threshold;
                    out = cargo_cache_evidence(&dir, keys, threshold, &mut self.parsed);
                }
            }
            Ecosystem::Npm => {
                if self.has_node_modules(tree, base_dir) {
                    let dir = join(base_dir, &format!("node_modules/{}", pkg.name));
                    npm_manifest_in_tree(tree, &dir, file_pointer, self.config.raw.confidence_threshold, &mut out);
                }
            }
            Ecosystem::Go => {
                let vendored = join(base_dir, &format!("vendor/{}", pkg.name));
                self.texts_in_tree(tree, &vendored, &mut out);
                if out.is_empty()
                    && let Some(dir) = self.go_module_dir(pkg)
                {
                    texts_on_disk(&dir, self.config.raw.confidence_threshold, &mut out);
                }
            }
            Ecosystem::Pypi => {
                if let Some(dir) = self.dist_info_dir(pkg) {
                    python_metadata(&dir, self.config.raw.confidence_threshold, &mut out);
                }
            }
            Ecosystem::Other => {}
        }
        out
    }

    /// License files of a package (for clarification hashes): path and bytes.
    fn license_files(
        &mut self,
        tree: &dyn InputTree,
        base_dir: &str,
        pkg: &Package,
        named: Option<&str>,
    ) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut tree_dirs = Vec::new();
        let mut disk_dirs = Vec::new();
        match pkg.ecosystem {
            Ecosystem::Cargo => {
                tree_dirs.extend(self.cargo_vendored_dir(tree, base_dir, pkg));
                disk_dirs.extend(self.cargo_cache_dir(pkg));
            }
            Ecosystem::Npm => tree_dirs.push(join(base_dir, &format!("node_modules/{}", pkg.name))),
            Ecosystem::Go => {
                tree_dirs.push(join(base_dir, &format!("vendor/{}", pkg.name)));
                disk_dirs.extend(self.go_module_dir(pkg));
            }
            Ecosystem::Pypi => {
                if let Some(d) = self.dist_info_dir(pkg) {
                    disk_dirs.push(d.join("licenses"));
                    disk_dirs.push(d);
                }
            }
            Ecosystem::Other => {}
        }
        for dir in tree_dirs {
            let names: Vec<String> = match named {
                Some(n) => vec![join(&dir, n)],
                None => self.tree_files_in(tree, &dir).into_iter().filter(|p| is_license_path(p)).collect(),
            };
            for p in names {
                if let Ok(bytes) = tree.read(&p) {
                    out.push((p, bytes));
                }
            }
        }
        for dir in disk_dirs {
            let names: Vec<PathBuf> = match named {
                Some(n) => vec![dir.join(n)],
                None => license_files_on_disk(&dir),
            };
            for p in names {
                if let Ok(bytes) = std::fs::read(&p) {
                    out.push((p.display().to_string(), bytes));
                }
            }
        }
        out
    }

    fn tree_files_in(&mut self, tree: &dyn InputTree, dir: &str) -> Vec<String> {
        if self.tree_paths.is_none() {
            self.tree_paths = Some(tree.paths().unwrap_or_default());
        }
        let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
        let paths = self.tree_paths.as_deref().unwrap_or_default();
        let start = paths.partition_point(|p| p.as_str() < prefix.as_str());
        paths[start..]
            .iter()
            .take_while(|p| p.starts_with(&prefix))
            .filter(|p| !p[prefix.len()..].contains('/'))
            .cloned()
            .collect()
    }

    fn texts_in_tree(&mut self, tree: &dyn InputTree, dir: &str, out: &mut Vec<Evidence>) {
        for p in self.tree_files_in(tree, dir) {
            if !is_license_path(&p) {
                continue;
            }
            if let Ok(bytes) = tree.read(&p) {
                out.extend(text_evidence(&p, &bytes, self.config.raw.confidence_threshold));
            }
        }
    }

    fn cargo_vendored_dir(&mut self, tree: &dyn InputTree, base_dir: &str, pkg: &Package) -> Option<String> {
        // Most trees vendor nothing: one look for a vendor directory per
        // base directory.
        if self.vendor.as_ref().is_none_or(|(dir, _)| dir != base_dir) {
            let vendor = join(base_dir, "vendor/");
            let paths = self.tree_paths(tree);
            let start = paths.partition_point(|p| p.as_str() < vendor.as_str());
            let has = paths.get(start).is_some_and(|p| p.starts_with(&vendor));
            self.vendor = Some((base_dir.to_owned(), has));
        }
        if self.vendor.as_ref().is_some_and(|(_, has)| !has) {
            return None;
        }
        let paths = self.tree_paths(tree);
        let with_version = join(base_dir, &format!("vendor/{}-{}", pkg.name, pkg.version));
        let plain = join(base_dir, &format!("vendor/{}", pkg.name));
        [with_version, plain].into_iter().find(|d| {
            let manifest = format!("{d}/Cargo.toml");
            paths.binary_search_by(|p| p.as_str().cmp(&manifest)).is_ok()
        })
    }

    /// False when the tree says `<base_dir>/node_modules` is not a
    /// directory (asked once per directory): then no package of the
    /// lockfile has anything to read there.
    fn has_node_modules(&mut self, tree: &dyn InputTree, base_dir: &str) -> bool {
        if let Some((dir, has)) = &self.node_modules
            && dir == base_dir
        {
            return *has;
        }
        let has = tree.is_dir(&join(base_dir, "node_modules")) != Some(false);
        self.node_modules = Some((base_dir.to_owned(), has));
        has
    }

    fn tree_paths(&mut self, tree: &dyn InputTree) -> &[String] {
        self.tree_paths.get_or_insert_with(|| tree.paths().unwrap_or_default())
    }

    fn cargo_manifest_in_tree(&mut self, tree: &dyn InputTree, dir: &str, out: &mut Vec<Evidence>) {
        let manifest_path = format!("{dir}/Cargo.toml");
        if let Ok(bytes) = tree.read(&manifest_path) {
            let text = String::from_utf8_lossy(&bytes);
            let (license, license_file) = cargo_license_fields(&text);
            if let Some(l) = license {
                out.push(self.manifest_evidence(manifest_path, "package.license", &l));
                return;
            }
            if let Some(f) = license_file
                && let Ok(b) = tree.read(&join(dir, &f))
            {
                out.extend(text_evidence(&join(dir, &f), &b, self.config.raw.confidence_threshold));
                return;
            }
        }
        self.texts_in_tree(tree, dir, out);
    }

    /// The directory of the tree's own crate `name` (a workspace member or
    /// a path dependency: no `source` in Cargo.lock): the `Cargo.toml`
    /// under `base_dir` whose `[package] name` it is, the one closest to
    /// `base_dir` when several are. Manifests are read once per lockfile.
    fn local_crate_dir(&mut self, tree: &dyn InputTree, base_dir: &str, name: &str) -> Option<String> {
        if self.local_crates.as_ref().is_none_or(|(dir, _)| dir != base_dir) {
            let prefix = if base_dir.is_empty() { String::new() } else { format!("{base_dir}/") };
            let manifests: Vec<String> = self
                .tree_paths(tree)
                .iter()
                .filter(|p| p.starts_with(&prefix) && (p.ends_with("/Cargo.toml") || *p == "Cargo.toml"))
                .filter(|p| !p[prefix.len()..].split('/').any(|seg| seg == "vendor"))
                .cloned()
                .collect();
            let mut by_name: HashMap<String, String> = HashMap::new();
            for m in manifests {
                let Ok(bytes) = tree.read(&m) else { continue };
                let Ok(table) = toml::from_str::<toml::Table>(&String::from_utf8_lossy(&bytes)) else { continue };
                let Some(n) = table.get("package").and_then(|p| p.get("name")).and_then(|n| n.as_str()) else {
                    continue;
                };
                let dir = m.strip_suffix("Cargo.toml").unwrap_or("").trim_end_matches('/').to_owned();
                let depth = |d: &str| if d.is_empty() { 0 } else { d.matches('/').count() + 1 };
                match by_name.get(n) {
                    Some(have) if depth(have) <= depth(&dir) => {}
                    _ => {
                        by_name.insert(n.to_owned(), dir);
                    }
                }
            }
            self.local_crates = Some((base_dir.to_owned(), by_name));
        }
        self.local_crates.as_ref().and_then(|(_, m)| m.get(name).cloned())
    }

    /// Evidence from a crate of the tree: its manifest's `license` (or the
    /// workspace's, for `license.workspace = true`), else its
    /// `license-file`, else the license texts in its directory.
    fn local_crate_manifest(&mut self, tree: &dyn InputTree, base_dir: &str, dir: &str, out: &mut Vec<Evidence>) {
        let manifest_path = join(dir, "Cargo.toml");
        let Ok(bytes) = tree.read(&manifest_path) else { return };
        let Ok(table) = toml::from_str::<toml::Table>(&String::from_utf8_lossy(&bytes)) else { return };
        let package = table.get("package");
        let inherits =
            |key: &str| package.and_then(|p| p.get(key)).and_then(|v| v.get("workspace")).and_then(|w| w.as_bool());
        let own = |key: &str| package.and_then(|p| p.get(key)).and_then(|v| v.as_str()).map(str::to_owned);
        let workspace = || {
            let root = join(base_dir, "Cargo.toml");
            let bytes = tree.read(&root).ok()?;
            let table = toml::from_str::<toml::Table>(&String::from_utf8_lossy(&bytes)).ok()?;
            let ws = table.get("workspace")?.get("package")?.clone();
            Some((root, ws))
        };
        if let Some(l) = own("license") {
            out.push(self.manifest_evidence(manifest_path, "package.license", &l));
            return;
        }
        let threshold = self.config.raw.confidence_threshold;
        if inherits("license") == Some(true)
            && let Some((root, ws)) = workspace()
            && let Some(l) = ws.get("license").and_then(|v| v.as_str())
        {
            out.push(self.manifest_evidence(root, "workspace.package.license", l));
            return;
        }
        let license_file = match own("license-file") {
            Some(f) => Some(join(dir, &f)),
            None if inherits("license-file") == Some(true) => workspace()
                .and_then(|(_, ws)| ws.get("license-file").and_then(|v| v.as_str()).map(|f| join(base_dir, f))),
            None => None,
        };
        if let Some(f) = license_file
            && let Ok(b) = tree.read(&f)
        {
            out.extend(text_evidence(&f, &b, threshold));
            return;
        }
        self.texts_in_tree(tree, dir, out);
    }

    fn cargo_cache_enabled(&self) -> bool {
        self.config.raw.local_caches || self.config.raw.cargo_home.is_some()
    }

    /// `$CARGO_HOME/registry/src/*`, listed once.
    fn cargo_src_dirs(&mut self) -> &[PathBuf] {
        self.cargo_src_dirs.get_or_insert_with(|| {
            let home = self.config.raw.cargo_home.clone().or_else(|| {
                std::env::var_os("CARGO_HOME")
                    .map(PathBuf::from)
                    .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
            });
            let Some(home) = home else { return Vec::new() };
            let mut dirs: Vec<PathBuf> = std::fs::read_dir(home.join("registry/src"))
                .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            dirs.sort();
            dirs
        })
    }

    fn cargo_cache_dir(&mut self, pkg: &Package) -> Option<PathBuf> {
        self.cargo_cache_manifest(pkg).map(|(dir, _)| dir)
    }

    /// The crate's directory in the cargo registry cache and its manifest's
    /// `(license, license-file)`.
    fn cargo_cache_manifest(&mut self, pkg: &Package) -> Option<(PathBuf, LicenseKeys)> {
        if !self.cargo_cache_enabled() {
            return None;
        }
        // Only registry crates are in the registry cache (not path, git or
        // workspace packages).
        if !is_registry_crate(pkg) {
            return None;
        }
        let name = format!("{}-{}", pkg.name, pkg.version);
        cargo_cache_lookup(self.cargo_src_dirs(), &name)
    }

    /// [`manifest_evidence`] with the reading of `value` cached.
    fn manifest_evidence(&mut self, file: String, field: &str, value: &str) -> Evidence {
        let parsed = self.parse(value);
        evidence_from_manifest(file, field, value, parsed)
    }

    fn go_module_dir(&mut self, pkg: &Package) -> Option<PathBuf> {
        let root = self
            .go_mod_cache
            .get_or_insert_with(|| {
                if let Some(d) = &self.config.raw.go_mod_cache {
                    return Some(d.clone());
                }
                if !self.config.raw.local_caches {
                    return None;
                }
                if let Some(d) = std::env::var_os("GOMODCACHE").filter(|d| !d.is_empty()) {
                    return Some(PathBuf::from(d));
                }
                if let Some(gopath) = std::env::var_os("GOPATH").filter(|d| !d.is_empty()) {
                    let first = std::env::split_paths(&gopath).next()?;
                    return Some(first.join("pkg/mod"));
                }
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join("go/pkg/mod"))
            })
            .clone()?;
        // A `replace` directive with a version fetches another module.
        let module = pkg.source.as_deref().and_then(|s| s.strip_prefix("replace+")).unwrap_or(&pkg.name);
        let dir = root.join(format!("{}@{}", go_escape(module), go_escape(&pkg.version)));
        dir.is_dir().then_some(dir)
    }

    fn dist_info_dir(&mut self, pkg: &Package) -> Option<PathBuf> {
        let index = self.dist_info.get_or_insert_with(|| {
            let mut roots: Vec<PathBuf> = self.config.raw.site_packages.clone();
            if self.config.raw.local_caches
                && let Some(venv) = std::env::var_os("VIRTUAL_ENV")
            {
                let lib = PathBuf::from(venv).join("lib");
                if let Ok(rd) = std::fs::read_dir(&lib) {
                    for e in rd.flatten() {
                        roots.push(e.path().join("site-packages"));
                    }
                }
            }
            let mut index = HashMap::new();
            for root in roots {
                let Ok(rd) = std::fs::read_dir(&root) else {
                    continue;
                };
                for e in rd.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let Some(stem) = name.strip_suffix(".dist-info") else {
                        continue;
                    };
                    let Some((n, v)) = stem.rsplit_once('-') else {
                        continue;
                    };
                    index.entry((pep503(n), v.to_owned())).or_insert_with(|| e.path());
                }
            }
            index
        });
        index.get(&(pep503(&pkg.name), pkg.version.clone())).cloned()
    }
}

fn join(base: &str, rel: &str) -> String {
    if base.is_empty() { rel.to_owned() } else { format!("{base}/{rel}") }
}

fn parsed_confidence(p: &ParsedLicense) -> f32 {
    if p.has_unidentified {
        0.5
    } else if p.is_exact() {
        1.0
    } else {
        0.9
    }
}

/// npm's `SEE LICENSE IN <file>`.
fn see_license_in(value: &str) -> Option<String> {
    let v = value.trim();
    let upper = v.to_ascii_uppercase();
    upper.strip_prefix("SEE LICENSE IN ").map(|_| v["SEE LICENSE IN ".len()..].trim().to_owned())
}

fn manifest_evidence(file: &str, field: &str, value: &str) -> Evidence {
    evidence_from_manifest(file.to_owned(), field, value, parse_lenient(value))
}

fn evidence_from_manifest(file: String, field: &str, value: &str, parsed: Option<ParsedLicense>) -> Evidence {
    Evidence {
        source: EvidenceSource::LocalManifest,
        file,
        field: Some(field.to_owned()),
        value: value.to_owned(),
        expression: parsed.as_ref().map(|p| p.value.clone()),
        confidence: parsed.as_ref().map(parsed_confidence).unwrap_or(0.0),
        parameters: BTreeMap::new(),
        warnings: parsed.map(|p| p.warnings).unwrap_or_default(),
    }
}

/// Evidence from one license text. Texts that match nothing still yield
/// evidence (with no expression) so the reason for "unknown" can name them.
pub fn text_evidence(file: &str, bytes: &[u8], threshold: f32) -> Option<Evidence> {
    let text = String::from_utf8_lossy(bytes);
    if text.trim().is_empty() {
        return None;
    }
    let detection: Detection = detect::detect_text(&text, threshold);
    let expr = detection.expression();
    let value = if detection.licenses.is_empty() {
        format!(
            "no match ≥ {threshold} (closest: {} at {:.3})",
            detection.best_candidate.as_deref().unwrap_or("none"),
            detection.best_score
        )
    } else {
        detection.licenses.iter().map(|l| format!("{} ({:.3})", l.id, l.score)).collect::<Vec<_>>().join(", ")
    };
    Some(Evidence {
        source: EvidenceSource::LicenseText,
        file: file.to_owned(),
        field: None,
        value,
        confidence: if expr.is_some() { detection.confidence() } else { detection.best_score },
        expression: expr.map(LicenseValue::Expr),
        parameters: detection.parameters,
        warnings: Vec::new(),
    })
}

pub use super::manifest::cargo_license_fields;

/// `(license, license-file)` of a `Cargo.toml`'s `[package]`.
type LicenseKeys = (Option<String>, Option<String>);

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
            && let Some(fields) = super::manifest::package_license_keys_in_prefix(prefix)
        {
            return Some(fields);
        }
        let mut all = head.to_vec();
        file.read_to_end(&mut all).ok()?;
        let text = std::str::from_utf8(&all).ok()?;
        Some(cargo_license_fields(text))
    })
}

/// The first registry directory holding `name` (`<crate>-<version>`), and
/// its manifest's license keys.
fn cargo_cache_lookup(dirs: &[PathBuf], name: &str) -> CacheLookup {
    dirs.iter().find_map(|d| {
        let dir = d.join(name);
        cargo_manifest_fields(&dir).map(|fields| (dir, fields))
    })
}

/// Evidence from a crate's directory in the registry cache: the manifest's
/// `license`, else the text of its `license-file`, else the license texts
/// in the directory.
fn cargo_cache_evidence(
    dir: &Path,
    (license, license_file): LicenseKeys,
    threshold: f32,
    parsed: &mut HashMap<String, Option<ParsedLicense>>,
) -> Vec<Evidence> {
    let mut out = Vec::new();
    if let Some(l) = license {
        let reading = cached_parse(parsed, &l);
        out.push(evidence_from_manifest(path_string(&dir.join("Cargo.toml")), "package.license", &l, reading));
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

/// [`parse_lenient`] through a cache of readings.
fn cached_parse(cache: &mut HashMap<String, Option<ParsedLicense>>, raw: &str) -> Option<ParsedLicense> {
    if let Some(p) = cache.get(raw) {
        return p.clone();
    }
    let p = parse_lenient(raw);
    cache.insert(raw.to_owned(), p.clone());
    p
}

fn is_registry_crate(pkg: &Package) -> bool {
    pkg.source.as_deref().is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+"))
}

/// crates.io's index, git or sparse (mirrors replace the source, not the
/// lockfile's name for it).
fn is_crates_io(source: &str) -> bool {
    source == "registry+https://github.com/rust-lang/crates.io-index" || source == "sparse+https://index.crates.io/"
}

/// npm and PyPI sources that name no registry: git, paths, links.
fn is_local_or_vcs(source: &str) -> bool {
    ["git+", "git:", "github:", "path+", "file:", "link:", "workspace:", "portal:"]
        .iter()
        .any(|p| source.starts_with(p))
}

/// Hosts that serve the public registry's packages (npm's own and yarn's
/// mirror of it; PyPI and its file host).
fn is_public_registry_host(ecosystem: Ecosystem, host: &str) -> bool {
    match ecosystem {
        Ecosystem::Npm => matches!(host, "registry.npmjs.org" | "registry.yarnpkg.com"),
        Ecosystem::Pypi => matches!(host, "pypi.org" | "files.pythonhosted.org" | "pypi.python.org"),
        _ => false,
    }
}

fn registry_key(pkg: &Package) -> RegistryKey {
    (pkg.ecosystem, pkg.name.clone(), pkg.version.clone())
}

/// A path as a string, without the cost of `Display` for UTF-8 paths.
fn path_string(p: &Path) -> String {
    p.to_str().map_or_else(|| p.display().to_string(), str::to_owned)
}

fn npm_manifest_in_tree(
    tree: &dyn InputTree,
    dir: &str,
    file_pointer: Option<&str>,
    threshold: f32,
    out: &mut Vec<Evidence>,
) {
    let manifest = format!("{dir}/package.json");
    let mut pointer = file_pointer.map(str::to_owned);
    let read = tree.read(&manifest);
    if read.as_ref().is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) && tree.is_dir(dir) == Some(false) {
        return; // not installed: no manifest, no license file
    }
    if let Ok(bytes) = read
        && let Ok(json) = serde_json::from_slice::<serde_json::Value>(&bytes)
    {
        let license = match json.get("license") {
            Some(serde_json::Value::String(s)) => Some(("license".to_owned(), s.clone())),
            Some(serde_json::Value::Object(o)) => {
                o.get("type").and_then(|t| t.as_str()).map(|t| ("license.type".to_owned(), t.to_owned()))
            }
            _ => None,
        };
        let license = license.or_else(|| {
            let arr = json.get("licenses")?.as_array()?;
            let types: Vec<String> = arr
                .iter()
                .filter_map(|l| l.get("type").and_then(|t| t.as_str()).or(l.as_str()).map(str::to_owned))
                .collect();
            // The legacy `licenses` array lists alternatives.
            (!types.is_empty()).then(|| ("licenses[*].type".to_owned(), types.join(" OR ")))
        });
        if let Some((field, value)) = license {
            if let Some(f) = see_license_in(&value) {
                pointer = Some(f);
            } else {
                out.push(manifest_evidence(&manifest, &field, &value));
                return;
            }
        }
    }
    if let Some(f) = pointer
        && let Ok(b) = tree.read(&join(dir, &f))
    {
        out.extend(text_evidence(&join(dir, &f), &b, threshold));
        return;
    }
    for name in ["LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "COPYING", "license", "LICENSE-MIT"] {
        let p = join(dir, name);
        if let Ok(b) = tree.read(&p) {
            out.extend(text_evidence(&p, &b, threshold));
        }
    }
}

fn license_files_on_disk(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter(|e| detect::is_license_file_name(&e.file_name().to_string_lossy()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn texts_on_disk(dir: &Path, threshold: f32, out: &mut Vec<Evidence>) {
    let mut found = Vec::new();
    for p in license_files_on_disk(dir) {
        if let Ok(b) = std::fs::read(&p) {
            found.extend(text_evidence(&p.display().to_string(), &b, threshold));
        }
    }
    combine_texts(found, out);
}

/// Several LICENSE files (LICENSE-MIT, LICENSE-APACHE) usually mean a
/// choice; the package's manifest would say. Without one, each file is
/// kept as its own evidence and the first decides, with the others noted.
fn combine_texts(mut found: Vec<Evidence>, out: &mut Vec<Evidence>) {
    found.sort_by_key(|e| e.expression.is_none());
    out.extend(found);
}

fn is_license_path(path: &str) -> bool {
    detect::is_license_file_name(path.rsplit('/').next().unwrap_or(path))
}

/// Go module cache escaping: each capital letter becomes `!` + lower case.
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

/// PEP 503 normalised name, with `_` as dist-info directories use.
fn pep503(name: &str) -> String {
    crate::names::pep503(name).replace('-', "_")
}

fn python_metadata(dir: &Path, threshold: f32, out: &mut Vec<Evidence>) {
    let path = dir.join("METADATA");
    let file = path.display().to_string();
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let mut license_expression = None;
    let mut license = None;
    let mut classifiers = Vec::new();
    let mut license_files = Vec::new();
    let mut current: Option<&str> = None;
    for line in text.lines() {
        if line.is_empty() {
            break; // headers end; the body is the description
        }
        if line.starts_with([' ', '\t']) {
            if current == Some("License")
                && let Some(l) = license.as_mut()
            {
                let l: &mut String = l;
                l.push('\n');
                l.push_str(line.trim());
            }
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        current = None;
        match k {
            "License-Expression" => license_expression = Some(v.to_owned()),
            "License" => {
                license = Some(v.to_owned());
                current = Some("License");
            }
            "Classifier" if v.starts_with("License ::") => classifiers.push(v.to_owned()),
            "License-File" => license_files.push(v.to_owned()),
            _ => {}
        }
    }
    if let Some(e) = license_expression {
        out.push(manifest_evidence(&file, "License-Expression", &e));
        return;
    }
    let classifier_expr: Vec<&str> = classifiers.iter().filter_map(|c| classifier_license(c)).collect();
    if let Some(l) = license.filter(|l| !l.trim().is_empty() && !l.eq_ignore_ascii_case("UNKNOWN")) {
        if l.lines().count() <= 2 && l.len() <= 120 {
            let ev = manifest_evidence(&file, "License", &l);
            // A free-text License field that names no known license is
            // weaker than a classifier.
            let unidentified = parse_lenient(&l).is_none_or(|p| p.has_unidentified);
            if !unidentified || classifier_expr.is_empty() {
                out.push(ev);
                return;
            }
        } else {
            // Some packages put the whole license text in this field.
            out.extend(text_evidence(&format!("{file}#License"), l.as_bytes(), threshold));
            if out.iter().any(|e| e.expression.is_some()) {
                return;
            }
        }
    }
    if !classifier_expr.is_empty() {
        let mut uniq: Vec<&str> = Vec::new();
        for c in classifier_expr {
            if !uniq.contains(&c) {
                uniq.push(c);
            }
        }
        // Several license classifiers list the licenses a package offers.
        let value = uniq.join(" OR ");
        let mut ev = manifest_evidence(&file, "Classifier: License ::", &value);
        ev.value = classifiers.join("; ");
        ev.confidence = ev.confidence.min(0.8);
        out.push(ev);
        return;
    }
    for f in license_files {
        for p in [dir.join("licenses").join(&f), dir.join(&f)] {
            if let Ok(b) = std::fs::read(&p) {
                out.extend(text_evidence(&p.display().to_string(), &b, threshold));
                break;
            }
        }
    }
}
