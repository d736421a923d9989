//! Parses the parse bench's inputs a fixed number of times (for
//! `perf stat -e instructions:u`, a load-independent before/after count).
//!
//! `cargo run --release -p steward-scanner --example parse_count -- [ROUNDS] [cargo|npm|cdx|real]`

use steward_scanner::parse;

#[path = "../benches/gen/mod.rs"]
mod generate;

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let which = std::env::args().nth(2).unwrap_or_default();
    let pkgs = generate::packages(5_000, 7);
    let cargo = generate::cargo_lock(&pkgs);
    let npm = generate::package_lock(&pkgs);
    let cdx = generate::cyclonedx(&pkgs);
    let real = if which == "real" { generate::real_fixtures() } else { Vec::new() };
    let mut n = 0usize;
    for _ in 0..rounds {
        for (path, bytes) in &real {
            n += generate::parse_real(path, bytes);
        }
        if which.is_empty() || which == "cargo" {
            n += parse::cargo::parse("Cargo.lock", cargo.as_bytes(), &[]).unwrap().packages.len();
        }
        if which.is_empty() || which == "npm" {
            n += parse::npm::parse("package-lock.json", npm.as_bytes(), None).unwrap().packages.len();
        }
        if which.is_empty() || which == "cdx" {
            n += parse::cyclonedx::parse("bom.json", cdx.as_bytes()).unwrap().packages.len();
        }
    }
    println!("{n} packages parsed");
}
