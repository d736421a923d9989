//! Fuzzes the Cargo.lock parser: no input may panic, hang or overflow the stack;
//! every accepted graph must satisfy the model's invariants.
//! Input: the lockfile, then NUL-separated Cargo.toml manifests.
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
    let manifests: Vec<Companion<'_>> = p[1..].iter().take(3).map(|b| Companion::new("Cargo.toml", b)).collect();
    if let Ok(g) = parse::cargo::parse("Cargo.lock", p[0], &manifests) {
        check(&g);
    }
});
