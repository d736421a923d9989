//! A ledger built the way the server will build it, through the crate's
//! public API only: registrations, proposals opened with their electorate,
//! votes signed by the voters' keys and checked before they are appended,
//! and decisions appended as soon as [`decide`] returns one.
#![allow(dead_code)] // each test binary uses a different part

use std::collections::HashMap;

use steward_governance::{
    Ballots, Electorate, GovernanceConfig, ProposalDraft, ProposalStatus, Registry, VoteError, check_vote, decide,
    open_proposal,
};
use steward_ledger::entry::{
    Entry, ExceptionGranted, ExceptionScope, Payload, Proposal, ProposalCategory, ProposalWithdrawal,
    RequestedException, SchemaV1, Timestamp, Vote, VoteChoice, VoterKeyRotation, VoterRegistration,
};
use steward_ledger::note::SignerKey;

pub const BODY: &str = "# RFC\n\nLet us do the thing.\n";

pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// `2026-03-01T00:00:00Z` plus `minutes`.
pub fn at(minutes: u64) -> Timestamp {
    Timestamp::from_unix(1_772_323_200 + minutes * 60, 0).unwrap()
}

pub fn key(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed(&format!("{name}@steward"), &[seed; 32]).unwrap()
}

struct Open {
    proposal: Proposal,
    electorate: Electorate,
    ballots: Ballots,
    withdrawn: bool,
    decided: bool,
}

#[derive(Default)]
pub struct Harness {
    pub entries: Vec<(u64, Entry)>,
    pub registry: Registry,
    open: HashMap<String, Open>,
    pub config: GovernanceConfig,
}

impl Harness {
    pub fn new(config: GovernanceConfig) -> Harness {
        Harness { config, ..Harness::default() }
    }

    pub fn append(&mut self, entry: Entry) -> u64 {
        let index = self.entries.len() as u64;
        // Every entry goes through its canonical bytes, as in the store.
        let bytes = entry.canonical_bytes().unwrap();
        self.entries.push((index, Entry::from_canonical_bytes(&bytes).unwrap()));
        index
    }

    pub fn register(&mut self, voter: &str, classes: &[&str], key: &SignerKey, from: u64, until: Option<u64>) -> u64 {
        let mut classes: Vec<String> = classes.iter().map(|c| c.to_string()).collect();
        classes.sort();
        let r = VoterRegistration {
            schema: SchemaV1,
            voter: voter.into(),
            classes,
            key: key.verifier_key().to_string(),
            not_before: at(from),
            not_after: until.map(at),
        };
        self.registry.register(&r).unwrap();
        self.append(Entry::new(&Payload::VoterRegistration(r), at(from), "token:admin").unwrap())
    }

    pub fn rotate(&mut self, voter: &str, old: &SignerKey, new: &SignerKey, time: u64) -> u64 {
        let r = VoterKeyRotation {
            schema: SchemaV1,
            voter: voter.into(),
            old_key: old.verifier_key().to_string(),
            new_key: new.verifier_key().to_string(),
            not_after: None,
        };
        let mut e = Entry::new(&Payload::VoterKeyRotation(r), at(time), voter).unwrap();
        e.sign(old).unwrap();
        self.registry.rotate(&e).unwrap();
        self.append(e)
    }

    pub fn draft(&self, id: &str, category: ProposalCategory, opens: u64, closes: u64) -> ProposalDraft {
        ProposalDraft {
            proposal_id: id.into(),
            title: format!("Proposal {id}"),
            category,
            body_sha256: sha256_hex(BODY),
            opens_at: at(opens),
            closes_at: at(closes),
            threshold_bp: None,
            veto_classes: None,
            exception: (category == ProposalCategory::LicenseException).then(|| RequestedException {
                scope: ExceptionScope {
                    ecosystem: "npm".into(),
                    package: "left-pad".into(),
                    versions: None,
                    license: "BUSL-1.1".into(),
                    projects: vec![],
                },
                expires_at: None,
            }),
        }
    }

    pub fn open(&mut self, draft: &ProposalDraft, author: &str) -> (u64, Proposal) {
        let electorate = Electorate::from_voters(
            self.registry.voters(),
            self.config.class_names(),
            &draft.opens_at,
            &draft.closes_at,
        );
        let proposal = open_proposal(draft, &self.config, &electorate).unwrap();
        let index =
            self.append(Entry::new(&Payload::Proposal(proposal.clone()), draft.opens_at.clone(), author).unwrap());
        self.open.insert(
            proposal.proposal_id.clone(),
            Open {
                ballots: Ballots::new(&proposal),
                proposal: proposal.clone(),
                electorate,
                withdrawn: false,
                decided: false,
            },
        );
        (index, proposal)
    }

    pub fn signed_vote(
        &self,
        key: &SignerKey,
        voter: &str,
        proposal: &Proposal,
        class: &str,
        choice: VoteChoice,
        time: u64,
    ) -> Entry {
        let v = Vote {
            schema: SchemaV1,
            proposal_id: proposal.proposal_id.clone(),
            body_sha256: proposal.body_sha256.clone(),
            voter: voter.into(),
            class: class.into(),
            choice,
        };
        let mut e = Entry::new(&Payload::Vote(v), at(time), voter).unwrap();
        e.sign(key).unwrap();
        e
    }

    /// What the server does with a vote: check, append, count, and decide
    /// at once if the outcome is final. Returns (vote index, decision index).
    pub fn submit(&mut self, entry: Entry) -> Result<(u64, Option<u64>), VoteError> {
        let Payload::Vote(v) = entry.typed_payload().unwrap() else { panic!("not a vote") };
        let open = self.open.get(&v.proposal_id).expect("known proposal");
        let status = if open.decided {
            ProposalStatus::Decided
        } else if open.withdrawn {
            ProposalStatus::Withdrawn
        } else {
            ProposalStatus::Open
        };
        let checked = check_vote(&entry, &open.proposal, status, self.registry.voter(&v.voter), &open.electorate)?;
        let time = entry.time.clone();
        let index = self.append(entry);
        let open = self.open.get_mut(&v.proposal_id).unwrap();
        open.ballots.record(&checked, index);
        let decision = decide(&open.proposal, &open.ballots, false, &time);
        let decided = decision.map(|d| {
            open.decided = true;
            Entry::new(&Payload::Decision(d), time, "steward").unwrap()
        });
        Ok((index, decided.map(|d| self.append(d))))
    }

    pub fn vote(
        &mut self,
        key: &SignerKey,
        voter: &str,
        proposal_id: &str,
        class: &str,
        choice: VoteChoice,
        time: u64,
    ) -> Result<(u64, Option<u64>), VoteError> {
        let proposal = self.open[proposal_id].proposal.clone();
        let e = self.signed_vote(key, voter, &proposal, class, choice, time);
        self.submit(e)
    }

    /// The closing decision at `time` (window end, or after a withdrawal).
    pub fn close(&mut self, proposal_id: &str, time: u64) -> Option<u64> {
        let open = self.open.get_mut(proposal_id).unwrap();
        if open.decided {
            return None;
        }
        let d = decide(&open.proposal, &open.ballots, open.withdrawn, &at(time))?;
        open.decided = true;
        Some(self.append(Entry::new(&Payload::Decision(d), at(time), "steward").unwrap()))
    }

    pub fn withdraw(&mut self, proposal_id: &str, author: &str, time: u64) -> u64 {
        self.open.get_mut(proposal_id).unwrap().withdrawn = true;
        let w = ProposalWithdrawal { schema: SchemaV1, proposal_id: proposal_id.into(), reason: None };
        self.append(Entry::new(&Payload::ProposalWithdrawal(w), at(time), author).unwrap())
    }

    pub fn grant(&mut self, proposal_id: &str, decision_index: u64, time: u64) -> u64 {
        let asked = self.open[proposal_id].proposal.exception.clone().unwrap();
        let g = ExceptionGranted {
            schema: SchemaV1,
            exception_id: format!("{proposal_id}-granted"),
            proposal_id: Some(proposal_id.into()),
            decision_index: Some(decision_index),
            scope: asked.scope,
            expires_at: asked.expires_at,
        };
        self.append(Entry::new(&Payload::ExceptionGranted(g), at(time), "steward").unwrap())
    }

    pub fn status(&self, proposal_id: &str) -> (bool, bool) {
        let o = &self.open[proposal_id];
        (o.withdrawn, o.decided)
    }
}
