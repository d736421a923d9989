//! Installed Python packages: `*.dist-info` directories in the configured
//! `site-packages` and `$VIRTUAL_ENV`'s, indexed by PEP 503 name and
//! version, and their `METADATA` (`License-Expression`, `License`, the
//! `License ::` classifiers, `License-File`).

use super::config::LicenseConfig;
use super::env;
use super::reading::{manifest_evidence, text_evidence};
use super::values::Evidence;
use crate::license::classifiers::classifier_license;
use crate::license::expr::parse_lenient;
use crate::model::Package;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The `*.dist-info` directories by (normalised name, version), listed on
/// first use.
#[derive(Default)]
pub(super) struct SitePackages {
    index: Option<HashMap<(String, String), PathBuf>>,
}

impl SitePackages {
    /// The `*.dist-info` directory of `pkg`, when it is installed.
    pub(super) fn dist_info_dir(&mut self, config: &LicenseConfig, pkg: &Package) -> Option<PathBuf> {
        let index = self.index.get_or_insert_with(|| {
            let mut roots: Vec<PathBuf> = config.site_packages.clone();
            if config.local_caches {
                roots.extend(env::virtual_env_site_packages());
            }
            let mut index = HashMap::new();
            for root in roots {
                let Ok(rd) = std::fs::read_dir(&root) else {
                    continue;
                };
                for e in rd.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let Some(stem) = name.strip_suffix(".dist-info") else {
                        continue;
                    };
                    let Some((n, v)) = stem.rsplit_once('-') else {
                        continue;
                    };
                    index.entry((dist_info_name(n), v.to_owned())).or_insert_with(|| e.path());
                }
            }
            index
        });
        index.get(&(dist_info_name(&pkg.name), pkg.version.clone())).cloned()
    }
}

/// PEP 503 normalised name, with `_` as dist-info directories use.
fn dist_info_name(name: &str) -> String {
    crate::names::pep503(name).replace('-', "_")
}

/// Evidence from a `*.dist-info` directory's `METADATA`: the
/// `License-Expression`, else the `License` field (a short one, unless it
/// names no known license and a classifier does; a long one read as a
/// license text), else the license classifiers, else the `License-File`s.
pub(super) fn metadata_evidence(dir: &Path, threshold: f32, out: &mut Vec<Evidence>) {
    let path = dir.join("METADATA");
    let file = path.display().to_string();
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let mut license_expression = None;
    let mut license = None;
    let mut classifiers = Vec::new();
    let mut license_files = Vec::new();
    let mut current: Option<&str> = None;
    for line in text.lines() {
        if line.is_empty() {
            break; // headers end; the body is the description
        }
        if line.starts_with([' ', '\t']) {
            if current == Some("License")
                && let Some(l) = license.as_mut()
            {
                let l: &mut String = l;
                l.push('\n');
                l.push_str(line.trim());
            }
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        current = None;
        match k {
            "License-Expression" => license_expression = Some(v.to_owned()),
            "License" => {
                license = Some(v.to_owned());
                current = Some("License");
            }
            "Classifier" if v.starts_with("License ::") => classifiers.push(v.to_owned()),
            "License-File" => license_files.push(v.to_owned()),
            _ => {}
        }
    }
    if let Some(e) = license_expression {
        out.push(manifest_evidence(&file, "License-Expression", &e));
        return;
    }
    let classifier_expr: Vec<&str> = classifiers.iter().filter_map(|c| classifier_license(c)).collect();
    if let Some(l) = license.filter(|l| !l.trim().is_empty() && !l.eq_ignore_ascii_case("UNKNOWN")) {
        if l.lines().count() <= 2 && l.len() <= 120 {
            let ev = manifest_evidence(&file, "License", &l);
            // A free-text License field that names no known license is
            // weaker than a classifier.
            let unidentified = parse_lenient(&l).is_none_or(|p| p.has_unidentified);
            if !unidentified || classifier_expr.is_empty() {
                out.push(ev);
                return;
            }
        } else {
            // Some packages put the whole license text in this field.
            out.extend(text_evidence(&format!("{file}#License"), l.as_bytes(), threshold));
            if out.iter().any(|e| e.expression.is_some()) {
                return;
            }
        }
    }
    if !classifier_expr.is_empty() {
        let mut uniq: Vec<&str> = Vec::new();
        for c in classifier_expr {
            if !uniq.contains(&c) {
                uniq.push(c);
            }
        }
        // Several license classifiers list the licenses a package offers.
        let value = uniq.join(" OR ");
        let mut ev = manifest_evidence(&file, "Classifier: License ::", &value);
        ev.value = classifiers.join("; ");
        ev.confidence = ev.confidence.min(0.8);
        out.push(ev);
        return;
    }
    for f in license_files {
        for p in [dir.join("licenses").join(&f), dir.join(&f)] {
            if let Ok(b) = std::fs::read(&p) {
                out.extend(text_evidence(&p.display().to_string(), &b, threshold));
                break;
            }
        }
    }
}
