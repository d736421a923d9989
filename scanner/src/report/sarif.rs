//! SARIF 2.1.0 for code scanning: one rule per finding code, one result per
//! finding, located in the lockfile or SBOM the graph came from.

use super::finding::{license_change, path_text, version_change};
use crate::drift::{Drift, Finding, FindingCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn level(code: FindingCode) -> &'static str {
    match code {
        FindingCode::LicenseChanged | FindingCode::ModuleHashMismatch => "error",
        FindingCode::LicenseNowUnknown | FindingCode::LicenseFieldDisagreesWithText | FindingCode::IntegrityChanged => {
            "warning"
        }
        FindingCode::Added
        | FindingCode::Removed
        | FindingCode::VersionChanged
        | FindingCode::EvidenceGained
        | FindingCode::EvidenceLost
        | FindingCode::LicenseFirstKnown => "note",
    }
}

fn rule_name(code: FindingCode) -> String {
    code.as_str()
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

/// The first line of `text` that mentions the package (`"name"`,
/// `name = "…"`, `name@version`), 1-based.
fn line_of(text: &str, f: &Finding) -> Option<usize> {
    let version = f.new_version.as_deref().or(f.old_version.as_deref()).unwrap_or("");
    let quoted = format!("\"{}\"", f.name);
    let node_modules = format!("node_modules/{}\"", f.name);
    let at = format!("{}@{version}", f.name);
    let mut first_name = None;
    for (i, line) in text.lines().enumerate() {
        if line.contains(&node_modules) || line.contains(&at) {
            return Some(i + 1);
        }
        if first_name.is_none() && line.contains(&quoted) {
            first_name = Some(i + 1);
        }
    }
    first_name
}

/// The drift as a SARIF 2.1.0 log. Results point at line 1 of the input
/// file; see [`drift_sarif_with_sources`] for real lines.
pub fn drift_sarif(drift: &Drift) -> String {
    drift_sarif_with_sources(drift, &|_| None)
}

/// The drift as a SARIF 2.1.0 log; `source(path)` returns the new input
/// file's text so results can point at the package's line.
pub fn drift_sarif_with_sources(drift: &Drift, source: &dyn Fn(&str) -> Option<String>) -> String {
    let rules: Vec<Value> = FindingCode::ALL
        .iter()
        .map(|&c| {
            json!({
                "id": c.as_str(),
                "name": rule_name(c),
                "shortDescription": { "text": c.description() },
                "fullDescription": { "text": c.description() },
                "defaultConfiguration": { "level": level(c) },
                "properties": { "tags": ["license", "supply-chain"] }
            })
        })
        .collect();
    let mut texts: std::collections::HashMap<&str, Option<String>> = std::collections::HashMap::new();
    let results: Vec<Value> = drift
        .findings
        .iter()
        .map(|f| {
            let rule_index = FindingCode::ALL.iter().position(|&c| c == f.code).unwrap_or(0);
            let text = texts.entry(f.graph.as_str()).or_insert_with(|| source(&f.graph));
            let line = text.as_deref().and_then(|t| line_of(t, f)).unwrap_or(1);
            let mut message = f.message.clone();
            if let Some(p) = f.paths.first() {
                message.push_str(&format!(" via {}", path_text(p)));
                let more = f.paths.len() as u64 - 1 + f.more_paths;
                if more > 0 {
                    message.push_str(&format!(" (+{more} more paths)"));
                }
            }
            let fingerprint = hex::encode(
                &Sha256::digest(
                    format!("{}\0{}\0{}\0{}\0{}", f.code, f.graph, f.name, version_change(f), license_change(f))
                        .as_bytes(),
                )[..16],
            );
            json!({
                "ruleId": f.code.as_str(),
                "ruleIndex": rule_index,
                "level": level(f.code),
                "message": { "text": super::escape::plain(&message) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": f.graph },
                        "region": { "startLine": line }
                    },
                    "logicalLocations": [{ "name": f.name, "kind": "package" }]
                }],
                "partialFingerprints": { "stewardFinding/v1": fingerprint },
                "properties": {
                    "package": f.name,
                    "ecosystem": f.ecosystem,
                    "oldVersion": f.old_version,
                    "newVersion": f.new_version,
                    "oldLicense": f.old_license.as_ref().map(|l| l.display()),
                    "newLicense": f.new_license.as_ref().map(|l| l.display()),
                }
            })
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "steward",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://example.invalid/steward",
                    "rules": rules
                }
            },
            "results": results
        }]
    });
    let mut s = serde_json::to_string_pretty(&log).unwrap_or_else(|_| "{}".to_owned());
    s.push('\n');
    s
}
