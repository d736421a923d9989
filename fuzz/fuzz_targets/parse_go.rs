//! Fuzzes the go.mod parser: no input may panic, hang or overflow the stack;
//! every accepted graph must satisfy the model's invariants.
//! Input: go.mod, then NUL-separated go.sum and vendor/modules.txt.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steward_scanner::parse::{self, Companion};

fuzz_target!(|data: &[u8]| {
    // The main file, then companions, separated by NUL bytes.
    let p: Vec<&[u8]> = data.split(|&b| b == 0).collect();
    let sum = p.get(1).map(|b| Companion::new("go.sum", b));
    let vendor = p.get(2).map(|b| Companion::new("vendor/modules.txt", b));
    if let Ok(g) = parse::go::parse("go.mod", p[0], sum, vendor) {
        g.check_invariants().unwrap();
    }
});
