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

// The first table of issue 12, through the scanner's git diff: each case is
// `node_modules/<pkg>/LICENSE` beside a `package.json` with no license
// field, in two commits (the real files of tests/data/license-corpus/).

mod table {
    use git2::{Repository, Signature};
    use std::path::Path;
    use steward_scanner::git::diff_revs;
    use steward_scanner::license::LicenseConfig;

    fn corpus(name: &str) -> String {
        let path = format!("{}/tests/data/license-corpus/{name}", env!("CARGO_MANIFEST_DIR"));
        String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).into_owned()
    }

    fn lock(pkg: &str, version: &str) -> String {
        format!(
            r#"{{
  "name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
  "packages": {{
    "": {{ "name": "app", "version": "1.0.0", "dependencies": {{ "{pkg}": "*" }} }},
    "node_modules/{pkg}": {{ "version": "{version}", "resolved": "https://registry.npmjs.org/{pkg}/-/{pkg}-{version}.tgz" }}
  }}
}}
"#
        )
    }

    fn commit(repo: &Repository, files: &[(String, String)]) -> String {
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
        let parents: Vec<git2::Commit<'_>> =
            repo.head().ok().and_then(|h| h.peel_to_commit().ok()).into_iter().collect();
        let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, "step", &tree, &parent_refs).unwrap().to_string()
    }

    /// The license `steward diff` reports for `pkg` when its LICENSE goes
    /// from `old` to `new` (corpus file names) with a version bump.
    fn diff(pkg: &str, old: &str, new: &str) -> (String, String) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let manifest = |v: &str| format!(r#"{{ "name": "{pkg}", "version": "{v}" }}"#);
        let files = |v: &str, text: String| {
            vec![
                ("package.json".to_owned(), format!(r#"{{ "name": "app", "dependencies": {{ "{pkg}": "*" }} }}"#)),
                ("package-lock.json".to_owned(), lock(pkg, v)),
                (format!("node_modules/{pkg}/package.json"), manifest(v)),
                (format!("node_modules/{pkg}/LICENSE"), text),
            ]
        };
        let a = commit(&repo, &files("1.0.0", corpus(old)));
        let b = commit(&repo, &files("2.0.0", corpus(new)));
        let config = LicenseConfig { local_caches: false, ..LicenseConfig::default() };
        let drift = diff_revs(&repo, &a, &b, &config).unwrap();
        let f =
            drift.license_findings().find(|f| f.name == pkg).unwrap_or_else(|| panic!("{pkg}: {:#?}", drift.findings));
        let old = f.old_license.as_ref().map(|l| l.display()).unwrap_or_default();
        let new = f.new_license.as_ref().map(|l| l.display()).unwrap_or_default();
        (old, new)
    }

    #[test]
    fn hashicorp_busl_after_the_2023_switch() {
        assert_eq!(
            diff("terraform", "terraform-dcee05d1-LICENSE", "terraform-a90ba0bf-LICENSE"),
            ("MPL-2.0".into(), "BUSL-1.1".into())
        );
        assert_eq!(
            diff("nomad", "nomad-faae1ee1-LICENSE", "nomad-c5b36b50-LICENSE"),
            ("MPL-2.0".into(), "BUSL-1.1".into())
        );
    }

    #[test]
    fn redis_2024_is_a_choice_not_a_conjunction() {
        let (old, new) = diff("redis", "redis-2d6d9f75-COPYING", "redis-0b343969-LICENSE.txt");
        assert_eq!(old, "BSD-3-Clause");
        assert_eq!(new, "LicenseRef-RSAL-2.0 OR SSPL-1.0");
    }

    #[test]
    fn ring_composite_keeps_every_license() {
        let (_, new) = diff("ring", "ring-19b21ad9-LICENSE-other-bits", "ring-c6e37807-LICENSE");
        assert_eq!(new, "OpenSSL AND ISC AND MIT AND BSD-3-Clause");
    }

    #[test]
    fn another_vendor_busl_and_an_agpl_switch() {
        assert_eq!(
            diff("snuba", "serde-1023d077-LICENSE-APACHE", "snuba-ce749da2-LICENSE"),
            ("Apache-2.0".into(), "BUSL-1.1".into())
        );
        assert_eq!(
            diff("minio", "minio-397b887a-LICENSE", "minio-06943256-LICENSE"),
            ("Apache-2.0".into(), "AGPL-3.0-only".into())
        );
    }

    #[test]
    fn commons_clause_parameters_reach_the_reports() {
        // RediSearch's 2018 switch: Apache-2.0 (minio's text as the old
        // side) → Apache-2.0 with the Commons Clause; the clause's
        // Software, License and Licensor are shown like BUSL's parameters.
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let files = |v: &str, text: String| {
            vec![
                ("package.json".to_owned(), r#"{ "name": "app", "dependencies": { "search": "*" } }"#.to_owned()),
                ("package-lock.json".to_owned(), lock("search", v)),
                ("node_modules/search/package.json".to_owned(), format!(r#"{{ "name": "search", "version": "{v}" }}"#)),
                ("node_modules/search/LICENSE".to_owned(), text),
            ]
        };
        let a = commit(&repo, &files("1.0.0", corpus("minio-397b887a-LICENSE")));
        let b = commit(&repo, &files("1.1.0", corpus("redisearch-c516603c-LICENSE")));
        let config = LicenseConfig { local_caches: false, ..LicenseConfig::default() };
        let drift = diff_revs(&repo, &a, &b, &config).unwrap();
        let f = drift.license_findings().find(|f| f.name == "search").expect("a license change");
        assert_eq!(f.new_license.as_ref().unwrap().display(), "Apache-2.0 AND LicenseRef-Commons-Clause");
        let line =
            "License: the Apache License, Version 2.0; Licensor: Redis Labs Ltd.; Software: the <module name> software";
        let shown = steward_scanner::report::finding::parameters_line(&f.new_license.as_ref().unwrap().resolved, 300);
        assert_eq!(shown.as_deref(), Some(line));
        let markdown = steward_scanner::report::drift_markdown(&drift);
        assert!(markdown.contains(&format!("- parameters: `{line}`")), "{markdown}");
        let human = steward_scanner::report::drift_human(&drift, &Default::default());
        assert!(
            human.contains("Licensor: Redis Labs Ltd.") && human.contains("Software: the <module name> software"),
            "{human}"
        );
    }

    #[test]
    fn a_field_that_disagrees_with_the_text_is_a_finding() {
        use steward_scanner::drift::FindingCode;
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let files = |text: String| {
            vec![
                ("package.json".to_owned(), r#"{ "name": "app", "dependencies": { "mongo-ish": "*" } }"#.to_owned()),
                ("package-lock.json".to_owned(), lock("mongo-ish", "1.0.0")),
                (
                    "node_modules/mongo-ish/package.json".to_owned(),
                    r#"{ "name": "mongo-ish", "version": "1.0.0", "license": "MIT" }"#.to_owned(),
                ),
                ("node_modules/mongo-ish/LICENSE".to_owned(), text),
            ]
        };
        let sspl = std::fs::read_to_string(format!("{}/tests/data/licenses/SSPL-1.0.txt", env!("CARGO_MANIFEST_DIR")))
            .unwrap();
        let a = commit(&repo, &files(corpus("serde-1023d077-LICENSE-MIT")));
        let b = commit(&repo, &files(sspl));
        let config = LicenseConfig { local_caches: false, ..LicenseConfig::default() };
        // The field still decides the license: MIT on both sides, no drift.
        let drift = diff_revs(&repo, &a, &b, &config).unwrap();
        assert_eq!(drift.license_findings().count(), 0, "{:#?}", drift.findings);
        let f: Vec<_> =
            drift.findings.iter().filter(|f| f.code == FindingCode::LicenseFieldDisagreesWithText).collect();
        assert_eq!(f.len(), 1, "{:#?}", drift.findings);
        assert_eq!(f[0].name, "mongo-ish");
        assert!(f[0].message.contains("\"MIT\"") && f[0].message.contains("SSPL-1.0"), "{}", f[0].message);
        assert_eq!(f[0].code.as_str(), "license-field-disagrees-with-text");
        assert_eq!(drift.summary.license_field_disagrees_with_text, 1);
        // A field and a text that agree are no disagreement; the disagreeing
        // side says what each names.
        let licenses = |rev: &str| {
            let scan = steward_scanner::git::scan_rev(&repo, rev, &config).unwrap();
            scan.graphs[0].licenses.iter().map(|l| l.field_text_disagreement.clone()).collect::<Vec<_>>()
        };
        assert!(licenses(&a).iter().all(Option::is_none), "{:?}", licenses(&a));
        assert!(
            licenses(&b).iter().flatten().any(|d| d.contains("node_modules/mongo-ish/LICENSE")),
            "{:?}",
            licenses(&b)
        );
        let same = diff_revs(&repo, &b, &b, &config).unwrap();
        assert!(same.findings.is_empty(), "a disagreement already there is no new finding: {:#?}", same.findings);
    }
}

/// An SBOM generator's artifact (`LicenseRef-AND` for the word AND, as
/// Alpine package licenses arrive) is repaired on the way into a package's
/// license, with a warning on the evidence naming the artifact and the
/// original string.
#[test]
fn sbom_license_ref_and_is_repaired_with_a_warning() {
    use steward_scanner::license::{LicenseConfig, Resolver};
    use steward_scanner::{DependencyGraph, Directory, Ecosystem, LockfileFormat, Package, RawLicense, SourceLocation};
    let original = "MPL-2.0 AND LicenseRef-AND AND MIT";
    let p = Package {
        name: "ca-certificates-bundle".into(),
        version: "20241121-r1".into(),
        ecosystem: Ecosystem::Other,
        purl: None,
        source: None,
        raw_licenses: vec![RawLicense { value: original.into(), field: "packages[0].licenseDeclared".into() }],
        dev: false,
        line: None,
        integrity: None,
    };
    let mut g =
        DependencyGraph::new(SourceLocation { path: "sbom.spdx.json".into(), format: LockfileFormat::SpdxJson });
    g.push(p);
    let tmp = tempfile::tempdir().unwrap();
    let config = LicenseConfig { local_caches: false, ..LicenseConfig::default() }.validate().unwrap();
    let r = Resolver::new(&config).resolve_graph(&Directory::new(tmp.path()), &g);
    assert_eq!(r[0].canonical.as_deref(), Some("MIT AND MPL-2.0"), "{:?}", r[0]);
    let warnings: Vec<&String> = r[0].evidence.iter().flat_map(|e| &e.warnings).chain(&r[0].warnings).collect();
    assert!(
        warnings.iter().any(|w| w.contains("LicenseRef-AND") && w.contains(original)),
        "no warning names the artifact and the original: {warnings:?}"
    );
}

#[test]
fn commons_clause_parameters_are_kept_like_busl_ones() {
    // RediSearch at c516603c (2018, corpus provenance in
    // tests/data/license-corpus/README.md): Apache-2.0 "modified with
    // Commons Clause Restriction", its parameters in one sentence.
    let path = format!("{}/tests/data/license-corpus/redisearch-c516603c-LICENSE", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let d = detect_text(&text, DEFAULT_THRESHOLD);
    assert_eq!(
        d.expression().map(|e| e.to_string()).as_deref(),
        Some("Apache-2.0 AND LicenseRef-Commons-Clause"),
        "{d:?}"
    );
    assert_eq!(d.parameters.get("Licensor").map(String::as_str), Some("Redis Labs Ltd."), "{:?}", d.parameters);
    assert_eq!(d.parameters.get("License").map(String::as_str), Some("the Apache License, Version 2.0"));
    assert_eq!(d.parameters.get("Software").map(String::as_str), Some("the <module name> software"));
    // A text without the Commons Clause keeps no such parameters.
    assert!(detect_text(&data("Apache-2.0.txt"), DEFAULT_THRESHOLD).parameters.is_empty());
}
