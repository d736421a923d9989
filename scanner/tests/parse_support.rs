//! Helpers shared by the `parse_*` test files (included with `#[path]`;
//! compiled alone it is an empty test crate).
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::PathBuf;
use steward_scanner::{DependencyGraph, Package};

pub fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(rel)
}

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(data(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn edge_count(g: &DependencyGraph) -> usize {
    g.edges.iter().map(Vec::len).sum()
}

pub fn label(p: &Package) -> String {
    format!("{}@{}", p.name, p.version)
}

/// Index of the only package with this name and version.
pub fn find(g: &DependencyGraph, name: &str, version: &str) -> usize {
    let hits: Vec<usize> =
        (0..g.packages.len()).filter(|&i| g.packages[i].name == name && g.packages[i].version == version).collect();
    assert_eq!(hits.len(), 1, "expected one {name}@{version}, found {}", hits.len());
    hits[0]
}

pub fn find_all(g: &DependencyGraph, name: &str) -> Vec<usize> {
    (0..g.packages.len()).filter(|&i| g.packages[i].name == name).collect()
}

/// The dependencies of `from` as `name@version`, sorted.
pub fn deps_of(g: &DependencyGraph, from: usize) -> Vec<String> {
    let mut v: Vec<String> = g.edges[from].iter().map(|&i| label(&g.packages[i])).collect();
    v.sort();
    v
}

pub fn has_edge(g: &DependencyGraph, from: usize, to: usize) -> bool {
    g.edges[from].contains(&to)
}

/// Checks the model's invariants (`DependencyGraph::check_invariants`).
pub fn check_invariants(g: &DependencyGraph) {
    if let Err(e) = g.check_invariants() {
        panic!("{}: {e}", g.source.path);
    }
}

/// A compact, deterministic text summary for snapshots: counts, roots,
/// direct dependencies, and every 1/n-th package by name with its details.
pub fn summary(g: &DependencyGraph) -> String {
    check_invariants(g);
    let mut s = String::new();
    let dev = g.packages.iter().filter(|p| p.dev).count();
    let licensed = g.packages.iter().filter(|p| !p.raw_licenses.is_empty()).count();
    let _ = writeln!(
        s,
        "format: {:?}\npackages: {}\nedges: {}\nroots: {}\ndev: {}\nwith raw licenses: {}",
        g.source.format,
        g.packages.len(),
        edge_count(g),
        g.roots.len(),
        dev,
        licensed
    );
    let mut roots: Vec<String> = g.roots.iter().map(|&r| label(&g.packages[r])).collect();
    roots.sort();
    let _ = writeln!(s, "root list: {}", roots.join(", "));
    let mut direct: Vec<String> = g.direct_dependencies().iter().map(|&i| label(&g.packages[i])).collect();
    direct.sort();
    let shown = direct.len().min(30);
    let _ = writeln!(s, "direct ({}): {}", direct.len(), direct[..shown].join(", "));
    let mut order: Vec<usize> = (0..g.packages.len()).collect();
    order.sort_by(|&a, &b| {
        let (pa, pb) = (&g.packages[a], &g.packages[b]);
        (&pa.name, &pa.version, &pa.source).cmp(&(&pb.name, &pb.version, &pb.source))
    });
    let step = (order.len() / 12).max(1);
    for &i in order.iter().step_by(step) {
        let p = &g.packages[i];
        let lic: Vec<String> = p.raw_licenses.iter().map(|l| format!("{} <{}>", l.value, l.field)).collect();
        let _ = writeln!(
            s,
            "- {} {:?} src={} purl={} dev={} deps={} lic=[{}]",
            label(p),
            p.ecosystem,
            p.source.as_deref().unwrap_or("-"),
            p.purl.as_deref().unwrap_or("-"),
            p.dev,
            g.edges[i].len(),
            lic.join("; ")
        );
    }
    s
}
