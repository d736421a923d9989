//! Fuzzes the Cargo.lock parser: no input may panic, hang or overflow the stack;
//! every accepted graph must satisfy the model's invariants.
//! Input: the lockfile, then NUL-separated Cargo.toml manifests.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steward_scanner::parse::{self, Companion};

fuzz_target!(|data: &[u8]| {
    // The main file, then companions, separated by NUL bytes.
    let p: Vec<&[u8]> = data.split(|&b| b == 0).collect();
    let manifests: Vec<Companion<'_>> = p[1..].iter().take(3).map(|b| Companion::new("Cargo.toml", b)).collect();
    if let Ok(g) = parse::cargo::parse("Cargo.lock", p[0], &manifests) {
        g.check_invariants().unwrap();
    }
});
