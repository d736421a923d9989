//! Fuzzes the package-lock.json parser: no input may panic, hang or overflow the stack;
//! every accepted graph must satisfy the model's invariants.
//! Input: the lockfile, then a NUL and an optional package.json.
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
    let pj = p.get(1).map(|b| Companion::new("package.json", b));
    if let Ok(g) = parse::npm::parse("package-lock.json", p[0], pj) {
        check(&g);
    }
});
