//! Real git repositories built with git2 in a tempdir: a dependency's
//! license changes in an npm package-lock v3 between commits.

use git2::{Repository, Signature};
use std::path::Path;
use steward_scanner::InputTree;
use steward_scanner::drift::FindingCode;
use steward_scanner::git::{GitTree, Progress, diff_revs, glob_match, history};
use steward_scanner::license::LicenseConfig;

fn lock(mongo: (&str, &str), dual: &str, express_license: Option<&str>) -> String {
    let express_license = express_license.map(|l| format!(",\n      \"license\": \"{l}\"")).unwrap_or_default();
    format!(
        r#"{{
  "name": "app",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {{
    "": {{
      "name": "app",
      "version": "1.0.0",
      "dependencies": {{ "express": "^4.18.0", "dual": "^1.0.0" }}
    }},
    "node_modules/express": {{
      "version": "4.18.2",
      "resolved": "https://registry.npmjs.org/express/-/express-4.18.2.tgz",
      "integrity": "sha512-AAAA"{express_license},
      "dependencies": {{ "mongo-thing": "^1.0.0" }}
    }},
    "node_modules/mongo-thing": {{
      "version": "{}",
      "resolved": "https://registry.npmjs.org/mongo-thing/-/mongo-thing-{}.tgz",
      "integrity": "sha512-BBBB",
      "license": "{}"
    }},
    "node_modules/dual": {{
      "version": "1.0.0",
      "resolved": "https://registry.npmjs.org/dual/-/dual-1.0.0.tgz",
      "integrity": "sha512-CCCC",
      "license": "{dual}",
      "dependencies": {{ "mongo-thing": "^1.0.0" }}
    }}
  }}
}}
"#,
        mongo.0, mongo.0, mongo.1
    )
}

const PACKAGE_JSON: &str =
    r#"{ "name": "app", "version": "1.0.0", "dependencies": { "express": "^4.18.0", "dual": "^1.0.0" } }"#;

fn commit(repo: &Repository, files: &[(&str, &str)], message: &str) -> git2::Oid {
    let root = repo.workdir().unwrap().to_path_buf();
    let mut index = repo.index().unwrap();
    for (path, content) in files {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, content).unwrap();
        index.add_path(Path::new(path)).unwrap();
    }
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = Signature::new("Dev", "dev@example.invalid", &git2::Time::new(1_700_000_000, 0)).unwrap();
    let parents: Vec<git2::Commit<'_>> = repo.head().ok().and_then(|h| h.peel_to_commit().ok()).into_iter().collect();
    let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parent_refs).unwrap()
}

/// Six commits: initial; README only; mongo-thing 1.0.0 Apache-2.0 →
/// 1.1.0 SSPL-1.0; `MIT/Apache-2.0` respelled `MIT OR Apache-2.0`; express
/// 4.18.2 loses its license field (same version: evidence lost, not
/// drift); express 4.19.0, without a license field (now unknown: drift).
fn fixture() -> (tempfile::TempDir, Repository, Vec<git2::Oid>) {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    // vec! evaluates in order: the commits are made one after another.
    let ids = vec![
        commit(
            &repo,
            &[
                ("package.json", PACKAGE_JSON),
                ("package-lock.json", &lock(("1.0.0", "Apache-2.0"), "MIT/Apache-2.0", Some("MIT"))),
                ("README.md", "app\n"),
            ],
            "initial",
        ),
        commit(&repo, &[("README.md", "app, now documented\n")], "docs"),
        commit(
            &repo,
            &[("package-lock.json", &lock(("1.1.0", "SSPL-1.0"), "MIT/Apache-2.0", Some("MIT")))],
            "bump mongo-thing",
        ),
        commit(
            &repo,
            &[("package-lock.json", &lock(("1.1.0", "SSPL-1.0"), "MIT OR Apache-2.0", Some("MIT")))],
            "respell dual's license",
        ),
        commit(
            &repo,
            &[("package-lock.json", &lock(("1.1.0", "SSPL-1.0"), "MIT OR Apache-2.0", None))],
            "express without license",
        ),
        commit(
            &repo,
            &[(
                "package-lock.json",
                &lock(("1.1.0", "SSPL-1.0"), "MIT OR Apache-2.0", None).replace("4.18.2", "4.19.0"),
            )],
            "bump express, still without license",
        ),
    ];
    (dir, repo, ids)
}

fn offline() -> LicenseConfig {
    LicenseConfig { local_caches: false, offline: true, ..LicenseConfig::default() }
}

#[test]
fn git_tree_reads_the_object_database_without_a_checkout() {
    let (dir, repo, ids) = fixture();
    // Remove the working tree: reads must come from the object database.
    std::fs::remove_file(dir.path().join("package-lock.json")).unwrap();
    let tree = GitTree::at(&repo, &ids[0].to_string()).unwrap();
    assert_eq!(tree.paths().unwrap(), ["README.md", "package-lock.json", "package.json"]);
    let bytes = tree.read("package-lock.json").unwrap();
    assert!(String::from_utf8(bytes).unwrap().contains("Apache-2.0"));
    let id = tree.content_id("package-lock.json").unwrap();
    assert_eq!(id, repo.revparse_single(&format!("{}:package-lock.json", ids[0])).unwrap().id().to_string());
    assert_eq!(tree.read("missing").unwrap_err().kind(), std::io::ErrorKind::NotFound);
    // Directories are known without reading (node_modules is never there).
    assert_eq!(tree.is_dir(""), Some(true));
    assert_eq!(tree.is_dir("node_modules"), Some(false));
    assert_eq!(tree.is_dir("package.json"), Some(false));
}

#[test]
fn diff_revs_reports_the_license_change_and_its_path() {
    let (_dir, repo, ids) = fixture();
    let drift = diff_revs(&repo, &ids[0].to_string(), &ids[2].to_string(), &offline()).unwrap();
    let changed: Vec<_> = drift.license_findings().collect();
    assert_eq!(changed.len(), 1, "{:#?}", drift.findings);
    let f = changed[0];
    assert_eq!(f.code, FindingCode::LicenseChanged);
    assert_eq!(f.name, "mongo-thing");
    assert_eq!((f.old_version.as_deref(), f.new_version.as_deref()), (Some("1.0.0"), Some("1.1.0")));
    assert_eq!(f.old_license.as_ref().unwrap().display(), "Apache-2.0");
    assert_eq!(f.new_license.as_ref().unwrap().display(), "SSPL-1.0");
    let paths: Vec<Vec<&str>> = f.paths.iter().map(|p| p.iter().map(|r| r.name.as_str()).collect()).collect();
    assert_eq!(paths.len(), 2);
    assert!(
        paths.contains(&vec!["express", "mongo-thing"]) && paths.contains(&vec!["dual", "mongo-thing"]),
        "{paths:?}"
    );
}

#[test]
fn a_respelled_license_is_not_drift() {
    let (_dir, repo, ids) = fixture();
    let drift = diff_revs(&repo, &ids[2].to_string(), &ids[3].to_string(), &offline()).unwrap();
    assert!(drift.findings.is_empty(), "{:#?}", drift.findings);
    assert!(!drift.has_license_drift());
}

#[test]
fn history_lists_license_changing_commits_and_skips_unchanged_lockfiles() {
    let (_dir, repo, ids) = fixture();
    let mut progress: Vec<Progress> = Vec::new();
    let h = history(&repo, None, None, &offline(), &mut |p| progress.push(p)).unwrap();
    assert_eq!(h.commits_walked, 6);
    // The README-only commit is skipped by blob id; the others are scanned.
    assert_eq!(h.commits_scanned, 5);
    assert!(h.errors.is_empty() && h.read_anything());
    let commits: Vec<&str> = h.entries.iter().map(|e| e.commit.as_str()).collect();
    // express 4.18.2 losing its lockfile field (ids[4]) is not a license change.
    assert_eq!(commits, [ids[2].to_string(), ids[5].to_string()]);
    assert_eq!(h.entries[0].summary, "bump mongo-thing");
    assert_eq!(h.entries[0].changed_inputs, ["package-lock.json"]);
    let unknown: Vec<_> = h.entries[1].drift.license_findings().collect();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].code, FindingCode::LicenseNowUnknown);
    assert_eq!(unknown[0].name, "express");
    assert_eq!(unknown[0].old_version.as_deref(), Some("4.18.2"));
    // ids[4] had no evidence for express 4.18.2; the walk remembers MIT from ids[3].
    let old = unknown[0].old_license.as_ref().unwrap();
    assert_eq!(old.display(), "MIT");
    assert!(old.resolved.warnings[0].contains("carried across"), "{:?}", old.resolved.warnings);
    assert_eq!(progress.len(), 6);
    assert_eq!(progress.last().unwrap().done, 6);
    assert_eq!(progress.last().unwrap().scanned, 5);
    // Every scan's licenses are counted by where they came from.
    assert!(h.license_sources.input_field > 0 && h.license_sources.none > 0, "{:?}", h.license_sources);

    // --since excludes the base and its ancestors.
    let since = history(&repo, Some(&ids[2].to_string()), None, &offline(), &mut |_| {}).unwrap();
    assert_eq!(since.commits_walked, 3);
    assert_eq!(since.entries.len(), 1);

    // A glob that matches no input skips every commit.
    let none = history(&repo, None, Some("services/**/package-lock.json"), &offline(), &mut |_| {}).unwrap();
    assert_eq!((none.commits_scanned, none.entries.len()), (0, 0));
}

#[test]
fn bad_revisions_are_errors_naming_the_revision() {
    let (_dir, repo, _ids) = fixture();
    let err = diff_revs(&repo, "no-such-branch", "HEAD", &offline()).unwrap_err();
    assert!(err.to_string().contains("no-such-branch"), "{err}");
}

#[test]
fn globs() {
    assert!(glob_match("**/package-lock.json", "package-lock.json"));
    assert!(glob_match("**/package-lock.json", "a/b/package-lock.json"));
    assert!(glob_match("services/*/Cargo.lock", "services/api/Cargo.lock"));
    assert!(!glob_match("services/*/Cargo.lock", "services/api/x/Cargo.lock"));
    assert!(glob_match("*.lock", "yarn.lock"));
    assert!(!glob_match("*.lock", "a/yarn.lock"));
    assert!(glob_match("req?.txt", "req1.txt"));
}

#[test]
fn a_version_that_loses_its_license_field_is_evidence_lost_not_drift() {
    let (_dir, repo, ids) = fixture();
    let drift = diff_revs(&repo, &ids[3].to_string(), &ids[4].to_string(), &offline()).unwrap();
    assert!(!drift.has_license_drift(), "{:#?}", drift.findings);
    assert_eq!(drift.findings.len(), 1, "{:#?}", drift.findings);
    let f = &drift.findings[0];
    assert_eq!((f.code, f.name.as_str()), (FindingCode::EvidenceLost, "express"));
    assert_eq!(f.old_license.as_ref().unwrap().display(), "MIT");
    assert_eq!(f.new_license.as_ref().unwrap().display(), "unknown");
    assert!(f.message.contains("MIT carried across from the old side"), "{}", f.message);
    assert_eq!(drift.summary.evidence_lost, 1);
    // The other way round: evidence gained.
    let back = diff_revs(&repo, &ids[4].to_string(), &ids[3].to_string(), &offline()).unwrap();
    assert!(!back.has_license_drift());
    assert_eq!(back.findings[0].code, FindingCode::EvidenceGained);
    assert_eq!(back.summary.evidence_gained, 1);
}

/// History over a commit whose lockfile no parser accepts: the commit is
/// reported with the error, the walk goes on, and the next readable commit
/// is compared with the last readable one.
#[test]
fn history_reports_an_unreadable_commit_and_walks_on() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    let good = lock(("1.0.0", "Apache-2.0"), "MIT", Some("MIT"));
    let ids = [
        commit(&repo, &[("package.json", PACKAGE_JSON), ("package-lock.json", &good)], "initial"),
        commit(&repo, &[("package-lock.json", "{\"lockfileVersion\": 3, \"packages\": [")], "truncated lockfile"),
        commit(&repo, &[("README.md", "x\n")], "docs while broken"),
        commit(&repo, &[("package-lock.json", &lock(("1.1.0", "SSPL-1.0"), "MIT", Some("MIT")))], "fixed and bumped"),
    ];
    let h = history(&repo, None, None, &offline(), &mut |_| {}).unwrap();
    assert_eq!((h.commits_walked, h.commits_scanned), (4, 3));
    assert_eq!(h.errors.len(), 1, "{:#?}", h.errors);
    let e = &h.errors[0];
    assert_eq!(e.commit, ids[1].to_string());
    assert_eq!(e.summary, "truncated lockfile");
    assert_eq!(e.changed_inputs, ["package-lock.json"]);
    assert!(e.error.contains("package-lock.json"), "the error names the file: {}", e.error);
    assert!(h.read_anything());
    // The fixed commit is compared with the initial one: mongo-thing's relicensing.
    assert_eq!(h.entries.len(), 1, "{:#?}", h.entries);
    assert_eq!(h.entries[0].commit, ids[3].to_string());
    let f: Vec<_> = h.entries[0].drift.license_findings().collect();
    assert_eq!((f[0].name.as_str(), f[0].new_license.as_ref().unwrap().display()), ("mongo-thing", "SSPL-1.0".into()));
    let json = steward_scanner::report::history_json(&h);
    assert!(json.contains("\"errors\"") && json.contains("truncated lockfile"), "{json}");
    let text = steward_scanner::report::history_human(&h, &steward_scanner::report::HumanOptions::default());
    assert!(text.contains("1 commit could not be read") && text.contains("truncated lockfile"), "{text}");

    // Nothing readable at all: the history says so.
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    commit(&repo, &[("package-lock.json", "not json")], "broken from the start");
    let h = history(&repo, None, None, &offline(), &mut |_| {}).unwrap();
    assert_eq!(h.errors.len(), 1);
    assert!(!h.read_anything());
}
