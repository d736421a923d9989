//! Human-readable reports: aligned tables, colour only when asked.

use super::escape::terminal as term;
use super::finding::{category_change, evidence_line, license_change, path_text, version_change};
use super::table::Table;
use crate::drift::{Drift, Finding, FindingCode};
use crate::git::History;
use crate::license::value_facts;
use crate::scan::Scan;
use std::fmt::Write as _;

/// How to render for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanOptions {
    /// ANSI colours. The caller decides (on for a terminal, off when piped).
    pub color: bool,
    /// List version-only changes, additions and removals, not only license
    /// drift.
    pub all_findings: bool,
}

impl Default for HumanOptions {
    fn default() -> Self {
        Self { color: false, all_findings: true }
    }
}

/// The package name, marked when it is a dev/test-only dependency.
fn package_name(f: &Finding) -> String {
    if f.dev { format!("{} (dev)", f.name) } else { f.name.clone() }
}

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.0 { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_owned() }
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn red(&self, s: &str) -> String {
        self.wrap("31", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }
    fn green(&self, s: &str) -> String {
        self.wrap("32", s)
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    fn code(&self, code: FindingCode, s: &str) -> String {
        match code {
            FindingCode::LicenseChanged | FindingCode::ModuleHashMismatch => self.red(s),
            FindingCode::LicenseNowUnknown
            | FindingCode::LicenseFieldDisagreesWithText
            | FindingCode::IntegrityChanged => self.yellow(s),
            FindingCode::Added | FindingCode::LicenseFirstKnown => self.green(s),
            FindingCode::Removed
            | FindingCode::VersionChanged
            | FindingCode::EvidenceGained
            | FindingCode::EvidenceLost => self.dim(s),
        }
    }
}

/// A drift report: license drift first, with paths and evidence, then the
/// other changes, then a summary line.
pub fn drift_human(drift: &Drift, options: &HumanOptions) -> String {
    let p = Paint(options.color);
    let mut out = String::new();
    let _ = writeln!(out, "{} {} → {}", p.bold("License drift:"), term(&drift.old), term(&drift.new));
    let license: Vec<&Finding> = drift.license_findings().collect();
    out.push('\n');
    if license.is_empty() {
        let _ = writeln!(out, "{}", p.green("No dependency changed its license."));
    } else {
        let mut t = Table::new(&["CODE", "GRAPH", "PACKAGE", "VERSION", "LICENSE", "CATEGORY"]);
        for f in &license {
            t.row(vec![
                f.code.to_string(),
                f.graph.clone(),
                package_name(f),
                version_change(f),
                license_change(f),
                category_change(f),
            ]);
        }
        let codes: Vec<FindingCode> = license.iter().map(|f| f.code).collect();
        let row_of = std::cell::Cell::new(0usize);
        out.push_str(&t.render("", &|col, cell| {
            if col == 0 {
                let i = row_of.get();
                row_of.set(i + 1);
                p.code(codes[i.min(codes.len() - 1)], cell)
            } else if col == 4 {
                p.bold(cell)
            } else {
                cell.to_owned()
            }
        }));
        for f in &license {
            out.push('\n');
            let _ = writeln!(out, "{} {} ({})", p.bold(&term(&f.name)), term(&version_change(f)), term(&f.graph));
            if f.direct {
                let _ = writeln!(out, "  via: direct dependency");
            } else if f.paths.is_empty() {
                let _ = writeln!(out, "  via: no path from a direct dependency");
            }
            for (i, path) in f.paths.iter().enumerate().filter(|(_, p)| p.len() > 1 || !f.direct) {
                let _ = writeln!(out, "  {} {}", if i == 0 { "via:" } else { "    " }, term(&path_text(path)));
            }
            if f.more_paths > 0 {
                let _ = writeln!(
                    out,
                    "       … and {} more path{}",
                    f.more_paths,
                    if f.more_paths == 1 { "" } else { "s" }
                );
            }
            if let Some(old) = &f.old_license {
                let _ = writeln!(out, "  old: {} — {}", term(&old.display()), term(&evidence_line(&old.resolved)));
            }
            if let Some(new) = &f.new_license {
                let _ = writeln!(out, "  new: {} — {}", term(&new.display()), term(&evidence_line(&new.resolved)));
                for (k, v) in new.resolved.evidence.first().map(|e| &e.parameters).into_iter().flatten() {
                    let _ = writeln!(out, "       {}: {}", term(k), term(v));
                }
            }
        }
    }
    if options.all_findings {
        let other: Vec<&Finding> = drift.findings.iter().filter(|f| !f.code.is_license_drift()).collect();
        if !other.is_empty() {
            out.push('\n');
            let _ = writeln!(out, "{}", p.bold("Other dependency changes:"));
            let mut t = Table::new(&["CODE", "GRAPH", "PACKAGE", "VERSION", "LICENSE", "VIA"]);
            for f in &other {
                let via = if f.direct {
                    "(direct)".to_owned()
                } else {
                    f.paths.first().and_then(|p| p.first()).map(|r| r.name.clone()).unwrap_or_default()
                };
                t.row(vec![
                    f.code.to_string(),
                    f.graph.clone(),
                    package_name(f),
                    version_change(f),
                    license_change(f),
                    via,
                ]);
            }
            out.push_str(&t.render("", &|_, cell| cell.to_owned()));
        }
    }
    out.push('\n');
    let s = &drift.summary;
    let _ = writeln!(
        out,
        "{} {} license changed, {} now unknown, {} added, {} removed, {} version changed",
        p.bold("Summary:"),
        s.license_changed,
        s.license_now_unknown,
        s.added,
        s.removed,
        s.version_changed
    );
    if s.license_first_known > 0 {
        let _ = writeln!(
            out,
            "{} {} license first known where the old version had no license evidence at all (not counted as a change; a policy judges the new license)",
            p.bold("First known:"),
            s.license_first_known
        );
    }
    if s.evidence_gained + s.evidence_lost > 0 {
        let _ = writeln!(
            out,
            "{} {} evidence gained, {} evidence lost for an unchanged version (not drift: a version's license does not change)",
            p.bold("Carried across:"),
            s.evidence_gained,
            s.evidence_lost
        );
    }
    for w in &drift.warnings {
        let _ = writeln!(out, "{} {}", p.yellow("warning:"), term(&w.to_string()));
    }
    out
}

/// A scan report: one table per graph, listing every package; the graph's
/// roots (the project's own packages, or what an SBOM describes) are marked
/// `(root)`.
pub fn scan_human(scan: &Scan, options: &HumanOptions) -> String {
    let p = Paint(options.color);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} ({} graphs, {} packages)",
        p.bold("Scan:"),
        term(&scan.input),
        scan.graphs.len(),
        scan.package_count()
    );
    for g in &scan.graphs {
        out.push('\n');
        let _ = writeln!(out, "{} ({})", p.bold(&term(&g.graph.source.path)), g.graph.source.format.as_str());
        let mut t = Table::new(&["PACKAGE", "VERSION", "LICENSE", "CATEGORY", "SOURCE", "CONFIDENCE"]);
        let mut unknown = 0;
        let mut is_root = vec![false; g.graph.packages.len()];
        for &r in &g.graph.roots {
            if let Some(root) = is_root.get_mut(r) {
                *root = true;
            }
        }
        for (i, (pkg, lic)) in g.graph.packages.iter().zip(&g.licenses).enumerate() {
            // Every package is listed; the project's own (or what an SBOM
            // describes) is marked, not left out.
            let name = if is_root[i] { format!("{} (root)", pkg.name) } else { pkg.name.clone() };
            let (license, category) = match &lic.expression {
                Some(e) => (e.to_string(), value_facts(e).least_restrictive.to_string()),
                None => {
                    unknown += 1;
                    ("unknown".to_owned(), "unknown".to_owned())
                }
            };
            let source =
                lic.evidence.first().filter(|_| lic.expression.is_some()).map_or("-", |e| e.source.as_str()).to_owned();
            let confidence = if lic.expression.is_some() { format!("{:.2}", lic.confidence) } else { "-".to_owned() };
            t.row(vec![name, pkg.version.clone(), license, category, source, confidence]);
        }
        out.push_str(
            &t.render("  ", &|col, cell| if col == 2 && cell == "unknown" { p.yellow(cell) } else { cell.to_owned() }),
        );
        if unknown > 0 {
            let _ = writeln!(out, "  {unknown} package(s) with unknown license; the JSON report gives each reason");
        }
    }
    for w in &scan.warnings {
        let _ = writeln!(out, "{} {}", p.yellow("warning:"), term(&w.to_string()));
    }
    out
}

/// A history report: one block per commit that changed a license.
pub fn history_human(history: &History, options: &HumanOptions) -> String {
    let p = Paint(options.color);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}: {} commits walked, {} with changed dependency inputs, {} changed a license",
        p.bold("History:"),
        term(&history.repo),
        history.commits_walked,
        history.commits_scanned,
        history.entries.len()
    );
    for e in &history.entries {
        out.push('\n');
        let _ = writeln!(
            out,
            "{} {} {}",
            p.bold(&term(&e.commit[..e.commit.len().min(12)])),
            term(&e.author),
            term(&e.summary)
        );
        let mut t = Table::new(&["CODE", "GRAPH", "PACKAGE", "VERSION", "LICENSE", "CATEGORY"]);
        for f in e.drift.license_findings() {
            t.row(vec![
                f.code.to_string(),
                f.graph.clone(),
                f.name.clone(),
                version_change(f),
                license_change(f),
                category_change(f),
            ]);
        }
        out.push_str(&t.render("  ", &|col, cell| if col == 0 { p.red(cell) } else { cell.to_owned() }));
    }
    if !history.errors.is_empty() {
        out.push('\n');
        let _ = writeln!(
            out,
            "{} {} commit{} could not be read (the walk went on; the next readable commit is compared with the last readable one):",
            p.yellow("Unreadable:"),
            history.errors.len(),
            if history.errors.len() == 1 { "" } else { "s" }
        );
        for e in &history.errors {
            let _ = writeln!(
                out,
                "  {} {}: {}",
                p.bold(&term(&e.commit[..e.commit.len().min(12)])),
                term(&e.summary),
                term(&e.error)
            );
        }
    }
    out
}
