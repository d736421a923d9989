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
    /// Cargo before 0.11 or so (2016–2017) wrote the project's own package
    /// as a `[root]` table.
    #[serde(borrow)]
    root: Option<LockPackage<'a>>,
    #[serde(default, borrow)]
    package: Vec<LockPackage<'a>>,
}

#[derive(Deserialize)]
struct LockPackage<'a> {
    #[serde(borrow)]
    name: Spanned<Cow<'a, str>>,
    #[serde(default, borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    source: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    checksum: Option<Cow<'a, str>>,
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
///
/// Lockfiles exactly as cargo writes them (v2–v4) are read by a line scanner
/// ([`read_as_written`]), several times faster than a TOML parse; anything
/// else it is not sure about — comments or blank lines inside an array,
/// escapes, other tables, v1's `[metadata]` — goes to the TOML parser, so
/// both paths read every file they both accept identically.
pub fn parse(file: &str, bytes: &[u8], manifests: &[Companion<'_>]) -> Result<DependencyGraph, ParseError> {
    let text = decode(file, bytes)?;
    let lock = match read_as_written(text) {
        Some(lock) => lock,
        None => read_toml(file, text)?,
    };
    build(file, text, lock, manifests)
}

/// [`parse`] through the TOML parser only (the reference the fast path is
/// tested against).
#[cfg(test)]
fn parse_toml_only(file: &str, bytes: &[u8], manifests: &[Companion<'_>]) -> Result<DependencyGraph, ParseError> {
    let text = decode(file, bytes)?;
    let lock = read_toml(file, text)?;
    build(file, text, lock, manifests)
}

/// A lockfile's content, however it was read. Offsets are byte offsets into
/// the decoded text, for error locations.
struct LockData<'a> {
    /// `version = N` and the offset of `N`.
    version: Option<(i64, usize)>,
    packages: Vec<LockEntry<'a>>,
    /// Entries read with a guess or skipped.
    warnings: Vec<String>,
}

struct LockEntry<'a> {
    name: Cow<'a, str>,
    version: Cow<'a, str>,
    source: Option<Cow<'a, str>>,
    /// `checksum` (v2 and later; v1 keeps checksums in `[metadata]`, not
    /// read).
    checksum: Option<Cow<'a, str>>,
    /// Dependency strings and the offset of each one's opening quote.
    dependencies: Vec<(Cow<'a, str>, usize)>,
    /// The 1-based line of the entry's table header (`[[package]]`).
    line: Option<u32>,
}

fn read_toml<'a>(file: &str, text: &'a str) -> Result<LockData<'a>, ParseError> {
    let lock: Lock<'a> = match toml::from_str::<Lock<'a>>(text) {
        Ok(lock) => lock,
        // Valid TOML with an odd entry: read it entry by entry.
        Err(_) if toml::from_str::<toml::Table>(text).is_ok() => return Ok(read_toml_lenient(file, text)),
        Err(_) => from_toml(file, text)?,
    };
    let mut warnings = Vec::new();
    let (root_line, package_lines) = header_lines(text, lock.package.len());
    let lines = lock.root.as_ref().map(|_| root_line).into_iter().chain(package_lines);
    Ok(LockData {
        version: lock.version.map(|v| (*v.get_ref(), v.span().start)),
        packages: lock
            .root
            .into_iter()
            .chain(lock.package)
            .zip(lines)
            .map(|(p, line)| LockEntry {
                version: p.version.unwrap_or_else(|| {
                    warnings.push(format!(
                        "{file}:{}: package `{}` has no `version`; kept without one",
                        loc_at(text, p.name.span().start),
                        p.name.get_ref()
                    ));
                    Cow::Borrowed("")
                }),
                name: p.name.into_inner(),
                source: p.source,
                checksum: p.checksum,
                dependencies: p
                    .dependencies
                    .into_iter()
                    .map(|d| {
                        let at = d.span().start;
                        (d.into_inner(), at)
                    })
                    .collect(),
                line,
            })
            .collect(),
        warnings,
    })
}

/// The 1-based lines of the `[root]` header and of each `[[package]]`
/// header, in order, for a lockfile read by the TOML parser (which gives
/// no span for a table). TOML keeps the elements of an array of tables in
/// the order of their headers, so the i-th header is `package[i]`'s. When
/// the count is not `packages` (an inline array, a header the scan cannot
/// read), every package gets `None` rather than a wrong line.
fn header_lines(text: &str, packages: usize) -> (Option<u32>, Vec<Option<u32>>) {
    let mut root = None;
    let mut lines = Vec::with_capacity(packages);
    for (i, l) in text.lines().enumerate() {
        let l = l.trim_start_matches([' ', '\t']);
        let number = u32::try_from(i + 1).ok();
        if let Some(rest) = l.strip_prefix("[[") {
            let name = rest.split("]]").next().unwrap_or("").trim_matches([' ', '\t']);
            if name == "package" || name == "\"package\"" {
                lines.push(number);
            }
        } else if let Some(rest) = l.strip_prefix('[') {
            let name = rest.split(']').next().unwrap_or("").trim_matches([' ', '\t']);
            if name == "root" || name == "\"root\"" {
                root = root.or(number);
            }
        }
    }
    if lines.len() != packages {
        lines = vec![None; packages];
    }
    (root, lines)
}

/// A lockfile that is valid TOML but has an entry of an unexpected shape:
/// every `[[package]]` (and `[root]`) with a string `name` is read, the
/// others are skipped with a warning.
fn read_toml_lenient<'a>(file: &str, text: &str) -> LockData<'a> {
    use toml::Value;
    let table: toml::Table = toml::from_str(text).unwrap_or_default();
    let mut warnings = Vec::new();
    let version = table.get("version").and_then(Value::as_integer).map(|v| (v, 0));
    let listed_count = table.get("package").and_then(Value::as_array).map_or(0, Vec::len);
    let (root_line, package_lines) = header_lines(text, listed_count);
    let mut packages = Vec::new();
    let root = table.get("root").into_iter().map(|r| ("root".to_owned(), r, root_line));
    let listed = match table.get("package") {
        Some(Value::Array(a)) => {
            a.iter().enumerate().map(|(i, p)| (format!("package[{i}]"), p, package_lines[i])).collect()
        }
        Some(_) => {
            warnings.push(format!("{file}: `package` is not an array of tables; ignored"));
            Vec::new()
        }
        None => Vec::new(),
    };
    for (at, p, line) in root.chain(listed) {
        let Some(name) = p.get("name").and_then(Value::as_str) else {
            warnings.push(format!("{file}: {at}: no string `name`; skipped"));
            continue;
        };
        let version = match p.get("version").and_then(Value::as_str) {
            Some(v) => v.to_owned(),
            None => {
                warnings.push(format!("{file}: {at}: package `{name}` has no `version`; kept without one"));
                String::new()
            }
        };
        let mut dependencies = Vec::new();
        match p.get("dependencies") {
            Some(Value::Array(deps)) => {
                for d in deps {
                    match d.as_str() {
                        Some(d) => dependencies.push((Cow::Owned(d.to_owned()), 0)),
                        None => {
                            warnings.push(format!("{file}: {at}: a dependency of `{name}` is not a string; skipped"))
                        }
                    }
                }
            }
            Some(_) => warnings.push(format!("{file}: {at}: `dependencies` of `{name}` is not an array; ignored")),
            None => {}
        }
        packages.push(LockEntry {
            name: Cow::Owned(name.to_owned()),
            version: Cow::Owned(version),
            source: p.get("source").and_then(Value::as_str).map(|s| Cow::Owned(s.to_owned())),
            checksum: p.get("checksum").and_then(Value::as_str).map(|s| Cow::Owned(s.to_owned())),
            dependencies,
            line,
        });
    }
    LockData { version, packages, warnings }
}

/// Reads a lockfile in the exact shape cargo writes (v2–v4): comment lines,
/// blank lines, `version = N` before the first table, `[[package]]` tables
/// of `key = "string"` lines and one multi-line `dependencies` array of
/// `"string",` lines. Strings without escapes only. `None` as soon as
/// anything else appears (the caller then uses the TOML parser, which also
/// reports any error). Every input it accepts is valid TOML that the TOML
/// parser reads into the same values.
fn read_as_written(text: &str) -> Option<LockData<'_>> {
    let b = text.as_bytes();
    let mut version: Option<(i64, usize)> = None;
    let mut packages: Vec<LockEntry<'_>> = Vec::with_capacity(text.len() / 160);
    // Per package: which of name, version, source, checksum, replace,
    // dependencies were seen (a repeated key is invalid TOML).
    let mut seen = 0u8;
    let mut in_array = false;
    let mut line_start = 0;
    let mut line_number = 0u32;
    while line_start <= b.len() {
        line_number = line_number.saturating_add(1);
        // One pass per line finds its end, counts its quotes and refuses
        // control characters other than tab (CR included) and backslashes:
        // invalid TOML, or escapes cargo does not write.
        let mut end = line_start;
        let mut quotes = 0usize;
        while let Some(&c) = b.get(end) {
            match BYTE_CLASS[usize::from(c)] {
                PLAIN => {}
                NEWLINE => break,
                QUOTE => quotes += 1,
                _ => return None,
            }
            end += 1;
        }
        let (at, line) = trim_blanks(text, line_start, end);
        line_start = end + 1;
        if in_array {
            if line == "]" {
                in_array = false;
                continue;
            }
            let value = simple_string(line.strip_suffix(',')?, quotes)?;
            packages.last_mut()?.dependencies.push((Cow::Borrowed(value), at));
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line == "[[package]]" {
            if !packages.is_empty() && seen & 3 != 3 {
                return None; // the previous package lacks a name or version
            }
            packages.push(LockEntry {
                name: Cow::Borrowed(""),
                version: Cow::Borrowed(""),
                source: None,
                checksum: None,
                dependencies: Vec::new(),
                line: Some(line_number),
            });
            seen = 0;
            continue;
        }
        let eq = line.find('=')?;
        let (_, key) = trim_blanks(line, 0, eq);
        let (value_at, value) = trim_blanks(line, eq + 1, line.len());
        let value_at = at + value_at;
        let Some(p) = packages.last_mut() else {
            // Before the first table: only `version = <decimal integer>`.
            if key != "version" || version.is_some() {
                return None;
            }
            let digits = value.as_bytes();
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || (digits.len() > 1 && digits[0] == b'0') {
                return None;
            }
            version = Some((value.parse().ok()?, value_at));
            continue;
        };
        let bit = match key {
            "name" => 1,
            "version" => 2,
            "source" => 4,
            "checksum" => 8,
            "replace" => 16,
            "dependencies" => 32,
            _ => return None,
        };
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        match bit {
            32 => match value {
                "[" => in_array = true,
                "[]" => {}
                _ => return None,
            },
            _ => {
                let s = simple_string(value, quotes)?;
                match bit {
                    1 => p.name = Cow::Borrowed(s),
                    2 => p.version = Cow::Borrowed(s),
                    4 => p.source = Some(Cow::Borrowed(s)),
                    8 => p.checksum = Some(Cow::Borrowed(s)),
                    _ => {}
                }
            }
        }
    }
    if in_array || (!packages.is_empty() && seen & 3 != 3) {
        return None;
    }
    Some(LockData { version, packages, warnings: Vec::new() })
}

/// `text[start..end]` without leading and trailing spaces and tabs, and the
/// offset where it starts.
fn trim_blanks(text: &str, mut start: usize, mut end: usize) -> (usize, &str) {
    let b = text.as_bytes();
    while start < end && matches!(b[start], b' ' | b'\t') {
        start += 1;
    }
    while end > start && matches!(b[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    (start, &text[start..end])
}

/// The content of `"…"` when the whole of `s` is one basic string; the
/// line holding `s` has `quotes` quotes and no backslash (no escapes).
fn simple_string(s: &str, quotes: usize) -> Option<&str> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    (quotes == 2).then_some(inner)
}

const PLAIN: u8 = 0;
const NEWLINE: u8 = 1;
const QUOTE: u8 = 2;
const REFUSED: u8 = 3;

/// What the line reader must notice about each byte.
static BYTE_CLASS: [u8; 256] = {
    let mut class = [PLAIN; 256];
    let mut c = 0;
    while c < 0x20 {
        class[c] = REFUSED;
        c += 1;
    }
    class[b'\t' as usize] = PLAIN;
    class[b'\n' as usize] = NEWLINE;
    class[0x7f] = REFUSED;
    class[b'"' as usize] = QUOTE;
    class[b'\\' as usize] = REFUSED;
    class
};

fn build(
    file: &str,
    text: &str,
    lock: LockData<'_>,
    manifests: &[Companion<'_>],
) -> Result<DependencyGraph, ParseError> {
    if let Some((v, at)) = lock.version.filter(|(v, _)| !SUPPORTED_VERSIONS.contains(v)) {
        return Err(ParseError::new(file, format!("unsupported Cargo.lock version {v} (supported: 1, 2, 3, 4)"))
            .at(loc_at(text, at)));
    }

    let mut root_names: HashSet<String> = HashSet::new();
    for m in manifests {
        let mtext = decode(m.path, m.bytes)?;
        let manifest: Manifest<'_> = from_toml(m.path, mtext)?;
        if let Some(name) = manifest.package.and_then(|p| p.name) {
            root_names.insert(name.into_owned());
        }
    }

    let packages = &lock.packages;
    let mut b = GraphBuilder::with_capacity(file, LockfileFormat::CargoLock, packages.len());
    // Packages by name: the last one with each name, chained to the others.
    let mut by_name: HashMap<&str, usize> = HashMap::with_capacity(packages.len());
    let mut same_name: Vec<Option<usize>> = Vec::with_capacity(packages.len());
    let mut idx_of = Vec::with_capacity(packages.len());
    for p in packages {
        let name: &str = &p.name;
        let mut pkg = package(name, &p.version, Ecosystem::Cargo, p.source.as_ref().map(|s| s.to_string()));
        pkg.line = p.line;
        pkg.integrity = p.checksum.as_ref().map(|c| c.to_string());
        if p.source.as_deref().is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+")) {
            pkg.purl = purl::for_package(Ecosystem::Cargo, name, &p.version);
        }
        let i = b.add(pkg);
        same_name.push(by_name.insert(name, idx_of.len()));
        idx_of.push(i);
    }
    let names = SameName { by_name, same_name };
    for w in lock.warnings {
        b.warn(w);
    }

    for (pi, p) in packages.iter().enumerate() {
        for (dep, at) in &p.dependencies {
            match resolve(packages, &names, dep) {
                Ok(target) => b.edge(idx_of[pi], idx_of[target]),
                Err(msg) => {
                    let at = if *at > 0 { format!(":{}", loc_at(text, *at)) } else { String::new() };
                    b.warn(format!("{file}{at}: package `{}`: {msg}; edge skipped", p.name));
                }
            }
        }
    }

    let sourceless: Vec<usize> = (0..packages.len()).filter(|&i| packages[i].source.is_none()).collect();
    let named: Vec<usize> = sourceless.iter().copied().filter(|&i| root_names.contains(&*packages[i].name)).collect();
    let roots = if named.is_empty() { sourceless } else { named };
    for i in roots {
        b.root(idx_of[i]);
    }
    Ok(b.finish())
}

/// Lock packages by name: `by_name` holds the last index with each name and
/// `same_name[i]` the previous index with the name of `i`.
struct SameName<'a> {
    by_name: HashMap<&'a str, usize>,
    same_name: Vec<Option<usize>>,
}

/// Resolves `name`, `name version` or `name version (source)` to the index
/// of exactly one lock package.
///
/// The source must match exactly, or else once both sides drop their
/// `#commit` fragment (cargo writes a git dependency's reference without
/// the commit its package's `source` pins, and old lockfiles mix both
/// spellings); failing that, a reference whose name and version name one
/// package only resolves to it, whatever its source says.
fn resolve(packages: &[LockEntry<'_>], names: &SameName<'_>, dep: &str) -> Result<usize, String> {
    let mut parts = dep.splitn(3, ' ');
    let name = parts.next().unwrap_or("");
    let version = parts.next();
    let source = parts.next().map(|s| s.trim().trim_start_matches('(').trim_end_matches(')'));
    let candidates = std::iter::successors(names.by_name.get(name).copied(), |&i| names.same_name[i]);
    let mut matching = candidates
        .filter(|&i| version.is_none_or(|v| packages[i].version == v))
        .filter(|&i| source.is_none_or(|s| packages[i].source.as_deref() == Some(s)));
    match (matching.next(), matching.count()) {
        (Some(one), 0) => Ok(one),
        (Some(_), more) => Err(format!("dependency `{dep}` is ambiguous: {} packages match", more + 1)),
        (None, _) => resolve_loosely(packages, names, dep, name, version, source),
    }
}

/// [`resolve`] when no package matches exactly (old lockfiles, git
/// references without `#commit`): sources compared without their fragment,
/// then name and version alone when they name one package.
#[cold]
fn resolve_loosely(
    packages: &[LockEntry<'_>],
    names: &SameName<'_>,
    dep: &str,
    name: &str,
    version: Option<&str>,
    source: Option<&str>,
) -> Result<usize, String> {
    let candidates = || {
        std::iter::successors(names.by_name.get(name).copied(), |&i| names.same_name[i])
            .filter(move |&i| version.is_none_or(|v| packages[i].version == v))
    };
    let one = |mut it: Box<dyn Iterator<Item = usize> + '_>| -> Option<Result<usize, String>> {
        let first = it.next()?;
        Some(match it.count() {
            0 => Ok(first),
            more => Err(format!("dependency `{dep}` is ambiguous: {} packages match", more + 1)),
        })
    };
    if let Some(s) = source {
        let base = |s: &'_ str| s.split('#').next().unwrap_or(s).to_owned();
        let want = base(s);
        let same_base =
            candidates().filter(|&i| packages[i].source.as_deref().map(base).as_deref() == Some(want.as_str()));
        if let Some(r) = one(Box::new(same_base)) {
            return r;
        }
        if let Some(Ok(i)) = one(Box::new(candidates())) {
            return Ok(i);
        }
    }
    Err(format!("dependency `{dep}` names no package in the lockfile"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/data/lockfiles/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Both readers give the same graph, or the same error.
    fn same(bytes: &[u8]) {
        let manifests = [Companion::new("Cargo.toml", b"[package]\nname = \"ripgrep\"\n")];
        let fast = parse("Cargo.lock", bytes, &manifests);
        let slow = parse_toml_only("Cargo.lock", bytes, &manifests);
        assert_eq!(fast, slow, "input:\n{}", String::from_utf8_lossy(bytes));
    }

    fn is_fast(text: &str) -> bool {
        read_as_written(text).is_some()
    }

    #[test]
    fn the_line_reader_takes_what_cargo_writes() {
        for name in ["cargo-v3-ripgrep-14.1.1.Cargo.lock", "cargo-v4-ripgrep-15.1.0.Cargo.lock"] {
            let bytes = fixture(name);
            assert!(is_fast(std::str::from_utf8(&bytes).unwrap()), "{name}");
            same(&bytes);
        }
        // v1 keeps checksums in [metadata]: the TOML parser reads it.
        let v1 = fixture("cargo-v1-ripgrep-12.1.1.Cargo.lock");
        assert!(!is_fast(std::str::from_utf8(&v1).unwrap()));
        same(&v1);
    }

    #[test]
    fn the_line_reader_gives_up_on_anything_unusual() {
        let base = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\ndependencies = [\n \"b\",\n]\n\n[[package]]\nname = \"b\"\nversion = \"2.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
        assert!(is_fast(base));
        same(base.as_bytes());
        let unusual = [
            ("name = \"a\"", "name = \"a\" # comment"),
            ("name = \"a\"", "name = 'a'"),
            ("name = \"a\"", "name = \"\\u0061\""),
            ("name = \"a\"", "\"name\" = \"a\""),
            ("name = \"a\"", "name = \"a\"\nname = \"a\""),
            ("name = \"a\"", "name = \"a\"\nfeatures = []"),
            ("name = \"a\"", ""),
            ("version = \"1.0.0\"", ""),
            (" \"b\",\n", " \"b\"\n"),
            (" \"b\",\n", " # a comment\n \"b\",\n"),
            (" \"b\",\n", "\n \"b\",\n"),
            ("dependencies = [\n \"b\",\n]", "dependencies = [\"b\"]"),
            ("version = 4", "version = 04"),
            ("version = 4", "version = \"4\""),
            ("version = 4", "version = 4\nversion = 4"),
            ("version = 4", "version = 99999999999999999999"),
            ("version = 4", "version = 4\nfoo = \"x\""),
            ("[[package]]\nname = \"b\"", "[metadata]\n\n[[package]]\nname = \"b\""),
            ("[[package]]\nname = \"b\"", "[[package]] # b\nname = \"b\""),
            ("\n", "\r\n"),
        ];
        for (from, to) in unusual {
            let text = base.replacen(from, to, 1);
            assert!(!is_fast(&text), "{text}");
            same(text.as_bytes());
        }
        // Shapes it reads, identically.
        for (from, to) in [
            ("dependencies = [\n \"b\",\n]", "dependencies = []"),
            ("name = \"a\"", "name   =\t\"a\"  "),
            ("version = 4", "# hi\nversion = 4"),
            ("version = 4", "version = 9"),
            ("version = 4\n", ""),
            (" \"b\",\n", " \"ghost\",\n"),
            (" \"b\",\n", " \"b 2.0.0\",\n"),
            (" \"b\",\n", " \"b 2.0.0 (registry+https://github.com/rust-lang/crates.io-index)\",\n"),
            (" \"b\",\n", " \"b 9.9.9\",\n"),
            ("name = \"a\"", "name = \"ä\""),
        ] {
            let text = base.replacen(from, to, 1);
            assert!(is_fast(&text), "{text}");
            same(text.as_bytes());
        }
    }

    /// A poor man's differential fuzzer: random line edits of a real
    /// lockfile, each read by both paths.
    #[test]
    fn both_readers_agree_on_mangled_lockfiles() {
        let real = String::from_utf8(fixture("cargo-v4-ripgrep-15.1.0.Cargo.lock")).unwrap();
        let lines: Vec<&str> = real.lines().take(120).collect();
        let pieces =
            ["", "]", "[", "[[package]]", "#", " \"memchr\",", "name = \"x\"", "version = 3", "dependencies = [", "\""];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..400 {
            let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            for _ in 0..1 + next(3) {
                let at = next(l.len());
                match next(4) {
                    0 => {
                        l.remove(at);
                    }
                    1 => l.insert(at, pieces[next(pieces.len())].to_owned()),
                    2 => {
                        let cut = next(l[at].len() + 1);
                        l[at].truncate(cut);
                    }
                    _ => {
                        let other = next(l.len());
                        l.swap(at, other);
                    }
                }
            }
            same((l.join("\n") + "\n").as_bytes());
        }
    }
}
