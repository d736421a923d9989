//! The license corpus (`tests/data/license-corpus/`): real LICENSE, COPYING
//! and COPYRIGHT files taken at the commits where projects changed license
//! or in unusual layouts, plus SPDX license-list texts as controls. Every
//! file must read as its expected expression (compared in canonical form:
//! operand order does not matter, operators do).

use steward_scanner::license::detect::{DEFAULT_THRESHOLD, UNKNOWN_PART, detect_text};
use steward_scanner::license::parse_lenient;

fn dir() -> String {
    format!("{}/tests/data/license-corpus", env!("CARGO_MANIFEST_DIR"))
}

fn manifest() -> toml::Value {
    let path = format!("{}/corpus.toml", dir());
    toml::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn canonical(expr: &str) -> String {
    parse_lenient(expr)
        .and_then(|p| p.value.expr().map(|e| e.canonical().to_string()))
        .unwrap_or_else(|| panic!("expected expression {expr:?} does not parse"))
}

fn detected(text: &str) -> String {
    detect_text(text, DEFAULT_THRESHOLD)
        .expression()
        .map(|e| e.canonical().to_string())
        .unwrap_or_else(|| "none".into())
}

#[test]
fn every_corpus_file_reads_as_expected() {
    let m = manifest();
    let files = m["file"].as_array().expect("[[file]] entries");
    assert!(files.len() >= 40, "the corpus has {} files", files.len());
    let mut wrong = Vec::new();
    for f in files {
        let name = f["file"].as_str().unwrap();
        let expected = f["expected"].as_str().unwrap();
        let bytes = std::fs::read(format!("{}/{name}", dir())).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = detected(&String::from_utf8_lossy(&bytes));
        if got != canonical(expected) {
            wrong.push(format!("{name}: expected {expected}, got {got}"));
        }
    }
    assert!(wrong.is_empty(), "{} of {} wrong:\n{}", wrong.len(), files.len(), wrong.join("\n"));
}

#[test]
fn spdx_texts_read_as_themselves() {
    let m = manifest();
    let controls = m["control"].as_array().expect("[[control]] entries");
    let mut wrong = Vec::new();
    for c in controls {
        let id = c["id"].as_str().unwrap();
        let text = spdx::text::LICENSE_TEXTS.iter().find(|(i, _)| *i == id).map(|(_, t)| *t);
        let text = text.unwrap_or_else(|| panic!("no SPDX text for {id}"));
        let got = detected(text);
        if got != id {
            wrong.push(format!("{id}: got {got}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_corpus_records_where_each_file_came_from() {
    let m = manifest();
    let readme = std::fs::read_to_string(format!("{}/README.md", dir())).unwrap();
    for f in m["file"].as_array().unwrap() {
        let commit = f["commit"].as_str().unwrap();
        assert_eq!(commit.len(), 40, "{f:?}");
        assert!(f["repository"].as_str().unwrap().contains('/'), "{f:?}");
        assert!(!f["path"].as_str().unwrap().is_empty(), "{f:?}");
        assert!(readme.contains(f["file"].as_str().unwrap()), "README.md lacks {}", f["file"]);
    }
}

fn corpus_file(name: &str) -> String {
    String::from_utf8_lossy(&std::fs::read(format!("{}/{name}", dir())).unwrap()).into_owned()
}

#[test]
fn each_part_of_a_composite_file_has_its_own_confidence_and_lines() {
    let d = detect_text(&corpus_file("ring-c6e37807-LICENSE"), DEFAULT_THRESHOLD);
    let ids: Vec<&str> = d.parts.iter().filter_map(|p| p.id.as_deref()).collect();
    for want in ["OpenSSL", "ISC", "MIT", "BSD-3-Clause"] {
        assert!(ids.contains(&want), "{want} missing from {ids:?}");
    }
    for p in &d.parts {
        assert!(p.score >= DEFAULT_THRESHOLD, "{p:?}");
        assert!(p.lines.0 >= 1 && p.lines.0 <= p.lines.1, "{p:?}");
    }
    // Parts come in the order of the file.
    assert!(d.parts.windows(2).all(|w| w[0].lines.0 <= w[1].lines.0), "{:?}", d.parts);
    let reason = d.reason.unwrap_or_default();
    assert!(reason.contains("all apply"), "{reason}");
}

#[test]
fn a_choice_says_which_sentence_offered_it() {
    let d = detect_text(&corpus_file("redis-0b343969-LICENSE.txt"), DEFAULT_THRESHOLD);
    let reason = d.reason.unwrap_or_default();
    assert!(reason.starts_with("choice offered:"), "{reason}");
    assert!(reason.contains("user's choice"), "{reason}");
}

#[test]
fn busl_parameters_are_kept_with_the_change_date_as_a_date() {
    let d = detect_text(&corpus_file("maxscale-LICENSE2402.TXT"), DEFAULT_THRESHOLD);
    assert_eq!(d.expression().map(|e| e.to_string()).as_deref(), Some("BUSL-1.1"));
    assert!(d.parameters["Licensor"].contains("MariaDB"), "{:?}", d.parameters);
    let date = &d.parameters["Change Date"];
    assert!(
        date.len() == 10 && date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-',
        "Change Date {date:?} is no YYYY-MM-DD"
    );
    // A source header naming BUSL with a Change Date line, no full text.
    let d = detect_text(&corpus_file("maxscale-COPYRIGHT"), DEFAULT_THRESHOLD);
    assert_eq!(d.expression().map(|e| e.to_string()).as_deref(), Some("BUSL-1.1"));
    assert_eq!(d.parameters.get("Change Date").map(String::as_str), Some("2027-04-10"));
}

#[test]
fn a_license_like_part_that_matches_nothing_is_reported() {
    // The MIT text followed by a made-up license's terms.
    let mit = corpus_file("serde-1023d077-LICENSE-MIT");
    let odd = "Acme Widget Terms\n-----------------\n\nAcme Corp hereby grants you a licence to run the widget on one \
               machine owned by you, provided you do not sell, rent or lend the widget, nor publish benchmarks of it, \
               nor use it to build a competing widget, nor remove this notice from any copy you keep. \
               THE WIDGET IS PROVIDED \"AS IS\" WITHOUT WARRANTY OF ANY KIND; IN NO EVENT SHALL ACME BE LIABLE.\n";
    let d = detect_text(&format!("{mit}\n\n{odd}"), DEFAULT_THRESHOLD);
    let e = d.expression().map(|e| e.canonical().to_string()).unwrap_or_default();
    assert_eq!(e, format!("{UNKNOWN_PART} AND MIT"), "{d:?}");
    assert!(d.parts.iter().any(|p| p.id.is_none() && p.closest.is_some()), "{:?}", d.parts);
}

/// `STEWARD_EXPLAIN=<corpus file> cargo test --test license_corpus explain -- --ignored --nocapture`
/// prints what the detector made of one file, part by part.
#[test]
#[ignore = "a tool for looking at one file, not a check"]
fn explain() {
    let Ok(name) = std::env::var("STEWARD_EXPLAIN") else { return };
    let d = detect_text(&corpus_file(&name), DEFAULT_THRESHOLD);
    println!("expression: {:?}", d.expression().map(|e| e.to_string()));
    println!("reason: {:?}", d.reason);
    println!("best: {:?} at {}", d.best_candidate, d.best_score);
    for p in &d.parts {
        println!("part: {p:?}");
    }
    println!("parameters: {:?}", d.parameters);
}
