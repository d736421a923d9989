//! The `diff_5000` benchmark as a plain program, for profilers (callgrind,
//! perf) and for a per-phase breakdown that criterion does not give.
//!
//! ```text
//! cargo build --release -p steward-scanner --example diff_bench
//! target/release/examples/diff_bench gen DIR          # write the inputs once
//! target/release/examples/diff_bench run DIR [ITERS [cargo|npm]]  # cold diffs
//! ```
//!
//! `run` prints, per ecosystem, the time of each phase of one cold
//! `steward diff` (both sides parsed, resolved, then compared) and the
//! total; the process-wide manifest cache is cleared before each iteration.
//! Then the best and median totals and the CPU time per diff (all threads,
//! user + system), which is what other load on the machine does not
//! inflate.

use std::path::Path;
use std::time::{Duration, Instant};
use steward_scanner::Directory;
use steward_scanner::drift::diff;
use steward_scanner::license::LicenseConfig;
use steward_scanner::scan::scan_graphs;

#[path = "../benches/gen/mod.rs"]
mod generate;

const N: usize = 5_000;

fn gen_inputs(root: &Path) {
    let old = generate::packages(N, 7);
    let new = generate::evolve(&old, 11);
    for (side, pkgs) in [("old", &old), ("new", &new)] {
        let cargo = root.join("cargo").join(side);
        std::fs::create_dir_all(&cargo).unwrap();
        std::fs::write(cargo.join("Cargo.lock"), generate::cargo_lock(pkgs)).unwrap();
        std::fs::write(cargo.join("Cargo.toml"), generate::CARGO_TOML).unwrap();
        let npm = root.join("npm").join(side);
        std::fs::create_dir_all(&npm).unwrap();
        std::fs::write(npm.join("package-lock.json"), generate::package_lock(pkgs)).unwrap();
        std::fs::write(npm.join("package.json"), generate::PACKAGE_JSON).unwrap();
    }
    generate::cargo_home(&root.join("cargo-home"), &[&old, &new]);
}

fn run(root: &Path, iters: usize, only: Option<&str>) {
    let config =
        LicenseConfig { local_caches: false, cargo_home: Some(root.join("cargo-home")), ..LicenseConfig::default() };
    for eco in ["cargo", "npm"].into_iter().filter(|e| only.is_none_or(|o| o == *e)) {
        let (o, n) = (Directory::new(root.join(eco).join("old")), Directory::new(root.join(eco).join("new")));
        let mut totals: Vec<Duration> = Vec::with_capacity(iters);
        let cpu_before = process_cpu();
        for _ in 0..iters {
            steward_scanner::license::evidence::clear_process_caches();
            let t0 = Instant::now();
            let go = steward_scanner::read_graphs(&o).unwrap();
            let gn = steward_scanner::read_graphs(&n).unwrap();
            let t1 = Instant::now();
            let a = scan_graphs(&o, go, &config).unwrap();
            let b = scan_graphs(&n, gn, &config).unwrap();
            let t2 = Instant::now();
            let d = diff(&a, &b);
            let changed = d.summary.license_changed;
            std::hint::black_box(&d);
            drop((a, b, d));
            let t3 = Instant::now();
            let total = t3 - t0;
            totals.push(total);
            eprintln!(
                "{eco}: parse {:?}, resolve {:?}, diff (and freeing) {:?}, total {:?} ({changed} license changed)",
                t1 - t0,
                t2 - t1,
                t3 - t2,
                total,
            );
        }
        totals.sort();
        let cpu = process_cpu().zip(cpu_before).map(|(after, before)| (after - before) / iters.max(1) as u32);
        eprintln!(
            "{eco}: best of {iters}: {:?}, median {:?}; CPU per diff (user+sys, all threads): {}",
            totals[0],
            totals[totals.len() / 2],
            cpu.map_or_else(|| "n/a".to_owned(), |c| format!("{c:?}"))
        );
    }
}

/// User + system CPU time of the whole process (all threads) from
/// `/proc/self/stat`, in clock ticks of 10 ms (Linux's USER_HZ). Unlike
/// wall time it does not grow when other work competes for the cores.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["gen", dir] => gen_inputs(Path::new(dir)),
        ["run", dir] => run(Path::new(dir), 1, None),
        ["run", dir, iters] => run(Path::new(dir), iters.parse().unwrap_or(1), None),
        ["run", dir, iters, eco] => run(Path::new(dir), iters.parse().unwrap_or(1), Some(eco)),
        _ => {
            eprintln!("usage: diff_bench gen DIR | diff_bench run DIR [ITERS [cargo|npm]]");
            std::process::exit(2);
        }
    }
}
