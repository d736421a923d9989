//! Fuzzes the SPDX JSON parser: no input may panic, hang or overflow the stack;
//! every accepted graph must satisfy the model's invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steward_scanner::DependencyGraph;
#[allow(unused_imports)]
use steward_scanner::parse::{self, Companion};

fn check(g: &DependencyGraph) {
    assert_eq!(g.edges.len(), g.packages.len());
    assert!(g.edges.iter().flatten().chain(&g.roots).all(|&i| i < g.packages.len()));
}

/// Splits the input at NUL bytes: the main file, then companions.
#[allow(dead_code)]
fn parts(data: &[u8]) -> Vec<&[u8]> {
    data.split(|&b| b == 0).collect()
}

fuzz_target!(|data: &[u8]| {
    if let Ok(g) = parse::spdx::parse("sbom.spdx.json", data) {
        check(&g);
    }
});
