//! `governance verify` over 100,000 signed votes (goal: ≤ 5 s).
//!
//! The ledger: 5 committee members and 20,000 community members
//! registered, then 5 proposals with 20,000 votes each (4 committee
//! members and 19,996 community members; the fifth committee member could
//! still veto, so no proposal is decided early), each closed at its
//! window's end. Built through the public API as the server will (every
//! vote checked before it is appended), stored as canonical bytes; the
//! benchmark parses the bytes and verifies, as `steward governance verify`
//! does on a database or an export.

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use steward_governance::{GovernanceConfig, verify, verify_bytes};
use steward_ledger::entry::{ProposalCategory, VoteChoice};
use support::Harness;

const COMMUNITY: usize = 20_000;
const PROPOSALS: usize = 5;

fn ledger() -> Vec<Vec<u8>> {
    let mut h = Harness::new(GovernanceConfig::default());
    let seed = |i: usize| -> [u8; 32] {
        let mut s = [0u8; 32];
        s[..8].copy_from_slice(&(i as u64).to_le_bytes());
        s
    };
    let mut voters = vec![];
    for i in 0..5 + COMMUNITY {
        let (name, class) =
            if i < 5 { (format!("tc{i}"), "technical-committee") } else { (format!("c{i}"), "community") };
        let k = steward_ledger::note::SignerKey::from_seed(&format!("{name}@steward"), &seed(i)).expect("key");
        h.register(&name, &[class], &k, 0, None);
        voters.push((name, class, k));
    }
    for p in 0..PROPOSALS {
        let id = format!("rfc-{p}");
        let mut draft = h.draft(&id, ProposalCategory::Rfc, 10, 100_000);
        draft.veto_classes = Some(vec!["technical-committee".into()]);
        h.open(&draft, "token:maint");
        for (n, (name, class, k)) in voters.iter().skip(1).enumerate() {
            let choice = if n % 3 == 0 { VoteChoice::No } else { VoteChoice::Yes };
            let (_, decided) = h.vote(k, name, &id, class, choice, 20 + (n as u64 % 50_000)).expect("valid vote");
            assert!(decided.is_none(), "not decided early");
        }
        h.close(&id, 100_000).expect("closes at the window's end");
    }
    h.entries.iter().map(|(_, e)| e.canonical_bytes().expect("bytes")).collect()
}

fn run(bytes: &[Vec<u8>]) -> steward_governance::VerifyReport {
    // The copy stands for reading the bytes from the store or an export.
    verify_bytes(bytes.iter().cloned().enumerate().map(|(i, b)| (i as u64, b))).expect("the ledger verifies")
}

/// User + system CPU time of this process from `/proc/self/stat` (Linux;
/// 0 elsewhere): on a shared machine the wall time depends on the load.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of the stat line (utime, stime), in clock ticks of 1/100 s.
    (ticks(11) + ticks(12)) / 100.0
}

fn bench(c: &mut Criterion) {
    let started = Instant::now();
    let bytes = ledger();
    eprintln!("built {} entries in {:.1?}", bytes.len(), started.elapsed());
    let started = Instant::now();
    let cpu = cpu_seconds();
    let report = run(&bytes);
    eprintln!(
        "governance verify: {} entries, {} votes, {} decisions in {:.2?} wall, {:.2} s CPU (one run, {} threads)",
        report.entries,
        report.votes,
        report.decisions.len(),
        started.elapsed(),
        cpu_seconds() - cpu,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    assert_eq!(report.votes, (PROPOSALS * (COMMUNITY + 4)) as u64);
    // The floor: the Ed25519 checks alone, on one thread.
    let votes: Vec<(steward_ledger::note::VerifierKey, Vec<u8>, Vec<u8>)> = bytes
        .iter()
        .filter_map(|b| {
            let e = steward_ledger::entry::Entry::from_canonical_bytes(b).ok()?;
            let sig = e.signature.clone()?;
            use base64::Engine as _;
            let raw = base64::engine::general_purpose::STANDARD.decode(&sig.sig).ok()?;
            Some((steward_ledger::note::VerifierKey::parse(&sig.key).ok()?, e.signing_bytes().ok()?, raw))
        })
        .collect();
    let cpu = cpu_seconds();
    let started = Instant::now();
    assert!(votes.iter().all(|(k, m, s)| k.verify(m, s)));
    eprintln!(
        "Ed25519 verify_strict alone: {} signatures in {:.2?} wall, {:.2} s CPU (one thread)",
        votes.len(),
        started.elapsed(),
        cpu_seconds() - cpu
    );
    if std::env::var_os("STEWARD_BENCH_PARTS").is_some() {
        let time = |what: &str, f: &dyn Fn()| {
            let cpu = cpu_seconds();
            f();
            eprintln!("  {what}: {:.2} s CPU", cpu_seconds() - cpu);
        };
        let parsed: Vec<steward_ledger::entry::Entry> =
            bytes.iter().map(|b| steward_ledger::entry::Entry::from_canonical_bytes(b).expect("entry")).collect();
        time("Entry::from_canonical_bytes", &|| {
            bytes.iter().for_each(|b| drop(black_box(steward_ledger::entry::Entry::from_canonical_bytes(b))))
        });
        time("typed_payload", &|| parsed.iter().for_each(|e| drop(black_box(e.typed_payload()))));
        time("signing_bytes", &|| parsed.iter().for_each(|e| drop(black_box(e.signing_bytes()))));
        time("verify over parsed entries", &|| {
            drop(black_box(verify(parsed.iter().cloned().enumerate().map(|(i, e)| (i as u64, e)))))
        });
    }
    if std::env::var_os("STEWARD_BENCH_ONCE").is_some() {
        return; // one measured run only (profiling, quick checks)
    }

    let mut g = c.benchmark_group("governance");
    g.sample_size(10);
    g.bench_function("verify 100k signed votes (parse + verify)", |b| b.iter(|| black_box(run(&bytes))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
