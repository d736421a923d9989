//! One way to render the parts of a drift [`Finding`] as text: the version
//! change, the license change, the category change, a dependency path and
//! where a license came from. The scanner's reports (human, Markdown,
//! SARIF) use these, and so can any other renderer of findings (the
//! steward server's gate reports and dashboard), so a finding reads the
//! same everywhere.
//!
//! Plain text: nothing is escaped or cut. Values come from the scanned
//! input (package names, versions, license fields), so the caller escapes
//! them for where they go (a Markdown table cell, HTML, a terminal) and
//! bounds them if it must.

use crate::drift::{Finding, LicenseState, PackageRef};
use crate::license::{Evidence, LicenseCategory, ResolvedLicense};

/// Both sides of a change: `a → b`, one value when they are equal or only
/// one side exists, empty when neither does.
fn change(old: Option<String>, new: Option<String>) -> String {
    match (old, new) {
        (Some(a), Some(b)) if a == b => a,
        (Some(a), Some(b)) => format!("{a} → {b}"),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => String::new(),
    }
}

/// `1.0.0 → 1.1.0`; one version when it did not change or the package was
/// added or removed.
pub fn version_change(f: &Finding) -> String {
    change(f.old_version.clone(), f.new_version.clone())
}

/// `Apache-2.0 → SSPL-1.0`; one license when it did not change or the
/// package was added or removed. An unresolved license reads `unknown`.
pub fn license_change(f: &Finding) -> String {
    let show = |s: &Option<LicenseState>| s.as_ref().map(LicenseState::display);
    change(show(&f.old_license), show(&f.new_license))
}

/// The least restrictive category of each side, `permissive →
/// source-available`; one category when it did not change or one side is
/// missing. An unresolved license is `unknown`.
pub fn category_change(f: &Finding) -> String {
    let cat = |s: &Option<LicenseState>| -> Option<String> {
        s.as_ref()
            .map(|l| l.facts.as_ref().map_or(LicenseCategory::Unknown, |f| f.least_restrictive).as_str().to_owned())
    };
    change(cat(&f.old_license), cat(&f.new_license))
}

/// A dependency path, `express 4.18.2 → mongo-thing 1.1.0`.
pub fn path_text(path: &[PackageRef]) -> String {
    path.iter().map(|p| format!("{} {}", p.name, p.version)).collect::<Vec<_>>().join(" → ")
}

/// One piece of evidence:
/// `input-field: package-lock.json packages["node_modules/x"].license = "MIT" (confidence 1.00)`.
pub fn evidence_text(e: &Evidence) -> String {
    let field = e.field.as_deref().map(|f| format!(" {f}")).unwrap_or_default();
    format!("{}: {}{field} = {:?} (confidence {:.2})", e.source.as_str(), e.file, e.value, e.confidence)
}

/// The deciding evidence's parameters on one line (BUSL-1.1's `Licensor`,
/// `Change Date`…; the Commons Clause's `Software`, `License`,
/// `Licensor`): `Change Date: 2027-04-10; Licensor: HashiCorp, Inc.`, each
/// value cut to `max_value` characters (an Additional Use Grant runs to
/// kilobytes). `None` when there are none.
pub fn parameters_line(l: &ResolvedLicense, max_value: usize) -> Option<String> {
    let params = &l.evidence.first()?.parameters;
    if params.is_empty() {
        return None;
    }
    let cut = |v: &str| {
        if v.chars().count() > max_value {
            format!("{}…", v.chars().take(max_value).collect::<String>())
        } else {
            v.to_owned()
        }
    };
    Some(params.iter().map(|(k, v)| format!("{k}: {}", cut(v))).collect::<Vec<_>>().join("; "))
}

/// One line on where a license came from: the deciding evidence
/// ([`evidence_text`]), or for an unknown license the reason and the last
/// place looked at.
pub fn evidence_line(l: &ResolvedLicense) -> String {
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
        Some(e) => evidence_text(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::diff;
    use crate::license::LicenseConfig;
    use crate::model::{DependencyGraph, Ecosystem, LockfileFormat, Package, RawLicense, SourceLocation};
    use crate::scan::scan_graphs;

    /// A real drift: `app` depends on `lib`, whose version and license
    /// change (`old` → `new`); `gone` is removed and `fresh` added.
    fn findings(old: (&str, &str), new: (&str, &str)) -> Vec<Finding> {
        let side = |(version, license): (&str, &str), extra: &str| {
            let mut g = DependencyGraph::new(SourceLocation {
                path: "package-lock.json".into(),
                format: LockfileFormat::NpmPackageLock,
            });
            let mut add = |name: &str, version: &str, license: &str| {
                g.push(Package {
                    name: name.into(),
                    version: version.into(),
                    ecosystem: Ecosystem::Npm,
                    purl: None,
                    source: (name != "app").then(|| "https://registry.npmjs.org".into()),
                    raw_licenses: (!license.is_empty())
                        .then(|| RawLicense { value: license.into(), field: format!("packages[{name:?}].license") })
                        .into_iter()
                        .collect(),
                    dev: false,
                    line: None,
                    integrity: None,
                })
            };
            let app = add("app", "1.0.0", "MIT");
            let lib = add("lib", version, license);
            let other = add(extra, "2.0.0", "ISC");
            g.roots.push(app);
            g.add_edge(app, lib);
            g.add_edge(lib, other);
            let dir = tempfile::tempdir().unwrap();
            let config = LicenseConfig { local_caches: false, ..LicenseConfig::default() };
            scan_graphs(&crate::Directory::new(dir.path()), vec![g], &config).unwrap()
        };
        diff(&side(old, "gone"), &side(new, "fresh")).findings
    }

    fn named<'a>(fs: &'a [Finding], name: &str) -> &'a Finding {
        fs.iter().find(|f| f.name == name).unwrap()
    }

    #[test]
    fn a_change_shows_both_sides_and_one_side_shows_one() {
        let fs = findings(("1.0.0", "Apache-2.0"), ("1.1.0", "SSPL-1.0"));
        let lib = named(&fs, "lib");
        assert_eq!(version_change(lib), "1.0.0 → 1.1.0");
        assert_eq!(license_change(lib), "Apache-2.0 → SSPL-1.0");
        assert_eq!(category_change(lib), "permissive → source-available");
        assert_eq!(path_text(&lib.paths[0]), "lib 1.1.0");
        assert_eq!(
            evidence_line(&lib.new_license.as_ref().unwrap().resolved),
            "input-field: package-lock.json packages[\"lib\"].license = \"SSPL-1.0\" (confidence 1.00)"
        );
        let fresh = named(&fs, "fresh");
        assert_eq!((version_change(fresh), license_change(fresh)), ("2.0.0".into(), "ISC".into()));
        assert_eq!(path_text(&fresh.paths[0]), "lib 1.1.0 → fresh 2.0.0");
        let gone = named(&fs, "gone");
        assert_eq!((version_change(gone), category_change(gone)), ("2.0.0".into(), "permissive".into()));
    }

    #[test]
    fn an_unknown_license_reads_unknown_with_its_reason() {
        let fs = findings(("1.0.0", "MIT"), ("1.0.0", ""));
        let lib = named(&fs, "lib");
        assert_eq!(version_change(lib), "1.0.0");
        assert_eq!(license_change(lib), "MIT → unknown");
        assert_eq!(category_change(lib), "permissive → unknown");
        let line = evidence_line(&lib.new_license.as_ref().unwrap().resolved);
        assert!(line.starts_with("no license data: "), "{line}");
    }
}
