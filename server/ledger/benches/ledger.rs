//! Ledger core benchmarks (criterion).
//!
//! Run: `CARGO_TARGET_DIR=/work/target-ledger cargo bench -p steward-ledger --bench ledger`
//! (add a filter such as `-- verify` to run one group).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use steward_ledger::entry::{Entry, Timestamp, examples};
use steward_ledger::merkle::{
    Frontier, MemoryStore, append_leaves, consistency_proof, hash_leaf, inclusion_proof, root_hash,
};
use steward_ledger::note::SignerKey;
use steward_ledger::verify::{EntryChecks, MemoryLog, VerifyOptions, verify_log};

const MILLION: u64 = 1_000_000;
const ORIGIN: &str = "bench.steward/ledger";

fn store(n: u64) -> MemoryStore {
    let mut s = MemoryStore::new();
    for i in 0..n {
        s.append(hash_leaf(&i.to_be_bytes())).unwrap_or_default();
    }
    s
}

/// A realistic million-entry log: every kind of entry, a third of them
/// actor-signed, a signed checkpoint every 1,000 entries. (Checking every
/// actor signature, `EntryChecks::ParseAndSignatures`, adds one Ed25519
/// verification per signed entry and is not benchmarked here.)
fn log(n: u64) -> (MemoryLog, SignerKey) {
    let signer = SignerKey::from_seed(ORIGIN, &[1; 32]).expect("key");
    let actor = SignerKey::from_seed("alice.example", &[2; 32]).expect("key");
    let kinds: Vec<_> =
        examples::all().into_iter().filter(|p| !matches!(p, steward_ledger::Payload::KeyRotation(_))).collect();
    let mut log = MemoryLog::new();
    let mut templates = Vec::new();
    for (k, payload) in kinds.iter().enumerate() {
        let mut e =
            Entry::new(payload, Timestamp::from_unix(1_780_000_000, 0).expect("time"), "token:ci").expect("entry");
        if k % 3 == 0 {
            e.sign(&actor).expect("sign");
        }
        templates.push(e);
    }
    for i in 0..n {
        // Vary the time so every entry is distinct.
        let mut e = templates[(i as usize) % templates.len()].clone();
        e.time = Timestamp::from_unix(1_780_000_000 + i, 0).expect("time");
        log.append(e.canonical_bytes().expect("bytes")).expect("append");
        if (i + 1) % 1000 == 0 {
            log.checkpoint(ORIGIN, &signer).expect("checkpoint");
        }
    }
    (log, signer)
}

fn bench_append(c: &mut Criterion) {
    let mut g = c.benchmark_group("append");
    let base = store(MILLION);
    g.bench_function("one leaf into a 1M frontier (nodes computed)", |b| {
        let frontier = Frontier::load(&base, MILLION).expect("frontier");
        b.iter_batched(
            || frontier.clone(),
            |mut f| {
                let mut n = 0;
                f.append(hash_leaf(b"entry"), |_, _| n += 1).expect("append");
                black_box(n)
            },
            BatchSize::SmallInput,
        )
    });
    let leaves: Vec<_> = (0..1000u64).map(|i| hash_leaf(&i.to_le_bytes())).collect();
    g.bench_function("batch of 1000 leaves onto a 1M store (frontier read + nodes)", |b| {
        b.iter(|| black_box(append_leaves(&base, MILLION, &leaves).expect("append")))
    });
    g.finish();
}

fn bench_proofs(c: &mut Criterion) {
    let s = store(MILLION);
    let mut g = c.benchmark_group("proofs at 1M leaves");
    let mut i = 0u64;
    g.bench_function("inclusion proof", |b| {
        b.iter(|| {
            i = (i + 7919) % MILLION;
            black_box(inclusion_proof(&s, i, MILLION).expect("proof"))
        })
    });
    let mut j = 1u64;
    g.bench_function("consistency proof", |b| {
        b.iter(|| {
            j = (j + 7919) % (MILLION - 1) + 1;
            black_box(consistency_proof(&s, j, MILLION).expect("proof"))
        })
    });
    g.bench_function("root at 999,999", |b| b.iter(|| black_box(root_hash(&s, MILLION - 1).expect("root"))));
    g.finish();
}

fn bench_verify(c: &mut Criterion) {
    let (log, signer) = log(MILLION);
    let mut g = c.benchmark_group("verify 1M entries");
    g.sample_size(10).measurement_time(Duration::from_secs(40)).warm_up_time(Duration::from_secs(1));
    for (name, checks) in
        [("leaf hashes + nodes + checkpoints", EntryChecks::LeafOnly), ("+ parse every entry", EntryChecks::Parse)]
    {
        let mut options = VerifyOptions::new(ORIGIN, signer.verifier_key());
        options.entry_checks = checks;
        g.bench_function(name, |b| {
            b.iter(|| {
                let report = verify_log(&log, &options, |_| {}).expect("valid log");
                assert_eq!(report.size, MILLION);
                black_box(report)
            })
        });
    }
    g.finish();
}

fn bench_entry(c: &mut Criterion) {
    let actor = SignerKey::from_seed("alice.example", &[2; 32]).expect("key");
    let mut e = Entry::new(&examples::all()[2], Timestamp::from_unix(1_780_000_000, 0).expect("time"), "token:ci")
        .expect("entry");
    e.sign(&actor).expect("sign");
    let bytes = e.canonical_bytes().expect("bytes");
    let mut g = c.benchmark_group("entry");
    g.bench_function("parse + validate (proposal, signed)", |b| {
        b.iter(|| black_box(Entry::from_canonical_bytes(&bytes).expect("valid")))
    });
    g.bench_function("check_entry_bytes (verifier path)", |b| {
        b.iter(|| black_box(steward_ledger::entry::check_entry_bytes(&bytes).expect("valid")))
    });
    g.bench_function("validate_canonical only", |b| {
        b.iter(|| black_box(steward_ledger::jcs::validate_canonical(&bytes).expect("canonical")))
    });
    g.bench_function("serde_json::Value parse only", |b| {
        b.iter(|| black_box(serde_json::from_slice::<serde_json::Value>(&bytes).expect("json")))
    });
    let value: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    g.bench_function("canonicalize only", |b| {
        b.iter(|| black_box(steward_ledger::jcs::to_canonical_vec(&value).expect("jcs")))
    });
    g.bench_function("typed payload only", |b| b.iter(|| black_box(e.typed_payload().expect("payload"))));
    g.bench_function("leaf hash of canonical bytes", |b| b.iter(|| black_box(hash_leaf(&bytes))));
    g.finish();
}

criterion_group!(benches, bench_append, bench_proofs, bench_entry, bench_verify);
criterion_main!(benches);
