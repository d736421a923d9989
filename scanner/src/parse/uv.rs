//! `uv.lock`, `version = 1` (any `revision`).
//!
//! Each `[[package]]` is a node. Packages whose `source` is
//! `{ editable = … }` or `{ virtual = … }` (the project and its workspace
//! members), and packages named in `[manifest] members`, are the roots.
//! `dependencies`, `optional-dependencies` and `dev-dependencies` name edges
//! by `name`, disambiguated by `version`/`source` when uv wrote them (it does
//! when one name resolves to several packages, e.g. per-platform forks).
//! `dev`: packages reachable only through some package's `dev-dependencies`.

use super::common::{Entries, GraphBuilder, decode, from_toml, loc_at, mark_dev, package, purl};
use crate::model::{DependencyGraph, Ecosystem, LockfileFormat, PackageIndex, ParseError};
use crate::names::pep503;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use toml::Spanned;

#[derive(Deserialize)]
struct Lock<'a> {
    version: Option<Spanned<i64>>,
    #[serde(default, borrow)]
    package: Vec<LockPackage<'a>>,
    #[serde(borrow)]
    manifest: Option<Manifest<'a>>,
}

#[derive(Deserialize)]
struct Manifest<'a> {
    #[serde(default, borrow)]
    members: Vec<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct LockPackage<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    source: Option<Source<'a>>,
    #[serde(default, borrow)]
    dependencies: Vec<Dep<'a>>,
    #[serde(default, borrow, rename = "optional-dependencies")]
    optional_dependencies: Entries<Cow<'a, str>, Vec<Dep<'a>>>,
    #[serde(default, borrow, rename = "dev-dependencies")]
    dev_dependencies: Entries<Cow<'a, str>, Vec<Dep<'a>>>,
}

#[derive(Deserialize, PartialEq, Eq, Default)]
struct Source<'a> {
    #[serde(borrow)]
    registry: Option<Cow<'a, str>>,
    #[serde(borrow)]
    editable: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "virtual")]
    virtual_: Option<Cow<'a, str>>,
    #[serde(borrow)]
    git: Option<Cow<'a, str>>,
    #[serde(borrow)]
    path: Option<Cow<'a, str>>,
    #[serde(borrow)]
    directory: Option<Cow<'a, str>>,
    #[serde(borrow)]
    url: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Dep<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    source: Option<Source<'a>>,
}

/// Supported `version` values.
pub const SUPPORTED_VERSIONS: &[i64] = &[1];

/// Parses a `uv.lock`.
pub fn parse(file: &str, bytes: &[u8]) -> Result<DependencyGraph, ParseError> {
    let text = decode(file, bytes)?;
    let lock: Lock<'_> = from_toml(file, text)?;
    match &lock.version {
        None => return Err(ParseError::new(file, "no `version`: not a uv.lock (supported version: 1)")),
        Some(v) if !SUPPORTED_VERSIONS.contains(v.get_ref()) => {
            return Err(ParseError::new(file, format!("unsupported uv.lock version {} (supported: 1)", v.get_ref()))
                .at(loc_at(text, v.span().start)));
        }
        Some(_) => {}
    }
    let members: HashSet<String> = lock.manifest.iter().flat_map(|m| m.members.iter().map(|n| pep503(n))).collect();

    let mut b = GraphBuilder::new(file, LockfileFormat::UvLock);
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    let mut nodes: Vec<PackageIndex> = Vec::with_capacity(lock.package.len());
    let none = Source::default();
    for (li, p) in lock.package.iter().enumerate() {
        let s = p.source.as_ref().unwrap_or(&none);
        let project = s.editable.is_some() || s.virtual_.is_some() || members.contains(&pep503(&p.name));
        let source = if project {
            None
        } else if let Some(r) = &s.registry {
            Some(r.to_string())
        } else if let Some(g) = &s.git {
            Some(if g.starts_with("git+") { g.to_string() } else { format!("git+{g}") })
        } else if let Some(u) = &s.url {
            Some(u.to_string())
        } else if let Some(d) = s.path.as_ref().or(s.directory.as_ref()) {
            Some(format!("path+{d}"))
        } else {
            Some(super::REGISTRY_UNSPECIFIED.to_string())
        };
        let version = p.version.as_deref().unwrap_or("");
        let mut pkg = package(&p.name, version, Ecosystem::Pypi, source);
        if s.registry.is_some() {
            pkg.purl = purl::for_package(Ecosystem::Pypi, &p.name, version);
        }
        let i = b.add(pkg);
        nodes.push(i);
        if project {
            b.root(i);
        }
        by_name.entry(pep503(&p.name)).or_default().push(li);
    }

    let resolve = |d: &Dep<'_>| -> Vec<PackageIndex> {
        let candidates = by_name.get(&pep503(&d.name)).map(Vec::as_slice).unwrap_or(&[]);
        if candidates.len() <= 1 {
            return candidates.iter().map(|&li| nodes[li]).collect();
        }
        candidates
            .iter()
            .copied()
            .filter(|&li| d.version.is_none() || lock.package[li].version == d.version)
            .filter(|&li| d.source.is_none() || lock.package[li].source == d.source)
            .map(|li| nodes[li])
            .collect()
    };
    let mut dev_edges = HashSet::new();
    for (p, &from) in lock.package.iter().zip(&nodes) {
        let optional = p.optional_dependencies.0.iter().flat_map(|(_, deps)| deps.iter());
        for d in p.dependencies.iter().chain(optional) {
            for to in resolve(d) {
                b.edge(from, to);
            }
        }
        for d in p.dev_dependencies.0.iter().flat_map(|(_, deps)| deps.iter()) {
            for to in resolve(d) {
                b.edge(from, to);
                dev_edges.insert((from, to));
            }
        }
    }
    let mut g = b.finish();
    mark_dev(&mut g, &dev_edges);
    Ok(g)
}
