//! The tally: per-class turnout and quorum, the weighted yes share, veto,
//! the outcome, and early decision. Integer arithmetic only; the weighted
//! share is compared with the threshold exactly (big integers), and only
//! the reported `yes_share_bp` is rounded (down).
//!
//! `docs/GOVERNANCE.md` states the rules; in short, for the classes `A`
//! with yes + no > 0 ("active"), with weights `w`, yes `y` and no `n`:
//!
//! ```text
//! share = Σ_{c∈A} w_c · y_c / (y_c + n_c)  ÷  Σ_{c∈A} w_c
//! ```
//!
//! and the outcome is `vetoed` if any counted vote is a veto, else
//! `no-quorum` if a class's turnout is below its quorum, else `rejected` if
//! no class is active, else `accepted` when `share ≥ threshold_bp / 10000`,
//! else `rejected`.

use num_bigint::BigUint;
use steward_ledger::entry::{ClassTally, Decision, DecisionOutcome, Proposal, SchemaV1, VoteChoice, VoterClass};

/// Numbers of voters of one class by choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Counts {
    /// Voting yes.
    pub yes: u64,
    /// Voting no.
    pub no: u64,
    /// Abstaining.
    pub abstain: u64,
    /// Vetoing.
    pub veto: u64,
}

impl Counts {
    /// Voters who voted, whatever their choice.
    pub fn turnout(&self) -> u64 {
        self.yes.saturating_add(self.no).saturating_add(self.abstain).saturating_add(self.veto)
    }

    fn slot(&mut self, choice: VoteChoice) -> &mut u64 {
        match choice {
            VoteChoice::Yes => &mut self.yes,
            VoteChoice::No => &mut self.no,
            VoteChoice::Abstain => &mut self.abstain,
            VoteChoice::Veto => &mut self.veto,
        }
    }

    /// Counts one more vote.
    pub fn add(&mut self, choice: VoteChoice) {
        let slot = self.slot(choice);
        *slot = slot.saturating_add(1);
    }

    /// Takes one vote back (a replaced vote).
    pub fn remove(&mut self, choice: VoteChoice) {
        let slot = self.slot(choice);
        *slot = slot.saturating_sub(1);
    }
}

/// Voters who must vote in a class for its quorum:
/// `max(quorum_min, ⌈eligible × quorum_bp / 10000⌉)`.
pub fn quorum_required(class: &VoterClass) -> u64 {
    let share = (u128::from(class.eligible) * u128::from(class.quorum_bp)).div_ceil(10_000);
    // share ≤ eligible because quorum_bp ≤ 10000 (validated); saturate anyway.
    class.quorum_min.max(u64::try_from(share).unwrap_or(u64::MAX))
}

/// A weighted yes share as an exact fraction `num / den` of 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    num: BigUint,
    den: BigUint,
}

impl Share {
    /// The share over the classes with yes + no > 0, given `(yes, no)` per
    /// class in the proposal's order; `None` when no class has any.
    pub fn of(classes: &[VoterClass], yes_no: &[(u64, u64)]) -> Option<Share> {
        let active: Vec<(u64, u64, u64)> = classes
            .iter()
            .zip(yes_no)
            .filter_map(|(c, &(y, n))| {
                let total = y.checked_add(n)?;
                (total > 0).then_some((u64::from(c.weight_bp), y, total))
            })
            .collect();
        if active.is_empty() {
            return None;
        }
        // Σ w·y/t ÷ W = (Σ w·y·(P/t)) / (W·P), P = Π t.
        let product: BigUint = active.iter().map(|&(_, _, t)| BigUint::from(t)).product();
        let weights: u64 = active.iter().map(|&(w, _, _)| w).sum();
        let num: BigUint =
            active.iter().map(|&(w, y, t)| BigUint::from(w) * BigUint::from(y) * (&product / BigUint::from(t))).sum();
        Some(Share { num, den: product * BigUint::from(weights) })
    }

    /// Whether the share is at least `threshold_bp / 10000` (exact).
    pub fn reaches(&self, threshold_bp: u32) -> bool {
        &self.num * BigUint::from(10_000u32) >= &self.den * BigUint::from(threshold_bp)
    }

    /// The share in basis points, rounded down.
    pub fn bp(&self) -> u32 {
        let bp = (&self.num * BigUint::from(10_000u32)) / &self.den;
        u32::try_from(bp).unwrap_or(10_000).min(10_000)
    }
}

/// A proposal's tally and outcome.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Per class, in the proposal's order.
    pub classes: Vec<ClassTally>,
    /// Weighted yes share, basis points rounded down (0 when no class has
    /// yes or no votes).
    pub yes_share_bp: u32,
    /// The outcome.
    pub outcome: DecisionOutcome,
}

fn counts_at(counts: &[Counts], i: usize) -> Counts {
    counts.get(i).copied().unwrap_or_default()
}

fn is_veto_class(proposal: &Proposal, class: &str) -> bool {
    proposal.veto_classes.iter().any(|v| v == class)
}

impl Tally {
    fn build(
        proposal: &Proposal,
        counts: &[Counts],
        outcome: impl FnOnce(&[ClassTally], Option<&Share>) -> DecisionOutcome,
    ) -> Tally {
        let classes: Vec<ClassTally> = proposal
            .voter_classes
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let n = counts_at(counts, i);
                let required = quorum_required(c);
                ClassTally {
                    class: c.name.clone(),
                    eligible: c.eligible,
                    quorum_required: required,
                    yes: n.yes,
                    no: n.no,
                    abstain: n.abstain,
                    veto: n.veto,
                    quorum_met: n.turnout() >= required,
                }
            })
            .collect();
        let yes_no: Vec<(u64, u64)> = classes.iter().map(|c| (c.yes, c.no)).collect();
        let share = Share::of(&proposal.voter_classes, &yes_no);
        let outcome = outcome(&classes, share.as_ref());
        Tally { yes_share_bp: share.as_ref().map_or(0, Share::bp), classes, outcome }
    }

    /// The tally when voting ends at the window's close (or when the
    /// outcome is final): voters who did not vote simply did not.
    pub fn at_close(proposal: &Proposal, counts: &[Counts]) -> Tally {
        Tally::build(proposal, counts, |classes, share| {
            if classes.iter().any(|c| c.veto > 0) {
                DecisionOutcome::Vetoed
            } else if classes.iter().any(|c| !c.quorum_met) {
                DecisionOutcome::NoQuorum
            } else if share.is_some_and(|s| s.reaches(proposal.threshold_bp)) {
                DecisionOutcome::Accepted
            } else {
                DecisionOutcome::Rejected
            }
        })
    }

    /// The tally of a withdrawn proposal: no votes.
    pub fn withdrawn(proposal: &Proposal) -> Tally {
        Tally::build(proposal, &[], |_, _| DecisionOutcome::Withdrawn)
    }

    /// The tally if the outcome is already final (see [`final_outcome`]),
    /// else `None`.
    pub fn early(proposal: &Proposal, counts: &[Counts]) -> Option<Tally> {
        final_outcome(proposal, counts).map(|_| Tally::at_close(proposal, counts))
    }

    /// The `decision` payload recording this tally.
    pub fn decision(&self, proposal_id: &str, votes_counted: u64, last_vote_index: Option<u64>) -> Decision {
        Decision {
            schema: SchemaV1,
            proposal_id: proposal_id.to_owned(),
            outcome: self.outcome,
            yes_share_bp: self.yes_share_bp,
            tally: self.classes.clone(),
            votes_counted,
            last_vote_index,
        }
    }
}

/// Early decision: the outcome if it is the same whatever the eligible
/// voters who have not voted yet do (each may vote yes, no, abstain, veto
/// where allowed, or not vote), with the votes cast so far fixed; `None`
/// if some of them could still change it.
///
/// Exact, in O(classes): a cast veto decides; a veto class with voters
/// left means a veto is still possible; a class that cannot reach its
/// quorum any more decides `no-quorum`, one that has not reached it yet
/// leaves both `no-quorum` and a counted outcome possible; otherwise the
/// share is monotone in each class's votes, so the completions "everyone
/// left votes yes" and "everyone left votes no" bound every other one.
pub fn final_outcome(proposal: &Proposal, counts: &[Counts]) -> Option<DecisionOutcome> {
    let classes = &proposal.voter_classes;
    let now: Vec<Counts> = (0..classes.len()).map(|i| counts_at(counts, i)).collect();
    let left: Vec<u64> = classes.iter().zip(&now).map(|(c, n)| c.eligible.saturating_sub(n.turnout())).collect();
    if now.iter().any(|n| n.veto > 0) {
        return Some(DecisionOutcome::Vetoed);
    }
    if classes.iter().zip(&left).any(|(c, &r)| r > 0 && is_veto_class(proposal, &c.name)) {
        return None;
    }
    let required: Vec<u64> = classes.iter().map(quorum_required).collect();
    if now.iter().zip(&left).zip(&required).any(|((n, &r), &q)| n.turnout().saturating_add(r) < q) {
        return Some(DecisionOutcome::NoQuorum);
    }
    if now.iter().zip(&required).any(|(n, &q)| n.turnout() < q) {
        return None;
    }
    let all_yes: Vec<(u64, u64)> = now.iter().zip(&left).map(|(n, &r)| (n.yes.saturating_add(r), n.no)).collect();
    let all_no: Vec<(u64, u64)> = now.iter().zip(&left).map(|(n, &r)| (n.yes, n.no.saturating_add(r))).collect();
    let accepted = |yes_no: &[(u64, u64)]| Share::of(classes, yes_no).is_some_and(|s| s.reaches(proposal.threshold_bp));
    if accepted(&all_no) {
        Some(DecisionOutcome::Accepted)
    } else if !accepted(&all_yes) {
        Some(DecisionOutcome::Rejected)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward_ledger::entry::{ProposalCategory, Timestamp};

    fn proposal(classes: &[(&str, u32, u32, u64, u64)], threshold_bp: u32, veto: &[&str]) -> Proposal {
        Proposal {
            schema: SchemaV1,
            proposal_id: "rfc-1".into(),
            title: "t".into(),
            category: ProposalCategory::Rfc,
            body_sha256: "0".repeat(64),
            voter_classes: classes
                .iter()
                .map(|&(name, weight_bp, quorum_bp, quorum_min, eligible)| VoterClass {
                    name: name.into(),
                    weight_bp,
                    quorum_bp,
                    quorum_min,
                    eligible,
                })
                .collect(),
            threshold_bp,
            veto_classes: veto.iter().map(|s| s.to_string()).collect(),
            opens_at: Timestamp::parse("2026-03-01T00:00:00Z").unwrap(),
            closes_at: Timestamp::parse("2026-03-08T00:00:00Z").unwrap(),
            exception: None,
        }
    }

    fn c(yes: u64, no: u64, abstain: u64, veto: u64) -> Counts {
        Counts { yes, no, abstain, veto }
    }

    #[test]
    fn quorum_rounds_up_and_honours_the_minimum() {
        let class = |quorum_bp, quorum_min, eligible| VoterClass {
            name: "c".into(),
            weight_bp: 10_000,
            quorum_bp,
            quorum_min,
            eligible,
        };
        assert_eq!(quorum_required(&class(5_000, 1, 5)), 3, "half of 5 is 2.5, rounded up");
        assert_eq!(quorum_required(&class(1_000, 3, 10)), 3, "a tenth of 10 is 1; the minimum is 3");
        assert_eq!(quorum_required(&class(1_000, 0, 0)), 0);
        assert_eq!(quorum_required(&class(10_000, 0, u64::MAX)), u64::MAX);
    }

    #[test]
    fn share_is_exact_at_the_threshold() {
        // 1/3 and 2/3 with equal weights is exactly 1/2: a per-class rounding
        // (3333 + 6666 bp) would miss a 5000 threshold.
        let p = proposal(&[("a", 5_000, 0, 0, 3), ("b", 5_000, 0, 0, 3)], 5_000, &[]);
        let t = Tally::at_close(&p, &[c(1, 2, 0, 0), c(2, 1, 0, 0)]);
        assert_eq!((t.outcome, t.yes_share_bp), (DecisionOutcome::Accepted, 5_000));
        let p = proposal(&[("a", 5_000, 0, 0, 3), ("b", 5_000, 0, 0, 3)], 5_001, &[]);
        assert_eq!(Tally::at_close(&p, &[c(1, 2, 0, 0), c(2, 1, 0, 0)]).outcome, DecisionOutcome::Rejected);
    }

    #[test]
    fn a_class_without_yes_or_no_votes_does_not_weigh() {
        // The community abstains; the committee's 3 yes of 4 decide alone.
        let p = proposal(&[("tc", 5_100, 0, 0, 5), ("community", 4_900, 0, 0, 10)], 6_667, &[]);
        let t = Tally::at_close(&p, &[c(3, 1, 0, 0), c(0, 0, 4, 0)]);
        assert_eq!((t.outcome, t.yes_share_bp), (DecisionOutcome::Accepted, 7_500));
        // Nobody said yes or no: rejected, share 0.
        let t = Tally::at_close(&p, &[c(0, 0, 1, 0), c(0, 0, 4, 0)]);
        assert_eq!((t.outcome, t.yes_share_bp), (DecisionOutcome::Rejected, 0));
    }

    #[test]
    fn veto_beats_quorum_and_quorum_beats_the_share() {
        let p = proposal(&[("tc", 5_100, 5_000, 1, 4), ("community", 4_900, 1_000, 3, 40)], 5_001, &["tc"]);
        assert_eq!(Tally::at_close(&p, &[c(0, 0, 0, 1), c(0, 0, 0, 0)]).outcome, DecisionOutcome::Vetoed);
        assert_eq!(Tally::at_close(&p, &[c(4, 0, 0, 0), c(2, 0, 0, 0)]).outcome, DecisionOutcome::NoQuorum);
        let t = Tally::at_close(&p, &[c(2, 0, 0, 0), c(3, 1, 0, 0)]);
        assert_eq!(t.outcome, DecisionOutcome::Accepted);
        assert_eq!(t.classes[1].quorum_required, 4);
        assert_eq!(t.yes_share_bp, 5_100 + 3_675);
    }

    #[test]
    fn early_decision_cases() {
        let p = proposal(&[("tc", 5_100, 5_000, 1, 4), ("community", 4_900, 1_000, 3, 40)], 6_667, &[]);
        // Every committee member said yes and 30 of 40 community members too:
        // even if the other 10 vote no, the share is 5100 + 4900·30/40 ≥ 6667.
        assert_eq!(final_outcome(&p, &[c(4, 0, 0, 0), c(30, 0, 0, 0)]), Some(DecisionOutcome::Accepted));
        // With 10 yes and 20 no in the community it is not final yet: …
        assert_eq!(final_outcome(&p, &[c(4, 0, 0, 0), c(10, 20, 0, 0)]), None);
        // … the remaining ten could bring it to 5100 + 4900·20/40 = 7550 or
        // leave it at 5100 + 4900·10/40 = 6325.
        assert_eq!(final_outcome(&p, &[c(0, 4, 0, 0), c(10, 20, 0, 0)]), Some(DecisionOutcome::Rejected));
        // Quorum not reached yet: not final.
        assert_eq!(final_outcome(&p, &[c(4, 0, 0, 0), c(2, 0, 0, 0)]), None);
        // Quorum out of reach (1 committee member left of 4, need 2, have 0 votes).
        let q = proposal(&[("tc", 5_100, 5_000, 1, 1), ("community", 4_900, 1_000, 3, 2)], 6_667, &[]);
        assert_eq!(final_outcome(&q, &[c(1, 0, 0, 0), c(0, 0, 0, 0)]), Some(DecisionOutcome::NoQuorum));
        // A veto class member left: nothing but a veto is final.
        let v = proposal(&[("tc", 5_100, 5_000, 1, 4), ("community", 4_900, 1_000, 3, 40)], 6_667, &["tc"]);
        assert_eq!(final_outcome(&v, &[c(3, 0, 0, 0), c(40, 0, 0, 0)]), None);
        assert_eq!(final_outcome(&v, &[c(3, 0, 0, 1), c(0, 0, 0, 0)]), Some(DecisionOutcome::Vetoed));
        assert_eq!(final_outcome(&v, &[c(4, 0, 0, 0), c(40, 0, 0, 0)]), Some(DecisionOutcome::Accepted));
    }
}
