//! Peak memory of scanning a 50,000-component CycloneDX 1.6 SBOM (parse +
//! resolve + diff against itself), measured in a fresh child process from
//! `VmHWM` in /proc/self/status.
//!
//! `cargo bench -p steward-scanner --bench sbom_memory`

use std::time::Instant;
use steward_scanner::Directory;
use steward_scanner::drift::diff;
use steward_scanner::license::LicenseConfig;
use steward_scanner::scan::scan;

#[path = "gen/mod.rs"]
mod generate;

const N: usize = 50_000;

fn status(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(key)).map(|l| l[key.len()..].trim().to_owned()))
        .unwrap_or_else(|| "n/a".to_owned())
}

fn measure(path: &str) {
    let before = status("VmHWM:");
    let config = LicenseConfig { local_caches: false, ..LicenseConfig::default() };
    let t = Instant::now();
    let s = scan(&Directory::new(path), &config).expect("scan");
    let scanned = t.elapsed();
    let d = diff(&s, &s);
    let total = t.elapsed();
    println!(
        "sbom_memory: {} components, {} graph(s), {} findings; scan {:.0} ms, scan+diff {:.0} ms; VmHWM before {before}, peak {}",
        s.package_count(),
        s.graphs.len(),
        d.findings.len(),
        scanned.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3,
        status("VmHWM:")
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--measure") {
        measure(&args[pos + 1]);
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return; // `cargo bench -- --list` support
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bom.cdx.json");
    let text = generate::cyclonedx(&generate::packages(N, 13));
    println!("sbom_memory: generated {} bytes", text.len());
    std::fs::write(&file, text).expect("write");
    let exe = std::env::current_exe().expect("current exe");
    let status = std::process::Command::new(exe).arg("--measure").arg(&file).status().expect("spawn");
    assert!(status.success());
}
