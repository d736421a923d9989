//! Drift precision through the real binary (issue 12): a git dependency's
//! license read from its manifest at the locked commit (the "remote" is a
//! local repository made with git2, reached over file://, never the
//! network), a `[patch]` to a git source of the same version that is not
//! drift, and `history` walking on past a commit it cannot read.

mod common;

use common::git::{TestRepo, npm_lock};
use common::server::{CHILD_TIMEOUT, OutputWithin as _, run, stderr, stdout, steward_online};
use serde_json::Value;
use std::path::Path;

fn run_online(dir: &Path, args: &[&str]) -> std::process::Output {
    steward_online(dir).args(args).output_within(CHILD_TIMEOUT).expect("run steward")
}

/// A workspace with two crates: `patched` inherits
/// `[workspace.package] license`, `solo` declares its own.
fn dependency_repo(dir: &Path) -> (String, String) {
    let repo = TestRepo::init(dir);
    let sha = repo
        .commit(
            &[
                (
                    "Cargo.toml",
                    Some(
                        "[workspace]\nmembers = [\"crates/patched\", \"crates/solo\"]\n\n\
                         [workspace.package]\nlicense = \"MIT OR Apache-2.0\"\n",
                    ),
                ),
                (
                    "crates/patched/Cargo.toml",
                    Some("[package]\nname = \"patched\"\nversion = \"1.0.0\"\nlicense.workspace = true\n"),
                ),
                (
                    "crates/solo/Cargo.toml",
                    Some("[package]\nname = \"solo\"\nversion = \"0.3.0\"\nlicense = \"Zlib\"\n"),
                ),
            ],
            "two crates",
        )
        .to_string();
    (format!("file://{}", dir.canonicalize().unwrap().display()), sha)
}

fn cargo_lock(patched_source: &str, solo_source: &str) -> String {
    format!(
        "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"patched\", \"solo\"]\n\n\
         [[package]]\nname = \"patched\"\nversion = \"1.0.0\"\nsource = \"{patched_source}\"\n\n\
         [[package]]\nname = \"solo\"\nversion = \"0.3.0\"\nsource = \"{solo_source}\"\n"
    )
}

/// A project whose crates.io look-ups fail at once (a closed port), so a
/// registry crate's license stays unknown, as for a crate nobody could ask.
fn project(dir: &Path) {
    std::fs::write(
        dir.join("steward.toml"),
        "[licenses]\nlocal-caches = false\n[licenses.registry]\ncrates = \"http://127.0.0.1:9/crates\"\ntimeout-secs = 2\n",
    )
    .unwrap();
}

fn license<'a>(scan: &'a Value, name: &str) -> &'a Value {
    scan["graphs"][0]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .map(|p| &p["license"])
        .unwrap_or_else(|| panic!("no package {name}: {scan}"))
}

#[test]
fn git_dependencies_are_read_at_the_locked_commit_and_a_patch_to_git_is_not_drift() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, sha) = dependency_repo(&tmp.path().join("deps"));
    let work = tmp.path().join("work");
    std::fs::create_dir_all(work.join("old")).unwrap();
    std::fs::create_dir_all(work.join("new")).unwrap();
    project(&work);
    let crates_io = "registry+https://github.com/rust-lang/crates.io-index";
    let git = format!("git+{url}?branch=main#{sha}");
    std::fs::write(work.join("old/Cargo.lock"), cargo_lock(crates_io, &git)).unwrap();
    std::fs::write(work.join("new/Cargo.lock"), cargo_lock(&git, &git)).unwrap();

    // scan: both git crates from their manifests at the locked commit.
    let out = run_online(&work, &["scan", "new", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let scan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let patched = license(&scan, "patched");
    assert_eq!(patched["expression"], "MIT OR Apache-2.0", "{patched}");
    assert_eq!(patched["evidence"][0]["field"], "workspace.package.license");
    assert_eq!(patched["evidence"][0]["file"], format!("{url}@{sha}:Cargo.toml"));
    let solo = license(&scan, "solo");
    assert_eq!(solo["expression"], "Zlib", "{solo}");
    assert_eq!(solo["evidence"][0]["file"], format!("{url}@{sha}:crates/solo/Cargo.toml"));
    assert!(stderr(&out).contains("2 from the registry"), "{}", stderr(&out));

    // diff: crates.io's patched 1.0.0 (nobody could ask: unknown) patched
    // to the git repository at the same version is not drift.
    let out = run_online(&work, &["diff", "old", "new", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "no drift: {}{}", stdout(&out), stderr(&out));
    let drift: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = drift["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{drift}");
    assert_eq!(findings[0]["code"], "evidence-gained");
    assert_eq!(findings[0]["name"], "patched");
    assert_eq!(findings[0]["new_license"]["expression"], "MIT OR Apache-2.0");
    // ... and the other way round (the patch removed) is evidence lost, not drift.
    let out = run_online(&work, &["diff", "new", "old"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("No dependency changed its license."), "{}", stdout(&out));

    // The answers are cached: with the repository gone they still come.
    std::fs::remove_dir_all(tmp.path().join("deps")).unwrap();
    let out = run_online(&work, &["scan", "new", "--format", "json"]);
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(license(&again, "patched"), patched);
    assert_eq!(license(&again, "solo"), solo);

    // Offline: nothing fetched, the reason says so, and the same diff is still no drift.
    let fresh = tmp.path().join("fresh");
    std::fs::create_dir_all(&fresh).unwrap();
    std::fs::write(fresh.join("Cargo.lock"), cargo_lock(&git, &git)).unwrap();
    let out = run(&fresh, &["scan", ".", "--format", "json"]);
    let offline: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(license(&offline, "patched").get("expression").is_none(), "{offline}");
    assert!(!fresh.join("steward-data").exists(), "offline: no mirror, no cache");
}

#[test]
fn an_unreachable_git_dependency_is_a_warning_not_a_failure() {
    let tmp = tempfile::tempdir().unwrap();
    project(tmp.path());
    let missing = format!("git+file://{}/nowhere#{}", tmp.path().display(), "a".repeat(40));
    std::fs::write(tmp.path().join("Cargo.lock"), cargo_lock(&missing, &missing)).unwrap();
    let out = run_online(tmp.path(), &["scan", ".", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let scan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let l = license(&scan, "patched");
    assert!(l.get("expression").is_none(), "{l}");
    let warning = l["warnings"][0].as_str().unwrap();
    assert!(warning.starts_with("registry look-up failed:") && warning.contains("nowhere"), "{warning}");
}

#[test]
fn history_reports_unreadable_commits_and_fails_only_when_nothing_could_be_read() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = TestRepo::init(&tmp.path().join("repo"));
    let initial = repo.commit(&[("package-lock.json", Some(&npm_lock("1.0.0", "Apache-2.0")))], "initial");
    let broken = repo.commit(&[("package-lock.json", Some("{\"lockfileVersion\": 3, \"packages\": ["))], "truncated");
    let fixed = repo.commit(&[("package-lock.json", Some(&npm_lock("1.1.0", "SSPL-1.0")))], "relicensed");

    let out = run(tmp.path(), &["history", "--repo", "repo", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "a license changed: {}", stderr(&out));
    let history: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(history["errors"].as_array().unwrap().len(), 1, "{history}");
    assert_eq!(history["errors"][0]["commit"], broken.to_string());
    assert!(history["errors"][0]["error"].as_str().unwrap().contains("package-lock.json"), "{history}");
    assert_eq!(history["entries"][0]["commit"], fixed.to_string());
    assert_eq!(history["license_sources"]["input_field"], 4, "{history}");
    let err = stderr(&out);
    assert!(err.contains(&format!("warning: commit {} could not be read", &broken.to_string()[..12])), "{err}");
    assert!(err.contains("licenses: ") && err.contains("offline"), "{err}");
    // gate (and diff --repo) print the same summary line.
    let (base, head) = (initial.to_string(), fixed.to_string());
    let out = run(tmp.path(), &["gate", "--repo", "repo", "--base", &base, "--head", &head, "--format", "json"]);
    let err = stderr(&out);
    assert!(err.contains("licenses: 4 package licenses: 4 from a lockfile/SBOM field"), "{err}");
    let out = run(tmp.path(), &["history", "--repo", "repo"]);
    let text = stdout(&out);
    assert!(text.contains("1 commit could not be read") && text.contains("truncated"), "{text}");

    // Nothing readable: exit 2 with one line naming the first failure.
    let only_broken = TestRepo::init(&tmp.path().join("broken"));
    only_broken.commit(&[("package-lock.json", Some("not json"))], "broken");
    let out = run(tmp.path(), &["history", "--repo", "broken"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("no commit with dependency inputs could be read"), "{err}");
    assert!(err.contains("package-lock.json"), "{err}");
}
