//! RFC 8785 canonical JSON (`jcs.rs`) at its exact boundaries: member
//! order by UTF-16 code units (escaped names included), the escapes and
//! numbers the scanner accepts, nesting limits of the writer and the
//! scanner, error offsets and JSON pointers (written for the survivors of
//! `cargo mutants` on `jcs.rs`, docs/TESTING.md).

use serde_json::{Value, json};
use steward_ledger::jcs::{
    CanonicalError, MAX_DEPTH, MAX_SAFE_INTEGER, ScanSummary, check, to_canonical_vec, validate_canonical,
};

fn canon(v: &Value) -> String {
    String::from_utf8(to_canonical_vec(v).unwrap()).unwrap()
}

/// The offset and reason of a `NotCanonical` error.
fn not_canonical(bytes: &[u8]) -> (usize, &'static str) {
    match validate_canonical(bytes) {
        Err(CanonicalError::NotCanonical { offset, reason }) => (offset, reason),
        other => panic!("{}: {other:?}", String::from_utf8_lossy(bytes)),
    }
}

fn accepted(bytes: &[u8]) -> ScanSummary {
    validate_canonical(bytes).unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(bytes)))
}

const UNSORTED: &str = "member names not sorted by UTF-16 code units, or duplicated";

/// Names whose order by UTF-16 code units differs from the order of their
/// escaped or UTF-8 bytes: escapes (`\t` < `\u0001` as bytes, but 0x01 <
/// 0x09), and characters at or above U+E000 against supplementary ones
/// (U+E000 is EE 80 80 in UTF-8 but 0xE000 > 0xD83D in UTF-16).
fn tricky_names() -> Vec<String> {
    [
        "\u{1}",
        "\u{8}",
        "\t",
        "\n",
        "\u{b}",
        "\u{c}",
        "\r",
        "\u{1f}",
        " ",
        "\"",
        "\\",
        "a",
        "a\"",
        "a\\",
        "a\n",
        "a\u{1}",
        "ab",
        "\u{7f}",
        "é",
        "\u{d7ff}",
        "\u{e000}",
        "\u{ffff}",
        "\u{10000}",
        "\u{1f600}",
        "\u{ef}",
        "\u{fb33}",
        "x\u{e000}",
        "x\u{1f600}",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// `{"name":0,…}` with the names in the given order, written by hand.
fn object_text(names: &[String]) -> (String, Vec<usize>) {
    let mut out = String::from("{");
    let mut starts = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        starts.push(out.len());
        out.push_str(&canon(&json!(n)));
        out.push_str(":0");
    }
    out.push('}');
    (out, starts)
}

#[test]
fn members_are_ordered_by_utf16_code_units_even_when_escaped() {
    let mut names = tricky_names();
    names.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
    let (text, starts) = object_text(&names);
    // The writer produces that order, and the scanner accepts it.
    let map: serde_json::Map<String, Value> = names.iter().map(|n| (n.clone(), json!(0))).collect();
    assert_eq!(canon(&Value::Object(map)), text);
    accepted(text.as_bytes());
    // Any two neighbours swapped, or one repeated, are refused at the
    // second name of the pair.
    for i in 0..names.len() - 1 {
        let mut swapped = names.clone();
        swapped.swap(i, i + 1);
        let (bad, bad_starts) = object_text(&swapped);
        assert_eq!(not_canonical(bad.as_bytes()), (bad_starts[i + 1], UNSORTED), "{bad}");
        let mut twice = names.clone();
        twice.insert(i + 1, names[i].clone());
        let (bad, bad_starts) = object_text(&twice);
        assert_eq!(not_canonical(bad.as_bytes()), (bad_starts[i + 1], UNSORTED), "{bad}");
    }
    assert_eq!(starts[0], 1);
}

#[test]
fn escaped_names_compare_by_their_characters() {
    // Escaped against escaped and against plain names, pairwise.
    let names = tricky_names();
    for a in &names {
        for b in &names {
            let ordered = a.encode_utf16().cmp(b.encode_utf16()) == std::cmp::Ordering::Less;
            let (text, _) = object_text(&[a.clone(), b.clone()]);
            assert_eq!(validate_canonical(text.as_bytes()).is_ok(), ordered, "{text}");
        }
    }
}

#[test]
fn the_scanner_accepts_only_the_escapes_canonical_form_uses() {
    for c in 0u32..0x20 {
        let ch = char::from_u32(c).unwrap();
        let text = canon(&json!(ch.to_string()));
        accepted(text.as_bytes());
        let long = format!("\"\\u{c:04x}\"");
        let short = matches!(c, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d);
        assert_eq!(text == long, !short, "{c:#x}");
        if short {
            assert_eq!(not_canonical(long.as_bytes()), (1, "escape that canonical form does not use"), "{long}");
        }
        // Raw control characters are never canonical.
        let raw = [b'"', u8::try_from(c).unwrap(), b'"'];
        assert_eq!(not_canonical(&raw), (1, "unescaped control character"));
    }
    for bad in [
        "\"\\u0020\"",
        "\"\\u0021\"",
        "\"\\u007f\"",
        "\"\\u001F\"",
        "\"\\u00e9\"",
        "\"\\ud83d\"",
        "\"\\/\"",
        "\"\\a\"",
        "\"\\u001\"",
        "\"\\u01\"",
        "\"\\u\"",
        "\"\\u+01f\"",
        "\"\\u-01f\"",
        "\"\\",
        "\"a\\u00",
    ] {
        assert_eq!(not_canonical(bad.as_bytes()).1, "escape that canonical form does not use", "{bad}");
    }
    assert_eq!(not_canonical(b"\"ab\\x\""), (3, "escape that canonical form does not use"));
    assert_eq!(not_canonical(b"\"ab\\u00e9\""), (3, "escape that canonical form does not use"));
    // After an escape, scanning goes on at the right byte.
    accepted(b"\"\\u001f\\u0000\\n\\\"\\\\x\"");
    accepted(br#"["\u001fa",1]"#);
    accepted(br#"["\na",1]"#);
    assert_eq!(not_canonical(b"\"\\u001f"), (7, "unterminated string"));
    assert_eq!(not_canonical(b"\"\\n"), (3, "unterminated string"));
    assert_eq!(not_canonical(b"\"\\u001f\x01\""), (7, "unescaped control character"));
    assert_eq!(not_canonical(b"\"\\n\x01\""), (3, "unescaped control character"));
    assert_eq!(not_canonical(b"\"abc"), (4, "unterminated string"));
}

#[test]
fn the_writer_escapes_every_control_character() {
    for c in 0u32..0x20 {
        let ch = char::from_u32(c).unwrap();
        let expected = match c {
            0x08 => "\"\\b\"".to_owned(),
            0x09 => "\"\\t\"".to_owned(),
            0x0a => "\"\\n\"".to_owned(),
            0x0c => "\"\\f\"".to_owned(),
            0x0d => "\"\\r\"".to_owned(),
            _ => format!("\"\\u{c:04x}\""),
        };
        assert_eq!(canon(&json!(format!("{ch}"))), expected);
        assert_eq!(canon(&json!(format!("ab{ch}cd"))), format!("\"ab{}cd\"", &expected[1..expected.len() - 1]));
    }
    assert_eq!(canon(&json!("a\"b\\c\u{1f}\u{10}d")), "\"a\\\"b\\\\c\\u001f\\u0010d\"");
    assert_eq!(canon(&json!("")), "\"\"");
    assert_eq!(canon(&json!("plain é \u{2028}")), "\"plain é \u{2028}\"");
}

#[test]
fn integers_at_the_edges_of_the_safe_range() {
    let max = MAX_SAFE_INTEGER;
    assert_eq!(max, 9_007_199_254_740_991);
    assert_eq!(canon(&json!([max, -max, 0, 10, -10, 1])), "[9007199254740991,-9007199254740991,0,10,-10,1]");
    for v in [json!(max + 1), json!(-max - 1), json!(u64::MAX), json!(i64::MIN)] {
        assert!(matches!(to_canonical_vec(&v), Err(CanonicalError::IntegerOutOfRange { .. })), "{v}");
        assert!(check(&v).is_err(), "{v}");
    }
    assert_eq!(
        to_canonical_vec(&json!({"a": [max + 1]})),
        Err(CanonicalError::IntegerOutOfRange { path: "/a/0".into(), value: "9007199254740992".into() })
    );
    assert_eq!(
        to_canonical_vec(&json!([-max - 1])),
        Err(CanonicalError::IntegerOutOfRange { path: "/0".into(), value: "-9007199254740992".into() })
    );
    check(&json!([max, -max])).unwrap();
    assert_eq!(check(&json!(0.5)), Err(CanonicalError::Float { path: String::new() }));

    for ok in ["0", "1", "10", "-1", "-10", "9007199254740991", "-9007199254740991", "1000000000000000"] {
        accepted(ok.as_bytes());
    }
    for (bad, value) in [
        ("9007199254740992", "9007199254740992"),
        ("-9007199254740992", "-9007199254740992"),
        ("9999999999999999", "9999999999999999"),
        ("10000000000000000", "10000000000000000"),
        ("99999999999999999999", "99999999999999999999"),
        ("[1,-12345678901234567]", "-12345678901234567"),
    ] {
        match validate_canonical(bad.as_bytes()) {
            Err(CanonicalError::IntegerOutOfRange { value: v, .. }) => assert_eq!(v, value, "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert_eq!(
        validate_canonical(b"[1,9007199254740992]"),
        Err(CanonicalError::IntegerOutOfRange { path: "byte 3".into(), value: "9007199254740992".into() })
    );
    assert_eq!(not_canonical(b"00"), (2, "leading zero"));
    assert_eq!(not_canonical(b"[01]"), (3, "leading zero"));
    assert_eq!(not_canonical(b"-01"), (3, "leading zero"));
    assert_eq!(not_canonical(b"-0"), (2, "negative zero"));
    assert_eq!(not_canonical(b"[-0]"), (3, "negative zero"));
    assert_eq!(not_canonical(b"-"), (1, "invalid number"));
    assert_eq!(not_canonical(b"[-]"), (2, "invalid number"));
    assert_eq!(not_canonical(b"-a"), (1, "invalid number"));
    for (bad, start) in [("1.5", 0), ("1e5", 0), ("1E5", 0), ("-0.5", 0), ("[1,2e1]", 3), ("0.0", 0)] {
        assert_eq!(
            validate_canonical(bad.as_bytes()),
            Err(CanonicalError::Float { path: format!("byte {start}") }),
            "{bad}"
        );
    }
}

fn nested_arrays(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

fn nested_objects(depth: usize) -> String {
    format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
}

#[test]
fn the_scanner_and_the_writer_allow_exactly_max_depth() {
    for (text, per_level) in [(nested_arrays as fn(usize) -> String, 1), (nested_objects, 5)] {
        accepted(text(MAX_DEPTH).as_bytes());
        let too_deep = text(MAX_DEPTH + 1);
        assert_eq!(
            validate_canonical(too_deep.as_bytes()),
            Err(CanonicalError::TooDeep { path: format!("byte {}", MAX_DEPTH * per_level), max: MAX_DEPTH })
        );
        let value: Value = serde_json::from_str(&text(MAX_DEPTH)).unwrap();
        assert_eq!(canon(&value), text(MAX_DEPTH));
    }
    let mut v = json!(1);
    for _ in 0..MAX_DEPTH {
        v = json!({"a": v});
    }
    assert!(to_canonical_vec(&v).is_ok());
    let deeper = json!({"a": v});
    assert!(matches!(to_canonical_vec(&deeper), Err(CanonicalError::TooDeep { max: MAX_DEPTH, .. })));
    // Empty containers at the limit are still containers.
    accepted(format!("{}[]{}", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1)).as_bytes());
    assert!(validate_canonical(format!("{}[]{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH)).as_bytes()).is_err());
    assert!(validate_canonical(format!("{}{{}}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH)).as_bytes()).is_err());
}

#[test]
fn errors_name_the_json_pointer_or_the_byte() {
    let v = json!({"a/b": {"c~d": [0, 1, {"e": 1.5}]}});
    assert_eq!(to_canonical_vec(&v), Err(CanonicalError::Float { path: "/a~1b/c~0d/2/e".into() }));
    let v = json!({"x": 1, "y": [true, {"z": 0.25}]});
    assert_eq!(to_canonical_vec(&v), Err(CanonicalError::Float { path: "/y/1/z".into() }));
    let v = json!([[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.5]]);
    assert_eq!(to_canonical_vec(&v), Err(CanonicalError::Float { path: "/0/11".into() }));
    // Paths of earlier siblings do not leak into later ones.
    let v = json!({"aa": [1], "b": {"c": 1}, "d": 2.5});
    assert_eq!(to_canonical_vec(&v), Err(CanonicalError::Float { path: "/d".into() }));
    let mut deep = json!(1);
    for _ in 0..=MAX_DEPTH {
        deep = json!([deep]);
    }
    assert_eq!(
        to_canonical_vec(&json!({"k": deep})),
        Err(CanonicalError::TooDeep { path: format!("/k{}", "/0".repeat(MAX_DEPTH - 1)), max: MAX_DEPTH })
    );
}

#[test]
fn structural_errors_and_their_offsets() {
    assert_eq!(not_canonical(b""), (0, "unexpected end"));
    assert_eq!(not_canonical(b"x"), (0, "unexpected byte"));
    assert_eq!(not_canonical(b" 1"), (0, "unexpected byte"));
    assert_eq!(not_canonical(b"1 "), (1, "trailing bytes after the value"));
    assert_eq!(not_canonical(b"[1]]"), (3, "trailing bytes after the value"));
    assert_eq!(not_canonical(b"tru"), (0, "invalid literal"));
    assert_eq!(not_canonical(b"[true,nul]"), (6, "invalid literal"));
    assert_eq!(not_canonical(b"[fals]"), (1, "invalid literal"));
    assert_eq!(not_canonical(b"truex"), (4, "trailing bytes after the value"));
    assert_eq!(not_canonical(b"[1"), (2, "expected , or ]"));
    assert_eq!(not_canonical(b"[1;2]"), (2, "expected , or ]"));
    assert_eq!(not_canonical(b"[1,]"), (3, "unexpected byte"));
    assert_eq!(not_canonical(b"["), (1, "unexpected end"));
    assert_eq!(not_canonical(b"{"), (1, "expected a member name"));
    assert_eq!(not_canonical(b"{a:1}"), (1, "expected a member name"));
    assert_eq!(not_canonical(b"{\"a\"1}"), (4, "expected :"));
    assert_eq!(not_canonical(b"{\"a\":1"), (6, "expected , or }"));
    assert_eq!(not_canonical(b"{\"a\":1,}"), (7, "expected a member name"));
    assert_eq!(not_canonical(b"{\"b\":1,\"a\":2}"), (7, UNSORTED));
    assert_eq!(not_canonical(b"{\"a\":1,\"a\":2}"), (7, UNSORTED));
    assert_eq!(not_canonical(b"{\"a\":{\"c\":1,\"b\":1}}"), (12, UNSORTED));
    assert_eq!(not_canonical(b"[\"a\xff\"]"), (3, "invalid UTF-8"));
    assert_eq!(not_canonical(b"\"\xc3\""), (1, "invalid UTF-8"));
    accepted(b"{\"a\":1,\"b\":{\"a\":[],\"b\":{}}}");
    accepted(b"[[],{},\"\",0,true,false]");
    accepted(b"{\"\":0,\"a\":1}");
    assert_eq!(not_canonical(b"{\"a\":1,\"\":0}"), (7, UNSORTED));
}

#[test]
fn the_scan_summary_reports_null_anywhere() {
    assert_eq!(accepted(b"null"), ScanSummary { contains_null: true });
    assert_eq!(accepted(b"{\"a\":[1,{\"b\":null}]}"), ScanSummary { contains_null: true });
    assert_eq!(accepted(b"{\"a\":[1,{\"b\":\"null\"}],\"n\":true}"), ScanSummary { contains_null: false });
    assert_eq!(accepted(b"[true,false]"), ScanSummary::default());
    assert!(!accepted(b"0").contains_null);
}

#[test]
fn canonical_output_is_accepted_by_the_scanner() {
    let v = json!({
        "z": [1, -2, "x\u{1}y", {"\u{e000}": null, "\u{1f600}": false, "a\tb": [[], {}]}],
        "\u{7f}": "\"\\",
        "": MAX_SAFE_INTEGER,
    });
    let bytes = to_canonical_vec(&v).unwrap();
    assert_eq!(validate_canonical(&bytes), Ok(ScanSummary { contains_null: true }));
    let back: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(back, v);
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        "{\"\":9007199254740991,\"z\":[1,-2,\"x\\u0001y\",{\"a\\tb\":[[],{}],\"\u{1f600}\":false,\"\u{e000}\":null}],\"\u{7f}\":\"\\\"\\\\\"}"
    );
}
