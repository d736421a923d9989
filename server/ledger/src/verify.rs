//! Full-log verification: everything `steward ledger verify` checks, over
//! any storage that implements [`LogSource`] (the server implements it
//! over SQL and over HTTP).
//!
//! Entries are streamed in index order in batches. For every entry the
//! verifier recomputes the leaf hash and every node the append created,
//! and compares them with the stored nodes; it checks every stored
//! checkpoint's signature (following `key-rotation` entries from the
//! trusted key), its origin, that its root equals the root recomputed at
//! its size, and consistency proofs between successive checkpoints. The
//! first problem in index order is returned as a [`LogFailure`]. Memory is
//! one batch plus the tree's right edge ([`Frontier`]): O(log n), not O(n).
//!
//! **Must not depend on:** storage, SQL, HTTP, async, the filesystem.

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::entry::{Entry, EntryError, EntryKind, check_entry_bytes, peek_kind};
use crate::merkle::{
    Frontier, Hash, HashReader, NodeId, ProofError, TreeError, consistency_proof, hash_leaf, verify_consistency,
};
use crate::note::{Note, VerifierKey};

/// An entry as stored: its index and canonical bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    /// The index the store claims for it.
    pub index: u64,
    /// The canonical bytes (the Merkle leaf).
    pub bytes: Vec<u8>,
}

/// A signed checkpoint as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The tree size the store records for it (must match the text).
    pub size: u64,
    /// The signed note text.
    pub note: Vec<u8>,
}

/// What the verifier reads. The server implements this over its database
/// (or over its own HTTP API); node hashes come through [`HashReader`].
pub trait LogSource: HashReader {
    /// Number of entries in the log.
    fn entry_count(&self) -> Result<u64, Self::Error>;

    /// Up to `limit` entries starting at index `start`, in index order.
    /// Returning fewer than asked (before the end) means entries are missing.
    fn read_entries(&self, start: u64, limit: usize) -> Result<Vec<StoredEntry>, Self::Error>;

    /// Up to `limit` stored checkpoints, ordered by size (ties in storage
    /// order), skipping the first `offset`.
    fn read_checkpoints(&self, offset: u64, limit: usize) -> Result<Vec<StoredCheckpoint>, Self::Error>;
}

/// How much of each entry to check beyond its leaf hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EntryChecks {
    /// Hashes only (plus full checks of `key-rotation` entries, which are
    /// always needed to follow the key).
    LeafOnly,
    /// Also parse every entry: canonical JSON, envelope, payload schema.
    #[default]
    Parse,
    /// Also verify every actor signature present.
    ParseAndSignatures,
}

/// Verification settings.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// The log's checkpoint origin.
    pub origin: String,
    /// The checkpoint key trusted at the start of the log.
    pub trusted_key: VerifierKey,
    /// Per-entry checks.
    pub entry_checks: EntryChecks,
    /// Entries per read batch.
    pub batch_size: usize,
    /// Threads for leaf hashing and entry checks (1 = no extra threads).
    /// Everything order-dependent stays on the calling thread.
    pub threads: usize,
}

impl VerifyOptions {
    /// Default options for a log: parse every entry, batches of 4096, up
    /// to four threads.
    pub fn new(origin: &str, trusted_key: VerifierKey) -> VerifyOptions {
        VerifyOptions {
            origin: origin.to_owned(),
            trusted_key,
            entry_checks: EntryChecks::Parse,
            batch_size: 4096,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
        }
    }
}

/// What a successful verification established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries verified.
    pub size: u64,
    /// Root recomputed over all of them.
    pub root: Hash,
    /// Checkpoints whose signature, root and consistency were checked.
    pub checkpoints: u64,
    /// The last checkpoint checked.
    pub latest_checkpoint: Option<Checkpoint>,
    /// Key rotations followed.
    pub key_rotations: u64,
    /// The checkpoint key in force at the end.
    pub current_key: VerifierKey,
}

/// The first index at which the log stops being valid, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ledger invalid at index {index}: {reason}")]
pub struct LogFailure {
    /// For entry and node problems: the entry whose append is wrong. For
    /// checkpoint problems: the last entry the checkpoint covers (size − 1,
    /// or 0 for an empty-tree checkpoint).
    pub index: u64,
    /// What is wrong.
    pub reason: FailureReason,
}

/// Why verification failed. Each variant has a stable kebab-case code
/// ([`FailureReason::code`]) for JSON reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FailureReason {
    /// The store has no entry at this index (a gap or a short log).
    #[error("entry is missing")]
    MissingEntry,
    /// The store returned an entry with another index.
    #[error("store returned entry index {found} here")]
    IndexMismatch {
        /// The index found.
        found: u64,
    },
    /// The entry bytes do not parse as a valid entry.
    #[error("entry is invalid: {0}")]
    InvalidEntry(EntryError),
    /// A key-rotation entry is not signed by the key in force.
    #[error("key rotation is invalid: {0}")]
    InvalidKeyRotation(String),
    /// A stored node differs from the one recomputed from the entries.
    #[error("stored node ({}, {}) is {stored}, recomputed {computed}", .node.level, .node.index)]
    NodeMismatch {
        /// The node.
        node: NodeId,
        /// Stored hash.
        stored: Hash,
        /// Recomputed hash.
        computed: Hash,
    },
    /// A stored node could not be read.
    #[error("stored node could not be read: {0}")]
    NodeUnreadable(String),
    /// A checkpoint does not parse or its signature is not by the key in force.
    #[error("checkpoint for size {size}: {error}")]
    BadCheckpoint {
        /// Stored size.
        size: u64,
        /// What is wrong.
        error: CheckpointError,
    },
    /// The checkpoint text says another size than the store.
    #[error("checkpoint stored for size {stored} says size {text}")]
    CheckpointSizeMismatch {
        /// Size recorded by the store.
        stored: u64,
        /// Size in the signed text.
        text: u64,
    },
    /// The checkpoint's root is not the root of the entries.
    #[error("checkpoint for size {size} has root {checkpoint}, entries give {computed}")]
    CheckpointRootMismatch {
        /// Tree size.
        size: u64,
        /// Root in the checkpoint.
        checkpoint: Hash,
        /// Root recomputed from the entries.
        computed: Hash,
    },
    /// A checkpoint covers more entries than the log has.
    #[error("checkpoint for size {size} is beyond the log's {entries} entries")]
    CheckpointBeyondLog {
        /// Checkpoint size.
        size: u64,
        /// Entries in the log.
        entries: u64,
    },
    /// Stored checkpoints are not ordered by size.
    #[error("checkpoint for size {size} is stored after one for size {previous}")]
    CheckpointsOutOfOrder {
        /// This checkpoint's size.
        size: u64,
        /// The previous one's.
        previous: u64,
    },
    /// Two successive checkpoints are not consistent.
    #[error("checkpoints for sizes {size1} and {size2} are inconsistent: {error}")]
    InconsistentCheckpoints {
        /// Older size.
        size1: u64,
        /// Newer size.
        size2: u64,
        /// The proof failure.
        error: ProofError,
    },
}

impl FailureReason {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            FailureReason::MissingEntry => "missing-entry",
            FailureReason::IndexMismatch { .. } => "index-mismatch",
            FailureReason::InvalidEntry(_) => "invalid-entry",
            FailureReason::InvalidKeyRotation(_) => "invalid-key-rotation",
            FailureReason::NodeMismatch { .. } => "node-mismatch",
            FailureReason::NodeUnreadable(_) => "node-unreadable",
            FailureReason::BadCheckpoint { .. } => "bad-checkpoint",
            FailureReason::CheckpointSizeMismatch { .. } => "checkpoint-size-mismatch",
            FailureReason::CheckpointRootMismatch { .. } => "checkpoint-root-mismatch",
            FailureReason::CheckpointBeyondLog { .. } => "checkpoint-beyond-log",
            FailureReason::CheckpointsOutOfOrder { .. } => "checkpoints-out-of-order",
            FailureReason::InconsistentCheckpoints { .. } => "inconsistent-checkpoints",
        }
    }
}

/// Verification stopped: the log is invalid, or the store failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError<E> {
    /// The log is invalid.
    #[error(transparent)]
    Invalid(#[from] LogFailure),
    /// Reading from the store failed (not evidence of tampering).
    #[error("reading the log: {0}")]
    Storage(#[source] E),
}

const CHECKPOINT_PAGE: usize = 1024;

/// Successive checkpoints (size1, size2, root1, root2) whose consistency
/// proof is checked once the batch's stored nodes are known good.
type PendingConsistency = (u64, u64, Hash, Hash);

struct CheckpointCursor {
    page: Vec<StoredCheckpoint>,
    pos: usize,
    offset: u64,
    exhausted: bool,
}

impl CheckpointCursor {
    fn peek<S: LogSource>(&mut self, source: &S) -> Result<Option<&StoredCheckpoint>, S::Error> {
        if self.pos >= self.page.len() && !self.exhausted {
            self.page = source.read_checkpoints(self.offset, CHECKPOINT_PAGE)?;
            self.offset += self.page.len() as u64;
            self.pos = 0;
            self.exhausted = self.page.len() < CHECKPOINT_PAGE;
        }
        Ok(self.page.get(self.pos))
    }

    fn advance(&mut self) {
        self.pos += 1;
    }
}

struct State {
    key: VerifierKey,
    rotations: u64,
    checkpoints: u64,
    previous: Option<Checkpoint>,
    last_size: Option<u64>,
}

fn fail<E>(index: u64, reason: FailureReason) -> VerifyError<E> {
    VerifyError::Invalid(LogFailure { index, reason })
}

/// Verifies the whole log. `progress` is called after each batch with the
/// number of entries verified so far.
pub fn verify_log<S: LogSource>(
    source: &S,
    options: &VerifyOptions,
    mut progress: impl FnMut(u64),
) -> Result<VerifyReport, VerifyError<S::Error>> {
    let count = source.entry_count().map_err(VerifyError::Storage)?;
    let batch = options.batch_size.max(1);
    let mut frontier = Frontier::new();
    let mut cursor = CheckpointCursor { page: Vec::new(), pos: 0, offset: 0, exhausted: false };
    let mut state =
        State { key: options.trusted_key.clone(), rotations: 0, checkpoints: 0, previous: None, last_size: None };
    let mut new_nodes: Vec<(NodeId, Hash)> = Vec::with_capacity(batch * 2 + 64);
    let mut ids: Vec<NodeId> = Vec::with_capacity(batch * 2 + 64);

    // Checkpoints of the empty tree come before any entry.
    check_due_checkpoints(source, options, &mut cursor, &mut state, &frontier, count)?;

    let mut next = 0u64;
    while next < count {
        let want = usize::try_from(count - next).unwrap_or(usize::MAX).min(batch);
        let entries = source.read_entries(next, want).map_err(VerifyError::Storage)?;
        new_nodes.clear();
        // Leaf hashes and per-entry checks are independent of each other:
        // compute them on all threads first, then apply them in order.
        let prechecked = precheck_all(&entries, options.entry_checks, options.threads);
        // The first failure found among entries and checkpoints in this
        // batch; node mismatches are compared against it afterwards.
        let mut first: Option<LogFailure> = None;
        let mut batch_end = next;
        let mut consistency_due: Vec<PendingConsistency> = Vec::new();
        for i in 0..want {
            let index = next + i as u64;
            let Some(entry) = entries.get(i) else {
                first = Some(LogFailure { index, reason: FailureReason::MissingEntry });
                break;
            };
            if entry.index != index {
                first = Some(LogFailure { index, reason: FailureReason::IndexMismatch { found: entry.index } });
                break;
            }
            let Some(pre) = prechecked.get(i) else {
                first = Some(LogFailure { index, reason: FailureReason::MissingEntry });
                break;
            };
            let rotation = match &pre.kind {
                Ok(kind) => follow_rotation(&entry.bytes, *kind, &mut state),
                Err(reason) => Err(reason.clone()),
            };
            if let Err(reason) = rotation {
                first = Some(LogFailure { index, reason });
                break;
            }
            let appended = frontier.append(pre.leaf, |id, hash| new_nodes.push((id, hash)));
            if appended.is_err() {
                first = Some(LogFailure { index, reason: FailureReason::MissingEntry });
                break;
            }
            batch_end = index + 1;
            match check_due_checkpoints_in_batch(source, options, &mut cursor, &mut state, &frontier, count) {
                Ok(pairs) => consistency_due.extend(pairs),
                Err(VerifyError::Invalid(f)) => {
                    first = Some(f);
                    break;
                }
                Err(e) => return Err(e),
            }
        }

        // Compare every node created by this batch with the stored one.
        ids.clear();
        ids.extend(new_nodes.iter().map(|(id, _)| *id));
        if !ids.is_empty() {
            match source.read_hashes(&ids) {
                Ok(stored) => {
                    for (k, (id, computed)) in new_nodes.iter().enumerate() {
                        let stored_hash = stored.get(k).copied();
                        if stored_hash != Some(*computed) {
                            let index = id.last_leaf().unwrap_or(next);
                            if first.as_ref().is_none_or(|f| index < f.index) {
                                first = Some(LogFailure {
                                    index,
                                    reason: match stored_hash {
                                        Some(stored) => {
                                            FailureReason::NodeMismatch { node: *id, stored, computed: *computed }
                                        }
                                        None => FailureReason::NodeUnreadable(format!(
                                            "store returned {} hashes for {} nodes",
                                            stored.len(),
                                            ids.len()
                                        )),
                                    },
                                });
                            }
                            break;
                        }
                    }
                }
                Err(e) => {
                    // A missing node is reported at the first entry of the
                    // batch unless an earlier failure is already known.
                    if first.is_none() {
                        first = Some(LogFailure { index: next, reason: FailureReason::NodeUnreadable(e.to_string()) });
                    }
                }
            }
        }
        if let Some(f) = first {
            return Err(VerifyError::Invalid(f));
        }
        // Stored nodes up to batch_end are now known good: prove
        // consistency between successive checkpoints from them.
        for (size1, size2, root1, root2) in consistency_due {
            check_consistency(source, size1, size2, &root1, &root2)?;
        }
        next = batch_end;
        progress(next);
    }

    // Anything left is a checkpoint beyond the log.
    if let Some(cp) = cursor.peek(source).map_err(VerifyError::Storage)? {
        return Err(fail(count, FailureReason::CheckpointBeyondLog { size: cp.size, entries: count }));
    }
    Ok(VerifyReport {
        size: frontier.size(),
        root: frontier.root(),
        checkpoints: state.checkpoints,
        latest_checkpoint: state.previous,
        key_rotations: state.rotations,
        current_key: state.key,
    })
}

/// The order-independent work for one entry: its leaf hash and the
/// configured checks (which also tell its kind).
struct Prechecked {
    leaf: Hash,
    kind: Result<Option<EntryKind>, FailureReason>,
}

fn precheck(bytes: &[u8], checks: EntryChecks) -> Prechecked {
    let kind = match checks {
        EntryChecks::LeafOnly => Ok(peek_kind(bytes)),
        EntryChecks::Parse => check_entry_bytes(bytes).map(Some).map_err(FailureReason::InvalidEntry),
        EntryChecks::ParseAndSignatures => Entry::from_canonical_bytes(bytes)
            .and_then(|entry| entry.verify_signature().map(|_| Some(entry.kind)))
            .map_err(FailureReason::InvalidEntry),
    };
    Prechecked { leaf: hash_leaf(bytes), kind }
}

fn precheck_all(entries: &[StoredEntry], checks: EntryChecks, threads: usize) -> Vec<Prechecked> {
    let run = |chunk: &[StoredEntry]| chunk.iter().map(|e| precheck(&e.bytes, checks)).collect::<Vec<_>>();
    if threads <= 1 || entries.len() < 256 {
        return run(entries);
    }
    let chunk_len = entries.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut chunks = entries.chunks(chunk_len);
        let mine = chunks.next().unwrap_or(&[]);
        let workers: Vec<_> = chunks.map(|chunk| (chunk, scope.spawn(move || run(chunk)))).collect();
        let mut out = run(mine);
        for (chunk, worker) in workers {
            // A worker cannot panic on any input; if it did, redo its share.
            out.extend(worker.join().unwrap_or_else(|_| run(chunk)));
        }
        out
    })
}

/// Applies a `key-rotation` entry (checked fully, in log order).
fn follow_rotation(bytes: &[u8], kind: Option<EntryKind>, state: &mut State) -> Result<(), FailureReason> {
    if kind != Some(EntryKind::KeyRotation) {
        return Ok(());
    }
    let entry = Entry::from_canonical_bytes(bytes).map_err(FailureReason::InvalidEntry)?;
    let (old, new) = entry
        .key_rotation()
        .map_err(|e| FailureReason::InvalidKeyRotation(e.to_string()))?
        .ok_or_else(|| FailureReason::InvalidKeyRotation("not a key rotation".into()))?;
    if old != state.key {
        return Err(FailureReason::InvalidKeyRotation(format!(
            "rotates away from {old}, but the key in force is {}",
            state.key
        )));
    }
    state.key = new;
    state.rotations += 1;
    Ok(())
}

fn check_due_checkpoints<S: LogSource>(
    source: &S,
    options: &VerifyOptions,
    cursor: &mut CheckpointCursor,
    state: &mut State,
    frontier: &Frontier,
    count: u64,
) -> Result<(), VerifyError<S::Error>> {
    for (size1, size2, root1, root2) in check_due_checkpoints_in_batch(source, options, cursor, state, frontier, count)?
    {
        check_consistency(source, size1, size2, &root1, &root2)?;
    }
    Ok(())
}

/// Checks every stored checkpoint whose size is the current frontier size.
/// Returns the consistency checks to run once the batch's nodes are known
/// good.
fn check_due_checkpoints_in_batch<S: LogSource>(
    source: &S,
    options: &VerifyOptions,
    cursor: &mut CheckpointCursor,
    state: &mut State,
    frontier: &Frontier,
    count: u64,
) -> Result<Vec<PendingConsistency>, VerifyError<S::Error>> {
    let mut due = Vec::new();
    let size = frontier.size();
    let at = size.saturating_sub(1);
    loop {
        let Some(stored) = cursor.peek(source).map_err(VerifyError::Storage)? else {
            return Ok(due);
        };
        if let Some(previous) = state.last_size
            && stored.size < previous
        {
            return Err(fail(at, FailureReason::CheckpointsOutOfOrder { size: stored.size, previous }));
        }
        if stored.size > count {
            return Err(fail(count, FailureReason::CheckpointBeyondLog { size: stored.size, entries: count }));
        }
        if stored.size != size {
            if stored.size < size {
                // Sizes are non-decreasing and we check each size as the
                // frontier reaches it, so this cannot happen; be safe.
                return Err(fail(at, FailureReason::CheckpointsOutOfOrder { size: stored.size, previous: size }));
            }
            return Ok(due);
        }
        let checkpoint = open_checkpoint(stored, options, &state.key).map_err(|reason| fail(at, reason))?;
        let computed = frontier.root();
        if checkpoint.root() != computed {
            return Err(fail(
                at,
                FailureReason::CheckpointRootMismatch { size, checkpoint: checkpoint.root(), computed },
            ));
        }
        if let Some(prev) = &state.previous
            && prev.size() > 0
        {
            due.push((prev.size(), size, prev.root(), checkpoint.root()));
        }
        state.last_size = Some(size);
        state.previous = Some(checkpoint);
        state.checkpoints += 1;
        cursor.advance();
    }
}

fn open_checkpoint(
    stored: &StoredCheckpoint,
    options: &VerifyOptions,
    key: &VerifierKey,
) -> Result<Checkpoint, FailureReason> {
    let bad = |error| FailureReason::BadCheckpoint { size: stored.size, error };
    let (checkpoint, _note): (Checkpoint, Note) =
        Checkpoint::open_for_origin(&stored.note, &options.origin, std::slice::from_ref(key)).map_err(bad)?;
    if checkpoint.size() != stored.size {
        return Err(FailureReason::CheckpointSizeMismatch { stored: stored.size, text: checkpoint.size() });
    }
    Ok(checkpoint)
}

fn check_consistency<S: LogSource>(
    source: &S,
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
) -> Result<(), VerifyError<S::Error>> {
    let at = size2.saturating_sub(1);
    let proof = match consistency_proof(source, size1, size2) {
        Ok(p) => p,
        Err(TreeError::Storage(e)) => {
            return Err(fail(at, FailureReason::NodeUnreadable(e.to_string())));
        }
        Err(TreeError::Plan(e)) => {
            return Err(fail(at, FailureReason::NodeUnreadable(e.to_string())));
        }
    };
    verify_consistency(size1, size2, &proof, root1, root2)
        .map_err(|error| fail(at, FailureReason::InconsistentCheckpoints { size1, size2, error }))
}

/// A whole log in memory implementing [`LogSource`]: for tests, benchmarks
/// and the tamper suite. Appending goes through the same [`Frontier`] code
/// a server uses.
#[derive(Clone, Debug, Default)]
pub struct MemoryLog {
    /// The node store.
    pub nodes: crate::merkle::MemoryStore,
    /// Entries by index.
    pub entries: Vec<StoredEntry>,
    /// Signed checkpoints, ordered by size.
    pub checkpoints: Vec<StoredCheckpoint>,
}

impl MemoryLog {
    /// An empty log.
    pub fn new() -> MemoryLog {
        MemoryLog::default()
    }

    /// Appends raw entry bytes (already canonical), storing its nodes.
    pub fn append(&mut self, bytes: Vec<u8>) -> Result<u64, crate::merkle::PlanError> {
        let index = self.nodes.size();
        self.nodes.append(hash_leaf(&bytes))?;
        self.entries.push(StoredEntry { index, bytes });
        Ok(index)
    }

    /// Signs and stores a checkpoint of the current tree.
    pub fn checkpoint(&mut self, origin: &str, signer: &crate::note::SignerKey) -> Result<(), CheckpointError> {
        let cp = Checkpoint::new(origin, self.nodes.size(), self.nodes.root())?;
        let note = cp.sign(signer)?;
        self.checkpoints.push(StoredCheckpoint { size: cp.size(), note: note.to_text().into_bytes() });
        Ok(())
    }
}

impl HashReader for MemoryLog {
    type Error = crate::merkle::MissingNode;
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        self.nodes.read_hashes(ids)
    }
}

impl LogSource for MemoryLog {
    fn entry_count(&self) -> Result<u64, Self::Error> {
        Ok(self.entries.len() as u64)
    }

    fn read_entries(&self, start: u64, limit: usize) -> Result<Vec<StoredEntry>, Self::Error> {
        let start = usize::try_from(start).unwrap_or(usize::MAX);
        Ok(self.entries.iter().skip(start).take(limit).cloned().collect())
    }

    fn read_checkpoints(&self, offset: u64, limit: usize) -> Result<Vec<StoredCheckpoint>, Self::Error> {
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        Ok(self.checkpoints.iter().skip(offset).take(limit).cloned().collect())
    }
}
