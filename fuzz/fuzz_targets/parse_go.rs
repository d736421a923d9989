//! Fuzzes the go.mod parser: no input may panic, hang or overflow the stack;
//! every accepted graph must satisfy the model's invariants.
//! Input: go.mod, then NUL-separated go.sum and vendor/modules.txt.
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
    let p = parts(data);
    let sum = p.get(1).map(|b| Companion::new("go.sum", b));
    let vendor = p.get(2).map(|b| Companion::new("vendor/modules.txt", b));
    if let Ok(g) = parse::go::parse("go.mod", p[0], sum, vendor) {
        check(&g);
    }
});
