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

/// Answers from a table; records every question.
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
        self.answers.get(name).cloned().unwrap_or_else(|| Ok(RegistryAnswer::NotFound { url: url(name) }))
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
