//! Steward's ledger core: the pure part of the signed append-only log.
//!
//! - [`merkle`]: RFC 6962/9162 hashing, the stored-node model, appends,
//!   roots, inclusion and consistency proofs and their verification.
//! - [`note`]: C2SP signed notes and Ed25519 keys.
//! - [`checkpoint`]: C2SP tlog checkpoints (signed tree heads).
//! - [`tiles`]: C2SP tlog-tiles paths, tiles and entry bundles.
//! - [`entry`]: typed ledger entries and their canonical bytes.
//! - [`jcs`]: RFC 8785 canonical JSON for the values entries hold.
//! - [`verify`]: full-log verification over a [`verify::LogSource`].
//!
//! The server implements two small traits: [`merkle::HashReader`] (read
//! stored node hashes by id) and [`verify::LogSource`] (entries, node
//! hashes, checkpoints). Reads that an async adapter must do itself are
//! split into plan → batch read → assemble ([`merkle::ProofPlan`],
//! [`merkle::Frontier`]).
//!
//! # Using it from the server
//!
//! - **Append a batch** (one transaction): build each [`Entry`] and take
//!   [`Entry::canonical_bytes`] (this refuses entries over 65,535 bytes);
//!   read the frontier nodes [`Frontier::node_ids`]`(size)`, restore with
//!   [`Frontier::from_hashes`], [`Frontier::append`] every
//!   [`hash_leaf`]`(bytes)` and store each `(NodeId, Hash)` it reports
//!   (or call [`append_leaves`] with a [`HashReader`]); then sign
//!   `Checkpoint::new(origin, size, frontier.root())` with the server's
//!   [`SignerKey`] and store the note text with its size.
//! - **Proofs / roots**: [`ProofPlan::inclusion`], [`ProofPlan::consistency`]
//!   or [`ProofPlan::root`], read [`ProofPlan::node_ids`] in one query, then
//!   [`ProofPlan::assemble`]. O(log n) reads each.
//! - **Tiles**: [`tiles::TilePath::parse`] the request path; a hash tile's
//!   [`tiles::TileId::node_ids`] are one batch read, [`tiles::encode_tile`]
//!   the body; an entry bundle covers [`tiles::TileId::leaf_range`] and is
//!   [`tiles::encode_entry_bundle`].
//! - **Verify**: implement [`verify::LogSource`] (entries by index range,
//!   checkpoints by offset, plus [`HashReader`]) and call [`verify_log`]
//!   with the trusted first key; it follows `key-rotation` entries. The
//!   traits are synchronous: an async store runs the verifier on a blocking
//!   thread.
//!
//! **Invariant:** no SQL, HTTP, async, clock or filesystem access, and no
//! panics on any input. Storage of node hashes sits behind a small trait
//! so everything here is tested with specification vectors alone.

pub mod checkpoint;
pub mod entry;
mod hex;
pub mod jcs;
pub mod merkle;
pub mod note;
pub mod tiles;
pub mod verify;

pub use checkpoint::{Checkpoint, CheckpointError};
pub use entry::{Entry, EntryError, EntryKind, Payload, Timestamp};
pub use merkle::{
    Appended, Frontier, Hash, HashReader, MemoryStore, NodeId, ProofError, ProofPlan, TreeError, append_leaves,
    consistency_proof, hash_children, hash_leaf, inclusion_proof, root_hash, verify_consistency, verify_inclusion,
};
pub use note::{Note, NoteError, SignerKey, VerifierKey};
pub use verify::{LogFailure, LogSource, VerifyError, VerifyOptions, VerifyReport, verify_log};
