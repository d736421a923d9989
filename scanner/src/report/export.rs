//! Export of scanned graphs as SPDX 2.3 JSON and CycloneDX 1.6 JSON, with
//! the resolved licenses.

use crate::license::{EvidenceSource, LicenseExpr, LicenseValue};
use crate::scan::{Scan, ScannedGraph};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Document metadata the caller decides (kept out of the scan so exports
/// are reproducible).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// Document name (SPDX `name`, CycloneDX `metadata.component.name`).
    pub name: String,
    /// RFC 3339 creation time, e.g. `2026-01-01T00:00:00Z`.
    pub created: String,
    /// SPDX `documentNamespace`; derived from the content when `None`.
    pub namespace: Option<String>,
}

fn digest(scan: &Scan) -> [u8; 32] {
    let mut h = Sha256::new();
    for g in &scan.graphs {
        h.update(g.graph.source.path.as_bytes());
        for p in &g.graph.packages {
            h.update(p.name.as_bytes());
            h.update([0]);
            h.update(p.version.as_bytes());
            h.update([0]);
        }
    }
    h.finalize().into()
}

fn spdx_id(graph: usize, pkg: usize) -> String {
    format!("SPDXRef-Package-{graph}-{pkg}")
}

/// Extracted licensing infos of an SPDX 2.3 document: `LicenseRef-` id →
/// the text that explains it.
type Extracted = BTreeMap<String, String>;

/// `expr` as SPDX 2.3 allows it. SPDX 2.3 knows no `AdditionRef-`: a term
/// whose `WITH` exception is not on the SPDX exception list (husky 5's
/// `MIT WITH Patron-1.0.0`) becomes one `LicenseRef-` for the license and its
/// exception together, recorded in `extracted` with the original wording.
/// Other `LicenseRef-`s are recorded as they are.
fn spdx23(expr: &LicenseExpr, extracted: &mut Extracted) -> String {
    fn map(e: &LicenseExpr, extracted: &mut Extracted) -> LicenseExpr {
        match e {
            LicenseExpr::Term(t) => {
                let listed = t.exception.as_deref().is_none_or(|x| spdx::exception_id(x).is_some());
                if listed {
                    if t.is_license_ref() && !t.id.starts_with("DocumentRef-") {
                        extracted.entry(t.id.clone()).or_insert_with(|| {
                            format!(
                                "{}: a license outside the SPDX list, identified by Steward's scanner; see the package's evidence for its source.",
                                t.id
                            )
                        });
                    }
                    return LicenseExpr::Term(t.clone());
                }
                let exception = t.exception.as_deref().unwrap_or_default();
                let plain = exception.rsplit(':').next().unwrap_or(exception).trim_start_matches("AdditionRef-");
                let license = t.id.rsplit(':').next().unwrap_or(&t.id).trim_start_matches("LicenseRef-");
                let id = crate::license::expr::license_ref(&format!(
                    "{license}{}-WITH-{plain}",
                    if t.or_later { "-or-later" } else { "" }
                ));
                extracted.entry(id.clone()).or_insert_with(|| {
                    format!(
                        "{}{} WITH {plain}: the license {} with the exception {plain}, which is not on the SPDX exception list; identified by Steward's scanner, see the package's evidence for its source.",
                        t.id,
                        if t.or_later { "+" } else { "" },
                        t.id
                    )
                });
                LicenseExpr::id(id)
            }
            LicenseExpr::And(items) => LicenseExpr::And(items.iter().map(|i| map(i, extracted)).collect()),
            LicenseExpr::Or(items) => LicenseExpr::Or(items.iter().map(|i| map(i, extracted)).collect()),
        }
    }
    map(expr, extracted).to_string()
}

fn concluded(g: &ScannedGraph, i: usize, extracted: &mut Extracted) -> String {
    match &g.licenses[i].expression {
        Some(LicenseValue::Expr(e)) => spdx23(e, extracted),
        Some(LicenseValue::None) => "NONE".to_owned(),
        _ => "NOASSERTION".to_owned(),
    }
}

fn declared(g: &ScannedGraph, i: usize, extracted: &mut Extracted) -> String {
    g.licenses[i]
        .evidence
        .iter()
        // What the package declares: its lockfile entry, its manifest, or
        // the registry's copy of the manifest's license field.
        .find(|e| {
            matches!(e.source, EvidenceSource::InputField | EvidenceSource::LocalManifest | EvidenceSource::Registry)
        })
        .and_then(|e| e.expression.as_ref())
        .map(|e| match e {
            LicenseValue::Expr(x) => spdx23(x, extracted),
            other => other.to_string(),
        })
        .unwrap_or_else(|| "NOASSERTION".to_owned())
}

/// The scan as one SPDX 2.3 JSON document: every graph's packages, the
/// `DEPENDS_ON` relationships, and an extracted-licensing entry for every
/// `LicenseRef-` used.
pub fn spdx_json(scan: &Scan, options: &ExportOptions) -> String {
    let namespace = options
        .namespace
        .clone()
        .unwrap_or_else(|| format!("https://example.invalid/steward/spdx/{}", hex::encode(&digest(scan)[..16])));
    let mut packages = Vec::new();
    let mut relationships = Vec::new();
    let mut refs = Extracted::new();
    for (gi, g) in scan.graphs.iter().enumerate() {
        for (pi, p) in g.graph.packages.iter().enumerate() {
            let (lc, ld) = (concluded(g, pi, &mut refs), declared(g, pi, &mut refs));
            let mut pkg = json!({
                "SPDXID": spdx_id(gi, pi),
                "name": p.name,
                "versionInfo": p.version,
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": false,
                "licenseConcluded": lc,
                "licenseDeclared": ld,
                "copyrightText": "NOASSERTION",
            });
            if let Some(purl) = &p.purl {
                pkg["externalRefs"] = json!([{
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": purl,
                }]);
            }
            if let Some(reason) = &g.licenses[pi].unknown_reason {
                pkg["licenseComments"] = json!(reason);
            }
            packages.push(pkg);
            for &d in &g.graph.edges[pi] {
                relationships.push(json!({
                    "spdxElementId": spdx_id(gi, pi),
                    "relationshipType": "DEPENDS_ON",
                    "relatedSpdxElement": spdx_id(gi, d),
                }));
            }
        }
        for &r in &g.graph.roots {
            relationships.insert(
                0,
                json!({
                    "spdxElementId": "SPDXRef-DOCUMENT",
                    "relationshipType": "DESCRIBES",
                    "relatedSpdxElement": spdx_id(gi, r),
                }),
            );
        }
    }
    let extracted: Vec<Value> = refs
        .iter()
        .map(|(id, text)| {
            json!({
                "licenseId": id,
                "name": id.trim_start_matches("LicenseRef-"),
                "extractedText": text,
            })
        })
        .collect();
    let mut doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": options.name,
        "documentNamespace": namespace,
        "creationInfo": {
            "created": options.created,
            "creators": [format!("Tool: steward-{}", env!("CARGO_PKG_VERSION"))],
        },
        "packages": packages,
        "relationships": relationships,
    });
    if !extracted.is_empty() {
        doc["hasExtractedLicensingInfos"] = Value::Array(extracted);
    }
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_owned());
    s.push('\n');
    s
}

fn bom_ref(graph: usize, pkg: usize) -> String {
    format!("pkg-{graph}-{pkg}")
}

/// The scan as one CycloneDX 1.6 JSON BOM: components with license
/// expressions, and the dependency graph.
pub fn cyclonedx_json(scan: &Scan, options: &ExportOptions) -> String {
    let d = digest(scan);
    // A name-based UUID (version 8, RFC 9562) from the content digest keeps
    // exports reproducible.
    let mut u = [0u8; 16];
    u.copy_from_slice(&d[..16]);
    u[6] = (u[6] & 0x0f) | 0x80;
    u[8] = (u[8] & 0x3f) | 0x80;
    let h = hex::encode(u);
    let serial = format!("urn:uuid:{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]);
    let mut components = Vec::new();
    let mut dependencies = Vec::new();
    let mut root_component = None;
    for (gi, g) in scan.graphs.iter().enumerate() {
        for (pi, p) in g.graph.packages.iter().enumerate() {
            let mut c = json!({
                "type": if g.graph.roots.contains(&pi) { "application" } else { "library" },
                "bom-ref": bom_ref(gi, pi),
                "name": p.name,
                "version": p.version,
            });
            if let Some(purl) = &p.purl {
                c["purl"] = json!(purl);
            }
            if p.dev {
                c["scope"] = json!("optional");
            }
            if let Some(LicenseValue::Expr(e)) = &g.licenses[pi].expression {
                let terms = e.terms();
                c["licenses"] = if terms.len() == 1 && terms[0].exception.is_none() && !terms[0].or_later {
                    if terms[0].is_license_ref() {
                        json!([{ "license": { "name": terms[0].id } }])
                    } else {
                        json!([{ "license": { "id": terms[0].id } }])
                    }
                } else {
                    json!([{ "expression": e.to_string() }])
                };
            }
            if root_component.is_none() && g.graph.roots.contains(&pi) {
                root_component = Some(c.clone());
            } else {
                components.push(c);
            }
            dependencies.push(json!({
                "ref": bom_ref(gi, pi),
                "dependsOn": g.graph.edges[pi].iter().map(|&x| bom_ref(gi, x)).collect::<Vec<_>>(),
            }));
        }
    }
    let component =
        root_component.unwrap_or_else(|| json!({ "type": "application", "bom-ref": "root", "name": options.name }));
    let doc = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial,
        "version": 1,
        "metadata": {
            "timestamp": options.created,
            "tools": { "components": [{ "type": "application", "name": "steward", "version": env!("CARGO_PKG_VERSION") }] },
            "component": component,
        },
        "components": components,
        "dependencies": dependencies,
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_owned());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::license::LicenseConfig;
    use crate::source::MemoryTree;

    /// husky 5 declared `MIT WITH Patron-1.0.0`; Patron-1.0.0 is no SPDX
    /// exception, and SPDX 2.3 has no `AdditionRef-`.
    #[test]
    fn a_non_spdx_exception_becomes_a_license_ref_with_extracted_info() {
        let lock = br#"{"name": "app", "lockfileVersion": 3, "packages": {
            "": {"name": "app", "dependencies": {"husky": "5.0.0"}},
            "node_modules/husky": {"version": "5.0.0", "license": "MIT WITH Patron-1.0.0"},
            "node_modules/ok": {"version": "1.0.0", "license": "GPL-2.0-or-later WITH Classpath-exception-2.0"}}}"#;
        let tree = MemoryTree::single("package-lock.json", lock.to_vec());
        let config = LicenseConfig { local_caches: false, ..LicenseConfig::default() };
        let scan = crate::scan::scan(&tree, &config).unwrap();
        let opts = ExportOptions { name: "app".into(), created: "2026-01-01T00:00:00Z".into(), namespace: None };
        let text = spdx_json(&scan, &opts);
        assert!(!text.contains("AdditionRef-"), "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let husky = v["packages"].as_array().unwrap().iter().find(|p| p["name"] == "husky").unwrap();
        assert_eq!(husky["licenseDeclared"], "LicenseRef-MIT-WITH-Patron-1.0.0");
        assert_eq!(husky["licenseConcluded"], "LicenseRef-MIT-WITH-Patron-1.0.0");
        let infos = v["hasExtractedLicensingInfos"].as_array().unwrap();
        let info = infos.iter().find(|i| i["licenseId"] == "LicenseRef-MIT-WITH-Patron-1.0.0").unwrap();
        let extracted = info["extractedText"].as_str().unwrap();
        assert!(extracted.starts_with("MIT WITH Patron-1.0.0: "), "{extracted}");
        assert!(extracted.contains("not on the SPDX exception list"), "{extracted}");
        // A listed exception stays as written.
        let ok = v["packages"].as_array().unwrap().iter().find(|p| p["name"] == "ok").unwrap();
        assert_eq!(ok["licenseDeclared"], "GPL-2.0-or-later WITH Classpath-exception-2.0");
    }
}
