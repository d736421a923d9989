//! Text detection over real license texts (tests/data/licenses/).

use steward_scanner::license::detect::{DEFAULT_THRESHOLD, detect_text, split_parameter_block};

fn data(name: &str) -> String {
    let path = format!("{}/tests/data/licenses/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn detected(name: &str) -> (String, f32) {
    let d = detect_text(&data(name), DEFAULT_THRESHOLD);
    let expr = d
        .expression()
        .map(|e| e.to_string())
        .unwrap_or_else(|| format!("none (best {:?} at {})", d.best_candidate, d.best_score));
    (expr, d.confidence())
}

#[test]
fn mit_with_a_copyright_line() {
    let (e, score) = detected("MIT.txt");
    assert_eq!(e, "MIT");
    assert!(score > 0.9, "{score}");
}

#[test]
fn apache_2_0() {
    assert_eq!(detected("Apache-2.0.txt").0, "Apache-2.0");
}

#[test]
fn sspl_and_elastic_are_spdx_listed() {
    assert_eq!(detected("SSPL-1.0.txt").0, "SSPL-1.0");
    assert_eq!(detected("Elastic-2.0.txt").0, "Elastic-2.0");
}

#[test]
fn busl_with_a_filled_parameter_block() {
    let text = data("BUSL-1.1-terraform.txt");
    let d = detect_text(&text, DEFAULT_THRESHOLD);
    assert_eq!(d.expression().map(|e| e.to_string()).as_deref(), Some("BUSL-1.1"), "{d:?}");
    assert_eq!(d.parameters.get("Licensor").map(String::as_str), Some("HashiCorp, Inc."));
    assert_eq!(d.parameters.get("Change License").map(String::as_str), Some("MPL 2.0"));
    assert!(d.parameters["Licensed Work"].starts_with("Terraform Version 1.6.0 or later."));
}

#[test]
fn parameter_block_is_set_aside() {
    let (body, params) = split_parameter_block(&data("BUSL-1.1-terraform.txt"));
    assert!(!body.contains("HashiCorp, Inc."), "{body}");
    assert!(body.contains("Business Source License 1.1"));
    assert_eq!(params.len(), 5, "{params:?}");
    assert!(params["Additional Use Grant"].contains("competitive offering"));
    let (same, none) = split_parameter_block("MIT License\n\nPermission is hereby granted");
    assert_eq!(same, "MIT License\n\nPermission is hereby granted");
    assert!(none.is_empty());
}

#[test]
fn redis_source_available_license_reflowed_as_markdown() {
    let (e, score) = detected("RSAL-2.0-redis.md");
    assert_eq!(e, "LicenseRef-RSAL-2.0");
    assert!(score >= DEFAULT_THRESHOLD, "{score}");
}

#[test]
fn apache_with_commons_clause_is_both() {
    let (e, _) = detected("Apache-2.0-with-Commons-Clause.txt");
    assert_eq!(e, "Apache-2.0 AND LicenseRef-Commons-Clause");
}

#[test]
fn unrelated_text_matches_nothing() {
    let d = detect_text("This is a README. It explains how to build the project with make.", DEFAULT_THRESHOLD);
    assert!(d.licenses.is_empty(), "{d:?}");
    assert!(d.expression().is_none());
}
