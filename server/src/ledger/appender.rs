//! The append task: collects concurrent appends into batches (group
//! commit) and writes each batch, its tree nodes and a checkpoint signed for
//! the new size in one transaction.
//!
//! A batch holds what was queued while the previous one was being written,
//! up to [`MAX_BATCH`] entries (`store::fill_batch`, shared with the job
//! queue's group commit). A `key-rotation` entry is always a batch of
//! its own, because the checkpoint that includes it is signed by the new key.

use super::shared::{LedgerError, Pending, Receipt, Shared};
use crate::store::{Appended, LockedHead, NewLedgerEntry, PreparedAppend, StoreError, fill_batch};
use std::sync::Arc;
use steward_ledger::checkpoint::Checkpoint;
use steward_ledger::entry::Entry;
use steward_ledger::merkle::Hash;
use steward_ledger::note::SignerKey;
use tokio::sync::mpsc;

/// Most entries written in one transaction.
pub const MAX_BATCH: usize = 4096;
/// Appends that may wait in the queue before callers are slowed down.
pub(super) const QUEUE_DEPTH: usize = 2 * MAX_BATCH;

pub(super) async fn run(shared: Arc<Shared>, mut rx: mpsc::Receiver<Pending>) {
    let mut carry: Option<Pending> = None;
    let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
    loop {
        let first = match carry.take() {
            Some(p) => p,
            None => match rx.recv().await {
                Some(p) => p,
                None => return,
            },
        };
        // A key rotation is a batch of its own (its checkpoint is signed by the new key).
        carry = fill_batch(&mut rx, first, MAX_BATCH, |p| p.rotate_to.is_some(), &mut batch);
        let result = write_batch(&shared, &batch).await;
        match result {
            Ok((first_index, appended)) => {
                let size = first_index + appended.written.iter().filter(|w| **w).count() as u64;
                let mut next = first_index;
                for (p, w) in batch.drain(..).zip(&appended.written) {
                    if !w {
                        let e = moved(&p, &appended);
                        let _ = p.reply.send(Err(Arc::new(e)));
                        continue;
                    }
                    let receipt = Receipt { index: next, leaf_hash: p.leaf, tree_size: size };
                    next += 1;
                    let _ = p.reply.send(Ok(receipt));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, entries = batch.len(), "ledger append failed");
                let e = Arc::new(e);
                for p in batch.drain(..) {
                    let _ = p.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// The error for an entry whose condition did not hold, naming the
/// subject's newest entry after the batch.
fn moved(p: &Pending, appended: &Appended) -> LedgerError {
    let subject = p.subject.clone().unwrap_or_default();
    let show = |i: Option<u64>| i.map_or_else(|| "none".to_string(), |i| format!("entry {i}"));
    let found = show(appended.subjects.get(&subject).copied().flatten());
    LedgerError::SubjectMoved { subject, expected: show(p.expect.flatten()), found }
}

/// Writes one batch; returns the index of its first entry and what was
/// written (a conditional entry whose condition failed was not).
async fn write_batch(shared: &Shared, batch: &[Pending]) -> Result<(u64, Appended), LedgerError> {
    let entries: Vec<NewLedgerEntry> = batch
        .iter()
        .map(|p| NewLedgerEntry {
            kind: p.kind.as_str().to_owned(),
            time: p.time.clone(),
            body: p.body.clone(),
            subject: p.subject.clone(),
            expect: p.expect,
        })
        .collect();
    let rotation = batch.first().and_then(|p| p.rotate_to.as_ref().map(|k| (k, &p.body)));
    let mut first_index = 0;
    let outcome = shared
        .store
        .ledger_append(&entries, |locked| {
            first_index = locked.head.size;
            let leaves: Vec<Hash> =
                batch.iter().zip(&locked.written).filter(|(_, w)| **w).map(|(p, _)| p.leaf).collect();
            prepare(shared, locked, &leaves, rotation)
        })
        .await?;
    let appended = outcome?;
    if let Some((new_signer, _)) = rotation
        && appended.written.first() == Some(&true)
    {
        *shared.signer.write().unwrap_or_else(|e| e.into_inner()) = new_signer.clone();
    }
    Ok((first_index, appended))
}

/// Computes the nodes and the signed checkpoint for `leaves` on top of the
/// locked stored head. Refuses when the stored frontier does not give the
/// stored root, or when the key in force is not ours.
fn prepare(
    shared: &Shared,
    locked: &LockedHead,
    leaves: &[Hash],
    rotation: Option<(&SignerKey, &Vec<u8>)>,
) -> Result<PreparedAppend, LedgerError> {
    let head = &locked.head;
    let mut frontier = locked.frontier.clone();
    if frontier.root() != head.root {
        return Err(LedgerError::Inconsistent(format!(
            "the stored tree nodes give root {} at size {}, but the head records {}",
            frontier.root(),
            head.size,
            head.root
        )));
    }
    let signer = match rotation {
        Some((new_signer, body)) => {
            let entry = Entry::from_canonical_bytes(body)?;
            let (old, new) = entry
                .key_rotation()
                .map_err(|e| LedgerError::InvalidRotation(e.to_string()))?
                .ok_or_else(|| LedgerError::InvalidRotation("not a key-rotation entry".into()))?;
            let in_force = head.key.clone().unwrap_or_else(|| current_signer(shared).verifier_key().to_string());
            if old.to_string() != in_force {
                return Err(LedgerError::InvalidRotation(format!(
                    "the entry rotates away from {old}, but the key in force is {in_force}"
                )));
            }
            if new != new_signer.verifier_key() {
                return Err(LedgerError::InvalidRotation("the new key does not match the entry".into()));
            }
            new_signer.clone()
        }
        None => signer_in_force(shared, head.key.as_deref())?,
    };
    let mut nodes = Vec::with_capacity(leaves.len() * 2 + 8);
    for leaf in leaves {
        frontier
            .append(*leaf, |id, hash| nodes.push((id, hash)))
            .map_err(|e| LedgerError::Inconsistent(e.to_string()))?;
    }
    let root = frontier.root();
    let checkpoint = Checkpoint::new(&shared.origin, frontier.size(), root)
        .and_then(|c| c.sign(&signer))
        .map_err(|e| LedgerError::Inconsistent(format!("cannot sign the checkpoint: {e}")))?;
    Ok(PreparedAppend {
        nodes,
        new_head: crate::store::LedgerHead {
            size: frontier.size(),
            root,
            key: Some(signer.verifier_key().to_string()),
        },
        checkpoint: checkpoint.to_text().into_bytes(),
    })
}

fn current_signer(shared: &Shared) -> SignerKey {
    shared.signer.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Our signer, if it is the key in force; otherwise the key file is re-read
/// once (another process may have rotated the key).
pub(super) fn signer_in_force(shared: &Shared, in_force: Option<&str>) -> Result<SignerKey, LedgerError> {
    let ours = current_signer(shared);
    let Some(in_force) = in_force else {
        return Ok(ours);
    };
    if ours.verifier_key().to_string() == in_force {
        return Ok(ours);
    }
    if let Some(path) = &shared.key_path
        && let Ok(seed) = crate::keys::load(path)
        && let Ok(reloaded) = super::keys::signer_from_seed(&shared.origin, &seed)
        && reloaded.verifier_key().to_string() == in_force
    {
        tracing::info!(key = %in_force, "the ledger key was rotated; now signing with the new key file");
        *shared.signer.write().unwrap_or_else(|e| e.into_inner()) = reloaded.clone();
        return Ok(reloaded);
    }
    Err(LedgerError::KeyMismatch { in_force: in_force.to_owned(), ours: ours.verifier_key().to_string() })
}

/// Signs and stores a checkpoint of the current tree when none is stored
/// (a new log), so readers always find one.
pub(super) async fn ensure_checkpoint(shared: &Shared) -> Result<(), LedgerError> {
    let outcome = shared
        .store
        .ledger_append(&[], |locked| {
            if locked.has_checkpoint {
                return Err(None);
            }
            prepare(shared, locked, &[], None).map_err(Some)
        })
        .await;
    match outcome {
        Ok(Ok(_)) | Ok(Err(None)) => Ok(()),
        Ok(Err(Some(e))) => Err(e),
        Err(StoreError::Conflict(_)) => Ok(()), // another instance did it
        Err(e) => Err(e.into()),
    }
}
