//! `steward artifact check` (the real binary) against a real
//! docker-registry: exit codes 0 allow, 1 deny, 2 error, and every output
//! format.

mod oci_support;

use oci_support::{Registry, TestKey, payload, spdx};
use std::path::Path;
use std::process::{Command, Output};

const REPO: &str = "steward/demo";

fn steward(dir: &Path, args: &[&str]) -> Output {
    // Under timeout(1), like the registries: no hung child outlives the test.
    Command::new("timeout")
        .args(["180", env!("CARGO_BIN_EXE_steward")])
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STEWARD_OFFLINE", "true") // tests never reach the public package registries
        .args(args)
        .output()
        .expect("run steward")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// v1.0.0 (MIT deps) and v1.1.0 (left-pad relicensed to SSPL), both signed
/// by the release key; a keys file trusting it in 2026's first half.
fn fixture(reg: &Registry, dir: &Path) {
    let key = TestKey::p256(11);
    for (tag, license) in [("v1.0.0", "MIT"), ("v1.1.0", "SSPL-1.0")] {
        let image = reg.push_image(REPO, tag, tag);
        reg.attach_sbom(REPO, &image, "application/spdx+json", &spdx("demo-app", &[("left-pad", "1.3.0", license)]));
        let p = payload(&format!("{}/{REPO}", reg.host), &image.digest);
        reg.attach_signature(REPO, &image, &p, &key.sign(&p), tag == "v1.0.0");
    }
    let keys = format!(
        "[[keys]]\nid = \"release-2026h1\"\nowner = \"release-team\"\nnot_before = \"2026-01-01T00:00:00Z\"\nnot_after = \"2026-07-01T00:00:00Z\"\npublic_key = \"\"\"\n{}\"\"\"\n",
        key.public().to_pem()
    );
    std::fs::write(dir.join("keys.toml"), keys).unwrap();
}

#[test]
fn artifact_check_exit_codes_and_formats() {
    let Some(reg) = Registry::distribution() else { return };
    let dir = tempfile::tempdir().unwrap();
    fixture(&reg, dir.path());
    let v1 = reg.reference(&format!("{REPO}:v1.0.0"));
    let v2 = reg.reference(&format!("{REPO}:v1.1.0"));
    let common =
        ["--trusted-keys", "keys.toml", "--first-seen", "2026-03-01T00:00:00Z", "--now", "2026-11-27T12:00:00Z"];

    let out = steward(dir.path(), &[&["artifact", "check", &v1, "--format", "markdown"][..], &common[..]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("Steward artifact check: **allow**"), "{md}");
    assert!(md.contains("signature.trusted") && md.contains("release-team"), "{md}");

    let out = steward(dir.path(), &[&["artifact", "check", &v2, "--format", "markdown"][..], &common[..]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("**deny**") && md.contains("drift.license") && md.contains("MIT → SSPL-1.0"), "{md}");

    let out = steward(dir.path(), &[&["artifact", "check", &v2, "--format", "json"][..], &common[..]].concat());
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "steward.artifact/v1");
    assert_eq!(v["verdict"], "deny");
    assert_eq!(v["facts"]["schema"], "steward.artifact-input/v1");
    assert_eq!(v["facts"]["drift"]["previous"]["reference"], v1);
    assert_eq!(v["ledger_entry"]["kind"], "artifact-verdict");
    assert_eq!(v["ledger_entry"]["payload"]["verdict"], "deny");

    let out = steward(dir.path(), &[&["artifact", "check", &v2, "--format", "sarif"][..], &common[..]].concat());
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let rules: Vec<&str> =
        sarif["runs"][0]["results"].as_array().unwrap().iter().filter_map(|r| r["ruleId"].as_str()).collect();
    assert!(rules.contains(&"drift.license"), "{rules:?}");

    // Signatures first seen now (after the key's window) do not count.
    let out = steward(dir.path(), &["artifact", "check", &v1, "--trusted-keys", "keys.toml", "--previous", "none"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("expired 2026-07-01T00:00:00Z"), "{}", text(&out));

    // Without trusted keys nothing is trusted.
    let out = steward(dir.path(), &["artifact", "check", &v1, "--previous", "none"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn artifact_check_errors_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let port = oci_support::free_port();
    for (args, want) in [
        (vec!["artifact", "check", "oci://127.0.0.1:1/x"], "needs a :tag or an @digest"),
        (vec!["artifact", "check", &format!("oci://127.0.0.1:{port}/x:v1")][..].to_vec(), "registry unreachable"),
        (vec!["artifact", "check", "oci://127.0.0.1:1/x:v1", "--trusted-keys", "missing.toml"], "missing.toml"),
        (vec!["artifact", "check", "oci://127.0.0.1:1/x:v1", "--first-seen", "yesterday"], "--first-seen"),
    ] {
        let out = steward(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: ") && err.contains(want), "{args:?}: {err}");
    }
}
