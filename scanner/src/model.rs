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

impl LockfileFormat {
    pub const ALL: [LockfileFormat; 11] = [
        LockfileFormat::CargoLock,
        LockfileFormat::NpmPackageLock,
        LockfileFormat::PnpmLock,
        LockfileFormat::YarnClassic,
        LockfileFormat::YarnBerry,
        LockfileFormat::GoMod,
        LockfileFormat::PoetryLock,
        LockfileFormat::UvLock,
        LockfileFormat::PipRequirements,
        LockfileFormat::SpdxJson,
        LockfileFormat::CyclonedxJson,
    ];

    /// The stable kebab-case name, as serialized (`cargo-lock`).
    pub fn as_str(self) -> &'static str {
        match self {
            LockfileFormat::CargoLock => "cargo-lock",
            LockfileFormat::NpmPackageLock => "npm-package-lock",
            LockfileFormat::PnpmLock => "pnpm-lock",
            LockfileFormat::YarnClassic => "yarn-classic",
            LockfileFormat::YarnBerry => "yarn-berry",
            LockfileFormat::GoMod => "go-mod",
            LockfileFormat::PoetryLock => "poetry-lock",
            LockfileFormat::UvLock => "uv-lock",
            LockfileFormat::PipRequirements => "pip-requirements",
            LockfileFormat::SpdxJson => "spdx-json",
            LockfileFormat::CyclonedxJson => "cyclonedx-json",
        }
    }
}

impl fmt::Display for LockfileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
    /// The 1-based line of the input where the entry that declares this
    /// package begins (`Cargo.lock`: its `[[package]]` header; npm: its
    /// `"node_modules/…"` key, or the nested `dependencies` key of a v1
    /// lock; pnpm: its key under `packages:` or `snapshots:`). `None` for
    /// formats where it is not read, and for packages the input does not
    /// declare in an entry of their own (synthetic roots). When several
    /// entries merge into one package (npm's nested copies of one
    /// name@version), the earliest line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The hash of the package's bytes as the input records it, when it
    /// does: npm's and pnpm's `integrity` (Subresource Integrity,
    /// `sha512-<base64>`, possibly several separated by spaces), Cargo's
    /// `checksum` (SHA-256, hex). Drift carries license evidence between
    /// two copies of one name@version only when these agree (or one side
    /// has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<String>,
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
    /// Entries the parser skipped or read with a guess (an odd license
    /// shape, a reference to no package…), each naming the entry. A parser
    /// degrades per package: one odd entry is a warning here, not an error
    /// for the whole file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl DependencyGraph {
    /// An empty graph for `source`.
    pub fn new(source: SourceLocation) -> Self {
        Self { source, packages: Vec::new(), edges: Vec::new(), roots: Vec::new(), warnings: Vec::new() }
    }

    /// Appends a package and returns its index.
    pub fn push(&mut self, package: Package) -> PackageIndex {
        self.packages.push(package);
        self.edges.push(Vec::new());
        self.packages.len() - 1
    }

    /// Checks the invariants every parser guarantees: one adjacency list
    /// per package, every edge and root names a package, no edge twice, and
    /// no package twice (same ecosystem, name, version and source). The
    /// fuzz targets and the parser tests assert it on every graph.
    pub fn check_invariants(&self) -> Result<(), String> {
        let n = self.packages.len();
        if self.edges.len() != n {
            return Err(format!("{} adjacency lists for {n} packages", self.edges.len()));
        }
        for (i, deps) in self.edges.iter().enumerate() {
            let mut seen = std::collections::HashSet::with_capacity(deps.len());
            for &d in deps {
                if d >= n {
                    return Err(format!("edge {i} -> {d} names no package (there are {n})"));
                }
                if !seen.insert(d) {
                    return Err(format!("edge {i} -> {d} appears twice"));
                }
            }
        }
        if let Some(r) = self.roots.iter().find(|&&r| r >= n) {
            return Err(format!("root {r} names no package (there are {n})"));
        }
        let mut keys = std::collections::HashSet::with_capacity(n);
        for p in &self.packages {
            if !keys.insert((p.ecosystem, &p.name, &p.version, &p.source)) {
                return Err(format!("package {}@{} ({:?}) appears twice", p.name, p.version, p.source));
            }
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str) -> Package {
        Package {
            name: name.into(),
            version: "1.0.0".into(),
            ecosystem: Ecosystem::Cargo,
            purl: None,
            source: None,
            raw_licenses: Vec::new(),
            dev: false,
            line: None,
            integrity: None,
        }
    }

    fn graph(names: &[&str]) -> DependencyGraph {
        let mut g =
            DependencyGraph::new(SourceLocation { path: "Cargo.lock".into(), format: LockfileFormat::CargoLock });
        for n in names {
            g.push(package(n));
        }
        g
    }

    #[test]
    fn invariants_name_what_is_broken() {
        let mut g = graph(&["a", "b"]);
        g.add_edge(0, 1);
        g.roots.push(0);
        assert_eq!(g.check_invariants(), Ok(()));

        let mut bad = g.clone();
        bad.edges[0].push(1);
        assert_eq!(bad.check_invariants(), Err("edge 0 -> 1 appears twice".into()));
        let mut bad = g.clone();
        bad.edges[1].push(7);
        assert_eq!(bad.check_invariants(), Err("edge 1 -> 7 names no package (there are 2)".into()));
        let mut bad = g.clone();
        bad.roots.push(2);
        assert_eq!(bad.check_invariants(), Err("root 2 names no package (there are 2)".into()));
        let mut bad = g.clone();
        bad.edges.pop();
        assert_eq!(bad.check_invariants(), Err("1 adjacency lists for 2 packages".into()));
        let mut bad = g;
        bad.push(package("a"));
        assert!(bad.check_invariants().unwrap_err().contains("package a@1.0.0"));
    }

    #[test]
    fn format_as_str_is_the_serde_name() {
        for format in LockfileFormat::ALL {
            // Fails to compile when a variant is added: add it to ALL too.
            match format {
                LockfileFormat::CargoLock
                | LockfileFormat::NpmPackageLock
                | LockfileFormat::PnpmLock
                | LockfileFormat::YarnClassic
                | LockfileFormat::YarnBerry
                | LockfileFormat::GoMod
                | LockfileFormat::PoetryLock
                | LockfileFormat::UvLock
                | LockfileFormat::PipRequirements
                | LockfileFormat::SpdxJson
                | LockfileFormat::CyclonedxJson => {}
            }
            assert_eq!(serde_json::to_value(format).unwrap(), serde_json::json!(format.as_str()));
            assert_eq!(serde_json::from_value::<LockfileFormat>(serde_json::json!(format.as_str())).unwrap(), format);
            assert_eq!(format.to_string(), format.as_str());
        }
    }
}
