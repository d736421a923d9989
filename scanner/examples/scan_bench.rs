//! Runs exactly what `steward scan PATH --format json` runs — discovery,
//! parsing, license resolution with the default configuration (local caches
//! on), JSON rendering — so it can be timed with `hyperfine` beside other
//! tools without building the server.
//!
//! ```text
//! cargo build --release -p steward-scanner --example scan_bench
//! target/release/examples/scan_bench PATH [--repeat N] [--quiet]
//! ```
//!
//! The JSON report goes to stdout (`--quiet` drops it); with `--repeat N`
//! the scan runs N times and each run's time goes to stderr.

use std::io::Write as _;
use std::time::Instant;
use steward_scanner::Directory;
use steward_scanner::license::LicenseConfig;

fn main() {
    let mut path = None;
    let mut repeat = 1usize;
    let mut quiet = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--repeat" => repeat = args.next().and_then(|n| n.parse().ok()).unwrap_or(1),
            "--quiet" => quiet = true,
            _ => path = Some(a),
        }
    }
    let Some(path) = path else {
        eprintln!("usage: scan_bench PATH [--repeat N] [--quiet]");
        std::process::exit(2);
    };
    let config = LicenseConfig::default();
    for _ in 0..repeat {
        let t = Instant::now();
        let scan = match steward_scanner::scan::scan(&Directory::new(&path), &config) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(2);
            }
        };
        let json = steward_scanner::report::scan_json(&scan);
        if !quiet {
            let _ = std::io::stdout().lock().write_all(json.as_bytes());
        }
        if repeat > 1 {
            eprintln!("{} packages in {:?}", scan.package_count(), t.elapsed());
        }
    }
}
