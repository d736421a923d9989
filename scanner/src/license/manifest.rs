//! The `license` and `license-file` keys of a `Cargo.toml`'s `[package]`
//! table, without building a TOML document.
//!
//! A scan reads one manifest per crate from the cargo registry cache — five
//! thousand for a large workspace — and needs two keys from each. A full TOML
//! parse of every manifest was most of the time of a scan, so
//! [`package_license_keys`] tokenizes only as far as the end of `[package]`:
//! it skips strings (all four kinds), arrays and inline tables whole, so a
//! line inside a multi-line description never looks like a key or a table,
//! and it answers `None` — the caller then parses the whole file with the
//! `toml` crate — whenever it is not sure: a quoted or dotted key that may
//! name the package or a license, a `license` value that is not a plain
//! string, anything it does not recognise.
//!
//! Stopping at the end of `[package]` is exact for valid TOML: after a table
//! header no top-level key can follow, and a second `[package]` header is an
//! error. On a manifest that is not valid TOML the reader may still find the
//! license where the full parser finds nothing.
//!
//! Pure functions over text: no file system.

/// `(license, license-file)` of the `[package]` table of a `Cargo.toml`,
/// read with [`package_license_keys`] and, when that is not sure, with the
/// TOML parser. A manifest that is not TOML has neither.
pub fn cargo_license_fields(text: &str) -> (Option<String>, Option<String>) {
    package_license_keys(text).unwrap_or_else(|| cargo_license_fields_toml(text))
}

/// [`cargo_license_fields`] with the TOML parser only.
pub(crate) fn cargo_license_fields_toml(text: &str) -> (Option<String>, Option<String>) {
    let Ok(table) = toml::from_str::<toml::Table>(text) else {
        return (None, None);
    };
    let pkg = table.get("package");
    let get = |k: &str| pkg.and_then(|p| p.get(k)).and_then(|v| v.as_str()).map(str::to_owned);
    (get("license"), get("license-file"))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Table {
    /// Before the first header.
    Root,
    Package,
    Other,
}

/// Arrays and inline tables nested deeper than this are left to the TOML
/// parser.
const MAX_DEPTH: usize = 64;

/// `Some((license, license-file))` when the text answers for sure, `None`
/// when the TOML parser must decide.
pub fn package_license_keys(text: &str) -> Option<(Option<String>, Option<String>)> {
    match scan(text) {
        Scanned::PackageEnded(fields) | Scanned::End(fields) => Some(fields),
        Scanned::Unsure => None,
    }
}

/// `(license, license-file)` from the start of a manifest whose rest was
/// not read, when the `[package]` table ends within it: nothing after that
/// can change the answer (for valid TOML). `None` when more is needed.
pub(crate) fn package_license_keys_in_prefix(prefix: &str) -> Option<(Option<String>, Option<String>)> {
    match scan(prefix) {
        Scanned::PackageEnded(fields) => Some(fields),
        Scanned::End(_) | Scanned::Unsure => None,
    }
}

type Fields = (Option<String>, Option<String>);

enum Scanned {
    /// A table header after `[package]` was reached.
    PackageEnded(Fields),
    /// The text ended.
    End(Fields),
    Unsure,
}

fn scan(text: &str) -> Scanned {
    match scan_inner(text) {
        Some(s) => s,
        None => Scanned::Unsure,
    }
}

fn scan_inner(text: &str) -> Option<Scanned> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut table = Table::Root;
    let mut seen_package = false;
    let (mut license, mut license_file): (Option<String>, Option<String>) = (None, None);
    let (mut have_license, mut have_license_file) = (false, false);
    loop {
        i = skip_blank(b, i);
        let Some(&c) = b.get(i) else { break };
        match c {
            b'\n' => i += 1,
            b'\r' if b.get(i + 1) == Some(&b'\n') => i += 2,
            b'#' => i = end_of_comment(b, i),
            b'[' => {
                if table == Table::Package {
                    // `[package]` ended: nothing later can set its keys.
                    return Some(Scanned::PackageEnded((license, license_file)));
                }
                let array = b.get(i + 1) == Some(&b'[');
                let start = i + if array { 2 } else { 1 };
                let mut end = start;
                while end < b.len() && is_bare(b[end]) {
                    end += 1;
                }
                let name = &text[start..end];
                let close: &[u8] = if array { b"]]" } else { b"]" };
                if name.is_empty() || !b[end..].starts_with(close) {
                    return None; // quoted or spaced header
                }
                i = end_of_line(b, end + close.len())?;
                let (first, rest) = name.split_once('.').unwrap_or((name, ""));
                if first == "package" && (array || rest == "license" || rest == "license-file") {
                    return None;
                }
                table = if name == "package" {
                    if seen_package {
                        return None;
                    }
                    seen_package = true;
                    Table::Package
                } else {
                    Table::Other
                };
            }
            _ => {
                let (first, dotted, quoted, after_key) = key(text, i)?;
                let mut j = skip_blank(b, after_key);
                if b.get(j) != Some(&b'=') {
                    return None;
                }
                j = skip_blank(b, j + 1);
                let value_start = j;
                let value_end = skip_value(b, j)?;
                i = end_of_line(b, value_end)?;
                match table {
                    // `package.license = …` or `package = { … }`.
                    Table::Root if quoted || first == "package" => return None,
                    Table::Package if quoted => return None,
                    Table::Package if first == "license" || first == "license-file" => {
                        if dotted {
                            return None;
                        }
                        let value = string_value(&text[value_start..value_end])?;
                        let (slot, have) = if first == "license" {
                            (&mut license, &mut have_license)
                        } else {
                            (&mut license_file, &mut have_license_file)
                        };
                        if *have {
                            return None; // duplicate key: invalid TOML
                        }
                        *have = true;
                        *slot = value;
                    }
                    _ => {}
                }
            }
        }
    }
    Some(Scanned::End((license, license_file)))
}

fn is_bare(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

fn skip_blank(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    i
}

fn end_of_comment(b: &[u8], i: usize) -> usize {
    b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p)
}

/// After a header or a value: blanks, an optional comment, then the end of
/// the line. `None` when anything else follows.
fn end_of_line(b: &[u8], i: usize) -> Option<usize> {
    let i = skip_blank(b, i);
    match b.get(i) {
        None | Some(b'\n') => Some(i),
        Some(b'\r') if b.get(i + 1) == Some(&b'\n') => Some(i),
        Some(b'#') => Some(end_of_comment(b, i)),
        _ => None,
    }
}

/// A key at `i`: its first segment, whether it is dotted, whether any
/// segment was quoted, and the index after it.
fn key(text: &str, i: usize) -> Option<(&str, bool, bool, usize)> {
    let b = text.as_bytes();
    let mut j = i;
    let mut first: Option<&str> = None;
    let mut dotted = false;
    let mut quoted = false;
    loop {
        let start = j;
        match b.get(j) {
            Some(b'"' | b'\'') => {
                j = single_line_string(b, j)?;
                quoted = true;
            }
            _ => {
                while j < b.len() && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'_' | b'-')) {
                    j += 1;
                }
                if j == start {
                    return None;
                }
            }
        }
        first.get_or_insert(&text[start..j]);
        // Blanks around dots are valid TOML but never written by cargo.
        if b.get(j) == Some(&b'.') {
            dotted = true;
            j += 1;
        } else {
            return Some((first?, dotted, quoted, j));
        }
    }
}

/// The index after a `"…"` or `'…'` string on one line.
fn single_line_string(b: &[u8], i: usize) -> Option<usize> {
    let quote = b[i];
    let mut j = i + 1;
    while let Some(&c) = b.get(j) {
        match c {
            b'\\' if quote == b'"' => j += 2,
            b'\n' => return None,
            c if c == quote => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// The index after the value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' | b'\'' => skip_string(b, i),
        b'[' | b'{' => {
            let mut depth = 0usize;
            let mut j = i;
            while let Some(&c) = b.get(j) {
                match c {
                    b'[' | b'{' => {
                        depth += 1;
                        if depth > MAX_DEPTH {
                            return None;
                        }
                        j += 1;
                    }
                    b']' | b'}' => {
                        depth -= 1;
                        j += 1;
                        if depth == 0 {
                            return Some(j);
                        }
                    }
                    b'"' | b'\'' => j = skip_string(b, j)?,
                    b'#' => j = end_of_comment(b, j),
                    _ => j += 1,
                }
            }
            None
        }
        _ => {
            // Numbers, booleans, dates: up to a blank, a comment or the end
            // of the line (a date with a space before its time is left to
            // the TOML parser by `end_of_line`).
            let end = b[i..]
                .iter()
                .position(|&c| matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'#'))
                .map_or(b.len(), |p| i + p);
            (end > i).then_some(end)
        }
    }
}

/// The index after a string of any of TOML's four kinds starting at `i`.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let quote = b[i];
    if b.get(i + 1) == Some(&quote) && b.get(i + 2) == Some(&quote) {
        // Multi-line: up to the closing triple quote, which may be followed
        // by one or two more quotes that belong to the content.
        let mut j = i + 3;
        while let Some(&c) = b.get(j) {
            if c == b'\\' && quote == b'"' {
                j += 2;
            } else if c == quote && b.get(j + 1) == Some(&quote) && b.get(j + 2) == Some(&quote) {
                let mut end = j + 3;
                for _ in 0..2 {
                    if b.get(end) == Some(&quote) {
                        end += 1;
                    }
                }
                return Some(end);
            } else {
                j += 1;
            }
        }
        return None;
    }
    single_line_string(b, i)
}

/// The string a `license` value holds: `Some(Some(s))` for a string,
/// `Some(None)` for a value of another type (an inline table such as
/// `{ workspace = true }`), `None` when the value is not valid TOML.
fn string_value(raw: &str) -> Option<Option<String>> {
    if let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"'))
        && !inner.is_empty()
        && !inner.contains(['"', '\\'])
        && !inner.bytes().any(|c| c < 0x20 || c == 0x7f)
    {
        return Some(Some(inner.to_owned()));
    }
    let table = toml::from_str::<toml::Table>(&format!("v = {raw}")).ok()?;
    Some(table.get("v").and_then(|v| v.as_str()).map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reader agrees with the TOML parser on `text`, and is sure of it
    /// when `sure`.
    fn agrees(text: &str, sure: bool) {
        let full = cargo_license_fields_toml(text);
        match package_license_keys(text) {
            Some(fast) => assert_eq!(fast, full, "{text}"),
            None => assert!(!sure, "not sure about:\n{text}"),
        }
        assert_eq!(cargo_license_fields(text), full, "{text}");
    }

    const REGISTRY: &str = r#"# THIS FILE IS AUTOMATICALLY GENERATED BY CARGO
#
# When uploading crates to the registry Cargo will automatically
# "normalize" Cargo.toml files for maximal compatibility

[package]
edition = "2021"
rust-version = "1.63"
name = "serde"
version = "1.0.219"
authors = [
    "Erick Tryzelaar <erick.tryzelaar@gmail.com>",
    "David Tolnay <dtolnay@gmail.com>",
]
build = "build.rs"
autolib = false
description = "A generic serialization/deserialization framework"
documentation = "https://docs.rs/serde"
readme = "crates-io.md"
keywords = [
    "serde",
    "serialization",
    "no_std",
]
categories = [
    "encoding",
    "no-std",
    "no-std::no-alloc",
]
license = "MIT OR Apache-2.0"
repository = "https://github.com/serde-rs/serde"

[package.metadata.docs.rs]
features = ["derive", "rc"]
rustdoc-args = ["--generate-link-to-definition"]
targets = ["x86_64-unknown-linux-gnu"]

[target."cfg(any())".dependencies.serde_derive]
version = "=1.0.219"
"#;

    #[test]
    fn registry_manifests_are_read_without_the_toml_parser() {
        agrees(REGISTRY, true);
        assert_eq!(package_license_keys(REGISTRY).unwrap().0.as_deref(), Some("MIT OR Apache-2.0"));
        let file = REGISTRY.replace("license = \"MIT OR Apache-2.0\"", "license-file = \"LICENSE.txt\"");
        agrees(&file, true);
        assert_eq!(package_license_keys(&file).unwrap(), (None, Some("LICENSE.txt".to_owned())));
        agrees(&REGISTRY.replace('\n', "\r\n"), true);
        agrees("[package]\nname = \"x\"\n", true);
        agrees("", true);
    }

    #[test]
    fn strings_arrays_and_tables_that_look_like_keys_are_skipped() {
        let cases = [
            // A multi-line description holding lines that look like a
            // header and a license key.
            "[package]\ndescription = \"\"\"\n[dependencies]\nlicense = \"GPL-3.0\"\n\"\"\"\nlicense = \"MIT\"\n",
            "[package]\ndescription = '''\nlicense = \"GPL-3.0\"\n'''\nlicense = 'MIT'\n",
            // Closing delimiter followed by content quotes; escaped quotes.
            "[package]\ndescription = \"\"\"say \"\"hi\"\"\"\"\"\nlicense = \"MIT\"\n",
            "[package]\ndescription = \"\"\"a \\\"\"\" b\"\"\"\nlicense = \"MIT\"\n",
            "[package]\ndescription = \"a \\\" [x] # y\"\nlicense = \"MIT\" # trailing comment\n",
            // Arrays with brackets, comments and strings inside.
            "[package]\nkeywords = [\n  \"]\", # ]\n  '[', [1, [2]],\n]\nlicense = \"MIT\"\n",
            "[package]\nmetadata = { a = \"}\", b = [1, 2] }\nlicense = \"Apache-2.0\"\n",
            // [package] not first; sub-tables before and after.
            "[lib]\npath = \"src/lib.rs\"\n\n[package.metadata.x]\nlicense = \"GPL-3.0\"\n\n[package]\nlicense = \"MIT\"\n",
            "[package]\nname = \"x\"\n\n[features]\nlicense = [\"a\"]\n",
            // License values that are not plain strings.
            "[package]\nlicense = { workspace = true }\n",
            "[package]\nlicense = \"\"\"\nMIT OR Apache-2.0\"\"\"\n",
            "[package]\nlicense = '''MIT'''\n",
            "[package]\nlicense = \"MIT \\u0041\"\n",
            "[package]\nlicense = 'MIT/Apache-2.0'\n",
            "[package]\nlicense = \"\"\n",
            "[package]\nlicense = 5\n",
            // Comments and blanks everywhere.
            "# c\n\n  [package]  # c\n\tlicense\t=\t\"MIT\"\t# c\n",
            "version = 1\n[package]\nlicense = \"MIT\"\nversion = 2021-01-01\n",
        ];
        for text in cases {
            agrees(text, true);
        }
        let sure = package_license_keys(cases[0]).unwrap();
        assert_eq!(sure.0.as_deref(), Some("MIT"));
        assert_eq!(package_license_keys(cases[9]).unwrap().0, None);
        assert_eq!(package_license_keys(cases[10]).unwrap().0.as_deref(), Some("MIT OR Apache-2.0"));
    }

    #[test]
    fn unsure_shapes_go_to_the_toml_parser() {
        let cases = [
            "package.license = \"MIT\"\n",
            "package = { license = \"MIT\" }\n",
            "[\"package\"]\nlicense = \"MIT\"\n",
            "[ package ]\nlicense = \"MIT\"\n",
            "[package]\n\"license\" = \"MIT\"\n",
            "[package]\nlicense.workspace = true\n",
            "[package.license]\nworkspace = true\n",
            "[[package]]\nlicense = \"MIT\"\n",
            "[package]\nlicense = \"MIT\"\nlicense = \"GPL-3.0\"\n",
            "[package]\nlicense = \"MIT\" x\n",
            "[package]\nlicense = \"MIT\n",
            "[package]\ndescription = \"\"\"never closed\nlicense = \"MIT\"\n",
            "[package]\nkeywords = [\"never closed\"\nlicense = \"MIT\"\n",
            "[package]\nbuilt = 1979-05-27 07:32:00Z\nlicense = \"MIT\"\n",
            "\u{feff}[package]\nlicense = \"MIT\"\n",
        ];
        for text in cases {
            assert!(package_license_keys(text).is_none(), "should not be sure:\n{text}");
            agrees(text, false);
        }
        assert_eq!(cargo_license_fields(cases[0]).0.as_deref(), Some("MIT"));
        assert_eq!(cargo_license_fields(cases[1]).0.as_deref(), Some("MIT"));
        assert_eq!(cargo_license_fields(cases[5]).0, None);
    }

    #[test]
    fn a_prefix_answers_only_once_package_has_ended() {
        let texts = [
            REGISTRY.to_owned(),
            REGISTRY.replace('\n', "\r\n"),
            "[package]\ndescription = \"\"\"\n[x]\n\"\"\"\nlicense = '''MIT'''\n[lib]\n".to_owned(),
            "[lib]\nx = 1\n[package]\nlicense = \"MIT\"\nkeywords = [\"a\",\n\"]\"]\n".to_owned(),
        ];
        for text in &texts {
            let full = cargo_license_fields(text);
            let mut answered = false;
            for cut in (0..=text.len()).filter(|&c| text.is_char_boundary(c)) {
                if let Some(fields) = package_license_keys_in_prefix(&text[..cut]) {
                    assert_eq!(fields, full, "cut at {cut} of:\n{text}");
                    answered = true;
                }
            }
            // The last one has nothing after `[package]`: the whole file is needed.
            assert_eq!(answered, !text.starts_with("[lib]"), "{text}");
        }
        let at = REGISTRY.find("[package.metadata").unwrap();
        assert!(package_license_keys_in_prefix(&REGISTRY[..at]).is_none());
        assert!(package_license_keys_in_prefix(&REGISTRY[..at + 1]).is_some());
    }

    /// Random edits of a real manifest: wherever the result is valid TOML
    /// and the reader is sure, it agrees with the TOML parser.
    #[test]
    fn agrees_with_the_toml_parser_on_mangled_manifests() {
        let pieces = [
            "\"\"\"",
            "'''",
            "\"",
            "'",
            "[",
            "]",
            "{",
            "}",
            "#",
            "\n",
            "[package]",
            "license = \"GPL-3.0\"",
            ".",
            "=",
            "\\",
            " ",
            "license",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n.max(1) as u64) as usize
        };
        let mut sure = 0;
        for _ in 0..3_000 {
            let mut text = REGISTRY.to_owned();
            for _ in 0..1 + next(3) {
                let mut at = next(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                if next(2) == 0 {
                    text.insert_str(at, pieces[next(pieces.len())]);
                } else {
                    let mut end = (at + 1 + next(8)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.replace_range(at..end, "");
                }
            }
            if toml::from_str::<toml::Table>(&text).is_ok()
                && let Some(fast) = package_license_keys(&text)
            {
                sure += 1;
                assert_eq!(fast, cargo_license_fields_toml(&text), "{text}");
            }
        }
        assert!(sure > 500, "only {sure} mangled manifests were both valid and read by the fast path");
    }
}
