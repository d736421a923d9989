//! What the ledger service (`mod.rs`) and its appender task
//! (`appender.rs`) share: the state, a queued append, its receipt and the
//! ways an append fails.

use crate::store::{Store, StoreError};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use steward_ledger::entry::{EntryError, EntryKind};
use steward_ledger::merkle::Hash;
use steward_ledger::note::SignerKey;
use tokio::sync::oneshot;

/// Proof that an entry is in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Receipt {
    /// The entry's index (0-based).
    pub index: u64,
    /// Its RFC 6962 leaf hash.
    #[serde(serialize_with = "hex_hash")]
    pub leaf_hash: Hash,
    /// The size of the signed checkpoint committed with it (the first one
    /// that includes it).
    pub tree_size: u64,
}

fn hex_hash<S: serde::Serializer>(h: &Hash, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&h.to_hex())
}

/// Why an append was not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The entry itself is invalid (schema, size over 65,535 bytes, …).
    #[error("invalid ledger entry: {0}")]
    InvalidEntry(#[from] EntryError),
    /// The database failed; the entry was not acknowledged.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored tree does not match its head: appending stops rather
    /// than signing a checkpoint inconsistent with the previous one.
    #[error("refusing to append: {0}")]
    Inconsistent(String),
    /// The key in force in the log is not this server's key.
    #[error(
        "refusing to sign: the ledger's checkpoint key is {in_force}, but the signing-key file holds {ours}; \
         restore the signing-key file that signs this ledger (a new key needs `steward ledger rotate-key`)"
    )]
    KeyMismatch { in_force: String, ours: String },
    /// A rotation stopped between appending its entry and renaming the key
    /// files: the key in force waits in `next`.
    #[error(
        "a key rotation is not finished: the key in force is in {}; run `steward ledger rotate-key` again to finish it",
        next.display()
    )]
    PendingRotation { next: PathBuf },
    /// A key rotation that does not start from the key in force.
    #[error("invalid key rotation: {0}")]
    InvalidRotation(String),
    /// The appender task has stopped (the server is shutting down).
    #[error("the ledger appender has stopped")]
    Closed,
    /// A conditional append found that another entry of its subject was
    /// appended after the one the caller expected: nothing was written;
    /// the caller re-reads and tries again.
    #[error("not appended: {subject} has a newer ledger entry ({found}) than the one expected ({expected})")]
    SubjectMoved { subject: String, expected: String, found: String },
}

/// A request to the appender task.
pub(crate) struct Pending {
    pub kind: EntryKind,
    pub time: String,
    pub body: Vec<u8>,
    pub leaf: Hash,
    /// For a `key-rotation` entry: the key that signs from this entry on.
    pub rotate_to: Option<SignerKey>,
    /// What the entry is about ([`super::subject_of`]), and the condition
    /// on that subject's newest entry, if the append is conditional.
    pub subject: Option<String>,
    pub expect: Option<Option<u64>>,
    pub reply: oneshot::Sender<Result<Receipt, Arc<LedgerError>>>,
}

pub(crate) struct Shared {
    pub store: Store,
    pub origin: String,
    pub signer: RwLock<SignerKey>,
    /// The key file, re-read when the log's key in force is not ours.
    pub key_path: Option<PathBuf>,
}

/// A batch's error for each of its callers (the first gets the original).
pub(super) fn copy_error(e: &LedgerError) -> LedgerError {
    match e {
        LedgerError::InvalidEntry(e) => LedgerError::InvalidEntry(e.clone()),
        LedgerError::Store(e) => LedgerError::Store(StoreError::Corrupt(format!("append failed: {e}"))),
        LedgerError::Inconsistent(m) => LedgerError::Inconsistent(m.clone()),
        LedgerError::KeyMismatch { in_force, ours } => {
            LedgerError::KeyMismatch { in_force: in_force.clone(), ours: ours.clone() }
        }
        LedgerError::InvalidRotation(m) => LedgerError::InvalidRotation(m.clone()),
        LedgerError::PendingRotation { next } => LedgerError::PendingRotation { next: next.clone() },
        LedgerError::Closed => LedgerError::Closed,
        LedgerError::SubjectMoved { subject, expected, found } => {
            LedgerError::SubjectMoved { subject: subject.clone(), expected: expected.clone(), found: found.clone() }
        }
    }
}
