//! `steward scan | diff | history | gate | policy` on real git repositories
//! built with git2: exit codes, every output format, policy exceptions.

mod common;

use common::git::{TestRepo, npm_lock};
use common::server::{run, stderr, stdout};
use serde_json::Value;

/// c1: mongo-thing 1.0.0 Apache-2.0; c2: 1.1.0 SSPL-1.0 (denied);
/// c3: a README change only; c4: SSPL-1.0 → GPL-3.0-only (review).
struct Fixture {
    dir: tempfile::TempDir,
    commits: Vec<String>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let repo = TestRepo::init(&dir.path().join("repo"));
    let lock = "package-lock.json";
    let c1 = repo.commit(&[(lock, Some(&npm_lock("1.0.0", "Apache-2.0")))], "initial");
    let c2 = repo.commit(&[(lock, Some(&npm_lock("1.1.0", "SSPL-1.0")))], "bump mongo-thing");
    let c3 = repo.commit(&[("README.md", Some("hello"))], "docs");
    let c4 = repo.commit(&[(lock, Some(&npm_lock("1.2.0", "GPL-3.0-only")))], "relicensed again");
    Fixture { dir, commits: [c1, c2, c3, c4].iter().map(|c| c.to_string()).collect() }
}

impl Fixture {
    fn run(&self, args: &[&str]) -> std::process::Output {
        run(self.dir.path(), args)
    }
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(out), stderr(out)))
}

#[test]
fn diff_between_commits_reports_the_license_change_with_paths_and_exit_1() {
    let f = fixture();
    let (c1, c2) = (&f.commits[0], &f.commits[1]);
    let out = f.run(&["diff", "--repo", "repo", "--base", c1, "--head", c2]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Apache-2.0 → SSPL-1.0"), "{text}");
    assert!(text.contains("express 4.18.2 → mongo-thing 1.1.0"), "the dependency path is shown:\n{text}");

    let out = f.run(&["diff", "--repo", "repo", "--base", c1, "--head", c2, "--format", "json"]);
    let v = json(&out);
    assert_eq!(v["schema"], "steward.drift/v1");
    let finding = &v["findings"][0];
    assert_eq!(finding["code"], "license-changed");
    assert_eq!(finding["name"], "mongo-thing");
    assert_eq!(finding["old_license"]["expression"], "Apache-2.0");
    assert_eq!(finding["new_license"]["expression"], "SSPL-1.0");
    assert_eq!(finding["new_license"]["facts"]["most_restrictive"], "source-available");
    assert_eq!(finding["paths"][0][0]["name"], "express");

    for (format, check) in [("markdown", "SSPL-1.0"), ("sarif", "\"version\": \"2.1.0\"")] {
        let out = f.run(&["diff", "--repo", "repo", "--base", c1, "--head", c2, "--format", format]);
        assert!(stdout(&out).contains(check), "{format}: {}", stdout(&out));
    }
    // Only a README changed: no drift, exit 0.
    let out = f.run(&["diff", "--repo", "repo", "--base", c2, "--head", &f.commits[2]]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn diff_of_files_and_history_of_the_repository() {
    let f = fixture();
    let old = f.dir.path().join("old.json");
    let new = f.dir.path().join("new.json");
    std::fs::write(&old, npm_lock("1.0.0", "Apache-2.0 OR MIT")).unwrap();
    std::fs::write(&new, npm_lock("1.0.0", "MIT/Apache-2.0")).unwrap();
    let out = f.run(&["diff", "old.json", "new.json"]);
    assert_eq!(out.status.code(), Some(0), "a change of spelling only is not drift: {}", stdout(&out));

    let out = f.run(&["history", "--repo", "repo", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let commits: Vec<&str> = v["entries"].as_array().unwrap().iter().map(|e| e["commit"].as_str().unwrap()).collect();
    assert_eq!(commits, vec![f.commits[1].as_str(), f.commits[3].as_str()], "oldest first, README commit skipped");
    assert_eq!(v["commits_walked"], 4);

    let out = f.run(&["scan", "new.json", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["schema"], "steward.scan/v1");
    for (format, key) in [("spdx", "spdxVersion"), ("cyclonedx", "bomFormat")] {
        let out = f.run(&["scan", "new.json", "--format", format]);
        assert!(json(&out).get(key).is_some(), "{format}");
    }
}

#[test]
fn bad_input_is_one_line_naming_the_file_and_exit_2() {
    let f = fixture();
    std::fs::write(f.dir.path().join("package-lock.json"), "{\"lockfileVersion\": 3, \"packages\": {\"\": {").unwrap();
    let out = f.run(&["scan", "package-lock.json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with("error: ") && err.contains("package-lock.json"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let out = f.run(&["diff", "--repo", "repo", "--base", "no-such-branch", "--head", "HEAD"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no-such-branch"), "{}", stderr(&out));
    let out = f.run(&["diff", "missing-a.json", "missing-b.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing-a.json: no such file"), "{}", stderr(&out));
}

#[test]
fn gate_denies_sspl_drift_with_every_format() {
    let f = fixture();
    let (c1, c2) = (&f.commits[0], &f.commits[1]);
    let out = f.run(&["gate", "--repo", "repo", "--base", c1, "--head", c2]);
    assert_eq!(out.status.code(), Some(1), "deny exits 1: {}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("Steward gate: DENY"), "{text}");
    assert!(text.contains("licenses.deny"), "{text}");

    let out = f.run(&["gate", "--repo", "repo", "--base", c1, "--head", c2, "--format", "markdown"]);
    let md = stdout(&out);
    assert!(md.contains("Steward license gate: **deny**"), "{md}");
    assert!(
        md.contains("| ❌ deny | `mongo-thing` | `1.0.0 → 1.1.0` | `Apache-2.0 → SSPL-1.0` | `licenses.deny` |"),
        "{md}"
    );
    assert!(md.contains("Pulled in by: `express 4.18.2 → mongo-thing 1.1.0`"), "{md}");

    let out = f.run(&["gate", "--repo", "repo", "--base", c1, "--head", c2, "--format", "json"]);
    let v = json(&out);
    assert_eq!(v["schema"], "steward.gate/v1");
    assert_eq!(v["verdict"], "deny");
    assert_eq!(v["decisions"][0]["finding_detail"]["name"], "mongo-thing");
    assert!(v["policy_revision"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(v["context"]["head_commit"], c2.as_str());

    let out = f.run(&["gate", "--repo", "repo", "--base", c1, "--head", c2, "--format", "sarif", "-o", "out.sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let sarif: Value = serde_json::from_str(&std::fs::read_to_string(f.dir.path().join("out.sarif")).unwrap()).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["level"], "error");
    assert_eq!(result["properties"]["policyRule"], "licenses.deny");
    assert!(result["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64().unwrap() > 1, "{result}");
}

#[test]
fn gate_review_allow_and_exceptions() {
    let f = fixture();
    let c = &f.commits;
    // SSPL → GPL: strong copyleft needs review (exit 3).
    let out = f.run(&["gate", "--repo", "repo", "--base", &c[2], "--head", &c[3]]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    // No license change: allow (exit 0).
    let out = f.run(&["gate", "--repo", "repo", "--base", &c[1], "--head", &c[2]]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("No dependency license changed"));

    // An exception lets the SSPL change pass, and the report names it ...
    let policies = f.dir.path().join("policies");
    common::copy_policies(&policies);
    std::fs::write(
        policies.join("data/exceptions.yaml"),
        "- id: EX-7\n  package: mongo-thing\n  version: \">=1.0.0, <2.0.0\"\n  license: SSPL-1.0\n  reason: vendored for tests only\n  granted_by: legal@example.org\n  expires: 2027-01-31\n",
    )
    .unwrap();
    let gate = |now: &str| {
        f.run(&["gate", "--repo", "repo", "--base", &c[0], "--head", &c[1], "--policies", "policies", "--now", now])
    };
    let out = gate("2026-12-01T00:00:00Z");
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("allowed by exception EX-7 (vendored for tests only), granted by legal@example.org"));
    // ... until it expires: then the gate fails again and says why.
    let out = gate("2027-02-01T00:00:00Z");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("exception EX-7 expired on 2027-01-31"), "{}", stdout(&out));
}

#[test]
fn policy_test_and_eval() {
    let f = fixture();
    let out = f.run(&["policy", "test"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("PASS  data.steward.license_test.test_source_available_is_denied_by_the_deny_list"));
    assert!(text.contains(" passed, 0 failed"));

    let policies = f.dir.path().join("policies");
    common::copy_policies(&policies);
    let tests = policies.join("license_test.rego");
    let body = std::fs::read_to_string(&tests).unwrap();
    std::fs::write(&tests, format!("{body}\ntest_broken if {{\n\t1 == 2\n}}\n")).unwrap();
    let out = f.run(&["policy", "test", "--policies", "policies"]);
    assert_eq!(out.status.code(), Some(1), "a failing test exits 1");
    assert!(stdout(&out).contains("FAIL  data.steward.license_test.test_broken"));

    std::fs::write(policies.join("oops.rego"), "package oops\nimport rego.v1\n\nx := [1, 2\n").unwrap();
    let out = f.run(&["policy", "test", "--policies", "policies"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("oops.rego:"), "{}", stderr(&out));

    // eval wraps a drift report as a gate input.
    let (c1, c2) = (&f.commits[0], &f.commits[1]);
    let drift = f.run(&["diff", "--repo", "repo", "--base", c1, "--head", c2, "--format", "json", "-o", "drift.json"]);
    assert_eq!(drift.status.code(), Some(1));
    // (./policies now holds the broken copy, so name the shipped bundle.)
    let out =
        f.run(&["policy", "eval", "--input", "drift.json", "--now", "2026-12-01T00:00:00Z", "--policies", "embedded"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["verdict"], "deny");
    let out = f.run(&[
        "policy",
        "eval",
        "--input",
        "drift.json",
        "--query",
        "data.steward.license.overall",
        "--policies",
        "embedded",
    ]);
    assert_eq!(json(&out), Value::String("deny".into()));
}

/// Issue 12: a license's parameters reach the gate's reports. RediSearch's
/// 2018 switch (the real files of the scanner's license corpus): an
/// Apache-2.0 LICENSE (minio's), then Apache-2.0 with the Commons Clause,
/// whose Software, License and Licensor the reports show.
#[test]
fn the_gate_shows_the_commons_clause_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let repo = TestRepo::init(&dir.path().join("repo"));
    let corpus = |name: &str| {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scanner/tests/data/license-corpus").join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let lock = |v: &str| {
        serde_json::json!({"name": "app", "version": "1.0.0", "lockfileVersion": 3, "packages": {
            "": {"name": "app", "version": "1.0.0", "dependencies": {"search": "*"}},
            "node_modules/search": {"version": v, "resolved": format!("https://registry.npmjs.org/search/-/search-{v}.tgz")},
        }})
        .to_string()
    };
    let commit = |v: &str, license: &str, message: &str| {
        let manifest = format!(r#"{{ "name": "search", "version": "{v}" }}"#);
        repo.commit(
            &[
                ("package-lock.json", Some(&lock(v))),
                ("node_modules/search/package.json", Some(&manifest)),
                ("node_modules/search/LICENSE", Some(&corpus(license))),
            ],
            message,
        )
        .to_string()
    };
    let c1 = commit("1.0.0", "minio-397b887a-LICENSE", "apache");
    let c2 = commit("1.1.0", "redisearch-c516603c-LICENSE", "commons clause");
    let shown =
        "License: the Apache License, Version 2.0; Licensor: Redis Labs Ltd.; Software: the <module name> software";
    let out = run(dir.path(), &["gate", "--repo", "repo", "--base", &c1, "--head", &c2]);
    let text = stdout(&out);
    assert!(text.contains("Apache-2.0 AND LicenseRef-Commons-Clause"), "{text}{}", stderr(&out));
    assert!(text.contains(&format!("  parameters: {shown}")), "{text}");
    let out = run(dir.path(), &["gate", "--repo", "repo", "--base", &c1, "--head", &c2, "--format", "markdown"]);
    let markdown = stdout(&out);
    assert!(markdown.contains(&format!("- Parameters: `{shown}`")), "{markdown}");
}
