//! Evidence from one value or one license text: a license field read
//! leniently ([`Readings`] caches readings and canonical forms for a whole
//! scan), a text run through detection ([`text_evidence`]), and the license
//! files of a directory on disk.

use super::values::{Evidence, EvidenceSource, ResolvedLicense};
use crate::license::detect::{self, Detection};
use crate::license::expr::{LicenseExpr, LicenseValue, ParsedLicense, parse_lenient};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Readings shared by the packages of a scan: most packages of a graph
/// share a handful of license strings and expressions.
#[derive(Default)]
pub(super) struct Readings {
    parsed: HashMap<String, Option<ParsedLicense>>,
    /// Canonical forms of the expressions resolved so far.
    canonical: HashMap<LicenseExpr, String>,
}

impl Readings {
    /// [`parse_lenient`] through a cache of readings.
    pub(super) fn parse(&mut self, raw: &str) -> Option<ParsedLicense> {
        if let Some(p) = self.parsed.get(raw) {
            return p.clone();
        }
        let p = parse_lenient(raw);
        self.parsed.insert(raw.to_owned(), p.clone());
        p
    }

    /// A known license, with the canonical form cached.
    pub(super) fn known(
        &mut self,
        expr: LicenseExpr,
        confidence: f32,
        evidence: Vec<Evidence>,
        warnings: Vec<String>,
    ) -> ResolvedLicense {
        let canonical = match self.canonical.get(&expr) {
            Some(c) => c.clone(),
            None => {
                let c = expr.canonical().to_string();
                if self.canonical.len() < 4096 {
                    self.canonical.insert(expr.clone(), c.clone());
                }
                c
            }
        };
        ResolvedLicense::known_with_canonical(expr, canonical, confidence, evidence, warnings)
    }

    /// [`manifest_evidence`] with the reading of `value` cached.
    pub(super) fn manifest_evidence(&mut self, file: String, field: &str, value: &str) -> Evidence {
        let parsed = self.parse(value);
        evidence_from_manifest(file, field, value, parsed)
    }
}

pub(super) fn parsed_confidence(p: &ParsedLicense) -> f32 {
    if p.has_unidentified {
        0.5
    } else if p.is_exact() {
        1.0
    } else {
        0.9
    }
}

/// npm's `SEE LICENSE IN <file>`.
pub(super) fn see_license_in(value: &str) -> Option<String> {
    let v = value.trim();
    let upper = v.to_ascii_uppercase();
    upper.strip_prefix("SEE LICENSE IN ").map(|_| v["SEE LICENSE IN ".len()..].trim().to_owned())
}

/// Evidence from a license field of a manifest.
pub(super) fn manifest_evidence(file: &str, field: &str, value: &str) -> Evidence {
    evidence_from_manifest(file.to_owned(), field, value, parse_lenient(value))
}

pub(super) fn evidence_from_manifest(
    file: String,
    field: &str,
    value: &str,
    parsed: Option<ParsedLicense>,
) -> Evidence {
    Evidence {
        source: EvidenceSource::LocalManifest,
        file,
        field: Some(field.to_owned()),
        value: value.to_owned(),
        expression: parsed.as_ref().map(|p| p.value.clone()),
        confidence: parsed.as_ref().map(parsed_confidence).unwrap_or(0.0),
        parameters: BTreeMap::new(),
        warnings: parsed.map(|p| p.warnings).unwrap_or_default(),
    }
}

/// Evidence from one license text. Texts that match nothing still yield
/// evidence (with no expression) so the reason for "unknown" can name them.
pub fn text_evidence(file: &str, bytes: &[u8], threshold: f32) -> Option<Evidence> {
    let text = String::from_utf8_lossy(bytes);
    if text.trim().is_empty() {
        return None;
    }
    let detection: Detection = detect::detect_text(&text, threshold);
    let expr = detection.expression();
    let value = if detection.parts.is_empty() && expr.is_none() {
        format!(
            "no match ≥ {threshold} (closest: {} at {:.3})",
            detection.best_candidate.as_deref().unwrap_or("none"),
            detection.best_score
        )
    } else {
        // Every part with its confidence and lines, unknown parts included,
        // then how they combine.
        let mut parts: Vec<String> = detection
            .parts
            .iter()
            .map(|p| match &p.id {
                Some(id) => format!("{id} ({:.3}, lines {}-{})", p.score, p.lines.0, p.lines.1),
                None => format!(
                    "unknown part (lines {}-{}, closest {} at {:.3})",
                    p.lines.0,
                    p.lines.1,
                    p.closest.as_deref().unwrap_or("none"),
                    p.score
                ),
            })
            .collect();
        if let Some(r) = &detection.reason {
            parts.push(r.clone());
        }
        parts.join("; ")
    };
    Some(Evidence {
        source: EvidenceSource::LicenseText,
        file: file.to_owned(),
        field: None,
        value,
        confidence: if expr.is_some() { detection.confidence() } else { detection.best_score },
        expression: expr.map(LicenseValue::Expr),
        parameters: detection.parameters,
        warnings: Vec::new(),
    })
}

/// A text beside a license field reads as one of the field's licenses
/// when it scores this against them.
const AGREES_WITH_FIELD: f32 = 0.9;

/// Evidence from a license text found beside a license field, for the
/// comparison of the two only: a text that reads as one of the field's
/// licenses (scored against those alone, which is cheap) gives none, so a
/// tree of thousands of MIT packages is not run through full detection.
pub(super) fn text_beside_field(field_value: &str, file: &str, bytes: &[u8], threshold: f32) -> Option<Evidence> {
    let ids: Vec<String> = parse_lenient(field_value)
        .and_then(|p| p.value.expr().map(|e| e.terms().iter().map(|t| t.id.clone()).collect()))
        .unwrap_or_default();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    if !refs.is_empty() && detect::score_against_ids(&String::from_utf8_lossy(bytes), &refs) >= AGREES_WITH_FIELD {
        return None;
    }
    text_evidence(file, bytes, threshold)
}

/// The license files of a directory on disk beside a license field (see
/// [`text_beside_field`]).
pub(super) fn texts_beside_field_on_disk(dir: &Path, field_value: &str, threshold: f32, out: &mut Vec<Evidence>) {
    for p in license_files_on_disk(dir) {
        if let Ok(b) = std::fs::read(&p) {
            out.extend(text_beside_field(field_value, &p.display().to_string(), &b, threshold));
        }
    }
}

/// `base/rel`, or `rel` at the tree's root.
pub(super) fn join(base: &str, rel: &str) -> String {
    if base.is_empty() { rel.to_owned() } else { format!("{base}/{rel}") }
}

/// A path as a string, without the cost of `Display` for UTF-8 paths.
pub(super) fn path_string(p: &Path) -> String {
    p.to_str().map_or_else(|| p.display().to_string(), str::to_owned)
}

/// True when the path's file name is a license file's (LICENSE, COPYING…).
pub(super) fn is_license_path(path: &str) -> bool {
    detect::is_license_file_name(path.rsplit('/').next().unwrap_or(path))
}

/// The license files of a directory on disk, sorted.
pub(super) fn license_files_on_disk(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter(|e| detect::is_license_file_name(&e.file_name().to_string_lossy()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Evidence from every license file of a directory on disk.
pub(super) fn texts_on_disk(dir: &Path, threshold: f32, out: &mut Vec<Evidence>) {
    let mut found = Vec::new();
    for p in license_files_on_disk(dir) {
        if let Ok(b) = std::fs::read(&p) {
            found.extend(text_evidence(&p.display().to_string(), &b, threshold));
        }
    }
    combine_texts(found, out);
}

/// Several LICENSE files (LICENSE-MIT, LICENSE-APACHE) usually mean a
/// choice; the package's manifest would say. Without one, each file is
/// kept as its own evidence and the first decides, with the others noted.
fn combine_texts(mut found: Vec<Evidence>, out: &mut Vec<Evidence>) {
    found.sort_by_key(|e| e.expression.is_none());
    out.extend(found);
}

/// The disagreement between a local manifest's license field and the
/// license texts found beside it, if any: a text naming a license the field
/// does not (an SSPL `LICENSE` under `"license": "MIT"`). Texts that matched
/// nothing, and unknown parts of a text, are no disagreement; a field
/// `MIT OR Apache-2.0` beside `LICENSE-MIT` and `LICENSE-APACHE` agrees.
pub(super) fn field_text_disagreement(evidence: &[Evidence]) -> Option<String> {
    let field = evidence.iter().find(|e| e.source == EvidenceSource::LocalManifest)?;
    let field_expr = field.expression.as_ref()?.expr()?;
    let base = |id: &str| id.trim_end_matches("-only").trim_end_matches("-or-later").to_owned();
    let field_ids: Vec<String> = field_expr.terms().iter().map(|t| base(&t.id)).collect();
    for text in evidence.iter().filter(|e| e.source == EvidenceSource::LicenseText) {
        let Some(expr) = text.expression.as_ref().and_then(LicenseValue::expr) else { continue };
        let foreign: Vec<String> = expr
            .terms()
            .iter()
            .filter(|t| t.id != detect::UNKNOWN_PART && !field_ids.contains(&base(&t.id)))
            .map(|t| t.id.clone())
            .collect();
        if !foreign.is_empty() {
            return Some(format!(
                "license field {:?} in {} disagrees with the license text {} ({expr}, confidence {:.2})",
                field.value, field.file, text.file, text.confidence
            ));
        }
    }
    None
}
