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
