//! Parses the parse bench's inputs a fixed number of times (for
//! `perf stat -e instructions:u`, a load-independent before/after count).
//!
//! `cargo run --release -p steward-scanner --example parse_count -- [ROUNDS] [cargo|npm|cdx|real]`

use steward_scanner::parse;

#[path = "../benches/gen/mod.rs"]
mod generate;

/// Every real fixture through its parser (as `benches/parse.rs` does).
fn parse_real(path: &str, bytes: &[u8]) -> usize {
    let name = path.rsplit('/').next().unwrap_or(path);
    let g = if name.ends_with("Cargo.lock") {
        parse::cargo::parse(name, bytes, &[])
    } else if name.ends_with("package-lock.json") {
        parse::npm::parse(name, bytes, None)
    } else if name.ends_with("pnpm-lock.yaml") {
        parse::pnpm::parse(name, bytes)
    } else if name.ends_with("yarn.lock") {
        parse::yarn::parse(name, bytes, None)
    } else if name.ends_with("go.mod") {
        parse::go::parse(name, bytes, None, None)
    } else if name.ends_with("poetry.lock") {
        parse::poetry::parse(name, bytes, None)
    } else if name.ends_with("uv.lock") {
        parse::uv::parse(name, bytes)
    } else if name.ends_with("requirements.txt") {
        parse::requirements::parse(name, bytes, None)
    } else if name.ends_with(".spdx.json") {
        parse::spdx::parse(name, bytes)
    } else if name.contains("cyclonedx") && name.ends_with(".json") {
        parse::cyclonedx::parse(name, bytes)
    } else {
        return 0;
    };
    g.map_or(0, |g| g.packages.len())
}

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let which = std::env::args().nth(2).unwrap_or_default();
    let pkgs = generate::packages(5_000, 7);
    let cargo = generate::cargo_lock(&pkgs);
    let npm = generate::package_lock(&pkgs);
    let cdx = generate::cyclonedx(&pkgs);
    let mut real: Vec<(String, Vec<u8>)> = Vec::new();
    if which == "real" {
        for dir in ["lockfiles", "sbom"] {
            let d = format!("{}/tests/data/{dir}", env!("CARGO_MANIFEST_DIR"));
            let mut names: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()).collect();
            names.sort();
            for p in names {
                real.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut n = 0usize;
    for _ in 0..rounds {
        for (path, bytes) in &real {
            n += parse_real(path, bytes);
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
