//! The ledger's storage and appender contract, on SQLite and PostgreSQL:
//! durable gapless appends with a signed checkpoint per batch, O(log n)
//! proofs from the store, concurrent appenders (two pools), refusal to sign
//! over a corrupted tree or with the wrong key, and key rotation.

mod common;
mod ledger_support;

use common::TestDb;
use ledger_support::*;
use steward::ledger::{Ledger, LedgerError, read};
use steward::store::Store;
use steward_ledger::checkpoint::{Checkpoint, CheckpointError};
use steward_ledger::entry::{Entry, EntryError, Payload, Timestamp, examples};
use steward_ledger::merkle::{MemoryStore, hash_leaf, verify_consistency, verify_inclusion};
use steward_ledger::note::NoteError;
use steward_ledger::note::SignerKey;
use steward_ledger::verify::FailureReason;

on_both_backends!(
    a_new_ledger_signs_an_empty_checkpoint,
    appends_are_gapless_durable_and_checkpointed,
    stored_entries_and_nodes_match_an_independent_tree,
    proofs_from_the_store_verify,
    two_pools_appending_concurrently_form_one_sequence,
    a_corrupted_frontier_stops_appends_without_signing,
    a_ledger_holding_another_key_refuses_to_sign,
    key_rotation_switches_the_key_and_verification_follows_it,
    invalid_and_oversized_entries_never_reach_the_log,
    record_builds_the_entry_with_the_actor_and_time,
    a_server_picks_up_a_key_file_rotated_by_another_process,
    conditional_appends_refuse_a_moved_subject_across_instances,
    a_batch_is_what_was_queued_and_a_rotation_stands_alone,
    a_batch_larger_than_one_insert_statement_keeps_every_index,
    node_reads_of_any_shape_and_size_match_an_independent_tree,
    a_damaged_node_in_a_long_run_is_named_not_misread,
);

async fn a_new_ledger_signs_an_empty_checkpoint(db: &TestDb) {
    let ledger = open_ledger(&db.store, 1).await;
    let head = db.store.ledger_head().await.unwrap();
    assert_eq!(head.size, 0);
    assert_eq!(head.key.as_deref(), Some(signer(1).verifier_key().to_string().as_str()));
    let (cp, _) = read::latest_checkpoint(&db.store).await.unwrap().unwrap();
    assert_eq!((cp.origin(), cp.size()), (ORIGIN, 0));
    // Opening again (a restart, or a second instance) adds nothing.
    let _again = open_ledger(&db.store, 1).await;
    assert_eq!(db.store.ledger_checkpoint_count().await.unwrap(), 1);
    drop(ledger);
    verify_db(&db.store, options(1)).await.unwrap();
}

async fn appends_are_gapless_durable_and_checkpointed(db: &TestDb) {
    let ledger = open_ledger(&db.store, 1).await;
    let mut indexes = append_many(&ledger, 0, 300, 32).await;
    indexes.sort_unstable();
    assert_eq!(indexes, (0..300).collect::<Vec<_>>());
    // Batched: fewer checkpoints than entries, sizes strictly increasing.
    let cps = db.store.ledger_checkpoints(0, 10_000).await.unwrap();
    assert!(cps.len() < 301, "{} checkpoints for 300 entries", cps.len());
    assert!(cps.windows(2).all(|w| w[0].size < w[1].size));
    assert_eq!(cps.last().unwrap().size, 300);
    assert_eq!(db.store.ledger_checkpoint_count().await.unwrap(), cps.len() as u64);
    // Durable: a fresh pool on the same database sees everything.
    let reopened = Store::open(&db.url).await.unwrap();
    assert_eq!(reopened.ledger_head().await.unwrap().size, 300);
    let report = verify_db(&reopened, options(1)).await.unwrap();
    assert_eq!(report.size, 300);
    assert_eq!(report.checkpoints, cps.len() as u64);
    reopened.close().await;
}

async fn stored_entries_and_nodes_match_an_independent_tree(db: &TestDb) {
    let ledger = open_ledger(&db.store, 1).await;
    let mut memory = MemoryStore::new();
    for i in 0..70 {
        let e = entry(i);
        let receipt = ledger.append(&e).await.unwrap();
        let bytes = e.canonical_bytes().unwrap();
        assert_eq!(receipt.index, i);
        assert_eq!(receipt.leaf_hash, hash_leaf(&bytes));
        assert_eq!(receipt.tree_size, i + 1, "sequential appends are one batch each");
        memory.append(hash_leaf(&bytes)).unwrap();
    }
    let head = db.store.ledger_head().await.unwrap();
    assert_eq!((head.size, head.root), (70, memory.root()));
    let rows = db.store.ledger_entries(0, 100).await.unwrap();
    for (i, row) in rows.iter().enumerate() {
        let e = entry(i as u64);
        assert_eq!(row.body, e.canonical_bytes().unwrap());
        assert_eq!(row.kind, e.kind.as_str());
        assert_eq!(row.time, e.time.as_str());
    }
    for level in 0..7u8 {
        let count = 70u64 >> level;
        let ids: Vec<_> = (0..count).map(|i| steward_ledger::merkle::NodeId::new(level, i)).collect();
        let stored = db.store.ledger_nodes(&ids).await.unwrap();
        let want: Vec<_> = ids.iter().map(|id| memory.get(*id).unwrap()).collect();
        assert_eq!(stored, want, "level {level}");
    }
    let missing = db.store.ledger_nodes(&[steward_ledger::merkle::NodeId::new(0, 70)]).await.unwrap_err();
    assert!(missing.to_string().contains("(0, 70) is missing"), "{missing}");
}

async fn proofs_from_the_store_verify(db: &TestDb) {
    let ledger = open_ledger(&db.store, 1).await;
    append_many(&ledger, 0, 100, 1).await;
    let published = read::published_size(&db.store).await.unwrap();
    assert_eq!(published, 100);
    for (index, size) in [(0, 1), (0, 100), (37, 38), (37, 100), (99, 100), (64, 65), (5, 64)] {
        let leaf = hash_leaf(&entry(index).canonical_bytes().unwrap());
        let proof = read::inclusion_proof(&db.store, index, size, published).await.unwrap();
        let root = read::root_at(&db.store, size, published).await.unwrap();
        verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
    }
    // Roots computed here from the entries alone, not read from the store.
    let bodies: Vec<Vec<u8>> = (0..100).map(|i| entry(i).canonical_bytes().unwrap()).collect();
    let root = |size: u64| steward_ledger::merkle::Hash(independent_root(&bodies[..size as usize]));
    for (index, size) in [(0, 1), (37, 100), (64, 65), (5, 64)] {
        let proof = read::inclusion_proof(&db.store, index, size, published).await.unwrap();
        verify_inclusion(&hash_leaf(&bodies[index as usize]), index, size, &proof, &root(size)).unwrap();
    }
    for (from, to) in [(1, 100), (37, 64), (64, 100), (99, 100), (100, 100)] {
        let proof = read::consistency_proof(&db.store, from, to, published).await.unwrap();
        let r1 = read::root_at(&db.store, from, published).await.unwrap();
        let r2 = read::root_at(&db.store, to, published).await.unwrap();
        assert_eq!((r1, r2), (root(from), root(to)), "stored roots at {from} and {to}");
        verify_consistency(from, to, &proof, &root(from), &root(to)).unwrap();
    }
    use steward_ledger::merkle::PlanError;
    match read::inclusion_proof(&db.store, 5, 101, published).await {
        Err(read::ReadError::OutOfRange(msg)) => assert!(msg.contains("101"), "beyond the log: {msg}"),
        other => panic!("beyond the log: expected OutOfRange, got {other:?}"),
    }
    let err = read::inclusion_proof(&db.store, 100, 100, published).await.unwrap_err();
    assert!(
        matches!(err, read::ReadError::Plan(PlanError::IndexOutOfRange { index: 100, size: 100 })),
        "index out of range: {err:?}"
    );
    let err = read::consistency_proof(&db.store, 0, 10, published).await.unwrap_err();
    assert!(matches!(err, read::ReadError::Plan(PlanError::EmptyFirstTree)), "from the empty tree: {err:?}");
    let err = read::consistency_proof(&db.store, 20, 10, published).await.unwrap_err();
    assert!(
        matches!(err, read::ReadError::Plan(PlanError::SizesOutOfOrder { size1: 20, size2: 10 })),
        "backwards: {err:?}"
    );
}

async fn two_pools_appending_concurrently_form_one_sequence(db: &TestDb) {
    // Two stores on one database stand for two server instances.
    let other = Store::open(&db.url).await.unwrap();
    let a = open_ledger(&db.store, 1).await;
    let b = open_ledger(&other, 1).await;
    let (ia, ib) = tokio::join!(append_many(&a, 0, 200, 24), append_many(&b, 1000, 200, 24));
    let mut all: Vec<u64> = ia.iter().chain(ib.iter()).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..400).collect::<Vec<_>>(), "one gapless sequence, no duplicates");
    let report = verify_db(&db.store, options(1)).await.unwrap();
    assert_eq!(report.size, 400);
    other.close().await;
}

async fn a_corrupted_frontier_stops_appends_without_signing(db: &TestDb) {
    let ledger = open_ledger(&db.store, 1).await;
    append_many(&ledger, 0, 6, 1).await; // frontier of 6: nodes (2, 0) and (1, 2)
    let checkpoints = db.store.ledger_checkpoint_count().await.unwrap();
    exec!(db.store, "UPDATE ledger_nodes SET hash = $1 WHERE level = 1 AND idx = 2", vec![0u8; 32]);
    let err = ledger.append(&entry(6)).await.unwrap_err();
    assert!(matches!(err, LedgerError::Inconsistent(_)), "{err}");
    assert!(err.to_string().contains("refusing"), "{err}");
    assert_eq!(db.store.ledger_checkpoint_count().await.unwrap(), checkpoints, "nothing signed");
    assert_eq!(db.store.ledger_head().await.unwrap().size, 6, "nothing appended");
}

async fn a_ledger_holding_another_key_refuses_to_sign(db: &TestDb) {
    let ledger = open_ledger(&db.store, 1).await;
    ledger.append(&entry(0)).await.unwrap();
    // A ledger holding another key does not even open (the server refuses
    // to start instead of serving with a ledger that cannot sign).
    let err = Ledger::open(db.store.clone(), ORIGIN, signer(2), None).await.unwrap_err();
    assert!(matches!(err, LedgerError::KeyMismatch { .. }), "{err}");
    assert_eq!(db.store.ledger_head().await.unwrap().size, 1);
    verify_db(&db.store, options(1)).await.unwrap();
}

async fn key_rotation_switches_the_key_and_verification_follows_it(db: &TestDb) {
    let ledger = open_ledger(&db.store, 1).await;
    // A second instance with the same key, running while the key rotates.
    let stale = open_ledger(&db.store, 1).await;
    append_many(&ledger, 0, 10, 4).await;
    let receipt = ledger.rotate_key(signer(2), "scheduled", "cli:test").await.unwrap();
    assert_eq!(receipt.index, 10);
    assert_eq!(ledger.verifier_key(), signer(2).verifier_key());
    append_many(&ledger, 11, 10, 4).await;
    let head = db.store.ledger_head().await.unwrap();
    assert_eq!(head.key.as_deref(), Some(signer(2).verifier_key().to_string().as_str()));
    // Checkpoints from the rotation on are signed by the new key only.
    let (cp, row) = read::latest_checkpoint(&db.store).await.unwrap().unwrap();
    let err = Checkpoint::open(&row.note, &[signer(1).verifier_key()]).unwrap_err();
    assert!(matches!(err, CheckpointError::Note(NoteError::NoTrustedSignature)), "{err:?}");
    assert!(Checkpoint::open(&row.note, &[signer(2).verifier_key()]).is_ok());
    assert_eq!(cp.size(), 21);
    let report = verify_db(&db.store, options(1)).await.unwrap();
    assert_eq!((report.size, report.key_rotations), (21, 1));
    assert_eq!(report.current_key, signer(2).verifier_key());
    // Starting from the new key is wrong: the early checkpoints are not its.
    let failure = verify_db(&db.store, options(2)).await.unwrap_err();
    assert_eq!(failure.index, 0, "the very first checkpoint is not the new key's: {failure:?}");
    assert!(
        matches!(
            failure.reason,
            FailureReason::BadCheckpoint { error: CheckpointError::Note(NoteError::NoTrustedSignature), .. }
        ),
        "{failure:?}"
    );
    assert_eq!(steward::ledger::first_key(&db.store).await.unwrap(), Some(signer(1).verifier_key()));
    // A second instance still holding the old key cannot sign any more.
    assert!(matches!(stale.append(&entry(99)).await.unwrap_err(), LedgerError::KeyMismatch { .. }));
    // … and a new one with the old key does not open.
    let err = Ledger::open(db.store.clone(), ORIGIN, signer(1), None).await.unwrap_err();
    assert!(matches!(err, LedgerError::KeyMismatch { .. }), "{err}");
    // Rotating again from a key that is not in force is refused.
    let err = stale.rotate_key(signer(3), "compromise", "cli:test").await.unwrap_err();
    assert!(matches!(err, LedgerError::InvalidRotation(_)), "{err}");
}

async fn invalid_and_oversized_entries_never_reach_the_log(db: &TestDb) {
    let ledger = open_ledger(&db.store, 1).await;
    let Payload::ScanVerdict(mut verdict) = examples::scan_verdict() else { unreachable!() };
    verdict.exceptions_applied = (0..5000).map(|i| format!("exception-{i:06}")).collect();
    let big = Entry::new(&Payload::ScanVerdict(verdict), Timestamp::from_unix(0, 0).unwrap(), "ci");
    let err = match big {
        Ok(e) => ledger.append(&e).await.unwrap_err(),
        Err(e) => LedgerError::InvalidEntry(e),
    };
    assert!(err.to_string().contains("65535") || err.to_string().contains("65,535"), "{err}");
    // A payload with denied > drift fails the scan-verdict rule itself:
    // unsigned, and again re-signed by its actor, so no signature check can
    // be what refuses it (entry(0) alone is signed and would fail on that).
    let mut e = Entry::new(&examples::scan_verdict(), Timestamp::from_unix(1_780_000_000, 0).unwrap(), "ci").unwrap();
    assert!(e.signature.is_none());
    let drift = e.payload["drift_count"].as_u64().unwrap();
    e.payload.insert("denied_count".into(), serde_json::json!(drift + 1));
    let denied_over_drift = |err: LedgerError| match err {
        LedgerError::InvalidEntry(EntryError::InvalidPayload { reason, .. }) => {
            assert_eq!(reason, "denied_count cannot exceed drift_count")
        }
        other => panic!("expected the denied_count rule, got {other:?}"),
    };
    denied_over_drift(ledger.append(&e).await.unwrap_err());
    e.sign(&SignerKey::from_seed("alice.example", &[9; 32]).unwrap()).unwrap();
    e.verify_signature().unwrap();
    denied_over_drift(ledger.append(&e).await.unwrap_err());
    // Equal counts are fine (the rule is `>`, not `>=`).
    let mut equal = e.clone();
    equal.payload.insert("denied_count".into(), serde_json::json!(drift));
    equal.sign(&SignerKey::from_seed("alice.example", &[9; 32]).unwrap()).unwrap();
    assert_eq!(ledger.append(&equal).await.unwrap().index, 0);
    // A bad actor signature is refused as a bad signature.
    let mut signed = entry(3);
    signed.actor = "someone-else".into();
    let err = ledger.append(&signed).await.unwrap_err();
    assert!(matches!(err, LedgerError::InvalidEntry(EntryError::BadSignature { .. })), "{err:?}");
    assert_eq!(db.store.ledger_head().await.unwrap().size, 1, "only the valid entry");
}

async fn record_builds_the_entry_with_the_actor_and_time(db: &TestDb) {
    let ledger = open_ledger(&db.store, 1).await;
    let receipt = ledger.record(&examples::all()[1], "token:ci").await.unwrap();
    let row = db.store.ledger_entry(receipt.index).await.unwrap().unwrap();
    let e = Entry::from_canonical_bytes(&row.body).unwrap();
    assert_eq!(e.actor, "token:ci");
    assert!(e.time.as_str().starts_with("20"), "{}", e.time);
    assert_eq!(row.kind, e.kind.as_str());
}

fn write_key_file(path: &std::path::Path, seed: u8) {
    use base64::Engine as _;
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, format!("{}\n", base64::engine::general_purpose::STANDARD.encode([seed; 32]))).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

async fn a_server_picks_up_a_key_file_rotated_by_another_process(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("signing-key");
    write_key_file(&key_path, 1);
    let server =
        steward::ledger::Ledger::open(db.store.clone(), ORIGIN, signer(1), Some(key_path.clone())).await.unwrap();
    server.append(&entry(0)).await.unwrap();
    // `steward ledger rotate-key` elsewhere: the rotation is in the log, but
    // this server's key file is not replaced yet, so it refuses to sign.
    open_ledger(&db.store, 1).await.rotate_key(signer(2), "scheduled", "cli").await.unwrap();
    assert!(matches!(server.append(&entry(2)).await.unwrap_err(), LedgerError::KeyMismatch { .. }));
    // Once the new key file is in place, the next append re-reads it.
    write_key_file(&key_path, 2);
    assert_eq!(server.append(&entry(3)).await.unwrap().index, 2);
    assert_eq!(server.verifier_key(), signer(2).verifier_key());
    let report = verify_db(&db.store, options(1)).await.unwrap();
    assert_eq!((report.size, report.key_rotations), (3, 1));
}

fn credit_payload(contributor: &str, points: i64, id: &str) -> Payload {
    use steward_ledger::entry::{CreditAward, Evidence, SchemaV1};
    Payload::CreditAward(CreditAward {
        schema: SchemaV1,
        award_id: id.into(),
        contributor: contributor.into(),
        points,
        rule: "manual".into(),
        evidence: Evidence { source: "manual".into(), event_id: id.into(), url: None },
        login: None,
        category: Some("code".into()),
        policy_revision: None,
        corrects: None,
        reason: Some("test".into()),
    })
}

/// A conditional append (`record_if`) is written only while its subject's
/// newest entry is the one expected, checked in the append transaction:
/// across two stores on one database (two instances), two appends that
/// expect the same newest entry have exactly one winner; unconditional
/// credit entries move the subject too; other subjects and other kinds are
/// unaffected; a refused entry leaves no trace in the log.
async fn conditional_appends_refuse_a_moved_subject_across_instances(db: &TestDb) {
    let other = Store::open(&db.url).await.unwrap();
    let a = open_ledger(&db.store, 1).await;
    let b = open_ledger(&other, 1).await;
    let alice = steward::ledger::credit_subject("github:1");
    assert_eq!(a.subject_last(&alice).await.unwrap(), None);

    // Both instances expect "no entry yet": one is written.
    let (pa, pb) = (credit_payload("github:1", 5, "a-1"), credit_payload("github:1", 7, "b-1"));
    let (ra, rb) = tokio::join!(a.record_if(&pa, "t", None), b.record_if(&pb, "t", None));
    let (won, lost) = match (ra, rb) {
        (Ok(r), Err(e)) | (Err(e), Ok(r)) => (r, e),
        other => panic!("exactly one of two appends expecting the same state may win: {other:?}"),
    };
    assert!(matches!(&lost, LedgerError::SubjectMoved { subject, .. } if *subject == alice), "{lost:?}");
    assert_eq!(a.subject_last(&alice).await.unwrap(), Some(won.index));
    assert_eq!(db.store.ledger_head().await.unwrap().size, 1, "the refused entry is not in the log");

    // A stale expectation is refused; the current one is written.
    let err = b.record_if(&credit_payload("github:1", 1, "b-2"), "t", None).await.unwrap_err();
    assert!(matches!(err, LedgerError::SubjectMoved { .. }), "{err:?}");
    let second = b.record_if(&credit_payload("github:1", 1, "b-3"), "t", Some(won.index)).await.unwrap();
    assert_eq!(second.index, won.index + 1);

    // An unconditional entry of the same contributor moves the subject
    // (a writer whose lock was lost still blocks the stale one).
    let third = a.record(&credit_payload("github:1", 2, "a-4"), "t").await.unwrap();
    assert_eq!(a.subject_last(&alice).await.unwrap(), Some(third.index));
    let err = a.record_if(&credit_payload("github:1", 3, "a-5"), "t", Some(second.index)).await.unwrap_err();
    assert!(matches!(err, LedgerError::SubjectMoved { .. }), "{err:?}");

    // Other subjects and kinds are independent; kinds without a subject
    // cannot be conditional.
    let bob = b.record_if(&credit_payload("github:2", 4, "b-6"), "t", None).await.unwrap();
    a.record(&examples::all()[1], "t").await.unwrap();
    assert_eq!(b.subject_last(&steward::ledger::credit_subject("github:2")).await.unwrap(), Some(bob.index));
    assert_eq!(a.subject_last(&alice).await.unwrap(), Some(third.index));
    let err = a.record_if(&examples::all()[1], "t", None).await.unwrap_err();
    assert!(matches!(err, LedgerError::Inconsistent(_)), "{err:?}");

    let head = db.store.ledger_head().await.unwrap();
    assert_eq!(head.size, 5, "five entries written, three refused");
    let report = verify_db(&db.store, options(1)).await.unwrap();
    assert_eq!(report.size, 5);
    other.close().await;
}

/// The appender's batches, made visible by their checkpoints (one per
/// batch). The tests run on a current-thread runtime, so everything
/// `append_all` and `rotate_key` queue before they first wait is in the
/// queue when the appender task next runs: the batch is the whole queue, in
/// order, each receipt naming its own index and the size its batch made; a
/// key rotation is a batch of its own, the entries queued before it one
/// batch, those after it the next (signed by the new key).
async fn a_batch_is_what_was_queued_and_a_rotation_stands_alone(db: &TestDb) {
    let ledger = open_ledger(&db.store, 1).await;
    let sizes =
        || async { db.store.ledger_checkpoints(0, 100).await.unwrap().iter().map(|c| c.size).collect::<Vec<_>>() };
    assert_eq!(sizes().await, vec![0]);

    let ten: Vec<Entry> = (0..10).map(entry).collect();
    let receipts: Vec<_> = ledger.append_all(&ten).await.into_iter().map(Result::unwrap).collect();
    let got: Vec<(u64, u64)> = receipts.iter().map(|r| (r.index, r.tree_size)).collect();
    assert_eq!(got, (0..10).map(|i| (i, 10)).collect::<Vec<_>>(), "one batch of ten");
    for (r, e) in receipts.iter().zip(&ten) {
        assert_eq!(r.leaf_hash, hash_leaf(&e.canonical_bytes().unwrap()));
    }
    assert_eq!(sizes().await, vec![0, 10], "one checkpoint for the batch");

    let before: Vec<Entry> = (10..13).map(entry).collect();
    let after: Vec<Entry> = (13..17).map(entry).collect();
    let (first, rotated, last) = tokio::join!(
        ledger.append_all(&before),
        ledger.rotate_key(signer(2), "scheduled", "cli:test"),
        ledger.append_all(&after)
    );
    let pairs = |rs: Vec<Result<steward::ledger::Receipt, LedgerError>>| {
        rs.into_iter().map(|r| r.map(|r| (r.index, r.tree_size)).unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(pairs(first), vec![(10, 13), (11, 13), (12, 13)]);
    let rotated = rotated.unwrap();
    assert_eq!((rotated.index, rotated.tree_size), (13, 14), "the rotation alone");
    assert_eq!(pairs(last), vec![(14, 18), (15, 18), (16, 18), (17, 18)]);
    assert_eq!(sizes().await, vec![0, 10, 13, 14, 18]);
    // The batch before the rotation was signed by the old key; from the
    // rotation on, by the new one.
    let notes = db.store.ledger_checkpoints(0, 100).await.unwrap();
    let signed_by = |size: u64, seed: u8| {
        let row = notes.iter().find(|c| c.size == size).unwrap();
        Checkpoint::open(&row.note, &[signer(seed).verifier_key()]).is_ok()
    };
    assert!(signed_by(13, 1) && !signed_by(13, 2));
    assert!(signed_by(14, 2) && signed_by(18, 2) && !signed_by(18, 1));
    let report = verify_db(&db.store, options(1)).await.unwrap();
    assert_eq!((report.size, report.checkpoints, report.key_rotations), (18, 5, 1));
}

/// SQLite inserts a batch's entries and nodes 32 rows per statement (its
/// bound-parameter limit); a batch of 75 spans three statements, and each
/// row must keep the index it was given (PostgreSQL inserts the batch in one
/// statement; the test holds there too).
async fn a_batch_larger_than_one_insert_statement_keeps_every_index(db: &TestDb) {
    let ledger = open_ledger(&db.store, 1).await;
    let many: Vec<Entry> = (0..75).map(entry).collect();
    let receipts: Vec<_> = ledger.append_all(&many).await.into_iter().map(Result::unwrap).collect();
    let got: Vec<(u64, u64)> = receipts.iter().map(|r| (r.index, r.tree_size)).collect();
    assert_eq!(got, (0..75).map(|i| (i, 75)).collect::<Vec<_>>(), "one batch of 75");
    let rows = db.store.ledger_entries(0, 100).await.unwrap();
    assert_eq!(rows.len(), 75);
    for (i, (row, e)) in rows.iter().zip(&many).enumerate() {
        assert_eq!(row.index, i as u64);
        assert_eq!(row.body, e.canonical_bytes().unwrap(), "entry {i} stored under its own index");
    }
    let report = verify_db(&db.store, options(1)).await.unwrap();
    assert_eq!((report.size, report.checkpoints), (75, 2));
}

/// `ledger_nodes` answers short lists with one point query and longer ones
/// as contiguous runs (on SQLite, a run of 64 or more as one aggregated
/// row, indexed directly when every run came back whole). Every shape is
/// checked against an independent tree: runs on several levels with
/// overlapping index ranges, two runs on one level not starting at 0,
/// short runs mixed in, duplicates and any order, and every leaf asked 40
/// times in one list of 20,000 ids (more than one statement may bind on
/// SQLite, so only runs can answer it).
async fn node_reads_of_any_shape_and_size_match_an_independent_tree(db: &TestDb) {
    use steward_ledger::merkle::NodeId;
    const N: u64 = 500;
    let ledger = open_ledger(&db.store, 1).await;
    let mut memory = MemoryStore::new();
    let all: Vec<Entry> = (0..N).map(entry).collect();
    for batch in all.chunks(steward::ledger::MAX_BATCH) {
        for r in ledger.append_all(batch).await {
            r.unwrap();
        }
    }
    for e in &all {
        memory.append(hash_leaf(&e.canonical_bytes().unwrap())).unwrap();
    }
    let check = |ids: Vec<NodeId>, what: &'static str| {
        let want: Vec<_> = ids.iter().map(|id| memory.get(*id).unwrap()).collect();
        async move {
            let got = db.store.ledger_nodes(&ids).await.unwrap();
            assert_eq!(got.len(), want.len(), "{what}");
            assert!(got == want, "{what}: hashes differ");
        }
    };
    let range = |level: u8, r: std::ops::Range<u64>| r.map(move |i| NodeId::new(level, i));
    // Long runs only (each read whole): two on level 0 apart, one on level
    // 1 over the same indexes, asked in reverse with duplicates.
    let mut long: Vec<NodeId> = range(0, 100..200).chain(range(0, 300..400)).chain(range(1, 90..190)).collect();
    long.extend(range(1, 150..160));
    long.reverse();
    check(long.clone(), "long runs").await;
    // Short runs and single nodes mixed in (read row by row).
    let mut mixed = long;
    mixed.extend(range(2, 5..10).chain(range(3, 7..8)).chain(range(0, 250..251)));
    mixed.rotate_left(37);
    check(mixed, "long and short runs").await;
    check((0..40).flat_map(|_| range(0, 0..N)).collect(), "every leaf, 40 times").await;
}

/// A long run of nodes is read whole on SQLite only when it is complete
/// and every hash is 32 bytes; otherwise row by row, so a damaged node is
/// named instead of shifting every hash after it (a short hash would move
/// the rest of the run by one byte).
async fn a_damaged_node_in_a_long_run_is_named_not_misread(db: &TestDb) {
    use steward_ledger::merkle::NodeId;
    let ledger = open_ledger(&db.store, 1).await;
    let all: Vec<Entry> = (0..200).map(entry).collect();
    for r in ledger.append_all(&all).await {
        r.unwrap();
    }
    let leaves: Vec<NodeId> = (0..200).map(|i| NodeId::new(0, i)).collect();
    db.store.ledger_nodes(&leaves).await.unwrap();
    exec!(db.store, "UPDATE ledger_nodes SET hash = $1 WHERE level = 0 AND idx = 70", vec![7u8; 31]);
    let err = db.store.ledger_nodes(&leaves).await.unwrap_err();
    assert!(err.to_string().contains("node (0, 70)"), "{err}");
    exec!(db.store, "UPDATE ledger_nodes SET hash = $1 WHERE level = 0 AND idx = 70", vec![7u8; 32]);
    exec!(db.store, "DELETE FROM ledger_nodes WHERE level = 0 AND idx = $1", 120i64);
    let err = db.store.ledger_nodes(&leaves).await.unwrap_err();
    assert!(err.to_string().contains("ledger node (0, 120) is missing"), "{err}");
}
