//! Finding the lockfiles and SBOMs in a tree and parsing each into its own
//! graph.
//!
//! Detection goes by file name, then content: `Cargo.lock`,
//! `package-lock.json`/`npm-shrinkwrap.json`, `pnpm-lock.yaml`, `yarn.lock`
//! (berry when it has `__metadata`, else classic), `go.mod`, `poetry.lock`,
//! `uv.lock`, `requirements*.txt` (and `*-requirements.txt`,
//! `*.requirements.txt`, `requirements/*.txt`), `*.spdx.json`, `*.cdx.json`,
//! `bom.json`/`*.bom.json`, and any other `*.json` whose first 64 KiB hold
//! `"spdxVersion"` (SPDX) or `"bomFormat"` (CycloneDX). A renamed copy
//! (`old.Cargo.lock`, `x.package-lock.json`) is detected like the original.
//!
//! Companions are read through the same tree: the `Cargo.toml` beside a
//! `Cargo.lock` and its workspace members' manifests; `go.sum` and
//! `vendor/modules.txt` beside a `go.mod`; the `pyproject.toml` beside a
//! `poetry.lock`; the `package.json` beside a `package-lock.json` or
//! `yarn.lock`; `-r` includes of requirements files.
//!
//! Requirements files that pin nothing are skipped (they are dependency
//! lists, not locks). Every other detected file must parse: the first error,
//! in path order, is returned. This module knows nothing of git or disks:
//! it only sees [`InputTree`].

use crate::model::{DependencyGraph, LockfileFormat, ParseError};
use crate::parse::{self, Companion};
use crate::source::InputTree;
use std::collections::BTreeSet;

/// How much of a `*.json` file's start is searched for SBOM markers.
pub const SNIFF_BYTES: usize = 64 * 1024;

fn name_is(name: &str, exact: &str) -> bool {
    name == exact || name.strip_suffix(exact).is_some_and(|p| p.ends_with('.'))
}

fn is_requirements(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    if !lower.ends_with(".txt") {
        return false;
    }
    lower.starts_with("requirements")
        || lower.ends_with("-requirements.txt")
        || lower.ends_with("_requirements.txt")
        || lower.ends_with(".requirements.txt")
        || path.rsplit('/').nth(1).is_some_and(|dir| dir.eq_ignore_ascii_case("requirements"))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The format of a single file from its path and the first bytes of its
/// content (`head` may be the whole file; [`SNIFF_BYTES`] is enough).
/// `None` when it is not an input Steward reads.
pub fn detect(path: &str, head: &[u8]) -> Option<LockfileFormat> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let head = &head[..head.len().min(SNIFF_BYTES)];
    if name_is(name, "Cargo.lock") {
        return Some(LockfileFormat::CargoLock);
    }
    if name_is(name, "package-lock.json") || name_is(name, "npm-shrinkwrap.json") {
        return Some(LockfileFormat::NpmPackageLock);
    }
    if name_is(name, "pnpm-lock.yaml") {
        return Some(LockfileFormat::PnpmLock);
    }
    if name_is(name, "yarn.lock") {
        let berry = head.split(|&b| b == b'\n').any(|l| l.starts_with(b"__metadata:"));
        return Some(if berry { LockfileFormat::YarnBerry } else { LockfileFormat::YarnClassic });
    }
    if name_is(name, "go.mod") {
        return Some(LockfileFormat::GoMod);
    }
    if name_is(name, "poetry.lock") {
        return Some(LockfileFormat::PoetryLock);
    }
    if name_is(name, "uv.lock") {
        return Some(LockfileFormat::UvLock);
    }
    if is_requirements(path) {
        return Some(LockfileFormat::PipRequirements);
    }
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".spdx.json") {
        return Some(LockfileFormat::SpdxJson);
    }
    if lower.ends_with(".cdx.json") || lower == "bom.json" || lower.ends_with(".bom.json") {
        return Some(LockfileFormat::CyclonedxJson);
    }
    if lower.ends_with(".json") {
        if contains(head, b"\"spdxVersion\"") || (contains(head, b"\"@graph\"") && contains(head, b"spdx.org/rdf/3")) {
            return Some(LockfileFormat::SpdxJson);
        }
        if contains(head, b"\"bomFormat\"") && contains(head, b"CycloneDX") {
            return Some(LockfileFormat::CyclonedxJson);
        }
    }
    None
}

/// True when the path alone can decide that a file is *not* an input, so
/// discovery need not read it.
fn may_be_input(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    detect(path, b"").is_some() || (name.ends_with(".json") && name != "package.json" && name != "tsconfig.json")
}

fn io_error(tree: &dyn InputTree, path: &str, e: std::io::Error) -> ParseError {
    ParseError::new(if path.is_empty() { tree.describe() } else { path.to_string() }, format!("cannot read: {e}"))
}

fn dir_of(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

fn sibling(path: &str, name: &str) -> String {
    match dir_of(path) {
        "" => name.to_string(),
        d => format!("{d}/{name}"),
    }
}

/// Matches one `/`-separated path against a Cargo workspace member pattern
/// (`crates/*`, `tools/x`): `*` and `?` within a segment.
fn glob_match(pattern: &str, path: &str) -> bool {
    let ps: Vec<&str> = pattern.trim_end_matches('/').split('/').filter(|s| !s.is_empty() && *s != ".").collect();
    let xs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    ps.len() == xs.len() && ps.iter().zip(&xs).all(|(p, x)| segment_match(p.as_bytes(), x.as_bytes()))
}

fn segment_match(p: &[u8], x: &[u8]) -> bool {
    // Iterative wildcard match (no recursion on input).
    let (mut pi, mut xi, mut star, mut mark) = (0, 0, None, 0);
    while xi < x.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == x[xi]) {
            pi += 1;
            xi += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = xi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            xi = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// Reads the optional companion at `path` when the tree has it.
fn read_if_present(tree: &dyn InputTree, all: &BTreeSet<String>, path: &str) -> Result<Option<Vec<u8>>, ParseError> {
    if !all.contains(path) {
        return Ok(None);
    }
    tree.read(path).map(Some).map_err(|e| io_error(tree, path, e))
}

/// Parses one file of a known format, reading its companions from `tree`.
pub fn parse_file(
    tree: &dyn InputTree,
    all_paths: &BTreeSet<String>,
    path: &str,
    format: LockfileFormat,
    bytes: &[u8],
) -> Result<DependencyGraph, ParseError> {
    // An empty file (a lockfile truncated to nothing, a placeholder, only
    // `#` comments in a YAML, TOML or text format) holds no packages; it is
    // not a reason to refuse the whole tree.
    let json =
        matches!(format, LockfileFormat::NpmPackageLock | LockfileFormat::SpdxJson | LockfileFormat::CyclonedxJson);
    let blank = |l: &[u8]| {
        let l = l.trim_ascii();
        l.is_empty() || (!json && l.starts_with(b"#"))
    };
    if bytes.split(|&b| b == b'\n').all(blank) {
        let mut g = DependencyGraph::new(crate::model::SourceLocation { path: path.to_string(), format });
        g.warnings.push(format!("{path}: empty file; no packages"));
        return Ok(g);
    }
    match format {
        LockfileFormat::CargoLock => {
            let manifest_path = sibling(path, "Cargo.toml");
            let mut manifests: Vec<(String, Vec<u8>)> = Vec::new();
            if let Some(root) = read_if_present(tree, all_paths, &manifest_path)? {
                let (members, exclude) = parse::cargo::workspace_members(&manifest_path, &root)?;
                let dir = dir_of(path);
                for candidate in all_paths.iter().filter(|p| p.ends_with("/Cargo.toml")) {
                    let member_dir = dir_of(candidate);
                    let rel = if dir.is_empty() {
                        member_dir
                    } else {
                        match member_dir.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) {
                            Some(r) => r,
                            None => continue,
                        }
                    };
                    if members.iter().any(|m| glob_match(m, rel)) && !exclude.iter().any(|x| glob_match(x, rel)) {
                        let bytes = tree.read(candidate).map_err(|e| io_error(tree, candidate, e))?;
                        manifests.push((candidate.clone(), bytes));
                    }
                }
                manifests.insert(0, (manifest_path, root));
            }
            let companions: Vec<Companion<'_>> = manifests.iter().map(|(p, b)| Companion::new(p, b)).collect();
            parse::cargo::parse(path, bytes, &companions)
        }
        LockfileFormat::NpmPackageLock => {
            let pj_path = sibling(path, "package.json");
            let pj = read_if_present(tree, all_paths, &pj_path)?;
            parse::npm::parse(path, bytes, pj.as_deref().map(|b| Companion::new(&pj_path, b)))
        }
        LockfileFormat::PnpmLock => parse::pnpm::parse(path, bytes),
        LockfileFormat::YarnClassic | LockfileFormat::YarnBerry => {
            let pj_path = sibling(path, "package.json");
            let pj = read_if_present(tree, all_paths, &pj_path)?;
            parse::yarn::parse(path, bytes, pj.as_deref().map(|b| Companion::new(&pj_path, b)))
        }
        LockfileFormat::GoMod => {
            let sum_path = sibling(path, "go.sum");
            let vendor_path = sibling(path, "vendor/modules.txt");
            let sum = read_if_present(tree, all_paths, &sum_path)?;
            let vendor = read_if_present(tree, all_paths, &vendor_path)?;
            parse::go::parse(
                path,
                bytes,
                sum.as_deref().map(|b| Companion::new(&sum_path, b)),
                vendor.as_deref().map(|b| Companion::new(&vendor_path, b)),
            )
        }
        LockfileFormat::PoetryLock => {
            let pp_path = sibling(path, "pyproject.toml");
            let pp = read_if_present(tree, all_paths, &pp_path)?;
            parse::poetry::parse(path, bytes, pp.as_deref().map(|b| Companion::new(&pp_path, b)))
        }
        LockfileFormat::UvLock => parse::uv::parse(path, bytes),
        LockfileFormat::PipRequirements => parse::requirements::parse(path, bytes, Some(tree)),
        LockfileFormat::SpdxJson => parse::spdx::parse(path, bytes),
        LockfileFormat::CyclonedxJson => parse::cyclonedx::parse(path, bytes),
    }
}

/// Every lockfile and SBOM in `tree`, each parsed into its own graph, sorted
/// by path.
pub fn read_graphs(tree: &dyn InputTree) -> Result<Vec<DependencyGraph>, ParseError> {
    let paths = tree.paths().map_err(|e| io_error(tree, "", e))?;
    let all: BTreeSet<String> = paths.iter().cloned().collect();
    let mut graphs = Vec::new();
    for path in &all {
        // go.mod files inside a vendor directory are not modules of the tree.
        if !may_be_input(path)
            || ((path.starts_with("vendor/") || path.contains("/vendor/")) && path.ends_with("go.mod"))
        {
            continue;
        }
        let bytes = tree.read(path).map_err(|e| io_error(tree, path, e))?;
        let Some(format) = detect(path, &bytes) else { continue };
        if format == LockfileFormat::PipRequirements {
            // A dependency list that pins nothing is not a lock: skip it.
            if !parse::requirements::pins_anything_bytes(&bytes) {
                continue;
            }
        }
        graphs.push(parse_file(tree, &all, path, format, &bytes)?);
    }
    graphs.sort_by(|a, b| a.source.path.cmp(&b.source.path));
    Ok(graphs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("crates/*", "crates/cli"));
        assert!(!glob_match("crates/*", "crates/cli/x"));
        assert!(glob_match("./tools/x", "tools/x"));
        assert!(segment_match(b"a*c", b"abbbc"));
        assert!(!segment_match(b"a*c", b"abbb"));
    }

    #[test]
    fn an_empty_file_is_an_empty_graph_with_a_warning() {
        let tree = crate::source::MemoryTree::single("poetry.lock", b"\n".to_vec());
        let g = read_graphs(&tree).unwrap();
        assert_eq!(g.len(), 1);
        assert!(g[0].packages.is_empty());
        assert_eq!(g[0].warnings, ["poetry.lock: empty file; no packages"]);
        let tree = crate::source::MemoryTree::single("pnpm-lock.yaml", b"# this is an empty file!\n".to_vec());
        assert!(read_graphs(&tree).unwrap()[0].packages.is_empty());
        // JSON has no comments: `#` is not JSON.
        let tree = crate::source::MemoryTree::single("package-lock.json", b"# x\n".to_vec());
        assert!(read_graphs(&tree).is_err());
    }

    #[test]
    fn detects_by_name_and_content() {
        assert_eq!(detect("x/Cargo.lock", b""), Some(LockfileFormat::CargoLock));
        assert_eq!(detect("old.Cargo.lock", b""), Some(LockfileFormat::CargoLock));
        assert_eq!(detect("MyCargo.lock", b""), None);
        assert_eq!(detect("yarn.lock", b"# c\n\n__metadata:\n  version: 8\n"), Some(LockfileFormat::YarnBerry));
        assert_eq!(detect("yarn.lock", b"# yarn lockfile v1\n"), Some(LockfileFormat::YarnClassic));
        assert_eq!(detect("req/requirements-dev.txt", b""), Some(LockfileFormat::PipRequirements));
        assert_eq!(detect("requirements/base.txt", b""), Some(LockfileFormat::PipRequirements));
        assert_eq!(detect("notes.txt", b""), None);
        assert_eq!(detect("sbom.json", b"{\"spdxVersion\": \"SPDX-2.3\"}"), Some(LockfileFormat::SpdxJson));
        assert_eq!(detect("out.json", b"{\"bomFormat\": \"CycloneDX\"}"), Some(LockfileFormat::CyclonedxJson));
        assert_eq!(detect("other.json", b"{\"name\": 1}"), None);
    }
}
