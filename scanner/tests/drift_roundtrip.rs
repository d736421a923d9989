//! A drift report read back from its JSON is the same report: stored gate
//! results (which keep only the JSON) render exactly like fresh ones.

use std::path::PathBuf;
use steward_scanner::drift::{Drift, diff};
use steward_scanner::license::LicenseConfig;
use steward_scanner::report::drift_json;
use steward_scanner::{Directory, scan::scan};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/lockfiles").join(name)
}

#[test]
fn drift_json_round_trips_exactly() {
    let config = LicenseConfig { local_caches: false, ..LicenseConfig::default() };
    let old = scan(&Directory::new(fixture("npm-lockv2-rust-analyzer-vscode-2023-06-05.package-lock.json")), &config)
        .unwrap();
    let new = scan(&Directory::new(fixture("npm-lockv3-rust-analyzer-vscode-2024-12-02.package-lock.json")), &config)
        .unwrap();
    let drift = diff(&old, &new);
    assert!(drift.findings.len() > 50, "a real drift with many findings");
    let text = drift_json(&drift);
    let back: Drift = serde_json::from_str(&text).expect("drift JSON deserialises");
    assert_eq!(back, drift);
    assert_eq!(drift_json(&back), text);
}
