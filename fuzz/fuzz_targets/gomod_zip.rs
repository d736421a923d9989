//! Fuzzes the Go module proxy's pure parsers: a module zip read as a
//! stream, `go.sum` lines, `GOPROXY` lists and `GOPRIVATE` globs. No input
//! may panic; an accepted zip stays within its limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steward_scanner::license::gomod::{self, ProxyList, ZipLimits};

fuzz_target!(|data: &[u8]| {
    let limits = ZipLimits {
        max_zip_bytes: 1 << 20,
        max_unpacked_bytes: 4 << 20,
        max_files: 1000,
        max_license_bytes: 4096,
        max_license_files: 8,
    };
    if let Ok(zip) = gomod::read_module_zip(data, "example.com/m", "v1.0.0", &["sub".to_owned()], &limits) {
        assert!(zip.unpacked_bytes <= limits.max_unpacked_bytes);
        assert!(zip.files <= limits.max_files);
        assert!(zip.licenses.iter().all(|l| l.text.len() <= 3 * limits.max_license_bytes));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gomod::go_sum_hashes(text);
        let _ = ProxyList::parse(text);
        let (globs, target) = text.split_once('\n').unwrap_or((text, "example.com/m"));
        let _ = gomod::match_prefix_patterns(globs, target);
        let _ = gomod::path_match(globs, target);
        let _ = gomod::escape_path(target).and_then(|_| gomod::escape_version(globs));
    }
});
