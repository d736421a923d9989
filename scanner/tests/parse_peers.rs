//! Inputs real tools write that Steward refused or misread before issue 18
//! (and the lockfile quirks of issue 12), each on a real file copied from a
//! peer scanner's test suite or a real project's history
//! (`tests/data/peers/README.md` gives repository, commit and path).

#[path = "parse_support.rs"]
mod support;

use steward_scanner::parse::{self, Companion};
use steward_scanner::{LockfileFormat, MemoryTree, read_graphs};
use support::*;

fn peer(name: &str) -> Vec<u8> {
    read(&format!("peers/{name}"))
}

fn warned(g: &steward_scanner::DependencyGraph, part: &str) -> bool {
    g.warnings.iter().any(|w| w.contains(part))
}

fn licenses(g: &steward_scanner::DependencyGraph, i: usize) -> Vec<(String, String)> {
    g.packages[i].raw_licenses.iter().map(|l| (l.value.clone(), l.field.clone())).collect()
}

// ---------------------------------------------------------------- npm

#[test]
fn npm_license_arrays_and_legacy_objects_are_read() {
    let f = "package-lock.json";
    let g = parse::npm::parse(f, &peer("trivy-npm-v3-legacy-licenses.package-lock.json"), None).unwrap();
    check_invariants(&g);
    let tv4 = find(&g, "tv4", "1.3.0");
    let l = licenses(&g, tv4);
    assert!(l.contains(&("Public Domain".into(), "packages[\"node_modules/tv4\"].license[0].type".into())), "{l:?}");
    assert!(l.contains(&("MIT".into(), "packages[\"node_modules/tv4\"].license[1].type".into())), "{l:?}");
    let ps = find(&g, "pause-stream", "0.0.11");
    let l = licenses(&g, ps);
    assert_eq!(
        l,
        [
            ("MIT".to_string(), "packages[\"node_modules/pause-stream\"].license[0]".to_string()),
            ("Apache2".to_string(), "packages[\"node_modules/pause-stream\"].license[1]".to_string())
        ]
    );
    let m = find(&g, "mustache", "2.3.2");
    assert_eq!(licenses(&g, m)[0].0, "MIT");
    assert!(g.warnings.is_empty(), "{:?}", g.warnings);
}

#[test]
fn npm_odd_license_shapes_are_warnings_not_errors() {
    let lock = br#"{"lockfileVersion": 3, "packages": {"": {"name": "app"},
        "node_modules/a": {"version": "1.0.0", "license": 42},
        "node_modules/b": {"version": "2.0.0", "license": {"url": "x"}},
        "node_modules/c": {"version": "3.0.0", "license": [["MIT"]]}}}"#;
    let g = parse::npm::parse("package-lock.json", lock, None).unwrap();
    check_invariants(&g);
    for (n, v) in [("a", "1.0.0"), ("b", "2.0.0"), ("c", "3.0.0")] {
        let i = find(&g, n, v);
        assert!(g.packages[i].raw_licenses.is_empty());
        assert!(warned(&g, &format!("packages[\"node_modules/{n}\"].license")), "{n}: {:?}", g.warnings);
    }
}

#[test]
fn npm_workspace_member_is_named_by_its_link() {
    let g = parse::npm::parse("package-lock.json", &peer("trivy-npm-v3-workspace.package-lock.json"), None).unwrap();
    check_invariants(&g);
    // `functions/func1` has no `name`; `node_modules/function1` links to it.
    assert!(find_all(&g, "func1").is_empty(), "{}", summary(&g));
    let member = find(&g, "function1", "");
    assert!(g.roots.contains(&member));
    assert!(g.packages[member].source.is_none());
    // Its dependency `nested_func` resolves through the link's folder.
    let nested = find(&g, "nested_func", "1.0.0");
    assert!(has_edge(&g, member, nested), "{}", summary(&g));
}

/// Old npm writes `"resolved": false` for bundled dependencies. The v1
/// fixture is real (rust-analyzer's 2021 lockfile); the one entry edited in
/// the test is the quirk.
#[test]
fn npm_resolved_false_is_a_warning() {
    let real =
        String::from_utf8(read("lockfiles/npm-lockv1-rust-analyzer-vscode-2021-01-18.package-lock.json")).unwrap();
    let at = real.find("\"resolved\": \"https://").unwrap();
    let end = at + real[at..].find(",\n").unwrap();
    let edited = format!("{}\"resolved\": false{}", &real[..at], &real[end..]);
    let before = parse::npm::parse("package-lock.json", real.as_bytes(), None).unwrap();
    let g = parse::npm::parse("package-lock.json", edited.as_bytes(), None).unwrap();
    check_invariants(&g);
    assert_eq!(g.packages.len(), before.packages.len());
    assert!(warned(&g, ".resolved is a boolean, not a URL; ignored"), "{:?}", g.warnings);
    // The same in a v2/v3 entry.
    let v3 =
        br#"{"lockfileVersion": 3, "packages": {"": {}, "node_modules/x": {"version": "1.0.0", "resolved": false}}}"#;
    let g = parse::npm::parse("package-lock.json", v3, None).unwrap();
    find(&g, "x", "1.0.0");
    assert!(warned(&g, "packages[\"node_modules/x\"].resolved is a boolean"), "{:?}", g.warnings);
}

#[test]
fn npm_missing_versions_and_local_specs_degrade_per_package() {
    // v3 entry without version, v1 `file:` and `link:` specs, v1 git spec.
    let v3 = br#"{"lockfileVersion": 3, "packages": {"": {"dependencies": {"x": "1", "y": "1"}},
        "node_modules/x": {"resolved": "https://r/x.tgz"},
        "node_modules/y": {"version": "2.0.0", "dependencies": [1, 2]}}}"#;
    let g = parse::npm::parse("package-lock.json", v3, None).unwrap();
    check_invariants(&g);
    find(&g, "x", "");
    assert!(warned(&g, "installed package `x` has no `version`"), "{:?}", g.warnings);
    // `y` has a `dependencies` array: the entry is skipped, named.
    assert!(find_all(&g, "y").is_empty());
    assert!(warned(&g, "packages[\"node_modules/y\"]: skipped"), "{:?}", g.warnings);

    let v1 = br#"{"name": "app", "lockfileVersion": 1, "dependencies": {
        "local": {"version": "file:deps/local"},
        "linked": {"version": "link:../linked"},
        "fromgit": {"version": "git+ssh://git@github.com/o/r.git#0123abc", "from": "git+ssh://git@github.com/o/r.git"},
        "plain": {"version": "1.2.3", "resolved": "https://registry.npmjs.org/plain/-/plain-1.2.3.tgz"},
        "nover": {"resolved": "https://registry.npmjs.org/nover/-/nover-1.0.0.tgz"}}}"#;
    let g = parse::npm::parse("package-lock.json", v1, None).unwrap();
    check_invariants(&g);
    for n in ["local", "linked"] {
        let i = find(&g, n, "");
        assert!(g.packages[i].source.is_none(), "{n} is the project's own folder");
    }
    let git = find(&g, "fromgit", "");
    assert_eq!(g.packages[git].source.as_deref(), Some("git+ssh://git@github.com/o/r.git#0123abc"));
    find(&g, "plain", "1.2.3");
    find(&g, "nover", "");
    assert!(warned(&g, "dependency `nover` has no `version`"), "{:?}", g.warnings);
}

#[test]
fn npm_lockfile_version_3_without_packages_reads_the_v1_tree() {
    let lock = br#"{"name": "app", "lockfileVersion": 3, "dependencies": {"a": {"version": "1.0.0"}}}"#;
    let g = parse::npm::parse("package-lock.json", lock, None).unwrap();
    find(&g, "a", "1.0.0");
    assert!(warned(&g, "lockfileVersion 3 without a `packages` map"), "{:?}", g.warnings);
}

/// A lockfile that flips between v1 and v2/v3 (npm 6 and npm 7+ on one
/// project) describes the same packages: same name, version and source, same
/// dev flags, so a diff across the flip reports nothing.
#[test]
fn npm_v1_and_v2_of_one_project_give_the_same_packages() {
    let pj = br#"{"name": "node_v1", "version": "1.0.0", "dependencies": {"@babel/helper-string-parser": "^7.19.4", "body-parser": "^1.18.3", "finalhandler": "^1.1.1", "ms": "^1.0.0"}, "devDependencies": {"debug": "^2.5.2"}, "optionalDependencies": {"promise": "^8.3.0"}}"#;
    let v1 = parse::npm::parse(
        "package-lock.json",
        &peer("trivy-npm-v1.package-lock.json"),
        Some(Companion::new("package.json", pj)),
    )
    .unwrap();
    let v2 = parse::npm::parse("package-lock.json", &peer("trivy-npm-v2.package-lock.json"), None).unwrap();
    check_invariants(&v1);
    check_invariants(&v2);
    let ids = |g: &steward_scanner::DependencyGraph| {
        let mut v: Vec<(String, String, Option<String>, bool)> = g
            .packages
            .iter()
            .filter(|p| p.source.is_some())
            .map(|p| (p.name.clone(), p.version.clone(), p.source.clone(), p.dev))
            .collect();
        v.sort();
        v
    };
    let (a, b) = (ids(&v1), ids(&v2));
    assert_eq!(a.len(), 31);
    assert_eq!(a, b);
}

// ---------------------------------------------------------------- Cargo

#[test]
fn cargo_git_reference_without_commit_resolves() {
    let f = "Cargo.lock";
    let bytes = peer("ripgrep-2017-11-22-git-ref.Cargo.lock");
    let g =
        parse::cargo::parse(f, &bytes, &[Companion::new("Cargo.toml", b"[package]\nname = \"ripgrep\"\n")]).unwrap();
    check_invariants(&g);
    assert!(g.warnings.is_empty(), "{:?}", g.warnings);
    let memmap = find(&g, "memmap", "0.5.2");
    assert_eq!(
        g.packages[memmap].source.as_deref(),
        Some("git+https://github.com/danburkert/memmap-rs#ab3a277c8909d86dbef569a9f5424265574a03ff")
    );
    let users: Vec<usize> = (0..g.packages.len()).filter(|&i| has_edge(&g, i, memmap)).collect();
    assert!(!users.is_empty(), "the reference without #commit must become an edge");
}

#[test]
fn cargo_2016_root_table_is_the_project() {
    let g = parse::cargo::parse("Cargo.lock", &peer("ripgrep-2016-09-11-root.Cargo.lock"), &[]).unwrap();
    check_invariants(&g);
    let root = find(&g, "ripgrep", "0.1.0");
    assert!(g.roots.contains(&root), "{}", summary(&g));
    let deps = deps_of(&g, root);
    assert!(deps.iter().any(|d| d == "docopt@0.6.83"), "{deps:?}");
    assert!(deps.iter().any(|d| d == "grep@0.1.0"), "{deps:?}");
    assert!(g.warnings.is_empty(), "{:?}", g.warnings);
}

#[test]
fn cargo_odd_entries_degrade_per_package() {
    let lock = b"version = 3\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\ndependencies = [\n \"ghost\",\n \"b\",\n]\n\n[[package]]\nname = \"b\"\n\n[[package]]\nname = 5\nversion = \"1\"\n";
    let g = parse::cargo::parse("Cargo.lock", lock, &[]).unwrap();
    check_invariants(&g);
    let a = find(&g, "a", "1.0.0");
    let b = find(&g, "b", "");
    assert!(has_edge(&g, a, b));
    assert_eq!(g.packages.len(), 2);
    assert!(warned(&g, "dependency `ghost` names no package"), "{:?}", g.warnings);
    assert!(warned(&g, "package `b` has no `version`"), "{:?}", g.warnings);
    assert!(warned(&g, "package[2]: no string `name`; skipped"), "{:?}", g.warnings);
}

// ---------------------------------------------------------------- pnpm

#[test]
fn pnpm_several_documents_read_the_project_lockfile() {
    let g = parse::pnpm::parse("pnpm-lock.yaml", &peer("trivy-pnpm-v9-multiple-documents.pnpm-lock.yaml")).unwrap();
    check_invariants(&g);
    find(&g, "is-number", "7.0.0");
    // pnpm's own environment (the first document) is not the project's.
    assert!(find_all(&g, "@pnpm/exe").is_empty(), "{}", summary(&g));
    assert!(warned(&g, "several YAML documents"));
}

#[test]
fn pnpm_tarball_and_file_keys_take_name_and_version_from_the_entry() {
    let g = parse::pnpm::parse("pnpm-lock.yaml", &peer("trivy-pnpm-v6-archives.pnpm-lock.yaml")).unwrap();
    check_invariants(&g);
    let debug = find(&g, "debug", "4.3.4");
    assert_eq!(g.packages[debug].source.as_deref(), Some("https://github.com/debug-js/debug/tarball/4.3.4"));
    let neg = find(&g, "is-negative", "2.0.1");
    let root = g.roots[0];
    assert!(has_edge(&g, root, debug) && has_edge(&g, root, neg), "{}", summary(&g));
    let ms = find(&g, "ms", "2.1.2");
    assert!(has_edge(&g, debug, ms));
    find(&g, "lodash", "4.17.21");
}

#[test]
fn pnpm_lockfile_5_is_read() {
    let g = parse::pnpm::parse("pnpm-lock.yaml", &peer("scalibr-pnpm-v5.3-tarball.pnpm-lock.yaml")).unwrap();
    check_invariants(&g);
    let p = find(&g, "@my-org/my-package", "3.2.3");
    assert!(has_edge(&g, g.roots[0], p));
    assert!(g.packages[p].dev, "a devDependency of the only importer");

    let g = parse::pnpm::parse("pnpm-lock.yaml", &peer("scalibr-pnpm-v5.3-commits.pnpm-lock.yaml")).unwrap();
    check_invariants(&g);
    let mocks = find(&g, "mocks", "20.0.1");
    let parser = find(&g, "faker-parser", "0.0.1");
    assert!(has_edge(&g, g.roots[0], mocks) && has_edge(&g, mocks, parser), "{}", summary(&g));
    let scoped = find(&g, "@my-scope/my-package", "1.0.0");
    assert_eq!(
        g.packages[scoped].source.as_deref(),
        Some("git+git+ssh://git@github.com/my-org/my-package.git#267087851ad5fac92a184749c27cd539e2fc862e")
    );

    let g = parse::pnpm::parse("pnpm-lock.yaml", &peer("syft-pnpm-v5.4.pnpm-lock.yaml")).unwrap();
    check_invariants(&g);
    let cov = find(&g, "@bcoe/v8-coverage", "0.2.3");
    assert_eq!(g.packages[cov].purl.as_deref(), Some("pkg:npm/%40bcoe/v8-coverage@0.2.3"));
}

#[test]
fn pnpm_v5_keys_and_peer_suffixes() {
    let lock = b"lockfileVersion: 5.4\n\nspecifiers:\n  a: ^1.0.0\n\ndependencies:\n  a: 1.0.0_b@2.0.0\n\npackages:\n\n  /a/1.0.0_b@2.0.0:\n    resolution: {integrity: sha512-x}\n    dependencies:\n      b: 2.0.0\n      '@s/c': 3.0.0\n\n  /b/2.0.0:\n    resolution: {integrity: sha512-y}\n\n  /@s/c/3.0.0:\n    resolution: {integrity: sha512-z}\n\n  registry.example.com/@s/d/4.0.0_b@2.0.0:\n    resolution: {integrity: sha512-v}\n\n  odd-key:\n    resolution: {integrity: sha512-w}\n";
    let g = parse::pnpm::parse("pnpm-lock.yaml", lock).unwrap();
    check_invariants(&g);
    let a = find(&g, "a", "1.0.0");
    let b = find(&g, "b", "2.0.0");
    let c = find(&g, "@s/c", "3.0.0");
    assert!(has_edge(&g, g.roots[0], a) && has_edge(&g, a, b) && has_edge(&g, a, c), "{}", summary(&g));
    // A key led by a registry host.
    find(&g, "@s/d", "4.0.0");
    assert!(warned(&g, "packages.odd-key: key is not `name@version`"), "{:?}", g.warnings);
}

// ---------------------------------------------------------------- requirements

#[test]
fn requirements_utf16_with_bom_is_read_and_discovered() {
    let bytes = peer("trivy-utf16le.requirements.txt");
    let g = parse::requirements::parse("requirements.txt", &bytes, None).unwrap();
    find(&g, "attrs", "20.3.0");
    // Discovery no longer skips it as "pins nothing".
    let graphs = read_graphs(&MemoryTree::single("requirements.txt", bytes)).unwrap();
    assert_eq!(graphs.len(), 1);
    assert_eq!(graphs[0].source.format, LockfileFormat::PipRequirements);
    find(&graphs[0], "attrs", "20.3.0");
}

#[test]
fn requirements_wildcard_pins_are_kept_without_a_version() {
    // The file pins nothing exactly: discovery skips it, the parser refuses
    // it; with one exact pin added it reads, wildcard pins included.
    let bytes = peer("trivy-compatible.requirements.txt");
    let mut text = b"attrs==20.3.0\n".to_vec();
    text.extend_from_slice(&bytes);
    let g = parse::requirements::parse("requirements.txt", &text, None).unwrap();
    check_invariants(&g);
    find(&g, "attrs", "20.3.0");
    find(&g, "python-gitlab", "");
    find(&g, "keyring", "");
    find(&g, "django", "");
    assert!(warned(&g, "`python-gitlab` is not pinned to one version (`==2.0.*`)"), "{:?}", g.warnings);
}

#[test]
fn requirements_paths_and_urls_are_not_packages_named_dot_or_http() {
    let tree = MemoryTree::new([(
        "requirements.txt".to_string(),
        [
            peer("scalibr-example.requirements.txt"),
            b"\npinned==1.0\nGithubSampleProject == 3.7.1 @ git+https://github.com/owner/repo@releases/tag/v3.7.1\n"
                .to_vec(),
        ]
        .concat(),
    )]);
    let graphs = read_graphs(&tree).unwrap();
    let g = &graphs[0];
    check_invariants(g);
    assert!(find_all(g, ".").is_empty() && find_all(g, "http").is_empty(), "{}", summary(g));
    let numpy = find(g, "numpy", "1.9.2");
    assert_eq!(g.packages[numpy].source.as_deref(), Some("./downloads/numpy-1.9.2-cp34-none-win32.whl"));
    find(g, "wxPython_Phoenix", "3.0.3.dev1820+49a8884");
    let urllib3 = find(g, "urllib3", "");
    assert!(g.packages[urllib3].source.as_deref().unwrap().starts_with("https://github.com/urllib3/"));
    find(g, "docopt", "0.6.1");
    find(g, "requests", "");
    let gh = find(g, "GithubSampleProject", "3.7.1");
    assert_eq!(g.packages[gh].source.as_deref(), Some("git+https://github.com/owner/repo@releases/tag/v3.7.1"));
    // The include is not in the tree: a warning naming the line.
    assert!(warned(g, "requirements.txt:21:1: cannot read included `other-requirements.txt`"), "{:?}", g.warnings);
}

#[test]
fn requirements_odd_lines_are_warnings() {
    let g = parse::requirements::parse("requirements.txt", b"a==1.0\n  ==2.0\nb[x==1.0\nc==3.0#note\n", None).unwrap();
    check_invariants(&g);
    find(&g, "a", "1.0");
    find(&g, "c", "3.0");
    assert!(find_all(&g, "b").is_empty());
    assert!(warned(&g, "requirements.txt:2:3: `==2.0` is not a requirement"), "{:?}", g.warnings);
    assert!(warned(&g, "requirements.txt:3:2: `b`: unclosed `[`"), "{:?}", g.warnings);
}

// ---------------------------------------------------------------- yarn

#[test]
fn yarn_v1_quoted_keys_are_read() {
    let g = parse::yarn::parse("yarn.lock", &peer("scalibr-with-quotes-v1.yarn.lock"), None).unwrap();
    check_invariants(&g);
    find(&g, "concat-map", "0.0.1");
    let cs = find(&g, "concat-stream", "1.6.2");
    assert_eq!(
        g.packages[cs].source.as_deref(),
        Some("https://registry.npmjs.org/concat-stream/-/concat-stream-1.6.2.tgz")
    );
    assert!(g.warnings.is_empty(), "{:?}", g.warnings);
}

#[test]
fn yarn_entries_without_version_are_warnings() {
    let lock = b"a@^1:\n  version \"1.0.0\"\n  dependencies:\n    b \"^2\"\n\nb@^2:\n  resolved \"https://r/b.tgz\"\n";
    let g = parse::yarn::parse("yarn.lock", lock, None).unwrap();
    check_invariants(&g);
    find(&g, "a", "1.0.0");
    assert!(warned(&g, "yarn.lock:6:1: entry `b@^2` has no `version`; skipped"), "{:?}", g.warnings);
}

// ---------------------------------------------------------------- Go

#[test]
fn go_mod_without_module_that_requires_modules_is_read() {
    let g = parse::go::parse("go.mod", b"go 1.17\n\nrequire (\n\tgolang.org/x/net v0.1.0\n)\n", None, None).unwrap();
    check_invariants(&g);
    let root = find(&g, "go.mod", "");
    let net = find(&g, "golang.org/x/net", "v0.1.0");
    assert!(has_edge(&g, root, net));
    assert!(warned(&g, "no `module` directive"), "{:?}", g.warnings);
}

// ---------------------------------------------------------------- SBOMs

#[test]
fn cyclonedx_1_7_is_read() {
    let g = parse::cyclonedx::parse("bom.json", &peer("syft-identify-1.7.cdx.json")).unwrap();
    check_invariants(&g);
    find(&g, "github.com/wagoodman/go-partybus", "v0.0.0-20230516145632-8ccac152c651");
    // `metadata.component` (the go.mod file syft scanned) is the root.
    let root = find(&g, "go.mod", "sha256:sha256:dc333f342905248a52e424d8dfd061251d01867d01a4f9d7397144a775ff9ebd");
    assert_eq!(g.roots, vec![root]);
}

#[test]
fn cyclonedx_odd_components_are_skipped_with_a_warning() {
    let bom = br#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"name": "a", "version": "1"}, {"name": "b", "licenses": "MIT"}, {"version": "3"}]}"#;
    let g = parse::cyclonedx::parse("bom.json", bom).unwrap();
    check_invariants(&g);
    find(&g, "a", "1");
    assert_eq!(g.packages.len(), 1);
    assert!(warned(&g, "components[1]: skipped"), "{:?}", g.warnings);
    assert!(warned(&g, "components[2]: skipped"), "{:?}", g.warnings);
}

#[test]
fn spdx_3_json_ld_is_read() {
    let bytes = peer("syft-identify-3.0.spdx.json");
    let g = parse::spdx::parse("x.spdx.json", &bytes).unwrap();
    check_invariants(&g);
    let hello = find(&g, "hello", "");
    assert!(g.roots.contains(&hello));
    assert_eq!(
        g.packages[hello].source.as_deref(),
        Some("git+https://github.com/swinslow/spdx-examples.git#example1/content")
    );
    let l = licenses(&g, hello);
    assert_eq!(l.len(), 1, "{l:?}");
    assert_eq!(l[0].0, "GPL-3.0-or-later");
    assert!(l[0].1.ends_with(".licenseDeclared"), "{l:?}");
    // Discovered by content under any `.json` name.
    let graphs = read_graphs(&MemoryTree::single("sbom.json", bytes)).unwrap();
    assert_eq!(graphs.len(), 1);
    assert_eq!(graphs[0].source.format, LockfileFormat::SpdxJson);
}

#[test]
fn spdx_3_dependencies_and_dev_scope() {
    let doc = br#"{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": [
        {"type": "SpdxDocument", "spdxId": "urn:doc", "rootElement": ["urn:app"]},
        {"type": "software_Package", "spdxId": "urn:app", "name": "app", "software_packageVersion": "1.0"},
        {"type": "software_Package", "spdxId": "urn:lib", "name": "lib", "software_packageVersion": "2.0",
         "externalIdentifier": [{"type": "ExternalIdentifier", "externalIdentifierType": "packageURL", "identifier": "pkg:npm/lib@2.0"}]},
        {"type": "software_Package", "spdxId": "urn:test", "name": "testlib", "software_packageUrl": "pkg:cargo/testlib@3.0", "software_packageVersion": "3.0"},
        {"type": "Relationship", "spdxId": "urn:r1", "from": "urn:app", "relationshipType": "dependsOn", "to": ["urn:lib"]},
        {"type": "LifecycleScopedRelationship", "spdxId": "urn:r2", "from": "urn:app", "relationshipType": "dependsOn", "scope": "test", "to": ["urn:test"]},
        {"type": "expandedlicensing_ListedLicense", "spdxId": "https://spdx.org/licenses/MIT"},
        {"type": "Relationship", "spdxId": "urn:r3", "from": "urn:lib", "relationshipType": "hasConcludedLicense", "to": ["https://spdx.org/licenses/MIT"]}
    ]}"#;
    let g = parse::spdx::parse("x.spdx.json", doc).unwrap();
    check_invariants(&g);
    let app = find(&g, "app", "1.0");
    let lib = find(&g, "lib", "2.0");
    let t = find(&g, "testlib", "3.0");
    assert_eq!(g.roots, vec![app]);
    assert!(has_edge(&g, app, lib) && has_edge(&g, app, t));
    assert!(g.packages[t].dev && !g.packages[lib].dev);
    assert_eq!(g.packages[lib].purl.as_deref(), Some("pkg:npm/lib@2.0"));
    assert_eq!(licenses(&g, lib)[0].0, "MIT");
    assert!(licenses(&g, lib)[0].1.ends_with(".licenseConcluded"));
}
