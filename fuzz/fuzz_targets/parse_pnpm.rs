//! Fuzzes the pnpm-lock.yaml parser: no input may panic, hang or overflow the stack;
//! every accepted graph must satisfy the model's invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steward_scanner::parse;

fuzz_target!(|data: &[u8]| {
    if let Ok(g) = parse::pnpm::parse("pnpm-lock.yaml", data) {
        g.check_invariants().unwrap();
    }
});
