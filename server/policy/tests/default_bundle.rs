//! The shipped bundle in `policies/`: its own Rego tests pass, and the
//! engine turns real-shaped drift reports into verdicts.

use serde_json::json;
use std::path::PathBuf;
use steward_policy::{Bundle, PolicyEngine, Verdict, gate_input, run_tests};

fn shipped() -> Bundle {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    Bundle::from_dir(&dir).expect("the shipped bundle loads")
}

#[test]
fn shipped_policy_tests_pass() {
    let report = run_tests(&shipped()).unwrap();
    for t in &report.tests {
        assert!(t.passed, "{} failed: {:?}", t.name, t.failure);
    }
    assert!(report.tests.len() >= 15, "{} tests found", report.tests.len());
}

#[test]
fn engine_denies_sspl_drift_and_names_the_revision() {
    let bundle = shipped();
    let revision = bundle.revision().to_string();
    let engine = PolicyEngine::new(bundle).unwrap();
    let drift = json!({"findings": [
        {"code": "version-changed", "name": "a", "new_version": "1.1.0"},
        {"code": "license-changed", "name": "elastic", "old_version": "7.10.2", "new_version": "7.11.0",
         "old_license": {"expression": "Apache-2.0"},
         "new_license": {"expression": "SSPL-1.0 OR Elastic-2.0", "canonical": "Elastic-2.0 OR SSPL-1.0",
            "facts": {"choices": [
                {"expression": "SSPL-1.0", "licenses": ["SSPL-1.0"], "category": "source-available"},
                {"expression": "Elastic-2.0", "licenses": ["Elastic-2.0"], "category": "source-available"}],
              "licenses": [{"license": "SSPL-1.0", "category": "source-available"},
                           {"license": "Elastic-2.0", "category": "source-available"}]}}}
    ]});
    let eval = engine.evaluate(&gate_input(drift, "2026-11-27T00:00:00Z", json!({}))).unwrap();
    assert_eq!(eval.verdict, Verdict::Deny);
    assert_eq!(eval.revision, revision);
    assert_eq!(eval.decisions.len(), 1);
    assert_eq!(eval.decisions[0].finding, 1);
    assert_eq!(eval.decisions[0].rule, "licenses.deny");
}

#[test]
fn syntax_errors_name_file_line_and_column() {
    let files = vec![
        (
            "ok.rego".to_string(),
            b"package steward.license\nimport rego.v1\nreport := {\"verdict\": \"allow\", \"decisions\": []}\n"
                .to_vec(),
        ),
        ("broken.rego".to_string(), b"package broken\nimport rego.v1\n\nallow if {\n  input.x ==\n}\n".to_vec()),
    ];
    let err = PolicyEngine::new(Bundle::from_files(files).unwrap()).unwrap_err().to_string();
    assert!(err.contains("broken.rego:"), "{err}");
    let location = err.split("broken.rego:").nth(1).unwrap();
    let mut parts = location.split(':');
    let line: u32 = parts.next().unwrap().trim().parse().expect("a line number");
    let col: u32 = parts.next().unwrap().trim().parse().expect("a column number");
    assert!((5..=6).contains(&line), "line {line} in {err}");
    assert!(col >= 1);
}

#[test]
fn a_bundle_without_the_entrypoint_is_rejected_at_load() {
    let files = vec![("p.rego".to_string(), b"package other\nimport rego.v1\nx := 1\n".to_vec())];
    let err = PolicyEngine::new(Bundle::from_files(files).unwrap()).unwrap_err().to_string();
    assert!(err.contains("data.steward.license.report"), "{err}");
}

#[test]
fn inconsistent_policy_output_is_an_error_not_a_verdict() {
    let rego = "package steward.license\nimport rego.v1\nreport := {\"verdict\": \"allow\", \"decisions\": [d | some i, _ in input.drift.findings; d := {\"finding\": i, \"verdict\": \"deny\", \"rule\": \"r\", \"message\": \"m\"}]}\n";
    let engine =
        PolicyEngine::new(Bundle::from_files(vec![("p.rego".into(), rego.as_bytes().to_vec())]).unwrap()).unwrap();
    let err = engine
        .evaluate(&gate_input(json!({"findings": [{"code": "added"}]}), "2026-01-01T00:00:00Z", json!({})))
        .unwrap_err();
    assert!(err.to_string().contains("more lenient"), "{err}");
}

#[test]
fn artifact_policy_is_optional_but_checked_when_declared() {
    let license = "package steward.license\nimport rego.v1\nreport := {\"verdict\": \"allow\", \"decisions\": []}\n";
    let only_license =
        PolicyEngine::new(Bundle::from_files(vec![("l.rego".into(), license.as_bytes().to_vec())]).unwrap()).unwrap();
    assert!(!only_license.has_artifact_policy());
    let err = only_license.evaluate_artifact(&json!({})).unwrap_err();
    assert!(err.to_string().contains("no artifact policy"), "{err}");

    let lenient = "package steward.artifact\nimport rego.v1\nreport := {\"verdict\": \"allow\", \"decisions\": [{\"verdict\": \"deny\", \"rule\": \"r\", \"message\": \"m\"}]}\n";
    let err = PolicyEngine::new(
        Bundle::from_files(vec![
            ("l.rego".into(), license.as_bytes().to_vec()),
            ("a.rego".into(), lenient.as_bytes().to_vec()),
        ])
        .unwrap(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("more lenient"), "{err}");

    let partial = "package steward.artifact\nimport rego.v1\nreport := {\"verdict\": \"allow\", \"decisions\": []} if input.artifact.kind == \"helm-chart\"\n";
    let err = PolicyEngine::new(
        Bundle::from_files(vec![
            ("l.rego".into(), license.as_bytes().to_vec()),
            ("a.rego".into(), partial.as_bytes().to_vec()),
        ])
        .unwrap(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("undefined"), "{err}");
}

/// A drift bigger than one policy batch is judged batch by batch and the
/// decisions point back into the whole list: each decision's finding has
/// the license its verdict says, and the verdict is the worst of all.
#[test]
fn large_drifts_are_judged_in_batches_with_whole_list_indexes() {
    let engine = PolicyEngine::new(shipped()).unwrap();
    let n = steward_policy::POLICY_BATCH * 2 + 137;
    let license = |i: usize| if i % 7 == 3 { "SSPL-1.0" } else { "MIT" };
    let findings: Vec<_> = (0..n)
        .map(|i| {
            if i % 5 == 0 {
                json!({"code": "version-changed", "name": format!("v{i}"), "new_version": "2.0.0"})
            } else {
                let category = if license(i) == "MIT" { "permissive" } else { "source-available" };
                json!({"code": "license-changed", "name": format!("p{i}"), "new_version": "1.0.0",
                       "old_license": {"expression": "Apache-2.0"},
                       "new_license": {"expression": license(i), "canonical": license(i),
                          "facts": {"choices": [{"expression": license(i), "licenses": [license(i)], "category": category}],
                                    "licenses": [{"license": license(i), "category": category}]}}})
            }
        })
        .collect();
    let eval =
        engine.evaluate(&gate_input(json!({ "findings": findings }), "2026-11-27T00:00:00Z", json!({}))).unwrap();
    let judged: Vec<usize> = (0..n).filter(|i| i % 5 != 0).collect();
    assert_eq!(eval.decisions.iter().map(|d| d.finding).collect::<Vec<_>>(), judged, "every judged finding, in order");
    for d in &eval.decisions {
        let want = if license(d.finding) == "MIT" { Verdict::Allow } else { Verdict::Deny };
        assert_eq!(d.verdict, want, "decision for finding {}: {d:?}", d.finding);
    }
    assert_eq!(eval.verdict, Verdict::Deny);
}
