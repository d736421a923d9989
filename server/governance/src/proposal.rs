//! Opening a proposal: its electorate (who may vote, frozen when it
//! opens) and the `proposal` payload with the parameters in force.

use std::collections::{BTreeMap, BTreeSet};

use steward_ledger::entry::{Payload, Proposal, ProposalCategory, RequestedException, SchemaV1, Timestamp, VoterClass};

use crate::config::GovernanceConfig;
use crate::registry::{Registry, Voter};
use crate::tally::{Counts, final_outcome, quorum_required};

/// The rule for eligibility: a voter is in the electorate of `class` for a
/// window `[opens_at, closes_at)` if the registrations put them in the
/// class and one of their keys is valid at some instant of the window.
pub fn is_eligible(voter: &Voter, class: &str, opens_at: &Timestamp, closes_at: &Timestamp) -> bool {
    voter.in_class(class) && voter.keys.iter().any(|k| k.overlaps(opens_at, closes_at))
}

/// Who may vote on a proposal, per class: computed from the registry when
/// the proposal opens and never changed after.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Electorate {
    classes: BTreeMap<String, BTreeSet<String>>,
}

impl Electorate {
    /// The electorate of the given classes over a window, from every
    /// registered voter.
    pub fn from_voters<'a>(
        voters: impl IntoIterator<Item = &'a Voter>,
        classes: impl IntoIterator<Item = &'a str>,
        opens_at: &Timestamp,
        closes_at: &Timestamp,
    ) -> Electorate {
        let mut out: BTreeMap<String, BTreeSet<String>> =
            classes.into_iter().map(|c| (c.to_owned(), BTreeSet::new())).collect();
        for voter in voters {
            for (class, members) in out.iter_mut() {
                if is_eligible(voter, class, opens_at, closes_at) {
                    members.insert(voter.id.clone());
                }
            }
        }
        Electorate { classes: out }
    }

    /// The electorate for `proposal`'s classes and window, from `registry`.
    pub fn for_proposal(registry: &Registry, proposal: &Proposal) -> Electorate {
        Electorate::from_voters(
            registry.voters(),
            proposal.voter_classes.iter().map(|c| c.name.as_str()),
            &proposal.opens_at,
            &proposal.closes_at,
        )
    }

    /// An electorate from stored `(class, voter)` pairs (a server that keeps
    /// the electorate in its store, or only one voter's part of it).
    pub fn from_members(members: impl IntoIterator<Item = (String, String)>) -> Electorate {
        let mut classes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (class, voter) in members {
            classes.entry(class).or_default().insert(voter);
        }
        Electorate { classes }
    }

    /// Whether `voter` may vote in `class`.
    pub fn contains(&self, class: &str, voter: &str) -> bool {
        self.classes.get(class).is_some_and(|m| m.contains(voter))
    }

    /// Number of voters eligible in `class`.
    pub fn count(&self, class: &str) -> u64 {
        self.classes.get(class).map_or(0, |m| m.len() as u64)
    }

    /// `(class, voter)` pairs, sorted: what a server stores.
    pub fn members(&self) -> impl Iterator<Item = (&str, &str)> {
        self.classes.iter().flat_map(|(c, m)| m.iter().map(move |v| (c.as_str(), v.as_str())))
    }
}

/// What the author of a proposal provides; the rest comes from the
/// configuration and the electorate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProposalDraft {
    /// Unique id.
    pub proposal_id: String,
    /// Title.
    pub title: String,
    /// Category.
    pub category: ProposalCategory,
    /// SHA-256 (hex) of the Markdown body.
    pub body_sha256: String,
    /// Voting opens.
    pub opens_at: Timestamp,
    /// Voting closes (excluded).
    pub closes_at: Timestamp,
    /// Threshold for this proposal; `None` = the configured default.
    pub threshold_bp: Option<u32>,
    /// Veto classes for this proposal; `None` = the configured default.
    pub veto_classes: Option<Vec<String>>,
    /// For a license exception: what is asked for.
    pub exception: Option<RequestedException>,
}

/// Why a proposal cannot be opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The payload breaks a schema rule (the message names the field).
    #[error(transparent)]
    Payload(#[from] steward_ledger::EntryError),
    /// A class's quorum can never be met.
    #[error(
        "class {class} has {eligible} eligible voters but its quorum needs {required}: register voters or lower quorum_min"
    )]
    QuorumUnreachable {
        /// Class name.
        class: String,
        /// Eligible voters.
        eligible: u64,
        /// Voters the quorum needs.
        required: u64,
    },
    /// The outcome would be decided before any vote (e.g. no voters).
    #[error("the outcome would be {outcome} before any vote: no class has eligible voters")]
    DecidedAtOpening {
        /// The outcome.
        outcome: steward_ledger::entry::DecisionOutcome,
    },
}

/// The `proposal` payload for a draft: the configured classes with their
/// electorate sizes, the threshold and veto classes. Refuses a proposal
/// whose quorum cannot be met or whose outcome is settled before any vote.
pub fn open_proposal(
    draft: &ProposalDraft,
    config: &GovernanceConfig,
    electorate: &Electorate,
) -> Result<Proposal, OpenError> {
    config.validate()?;
    let mut veto_classes = draft.veto_classes.clone().unwrap_or_else(|| config.veto_classes.clone());
    veto_classes.sort();
    veto_classes.dedup();
    let proposal = Proposal {
        schema: SchemaV1,
        proposal_id: draft.proposal_id.clone(),
        title: draft.title.clone(),
        category: draft.category,
        body_sha256: draft.body_sha256.clone(),
        voter_classes: config
            .classes
            .iter()
            .map(|c| VoterClass {
                name: c.name.clone(),
                weight_bp: c.weight_bp,
                quorum_bp: c.quorum_bp,
                quorum_min: c.quorum_min,
                eligible: electorate.count(&c.name),
            })
            .collect(),
        threshold_bp: draft.threshold_bp.unwrap_or(config.threshold_bp),
        veto_classes,
        opens_at: draft.opens_at.clone(),
        closes_at: draft.closes_at.clone(),
        exception: draft.exception.clone(),
    };
    Payload::Proposal(proposal.clone()).validate()?;
    for class in &proposal.voter_classes {
        let required = quorum_required(class);
        if required > class.eligible {
            return Err(OpenError::QuorumUnreachable { class: class.name.clone(), eligible: class.eligible, required });
        }
    }
    let none = vec![Counts::default(); proposal.voter_classes.len()];
    if let Some(outcome) = final_outcome(&proposal, &none) {
        return Err(OpenError::DecidedAtOpening { outcome });
    }
    Ok(proposal)
}
