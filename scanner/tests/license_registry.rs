//! Registry evidence in the resolver, with a fake [`RegistrySource`] (a
//! test double of the trait: no network here; the HTTP source and its disk
//! cache are tested in `server/tests/registry.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use steward_scanner::license::registry::{RegistryAnswer, RegistryError, RegistryLicense, RegistryRecord};
use steward_scanner::license::{
    Clarification, EvidenceSource, LicenseConfig, REGISTRY_CONFIDENCE, RegistrySource, Resolver, ValidLicenseConfig,
};
use steward_scanner::scan::scan_graphs_valid;
use steward_scanner::{DependencyGraph, Ecosystem, LockfileFormat, MemoryTree, Package, RawLicense, SourceLocation};

/// Answers from a table (by `name@version`, else by `name`); records every
/// question.
#[derive(Default)]
struct Fake {
    answers: HashMap<String, Result<RegistryAnswer, RegistryError>>,
    asked: Mutex<Vec<String>>,
}

impl Fake {
    fn with(mut self, name: &str, answer: Result<RegistryAnswer, RegistryError>) -> Self {
        self.answers.insert(name.to_owned(), answer);
        self
    }

    fn asked(&self) -> Vec<String> {
        let mut a = self.asked.lock().unwrap().clone();
        a.sort();
        a
    }
}

impl RegistrySource for Fake {
    fn lookup(&self, ecosystem: Ecosystem, name: &str, version: &str) -> Result<RegistryAnswer, RegistryError> {
        self.asked.lock().unwrap().push(format!("{ecosystem}:{name}@{version}"));
        // An answer for `name@version` first, then for `name`; else 404.
        (self.answers.get(&format!("{name}@{version}")).or_else(|| self.answers.get(name)))
            .cloned()
            .unwrap_or_else(|| Ok(RegistryAnswer::NotFound { url: url(name) }))
    }
}

fn url(name: &str) -> String {
    format!("https://registry.example/{name}/1.0.0")
}

fn declared(name: &str, field: &str, value: &str) -> Result<RegistryAnswer, RegistryError> {
    Ok(RegistryAnswer::Found(RegistryRecord {
        url: url(name),
        field: field.into(),
        value: value.into(),
        license: RegistryLicense::Declared { expression: value.into() },
    }))
}

fn pkg(eco: Ecosystem, name: &str, source: Option<&str>) -> Package {
    Package {
        name: name.into(),
        version: "1.0.0".into(),
        ecosystem: eco,
        purl: None,
        source: source.map(str::to_owned),
        raw_licenses: Vec::new(),
        dev: false,
        line: None,
        integrity: None,
    }
}

fn npm(name: &str) -> Package {
    pkg(Ecosystem::Npm, name, Some("https://registry.npmjs.org/x.tgz"))
}

fn graph(packages: Vec<Package>) -> DependencyGraph {
    let mut g = DependencyGraph::new(SourceLocation {
        path: "package-lock.json".into(),
        format: LockfileFormat::NpmPackageLock,
    });
    for p in packages {
        g.push(p);
    }
    g
}

fn config(offline: bool, fake: &Arc<Fake>) -> ValidLicenseConfig {
    LicenseConfig { local_caches: false, offline, ..LicenseConfig::default() }
        .validate()
        .unwrap()
        .with_registry(fake.clone())
}

fn tree() -> MemoryTree {
    MemoryTree::new(Vec::new())
}

#[test]
fn offline_never_asks_the_registry() {
    let fake = Arc::new(Fake::default().with("left-pad", declared("left-pad", "license", "MIT")));
    let valid = config(true, &fake);
    assert!(!valid.looks_up_registries());
    let r = Resolver::new(&valid).resolve_graph(&tree(), &graph(vec![npm("left-pad")]));
    assert!(fake.asked().is_empty(), "offline: no question to the registry");
    assert!(!r[0].is_known());
    let reason = r[0].unknown_reason.as_deref().unwrap();
    assert!(reason.starts_with("no license data:"), "{reason}");
    assert!(!reason.contains("registry"), "the offline reason is unchanged: {reason}");
}

#[test]
fn registry_look_ups_are_the_default_when_a_source_is_given() {
    let fake = Arc::new(Fake::default().with("left-pad", declared("left-pad", "license", "MIT")));
    let valid = LicenseConfig { local_caches: false, ..LicenseConfig::default() }
        .validate()
        .unwrap()
        .with_registry(fake.clone());
    assert!(!valid.config().offline, "online is the default");
    assert!(valid.looks_up_registries());
    let r = Resolver::new(&valid).resolve_graph(&tree(), &graph(vec![npm("left-pad")]));
    assert_eq!(fake.asked().len(), 1, "the default asks the registry");
    assert_eq!(r[0].canonical.as_deref(), Some("MIT"), "{:?}", r[0]);
}

#[test]
fn online_resolves_from_the_registry_with_evidence_naming_the_url() {
    let fake = Arc::new(
        Fake::default()
            .with("left-pad", declared("left-pad", "license", "MIT"))
            .with("old-style", declared("old-style", "licenses[*].type", "MIT OR Apache-2.0")),
    );
    let valid = config(false, &fake);
    let r = Resolver::new(&valid).resolve_graph(&tree(), &graph(vec![npm("left-pad"), npm("old-style")]));
    assert_eq!(r[0].canonical.as_deref(), Some("MIT"));
    let ev = &r[0].evidence[0];
    assert_eq!(ev.source, EvidenceSource::Registry);
    assert_eq!(ev.file, url("left-pad"));
    assert_eq!(ev.field.as_deref(), Some("license"));
    assert_eq!(ev.value, "MIT");
    assert_eq!(r[0].confidence, REGISTRY_CONFIDENCE, "declared, not verified: below 1.0");
    assert!(r[0].confidence < 1.0);
    assert_eq!(r[1].canonical.as_deref(), Some("Apache-2.0 OR MIT"));
    let json = serde_json::to_value(&r[0]).unwrap();
    assert_eq!(json["evidence"][0]["source"], "registry");
}

#[test]
fn local_evidence_wins_and_is_not_looked_up() {
    let fake = Arc::new(Fake::default().with("has-license", declared("has-license", "license", "GPL-3.0-only")));
    let mut local = npm("has-license");
    local
        .raw_licenses
        .push(RawLicense { value: "MIT".into(), field: "packages[\"node_modules/has-license\"].license".into() });
    let mut clarified = npm("clarified");
    clarified.version = "2.0.0".into();
    let valid = LicenseConfig {
        local_caches: false,
        offline: false,
        clarifications: vec![Clarification {
            name: "clarified".into(),
            version_req: None,
            ecosystem: None,
            expression: "ISC".into(),
            license_file_sha256: None,
            license_file: None,
        }],
        ..LicenseConfig::default()
    }
    .validate()
    .unwrap()
    .with_registry(fake.clone());
    let r = Resolver::new(&valid).resolve_graph(&tree(), &graph(vec![local, clarified, npm("missing")]));
    assert_eq!(r[0].canonical.as_deref(), Some("MIT"), "the input's license field decides");
    assert_eq!(r[1].canonical.as_deref(), Some("ISC"), "a clarification decides");
    assert!(r.iter().flat_map(|l| &l.evidence).filter(|e| e.source == EvidenceSource::Registry).count() == 0);
    assert_eq!(fake.asked(), ["npm:missing@1.0.0"], "only the package nothing local decided is looked up");
}

#[test]
fn a_failed_look_up_is_a_warning_and_part_of_the_reason() {
    let fake = Arc::new(Fake::default().with(
        "flaky",
        Err(RegistryError::Unavailable { url: url("flaky"), message: "HTTP 500 Internal Server Error".into() }),
    ));
    let valid = config(false, &fake);
    let scan = scan_graphs_valid(&tree(), vec![graph(vec![npm("flaky"), npm("gone")])], &valid);
    let flaky = &scan.graphs[0].licenses[0];
    assert!(!flaky.is_known());
    assert!(
        flaky.warnings.iter().any(|w| w.contains("registry look-up failed") && w.contains("HTTP 500")),
        "{flaky:?}"
    );
    assert!(flaky.unknown_reason.as_deref().unwrap().contains(&url("flaky")));
    assert!(scan.warnings.iter().any(|w| w.starts_with("1 registry look-up failed")), "{:?}", scan.warnings);
    let gone = &scan.graphs[0].licenses[1];
    assert!(gone.unknown_reason.as_deref().unwrap().contains("404 Not Found"), "{gone:?}");
    assert!(gone.warnings.is_empty(), "a 404 is an answer, not a failure");
}

#[test]
fn no_license_field_see_license_in_and_none_stay_unknown_with_the_reason() {
    let fake = Arc::new(
        Fake::default()
            .with("bare", Ok(RegistryAnswer::NoLicense { url: url("bare") }))
            .with("pointer", declared("pointer", "license", "SEE LICENSE IN LICENSE.md"))
            .with("none", declared("none", "license", "NONE")),
    );
    let valid = config(false, &fake);
    let r = Resolver::new(&valid).resolve_graph(&tree(), &graph(vec![npm("bare"), npm("pointer"), npm("none")]));
    assert!(r[0].unknown_reason.as_deref().unwrap().contains("has no license field"), "{:?}", r[0]);
    assert!(r[1].unknown_reason.as_deref().unwrap().contains("in a file of the package"), "{:?}", r[1]);
    assert_eq!(r[1].evidence[0].source, EvidenceSource::Registry, "the pointer is kept as evidence");
    assert!(r[2].unknown_reason.as_deref().unwrap().contains("says NONE"), "{:?}", r[2]);
    assert!(r.iter().all(|l| !l.is_known()));
}

#[test]
fn only_registry_packages_are_looked_up_and_go_says_why_not() {
    let fake = Arc::new(Fake::default());
    let valid = config(false, &fake);
    let packages = vec![
        pkg(Ecosystem::Go, "golang.org/x/mod", Some("proxy")),
        pkg(Ecosystem::Npm, "from-git", Some("git+https://example.invalid/x.git#abc")),
        pkg(Ecosystem::Npm, "own", None),
        pkg(Ecosystem::Cargo, "private", Some("registry+https://my.registry.example/index")),
        pkg(Ecosystem::Cargo, "serde", Some("registry+https://github.com/rust-lang/crates.io-index")),
        pkg(Ecosystem::Pypi, "requests", Some("registry")),
        pkg(Ecosystem::Npm, "internal", Some("https://npm.corp.example/internal/-/internal-1.0.0.tgz")),
        pkg(Ecosystem::Npm, "via-yarn", Some("https://registry.yarnpkg.com/via-yarn/-/via-yarn-1.0.0.tgz")),
        pkg(Ecosystem::Pypi, "private-lib", Some("https://pypi.corp.example/simple")),
        pkg(Ecosystem::Pypi, "django", Some("https://pypi.org/simple")),
    ];
    let r = Resolver::new(&valid).resolve_graph(&tree(), &graph(packages));
    assert_eq!(fake.asked(), ["cargo:serde@1.0.0", "npm:via-yarn@1.0.0", "pypi:django@1.0.0", "pypi:requests@1.0.0"]);
    let reason = |i: usize| r[i].unknown_reason.clone().unwrap();
    assert!(reason(0).contains("no Go module proxy source was given"), "{}", reason(0));
    assert!(reason(1).contains("not a registry"), "{}", reason(1));
    assert!(reason(2).contains("project's own package"), "{}", reason(2));
    assert!(reason(3).contains("only crates.io is looked up"), "{}", reason(3));
    assert!(reason(6).contains("resolved from npm.corp.example, not from the registry"), "{}", reason(6));
    assert!(reason(8).contains("pypi.corp.example"), "{}", reason(8));
}

#[test]
fn each_package_version_is_asked_once_per_resolver() {
    let fake = Arc::new(Fake::default().with("shared", declared("shared", "license", "BSD-3-Clause")));
    let valid = config(false, &fake);
    let mut resolver = Resolver::new(&valid);
    let first = resolver.resolve_graph(&tree(), &graph(vec![npm("shared")]));
    let second = resolver.resolve_graph(&tree(), &graph(vec![npm("shared")]));
    let single = resolver.resolve(&tree(), "package-lock.json", "", &npm("shared"));
    assert_eq!(fake.asked(), ["npm:shared@1.0.0"]);
    assert_eq!(first[0], second[0]);
    assert_eq!(single, first[0], "one package at a time decides as a whole graph does");
}

#[test]
fn a_license_text_from_the_registry_is_detected() {
    let mit = std::fs::read_to_string(format!("{}/tests/data/licenses/MIT.txt", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let fake = Arc::new(Fake::default().with(
        "textual",
        Ok(RegistryAnswer::Found(RegistryRecord {
            url: url("textual"),
            field: "package.license-file".into(),
            value: "LICENSE".into(),
            license: RegistryLicense::Text { text: mit },
        })),
    ));
    let valid = config(false, &fake);
    let crate_pkg = pkg(Ecosystem::Cargo, "textual", Some("sparse+https://index.crates.io/"));
    let r = Resolver::new(&valid).resolve_graph(&tree(), &graph(vec![crate_pkg]));
    assert_eq!(r[0].canonical.as_deref(), Some("MIT"), "{:?}", r[0]);
    assert_eq!(r[0].evidence[0].source, EvidenceSource::Registry);
    assert_eq!(r[0].evidence[0].field.as_deref(), Some("package.license-file"));
    assert!(r[0].confidence < 1.0);
}

#[test]
fn without_a_source_the_scanner_resolves_locally_and_counts_no_registry_license() {
    // The scanner never opens a connection itself: with the default
    // (offline = false) and no source, licenses come from local data only,
    // and the summary of sources says so.
    let valid = LicenseConfig { local_caches: false, ..LicenseConfig::default() }.validate().unwrap();
    assert!(!valid.looks_up_registries());
    let mut with_field = npm("b");
    with_field.raw_licenses.push(steward_scanner::RawLicense { value: "MIT".into(), field: "license".into() });
    let scan = scan_graphs_valid(&tree(), vec![graph(vec![npm("a"), with_field])], &valid);
    assert!(scan.warnings.is_empty(), "{:?}", scan.warnings);
    assert!(scan.graphs[0].licenses.iter().all(|l| l.warnings.is_empty()));
    let sources = steward_scanner::scan::LicenseSources::of(&scan);
    assert_eq!((sources.input_field, sources.registry, sources.none), (1, 0, 1), "{sources:?}");
    assert_eq!(sources.total(), 2);
    assert!(sources.to_string().starts_with("2 package licenses: 1 from a lockfile/SBOM field"), "{sources}");
}

#[test]
fn registry_config_is_read_from_toml_and_validated() {
    let config: LicenseConfig = toml::from_str(
        "offline = false\n[registry]\nnpm = \"http://127.0.0.1:4873\"\ntimeout-secs = 3\ncache-dir = \"/tmp/c\"\n",
    )
    .unwrap();
    assert!(!config.offline);
    assert_eq!(config.registry.npm, "http://127.0.0.1:4873");
    assert_eq!(config.registry.pypi, "https://pypi.org/pypi", "unset keys keep their defaults");
    assert_eq!(config.registry.timeout_secs, 3);
    assert!(config.validate().is_ok());
    let bad: LicenseConfig = toml::from_str("[registry]\ncrates = \"file:///srv/crates\"\n").unwrap();
    let err = bad.validate().unwrap_err();
    assert_eq!(err.field, "registry.crates");
    assert!(err.to_string().starts_with("licenses.registry.crates: "), "{err}");
    assert!(toml::from_str::<LicenseConfig>("[registry]\ntimeout = 3\n").is_err(), "unknown keys are refused");
}

/// Issue 12, the Chart.js noise: `@kurkle/color 0.1.1 → 0.1.3`, where npm
/// no longer has 0.1.1 (404). Nothing can be known about the old version,
/// so the new version's license is the first one known, not a license
/// change. A failed look-up, a registry document without a license and an
/// offline run are not "nothing can be known": those stay changes.
#[test]
fn a_license_after_a_version_the_registry_does_not_have_is_first_known_not_changed() {
    use steward_scanner::drift::{FindingCode, diff};
    let unavailable = || Err(RegistryError::Unavailable { url: url("flaky"), message: "HTTP 500".into() });
    let fake = Arc::new(
        Fake::default()
            .with("@kurkle/color@0.1.3", declared("@kurkle/color", "license", "MIT"))
            .with("flaky@1.0.0", unavailable())
            .with("flaky@1.1.0", declared("flaky", "license", "MIT"))
            .with("bare@1.0.0", Ok(RegistryAnswer::NoLicense { url: url("bare") }))
            .with("bare@1.1.0", declared("bare", "license", "MIT")),
    );
    let at = |name: &str, version: &str| Package { version: version.into(), ..npm(name) };
    let old = graph(vec![at("@kurkle/color", "0.1.1"), at("flaky", "1.0.0"), at("bare", "1.0.0")]);
    let new = graph(vec![at("@kurkle/color", "0.1.3"), at("flaky", "1.1.0"), at("bare", "1.1.0")]);
    let valid = config(false, &fake);
    let old_scan = scan_graphs_valid(&tree(), vec![old.clone()], &valid);
    let new_scan = scan_graphs_valid(&tree(), vec![new.clone()], &valid);
    let gone = &old_scan.graphs[0].licenses[0];
    assert!(gone.not_in_registry && gone.evidence.is_empty(), "{gone:?}");
    assert!(!old_scan.graphs[0].licenses[1].not_in_registry, "a failure is not a 404");
    assert!(!old_scan.graphs[0].licenses[2].not_in_registry, "a document without a license is not a 404");

    let d = diff(&old_scan, &new_scan);
    let codes: Vec<(FindingCode, &str)> = d.findings.iter().map(|f| (f.code, f.name.as_str())).collect();
    assert_eq!(
        codes,
        [
            (FindingCode::LicenseChanged, "bare"),
            (FindingCode::LicenseChanged, "flaky"),
            (FindingCode::LicenseFirstKnown, "@kurkle/color"),
        ]
    );
    let first = &d.findings[2];
    assert!(!first.code.is_license_drift());
    assert_eq!(first.new_license.as_ref().unwrap().display(), "MIT");
    assert!(first.message.contains("@kurkle/color 0.1.1 → 0.1.3: license MIT first known"), "{}", first.message);
    assert!(first.message.contains("404 Not Found"), "the old side's reason: {}", first.message);
    assert_eq!((d.summary.license_changed, d.summary.license_first_known), (2, 1));
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["findings"][2]["code"], "license-first-known");
    assert_eq!(json["findings"][2]["old_license"]["not_in_registry"], true);
    assert_eq!(json["summary"]["license_first_known"], 1);
    assert!(json["findings"][0]["old_license"].get("not_in_registry").is_none(), "omitted when false");

    // Alone it is not license drift (`diff` exits 0, `history` lists no
    // commit), and every report says what it is.
    let only = |s: &steward_scanner::scan::Scan| {
        let mut s = s.clone();
        s.graphs[0].graph.packages.truncate(1);
        s.graphs[0].graph.edges.truncate(1);
        s.graphs[0].licenses.truncate(1);
        s
    };
    let d = diff(&only(&old_scan), &only(&new_scan));
    assert_eq!(d.findings.len(), 1, "{:#?}", d.findings);
    assert!(!d.has_license_drift());
    let human = steward_scanner::report::drift_human(&d, &steward_scanner::report::HumanOptions::default());
    assert!(human.contains("No dependency changed its license."), "{human}");
    assert!(human.contains("license-first-known") && human.contains("unknown → MIT"), "{human}");
    assert!(
        human.contains("First known: 1 license first known where the old version had no license evidence"),
        "{human}"
    );
    let markdown = steward_scanner::report::drift_markdown(&d);
    assert!(
        markdown.contains("| `license-first-known` |") && markdown.contains(" · 1 license first known · "),
        "{markdown}"
    );
    let sarif: serde_json::Value = serde_json::from_str(&steward_scanner::report::drift_sarif(&d)).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!((result["ruleId"].as_str(), result["level"].as_str()), (Some("license-first-known"), Some("note")));
    let rule = &sarif["runs"][0]["tool"]["driver"]["rules"][result["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(rule["id"], "license-first-known");

    // Offline nothing was asked: the old license may well be known to the
    // registry, so unknown → MIT stays a license change.
    let mut with_field = new;
    with_field.packages[0].raw_licenses.push(RawLicense { value: "MIT".into(), field: "license".into() });
    let offline = config(true, &fake);
    let d =
        diff(&scan_graphs_valid(&tree(), vec![old], &offline), &scan_graphs_valid(&tree(), vec![with_field], &offline));
    let kurkle = d.findings.iter().find(|f| f.name == "@kurkle/color").unwrap();
    assert_eq!(kurkle.code, FindingCode::LicenseChanged, "{:#?}", d.findings);
}
