//! Vote checks and `verify` on ledgers built through the public API with
//! real Ed25519 keys and canonical entry bytes, then tampered with.

mod support;

use serde_json::Value;
use steward_governance::{Failure, GovernanceConfig, VerifyError, VoteError, check_clock, verify};
use steward_ledger::entry::{DecisionOutcome, Entry, Payload, ProposalCategory, VoteChoice};
use steward_ledger::note::SignerKey;
use support::{Harness, at, key};

const TC: &str = "technical-committee";
const COMMUNITY: &str = "community";

struct World {
    h: Harness,
    keys: Vec<(String, SignerKey)>,
}

impl World {
    fn key(&self, voter: &str) -> &SignerKey {
        &self.keys.iter().find(|(v, _)| v == voter).unwrap().1
    }
}

/// Three committee members (tc1 also in the community) and five community
/// members, registered at minute 0 with keys valid for ten days.
fn world() -> World {
    let mut h = Harness::new(GovernanceConfig::default());
    let mut keys = vec![];
    let members: [(&str, &[&str]); 8] = [
        ("tc1", &[TC, COMMUNITY]),
        ("tc2", &[TC]),
        ("tc3", &[TC]),
        ("c1", &[COMMUNITY]),
        ("c2", &[COMMUNITY]),
        ("c3", &[COMMUNITY]),
        ("c4", &[COMMUNITY]),
        ("c5", &[COMMUNITY]),
    ];
    for (seed, (voter, classes)) in members.into_iter().enumerate() {
        let k = key(voter, seed as u8 + 1);
        h.register(voter, classes, &k, 0, Some(14_400));
        keys.push((voter.to_owned(), k));
    }
    World { h, keys }
}

/// A ledger with an early decision, a decision at the window's end that
/// grants an exception, a key rotation and a withdrawal.
fn full_ledger() -> World {
    let mut w = world();
    let draft = w.h.draft("rfc-1", ProposalCategory::Rfc, 10, 10_000);
    w.h.open(&draft, "token:maint");
    let vote = |w: &mut World, voter: &str, class: &str, choice, time| {
        let k = w.key(voter).clone();
        w.h.vote(&k, voter, "rfc-1", class, choice, time).unwrap()
    };
    assert_eq!(vote(&mut w, "tc1", TC, VoteChoice::Yes, 20).1, None);
    assert_eq!(vote(&mut w, "c1", COMMUNITY, VoteChoice::No, 21).1, None);
    assert_eq!(vote(&mut w, "c1", COMMUNITY, VoteChoice::Yes, 22).1, None, "a replacement");
    assert_eq!(vote(&mut w, "tc2", TC, VoteChoice::Yes, 23).1, None);
    assert_eq!(vote(&mut w, "c2", COMMUNITY, VoteChoice::Yes, 24).1, None, "community quorum is 3");
    let (_, decided) = vote(&mut w, "c3", COMMUNITY, VoteChoice::Yes, 25);
    assert!(decided.is_some(), "final: even if everyone left votes no, 51%·2/3 + 49%·3/6 > 50%");
    let late = w.h.vote(&w.key("c4").clone(), "c4", "rfc-1", COMMUNITY, VoteChoice::No, 26);
    assert!(matches!(late, Err(VoteError::Decided(_))), "{late:?}");

    let mut draft = w.h.draft("exc-1", ProposalCategory::LicenseException, 30, 3_000);
    draft.veto_classes = Some(vec![TC.into()]);
    draft.threshold_bp = Some(6_667);
    w.h.open(&draft, "token:maint");
    let new_c5 = key("c5", 99);
    let old_c5 = w.key("c5").clone();
    w.h.rotate("c5", &old_c5, &new_c5, 40);
    for (voter, class, choice, t) in [
        ("tc1", TC, VoteChoice::Yes, 50),
        ("tc2", TC, VoteChoice::Abstain, 51),
        ("c1", COMMUNITY, VoteChoice::Yes, 52),
        ("c2", COMMUNITY, VoteChoice::No, 53),
        ("c3", COMMUNITY, VoteChoice::Yes, 54),
    ] {
        let k = w.key(voter).clone();
        assert_eq!(w.h.vote(&k, voter, "exc-1", class, choice, t).unwrap().1, None, "tc3 could still veto");
    }
    assert_eq!(w.h.vote(&new_c5, "c5", "exc-1", COMMUNITY, VoteChoice::Yes, 60).unwrap().1, None);
    let refused = w.h.vote(&old_c5, "c5", "exc-1", COMMUNITY, VoteChoice::No, 61);
    assert!(matches!(refused, Err(VoteError::KeyOutsideWindow { .. })), "rotated-out key: {refused:?}");
    assert_eq!(w.h.close("exc-1", 2_999), None, "not decided before the window ends");
    let d = w.h.close("exc-1", 3_000).unwrap();
    let Payload::Decision(decision) = w.h.entries[d as usize].1.typed_payload().unwrap() else { panic!() };
    assert_eq!(decision.outcome, DecisionOutcome::Accepted);
    // tc: 1 yes of 1 → 5100; community 3 yes (c1, c3, c5) of 4 → 4900·3/4 = 3675.
    assert_eq!(decision.yes_share_bp, 8_775);
    assert_eq!(decision.votes_counted, 6);
    w.h.grant("exc-1", d, 3_001);

    let draft = w.h.draft("rfc-2", ProposalCategory::Other, 3_100, 9_000);
    w.h.open(&draft, "token:maint");
    w.h.withdraw("rfc-2", "token:maint", 3_110);
    w.h.close("rfc-2", 3_111).unwrap();
    w
}

fn failure(entries: Vec<(u64, Entry)>) -> VerifyError {
    verify(entries).expect_err("verification must fail")
}

fn index_of(w: &World, pred: impl Fn(&Payload) -> bool) -> usize {
    w.h.entries.iter().position(|(_, e)| pred(&e.typed_payload().unwrap())).unwrap()
}

#[test]
fn a_ledger_built_by_the_rules_verifies() {
    let w = full_ledger();
    let report = verify(w.h.entries.clone()).unwrap();
    assert_eq!(report.entries, w.h.entries.len() as u64);
    assert_eq!((report.registrations, report.key_rotations, report.proposals), (8, 1, 3));
    assert_eq!(report.votes, 12);
    let outcomes: Vec<(&str, DecisionOutcome, bool)> =
        report.decisions.iter().map(|d| (d.proposal_id.as_str(), d.outcome, d.early)).collect();
    assert_eq!(
        outcomes,
        [
            ("rfc-1", DecisionOutcome::Accepted, true),
            ("exc-1", DecisionOutcome::Accepted, false),
            ("rfc-2", DecisionOutcome::Withdrawn, false)
        ]
    );
    assert_eq!(report.exceptions, 1);
    assert!(report.undecided.is_empty());
}

#[test]
fn a_tampered_vote_is_found() {
    let w = full_ledger();
    let i = index_of(&w, |p| matches!(p, Payload::Vote(v) if v.voter == "c3" && v.proposal_id == "exc-1"));
    let mut entries = w.h.entries.clone();
    entries[i].1.payload.insert("choice".into(), Value::String("no".into()));
    let err = failure(entries);
    assert_eq!(err.index, i as u64);
    assert_eq!(err.failure.code(), "bad-signature", "{err}");
    assert!(err.to_string().contains("does not verify"), "{err}");
}

#[test]
fn a_vote_replayed_on_another_proposal_is_refused() {
    let mut w = world();
    // Two proposals open at once, with the same body.
    w.h.open(&w.h.draft("rfc-5", ProposalCategory::Rfc, 10, 100), "token:maint");
    w.h.open(&w.h.draft("rfc-6", ProposalCategory::Rfc, 10, 100), "token:maint");
    let proposal = match w.h.entries[8].1.typed_payload().unwrap() {
        Payload::Proposal(p) => p,
        other => panic!("{other:?}"),
    };
    let mut replayed = w.h.signed_vote(w.key("c1"), "c1", &proposal, COMMUNITY, VoteChoice::Yes, 20);
    replayed.payload.insert("proposal_id".into(), Value::String("rfc-6".into()));
    let err = w.h.submit(replayed.clone()).unwrap_err();
    assert_eq!(err.code(), "bad-signature", "{err}");
    let mut entries = w.h.entries.clone();
    entries.push((entries.len() as u64, replayed));
    let err = failure(entries);
    assert_eq!((err.index, err.failure.code()), (10, "bad-signature"), "{err}");
}

#[test]
fn a_decision_that_does_not_follow_from_its_votes_is_found() {
    let w = full_ledger();
    let d = index_of(&w, |p| matches!(p, Payload::Decision(d) if d.proposal_id == "exc-1"));
    let edit = |f: &dyn Fn(&mut steward_ledger::entry::Decision)| {
        let mut entries = w.h.entries.clone();
        let Payload::Decision(mut decision) = entries[d].1.typed_payload().unwrap() else { panic!() };
        f(&mut decision);
        entries[d].1 = Entry::new(&Payload::Decision(decision), entries[d].1.time.clone(), "steward").unwrap();
        failure(entries)
    };
    let err = edit(&|d| d.outcome = DecisionOutcome::Rejected);
    assert_eq!(err.index, d as u64);
    assert_eq!(
        err.to_string(),
        format!("ledger index {d}: decision on exc-1: outcome is rejected, but its votes give accepted")
    );
    let err = edit(&|d| d.tally[1].yes += 1);
    assert!(
        matches!(&err.failure, Failure::DecisionMismatch { field, .. } if field == "tally[community].yes"),
        "{err}"
    );
    let err = edit(&|d| d.votes_counted -= 1);
    assert!(matches!(&err.failure, Failure::DecisionMismatch { field, .. } if field == "votes_counted"), "{err}");
    let err = edit(&|d| d.yes_share_bp = 8_776);
    assert!(matches!(&err.failure, Failure::DecisionMismatch { field, .. } if field == "yes_share_bp"), "{err}");

    // Dropping a counted vote changes what the decision should say.
    let v = index_of(&w, |p| matches!(p, Payload::Vote(v) if v.voter == "c2" && v.proposal_id == "exc-1"));
    let mut entries = w.h.entries.clone();
    entries.remove(v);
    let err = failure(entries);
    assert_eq!(err.failure.code(), "decision-mismatch", "{err}");
}

#[test]
fn a_vote_signed_with_a_key_outside_its_window_is_found() {
    let mut w = world();
    let short = key("c6", 60);
    w.h.register("c6", &[COMMUNITY], &short, 0, Some(30));
    let draft = w.h.draft("rfc-9", ProposalCategory::Rfc, 10, 1_000);
    w.h.open(&draft, "token:maint");
    let (_, proposal) = (
        0,
        w.h.entries
            .iter()
            .rev()
            .find_map(|(_, e)| match e.typed_payload().unwrap() {
                Payload::Proposal(p) => Some(p),
                _ => None,
            })
            .unwrap(),
    );
    let late = w.h.signed_vote(&short, "c6", &proposal, COMMUNITY, VoteChoice::Yes, 40);
    // The server refuses it …
    let refused = w.h.submit(late.clone());
    assert!(matches!(refused, Err(VoteError::KeyOutsideWindow { .. })), "{refused:?}");
    assert!(refused.unwrap_err().to_string().contains("is not valid at 2026-03-01T00:40:00Z"));
    // … and a ledger that contains it anyway fails verification there.
    let mut entries = w.h.entries.clone();
    entries.push((entries.len() as u64, late));
    let err = failure(entries.clone());
    assert_eq!((err.index, err.failure.code()), (entries.len() as u64 - 1, "key-outside-window"), "{err}");

    // Inside the window the same key is fine.
    let early = w.h.signed_vote(&short, "c6", &proposal, COMMUNITY, VoteChoice::Yes, 20);
    w.h.submit(early).unwrap();
    verify(w.h.entries.clone()).unwrap();
}

#[test]
fn votes_the_server_must_refuse() {
    let mut w = world();
    let draft = w.h.draft("rfc-5", ProposalCategory::Rfc, 10, 100);
    w.h.open(&draft, "token:maint");
    let proposal = match w.h.entries.last().unwrap().1.typed_payload().unwrap() {
        Payload::Proposal(p) => p,
        _ => panic!(),
    };
    let c1 = w.key("c1").clone();
    let code = |w: &mut World, e: Entry| w.h.submit(e).unwrap_err().code();
    let v = w.h.signed_vote(&c1, "c1", &proposal, COMMUNITY, VoteChoice::Yes, 5);
    assert_eq!(code(&mut w, v), "voting-not-open");
    let v = w.h.signed_vote(&c1, "c1", &proposal, COMMUNITY, VoteChoice::Yes, 100);
    assert_eq!(code(&mut w, v), "voting-closed");
    let v = w.h.signed_vote(&c1, "c1", &proposal, TC, VoteChoice::Yes, 20);
    assert_eq!(code(&mut w, v), "not-in-class");
    let v = w.h.signed_vote(&c1, "c1", &proposal, COMMUNITY, VoteChoice::Veto, 20);
    assert_eq!(code(&mut w, v), "veto-not-allowed");
    let v = w.h.signed_vote(&c1, "c1", &proposal, "board", VoteChoice::Yes, 20);
    assert_eq!(code(&mut w, v), "unknown-class");
    let stranger = key("zed", 77);
    let v = w.h.signed_vote(&stranger, "zed", &proposal, COMMUNITY, VoteChoice::Yes, 20);
    assert_eq!(code(&mut w, v), "unknown-voter");
    let v = w.h.signed_vote(&w.key("c2").clone(), "c1", &proposal, COMMUNITY, VoteChoice::Yes, 20);
    assert_eq!(code(&mut w, v), "key-not-registered", "c2's key cannot sign for c1");
    let mut v = w.h.signed_vote(&c1, "c1", &proposal, COMMUNITY, VoteChoice::Yes, 20);
    v.signature = None;
    assert_eq!(code(&mut w, v), "unsigned");
    let mut v = w.h.signed_vote(&c1, "c1", &proposal, COMMUNITY, VoteChoice::Yes, 20);
    v.actor = "c2".into();
    assert_eq!(code(&mut w, v), "actor-mismatch");
    // A signature over another body (the proposal text was edited).
    let mut edited = proposal.clone();
    edited.body_sha256 = support::sha256_hex("# RFC\n\nLet us do another thing.\n");
    let v = w.h.signed_vote(&c1, "c1", &edited, COMMUNITY, VoteChoice::Yes, 20);
    let err = w.h.submit(v).unwrap_err();
    assert_eq!(err.code(), "wrong-body");
    assert!(err.to_string().starts_with("the vote binds body "), "{err}");

    // The clock check: the voter's time against the server's.
    assert!(check_clock(&at(20), &at(24), 300).is_ok());
    let err = check_clock(&at(20), &at(26), 300).unwrap_err();
    assert_eq!(err.code(), "clock-skew");
    assert_eq!(
        err.to_string(),
        "the vote's time 2026-03-01T00:20:00Z is 360 s from the server's clock (2026-03-01T00:26:00Z); at most 300 s is accepted"
    );
    // Nothing refused reached the ledger; it still verifies.
    verify(w.h.entries.clone()).unwrap();
}

#[test]
fn out_of_order_closing_is_found() {
    let w = full_ledger();
    let decision = index_of(&w, |p| matches!(p, Payload::Decision(d) if d.proposal_id == "rfc-1"));

    // A second decision for the same proposal.
    let mut entries = w.h.entries.clone();
    let again = entries[decision].1.clone();
    entries.push((entries.len() as u64, again));
    assert_eq!(failure(entries).failure.code(), "already-closed");

    // A vote appended after the decision.
    let mut entries = w.h.entries.clone();
    let proposal = match entries[8].1.typed_payload().unwrap() {
        Payload::Proposal(p) => p,
        other => panic!("{other:?}"),
    };
    let late = w.h.signed_vote(w.key("c4"), "c4", &proposal, COMMUNITY, VoteChoice::No, 26);
    entries.push((entries.len() as u64, late.clone()));
    let err = failure(entries);
    assert_eq!(err.failure.code(), "proposal-decided", "{err}");

    // The same vote where the decision should have been: the server kept
    // accepting votes after the outcome was final.
    let mut entries = w.h.entries.clone();
    entries[decision].1 = late;
    let err = failure(entries);
    assert_eq!((err.index, err.failure.code()), (decision as u64, "vote-after-final"), "{err}");

    // A decision before the window's end while the outcome could change.
    let mut entries: Vec<(u64, Entry)> = w.h.entries[..decision - 1].to_vec();
    let mut early = w.h.entries[decision].1.clone();
    early.time = at(24);
    entries.push((entries.len() as u64, early));
    let err = failure(entries);
    assert_eq!(err.failure.code(), "decided-early", "{err}");
}

#[test]
fn withdrawals_follow_the_rules() {
    // After a vote: refused.
    let mut w = world();
    let draft = w.h.draft("rfc-7", ProposalCategory::Rfc, 10, 100);
    w.h.open(&draft, "token:maint");
    let tc1 = w.key("tc1").clone();
    w.h.vote(&tc1, "tc1", "rfc-7", TC, VoteChoice::Yes, 20).unwrap();
    w.h.withdraw("rfc-7", "token:maint", 30);
    let err = failure(w.h.entries.clone());
    assert_eq!(err.failure.code(), "withdrawal-after-vote", "{err}");

    // By someone else than the author: refused.
    let mut w = world();
    w.h.open(&w.h.draft("rfc-8", ProposalCategory::Rfc, 10, 100), "token:maint");
    w.h.withdraw("rfc-8", "token:someone", 30);
    let err = failure(w.h.entries.clone());
    assert_eq!(err.failure.code(), "withdrawal-not-by-author", "{err}");

    // A vote after a withdrawal: refused by the server and by verify.
    let mut w = world();
    w.h.open(&w.h.draft("rfc-9", ProposalCategory::Rfc, 10, 100), "token:maint");
    w.h.withdraw("rfc-9", "token:maint", 15);
    let refused = w.h.vote(&tc1, "tc1", "rfc-9", TC, VoteChoice::Yes, 20);
    assert!(matches!(refused, Err(VoteError::Withdrawn(_))), "{refused:?}");
    let proposal = match w.h.entries[8].1.typed_payload().unwrap() {
        Payload::Proposal(p) => p,
        other => panic!("{other:?}"),
    };
    let mut entries = w.h.entries.clone();
    entries.push((entries.len() as u64, w.h.signed_vote(&tc1, "tc1", &proposal, TC, VoteChoice::Yes, 20)));
    assert_eq!(failure(entries).failure.code(), "proposal-withdrawn");
    // The withdrawn decision closes it.
    w.h.close("rfc-9", 16).unwrap();
    let report = verify(w.h.entries.clone()).unwrap();
    assert_eq!(report.decisions[0].outcome, DecisionOutcome::Withdrawn);
}

#[test]
fn proposals_and_exceptions_are_checked_against_what_came_before() {
    let w = full_ledger();
    // The electorate size recorded in a proposal.
    let p = index_of(&w, |p| matches!(p, Payload::Proposal(p) if p.proposal_id == "rfc-1"));
    let mut entries = w.h.entries.clone();
    let Payload::Proposal(mut proposal) = entries[p].1.typed_payload().unwrap() else { panic!() };
    proposal.voter_classes[1].eligible += 1;
    entries[p].1 = Entry::new(&Payload::Proposal(proposal), entries[p].1.time.clone(), "token:maint").unwrap();
    let err = failure(entries);
    assert_eq!(
        err.to_string(),
        format!(
            "ledger index {p}: proposal rfc-1: class community records 7 eligible voters; the registrations before it give 6"
        )
    );

    // An exception granted for a proposal that was not accepted.
    let g = index_of(&w, |p| matches!(p, Payload::ExceptionGranted(_)));
    let mut entries = w.h.entries.clone();
    let Payload::ExceptionGranted(mut grant) = entries[g].1.typed_payload().unwrap() else { panic!() };
    grant.decision_index = Some(grant.decision_index.unwrap() - 1);
    entries[g].1 = Entry::new(&Payload::ExceptionGranted(grant.clone()), entries[g].1.time.clone(), "steward").unwrap();
    assert_eq!(failure(entries).failure.code(), "exception-mismatch");
    // … or with another scope than was voted.
    let mut entries = w.h.entries.clone();
    let Payload::ExceptionGranted(mut grant) = entries[g].1.typed_payload().unwrap() else { panic!() };
    grant.scope.license = "SSPL-1.0".into();
    entries[g].1 = Entry::new(&Payload::ExceptionGranted(grant), entries[g].1.time.clone(), "steward").unwrap();
    let err = failure(entries);
    assert!(err.to_string().contains("scope or expiry differs"), "{err}");

    // A key rotation not signed by the old key.
    let r = index_of(&w, |p| matches!(p, Payload::VoterKeyRotation(_)));
    let mut entries = w.h.entries.clone();
    entries[r].1.sign(&key("c5", 99)).unwrap();
    let err = failure(entries);
    assert_eq!((err.index, err.failure.code()), (r as u64, "bad-signature"), "{err}");
}

#[test]
fn verify_in_one_batch_or_entry_by_entry_agrees() {
    let w = full_ledger();
    let mut verifier = steward_governance::Verifier::new();
    for (i, e) in &w.h.entries {
        verifier.push(*i, e).unwrap();
    }
    let report = verifier.finish();
    assert_eq!(report, verify(w.h.entries.clone()).unwrap());

    // From stored bytes, with entries of other kinds in between (skipped by
    // kind, still counted).
    let other = Entry::new(&steward_ledger::entry::examples::scan_verdict(), at(1), "token:ci").unwrap();
    let mut bytes: Vec<Vec<u8>> = w.h.entries.iter().map(|(_, e)| e.canonical_bytes().unwrap()).collect();
    bytes.push(other.canonical_bytes().unwrap());
    let from_bytes = steward_governance::verify_bytes(bytes.iter().cloned().enumerate().map(|(i, b)| (i as u64, b)));
    let from_bytes = from_bytes.unwrap();
    assert_eq!(from_bytes.entries, report.entries + 1);
    assert_eq!((from_bytes.votes, from_bytes.decisions.len()), (report.votes, report.decisions.len()));
    // One flipped byte in a vote's signature is found at its index.
    let v = index_of(&w, |p| matches!(p, Payload::Vote(_)));
    let text = String::from_utf8(bytes[v].clone()).unwrap();
    let sig_at = text.find("\"sig\":\"").unwrap() + 7;
    bytes[v][sig_at] = if bytes[v][sig_at] == b'A' { b'B' } else { b'A' };
    let err = steward_governance::verify_bytes(bytes.into_iter().enumerate().map(|(i, b)| (i as u64, b))).unwrap_err();
    assert_eq!((err.index, err.failure.code()), (v as u64, "bad-signature"), "{err}");
}

/// A `trusted-key-rotated` entry approved by `proposal` (the ledger's
/// example rotation, pointed at it), appended at `time`.
fn rotation_by(w: &mut World, proposal: &str, time: u64) -> u64 {
    let example = steward_ledger::entry::examples::all()
        .into_iter()
        .find_map(|p| match p {
            Payload::TrustedKeyRotated(r) => Some(r),
            _ => None,
        })
        .unwrap();
    let rotated = steward_ledger::entry::TrustedKeyRotated {
        proposal_id: Some(proposal.into()),
        old_key_signature: None,
        ..example
    };
    let entry = Entry::new(&Payload::TrustedKeyRotated(rotated), at(time), "token:admin").unwrap();
    w.h.append(entry)
}

#[test]
fn a_trusted_key_rotation_needs_an_accepted_policy_change_decided_before_it() {
    let mut w = full_ledger();
    let draft = w.h.draft("keys-1", ProposalCategory::PolicyChange, 3_200, 9_000);
    w.h.open(&draft, "token:maint");
    // Cited while still open: not approved yet.
    let early = rotation_by(&mut w, "keys-1", 3_201);
    let err = failure(w.h.entries.clone());
    assert_eq!((err.index, err.failure.code()), (early, "rotation-not-approved"), "{err}");
    assert!(err.to_string().contains("keys-1 is not decided before the rotation"), "{err}");
    w.h.entries.pop();

    for (voter, class, t) in [
        ("tc1", TC, 3_210),
        ("tc2", TC, 3_211),
        ("c1", COMMUNITY, 3_212),
        ("c2", COMMUNITY, 3_213),
        ("c3", COMMUNITY, 3_214),
    ] {
        let k = w.key(voter).clone();
        w.h.vote(&k, voter, "keys-1", class, VoteChoice::Yes, t).unwrap();
    }
    assert!(w.h.status("keys-1").1, "keys-1 is decided once its outcome is final");
    let good = rotation_by(&mut w, "keys-1", 3_300);
    let report = verify(w.h.entries.clone()).unwrap();
    assert_eq!((report.rotations_by_decision, report.rotations_by_old_key), (1, 0));
    assert_eq!(report.entries, good + 1);
    w.h.entries.pop();

    // An accepted proposal of another category does not approve a key.
    let wrong = rotation_by(&mut w, "rfc-1", 3_300);
    let err = failure(w.h.entries.clone());
    assert_eq!((err.index, err.failure.code()), (wrong, "rotation-not-approved"), "{err}");
    assert!(err.to_string().contains("rfc-1 is a rfc proposal, not policy-change"), "{err}");
    w.h.entries.pop();

    // A policy change decided otherwise (withdrawn) does not either.
    let draft = w.h.draft("keys-2", ProposalCategory::PolicyChange, 3_400, 9_000);
    w.h.open(&draft, "token:maint");
    w.h.withdraw("keys-2", "token:maint", 3_401);
    w.h.close("keys-2", 3_402).unwrap();
    let withdrawn = rotation_by(&mut w, "keys-2", 3_403);
    let err = failure(w.h.entries.clone());
    assert_eq!((err.index, err.failure.code()), (withdrawn, "rotation-not-approved"), "{err}");
    assert!(err.to_string().contains("keys-2 was decided withdrawn"), "{err}");
    w.h.entries.pop();

    // A proposal that was never opened.
    let unknown = rotation_by(&mut w, "nope", 3_500);
    let err = failure(w.h.entries.clone());
    assert_eq!((err.index, err.failure.code()), (unknown, "unknown-proposal"), "{err}");
}
