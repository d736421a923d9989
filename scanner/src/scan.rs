//! One point in time: every dependency graph of an input tree, with each
//! package's license resolved with evidence.
//!
//! [`scan`] is what `steward scan PATH` calls; [`scan_graphs`] is the same
//! for graphs the caller already has (tests, SBOM pairs, benchmarks). The
//! `_valid` forms take a [`ValidLicenseConfig`], which is also how a
//! registry source reaches the resolver (`offline = false`, see
//! [`ValidLicenseConfig::with_registry`]).

use crate::license::{ConfigError, LicenseConfig, ResolvedLicense, Resolver, ValidLicenseConfig};
use crate::model::{DependencyGraph, ParseError};
use crate::source::InputTree;
use serde::{Deserialize, Serialize};

/// The graphs of one input and their packages' licenses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scan {
    /// What was scanned (`./repo`, `repo@3f2a1c9`, a file path).
    pub input: String,
    pub graphs: Vec<ScannedGraph>,
    /// Problems that did not stop the scan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One graph and the licenses of its packages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScannedGraph {
    pub graph: DependencyGraph,
    /// `licenses[i]` is the license of `graph.packages[i]`.
    pub licenses: Vec<ResolvedLicense>,
}

impl Scan {
    /// The graph read from `path`, if any.
    pub fn graph(&self, path: &str) -> Option<&ScannedGraph> {
        self.graphs.iter().find(|g| g.graph.source.path == path)
    }

    /// Total packages over all graphs.
    pub fn package_count(&self) -> usize {
        self.graphs.iter().map(|g| g.graph.packages.len()).sum()
    }
}

/// Why a scan could not run.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("invalid license configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("{input}: {source}")]
    Io {
        input: String,
        #[source]
        source: std::io::Error,
    },
}

/// Reads every dependency graph in `tree` (see [`crate::discover`]) and
/// resolves its packages' licenses.
pub fn scan(tree: &dyn InputTree, config: &LicenseConfig) -> Result<Scan, ScanError> {
    let valid = config.validate()?;
    scan_valid(tree, &valid)
}

/// [`scan`] with an already validated configuration.
pub fn scan_valid(tree: &dyn InputTree, config: &ValidLicenseConfig) -> Result<Scan, ScanError> {
    let graphs = crate::discover::read_graphs(tree)?;
    Ok(scan_graphs_valid(tree, graphs, config))
}

/// Resolves the licenses of graphs already read from `tree`.
pub fn scan_graphs(
    tree: &dyn InputTree,
    graphs: Vec<DependencyGraph>,
    config: &LicenseConfig,
) -> Result<Scan, ScanError> {
    let valid = config.validate()?;
    Ok(scan_graphs_valid(tree, graphs, &valid))
}

/// [`scan_graphs`] with an already validated configuration (for callers
/// that scan many trees, such as `history`).
pub fn scan_graphs_valid(tree: &dyn InputTree, graphs: Vec<DependencyGraph>, config: &ValidLicenseConfig) -> Scan {
    let mut resolver = Resolver::new(config);
    let mut warnings = parse_warnings(&graphs);
    let graphs = graphs
        .into_iter()
        .map(|graph| {
            let licenses = resolver.resolve_graph(tree, &graph);
            ScannedGraph { graph, licenses }
        })
        .collect();
    let failed = resolver.registry_failures();
    if failed > 0 {
        warnings.push(format!(
            "{failed} registry look-up{} failed; {} unknown (see the package warnings)",
            if failed == 1 { "" } else { "s" },
            if failed == 1 { "that package's license stays" } else { "those packages' licenses stay" }
        ));
    }
    if let Some(summary) = config.go_modules().and_then(|g| g.summary()) {
        warnings.push(summary);
    }
    Scan { input: tree.describe(), graphs, warnings }
}

/// Most parser warnings reported per graph; the rest are counted.
const MAX_PARSE_WARNINGS: usize = 20;

/// The entries each parser skipped or guessed at, named with their file
/// (at most [`MAX_PARSE_WARNINGS`] per file, then how many more).
fn parse_warnings(graphs: &[DependencyGraph]) -> Vec<String> {
    let mut out = Vec::new();
    for g in graphs {
        let path = &g.source.path;
        // Parsers name the file already (`Cargo.lock:7:2: …`); others get it.
        let named = |w: &String| if w.starts_with(path.as_str()) { w.clone() } else { format!("{path}: {w}") };
        out.extend(g.warnings.iter().take(MAX_PARSE_WARNINGS).map(named));
        if g.warnings.len() > MAX_PARSE_WARNINGS {
            out.push(format!("{path}: {} more entries skipped or guessed", g.warnings.len() - MAX_PARSE_WARNINGS));
        }
    }
    out
}

/// How many package licenses came from where, by the deciding evidence:
/// the summary line of `scan`, `diff` and `history`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseSources {
    /// A license field of the input (lockfile, SBOM).
    pub input_field: usize,
    /// A manifest or license text in the scanned tree (`node_modules/x`,
    /// a vendored or path crate).
    pub package_dir: usize,
    /// A manifest or text in this machine's package caches (`~/.cargo`,
    /// the Go module cache, `site-packages`).
    pub local_cache: usize,
    /// A registry's metadata (fresh or from the registry cache).
    pub registry: usize,
    /// A clarification in `steward.toml`.
    pub clarification: usize,
    /// No license found.
    pub none: usize,
}

impl LicenseSources {
    /// Counts the licenses of every package of `scan` but the roots (the
    /// project's own packages).
    pub fn of(scan: &Scan) -> Self {
        let mut out = Self::default();
        out.add(scan);
        out
    }

    /// Adds the licenses of `scan`.
    pub fn add(&mut self, scan: &Scan) {
        use crate::license::EvidenceSource;
        for g in &scan.graphs {
            let mut root = vec![false; g.graph.packages.len()];
            for &r in &g.graph.roots {
                if let Some(x) = root.get_mut(r) {
                    *x = true;
                }
            }
            for (i, l) in g.licenses.iter().enumerate() {
                if root.get(i).copied().unwrap_or(false) {
                    continue;
                }
                let first = l.evidence.first().filter(|_| l.is_known());
                match first.map(|e| (e.source, e.file.starts_with('/'))) {
                    None => self.none += 1,
                    Some((EvidenceSource::InputField, _)) => self.input_field += 1,
                    Some((EvidenceSource::Registry, _)) => self.registry += 1,
                    Some((EvidenceSource::Clarification, _)) => self.clarification += 1,
                    Some((EvidenceSource::LocalManifest | EvidenceSource::LicenseText, true)) => self.local_cache += 1,
                    Some((EvidenceSource::LocalManifest | EvidenceSource::LicenseText, false)) => self.package_dir += 1,
                }
            }
        }
    }

    /// Every license counted.
    pub fn total(&self) -> usize {
        self.input_field + self.package_dir + self.local_cache + self.registry + self.clarification + self.none
    }
}

impl std::fmt::Display for LicenseSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} package licenses: {} from a lockfile/SBOM field, {} from package directories, {} from local package caches, {} from the registry, {} from clarifications, {} unknown",
            self.total(),
            self.input_field,
            self.package_dir,
            self.local_cache,
            self.registry,
            self.clarification,
            self.none
        )
    }
}
