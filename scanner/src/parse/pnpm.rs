//! `pnpm-lock.yaml`, lockfileVersion 5.x (pnpm 6–7), 6.x, 7.x (the v9
//! pre-release) and 9.x.
//!
//! v5 keys packages as `/name/version_peer@x` and references them by
//! `version_peer@x` (or by a key, for aliases and git or tarball packages).
//! Packages keyed by a tarball URL or a git path (`github.com/o/r/commit`,
//! `@codeload.github.com/…`) take their name and version from the entry's
//! `name` and `version`; a key the parser cannot read is a warning naming it,
//! and the rest of the lock is read. A stream of several YAML documents
//! (pnpm 9 may write the lockfile of its own environment first) is read by
//! taking the last document that has a `lockfileVersion`.
//!
//! v6 keys packages as `/name@version(peer@x)` and keeps their dependencies
//! in `packages`; v9 keys them `name@version`, keeps metadata in `packages`
//! and dependencies in `snapshots` keyed `name@version(peer@x)`. The parser
//! goes by structure, not by the version string: a leading `/` is dropped,
//! peer suffixes `(…)` map to the base package, and dependencies are read
//! from both maps. Each importer (`.`, `packages/web`…) is a root named by its
//! importer path; a lock without `importers` (single-project v6) has one
//! importer `.` made of its top-level `dependencies`.
//!
//! pnpm does not record registry URLs, so registry packages get
//! [`super::REGISTRY_UNSPECIFIED`] as `source`. `dev`: packages reachable only
//! through some importer's `devDependencies`.

use super::common::{
    Entries, GraphBuilder, Scalar, decode, from_yaml_documents, join_path, mark_dev, package, path_key, purl,
    split_npm_spec,
};
use super::lines::pnpm_entry_lines;
use crate::model::{DependencyGraph, Ecosystem, LockfileFormat, PackageIndex, ParseError};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

type DepMap<'a> = Entries<Scalar<'a>, DepRef<'a>>;

#[derive(Deserialize)]
struct Lock<'a> {
    #[serde(rename = "lockfileVersion", borrow)]
    lockfile_version: Option<Scalar<'a>>,
    #[serde(default, borrow)]
    importers: Entries<Scalar<'a>, Importer<'a>>,
    #[serde(default, borrow)]
    dependencies: DepMap<'a>,
    #[serde(default, borrow, rename = "devDependencies")]
    dev_dependencies: DepMap<'a>,
    #[serde(default, borrow, rename = "optionalDependencies")]
    optional_dependencies: DepMap<'a>,
    #[serde(default, borrow)]
    packages: Entries<Scalar<'a>, PackageEntry<'a>>,
    #[serde(default, borrow)]
    snapshots: Entries<Scalar<'a>, Snapshot<'a>>,
}

#[derive(Deserialize, Default)]
struct Importer<'a> {
    #[serde(default, borrow)]
    dependencies: DepMap<'a>,
    #[serde(default, borrow, rename = "devDependencies")]
    dev_dependencies: DepMap<'a>,
    #[serde(default, borrow, rename = "optionalDependencies")]
    optional_dependencies: DepMap<'a>,
}

/// `version` (v5 style) or `{ specifier, version }` (v6+).
#[derive(Deserialize)]
#[serde(untagged)]
enum DepRef<'a> {
    Plain(#[serde(borrow)] Scalar<'a>),
    Spec {
        #[serde(borrow)]
        version: Scalar<'a>,
    },
}

impl DepRef<'_> {
    fn version(&self) -> &str {
        match self {
            DepRef::Plain(s) | DepRef::Spec { version: s } => s.as_str(),
        }
    }
}

#[derive(Deserialize, Default)]
struct PackageEntry<'a> {
    #[serde(default, borrow)]
    resolution: Option<Resolution<'a>>,
    #[serde(default, borrow)]
    name: Option<Scalar<'a>>,
    #[serde(default, borrow)]
    version: Option<Scalar<'a>>,
    #[serde(default, borrow)]
    dependencies: Entries<Scalar<'a>, Scalar<'a>>,
    #[serde(default, borrow, rename = "optionalDependencies")]
    optional_dependencies: Entries<Scalar<'a>, Scalar<'a>>,
}

#[derive(Deserialize, Default)]
struct Resolution<'a> {
    #[serde(default, borrow)]
    tarball: Option<Scalar<'a>>,
    #[serde(default, borrow)]
    repo: Option<Scalar<'a>>,
    #[serde(default, borrow)]
    commit: Option<Scalar<'a>>,
    #[serde(default, borrow)]
    directory: Option<Scalar<'a>>,
    #[serde(default, borrow)]
    integrity: Option<Scalar<'a>>,
}

#[derive(Deserialize, Default)]
struct Snapshot<'a> {
    #[serde(default, borrow)]
    dependencies: Entries<Scalar<'a>, Scalar<'a>>,
    #[serde(default, borrow, rename = "optionalDependencies")]
    optional_dependencies: Entries<Scalar<'a>, Scalar<'a>>,
}

/// Supported lockfileVersion majors.
pub const SUPPORTED_MAJORS: &[&str] = &["5", "6", "7", "9"];

/// `/name@1.0.0(peer@2)` → `name@1.0.0`.
fn base_key(key: &str) -> &str {
    let k = key.strip_prefix('/').unwrap_or(key);
    match k.find('(') {
        Some(i) if i > 0 => &k[..i],
        _ => k,
    }
}

/// A v5 key `/name/1.0.0_peer@2` (`/@scope/name/1.0.0`, or with the
/// registry's host first: `registry.npmjs.org/name/1.0.0`) → `(name, 1.0.0)`.
fn v5_name_version(key: &str) -> Option<(&str, &str)> {
    let k = match key.strip_prefix('/') {
        Some(k) => k,
        None => {
            let (host, rest) = key.split_once('/')?;
            if !host.contains('.') || rest.matches('/').count() > 2 {
                return None;
            }
            rest
        }
    };
    let slash = k.rfind('/')?;
    let (name, version) = (&k[..slash], &k[slash + 1..]);
    let version = version.split('_').next().unwrap_or(version);
    let scoped_ok = !name.starts_with('@') || name.matches('/').count() == 1;
    let plain_ok = name.starts_with('@') || !name.contains('/');
    (!name.is_empty() && !version.is_empty() && scoped_ok && plain_ok).then_some((name, version))
}

/// The package a dependency reference points to: the reference itself
/// when it is a key (aliases, git and tarball packages, v5 `/name/version`),
/// else `name@version` with any peer suffix (`(…)` or v5's `_…`) removed.
fn lookup(by_key: &HashMap<String, PackageIndex>, name: &str, reference: &str) -> Option<PackageIndex> {
    if let Some(&i) = by_key.get(base_key(reference)) {
        return Some(i);
    }
    let head = reference.split('(').next().unwrap_or(reference);
    let head = head.split('_').next().unwrap_or(head);
    if let Some(&i) = by_key.get(base_key(head)) {
        return Some(i);
    }
    by_key.get(&format!("{name}@{head}")).copied()
}

/// Parses a `pnpm-lock.yaml`.
pub fn parse(file: &str, bytes: &[u8]) -> Result<DependencyGraph, ParseError> {
    let text = decode(file, bytes)?;
    let docs: Vec<Lock<'_>> = from_yaml_documents(file, text)?;
    let lines = pnpm_entry_lines(text);
    let several = docs.len() > 1;
    // pnpm 9 writes the lockfile of its own environment (pnpm itself, as
    // `packageManagerDependencies`) as a first document and the project's
    // lockfile last: the last document with a `lockfileVersion` is the one.
    let mut lock = docs
        .into_iter()
        .rev()
        .reduce(|last, d| if last.lockfile_version.is_some() { last } else { d })
        .ok_or_else(|| ParseError::new(file, "empty YAML stream: not a pnpm lockfile"))?;
    let version = lock.lockfile_version.as_ref().ok_or_else(|| {
        ParseError::new(file, "no `lockfileVersion`: not a pnpm lockfile (supported: 5.x, 6.x, 7.x, 9.x)")
    })?;
    let major = version.as_str().trim_start_matches('\'').split('.').next().unwrap_or("");
    if !SUPPORTED_MAJORS.contains(&major) {
        return Err(ParseError::new(
            file,
            format!("unsupported pnpm lockfileVersion {} (supported: 5.x, 6.x, 7.x, 9.x)", version.as_str()),
        )
        .at("lockfileVersion"));
    }

    let v5 = major == "5";
    let mut b = GraphBuilder::new(file, LockfileFormat::PnpmLock);
    if several {
        b.warn(format!("{file}: several YAML documents; read the last one with a `lockfileVersion`"));
    }
    let mut by_key: HashMap<String, PackageIndex> = HashMap::new();
    for (key, e) in &lock.packages.0 {
        let base = base_key(key.as_str());
        if by_key.contains_key(base) {
            continue;
        }
        let from_key = if v5 { v5_name_version(key.as_str()) } else { None }.or_else(|| split_npm_spec(base));
        let (name, version) = match (&e.name, &e.version, from_key) {
            (Some(n), Some(v), _) => (n.as_str(), v.as_str()),
            (n, v, Some((kn, kv))) => (n.as_ref().map_or(kn, Scalar::as_str), v.as_ref().map_or(kv, Scalar::as_str)),
            (_, _, None) => {
                b.warn(format!(
                    "{file}: {}: key is not `name@version` and the entry has no `name` and `version`; skipped",
                    path_key("packages", key.as_str())
                ));
                continue;
            }
        };
        let res = e.resolution.as_ref();
        let local = res.and_then(|r| r.directory.as_ref()).map(|d| format!("path+{}", d.as_str()));
        let source = if let Some(t) = res.and_then(|r| r.tarball.as_ref()) {
            t.as_str().to_string()
        } else if let Some(repo) = res.and_then(|r| r.repo.as_ref()) {
            match res.and_then(|r| r.commit.as_ref()) {
                Some(c) => format!("git+{}#{}", repo.as_str(), c.as_str()),
                None => format!("git+{}", repo.as_str()),
            }
        } else if let Some(l) = local.clone() {
            l
        } else {
            super::REGISTRY_UNSPECIFIED.to_string()
        };
        let mut p = package(name, version, Ecosystem::Npm, Some(source));
        p.line = lines.packages.get(key.as_str()).copied();
        p.integrity = res.and_then(|r| r.integrity.as_ref()).map(|i| i.as_str().to_owned());
        if local.is_none() {
            p.purl = purl::for_package(Ecosystem::Npm, name, version);
        }
        let i = b.add(p);
        by_key.insert(base.to_string(), i);
        by_key.entry(format!("{name}@{version}")).or_insert(i);
    }
    // Snapshots whose base package is missing from `packages` still exist.
    for (key, _) in &lock.snapshots.0 {
        let base = base_key(key.as_str());
        if by_key.contains_key(base) {
            continue;
        }
        let Some((name, version)) = split_npm_spec(base) else {
            b.warn(format!("{file}: {}: key is not `name@version`; skipped", path_key("snapshots", key.as_str())));
            continue;
        };
        let mut p = package(name, version, Ecosystem::Npm, Some(super::REGISTRY_UNSPECIFIED.to_string()));
        p.line = lines.snapshots.get(key.as_str()).copied();
        p.purl = purl::for_package(Ecosystem::Npm, name, version);
        let i = b.add(p);
        by_key.insert(base.to_string(), i);
    }

    // Importers are the roots.
    if lock.importers.0.is_empty() {
        lock.importers.0.push((
            Scalar(".".into()),
            Importer {
                dependencies: std::mem::take(&mut lock.dependencies),
                dev_dependencies: std::mem::take(&mut lock.dev_dependencies),
                optional_dependencies: std::mem::take(&mut lock.optional_dependencies),
            },
        ));
    }
    let mut importer_node: HashMap<String, PackageIndex> = HashMap::new();
    for (id, _) in &lock.importers.0 {
        let i = b.add(package(id.as_str(), "", Ecosystem::Npm, None));
        b.root(i);
        importer_node.insert(normalize_importer(id.as_str()), i);
    }

    let mut dev_edges = HashSet::new();
    for (id, imp) in &lock.importers.0 {
        let from = importer_node[&normalize_importer(id.as_str())];
        for (deps, is_dev) in
            [(&imp.dependencies, false), (&imp.optional_dependencies, false), (&imp.dev_dependencies, true)]
        {
            for (name, r) in &deps.0 {
                let target = if let Some(rel) = r.version().strip_prefix("link:") {
                    join_path(&normalize_importer(id.as_str()), rel).and_then(|p| importer_node.get(&p).copied())
                } else {
                    lookup(&by_key, name.as_str(), r.version())
                };
                if let Some(to) = target {
                    b.edge(from, to);
                    if is_dev {
                        dev_edges.insert((from, to));
                    }
                }
            }
        }
    }

    let pkg_deps = lock.packages.0.iter().map(|(k, e)| (k, &e.dependencies, &e.optional_dependencies));
    let snap_deps = lock.snapshots.0.iter().map(|(k, s)| (k, &s.dependencies, &s.optional_dependencies));
    for (key, deps, optional) in pkg_deps.chain(snap_deps) {
        let Some(&from) = by_key.get(base_key(key.as_str())) else { continue };
        for (name, reference) in deps.0.iter().chain(optional.0.iter()) {
            let target = match reference.as_str().strip_prefix("link:") {
                Some(rel) => join_path("", rel).and_then(|p| importer_node.get(&p).copied()),
                None => lookup(&by_key, name.as_str(), reference.as_str()),
            };
            if let Some(to) = target {
                b.edge(from, to);
            }
        }
    }

    let mut g = b.finish();
    mark_dev(&mut g, &dev_edges);
    Ok(g)
}

/// Importer ids as relative paths: `.` → ``, `./a` → `a`.
fn normalize_importer(id: &str) -> String {
    join_path("", id).unwrap_or_else(|| id.to_string())
}
