//! `poetry.lock`, lock-version 1.x and 2.x (a lock without `lock-version`,
//! written by Poetry before 1.1, is read as 1.0).
//!
//! Each `[[package]]` is a node; `[package.dependencies]` names its edges
//! (whatever the constraint, markers or extras: the lock lists what was
//! resolved, so an edge exists when the named package is in the lock).
//!
//! Roots: poetry.lock has no entry for the project itself, so a synthetic root
//! stands for it. With the `pyproject.toml` beside the lock, the root is named
//! after the project and its direct dependencies are the ones the manifest
//! declares (`[project] dependencies` and `optional-dependencies`,
//! `[tool.poetry.dependencies]`, and, as dev, `[tool.poetry.dev-dependencies]`,
//! `[tool.poetry.group.*.dependencies]` and `[dependency-groups]`). Without
//! it, every package that no other package depends on is treated as a direct
//! dependency (plus one member of any dependency cycle nothing else reaches).
//!
//! `dev`: lock-version 1.x `category = "dev"`; 2.x `groups` without `main`.

use super::Companion;
use super::common::{Entries, GraphBuilder, connect_orphans, decode, from_toml, loc_at, package, purl, synthetic_root};
use crate::model::{DependencyGraph, Ecosystem, LockfileFormat, PackageIndex, ParseError};
use crate::names::pep503;
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::borrow::Cow;
use std::collections::HashMap;
use toml::Spanned;

#[derive(Deserialize)]
struct Lock<'a> {
    #[serde(default, borrow)]
    package: Vec<LockPackage<'a>>,
    #[serde(borrow)]
    metadata: Option<Metadata<'a>>,
}

#[derive(Deserialize)]
struct Metadata<'a> {
    #[serde(rename = "lock-version", borrow)]
    lock_version: Option<Spanned<Cow<'a, str>>>,
}

#[derive(Deserialize)]
struct LockPackage<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    version: Cow<'a, str>,
    #[serde(borrow)]
    category: Option<Cow<'a, str>>,
    #[serde(borrow)]
    groups: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow)]
    source: Option<Source<'a>>,
    #[serde(default, borrow)]
    dependencies: Entries<Cow<'a, str>, IgnoredAny>,
}

#[derive(Deserialize)]
struct Source<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    url: Option<Cow<'a, str>>,
    #[serde(borrow)]
    reference: Option<Cow<'a, str>>,
    #[serde(borrow)]
    resolved_reference: Option<Cow<'a, str>>,
}

/// The parts of a `pyproject.toml` that name the project and its direct
/// dependencies (shared with the uv parser's documentation of roots).
#[derive(Deserialize, Default)]
pub(crate) struct PyProject<'a> {
    #[serde(borrow)]
    project: Option<Project<'a>>,
    #[serde(borrow)]
    tool: Option<Tool<'a>>,
    #[serde(default, borrow, rename = "dependency-groups")]
    dependency_groups: Entries<Cow<'a, str>, Vec<GroupItem<'a>>>,
}

#[derive(Deserialize, Default)]
struct Project<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    dependencies: Vec<Cow<'a, str>>,
    #[serde(default, borrow, rename = "optional-dependencies")]
    optional_dependencies: Entries<Cow<'a, str>, Vec<Cow<'a, str>>>,
}

#[derive(Deserialize, Default)]
struct Tool<'a> {
    #[serde(borrow)]
    poetry: Option<ToolPoetry<'a>>,
}

#[derive(Deserialize, Default)]
struct ToolPoetry<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    dependencies: Entries<Cow<'a, str>, IgnoredAny>,
    #[serde(default, borrow, rename = "dev-dependencies")]
    dev_dependencies: Entries<Cow<'a, str>, IgnoredAny>,
    #[serde(default, borrow)]
    group: Entries<Cow<'a, str>, PoetryGroup<'a>>,
}

#[derive(Deserialize, Default)]
struct PoetryGroup<'a> {
    #[serde(default, borrow)]
    dependencies: Entries<Cow<'a, str>, IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum GroupItem<'a> {
    Requirement(#[serde(borrow)] Cow<'a, str>),
    Include(IgnoredAny),
}

/// The project name of a PEP 508 requirement (`requests[socks]>=2; …`).
pub(crate) fn requirement_name(req: &str) -> &str {
    let req = req.trim();
    let end = req.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')).unwrap_or(req.len());
    &req[..end]
}

/// Name, version and `(normalized dependency name, dev)` of a pyproject.
pub(crate) type ProjectDeps = (Option<String>, Option<String>, Vec<(String, bool)>);

/// Reads a pyproject's name, version and direct dependencies.
pub(crate) fn read_pyproject(c: Companion<'_>) -> Result<ProjectDeps, ParseError> {
    let text = decode(c.path, c.bytes)?;
    let p: PyProject<'_> = from_toml(c.path, text)?;
    let mut deps: Vec<(String, bool)> = Vec::new();
    let project = p.project.unwrap_or_default();
    let poetry = p.tool.and_then(|t| t.poetry).unwrap_or_default();
    for r in &project.dependencies {
        deps.push((pep503(requirement_name(r)), false));
    }
    for (_, reqs) in &project.optional_dependencies.0 {
        for r in reqs {
            deps.push((pep503(requirement_name(r)), false));
        }
    }
    for (n, _) in &poetry.dependencies.0 {
        if n != "python" {
            deps.push((pep503(n), false));
        }
    }
    for (n, _) in &poetry.dev_dependencies.0 {
        deps.push((pep503(n), true));
    }
    for (g, group) in &poetry.group.0 {
        for (n, _) in &group.dependencies.0 {
            deps.push((pep503(n), g != "main"));
        }
    }
    for (_, items) in &p.dependency_groups.0 {
        for item in items {
            if let GroupItem::Requirement(r) = item {
                deps.push((pep503(requirement_name(r)), true));
            }
        }
    }
    let name = project.name.or(poetry.name).map(Cow::into_owned);
    let version = project.version.or(poetry.version).map(Cow::into_owned);
    Ok((name, version, deps))
}

/// Parses a `poetry.lock`; `pyproject` is the `pyproject.toml` beside it.
pub fn parse(file: &str, bytes: &[u8], pyproject: Option<Companion<'_>>) -> Result<DependencyGraph, ParseError> {
    let text = decode(file, bytes)?;
    let lock: Lock<'_> = from_toml(file, text)?;
    if let Some(v) = lock.metadata.as_ref().and_then(|m| m.lock_version.as_ref()) {
        let major = v.get_ref().split('.').next().unwrap_or("");
        if major != "1" && major != "2" {
            return Err(ParseError::new(
                file,
                format!("unsupported poetry lock-version `{}` (supported: 1.x, 2.x)", v.get_ref()),
            )
            .at(loc_at(text, v.span().start)));
        }
    } else if lock.package.is_empty() && lock.metadata.is_none() {
        return Err(ParseError::new(file, "no `[[package]]` and no `[metadata]`: not a poetry.lock"));
    }

    let mut b = GraphBuilder::new(file, LockfileFormat::PoetryLock);
    let mut by_name: HashMap<String, Vec<PackageIndex>> = HashMap::new();
    let mut nodes = Vec::with_capacity(lock.package.len());
    for p in &lock.package {
        let (source, registry) = match &p.source {
            None => (super::REGISTRY_UNSPECIFIED.to_string(), true),
            Some(s) => {
                let url = s.url.as_deref().unwrap_or("");
                match s.kind.as_deref().unwrap_or("") {
                    "git" => {
                        let r = s.resolved_reference.as_deref().or(s.reference.as_deref());
                        (r.map_or_else(|| format!("git+{url}"), |r| format!("git+{url}#{r}")), false)
                    }
                    "directory" | "file" => (format!("path+{url}"), false),
                    "legacy" => (url.to_string(), true),
                    _ => (url.to_string(), false),
                }
            }
        };
        let mut pkg = package(&p.name, &p.version, Ecosystem::Pypi, Some(source));
        if registry {
            pkg.purl = purl::for_package(Ecosystem::Pypi, &p.name, &p.version);
        }
        pkg.dev = p.category.as_deref() == Some("dev")
            || p.groups.as_ref().is_some_and(|g| !g.is_empty() && !g.iter().any(|g| g == "main"));
        let i = b.add(pkg);
        nodes.push(i);
        by_name.entry(pep503(&p.name)).or_default().push(i);
    }
    for (p, &from) in lock.package.iter().zip(&nodes) {
        for (dep, _) in &p.dependencies.0 {
            for &to in by_name.get(&pep503(dep)).map(Vec::as_slice).unwrap_or(&[]) {
                b.edge(from, to);
            }
        }
    }

    match pyproject {
        Some(c) => {
            let (name, version, deps) = read_pyproject(c)?;
            let root = b.add(synthetic_root(
                name.as_deref().unwrap_or(file),
                version.as_deref().unwrap_or(""),
                Ecosystem::Pypi,
            ));
            b.root(root);
            for (dep, _dev) in deps {
                for &to in by_name.get(&dep).map(Vec::as_slice).unwrap_or(&[]) {
                    b.edge(root, to);
                }
            }
        }
        None => {
            let root = b.add(synthetic_root(file, "", Ecosystem::Pypi));
            b.root(root);
            connect_orphans(&mut b, root);
        }
    }
    Ok(b.finish())
}
