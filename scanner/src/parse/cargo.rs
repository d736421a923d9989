//! `Cargo.lock` versions 1 to 4.
//!
//! v1 has no `version` line and keeps checksums in `[metadata]`; v2 has no
//! `version` line either but short dependency strings; v3 and v4 say
//! `version = 3|4`. Dependency strings are `name`, `name version` or
//! `name version (source)` and resolve to exactly one `[[package]]`.
//!
//! Roots: the packages named by the `Cargo.toml` manifests handed in (the
//! one beside the lockfile and its workspace members' manifests). Without
//! them, every package without a `source` (workspace members *and* local path
//! dependencies, which the lockfile cannot tell apart) is a root.

use super::Companion;
use super::common::{GraphBuilder, decode, from_toml, loc_at, package, purl};
use crate::model::{DependencyGraph, Ecosystem, LockfileFormat, ParseError};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use toml::Spanned;

#[derive(Deserialize)]
struct Lock<'a> {
    version: Option<Spanned<i64>>,
    #[serde(default, borrow)]
    package: Vec<LockPackage<'a>>,
}

#[derive(Deserialize)]
struct LockPackage<'a> {
    #[serde(borrow)]
    name: Spanned<Cow<'a, str>>,
    #[serde(borrow)]
    version: Cow<'a, str>,
    #[serde(borrow)]
    source: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    dependencies: Vec<Spanned<Cow<'a, str>>>,
}

#[derive(Deserialize, Default)]
struct Manifest<'a> {
    #[serde(borrow)]
    package: Option<ManifestPackage<'a>>,
    #[serde(borrow)]
    workspace: Option<Workspace<'a>>,
}

#[derive(Deserialize)]
struct ManifestPackage<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct Workspace<'a> {
    #[serde(default, borrow)]
    members: Vec<Cow<'a, str>>,
    #[serde(default, borrow)]
    exclude: Vec<Cow<'a, str>>,
}

/// Supported `version` values (a missing line means v1 or v2).
pub const SUPPORTED_VERSIONS: &[i64] = &[1, 2, 3, 4];

/// The `[workspace] members` and `exclude` patterns of a `Cargo.toml`, so a
/// caller can find the member manifests (discovery does).
pub fn workspace_members(file: &str, bytes: &[u8]) -> Result<(Vec<String>, Vec<String>), ParseError> {
    let text = decode(file, bytes)?;
    let m: Manifest<'_> = from_toml(file, text)?;
    let ws = m.workspace.unwrap_or_default();
    Ok((ws.members.iter().map(|s| s.to_string()).collect(), ws.exclude.iter().map(|s| s.to_string()).collect()))
}

/// Parses a `Cargo.lock`. `manifests` are the `Cargo.toml` beside it and,
/// optionally, its workspace members' manifests; their `[package] name`s
/// are the roots.
pub fn parse(file: &str, bytes: &[u8], manifests: &[Companion<'_>]) -> Result<DependencyGraph, ParseError> {
    let text = decode(file, bytes)?;
    let lock: Lock<'_> = from_toml(file, text)?;
    if let Some(v) = lock.version.as_ref().filter(|v| !SUPPORTED_VERSIONS.contains(v.get_ref())) {
        return Err(ParseError::new(
            file,
            format!("unsupported Cargo.lock version {} (supported: 1, 2, 3, 4)", v.get_ref()),
        )
        .at(loc_at(text, v.span().start)));
    }

    let mut root_names: HashSet<String> = HashSet::new();
    for m in manifests {
        let mtext = decode(m.path, m.bytes)?;
        let manifest: Manifest<'_> = from_toml(m.path, mtext)?;
        if let Some(name) = manifest.package.and_then(|p| p.name) {
            root_names.insert(name.into_owned());
        }
    }

    let mut b = GraphBuilder::new(file, LockfileFormat::CargoLock);
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut idx_of = Vec::with_capacity(lock.package.len());
    for p in &lock.package {
        let name = p.name.get_ref().as_ref();
        let mut pkg = package(name, &p.version, Ecosystem::Cargo, p.source.as_ref().map(|s| s.to_string()));
        if p.source.as_deref().is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+")) {
            pkg.purl = purl::for_package(Ecosystem::Cargo, name, &p.version);
        }
        let i = b.add(pkg);
        idx_of.push(i);
        by_name.entry(name).or_default().push(idx_of.len() - 1);
    }

    for (pi, p) in lock.package.iter().enumerate() {
        for dep in &p.dependencies {
            let target = resolve(&lock.package, &by_name, dep.get_ref()).map_err(|msg| {
                ParseError::new(file, format!("package `{}`: {msg}", p.name.get_ref()))
                    .at(loc_at(text, dep.span().start))
            })?;
            b.edge(idx_of[pi], idx_of[target]);
        }
    }

    let sourceless: Vec<usize> = (0..lock.package.len()).filter(|&i| lock.package[i].source.is_none()).collect();
    let named: Vec<usize> =
        sourceless.iter().copied().filter(|&i| root_names.contains(lock.package[i].name.get_ref().as_ref())).collect();
    let roots = if named.is_empty() { sourceless } else { named };
    for i in roots {
        b.root(idx_of[i]);
    }
    Ok(b.finish())
}

/// Resolves `name`, `name version` or `name version (source)` to the index
/// of exactly one lock package.
fn resolve(packages: &[LockPackage<'_>], by_name: &HashMap<&str, Vec<usize>>, dep: &str) -> Result<usize, String> {
    let mut parts = dep.splitn(3, ' ');
    let name = parts.next().unwrap_or("");
    let version = parts.next();
    let source = parts.next().map(|s| s.trim().trim_start_matches('(').trim_end_matches(')'));
    let candidates = by_name.get(name).map(Vec::as_slice).unwrap_or(&[]);
    let matching: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| version.is_none_or(|v| packages[i].version == v))
        .filter(|&i| source.is_none_or(|s| packages[i].source.as_deref() == Some(s)))
        .collect();
    match matching.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!("dependency `{dep}` names no package in the lockfile")),
        _ => Err(format!("dependency `{dep}` is ambiguous: {} packages match", matching.len())),
    }
}
