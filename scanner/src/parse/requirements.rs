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
//! **Odd lines.** A line that is not a requirement, a pin to a wildcard
//! (`name==2.0.*`, kept with an empty version like `name>=1`), a local path
//! or URL without a name (`./pkg.whl`, `http://…`: a wheel's file name gives
//! its name and version, `#egg=name` a name), and an include that cannot be
//! read become warnings naming the line; the rest of the file is read.
//! UTF-16 files with a byte-order mark are read as text.
//!
//! **Edges.** A synthetic root named after the file stands for the project.
//! pip-compile's `# via` comments give the edges: `# via pkg` means `pkg`
//! depends on this package, `# via -r file` means the project does. A package
//! without any `# via` annotation is a direct dependency of the root.
//! Environment markers are kept out of the graph: every listed package is in.

use super::common::{GraphBuilder, decode_text, join_path, parent_dir, purl, synthetic_root};
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

/// [`pins_anything`] on raw bytes: UTF-8 (invalid bytes replaced) or
/// UTF-16 with a byte-order mark.
pub fn pins_anything_bytes(bytes: &[u8]) -> bool {
    let bytes = &bytes[..bytes.len().min(super::MAX_INPUT_BYTES)];
    match decode_text("", bytes) {
        Ok(text) => pins_anything(&text),
        Err(_) => pins_anything(&String::from_utf8_lossy(bytes)),
    }
}

/// A requirement written as a path or URL (`./dist/pkg-1.0-py3-none-any.whl`,
/// `https://…/pkg.tar.gz#egg=pkg`, `git+https://…`): its name and version
/// when the line says them, and the location as its source.
fn direct_reference(spec: &str) -> Option<(String, String, String)> {
    let location = spec.split_whitespace().next().unwrap_or(spec);
    let is_location = location.starts_with('.')
        || location.starts_with('/')
        || location.starts_with('~')
        || location.starts_with("file:")
        || location.contains("://")
        || location.starts_with("git+")
        || location.ends_with(".whl")
        || location.ends_with(".tar.gz")
        || location.ends_with(".zip");
    if !is_location {
        return None;
    }
    if let Some(egg) = location.split_once("#egg=").map(|(_, e)| e.split('&').next().unwrap_or(e)) {
        let end = name_end(egg);
        return Some((egg[..end].to_string(), String::new(), location.to_string()));
    }
    // A wheel: `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`.
    let file = location.rsplit('/').next().unwrap_or(location);
    if let Some(stem) = file.strip_suffix(".whl") {
        let parts: Vec<&str> = stem.split('-').collect();
        if parts.len() >= 5 && !parts[0].is_empty() {
            return Some((parts[0].to_string(), parts[1].to_string(), location.to_string()));
        }
    }
    Some((String::new(), String::new(), location.to_string()))
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
    warnings: Vec<String>,
}

fn parse_text(file: &str, text: &str) -> FileReqs {
    let mut warnings = Vec::new();
    let mut err = |line: usize, col: usize, msg: String| warnings.push(format!("{file}:{line}:{col}: {msg}"));
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
                match inline.or_else(|| words.next()) {
                    Some(target) => includes.push((line_no, target.to_string())),
                    None => err(line_no, indent + 1, "`-r` needs a file name; ignored".into()),
                }
            } else if let Some(t) = flag.strip_prefix('r').filter(|t| !t.is_empty() && !t.starts_with('-')) {
                includes.push((line_no, t.to_string())); // `-rfile.txt`
            }
            continue;
        }
        // Strip the per-requirement options (`--hash=…`) and markers.
        // Per-requirement options start with a dash after a blank
        // (`--hash=…`, `-C key=value`, `--config-settings`).
        let spec = body.split(" -").next().unwrap_or(body);
        let spec = spec.split(';').next().unwrap_or(spec).trim();
        if let Some((name, version, location)) = direct_reference(spec) {
            if name.is_empty() {
                err(line_no, indent + 1, format!("`{location}` names no package (no `#egg=` name); skipped"));
            } else {
                reqs.push(Req { name, version, source: Some(location), via: Vec::new(), has_via: false });
            }
            continue;
        }
        let end = name_end(spec);
        if end == 0 {
            err(line_no, indent + 1, format!("`{spec}` is not a requirement (expected `name==version`); skipped"));
            continue;
        }
        let name = &spec[..end];
        let mut rest = spec[end..].trim_start();
        if let Some(r) = rest.strip_prefix('[') {
            let Some(close) = r.find(']') else {
                err(line_no, indent + end + 1, format!("`{name}`: unclosed `[` of extras; skipped"));
                continue;
            };
            rest = r[close + 1..].trim_start();
        }
        let (version, source) = if let Some(url) = rest.strip_prefix('@') {
            let url = url.trim();
            if url.is_empty() {
                err(line_no, indent + 1, format!("`{name} @` has no URL; skipped"));
                continue;
            }
            (String::new(), Some(url.to_string()))
        } else if let Some(v) = rest.strip_prefix("===").or_else(|| rest.strip_prefix("==")) {
            // `3.0.0#comment`: pip ends the version at `#` too; a
            // `name == 1.0 @ url` line pins a version at a location.
            let v = v.split('#').next().unwrap_or(v).trim();
            let (v, at_url) = match v.split_once(char::is_whitespace) {
                Some((v, tail)) => (v, tail.trim().strip_prefix('@').map(|u| u.trim().to_string())),
                None => (v, None),
            };
            if let Some(url) = at_url.filter(|u| !u.is_empty()) {
                (v.to_string(), Some(url))
            } else if v.is_empty() || v.contains(',') || v.contains('*') {
                err(
                    line_no,
                    indent + end + 1,
                    format!("`{name}` is not pinned to one version (`{}`); kept without a version", rest.trim()),
                );
                (String::new(), None)
            } else {
                (v.to_string(), None)
            }
        } else {
            // Unpinned (`>=`, `~=`, bare name): version unknown.
            (String::new(), None)
        };
        reqs.push(Req { name: name.to_string(), version, source, via: Vec::new(), has_via: false });
    }
    FileReqs { reqs, includes, warnings }
}

/// Parses a pinned requirements file. `tree`, when given, is where `-r`
/// includes are read from (paths relative to `file`'s directory).
pub fn parse(file: &str, bytes: &[u8], tree: Option<&dyn InputTree>) -> Result<DependencyGraph, ParseError> {
    let text = decode_text(file, bytes)?;
    let text: &str = &text;
    if !pins_anything(text) {
        return Err(ParseError::new(
            file,
            "pins nothing (no `name==version` line): Steward reads pinned requirements only; \
             generate them with pip-compile or `pip freeze`",
        ));
    }
    // Read the file and its includes, breadth first, each once.
    let mut all: Vec<(String, FileReqs)> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::from([file.to_string()]);
    let mut queue: Vec<(String, Option<Vec<u8>>, usize)> = vec![(file.to_string(), None, 0)];
    while let Some((path, owned, depth)) = queue.pop() {
        let mut parsed = match owned {
            None => parse_text(&path, text),
            Some(bytes) => match decode_text(&path, &bytes) {
                Ok(t) => parse_text(&path, &t),
                Err(e) => {
                    warnings.push(format!("{e}; included file skipped"));
                    continue;
                }
            },
        };
        warnings.append(&mut parsed.warnings);
        for (line, inc) in &parsed.includes {
            let Some(tree) = tree else { continue };
            let Some(target) = join_path(parent_dir(&path), inc) else {
                warnings.push(format!("{path}:{line}:1: include `{inc}` points outside the scanned tree; skipped"));
                continue;
            };
            if !seen.insert(target.clone()) {
                continue;
            }
            if depth + 1 > MAX_INCLUDE_DEPTH {
                warnings.push(format!(
                    "{path}:{line}:1: `-r` includes nest deeper than {MAX_INCLUDE_DEPTH}; `{target}` skipped"
                ));
                continue;
            }
            match tree.read(&target) {
                Ok(bytes) => queue.push((target, Some(bytes), depth + 1)),
                Err(e) => warnings.push(format!("{path}:{line}:1: cannot read included `{target}`: {e}; skipped")),
            }
        }
        all.push((path, parsed));
    }

    let mut b = GraphBuilder::new(file, LockfileFormat::PipRequirements);
    for w in warnings {
        b.warn(w);
    }
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
