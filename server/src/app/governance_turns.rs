//! What the governance service shares with [`AppState`]: the in-process
//! turns (registry lock, per-proposal vote combiners and their cached
//! tallies), the receipts and the error type. The logic is in
//! `app/governance.rs`.
//!
//! [`AppState`]: super::AppState

use crate::ledger::LedgerError;
use crate::store::StoreError;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};
use steward_governance::{Ballots, Electorate, OpenError, ProposalStatus, RegistryError, VoteError};
use steward_ledger::entry::{DecisionOutcome, Entry, Proposal, VoteChoice};
use tokio::sync::{Mutex, RwLock, oneshot};

/// Why a governance request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum GovernanceError {
    /// The request is malformed (the message names the field).
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// A vote refused by `check_vote` / `check_clock`; never appended.
    #[error("{0}")]
    Vote(#[from] VoteError),
    /// A registration or key rotation refused; never appended.
    #[error("{0}")]
    Registry(#[from] RegistryError),
    /// A proposal that cannot be opened.
    #[error("{0}")]
    Open(#[from] OpenError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl GovernanceError {
    /// A stable kebab-case code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            GovernanceError::Invalid(_) => "bad-request",
            GovernanceError::NotFound(_) => "not-found",
            GovernanceError::Forbidden(_) => "forbidden",
            GovernanceError::Conflict(_) => "conflict",
            GovernanceError::Vote(e) => e.code(),
            GovernanceError::Registry(e) => e.code(),
            GovernanceError::Open(OpenError::QuorumUnreachable { .. }) => "quorum-unreachable",
            GovernanceError::Open(OpenError::DecidedAtOpening { .. }) => "decided-at-opening",
            GovernanceError::Open(_) => "invalid-proposal",
            GovernanceError::Store(_) => "store",
            GovernanceError::Ledger(_) => "ledger",
        }
    }
}

pub(super) fn copy_error(e: &GovernanceError) -> GovernanceError {
    match e {
        GovernanceError::Invalid(m) => GovernanceError::Invalid(m.clone()),
        GovernanceError::NotFound(m) => GovernanceError::NotFound(m.clone()),
        GovernanceError::Forbidden(m) => GovernanceError::Forbidden(m.clone()),
        GovernanceError::Conflict(m) => GovernanceError::Conflict(m.clone()),
        GovernanceError::Vote(v) => GovernanceError::Vote(v.clone()),
        GovernanceError::Registry(r) => GovernanceError::Registry(r.clone()),
        GovernanceError::Open(o) => GovernanceError::Open(o.clone()),
        GovernanceError::Store(s) => GovernanceError::Store(match s {
            StoreError::Unavailable { backend, message } => {
                StoreError::Unavailable { backend, message: message.clone() }
            }
            StoreError::Full(m) => StoreError::Full(m.clone()),
            other => StoreError::Database(other.to_string()),
        }),
        GovernanceError::Ledger(l) => GovernanceError::Ledger(match l {
            LedgerError::Store(StoreError::Unavailable { backend, message }) => {
                LedgerError::Store(StoreError::Unavailable { backend, message: message.clone() })
            }
            LedgerError::Store(StoreError::Full(m)) => LedgerError::Store(StoreError::Full(m.clone())),
            other => LedgerError::Inconsistent(other.to_string()),
        }),
    }
}

/// The in-process half of the governance locks and the per-proposal vote
/// combiners. One per server process (in [`AppState`]).
#[derive(Default)]
pub struct Governance {
    pub(super) registry: RwLock<()>,
    /// Notified when a proposal opens, so the sweeper can plan to close it.
    pub opened: tokio::sync::Notify,
    slots: StdMutex<HashMap<String, Arc<Slot>>>,
}

impl std::fmt::Debug for Governance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Governance").finish_non_exhaustive()
    }
}

#[derive(Default)]
pub(super) struct Slot {
    /// Votes waiting for the proposal's turn.
    pub(super) pending: StdMutex<Vec<PendingVote>>,
    /// The proposal's turn, and its tally replayed from the ledger.
    pub(super) turn: Mutex<Option<Cache>>,
}

pub(super) struct PendingVote {
    pub(super) entry: Entry,
    pub(super) reply: oneshot::Sender<Result<VoteReceipt, GovernanceError>>,
}

impl Governance {
    pub(super) fn slot(&self, proposal_id: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(proposal_id.to_owned()).or_default().clone()
    }
}

/// A proposal's state as its ledger entries leave it.
pub(super) struct Cache {
    pub(super) proposal: Proposal,
    pub(super) author: String,
    pub(super) electorate: Electorate,
    pub(super) ballots: Ballots,
    pub(super) status: ProposalStatus,
    /// Withdrawn by its author (then decided `withdrawn`).
    pub(super) withdrawn: bool,
    /// Voters looked up for votes, valid while the registry stays at
    /// `voters_at` (`Store::gov_registry_next`): registry writes take the
    /// registry turn exclusively, so it cannot change during a vote turn.
    pub(super) voters: HashMap<String, Option<steward_governance::Voter>>,
    pub(super) voters_at: u64,
    /// Ledger entries before this index are applied.
    pub(super) synced_to: u64,
}

/// What a vote's acceptance returns.
#[derive(Debug, Clone, Serialize)]
pub struct VoteReceipt {
    pub proposal_id: String,
    pub voter: String,
    pub class: String,
    pub choice: VoteChoice,
    pub ledger_index: u64,
    /// The choice this vote replaced, if the voter had voted in this class.
    pub replaced: Option<VoteChoice>,
    /// The decision, when this vote's turn decided the proposal.
    pub decision: Option<DecisionReceipt>,
}

/// A decision appended to the ledger.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionReceipt {
    pub outcome: DecisionOutcome,
    pub ledger_index: u64,
    pub yes_share_bp: u32,
    /// Decided before the window's end.
    pub early: bool,
    /// The `exception-granted` entry, for an accepted license exception.
    pub exception_index: Option<u64>,
}
