//! Parse + resolve + diff of two synthetic 5,000-package lockfiles, as
//! `steward diff OLD NEW` does it: read both trees, resolve every package's
//! license, compare.
//!
//! Cargo.lock v4: licenses come from a fake cargo registry cache (each
//! crate's Cargo.toml), the realistic path for Rust. npm package-lock v3:
//! licenses come from the lockfile's own `license` fields.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use steward_scanner::Directory;
use steward_scanner::drift::diff;
use steward_scanner::license::LicenseConfig;
use steward_scanner::scan::scan;

#[path = "gen/mod.rs"]
mod generate;

const N: usize = 5_000;

fn bench(c: &mut Criterion) {
    let old = generate::packages(N, 7);
    let new = generate::evolve(&old, 11);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (side, pkgs) in [("old", &old), ("new", &new)] {
        std::fs::create_dir_all(root.join("cargo").join(side)).unwrap();
        std::fs::write(root.join("cargo").join(side).join("Cargo.lock"), generate::cargo_lock(pkgs)).unwrap();
        std::fs::write(root.join("cargo").join(side).join("Cargo.toml"), generate::CARGO_TOML).unwrap();
        std::fs::create_dir_all(root.join("npm").join(side)).unwrap();
        std::fs::write(root.join("npm").join(side).join("package-lock.json"), generate::package_lock(pkgs)).unwrap();
        std::fs::write(root.join("npm").join(side).join("package.json"), generate::PACKAGE_JSON).unwrap();
    }
    generate::cargo_home(&root.join("cargo-home"), &[&old, &new]);
    let config =
        LicenseConfig { local_caches: false, cargo_home: Some(root.join("cargo-home")), ..LicenseConfig::default() };

    // Sanity: the benchmark measures real work that finds real drift.
    let check = |eco: &str| {
        let a = scan(&Directory::new(root.join(eco).join("old")), &config).unwrap();
        let b = scan(&Directory::new(root.join(eco).join("new")), &config).unwrap();
        let d = diff(&a, &b);
        let unknown = b.graphs[0].licenses.iter().filter(|l| !l.is_known()).count();
        eprintln!(
            "{eco}: {} packages, {} unknown licenses; {} license changed, {} version changed",
            b.package_count(),
            unknown,
            d.summary.license_changed,
            d.summary.version_changed
        );
        assert!(d.summary.license_changed > 0 && unknown <= 1);
    };
    check("cargo");
    check("npm");
    if std::env::var_os("STEWARD_BENCH_BREAKDOWN").is_some() {
        let tree = Directory::new(root.join("cargo").join("new"));
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let g = steward_scanner::read_graphs(&tree).unwrap();
            let parse = t.elapsed();
            let no_cache = LicenseConfig { local_caches: false, ..LicenseConfig::default() };
            let t = std::time::Instant::now();
            let _ = steward_scanner::scan::scan_graphs(&tree, g.clone(), &no_cache).unwrap();
            let resolve_nocache = t.elapsed();
            let t = std::time::Instant::now();
            let _ = steward_scanner::scan::scan_graphs(&tree, g, &config).unwrap();
            let resolve = t.elapsed();
            eprintln!(
                "breakdown cargo new: parse {parse:?}, resolve without cache dir {resolve_nocache:?}, resolve with registry cache {resolve:?}"
            );
        }
    }

    let mut group = c.benchmark_group("diff_5000");
    group.sample_size(20);
    for eco in ["cargo", "npm"] {
        let (o, n) = (Directory::new(root.join(eco).join("old")), Directory::new(root.join(eco).join("new")));
        group.bench_function(
            if eco == "cargo" { "cargo_lock_v4_registry_cache" } else { "npm_package_lock_v3" },
            |b| {
                b.iter(|| {
                    // Each iteration is a cold `steward diff`: nothing cached
                    // from the previous one.
                    steward_scanner::license::evidence::clear_process_caches();
                    let a = scan(&o, &config).unwrap();
                    let b2 = scan(&n, &config).unwrap();
                    black_box(diff(&a, &b2))
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
