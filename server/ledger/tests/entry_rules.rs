//! Rules of `entry.rs` outside `Payload::validate` and `check_entry_bytes`
//! (those are in `validate_rules.rs`): timestamps, the names of kinds and
//! enums, the envelope, signing bytes, `peek_kind`, nulls in payload maps
//! and the shared name and text rules, each at its exact boundary (written
//! for the survivors of `cargo mutants` on `entry.rs`, docs/TESTING.md).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};
use steward_ledger::entry::{
    DecisionOutcome, Entry, EntryError, EntryKind, NameRule, Payload, ProposalCategory, SIGNING_CONTEXT, Timestamp,
    VoteChoice, examples, peek_kind,
};
use steward_ledger::{SignerKey, hash_leaf};

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn refused(s: &str) -> &'static str {
    match Timestamp::parse(s) {
        Err(EntryError::InvalidTime { reason, .. }) => reason,
        other => panic!("{s}: {other:?}"),
    }
}

#[test]
fn every_month_has_its_last_day_and_not_one_more() {
    let last = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    for (i, days) in last.into_iter().enumerate() {
        let month = i + 1;
        t(&format!("2026-{month:02}-{days:02}T00:00:00Z"));
        assert_eq!(refused(&format!("2026-{month:02}-{:02}T00:00:00Z", days + 1)), "no such date", "month {month}");
        assert_eq!(refused(&format!("2026-{month:02}-00T00:00:00Z")), "no such date", "month {month}");
    }
    // Leap years: every 4th, not every 100th, but every 400th.
    t("2024-02-29T00:00:00Z");
    t("2000-02-29T00:00:00Z");
    t("1600-02-29T00:00:00Z");
    assert_eq!(refused("1900-02-29T00:00:00Z"), "no such date");
    assert_eq!(refused("2100-02-29T00:00:00Z"), "no such date");
    assert_eq!(refused("2023-02-29T00:00:00Z"), "no such date");
    assert_eq!(refused("2026-00-01T00:00:00Z"), "no such date");
    assert_eq!(refused("2026-13-01T00:00:00Z"), "no such date");
    assert_eq!(refused("0000-01-01T00:00:00Z"), "no such date");
    t("0001-01-01T00:00:00Z");
    t("9999-12-31T23:59:59Z");
}

#[test]
fn times_of_day_stop_at_23_59_59() {
    t("2026-01-01T23:59:59Z");
    t("2026-01-01T00:00:00Z");
    for bad in ["2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:60Z", "2026-01-01T99:99:99Z"] {
        assert_eq!(refused(bad), "no such time of day", "{bad}");
    }
}

#[test]
fn timestamp_shape_and_fraction_reasons() {
    let shape = "expected YYYY-MM-DDTHH:MM:SS[.fraction]Z";
    for bad in [
        "",
        "Z",
        "2026-01-01T00:00:0Z",
        "2026-01-01T00:00Z",
        "2026/01-01T00:00:00Z",
        "2026-01/01T00:00:00Z",
        "2026-01-01 00:00:00Z",
        "2026-01-01T00.00:00Z",
        "2026-01-01T00:00.00Z",
        "2026-01-01T00:00:00",
        "2026-01-01T00:00:00+",
        "+026-01-01T00:00:00Z",
        "2026-+1-01T00:00:00Z",
        "2026-01-+1T00:00:00Z",
        "2026-01-01T+1:00:00Z",
        "2026-01-01T00:+1:00Z",
        "2026-01-01T00:00:+1Z",
        "2026-01-01T00:00:00xZ",
        "2026-01-01T00:00:00,5Z",
    ] {
        assert_eq!(refused(bad), shape, "{bad:?}");
    }
    for bad in ["2026-01-01T00:00:00.Z", "2026-01-01T00:00:00.1234567891Z", "2026-01-01T00:00:00.1a2Z"] {
        assert_eq!(refused(bad), "fraction must be 1 to 9 digits", "{bad}");
    }
    assert_eq!(refused("2026-01-01T00:00:00.10Z"), "fraction must not end in zero");
    t("2026-01-01T00:00:00.1Z");
    t("2026-01-01T00:00:00.123456789Z");
    // The text in the error is the first 64 characters of the input.
    let long = format!("{}Z", "9".repeat(100));
    match Timestamp::parse(&long) {
        Err(EntryError::InvalidTime { text, .. }) => assert_eq!(text, "9".repeat(64)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn from_unix_has_exact_limits() {
    assert_eq!(Timestamp::from_unix(0, 999_999_999).unwrap().as_str(), "1970-01-01T00:00:00.999999999Z");
    assert_eq!(Timestamp::from_unix(0, 1).unwrap().as_str(), "1970-01-01T00:00:00.000000001Z");
    assert_eq!(Timestamp::from_unix(0, 10).unwrap().as_str(), "1970-01-01T00:00:00.00000001Z");
    assert!(matches!(
        Timestamp::from_unix(0, 1_000_000_000),
        Err(EntryError::InvalidTime { reason: "outside the supported range", .. })
    ));
    assert_eq!(Timestamp::from_unix(253_402_300_799, 999_999_999).unwrap().as_str(), "9999-12-31T23:59:59.999999999Z");
    assert!(matches!(
        Timestamp::from_unix(253_402_300_800, 0),
        Err(EntryError::InvalidTime { reason: "outside the supported range", .. })
    ));
    match Timestamp::from_unix(253_402_300_800, 5) {
        Err(EntryError::InvalidTime { text, .. }) => assert_eq!(text, "253402300800.000000005"),
        other => panic!("{other:?}"),
    }
}

/// Days from 1970-01-01 counted one day at a time, independently of the
/// civil-date algorithms in `entry.rs`.
fn walk_days(until_year: u32) -> impl Iterator<Item = (u64, u32, u32, u32)> {
    let leap = |y: u32| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let mut state = (0u64, 1970u32, 1u32, 1u32);
    std::iter::from_fn(move || {
        let (days, y, m, d) = state;
        if y > until_year {
            return None;
        }
        let len = match m {
            2 if leap(y) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        state = if d < len {
            (days + 1, y, m, d + 1)
        } else if m < 12 {
            (days + 1, y, m + 1, 1)
        } else {
            (days + 1, y + 1, 1, 1)
        };
        Some((days, y, m, d))
    })
}

#[test]
fn from_unix_and_unix_time_agree_with_a_day_by_day_calendar() {
    // Every day from 1970 to 2404 (covers 1972's, 2000's and 2400's leap
    // days and 2100's, 2200's and 2300's missing ones), with a time of day
    // and a fraction that change with the day.
    for (days, y, m, d) in walk_days(2404) {
        let secs_of_day = (days * 7_919) % 86_400;
        let nanos = u32::try_from((days * 104_729) % 1_000_000_000).unwrap();
        let seconds = days * 86_400 + secs_of_day;
        let ts = Timestamp::from_unix(seconds, nanos).unwrap();
        let expected_whole = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            secs_of_day / 3600,
            secs_of_day % 3600 / 60,
            secs_of_day % 60
        );
        assert!(ts.as_str().starts_with(&expected_whole), "{seconds}: {ts} vs {expected_whole}");
        assert_eq!(ts.unix_time(), (i64::try_from(seconds).unwrap(), nanos), "{ts}");
        assert_eq!(t(ts.as_str()), ts);
    }
}

#[test]
fn unix_time_before_1970() {
    assert_eq!(t("1969-12-31T23:59:59.5Z").unix_time(), (-1, 500_000_000));
    assert_eq!(t("1969-01-01T00:00:00Z").unix_time(), (-31_536_000, 0));
    assert_eq!(t("1968-02-29T12:00:00Z").unix_time(), (-58_017_600, 0));
    assert_eq!(t("1900-03-01T00:00:00Z").unix_time(), (-2_203_891_200, 0));
    assert_eq!(t("1600-02-29T00:00:00Z").unix_time(), (-11_670_998_400, 0));
    assert_eq!(t("0001-01-01T00:00:00.000000001Z").unix_time(), (-62_135_596_800, 1));
}

#[test]
fn timestamps_compare_both_ways_and_display_their_text() {
    use std::cmp::Ordering;
    let pairs = [
        ("2026-03-01T12:00:05Z", "2026-03-01T12:00:05.5Z"),
        ("2026-03-01T12:00:05.25Z", "2026-03-01T12:00:05.5Z"),
        ("2026-03-01T12:00:05.999999999Z", "2026-03-01T12:00:06Z"),
        ("2025-12-31T23:59:59Z", "2026-01-01T00:00:00Z"),
    ];
    for (a, b) in pairs {
        let (a, b) = (t(a), t(b));
        assert_eq!(a.cmp(&b), Ordering::Less, "{a} {b}");
        assert_eq!(b.cmp(&a), Ordering::Greater, "{a} {b}");
        assert_eq!(a.partial_cmp(&b), Some(Ordering::Less));
        assert_eq!(b.partial_cmp(&a), Some(Ordering::Greater));
        assert!(b > a);
        assert_eq!(a.cmp(&a.clone()), Ordering::Equal);
        assert_eq!(a.partial_cmp(&a.clone()), Some(Ordering::Equal));
    }
    let x = t("2026-03-01T12:00:05.25Z");
    assert_eq!(x.to_string(), "2026-03-01T12:00:05.25Z");
    assert_eq!(format!("[{x}]"), "[2026-03-01T12:00:05.25Z]");
    assert_eq!(serde_json::from_value::<Timestamp>(json!("2026-03-01T12:00:05.25Z")).unwrap(), x);
    assert!(serde_json::from_value::<Timestamp>(json!("2026-03-01T12:00:05.250Z")).is_err());
}

#[test]
fn names_are_their_serde_form_and_display() {
    for k in EntryKind::ALL {
        assert_eq!(serde_json::to_value(k).unwrap(), json!(k.as_str()));
        assert_eq!(EntryKind::parse(k.as_str()), Some(k));
        assert_eq!(k.to_string(), k.as_str());
        assert_eq!(format!("<{k}>"), format!("<{}>", k.as_str()));
    }
    assert_eq!(EntryKind::Vote.to_string(), "vote");
    assert_eq!(EntryKind::parse(""), None);
    assert_eq!(EntryKind::parse("Vote"), None);
    for c in [
        ProposalCategory::Rfc,
        ProposalCategory::LicenseException,
        ProposalCategory::PolicyChange,
        ProposalCategory::Other,
    ] {
        assert_eq!(serde_json::to_value(c).unwrap(), json!(c.as_str()));
    }
    for c in [VoteChoice::Yes, VoteChoice::No, VoteChoice::Abstain, VoteChoice::Veto] {
        assert_eq!(serde_json::to_value(c).unwrap(), json!(c.as_str()));
    }
    for o in [
        DecisionOutcome::Accepted,
        DecisionOutcome::Rejected,
        DecisionOutcome::Vetoed,
        DecisionOutcome::NoQuorum,
        DecisionOutcome::Withdrawn,
    ] {
        assert_eq!(serde_json::to_value(o).unwrap(), json!(o.as_str()));
        assert_eq!(o.to_string(), o.as_str());
        assert_eq!(format!("<{o}>"), format!("<{}>", o.as_str()));
    }
    assert_eq!(DecisionOutcome::NoQuorum.to_string(), "no-quorum");
}

fn vote_entry(actor: &str) -> Entry {
    let vote = examples::all().into_iter().find(|p| p.kind() == EntryKind::Vote).unwrap();
    Entry::new(&vote, t("2026-03-01T12:00:00Z"), actor).unwrap()
}

#[test]
fn an_entry_needs_an_actor() {
    let vote = examples::all().into_iter().find(|p| p.kind() == EntryKind::Vote).unwrap();
    assert_eq!(Entry::new(&vote, t("2026-03-01T12:00:00Z"), ""), Err(EntryError::EmptyActor));
    let e = vote_entry("a");
    assert_eq!(e.actor, "a");
    assert_eq!(e.kind, EntryKind::Vote);
    assert_eq!(e.signature, None);
}

#[test]
fn the_leaf_hash_is_the_hash_of_the_canonical_bytes() {
    let e = vote_entry("token:ci");
    assert_eq!(e.leaf_hash().unwrap(), hash_leaf(&e.canonical_bytes().unwrap()));
}

#[test]
fn signing_bytes_are_the_context_and_the_unsigned_canonical_bytes() {
    let mut e = vote_entry("alice");
    let unsigned = e.canonical_bytes().unwrap();
    let mut expected = SIGNING_CONTEXT.to_vec();
    expected.extend_from_slice(&unsigned);
    assert_eq!(e.signing_bytes().unwrap(), expected);
    let key = SignerKey::from_seed("alice.example", &[1; 32]).unwrap();
    e.sign(&key).unwrap();
    // The signature is left out of what is signed, and it verifies over
    // exactly those bytes with the key it names.
    assert_eq!(e.signing_bytes().unwrap(), expected);
    let sig = e.signature.clone().unwrap();
    assert_eq!(sig.key, key.verifier_key().to_string());
    let raw = BASE64.decode(&sig.sig).unwrap();
    assert!(key.verifier_key().verify(&expected, &raw));
    assert_ne!(e.canonical_bytes().unwrap(), unsigned);
}

#[test]
fn a_signature_that_is_not_base64_is_a_format_error() {
    let key = SignerKey::from_seed("alice.example", &[1; 32]).unwrap();
    let mut e = vote_entry("alice");
    e.sign(&key).unwrap();
    e.signature.as_mut().unwrap().sig = "not base64!".into();
    assert!(matches!(e.verify_signature(), Err(EntryError::SignatureFormat(_))));
}

#[test]
fn peek_kind_skips_escaped_quotes_in_the_actor() {
    for actor in ["a", "a\"b", "a\\", "\\\"", "x\"y\"z", "token:ci", "é\u{1}"] {
        let e = vote_entry(actor);
        let bytes = e.canonical_bytes().unwrap();
        assert_eq!(peek_kind(&bytes), Some(EntryKind::Vote), "{}", String::from_utf8_lossy(&bytes));
    }
    assert_eq!(peek_kind(br#"{"actor":"a","kind":"decision","payload":{}}"#), Some(EntryKind::Decision));
    assert_eq!(peek_kind(br#"{"actor":"a\"","kind":"decision","#), Some(EntryKind::Decision));
    assert_eq!(peek_kind(br#"{"actor":"a\\","kind":"vote""#), Some(EntryKind::Vote));
    assert_eq!(peek_kind(br#"{"actor":"","kind":"vote""#), Some(EntryKind::Vote));
    assert_eq!(peek_kind(br#"{"actor":"a\","kind":"vote""#), None);
    assert_eq!(peek_kind(br#"{"actor":"a","kind":"vot"#), None);
    assert_eq!(peek_kind(br#"{"actor":"a","kind":"ballot""#), None);
    assert_eq!(peek_kind(br#"{"actor":"a","kinds":"vote""#), None);
    assert_eq!(peek_kind(br#"{"actor":"a""#), None);
    assert_eq!(peek_kind(br#"{"actor":"a"#), None);
    assert_eq!(peek_kind(br#"{"kind":"vote"}"#), None);
    assert_eq!(peek_kind(b""), None);
}

fn vote_map(extra: &[(&str, Value)]) -> Map<String, Value> {
    let vote = examples::all().into_iter().find(|p| p.kind() == EntryKind::Vote).unwrap();
    let mut map = vote.to_map().unwrap();
    for (k, v) in extra {
        map.insert((*k).to_owned(), v.clone());
    }
    map
}

#[test]
fn a_null_anywhere_in_a_payload_map_is_refused_before_its_schema() {
    let vote = examples::all().into_iter().find(|p| p.kind() == EntryKind::Vote).unwrap();
    assert_eq!(Payload::from_map(EntryKind::Vote, &vote_map(&[])).unwrap(), vote);
    for extra in [json!(null), json!([1, null]), json!({"a": {"b": null}}), json!([[{"c": [null]}]])] {
        assert_eq!(
            Payload::from_map(EntryKind::Vote, &vote_map(&[("x", extra.clone())])),
            Err(EntryError::ContainsNull),
            "{extra}"
        );
    }
    // Without a null the unknown member is the schema's to refuse.
    for extra in [json!([1, 2]), json!({"a": {"b": false}}), json!("null"), json!(0)] {
        assert!(
            matches!(
                Payload::from_map(EntryKind::Vote, &vote_map(&[("x", extra.clone())])),
                Err(EntryError::InvalidPayload { kind: EntryKind::Vote, .. })
            ),
            "{extra}"
        );
    }
    // An optional field written as null is refused too, not read as absent.
    let withdrawal = examples::all().into_iter().find(|p| p.kind() == EntryKind::ProposalWithdrawal).unwrap();
    let mut map = withdrawal.to_map().unwrap();
    map.insert("reason".into(), Value::Null);
    assert_eq!(Payload::from_map(EntryKind::ProposalWithdrawal, &map), Err(EntryError::ContainsNull));
    map.remove("reason");
    assert!(Payload::from_map(EntryKind::ProposalWithdrawal, &map).is_ok());
}

#[test]
fn every_example_round_trips_through_its_map_and_its_bytes() {
    for p in examples::all() {
        let map = p.to_map().unwrap();
        assert_eq!(map.get("schema"), Some(&json!(1)), "{}", p.kind());
        assert_eq!(Payload::from_map(p.kind(), &map).unwrap(), p);
        let e = Entry::new(&p, t("2026-03-01T12:00:00Z"), "a").unwrap();
        let bytes = e.canonical_bytes().unwrap();
        let (back, typed) = Entry::from_canonical_bytes_with_payload(&bytes).unwrap();
        assert_eq!(back, e);
        assert_eq!(typed, p);
        assert_eq!(steward_ledger::entry::check_entry_bytes(&bytes), Ok(p.kind()));
        assert_eq!(peek_kind(&bytes), Some(p.kind()));
        let mut wrong = map.clone();
        wrong.insert("schema".into(), json!(2));
        assert_eq!(
            Payload::from_map(p.kind(), &wrong),
            Err(EntryError::UnsupportedSchema { kind: p.kind(), schema: 2 })
        );
        wrong.remove("schema");
        assert_eq!(
            Payload::from_map(p.kind(), &wrong),
            Err(EntryError::UnsupportedSchema { kind: p.kind(), schema: 0 })
        );
    }
}

#[test]
fn name_rules_at_their_lengths_and_characters() {
    for (rule, max) in [(NameRule::Id, 64), (NameRule::Class, 64), (NameRule::Identity, 128)] {
        assert!(rule.accepts(&"a".repeat(max)), "{rule:?}");
        assert!(!rule.accepts(&"a".repeat(max + 1)), "{rule:?}");
        assert!(rule.accepts("a"), "{rule:?}");
        assert!(!rule.accepts(""), "{rule:?}");
        assert!(!rule.accepts("-a"), "{rule:?}");
        assert!(!rule.accepts("a b"), "{rule:?}");
        assert!(!rule.accepts("aé"), "{rule:?}");
    }
    assert!(NameRule::Id.accepts("Rfc-1.2_x"));
    assert!(NameRule::Id.accepts("1a"));
    assert!(!NameRule::Id.accepts("a@b"));
    assert!(!NameRule::Id.accepts("a:b"));
    assert!(NameRule::Class.accepts("tc-2"));
    assert!(!NameRule::Class.accepts("1a"));
    assert!(!NameRule::Class.accepts("A"));
    assert!(!NameRule::Class.accepts("aB"));
    assert!(!NameRule::Class.accepts("a.b"));
    assert!(!NameRule::Class.accepts("a_b"));
    assert!(NameRule::Identity.accepts("Alice.B_c-d@example.org:1"));
    assert!(NameRule::Identity.accepts("1"));
    assert!(!NameRule::Identity.accepts("@a"));
    assert!(!NameRule::Identity.accepts("a/b"));
}

fn invalid_reason(p: &Payload) -> String {
    match p.validate() {
        Err(EntryError::InvalidPayload { reason, .. }) => reason,
        other => panic!("{other:?}"),
    }
}

fn with_withdrawal(f: impl FnOnce(&mut steward_ledger::entry::ProposalWithdrawal)) -> Payload {
    let Some(Payload::ProposalWithdrawal(mut w)) =
        examples::all().into_iter().find(|p| p.kind() == EntryKind::ProposalWithdrawal)
    else {
        unreachable!()
    };
    f(&mut w);
    Payload::ProposalWithdrawal(w)
}

#[test]
fn error_messages_name_the_rule_and_show_at_most_64_characters() {
    let id = "1 to 64 of A-Z a-z 0-9 . _ -, starting with a letter or digit";
    let reason = invalid_reason(&with_withdrawal(|w| w.proposal_id = "a b".into()));
    assert_eq!(reason, format!("proposal_id \"a b\" must be {id}"));
    // 65 characters: 64 are shown, then an ellipsis.
    let reason = invalid_reason(&with_withdrawal(|w| w.proposal_id = format!("-{}", "a".repeat(64))));
    assert_eq!(reason, format!("proposal_id \"-{}…\" must be {id}", "a".repeat(63)));
    // 64 two-byte characters: all shown, no ellipsis (bytes are not characters).
    let reason = invalid_reason(&with_withdrawal(|w| w.proposal_id = "é".repeat(64)));
    assert_eq!(reason, format!("proposal_id \"{}\" must be {id}", "é".repeat(64)));
    let reason = invalid_reason(&with_withdrawal(|w| w.proposal_id = "é".repeat(65)));
    assert_eq!(reason, format!("proposal_id \"{}…\" must be {id}", "é".repeat(64)));

    let Some(Payload::VoterRegistration(mut r)) =
        examples::all().into_iter().find(|p| p.kind() == EntryKind::VoterRegistration)
    else {
        unreachable!()
    };
    r.voter = "@".into();
    assert_eq!(
        invalid_reason(&Payload::VoterRegistration(r.clone())),
        "voter \"@\" must be 1 to 128 of A-Z a-z 0-9 . _ - @ :, starting with a letter or digit"
    );
    r.voter = "alice".into();
    r.classes = vec!["A".into()];
    assert_eq!(
        invalid_reason(&Payload::VoterRegistration(r)),
        "classes \"A\" must be 1 to 64 of a-z 0-9 -, starting with a letter"
    );
}

#[test]
fn free_text_is_one_to_max_characters_without_controls() {
    let text_rule = |s: &str| format!("reason must be 1 to 1000 characters without control characters, not {s}");
    with_withdrawal(|w| w.reason = Some("x".repeat(1000))).validate().unwrap();
    with_withdrawal(|w| w.reason = Some("é".repeat(1000))).validate().unwrap();
    with_withdrawal(|w| w.reason = Some(" x ".into())).validate().unwrap();
    assert_eq!(
        invalid_reason(&with_withdrawal(|w| w.reason = Some("x".repeat(1001)))),
        text_rule(&format!("\"{}…\"", "x".repeat(64)))
    );
    assert_eq!(invalid_reason(&with_withdrawal(|w| w.reason = Some(String::new()))), text_rule("\"\""));
    assert_eq!(invalid_reason(&with_withdrawal(|w| w.reason = Some(" \t".into()))), text_rule("\" \\t\""));
    assert_eq!(invalid_reason(&with_withdrawal(|w| w.reason = Some("a\nb".into()))), text_rule("\"a\\nb\""));
}

#[test]
fn exception_scopes_hold_at_most_100_projects_each_checked() {
    let Some(Payload::ExceptionGranted(mut g)) =
        examples::all().into_iter().find(|p| p.kind() == EntryKind::ExceptionGranted)
    else {
        unreachable!()
    };
    g.scope.projects = (0..100).map(|i| format!("p{i}")).collect();
    Payload::ExceptionGranted(g.clone()).validate().unwrap();
    g.scope.projects.push("p100".into());
    assert_eq!(invalid_reason(&Payload::ExceptionGranted(g.clone())), "scope.projects holds at most 100 projects");
    g.scope.projects = vec!["ok".into(), " ".into()];
    assert!(invalid_reason(&Payload::ExceptionGranted(g.clone())).starts_with("scope.projects[] must be"));
    g.scope.projects = vec![];
    g.scope.versions = Some("\u{7}".into());
    assert!(invalid_reason(&Payload::ExceptionGranted(g.clone())).starts_with("scope.versions must be"));
    g.scope.versions = None;
    Payload::ExceptionGranted(g.clone()).validate().unwrap();
    for field in ["ecosystem", "package", "license"] {
        let mut h = g.clone();
        match field {
            "ecosystem" => h.scope.ecosystem = String::new(),
            "package" => h.scope.package = String::new(),
            _ => h.scope.license = String::new(),
        }
        assert!(
            invalid_reason(&Payload::ExceptionGranted(h)).starts_with(&format!("scope.{field} must be")),
            "{field}"
        );
    }
}

#[test]
fn artifact_digests_may_be_sha512() {
    let Some(Payload::ArtifactVerdict(mut v)) =
        examples::all().into_iter().find(|p| p.kind() == EntryKind::ArtifactVerdict)
    else {
        unreachable!()
    };
    let digest_rule = "digest must be sha256:<64 hex> or sha512:<128 hex>";
    for ok in [format!("sha512:{}", "0a".repeat(64)), format!("sha256:{}", "f".repeat(64))] {
        v.digest = ok;
        Payload::ArtifactVerdict(v.clone()).validate().unwrap();
    }
    for bad in [
        format!("sha512:{}", "0a".repeat(32)),
        format!("sha512:{}", "a".repeat(127)),
        format!("sha512:{}", "a".repeat(129)),
        format!("sha512:{}", "A".repeat(128)),
        format!("sha512:{}g", "a".repeat(127)),
        format!("sha384:{}", "a".repeat(128)),
        format!("sha256:{}", "a".repeat(128)),
        "a".repeat(128),
    ] {
        v.digest = bad.clone();
        assert_eq!(invalid_reason(&Payload::ArtifactVerdict(v.clone())), digest_rule, "{bad}");
    }
}

#[test]
fn stored_entries_may_be_exactly_the_limit_but_not_one_more() {
    use steward_ledger::entry::check_entry_bytes;
    use steward_ledger::tiles::MAX_ENTRY_SIZE;
    let payload = examples::scan_verdict();
    let time = t("2026-03-01T12:00:00Z");
    let base = Entry::new(&payload, time.clone(), "a").unwrap().canonical_bytes().unwrap().len();
    let actor = "a".repeat(1 + MAX_ENTRY_SIZE - base);
    let entry = Entry::new(&payload, time, &actor).unwrap();
    let bytes = entry.canonical_bytes().unwrap();
    assert_eq!(bytes.len(), MAX_ENTRY_SIZE);
    assert_eq!(Entry::from_canonical_bytes(&bytes), Ok(entry.clone()));
    // One more actor character: still canonical, but one byte too many.
    let prefix = b"{\"actor\":\"".len();
    let mut over = bytes.clone();
    over.insert(prefix, b'a');
    assert_eq!(&over[..prefix + 2], b"{\"actor\":\"aa");
    let too_large = EntryError::TooLarge { len: MAX_ENTRY_SIZE + 1, max: MAX_ENTRY_SIZE };
    assert_eq!(Entry::from_canonical_bytes(&over), Err(too_large.clone()));
    assert_eq!(Entry::from_canonical_bytes_with_payload(&over), Err(too_large.clone()));
    assert_eq!(check_entry_bytes(&over), Err(too_large.clone()));
    let mut bigger = entry;
    bigger.actor.push('a');
    assert_eq!(bigger.canonical_bytes(), Err(too_large));
}

#[test]
fn sorted_name_lists_hold_at_most_16_distinct_names_in_order() {
    let Some(Payload::VoterRegistration(mut r)) =
        examples::all().into_iter().find(|p| p.kind() == EntryKind::VoterRegistration)
    else {
        unreachable!()
    };
    let rule = "classes must be sorted, without duplicates, at most 16";
    r.classes = (0..16).map(|i| format!("c{i:02}")).collect();
    Payload::VoterRegistration(r.clone()).validate().unwrap();
    r.classes.push("c16".into());
    assert_eq!(invalid_reason(&Payload::VoterRegistration(r.clone())), rule);
    r.classes = vec!["a".into(), "b".into()];
    Payload::VoterRegistration(r.clone()).validate().unwrap();
    r.classes = vec!["a".into(), "a".into()];
    assert_eq!(invalid_reason(&Payload::VoterRegistration(r.clone())), rule);
    r.classes = vec!["b".into(), "a".into()];
    assert_eq!(invalid_reason(&Payload::VoterRegistration(r.clone())), rule);
    r.classes = vec!["a".into(), "b".into(), "b".into()];
    assert_eq!(invalid_reason(&Payload::VoterRegistration(r.clone())), rule);
    // Each name is checked before the order.
    r.classes = vec!["b".into(), "A".into()];
    assert!(invalid_reason(&Payload::VoterRegistration(r)).starts_with("classes \"A\" must be"));
}
