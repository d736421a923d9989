//! The server side of the signed append-only ledger: appending (batched,
//! durable, one gapless sequence across instances), checkpoint signing,
//! key rotation, proofs and tiles read from the store, and the adapters
//! that let the pure verifier (`steward_ledger::verify`) read a database,
//! a running server or an exported directory.
//!
//! # Recording an event (the API the rest of the server calls)
//!
//! ```ignore
//! use steward_ledger::entry::{Payload, PolicyRevision, SchemaV1};
//! let receipt = state.ledger.record(&Payload::PolicyRevision(rev), "token:ci").await?;
//! // receipt.index: the entry's position; receipt.leaf_hash; receipt.tree_size:
//! // the checkpoint that first includes it.
//! ```
//!
//! - [`Ledger::record`] builds the entry (time = now, the actor given) and
//!   appends it; [`Ledger::append`] takes a pre-built [`Entry`] (for
//!   example a vote already signed by the voter's key).
//! - Both return only when the entry, the tree nodes it completes and a
//!   checkpoint signed for the new size are committed in one transaction.
//!   Concurrent calls are grouped into one transaction (group commit).
//! - An error means the entry was not acknowledged; it may still be
//!   present if the database failed during the commit itself.
//!
//! Domain code never appends raw bytes: there is no "append anything"
//! route. Reads for HTTP, pages and the CLI are in [`read`].
//!
//! **Invariants.** The next checkpoint is always computed from the stored
//! tree: each batch reads the stored frontier under the head lock and
//! refuses to sign if its root is not the stored head root. A checkpoint is
//! signed only by the key in force after its entries (`ledger_head.key`),
//! so a running server whose key was rotated by `steward ledger
//! rotate-key` re-reads its key file or refuses to append.
//!
//! Knows the store and the ledger core; not HTTP.

mod appender;
pub mod keys;
pub mod read;
mod shared;
pub mod source;
pub mod tiled;

use crate::store::{Store, StoreError};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use steward_ledger::entry::{Entry, EntryKind, Payload, Timestamp};
use steward_ledger::note::{SignerKey, VerifierKey};
use tokio::sync::{mpsc, oneshot};

pub use appender::MAX_BATCH;
pub use shared::{LedgerError, Receipt};
use shared::{Pending, Shared, copy_error};

/// Where an append's outcome arrives.
type Reply = oneshot::Receiver<Result<Receipt, Arc<LedgerError>>>;

/// The origin (and key name) to sign under: `ledger_origin` when someone
/// configured it; otherwise the origin of the log already in the database,
/// so a server restarted on another port (whose default origin differs)
/// keeps signing its own log; otherwise the default.
pub async fn effective_origin(store: &Store, config: &crate::config::Config) -> Result<String, StoreError> {
    if config.ledger_origin.source == crate::config::Source::Default
        && let Some(key) = store.ledger_head().await?.key
        && let Some(name) = key.split('+').next()
    {
        return Ok(name.to_string());
    }
    Ok(config.ledger_origin.value.clone())
}

/// The ledger service: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Ledger {
    shared: Arc<Shared>,
    queue: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("origin", &self.shared.origin).finish_non_exhaustive()
    }
}

impl Ledger {
    /// Starts the appender for `store`, signing checkpoints for `origin`
    /// with `signer` (see [`keys::signer_from_seed`]). `key_path` is the
    /// signing-key file to re-read after a rotation by another process.
    /// Signs a checkpoint of the current tree if none is stored yet, so
    /// `/ledger/checkpoint` always has one. Needs a tokio runtime.
    pub async fn open(
        store: Store,
        origin: &str,
        signer: SignerKey,
        key_path: Option<PathBuf>,
    ) -> Result<Ledger, LedgerError> {
        let shared = Arc::new(Shared { store, origin: origin.to_owned(), signer: RwLock::new(signer), key_path });
        // A server whose key is not the log's key in force could never sign:
        // refuse to start rather than run with a ledger that refuses appends.
        let head = shared.store.ledger_head().await?;
        if let Err(e) = appender::signer_in_force(&shared, head.key.as_deref()) {
            return Err(match (&e, &shared.key_path) {
                (LedgerError::KeyMismatch { in_force, .. }, Some(path))
                    if keys::key_file_matches(&keys::next_key_path(path), origin, in_force) =>
                {
                    LedgerError::PendingRotation { next: keys::next_key_path(path) }
                }
                _ => e,
            });
        }
        let (queue, rx) = mpsc::channel(appender::QUEUE_DEPTH);
        tokio::spawn(appender::run(shared.clone(), rx));
        let ledger = Ledger { shared, queue };
        appender::ensure_checkpoint(&ledger.shared).await?;
        Ok(ledger)
    }

    /// The checkpoint origin (and key name).
    pub fn origin(&self) -> &str {
        &self.shared.origin
    }

    /// The store the ledger lives in.
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// The verifier key of the key this server signs with now.
    pub fn verifier_key(&self) -> VerifierKey {
        self.shared.signer.read().unwrap_or_else(|e| e.into_inner()).verifier_key()
    }

    /// Signs `text` as a C2SP signed note with the key this server signs
    /// checkpoints with, so anyone holding the ledger's verifier key
    /// (`steward ledger key`) can check it offline (credit grants).
    pub fn sign_note(&self, text: &str) -> Result<String, LedgerError> {
        let mut note = steward_ledger::note::Note::new(text)
            .map_err(|e| LedgerError::Inconsistent(format!("cannot make a signed note: {e}")))?;
        let signer = self.shared.signer.read().unwrap_or_else(|e| e.into_inner()).clone();
        note.sign(&signer).map_err(|e| LedgerError::Inconsistent(format!("cannot sign the note: {e}")))?;
        Ok(note.to_text())
    }

    /// Records an event: builds the entry (time = now) and appends it.
    pub async fn record(&self, payload: &Payload, actor: &str) -> Result<Receipt, LedgerError> {
        let entry = Entry::new(payload, now(), actor)?;
        self.append(&entry).await
    }

    /// Records an event only if its subject's ([`subject_of`]) newest entry
    /// is still `expect` (`None`: the subject has no entry), checked in the
    /// append transaction; otherwise nothing is written and the answer is
    /// [`LedgerError::SubjectMoved`]. Read `expect` with
    /// [`Ledger::subject_last`] (or from the store, under the caller's own
    /// lock) before deciding what to record.
    pub async fn record_if(&self, payload: &Payload, actor: &str, expect: Option<u64>) -> Result<Receipt, LedgerError> {
        let entry = Entry::new(payload, now(), actor)?;
        entry.typed_payload()?;
        let Some(subject) = subject_of(payload) else {
            return Err(LedgerError::Inconsistent(format!("{} entries have no subject to condition on", entry.kind)));
        };
        let rx = self.enqueue(&entry, None, Some(subject), Some(expect)).await?;
        Self::receive(rx).await
    }

    /// The index of `subject`'s newest entry (see [`subject_of`]).
    pub async fn subject_last(&self, subject: &str) -> Result<Option<u64>, LedgerError> {
        Ok(self.shared.store.ledger_subject_last(subject).await?)
    }

    /// Appends a pre-built entry (for example one signed by its actor).
    /// `key-rotation` entries are refused here: use [`Ledger::rotate_key`].
    pub async fn append(&self, entry: &Entry) -> Result<Receipt, LedgerError> {
        if entry.kind == EntryKind::KeyRotation {
            return Err(LedgerError::InvalidRotation("key rotations are appended with Ledger::rotate_key".into()));
        }
        // Full validation (schema, actor signature if any) before queueing.
        let subject = subject_of(&entry.typed_payload()?);
        entry.verify_signature()?;
        let rx = self.enqueue(entry, None, subject, None).await?;
        Self::receive(rx).await
    }

    /// Rotates the checkpoint key: appends a `key-rotation` entry signed by
    /// the key in force (this server's) naming `new_signer`, and signs the
    /// checkpoint that includes it, and every later one, with `new_signer`.
    pub async fn rotate_key(&self, new_signer: SignerKey, reason: &str, actor: &str) -> Result<Receipt, LedgerError> {
        let old = self.shared.signer.read().unwrap_or_else(|e| e.into_inner()).clone();
        let entry = keys::rotation_entry(&old, &new_signer, reason, actor, now())?;
        self.submit(&entry, Some(new_signer)).await
    }

    /// Appends several pre-built entries in this order (other appends may
    /// come between them): each is queued before any is awaited, so they
    /// share group commits. One result per entry, in order; an entry whose
    /// batch failed has an error while later ones may have succeeded.
    pub async fn append_all(&self, entries: &[Entry]) -> Vec<Result<Receipt, LedgerError>> {
        let mut waiting = Vec::with_capacity(entries.len());
        for entry in entries {
            let queued = async {
                if entry.kind == EntryKind::KeyRotation {
                    return Err(LedgerError::InvalidRotation(
                        "key rotations are appended with Ledger::rotate_key".into(),
                    ));
                }
                let subject = subject_of(&entry.typed_payload()?);
                entry.verify_signature()?;
                self.enqueue(entry, None, subject, None).await
            }
            .await;
            waiting.push(queued);
        }
        let mut out = Vec::with_capacity(entries.len());
        for w in waiting {
            out.push(match w {
                Ok(rx) => Self::receive(rx).await,
                Err(e) => Err(e),
            });
        }
        out
    }

    async fn submit(&self, entry: &Entry, rotate_to: Option<SignerKey>) -> Result<Receipt, LedgerError> {
        let rx = self.enqueue(entry, rotate_to, None, None).await?;
        Self::receive(rx).await
    }

    async fn enqueue(
        &self,
        entry: &Entry,
        rotate_to: Option<SignerKey>,
        subject: Option<String>,
        expect: Option<Option<u64>>,
    ) -> Result<Reply, LedgerError> {
        let body = entry.canonical_bytes()?;
        let leaf = steward_ledger::merkle::hash_leaf(&body);
        let (reply, rx) = oneshot::channel();
        let pending =
            Pending { kind: entry.kind, time: entry.time.to_string(), body, leaf, rotate_to, subject, expect, reply };
        self.queue.send(pending).await.map_err(|_| LedgerError::Closed)?;
        Ok(rx)
    }

    async fn receive(rx: Reply) -> Result<Receipt, LedgerError> {
        match rx.await {
            Ok(Ok(receipt)) => Ok(receipt),
            Ok(Err(shared)) => Err(Arc::try_unwrap(shared).unwrap_or_else(|e| copy_error(&e))),
            Err(_) => Err(LedgerError::Closed),
        }
    }
}

/// What an entry is about, for conditional appends: `credit:<contributor>`
/// for `credit-award` and `redemption` entries (a contributor's balance is
/// the sum over their entries in log order, so a redemption's
/// `balance_after` holds only if no other entry of theirs came between),
/// none for other kinds. The append transaction keeps each subject's newest
/// entry in `ledger_subjects`.
pub fn subject_of(payload: &Payload) -> Option<String> {
    match payload {
        Payload::CreditAward(a) => Some(credit_subject(&a.contributor)),
        Payload::Redemption(r) => Some(credit_subject(&r.contributor)),
        _ => None,
    }
}

/// The ledger subject of a contributor's credit (`github:<id>`).
pub fn credit_subject(contributor: &str) -> String {
    format!("credit:{contributor}")
}

/// The log's first checkpoint key as the log itself records it: the
/// `old_key` of its first `key-rotation` entry, or `None` when the key was
/// never rotated (then the key in force is the first key).
pub async fn first_key(store: &Store) -> Result<Option<VerifierKey>, StoreError> {
    let Some(row) = store.ledger_first_entry_of_kind(EntryKind::KeyRotation.as_str()).await? else {
        return Ok(None);
    };
    Ok(Entry::from_canonical_bytes(&row.body).ok().and_then(|e| e.key_rotation().ok().flatten()).map(|(old, _)| old))
}

/// The current time as a canonical entry timestamp (microseconds).
pub fn now() -> Timestamp {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timestamp::from_unix(d.as_secs(), d.subsec_micros() * 1000).expect("the clock is between 1970 and 9999")
}
