//! Pinned pip requirements files (`requirements*.txt`, pip-compile and
//! `pip freeze` output).
//!
//! Lines are `name[extras]==version [; markers]`, continued with a trailing
//! `\`; options (`--hash=…`, `--index-url`, `-c`, `--only-binary`…) are
//! skipped; `-r other.txt` includes are read through the same tree, relative
//! to the including file (at most [`MAX_INCLUDE_DEPTH`] deep, each file once),
//! and join the same graph. `name @ url` direct references count as pinned,
//! with the URL as `source` and an empty version.
//!
//! **Unpinned lines.** A file that pins nothing (no `==`/`===` and no direct
//! reference) is not a lockfile: parsing it is an error, and discovery skips
//! such files. In a file that pins something, an unpinned requirement
//! (`flask>=2`) is kept as a package with an empty version, since its
//! resolved version is unknown.
//!
//! **Edges.** A synthetic root named after the file stands for the project.
//! pip-compile's `# via` comments give the edges: `# via pkg` means `pkg`
//! depends on this package, `# via -r file` means the project does. A package
//! without any `# via` annotation is a direct dependency of the root.
//! Environment markers are kept out of the graph: every listed package is in.

use super::common::{GraphBuilder, decode, join_path, parent_dir, purl, synthetic_root};
use crate::model::{DependencyGraph, Ecosystem, LockfileFormat, PackageIndex, ParseError};
use crate::names::pep503;
use crate::source::InputTree;
use std::collections::{HashMap, HashSet};

/// How deep `-r` includes may nest.
pub const MAX_INCLUDE_DEPTH: usize = 16;

struct Req {
    name: String,
    version: String,
    source: Option<String>,
    via: Vec<String>,
    has_via: bool,
}

/// True when the text pins at least one requirement (`==`, `===`, or a
/// direct `name @ url` reference). Discovery uses it to tell lockfiles from
/// plain dependency lists.
pub fn pins_anything(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.split(" #").next().unwrap_or(l).trim();
        !l.starts_with('#') && !l.starts_with('-') && (l.contains("==") || l.contains(" @ "))
    })
}

/// One logical line (continuations joined) and its first physical line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if cur.is_empty() {
            start = i + 1;
        }
        // A comment line ends any continuation (pip does the same).
        if let Some(body) = line.strip_suffix('\\').filter(|_| !line.trim_start().starts_with('#')) {
            cur.push_str(body);
            cur.push(' ');
            continue;
        }
        cur.push_str(line);
        out.push((start, std::mem::take(&mut cur)));
    }
    if !cur.is_empty() {
        out.push((start, cur));
    }
    out
}

/// Strips a trailing ` # comment` (a `#` after whitespace, as pip does).
fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    let b = line.as_bytes();
    for i in 1..b.len() {
        if b[i] == b'#' && b[i - 1].is_ascii_whitespace() {
            return &line[..i];
        }
    }
    line
}

fn name_end(s: &str) -> usize {
    s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')).unwrap_or(s.len())
}

struct FileReqs {
    reqs: Vec<Req>,
    includes: Vec<(usize, String)>,
}

fn parse_text(file: &str, text: &str) -> Result<FileReqs, ParseError> {
    let err = |line: usize, col: usize, msg: String| ParseError::new(file, msg).at(format!("{line}:{col}"));
    let mut reqs: Vec<Req> = Vec::new();
    let mut includes = Vec::new();
    let mut in_via = false;
    for (line_no, line) in logical_lines(text) {
        let t = line.trim();
        // pip-compile annotations.
        if let Some(c) = t.strip_prefix('#') {
            let c = c.trim();
            if let Some(rest) = c.strip_prefix("via") {
                let rest = rest.trim();
                if let Some(last) = reqs.last_mut() {
                    last.has_via = true;
                    if !rest.is_empty() {
                        last.via.push(rest.to_string());
                        in_via = false;
                    } else {
                        in_via = true;
                    }
                }
            } else if in_via && !c.is_empty() {
                if let Some(last) = reqs.last_mut() {
                    last.via.push(c.to_string());
                }
            } else {
                in_via = false;
            }
            continue;
        }
        in_via = false;
        let body = strip_comment(&line).trim();
        if body.is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if let Some(opt) = body.strip_prefix('-') {
            let mut words = opt.split_whitespace();
            let flag = words.next().unwrap_or("");
            let (flag, inline) = match flag.split_once('=') {
                Some((f, v)) => (f, Some(v)),
                None => (flag, None),
            };
            if matches!(flag, "r" | "-requirement") {
                let target = inline
                    .or_else(|| words.next())
                    .ok_or_else(|| err(line_no, indent + 1, "`-r` needs a file name".into()))?;
                includes.push((line_no, target.to_string()));
            } else if let Some(t) = flag.strip_prefix('r').filter(|t| !t.is_empty() && !t.starts_with('-')) {
                includes.push((line_no, t.to_string())); // `-rfile.txt`
            }
            continue;
        }
        // Strip the per-requirement options (`--hash=…`) and markers.
        let spec = body.split(" --").next().unwrap_or(body);
        let spec = spec.split(';').next().unwrap_or(spec).trim();
        let end = name_end(spec);
        if end == 0 {
            return Err(err(line_no, indent + 1, format!("`{spec}` is not a requirement (expected `name==version`)")));
        }
        let name = &spec[..end];
        let mut rest = spec[end..].trim_start();
        if let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']').ok_or_else(|| err(line_no, indent + end + 1, "unclosed `[` of extras".into()))?;
            rest = r[close + 1..].trim_start();
        }
        let (version, source) = if let Some(url) = rest.strip_prefix('@') {
            let url = url.trim();
            if url.is_empty() {
                return Err(err(line_no, indent + 1, format!("`{name} @` has no URL")));
            }
            (String::new(), Some(url.to_string()))
        } else if let Some(v) = rest.strip_prefix("===").or_else(|| rest.strip_prefix("==")) {
            let v = v.trim();
            if v.is_empty() || v.contains(',') || v.contains('*') {
                return Err(err(
                    line_no,
                    indent + end + 1,
                    format!("`{name}` is not pinned to one version (`{}`)", rest.trim()),
                ));
            }
            (v.to_string(), None)
        } else {
            // Unpinned (`>=`, `~=`, bare name): version unknown.
            (String::new(), None)
        };
        reqs.push(Req { name: name.to_string(), version, source, via: Vec::new(), has_via: false });
    }
    Ok(FileReqs { reqs, includes })
}

/// Parses a pinned requirements file. `tree`, when given, is where `-r`
/// includes are read from (paths relative to `file`'s directory).
pub fn parse(file: &str, bytes: &[u8], tree: Option<&dyn InputTree>) -> Result<DependencyGraph, ParseError> {
    let text = decode(file, bytes)?;
    if !pins_anything(text) {
        return Err(ParseError::new(
            file,
            "pins nothing (no `name==version` line): Steward reads pinned requirements only; \
             generate them with pip-compile or `pip freeze`",
        ));
    }
    // Read the file and its includes, breadth first, each once.
    let mut all: Vec<(String, FileReqs)> = Vec::new();
    let mut seen: HashSet<String> = HashSet::from([file.to_string()]);
    let mut queue: Vec<(String, Option<Vec<u8>>, usize)> = vec![(file.to_string(), None, 0)];
    while let Some((path, owned, depth)) = queue.pop() {
        let parsed = match owned {
            None => parse_text(&path, text)?,
            Some(bytes) => parse_text(&path, decode(&path, &bytes)?)?,
        };
        for (line, inc) in &parsed.includes {
            let Some(tree) = tree else { continue };
            let target = join_path(parent_dir(&path), inc).ok_or_else(|| {
                ParseError::new(path.clone(), format!("include `{inc}` points outside the scanned tree"))
                    .at(format!("{line}:1"))
            })?;
            if !seen.insert(target.clone()) {
                continue;
            }
            if depth + 1 > MAX_INCLUDE_DEPTH {
                return Err(ParseError::new(
                    path.clone(),
                    format!("`-r` includes nest deeper than {MAX_INCLUDE_DEPTH}"),
                )
                .at(format!("{line}:1")));
            }
            let bytes = tree.read(&target).map_err(|e| {
                ParseError::new(path.clone(), format!("cannot read included `{target}`: {e}")).at(format!("{line}:1"))
            })?;
            queue.push((target, Some(bytes), depth + 1));
        }
        all.push((path, parsed));
    }

    let mut b = GraphBuilder::new(file, LockfileFormat::PipRequirements);
    let root = b.add(synthetic_root(file, "", Ecosystem::Pypi));
    b.root(root);
    let mut by_name: HashMap<String, Vec<PackageIndex>> = HashMap::new();
    let mut placed: Vec<(PackageIndex, &Req)> = Vec::new();
    for (_, fr) in &all {
        for r in &fr.reqs {
            let source = r.source.clone().or_else(|| Some(super::REGISTRY_UNSPECIFIED.to_string()));
            let mut p = super::common::package(&r.name, &r.version, Ecosystem::Pypi, source);
            if r.source.is_none() && !r.version.is_empty() {
                p.purl = purl::for_package(Ecosystem::Pypi, &r.name, &r.version);
            }
            let i = b.add(p);
            by_name.entry(pep503(&r.name)).or_default().push(i);
            placed.push((i, r));
        }
    }
    for (i, r) in placed {
        if !r.has_via {
            b.edge(root, i);
            continue;
        }
        for v in &r.via {
            if v.starts_with("-r") || v.starts_with("-c") || v.contains(".in") || v.contains(".txt") {
                b.edge(root, i);
                continue;
            }
            match by_name.get(&pep503(v.split_whitespace().next().unwrap_or(v))) {
                Some(parents) => {
                    for &p in parents {
                        b.edge(p, i);
                    }
                }
                // `# via` naming something not in the file (a setup.py, a
                // pyproject extra): the project wants it.
                None => b.edge(root, i),
            }
        }
    }
    Ok(b.finish())
}
