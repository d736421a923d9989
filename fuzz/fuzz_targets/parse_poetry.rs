//! Fuzzes the poetry.lock parser: no input may panic, hang or overflow the stack;
//! every accepted graph must satisfy the model's invariants.
//! Input: the lockfile, then a NUL and an optional pyproject.toml.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steward_scanner::parse::{self, Companion};

fuzz_target!(|data: &[u8]| {
    // The main file, then companions, separated by NUL bytes.
    let p: Vec<&[u8]> = data.split(|&b| b == 0).collect();
    let pyproject = p.get(1).map(|b| Companion::new("pyproject.toml", b));
    if let Ok(g) = parse::poetry::parse("poetry.lock", p[0], pyproject) {
        g.check_invariants().unwrap();
    }
});
