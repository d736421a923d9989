//! Markdown for a pull request comment: license drift in a table, evidence
//! and every path in a collapsed section, other changes collapsed too.

use super::escape::md_code as code;
use super::finding::{category_change, evidence_line, license_change, parameters_line, path_text, version_change};
use crate::drift::{Drift, Finding};
use std::fmt::Write as _;

/// The most characters of one license parameter a comment shows.
const PARAMETER_CHARS: usize = 300;

/// The drift report as a Markdown comment.
pub fn drift_markdown(drift: &Drift) -> String {
    let mut out = String::new();
    let license: Vec<&Finding> = drift.license_findings().collect();
    if license.is_empty() {
        let _ = writeln!(out, "### ✅ No license drift\n");
        let _ =
            writeln!(out, "No dependency changed its license between {} and {}.", code(&drift.old), code(&drift.new));
    } else {
        let _ = writeln!(
            out,
            "### ⚠️ License drift: {} package{}\n",
            license.len(),
            if license.len() == 1 { "" } else { "s" }
        );
        let _ = writeln!(out, "| Finding | Package | Version | License | Category | Via |");
        let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- |");
        for f in &license {
            let via = match f.paths.first() {
                Some(p) => {
                    let more = f.paths.len() as u64 - 1 + f.more_paths;
                    let names = p.iter().map(|r| code(&r.name)).collect::<Vec<_>>().join(" → ");
                    if more > 0 { format!("{names} (+{more} more)") } else { names }
                }
                None if f.direct => "direct".to_owned(),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} |",
                f.code,
                code(&f.name),
                code(&version_change(f)),
                license_change(f).split(" → ").map(code).collect::<Vec<_>>().join(" → "),
                category_change(f),
                via
            );
        }
        let _ = writeln!(out, "\n<details><summary>Evidence and dependency paths</summary>\n");
        for f in &license {
            let _ = writeln!(out, "#### {} {} ({})\n", code(&f.name), code(&version_change(f)), code(&f.graph));
            for path in &f.paths {
                let _ = writeln!(out, "- via {}", code(&path_text(path)));
            }
            if f.more_paths > 0 {
                let _ = writeln!(out, "- … and {} more paths", f.more_paths);
            }
            if let Some(l) = &f.old_license {
                let _ = writeln!(out, "- old: {} — {}", code(&l.display()), code(&evidence_line(&l.resolved)));
            }
            if let Some(l) = &f.new_license {
                let _ = writeln!(out, "- new: {} — {}", code(&l.display()), code(&evidence_line(&l.resolved)));
                if let Some(p) = parameters_line(&l.resolved, PARAMETER_CHARS) {
                    let _ = writeln!(out, "- parameters: {}", code(&p));
                }
            }
            out.push('\n');
        }
        let _ = writeln!(out, "</details>");
    }
    let other: Vec<&Finding> = drift.findings.iter().filter(|f| !f.code.is_license_drift()).collect();
    if !other.is_empty() {
        let _ = writeln!(out, "\n<details><summary>Other dependency changes ({})</summary>\n", other.len());
        let _ = writeln!(out, "| Finding | Graph | Package | Version | License |");
        let _ = writeln!(out, "| --- | --- | --- | --- | --- |");
        for f in &other {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                f.code,
                code(&f.graph),
                code(&f.name),
                code(&version_change(f)),
                code(&license_change(f))
            );
        }
        let _ = writeln!(out, "\n</details>");
    }
    let s = &drift.summary;
    let first_known = if s.license_first_known > 0 {
        format!(" · {} license first known", s.license_first_known)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "\n<sub>{} license changed · {} now unknown{first_known} · {} added · {} removed · {} version changed — Steward</sub>",
        s.license_changed, s.license_now_unknown, s.added, s.removed, s.version_changed
    );
    out
}
