//! Bad input for every parser: truncated files, unsupported versions,
//! invalid UTF-8, wrong types, absurd nesting and size. Every error must
//! name the file and, where the format allows, the line:column or the JSON
//! path.
//!
//! An odd *entry* in a readable file is not an error: the parser skips or
//! guesses it and names it in the graph's warnings (checked here with
//! `warned`); the rest of the file is read.

#[path = "parse_support.rs"]
mod support;

use steward_scanner::ParseError;
use steward_scanner::parse::{self, MAX_INPUT_BYTES};
use support::*;

#[track_caller]
fn expect_err(r: Result<steward_scanner::DependencyGraph, ParseError>, file: &str) -> ParseError {
    let e = r.expect_err("expected a parse error");
    assert_eq!(e.file, file, "{e}");
    assert!(e.to_string().starts_with(file), "Display names the file: {e}");
    e
}

/// The graph read, with a warning containing `part`.
#[track_caller]
fn warned(r: Result<steward_scanner::DependencyGraph, ParseError>, part: &str) -> steward_scanner::DependencyGraph {
    let g = r.expect("an odd entry is a warning, not an error");
    assert!(g.warnings.iter().any(|w| w.contains(part)), "no warning with `{part}`: {:?}", g.warnings);
    g.check_invariants().unwrap();
    g
}

#[track_caller]
fn at(e: &ParseError, location: &str, message_part: &str) {
    assert_eq!(e.location.as_deref(), Some(location), "{e}");
    assert!(e.message.contains(message_part), "`{}` should contain `{message_part}`", e.message);
}

/// `bytes` with 0xFF written at the start of line `line` (1-based).
fn with_bad_byte_at_line(bytes: &[u8], line: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let pos = if line == 1 {
        0
    } else {
        let mut seen = 1;
        let mut p = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' {
                seen += 1;
                if seen == line {
                    p = i + 1;
                    break;
                }
            }
        }
        p
    };
    out.insert(pos, 0xFF);
    out
}

fn utf8_check(e: &ParseError, line: usize) {
    at(e, &format!("{line}:1"), "invalid UTF-8 at byte offset");
}

/// Cut `bytes` right after the first occurrence of `needle`.
fn cut_after(bytes: &[u8], needle: &str) -> Vec<u8> {
    let s = std::str::from_utf8(bytes).unwrap();
    let i = s.find(needle).unwrap_or_else(|| panic!("{needle} not found")) + needle.len();
    bytes[..i].to_vec()
}

// ---------------------------------------------------------------- Cargo

#[test]
fn cargo_errors() {
    let f = "Cargo.lock";
    let real = read("lockfiles/cargo-v4-ripgrep-15.1.0.Cargo.lock");
    // Truncated inside a string.
    let e = expect_err(parse::cargo::parse(f, &cut_after(&real, "name = \"aho"), &[]), f);
    assert!(e.location.as_deref().is_some_and(|l| l.starts_with("6:")), "{e}");
    // Unsupported version (line 3 of the real file is `version = 4`).
    let v9 = String::from_utf8(real.clone()).unwrap().replacen("version = 4", "version = 9", 1);
    let e = expect_err(parse::cargo::parse(f, v9.as_bytes(), &[]), f);
    at(&e, "3:11", "unsupported Cargo.lock version 9 (supported: 1, 2, 3, 4)");
    // Invalid UTF-8.
    let e = expect_err(parse::cargo::parse(f, &with_bad_byte_at_line(&real, 7), &[]), f);
    utf8_check(&e, 7);
    // Wrong type: that package is skipped.
    let g = warned(
        parse::cargo::parse(f, b"version = 4\n\n[[package]]\nname = 5\nversion = \"1\"\n", &[]),
        "Cargo.lock: package[0]: no string `name`; skipped",
    );
    assert!(g.packages.is_empty());
    // A dependency naming nothing: that edge is skipped.
    let lock = b"version = 3\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\ndependencies = [\n \"ghost\",\n]\n";
    let g =
        warned(parse::cargo::parse(f, lock, &[]), "Cargo.lock:7:2: package `a`: dependency `ghost` names no package");
    assert_eq!(g.packages.len(), 1);
    // A broken manifest companion is reported against the manifest.
    let e = parse::cargo::parse(f, &real, &[parse::Companion::new("Cargo.toml", b"[package\n")]).unwrap_err();
    assert_eq!(e.file, "Cargo.toml");
    assert!(e.location.is_some());
}

// ---------------------------------------------------------------- npm

#[test]
fn npm_errors() {
    let f = "package-lock.json";
    let real = read("lockfiles/npm-lockv3-rust-analyzer-vscode-2024-12-02.package-lock.json");
    // Truncated: the path names the entry being read.
    let e = expect_err(parse::npm::parse(f, &cut_after(&real, "\"node_modules/anser\": {"), None), f);
    assert!(e.message.starts_with("truncated JSON"), "{e}");
    assert_eq!(e.location.as_deref(), Some("packages[\"node_modules/anser\"]"), "{e}");
    // Unsupported version.
    let v4 = String::from_utf8(real.clone()).unwrap().replacen("\"lockfileVersion\": 3", "\"lockfileVersion\": 4", 1);
    let e = expect_err(parse::npm::parse(f, v4.as_bytes(), None), f);
    at(&e, "lockfileVersion", "unsupported lockfileVersion 4 (supported: 1, 2, 3)");
    // Invalid UTF-8.
    let e = expect_err(parse::npm::parse(f, &with_bad_byte_at_line(&real, 3), None), f);
    utf8_check(&e, 3);
    // Wrong type, with its JSON path: a warning, the package kept.
    let bad = br#"{"lockfileVersion": 3, "packages": {"": {}, "node_modules/@s/x": {"version": 3}}}"#;
    let g =
        warned(parse::npm::parse(f, bad, None), "packages[\"node_modules/@s/x\"].version is a number, not a string");
    find(&g, "@s/x", "");
    // A missing version.
    let bad = br#"{"lockfileVersion": 2, "packages": {"": {}, "node_modules/x": {"resolved": "u"}}}"#;
    warned(parse::npm::parse(f, bad, None), "packages[\"node_modules/x\"]: installed package `x` has no `version`");
    // An entry of the wrong shape: skipped, named.
    let bad = br#"{"lockfileVersion": 2, "packages": {"": {}, "node_modules/x": "1.0.0", "node_modules/y": {"version": "1.0.0"}}}"#;
    let g = warned(parse::npm::parse(f, bad, None), "packages[\"node_modules/x\"]: skipped: invalid type: string");
    find(&g, "y", "1.0.0");
    // Not a lockfile at all.
    let e = expect_err(parse::npm::parse(f, b"[]", None), f);
    assert!(e.location.is_some());
}

#[test]
fn npm_v1_deep_nesting_is_an_error_not_a_crash() {
    let depth = 5_000;
    let mut s = String::from(r#"{"lockfileVersion": 1, "dependencies": "#);
    for i in 0..depth {
        s.push_str(&format!(r#"{{"p{i}": {{"version": "1.0.0", "dependencies": "#));
    }
    s.push_str("{}");
    for _ in 0..depth {
        s.push_str("}}");
    }
    s.push('}');
    let e = expect_err(parse::npm::parse("package-lock.json", s.as_bytes(), None), "package-lock.json");
    assert!(e.message.contains("recursion limit"), "{e}");
    // Moderate nesting (40 levels) is fine and flattened with a stack.
    let mut s = String::from(r#"{"lockfileVersion": 1, "dependencies": "#);
    for i in 0..40 {
        s.push_str(&format!(r#"{{"p{i}": {{"version": "1.0.0", "requires": {{"p{}": "*"}}, "dependencies": "#, i + 1));
    }
    s.push_str("{}");
    for _ in 0..40 {
        s.push_str("}}");
    }
    s.push('}');
    let g = parse::npm::parse("package-lock.json", s.as_bytes(), None).unwrap();
    assert_eq!(g.packages.len(), 41);
    assert_eq!(edge_count(&g), 39 + 1);
}

#[test]
fn size_cap_is_enforced_before_parsing() {
    // calloc'd: no real memory is touched.
    let huge = vec![0u8; MAX_INPUT_BYTES + 1];
    let e = expect_err(parse::cyclonedx::parse("huge.cdx.json", &huge), "huge.cdx.json");
    assert!(e.message.contains("above the 512 MiB limit"), "{e}");
}

// ---------------------------------------------------------------- pnpm

#[test]
fn pnpm_errors() {
    let f = "pnpm-lock.yaml";
    let real = read("lockfiles/pnpm-v9.0-rust-registry-app-57fa000.pnpm-lock.yaml");
    // Truncated inside a flow mapping.
    let e = expect_err(parse::pnpm::parse(f, &cut_after(&real, "resolution: {integrity: sha512-6Oz")), f);
    assert!(e.location.as_deref().is_some_and(|l| l.contains(':')), "{e}");
    let e = expect_err(parse::pnpm::parse(f, b"lockfileVersion: '4.0'\n"), f);
    at(&e, "lockfileVersion", "unsupported pnpm lockfileVersion 4.0 (supported: 5.x, 6.x, 7.x, 9.x)");
    let e = expect_err(parse::pnpm::parse(f, &with_bad_byte_at_line(&real, 12)), f);
    utf8_check(&e, 12);
    let e = expect_err(parse::pnpm::parse(f, b"lockfileVersion: '9.0'\nimporters:\n  - 1\n  - 2\n"), f);
    assert!(e.location.as_deref().is_some_and(|l| l.starts_with("3:")), "{e}");
    warned(
        parse::pnpm::parse(f, b"lockfileVersion: '9.0'\npackages:\n  nonsense: {}\n"),
        "packages.nonsense: key is not `name@version`",
    );
}

// ---------------------------------------------------------------- yarn

#[test]
fn yarn_classic_errors() {
    let f = "yarn.lock";
    let real = read("lockfiles/yarn-classic-v1-prettier-2.8.8.yarn.lock");
    // Truncated right after a header: the entry has no version.
    warned(
        parse::yarn::parse(f, &cut_after(&real, "\"@angular/compiler@12.2.16\":\n"), None),
        "yarn.lock:13:1: entry `@angular/compiler@12.2.16` has no `version`; skipped",
    );
    // Truncated inside a quoted value.
    let e = expect_err(parse::yarn::parse(f, &cut_after(&real, "  version \"2.2"), None), f);
    at(&e, "6:11", "unterminated quoted value");
    let e = expect_err(parse::yarn::parse(f, &with_bad_byte_at_line(&real, 9), None), f);
    utf8_check(&e, 9);
    let e = expect_err(parse::yarn::parse(f, b"a@^1:\n   version \"1\"\n", None), f);
    at(&e, "2:4", "unexpected indentation of 3 spaces");
    let e = expect_err(parse::yarn::parse(f, b"a@^1\n  version \"1\"\n", None), f);
    at(&e, "1:5", "must end with `:`");
    let e = expect_err(parse::yarn::parse(f, b":\n  version \"1\"\n", None), f);
    at(&e, "1:1", "names no specifier");
}

#[test]
fn yarn_berry_errors() {
    let f = "yarn.lock";
    let e = expect_err(parse::yarn::parse(f, b"__metadata:\n  version: 2\n  cacheKey: 8\n", None), f);
    at(&e, "__metadata.version", "supported: __metadata.version 4 to 10");
    let e = expect_err(
        parse::yarn::parse(
            f,
            b"__metadata:\n  version: 8\n\n\"a@npm:1\":\n  version: 1.0.0\n  dependencies: [x]\n",
            None,
        ),
        f,
    );
    assert!(e.location.as_deref().is_some_and(|l| l.starts_with("6:")), "{e}");
    let real = read("lockfiles/yarn-berry-v10-prettier-3.9.6.yarn.lock");
    let e = expect_err(parse::yarn::parse(f, &cut_after(&real, "  resolution: \"@angular/compiler@npm:22"), None), f);
    assert!(e.location.is_some(), "{e}");
    let e = expect_err(parse::yarn::parse(f, &with_bad_byte_at_line(&real, 10), None), f);
    utf8_check(&e, 10);
    warned(
        parse::yarn::parse(f, b"__metadata:\n  version: 8\n\n\"a@npm:1\":\n  version: 1.0.0\n", None),
        "[\"a@npm:1\"]: entry has no `resolution`; skipped",
    );
}

// ---------------------------------------------------------------- Go

#[test]
fn go_errors() {
    let f = "go.mod";
    let real = read("lockfiles/go-policy-controller-v0.15.1.go.mod");
    // Truncated inside the first require block (opened on line 5).
    let e = expect_err(parse::go::parse(f, &cut_after(&real, "github.com/google/go-cmp v0.7.0\n"), None, None), f);
    at(&e, "5:1", "`require (` block is never closed");
    let e = expect_err(parse::go::parse(f, b"module x\n\nrequire example.com/a 1.0.0\n", None, None), f);
    at(&e, "3:23", "must start with `v`");
    let e = expect_err(parse::go::parse(f, b"module x\nrequire (\n\texample.com/a\n)\n", None, None), f);
    at(&e, "3:2", "usage: require");
    let e = expect_err(parse::go::parse(f, &with_bad_byte_at_line(&real, 8), None, None), f);
    utf8_check(&e, 8);
    let e = expect_err(parse::go::parse(f, b"go 1.21\n", None, None), f);
    assert!(e.message.contains("no `module` directive"));
    let e = expect_err(parse::go::parse(f, b"module \"x\n", None, None), f);
    at(&e, "1:8", "unterminated quoted string");
    // A malformed go.sum is reported against go.sum.
    let e = parse::go::parse(f, b"module x\n", Some(parse::Companion::new("go.sum", b"a v1 h1:x\nbroken\n")), None)
        .unwrap_err();
    assert_eq!(e.file, "go.sum");
    assert_eq!(e.location.as_deref(), Some("2:1"));
}

// ---------------------------------------------------------------- Python

#[test]
fn poetry_errors() {
    let f = "poetry.lock";
    let real = read("lockfiles/poetry-lock2.1-poetry-2.4.1.poetry.lock");
    let e = expect_err(parse::poetry::parse(f, &cut_after(&real, "description = \"High-level"), None), f);
    assert!(e.location.as_deref().is_some_and(|l| l.starts_with("6:")), "{e}");
    let s = String::from_utf8(real.clone()).unwrap().replacen("lock-version = \"2.1\"", "lock-version = \"3.0\"", 1);
    let e = expect_err(parse::poetry::parse(f, s.as_bytes(), None), f);
    assert!(e.message.contains("unsupported poetry lock-version `3.0` (supported: 1.x, 2.x)"), "{e}");
    assert!(e.location.as_deref().is_some_and(|l| l.ends_with(":16")), "{e}");
    let e = expect_err(parse::poetry::parse(f, &with_bad_byte_at_line(&real, 4), None), f);
    utf8_check(&e, 4);
    let e = expect_err(parse::poetry::parse(f, b"[[package]]\nname = \"a\"\nversion = 1\n", None), f);
    at(&e, "3:11", "invalid type");
}

#[test]
fn uv_errors() {
    let f = "uv.lock";
    let real = read("lockfiles/uv-v1r3-atuin-docs-v18.19.0.uv.lock");
    let e = expect_err(parse::uv::parse(f, &cut_after(&real, "    { name = \"mike\"")), f);
    assert!(e.location.is_some(), "{e}");
    let e = expect_err(parse::uv::parse(f, b"version = 2\nrevision = 1\n"), f);
    at(&e, "1:11", "unsupported uv.lock version 2 (supported: 1)");
    let e = expect_err(parse::uv::parse(f, &with_bad_byte_at_line(&real, 2)), f);
    utf8_check(&e, 2);
    let e = expect_err(parse::uv::parse(f, b"version = 1\n[[package]]\nname = \"a\"\ndependencies = \"b\"\n"), f);
    at(&e, "4:16", "invalid type");
}

#[test]
fn requirements_errors() {
    let f = "requirements.txt";
    let e = expect_err(parse::requirements::parse(f, b"flask>=2\nrequests\n", None), f);
    assert!(e.message.contains("pins nothing"), "{e}");
    warned(
        parse::requirements::parse(f, b"a==1.0\n  ==2.0\n", None),
        "requirements.txt:2:3: `==2.0` is not a requirement",
    );
    let g = warned(parse::requirements::parse(f, b"a==1.0\nb== \n", None), "requirements.txt:2:2: `b` is not pinned");
    find(&g, "b", "");
    warned(parse::requirements::parse(f, b"a==1.0\nb[x==1.0\n", None), "requirements.txt:2:2: `b`: unclosed `[`");
    let e = expect_err(parse::requirements::parse(f, &with_bad_byte_at_line(b"a==1.0\nb==2.0\n", 2), None), f);
    utf8_check(&e, 2);
    // Truncated mid-continuation: the dangling `\` is not an error, the pin stands.
    let real = read("lockfiles/pip-hashed-sigstore-python-v4.5.0.requirements.txt");
    let g = parse::requirements::parse(f, &cut_after(&real, "annotated-types==0.7.0 \\\n"), None).unwrap();
    find(&g, "annotated-types", "0.7.0");
}

// ---------------------------------------------------------------- SBOMs

#[test]
fn spdx_errors() {
    let f = "x.spdx.json";
    let real = read("sbom/spdx-2.3-example11-rust-hello-server.spdx.json");
    let e = expect_err(parse::spdx::parse(f, &real[..real.len() / 2]), f);
    assert!(e.message.starts_with("truncated JSON"), "{e}");
    assert!(e.location.as_deref().is_some_and(|l| l.starts_with("packages[")), "{e}");
    let e = expect_err(parse::spdx::parse(f, br#"{"spdxVersion": "SPDX-3.0", "packages": []}"#), f);
    at(&e, "spdxVersion", "supported: SPDX-2.2, SPDX-2.3, SPDX 3.0 JSON-LD");
    let e = expect_err(parse::spdx::parse(f, &with_bad_byte_at_line(&real, 5)), f);
    utf8_check(&e, 5);
    let g = warned(
        parse::spdx::parse(
            f,
            br#"{"spdxVersion": "SPDX-2.3", "packages": [{"SPDXID": "a", "name": "a"}, {"SPDXID": "b", "name": 5}]}"#,
        ),
        "x.spdx.json: packages[1]: skipped: invalid type: integer `5`",
    );
    find(&g, "a", "");
}

#[test]
fn cyclonedx_errors() {
    let f = "bom.json";
    let real = read("sbom/cyclonedx-1.4-laravel-7.12.0.bom.json");
    let e = expect_err(parse::cyclonedx::parse(f, &real[..real.len() / 3]), f);
    assert!(e.message.starts_with("truncated JSON"), "{e}");
    assert!(e.location.as_deref().is_some_and(|l| l.starts_with("components[")), "{e}");
    let e = expect_err(parse::cyclonedx::parse(f, br#"{"bomFormat": "CycloneDX", "specVersion": "2.0"}"#), f);
    at(&e, "specVersion", "unsupported CycloneDX specVersion `2.0` (supported: 1.2 to 1.7)");
    let e = expect_err(parse::cyclonedx::parse(f, br#"{"bomFormat": "SPDX", "specVersion": "1.6"}"#), f);
    at(&e, "bomFormat", "not a CycloneDX BOM");
    let e = expect_err(parse::cyclonedx::parse(f, &with_bad_byte_at_line(&real, 20)), f);
    utf8_check(&e, 20);
    let g = warned(
        parse::cyclonedx::parse(
            f,
            br#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"name": "a"}, {"name": "b", "licenses": "MIT"}]}"#,
        ),
        "bom.json: components[1]: skipped: invalid type: string \"MIT\"",
    );
    find(&g, "a", "");
    // Absurdly nested components: an error naming the place, no stack overflow.
    let mut s = String::from(r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": ["#);
    for _ in 0..10_000 {
        s.push_str(r#"{"name": "n", "components": ["#);
    }
    s.push_str(&"]}".repeat(10_000));
    s.push_str("]}");
    let e = expect_err(parse::cyclonedx::parse(f, s.as_bytes()), f);
    assert!(e.message.contains("recursion limit"), "{e}");
    assert!(e.location.is_some());
}

#[test]
fn deep_nesting_in_toml_and_yaml_is_an_error_not_a_crash() {
    let depth = 100_000;
    let toml = format!("version = 4\nx = {}{}\n", "[".repeat(depth), "]".repeat(depth));
    let e = expect_err(parse::cargo::parse("Cargo.lock", toml.as_bytes(), &[]), "Cargo.lock");
    assert!(e.location.is_some(), "{e}");
    let toml = format!("version = 1\nx = {}1{}\n", "{a = ".repeat(depth), "}".repeat(depth));
    expect_err(parse::uv::parse("uv.lock", toml.as_bytes()), "uv.lock");
    let yaml = format!("lockfileVersion: '9.0'\nimporters: {}{}\n", "[".repeat(depth), "]".repeat(depth));
    let e = expect_err(parse::pnpm::parse("pnpm-lock.yaml", yaml.as_bytes()), "pnpm-lock.yaml");
    at(&e, "2:140", "nested deeper than 128");
    let yaml = format!("__metadata:\n  version: 8\nx: {}{}\n", "{a: ".repeat(depth), "}".repeat(depth));
    expect_err(parse::yarn::parse_berry("yarn.lock", yaml.as_bytes()), "yarn.lock");
}

/// What a parser skipped reaches the scan's warnings (and so every
/// report), named with the file, at most 20 per file and then a count.
#[test]
fn skipped_entries_reach_the_scan_warnings() {
    use steward_scanner::license::LicenseConfig;
    use steward_scanner::source::MemoryTree;
    let mut lock = String::from("version = 3\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n");
    for i in 0..25 {
        lock.push_str(&format!("\n[[package]]\nname = {i}\nversion = \"1\"\n"));
    }
    let tree = MemoryTree::single("Cargo.lock", lock.into_bytes());
    let config = LicenseConfig { offline: true, ..LicenseConfig::default() };
    let scan = steward_scanner::scan::scan(&tree, &config).unwrap();
    let skipped: Vec<&String> = scan.warnings.iter().filter(|w| w.contains("no string `name`; skipped")).collect();
    assert_eq!(skipped.len(), 20, "{:?}", scan.warnings);
    assert!(skipped.iter().all(|w| w.starts_with("Cargo.lock")), "{skipped:?}");
    assert!(scan.warnings.iter().any(|w| w == "Cargo.lock: 5 more entries skipped or guessed"), "{:?}", scan.warnings);
}
