//! Lockfile parsers over real lockfiles (tests/data/lockfiles, copied from
//! shared/fixtures) and small hand-written ones for shapes the real files
//! lack. Facts asserted here were read off the files independently.

#[path = "parse_support.rs"]
mod support;

use steward_scanner::parse::{self, Companion};
use steward_scanner::{Ecosystem, LockfileFormat};
use support::*;

// ---------------------------------------------------------------- Cargo

#[test]
fn cargo_v1_ripgrep_12() {
    let f = "lockfiles/cargo-v1-ripgrep-12.1.1.Cargo.lock";
    let g = parse::cargo::parse(f, &read(f), &[]).unwrap();
    assert_eq!(g.source.format, LockfileFormat::CargoLock);
    assert_eq!(g.packages.len(), 65);
    let rg = find(&g, "ripgrep", "12.1.1");
    let deps = deps_of(&g, rg);
    assert_eq!(deps.len(), 14);
    assert!(deps.contains(&"grep@0.2.7".to_string()));
    assert!(deps.contains(&"bstr@0.2.13".to_string()));
    assert!(g.roots.contains(&rg));
    // Roots without a manifest: every package without a source.
    assert!(g.roots.iter().all(|&r| g.packages[r].source.is_none()));
    assert_eq!(g.roots.len(), g.packages.iter().filter(|p| p.source.is_none()).count());
    let bstr = find(&g, "bstr", "0.2.13");
    assert_eq!(g.packages[bstr].purl.as_deref(), Some("pkg:cargo/bstr@0.2.13"));
    assert_eq!(g.packages[bstr].source.as_deref(), Some("registry+https://github.com/rust-lang/crates.io-index"));
    assert_eq!(g.packages[rg].purl, None);
    insta::assert_snapshot!(summary(&g));
}

#[test]
fn cargo_v3_and_v4_ripgrep() {
    let f3 = "lockfiles/cargo-v3-ripgrep-14.1.1.Cargo.lock";
    let g3 = parse::cargo::parse(f3, &read(f3), &[]).unwrap();
    assert_eq!(g3.packages.len(), 61);
    let f4 = "lockfiles/cargo-v4-ripgrep-15.1.0.Cargo.lock";
    let g4 = parse::cargo::parse(f4, &read(f4), &[]).unwrap();
    assert_eq!(g4.packages.len(), 61);
    // v4 writes bare names; they resolve to the one package of that name.
    let rg = find(&g4, "ripgrep", "15.1.0");
    assert!(deps_of(&g4, rg).contains(&"grep@0.4.1".to_string()));
    insta::assert_snapshot!("cargo_v3", summary(&g3));
    insta::assert_snapshot!("cargo_v4", summary(&g4));
}

#[test]
fn cargo_manifest_picks_roots() {
    let f = "lockfiles/cargo-v4-ripgrep-15.1.0.Cargo.lock";
    // Only the top manifest, naming the package `ripgrep`: the other
    // source-less packages are path dependencies, not roots.
    let manifest = b"[package]\nname = \"ripgrep\"\nversion = \"15.1.0\"\n";
    let g = parse::cargo::parse(f, &read(f), &[Companion::new("Cargo.toml", manifest)]).unwrap();
    let rg = find(&g, "ripgrep", "15.1.0");
    assert_eq!(g.roots, vec![rg]);
    let direct: Vec<String> = g.direct_dependencies().iter().map(|&i| label(&g.packages[i])).collect();
    assert!(direct.contains(&"grep@0.4.1".to_string()));
    assert!(!direct.contains(&"grep-cli@0.1.12".to_string()), "grep-cli is a dependency of grep, not ripgrep");
    // With member manifests too, members become roots.
    let member = b"[package]\nname = \"grep-cli\"\n";
    let g = parse::cargo::parse(
        f,
        &read(f),
        &[Companion::new("Cargo.toml", manifest), Companion::new("crates/cli/Cargo.toml", member)],
    )
    .unwrap();
    assert_eq!(g.roots.len(), 2);
}

#[test]
fn cargo_v2_and_exact_dependency_strings() {
    // v2: no version line, short dependency strings, two versions of `log`.
    let lock = br#"
[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "log 0.4.20",
 "helper",
]

[[package]]
name = "helper"
version = "0.1.0"
dependencies = [
 "log 0.3.9",
]

[[package]]
name = "log"
version = "0.3.9"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aa"

[[package]]
name = "log"
version = "0.4.20"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "bb"
"#;
    let g = parse::cargo::parse("Cargo.lock", lock, &[Companion::new("Cargo.toml", b"[package]\nname = \"app\"\n")])
        .unwrap();
    let app = find(&g, "app", "0.1.0");
    let helper = find(&g, "helper", "0.1.0");
    assert_eq!(deps_of(&g, app), vec!["helper@0.1.0", "log@0.4.20"]);
    assert_eq!(deps_of(&g, helper), vec!["log@0.3.9"]);
    // `helper` has no source but the manifest does not name it: not a root.
    assert_eq!(g.roots, vec![app]);
}

// ---------------------------------------------------------------- npm

#[test]
fn npm_v1_nested_resolution() {
    let f = "lockfiles/npm-lockv1-rust-analyzer-vscode-2021-01-18.package-lock.json";
    let g = parse::npm::parse(f, &read(f), None).unwrap();
    let root = find(&g, "rust-analyzer", "0.4.0-dev");
    assert_eq!(g.roots, vec![root]);
    // `@babel/highlight` has its own nested chalk 2.4.2; the top level has 4.1.0.
    let hl = find(&g, "@babel/highlight", "7.10.4");
    let chalk2 = find(&g, "chalk", "2.4.2");
    let chalk4 = find(&g, "chalk", "4.1.0");
    assert!(has_edge(&g, hl, chalk2));
    assert!(!has_edge(&g, hl, chalk4));
    assert!(g.packages[hl].dev);
    let lc = find(&g, "vscode-languageclient", "7.0.0");
    assert!(!g.packages[lc].dev);
    assert_eq!(g.packages[lc].purl.as_deref(), Some("pkg:npm/vscode-languageclient@7.0.0"));
    // Without package.json, direct dependencies are the top-level packages
    // nothing else requires.
    assert!(g.direct_dependencies().contains(&lc));
    insta::assert_snapshot!(summary(&g));
}

#[test]
fn npm_v1_with_package_json() {
    let lock = br#"{"name": "demo", "version": "1.0.0", "lockfileVersion": 1, "requires": true,
      "dependencies": {
        "a": {"version": "1.0.0", "resolved": "https://r.invalid/a-1.0.0.tgz", "requires": {"b": "^2"}},
        "b": {"version": "2.0.0", "resolved": "https://r.invalid/b-2.0.0.tgz"},
        "t": {"version": "3.0.0", "dev": true, "requires": {"b": "^1"},
              "dependencies": {"b": {"version": "1.5.0", "dev": true}}}
      }}"#;
    let pj = br#"{"name": "demo", "dependencies": {"a": "^1"}, "devDependencies": {"t": "^3"}}"#;
    let g = parse::npm::parse("package-lock.json", lock, Some(Companion::new("package.json", pj))).unwrap();
    let root = find(&g, "demo", "1.0.0");
    assert_eq!(deps_of(&g, root), vec!["a@1.0.0", "t@3.0.0"]);
    let t = find(&g, "t", "3.0.0");
    assert_eq!(deps_of(&g, t), vec!["b@1.5.0"]);
    assert!(g.packages[find(&g, "b", "1.5.0")].dev);
    assert!(!g.packages[find(&g, "b", "2.0.0")].dev);
}

#[test]
fn npm_v2_reads_packages() {
    let f = "lockfiles/npm-lockv2-rust-analyzer-vscode-2023-06-05.package-lock.json";
    let g = parse::npm::parse(f, &read(f), None).unwrap();
    let root = find(&g, "rust-analyzer", "0.5.0-dev");
    assert_eq!(g.roots, vec![root]);
    assert_eq!(g.packages[root].raw_licenses.len(), 1);
    assert_eq!(g.packages[root].raw_licenses[0].value, "MIT OR Apache-2.0");
    assert_eq!(g.packages[root].raw_licenses[0].field, "packages[\"\"].license");
    // 4 dependencies + 14 devDependencies.
    assert_eq!(g.edges[root].len(), 18);
    insta::assert_snapshot!(summary(&g));
}

#[test]
fn npm_v3_licenses_and_node_resolution() {
    let f = "lockfiles/npm-lockv3-rust-analyzer-vscode-2024-12-02.package-lock.json";
    let g = parse::npm::parse(f, &read(f), None).unwrap();
    // 425 entries: the project, 424 installs; 12 installs repeat a
    // (name, version, resolved) already present (nested copies, and 3
    // aliases such as `string-width-cjs` → string-width) and are merged.
    assert_eq!(g.packages.len(), 410);
    assert_eq!(g.packages.iter().filter(|p| !p.raw_licenses.is_empty()).count(), 117);
    let anser = find(&g, "anser", "2.1.1");
    let root = g.roots[0];
    assert!(has_edge(&g, root, anser));
    assert!(!g.packages[anser].dev);
    // The nested http-proxy-agent under @azure/core-rest-pipeline uses the
    // nested agent-base 7.1.1, not the top-level 6.0.2.
    let nested_agent = find(&g, "agent-base", "7.1.1");
    let top_agent = find(&g, "agent-base", "6.0.2");
    let lic = &g.packages[nested_agent].raw_licenses[0];
    assert_eq!(lic.value, "MIT");
    assert_eq!(lic.field, "packages[\"node_modules/@azure/core-rest-pipeline/node_modules/agent-base\"].license");
    let hpa: Vec<usize> = find_all(&g, "http-proxy-agent");
    assert!(hpa.iter().any(|&h| has_edge(&g, h, nested_agent)));
    assert!(g.packages[nested_agent].dev);
    let _ = top_agent;
    insta::assert_snapshot!(summary(&g));
}

#[test]
fn npm_v3_workspaces_links_and_dev_optional() {
    let lock = br#"{"name": "mono", "version": "0.0.0", "lockfileVersion": 3, "requires": true,
      "packages": {
        "": {"name": "mono", "version": "0.0.0", "workspaces": ["packages/*"], "dependencies": {"lib": "*"}},
        "node_modules/lib": {"resolved": "packages/lib", "link": true},
        "node_modules/x": {"version": "1.0.0", "resolved": "https://r.invalid/x.tgz", "license": {"type": "ISC"}},
        "node_modules/y": {"version": "2.0.0", "resolved": "https://r.invalid/y.tgz", "devOptional": true},
        "packages/lib": {"name": "lib", "version": "0.1.0", "license": "MIT",
                         "dependencies": {"x": "^1"}, "optionalDependencies": {"y": "^2", "missing": "^1"}}
      }}"#;
    let g = parse::npm::parse("package-lock.json", lock, None).unwrap();
    let root = find(&g, "mono", "0.0.0");
    let lib = find(&g, "lib", "0.1.0");
    assert_eq!(g.roots, vec![root, lib]);
    assert!(has_edge(&g, root, lib), "link entries stand for their target");
    assert_eq!(deps_of(&g, lib), vec!["x@1.0.0", "y@2.0.0"]);
    let x = find(&g, "x", "1.0.0");
    assert_eq!(g.packages[x].raw_licenses[0].value, "ISC");
    assert_eq!(g.packages[x].raw_licenses[0].field, "packages[\"node_modules/x\"].license.type");
    assert!(!g.packages[find(&g, "y", "2.0.0")].dev, "devOptional is not dev-only");
    assert_eq!(g.packages[lib].source, None);
}

// ---------------------------------------------------------------- pnpm

#[test]
fn pnpm_v9_importers_snapshots_and_peers() {
    let f = "lockfiles/pnpm-v9.0-rust-registry-app-57fa000.pnpm-lock.yaml";
    let g = parse::pnpm::parse(f, &read(f)).unwrap();
    // 915 packages + 5 importers.
    assert_eq!(g.packages.len(), 920);
    let mut roots: Vec<String> = g.roots.iter().map(|&r| g.packages[r].name.clone()).collect();
    roots.sort();
    assert_eq!(
        roots,
        [
            ".",
            "packages/crates-io-api-client",
            "packages/crates-io-file-tree-icons",
            "packages/crates-io-msw",
            "svelte"
        ]
    );
    let dot = find(&g, ".", "");
    let date_fns = find(&g, "date-fns", "4.4.0");
    assert!(has_edge(&g, dot, date_fns));
    assert!(!g.packages[date_fns].dev);
    // `4.13.0(playwright-core@1.62.1)` maps to the base package; a dev dependency.
    let axe = find(&g, "@axe-core/playwright", "4.13.0");
    assert!(has_edge(&g, dot, axe));
    assert!(g.packages[axe].dev);
    assert_eq!(g.packages[axe].purl.as_deref(), Some("pkg:npm/%40axe-core/playwright@4.13.0"));
    let cf = find(&g, "@babel/code-frame", "7.29.7");
    assert_eq!(
        deps_of(&g, cf),
        vec!["@babel/helper-validator-identifier@7.29.7", "js-tokens@4.0.0", "picocolors@1.1.1"]
    );
    insta::assert_snapshot!(summary(&g));
}

#[test]
fn pnpm_6_0_labelled_file() {
    // Labelled lockfileVersion '6.0' but written in the packages+snapshots
    // layout; the parser goes by structure.
    let f = "lockfiles/pnpm-v6.0-rust-registry-app-9534d26.pnpm-lock.yaml";
    let g = parse::pnpm::parse(f, &read(f)).unwrap();
    assert_eq!(g.packages.len(), 1995);
    assert_eq!(g.roots.len(), 1);
    let root = g.roots[0];
    let tt = find(&g, "tracked-toolbox", "2.0.0");
    assert!(has_edge(&g, root, tt));
    insta::assert_snapshot!(summary(&g));
}

#[test]
fn pnpm_v6_slash_keys() {
    let lock = br#"lockfileVersion: '6.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

dependencies:
  react:
    specifier: ^18.2.0
    version: 18.2.0
  react-dom:
    specifier: ^18.2.0
    version: 18.2.0(react@18.2.0)

devDependencies:
  typescript:
    specifier: ^5.0.0
    version: 5.0.4

packages:

  /js-tokens@4.0.0:
    resolution: {integrity: sha512-AAAA}
    dev: false

  /loose-envify@1.4.0:
    resolution: {integrity: sha512-BBBB}
    hasBin: true
    dependencies:
      js-tokens: 4.0.0
    dev: false

  /react-dom@18.2.0(react@18.2.0):
    resolution: {integrity: sha512-CCCC}
    peerDependencies:
      react: ^18.2.0
    dependencies:
      loose-envify: 1.4.0
      react: 18.2.0
      scheduler: 0.23.0
    dev: false

  /react@18.2.0:
    resolution: {integrity: sha512-DDDD}
    dependencies:
      loose-envify: 1.4.0
    dev: false

  /scheduler@0.23.0:
    resolution: {integrity: sha512-EEEE}
    dependencies:
      loose-envify: 1.4.0
    dev: false

  /typescript@5.0.4:
    resolution: {integrity: sha512-FFFF}
    hasBin: true
    dev: true
"#;
    let g = parse::pnpm::parse("pnpm-lock.yaml", lock).unwrap();
    assert_eq!(g.packages.len(), 7);
    let root = g.roots[0];
    assert_eq!(deps_of(&g, root), vec!["react-dom@18.2.0", "react@18.2.0", "typescript@5.0.4"]);
    let rd = find(&g, "react-dom", "18.2.0");
    assert_eq!(deps_of(&g, rd), vec!["loose-envify@1.4.0", "react@18.2.0", "scheduler@0.23.0"]);
    assert!(g.packages[find(&g, "typescript", "5.0.4")].dev);
    assert!(!g.packages[find(&g, "js-tokens", "4.0.0")].dev);
}

// ---------------------------------------------------------------- yarn

#[test]
fn yarn_classic_prettier_2() {
    let f = "lockfiles/yarn-classic-v1-prettier-2.8.8.yarn.lock";
    let g = parse::yarn::parse(f, &read(f), None).unwrap();
    assert_eq!(g.source.format, LockfileFormat::YarnClassic);
    // 938 entries and the synthetic root.
    assert_eq!(g.packages.len(), 939);
    // One entry with five specifiers is one package.
    let cf = find(&g, "@babel/code-frame", "7.18.6");
    assert_eq!(deps_of(&g, cf), vec!["@babel/highlight@7.18.6"]);
    assert_eq!(
        g.packages[cf].source.as_deref(),
        Some("https://registry.yarn.invalid/@babel/code-frame/-/code-frame-7.18.6.tgz")
    );
    let root = g.roots[0];
    assert_eq!(g.packages[root].name, f);
    insta::assert_snapshot!(summary(&g));
}

#[test]
fn yarn_classic_with_package_json_and_aliases() {
    let lock = br#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@scope/a@^1.0.0", "@scope/a@^1.1.0":
  version "1.2.0"
  resolved "https://r.invalid/@scope/a/-/a-1.2.0.tgz#abc"
  integrity sha512-xx
  dependencies:
    b "~2.0.0"
    "string-width-cjs" "npm:string-width@^4.2.0"

b@~2.0.0:
  version "2.0.3"
  resolved "https://r.invalid/b/-/b-2.0.3.tgz#def"

"string-width-cjs@npm:string-width@^4.2.0":
  version "4.2.3"
  resolved "https://r.invalid/string-width/-/string-width-4.2.3.tgz"

jest@^29:
  version "29.7.0"
  resolved "https://r.invalid/jest/-/jest-29.7.0.tgz"
  optionalDependencies:
    b "~2.0.0"
"#;
    let pj = br#"{"name": "demo", "version": "3.0.0", "dependencies": {"@scope/a": "^1.1.0"}, "devDependencies": {"jest": "^29"}}"#;
    let g = parse::yarn::parse("yarn.lock", lock, Some(Companion::new("package.json", pj))).unwrap();
    let root = find(&g, "demo", "3.0.0");
    assert_eq!(g.roots, vec![root]);
    assert_eq!(deps_of(&g, root), vec!["@scope/a@1.2.0", "jest@29.7.0"]);
    let a = find(&g, "@scope/a", "1.2.0");
    assert_eq!(deps_of(&g, a), vec!["b@2.0.3", "string-width@4.2.3"]);
    assert!(g.packages[find(&g, "jest", "29.7.0")].dev);
    assert!(!g.packages[find(&g, "b", "2.0.3")].dev);
    assert_eq!(g.packages[a].source.as_deref(), Some("https://r.invalid/@scope/a/-/a-1.2.0.tgz"));
}

#[test]
fn yarn_berry_prettier_3() {
    let f = "lockfiles/yarn-berry-v10-prettier-3.9.6.yarn.lock";
    let g = parse::yarn::parse(f, &read(f), None).unwrap();
    assert_eq!(g.source.format, LockfileFormat::YarnBerry);
    let root = find(&g, "prettier", "0.0.0-use.local");
    assert_eq!(g.roots, vec![root]);
    assert_eq!(g.packages[root].source, None);
    let ng = find(&g, "@angular/compiler", "22.0.6");
    assert!(has_edge(&g, root, ng));
    assert_eq!(deps_of(&g, ng), vec!["tslib@2.8.1"]);
    let cf = find(&g, "@babel/code-frame", "8.0.0");
    assert!(deps_of(&g, cf).iter().any(|d| d.starts_with("js-tokens@10.")));
    insta::assert_snapshot!(summary(&g));
}

// ---------------------------------------------------------------- Go

#[test]
fn go_mod_policy_controller() {
    let f = "lockfiles/go-policy-controller-v0.15.1.go.mod";
    let sum = read("lockfiles/go-policy-controller-v0.15.1.go.sum");
    let g = parse::go::parse(f, &read(f), Some(Companion::new("go.sum", &sum)), None).unwrap();
    let root = find(&g, "github.com/sigstore/policy-controller", "");
    assert_eq!(g.roots, vec![root]);
    let m = parse::go::parse_go_mod(f, std::str::from_utf8(&read(f)).unwrap()).unwrap();
    assert_eq!(m.go.as_deref(), Some("1.25.7"));
    assert_eq!(m.requires.iter().filter(|r| r.indirect).count(), 242);
    assert_eq!(g.packages.len(), m.requires.len() + 1);
    // Direct requires come first in the root's edges, then the indirect ones.
    let direct = m.requires.iter().filter(|r| !r.indirect).count();
    for (k, &to) in g.edges[root].iter().enumerate() {
        let req = m.requires.iter().find(|r| r.path == g.packages[to].name).unwrap();
        assert_eq!(req.indirect, k >= direct, "{}", req.path);
    }
    let cmp = find(&g, "github.com/google/go-cmp", "v0.7.0");
    assert_eq!(g.packages[cmp].purl.as_deref(), Some("pkg:golang/github.com/google/go-cmp@v0.7.0"));
    // `replace k8s.io/code-generator => k8s.io/code-generator v0.29.4`
    let cg = find(&g, "k8s.io/code-generator", "v0.29.4");
    assert_eq!(g.packages[cg].source.as_deref(), Some("replace+k8s.io/code-generator"));
    insta::assert_snapshot!(summary(&g));
}

#[test]
fn go_mod_old_with_sum_vendor_exclude_and_directory_replace() {
    let gomod = br#"// a comment
module "example.com/app"

go 1.16

require (
	example.com/a v1.2.0
	example.com/b v0.3.0 // indirect
	example.com/local v0.0.0
	example.com/gone v1.0.0 // excluded below
)

require example.com/c v2.0.0+incompatible

exclude example.com/gone v1.0.0

replace example.com/local => ../local
"#;
    let gosum = b"example.com/a v1.2.0 h1:AAA=\nexample.com/a v1.2.0/go.mod h1:BBB=\nexample.com/d v1.0.0 h1:CCC=\nexample.com/d v1.1.0 h1:DDD=\nexample.com/e v1.0.0/go.mod h1:EEE=\n";
    let vendor = b"# example.com/a v1.2.0\n## explicit\nexample.com/a\n# example.com/f v0.1.0\nexample.com/f/pkg\n";
    let g = parse::go::parse(
        "go.mod",
        gomod,
        Some(Companion::new("go.sum", gosum)),
        Some(Companion::new("vendor/modules.txt", vendor)),
    )
    .unwrap();
    let root = g.roots[0];
    assert_eq!(g.packages[root].name, "example.com/app");
    assert_eq!(
        deps_of(&g, root),
        vec![
            "example.com/a@v1.2.0",
            "example.com/b@v0.3.0",
            "example.com/c@v2.0.0+incompatible",
            "example.com/d@v1.1.0", // from go.sum (go < 1.17), highest version
            "example.com/f@v0.1.0", // from vendor/modules.txt
            "example.com/local@v0.0.0",
        ]
    );
    let local = find(&g, "example.com/local", "v0.0.0");
    assert_eq!(g.packages[local].source.as_deref(), Some("path+../local"));
    assert_eq!(g.packages[local].ecosystem, Ecosystem::Go);
    assert!(find_all(&g, "example.com/gone").is_empty());
    assert!(find_all(&g, "example.com/e").is_empty(), "go.mod-only hashes are not modules in the build");
}

// ---------------------------------------------------------------- Python

#[test]
fn poetry_lock_2_1() {
    let f = "lockfiles/poetry-lock2.1-poetry-2.4.1.poetry.lock";
    let g = parse::poetry::parse(f, &read(f), None).unwrap();
    // 78 packages and the synthetic root.
    assert_eq!(g.packages.len(), 79);
    let requests = find(&g, "requests", "2.33.1");
    assert!(!g.packages[requests].dev, "groups main+test includes main");
    assert_eq!(g.packages[requests].purl.as_deref(), Some("pkg:pypi/requests@2.33.1"));
    let anyio = find(&g, "anyio", "4.13.0");
    assert!(deps_of(&g, anyio).iter().any(|d| d.starts_with("idna@")));
    insta::assert_snapshot!(summary(&g));
}

#[test]
fn poetry_with_pyproject_roots() {
    let f = "lockfiles/poetry-lock2.1-poetry-2.4.1.poetry.lock";
    let pyproject = br#"
[project]
name = "poetry"
version = "2.4.1"
dependencies = ["requests (>=2.26,<3.0)", "tomlkit>=0.11.4,<1.0.0"]

[tool.poetry.group.test.dependencies]
pytest = ">=8.0"
"#;
    let g = parse::poetry::parse(f, &read(f), Some(Companion::new("pyproject.toml", pyproject))).unwrap();
    let root = find(&g, "poetry", "2.4.1");
    assert_eq!(g.roots, vec![root]);
    let direct: Vec<String> = deps_of(&g, root).iter().map(|d| d.split('@').next().unwrap().to_string()).collect();
    assert_eq!(direct, vec!["pytest", "requests", "tomlkit"]);
}

#[test]
fn poetry_lock_1_x_category() {
    let lock = br#"
[[package]]
name = "A-Pkg"
version = "1.0"
category = "main"
optional = false
python-versions = "*"

[package.dependencies]
b_pkg = {version = ">=2", markers = "python_version < '3.9'", extras = ["x"]}

[[package]]
name = "b.pkg"
version = "2.0"
category = "dev"
optional = false
python-versions = "*"

[package.source]
type = "git"
url = "https://git.invalid/b.git"
reference = "main"
resolved_reference = "abc123"

[metadata]
lock-version = "1.1"
python-versions = "^3.8"
content-hash = "x"
"#;
    let g = parse::poetry::parse("poetry.lock", lock, None).unwrap();
    let a = find(&g, "A-Pkg", "1.0");
    let b = find(&g, "b.pkg", "2.0");
    assert!(has_edge(&g, a, b), "names match after PEP 503 normalization");
    assert!(g.packages[b].dev);
    assert_eq!(g.packages[b].source.as_deref(), Some("git+https://git.invalid/b.git#abc123"));
    assert_eq!(g.packages[b].purl, None);
    assert_eq!(g.direct_dependencies(), vec![a]);
}

#[test]
fn uv_lock_v1_revision_3() {
    let f = "lockfiles/uv-v1r3-atuin-docs-v18.19.0.uv.lock";
    let g = parse::uv::parse(f, &read(f)).unwrap();
    assert_eq!(g.packages.len(), 60);
    let root = find(&g, "atuin-cli-docs", "1.0.0");
    assert_eq!(g.roots, vec![root]);
    assert_eq!(g.packages[root].source, None);
    assert_eq!(g.edges[root].len(), 9);
    let mm = find(&g, "mkdocs-material", "9.7.0");
    assert!(has_edge(&g, root, mm));
    assert!(deps_of(&g, mm).contains(&"babel@2.17.0".to_string()));
    assert_eq!(g.packages[mm].source.as_deref(), Some("https://pypi.invalid/simple"));
    insta::assert_snapshot!(summary(&g));
}

#[test]
fn uv_lock_dev_and_forks() {
    let lock = br#"version = 1
revision = 2

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "numpy", version = "2.0.0", source = { registry = "https://pypi.invalid/simple" } }]

[package.dev-dependencies]
dev = [{ name = "pytest" }]

[[package]]
name = "numpy"
version = "1.26.0"
source = { registry = "https://pypi.invalid/simple" }

[[package]]
name = "numpy"
version = "2.0.0"
source = { registry = "https://pypi.invalid/simple" }

[[package]]
name = "pytest"
version = "8.0.0"
source = { registry = "https://pypi.invalid/simple" }
"#;
    let g = parse::uv::parse("uv.lock", lock).unwrap();
    let app = find(&g, "app", "0.1.0");
    assert_eq!(deps_of(&g, app), vec!["numpy@2.0.0", "pytest@8.0.0"]);
    assert!(g.packages[find(&g, "pytest", "8.0.0")].dev);
    assert!(!g.packages[find(&g, "numpy", "2.0.0")].dev);
}

#[test]
fn requirements_pip_compile_via() {
    let f = "lockfiles/pip-hashed-sigstore-python-v4.5.0.requirements.txt";
    let g = parse::requirements::parse(f, &read(f), None).unwrap();
    // 32 pins and the synthetic root.
    assert_eq!(g.packages.len(), 33);
    let root = g.roots[0];
    // Only `sigstore` is `# via -r install/requirements.in`.
    let sigstore = find(&g, "sigstore", "4.4.0");
    assert_eq!(g.edges[root], vec![sigstore]);
    let tuf = find(&g, "tuf", "6.0.0");
    assert!(has_edge(&g, sigstore, tuf), "tuf is `# via sigstore`");
    let pydantic = find_all(&g, "pydantic");
    let at = find(&g, "annotated-types", "0.7.0");
    assert!(pydantic.iter().any(|&p| has_edge(&g, p, at)));
    insta::assert_snapshot!(summary(&g));
}

#[test]
fn requirements_markers_extras_and_unpinned() {
    let text = b"# hand written\n\
        requests[socks,security]==2.31.0 ; python_version >= \"3.8\" \\\n    --hash=sha256:abc\n\
        importlib-metadata==6.0.0; python_version < \"3.10\"\n\
        flask>=2.0\n\
        mylib @ https://files.invalid/mylib-1.0.tar.gz\n\
        --index-url https://pypi.invalid/simple\n";
    let g = parse::requirements::parse("requirements.txt", text, None).unwrap();
    let r = find(&g, "requests", "2.31.0");
    assert_eq!(g.packages[r].purl.as_deref(), Some("pkg:pypi/requests@2.31.0"));
    find(&g, "importlib-metadata", "6.0.0");
    // Unpinned in a file that pins something: kept, version unknown.
    find(&g, "flask", "");
    let lib = find(&g, "mylib", "");
    assert_eq!(g.packages[lib].source.as_deref(), Some("https://files.invalid/mylib-1.0.tar.gz"));
    assert_eq!(g.direct_dependencies().len(), 4);
}

// ---------------------------------------------------------------- integrity

/// Issue 12: the hash of each package's bytes, as the lockfile records it,
/// so drift carries license evidence only between copies with the same
/// bytes. Values read off the files.
#[test]
fn integrity_hashes_and_checksums_are_kept() {
    let integrity = |g: &steward_scanner::DependencyGraph, name: &str, version: &str| {
        g.packages[find(g, name, version)].integrity.clone()
    };
    let f = "lockfiles/npm-lockv1-rust-analyzer-vscode-2021-01-18.package-lock.json";
    let g = parse::npm::parse(f, &read(f), None).unwrap();
    assert_eq!(
        integrity(&g, "@babel/code-frame", "7.10.4").as_deref(),
        Some("sha512-vG6SvB6oYEhvgisZNFRmRCUkLz11c7rp+tbNTynGqc6mS1d5ATd/sGyV6W0KZZnXRKMTzZDRgQT3Ou9jhpAfUg==")
    );
    let f = "lockfiles/npm-lockv3-rust-analyzer-vscode-2024-12-02.package-lock.json";
    let g = parse::npm::parse(f, &read(f), None).unwrap();
    assert_eq!(
        integrity(&g, "@aashutoshrathi/word-wrap", "1.2.6").as_deref(),
        Some("sha512-1Yjs2SvM8TflER/OD3cOjhWWOZb58A2t7wpE2S9XfBYTiIl+XFhQG2bjy4Pu1I+EAlCNUzRDYDdFwFYUKvXcIA==")
    );
    assert!(g.roots.iter().all(|&r| g.packages[r].integrity.is_none()), "the project itself has none");
    let f = "lockfiles/pnpm-v9.0-rust-registry-app-57fa000.pnpm-lock.yaml";
    let g = parse::pnpm::parse(f, &read(f)).unwrap();
    assert_eq!(
        integrity(&g, "@adobe/css-tools", "4.5.0").as_deref(),
        Some("sha512-6OzddxPio9UiWTCemp4N8cYLV2ZN1ncRnV1cVGtve7dhPOtRkleRyx32GQCYSwDYgaHU3USMm84tNsvKzRCa1Q==")
    );
    for f in ["lockfiles/cargo-v3-ripgrep-14.1.1.Cargo.lock", "lockfiles/cargo-v4-ripgrep-15.1.0.Cargo.lock"] {
        let g = parse::cargo::parse(f, &read(f), &[]).unwrap();
        assert_eq!(
            integrity(&g, "aho-corasick", "1.1.3").as_deref(),
            Some("8e60d3430d3a69478ad0993f19238d2df97c507009a52b3c10addcd7f6bcb916"),
            "{f}"
        );
    }
    // Cargo v1 keeps checksums in `[metadata]`, which is not read.
    let f = "lockfiles/cargo-v1-ripgrep-12.1.1.Cargo.lock";
    let g = parse::cargo::parse(f, &read(f), &[]).unwrap();
    assert!(g.packages.iter().all(|p| p.integrity.is_none()));
}
