//! `Package::line` on real lockfiles: for every package of npm (v1, v2,
//! v3), Cargo (v1, v3, v4, and a 2016 lock with `[root]`) and pnpm (5.4,
//! 6.0, 9.0, and a stream of several documents) locks, the line the
//! parser reports is the line where that package's entry begins. The
//! expected line is found here from the text alone, by the layout each
//! tool writes (a different method from the parser's scan), so a wrong or
//! missing line fails.

#[path = "parse_support.rs"]
mod support;

use steward_scanner::DependencyGraph;
use steward_scanner::parse;
use support::read;

fn text(rel: &str) -> String {
    String::from_utf8(read(rel)).unwrap()
}

/// 1-based line of the first line (from `from`, 0-based) that `matches`.
fn line_where(lines: &[&str], from: usize, matches: impl Fn(usize, &str) -> bool) -> Option<u32> {
    (from..lines.len()).find(|&k| matches(k, lines[k])).map(|k| k as u32 + 1)
}

/// Cargo: the `[[package]]` (or `[root]`) header above the `name = "N"`,
/// `version = "V"` (and `source = "S"`) lines.
fn cargo_expected(lines: &[&str], name: &str, version: &str, source: Option<&str>) -> Option<u32> {
    let at = (0..lines.len()).find(|&k| {
        lines[k] == format!("name = \"{name}\"")
            && lines.get(k + 1) == Some(&format!("version = \"{version}\"").as_str())
            && match source {
                Some(s) => lines.get(k + 2) == Some(&format!("source = \"{s}\"").as_str()),
                None => !lines.get(k + 2).is_some_and(|l| l.starts_with("source = ")),
            }
    })?;
    (0..at).rev().find(|&k| lines[k] == "[[package]]" || lines[k] == "[root]").map(|k| k as u32 + 1)
}

fn check_cargo(rel: &str) -> usize {
    let t = text(rel);
    let lines: Vec<&str> = t.lines().collect();
    let g = parse::cargo::parse(rel, t.as_bytes(), &[]).unwrap();
    for p in &g.packages {
        let expected = cargo_expected(&lines, &p.name, &p.version, p.source.as_deref());
        assert!(expected.is_some(), "{rel}: no entry found for {}@{}", p.name, p.version);
        assert_eq!(p.line, expected, "{rel}: {}@{} ({:?})", p.name, p.version, p.source);
    }
    g.packages.len()
}

#[test]
fn cargo_lock_lines_are_the_package_headers() {
    let mut total = 0;
    for rel in [
        "lockfiles/cargo-v1-ripgrep-12.1.1.Cargo.lock",
        "lockfiles/cargo-v3-ripgrep-14.1.1.Cargo.lock",
        "lockfiles/cargo-v4-ripgrep-15.1.0.Cargo.lock",
        "peers/ripgrep-2016-09-11-root.Cargo.lock",
        "peers/ripgrep-2017-11-22-git-ref.Cargo.lock",
    ] {
        total += check_cargo(rel);
    }
    assert!(total > 150, "{total} packages checked");
    // One by hand: the v4 lock's `memchr` entry.
    let rel = "lockfiles/cargo-v4-ripgrep-15.1.0.Cargo.lock";
    let t = text(rel);
    let lines: Vec<&str> = t.lines().collect();
    let g = parse::cargo::parse(rel, t.as_bytes(), &[]).unwrap();
    let memchr = g.packages.iter().find(|p| p.name == "memchr").unwrap();
    let name_line = lines.iter().position(|l| *l == "name = \"memchr\"").unwrap();
    assert_eq!(lines[name_line - 1], "[[package]]");
    assert_eq!(memchr.line, Some(name_line as u32), "the header just above `name`");
}

#[test]
fn a_cargo_lock_read_by_the_toml_parser_has_the_same_lines() {
    // A comment inside a dependency array sends the file to the TOML parser.
    let rel = "lockfiles/cargo-v3-ripgrep-14.1.1.Cargo.lock";
    let t = text(rel);
    let odd = t.replacen("dependencies = [\n", "dependencies = [\n # a comment\n", 1);
    assert_ne!(odd, t);
    let lines: Vec<&str> = odd.lines().collect();
    let g = parse::cargo::parse(rel, odd.as_bytes(), &[]).unwrap();
    for p in &g.packages {
        assert_eq!(p.line, cargo_expected(&lines, &p.name, &p.version, p.source.as_deref()), "{}", p.name);
    }
}

/// npm v2/v3: the line of the `"…node_modules/<name>": {` key whose entry
/// has `"version": "<version>"`: the earliest such key (nested copies of one
/// name@version are one package).
fn npm_expected(lines: &[&str], name: &str, version: &str) -> Option<u32> {
    let key_end = format!("node_modules/{name}\": {{");
    let version_line = format!("\"version\": \"{version}\"");
    line_where(lines, 0, |k, l| {
        let l = l.trim();
        l.starts_with('"')
            && l.ends_with(&key_end)
            && lines[k + 1..]
                .iter()
                .take_while(|n| !n.trim().starts_with('}'))
                .any(|n| n.trim().starts_with(&version_line))
    })
}

/// npm v1: the line of the `"<name>": {` key of the `dependencies` tree
/// whose entry's first line is its `"version"`.
fn npm_v1_expected(lines: &[&str], name: &str, version: &str) -> Option<u32> {
    let key = format!("\"{name}\": {{");
    let version_line = format!("\"version\": \"{version}\"");
    line_where(lines, 0, |k, l| {
        l.trim() == key && lines.get(k + 1).is_some_and(|n| n.trim().starts_with(&version_line))
    })
}

fn check_npm(rel: &str, v1: bool) -> DependencyGraph {
    let t = text(rel);
    let lines: Vec<&str> = t.lines().collect();
    let g = parse::npm::parse(rel, t.as_bytes(), None).unwrap();
    let mut checked = 0;
    for p in &g.packages {
        if p.source.is_none() {
            continue; // the project and workspace folders
        }
        let expected =
            if v1 { npm_v1_expected(&lines, &p.name, &p.version) } else { npm_expected(&lines, &p.name, &p.version) };
        assert!(expected.is_some(), "{rel}: no entry found for {}@{}", p.name, p.version);
        assert_eq!(p.line, expected, "{rel}: {}@{}", p.name, p.version);
        checked += 1;
    }
    assert!(checked > 5, "{rel}: {checked} packages checked");
    g
}

#[test]
fn npm_lines_are_the_entry_keys_in_v1_v2_and_v3() {
    for (rel, v1) in [
        ("lockfiles/npm-lockv1-rust-analyzer-vscode-2021-01-18.package-lock.json", true),
        ("lockfiles/npm-lockv2-rust-analyzer-vscode-2023-06-05.package-lock.json", false),
        ("lockfiles/npm-lockv3-rust-analyzer-vscode-2024-12-02.package-lock.json", false),
        ("peers/trivy-npm-v1.package-lock.json", true),
        ("peers/trivy-npm-v2.package-lock.json", false),
    ] {
        check_npm(rel, v1);
    }
    // By hand, in the v3 lock: a scoped package's key line.
    let rel = "lockfiles/npm-lockv3-rust-analyzer-vscode-2024-12-02.package-lock.json";
    let t = text(rel);
    let g = check_npm(rel, false);
    let at = t.lines().position(|l| l.trim() == "\"node_modules/@azure/core-auth\": {").unwrap();
    let p = g.packages.iter().find(|p| p.name == "@azure/core-auth").unwrap();
    assert_eq!(p.line, Some(at as u32 + 1));
    // The project itself (`""`) has its key's line too.
    let root = &g.packages[g.roots[0]];
    let root_at = t.lines().position(|l| l.trim() == "\"\": {").unwrap();
    assert_eq!(root.line, Some(root_at as u32 + 1));
}

/// pnpm: the first key at two spaces' indentation below the last
/// `packages:` (or `snapshots:`) line that names `name@version` (v6, v9:
/// `/name@version`, `name@version`, with or without a peer suffix) or
/// `/name/version` (v5).
fn pnpm_expected(lines: &[&str], name: &str, version: &str) -> Option<u32> {
    let key_of = |l: &str| -> Option<String> {
        let rest = l.strip_prefix("  ")?;
        if rest.starts_with(' ') {
            return None;
        }
        let rest = rest.trim_end();
        let key = rest.strip_suffix(':').or_else(|| rest.split_once(": ").map(|(k, _)| k))?;
        Some(key.trim_matches('\'').to_string())
    };
    let wanted = [format!("/{name}@{version}"), format!("{name}@{version}"), format!("/{name}/{version}")];
    let is_wanted = |k: &str| {
        wanted
            .iter()
            .any(|w| k == w || k.strip_prefix(w.as_str()).is_some_and(|r| r.starts_with('(') || r.starts_with('_')))
    };
    for section in ["packages:", "snapshots:"] {
        let Some(start) = lines.iter().rposition(|l| *l == section) else { continue };
        let end = (start + 1..lines.len())
            .find(|&k| !lines[k].is_empty() && !lines[k].starts_with(' '))
            .unwrap_or(lines.len());
        if let Some(found) = line_where(&lines[..end], start + 1, |_, l| key_of(l).is_some_and(|k| is_wanted(&k))) {
            return Some(found);
        }
    }
    None
}

#[test]
fn pnpm_lines_are_the_package_keys_in_5_6_and_9() {
    let mut checked = 0;
    for rel in [
        "lockfiles/pnpm-v6.0-rust-registry-app-9534d26.pnpm-lock.yaml",
        "lockfiles/pnpm-v9.0-rust-registry-app-57fa000.pnpm-lock.yaml",
        "peers/syft-pnpm-v5.4.pnpm-lock.yaml",
        "peers/trivy-pnpm-v9-multiple-documents.pnpm-lock.yaml",
    ] {
        let t = text(rel);
        let lines: Vec<&str> = t.lines().collect();
        let g = parse::pnpm::parse(rel, t.as_bytes()).unwrap();
        for p in &g.packages {
            if p.source.is_none() {
                continue; // importers
            }
            let expected = pnpm_expected(&lines, &p.name, &p.version);
            assert!(expected.is_some(), "{rel}: no key found for {}@{}", p.name, p.version);
            assert_eq!(p.line, expected, "{rel}: {}@{}", p.name, p.version);
            checked += 1;
        }
    }
    assert!(checked > 500, "{checked} packages checked");
    // By hand, in the v9 lock: `@adobe/css-tools` under `packages:`.
    let rel = "lockfiles/pnpm-v9.0-rust-registry-app-57fa000.pnpm-lock.yaml";
    let t = text(rel);
    let g = parse::pnpm::parse(rel, t.as_bytes()).unwrap();
    let at = t.lines().position(|l| l == "  '@adobe/css-tools@4.5.0':").unwrap();
    let p = g.packages.iter().find(|p| p.name == "@adobe/css-tools").unwrap();
    assert_eq!(p.line, Some(at as u32 + 1));
}

#[test]
fn other_formats_have_no_lines() {
    let rel = "lockfiles/yarn-classic-v1-prettier-2.8.8.yarn.lock";
    let g = parse::yarn::parse(rel, &read(rel), None).unwrap();
    assert!(g.packages.iter().all(|p| p.line.is_none()));
    // And a package without a line serializes as before (no `line` key).
    let json = serde_json::to_value(&g.packages[0]).unwrap();
    assert!(json.get("line").is_none(), "{json}");
}

/// A drift finding carries the line of the package's entry on the new
/// side: here the new lock has the package at another line (lines were
/// added above it) and under another version and license.
#[test]
fn drift_findings_carry_the_new_side_line() {
    use steward_scanner::drift::{FindingCode, diff};
    use steward_scanner::license::LicenseConfig;
    use steward_scanner::scan::{Scan, scan_graphs};

    let rel = "lockfiles/npm-lockv3-rust-analyzer-vscode-2024-12-02.package-lock.json";
    let old_text = text(rel);
    let key = "\"node_modules/@azure/core-auth\": {";
    let at = old_text.find(key).unwrap();
    let entry_end = at + old_text[at..].find("\n        },").unwrap();
    let entry = old_text[at..entry_end]
        .replace("\"version\": \"1.9.0\"", "\"version\": \"1.10.0\"")
        .replace("\"license\": \"MIT\"", "\"license\": \"SSPL-1.0\"");
    let new_text = format!("{{\n\n\n{}{entry}{}", &old_text[1..at], &old_text[entry_end..]);
    let scan = |t: &str| -> Scan {
        let g = parse::npm::parse("package-lock.json", t.as_bytes(), None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = LicenseConfig { local_caches: false, ..LicenseConfig::default() };
        scan_graphs(&steward_scanner::Directory::new(dir.path()), vec![g], &config).unwrap()
    };
    let drift = diff(&scan(&old_text), &scan(&new_text));
    let f = drift.findings.iter().find(|f| f.name == "@azure/core-auth").expect("a finding");
    assert_eq!(f.code, FindingCode::LicenseChanged, "{f:?}");
    let new_line = new_text.lines().position(|l| l.trim() == key).unwrap() as u32 + 1;
    let old_line = old_text.lines().position(|l| l.trim() == key).unwrap() as u32 + 1;
    assert_eq!(new_line, old_line + 3, "three lines added above");
    assert_eq!((f.graph.as_str(), f.line), ("package-lock.json", Some(new_line)));
    // It survives the JSON report (the stored scan is JSON).
    let json = serde_json::to_value(f).unwrap();
    assert_eq!(json["line"], new_line);
}
