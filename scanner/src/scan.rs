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
    let mut warnings = Vec::new();
    if !config.config().offline && config.registry().is_none() {
        warnings.push(
            "licenses.offline = false, but no registry source was given to the scanner \
             (`steward scan --online` and the server give one; a library caller uses \
             ValidLicenseConfig::with_registry): licenses were resolved from local data only"
                .to_owned(),
        );
    }
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
