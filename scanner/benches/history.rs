//! `history` throughput over a generated repository: 3,000 first-parent
//! commits, of which 1 in 100 changes the lockfile (and 1 in 300 a
//! license); the rest touch source files only and must be skipped by blob id.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use git2::{Repository, Signature};
use std::hint::black_box;
use std::path::Path;
use steward_scanner::git::history;
use steward_scanner::license::LicenseConfig;

#[path = "gen/mod.rs"]
mod generate;

const COMMITS: usize = 3_000;

fn build(dir: &Path) -> Repository {
    let repo = Repository::init(dir).unwrap();
    let sig = Signature::new("Bench", "bench@example.invalid", &git2::Time::new(1_700_000_000, 0)).unwrap();
    let mut pkgs = generate::packages(300, 3);
    let mut rng = generate::Rng::new(5);
    // A realistic tree: a few directories of sources beside the lockfile.
    for d in 0..8 {
        for f in 0..20 {
            let p = dir.join(format!("src/mod{d}/file{f}.rs"));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, format!("// {d} {f}\n")).unwrap();
        }
    }
    std::fs::write(dir.join("package.json"), generate::PACKAGE_JSON).unwrap();
    std::fs::write(dir.join("package-lock.json"), generate::package_lock(&pkgs)).unwrap();
    let mut index = repo.index().unwrap();
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
    let mut parent: Option<git2::Oid> = None;
    for i in 0..COMMITS {
        if i > 0 {
            if i % 100 == 0 {
                let k = rng.below(pkgs.len() as u64) as usize;
                pkgs[k].version = format!("9.9.{i}");
                if i % 300 == 0 {
                    pkgs[k].license = "SSPL-1.0".into();
                }
                std::fs::write(dir.join("package-lock.json"), generate::package_lock(&pkgs)).unwrap();
                index.add_path(Path::new("package-lock.json")).unwrap();
            } else {
                let rel = format!("src/mod{}/file{}.rs", rng.below(8), rng.below(20));
                std::fs::write(dir.join(&rel), format!("// commit {i}\n")).unwrap();
                index.add_path(Path::new(&rel)).unwrap();
            }
        }
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let parents: Vec<git2::Commit<'_>> = parent.map(|p| repo.find_commit(p).unwrap()).into_iter().collect();
        let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        parent = Some(repo.commit(Some("HEAD"), &sig, &sig, &format!("commit {i}"), &tree, &refs).unwrap());
    }
    index.write().unwrap();
    repo
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let repo = build(dir.path());
    let config = LicenseConfig { local_caches: false, ..LicenseConfig::default() };
    let h = history(&repo, None, None, &config, &mut |_| {}).unwrap();
    eprintln!(
        "history: {} commits walked, {} scanned, {} changed a license",
        h.commits_walked,
        h.commits_scanned,
        h.entries.len()
    );
    assert_eq!(h.commits_walked, COMMITS);

    let mut group = c.benchmark_group("history");
    group.sample_size(10);
    group.throughput(Throughput::Elements(COMMITS as u64));
    group.bench_function("3000_commits_1pct_lockfile_changes", |b| {
        b.iter(|| black_box(history(&repo, None, None, &config, &mut |_| {}).unwrap()))
    });
    // Only the skip path: a glob that matches no input.
    group.bench_function("3000_commits_skip_only", |b| {
        b.iter(|| black_box(history(&repo, None, Some("nothing/**"), &config, &mut |_| {}).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
