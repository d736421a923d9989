//! Boundaries `cargo-mutants` found untested (docs/TESTING.md): the limits
//! of the configuration check, a voter key's validity window at its exact
//! ends, the electorate's stored form, and the registry's key look-ups.

mod support;

use steward_governance::{
    ClassConfig, ConfigError, Electorate, GovernanceConfig, OpenError, Registry, RegistryError, SignatureError,
    Verifier, VoterKey, open_proposal, verify_entry_signature,
};
use steward_ledger::entry::{
    Entry, MAX_CLASSES, Payload, ProposalCategory, SchemaV1, VoterKeyRotation, VoterRegistration,
};
use support::{at, key};

fn classes(n: usize) -> Vec<ClassConfig> {
    // Weights summing to 10000 over n classes.
    let each = 10_000 / n as u32;
    (0..n)
        .map(|i| ClassConfig {
            name: format!("class-{i}"),
            weight_bp: if i == 0 { 10_000 - each * (n as u32 - 1) } else { each },
            quorum_bp: 0,
            quorum_min: 0,
        })
        .collect()
}

fn config(classes: Vec<ClassConfig>) -> GovernanceConfig {
    GovernanceConfig { classes, threshold_bp: 5_001, veto_classes: vec![] }
}

#[test]
fn class_count_weight_and_quorum_limits_are_inclusive() {
    config(classes(1)).validate().unwrap();
    config(classes(MAX_CLASSES)).validate().unwrap();
    assert_eq!(
        config(classes(MAX_CLASSES + 1)).validate(),
        Err(ConfigError::ClassCount { found: MAX_CLASSES + 1, max: MAX_CLASSES })
    );
    assert_eq!(config(vec![]).validate(), Err(ConfigError::ClassCount { found: 0, max: MAX_CLASSES }));

    // weight_bp: 1..=10000.
    let one = |weight_bp: u32, quorum_bp: u32| {
        config(vec![ClassConfig { name: "only".into(), weight_bp, quorum_bp, quorum_min: 0 }]).validate()
    };
    one(10_000, 0).unwrap();
    one(10_000, 10_000).unwrap();
    let value = |field: &'static str, rule: &'static str, value: u32| {
        Err(ConfigError::ClassValue { class: "only".into(), field, rule, value })
    };
    assert_eq!(one(0, 0), value("weight_bp", "between 1 and 10000", 0));
    assert_eq!(one(10_001, 0), value("weight_bp", "between 1 and 10000", 10_001));
    assert_eq!(one(10_000, 10_001), value("quorum_bp", "at most 10000", 10_001));
}

fn window(from: u64, until: Option<u64>) -> VoterKey {
    let signer = key("alice", 1);
    VoterKey {
        text: signer.verifier_key().to_string(),
        key: signer.verifier_key(),
        not_before: at(from),
        not_after: until.map(at),
    }
}

#[test]
fn a_key_is_valid_from_not_before_up_to_but_excluding_not_after() {
    let k = window(10, Some(20));
    assert!(!k.valid_at(&at(9)));
    assert!(k.valid_at(&at(10)), "not_before is included");
    assert!(k.valid_at(&at(19)));
    assert!(!k.valid_at(&at(20)), "not_after is excluded");
    assert!(window(10, None).valid_at(&at(1_000_000)));
}

#[test]
fn windows_overlap_only_when_they_share_an_instant() {
    let k = window(10, Some(20));
    assert!(k.overlaps(&at(0), &at(11)));
    assert!(k.overlaps(&at(19), &at(30)));
    assert!(k.overlaps(&at(12), &at(13)), "inside");
    assert!(!k.overlaps(&at(0), &at(10)), "[0, 10) ends where the key starts");
    assert!(!k.overlaps(&at(20), &at(30)), "[20, 30) starts where the key ends");
    assert!(!k.overlaps(&at(25), &at(30)));
    assert!(window(10, None).overlaps(&at(500), &at(600)));
    assert!(!window(10, None).overlaps(&at(0), &at(5)));
}

#[test]
fn the_electorate_round_trips_through_its_stored_pairs() {
    let pairs = vec![
        ("community".to_string(), "bob".to_string()),
        ("technical-committee".to_string(), "alice".to_string()),
        ("community".to_string(), "alice".to_string()),
        ("community".to_string(), "bob".to_string()), // a duplicate counts once
    ];
    let e = Electorate::from_members(pairs);
    assert!(e.contains("community", "bob") && e.contains("technical-committee", "alice"));
    assert!(!e.contains("technical-committee", "bob"));
    assert_eq!((e.count("community"), e.count("technical-committee"), e.count("nobody")), (2, 1, 0));
    let members: Vec<(&str, &str)> = e.members().collect();
    assert_eq!(members, [("community", "alice"), ("community", "bob"), ("technical-committee", "alice")]);
    let again = Electorate::from_members(members.iter().map(|(c, v)| (c.to_string(), v.to_string())));
    assert_eq!(again.members().collect::<Vec<_>>(), members);
}

#[test]
fn the_registry_finds_a_key_and_its_owner() {
    let mut registry = Registry::new();
    let alice = key("alice", 1);
    let text = alice.verifier_key().to_string();
    assert_eq!((registry.key(&text), registry.key_owner(&text)), (None, None));
    registry
        .register(&VoterRegistration {
            schema: SchemaV1,
            voter: "alice".into(),
            classes: vec!["community".into()],
            key: text.clone(),
            not_before: at(0),
            not_after: None,
        })
        .unwrap();
    assert_eq!(registry.key(&text), Some(&alice.verifier_key()));
    assert_eq!(registry.key_owner(&text), Some("alice"));
    let other = key("bob", 2).verifier_key().to_string();
    assert_eq!((registry.key(&other), registry.key_owner(&other)), (None, None));
}

fn registration(voter: &str, key_text: &str, from: u64, until: Option<u64>) -> VoterRegistration {
    VoterRegistration {
        schema: SchemaV1,
        voter: voter.into(),
        classes: vec!["community".into()],
        key: key_text.into(),
        not_before: at(from),
        not_after: until.map(at),
    }
}

#[test]
fn a_voter_may_register_their_own_key_again_but_not_anothers() {
    let mut registry = Registry::new();
    let a = key("alice", 1).verifier_key().to_string();
    registry.register(&registration("alice", &a, 0, Some(10))).unwrap();
    // Alice again, same key, a new window: the key is replaced, not added.
    registry.register(&registration("alice", &a, 0, Some(50))).unwrap();
    let alice = registry.voter("alice").unwrap();
    assert_eq!(alice.keys.len(), 1, "{alice:?}");
    assert_eq!(alice.keys[0].not_after, Some(at(50)));
    // Bob with Alice's key: refused, naming the owner.
    let err = registry.register(&registration("bob", &a, 0, None)).unwrap_err();
    assert_eq!(err, RegistryError::KeyTaken { key: a.clone(), owner: "alice".into() });
    assert!(registry.voter("bob").is_none());
}

#[test]
fn untrusted_text_in_errors_is_cut_at_120_characters() {
    let mut registry = Registry::new();
    let (alice, next) = (key("alice", 1), key("alice", 3));
    registry.register(&registration("alice", &alice.verifier_key().to_string(), 0, None)).unwrap();
    let voter = registry.voter("alice").unwrap().clone();
    let rotation = |actor: &str| {
        let payload = Payload::VoterKeyRotation(VoterKeyRotation {
            schema: SchemaV1,
            voter: "alice".into(),
            old_key: alice.verifier_key().to_string(),
            new_key: next.verifier_key().to_string(),
            not_after: None,
        });
        Entry::new(&payload, at(5), actor).unwrap()
    };
    for (actor, shown) in [
        ("x".repeat(200), format!("{}…", "x".repeat(120))),
        ("y".repeat(120), "y".repeat(120)),
        ("bob".to_string(), "bob".to_string()),
    ] {
        let err = voter.after_rotation(&rotation(&actor), None).unwrap_err();
        assert_eq!(err, RegistryError::ActorMismatch { voter: "alice".into(), actor: shown }, "{} chars", actor.len());
    }
    // A signature by another key names that key in full (it is short).
    let mut entry = rotation("alice");
    entry.sign(&key("mallory", 9)).unwrap();
    let err = verify_entry_signature(&entry, &alice.verifier_key().to_string(), &alice.verifier_key()).unwrap_err();
    assert_eq!(
        err,
        SignatureError::WrongKey {
            signed_by: key("mallory", 9).verifier_key().to_string(),
            expected: alice.verifier_key().to_string()
        }
    );
}

/// A class whose quorum needs every eligible voter can still be opened
/// (`required == eligible`); one voter fewer cannot.
#[test]
fn a_quorum_of_exactly_the_electorate_is_reachable() {
    let mut h = support::Harness::new(GovernanceConfig::default());
    // technical-committee: 50 % of 1, at least 1 → 1 of 1; community: at least 3 → 3 of 3.
    h.register("tc", &["technical-committee"], &key("tc", 1), 0, None);
    for (i, v) in ["c1", "c2"].iter().enumerate() {
        h.register(v, &["community"], &key(v, 10 + i as u8), 0, None);
    }
    let draft = h.draft("rfc-1", ProposalCategory::Rfc, 10, 100);
    let electorate = Electorate::from_voters(h.registry.voters(), h.config.class_names(), &at(10), &at(100));
    let err = open_proposal(&draft, &h.config, &electorate).unwrap_err();
    assert!(
        matches!(err, OpenError::QuorumUnreachable { ref class, eligible: 2, required: 3 } if class == "community"),
        "{err:?}"
    );
    h.register("c3", &["community"], &key("c3", 20), 0, None);
    let (_, proposal) = h.open(&draft, "token:admin");
    let eligible = |name: &str| proposal.voter_classes.iter().find(|c| c.name == name).map(|c| c.eligible);
    assert_eq!((eligible("community"), eligible("technical-committee")), (Some(3), Some(1)), "{proposal:?}");
}

/// The verifier counts every entry, governance or not, and its registry
/// follows the registrations pushed so far.
#[test]
fn the_verifier_counts_other_entries_and_exposes_its_registry() {
    let mut v = Verifier::new();
    let scan = steward_ledger::entry::examples::scan_verdict();
    for i in 0..3 {
        v.push(i, &Entry::new(&scan, at(i), "token:ci").unwrap()).unwrap();
    }
    assert!(v.registry().voter("alice").is_none());
    let a = key("alice", 1).verifier_key().to_string();
    let r = Payload::VoterRegistration(registration("alice", &a, 0, None));
    v.push(3, &Entry::new(&r, at(3), "token:admin").unwrap()).unwrap();
    assert_eq!(v.registry().key_owner(&a), Some("alice"));
    // Other kinds are the ledger verifier's business, even a broken one.
    let mut broken = Entry::new(&scan, at(4), "token:ci").unwrap();
    broken.payload.insert("denied_count".into(), serde_json::json!(99));
    assert!(broken.typed_payload().is_err());
    v.push(4, &broken).unwrap();
    let report = v.finish();
    assert_eq!((report.entries, report.registrations), (5, 1), "{report:?}");
}

/// A rotation whose new key would end at the rotation's own time gives an
/// empty window and is refused; one instant later it is accepted, and the
/// old key ends exactly when the new one starts.
#[test]
fn a_rotation_needs_a_non_empty_window_for_the_new_key() {
    let mut registry = Registry::new();
    let (old, new) = (key("alice", 1), key("alice", 3));
    registry.register(&registration("alice", &old.verifier_key().to_string(), 0, None)).unwrap();
    let voter = registry.voter("alice").unwrap().clone();
    let rotation = |not_after: u64| {
        let payload = Payload::VoterKeyRotation(VoterKeyRotation {
            schema: SchemaV1,
            voter: "alice".into(),
            old_key: old.verifier_key().to_string(),
            new_key: new.verifier_key().to_string(),
            not_after: Some(at(not_after)),
        });
        let mut e = Entry::new(&payload, at(5), "alice").unwrap();
        e.sign(&old).unwrap();
        e
    };
    let err = voter.after_rotation(&rotation(5), None).unwrap_err();
    assert_eq!(err, RegistryError::EmptyWindow { voter: "alice".into(), not_after: at(5), time: at(5) });
    let next = voter.after_rotation(&rotation(6), None).unwrap();
    let windows: Vec<_> = next.keys.iter().map(|k| (k.not_before.clone(), k.not_after.clone())).collect();
    assert_eq!(windows, [(at(0), Some(at(5))), (at(5), Some(at(6)))]);
}

/// A proposal withdrawn once cannot be withdrawn again: the verifier names
/// the second withdrawal and when the proposal was closed.
#[test]
fn a_second_withdrawal_is_refused_by_the_verifier() {
    let mut h = support::Harness::new(GovernanceConfig::default());
    h.register("tc", &["technical-committee"], &key("tc", 1), 0, None);
    for (i, v) in ["c1", "c2", "c3"].iter().enumerate() {
        h.register(v, &["community"], &key(v, 10 + i as u8), 0, None);
    }
    let draft = h.draft("rfc-9", ProposalCategory::Rfc, 10, 100);
    h.open(&draft, "token:maint");
    let first = h.withdraw("rfc-9", "token:maint", 20);
    steward_governance::verify(h.entries.clone()).unwrap();
    let second = h.withdraw("rfc-9", "token:maint", 21);
    let err = steward_governance::verify(h.entries.clone()).unwrap_err();
    assert_eq!(err.index, second);
    assert_eq!(
        err.failure,
        steward_governance::Failure::AlreadyClosed {
            kind: steward_ledger::entry::EntryKind::ProposalWithdrawal,
            proposal_id: "rfc-9".into(),
            state: "withdrawn",
            at: first,
        }
    );
}

/// Through the batch verifier (`verify`, `verify_bytes`): other kinds are
/// skipped even when broken, and a vote re-signed by a key that is not the
/// voter's fails on its signature.
#[test]
fn the_batch_verifier_skips_other_kinds_and_checks_vote_signatures() {
    let mut h = support::Harness::new(GovernanceConfig::default());
    let tc = key("tc", 1);
    h.register("tc", &["technical-committee"], &tc, 0, None);
    for (i, v) in ["c1", "c2", "c3"].iter().enumerate() {
        h.register(v, &["community"], &key(v, 10 + i as u8), 0, None);
    }
    let scan = steward_ledger::entry::examples::scan_verdict();
    let mut broken = Entry::new(&scan, at(5), "token:ci").unwrap();
    broken.payload.insert("denied_count".into(), serde_json::json!(99));
    let index = h.entries.len() as u64;
    h.entries.push((index, broken)); // (Harness::append would refuse to parse it)
    let draft = h.draft("rfc-7", ProposalCategory::Rfc, 10, 100);
    h.open(&draft, "token:maint");
    let vote = h.vote(&tc, "tc", "rfc-7", "technical-committee", steward_ledger::entry::VoteChoice::Yes, 20).unwrap().0;
    let bytes = |entries: &[(u64, Entry)]| -> Vec<(u64, Vec<u8>)> {
        entries.iter().map(|(i, e)| (*i, e.canonical_bytes().unwrap())).collect()
    };
    steward_governance::verify(h.entries.clone()).unwrap();
    steward_governance::verify_bytes(bytes(&h.entries)).unwrap();
    let mut forged = h.entries.clone();
    let at_vote = forged.iter().position(|(i, _)| *i == vote).unwrap();
    forged[at_vote].1.sign(&key("mallory", 9)).unwrap();
    let err = steward_governance::verify(forged.clone()).unwrap_err();
    assert_eq!(err.index, vote, "{err}");
    let err = steward_governance::verify_bytes(bytes(&forged)).unwrap_err();
    assert_eq!(err.index, vote, "{err}");
}

/// Clock skew in whole seconds, rounded up, either way round; exactly the
/// allowed skew passes.
#[test]
fn clock_skew_is_rounded_up_and_symmetric() {
    use steward_governance::{VoteError, check_clock};
    use steward_ledger::entry::Timestamp;
    let t = |s: u64, ns: u32| Timestamp::from_unix(1_780_000_000 + s, ns).unwrap();
    let skew = |a: &Timestamp, b: &Timestamp, max: u64| match check_clock(a, b, max) {
        Ok(()) => None,
        Err(VoteError::ClockSkew { skew_seconds, .. }) => Some(skew_seconds),
        Err(other) => panic!("{other:?}"),
    };
    assert_eq!(skew(&t(0, 0), &t(10, 0), 10), None, "exactly the allowed skew");
    assert_eq!(skew(&t(0, 0), &t(10, 0), 9), Some(10));
    assert_eq!(skew(&t(10, 0), &t(0, 0), 9), Some(10), "a voter clock ahead counts the same");
    assert_eq!(skew(&t(0, 0), &t(10, 1), 10), Some(11), "a part second rounds up");
    assert_eq!(skew(&t(10, 1), &t(0, 0), 10), Some(11));
    assert_eq!(skew(&t(0, 500), &t(10, 500), 9), Some(10), "equal fractions add nothing");
    assert_eq!(skew(&t(0, 900), &t(10, 100), 9), Some(10), "a later fraction on the early side does not round up");
    assert_eq!(skew(&t(5, 0), &t(5, 0), 0), None);
}

/// A vote at the exact opening instant counts; one just before does not.
#[test]
fn voting_opens_at_opens_at_exactly() {
    let mut h = support::Harness::new(GovernanceConfig::default());
    let tc = key("tc", 1);
    h.register("tc", &["technical-committee"], &tc, 0, None);
    let c: Vec<_> = ["c1", "c2", "c3"].iter().enumerate().map(|(i, v)| (*v, key(v, 10 + i as u8))).collect();
    for (v, k) in &c {
        h.register(v, &["community"], k, 0, None);
    }
    let draft = h.draft("rfc-8", ProposalCategory::Rfc, 10, 100);
    let (_, proposal) = h.open(&draft, "token:maint");
    let yes = steward_ledger::entry::VoteChoice::Yes;
    let early = h.signed_vote(&c[0].1, "c1", &proposal, "community", yes, 9);
    assert!(
        matches!(h.submit(early), Err(steward_governance::VoteError::NotOpenYet { .. })),
        "a minute before the opening"
    );
    h.vote(&c[1].1, "c2", "rfc-8", "community", yes, 10).expect("at the opening instant");
}

/// Ballots grow to the class a vote names, count a changed vote once, and
/// remember each voter's current choice per class.
#[test]
fn ballots_record_the_latest_choice_per_voter_and_class() {
    use steward_governance::{Ballots, CheckedVote};
    use steward_ledger::entry::VoteChoice;
    let vote = |voter: &str, class_index: usize, choice: VoteChoice| CheckedVote {
        voter: voter.into(),
        class: format!("class-{class_index}"),
        class_index,
        choice,
        key: String::new(),
    };
    let mut b = Ballots::default();
    assert_eq!(b.record(&vote("alice", 1, VoteChoice::Yes), 7), None);
    assert_eq!(b.counts().len(), 2, "sized up to class index 1");
    assert_eq!(b.choice_of("alice", 1), Some(VoteChoice::Yes));
    assert_eq!(b.choice_of("alice", 0), None);
    assert_eq!(b.record(&vote("alice", 1, VoteChoice::No), 9), Some(VoteChoice::Yes));
    assert_eq!(b.choice_of("alice", 1), Some(VoteChoice::No));
    assert_eq!((b.entries(), b.last_index()), (2, Some(9)));
    assert_eq!(b.counts()[1].turnout(), 1, "a changed vote counts once");
}
