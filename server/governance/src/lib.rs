//! Steward's governance core: weighted voting by voter classes with signed
//! votes, decided early when the outcome is settled, verifiable by anyone
//! from the ledger alone.
//!
//! - [`config`]: the parameters in force (classes, weights, quorums,
//!   threshold, veto classes) and their defaults.
//! - [`registry`]: voters, classes and keys with validity windows, as
//!   `voter-registration` and `voter-key-rotation` entries leave them.
//! - [`proposal`]: the electorate rule and the `proposal` payload.
//! - [`vote`]: checks of a signed `vote` entry, the ballot box with
//!   replacement, and [`vote::decide`].
//! - [`tally`]: the tally, exact weighted share, and early decision.
//! - [`verify`]: recomputes every decision from the ledger's entries.
//!
//! The rules are specified in `docs/GOVERNANCE.md`; the entry schemas in
//! `server/ledger/ENTRIES.md`.
//!
//! # Using it from the server
//!
//! - **Register a voter**: [`Voter::after_registration`] (with the key's
//!   current owner from the store) then record the `voter-registration`.
//! - **Rotate a key**: the voter signs the `voter-key-rotation` entry;
//!   [`check_clock`] its time, [`Voter::after_rotation`], then append it.
//! - **Open a proposal**: [`Electorate::from_voters`] over the registered
//!   voters, [`open_proposal`] with the [`GovernanceConfig`] in force,
//!   store the electorate's [`Electorate::members`], record the payload.
//! - **Accept a vote**: [`check_clock`], [`check_vote`] (with the
//!   proposal's status, the voter and the stored electorate), append it,
//!   [`Ballots::record`] it, then [`decide`] at the vote's append time: a
//!   `Some` is the `decision` to append now (early decision), and votes
//!   stop. At the window's end (or in the start-up sweep), [`decide`] with
//!   the closing time.
//! - **Verify**: [`verify()`] over `(index, Entry)` in index order, or
//!   [`verify_bytes`] over stored canonical bytes.
//!
//! **Must not depend on:** SQL, HTTP, async, the clock (times are inputs),
//! the filesystem.

pub mod config;
pub mod proposal;
pub mod registry;
pub mod signature;
pub mod tally;
pub mod verify;
pub mod vote;

pub use config::{ClassConfig, ConfigError, GovernanceConfig};
pub use proposal::{Electorate, OpenError, ProposalDraft, is_eligible, open_proposal};
pub use registry::{Registry, RegistryError, Voter, VoterKey};
pub use signature::{SignatureError, verify_entry_signature};
pub use tally::{Counts, Share, Tally, final_outcome, quorum_required};
pub use verify::{DecisionSummary, Failure, Verifier, VerifyError, VerifyReport, verify, verify_bytes};
pub use vote::{Ballots, CheckedVote, ProposalStatus, VoteError, check_clock, check_vote, decide};
