//! Scan and drift over real lockfiles and SBOMs (tests/data, copied from
//! shared/fixtures): two files compared directly, as `steward diff OLD NEW`.

use steward_scanner::Directory;
use steward_scanner::drift::{FindingCode, diff};
use steward_scanner::license::LicenseConfig;
use steward_scanner::report;
use steward_scanner::scan::{Scan, scan};

fn file(rel: &str) -> Scan {
    let path = format!("{}/tests/data/{rel}", env!("CARGO_MANIFEST_DIR"));
    let config = LicenseConfig { local_caches: false, ..LicenseConfig::default() };
    let mut s = scan(&Directory::new(&path), &config).unwrap_or_else(|e| panic!("{rel}: {e}"));
    s.input = rel.to_owned();
    s
}

#[test]
fn npm_v2_to_v3_rust_analyzer_two_files_compared_directly() {
    let old = file("lockfiles/npm-lockv2-rust-analyzer-vscode-2023-06-05.package-lock.json");
    let new = file("lockfiles/npm-lockv3-rust-analyzer-vscode-2024-12-02.package-lock.json");
    // npm records a `license` for some packages only (117 of 424 here):
    // each of those resolves; the rest are unknown with a reason.
    let g = &new.graphs[0];
    for (p, l) in g.graph.packages.iter().zip(&g.licenses) {
        if p.raw_licenses.iter().any(|r| !r.value.starts_with("SEE LICENSE IN")) {
            assert!(l.is_known(), "{p:?}: {l:?}");
        } else {
            assert!(l.is_known() || l.unknown_reason.is_some());
        }
    }
    assert!(g.licenses.iter().filter(|l| l.is_known()).count() >= 100);
    let d = diff(&old, &new);
    assert_eq!(d.graphs.len(), 1);
    assert_eq!(
        d.graphs[0].presence,
        steward_scanner::drift::Presence::Both,
        "differently named files of one format are paired"
    );
    assert!(
        d.findings.iter().all(|f| f.graph.ends_with("npm-lockv3-rust-analyzer-vscode-2024-12-02.package-lock.json"))
    );
    assert!(d.summary.version_changed > 0 && d.summary.added > 0 && d.summary.removed > 0, "{:?}", d.summary);
    // Every finding about a non-root package has a path or is direct.
    for f in &d.findings {
        assert!(f.direct || !f.paths.is_empty() || f.code == FindingCode::Removed, "{f:?}");
    }
    renderers_carry_the_whole_drift(&d);
}

/// Every renderer shows this drift, not just something: JSON round-trips
/// to the same drift, SARIF has one result per finding with its rule,
/// package and file, and the human and Markdown reports give the summary's
/// numbers and name every package whose license changed (human: every
/// package with `all_findings`).
fn renderers_carry_the_whole_drift(d: &steward_scanner::drift::Drift) {
    let json = report::drift_json(d);
    let back: steward_scanner::drift::Drift = serde_json::from_str(&json).expect("drift JSON parses back");
    assert_eq!(&back, d, "the JSON report is the drift");

    let sarif: serde_json::Value = serde_json::from_str(&report::drift_sarif(d)).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().expect("SARIF results");
    assert_eq!(results.len(), d.findings.len(), "one SARIF result per finding");
    let mut fingerprints = std::collections::HashSet::new();
    for (r, f) in results.iter().zip(&d.findings) {
        assert_eq!(r["ruleId"], f.code.as_str());
        assert_eq!(r["properties"]["package"], f.name.as_str());
        assert_eq!(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], f.graph.as_str());
        assert!(fingerprints.insert(r["partialFingerprints"]["stewardFinding/v1"].to_string()), "{r}");
    }

    let s = &d.summary;
    let summary = format!(
        "{} license changed, {} now unknown, {} added, {} removed, {} version changed",
        s.license_changed, s.license_now_unknown, s.added, s.removed, s.version_changed
    );
    let human = report::drift_human(d, &report::HumanOptions { all_findings: true, ..Default::default() });
    assert!(human.contains(&summary), "human summary `{summary}` missing:\n{human}");
    let markdown = report::drift_markdown(d);
    for f in &d.findings {
        assert!(human.contains(&f.name), "human report misses {}", f.name);
        if f.code.is_license_drift() {
            assert!(markdown.contains(&f.name), "markdown report misses {}", f.name);
        }
    }
    for n in [s.license_changed, s.added, s.removed, s.version_changed] {
        assert!(markdown.contains(&n.to_string()), "markdown misses the count {n}");
    }
}

#[test]
fn same_file_twice_is_no_drift() {
    for rel in [
        "lockfiles/cargo-v4-ripgrep-15.1.0.Cargo.lock",
        "lockfiles/npm-lockv3-rust-analyzer-vscode-2024-12-02.package-lock.json",
        "lockfiles/poetry-lock2.1-poetry-2.4.1.poetry.lock",
        "lockfiles/pnpm-v9.0-rust-registry-app-57fa000.pnpm-lock.yaml",
        "sbom/cyclonedx-1.6-npm-demo-deps-from-git.bom.json",
        "sbom/spdx-2.3-example14-examplemaven-enriched.spdx.json",
    ] {
        let s = file(rel);
        let d = diff(&s, &s);
        assert!(d.findings.is_empty(), "{rel}: {:?}", d.findings.first());
    }
}

#[test]
fn cargo_ripgrep_14_to_15_without_local_caches_reports_versions_not_licenses() {
    let old = file("lockfiles/cargo-v3-ripgrep-14.1.1.Cargo.lock");
    let new = file("lockfiles/cargo-v4-ripgrep-15.1.0.Cargo.lock");
    // Cargo.lock has no license data; with local caches off every license
    // is unknown, with the reason, and unknown → unknown is not drift.
    for l in &new.graphs[0].licenses {
        assert!(l.unknown_reason.as_deref().unwrap_or_default().contains("cargo registry cache") || l.is_known());
    }
    let d = diff(&old, &new);
    assert!(!d.has_license_drift());
    let regex = d.findings.iter().find(|f| f.name == "regex" && f.code == FindingCode::VersionChanged);
    assert!(regex.is_some(), "{:#?}", d.summary);
}

#[test]
fn sbom_licenses_are_resolved_and_exported_again() {
    let s = file("sbom/spdx-2.3-example14-examplemaven-enriched.spdx.json");
    let known = s.graphs[0].licenses.iter().filter(|l| l.is_known()).count();
    assert!(known > 0);
    let opts = report::ExportOptions { name: "x".into(), created: "2026-01-01T00:00:00Z".into(), namespace: None };
    let spdx: serde_json::Value = serde_json::from_str(&report::spdx_json(&s, &opts)).unwrap();
    assert_eq!(spdx["packages"].as_array().unwrap().len(), s.package_count());
    let cdx: serde_json::Value = serde_json::from_str(&report::cyclonedx_json(&s, &opts)).unwrap();
    assert_eq!(cdx["dependencies"].as_array().unwrap().len(), s.package_count());
}
