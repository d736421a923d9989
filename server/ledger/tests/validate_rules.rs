//! Rules of `Payload::validate` at their exact boundaries, in this crate
//! (so `cargo mutants -p steward-ledger` sees them; the server's
//! `ledger_store.rs` checks the same rule through the appender).

use steward_ledger::entry::{EntryError, EntryKind, Payload, examples};

fn scan_verdict(drift_count: u32, denied_count: u32) -> Payload {
    let Payload::ScanVerdict(mut v) = examples::scan_verdict() else { unreachable!() };
    v.drift_count = drift_count;
    v.denied_count = denied_count;
    Payload::ScanVerdict(v)
}

#[test]
fn denied_count_may_reach_but_not_exceed_drift_count() {
    scan_verdict(0, 0).validate().unwrap();
    scan_verdict(3, 3).validate().unwrap();
    scan_verdict(3, 2).validate().unwrap();
    assert_eq!(
        scan_verdict(3, 4).validate(),
        Err(EntryError::InvalidPayload {
            kind: EntryKind::ScanVerdict,
            reason: "denied_count cannot exceed drift_count".into()
        })
    );
    assert!(scan_verdict(0, 1).validate().is_err());
}

#[test]
fn a_scan_verdict_needs_a_64_hex_digit_report_digest() {
    let Payload::ScanVerdict(mut v) = examples::scan_verdict() else { unreachable!() };
    for bad in ["", "abc", &"A".repeat(64), &"g".repeat(64), &"a".repeat(63), &"a".repeat(65)] {
        v.report_sha256 = bad.to_string();
        let err = Payload::ScanVerdict(v.clone()).validate().unwrap_err();
        assert_eq!(
            err,
            EntryError::InvalidPayload {
                kind: EntryKind::ScanVerdict,
                reason: "report_sha256 must be 64 lowercase hex digits".into()
            },
            "{bad:?}"
        );
    }
    v.report_sha256 = "0123456789abcdef".repeat(4);
    Payload::ScanVerdict(v).validate().unwrap();
}

#[test]
fn entry_bytes_may_be_exactly_the_limit_but_not_one_more() {
    use steward_ledger::entry::{Entry, Timestamp, check_entry_bytes};
    use steward_ledger::tiles::MAX_ENTRY_SIZE;
    let payload = examples::scan_verdict();
    let time = Timestamp::from_unix(1_780_000_000, 0).unwrap();
    let base = Entry::new(&payload, time.clone(), "a").unwrap().canonical_bytes().unwrap().len();
    let actor = "a".repeat(1 + MAX_ENTRY_SIZE - base);
    let bytes = Entry::new(&payload, time, &actor).unwrap().canonical_bytes().unwrap();
    assert_eq!(bytes.len(), MAX_ENTRY_SIZE);
    assert_eq!(check_entry_bytes(&bytes), Ok(EntryKind::ScanVerdict));
    let mut over = bytes.clone();
    over.push(b' ');
    assert_eq!(check_entry_bytes(&over), Err(EntryError::TooLarge { len: MAX_ENTRY_SIZE + 1, max: MAX_ENTRY_SIZE }));
}

#[test]
fn policy_files_need_a_path_a_digest_and_a_strict_order() {
    let Payload::PolicyRevision(base) =
        examples::all().into_iter().find(|p| matches!(p, Payload::PolicyRevision(_))).unwrap()
    else {
        unreachable!()
    };
    let file = |path: &str| steward_ledger::entry::PolicyFile { path: path.into(), sha256: "ab".repeat(32) };
    let with = |files: Vec<steward_ledger::entry::PolicyFile>| {
        let mut p = base.clone();
        p.files = files;
        Payload::PolicyRevision(p).validate()
    };
    let reason = |r: &str| Err(EntryError::InvalidPayload { kind: EntryKind::PolicyRevision, reason: r.into() });
    with(vec![file("a.rego"), file("b.rego")]).unwrap();
    with(vec![]).unwrap();
    assert_eq!(with(vec![file("")]), reason("every file needs a path and a 64-hex-digit sha256"));
    let mut bad_digest = file("a.rego");
    bad_digest.sha256 = "AB".repeat(32);
    assert_eq!(with(vec![bad_digest]), reason("every file needs a path and a 64-hex-digit sha256"));
    for files in [vec![file("b.rego"), file("a.rego")], vec![file("a.rego"), file("a.rego")]] {
        assert_eq!(with(files), reason("files must be sorted by path, without duplicates"));
    }
}

#[test]
fn a_proposal_names_one_to_max_classes() {
    use steward_ledger::entry::MAX_CLASSES;
    let Payload::Proposal(base) = examples::all().into_iter().find(|p| matches!(p, Payload::Proposal(_))).unwrap()
    else {
        unreachable!()
    };
    let message = format!("voter_classes must hold 1 to {MAX_CLASSES} classes");
    let with = |n: usize| {
        let mut p = base.clone();
        let template = p.voter_classes[0].clone();
        p.voter_classes = (0..n)
            .map(|i| {
                let mut c = template.clone();
                c.name = format!("class-{i:02}");
                c
            })
            .collect();
        Payload::Proposal(p).validate()
    };
    for n in [0, MAX_CLASSES + 1] {
        assert_eq!(
            with(n),
            Err(EntryError::InvalidPayload { kind: EntryKind::Proposal, reason: message.clone() }),
            "{n} classes"
        );
    }
    // Exactly MAX_CLASSES is allowed (weights 16 × 625 = 10000).
    let mut full = base.clone();
    let template = full.voter_classes[0].clone();
    full.voter_classes = (0..MAX_CLASSES)
        .map(|i| {
            let mut c = template.clone();
            c.name = format!("class-{i:02}");
            c.weight_bp = 10_000 / MAX_CLASSES as u32;
            c
        })
        .collect();
    full.veto_classes.clear();
    Payload::Proposal(full).validate().unwrap();
    Payload::Proposal(base).validate().unwrap();
}

fn example(kind: EntryKind) -> Payload {
    examples::all().into_iter().find(|p| p.kind() == kind).unwrap()
}

fn refused(kind: EntryKind, reason: &str) -> Result<(), EntryError> {
    Err(EntryError::InvalidPayload { kind, reason: reason.into() })
}

#[test]
fn proposal_classes_need_a_weight_and_a_quorum_of_at_most_10000() {
    let Payload::Proposal(base) = example(EntryKind::Proposal) else { unreachable!() };
    let with = |weight_bp: u32, quorum_bp: u32| {
        let mut p = base.clone();
        p.voter_classes[0].weight_bp = weight_bp;
        p.voter_classes[0].quorum_bp = quorum_bp;
        let name = p.voter_classes[0].name.clone();
        (Payload::Proposal(p).validate(), name)
    };
    let (ok, _) = with(base.voter_classes[0].weight_bp, 10_000);
    ok.unwrap();
    for (weight, quorum) in [(0, 0), (base.voter_classes[0].weight_bp, 10_001)] {
        let (result, name) = with(weight, quorum);
        let reason = format!("voter class {name}: weight_bp must be at least 1 and quorum_bp at most 10000");
        assert_eq!(result, refused(EntryKind::Proposal, &reason), "weight {weight}, quorum {quorum}");
    }
}

#[test]
fn a_decision_has_a_share_of_at_most_10000_and_one_to_max_classes() {
    use steward_ledger::entry::MAX_CLASSES;
    let Payload::Decision(base) = example(EntryKind::Decision) else { unreachable!() };
    let mut d = base.clone();
    d.yes_share_bp = 10_000;
    Payload::Decision(d.clone()).validate().unwrap();
    d.yes_share_bp = 10_001;
    assert_eq!(Payload::Decision(d).validate(), refused(EntryKind::Decision, "yes_share_bp must be at most 10000"));
    let reason = format!("tally must hold 1 to {MAX_CLASSES} classes");
    for n in [0, MAX_CLASSES + 1] {
        let mut d = base.clone();
        let one = d.tally[0].clone();
        d.tally = (0..n)
            .map(|i| {
                let mut t = one.clone();
                t.class = format!("class-{i:02}");
                t
            })
            .collect();
        assert_eq!(Payload::Decision(d).validate(), refused(EntryKind::Decision, &reason), "{n} classes");
    }
    let mut d = base.clone();
    let one = d.tally[0].clone();
    d.tally = (0..MAX_CLASSES)
        .map(|i| {
            let mut t = one.clone();
            t.class = format!("class-{i:02}");
            t
        })
        .collect();
    Payload::Decision(d).validate().unwrap();
}

#[test]
fn artifact_verdict_rules_are_strictly_sorted() {
    let Payload::ArtifactVerdict(base) = example(EntryKind::ArtifactVerdict) else { unreachable!() };
    let with = |rules: &[&str]| {
        let mut a = base.clone();
        a.rules = rules.iter().map(|r| r.to_string()).collect();
        Payload::ArtifactVerdict(a).validate()
    };
    with(&["a.rule", "b.rule"]).unwrap();
    for rules in [&["b.rule", "a.rule"][..], &["a.rule", "a.rule"][..]] {
        assert_eq!(with(rules), refused(EntryKind::ArtifactVerdict, "rules must be sorted, without duplicates"));
    }
    let mut a = base.clone();
    a.facts_sha256 = "A".repeat(64);
    assert_eq!(
        Payload::ArtifactVerdict(a).validate(),
        refused(EntryKind::ArtifactVerdict, "policy_revision and facts_sha256 must be 64 lowercase hex digits")
    );
}

#[test]
fn credit_award_points_are_positive_and_negative_only_for_a_correction() {
    let Payload::CreditAward(base) = example(EntryKind::CreditAward) else { unreachable!() };
    let with = |rule: &str, points: i64, corrects: Option<&str>| {
        let mut p = base.clone();
        p.rule = rule.into();
        p.points = points;
        p.corrects = corrects.map(str::to_owned);
        Payload::CreditAward(p).validate()
    };
    let points = refused(EntryKind::CreditAward, "points must be positive (negative only for rule correction)");
    let names = refused(EntryKind::CreditAward, "a correction (and only a correction) names the award it corrects");
    let negative = refused(EntryKind::CreditAward, "a correction's points are negative");
    // An ordinary rule: positive points only, and no `corrects`.
    with("fix-e-easy", 1, None).unwrap();
    with("fix-e-easy", i64::MAX, None).unwrap();
    assert_eq!(with("fix-e-easy", 0, None), points, "zero points");
    assert_eq!(with("fix-e-easy", -1, None), points, "negative points for an ordinary rule");
    assert_eq!(with("fix-e-easy", i64::MIN, None), points, "negative points for an ordinary rule");
    assert_eq!(with("fix-e-easy", 5, Some("gh-1")), names, "an ordinary award naming an award it corrects");
    // A correction: negative points, and it names the award it corrects.
    with("correction", -1, Some("gh-123456")).unwrap();
    with("correction", i64::MIN, Some("gh-123456")).unwrap();
    assert_eq!(with("correction", 0, Some("gh-123456")), points, "a correction of zero points");
    assert_eq!(with("correction", 1, Some("gh-123456")), negative, "a correction with positive points");
    assert_eq!(with("correction", -5, None), names, "a correction not naming the award it corrects");
}
