//! Rendering scans, drift and history for people and machines: human
//! tables, JSON (documented in `scanner/REPORT_FORMAT.md`), Markdown for a
//! pull request comment, SARIF 2.1.0, and SPDX 2.3 / CycloneDX 1.6 export of
//! a scanned graph.
//!
//! Every renderer takes a value and returns a `String`; none writes to a
//! terminal or decides about colour (the caller knows whether it is a TTY).

mod export;
mod human;
mod json;
mod markdown;
mod sarif;
mod table;

pub use export::{ExportOptions, cyclonedx_json, spdx_json};
pub use human::{HumanOptions, drift_human, history_human, scan_human};
pub use json::{DRIFT_SCHEMA, HISTORY_SCHEMA, SCAN_SCHEMA, drift_json, history_json, scan_json};
pub use markdown::drift_markdown;
pub use sarif::{drift_sarif, drift_sarif_with_sources};

use crate::drift::Finding;
use crate::license::{LicenseCategory, ResolvedLicense};

/// The category pair of a finding, `permissive → source-available`.
pub(crate) fn category_change(f: &Finding) -> String {
    let cat = |s: &Option<crate::drift::LicenseState>| -> Option<LicenseCategory> {
        s.as_ref().map(|l| l.facts.as_ref().map_or(LicenseCategory::Unknown, |f| f.least_restrictive))
    };
    match (cat(&f.old_license), cat(&f.new_license)) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a} → {b}"),
        (Some(a), None) => a.to_string(),
        (None, Some(b)) => b.to_string(),
        (None, None) => String::new(),
    }
}

/// `1.0.0 → 1.1.0`, or one version.
pub(crate) fn version_change(f: &Finding) -> String {
    match (&f.old_version, &f.new_version) {
        (Some(a), Some(b)) if a == b => a.clone(),
        (Some(a), Some(b)) => format!("{a} → {b}"),
        (Some(a), None) => a.clone(),
        (None, Some(b)) => b.clone(),
        (None, None) => String::new(),
    }
}

/// `Apache-2.0 → SSPL-1.0`, or one license.
pub(crate) fn license_change(f: &Finding) -> String {
    let show = |s: &Option<crate::drift::LicenseState>| s.as_ref().map(|l| l.display());
    match (show(&f.old_license), show(&f.new_license)) {
        (Some(a), Some(b)) if a == b => a,
        (Some(a), Some(b)) => format!("{a} → {b}"),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => String::new(),
    }
}

/// `express 4.18.2 → mongo-thing 1.1.0`.
pub(crate) fn path_text(path: &[crate::drift::PackageRef]) -> String {
    path.iter().map(|p| format!("{} {}", p.name, p.version)).collect::<Vec<_>>().join(" → ")
}

/// One line on where a license came from.
pub(crate) fn evidence_line(l: &ResolvedLicense) -> String {
    match l.evidence.first() {
        None => l.unknown_reason.clone().unwrap_or_else(|| "no evidence".to_owned()),
        Some(e) if l.expression.is_none() => format!(
            "{} (last looked at: {} {})",
            l.unknown_reason.as_deref().unwrap_or("unknown"),
            e.file,
            e.field.as_deref().unwrap_or("")
        )
        .trim_end()
        .to_owned(),
        Some(e) => {
            let field = e.field.as_deref().map(|f| format!(" {f}")).unwrap_or_default();
            let source =
                serde_json::to_value(e.source).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            format!("{source}: {}{field} = {:?} (confidence {:.2})", e.file, e.value, e.confidence)
        }
    }
}
