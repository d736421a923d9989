//! The online step for Go modules: license files of the module zip a
//! module proxy serves, asked through the caller's [`GoModuleSource`],
//! trusted only when the zip's `h1:` hash matches `go.sum`. A mismatch
//! leaves the license unknown with a [`MODULE_HASH_MISMATCH_WARNING`]
//! warning, which drift reports as a `module-hash-mismatch` finding.

use super::config::{SharedGoSource, ValidLicenseConfig};
use super::reading::{Readings, text_evidence};
use super::registry_lookup::{REGISTRY_CONFIDENCE, RegistryPlan, in_parallel};
use super::values::{Evidence, EvidenceSource, ResolvedLicense};
use crate::license::expr::LicenseValue;
use crate::license::gomod::{GoModuleAnswer, GoModuleSource, MODULE_HASH_MISMATCH_WARNING, ModuleZipRecord};
use crate::license::registry::RegistryError;
use crate::model::Package;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Module zips fetched at once (they wait on the network; the source may
/// bound them further).
const GO_THREADS: usize = 8;

/// A module as the proxy knows it: (module path, version).
pub(super) type GoKey = (String, String);

/// The proxy's answer, or why there is none.
pub(super) type GoAnswer = Result<GoModuleAnswer, RegistryError>;

/// The module fetched for `pkg`: the replacement of a `replace` with a
/// version, else the module itself; `None` for a directory replacement.
pub(super) fn key(pkg: &Package) -> Option<GoKey> {
    match pkg.source.as_deref() {
        Some(s) if s.starts_with("path+") => None,
        Some(s) => {
            let module = s.strip_prefix("replace+").unwrap_or(&pkg.name);
            Some((module.to_owned(), pkg.version.clone()))
        }
        None => None,
    }
}

/// Whether the proxy is asked about `pkg` once nothing local decided.
pub(super) fn plan(config: &ValidLicenseConfig, pkg: &Package) -> RegistryPlan {
    if !config.looks_up_registries() {
        return RegistryPlan::Off;
    }
    if !config.looks_up_go_modules() {
        return RegistryPlan::Skip(
            "no Go module proxy source was given (Go modules carry no license field; the license is in the module zip)"
                .to_owned(),
        );
    }
    match pkg.source.as_deref() {
        None => RegistryPlan::Skip("it is the project's own module, so no proxy was asked".to_owned()),
        Some(s) if s.starts_with("path+") => {
            RegistryPlan::Skip(format!("it is replaced by a directory ({s}), so no proxy was asked"))
        }
        _ if pkg.version.trim().is_empty() => {
            RegistryPlan::Skip("the input gives no exact version to fetch from the proxy".to_owned())
        }
        _ => RegistryPlan::Ask,
    }
}

/// Asks the source about one module now.
pub(super) fn look_up_one(config: &ValidLicenseConfig, key: &GoKey) -> GoAnswer {
    match &config.go_modules {
        Some(SharedGoSource(source)) => source.module_licenses(&key.0, &key.1),
        None => Err(RegistryError::Unavailable { url: String::new(), message: "no module proxy source".to_owned() }),
    }
}

/// Looks up every key on up to [`GO_THREADS`] threads. A look-up that
/// panicked leaves its key without an answer.
pub(super) fn look_up_all(source: &Arc<dyn GoModuleSource>, keys: Vec<GoKey>) -> Vec<(GoKey, GoAnswer)> {
    in_parallel(keys, GO_THREADS, |(module, version)| source.module_licenses(module, version))
}

/// An unknown license decided again with the proxy's answer. `go_sum_h1`
/// is the module's `h1:` line in `go.sum`, when it has one.
pub(super) fn decide(
    offline: ResolvedLicense,
    key: &GoKey,
    answer: GoAnswer,
    go_sum_h1: Option<&str>,
    readings: &mut Readings,
    threshold: f32,
) -> ResolvedLicense {
    let ResolvedLicense { mut evidence, mut warnings, unknown_reason, .. } = offline;
    let reason = unknown_reason.unwrap_or_default();
    let said = match answer {
        Ok(GoModuleAnswer::Found(record)) => match go_sum_h1 {
            Some(want) if want != record.h1 => {
                let said = format!(
                    "the module zip ({}) hashes to {} but go.sum says {want}, so its license is not used",
                    record.url, record.h1
                );
                warnings.push(format!("{MODULE_HASH_MISMATCH_WARNING} {said}"));
                said
            }
            _ => {
                let verified = go_sum_h1.is_some();
                let mut found = zip_evidence(&record, verified, threshold);
                if !verified {
                    warnings.push(format!(
                        "the module zip ({}) was not checked: go.sum has no h1: line for {} {}",
                        record.url, key.0, key.1
                    ));
                }
                found.sort_by(|a, b| {
                    (a.expression.is_none(), -a.confidence)
                        .partial_cmp(&(b.expression.is_none(), -b.confidence))
                        .unwrap_or(std::cmp::Ordering::Equal)
                });
                let best = found.first().and_then(|e| match &e.expression {
                    Some(LicenseValue::Expr(x)) => Some((x.clone(), e.confidence)),
                    _ => None,
                });
                let said = if record.licenses.is_empty() {
                    format!("the module zip ({}) has no license file at the module root", record.url)
                } else {
                    format!(
                        "the license files of the module zip ({}) matched no license above the threshold",
                        record.url
                    )
                };
                found.extend(evidence);
                evidence = found;
                if let Some((expr, confidence)) = best {
                    return readings.known(expr, confidence, evidence, warnings);
                }
                said
            }
        },
        Ok(GoModuleAnswer::NotFound { tried, end }) => {
            format!("no module proxy has {}@{} ({} answered 404/410; then {end})", key.0, key.1, tried.join(", "))
        }
        Ok(GoModuleAnswer::NotAsked { reason }) => format!("no module proxy was asked: {reason}"),
        Err(e) => {
            warnings.push(format!("module proxy look-up failed: {e}"));
            format!("the module proxy look-up failed ({e})")
        }
    };
    ResolvedLicense::unknown(format!("{reason}; {said}"), evidence, warnings)
}

/// Evidence from each license file of a zip: the file is the zip's URL and
/// the field the path inside it; the value carries the detection score.
fn zip_evidence(record: &ModuleZipRecord, verified: bool, threshold: f32) -> Vec<Evidence> {
    let mut out = Vec::new();
    for f in &record.licenses {
        let mut ev = text_evidence(&record.url, f.text.as_bytes(), threshold).unwrap_or_else(|| Evidence {
            source: EvidenceSource::LicenseText,
            file: record.url.clone(),
            field: None,
            value: "(an empty license text)".to_owned(),
            expression: None,
            confidence: 0.0,
            parameters: BTreeMap::new(),
            warnings: Vec::new(),
        });
        ev.source = EvidenceSource::Registry;
        ev.field = Some(f.path.clone());
        if f.truncated {
            ev.warnings.push(format!("{} is longer than the bytes read; only its start was detected", f.path));
        }
        if verified {
            ev.warnings.push(format!("the zip matches go.sum ({})", record.h1));
        } else {
            // Not checked against go.sum: as declared as registry data.
            ev.confidence *= REGISTRY_CONFIDENCE;
        }
        out.push(ev);
    }
    out
}
