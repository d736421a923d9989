//! Discovery: detection by name and content, one graph per lockfile in a
//! monorepo, companions read through the same tree, deterministic order.

#[path = "parse_support.rs"]
mod support;

use std::collections::BTreeMap;
use steward_scanner::{Directory, InputTree, LockfileFormat, detect, read_graphs};
use support::*;

fn write(root: &std::path::Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// An in-memory tree (what a git tree looks like to discovery).
struct MemTree(BTreeMap<String, Vec<u8>>);

impl InputTree for MemTree {
    fn describe(&self) -> String {
        "memory".into()
    }
    fn paths(&self) -> std::io::Result<Vec<String>> {
        Ok(self.0.keys().cloned().collect())
    }
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        self.0.get(path).cloned().ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, path.to_string()))
    }
}

#[test]
fn detect_by_name_and_content() {
    let v3 = read("lockfiles/npm-lockv3-rust-analyzer-vscode-2024-12-02.package-lock.json");
    assert_eq!(detect("web/package-lock.json", &v3), Some(LockfileFormat::NpmPackageLock));
    assert_eq!(detect("npm-shrinkwrap.json", b"{}"), Some(LockfileFormat::NpmPackageLock));
    assert_eq!(detect("a/b/Cargo.lock", b""), Some(LockfileFormat::CargoLock));
    assert_eq!(detect("pnpm-lock.yaml", b""), Some(LockfileFormat::PnpmLock));
    let berry = read("lockfiles/yarn-berry-v10-prettier-3.9.6.yarn.lock");
    assert_eq!(detect("yarn.lock", &berry), Some(LockfileFormat::YarnBerry));
    let classic = read("lockfiles/yarn-classic-v1-prettier-2.8.8.yarn.lock");
    assert_eq!(detect("yarn.lock", &classic), Some(LockfileFormat::YarnClassic));
    assert_eq!(detect("go.mod", b""), Some(LockfileFormat::GoMod));
    assert_eq!(detect("go.sum", b""), None, "go.sum is a companion, not an input");
    assert_eq!(detect("poetry.lock", b""), Some(LockfileFormat::PoetryLock));
    assert_eq!(detect("uv.lock", b""), Some(LockfileFormat::UvLock));
    assert_eq!(detect("requirements-dev.txt", b""), Some(LockfileFormat::PipRequirements));
    assert_eq!(detect("x.spdx.json", b""), Some(LockfileFormat::SpdxJson));
    assert_eq!(detect("x.cdx.json", b""), Some(LockfileFormat::CyclonedxJson));
    assert_eq!(detect("bom.json", b""), Some(LockfileFormat::CyclonedxJson));
    // Any other JSON is sniffed.
    let cdx = read("sbom/cyclonedx-1.6-npm-demo-deps-from-git.bom.json");
    assert_eq!(detect("release/sbom-final.json", &cdx), Some(LockfileFormat::CyclonedxJson));
    let spdx = read("sbom/spdx-2.3-example14-examplemaven-enriched.spdx.json");
    assert_eq!(detect("release/sbom.json", &spdx), Some(LockfileFormat::SpdxJson));
    assert_eq!(detect("tsconfig.json", b"{\"compilerOptions\": {}}"), None);
    assert_eq!(detect("README.md", b""), None);
}

#[test]
fn monorepo_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // A Cargo workspace whose member directories differ from package names.
    write(root, "Cargo.lock", &read("lockfiles/cargo-v4-ripgrep-15.1.0.Cargo.lock"));
    write(
        root,
        "Cargo.toml",
        b"[package]\nname = \"ripgrep\"\n\n[workspace]\nmembers = [\"crates/*\"]\nexclude = [\"crates/grep\"]\n",
    );
    write(root, "crates/cli/Cargo.toml", b"[package]\nname = \"grep-cli\"\n");
    write(root, "crates/globset/Cargo.toml", b"[package]\nname = \"globset\"\n");
    write(root, "crates/grep/Cargo.toml", b"[package]\nname = \"grep\"\n");
    // npm v3 under a name that does not say its version.
    write(
        root,
        "web/package-lock.json",
        &read("lockfiles/npm-lockv3-rust-analyzer-vscode-2024-12-02.package-lock.json"),
    );
    write(root, "web/package.json", b"{\"name\": \"ignored-for-v3\"}");
    write(root, "web/node_modules/x/package-lock.json", b"not even json");
    // Go with go.sum.
    write(root, "svc/go.mod", &read("lockfiles/go-policy-controller-v0.15.1.go.mod"));
    write(root, "svc/go.sum", &read("lockfiles/go-policy-controller-v0.15.1.go.sum"));
    // Python: poetry with pyproject; requirements with an include; an
    // unpinned dependency list that discovery skips.
    write(root, "py/poetry.lock", &read("lockfiles/poetry-lock2.1-poetry-2.4.1.poetry.lock"));
    write(
        root,
        "py/pyproject.toml",
        b"[project]\nname = \"poetry\"\nversion = \"2.4.1\"\ndependencies = [\"requests\"]\n",
    );
    write(root, "py/requirements.txt", b"-r ../shared/base.txt\nflask==3.0.0\n    # via -r requirements.in\n");
    write(root, "shared/base.txt", b"click==8.1.7\n    # via flask\n");
    write(root, "py/requirements-dev.txt", b"pytest\nruff>=0.4\n");
    // SBOMs, one detected by content only.
    write(root, "release/final.json", &read("sbom/cyclonedx-1.5-npm-demo-bundled-deps.bom.json"));
    write(root, "release/app.spdx.json", &read("sbom/spdx-2.2-example9-appbomination.spdx.json"));
    write(root, "release/notes.json", b"{\"title\": \"not an sbom\"}");

    let graphs = read_graphs(&Directory::new(root)).unwrap();
    let got: Vec<(&str, LockfileFormat)> = graphs.iter().map(|g| (g.source.path.as_str(), g.source.format)).collect();
    assert_eq!(
        got,
        vec![
            ("Cargo.lock", LockfileFormat::CargoLock),
            ("py/poetry.lock", LockfileFormat::PoetryLock),
            ("py/requirements.txt", LockfileFormat::PipRequirements),
            ("release/app.spdx.json", LockfileFormat::SpdxJson),
            ("release/final.json", LockfileFormat::CyclonedxJson),
            ("svc/go.mod", LockfileFormat::GoMod),
            ("web/package-lock.json", LockfileFormat::NpmPackageLock),
        ]
    );
    for g in &graphs {
        check_invariants(g);
    }
    // Cargo roots: ripgrep and the matched members, minus the excluded one.
    let cargo = &graphs[0];
    let mut roots: Vec<&str> = cargo.roots.iter().map(|&r| cargo.packages[r].name.as_str()).collect();
    roots.sort();
    assert_eq!(roots, vec!["globset", "grep-cli", "ripgrep"]);
    // Poetry root from pyproject.toml.
    let poetry = &graphs[1];
    let root = find(poetry, "poetry", "2.4.1");
    assert_eq!(deps_of(poetry, root), vec!["requests@2.33.1"]);
    // The include joined the requirements graph; `# via flask` made the edge.
    let req = &graphs[2];
    let flask = find(req, "flask", "3.0.0");
    let click = find(req, "click", "8.1.7");
    assert!(has_edge(req, flask, click));
    assert_eq!(req.direct_dependencies(), vec![flask]);
    assert_eq!(graphs[6].packages.len(), 410);
}

#[test]
fn single_file_tree_and_companions_from_memory() {
    let f = data("lockfiles/uv-v1r3-atuin-docs-v18.19.0.uv.lock");
    let graphs = read_graphs(&Directory::new(&f)).unwrap();
    assert_eq!(graphs.len(), 1);
    assert_eq!(graphs[0].source.path, "uv-v1r3-atuin-docs-v18.19.0.uv.lock");
    assert_eq!(graphs[0].source.format, LockfileFormat::UvLock);

    let tree = MemTree(BTreeMap::from([
        ("mod/go.mod".to_string(), b"module example.com/m\n\ngo 1.16\n\nrequire example.com/a v1.0.0\n".to_vec()),
        ("mod/go.sum".to_string(), b"example.com/a v1.0.0 h1:x=\nexample.com/b v0.2.0 h1:y=\n".to_vec()),
        ("mod/vendor/modules.txt".to_string(), b"# example.com/c v0.3.0\nexample.com/c\n".to_vec()),
        ("mod/vendor/example.com/c/go.mod".to_string(), b"this is vendored, not a module of the tree".to_vec()),
    ]));
    let graphs = read_graphs(&tree).unwrap();
    assert_eq!(graphs.len(), 1);
    let g = &graphs[0];
    assert_eq!(deps_of(g, g.roots[0]), vec!["example.com/a@v1.0.0", "example.com/b@v0.2.0", "example.com/c@v0.3.0"]);
}

#[test]
fn first_error_names_the_file() {
    let tree = MemTree(BTreeMap::from([
        ("a/Cargo.lock".to_string(), read("lockfiles/cargo-v3-ripgrep-14.1.1.Cargo.lock")),
        ("b/uv.lock".to_string(), b"version = 7\n".to_vec()),
        (
            "c/bom.json".to_string(),
            b"{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\", \"components\": [".to_vec(),
        ),
    ]));
    let e = read_graphs(&tree).unwrap_err();
    assert_eq!(e.file, "b/uv.lock");
    assert_eq!(e.location.as_deref(), Some("1:11"));
}

#[test]
fn fixtures_directories_read_every_fixture() {
    let lockfiles = read_graphs(&Directory::new(data("lockfiles"))).unwrap();
    // 15 files, 14 inputs: the go.sum fixture is a companion.
    assert_eq!(lockfiles.len(), 14);
    let sboms = read_graphs(&Directory::new(data("sbom"))).unwrap();
    assert_eq!(sboms.len(), 7);
    let paths: Vec<&str> = lockfiles.iter().map(|g| g.source.path.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
}
