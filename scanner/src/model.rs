//! The data model every parser produces and every later stage consumes.
//!
//! A parser turns one input file (a lockfile or an SBOM) into one or more
//! [`DependencyGraph`]s. Packages live in a flat `Vec` and edges refer to
//! them by [`PackageIndex`], so graphs are cheap to build, to walk and to
//! serialize. License strings found *inside* the input are kept raw in
//! [`Package::raw_licenses`]; resolving them to an SPDX expression with
//! evidence is a later stage (the `license` module), never the parser's job.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Index of a package inside [`DependencyGraph::packages`].
pub type PackageIndex = usize;

/// The package ecosystem a package belongs to (decides purl type and where
/// local manifests are looked up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ecosystem {
    Cargo,
    Npm,
    Go,
    Pypi,
    /// Anything an SBOM describes that is none of the above (composer,
    /// maven, generic…). The purl, when present, says more.
    Other,
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ecosystem::Cargo => "cargo",
            Ecosystem::Npm => "npm",
            Ecosystem::Go => "go",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Other => "other",
        })
    }
}

/// The exact input format a graph was read from. Stable kebab-case names
/// appear in JSON reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockfileFormat {
    CargoLock,
    NpmPackageLock,
    PnpmLock,
    YarnClassic,
    YarnBerry,
    GoMod,
    PoetryLock,
    UvLock,
    PipRequirements,
    SpdxJson,
    CyclonedxJson,
}

/// A license string exactly as it appears in the input, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawLicense {
    /// The value as written (`"MIT/Apache-2.0"`, `"(MIT AND CC-BY-3.0)"`…).
    pub value: String,
    /// Where in the input it was found, as a JSON path or field name, e.g.
    /// `packages["node_modules/foo"].license` or `components[3].licenses`.
    pub field: String,
}

/// One package (a node of the dependency graph).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    /// The resolved version as the lockfile records it (no range).
    pub version: String,
    pub ecosystem: Ecosystem,
    /// Package URL (purl), when it can be derived or the SBOM gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// Where the package comes from: a registry URL, `git+…`, `path+…`, or
    /// `None` for the project's own (root/workspace) packages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// License strings found inside the input itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raw_licenses: Vec<RawLicense>,
    /// True when the input marks the package as dev/test-only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dev: bool,
}

/// Where a graph came from: the file path relative to the scanned root (or
/// as given on the command line) and its format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceLocation {
    pub path: String,
    pub format: LockfileFormat,
}

/// A dependency graph read from one input file.
///
/// Invariants: every index in `edges` and `roots` is `< packages.len()`;
/// `edges[i]` lists the direct dependencies of `packages[i]` (so
/// `edges.len() == packages.len()`); a package appears once per
/// (name, version, source). Cycles are allowed (npm has them); consumers
/// must not assume a DAG.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyGraph {
    pub source: SourceLocation,
    pub packages: Vec<Package>,
    /// Adjacency list: `edges[i]` = dependencies of `packages[i]`.
    pub edges: Vec<Vec<PackageIndex>>,
    /// The project's own packages (workspace members, the root of a
    /// package-lock, the SBOM's described package). Their dependencies are
    /// the *direct* dependencies.
    pub roots: Vec<PackageIndex>,
}

impl DependencyGraph {
    /// An empty graph for `source`.
    pub fn new(source: SourceLocation) -> Self {
        Self { source, packages: Vec::new(), edges: Vec::new(), roots: Vec::new() }
    }

    /// Appends a package and returns its index.
    pub fn push(&mut self, package: Package) -> PackageIndex {
        self.packages.push(package);
        self.edges.push(Vec::new());
        self.packages.len() - 1
    }

    /// Adds the edge `from -> to` once.
    pub fn add_edge(&mut self, from: PackageIndex, to: PackageIndex) {
        let deps = &mut self.edges[from];
        if !deps.contains(&to) {
            deps.push(to);
        }
    }

    /// The direct dependencies: packages that a root depends on and that are
    /// not roots themselves.
    pub fn direct_dependencies(&self) -> Vec<PackageIndex> {
        let mut out: Vec<PackageIndex> = self
            .roots
            .iter()
            .flat_map(|&r| self.edges[r].iter().copied())
            .filter(|i| !self.roots.contains(i))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// An input that could not be read. Always names the file; names the line
/// and column or the JSON path where the format allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", location.as_ref().map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ParseError {
    pub file: String,
    /// `line:column`, `line N`, or a JSON path such as `packages["x"].version`.
    pub location: Option<String>,
    pub message: String,
}

impl ParseError {
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self { file: file.into(), location: None, message: message.into() }
    }

    pub fn at(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }
}
