//! The ready-made CI integrations in `docs/ci/` (README, "The gate in any
//! CI system"): the shell script every integration runs is run here for
//! real, with the built `steward`, on git repositories made with git2;
//! the GitHub Action and the GitLab CI template are parsed as YAML and
//! checked to run that script. (GitHub's and GitLab's runners cannot run
//! here.)

mod common;

use common::git::{TestRepo, npm_lock};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn docs_ci() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ci")
}

/// c1: mongo-thing 1.0.0 Apache-2.0; c2: 1.1.0 SSPL-1.0 (denied);
/// c3: 1.1.1 back to Apache-2.0 (allowed from c1); c4: GPL-3.0-only (review).
fn repo(dir: &Path) -> Vec<String> {
    let repo = TestRepo::init(&dir.join("repo"));
    let lock = "package-lock.json";
    [("1.0.0", "Apache-2.0"), ("1.1.0", "SSPL-1.0"), ("1.0.1", "Apache-2.0"), ("1.2.0", "GPL-3.0-only")]
        .iter()
        .map(|(v, l)| repo.commit(&[(lock, Some(&npm_lock(v, l)))], &format!("mongo-thing {v}")).to_string())
        .collect()
}

/// Runs the script in the repository with `env`; returns the exit code.
fn gate(dir: &Path, base: &str, head: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = Command::new("sh");
    cmd.arg(docs_ci().join("steward-gate.sh"))
        .current_dir(dir.join("repo"))
        .env("STEWARD_BIN", env!("CARGO_BIN_EXE_steward"))
        .env("STEWARD_BASE", base)
        .env("STEWARD_HEAD", head)
        .env("STEWARD_ARGS", "--policies embedded --data-dir ../data")
        // Tests never reach a public registry (look-ups are the default).
        .env("STEWARD_OFFLINE", "true")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("STEWARD_REVIEW_EXIT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("sh runs");
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn the_ci_script_fails_denied_drift_and_writes_every_report() {
    let dir = tempfile::tempdir().unwrap();
    let c = repo(dir.path());
    let summary = dir.path().join("summary.md");
    let (code, log) = gate(dir.path(), &c[0], &c[1], &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())]);
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("steward: deny"), "{log}");
    let out = dir.path().join("repo/steward-report");
    let md = std::fs::read_to_string(out.join("gate.md")).unwrap();
    assert!(md.contains("Apache-2.0 → SSPL-1.0"), "{md}");
    assert_eq!(std::fs::read_to_string(&summary).unwrap(), md, "the job summary gets the Markdown report");
    let sarif: Value = serde_json::from_slice(&std::fs::read(out.join("gate.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(!sarif["runs"][0]["results"].as_array().unwrap().is_empty(), "{sarif}");
    let json: Value = serde_json::from_slice(&std::fs::read(out.join("gate.json")).unwrap()).unwrap();
    assert_eq!((json["schema"].as_str(), json["verdict"].as_str()), (Some("steward.gate/v1"), Some("deny")));
}

#[test]
fn the_ci_script_passes_allowed_drift_and_maps_review_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    let c = repo(dir.path());
    let (code, log) = gate(dir.path(), &c[0], &c[2], &[]);
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("steward: allow"), "{log}");
    // SSPL → GPL: a person must review; 3 by default, 0 when the job may pass.
    let (code, log) = gate(dir.path(), &c[1], &c[3], &[]);
    assert_eq!(code, Some(3), "{log}");
    let (code, log) = gate(dir.path(), &c[1], &c[3], &[("STEWARD_REVIEW_EXIT", "0")]);
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("steward: review"), "{log}");
    // A revision that does not exist: the gate's error, exit 2.
    let (code, log) = gate(dir.path(), "no-such-rev", &c[1], &[]);
    assert_eq!(code, Some(2), "{log}");
}

#[test]
fn the_github_action_and_the_gitlab_template_run_the_script() {
    let action: yaml_serde::Value =
        yaml_serde::from_str(&std::fs::read_to_string(docs_ci().join("github/action.yml")).unwrap()).unwrap();
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    let steps = action["runs"]["steps"].as_sequence().unwrap();
    assert!(steps.iter().any(|s| s["run"].as_str().is_some_and(|r| r.contains("steward-gate.sh"))));
    assert!(
        steps.iter().any(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif")))
    );
    let gitlab: yaml_serde::Value =
        yaml_serde::from_str(&std::fs::read_to_string(docs_ci().join("gitlab/steward-gate.gitlab-ci.yml")).unwrap())
            .unwrap();
    let job = &gitlab["steward-gate"];
    let script: Vec<&str> = job["script"].as_sequence().unwrap().iter().filter_map(|s| s.as_str()).collect();
    assert!(script.iter().any(|s| s.contains("sh ci/steward-gate.sh")), "{script:?}");
    assert_eq!(job["artifacts"]["paths"][0].as_str(), Some("steward-report/"));
}
