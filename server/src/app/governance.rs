//! Governance in the server: voters and keys, proposals, signed votes,
//! early decision and closing, exceptions granted by vote. Every rule is
//! the pure crate's (`steward_governance`: `check_vote`, `decide`,
//! `open_proposal`, `Voter::after_registration` / `after_rotation`); this
//! module orders the writes so the ledger stays verifiable:
//!
//! - **Registry writes and openings** (a registration, a key rotation, a
//!   proposal) hold the registry lock exclusively: the electorate computed
//!   for a proposal is exactly what the registry entries before it give.
//! - **Votes, withdrawals and closings** of one proposal hold the registry
//!   lock shared and the proposal's lock: checks, ledger appends and the
//!   decision happen in one turn, so no vote lands after the outcome became
//!   final, and a proposal is decided once even with several instances on
//!   one PostgreSQL (advisory locks, `Store::gov_lock`; plus the decision
//!   row's primary key and a conditional state change).
//! - Concurrent votes on one proposal are **combined**: whoever holds the
//!   proposal's turn checks every vote queued meanwhile, appends them in one
//!   group commit, then decides (early decision) once.
//! - **The ledger is authoritative.** A proposal's tally is replayed from
//!   its ledger entries (cached per process, caught up from the ledger at
//!   each turn), and the store's tables are caught up from the ledger too,
//!   so a crash between an append and a store write loses nothing.

use super::AppState;
use super::governance_turns::{Cache, PendingVote, copy_error};
pub use super::governance_turns::{DecisionReceipt, Governance, GovernanceError, VoteReceipt};
use crate::ledger::now as ledger_now;
use crate::store::{
    NewProposal, StoreError, StoredDecision, StoredException, StoredKey, StoredProposal, StoredVote, StoredVoter,
};
use serde::Serialize;
use std::collections::HashMap;
use steward_governance::{
    Ballots, CheckedVote, Counts, Electorate, ProposalDraft, ProposalStatus, RegistryError, VoteError, Voter, VoterKey,
    check_clock, check_vote, decide, final_outcome, open_proposal,
};
use steward_ledger::entry::{
    Decision, DecisionOutcome, Entry, EntryKind, ExceptionGranted, Payload, Proposal, ProposalCategory,
    ProposalWithdrawal, RequestedException, SchemaV1, Timestamp, VoteChoice, VoterRegistration,
};
use steward_ledger::note::VerifierKey;
use time::OffsetDateTime;
use tokio::sync::oneshot;

/// The actor of the entries the server appends by itself (decisions,
/// exceptions granted by vote).
pub const GOVERNANCE_ACTOR: &str = "steward:governance";

/// Largest proposal body accepted (Markdown), in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

// ---------------------------------------------------------------------------
// Conversions between stored rows and the crate's values.

fn timestamp_to_datetime(t: &Timestamp) -> OffsetDateTime {
    let (secs, nanos) = t.unix_time();
    OffsetDateTime::from_unix_timestamp(secs)
        .map(|d| d + time::Duration::nanoseconds(i64::from(nanos)))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A canonical entry timestamp for a point in time.
pub fn datetime_to_timestamp(t: OffsetDateTime) -> Result<Timestamp, GovernanceError> {
    let secs = u64::try_from(t.unix_timestamp()).map_err(|_| GovernanceError::Invalid("time before 1970".into()))?;
    Timestamp::from_unix(secs, t.nanosecond()).map_err(|e| GovernanceError::Invalid(e.to_string()))
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> GovernanceError {
    GovernanceError::Store(StoreError::Corrupt(format!("{what}: {e}")))
}

fn to_voter(stored: &StoredVoter) -> Result<Voter, GovernanceError> {
    let keys = stored
        .keys
        .iter()
        .map(|k| {
            Ok(VoterKey {
                text: k.key.clone(),
                key: VerifierKey::parse(&k.key).map_err(|e| corrupt("voter key", e))?,
                not_before: Timestamp::parse(&k.not_before).map_err(|e| corrupt("key not_before", e))?,
                not_after: k
                    .not_after
                    .as_deref()
                    .map(Timestamp::parse)
                    .transpose()
                    .map_err(|e| corrupt("key not_after", e))?,
            })
        })
        .collect::<Result<Vec<_>, GovernanceError>>()?;
    Ok(Voter { id: stored.voter.clone(), classes: stored.classes.clone(), keys })
}

fn from_voter(
    voter: &Voter,
    before: Option<&StoredVoter>,
    changed_key: &str,
    index: u64,
    at: OffsetDateTime,
) -> StoredVoter {
    let keys = voter
        .keys
        .iter()
        .map(|k| {
            let earlier = before.and_then(|b| b.keys.iter().find(|s| s.key == k.text)).map(|s| s.ledger_index);
            let ledger_index = if k.text == changed_key { index } else { earlier.unwrap_or(index) };
            StoredKey {
                key: k.text.clone(),
                not_before: k.not_before.to_string(),
                not_after: k.not_after.as_ref().map(ToString::to_string),
                ledger_index,
            }
        })
        .collect();
    StoredVoter { voter: voter.id.clone(), classes: voter.classes.clone(), keys, ledger_index: index, updated_at: at }
}

/// The crate's view of a stored proposal's `proposal` payload.
pub fn proposal_payload(stored: &StoredProposal) -> Result<Proposal, GovernanceError> {
    serde_json::from_str(&stored.payload).map_err(|e| corrupt(&format!("proposal {}", stored.proposal_id), e))
}

fn body_sha256(body: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(body.as_bytes()))
}

// ---------------------------------------------------------------------------
// The registry: registrations, rotations, openings (exclusive turn).

const REGISTRY_KINDS: [&str; 3] = ["voter-registration", "voter-key-rotation", "proposal"];

/// Applies one registry-turn entry (registration, rotation, proposal) at
/// `index` to the store; idempotent. `body` is the proposal's Markdown when
/// this server opened it.
async fn apply_registry_entry(
    state: &AppState,
    index: u64,
    entry: &Entry,
    payload: &Payload,
    body: Option<&str>,
) -> Result<(), GovernanceError> {
    let at = timestamp_to_datetime(&entry.time);
    match payload {
        Payload::VoterRegistration(r) => {
            let before = state.store.gov_voter(&r.voter).await?;
            if before.as_ref().is_some_and(|b| b.ledger_index >= index) {
                return Ok(());
            }
            let current = before.as_ref().map(to_voter).transpose()?;
            let owner = state.store.gov_key_owner(&r.key).await?;
            let next = Voter::after_registration(current.as_ref(), r, owner.as_deref())?;
            state.store.gov_put_voter(&from_voter(&next, before.as_ref(), &r.key, index, at)).await?;
        }
        Payload::VoterKeyRotation(r) => {
            let Some(before) = state.store.gov_voter(&r.voter).await? else {
                return Err(RegistryError::UnknownVoter(r.voter.clone()).into());
            };
            if before.ledger_index >= index {
                return Ok(());
            }
            let owner = state.store.gov_key_owner(&r.new_key).await?;
            let next = to_voter(&before)?.after_rotation(entry, owner.as_deref())?;
            // Both keys changed at this index.
            let mut stored = from_voter(&next, Some(&before), &r.new_key, index, at);
            for k in stored.keys.iter_mut().filter(|k| k.key == r.old_key) {
                k.ledger_index = index;
            }
            state.store.gov_put_voter(&stored).await?;
        }
        Payload::Proposal(p) => {
            if state.store.gov_proposal(&p.proposal_id).await?.is_some() {
                return Ok(());
            }
            let voters = state.store.gov_voters().await?;
            let voters = voters.iter().map(to_voter).collect::<Result<Vec<_>, _>>()?;
            let electorate = electorate_of(&voters, p);
            let new = NewProposal {
                proposal_id: p.proposal_id.clone(),
                title: p.title.clone(),
                category: p.category.as_str().to_owned(),
                author: entry.actor.clone(),
                body: body.map(str::to_owned),
                body_sha256: p.body_sha256.clone(),
                payload: serde_json::to_string(p).map_err(|e| corrupt("proposal payload", e))?,
                opens_at: p.opens_at.to_string(),
                closes_at: p.closes_at.to_string(),
                closes_at_ts: timestamp_to_datetime(&p.closes_at),
                opened_index: index,
                opened_at: at,
                electorate: electorate.members().map(|(c, v)| (c.to_owned(), v.to_owned())).collect(),
            };
            match state.store.gov_insert_proposal(&new).await {
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        _ => {}
    }
    Ok(())
}

/// The electorate of a proposal over the stored voters.
fn electorate_of(voters: &[Voter], proposal: &Proposal) -> Electorate {
    Electorate::from_voters(
        voters.iter(),
        proposal.voter_classes.iter().map(|c| c.name.as_str()),
        &proposal.opens_at,
        &proposal.closes_at,
    )
}

/// Catches the store's registry and proposals up with the ledger (after a
/// crash between an append and the store write). Call with the registry
/// turn held exclusively.
async fn sync_registry(state: &AppState) -> Result<(), GovernanceError> {
    let next = state.store.gov_registry_next().await?;
    let entries = state.store.gov_ledger_entries(&REGISTRY_KINDS, next).await?;
    let Some(last) = entries.last().map(|(i, _)| *i) else {
        return Ok(());
    };
    for (index, bytes) in &entries {
        let (entry, payload) =
            Entry::from_canonical_bytes_with_payload(bytes).map_err(|e| corrupt("ledger entry", e))?;
        if let Err(e) = apply_registry_entry(state, *index, &entry, &payload, None).await {
            tracing::warn!(index, error = %e, "governance replay: ledger entry does not apply; skipped");
        }
    }
    state.store.gov_set_registry_next(last + 1).await?;
    Ok(())
}

/// Runs `f` holding the registry turn exclusively (in this process and,
/// on PostgreSQL, across instances), after catching up with the ledger.
async fn with_registry_turn<T>(
    state: &AppState,
    f: impl AsyncFnOnce() -> Result<T, GovernanceError>,
) -> Result<T, GovernanceError> {
    let _local = state.governance.registry.write().await;
    let lock = state.store.gov_lock(true, None).await?;
    sync_registry(state).await?;
    let out = f().await;
    lock.release().await?;
    out
}

/// Appends a registry-turn entry and applies it to the store.
async fn append_registry_entry(state: &AppState, entry: &Entry, body: Option<&str>) -> Result<u64, GovernanceError> {
    let payload = entry.typed_payload().map_err(|e| GovernanceError::Invalid(e.to_string()))?;
    let receipt = state.ledger.append(entry).await?;
    apply_registry_entry(state, receipt.index, entry, &payload, body).await?;
    state.store.gov_set_registry_next(receipt.index + 1).await?;
    Ok(receipt.index)
}

/// What an admin provides to register a voter (or change their classes
/// and one key's window).
#[derive(Debug, Clone)]
pub struct Registration {
    pub voter: String,
    pub classes: Vec<String>,
    pub key: String,
    /// Default: now.
    pub not_before: Option<Timestamp>,
    pub not_after: Option<Timestamp>,
}

/// A voter after a registry entry.
#[derive(Debug, Clone, Serialize)]
pub struct VoterReceipt {
    pub voter: StoredVoter,
    pub ledger_index: u64,
}

/// Registers a voter (admin): checked by the crate against the stored
/// voter and the key's owner, then appended and stored.
pub async fn register_voter(
    state: &AppState,
    request: Registration,
    actor: &str,
) -> Result<VoterReceipt, GovernanceError> {
    let mut classes = request.classes.clone();
    classes.sort();
    classes.dedup();
    let known: Vec<&str> = state.config.governance.params.class_names().collect();
    if let Some(unknown) = classes.iter().find(|c| !known.contains(&c.as_str())) {
        return Err(GovernanceError::Invalid(format!(
            "classes: {unknown:?} is not a configured voter class (configured: {})",
            known.join(", ")
        )));
    }
    let key = VerifierKey::parse(request.key.trim())
        .map_err(|e| GovernanceError::Invalid(format!("key: not an Ed25519 verifier key (name+hexid+base64): {e}")))?
        .to_string();
    let now = ledger_now();
    let registration = VoterRegistration {
        schema: SchemaV1,
        voter: request.voter.clone(),
        classes,
        key,
        not_before: request.not_before.clone().unwrap_or_else(|| now.clone()),
        not_after: request.not_after.clone(),
    };
    with_registry_turn(state, async || {
        let before = state.store.gov_voter(&registration.voter).await?;
        let current = before.as_ref().map(to_voter).transpose()?;
        let owner = state.store.gov_key_owner(&registration.key).await?;
        Voter::after_registration(current.as_ref(), &registration, owner.as_deref())?;
        let entry = Entry::new(&Payload::VoterRegistration(registration.clone()), now.clone(), actor)
            .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
        let index = append_registry_entry(state, &entry, None).await?;
        let voter = state
            .store
            .gov_voter(&registration.voter)
            .await?
            .ok_or_else(|| corrupt("voter", "not stored after its registration"))?;
        Ok(VoterReceipt { voter, ledger_index: index })
    })
    .await
}

/// Rotates a voter's key: `entry` is a `voter-key-rotation` signed by the
/// old key (checked by the crate), appended as signed.
pub async fn rotate_key(state: &AppState, entry: Entry) -> Result<VoterReceipt, GovernanceError> {
    let Ok(Payload::VoterKeyRotation(rotation)) = entry.typed_payload() else {
        return Err(GovernanceError::Invalid(format!(
            "expected a signed voter-key-rotation entry, got a {} entry",
            entry.kind
        )));
    };
    check_clock(&entry.time, &ledger_now(), state.config.governance.max_clock_skew_seconds)?;
    with_registry_turn(state, async || {
        let Some(before) = state.store.gov_voter(&rotation.voter).await? else {
            return Err(RegistryError::UnknownVoter(rotation.voter.clone()).into());
        };
        let owner = state.store.gov_key_owner(&rotation.new_key).await?;
        to_voter(&before)?.after_rotation(&entry, owner.as_deref())?;
        let index = append_registry_entry(state, &entry, None).await?;
        let voter = state
            .store
            .gov_voter(&rotation.voter)
            .await?
            .ok_or_else(|| corrupt("voter", "not stored after its key rotation"))?;
        Ok(VoterReceipt { voter, ledger_index: index })
    })
    .await
}

/// What a maintainer provides to open a proposal.
#[derive(Debug, Clone)]
pub struct OpenRequest {
    pub proposal_id: String,
    pub title: String,
    pub category: ProposalCategory,
    /// Markdown.
    pub body: String,
    /// Default: now.
    pub opens_at: Option<Timestamp>,
    pub closes_at: Timestamp,
    pub threshold_bp: Option<u32>,
    pub veto_classes: Option<Vec<String>>,
    pub exception: Option<RequestedException>,
}

/// An opened proposal.
#[derive(Debug, Clone, Serialize)]
pub struct OpenReceipt {
    pub proposal: StoredProposal,
    pub ledger_index: u64,
}

/// Opens a proposal with the parameters in force (copied into the entry)
/// and the electorate the registry gives now.
pub async fn open(state: &AppState, request: OpenRequest, actor: &str) -> Result<OpenReceipt, GovernanceError> {
    if request.body.len() > MAX_BODY_BYTES {
        return Err(GovernanceError::Invalid(format!(
            "body: {} bytes is over the limit of {MAX_BODY_BYTES}",
            request.body.len()
        )));
    }
    let now = ledger_now();
    let draft = ProposalDraft {
        proposal_id: request.proposal_id.clone(),
        title: request.title.clone(),
        category: request.category,
        body_sha256: body_sha256(&request.body),
        opens_at: request.opens_at.clone().unwrap_or_else(|| now.clone()),
        closes_at: request.closes_at.clone(),
        threshold_bp: request.threshold_bp,
        veto_classes: request.veto_classes.clone(),
        exception: request.exception.clone(),
    };
    if draft.closes_at <= now {
        return Err(GovernanceError::Invalid(format!("closes_at: {} is not in the future", draft.closes_at)));
    }
    let receipt = with_registry_turn(state, async || {
        if state.store.gov_proposal(&draft.proposal_id).await?.is_some() {
            return Err(GovernanceError::Conflict(format!("proposal {} already exists", draft.proposal_id)));
        }
        let voters = state.store.gov_voters().await?;
        let voters = voters.iter().map(to_voter).collect::<Result<Vec<_>, _>>()?;
        let electorate = Electorate::from_voters(
            voters.iter(),
            state.config.governance.params.class_names(),
            &draft.opens_at,
            &draft.closes_at,
        );
        let proposal = open_proposal(&draft, &state.config.governance.params, &electorate)?;
        let entry = Entry::new(&Payload::Proposal(proposal), now.clone(), actor)
            .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
        let index = append_registry_entry(state, &entry, Some(&request.body)).await?;
        let proposal = state
            .store
            .gov_proposal(&draft.proposal_id)
            .await?
            .ok_or_else(|| corrupt("proposal", "not stored after opening"))?;
        Ok(OpenReceipt { proposal, ledger_index: index })
    })
    .await?;
    state.governance.opened.notify_one();
    Ok(receipt)
}

// ---------------------------------------------------------------------------
// One proposal's turn: votes, withdrawal, closing.

const PROPOSAL_KINDS: [&str; 4] = ["vote", "decision", "proposal-withdrawal", "exception-granted"];

/// Loads (on first use) and catches up a proposal's cache from the ledger.
async fn synced<'c>(
    state: &AppState,
    proposal_id: &str,
    cache: &'c mut Option<Cache>,
) -> Result<&'c mut Cache, GovernanceError> {
    if cache.is_none() {
        let Some(stored) = state.store.gov_proposal(proposal_id).await? else {
            return Err(GovernanceError::NotFound(format!("no proposal {proposal_id:?}")));
        };
        let proposal = proposal_payload(&stored)?;
        let electorate = Electorate::from_members(state.store.gov_electorate(proposal_id).await?);
        *cache = Some(Cache {
            ballots: Ballots::new(&proposal),
            proposal,
            author: stored.author,
            electorate,
            status: ProposalStatus::Open,
            withdrawn: false,
            voters: HashMap::new(),
            voters_at: 0,
            synced_to: stored.opened_index + 1,
        });
    }
    let c = cache.as_mut().expect("loaded above");
    let entries = state.store.gov_ledger_entries(&PROPOSAL_KINDS, c.synced_to).await?;
    let mut votes = Vec::new();
    for (index, bytes) in entries {
        c.synced_to = index + 1;
        let (entry, payload) =
            Entry::from_canonical_bytes_with_payload(&bytes).map_err(|e| corrupt("ledger entry", e))?;
        match payload {
            Payload::Vote(v) if v.proposal_id == proposal_id => {
                let Some(class_index) = c.proposal.voter_classes.iter().position(|k| k.name == v.class) else {
                    continue;
                };
                let key = entry.signature.as_ref().map(|s| s.key.clone()).unwrap_or_default();
                let checked =
                    CheckedVote { voter: v.voter.clone(), class: v.class.clone(), class_index, choice: v.choice, key };
                c.ballots.record(&checked, index);
                votes.push(stored_vote(&checked, proposal_id, index, &entry.time));
            }
            Payload::ProposalWithdrawal(w) if w.proposal_id == proposal_id => {
                c.withdrawn = true;
                if c.status == ProposalStatus::Open {
                    c.status = ProposalStatus::Withdrawn;
                }
                state.store.gov_mark_withdrawn(proposal_id, index).await?;
            }
            Payload::Decision(d) if d.proposal_id == proposal_id => {
                c.status = ProposalStatus::Decided;
                store_decision(state, &d, index, &entry.time).await?;
            }
            Payload::ExceptionGranted(g) if g.proposal_id.as_deref() == Some(proposal_id) => {
                store_exception(state, &g, index, &entry.time).await?;
            }
            _ => {}
        }
    }
    state.store.gov_insert_votes(proposal_id, &votes).await?;
    Ok(c)
}

fn stored_vote(v: &CheckedVote, proposal_id: &str, index: u64, time: &Timestamp) -> StoredVote {
    StoredVote {
        ledger_index: index,
        proposal_id: proposal_id.to_owned(),
        voter: v.voter.clone(),
        class: v.class.clone(),
        choice: v.choice.as_str().to_owned(),
        key: v.key.clone(),
        time: time.to_string(),
    }
}

async fn store_decision(state: &AppState, d: &Decision, index: u64, time: &Timestamp) -> Result<(), GovernanceError> {
    let stored = StoredDecision {
        proposal_id: d.proposal_id.clone(),
        ledger_index: index,
        outcome: d.outcome.as_str().to_owned(),
        payload: serde_json::to_string(d).map_err(|e| corrupt("decision payload", e))?,
        decided_at: timestamp_to_datetime(time),
    };
    state.store.gov_record_decision(&stored).await?;
    Ok(())
}

/// Appends `decision` (decided at `time`) and, for an accepted license
/// exception, its `exception-granted` entry; stores both.
async fn append_decision(
    state: &AppState,
    c: &mut Cache,
    decision: Decision,
    time: &Timestamp,
    withdrawal: Option<Entry>,
) -> Result<DecisionReceipt, GovernanceError> {
    let decision_entry = Entry::new(&Payload::Decision(decision.clone()), time.clone(), GOVERNANCE_ACTOR)
        .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
    let mut entries = Vec::new();
    if let Some(w) = &withdrawal {
        entries.push(w.clone());
    }
    entries.push(decision_entry);
    let mut receipts = state.ledger.append_all(&entries).await.into_iter();
    if withdrawal.is_some() {
        let receipt = receipts.next().expect("one result per entry")?;
        c.synced_to = c.synced_to.max(receipt.index + 1);
        c.status = ProposalStatus::Withdrawn;
        c.withdrawn = true;
        state.store.gov_mark_withdrawn(&decision.proposal_id, receipt.index).await?;
    }
    let receipt = receipts.next().expect("one result per entry")?;
    c.synced_to = c.synced_to.max(receipt.index + 1);
    c.status = ProposalStatus::Decided;
    store_decision(state, &decision, receipt.index, time).await?;
    let early = *time < c.proposal.closes_at && decision.outcome != DecisionOutcome::Withdrawn;
    let mut exception_index = None;
    if decision.outcome == DecisionOutcome::Accepted
        && let Some(granted) = exception_of(&c.proposal, receipt.index)
    {
        exception_index = Some(grant_exception(state, granted).await?);
    }
    Ok(DecisionReceipt {
        outcome: decision.outcome,
        ledger_index: receipt.index,
        yes_share_bp: decision.yes_share_bp,
        early,
        exception_index,
    })
}

/// The `exception-granted` payload an accepted `license-exception`
/// proposal yields, decided at ledger index `decision_index`.
fn exception_of(proposal: &Proposal, decision_index: u64) -> Option<ExceptionGranted> {
    if proposal.category != ProposalCategory::LicenseException {
        return None;
    }
    let asked = proposal.exception.as_ref()?;
    Some(ExceptionGranted {
        schema: SchemaV1,
        exception_id: proposal.proposal_id.clone(),
        proposal_id: Some(proposal.proposal_id.clone()),
        decision_index: Some(decision_index),
        scope: asked.scope.clone(),
        expires_at: asked.expires_at.clone(),
    })
}

async fn grant_exception(state: &AppState, granted: ExceptionGranted) -> Result<u64, GovernanceError> {
    let time = ledger_now();
    let entry = Entry::new(&Payload::ExceptionGranted(granted.clone()), time.clone(), GOVERNANCE_ACTOR)
        .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
    let receipt = state.ledger.append(&entry).await?;
    store_exception(state, &granted, receipt.index, &time).await?;
    refresh_exceptions(state).await;
    Ok(receipt.index)
}

/// Reloads the policy with the exceptions granted by vote when the stored
/// ones differ from those in force (a grant here, or by another instance):
/// the gate honours them from then on, under a new, recorded effective
/// revision. A failure is logged; the bundle in force keeps serving.
pub async fn refresh_exceptions(state: &AppState) -> bool {
    let stored = match state.store.gov_exceptions().await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the exceptions granted by vote");
            return false;
        }
    };
    let ids: Vec<String> = stored.iter().map(|e| e.exception_id.clone()).collect();
    if ids == state.policy.granted_ids() {
        return false;
    }
    let granted = match stored.iter().map(crate::policy::VotedException::from_stored).collect::<Result<Vec<_>, _>>() {
        Ok(g) => g,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the exceptions granted by vote");
            return false;
        }
    };
    match state.policy.set_granted(&state.store, &state.ledger, granted).await {
        Ok(outcome) => {
            tracing::info!(revision = %outcome.revision, exceptions = ids.len(), "policy reloaded with the exceptions granted by vote");
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot reload the policy with the exceptions granted by vote");
            false
        }
    }
}

async fn store_exception(
    state: &AppState,
    granted: &ExceptionGranted,
    index: u64,
    time: &Timestamp,
) -> Result<(), GovernanceError> {
    let (Some(proposal_id), Some(decision_index)) = (&granted.proposal_id, granted.decision_index) else {
        return Ok(());
    };
    state
        .store
        .gov_insert_exception(&StoredException {
            exception_id: granted.exception_id.clone(),
            proposal_id: proposal_id.clone(),
            decision_index,
            ledger_index: index,
            payload: serde_json::to_string(granted).map_err(|e| corrupt("exception payload", e))?,
            granted_at: timestamp_to_datetime(time),
        })
        .await?;
    Ok(())
}

/// Runs `f` in a proposal's turn (registry shared, the proposal exclusive,
/// in this process and across instances), with its cache caught up.
async fn with_proposal_turn<T>(
    state: &AppState,
    proposal_id: &str,
    f: impl AsyncFnOnce(&mut Cache) -> Result<T, GovernanceError>,
) -> Result<T, GovernanceError> {
    let slot = state.governance.slot(proposal_id);
    let _registry = state.governance.registry.read().await;
    let mut cache = slot.turn.lock().await;
    let lock = state.store.gov_lock(false, Some(proposal_id)).await?;
    let out = match synced(state, proposal_id, &mut cache).await {
        Ok(c) => f(c).await,
        Err(e) => Err(e),
    };
    if out.is_err() {
        // Rebuilt from the ledger next time: an append may have landed.
        *cache = None;
    }
    lock.release().await?;
    out
}

/// Withdraws a proposal: only its author, only before its first vote. The
/// `withdrawn` decision follows at once.
pub async fn withdraw(
    state: &AppState,
    proposal_id: &str,
    reason: Option<String>,
    actor: &str,
) -> Result<DecisionReceipt, GovernanceError> {
    with_proposal_turn(state, proposal_id, async |c| {
        match c.status {
            ProposalStatus::Open => {}
            ProposalStatus::Withdrawn => {
                return Err(GovernanceError::Conflict(format!("proposal {proposal_id} is already withdrawn")));
            }
            ProposalStatus::Decided => {
                return Err(GovernanceError::Conflict(format!("proposal {proposal_id} is already decided")));
            }
        }
        if c.author != actor {
            return Err(GovernanceError::Forbidden(format!(
                "only the author of proposal {proposal_id} ({}) may withdraw it",
                c.author
            )));
        }
        if c.ballots.entries() > 0 {
            return Err(GovernanceError::Conflict(format!(
                "proposal {proposal_id} has votes; it can only be withdrawn before its first vote"
            )));
        }
        let time = ledger_now();
        let withdrawal =
            ProposalWithdrawal { schema: SchemaV1, proposal_id: proposal_id.to_owned(), reason: reason.clone() };
        let entry = Entry::new(&Payload::ProposalWithdrawal(withdrawal), time.clone(), actor)
            .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
        let decision = decide(&c.proposal, &c.ballots, true, &time).expect("a withdrawn proposal is decided");
        append_decision(state, c, decision, &time, Some(entry)).await
    })
    .await
}

/// Closes a proposal whose window ended (or that was withdrawn without its
/// decision); `None` when there is nothing to do.
pub async fn close_if_due(state: &AppState, proposal_id: &str) -> Result<Option<DecisionReceipt>, GovernanceError> {
    with_proposal_turn(state, proposal_id, async |c| {
        if c.status == ProposalStatus::Decided {
            return Ok(None);
        }
        let time = ledger_now();
        let withdrawn = c.status == ProposalStatus::Withdrawn;
        let Some(decision) = decide(&c.proposal, &c.ballots, withdrawn, &time) else {
            return Ok(None);
        };
        append_decision(state, c, decision, &time, None).await.map(Some)
    })
    .await
}

/// The sweep: catches the store up with the ledger and closes every
/// proposal whose window ended (at start-up and periodically, so a
/// proposal is closed even if no server ran when its window ended).
/// Returns the decisions appended.
pub async fn sweep(state: &AppState) -> Result<usize, GovernanceError> {
    with_registry_turn(state, async || Ok(())).await?;
    for id in state.store.gov_ungranted_exceptions().await? {
        match grant_missing_exception(state, &id).await {
            Ok(Some(index)) => {
                tracing::warn!(proposal = %id, ledger_index = index, "exception granted late (repaired)")
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(proposal = %id, error = %e, "cannot grant the accepted exception"),
        }
    }
    refresh_exceptions(state).await;
    let due = state.store.gov_due_proposals(crate::store::now()).await?;
    let mut closed = 0;
    for id in due {
        match close_if_due(state, &id).await {
            Ok(Some(d)) => {
                tracing::info!(proposal = %id, outcome = %d.outcome, ledger_index = d.ledger_index, "proposal closed");
                closed += 1;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(proposal = %id, error = %e, "cannot close proposal"),
        }
    }
    Ok(closed)
}

/// Grants the exception of an accepted `license-exception` proposal whose
/// `exception-granted` entry is missing (a crash between the decision and
/// the grant), in the proposal's turn: caught up from the ledger first, so
/// a grant another instance appended meanwhile is found, not repeated.
async fn grant_missing_exception(state: &AppState, proposal_id: &str) -> Result<Option<u64>, GovernanceError> {
    with_proposal_turn(state, proposal_id, async |c| {
        if state.store.gov_exception_for(proposal_id).await?.is_some() {
            return Ok(None);
        }
        let Some(decision) = state.store.gov_decision(proposal_id).await? else {
            return Ok(None);
        };
        match exception_of(&c.proposal, decision.ledger_index) {
            Some(granted) if decision.outcome == "accepted" => Ok(Some(grant_exception(state, granted).await?)),
            _ => Ok(None),
        }
    })
    .await
}

/// How long the sweeper may sleep before a proposal's window closes: just
/// past the next closing time, at least `floor`, at most `ceiling`.
pub async fn until_next_closing(
    state: &AppState,
    floor: std::time::Duration,
    ceiling: std::time::Duration,
) -> std::time::Duration {
    match state.store.gov_next_closing().await {
        Ok(Some(at)) => {
            let left = (at - crate::store::now()).whole_milliseconds().max(0) as u64 + 20;
            std::time::Duration::from_millis(left).clamp(floor, ceiling)
        }
        Ok(None) | Err(_) => ceiling,
    }
}

/// Accepts a signed `vote` entry for `proposal_id`: checked by the crate
/// (clock, proposal, window, voter, class, key window, signature), appended
/// as signed, counted; the proposal is decided in the same turn when its
/// outcome became final. A refused vote never reaches the ledger.
pub async fn cast_vote(state: &AppState, proposal_id: &str, entry: Entry) -> Result<VoteReceipt, GovernanceError> {
    if entry.kind != EntryKind::Vote {
        return Err(VoteError::NotAVote(entry.kind).into());
    }
    let slot = state.governance.slot(proposal_id);
    let (reply, mut rx) = oneshot::channel();
    slot.pending.lock().unwrap_or_else(|e| e.into_inner()).push(PendingVote { entry, reply });
    loop {
        // Wait for the reply or the turn, whichever comes first: a caller
        // whose vote another caller's turn already took leaves the queue
        // for the turn at once (otherwise callers convoy through the turn
        // one vote at a time).
        let turn = async {
            let registry = state.governance.registry.read().await;
            let cache = slot.turn.lock().await;
            (registry, cache)
        };
        let (_registry, mut cache) = tokio::select! {
            biased;
            reply = &mut rx => {
                return reply.unwrap_or_else(|_| Err(GovernanceError::Conflict("the vote was dropped; send it again".into())));
            }
            guards = turn => guards,
        };
        let batch = std::mem::take(&mut *slot.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if !batch.is_empty() {
            vote_turn(state, proposal_id, &mut cache, batch).await;
        }
    }
}

/// One turn over a batch of votes (holding the proposal's in-process turn).
async fn vote_turn(state: &AppState, proposal_id: &str, cache: &mut Option<Cache>, batch: Vec<PendingVote>) {
    let lock = match state.store.gov_lock(false, Some(proposal_id)).await {
        Ok(lock) => lock,
        Err(e) => {
            let e = GovernanceError::from(e);
            for p in batch {
                let _ = p.reply.send(Err(copy_error(&e)));
            }
            return;
        }
    };
    let ok = match synced(state, proposal_id, cache).await {
        Ok(c) => vote_batch(state, proposal_id, c, batch).await,
        Err(e) => {
            for p in batch {
                let _ = p.reply.send(Err(copy_error(&e)));
            }
            false
        }
    };
    if !ok {
        *cache = None;
    }
    if let Err(e) = lock.release().await {
        tracing::warn!(error = %e, "cannot release the governance lock");
    }
}

/// Checks, appends and counts a batch; returns whether the cache is still
/// exact (no append or store write failed).
async fn vote_batch(state: &AppState, proposal_id: &str, c: &mut Cache, batch: Vec<PendingVote>) -> bool {
    let now = ledger_now();
    let skew = state.config.governance.max_clock_skew_seconds;
    let mut counts: Vec<Counts> = c.ballots.counts().to_vec();
    let mut latest: HashMap<(String, usize), VoteChoice> = HashMap::new();
    // A withdrawn proposal is refused as withdrawn, even once decided.
    let mut status = if c.withdrawn { ProposalStatus::Withdrawn } else { c.status };
    match state.store.gov_registry_next().await {
        Ok(at) if at == c.voters_at => {}
        Ok(at) => {
            // One read of every voter rather than two queries per vote.
            match state.store.gov_voters().await {
                Ok(all) => {
                    c.voters.clear();
                    for v in &all {
                        match to_voter(v) {
                            Ok(voter) => {
                                c.voters.insert(v.voter.clone(), Some(voter));
                            }
                            Err(e) => tracing::warn!(voter = %v.voter, error = %e, "unreadable voter"),
                        }
                    }
                    c.voters_at = at;
                }
                Err(e) => {
                    let e = GovernanceError::from(e);
                    for p in batch {
                        let _ = p.reply.send(Err(copy_error(&e)));
                    }
                    return true;
                }
            }
        }
        Err(e) => {
            let e = GovernanceError::from(e);
            for p in batch {
                let _ = p.reply.send(Err(copy_error(&e)));
            }
            return true;
        }
    }
    let voters = &mut c.voters;
    let mut accepted: Vec<(PendingVote, CheckedVote)> = Vec::new();
    for pending in batch {
        let checked = async {
            check_clock(&pending.entry.time, &now, skew)?;
            let voter_id = match pending.entry.typed_payload() {
                Ok(Payload::Vote(v)) => v.voter,
                Ok(_) => return Err(VoteError::NotAVote(pending.entry.kind).into()),
                Err(e) => return Err(GovernanceError::Vote(VoteError::Payload(e))),
            };
            if !voters.contains_key(&voter_id) {
                let stored = state.store.gov_voter(&voter_id).await?;
                voters.insert(voter_id.clone(), stored.as_ref().map(to_voter).transpose()?);
            }
            let voter = voters.get(&voter_id).and_then(Option::as_ref);
            Ok::<_, GovernanceError>(check_vote(&pending.entry, &c.proposal, status, voter, &c.electorate)?)
        }
        .await;
        match checked {
            Ok(v) => {
                let key = (v.voter.clone(), v.class_index);
                let earlier = latest.get(&key).copied().or_else(|| c.ballots.choice_of(&v.voter, v.class_index));
                if let Some(slot) = counts.get_mut(v.class_index) {
                    if let Some(e) = earlier {
                        slot.remove(e);
                    }
                    slot.add(v.choice);
                }
                latest.insert(key, v.choice);
                if final_outcome(&c.proposal, &counts).is_some() {
                    // Votes after this one would come after the outcome is
                    // final: refused as for a decided proposal.
                    status = ProposalStatus::Decided;
                }
                accepted.push((pending, v));
            }
            Err(e) => {
                let _ = pending.reply.send(Err(e));
            }
        }
    }
    if accepted.is_empty() {
        return true;
    }
    let entries: Vec<Entry> = accepted.iter().map(|(p, _)| p.entry.clone()).collect();
    let receipts = state.ledger.append_all(&entries).await;
    let mut exact = true;
    let mut done: Vec<(PendingVote, VoteReceipt)> = Vec::new();
    let mut rows = Vec::new();
    for ((pending, v), receipt) in accepted.into_iter().zip(receipts) {
        match receipt {
            Ok(r) => {
                let replaced = c.ballots.record(&v, r.index);
                c.synced_to = c.synced_to.max(r.index + 1);
                rows.push(stored_vote(&v, proposal_id, r.index, &pending.entry.time));
                let receipt = VoteReceipt {
                    proposal_id: proposal_id.to_owned(),
                    voter: v.voter,
                    class: v.class,
                    choice: v.choice,
                    ledger_index: r.index,
                    replaced,
                    decision: None,
                };
                done.push((pending, receipt));
            }
            Err(e) => {
                exact = false;
                let _ = pending.reply.send(Err(e.into()));
            }
        }
    }
    if let Err(e) = state.store.gov_insert_votes(proposal_id, &rows).await {
        // The votes are in the ledger; the store catches up next turn.
        tracing::warn!(proposal = proposal_id, error = %e, "cannot store votes; they are in the ledger");
        exact = false;
    }
    let time = ledger_now();
    let mut decision = None;
    if exact && let Some(d) = decide(&c.proposal, &c.ballots, false, &time) {
        match append_decision(state, c, d, &time, None).await {
            Ok(receipt) => decision = Some(receipt),
            Err(e) => {
                tracing::warn!(proposal = proposal_id, error = %e, "cannot append the decision; the sweep retries");
                exact = false;
            }
        }
    }
    for (pending, mut receipt) in done {
        receipt.decision = decision.clone();
        let _ = pending.reply.send(Ok(receipt));
    }
    exact
}

// ---------------------------------------------------------------------------
// Reads for the API and pages.

/// A proposal with what a page or the API shows about it.
#[derive(Debug, Clone, Serialize)]
pub struct ProposalView {
    pub proposal: StoredProposal,
    /// The parameters in force (the `proposal` entry's payload).
    pub parameters: Proposal,
    /// The tally now (or at the decision), per class.
    pub tally: steward_governance::Tally,
    /// Vote entries in ledger order (at most the limit asked for).
    pub votes: Vec<StoredVote>,
    /// Vote entries in all.
    pub votes_total: usize,
    pub decision: Option<Decision>,
    pub exception: Option<StoredException>,
}

/// A proposal, its current tally (recomputed from the stored votes with the
/// crate's tally) and its first `max_votes` vote entries.
pub async fn view(state: &AppState, proposal_id: &str, max_votes: usize) -> Result<ProposalView, GovernanceError> {
    let Some(proposal) = state.store.gov_proposal(proposal_id).await? else {
        return Err(GovernanceError::NotFound(format!("no proposal {proposal_id:?}")));
    };
    let parameters = proposal_payload(&proposal)?;
    let votes = state.store.gov_votes(proposal_id).await?;
    let decision = match state.store.gov_decision(proposal_id).await? {
        Some(d) => Some(serde_json::from_str::<Decision>(&d.payload).map_err(|e| corrupt("decision payload", e))?),
        None => None,
    };
    let mut ballots = Ballots::new(&parameters);
    for v in &votes {
        let Some(class_index) = parameters.voter_classes.iter().position(|c| c.name == v.class) else {
            continue;
        };
        let choice = match v.choice.as_str() {
            "yes" => VoteChoice::Yes,
            "no" => VoteChoice::No,
            "abstain" => VoteChoice::Abstain,
            "veto" => VoteChoice::Veto,
            other => return Err(corrupt("vote choice", other)),
        };
        let checked =
            CheckedVote { voter: v.voter.clone(), class: v.class.clone(), class_index, choice, key: v.key.clone() };
        ballots.record(&checked, v.ledger_index);
    }
    let tally = steward_governance::Tally::at_close(&parameters, ballots.counts());
    let exception = state.store.gov_exception_for(proposal_id).await?;
    let votes_total = votes.len();
    let mut votes = votes;
    votes.truncate(max_votes);
    Ok(ProposalView { proposal, parameters, tally, votes, votes_total, decision, exception })
}

/// Parses list filters (the API's query and the page's): state, category,
/// a limit between 1 and 1000 (default 100).
pub fn parse_filter(
    state: Option<&str>,
    category: Option<&str>,
    limit: Option<u32>,
) -> Result<crate::store::ProposalFilter, String> {
    let state = match state.filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(s.parse::<crate::store::ProposalState>().map_err(|e| format!("state: {e}"))?),
    };
    let category = match category.filter(|c| !c.is_empty()) {
        None => None,
        Some(c @ ("rfc" | "license-exception" | "policy-change" | "other")) => Some(c.to_owned()),
        Some(c) => {
            return Err(format!(
                "category: unknown category {:?} (allowed: rfc, license-exception, policy-change, other)",
                c.chars().take(64).collect::<String>()
            ));
        }
    };
    Ok(crate::store::ProposalFilter { state, category, limit: i64::from(limit.unwrap_or(100).clamp(1, 1000)) })
}

/// Median seconds from opening to decision over the last `limit` decided
/// proposals (withdrawn ones excluded); `None` when none.
pub async fn median_time_to_decision(state: &AppState, limit: i64) -> Result<Option<i64>, StoreError> {
    let mut durations = state.store.gov_decision_durations(limit).await?;
    if durations.is_empty() {
        return Ok(None);
    }
    durations.sort_unstable();
    let n = durations.len();
    Ok(Some(if n % 2 == 1 { durations[n / 2] } else { (durations[n / 2 - 1] + durations[n / 2]) / 2 }))
}
