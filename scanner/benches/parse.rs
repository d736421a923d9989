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

fn bench(c: &mut Criterion) {
    let pkgs = generate::packages(N, 7);
    let cargo = generate::cargo_lock(&pkgs);
    let npm = generate::package_lock(&pkgs);
    let cdx = generate::cyclonedx(&pkgs);
    let real = generate::real_fixtures();
    let total: usize = real.iter().map(|(p, b)| generate::parse_real(p, b)).sum();
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
        b.iter(|| real.iter().map(|(p, bytes)| generate::parse_real(p, black_box(bytes))).sum::<usize>())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
