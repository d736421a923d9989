//! JSON reports with stable, documented field names
//! (`scanner/REPORT_FORMAT.md`). Each document names its schema and
//! version; fields are only ever added within a version.

use crate::drift::Drift;
use crate::git::History;
use crate::license::{ResolvedLicense, value_facts};
use crate::scan::Scan;
use serde::Serialize;

/// `schema` of a drift report.
pub const DRIFT_SCHEMA: &str = "steward.drift/v1";
/// `schema` of a scan report.
pub const SCAN_SCHEMA: &str = "steward.scan/v1";
/// `schema` of a history report.
pub const HISTORY_SCHEMA: &str = "steward.history/v1";

#[derive(Serialize)]
struct Tagged<'a, T: Serialize> {
    schema: &'a str,
    #[serde(flatten)]
    body: &'a T,
}

fn pretty<T: Serialize>(value: &T) -> String {
    // Serializing plain data into a String cannot fail; an empty object is
    // the honest fallback should a future type make it fallible.
    let mut s = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".to_owned());
    s.push('\n');
    s
}

/// The drift report as JSON.
pub fn drift_json(drift: &Drift) -> String {
    pretty(&Tagged { schema: DRIFT_SCHEMA, body: drift })
}

/// The history report as JSON.
pub fn history_json(history: &History) -> String {
    pretty(&Tagged { schema: HISTORY_SCHEMA, body: history })
}

#[derive(Serialize)]
struct ScanDoc<'a> {
    schema: &'a str,
    input: &'a str,
    graphs: Vec<GraphDoc<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
}

#[derive(Serialize)]
struct GraphDoc<'a> {
    path: &'a str,
    format: crate::model::LockfileFormat,
    /// Indexes of the project's own packages.
    roots: &'a [usize],
    packages: Vec<PackageDoc<'a>>,
}

#[derive(Serialize)]
struct PackageDoc<'a> {
    index: usize,
    name: &'a str,
    version: &'a str,
    ecosystem: crate::model::Ecosystem,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dev: bool,
    /// Indexes of direct dependencies.
    dependencies: &'a [usize],
    license: &'a ResolvedLicense,
    #[serde(skip_serializing_if = "Option::is_none")]
    facts: Option<crate::license::ExpressionFacts>,
}

/// The scan report as JSON: every graph with its packages, each with its
/// resolved license, evidence and facts.
pub fn scan_json(scan: &Scan) -> String {
    let graphs = scan
        .graphs
        .iter()
        .map(|g| GraphDoc {
            path: &g.graph.source.path,
            format: g.graph.source.format,
            roots: &g.graph.roots,
            packages: g
                .graph
                .packages
                .iter()
                .enumerate()
                .map(|(i, p)| PackageDoc {
                    index: i,
                    name: &p.name,
                    version: &p.version,
                    ecosystem: p.ecosystem,
                    purl: p.purl.as_deref(),
                    dev: p.dev,
                    dependencies: &g.graph.edges[i],
                    license: &g.licenses[i],
                    facts: g.licenses[i].expression.as_ref().map(value_facts),
                })
                .collect(),
        })
        .collect();
    pretty(&ScanDoc { schema: SCAN_SCHEMA, input: &scan.input, graphs, warnings: &scan.warnings })
}
