//! The `[licenses]` settings of `steward.toml` ([`LicenseConfig`]), their
//! validation into a [`ValidLicenseConfig`] (clarifications parsed, with the
//! registry source to ask when online), and which clarification applies to
//! a package.

use crate::license::detect;
use crate::license::expr::{LicenseExpr, LicenseValue, parse_lenient};
use crate::license::gomod::GoModuleSource;
use crate::license::registry::{RegistryConfig, RegistrySource};
use crate::model::{Ecosystem, Package};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

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
    /// Never contact a registry (for air-gapped use). `false` (the
    /// default) looks up, for packages that neither the input nor local
    /// data decided, the license the public registry declares
    /// (`[licenses.registry]`) through the [`RegistrySource`] the caller
    /// gives ([`ValidLicenseConfig::with_registry`]; the `steward` binary
    /// and server always give one). The scanner itself never opens a
    /// connection: without a source, a scan resolves from local data only.
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
            offline: false,
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
    /// The Go module proxy source, asked when registry look-ups are on.
    pub(crate) go_modules: Option<SharedGoSource>,
}

/// A Go module source shared by every resolver of a scan.
#[derive(Clone)]
pub(crate) struct SharedGoSource(pub(crate) Arc<dyn GoModuleSource>);

impl std::fmt::Debug for SharedGoSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GoModuleSource")
    }
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
        Ok(ValidLicenseConfig { raw: self.clone(), clarifications, registry: None, go_modules: None })
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

    /// Gives the resolvers a Go module proxy source, asked for Go modules
    /// that nothing local decided, when registry look-ups are on
    /// (`offline = false` and a registry source).
    pub fn with_go_modules(mut self, source: Arc<dyn GoModuleSource>) -> Self {
        self.go_modules = Some(SharedGoSource(source));
        self
    }

    /// The Go module source, if one was given.
    pub fn go_modules(&self) -> Option<&Arc<dyn GoModuleSource>> {
        self.go_modules.as_ref().map(|s| &s.0)
    }

    /// True when Go modules without local license data are looked up in
    /// a module proxy: whenever registry look-ups are on
    /// ([`Self::looks_up_registries`]) and a Go source was given.
    pub fn looks_up_go_modules(&self) -> bool {
        self.looks_up_registries() && self.go_modules.is_some()
    }

    /// True when packages without local license data are looked up in a
    /// registry: `offline = false` and a source was given.
    pub fn looks_up_registries(&self) -> bool {
        !self.raw.offline && self.registry.is_some()
    }
}

impl ValidClarification {
    pub(crate) fn matches(&self, pkg: &Package) -> bool {
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
