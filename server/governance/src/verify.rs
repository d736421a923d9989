//! `governance verify`: replays the governance entries of a ledger in
//! index order and recomputes every decision from its proposal and votes
//! alone, reporting the first entry that does not follow.
//!
//! Checked: registrations and key rotations (signed by the old key, keys
//! never shared); each proposal's electorate sizes; every vote as the
//! server must have checked it (signature by a registered key valid at the
//! vote's time, class, window, proposal id and body digest, not after the
//! decision or withdrawal); that no vote arrives once the outcome was final
//! (it should have been decided then); withdrawals (by the author, before
//! any vote); exactly one decision per proposal, equal field by field to
//! the recomputed one, and not before the window's end unless the outcome
//! was final; exceptions granted only by an accepted `license-exception`
//! decision, with the proposal's scope; trusted-key rotations approved by
//! exactly one of the old key's signature or a proposal, and a proposal
//! only when it is a `policy-change` accepted before the rotation (the old
//! key's signature needs the OCI key algorithms: the server's
//! `oci::trust::TrustedKeys::from_ledger` checks it, and `steward
//! governance verify` runs both).

use std::collections::HashMap;
use std::fmt;

use steward_ledger::entry::{
    Decision, DecisionOutcome, Entry, EntryError, EntryKind, ExceptionGranted, Payload, Proposal, ProposalCategory,
    ProposalWithdrawal, TrustedKeyRotated, Vote,
};
use steward_ledger::note::VerifierKey;

use crate::proposal::Electorate;
use crate::registry::{Registry, RegistryError};
use crate::signature::{SignatureError, shown, verify_named_signature};
use crate::tally::final_outcome;
use crate::vote::{Ballots, ProposalStatus, VoteError, check_vote_payload, decide};

/// The first governance entry that does not follow, with its ledger index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyError {
    /// Ledger index of the entry.
    pub index: u64,
    /// What is wrong.
    pub failure: Failure,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ledger index {}: {}", self.index, self.failure)
    }
}

impl std::error::Error for VerifyError {}

/// What is wrong with a governance entry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The payload breaks its schema.
    #[error("{0}")]
    Entry(EntryError),
    /// A registration or key rotation that does not apply.
    #[error("{0}")]
    Registry(RegistryError),
    /// A proposal id opened twice.
    #[error("proposal {proposal_id} was already opened at ledger index {first}")]
    DuplicateProposal {
        /// The proposal.
        proposal_id: String,
        /// Where it was opened first.
        first: u64,
    },
    /// The electorate size recorded in a proposal is not what the
    /// registrations before it give.
    #[error(
        "proposal {proposal_id}: class {class} records {recorded} eligible voters; the registrations before it give {computed}"
    )]
    EligibleMismatch {
        /// The proposal.
        proposal_id: String,
        /// The class.
        class: String,
        /// In the entry.
        recorded: u64,
        /// Recomputed.
        computed: u64,
    },
    /// An entry about a proposal that was not opened before it.
    #[error("{kind} for proposal {proposal_id}, which was not opened before it")]
    UnknownProposal {
        /// The entry's kind.
        kind: EntryKind,
        /// The proposal.
        proposal_id: String,
    },
    /// A vote the server should have refused.
    #[error("vote on {proposal_id}: {error}")]
    Vote {
        /// The proposal.
        proposal_id: String,
        /// Why it is invalid.
        error: Box<VoteError>,
    },
    /// A vote after the outcome was already final.
    #[error(
        "vote on {proposal_id} after its outcome became final ({outcome}) at ledger index {final_index}; the proposal should have been decided there"
    )]
    VoteAfterFinal {
        /// The proposal.
        proposal_id: String,
        /// Where the outcome became final.
        final_index: u64,
        /// The final outcome.
        outcome: DecisionOutcome,
    },
    /// A withdrawal after a vote.
    #[error("proposal {proposal_id} was withdrawn after its first vote at ledger index {first_vote}")]
    WithdrawalAfterVote {
        /// The proposal.
        proposal_id: String,
        /// The first vote.
        first_vote: u64,
    },
    /// A withdrawal by someone else than the author.
    #[error("proposal {proposal_id} was withdrawn by {actor}, not by its author {author}")]
    WithdrawalNotByAuthor {
        /// The proposal.
        proposal_id: String,
        /// Who withdrew it.
        actor: String,
        /// Who opened it.
        author: String,
    },
    /// A withdrawal or decision for a proposal already closed.
    #[error("{kind} for proposal {proposal_id}, which was already {state} at ledger index {at}")]
    AlreadyClosed {
        /// The entry's kind.
        kind: EntryKind,
        /// The proposal.
        proposal_id: String,
        /// `withdrawn` or `decided`.
        state: &'static str,
        /// Where.
        at: u64,
    },
    /// Decided before the window's end while the outcome could change.
    #[error(
        "proposal {proposal_id} was decided at {time}, before voting closes at {closes_at}, but its outcome was not final"
    )]
    DecidedEarly {
        /// The proposal.
        proposal_id: String,
        /// The decision's time.
        time: String,
        /// The window's end.
        closes_at: String,
    },
    /// A decision that does not match its votes.
    #[error("decision on {proposal_id}: {field} is {recorded}, but its votes give {computed}")]
    DecisionMismatch {
        /// The proposal.
        proposal_id: String,
        /// The field, e.g. `outcome` or `tally[community].yes`.
        field: String,
        /// In the entry.
        recorded: String,
        /// Recomputed.
        computed: String,
    },
    /// A trusted-key rotation whose approval does not hold.
    #[error("trusted-key rotation {old_key_id} -> {new_key_id}: {reason}")]
    Rotation {
        /// The key replaced.
        old_key_id: String,
        /// The new key.
        new_key_id: String,
        /// What is wrong.
        reason: String,
    },
    /// An exception granted without an accepted vote, or not as voted.
    #[error("exception {exception_id}: {reason}")]
    Exception {
        /// The exception.
        exception_id: String,
        /// What is wrong.
        reason: String,
    },
}

impl Failure {
    /// A stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Entry(_) => "invalid-entry",
            Failure::Registry(e) => e.code(),
            Failure::DuplicateProposal { .. } => "duplicate-proposal",
            Failure::EligibleMismatch { .. } => "eligible-mismatch",
            Failure::UnknownProposal { .. } => "unknown-proposal",
            Failure::Vote { error, .. } => error.code(),
            Failure::VoteAfterFinal { .. } => "vote-after-final",
            Failure::WithdrawalAfterVote { .. } => "withdrawal-after-vote",
            Failure::WithdrawalNotByAuthor { .. } => "withdrawal-not-by-author",
            Failure::AlreadyClosed { .. } => "already-closed",
            Failure::DecidedEarly { .. } => "decided-early",
            Failure::DecisionMismatch { .. } => "decision-mismatch",
            Failure::Exception { .. } => "exception-mismatch",
            Failure::Rotation { .. } => "rotation-not-approved",
        }
    }
}

/// One decision that was recomputed and matched.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DecisionSummary {
    /// The proposal.
    pub proposal_id: String,
    /// Ledger index of the decision.
    pub index: u64,
    /// Its outcome.
    pub outcome: DecisionOutcome,
    /// Decided before the window's end (early decision).
    pub early: bool,
    /// Vote entries it took into account.
    pub votes_counted: u64,
}

/// What a successful verification saw (serializes as the JSON report).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// Entries read (all kinds).
    pub entries: u64,
    /// `voter-registration` entries.
    pub registrations: u64,
    /// `voter-key-rotation` entries.
    pub key_rotations: u64,
    /// Proposals opened.
    pub proposals: u64,
    /// Vote entries.
    pub votes: u64,
    /// Every decision, in ledger order.
    pub decisions: Vec<DecisionSummary>,
    /// Proposals not decided yet, sorted (still open, or awaiting their
    /// closing decision).
    pub undecided: Vec<String>,
    /// `exception-granted` entries.
    pub exceptions: u64,
    /// `trusted-key-rotated` entries approved by an accepted decision.
    pub rotations_by_decision: u64,
    /// `trusted-key-rotated` entries approved by the old key's signature.
    pub rotations_by_old_key: u64,
}

struct Track {
    opened_at: u64,
    author: String,
    proposal: Proposal,
    electorate: Electorate,
    ballots: Ballots,
    first_vote: Option<u64>,
    final_at: Option<(u64, DecisionOutcome)>,
    withdrawn_at: Option<u64>,
    decided: Option<(u64, DecisionOutcome)>,
    exception_granted: bool,
}

/// The verifier's state; feed it every entry in index order with
/// [`Verifier::push`], then [`Verifier::finish`]. [`verify`] does both and
/// checks signatures on several threads.
#[derive(Default)]
pub struct Verifier {
    registry: Registry,
    tracks: HashMap<String, Track>,
    exception_ids: HashMap<String, u64>,
    report: VerifyReport,
    keys: HashMap<String, Option<VerifierKey>>,
}

impl Verifier {
    /// A verifier at the start of the ledger.
    pub fn new() -> Verifier {
        Verifier::default()
    }

    /// The voter registry as of the entries pushed so far.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Checks the entry at `index` (entries must come in index order).
    pub fn push(&mut self, index: u64, entry: &Entry) -> Result<(), VerifyError> {
        if !is_governance(entry.kind) {
            self.report.entries += 1;
            return Ok(());
        }
        let signature = needs_signature(entry.kind)
            .then(|| verify_named_signature(entry, |k| self.registry.key(k), &mut self.keys));
        self.push_checked(index, entry, entry.typed_payload(), signature)
    }

    /// [`Verifier::push`] with the payload decoded and the signature
    /// checked against the key the entry names (vote and key-rotation
    /// entries) beforehand, on another thread.
    fn push_checked(
        &mut self,
        index: u64,
        entry: &Entry,
        payload: Result<Payload, EntryError>,
        signature: Option<Result<(), SignatureError>>,
    ) -> Result<(), VerifyError> {
        self.report.entries += 1;
        let fail = |failure| VerifyError { index, failure };
        if !is_governance(entry.kind) {
            return Ok(());
        }
        let payload = payload.map_err(|e| fail(Failure::Entry(e)))?;
        match payload {
            Payload::VoterRegistration(r) => {
                self.report.registrations += 1;
                self.registry.register_valid(&r).map_err(|e| fail(Failure::Registry(e)))
            }
            Payload::VoterKeyRotation(r) => {
                self.report.key_rotations += 1;
                self.registry.rotate_checked(entry, &r, signature).map_err(|e| fail(Failure::Registry(e)))
            }
            Payload::Proposal(p) => self.proposal(index, entry, p).map_err(fail),
            Payload::ProposalWithdrawal(w) => self.withdrawal(index, entry, &w).map_err(fail),
            Payload::Vote(v) => self.vote(index, entry, &v, signature).map_err(fail),
            Payload::Decision(d) => self.decision(index, entry, &d).map_err(fail),
            Payload::ExceptionGranted(g) => self.exception(index, &g).map_err(fail),
            Payload::TrustedKeyRotated(r) => self.trusted_key_rotation(&r).map_err(fail),
            _ => Ok(()),
        }
    }

    fn proposal(&mut self, index: u64, entry: &Entry, proposal: Proposal) -> Result<(), Failure> {
        if let Some(first) = self.tracks.get(&proposal.proposal_id) {
            return Err(Failure::DuplicateProposal { proposal_id: proposal.proposal_id, first: first.opened_at });
        }
        let electorate = Electorate::for_proposal(&self.registry, &proposal);
        for class in &proposal.voter_classes {
            let computed = electorate.count(&class.name);
            if computed != class.eligible {
                return Err(Failure::EligibleMismatch {
                    proposal_id: proposal.proposal_id.clone(),
                    class: class.name.clone(),
                    recorded: class.eligible,
                    computed,
                });
            }
        }
        self.report.proposals += 1;
        let ballots = Ballots::new(&proposal);
        let final_at = final_outcome(&proposal, ballots.counts()).map(|o| (index, o));
        self.tracks.insert(
            proposal.proposal_id.clone(),
            Track {
                opened_at: index,
                author: entry.actor.clone(),
                proposal,
                electorate,
                ballots,
                first_vote: None,
                final_at,
                withdrawn_at: None,
                decided: None,
                exception_granted: false,
            },
        );
        Ok(())
    }

    fn track(&mut self, kind: EntryKind, proposal_id: &str) -> Result<&mut Track, Failure> {
        self.tracks
            .get_mut(proposal_id)
            .ok_or_else(|| Failure::UnknownProposal { kind, proposal_id: proposal_id.to_owned() })
    }

    fn withdrawal(&mut self, index: u64, entry: &Entry, w: &ProposalWithdrawal) -> Result<(), Failure> {
        let track = self.track(EntryKind::ProposalWithdrawal, &w.proposal_id)?;
        closed(track, EntryKind::ProposalWithdrawal)?;
        if let Some(first_vote) = track.first_vote {
            return Err(Failure::WithdrawalAfterVote { proposal_id: w.proposal_id.clone(), first_vote });
        }
        if entry.actor != track.author {
            return Err(Failure::WithdrawalNotByAuthor {
                proposal_id: w.proposal_id.clone(),
                actor: shown(&entry.actor),
                author: shown(&track.author),
            });
        }
        track.withdrawn_at = Some(index);
        Ok(())
    }

    fn vote(
        &mut self,
        index: u64,
        entry: &Entry,
        vote: &Vote,
        signature: Option<Result<(), SignatureError>>,
    ) -> Result<(), Failure> {
        self.report.votes += 1;
        let voter = self.registry.voter(&vote.voter);
        let track = self
            .tracks
            .get_mut(&vote.proposal_id)
            .ok_or_else(|| Failure::UnknownProposal { kind: EntryKind::Vote, proposal_id: vote.proposal_id.clone() })?;
        let status = if track.decided.is_some() {
            ProposalStatus::Decided
        } else if track.withdrawn_at.is_some() {
            ProposalStatus::Withdrawn
        } else {
            ProposalStatus::Open
        };
        if let (ProposalStatus::Open, Some((final_index, outcome))) = (status, track.final_at) {
            return Err(Failure::VoteAfterFinal { proposal_id: vote.proposal_id.clone(), final_index, outcome });
        }
        let checked = check_vote_payload(entry, vote, &track.proposal, status, voter, &track.electorate, signature)
            .map_err(|error| Failure::Vote { proposal_id: vote.proposal_id.clone(), error: Box::new(error) })?;
        track.ballots.record(&checked, index);
        track.first_vote.get_or_insert(index);
        track.final_at = final_outcome(&track.proposal, track.ballots.counts()).map(|o| (index, o));
        Ok(())
    }

    fn decision(&mut self, index: u64, entry: &Entry, recorded: &Decision) -> Result<(), Failure> {
        let track = self.track(EntryKind::Decision, &recorded.proposal_id)?;
        if let Some((at, _)) = track.decided {
            return Err(Failure::AlreadyClosed {
                kind: EntryKind::Decision,
                proposal_id: recorded.proposal_id.clone(),
                state: "decided",
                at,
            });
        }
        let withdrawn = track.withdrawn_at.is_some();
        let early = !withdrawn && entry.time < track.proposal.closes_at;
        let Some(computed) = decide(&track.proposal, &track.ballots, withdrawn, &entry.time) else {
            return Err(Failure::DecidedEarly {
                proposal_id: recorded.proposal_id.clone(),
                time: entry.time.to_string(),
                closes_at: track.proposal.closes_at.to_string(),
            });
        };
        compare_decision(recorded, &computed)?;
        track.decided = Some((index, computed.outcome));
        self.report.decisions.push(DecisionSummary {
            proposal_id: recorded.proposal_id.clone(),
            index,
            outcome: computed.outcome,
            early,
            votes_counted: computed.votes_counted,
        });
        Ok(())
    }

    fn exception(&mut self, index: u64, granted: &ExceptionGranted) -> Result<(), Failure> {
        let id = &granted.exception_id;
        let fail = |reason: String| Failure::Exception { exception_id: id.clone(), reason };
        if let Some(first) = self.exception_ids.get(id) {
            return Err(fail(format!("already granted at ledger index {first}")));
        }
        if let (Some(pid), Some(decision_index)) = (&granted.proposal_id, granted.decision_index) {
            let track = self.track(EntryKind::ExceptionGranted, pid)?;
            let fail = |reason: String| Failure::Exception { exception_id: id.clone(), reason };
            match track.decided {
                Some((at, DecisionOutcome::Accepted)) if at == decision_index => {}
                Some((at, outcome)) => {
                    return Err(fail(format!(
                        "proposal {pid} was decided {outcome} at ledger index {at}, not accepted at {decision_index}"
                    )));
                }
                None => return Err(fail(format!("proposal {pid} is not decided"))),
            }
            if track.proposal.category != ProposalCategory::LicenseException {
                return Err(fail(format!("proposal {pid} is a {} proposal", track.proposal.category.as_str())));
            }
            let asked = track.proposal.exception.as_ref();
            if asked.is_none_or(|a| a.scope != granted.scope || a.expires_at != granted.expires_at) {
                return Err(fail(format!("scope or expiry differs from what proposal {pid} asked for")));
            }
            if track.exception_granted {
                return Err(fail(format!("proposal {pid} already granted its exception")));
            }
            track.exception_granted = true;
        }
        self.exception_ids.insert(id.clone(), index);
        self.report.exceptions += 1;
        Ok(())
    }

    /// A trusted-key rotation: approved by the old key's signature
    /// (checked by the caller, which knows P-256) or by an accepted
    /// `policy-change` decision recorded before it. That the proposal's
    /// text names the new key's fingerprint is checked by the server
    /// against the stored body, whose SHA-256 the proposal entry carries.
    fn trusted_key_rotation(&mut self, r: &TrustedKeyRotated) -> Result<(), Failure> {
        let fail = |reason: String| Failure::Rotation {
            old_key_id: r.old_key_id.clone(),
            new_key_id: r.new_key_id.clone(),
            reason,
        };
        // The payload's own check (on decoding) already requires exactly
        // one of the old key's signature and a proposal.
        let Some(pid) = &r.proposal_id else {
            self.report.rotations_by_old_key += 1;
            return Ok(());
        };
        let track = self.track(EntryKind::TrustedKeyRotated, pid)?;
        if track.proposal.category != ProposalCategory::PolicyChange {
            return Err(fail(format!(
                "proposal {pid} is a {} proposal, not policy-change",
                track.proposal.category.as_str()
            )));
        }
        match track.decided {
            Some((_, DecisionOutcome::Accepted)) => {}
            Some((at, outcome)) => {
                return Err(fail(format!("proposal {pid} was decided {outcome} at ledger index {at}")));
            }
            None => return Err(fail(format!("proposal {pid} is not decided before the rotation"))),
        }
        self.report.rotations_by_decision += 1;
        Ok(())
    }

    /// The report; proposals without a decision are listed as undecided.
    pub fn finish(mut self) -> VerifyReport {
        let mut undecided: Vec<String> =
            self.tracks.iter().filter(|(_, t)| t.decided.is_none()).map(|(id, _)| id.clone()).collect();
        undecided.sort();
        self.report.undecided = undecided;
        self.report
    }
}

fn closed(track: &Track, kind: EntryKind) -> Result<(), Failure> {
    let proposal_id = track.proposal.proposal_id.clone();
    if let Some((at, _)) = track.decided {
        return Err(Failure::AlreadyClosed { kind, proposal_id, state: "decided", at });
    }
    if let Some(at) = track.withdrawn_at {
        return Err(Failure::AlreadyClosed { kind, proposal_id, state: "withdrawn", at });
    }
    Ok(())
}

fn compare_decision(recorded: &Decision, computed: &Decision) -> Result<(), Failure> {
    let id = recorded.proposal_id.clone();
    let diff = |field: String, r: String, c: String| {
        Err(Failure::DecisionMismatch { proposal_id: id.clone(), field, recorded: r, computed: c })
    };
    if recorded.outcome != computed.outcome {
        return diff("outcome".into(), recorded.outcome.to_string(), computed.outcome.to_string());
    }
    if recorded.yes_share_bp != computed.yes_share_bp {
        return diff("yes_share_bp".into(), recorded.yes_share_bp.to_string(), computed.yes_share_bp.to_string());
    }
    if recorded.tally.len() != computed.tally.len() {
        return diff(
            "tally".into(),
            format!("{} classes", recorded.tally.len()),
            format!("{} classes", computed.tally.len()),
        );
    }
    for (r, c) in recorded.tally.iter().zip(&computed.tally) {
        let fields: [(&str, String, String); 8] = [
            ("class", r.class.clone(), c.class.clone()),
            ("eligible", r.eligible.to_string(), c.eligible.to_string()),
            ("quorum_required", r.quorum_required.to_string(), c.quorum_required.to_string()),
            ("yes", r.yes.to_string(), c.yes.to_string()),
            ("no", r.no.to_string(), c.no.to_string()),
            ("abstain", r.abstain.to_string(), c.abstain.to_string()),
            ("veto", r.veto.to_string(), c.veto.to_string()),
            ("quorum_met", r.quorum_met.to_string(), c.quorum_met.to_string()),
        ];
        if let Some((name, rv, cv)) = fields.into_iter().find(|(_, rv, cv)| rv != cv) {
            return diff(format!("tally[{}].{name}", c.class), rv, cv);
        }
    }
    if recorded.votes_counted != computed.votes_counted {
        return diff("votes_counted".into(), recorded.votes_counted.to_string(), computed.votes_counted.to_string());
    }
    if recorded.last_vote_index != computed.last_vote_index {
        let show = |i: Option<u64>| i.map_or_else(|| "absent".to_owned(), |i| i.to_string());
        return diff("last_vote_index".into(), show(recorded.last_vote_index), show(computed.last_vote_index));
    }
    Ok(())
}

fn is_governance(kind: EntryKind) -> bool {
    matches!(
        kind,
        EntryKind::VoterRegistration
            | EntryKind::VoterKeyRotation
            | EntryKind::Proposal
            | EntryKind::ProposalWithdrawal
            | EntryKind::Vote
            | EntryKind::Decision
            | EntryKind::ExceptionGranted
            | EntryKind::TrustedKeyRotated
    )
}

fn needs_signature(kind: EntryKind) -> bool {
    matches!(kind, EntryKind::Vote | EntryKind::VoterKeyRotation)
}

/// Entries checked per batch; each batch is parsed and its signatures
/// checked in parallel, then its entries are applied in order.
const BATCH: usize = 4096;

/// An entry as given to [`verify`] or [`verify_bytes`].
trait Input: Send {
    /// The entry and, if already decoded, its payload; `None` for bytes
    /// whose kind is known not to be a governance kind (not parsed: the
    /// ledger verifier checks those).
    fn into_entry(self) -> Option<Result<(Entry, Option<Payload>), EntryError>>;
}

impl Input for Entry {
    fn into_entry(self) -> Option<Result<(Entry, Option<Payload>), EntryError>> {
        Some(Ok((self, None)))
    }
}

impl Input for Vec<u8> {
    fn into_entry(self) -> Option<Result<(Entry, Option<Payload>), EntryError>> {
        match steward_ledger::entry::peek_kind(&self) {
            Some(kind) if !is_governance(kind) => None,
            _ => Some(Entry::from_canonical_bytes_with_payload(&self).map(|(e, p)| (e, Some(p)))),
        }
    }
}

/// A governance entry with its decoded payload and signature check.
struct Checked {
    entry: Entry,
    payload: Result<Payload, EntryError>,
    signature: Option<Result<(), SignatureError>>,
}

/// What the parallel phase prepares for one entry.
enum Prepared {
    /// Not a governance entry.
    Skip,
    /// Bytes that are not a valid entry.
    Bad(EntryError),
    /// A governance entry with its decoded payload and signature check.
    Entry(Box<Checked>),
}

fn prepare(input: impl Input, registry: &Registry, keys: &mut HashMap<String, Option<VerifierKey>>) -> Prepared {
    match input.into_entry() {
        None => Prepared::Skip,
        Some(Err(e)) => Prepared::Bad(e),
        Some(Ok((entry, _))) if !is_governance(entry.kind) => Prepared::Skip,
        Some(Ok((entry, payload))) => {
            let signature =
                needs_signature(entry.kind).then(|| verify_named_signature(&entry, |k| registry.key(k), keys));
            let payload = payload.map_or_else(|| entry.typed_payload(), Ok);
            Prepared::Entry(Box::new(Checked { entry, payload, signature }))
        }
    }
}

fn run<T: Input, I: IntoIterator<Item = (u64, T)>>(entries: I) -> Result<VerifyReport, VerifyError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let mut verifier = Verifier::new();
    let mut caches: Vec<HashMap<String, Option<VerifierKey>>> = vec![HashMap::new(); threads];
    let mut entries = entries.into_iter();
    loop {
        let mut batch: Vec<(u64, Option<T>)> = entries.by_ref().take(BATCH).map(|(i, e)| (i, Some(e))).collect();
        if batch.is_empty() {
            break;
        }
        let indexes: Vec<u64> = batch.iter().map(|(i, _)| *i).collect();
        // Keys registered before this batch come parsed from the registry.
        let prepared = prepare_batch(&mut batch, &verifier.registry, &mut caches);
        for (index, item) in indexes.into_iter().zip(prepared) {
            match item {
                Prepared::Skip => verifier.report.entries += 1,
                Prepared::Bad(e) => return Err(VerifyError { index, failure: Failure::Entry(e) }),
                Prepared::Entry(prepared) => {
                    let Checked { entry, payload, signature } = *prepared;
                    verifier.push_checked(index, &entry, payload, signature)?;
                }
            }
        }
    }
    Ok(verifier.finish())
}

fn prepare_batch<T: Input>(
    batch: &mut [(u64, Option<T>)],
    registry: &Registry,
    caches: &mut [HashMap<String, Option<VerifierKey>>],
) -> Vec<Prepared> {
    let per_thread = batch.len().div_ceil(caches.len().max(1)).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = batch
            .chunks_mut(per_thread)
            .zip(caches.iter_mut())
            .map(|(part, cache)| {
                let len = part.len();
                let handle = scope.spawn(move || {
                    part.iter_mut()
                        .map(|(_, item)| match item.take() {
                            Some(input) => prepare(input, registry, cache),
                            None => Prepared::Skip,
                        })
                        .collect::<Vec<_>>()
                });
                (len, handle)
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|(len, h)| {
                // A panic in a worker would be a bug; report its entries as
                // invalid rather than crash the verifier.
                h.join().unwrap_or_else(|_| {
                    (0..len).map(|_| Prepared::Bad(EntryError::Json("entry check failed".into()))).collect()
                })
            })
            .collect()
    })
}

/// Verifies every governance entry of a ledger given in index order and
/// returns what it saw, or the first entry that does not follow. Payloads
/// and signatures are checked on up to `available_parallelism` threads
/// (the result does not depend on how many).
pub fn verify<I>(entries: I) -> Result<VerifyReport, VerifyError>
where
    I: IntoIterator<Item = (u64, Entry)>,
{
    run(entries)
}

/// [`verify`] over stored canonical entry bytes: what `steward governance
/// verify` reads from a database or an export. Bytes of other kinds are
/// skipped by their kind (the ledger verifier checks them); governance
/// entries are parsed in parallel.
pub fn verify_bytes<I>(entries: I) -> Result<VerifyReport, VerifyError>
where
    I: IntoIterator<Item = (u64, Vec<u8>)>,
{
    run(entries)
}
