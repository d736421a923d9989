//! npm `package-lock.json` / `npm-shrinkwrap.json`, lockfileVersion 1, 2, 3.
//!
//! v2 and v3 are read from the `packages` map, keyed by install path
//! (`""` is the project, `node_modules/a/node_modules/b` a nested copy,
//! `packages/x` a workspace folder). A dependency of the package at path `P`
//! resolves by Node's rule: `P/node_modules/name`, then each ancestor's
//! `node_modules/name`, up to the top. `link: true` entries stand for their
//! `resolved` target (workspaces). v1 has only the nested `dependencies`
//! tree; it is flattened to the same install paths (with an explicit stack)
//! and `requires` resolve the same way.
//!
//! Roots: the project (`packages[""]`, or the top-level name/version of a v1
//! lock) and every workspace folder. A v1 lock does not list the project's
//! own dependencies: with the `package.json` beside it they come from there;
//! without it every top-level package nothing else requires is taken as a
//! direct dependency.
//!
//! `dev` is npm's `dev` flag (`devOptional` packages are installed when dev
//! *or* optional dependencies are, so they are not dev-only). A dependency
//! that is missing from the lock (usually an optional platform package) is
//! skipped, not an error.

use super::Companion;
use super::common::{
    Entries, GraphBuilder, LenientStr, LicenseField, connect_orphans, decode, from_json, package, path_key, purl,
    split_npm_spec,
};
use super::lines::{NpmTree, npm_entry_lines};
use crate::model::{DependencyGraph, Ecosystem, LockfileFormat, PackageIndex, ParseError, RawLicense};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

#[derive(Deserialize)]
struct Lock<'a> {
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Option<serde_json::Number>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    packages: Option<Entries<Cow<'a, str>, Entry<'a>>>,
    #[serde(borrow)]
    dependencies: Option<Entries<Cow<'a, str>, V1Dep<'a>>>,
}

type Deps<'a> = Entries<Cow<'a, str>, serde::de::IgnoredAny>;
type V1Deps<'a> = Entries<Cow<'a, str>, V1Dep<'a>>;

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(default, borrow)]
    name: LenientStr<'a>,
    #[serde(default, borrow)]
    version: LenientStr<'a>,
    #[serde(default, borrow)]
    resolved: LenientStr<'a>,
    #[serde(default, borrow)]
    integrity: LenientStr<'a>,
    #[serde(default, borrow)]
    license: LicenseField<'a>,
    #[serde(default, borrow)]
    licenses: LicenseField<'a>,
    #[serde(default, deserialize_with = "lenient_bool")]
    dev: bool,
    #[serde(default, deserialize_with = "lenient_bool")]
    link: bool,
    #[serde(default, borrow)]
    dependencies: Deps<'a>,
    #[serde(default, borrow, rename = "optionalDependencies")]
    optional_dependencies: Deps<'a>,
    #[serde(default, borrow, rename = "peerDependencies")]
    peer_dependencies: Deps<'a>,
    #[serde(default, borrow, rename = "devDependencies")]
    dev_dependencies: Deps<'a>,
}

/// `true` is true; anything else (`false`, a string, null) is false.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct BV;
    impl<'de> serde::de::Visitor<'de> for BV {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a boolean")
        }
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<bool, E> {
            Ok(v == "true")
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(false)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
            Ok(false)
        }
    }
    d.deserialize_any(BV)
}

#[derive(Deserialize)]
struct V1Dep<'a> {
    #[serde(default, borrow)]
    version: LenientStr<'a>,
    #[serde(default, borrow)]
    resolved: LenientStr<'a>,
    #[serde(default, borrow)]
    integrity: LenientStr<'a>,
    #[serde(default, deserialize_with = "lenient_bool")]
    dev: bool,
    #[serde(default, borrow)]
    requires: Deps<'a>,
    #[serde(default, borrow)]
    dependencies: Entries<Cow<'a, str>, V1Dep<'a>>,
}

#[derive(Deserialize)]
struct PackageJson<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    dependencies: Deps<'a>,
    #[serde(default, borrow, rename = "optionalDependencies")]
    optional_dependencies: Deps<'a>,
    #[serde(default, borrow, rename = "devDependencies")]
    dev_dependencies: Deps<'a>,
}

/// Supported `lockfileVersion` values.
pub const SUPPORTED_VERSIONS: &[u64] = &[1, 2, 3];

/// Parses a `package-lock.json` or `npm-shrinkwrap.json`. `package_json` is
/// the manifest beside it, used only by v1 locks (which do not record the
/// project's own dependencies).
pub fn parse(file: &str, bytes: &[u8], package_json: Option<Companion<'_>>) -> Result<DependencyGraph, ParseError> {
    let text = decode(file, bytes)?;
    // The fast path reads the whole file at once; when one entry has a
    // shape it cannot read, the file is read again entry by entry and the
    // odd entries become warnings (a file that is not JSON still fails).
    let value: serde_json::Value;
    let mut skipped = Vec::new();
    let lock: Lock<'_> = match serde_json::from_str::<Lock<'_>>(text) {
        Ok(lock) => lock,
        Err(e) if e.classify() == serde_json::error::Category::Data && text.trim_start().starts_with('{') => {
            value = from_json(file, text)?;
            lenient_lock(file, &value, &mut skipped)?
        }
        Err(_) => from_json(file, text)?,
    };
    let mut g = parse_lock(file, text, lock, package_json)?;
    for w in skipped {
        super::common::push_warning(&mut g.warnings, w);
    }
    Ok(g)
}

/// Reads a lock entry by entry from an already parsed JSON value: entries
/// of `packages` (and top-level `dependencies`) that do not read are left
/// out, each with a warning naming it.
fn lenient_lock<'a>(
    file: &str,
    value: &'a serde_json::Value,
    warnings: &mut Vec<String>,
) -> Result<Lock<'a>, ParseError> {
    use serde_json::Value;
    let obj = value.as_object().ok_or_else(|| ParseError::new(file, "a package-lock.json must be a JSON object"))?;
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(Cow::Borrowed);
    let mut lock = Lock {
        lockfile_version: obj.get("lockfileVersion").and_then(|v| v.as_number().cloned()),
        name: text("name"),
        version: text("version"),
        packages: None,
        dependencies: None,
    };
    if let Some(Value::Object(m)) = obj.get("packages") {
        let mut out = Vec::with_capacity(m.len());
        for (k, v) in m {
            match Entry::deserialize(v) {
                Ok(e) => out.push((Cow::Borrowed(k.as_str()), e)),
                Err(e) => warnings.push(format!("{file}: {}: skipped: {e}", path_key("packages", k))),
            }
        }
        lock.packages = Some(Entries(out));
    }
    if let Some(Value::Object(m)) = obj.get("dependencies") {
        let mut out = Vec::with_capacity(m.len());
        for (k, v) in m {
            match V1Dep::deserialize(v) {
                Ok(e) => out.push((Cow::Borrowed(k.as_str()), e)),
                Err(e) => warnings.push(format!("{file}: {}: skipped: {e}", path_key("dependencies", k))),
            }
        }
        lock.dependencies = Some(Entries(out));
    }
    Ok(lock)
}

fn parse_lock<'a>(
    file: &str,
    text: &str,
    lock: Lock<'a>,
    package_json: Option<Companion<'_>>,
) -> Result<DependencyGraph, ParseError> {
    let version = match &lock.lockfile_version {
        None => {
            return Err(ParseError::new(
                file,
                "no `lockfileVersion`: not a package-lock.json (supported lockfileVersion: 1, 2, 3)",
            ));
        }
        Some(n) => n.as_u64().filter(|v| SUPPORTED_VERSIONS.contains(v)).ok_or_else(|| {
            ParseError::new(file, format!("unsupported lockfileVersion {n} (supported: 1, 2, 3)")).at("lockfileVersion")
        })?,
    };
    match (version, lock.packages) {
        (2 | 3, Some(packages)) => parse_packages(file, packages, &npm_entry_lines(text, NpmTree::Packages)),
        (_, _) => {
            let mut g = parse_v1(
                file,
                lock.name,
                lock.version,
                lock.dependencies.unwrap_or_default(),
                package_json,
                &npm_entry_lines(text, NpmTree::Dependencies),
            )?;
            if version == 3 {
                super::common::push_warning(
                    &mut g.warnings,
                    "lockfileVersion 3 without a `packages` map: read its `dependencies` tree as version 1".into(),
                );
            }
            Ok(g)
        }
    }
}

/// Node's lookup: `from/node_modules/name`, then each ancestor directory's.
fn resolve_node(paths: &HashMap<&str, PackageIndex>, from: &str, name: &str) -> Option<PackageIndex> {
    let mut dir = from;
    loop {
        let candidate =
            if dir.is_empty() { format!("node_modules/{name}") } else { format!("{dir}/node_modules/{name}") };
        if let Some(&i) = paths.get(candidate.as_str()) {
            return Some(i);
        }
        if dir.is_empty() {
            return None;
        }
        dir = match dir.rfind('/') {
            Some(i) => &dir[..i],
            None => "",
        };
        // `a/node_modules` is not a package directory; skip to `a`.
        if dir == "node_modules" {
            dir = "";
        } else if let Some(stripped) = dir.strip_suffix("/node_modules") {
            dir = stripped;
        }
    }
}

/// The package name an install path stands for (`node_modules/@s/x` → `@s/x`).
fn name_from_path(path: &str) -> &str {
    match path.rfind("node_modules/") {
        Some(i) => &path[i + "node_modules/".len()..],
        None => path.rsplit('/').next().unwrap_or(path),
    }
}

fn npm_package(name: &str, version: &str, resolved: Option<&str>, local: bool) -> crate::model::Package {
    let source = if local { None } else { Some(resolved.unwrap_or(super::REGISTRY_UNSPECIFIED).to_string()) };
    let mut p = package(name, version, Ecosystem::Npm, source);
    if !local && !version.is_empty() {
        p.purl = purl::for_package(Ecosystem::Npm, name, version);
    }
    p
}

/// `lines`: the line of each entry's key, by install path.
fn parse_packages<'a>(
    file: &str,
    packages: Entries<Cow<'a, str>, Entry<'a>>,
    lines: &HashMap<String, u32>,
) -> Result<DependencyGraph, ParseError> {
    let mut b = GraphBuilder::new(file, LockfileFormat::NpmPackageLock);
    let mut by_path: HashMap<&str, PackageIndex> = HashMap::new();
    let mut links: Vec<(usize, String)> = Vec::new();
    let entries = &packages.0;
    // A workspace folder is installed under the name of the link to it
    // (`node_modules/function1` → `functions/func1`), which is its package
    // name when its entry does not say.
    let mut link_names: HashMap<&str, &str> = HashMap::new();
    for (path, e) in entries {
        if e.link
            && let Some(target) = e.resolved.as_deref()
        {
            link_names.entry(target).or_insert_with(|| name_from_path(path));
        }
    }

    for (ei, (path, e)) in entries.iter().enumerate() {
        let field = path_key("packages", path);
        for (what, odd) in [("name", e.name.odd), ("version", e.version.odd), ("resolved", e.resolved.odd)] {
            if let Some(odd) = odd {
                b.warn(format!("{file}: {field}.{what} is {odd}, not a string; ignored"));
            }
        }
        if e.link {
            match e.resolved.as_deref() {
                Some(target) => links.push((ei, target.to_string())),
                None => b.warn(format!("{file}: {field}: `link: true` entry without a `resolved` target; skipped")),
            }
            continue;
        }
        let under_node_modules = path.starts_with("node_modules/") || path.contains("/node_modules/");
        let local = !under_node_modules;
        let name = match e.name.as_deref() {
            Some(n) => n,
            None if path.is_empty() => "",
            None => match link_names.get(path.as_ref()) {
                Some(link) => link,
                None => name_from_path(path),
            },
        };
        let version = match e.version.as_deref() {
            Some(v) => v,
            None if local => "",
            None => {
                b.warn(format!("{file}: {field}: installed package `{name}` has no `version`; kept without one"));
                ""
            }
        };
        let mut p = npm_package(name, version, e.resolved.as_deref(), local);
        p.dev = e.dev;
        p.line = lines.get(path.as_ref()).copied();
        p.integrity = e.integrity.as_deref().map(str::to_owned);
        for (key, l) in [("license", &e.license), ("licenses", &e.licenses)] {
            for (value, suffix) in &l.values {
                p.raw_licenses.push(RawLicense { value: value.to_string(), field: format!("{field}.{key}{suffix}") });
            }
            if l.skipped > 0 {
                b.warn(format!("{file}: {field}.{key}: {} value(s) of an unknown shape ignored", l.skipped));
            }
        }
        let node = b.add(p);
        if local {
            b.root(node);
        }
        by_path.insert(path.as_ref(), node);
    }
    // Links stand for their target folder (resolved relative to the project).
    for (ei, target) in &links {
        if let Some(&node) = by_path.get(target.as_str()) {
            by_path.insert(entries[*ei].0.as_ref(), node);
        }
    }

    let mut dev_edges = HashSet::new();
    for (path, e) in entries.iter() {
        if e.link {
            continue;
        }
        let Some(&from) = by_path.get(path.as_ref()) else { continue };
        let local = !(path.starts_with("node_modules/") || path.contains("/node_modules/"));
        let lists: [(&Deps<'_>, bool); 4] = [
            (&e.dependencies, false),
            (&e.optional_dependencies, false),
            (&e.peer_dependencies, false),
            (&e.dev_dependencies, true),
        ];
        for (deps, is_dev) in lists {
            // devDependencies of installed packages are never installed.
            if is_dev && !local {
                continue;
            }
            for (name, _) in &deps.0 {
                if let Some(to) = resolve_node(&by_path, path, name) {
                    b.edge(from, to);
                    if is_dev {
                        dev_edges.insert((from, to));
                    }
                }
            }
        }
    }
    let mut g = b.finish();
    // npm's own `dev` flags are authoritative for v2/v3; `dev_edges` is only
    // used when the lock carries no flags at all (hand-written locks).
    if !g.packages.iter().any(|p| p.dev) {
        super::common::mark_dev(&mut g, &dev_edges);
    }
    Ok(g)
}

fn parse_v1<'a>(
    file: &str,
    name: Option<Cow<'a, str>>,
    version: Option<Cow<'a, str>>,
    deps: Entries<Cow<'a, str>, V1Dep<'a>>,
    package_json: Option<Companion<'_>>,
    lines: &HashMap<String, u32>,
) -> Result<DependencyGraph, ParseError> {
    let ptext = match package_json {
        Some(c) => Some((c.path, decode(c.path, c.bytes)?)),
        None => None,
    };
    let pj: Option<PackageJson<'_>> = match ptext {
        Some((path, t)) => Some(from_json(path, t)?),
        None => None,
    };
    let mut b = GraphBuilder::new(file, LockfileFormat::NpmPackageLock);
    let root_name = name.as_deref().or(pj.as_ref().and_then(|p| p.name.as_deref())).unwrap_or(file);
    let version = version.as_deref().or(pj.as_ref().and_then(|p| p.version.as_deref())).map(str::to_string);
    let root = b.add(npm_package(root_name, version.as_deref().unwrap_or(""), None, true));
    b.root(root);

    // Flatten the nested tree into install paths with an explicit stack.
    let mut flat: Vec<(String, String, &V1Dep<'a>)> = Vec::new(); // (install path, json path, entry)
    let mut stack: Vec<(String, String, &V1Deps<'a>)> = vec![(String::new(), "dependencies".to_string(), &deps)];
    while let Some((dir, jpath, map)) = stack.pop() {
        for (n, d) in &map.0 {
            let path = if dir.is_empty() { format!("node_modules/{n}") } else { format!("{dir}/node_modules/{n}") };
            let jp = path_key(&jpath, n);
            if !d.dependencies.0.is_empty() {
                stack.push((path.clone(), format!("{jp}.dependencies"), &d.dependencies));
            }
            flat.push((path, jp, d));
        }
    }
    flat.sort_by(|a, b| a.0.cmp(&b.0));

    let mut by_path: HashMap<&str, PackageIndex> = HashMap::new();
    for (path, jp, d) in &flat {
        let n = name_from_path(path);
        if let Some(odd) = d.resolved.odd {
            // Old npm writes `"resolved": false` for bundled dependencies.
            b.warn(format!("{file}: {jp}.resolved is {odd}, not a URL; ignored"));
        }
        let v = match d.version.as_deref() {
            Some(v) => v,
            None => {
                b.warn(format!("{file}: {jp}: dependency `{n}` has no `version`; kept without one"));
                ""
            }
        };
        // A `version` of `file:…` or `link:…` is a local folder, not a
        // registry package.
        let local = v.starts_with("file:") || v.starts_with("link:");
        // Aliases are written as `npm:real-name@version`.
        let (real_name, real_version) = match v.strip_prefix("npm:").and_then(split_npm_spec) {
            Some((rn, rv)) => (rn, rv),
            None => (n, v),
        };
        // A v1 lock writes a git, tarball or folder dependency's location
        // where the version goes (`git+ssh://…#commit`, `file:…`); v2/v3 write
        // the package's version there and the location in `resolved`. The
        // location is the source; the version is not known.
        let is_location = |v: &str| {
            v.contains("://")
                || v.contains(':') && !v.starts_with("npm:")
                || v.starts_with("github:")
                || v.contains('/') && !v.starts_with('@')
        };
        let (real_version, resolved) = if is_location(real_version) {
            ("", d.resolved.as_deref().or(Some(real_version)))
        } else {
            (real_version, d.resolved.as_deref())
        };
        let mut p = npm_package(real_name, real_version, resolved, local);
        p.dev = d.dev;
        p.line = lines.get(path.as_str()).copied();
        p.integrity = d.integrity.as_deref().map(str::to_owned);
        let node = b.add(p);
        by_path.insert(path.as_str(), node);
    }
    for (path, _, d) in &flat {
        let from = by_path[path.as_str()];
        for (n, _) in &d.requires.0 {
            if let Some(to) = resolve_node(&by_path, path, n) {
                b.edge(from, to);
            }
        }
    }

    match pj {
        Some(pj) => {
            let mut dev_edges = HashSet::new();
            for (deps, is_dev) in
                [(&pj.dependencies, false), (&pj.optional_dependencies, false), (&pj.dev_dependencies, true)]
            {
                for (n, _) in &deps.0 {
                    if let Some(to) = resolve_node(&by_path, "", n) {
                        b.edge(root, to);
                        if is_dev {
                            dev_edges.insert((root, to));
                        }
                    }
                }
            }
            let mut g = b.finish();
            if !g.packages.iter().any(|p| p.dev) {
                super::common::mark_dev(&mut g, &dev_edges);
            }
            Ok(g)
        }
        None => {
            connect_orphans(&mut b, root);
            Ok(b.finish())
        }
    }
}
