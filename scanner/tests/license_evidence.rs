//! License resolution with evidence over real files: a fake cargo home, a
//! node_modules tree, a Go module cache and a site-packages directory.

use std::path::Path;
use steward_scanner::license::{Clarification, EvidenceSource, LicenseConfig, Resolver};
use steward_scanner::{DependencyGraph, Directory, Ecosystem, LockfileFormat, Package, RawLicense, SourceLocation};

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/licenses/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn pkg(eco: Ecosystem, name: &str, version: &str) -> Package {
    Package {
        name: name.into(),
        version: version.into(),
        ecosystem: eco,
        purl: None,
        source: (eco == Ecosystem::Cargo).then(|| "registry+https://github.com/rust-lang/crates.io-index".to_owned()),
        raw_licenses: Vec::new(),
        dev: false,
        line: None,
        integrity: None,
    }
}

fn graph(path: &str, format: LockfileFormat, packages: Vec<Package>) -> DependencyGraph {
    let mut g = DependencyGraph::new(SourceLocation { path: path.into(), format });
    for p in packages {
        g.push(p);
    }
    g
}

fn isolated(dir: &Path) -> LicenseConfig {
    LicenseConfig {
        local_caches: false,
        cargo_home: Some(dir.join("cargo-home")),
        go_mod_cache: Some(dir.join("gomod")),
        site_packages: vec![dir.join("site-packages")],
        ..LicenseConfig::default()
    }
}

#[test]
fn cargo_registry_cache_manifest_and_license_file() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("cargo-home/registry/src/index.crates.io-1949cf8c6b5b557f");
    write(
        &src.join("serde-1.0.200/Cargo.toml"),
        "[package]\nedition = \"2018\"\nname = \"serde\"\nversion = \"1.0.200\"\nlicense = \"MIT OR Apache-2.0\"\n\n[dependencies]\nlicense = \"1\"\n",
    );
    write(
        &src.join("busl-thing-0.3.0/Cargo.toml"),
        "[package]\nname = \"busl-thing\"\nversion = \"0.3.0\"\nlicense-file = \"LICENSE.txt\"\n",
    );
    write(&src.join("busl-thing-0.3.0/LICENSE.txt"), &data("BUSL-1.1-terraform.txt"));
    write(&src.join("bare-1.0.0/Cargo.toml"), "[package]\nname = \"bare\"\nversion = \"1.0.0\"\n");
    write(&src.join("bare-1.0.0/LICENSE-MIT"), &data("MIT.txt"));
    write(&src.join("nothing-2.0.0/Cargo.toml"), "[package]\nname = \"nothing\"\nversion = \"2.0.0\"\n");

    let g = graph(
        "Cargo.lock",
        LockfileFormat::CargoLock,
        vec![
            pkg(Ecosystem::Cargo, "serde", "1.0.200"),
            pkg(Ecosystem::Cargo, "busl-thing", "0.3.0"),
            pkg(Ecosystem::Cargo, "bare", "1.0.0"),
            pkg(Ecosystem::Cargo, "nothing", "2.0.0"),
            pkg(Ecosystem::Cargo, "absent", "0.1.0"),
        ],
    );
    let config = isolated(tmp.path()).validate().unwrap();
    let input = tempfile::tempdir().unwrap();
    let tree = Directory::new(input.path());
    let resolved = Resolver::new(&config).resolve_graph(&tree, &g);

    let serde = &resolved[0];
    assert_eq!(serde.canonical.as_deref(), Some("Apache-2.0 OR MIT"));
    assert_eq!(serde.evidence[0].source, EvidenceSource::LocalManifest);
    assert_eq!(serde.evidence[0].field.as_deref(), Some("package.license"));
    assert!(serde.evidence[0].file.ends_with("serde-1.0.200/Cargo.toml"));
    assert_eq!(serde.confidence, 1.0);

    let busl = &resolved[1];
    assert_eq!(busl.expression.as_ref().map(|e| e.to_string()).as_deref(), Some("BUSL-1.1"));
    assert_eq!(busl.evidence[0].source, EvidenceSource::LicenseText);
    assert_eq!(busl.evidence[0].parameters.get("Change License").map(String::as_str), Some("MPL 2.0"));
    assert!(busl.confidence >= 0.8);

    let bare = &resolved[2];
    assert_eq!(bare.canonical.as_deref(), Some("MIT"));
    assert!(bare.evidence[0].file.ends_with("LICENSE-MIT"));

    for unknown in &resolved[3..] {
        assert!(unknown.expression.is_none());
        let reason = unknown.unknown_reason.as_deref().unwrap();
        assert!(reason.contains("cargo registry cache"), "{reason}");
    }
}

/// Many crates (enough for the manifests to be read on several threads),
/// in two registry directories, with manifests of every awkward shape: each
/// resolves as a full TOML parse of its manifest would.
#[test]
fn cargo_registry_cache_many_crates_and_awkward_manifests() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = tmp.path().join("cargo-home/registry/src");
    let (first, second) = (registry.join("a-index"), registry.join("b-index"));
    let long = "x".repeat(40_000);
    let shapes: Vec<(String, Option<&str>)> = vec![
        ("[package]\nlicense = \"MIT\"\n".into(), Some("MIT")),
        // The license after more than one read's worth of description.
        (format!("[package]\ndescription = \"{long}\"\nlicense = \"Apache-2.0\"\n"), Some("Apache-2.0")),
        // Lines inside a multi-line string that look like a table and a key.
        (
            "[package]\ndescription = \"\"\"\n[dependencies]\nlicense = \"GPL-3.0-only\"\n\"\"\"\nlicense = \"Zlib\"\n[lib]\n"
                .into(),
            Some("Zlib"),
        ),
        ("[package]\nlicense = \"\"\"\nISC\"\"\"\n\n[features]\nlicense = []\n".into(), Some("ISC")),
        ("[package]\nlicense = 'MPL-2.0'\r\n[lib]\r\npath = \"x\"\r\n".into(), Some("MPL-2.0")),
        ("[lib]\npath = \"x\"\n\n[package]\nlicense = \"BSD-3-Clause\"\n".into(), Some("BSD-3-Clause")),
        ("package.license = \"Unlicense\"\n".into(), Some("Unlicense")),
        ("package = { name = \"x\", license = \"0BSD\" }\n".into(), Some("0BSD")),
        ("[package]\nlicense = \"MIT \\u004fR Apache-2.0\"\n".into(), Some("Apache-2.0 OR MIT")),
        // Not a string: no license from the manifest (and no text here).
        ("[package]\nlicense = { workspace = true }\n".into(), None),
        ("[package]\nname = \"x\"\n".into(), None),
        // Not TOML at all.
        ("[package\nlicense = \"MIT\"\n".into(), None),
    ];
    let mut packages = Vec::new();
    let mut expected = Vec::new();
    for i in 0..150 {
        let (text, want) = &shapes[i % shapes.len()];
        let name = format!("crate{i}");
        // Every third crate lives only in the second registry directory.
        let dir = if i % 3 == 0 { &second } else { &first };
        write(&dir.join(format!("{name}-1.0.{i}/Cargo.toml")), text);
        packages.push(pkg(Ecosystem::Cargo, &name, &format!("1.0.{i}")));
        expected.push(*want);
    }
    packages.push(pkg(Ecosystem::Cargo, "absent", "1.0.0"));
    expected.push(None);
    let g = graph("Cargo.lock", LockfileFormat::CargoLock, packages);
    let config = isolated(tmp.path()).validate().unwrap();
    let input = tempfile::tempdir().unwrap();
    let resolved = Resolver::new(&config).resolve_graph(&Directory::new(input.path()), &g);
    for (i, (r, want)) in resolved.iter().zip(&expected).enumerate() {
        assert_eq!(r.canonical.as_deref(), *want, "crate {i}: {:?}", r.evidence);
        if want.is_some() {
            assert_eq!(r.evidence[0].source, EvidenceSource::LocalManifest, "crate {i}");
            let dir = if i % 3 == 0 { "b-index" } else { "a-index" };
            assert!(
                r.evidence[0].file.ends_with(&format!("{dir}/crate{i}-1.0.{i}/Cargo.toml")),
                "{}",
                r.evidence[0].file
            );
        }
    }
}

/// Workspace members and path crates (no `source` in Cargo.lock) are read
/// from their own Cargo.toml in the tree, with `license.workspace = true`
/// taken from the workspace root.
#[test]
fn cargo_workspace_members_read_their_manifests() {
    let input = tempfile::tempdir().unwrap();
    let root = input.path();
    write(
        &root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"crates/*\"]\n\n[workspace.package]\nlicense = \"Apache-2.0\"\nlicense-file = \"LICENSE-WS\"\n",
    );
    write(&root.join("crates/a/Cargo.toml"), "[package]\nname = \"a\"\nlicense.workspace = true\n");
    write(&root.join("crates/b/Cargo.toml"), "[package]\nname = \"b\"\nlicense = \"MIT OR Apache-2.0\"\n");
    write(&root.join("crates/c/Cargo.toml"), "[package]\nname = \"c\"\nlicense-file = \"COPYING\"\n");
    write(&root.join("crates/c/COPYING"), &data("MIT.txt"));
    write(&root.join("crates/d/Cargo.toml"), "[package]\nname = \"d\"\nlicense-file = { workspace = true }\n");
    write(&root.join("LICENSE-WS"), &data("MIT.txt"));
    write(&root.join("crates/e/Cargo.toml"), "[package]\nname = \"e\"\n");
    // A test fixture deeper in the tree with the same name does not win.
    write(&root.join("crates/b/tests/data/b/Cargo.toml"), "[package]\nname = \"b\"\nlicense = \"GPL-3.0-only\"\n");
    // Vendored manifests are not the tree's own crates.
    write(&root.join("vendor/e-copy/Cargo.toml"), "[package]\nname = \"e\"\nlicense = \"GPL-3.0-only\"\n");
    let mut packages: Vec<Package> =
        ["a", "b", "c", "d", "e"].iter().map(|n| pkg(Ecosystem::Cargo, n, "0.1.0")).collect();
    for p in &mut packages {
        p.source = None;
    }
    let g = graph("Cargo.lock", LockfileFormat::CargoLock, packages);
    let tmp = tempfile::tempdir().unwrap();
    let config = isolated(tmp.path()).validate().unwrap();
    let resolved = Resolver::new(&config).resolve_graph(&Directory::new(root), &g);
    let canon: Vec<Option<&str>> = resolved.iter().map(|r| r.canonical.as_deref()).collect();
    assert_eq!(canon, [Some("Apache-2.0"), Some("Apache-2.0 OR MIT"), Some("MIT"), Some("MIT"), None]);
    assert_eq!(resolved[0].evidence[0].file, "Cargo.toml");
    assert_eq!(resolved[0].evidence[0].field.as_deref(), Some("workspace.package.license"));
    assert_eq!(resolved[1].evidence[0].file, "crates/b/Cargo.toml");
    assert_eq!(resolved[2].evidence[0].file, "crates/c/COPYING");
    assert_eq!(resolved[3].evidence[0].file, "LICENSE-WS");
    assert!(resolved[4].unknown_reason.as_deref().unwrap().contains("workspace, path or git crate"));
}

#[test]
fn npm_input_fields_node_modules_and_see_license_in() {
    let input = tempfile::tempdir().unwrap();
    let root = input.path();
    write(&root.join("web/node_modules/left-pad/package.json"), r#"{"name":"left-pad","license":"WTFPL"}"#);
    write(
        &root.join("web/node_modules/legacy/package.json"),
        r#"{"name":"legacy","licenses":[{"type":"MIT"},{"type":"Apache-2.0"}]}"#,
    );
    write(
        &root.join("web/node_modules/redisish/package.json"),
        r#"{"name":"redisish","license":"SEE LICENSE IN LICENSE.md"}"#,
    );
    write(&root.join("web/node_modules/redisish/LICENSE.md"), &data("RSAL-2.0-redis.md"));

    let mut from_lock = pkg(Ecosystem::Npm, "elasticsearch", "7.11.0");
    from_lock.raw_licenses.push(RawLicense {
        value: "SSPL-1.0 OR Elastic-2.0".into(),
        field: "packages[\"node_modules/elasticsearch\"].license".into(),
    });
    let mut lowercase = pkg(Ecosystem::Npm, "dual", "1.0.0");
    lowercase.raw_licenses.push(RawLicense { value: "mit or apache-2.0".into(), field: "license".into() });
    let g = graph(
        "web/package-lock.json",
        LockfileFormat::NpmPackageLock,
        vec![
            from_lock,
            lowercase,
            pkg(Ecosystem::Npm, "left-pad", "1.3.0"),
            pkg(Ecosystem::Npm, "legacy", "0.0.1"),
            pkg(Ecosystem::Npm, "redisish", "7.4.0"),
            pkg(Ecosystem::Npm, "ghost", "1.0.0"),
        ],
    );
    let tmp = tempfile::tempdir().unwrap();
    let config = isolated(tmp.path()).validate().unwrap();
    let tree = Directory::new(root);
    let r = Resolver::new(&config).resolve_graph(&tree, &g);

    assert_eq!(r[0].canonical.as_deref(), Some("Elastic-2.0 OR SSPL-1.0"));
    assert_eq!(r[0].evidence[0].source, EvidenceSource::InputField);
    assert_eq!(r[0].evidence[0].file, "web/package-lock.json");
    assert_eq!(r[0].confidence, 1.0);

    assert_eq!(r[1].expression.as_ref().unwrap().to_string(), "MIT OR Apache-2.0");
    assert!(r[1].confidence < 1.0, "a lenient reading is less certain");

    assert_eq!(r[2].canonical.as_deref(), Some("WTFPL"));
    assert_eq!(r[2].evidence[0].file, "web/node_modules/left-pad/package.json");
    assert_eq!(r[3].canonical.as_deref(), Some("Apache-2.0 OR MIT"));
    assert_eq!(r[4].canonical.as_deref(), Some("LicenseRef-RSAL-2.0"));
    assert_eq!(r[4].evidence[0].file, "web/node_modules/redisish/LICENSE.md");
    assert!(r[5].unknown_reason.as_deref().unwrap().contains("node_modules"));
}

#[test]
fn go_module_cache_with_escaped_capitals() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("gomod/github.com/!burnt!sushi/toml@v1.3.2/LICENSE"), &data("MIT.txt"));
    write(&tmp.path().join("gomod/github.com/hashicorp/terraform@v1.6.0/LICENSE"), &data("BUSL-1.1-terraform.txt"));
    let g = graph(
        "go.mod",
        LockfileFormat::GoMod,
        vec![
            pkg(Ecosystem::Go, "github.com/BurntSushi/toml", "v1.3.2"),
            pkg(Ecosystem::Go, "github.com/hashicorp/terraform", "v1.6.0"),
            pkg(Ecosystem::Go, "golang.org/x/text", "v0.14.0"),
        ],
    );
    let config = isolated(tmp.path()).validate().unwrap();
    let input = tempfile::tempdir().unwrap();
    let r = Resolver::new(&config).resolve_graph(&Directory::new(input.path()), &g);
    assert_eq!(r[0].canonical.as_deref(), Some("MIT"));
    assert!(r[0].evidence[0].file.contains("!burnt!sushi/toml@v1.3.2"));
    assert_eq!(r[1].canonical.as_deref(), Some("BUSL-1.1"));
    assert!(r[2].unknown_reason.as_deref().unwrap().contains("module cache"));
}

#[test]
fn python_dist_info_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let sp = tmp.path().join("site-packages");
    write(
        &sp.join("attrs-23.1.0.dist-info/METADATA"),
        "Metadata-Version: 2.4\nName: attrs\nVersion: 23.1.0\nLicense-Expression: MIT\nClassifier: License :: OSI Approved :: MIT License\n\nDescription\n",
    );
    write(
        &sp.join("requests-2.31.0.dist-info/METADATA"),
        "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n\n",
    );
    write(
        &sp.join("typing_extensions-4.9.0.dist-info/METADATA"),
        "Metadata-Version: 2.1\nName: typing_extensions\nVersion: 4.9.0\nClassifier: License :: OSI Approved :: Python Software Foundation License\nClassifier: Programming Language :: Python\n\n",
    );
    write(
        &sp.join("weird-1.0.dist-info/METADATA"),
        "Metadata-Version: 2.1\nName: weird\nVersion: 1.0\nLicense: UNKNOWN\nLicense-File: LICENSE\n\n",
    );
    write(&sp.join("weird-1.0.dist-info/licenses/LICENSE"), &data("Apache-2.0.txt"));
    let g = graph(
        "poetry.lock",
        LockfileFormat::PoetryLock,
        vec![
            pkg(Ecosystem::Pypi, "attrs", "23.1.0"),
            pkg(Ecosystem::Pypi, "requests", "2.31.0"),
            pkg(Ecosystem::Pypi, "typing-extensions", "4.9.0"),
            pkg(Ecosystem::Pypi, "Weird", "1.0"),
        ],
    );
    let config = isolated(tmp.path()).validate().unwrap();
    let input = tempfile::tempdir().unwrap();
    let r = Resolver::new(&config).resolve_graph(&Directory::new(input.path()), &g);
    assert_eq!(r[0].canonical.as_deref(), Some("MIT"));
    assert_eq!(r[0].evidence[0].field.as_deref(), Some("License-Expression"));
    assert_eq!(r[1].canonical.as_deref(), Some("Apache-2.0"));
    assert_eq!(r[2].canonical.as_deref(), Some("PSF-2.0"));
    assert!(r[2].confidence <= 0.8);
    assert_eq!(r[3].canonical.as_deref(), Some("Apache-2.0"));
    assert_eq!(r[3].evidence[0].source, EvidenceSource::LicenseText);
}

#[test]
fn clarification_applies_until_the_license_file_changes() {
    use sha2::Digest;
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("cargo-home/registry/src/index.crates.io-1949cf8c6b5b557f/ring-0.16.20");
    write(&src.join("Cargo.toml"), "[package]\nname = \"ring\"\nversion = \"0.16.20\"\n");
    let text = "Custom ring license text: ISC-style for the Rust parts, OpenSSL for the C parts.\n";
    write(&src.join("LICENSE"), text);
    let sha = hex::encode(sha2::Sha256::digest(text.as_bytes()));

    let clarify = |sha: String| LicenseConfig {
        clarifications: vec![Clarification {
            name: "ring".into(),
            version_req: Some("^0.16".into()),
            ecosystem: Some(Ecosystem::Cargo),
            expression: "MIT AND ISC AND OpenSSL".into(),
            license_file_sha256: Some(sha),
            license_file: None,
        }],
        ..isolated(tmp.path())
    };
    let g = graph("Cargo.lock", LockfileFormat::CargoLock, vec![pkg(Ecosystem::Cargo, "ring", "0.16.20")]);
    let input = tempfile::tempdir().unwrap();
    let tree = Directory::new(input.path());

    let config = clarify(sha.clone()).validate().unwrap();
    let r = Resolver::new(&config).resolve_graph(&tree, &g);
    assert_eq!(r[0].canonical.as_deref(), Some("ISC AND MIT AND OpenSSL"));
    assert_eq!(r[0].evidence[0].source, EvidenceSource::Clarification);

    // The text changes: the clarification no longer applies, and says why.
    std::fs::write(src.join("LICENSE"), format!("{text}Also: no commercial use.\n")).unwrap();
    let r = Resolver::new(&config).resolve_graph(&tree, &g);
    assert!(r[0].expression.is_none(), "{:?}", r[0]);
    assert!(r[0].warnings.iter().any(|w| w.contains("license file changed")), "{:?}", r[0].warnings);

    // Other versions are not clarified.
    let other = graph("Cargo.lock", LockfileFormat::CargoLock, vec![pkg(Ecosystem::Cargo, "ring", "0.17.0")]);
    let r = Resolver::new(&config).resolve_graph(&tree, &other);
    assert!(r[0].evidence.iter().all(|e| e.source != EvidenceSource::Clarification));
}

#[test]
fn noassertion_in_the_input_is_unknown_with_the_reason() {
    let mut p = pkg(Ecosystem::Other, "libfoo", "1.0");
    p.raw_licenses.push(RawLicense { value: "NOASSERTION".into(), field: "packages[0].licenseConcluded".into() });
    let mut q = pkg(Ecosystem::Other, "libbar", "2.0");
    q.raw_licenses.push(RawLicense { value: "NOASSERTION".into(), field: "packages[1].licenseConcluded".into() });
    q.raw_licenses.push(RawLicense { value: "MIT".into(), field: "packages[1].licenseDeclared".into() });
    let g = graph("sbom.spdx.json", LockfileFormat::SpdxJson, vec![p, q]);
    let tmp = tempfile::tempdir().unwrap();
    let config = isolated(tmp.path()).validate().unwrap();
    let r = Resolver::new(&config).resolve_graph(&Directory::new(tmp.path()), &g);
    assert!(r[0].unknown_reason.as_deref().unwrap().contains("NOASSERTION"));
    assert_eq!(r[1].canonical.as_deref(), Some("MIT"));
}

#[test]
fn config_is_deserialized_and_validated() {
    let toml_text = r#"
confidence-threshold = 0.9
local-caches = false
offline = true

[[clarifications]]
name = "ring"
version-req = "^0.16"
expression = "MIT AND ISC AND OpenSSL"
license-file-sha256 = "c0fb3d6d5e3d8e32a6a1d0e5cd0b3fcf8b6a6d3e1a8b9f7f2d7a1ab52e6c8a41"
"#;
    let config: LicenseConfig = toml::from_str(toml_text).unwrap();
    assert_eq!(config.confidence_threshold, 0.9);
    assert!(config.validate().is_ok());

    let bad: LicenseConfig = toml::from_str("confidence-threshold = 1.5").unwrap();
    assert_eq!(bad.validate().unwrap_err().field, "confidence-threshold");
    let bad: LicenseConfig =
        toml::from_str("[[clarifications]]\nname = \"x\"\nexpression = \"Frobnicator License\"").unwrap();
    assert_eq!(bad.validate().unwrap_err().field, "clarifications[0].expression");
    assert!(toml::from_str::<LicenseConfig>("unknown-key = 1").is_err());
}
