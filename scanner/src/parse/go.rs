//! Go modules: `go.mod`, with `go.sum` and `vendor/modules.txt` when present.
//!
//! The root is the main module (empty version). Every `require` becomes a
//! package; `replace` directives apply (a module replacement keeps the
//! required path as the package name, takes the replacement's version, and
//! records `replace+<new path>` as `source`; a directory replacement records
//! `path+<dir>`); `exclude`d versions are dropped.
//!
//! **Edges.** go.mod and go.sum carry no edge data: nobody records which
//! module requires an `// indirect` one. Requires without `// indirect` are
//! the root's direct dependencies. Indirect modules are connected from the
//! root as well, *because nothing better is known* (the module cache, which
//! has each dependency's own go.mod, is not an input here); they come after
//! the direct ones in `edges[root]`. [`parse_go_mod`] exposes the
//! `indirect` flag for callers that need the distinction.
//!
//! `go.sum` is checked line by line. For a go.mod older than `go 1.17` (whose
//! require list may be incomplete), modules whose content hash is in go.sum
//! but that go.mod does not list are added, at the highest version go.sum
//! holds (an approximation of minimal version selection). Modules listed in
//! `vendor/modules.txt` and missing from go.mod are added the same way.

use super::Companion;
use super::common::{GraphBuilder, decode, package, purl};
use crate::model::{DependencyGraph, Ecosystem, LockfileFormat, ParseError};
use std::collections::{BTreeMap, HashSet};

/// A parsed `go.mod`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GoMod {
    pub module: String,
    /// The `go` directive (`1.21`), if any.
    pub go: Option<String>,
    pub requires: Vec<Require>,
    pub replaces: Vec<Replace>,
    pub excludes: Vec<(String, String)>,
}

/// One `require`d module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Require {
    pub path: String,
    pub version: String,
    /// Marked `// indirect`.
    pub indirect: bool,
    /// 1-based line in go.mod.
    pub line: usize,
}

/// One `replace old [v] => new [v]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replace {
    pub old_path: String,
    pub old_version: Option<String>,
    pub new_path: String,
    pub new_version: Option<String>,
}

struct Tok {
    text: String,
    col: usize,
}

/// Splits a go.mod line into tokens (bare words, "quoted" and `raw`
/// strings) and the trailing `//` comment.
fn lex(line: &str) -> Result<(Vec<Tok>, Option<String>), usize> {
    let mut toks = Vec::new();
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (bi, c) = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if line[bi..].starts_with("//") {
            return Ok((toks, Some(line[bi + 2..].trim().to_string())));
        }
        match c {
            '"' | '`' => {
                let mut text = String::new();
                i += 1;
                loop {
                    let Some(&(_, ch)) = chars.get(i) else { return Err(col) };
                    i += 1;
                    if ch == c {
                        break;
                    }
                    if ch == '\\' && c == '"' {
                        let Some(&(_, e)) = chars.get(i) else { return Err(col) };
                        i += 1;
                        text.push(e);
                    } else {
                        text.push(ch);
                    }
                }
                toks.push(Tok { text, col });
            }
            _ => {
                let start = bi;
                while i < chars.len() && !chars[i].1.is_whitespace() && !line[chars[i].0..].starts_with("//") {
                    i += 1;
                }
                let end = chars.get(i).map_or(line.len(), |&(b, _)| b);
                toks.push(Tok { text: line[start..end].to_string(), col });
            }
        }
    }
    Ok((toks, None))
}

/// Parses the text of a `go.mod`.
pub fn parse_go_mod(file: &str, text: &str) -> Result<GoMod, ParseError> {
    let err = |line: usize, col: usize, msg: String| ParseError::new(file, msg).at(format!("{line}:{col}"));
    let mut m = GoMod::default();
    let mut block: Option<(String, usize)> = None;
    let mut have_module = false;
    for (ln, raw) in text.lines().enumerate() {
        let line_no = ln + 1;
        let (toks, comment) = lex(raw).map_err(|col| err(line_no, col, "unterminated quoted string".into()))?;
        if toks.is_empty() {
            continue;
        }
        let (verb, args): (String, &[Tok]) = match &block {
            Some((verb, _)) => {
                if toks.len() == 1 && toks[0].text == ")" {
                    block = None;
                    continue;
                }
                (verb.clone(), &toks[..])
            }
            None => {
                if toks.len() == 2 && toks[1].text == "(" {
                    block = Some((toks[0].text.clone(), line_no));
                    continue;
                }
                (toks[0].text.clone(), &toks[1..])
            }
        };
        let first_col = args.first().map_or(toks[0].col, |t| t.col);
        let indirect = comment.as_deref().is_some_and(|c| c == "indirect" || c.starts_with("indirect;"));
        match verb.as_str() {
            "module" => {
                if args.len() != 1 {
                    return Err(err(line_no, first_col, "usage: module path".into()));
                }
                m.module = args[0].text.clone();
                have_module = true;
            }
            "go" => m.go = args.first().map(|t| t.text.clone()),
            "require" => {
                if args.len() != 2 {
                    return Err(err(line_no, first_col, "usage: require module/path v1.2.3".into()));
                }
                if !args[1].text.starts_with('v') {
                    return Err(err(
                        line_no,
                        args[1].col,
                        format!("version `{}` of `{}` must start with `v`", args[1].text, args[0].text),
                    ));
                }
                m.requires.push(Require {
                    path: args[0].text.clone(),
                    version: args[1].text.clone(),
                    indirect,
                    line: line_no,
                });
            }
            "replace" => {
                let arrow = args
                    .iter()
                    .position(|t| t.text == "=>")
                    .ok_or_else(|| err(line_no, first_col, "usage: replace old [v1.2.3] => new [v1.2.3]".into()))?;
                let (old, new) = (&args[..arrow], &args[arrow + 1..]);
                if old.is_empty() || old.len() > 2 || new.is_empty() || new.len() > 2 {
                    return Err(err(line_no, first_col, "usage: replace old [v1.2.3] => new [v1.2.3]".into()));
                }
                m.replaces.push(Replace {
                    old_path: old[0].text.clone(),
                    old_version: old.get(1).map(|t| t.text.clone()),
                    new_path: new[0].text.clone(),
                    new_version: new.get(1).map(|t| t.text.clone()),
                });
            }
            "exclude" => {
                if args.len() != 2 {
                    return Err(err(line_no, first_col, "usage: exclude module/path v1.2.3".into()));
                }
                m.excludes.push((args[0].text.clone(), args[1].text.clone()));
            }
            // toolchain, godebug, retract, tool, ignore and future directives
            // carry no dependency data.
            _ => {}
        }
    }
    if let Some((verb, line)) = block {
        return Err(err(line, 1, format!("`{verb} (` block is never closed (truncated file?)")));
    }
    if !have_module && m.requires.is_empty() {
        return Err(ParseError::new(file, "no `module` directive: not a go.mod file"));
    }
    Ok(m)
}

/// `(path, version, has content hash)` per go.sum line.
fn parse_go_sum(file: &str, text: &str) -> Result<Vec<(String, String, bool)>, ParseError> {
    let mut out = Vec::new();
    for (ln, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 3 || !f[2].contains(':') {
            return Err(ParseError::new(file, "go.sum line is not `module version hash`").at(format!("{}:1", ln + 1)));
        }
        match f[1].strip_suffix("/go.mod") {
            Some(v) => out.push((f[0].to_string(), v.to_string(), false)),
            None => out.push((f[0].to_string(), f[1].to_string(), true)),
        }
    }
    Ok(out)
}

/// `(path, version)` of each module line (`# path version [=> …]`) in
/// `vendor/modules.txt`.
fn parse_vendor_modules(file: &str, text: &str) -> Result<Vec<(String, String)>, ParseError> {
    let mut out = Vec::new();
    for (ln, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix("# ") else { continue };
        let f: Vec<&str> = rest.split_whitespace().collect();
        match f.as_slice() {
            [path, version, ..] if version.starts_with('v') => out.push((path.to_string(), version.to_string())),
            [_, "=>", ..] => {} // a wildcard replacement line, no version
            _ => {
                return Err(ParseError::new(file, "vendor/modules.txt module line is not `# path version`")
                    .at(format!("{}:1", ln + 1)));
            }
        }
    }
    Ok(out)
}

/// Go version order: semver after dropping the `v` and `+incompatible`.
fn go_version_key(v: &str) -> Option<semver::Version> {
    semver::Version::parse(v.trim_start_matches('v').trim_end_matches("+incompatible")).ok()
}

fn older_than_1_17(go: Option<&str>) -> bool {
    let Some(go) = go else { return true };
    let mut parts = go.split('.');
    let major: u64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor) < (1, 17)
}

/// Parses a `go.mod`, with its `go.sum` and `vendor/modules.txt` if present.
pub fn parse(
    file: &str,
    bytes: &[u8],
    go_sum: Option<Companion<'_>>,
    vendor_modules: Option<Companion<'_>>,
) -> Result<DependencyGraph, ParseError> {
    let text = decode(file, bytes)?;
    let m = parse_go_mod(file, text)?;
    let mut b = GraphBuilder::new(file, LockfileFormat::GoMod);
    // A go.mod without `module` (hand-written, or cut down) that requires
    // modules: the project is named after the file.
    let module = if m.module.is_empty() {
        b.warn(format!("{file}: no `module` directive; the project is named after the file"));
        file
    } else {
        m.module.as_str()
    };
    let root = b.add(package(module, "", Ecosystem::Go, None));
    b.root(root);

    let excluded: HashSet<(&str, &str)> = m.excludes.iter().map(|(p, v)| (p.as_str(), v.as_str())).collect();
    let add_module = |b: &mut GraphBuilder, path: &str, version: &str| {
        let replacement = m
            .replaces
            .iter()
            .find(|r| r.old_path == path && r.old_version.as_deref() == Some(version))
            .or_else(|| m.replaces.iter().find(|r| r.old_path == path && r.old_version.is_none()));
        let p = match replacement {
            Some(r) if r.new_version.is_none() => {
                // A directory replacement: local code.
                package(path, version, Ecosystem::Go, Some(format!("path+{}", r.new_path)))
            }
            Some(r) => {
                let v = r.new_version.as_deref().unwrap_or(version);
                let mut p = package(path, v, Ecosystem::Go, Some(format!("replace+{}", r.new_path)));
                p.purl = purl::for_package(Ecosystem::Go, &r.new_path, v);
                p
            }
            None => {
                let mut p = package(path, version, Ecosystem::Go, Some(super::REGISTRY_UNSPECIFIED.to_string()));
                p.purl = purl::for_package(Ecosystem::Go, path, version);
                p
            }
        };
        b.add(p)
    };

    let mut known: HashSet<String> = HashSet::new();
    for indirect_pass in [false, true] {
        for r in m.requires.iter().filter(|r| r.indirect == indirect_pass) {
            if excluded.contains(&(r.path.as_str(), r.version.as_str())) {
                continue;
            }
            let i = add_module(&mut b, &r.path, &r.version);
            b.edge(root, i);
            known.insert(r.path.clone());
        }
    }

    let mut extra: BTreeMap<String, String> = BTreeMap::new();
    if let Some(sum) = go_sum {
        let stext = decode(sum.path, sum.bytes)?;
        let lines = parse_go_sum(sum.path, stext)?;
        if older_than_1_17(m.go.as_deref()) {
            for (path, version, content) in lines {
                if !content || known.contains(&path) || path == m.module {
                    continue;
                }
                let newer = match extra.get(&path) {
                    None => true,
                    Some(cur) => match (go_version_key(&version), go_version_key(cur)) {
                        (Some(a), Some(b)) => a > b,
                        _ => version > *cur,
                    },
                };
                if newer {
                    extra.insert(path, version);
                }
            }
        }
    }
    if let Some(vendor) = vendor_modules {
        let vtext = decode(vendor.path, vendor.bytes)?;
        for (path, version) in parse_vendor_modules(vendor.path, vtext)? {
            if !known.contains(&path) && path != m.module {
                extra.insert(path, version);
            }
        }
    }
    for (path, version) in &extra {
        if excluded.contains(&(path.as_str(), version.as_str())) {
            continue;
        }
        let i = add_module(&mut b, path, version);
        b.edge(root, i);
    }
    Ok(b.finish())
}
