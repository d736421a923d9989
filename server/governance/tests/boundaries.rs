//! Boundaries `cargo-mutants` found untested (docs/TESTING.md): the limits
//! of the configuration check, a voter key's validity window at its exact
//! ends, the electorate's stored form, and the registry's key look-ups.

mod support;

use steward_governance::{ClassConfig, ConfigError, Electorate, GovernanceConfig, Registry, VoterKey};
use steward_ledger::entry::{MAX_CLASSES, SchemaV1, VoterRegistration};
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
