//! Fuzzes `detect` and `read_graphs` over a one-file tree: the first byte
//! picks a file name (so every format's detection and companion lookup is
//! reached), the rest is the file's content. No input may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steward_scanner::{InputTree, detect, read_graphs};

const NAMES: &[&str] = &[
    "Cargo.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "pnpm-lock.yaml",
    "yarn.lock",
    "go.mod",
    "poetry.lock",
    "uv.lock",
    "requirements.txt",
    "sbom.spdx.json",
    "bom.cdx.json",
    "release/sbom.json",
    "deep/dir/requirements-dev.txt",
    "notes.txt",
];

struct OneFile<'a> {
    path: &'a str,
    bytes: &'a [u8],
}

impl InputTree for OneFile<'_> {
    fn describe(&self) -> String {
        self.path.to_string()
    }
    fn paths(&self) -> std::io::Result<Vec<String>> {
        Ok(vec![self.path.to_string()])
    }
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        if path == self.path {
            Ok(self.bytes.to_vec())
        } else {
            Err(std::io::Error::new(std::io::ErrorKind::NotFound, path.to_string()))
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else { return };
    let path = NAMES[usize::from(pick) % NAMES.len()];
    let _ = detect(path, bytes);
    if let Ok(graphs) = read_graphs(&OneFile { path, bytes }) {
        assert!(graphs.len() <= 1);
        for g in &graphs {
            g.check_invariants().unwrap();
            assert_eq!(g.source.path, path);
        }
    }
});
