//! Parsing alone (no license resolution, no diff): the synthetic
//! 5,000-package Cargo.lock v4, package-lock v3 and CycloneDX 1.6 of the
//! other benches, and every real lockfile and SBOM under
//! `scanner/tests/data/{lockfiles,sbom}` parsed once per iteration.
//!
//! `cargo bench -p steward-scanner --bench parse`

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use steward_scanner::parse;

#[path = "gen/mod.rs"]
mod generate;

const N: usize = 5_000;

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

fn bench(c: &mut Criterion) {
    let pkgs = generate::packages(N, 7);
    let cargo = generate::cargo_lock(&pkgs);
    let npm = generate::package_lock(&pkgs);
    let cdx = generate::cyclonedx(&pkgs);
    let mut real: Vec<(String, Vec<u8>)> = Vec::new();
    for dir in ["lockfiles", "sbom"] {
        let d = format!("{}/tests/data/{dir}", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        for p in names {
            if p.is_file() {
                real.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    let total: usize = real.iter().map(|(p, b)| parse_real(p, b)).sum();
    eprintln!("real fixtures: {} files, {total} packages", real.len());

    c.bench_function("parse cargo-lock v4 5000", |b| {
        b.iter(|| parse::cargo::parse("Cargo.lock", black_box(cargo.as_bytes()), &[]).unwrap())
    });
    c.bench_function("parse package-lock v3 5000", |b| {
        b.iter(|| parse::npm::parse("package-lock.json", black_box(npm.as_bytes()), None).unwrap())
    });
    c.bench_function("parse cyclonedx 1.6 5000", |b| {
        b.iter(|| parse::cyclonedx::parse("bom.json", black_box(cdx.as_bytes())).unwrap())
    });
    c.bench_function("parse real fixtures (all)", |b| {
        b.iter(|| real.iter().map(|(p, bytes)| parse_real(p, black_box(bytes))).sum::<usize>())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
