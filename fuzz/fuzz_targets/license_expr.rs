//! The license expression normaliser never panics, and whatever it
//! produces is valid SPDX (per the `spdx` crate), reads back to the same
//! canonical form, and has facts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steward_scanner::license::expr::{is_valid_spdx, parse_lenient};
use steward_scanner::license::{LicenseValue, expression_facts};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    let Some(parsed) = parse_lenient(input) else { return };
    let LicenseValue::Expr(expr) = &parsed.value else { return };
    let rendered = expr.to_string();
    assert!(is_valid_spdx(expr), "{input:?} rendered as invalid SPDX {rendered:?}");
    let canonical = expr.canonical();
    let again = parse_lenient(&rendered).expect("a rendered expression is not empty");
    let again = again.value.expr().expect("a rendered expression is an expression").canonical();
    assert_eq!(canonical, again, "{input:?} → {rendered:?} does not read back to the same license");
    let twice = parse_lenient(&canonical.to_string()).expect("non-empty");
    assert_eq!(twice.value.expr().map(|e| e.canonical()), Some(canonical.clone()), "canonical form is not stable");
    let _ = expression_facts(expr);
});
