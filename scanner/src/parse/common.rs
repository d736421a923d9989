//! Helpers every parser shares: decoding with size and UTF-8 checks, error
//! locations, order-preserving maps for serde, the graph builder that keeps
//! one package per (name, version, source), and purls.

use crate::model::{DependencyGraph, Ecosystem, LockfileFormat, Package, PackageIndex, ParseError, SourceLocation};
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::marker::PhantomData;

/// Inputs larger than this are refused before parsing (512 MiB). The largest
/// real lockfiles are a few tens of MiB; an SBOM of 50,000 components is
/// about 60 MiB.
pub const MAX_INPUT_BYTES: usize = 512 * 1024 * 1024;

/// Checks the size cap and UTF-8, and strips a byte-order mark.
pub(crate) fn decode<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a str, ParseError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(ParseError::new(
            file,
            format!(
                "file is {} bytes, above the {} MiB limit for one input; split the SBOM or lockfile",
                bytes.len(),
                MAX_INPUT_BYTES / (1024 * 1024)
            ),
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) => {
            let good = e.valid_up_to();
            // The prefix is valid UTF-8 by construction.
            let prefix = std::str::from_utf8(&bytes[..good]).unwrap_or_default();
            let (line, col) = line_col(prefix, good);
            Err(ParseError::new(
                file,
                format!("invalid UTF-8 at byte offset {good}; lockfiles and SBOMs must be UTF-8"),
            )
            .at(format!("{line}:{col}")))
        }
    }
}

/// Like [`decode`], but also reads UTF-16 text that starts with its
/// byte-order mark (Windows tools such as PowerShell's `pip freeze >` write
/// requirements files that way).
pub(crate) fn decode_text<'a>(file: &str, bytes: &'a [u8]) -> Result<Cow<'a, str>, ParseError> {
    let utf16 = |rest: &[u8], le: bool| -> Result<Cow<'a, str>, ParseError> {
        if bytes.len() > MAX_INPUT_BYTES {
            return decode(file, bytes).map(Cow::Borrowed);
        }
        let units = rest.chunks(2).map(|c| {
            let pair = [c[0], c.get(1).copied().unwrap_or(0)];
            if le { u16::from_le_bytes(pair) } else { u16::from_be_bytes(pair) }
        });
        let mut out = String::with_capacity(rest.len() / 2);
        for (i, c) in char::decode_utf16(units).enumerate() {
            match c {
                Ok(c) => out.push(c),
                Err(_) => {
                    let (line, col) = line_col(&out, out.len());
                    return Err(ParseError::new(file, format!("invalid UTF-16 at byte offset {}", 2 + 2 * i))
                        .at(format!("{line}:{col}")));
                }
            }
        }
        Ok(Cow::Owned(out))
    };
    match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, false),
        _ => decode(file, bytes).map(Cow::Borrowed),
    }
}

/// 1-based line and column (in characters)/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

pub(crate) fn loc_at(text: &str, offset: usize) -> String {
    let (l, c) = line_col(text, offset);
    format!("{l}:{c}")
}

/// Deserializes JSON; on failure parses again with path tracking so the
/// error names the JSON path (`packages["node_modules/x"].version`) as well as
/// the line and column.
pub(crate) fn from_json<'a, T: Deserialize<'a>>(file: &str, text: &'a str) -> Result<T, ParseError> {
    match serde_json::from_str::<T>(text) {
        Ok(v) => Ok(v),
        Err(e) => {
            let mut de = serde_json::Deserializer::from_str(text);
            let path = match serde_path_to_error::deserialize::<_, T>(&mut de) {
                Err(pe) => json_path(pe.path()),
                Ok(_) => String::new(),
            };
            let what = match e.classify() {
                serde_json::error::Category::Eof => "truncated JSON: ",
                serde_json::error::Category::Syntax => "invalid JSON: ",
                serde_json::error::Category::Data => "unexpected JSON content: ",
                serde_json::error::Category::Io => "",
            };
            let err = ParseError::new(file, format!("{what}{e}"));
            Err(if path.is_empty() || path == "." {
                err.at(format!("{}:{}", e.line(), e.column()))
            } else {
                err.at(path)
            })
        }
    }
}

fn json_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => push_key(&mut out, key),
            Segment::Enum { variant } => push_key(&mut out, variant),
            // A key not read yet (the input ended or broke before it).
            Segment::Unknown => {}
        }
    }
    out
}

fn push_key(out: &mut String, key: &str) {
    let ident = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if ident {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(key);
    } else {
        out.push('[');
        out.push_str(&serde_json::to_string(key).unwrap_or_else(|_| format!("\"{key}\"")));
        out.push(']');
    }
}

/// `prefix["key"]` or `prefix.key`, rendered like the JSON paths in errors.
pub(crate) fn path_key(prefix: &str, key: &str) -> String {
    let mut out = prefix.to_string();
    push_key(&mut out, key);
    out
}

/// Flow collections (`[…]`, `{…}`) nested deeper than this are refused
/// before YAML parsing: libyaml's scanner is quadratic in flow nesting, and
/// the deserializer would refuse anything deeper than 128 anyway.
pub(crate) const MAX_YAML_FLOW_DEPTH: usize = 128;

/// A linear pre-scan for flow nesting depth (quotes and comments skipped).
fn check_yaml_flow_depth(file: &str, text: &str) -> Result<(), ParseError> {
    let b = text.as_bytes();
    let (mut depth, mut i, mut quote, mut prev) = (0usize, 0usize, None::<u8>, b' ');
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(b'"') => {
                if c == b'\\' {
                    i += 1;
                } else if c == b'"' {
                    quote = None;
                }
            }
            Some(_) => {
                if c == b'\'' {
                    if b.get(i + 1) == Some(&b'\'') {
                        i += 1;
                    } else {
                        quote = None;
                    }
                }
            }
            None => {
                let boundary = prev.is_ascii_whitespace() || matches!(prev, b'[' | b'{' | b',' | b':');
                match c {
                    b'#' if prev.is_ascii_whitespace() => {
                        while i < b.len() && b[i] != b'\n' {
                            i += 1;
                        }
                    }
                    b'"' | b'\'' if boundary => quote = Some(c),
                    b'[' | b'{' => {
                        depth += 1;
                        if depth > MAX_YAML_FLOW_DEPTH {
                            return Err(ParseError::new(
                                file,
                                format!("YAML flow collections nested deeper than {MAX_YAML_FLOW_DEPTH}"),
                            )
                            .at(loc_at(text, i)));
                        }
                    }
                    b']' | b'}' => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
        }
        prev = b.get(i).copied().unwrap_or(b' ');
        i += 1;
    }
    Ok(())
}

/// Deserializes YAML; errors carry `line:column`.
pub(crate) fn from_yaml<'a, T: Deserialize<'a>>(file: &str, text: &'a str) -> Result<T, ParseError> {
    check_yaml_flow_depth(file, text)?;
    yaml_serde::from_str::<T>(text).map_err(|e| {
        let err = ParseError::new(file, format!("invalid YAML lockfile: {e}"));
        match e.location() {
            Some(l) => err.at(format!("{}:{}", l.line(), l.column())),
            None => err,
        }
    })
}

/// Deserializes every document of a YAML stream (`---` separated; pnpm 9
/// can write one for its own version before the lockfile); errors carry
/// `line:column`.
pub(crate) fn from_yaml_documents<'a, T: Deserialize<'a>>(file: &str, text: &'a str) -> Result<Vec<T>, ParseError> {
    check_yaml_flow_depth(file, text)?;
    let mut out = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(text) {
        out.push(T::deserialize(doc).map_err(|e| {
            let err = ParseError::new(file, format!("invalid YAML lockfile: {e}"));
            match e.location() {
                Some(l) => err.at(format!("{}:{}", l.line(), l.column())),
                None => err,
            }
        })?);
    }
    Ok(out)
}

/// Deserializes TOML; errors carry `line:column`.
pub(crate) fn from_toml<'a, T: Deserialize<'a>>(file: &str, text: &'a str) -> Result<T, ParseError> {
    toml::from_str::<T>(text).map_err(|e| {
        let err = ParseError::new(file, format!("invalid TOML: {}", e.message().trim_end()));
        match e.span() {
            Some(span) => err.at(loc_at(text, span.start)),
            None => err,
        }
    })
}

/// A map kept in input order (serde maps into a `Vec` of pairs), so output
/// does not depend on hashing and duplicate keys are not silently merged.
#[derive(Debug)]
pub(crate) struct Entries<K, V>(pub Vec<(K, V)>);

impl<K, V> Default for Entries<K, V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Entries<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V2<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for V2<K, V> {
            type Value = Entries<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
                while let Some((k, v)) = map.next_entry()? {
                    out.push((k, v));
                }
                Ok(Entries(out))
            }
            // YAML writes an empty map as `{}` but some tools write `~`/null.
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Entries(Vec::new()))
            }
        }
        d.deserialize_map(V2(PhantomData))
    }
}

/// A scalar read as text whatever YAML typed it as (`version: 1.10` is a
/// float to YAML but a version to us; the original spelling of floats is
/// lost, which only matters for hand-edited files).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Scalar<'a>(pub Cow<'a, str>);

impl<'a> Scalar<'a> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SV<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for SV<'a> {
            type Value = Scalar<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or number")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar(Cow::Owned(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar(Cow::Owned(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Scalar(Cow::Owned(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Scalar(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_any(SV(PhantomData))
    }
}

/// Builds a [`DependencyGraph`] keeping one package per
/// (name, version, source), as the model requires.
///
/// The identity of a package is hashed once, with a randomly keyed SipHash
/// (the input chooses the names), and nothing is cloned: the table maps the
/// hash to the last package added with it, and `same_hash` chains packages
/// whose identities share a hash.
pub(crate) struct GraphBuilder {
    graph: DependencyGraph,
    index: HashMap<u64, PackageIndex, BuildHasherDefault<HashValue>>,
    same_hash: Vec<Option<PackageIndex>>,
    hasher: RandomState,
}

/// A hasher for keys that already are hash values (of a keyed SipHash).
#[derive(Default)]
pub(crate) struct HashValue(u64);

impl Hasher for HashValue {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl GraphBuilder {
    pub(crate) fn new(file: &str, format: LockfileFormat) -> Self {
        Self::with_capacity(file, format, 0)
    }

    /// A builder for about `packages` packages.
    pub(crate) fn with_capacity(file: &str, format: LockfileFormat, packages: usize) -> Self {
        let mut graph = DependencyGraph::new(SourceLocation { path: file.to_string(), format });
        graph.packages.reserve(packages);
        graph.edges.reserve(packages);
        Self {
            graph,
            index: HashMap::with_capacity_and_hasher(packages, BuildHasherDefault::default()),
            same_hash: Vec::with_capacity(packages),
            hasher: RandomState::new(),
        }
    }

    /// Adds `package`, or merges it into the equal package already present
    /// (raw licenses are united; it stays `dev` only if both say so; the
    /// earlier line is kept).
    pub(crate) fn add(&mut self, package: Package) -> PackageIndex {
        let hash = self.hasher.hash_one((
            package.ecosystem,
            package.name.as_str(),
            package.version.as_str(),
            package.source.as_deref(),
        ));
        let mut candidate = self.index.get(&hash).copied();
        while let Some(i) = candidate {
            let existing = &mut self.graph.packages[i];
            if existing.ecosystem == package.ecosystem
                && existing.name == package.name
                && existing.version == package.version
                && existing.source == package.source
            {
                existing.dev &= package.dev;
                for l in package.raw_licenses {
                    if !existing
                        .raw_licenses
                        .iter()
                        .any(|e| e.value == l.value && field_tail(&e.field) == field_tail(&l.field))
                    {
                        existing.raw_licenses.push(l);
                    }
                }
                if existing.purl.is_none() {
                    existing.purl = package.purl;
                }
                // The entry that comes first in the file.
                existing.line = match (existing.line, package.line) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                return i;
            }
            candidate = self.same_hash[i];
        }
        let i = self.graph.push(package);
        self.same_hash.push(self.index.insert(hash, i));
        i
    }

    pub(crate) fn edge(&mut self, from: PackageIndex, to: PackageIndex) {
        if from != to {
            self.graph.add_edge(from, to);
        }
    }

    pub(crate) fn root(&mut self, i: PackageIndex) {
        if !self.graph.roots.contains(&i) {
            self.graph.roots.push(i);
        }
    }

    /// Records that an entry was skipped or read with a guess. At most
    /// [`MAX_WARNINGS`] are kept, then one line says how many more there were.
    pub(crate) fn warn(&mut self, message: impl Into<String>) {
        push_warning(&mut self.graph.warnings, message.into());
    }

    pub(crate) fn graph(&self) -> &DependencyGraph {
        &self.graph
    }

    /// The graph being built, for setting fields of packages already added
    /// (never their identity: name, version, source).
    pub(crate) fn graph_mut(&mut self) -> &mut DependencyGraph {
        &mut self.graph
    }

    pub(crate) fn len(&self) -> usize {
        self.graph.packages.len()
    }

    pub(crate) fn finish(mut self) -> DependencyGraph {
        self.graph.roots.sort_unstable();
        self.graph.roots.dedup();
        self.graph
    }
}

/// How many parse warnings one graph keeps (a hostile file could otherwise
/// produce one per line).
pub(crate) const MAX_WARNINGS: usize = 200;

pub(crate) fn push_warning(warnings: &mut Vec<String>, message: String) {
    if warnings.len() < MAX_WARNINGS {
        warnings.push(message);
    } else if warnings.len() == MAX_WARNINGS {
        warnings.push(format!("more than {MAX_WARNINGS} warnings; the rest are not shown"));
    }
}

/// The last segment of a field path (`packages[3].licenseDeclared` →
/// `licenseDeclared`), so merged duplicates keep one license per kind.
fn field_tail(field: &str) -> &str {
    field.rsplit(['.', ']']).next().unwrap_or(field)
}

/// A package with the fields every parser sets.
pub(crate) fn package(name: &str, version: &str, ecosystem: Ecosystem, source: Option<String>) -> Package {
    Package {
        name: name.to_string(),
        version: version.to_string(),
        ecosystem,
        purl: None,
        source,
        raw_licenses: Vec::new(),
        dev: false,
        line: None,
        integrity: None,
    }
}

/// The synthetic root for inputs that do not record the project itself.
pub(crate) fn synthetic_root(name: &str, version: &str, ecosystem: Ecosystem) -> Package {
    package(name, version, ecosystem, None)
}

/// Connects `root` to every package nothing else depends on; then, so that
/// dependency cycles without an outside dependent stay reachable, to the
/// first unreachable package of each remaining cycle. Used only where the
/// input has no record of the project's direct dependencies.
pub(crate) fn connect_orphans(b: &mut GraphBuilder, root: PackageIndex) {
    let n = b.len();
    let mut has_parent = vec![false; n];
    for (from, deps) in b.graph().edges.iter().enumerate() {
        for &d in deps {
            if d != from {
                has_parent[d] = true;
            }
        }
    }
    for (i, &p) in has_parent.iter().enumerate() {
        if !p && i != root && !b.graph().roots.contains(&i) {
            b.edge(root, i);
        }
    }
    loop {
        let seen = reachable(b.graph(), &b.graph().roots.clone(), &HashSet::new());
        match (0..n).find(|&i| !seen[i]) {
            Some(i) => b.edge(root, i),
            None => break,
        }
    }
}

/// Packages reachable from `starts`, not following edges in `skip`.
pub(crate) fn reachable(
    g: &DependencyGraph,
    starts: &[PackageIndex],
    skip: &HashSet<(PackageIndex, PackageIndex)>,
) -> Vec<bool> {
    let mut seen = vec![false; g.packages.len()];
    let mut queue: VecDeque<PackageIndex> = VecDeque::new();
    for &s in starts {
        if s < seen.len() && !seen[s] {
            seen[s] = true;
            queue.push_back(s);
        }
    }
    while let Some(i) = queue.pop_front() {
        for &d in &g.edges[i] {
            if !seen[d] && !skip.contains(&(i, d)) {
                seen[d] = true;
                queue.push_back(d);
            }
        }
    }
    seen
}

/// Marks as `dev` every package reachable from the roots only through one
/// of `dev_edges` (a root's devDependencies, an SBOM's TEST_DEPENDENCY_OF…).
pub(crate) fn mark_dev(g: &mut DependencyGraph, dev_edges: &HashSet<(PackageIndex, PackageIndex)>) {
    if dev_edges.is_empty() {
        return;
    }
    let roots = g.roots.clone();
    let prod = reachable(g, &roots, dev_edges);
    let all = reachable(g, &roots, &HashSet::new());
    for (i, p) in g.packages.iter_mut().enumerate() {
        if all[i] && !prod[i] {
            p.dev = true;
        }
    }
}

/// Splits an npm package specifier `name@range` (`@scope/name@range`) at the
/// `@` that ends the name.
pub(crate) fn split_npm_spec(spec: &str) -> Option<(&str, &str)> {
    let start = usize::from(spec.starts_with('@'));
    let at = spec.get(start..)?.find('@')? + start;
    Some((&spec[..at], &spec[at + 1..]))
}

/// The directory part of a `/`-separated path (`""` at the top).
pub(crate) fn parent_dir(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// Joins a relative path onto a directory, resolving `.` and `..`; `None`
/// when it climbs above the tree's top or is absolute.
pub(crate) fn join_path(dir: &str, rel: &str) -> Option<String> {
    if rel.starts_with('/') || rel.contains('\\') && rel.contains(':') {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// Package URLs (<https://github.com/package-url/purl-spec>).
pub mod purl {
    use crate::model::Ecosystem;

    /// Percent-encodes everything but the purl-safe characters.
    pub fn encode(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        encode_into(&mut out, s);
        out
    }

    fn encode_into(out: &mut String, s: &str) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
                out.push(b as char);
            } else {
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        }
    }

    /// The purl of a package of a known ecosystem: `pkg:cargo/name@v`,
    /// `pkg:npm/%40scope/name@v`, `pkg:golang/github.com/a/b@v`,
    /// `pkg:pypi/name@v` (name PEP 503-normalized). `None` for
    /// [`Ecosystem::Other`] or an empty name.
    pub fn for_package(ecosystem: Ecosystem, name: &str, version: &str) -> Option<String> {
        if name.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(16 + name.len() + version.len());
        match ecosystem {
            Ecosystem::Cargo => {
                out.push_str("pkg:cargo/");
                encode_into(&mut out, name);
            }
            Ecosystem::Npm => {
                out.push_str("pkg:npm/");
                match name.strip_prefix('@').and_then(|n| n.split_once('/')) {
                    Some((scope, n)) => {
                        out.push_str("%40");
                        encode_into(&mut out, scope);
                        out.push('/');
                        encode_into(&mut out, n);
                    }
                    None => encode_into(&mut out, name),
                }
            }
            Ecosystem::Go => {
                out.push_str("pkg:golang/");
                for (i, seg) in name.split('/').enumerate() {
                    if i > 0 {
                        out.push('/');
                    }
                    encode_into(&mut out, seg);
                }
            }
            Ecosystem::Pypi => {
                out.push_str("pkg:pypi/");
                encode_into(&mut out, &crate::names::pep503(name));
            }
            Ecosystem::Other => return None,
        }
        if !version.is_empty() {
            out.push('@');
            encode_into(&mut out, version);
        }
        Some(out)
    }

    /// The ecosystem a purl names by its type (`pkg:cargo/…` → Cargo).
    pub fn ecosystem(purl: &str) -> Ecosystem {
        let ty = purl.strip_prefix("pkg:").and_then(|r| r.trim_start_matches('/').split('/').next()).unwrap_or("");
        match ty.to_ascii_lowercase().as_str() {
            "cargo" => Ecosystem::Cargo,
            "npm" => Ecosystem::Npm,
            "golang" => Ecosystem::Go,
            "pypi" => Ecosystem::Pypi,
            _ => Ecosystem::Other,
        }
    }

    /// Decodes `%XX` escapes (invalid escapes are kept as written).
    pub fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(v) = hex {
                    out.push(v);
                    i += 3;
                    continue;
                }
            }
            out.push(b[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The value of qualifier `key` in a purl (`?download_url=…&…`), decoded.
    pub fn qualifier(purl: &str, key: &str) -> Option<String> {
        let q = purl.split_once('?')?.1;
        let q = q.split('#').next().unwrap_or(q);
        q.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k.eq_ignore_ascii_case(key)).then(|| decode(v))
        })
    }
}

/// A string field that real files sometimes write as another type (old npm
/// writes `"resolved": false` for bundled dependencies): a string is kept,
/// anything else (bool, number, null, array, object) reads as absent and is
/// remembered in `odd` so the caller can warn.
#[derive(Debug, Default)]
pub(crate) struct LenientStr<'a> {
    pub value: Option<Cow<'a, str>>,
    /// The JSON type found instead of a string, when it was not one.
    pub odd: Option<&'static str>,
}

impl<'a> LenientStr<'a> {
    pub(crate) fn as_deref(&self) -> Option<&str> {
        self.value.as_deref()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for LenientStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct LV<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for LV<'a> {
            type Value = LenientStr<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(LenientStr { value: Some(Cow::Borrowed(v)), odd: None })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(LenientStr { value: Some(Cow::Owned(v.to_owned())), odd: None })
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(LenientStr { value: Some(Cow::Owned(v)), odd: None })
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(LenientStr { value: None, odd: Some("a boolean") })
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(LenientStr { value: None, odd: Some("a number") })
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(LenientStr { value: None, odd: Some("a number") })
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(LenientStr { value: None, odd: Some("a number") })
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LenientStr { value: None, odd: None })
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LenientStr { value: None, odd: None })
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                d.deserialize_any(self)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(LenientStr { value: None, odd: Some("an array") })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
                Ok(LenientStr { value: None, odd: Some("an object") })
            }
        }
        d.deserialize_any(LV(PhantomData))
    }
}

/// A license field in any shape package manifests have used: `"MIT"`,
/// the legacy `{ "type": "MIT", "url": … }`, or an array of either
/// (`["MIT"]`, `[{ "type": "MIT" }]`). Each string found is kept with the
/// field-path suffix it came from (`""`, `.type`, `[0]`, `[0].type`);
/// anything else is counted in `skipped`.
#[derive(Debug, Default)]
pub(crate) struct LicenseField<'a> {
    pub values: Vec<(Cow<'a, str>, String)>,
    pub skipped: usize,
}

/// `{ "type": …, "url": … }` (any other keys ignored).
struct LicenseObject<'a>(Option<Cow<'a, str>>, usize);

impl<'de: 'a, 'a> Deserialize<'de> for LicenseObject<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OV<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for OV<'a> {
            type Value = LicenseObject<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a license object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut kind = None;
                let mut skipped = 0;
                while let Some(k) = map.next_key::<Cow<'de, str>>()? {
                    if k == "type" {
                        let v: LenientStr<'de> = map.next_value()?;
                        if v.value.is_none() {
                            skipped += 1;
                        }
                        kind = v.value;
                    } else {
                        map.next_value::<de::IgnoredAny>()?;
                    }
                }
                if kind.is_none() && skipped == 0 {
                    skipped = 1;
                }
                Ok(LicenseObject(kind, skipped))
            }
        }
        d.deserialize_map(OV(PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for LicenseField<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FV<'a>(PhantomData<&'a ()>);
        /// One element of a license array.
        struct Item<'a>(LicenseField<'a>);
        impl<'de: 'a, 'a> Deserialize<'de> for Item<'a> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                // Arrays inside arrays are not a shape anyone writes: the
                // inner visitor counts them as skipped without descending.
                d.deserialize_any(FV2(PhantomData)).map(Item)
            }
        }
        struct FV2<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for FV2<'a> {
            type Value = LicenseField<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a license")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(LicenseField { values: vec![(Cow::Borrowed(v), String::new())], skipped: 0 })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(LicenseField { values: vec![(Cow::Owned(v.to_owned()), String::new())], skipped: 0 })
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(LicenseField { values: Vec::new(), skipped: 1 })
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(LicenseField { values: Vec::new(), skipped: 1 })
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(LicenseField { values: Vec::new(), skipped: 1 })
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(LicenseField { values: Vec::new(), skipped: 1 })
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LicenseField::default())
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(LicenseField { values: Vec::new(), skipped: 1 })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let o = LicenseObject::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(LicenseField { values: o.0.map(|k| (k, ".type".to_owned())).into_iter().collect(), skipped: o.1 })
            }
        }
        impl<'de: 'a, 'a> Visitor<'de> for FV<'a> {
            type Value = LicenseField<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a license, a license object or an array of them")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                FV2(PhantomData).visit_borrowed_str(v)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                FV2(PhantomData).visit_str(v)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                FV2(PhantomData).visit_bool(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                FV2(PhantomData).visit_i64(v)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                FV2(PhantomData).visit_u64(v)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                FV2(PhantomData).visit_f64(v)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LicenseField::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                FV2(PhantomData).visit_map(map)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = LicenseField::default();
                let mut i = 0usize;
                while let Some(Item(f)) = seq.next_element::<Item<'de>>()? {
                    for (v, suffix) in f.values {
                        out.values.push((v, format!("[{i}]{suffix}")));
                    }
                    out.skipped += f.skipped;
                    i += 1;
                }
                Ok(out)
            }
        }
        d.deserialize_any(FV(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls() {
        assert_eq!(purl::for_package(Ecosystem::Npm, "@babel/core", "7.0.0").unwrap(), "pkg:npm/%40babel/core@7.0.0");
        assert_eq!(
            purl::for_package(Ecosystem::Pypi, "Typing_Extensions", "4.0").unwrap(),
            "pkg:pypi/typing-extensions@4.0"
        );
        assert_eq!(
            purl::for_package(Ecosystem::Go, "github.com/a/b", "v1.0.0").unwrap(),
            "pkg:golang/github.com/a/b@v1.0.0"
        );
        assert_eq!(purl::ecosystem("pkg:cargo/x@1"), Ecosystem::Cargo);
        assert_eq!(
            purl::qualifier("pkg:npm/x@1?download_url=git%2Bssh%3A%2F%2Fa#sub", "download_url").unwrap(),
            "git+ssh://a"
        );
        assert_eq!(purl::decode("%4"), "%4");
    }

    #[test]
    fn line_col_counts_chars() {
        assert_eq!(line_col("ab\ncdé", 7), (2, 4));
        assert_eq!(line_col("ab\ncdé", 6), (2, 3), "inside a character: its start");
        assert_eq!(line_col("", 10), (1, 1));
    }

    #[test]
    fn joins() {
        assert_eq!(join_path("a/b", "../c.txt").unwrap(), "a/c.txt");
        assert_eq!(join_path("", "../c.txt"), None);
        assert_eq!(split_npm_spec("@a/b@^1").unwrap(), ("@a/b", "^1"));
        assert_eq!(split_npm_spec("@a"), None);
    }
}
