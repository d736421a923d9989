//! Export of scanned graphs as SPDX 2.3 JSON and CycloneDX 1.6 JSON, with
//! the resolved licenses.

use crate::license::{EvidenceSource, LicenseValue};
use crate::scan::{Scan, ScannedGraph};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

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

fn concluded(g: &ScannedGraph, i: usize) -> String {
    match &g.licenses[i].expression {
        Some(LicenseValue::Expr(e)) => e.to_string(),
        Some(LicenseValue::None) => "NONE".to_owned(),
        _ => "NOASSERTION".to_owned(),
    }
}

fn declared(g: &ScannedGraph, i: usize) -> String {
    g.licenses[i]
        .evidence
        .iter()
        // What the package declares: its lockfile entry, its manifest, or
        // the registry's copy of the manifest's license field.
        .find(|e| {
            matches!(e.source, EvidenceSource::InputField | EvidenceSource::LocalManifest | EvidenceSource::Registry)
        })
        .and_then(|e| e.expression.as_ref())
        .map(|e| e.to_string())
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
    let mut refs: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for (gi, g) in scan.graphs.iter().enumerate() {
        for (pi, p) in g.graph.packages.iter().enumerate() {
            let (lc, ld) = (concluded(g, pi), declared(g, pi));
            for l in [&lc, &ld] {
                for word in l.split([' ', '(', ')']) {
                    if word.starts_with("LicenseRef-") {
                        refs.insert(word.to_owned());
                    }
                }
            }
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
        .map(|id| {
            json!({
                "licenseId": id,
                "name": id.trim_start_matches("LicenseRef-"),
                "extractedText": format!("{id}: a license outside the SPDX list, identified by Steward's scanner; see the package's evidence for its source."),
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
