//! `yarn.lock`: classic (v1) and berry (Yarn 2+).
//!
//! Classic has its own indentation format (not YAML: `key "value"` pairs,
//! comma-separated multi-specifier headers). No maintained crate parses it,
//! and the grammar is small, so it is parsed here by hand, line by line,
//! reporting `line:column` on anything unexpected. Classic does not record the
//! project: with the `package.json` beside it the project is the root and its
//! `dependencies`/`optionalDependencies`/`devDependencies` the direct
//! dependencies (packages only a workspace member needs stay unconnected:
//! member manifests are not read); without it a synthetic root depends on
//! every package nothing else depends on.
//!
//! Berry is YAML with `__metadata` (versions 4 to 10 supported); entries have
//! `resolution`, `version`, `dependencies` (`name: "npm:^1.0.0"`, looked up as
//! descriptor `name@npm:^1.0.0`). Entries resolved with `@workspace:` are the
//! roots. Berry does not separate devDependencies in the lock, so `dev` is
//! never set for berry.

use super::Companion;
use super::common::{
    Entries, GraphBuilder, Scalar, connect_orphans, decode, from_json, from_yaml, mark_dev, package, path_key, purl,
    split_npm_spec, synthetic_root,
};
use crate::model::{DependencyGraph, Ecosystem, LockfileFormat, PackageIndex, ParseError};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// Supported berry `__metadata.version` values.
pub const SUPPORTED_BERRY_VERSIONS: std::ops::RangeInclusive<u32> = 4..=10;

/// True when the text is a berry lockfile (it has `__metadata`).
pub fn is_berry(text: &str) -> bool {
    text.lines().take(64).any(|l| l.starts_with("__metadata:"))
}

/// Parses a `yarn.lock`, classic or berry by content.
pub fn parse(file: &str, bytes: &[u8], package_json: Option<Companion<'_>>) -> Result<DependencyGraph, ParseError> {
    let text = decode(file, bytes)?;
    if is_berry(text) { parse_berry(file, bytes) } else { parse_classic(file, bytes, package_json) }
}

struct ClassicEntry {
    specifiers: Vec<String>,
    line: usize,
    version: Option<String>,
    resolved: Option<String>,
    deps: Vec<(String, String)>,
}

/// Reads one token: a `"quoted"` string (JSON escapes) or a bare word up to
/// whitespace. Returns the token and the rest of the line.
fn token(s: &str) -> Result<(String, &str), usize> {
    if let Some(rest) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Ok((out, &rest[i + 1..])),
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, e)) => out.push(e),
                    None => return Err(s.len()),
                },
                c => out.push(c),
            }
        }
        Err(s.len()) // unterminated quote
    } else {
        let end = s.find(char::is_whitespace).unwrap_or(s.len());
        Ok((s[..end].to_string(), &s[end..]))
    }
}

fn classic_entries(file: &str, text: &str) -> Result<Vec<ClassicEntry>, ParseError> {
    let err = |line: usize, col: usize, msg: &str| ParseError::new(file, msg.to_string()).at(format!("{line}:{col}"));
    let mut entries: Vec<ClassicEntry> = Vec::new();
    let mut block: Option<String> = None;
    for (ln, raw) in text.lines().enumerate() {
        let line_no = ln + 1;
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.starts_with('\t') {
            return Err(err(
                line_no,
                line.len() - trimmed.len() + 1,
                "tab in indentation; yarn.lock indents with spaces",
            ));
        }
        let indent = line.len() - trimmed.len();
        match indent {
            0 => {
                let Some(header) = trimmed.strip_suffix(':') else {
                    return Err(err(line_no, trimmed.len() + 1, "entry header must end with `:`"));
                };
                let mut specifiers = Vec::new();
                let mut rest = header.trim();
                while !rest.is_empty() {
                    let (t, r) = if rest.starts_with('"') {
                        token(rest).map_err(|_| err(line_no, 1, "unterminated quoted specifier"))?
                    } else {
                        let end = rest.find(',').unwrap_or(rest.len());
                        (rest[..end].trim().to_string(), &rest[end..])
                    };
                    if t.is_empty() {
                        return Err(err(line_no, header.len() - rest.len() + 1, "empty specifier"));
                    }
                    specifiers.push(t);
                    rest = r.trim_start();
                    if let Some(r) = rest.strip_prefix(',') {
                        rest = r.trim_start();
                    } else if !rest.is_empty() {
                        return Err(err(line_no, header.len() - rest.len() + 1, "expected `,` between specifiers"));
                    }
                }
                if specifiers.is_empty() {
                    return Err(err(line_no, 1, "entry header names no specifier"));
                }
                entries.push(ClassicEntry {
                    specifiers,
                    line: line_no,
                    version: None,
                    resolved: None,
                    deps: Vec::new(),
                });
                block = None;
            }
            2 | 4 => {
                let Some(entry) = entries.last_mut() else {
                    return Err(err(line_no, 1, "indented line before any entry"));
                };
                let (key, rest) = token(trimmed).map_err(|_| err(line_no, indent + 1, "unterminated quoted key"))?;
                // A quoted key may carry its colon outside the quotes
                // (`"dependencies":`), as some tools write.
                let rest = rest.trim();
                let rest = if rest == ":" { "" } else { rest };
                if rest.is_empty() {
                    if indent != 2 {
                        return Err(err(line_no, indent + 1, "nested block deeper than one level"));
                    }
                    block = Some(key.trim_end_matches(':').to_string());
                    continue;
                }
                let (value, tail) =
                    token(rest).map_err(|_| err(line_no, line.len() - rest.len() + 1, "unterminated quoted value"))?;
                if !tail.trim().is_empty() {
                    return Err(err(line_no, line.len() - tail.len() + 1, "unexpected text after value"));
                }
                if indent == 2 {
                    block = None;
                    match key.as_str() {
                        "version" => entry.version = Some(value),
                        "resolved" => entry.resolved = Some(value),
                        _ => {}
                    }
                } else {
                    match block.as_deref() {
                        Some("dependencies" | "optionalDependencies") => entry.deps.push((key, value)),
                        Some(_) => {}
                        None => return Err(err(line_no, indent + 1, "indented pair outside a block")),
                    }
                }
            }
            _ => return Err(err(line_no, indent + 1, &format!("unexpected indentation of {indent} spaces"))),
        }
    }
    Ok(entries)
}

/// The real package name of a specifier (`a@npm:b@^1` is package `b`; a
/// bare `name`, which old yarn writes for a dependency without a range, is
/// `name`).
fn spec_name(spec: &str) -> Option<&str> {
    let Some((name, range)) = split_npm_spec(spec) else {
        let bare = !spec.is_empty() && !spec[1..].contains('@') && !spec.contains(char::is_whitespace);
        return bare.then_some(spec);
    };
    match range.strip_prefix("npm:").and_then(split_npm_spec) {
        Some((real, _)) => Some(real),
        None => Some(name),
    }
}

#[derive(Deserialize)]
struct PackageJson<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    dependencies: Entries<Cow<'a, str>, Cow<'a, str>>,
    #[serde(default, borrow, rename = "optionalDependencies")]
    optional_dependencies: Entries<Cow<'a, str>, Cow<'a, str>>,
    #[serde(default, borrow, rename = "devDependencies")]
    dev_dependencies: Entries<Cow<'a, str>, Cow<'a, str>>,
}

/// Parses a classic (v1) `yarn.lock`.
pub fn parse_classic(
    file: &str,
    bytes: &[u8],
    package_json: Option<Companion<'_>>,
) -> Result<DependencyGraph, ParseError> {
    let text = decode(file, bytes)?;
    if is_berry(text) {
        return Err(ParseError::new(file, "this is a yarn berry lockfile (it has `__metadata`), not yarn classic"));
    }
    let entries = classic_entries(file, text)?;
    let mut b = GraphBuilder::new(file, LockfileFormat::YarnClassic);
    let mut by_spec: HashMap<&str, PackageIndex> = HashMap::new();
    let mut nodes = Vec::with_capacity(entries.len());
    for e in &entries {
        nodes.push(None);
        let Some(first) = e.specifiers.first() else { continue };
        let Some(name) = spec_name(first) else {
            b.warn(format!("{file}:{}:1: specifier `{first}` is not `name@range`; entry skipped", e.line));
            continue;
        };
        let Some(version) = e.version.as_deref() else {
            b.warn(format!("{file}:{}:1: entry `{first}` has no `version`; skipped", e.line));
            continue;
        };
        let range = split_npm_spec(first).map_or("", |(_, r)| r);
        let source = match &e.resolved {
            Some(r) => r.split('#').next().unwrap_or(r).to_string(),
            None if range.starts_with("file:") || range.starts_with("link:") => format!("path+{range}"),
            None => super::REGISTRY_UNSPECIFIED.to_string(),
        };
        let mut p = package(name, version, Ecosystem::Npm, Some(source));
        p.purl = purl::for_package(Ecosystem::Npm, name, version);
        let i = b.add(p);
        if let Some(last) = nodes.last_mut() {
            *last = Some(i);
        }
        for s in &e.specifiers {
            by_spec.insert(s.as_str(), i);
        }
    }
    for (e, node) in entries.iter().zip(&nodes) {
        let Some(from) = *node else { continue };
        for (n, r) in &e.deps {
            if let Some(&to) = by_spec.get(format!("{n}@{r}").as_str()) {
                b.edge(from, to);
            }
        }
    }

    match package_json {
        Some(c) => {
            let ptext = decode(c.path, c.bytes)?;
            let pj: PackageJson<'_> = from_json(c.path, ptext)?;
            let root = b.add(synthetic_root(
                pj.name.as_deref().unwrap_or(c.path),
                pj.version.as_deref().unwrap_or(""),
                Ecosystem::Npm,
            ));
            b.root(root);
            let mut dev_edges = HashSet::new();
            for (deps, is_dev) in
                [(&pj.dependencies, false), (&pj.optional_dependencies, false), (&pj.dev_dependencies, true)]
            {
                for (n, r) in &deps.0 {
                    if let Some(&to) = by_spec.get(format!("{n}@{r}").as_str()) {
                        b.edge(root, to);
                        if is_dev {
                            dev_edges.insert((root, to));
                        }
                    }
                }
            }
            let mut g = b.finish();
            mark_dev(&mut g, &dev_edges);
            Ok(g)
        }
        None => {
            let root = b.add(synthetic_root(file, "", Ecosystem::Npm));
            b.root(root);
            connect_orphans(&mut b, root);
            Ok(b.finish())
        }
    }
}

#[derive(Deserialize)]
struct BerryEntry<'a> {
    #[serde(default, borrow)]
    version: Option<Scalar<'a>>,
    #[serde(default, borrow)]
    resolution: Option<Scalar<'a>>,
    #[serde(default, borrow)]
    dependencies: Entries<Scalar<'a>, Scalar<'a>>,
    #[serde(default, borrow, rename = "optionalDependencies")]
    optional_dependencies: Entries<Scalar<'a>, Scalar<'a>>,
}

/// Parses a berry (Yarn 2+) `yarn.lock`.
pub fn parse_berry(file: &str, bytes: &[u8]) -> Result<DependencyGraph, ParseError> {
    let text = decode(file, bytes)?;
    let doc: Entries<Scalar<'_>, BerryEntry<'_>> = from_yaml(file, text)?;
    let meta = doc
        .0
        .iter()
        .find(|(k, _)| k.as_str() == "__metadata")
        .ok_or_else(|| ParseError::new(file, "no `__metadata`: not a yarn berry lockfile"))?;
    let mv = meta.1.version.as_ref().map(|v| v.as_str().to_string()).unwrap_or_default();
    if !mv.parse::<u32>().is_ok_and(|v| SUPPORTED_BERRY_VERSIONS.contains(&v)) {
        return Err(ParseError::new(
            file,
            format!("unsupported yarn berry lockfile version `{mv}` (supported: __metadata.version 4 to 10)"),
        )
        .at("__metadata.version"));
    }

    let mut b = GraphBuilder::new(file, LockfileFormat::YarnBerry);
    let mut by_desc: HashMap<&str, PackageIndex> = HashMap::new();
    let mut nodes: Vec<Option<PackageIndex>> = Vec::with_capacity(doc.0.len());
    for (key, e) in &doc.0 {
        if key.as_str() == "__metadata" {
            nodes.push(None);
            continue;
        }
        let field = path_key("", key.as_str());
        let Some(resolution) = e.resolution.as_ref().map(Scalar::as_str) else {
            b.warn(format!("{file}: {field}: entry has no `resolution`; skipped"));
            nodes.push(None);
            continue;
        };
        let Some((name, reference)) = split_npm_spec(resolution) else {
            b.warn(format!("{file}: {field}.resolution: `{resolution}` is not `name@reference`; entry skipped"));
            nodes.push(None);
            continue;
        };
        let version = e.version.as_ref().map(Scalar::as_str).unwrap_or("");
        let workspace = reference.starts_with("workspace:");
        let source = if workspace {
            None
        } else if reference.starts_with("npm:") {
            Some(super::REGISTRY_UNSPECIFIED.to_string())
        } else {
            Some(reference.to_string())
        };
        let mut p = package(name, version, Ecosystem::Npm, source);
        if reference.starts_with("npm:") {
            p.purl = purl::for_package(Ecosystem::Npm, name, version);
        }
        let i = b.add(p);
        if workspace {
            b.root(i);
        }
        nodes.push(Some(i));
        for spec in key.as_str().split(',') {
            by_desc.insert(spec.trim(), i);
        }
    }
    for ((_, e), node) in doc.0.iter().zip(&nodes) {
        let Some(from) = *node else { continue };
        for (n, r) in e.dependencies.0.iter().chain(&e.optional_dependencies.0) {
            let exact = format!("{}@{}", n.as_str(), r.as_str());
            let target = by_desc
                .get(exact.as_str())
                .or_else(|| by_desc.get(format!("{}@npm:{}", n.as_str(), r.as_str()).as_str()))
                .copied();
            if let Some(to) = target {
                b.edge(from, to);
            }
        }
    }
    Ok(b.finish())
}
