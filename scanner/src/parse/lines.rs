//! Where entries begin: 1-based line numbers of the keys that declare
//! packages, for the formats whose parsers give no spans (`serde_json` and
//! `yaml_serde` do not). Each is one linear pass over text the parser has
//! already accepted, with no recursion and memory proportional to the
//! number of entries; on text it cannot follow it returns fewer lines,
//! never wrong ones on purpose, and never panics (the parsers' fuzz
//! targets run it on every input).

use std::collections::HashMap;

/// Which map of a `package-lock.json` to read keys from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NpmTree {
    /// v2/v3: the keys of the top-level `packages` map (install paths).
    Packages,
    /// v1: the nested `dependencies` tree, each key turned into its install
    /// path (`node_modules/a/node_modules/b`).
    Dependencies,
}

/// What a JSON container is, for the npm key scan.
enum Role {
    /// The object of the package installed at this directory (`""` is the
    /// project: the document's top-level object).
    Entry(String),
    /// The `dependencies` object of the package installed at this directory.
    Deps(String),
    /// The top-level `packages` map.
    Packages,
    Other,
}

struct Frame {
    object: bool,
    /// In an object, whether the next string is a key.
    expect_key: bool,
    /// The last key read in this object (the key of the value that follows).
    last_key: Option<String>,
    role: Role,
}

/// The line of each entry key of a `package-lock.json`, keyed by install
/// path. The text must be the JSON the parser read (the lines of the key
/// strings of `tree`); a duplicate key keeps its first line.
pub(crate) fn npm_entry_lines(text: &str, tree: NpmTree) -> HashMap<String, u32> {
    let b = text.as_bytes();
    let mut out = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut line: u32 = 1;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\n' => line = line.saturating_add(1),
            b'"' => {
                let start_line = line;
                let start = i + 1;
                let mut j = start;
                let mut escaped = false;
                while j < b.len() {
                    match b[j] {
                        b'\\' => {
                            escaped = true;
                            j += 1; // skip the escaped byte
                        }
                        b'"' => break,
                        b'\n' => line = line.saturating_add(1),
                        _ => {}
                    }
                    j += 1;
                }
                let end = j.min(b.len());
                i = end; // at the closing quote (or the end)
                let Some(top) = stack.last_mut() else {
                    i += 1;
                    continue;
                };
                if top.object && top.expect_key {
                    top.expect_key = false;
                    let raw = text.get(start..end).unwrap_or("");
                    let key = if escaped {
                        text.get(start - 1..(end + 1).min(b.len()))
                            .and_then(|quoted| serde_json::from_str::<String>(quoted).ok())
                    } else {
                        Some(raw.to_owned())
                    };
                    if let Some(key) = key {
                        let path = match (&top.role, tree) {
                            (Role::Packages, NpmTree::Packages) => Some(key.clone()),
                            (Role::Deps(dir), NpmTree::Dependencies) => Some(install_path(dir, &key)),
                            _ => None,
                        };
                        if let Some(path) = path {
                            out.entry(path).or_insert(start_line);
                        }
                        top.last_key = Some(key);
                    } else {
                        top.last_key = None;
                    }
                }
            }
            open @ (b'{' | b'[') => {
                let object = open == b'{';
                let role = match stack.last() {
                    None => Role::Entry(String::new()),
                    Some(parent) if object => match (&parent.role, parent.last_key.as_deref()) {
                        (Role::Entry(dir), Some("dependencies")) if tree == NpmTree::Dependencies => {
                            Role::Deps(dir.clone())
                        }
                        (Role::Entry(dir), Some("packages")) if dir.is_empty() && stack.len() == 1 => Role::Packages,
                        (Role::Deps(dir), Some(name)) => Role::Entry(install_path(dir, name)),
                        _ => Role::Other,
                    },
                    Some(_) => Role::Other,
                };
                stack.push(Frame { object, expect_key: object, last_key: None, role });
            }
            b'}' | b']' => {
                stack.pop();
            }
            b',' => {
                if let Some(top) = stack.last_mut()
                    && top.object
                {
                    top.expect_key = true;
                    top.last_key = None;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

fn install_path(dir: &str, name: &str) -> String {
    if dir.is_empty() { format!("node_modules/{name}") } else { format!("{dir}/node_modules/{name}") }
}

/// The lines of a `pnpm-lock.yaml`'s package keys: `packages` and
/// `snapshots` map each key (as YAML reads it: quotes removed) to the line
/// it is written on. Of a stream of several documents, the last one with a
/// top-level `lockfileVersion` is read, as the parser does.
#[derive(Debug, Default)]
pub(crate) struct PnpmLines {
    pub(crate) packages: HashMap<String, u32>,
    pub(crate) snapshots: HashMap<String, u32>,
}

pub(crate) fn pnpm_entry_lines(text: &str) -> PnpmLines {
    #[derive(Clone, Copy, PartialEq)]
    enum Section {
        Packages,
        Snapshots,
        Other,
    }
    let mut chosen: Option<PnpmLines> = None;
    let mut current = PnpmLines::default();
    let mut has_version = false;
    let mut section = Section::Other;
    // The indentation of the section's keys (that of its first key).
    let mut key_indent: Option<usize> = None;
    let mut number: u32 = 0;
    for raw in text.split('\n') {
        number = number.saturating_add(1);
        let l = raw.strip_suffix('\r').unwrap_or(raw);
        if l == "---" || l.starts_with("--- ") {
            if has_version {
                chosen = Some(std::mem::take(&mut current));
            }
            current = PnpmLines::default();
            has_version = false;
            section = Section::Other;
            continue;
        }
        let content = l.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = l.len() - content.len();
        if indent == 0 {
            let key = yaml_key(content);
            section = match key.as_deref() {
                Some("packages") => Section::Packages,
                Some("snapshots") => Section::Snapshots,
                _ => Section::Other,
            };
            if key.as_deref() == Some("lockfileVersion") {
                has_version = true;
            }
            key_indent = None;
            continue;
        }
        if section == Section::Other {
            continue;
        }
        let level = *key_indent.get_or_insert(indent);
        if indent != level {
            continue;
        }
        let Some(key) = yaml_key(content) else { continue };
        let map = if section == Section::Packages { &mut current.packages } else { &mut current.snapshots };
        map.entry(key).or_insert(number);
    }
    if has_version {
        return current;
    }
    // The last document has no version: the last one before it that has
    // one (with none at all the parser refuses the file).
    chosen.unwrap_or(current)
}

/// The key of a block mapping line (`key:`, `key: value`, `'quoted': …`),
/// as YAML reads it; `None` for anything else (a sequence item, a flow
/// mapping, a double-quoted key with escapes).
fn yaml_key(content: &str) -> Option<String> {
    if let Some(rest) = content.strip_prefix('\'') {
        // Single-quoted: `''` is a quote; the key ends at a lone quote.
        let mut key = String::new();
        let mut chars = rest.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if chars.peek().map(|&(_, n)| n) == Some('\'') {
                    key.push('\'');
                    chars.next();
                    continue;
                }
                let after = rest[i + 1..].trim_start_matches(' ');
                return after.starts_with(':').then_some(key);
            }
            key.push(c);
        }
        return None;
    }
    if let Some(rest) = content.strip_prefix('"') {
        let end = rest.find('"')?;
        let key = &rest[..end];
        if key.contains('\\') {
            return None;
        }
        let after = rest[end + 1..].trim_start_matches(' ');
        return after.starts_with(':').then(|| key.to_owned());
    }
    if content.starts_with(['-', '{', '[', '?', '&', '*', '!', '|', '>']) {
        return None;
    }
    let end = match content.find(": ") {
        Some(i) => i,
        None => content.strip_suffix(':').map(str::len)?,
    };
    let key = content[..end].trim_end_matches(' ');
    (!key.is_empty()).then(|| key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_keys_of_the_packages_map_and_the_v1_tree() {
        let text = "{\n  \"packages\": {\n    \"\": {\"dependencies\": {\"a\": \"1\"}},\n    \"node_modules/a\": {\n      \"version\": \"1.0.0\"\n    },\n    \"node_modules/\\u0062\": {}\n  },\n  \"dependencies\": {\n    \"a\": {\n      \"version\": \"1.0.0\",\n      \"dependencies\": {\n        \"c\": {\"version\": \"2\"}\n      }\n    }\n  }\n}\n";
        let p = npm_entry_lines(text, NpmTree::Packages);
        assert_eq!(p.get(""), Some(&3));
        assert_eq!(p.get("node_modules/a"), Some(&4));
        assert_eq!(p.get("node_modules/b"), Some(&7), "escaped key decoded");
        assert_eq!(p.len(), 3, "{p:?}");
        let d = npm_entry_lines(text, NpmTree::Dependencies);
        assert_eq!(d.get("node_modules/a"), Some(&10));
        assert_eq!(d.get("node_modules/a/node_modules/c"), Some(&13));
        assert_eq!(d.len(), 2, "{d:?}");
    }

    #[test]
    fn npm_scan_survives_broken_text() {
        for text in ["", "\"", "{\"packages\": {\"a", "}}}]]]", "{\"packages\":{\"\\", "[{\"x\":[1,{\"y\"}]}"] {
            let _ = npm_entry_lines(text, NpmTree::Packages);
            let _ = npm_entry_lines(text, NpmTree::Dependencies);
        }
    }

    #[test]
    fn pnpm_keys_in_packages_and_snapshots() {
        let text = "lockfileVersion: '9.0'\n\nimporters:\n  .:\n    dependencies:\n      a:\n        specifier: ^1\n        version: 1.0.0\n\npackages:\n\n  a@1.0.0:\n    resolution: {integrity: sha512-x}\n\n  '@s/b@2.0.0':\n    resolution: {integrity: sha512-y}\n\nsnapshots:\n\n  a@1.0.0:\n    dependencies:\n      '@s/b': 2.0.0\n\n  '@s/b@2.0.0': {}\n";
        let l = pnpm_entry_lines(text);
        assert_eq!(l.packages.get("a@1.0.0"), Some(&12));
        assert_eq!(l.packages.get("@s/b@2.0.0"), Some(&15));
        assert_eq!(l.packages.len(), 2);
        assert_eq!(l.snapshots.get("a@1.0.0"), Some(&20));
        assert_eq!(l.snapshots.get("@s/b@2.0.0"), Some(&24));
        assert_eq!(l.snapshots.len(), 2, "{:?}", l.snapshots);
    }

    #[test]
    fn pnpm_reads_the_last_document_with_a_version() {
        let text = "lockfileVersion: '9.0'\npackages:\n  x@1.0.0:\n    resolution: {}\n---\nlockfileVersion: '9.0'\npackages:\n  y@1.0.0:\n    resolution: {}\n";
        let l = pnpm_entry_lines(text);
        assert_eq!(l.packages.get("y@1.0.0"), Some(&8));
        assert!(!l.packages.contains_key("x@1.0.0"));
    }

    #[test]
    fn yaml_keys() {
        assert_eq!(yaml_key("/a@1.0.0:"), Some("/a@1.0.0".into()));
        assert_eq!(yaml_key("'it''s@1': {}"), Some("it's@1".into()));
        assert_eq!(yaml_key("\"q@1\":"), Some("q@1".into()));
        assert_eq!(yaml_key("- item"), None);
        assert_eq!(yaml_key("'unterminated"), None);
        assert_eq!(yaml_key("plain"), None);
    }
}
