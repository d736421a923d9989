//! The tally and early decision against a naive reference on random
//! proposals and votes (proptest, so a failure shrinks to a small case).
//!
//! - The ballot box and tally equal a naive recomputation (latest vote per
//!   voter and class, counts by scanning, quorum as the least count that
//!   reaches the share, share compared by cross-multiplying in u128).
//! - Early decision, by brute force over EVERY completion: each eligible
//!   voter who has not voted chooses nothing, yes, no, abstain or (in a veto
//!   class) veto. Whenever `final_outcome` reports an outcome, every
//!   completion ends with it; and whenever every completion ends with the
//!   same outcome, `final_outcome` reports it (it is never conservative).

use std::collections::BTreeMap;

use proptest::prelude::*;
use steward_governance::{Ballots, CheckedVote, Counts, Tally, final_outcome};
use steward_ledger::entry::{DecisionOutcome, Proposal, ProposalCategory, SchemaV1, Timestamp, VoteChoice, VoterClass};

const NAMES: [&str; 3] = ["a", "b", "c"];

#[derive(Clone, Debug)]
struct Case {
    proposal: Proposal,
    /// (class index, voter number in the class, choice), in ledger order.
    votes: Vec<(usize, u64, VoteChoice)>,
}

fn choice() -> impl Strategy<Value = VoteChoice> {
    prop_oneof![
        3 => Just(VoteChoice::Yes),
        3 => Just(VoteChoice::No),
        1 => Just(VoteChoice::Abstain),
        1 => Just(VoteChoice::Veto),
    ]
}

/// Proposals of 1–3 classes with random weights, quorums and thresholds
/// (edge values favoured), and votes by eligible voters (a veto outside a
/// veto class becomes an abstention: the vote check refuses such vetoes).
fn case(max_eligible: u64, max_votes: usize) -> impl Strategy<Value = Case> {
    (1usize..=3)
        .prop_flat_map(move |n| {
            (
                proptest::collection::vec(1u32..=100, n),
                proptest::collection::vec(prop_oneof![Just(0u32), Just(5_000), Just(10_000), 0u32..=10_000], n),
                proptest::collection::vec(0u64..=3, n),
                proptest::collection::vec(0..=max_eligible, n),
                prop_oneof![Just(5_000u32), Just(5_001), Just(6_667), Just(10_000), Just(1), 1u32..=10_000],
                proptest::collection::vec(any::<bool>(), n),
                proptest::collection::vec((0..n, 0..max_eligible.max(1), choice()), 0..=max_votes),
            )
        })
        .prop_map(|(raw_weights, quorum_bp, quorum_min, eligible, threshold_bp, veto, raw_votes)| {
            let n = raw_weights.len();
            // Weights ≥ 1 summing to exactly 10000.
            let total: u32 = raw_weights.iter().sum();
            let mut weights: Vec<u32> = raw_weights.iter().map(|w| (w * (10_000 - n as u32) / total) + 1).collect();
            let sum: u32 = weights.iter().sum();
            weights[0] += 10_000 - sum;
            let voter_classes: Vec<VoterClass> = (0..n)
                .map(|i| VoterClass {
                    name: NAMES[i].into(),
                    weight_bp: weights[i],
                    quorum_bp: quorum_bp[i],
                    quorum_min: quorum_min[i],
                    eligible: eligible[i],
                })
                .collect();
            let veto_classes: Vec<String> = (0..n).filter(|&i| veto[i]).map(|i| NAMES[i].to_string()).collect();
            let votes = raw_votes
                .into_iter()
                .filter(|&(c, v, _)| v < voter_classes[c].eligible)
                .map(|(c, v, ch)| {
                    let ch = if ch == VoteChoice::Veto && !veto[c] { VoteChoice::Abstain } else { ch };
                    (c, v, ch)
                })
                .collect();
            let proposal = Proposal {
                schema: SchemaV1,
                proposal_id: "p".into(),
                title: "t".into(),
                category: ProposalCategory::Other,
                body_sha256: "0".repeat(64),
                voter_classes,
                threshold_bp,
                veto_classes,
                opens_at: Timestamp::parse("2026-01-01T00:00:00Z").unwrap(),
                closes_at: Timestamp::parse("2026-01-08T00:00:00Z").unwrap(),
                exception: None,
            };
            Case { proposal, votes }
        })
}

// ---------------------------------------------------------------------------
// The naive reference.
// ---------------------------------------------------------------------------

/// Latest choice per (class, voter).
fn latest(votes: &[(usize, u64, VoteChoice)]) -> BTreeMap<(usize, u64), VoteChoice> {
    let mut out = BTreeMap::new();
    for &(c, v, ch) in votes {
        out.insert((c, v), ch);
    }
    out
}

fn naive_counts(n: usize, ballots: &BTreeMap<(usize, u64), VoteChoice>) -> Vec<[u64; 4]> {
    let mut out = vec![[0u64; 4]; n];
    for (&(c, _), &ch) in ballots {
        let slot = match ch {
            VoteChoice::Yes => 0,
            VoteChoice::No => 1,
            VoteChoice::Abstain => 2,
            VoteChoice::Veto => 3,
        };
        out[c][slot] += 1;
    }
    out
}

fn naive_required(c: &VoterClass) -> u64 {
    // The least k with k / eligible ≥ quorum_bp / 10000, then the minimum.
    let mut k = 0;
    while k * 10_000 < c.eligible * u64::from(c.quorum_bp) {
        k += 1;
    }
    k.max(c.quorum_min)
}

/// (outcome, share in bp rounded down).
fn naive_outcome(p: &Proposal, counts: &[[u64; 4]]) -> (DecisionOutcome, u32) {
    let mut num: u128 = 0;
    let mut den: u128 = 1;
    let mut weights: u128 = 0;
    // Σ w·y/t as num/den, adding one fraction at a time.
    for (c, k) in p.voter_classes.iter().zip(counts) {
        let t = u128::from(k[0] + k[1]);
        if t == 0 {
            continue;
        }
        num = num * t + u128::from(c.weight_bp) * u128::from(k[0]) * den;
        den *= t;
        weights += u128::from(c.weight_bp);
    }
    let share_bp = if weights == 0 { 0 } else { (num * 10_000 / (den * weights)) as u32 };
    let outcome = if counts.iter().any(|k| k[3] > 0) {
        DecisionOutcome::Vetoed
    } else if p.voter_classes.iter().zip(counts).any(|(c, k)| k.iter().sum::<u64>() < naive_required(c)) {
        DecisionOutcome::NoQuorum
    } else if weights > 0 && num * 10_000 >= u128::from(p.threshold_bp) * den * weights {
        DecisionOutcome::Accepted
    } else {
        DecisionOutcome::Rejected
    };
    (outcome, share_bp)
}

/// Every outcome reachable by completing the votes, by enumerating each
/// remaining voter's choice.
fn completions(p: &Proposal, ballots: &BTreeMap<(usize, u64), VoteChoice>) -> Vec<DecisionOutcome> {
    let mut remaining = vec![];
    for (c, class) in p.voter_classes.iter().enumerate() {
        for v in 0..class.eligible {
            if !ballots.contains_key(&(c, v)) {
                remaining.push((c, v));
            }
        }
    }
    let options = |c: usize| -> Vec<Option<VoteChoice>> {
        let mut o = vec![None, Some(VoteChoice::Yes), Some(VoteChoice::No), Some(VoteChoice::Abstain)];
        if p.veto_classes.iter().any(|v| v == NAMES[c]) {
            o.push(Some(VoteChoice::Veto));
        }
        o
    };
    let mut outcomes = vec![];
    let mut pick = vec![0usize; remaining.len()];
    loop {
        let mut full = ballots.clone();
        for (&(c, v), &i) in remaining.iter().zip(&pick) {
            if let Some(ch) = options(c)[i] {
                full.insert((c, v), ch);
            }
        }
        let outcome = naive_outcome(p, &naive_counts(p.voter_classes.len(), &full)).0;
        if !outcomes.contains(&outcome) {
            outcomes.push(outcome);
        }
        // Next combination (odometer).
        let mut i = 0;
        loop {
            if i == pick.len() {
                return outcomes;
            }
            pick[i] += 1;
            if pick[i] < options(remaining[i].0).len() {
                break;
            }
            pick[i] = 0;
            i += 1;
        }
    }
}

fn ballots_of(case: &Case) -> Ballots {
    let mut ballots = Ballots::new(&case.proposal);
    for (i, &(c, v, choice)) in case.votes.iter().enumerate() {
        let vote =
            CheckedVote { voter: format!("v{v}"), class: NAMES[c].into(), class_index: c, choice, key: String::new() };
        ballots.record(&vote, i as u64 + 10);
    }
    ballots
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn tally_equals_a_naive_recount(case in case(40, 120)) {
        let ballots = ballots_of(&case);
        let reference = latest(&case.votes);
        let counts = naive_counts(case.proposal.voter_classes.len(), &reference);
        let got: Vec<[u64; 4]> = ballots.counts().iter().map(|c: &Counts| [c.yes, c.no, c.abstain, c.veto]).collect();
        prop_assert_eq!(&got, &counts);
        prop_assert_eq!(ballots.entries(), case.votes.len() as u64);
        prop_assert_eq!(ballots.last_index(), case.votes.len().checked_sub(1).map(|i| i as u64 + 10));

        let tally = Tally::at_close(&case.proposal, ballots.counts());
        let (outcome, share_bp) = naive_outcome(&case.proposal, &counts);
        prop_assert_eq!(tally.outcome, outcome);
        prop_assert_eq!(tally.yes_share_bp, share_bp);
        for (t, c) in tally.classes.iter().zip(&case.proposal.voter_classes) {
            prop_assert_eq!(t.quorum_required, naive_required(c));
            prop_assert_eq!(t.quorum_met, t.yes + t.no + t.abstain + t.veto >= naive_required(c));
            prop_assert_eq!(t.eligible, c.eligible);
        }
    }

    #[test]
    fn early_decision_is_exact_against_every_completion(case in case(3, 8)) {
        let ballots = ballots_of(&case);
        let reference = latest(&case.votes);
        let left: u64 = case.proposal.voter_classes.iter().map(|c| c.eligible).sum::<u64>() - reference.len() as u64;
        prop_assume!(left <= 6);
        let outcomes = completions(&case.proposal, &reference);
        let early = final_outcome(&case.proposal, ballots.counts());
        match early {
            // Reported: every completion ends this way (never wrong) …
            Some(o) => prop_assert_eq!(&outcomes, &vec![o], "early {:?} but completions give {:?}", o, outcomes),
            // … and not reported only if completions disagree (never conservative).
            None => prop_assert!(outcomes.len() > 1, "all completions give {:?} but no early decision", outcomes),
        }
        if let Some(o) = early {
            prop_assert_eq!(Tally::early(&case.proposal, ballots.counts()).map(|t| t.outcome), Some(o));
            prop_assert_eq!(Tally::at_close(&case.proposal, ballots.counts()).outcome, o);
        }
    }
}
