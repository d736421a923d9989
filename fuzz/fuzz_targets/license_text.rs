//! License text detection never panics on any text: blocks, parameter
//! blocks, notices and the combination of parts. Every part's lines lie
//! inside the text, and the expression is valid SPDX.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steward_scanner::license::detect::{DEFAULT_THRESHOLD, detect_text, split_parameter_block};
use steward_scanner::license::expr::is_valid_spdx;
use steward_scanner::license::{notice, params, segment};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.lines().collect();
    for b in segment::blocks(&lines) {
        assert!(b.start < b.end && b.end <= lines.len(), "{b:?} outside {} lines", lines.len());
    }
    let _ = split_parameter_block(&text);
    let _ = params::loose_parameters(&text);
    let _ = notice::read_notice(&text);
    let d = detect_text(&text, DEFAULT_THRESHOLD);
    for p in &d.parts {
        assert!(p.lines.0 >= 1 && p.lines.0 <= p.lines.1 && p.lines.1 <= lines.len().max(1), "{p:?}");
    }
    if let Some(e) = d.expression() {
        assert!(is_valid_spdx(&e), "{e}");
    }
});
