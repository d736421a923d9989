//! `steward gate` end to end on a git repository whose two commits hold a
//! 5,000-package lockfile each: process start, reading both commits from
//! the object database, parsing, license resolution, drift, policy
//! compilation and tests, evaluation and the JSON report.
//!
//!     cargo bench -p steward-server --bench gate
//!
//! Prints min / median / p90 / max wall time over the runs for an npm
//! package-lock v3 (licenses in the lockfile) and a Cargo.lock v4 (licenses
//! from a cargo registry cache). Target: ≤ 1 s end to end.

#[path = "../../scanner/benches/gen/mod.rs"]
mod generate;

use git2::{Repository, Signature};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const PACKAGES: usize = 5_000;
const RUNS: usize = 15;

fn commit(repo: &Repository, files: &[(&str, String)], message: &str) -> String {
    let root = repo.workdir().unwrap().to_path_buf();
    let mut index = repo.index().unwrap();
    for (path, text) in files {
        std::fs::write(root.join(path), text).unwrap();
        index.add_path(Path::new(path)).unwrap();
    }
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = Signature::now("Bench", "bench@example.org").unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents).unwrap().to_string()
}

fn time_gate(dir: &Path, base: &str, head: &str) -> Vec<Duration> {
    let bin = env!("CARGO_BIN_EXE_steward");
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let out = Command::new(bin)
                .current_dir(dir)
                .args([
                    "gate",
                    "--repo",
                    "repo",
                    "--base",
                    base,
                    "--head",
                    head,
                    "--format",
                    "json",
                    "--policies",
                    "embedded",
                    // Registry look-ups are the default; this measures the gate.
                    "--offline",
                ])
                .output()
                .expect("run steward gate");
            let elapsed = start.elapsed();
            assert!(
                matches!(out.status.code(), Some(0 | 1 | 3)),
                "steward gate failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            elapsed
        })
        .collect()
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<40} min {:>7.1} ms  median {:>7.1} ms  p90 {:>7.1} ms  max {:>7.1} ms  ({} runs)",
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() * 9 / 10]),
        ms(times[times.len() - 1]),
        times.len()
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing
    // useful either way: always run, it is quick.
    let old = generate::packages(PACKAGES, 7);
    let new = generate::evolve(&old, 11);

    for eco in ["npm", "cargo"] {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path().join("repo")).unwrap();
        let files = |pkgs: &[generate::Pkg]| -> Vec<(&str, String)> {
            if eco == "npm" {
                vec![
                    ("package-lock.json", generate::package_lock(pkgs)),
                    ("package.json", generate::PACKAGE_JSON.into()),
                ]
            } else {
                vec![("Cargo.lock", generate::cargo_lock(pkgs)), ("Cargo.toml", generate::CARGO_TOML.into())]
            }
        };
        let base = commit(&repo, &files(&old), "old");
        let head = commit(&repo, &files(&new), "new");
        if eco == "cargo" {
            let home = dir.path().join("cargo-home");
            generate::cargo_home(&home, &[&old, &new]);
            std::fs::write(
                dir.path().join("steward.toml"),
                format!("[licenses]\nlocal-caches = true\ncargo-home = \"{}\"\n", home.display()),
            )
            .unwrap();
        }
        report(&format!("gate {eco} {PACKAGES} packages"), time_gate(dir.path(), &base, &head));
    }
}
