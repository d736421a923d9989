//! Full-log verification: a valid log with a key rotation passes, and the
//! tamper suite flips single bits of stored entries, nodes and checkpoints
//! and requires `verify_log` to fail at exactly the right index every time.

use steward_ledger::checkpoint::Checkpoint;
use steward_ledger::entry::{Entry, KeyRotation, Payload, SchemaV1, Timestamp, examples};
use steward_ledger::merkle::{Hash, NodeId};
use steward_ledger::note::SignerKey;
use steward_ledger::verify::{
    EntryChecks, FailureReason, LogFailure, MemoryLog, StoredCheckpoint, VerifyError, VerifyOptions, verify_log,
};

const ORIGIN: &str = "steward.test/ledger";

/// xorshift64*: deterministic, dependency-free randomness for the tests.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn key(seed: u8) -> SignerKey {
    SignerKey::from_seed(ORIGIN, &[seed; 32]).unwrap()
}

/// A log of `n` entries of every kind, a checkpoint every 20 entries, and a
/// key rotation from key 1 to key 2 at entry `n / 2`.
fn build(n: u64) -> MemoryLog {
    let (old, new) = (key(1), key(2));
    let mut log = MemoryLog::new();
    log.checkpoint(ORIGIN, &old).unwrap(); // the empty tree
    let kinds: Vec<Payload> = examples::all().into_iter().filter(|p| !matches!(p, Payload::KeyRotation(_))).collect();
    let mut signer = old.clone();
    for i in 0..n {
        let time = Timestamp::from_unix(1_780_000_000 + i, 0).unwrap();
        let entry = if i == n / 2 {
            let payload = Payload::KeyRotation(KeyRotation {
                schema: SchemaV1,
                old_key: old.verifier_key().to_string(),
                new_key: new.verifier_key().to_string(),
                reason: "scheduled".into(),
            });
            let mut e = Entry::new(&payload, time, "server").unwrap();
            e.sign(&old).unwrap();
            signer = new.clone();
            e
        } else {
            let payload = &kinds[(i as usize) % kinds.len()];
            let mut e = Entry::new(payload, time, &format!("token:{i}")).unwrap();
            if i % 3 == 0 {
                e.sign(&key(9)).unwrap();
            }
            e
        };
        log.append(entry.canonical_bytes().unwrap()).unwrap();
        if (i + 1) % 20 == 0 {
            log.checkpoint(ORIGIN, &signer).unwrap();
        }
    }
    log.checkpoint(ORIGIN, &signer).unwrap();
    log
}

fn options(checks: EntryChecks) -> VerifyOptions {
    let mut o = VerifyOptions::new(ORIGIN, key(1).verifier_key());
    o.entry_checks = checks;
    o.batch_size = 16;
    o
}

fn failure(log: &MemoryLog, checks: EntryChecks) -> LogFailure {
    match verify_log(log, &options(checks), |_| {}) {
        Err(VerifyError::Invalid(f)) => f,
        Err(VerifyError::Storage(e)) => panic!("storage error {e}"),
        Ok(_) => panic!("tampered log verified"),
    }
}

#[test]
fn valid_log_verifies_and_follows_the_key_rotation() {
    let log = build(100);
    for checks in [EntryChecks::LeafOnly, EntryChecks::Parse, EntryChecks::ParseAndSignatures] {
        let mut seen = Vec::new();
        let report = verify_log(&log, &options(checks), |n| seen.push(n)).unwrap();
        assert_eq!(report.size, 100);
        assert_eq!(report.root, log.nodes.root());
        assert_eq!(report.key_rotations, 1);
        assert_eq!(report.current_key, key(2).verifier_key());
        assert_eq!(report.checkpoints, log.checkpoints.len() as u64);
        assert_eq!(seen.last(), Some(&100));
    }
}

#[test]
fn empty_log_verifies() {
    let mut log = MemoryLog::new();
    assert_eq!(verify_log(&log, &options(EntryChecks::Parse), |_| {}).unwrap().root, Hash::EMPTY_ROOT);
    log.checkpoint(ORIGIN, &key(1)).unwrap();
    assert_eq!(verify_log(&log, &options(EntryChecks::Parse), |_| {}).unwrap().checkpoints, 1);
}

#[test]
fn tamper_suite_single_bit_flips_fail_at_the_right_index() {
    let log = build(120);
    let mut rng = Rng(0x5eed_1e55_0000_0001);
    let (mut entries, mut nodes, mut checkpoints) = (0, 0, 0);
    for trial in 0..300 {
        let mut bad = log.clone();
        let bit = 1u8 << rng.below(8);
        let (expected, checks) = match trial % 3 {
            0 => {
                let i = rng.below(bad.entries.len() as u64) as usize;
                let bytes = &mut bad.entries[i].bytes;
                let at = rng.below(bytes.len() as u64) as usize;
                bytes[at] ^= bit;
                entries += 1;
                // Alternate leaf-only and full parsing: both must name i.
                (i as u64, if trial % 2 == 0 { EntryChecks::LeafOnly } else { EntryChecks::Parse })
            }
            1 => {
                // Any stored node: pick a level with nodes, then an index.
                let level = rng.below(7) as u8;
                let count = 120u64 >> level;
                let id = NodeId::new(level, rng.below(count));
                let mut h = bad.nodes.get(id).unwrap();
                h.0[rng.below(32) as usize] ^= bit;
                bad.nodes.set(id, h).unwrap();
                nodes += 1;
                (id.last_leaf().unwrap(), EntryChecks::Parse)
            }
            _ => {
                let c = rng.below(bad.checkpoints.len() as u64) as usize;
                let note = &mut bad.checkpoints[c].note;
                let at = rng.below(note.len() as u64) as usize;
                note[at] ^= bit;
                checkpoints += 1;
                (bad.checkpoints[c].size.saturating_sub(1), EntryChecks::Parse)
            }
        };
        let f = failure(&bad, checks);
        assert_eq!(f.index, expected, "trial {trial}: {f}");
    }
    println!("tamper trials: {entries} entry flips, {nodes} node flips, {checkpoints} checkpoint flips");
}

#[test]
fn structural_tampering() {
    let log = build(60);
    // A dropped entry: everything shifts; index 10 holds entry 11.
    let mut bad = log.clone();
    bad.entries.remove(10);
    let f = failure(&bad, EntryChecks::Parse);
    assert_eq!(f.index, 10);
    assert!(matches!(f.reason, FailureReason::IndexMismatch { found: 11 }), "{f}");
    assert_eq!(f.reason.code(), "index-mismatch", "the stable code `ledger verify --format json` prints");

    // Swapped entries.
    let mut bad = log.clone();
    let (a, b) = (bad.entries[20].bytes.clone(), bad.entries[21].bytes.clone());
    bad.entries[20].bytes = b;
    bad.entries[21].bytes = a;
    assert_eq!(failure(&bad, EntryChecks::Parse).index, 20);

    // A truncated log still claiming later checkpoints.
    let mut bad = log.clone();
    bad.entries.truncate(50);
    let f = failure(&bad, EntryChecks::Parse);
    assert_eq!(f.index, 50);
    assert!(matches!(f.reason, FailureReason::CheckpointBeyondLog { .. }), "{f}");
    assert_eq!(f.reason.code(), "checkpoint-beyond-log");

    // A checkpoint stored under the wrong size.
    let mut bad = log.clone();
    bad.checkpoints[1].size += 1;
    let f = failure(&bad, EntryChecks::Parse);
    assert!(matches!(f.reason, FailureReason::CheckpointSizeMismatch { .. }), "{f}");

    // A checkpoint correctly signed but over a forked tree.
    let mut bad = log.clone();
    let mut fork = MemoryLog::new();
    for e in &log.entries[..20] {
        let mut bytes = e.bytes.clone();
        if e.index == 19 {
            bytes = Entry::new(&examples::scan_verdict(), Timestamp::from_unix(1, 0).unwrap(), "evil")
                .unwrap()
                .canonical_bytes()
                .unwrap();
        }
        fork.append(bytes).unwrap();
    }
    fork.checkpoint(ORIGIN, &key(1)).unwrap();
    let forked: StoredCheckpoint = fork.checkpoints.pop().unwrap();
    let pos = bad.checkpoints.iter().position(|c| c.size == 20).unwrap();
    bad.checkpoints[pos] = forked;
    let f = failure(&bad, EntryChecks::Parse);
    assert_eq!(f.index, 19);
    assert!(matches!(f.reason, FailureReason::CheckpointRootMismatch { .. }), "{f}");

    // A checkpoint after the rotation signed by the old key.
    let mut bad = log.clone();
    let last = bad.checkpoints.len() - 1;
    bad.checkpoints.truncate(last);
    bad.checkpoint(ORIGIN, &key(1)).unwrap();
    let f = failure(&bad, EntryChecks::Parse);
    assert_eq!(f.index, 59);
    assert!(matches!(f.reason, FailureReason::BadCheckpoint { .. }), "{f}");
}

#[test]
fn rotation_not_signed_by_the_key_in_force_is_rejected() {
    let (old, new, evil) = (key(1), key(2), key(3));
    let mut log = MemoryLog::new();
    let payload = Payload::KeyRotation(KeyRotation {
        schema: SchemaV1,
        old_key: evil.verifier_key().to_string(),
        new_key: new.verifier_key().to_string(),
        reason: "takeover".into(),
    });
    log.append(
        Entry::new(&examples::scan_verdict(), Timestamp::from_unix(5, 0).unwrap(), "a")
            .unwrap()
            .canonical_bytes()
            .unwrap(),
    )
    .unwrap();
    let mut e = Entry::new(&payload, Timestamp::from_unix(6, 0).unwrap(), "server").unwrap();
    e.sign(&evil).unwrap();
    log.append(e.canonical_bytes().unwrap()).unwrap();
    log.checkpoint(ORIGIN, &new).unwrap();
    let _ = old;
    for checks in [EntryChecks::LeafOnly, EntryChecks::Parse] {
        let f = failure(&log, checks);
        assert_eq!(f.index, 1);
        assert!(matches!(f.reason, FailureReason::InvalidKeyRotation(_)), "{f}");
    }
}

#[test]
fn parallel_prechecks_report_the_same_first_failure() {
    let log = build(700);
    let mut rng = Rng(42);
    for _ in 0..12 {
        let mut bad = log.clone();
        let i = rng.below(700) as usize;
        let at = rng.below(bad.entries[i].bytes.len() as u64) as usize;
        bad.entries[i].bytes[at] ^= 0x20;
        for threads in [1, 2, 3] {
            let mut o = options(EntryChecks::Parse);
            o.batch_size = 300;
            o.threads = threads;
            match verify_log(&bad, &o, |_| {}) {
                Err(VerifyError::Invalid(f)) => assert_eq!(f.index, i as u64, "threads {threads}: {f}"),
                other => panic!("threads {threads}: {other:?}"),
            }
        }
    }
    let mut o = options(EntryChecks::ParseAndSignatures);
    o.batch_size = 300;
    o.threads = 2;
    assert_eq!(verify_log(&log, &o, |_| {}).unwrap().key_rotations, 1);
}

/// A [`MemoryLog`] that counts the checkpoint pages read.
struct CountingLog {
    log: MemoryLog,
    checkpoint_reads: std::cell::Cell<u32>,
}

impl steward_ledger::merkle::HashReader for CountingLog {
    type Error = steward_ledger::merkle::MissingNode;
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        self.log.read_hashes(ids)
    }
}

impl steward_ledger::verify::LogSource for CountingLog {
    fn entry_count(&self) -> Result<u64, Self::Error> {
        self.log.entry_count()
    }
    fn read_entries(&self, start: u64, limit: usize) -> Result<Vec<steward_ledger::verify::StoredEntry>, Self::Error> {
        self.log.read_entries(start, limit)
    }
    fn read_checkpoints(&self, offset: u64, limit: usize) -> Result<Vec<StoredCheckpoint>, Self::Error> {
        self.checkpoint_reads.set(self.checkpoint_reads.get() + 1);
        self.log.read_checkpoints(offset, limit)
    }
}

#[test]
fn more_checkpoints_than_one_page_are_all_checked_once() {
    // 1,100 entries with a checkpoint after each: two pages of 1,024.
    let signer = key(1);
    let mut log = MemoryLog::new();
    for i in 0..1_100u64 {
        let time = Timestamp::from_unix(1_780_000_000 + i, 0).unwrap();
        let entry = Entry::new(&examples::scan_verdict(), time, &format!("token:{i}")).unwrap();
        log.append(entry.canonical_bytes().unwrap()).unwrap();
        log.checkpoint(ORIGIN, &signer).unwrap();
    }
    let counting = CountingLog { log: log.clone(), checkpoint_reads: 0.into() };
    let report = verify_log(&counting, &options(EntryChecks::LeafOnly), |_| {}).unwrap();
    assert_eq!(report.checkpoints, 1_100, "every checkpoint of both pages");
    assert_eq!(counting.checkpoint_reads.get(), 2, "each page is read once");

    // A checkpoint on the second page that is over another tree is found.
    let mut bad = log.clone();
    let other = Checkpoint::new(ORIGIN, 1_050, steward_ledger::merkle::hash_leaf(b"fork")).unwrap();
    bad.checkpoints[1_049].note = other.sign(&signer).unwrap().to_text().into_bytes();
    let f = failure(&bad, EntryChecks::LeafOnly);
    assert_eq!(f.index, 1_049, "{f}");
    assert!(matches!(f.reason, FailureReason::CheckpointRootMismatch { .. }), "{f}");
}

#[test]
fn of_two_bad_nodes_over_the_same_entry_the_lowest_is_named() {
    let log = build(40);
    // The level-1 node over entries 6..=7 and the level-2 node over 4..=7
    // both end at entry 7: the failure names the lower one, computed first.
    let mut bad = log.clone();
    for id in [NodeId::new(1, 3), NodeId::new(2, 1)] {
        let mut h = bad.nodes.get(id).unwrap();
        h.0[0] ^= 1;
        bad.nodes.set(id, h).unwrap();
    }
    let f = failure(&bad, EntryChecks::Parse);
    assert_eq!(f.index, 7, "{f}");
    match f.reason {
        FailureReason::NodeMismatch { node, .. } => assert_eq!(node, NodeId::new(1, 3), "{f}"),
        _ => panic!("not a node mismatch: {f}"),
    }
    assert_eq!(f.reason.code(), "node-mismatch");
}

#[test]
fn a_bad_checkpoint_and_a_bad_node_at_the_same_index_name_the_checkpoint() {
    // Entry 19 is the last one the checkpoint for size 20 covers, and the
    // leaf node (0, 19) is created by appending it: both problems are at
    // index 19, in the same batch (16..32). The checkpoint is found first,
    // while walking the batch's entries; a node mismatch, found after the
    // walk, replaces it only at a strictly lower index.
    let log = build(40);
    let leaf = NodeId::new(0, 19);
    let tamper_node = |log: &mut MemoryLog| {
        let mut h = log.nodes.get(leaf).unwrap();
        h.0[0] ^= 1;
        log.nodes.set(leaf, h).unwrap();
    };
    let tamper_checkpoint = |log: &mut MemoryLog| {
        // Right size and root, signed by a key nobody trusts.
        let root = steward_ledger::merkle::root_hash(&log.nodes, 20).unwrap();
        let pos = log.checkpoints.iter().position(|c| c.size == 20).unwrap();
        let cp = Checkpoint::new(ORIGIN, 20, root).unwrap();
        log.checkpoints[pos].note = cp.sign(&key(3)).unwrap().to_text().into_bytes();
    };

    // Each alone fails at 19 with its own reason.
    let mut bad = log.clone();
    tamper_node(&mut bad);
    let f = failure(&bad, EntryChecks::Parse);
    assert_eq!(f.index, 19, "{f}");
    assert!(matches!(f.reason, FailureReason::NodeMismatch { node, .. } if node == leaf), "{f}");
    let mut bad = log.clone();
    tamper_checkpoint(&mut bad);
    let f = failure(&bad, EntryChecks::Parse);
    assert_eq!(f.index, 19, "{f}");
    assert!(matches!(f.reason, FailureReason::BadCheckpoint { size: 20, .. }), "{f}");

    // Both: the checkpoint, found first, is kept.
    let mut bad = log.clone();
    tamper_checkpoint(&mut bad);
    tamper_node(&mut bad);
    let f = failure(&bad, EntryChecks::Parse);
    assert_eq!(f.index, 19, "{f}");
    assert!(matches!(f.reason, FailureReason::BadCheckpoint { size: 20, .. }), "{f}");
    assert_eq!(f.reason.code(), "bad-checkpoint");
}
