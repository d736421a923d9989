//! Runs Steward's parsers on the peer scanners' fixtures extracted by
//! `peer_suite_extract.py` and compares each graph with the peer's expected
//! package list (name and version sets).
//!
//! ```text
//! python3 scanner/examples/peer_suite_extract.py /work/peer-fixtures /work/.mirror
//! cargo run -p steward-scanner --example peer_suite -- /work/peer-fixtures [--verbose]
//! ```
//!
//! Each case directory holds one input (plus companions) and
//! `expected.json`. A case *parses* when the parser returns a graph; it
//! *matches* when the set of (name, version) of the graph's packages equals
//! the peer's list, with the project's own packages (roots without a
//! version) left out when the peer leaves them out. Names are compared
//! PEP 503-normalised for Python and versions without a leading `v`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use steward_scanner::discover::{detect, parse_file};
use steward_scanner::{Directory, InputTree};

type Set = BTreeSet<(String, String)>;

fn norm(name: &str, version: &str, python: bool) -> (String, String) {
    let n = if python { steward_scanner::names::pep503(name) } else { name.to_string() };
    (n, version.trim_start_matches('v').to_string())
}

#[derive(Default)]
struct Tally {
    fixtures: usize,
    parsed: usize,
    peer_error_cases: usize,
    with_list: usize,
    matched: usize,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(root) = args.get(1) else {
        eprintln!("usage: peer_suite DIR [--verbose]");
        std::process::exit(2);
    };
    let verbose = args.iter().any(|a| a == "--verbose");
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut peers: Vec<_> = std::fs::read_dir(root).expect("read DIR").flatten().map(|e| e.path()).collect();
    peers.sort();
    for peer_dir in peers.iter().filter(|p| p.is_dir()) {
        let peer = peer_dir.file_name().unwrap_or_default().to_string_lossy().to_string();
        let mut cases: Vec<_> = std::fs::read_dir(peer_dir).expect("read peer").flatten().map(|e| e.path()).collect();
        cases.sort();
        for case in cases.iter().filter(|p| p.is_dir()) {
            run_case(&peer, case, verbose, tallies.entry(peer.clone()).or_default());
        }
    }
    println!("\n| peer | fixtures | parse | peer expects an error | with a package list | match |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut total = Tally::default();
    for (peer, t) in &tallies {
        println!(
            "| {peer} | {} | {} | {} | {} | {} |",
            t.fixtures, t.parsed, t.peer_error_cases, t.with_list, t.matched
        );
        total.fixtures += t.fixtures;
        total.parsed += t.parsed;
        total.peer_error_cases += t.peer_error_cases;
        total.with_list += t.with_list;
        total.matched += t.matched;
    }
    println!(
        "| all | {} | {} | {} | {} | {} |",
        total.fixtures, total.parsed, total.peer_error_cases, total.with_list, total.matched
    );
}

fn run_case(peer: &str, case: &Path, verbose: bool, t: &mut Tally) {
    let meta: serde_json::Value = match std::fs::read(case.join("expected.json")) {
        Ok(b) => serde_json::from_slice(&b).unwrap_or_default(),
        Err(_) => return,
    };
    let file = meta["file"].as_str().unwrap_or_default().to_string();
    let origin = meta["path"].as_str().unwrap_or_default();
    let want_err = meta["want_err"].as_bool().unwrap_or(false);
    t.fixtures += 1;
    if want_err {
        t.peer_error_cases += 1;
    }
    let tree = Directory::new(case);
    let paths: BTreeSet<String> = tree.paths().unwrap_or_default().into_iter().collect();
    let bytes = std::fs::read(case.join(&file)).unwrap_or_default();
    let Some(format) = detect(&file, &bytes) else {
        println!("{peer} {origin}: not detected as an input");
        return;
    };
    let graph = match parse_file(&tree, &paths, &file, format, &bytes) {
        Ok(g) => g,
        Err(e) => {
            println!("{peer} {origin}: ERROR{} {e}", if want_err { " (peer expects an error too)" } else { "" });
            return;
        }
    };
    t.parsed += 1;
    let Some(list) = meta["packages"].as_array() else {
        if verbose {
            println!("{peer} {origin}: parsed, {} packages (no expected list)", graph.packages.len());
        }
        return;
    };
    t.with_list += 1;
    let python = matches!(format.as_str(), "pip-requirements" | "poetry-lock" | "uv-lock");
    let expected: Set = list.iter().filter_map(|p| Some(norm(p[0].as_str()?, p[1].as_str()?, python))).collect();
    let all: Set = graph.packages.iter().map(|p| norm(&p.name, &p.version, python)).collect();
    let without_roots: Set = graph
        .packages
        .iter()
        .enumerate()
        .filter(|(i, p)| !(graph.roots.contains(i) && (p.source.is_none() || p.version.is_empty())))
        .filter(|(_, p)| p.source.is_some() || !p.version.is_empty() || !graph.roots.is_empty())
        .map(|(_, p)| norm(&p.name, &p.version, python))
        .collect();
    // Peers differ on the project's own packages: some list none, some the
    // workspace members but not the top-level project.
    let first_root = graph.roots.first().copied();
    let without_first_root: Set = graph
        .packages
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != first_root)
        .map(|(_, p)| norm(&p.name, &p.version, python))
        .collect();
    let best = if expected == all {
        &all
    } else if expected == without_first_root {
        &without_first_root
    } else {
        &without_roots
    };
    if &expected == best {
        t.matched += 1;
        if verbose {
            println!("{peer} {origin}: match ({} packages)", expected.len());
        }
        return;
    }
    let missing: Vec<_> = expected.difference(best).map(|(n, v)| format!("{n}@{v}")).collect();
    let extra: Vec<_> = best.difference(&expected).map(|(n, v)| format!("{n}@{v}")).collect();
    println!(
        "{peer} {origin}: DIFFERS (peer {}, ours {}): missing {:?} extra {:?}{}",
        expected.len(),
        best.len(),
        &missing[..missing.len().min(8)],
        &extra[..extra.len().min(8)],
        if graph.warnings.is_empty() { String::new() } else { format!(" warnings: {:?}", graph.warnings) }
    );
}
