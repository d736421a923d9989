//! Vote validation and the ballot box: pure checks of a signed `vote`
//! entry against its proposal, the voter's keys and the electorate, and
//! the replacement rule (a later vote by the same voter in the same class
//! replaces the earlier one until the proposal is decided).

use std::collections::HashMap;

use steward_ledger::entry::{Decision, Entry, EntryKind, Payload, Proposal, Timestamp, Vote, VoteChoice};

use crate::proposal::Electorate;
use crate::registry::Voter;
use crate::signature::{SignatureError, shown, verify_entry_signature};
use crate::tally::{Counts, Tally};

/// Where a proposal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProposalStatus {
    /// Votes are accepted (within the window).
    Open,
    /// Withdrawn by its author; a `withdrawn` decision follows.
    Withdrawn,
    /// A decision was recorded (or is final): voting is over.
    Decided,
}

/// Why a vote is refused. Each has a stable kebab-case [`VoteError::code`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VoteError {
    /// The entry is not a vote.
    #[error("a {0} entry is not a vote")]
    NotAVote(EntryKind),
    /// The payload breaks the vote schema.
    #[error("{0}")]
    Payload(#[from] steward_ledger::EntryError),
    /// The vote names another proposal.
    #[error("the vote is for proposal {got}, not {expected}")]
    WrongProposal {
        /// The proposal checked against.
        expected: String,
        /// The proposal in the vote.
        got: String,
    },
    /// The body digest differs: the voter read another text.
    #[error("the vote binds body {got} but proposal {proposal} has body {expected}")]
    WrongBody {
        /// The proposal.
        proposal: String,
        /// Its body digest.
        expected: String,
        /// The digest in the vote.
        got: String,
    },
    /// The proposal was withdrawn.
    #[error("proposal {0} was withdrawn")]
    Withdrawn(String),
    /// The proposal is decided: voting is closed.
    #[error("proposal {0} is decided; voting is closed")]
    Decided(String),
    /// Before the window.
    #[error("the vote's time {time} is before voting opens at {opens_at}")]
    NotOpenYet {
        /// The vote's time.
        time: Timestamp,
        /// The window's start.
        opens_at: Timestamp,
    },
    /// At or after the window's end.
    #[error("the vote's time {time} is not before voting closed at {closes_at}")]
    Closed {
        /// The vote's time.
        time: Timestamp,
        /// The window's end.
        closes_at: Timestamp,
    },
    /// The entry's time is too far from the server's clock.
    #[error(
        "the vote's time {time} is {skew_seconds} s from the server's clock ({now}); at most {max_skew_seconds} s is accepted"
    )]
    ClockSkew {
        /// The vote's time.
        time: Timestamp,
        /// The server's time.
        now: Timestamp,
        /// The difference in whole seconds.
        skew_seconds: u64,
        /// The tolerance.
        max_skew_seconds: u64,
    },
    /// The entry's actor is not the voter.
    #[error("the vote by {voter} has actor {actor}; the actor must be the voter")]
    ActorMismatch {
        /// The voter in the payload.
        voter: String,
        /// The entry's actor.
        actor: String,
    },
    /// Nobody registered under that identity.
    #[error("voter {0} is not registered")]
    UnknownVoter(String),
    /// The proposal has no such class.
    #[error("proposal {proposal} has no voter class {class}")]
    UnknownClass {
        /// The proposal.
        proposal: String,
        /// The class voted in.
        class: String,
    },
    /// Not in the class's electorate when the proposal opened.
    #[error("voter {voter} was not in class {class} when proposal {proposal} opened")]
    NotInClass {
        /// The voter.
        voter: String,
        /// The class.
        class: String,
        /// The proposal.
        proposal: String,
    },
    /// A veto outside the veto classes.
    #[error("class {class} may not veto proposal {proposal}")]
    VetoNotAllowed {
        /// The class.
        class: String,
        /// The proposal.
        proposal: String,
    },
    /// No actor signature.
    #[error("the vote by {0} is not signed")]
    Unsigned(String),
    /// Signed by a key that is not the voter's.
    #[error("key {key} is not registered to voter {voter}")]
    KeyNotRegistered {
        /// The voter.
        voter: String,
        /// The signing key (at most 120 characters).
        key: String,
    },
    /// Signed by a key outside its validity window at the vote's time.
    #[error("key {key} of voter {voter} is not valid at {time} (valid from {not_before}{until})", until = not_after.as_ref().map(|t| format!(" until {t}")).unwrap_or_default())]
    KeyOutsideWindow {
        /// The voter.
        voter: String,
        /// The key.
        key: String,
        /// The vote's time.
        time: Timestamp,
        /// Key valid from.
        not_before: Timestamp,
        /// Key valid until (excluded).
        not_after: Option<Timestamp>,
    },
    /// The signature does not verify (or is malformed).
    #[error("the vote by {voter}: {reason}")]
    BadSignature {
        /// The voter.
        voter: String,
        /// What is wrong.
        reason: SignatureError,
    },
}

impl VoteError {
    /// A stable kebab-case code for APIs and pages.
    pub fn code(&self) -> &'static str {
        match self {
            VoteError::NotAVote(_) => "not-a-vote",
            VoteError::Payload(_) => "invalid-vote",
            VoteError::WrongProposal { .. } => "wrong-proposal",
            VoteError::WrongBody { .. } => "wrong-body",
            VoteError::Withdrawn(_) => "proposal-withdrawn",
            VoteError::Decided(_) => "proposal-decided",
            VoteError::NotOpenYet { .. } => "voting-not-open",
            VoteError::Closed { .. } => "voting-closed",
            VoteError::ClockSkew { .. } => "clock-skew",
            VoteError::ActorMismatch { .. } => "actor-mismatch",
            VoteError::UnknownVoter(_) => "unknown-voter",
            VoteError::UnknownClass { .. } => "unknown-class",
            VoteError::NotInClass { .. } => "not-in-class",
            VoteError::VetoNotAllowed { .. } => "veto-not-allowed",
            VoteError::Unsigned(_) => "unsigned",
            VoteError::KeyNotRegistered { .. } => "key-not-registered",
            VoteError::KeyOutsideWindow { .. } => "key-outside-window",
            VoteError::BadSignature { .. } => "bad-signature",
        }
    }
}

/// A vote that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedVote {
    /// The voter.
    pub voter: String,
    /// The class voted in.
    pub class: String,
    /// Its position in the proposal's `voter_classes`.
    pub class_index: usize,
    /// The choice.
    pub choice: VoteChoice,
    /// The key that signed it.
    pub key: String,
}

/// Checks that the entry's time is within `max_skew_seconds` of the
/// server's clock `now` (the voter sets the time when signing).
pub fn check_clock(time: &Timestamp, now: &Timestamp, max_skew_seconds: u64) -> Result<(), VoteError> {
    let (a, b) = (time.unix_time(), now.unix_time());
    let (early, late) = if a <= b { (a, b) } else { (b, a) };
    // Whole seconds, rounded up.
    let mut skew = late.0.abs_diff(early.0);
    if late.1 > early.1 {
        skew += 1;
    }
    if skew > max_skew_seconds {
        return Err(VoteError::ClockSkew {
            time: time.clone(),
            now: now.clone(),
            skew_seconds: skew,
            max_skew_seconds,
        });
    }
    Ok(())
}

/// Checks a signed `vote` entry against its proposal, the proposal's
/// status, the voter's registry record (`None` if unknown; keys as of now)
/// and the proposal's electorate. Does not check the server's clock (see
/// [`check_clock`]).
pub fn check_vote(
    entry: &Entry,
    proposal: &Proposal,
    status: ProposalStatus,
    voter: Option<&Voter>,
    electorate: &Electorate,
) -> Result<CheckedVote, VoteError> {
    if entry.kind != EntryKind::Vote {
        return Err(VoteError::NotAVote(entry.kind));
    }
    let Payload::Vote(vote) = entry.typed_payload()? else {
        return Err(VoteError::NotAVote(entry.kind));
    };
    check_vote_payload(entry, &vote, proposal, status, voter, electorate, None)
}

/// [`check_vote`] with the payload decoded and, optionally, the
/// signature already verified against the key the entry names.
pub(crate) fn check_vote_payload(
    entry: &Entry,
    vote: &Vote,
    proposal: &Proposal,
    status: ProposalStatus,
    voter: Option<&Voter>,
    electorate: &Electorate,
    signature_checked: Option<Result<(), SignatureError>>,
) -> Result<CheckedVote, VoteError> {
    let pid = &proposal.proposal_id;
    if vote.proposal_id != *pid {
        return Err(VoteError::WrongProposal { expected: pid.clone(), got: vote.proposal_id.clone() });
    }
    if vote.body_sha256 != proposal.body_sha256 {
        return Err(VoteError::WrongBody {
            proposal: pid.clone(),
            expected: proposal.body_sha256.clone(),
            got: vote.body_sha256.clone(),
        });
    }
    match status {
        ProposalStatus::Open => {}
        ProposalStatus::Withdrawn => return Err(VoteError::Withdrawn(pid.clone())),
        ProposalStatus::Decided => return Err(VoteError::Decided(pid.clone())),
    }
    if entry.time < proposal.opens_at {
        return Err(VoteError::NotOpenYet { time: entry.time.clone(), opens_at: proposal.opens_at.clone() });
    }
    if entry.time >= proposal.closes_at {
        return Err(VoteError::Closed { time: entry.time.clone(), closes_at: proposal.closes_at.clone() });
    }
    if entry.actor != vote.voter {
        return Err(VoteError::ActorMismatch { voter: vote.voter.clone(), actor: shown(&entry.actor) });
    }
    let Some(voter) = voter.filter(|v| v.id == vote.voter) else {
        return Err(VoteError::UnknownVoter(vote.voter.clone()));
    };
    let Some(class_index) = proposal.voter_classes.iter().position(|c| c.name == vote.class) else {
        return Err(VoteError::UnknownClass { proposal: pid.clone(), class: vote.class.clone() });
    };
    if !electorate.contains(&vote.class, &vote.voter) {
        return Err(VoteError::NotInClass {
            voter: vote.voter.clone(),
            class: vote.class.clone(),
            proposal: pid.clone(),
        });
    }
    if vote.choice == VoteChoice::Veto && !proposal.veto_classes.contains(&vote.class) {
        return Err(VoteError::VetoNotAllowed { class: vote.class.clone(), proposal: pid.clone() });
    }
    let Some(sig) = &entry.signature else {
        return Err(VoteError::Unsigned(vote.voter.clone()));
    };
    let Some(key) = voter.key(&sig.key) else {
        return Err(VoteError::KeyNotRegistered { voter: vote.voter.clone(), key: shown(&sig.key) });
    };
    if !key.valid_at(&entry.time) {
        return Err(VoteError::KeyOutsideWindow {
            voter: vote.voter.clone(),
            key: key.text.clone(),
            time: entry.time.clone(),
            not_before: key.not_before.clone(),
            not_after: key.not_after.clone(),
        });
    }
    signature_checked
        .unwrap_or_else(|| verify_entry_signature(entry, &key.text, &key.key))
        .map_err(|reason| VoteError::BadSignature { voter: vote.voter.clone(), reason })?;
    Ok(CheckedVote {
        voter: vote.voter.clone(),
        class: vote.class.clone(),
        class_index,
        choice: vote.choice,
        key: key.text.clone(),
    })
}

/// The votes of one proposal: the latest choice of each (voter, class),
/// the counts per class, and what a decision must report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ballots {
    latest: HashMap<(String, usize), VoteChoice>,
    counts: Vec<Counts>,
    entries: u64,
    last_index: Option<u64>,
}

impl Ballots {
    /// An empty ballot box for a proposal.
    pub fn new(proposal: &Proposal) -> Ballots {
        Ballots { counts: vec![Counts::default(); proposal.voter_classes.len()], ..Ballots::default() }
    }

    /// Records a checked vote at ledger `index`; returns the choice it
    /// replaces, if any.
    pub fn record(&mut self, vote: &CheckedVote, index: u64) -> Option<VoteChoice> {
        if self.counts.len() <= vote.class_index {
            self.counts.resize(vote.class_index + 1, Counts::default());
        }
        let earlier = self.latest.insert((vote.voter.clone(), vote.class_index), vote.choice);
        let counts = &mut self.counts[vote.class_index];
        if let Some(earlier) = earlier {
            counts.remove(earlier);
        }
        counts.add(vote.choice);
        self.entries += 1;
        self.last_index = Some(self.last_index.map_or(index, |i| i.max(index)));
        earlier
    }

    /// Counts per class, in the proposal's order.
    pub fn counts(&self) -> &[Counts] {
        &self.counts
    }

    /// Vote entries recorded, replaced ones included.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Ledger index of the last vote recorded.
    pub fn last_index(&self) -> Option<u64> {
        self.last_index
    }

    /// The current choice of `voter` in the class at `class_index`.
    pub fn choice_of(&self, voter: &str, class_index: usize) -> Option<VoteChoice> {
        self.latest.get(&(voter.to_owned(), class_index)).copied()
    }
}

/// The `decision` a proposal gets at `time`, if it is decided then:
/// withdrawn → `withdrawn`; at or after `closes_at` → the tally at close;
/// before → the tally if the outcome is final (early decision), else
/// `None`.
pub fn decide(proposal: &Proposal, ballots: &Ballots, withdrawn: bool, time: &Timestamp) -> Option<Decision> {
    let tally = if withdrawn {
        Tally::withdrawn(proposal)
    } else if *time >= proposal.closes_at {
        Tally::at_close(proposal, ballots.counts())
    } else {
        Tally::early(proposal, ballots.counts())?
    };
    let (entries, last) = if withdrawn { (0, None) } else { (ballots.entries(), ballots.last_index()) };
    Some(tally.decision(&proposal.proposal_id, entries, last))
}
