//! SPDX 2.2 and 2.3 JSON documents.
//!
//! Every element of `packages` is a node (`name`, `versionInfo`, the `purl`
//! external reference, `downloadLocation` as `source` unless it is
//! `NOASSERTION`/`NONE`). Both `licenseConcluded` and `licenseDeclared` are
//! kept as raw licenses with their field paths (`packages[3].licenseDeclared`)
//! — `NOASSERTION` and `NONE` included, for the resolver to interpret.
//!
//! Edges come from `relationships` between two packages (files, snippets and
//! external documents are skipped): `A DEPENDS_ON B`, `A CONTAINS B`,
//! `A DYNAMIC_LINK B`, `A STATIC_LINK B`, `A HAS_PREREQUISITE B` give `A → B`;
//! `A DEPENDENCY_OF B` and every `A *_DEPENDENCY_OF B` (dev, test, build,
//! optional, provided, runtime), `A CONTAINED_BY B` and `A PREREQUISITE_FOR B`
//! give `B → A`. A package reached only through `DEV_`/`TEST_DEPENDENCY_OF`
//! edges is `dev`. Cycles are kept (the model allows them).
//!
//! Roots: the packages the document describes (`documentDescribes`,
//! `DESCRIBES`, `DESCRIBED_BY`); if it describes no package, every package
//! nothing depends on.

use super::common::{GraphBuilder, decode, from_json, mark_dev, package, purl};
use crate::model::{DependencyGraph, Ecosystem, LockfileFormat, PackageIndex, ParseError, RawLicense};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(rename = "spdxVersion", borrow)]
    spdx_version: Option<Cow<'a, str>>,
    #[serde(rename = "SPDXID", borrow)]
    spdx_id: Option<Cow<'a, str>>,
    #[serde(rename = "documentDescribes", default, borrow)]
    document_describes: Vec<Cow<'a, str>>,
    #[serde(default, borrow)]
    packages: Vec<SpdxPackage<'a>>,
    #[serde(default, borrow)]
    relationships: Vec<Relationship<'a>>,
}

#[derive(Deserialize)]
struct SpdxPackage<'a> {
    #[serde(rename = "SPDXID", borrow)]
    spdx_id: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(rename = "versionInfo", borrow)]
    version_info: Option<Cow<'a, str>>,
    #[serde(rename = "downloadLocation", borrow)]
    download_location: Option<Cow<'a, str>>,
    #[serde(rename = "licenseConcluded", borrow)]
    license_concluded: Option<Cow<'a, str>>,
    #[serde(rename = "licenseDeclared", borrow)]
    license_declared: Option<Cow<'a, str>>,
    #[serde(rename = "externalRefs", default, borrow)]
    external_refs: Vec<ExternalRef<'a>>,
}

#[derive(Deserialize)]
struct ExternalRef<'a> {
    #[serde(rename = "referenceType", borrow)]
    reference_type: Option<Cow<'a, str>>,
    #[serde(rename = "referenceLocator", borrow)]
    reference_locator: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Relationship<'a> {
    #[serde(rename = "spdxElementId", borrow)]
    element: Cow<'a, str>,
    #[serde(rename = "relationshipType", borrow)]
    kind: Cow<'a, str>,
    #[serde(rename = "relatedSpdxElement", borrow)]
    related: Cow<'a, str>,
}

/// Supported `spdxVersion` values.
pub const SUPPORTED_VERSIONS: &[&str] = &["SPDX-2.2", "SPDX-2.3"];

/// Direction of a relationship as a dependency edge.
enum Direction {
    /// `A rel B` means A depends on B.
    Forward,
    /// `A rel B` means B depends on A.
    Backward,
}

fn direction(kind: &str) -> Option<(Direction, bool)> {
    Some(match kind {
        "DEPENDS_ON" | "CONTAINS" | "DYNAMIC_LINK" | "STATIC_LINK" | "HAS_PREREQUISITE" => (Direction::Forward, false),
        "DEV_DEPENDENCY_OF" | "TEST_DEPENDENCY_OF" => (Direction::Backward, true),
        "CONTAINED_BY" | "PREREQUISITE_FOR" => (Direction::Backward, false),
        k if k.ends_with("DEPENDENCY_OF") => (Direction::Backward, false),
        _ => return None,
    })
}

/// Parses an SPDX 2.2/2.3 JSON document.
pub fn parse(file: &str, bytes: &[u8]) -> Result<DependencyGraph, ParseError> {
    let text = decode(file, bytes)?;
    let doc: Document<'_> = from_json(file, text)?;
    match doc.spdx_version.as_deref() {
        None => {
            return Err(ParseError::new(
                file,
                "no `spdxVersion`: not an SPDX JSON document (supported: SPDX-2.2, SPDX-2.3)",
            ));
        }
        Some(v) if !SUPPORTED_VERSIONS.contains(&v) => {
            return Err(ParseError::new(
                file,
                format!("unsupported spdxVersion `{v}` (supported: SPDX-2.2, SPDX-2.3)"),
            )
            .at("spdxVersion"));
        }
        Some(_) => {}
    }

    let mut b = GraphBuilder::new(file, LockfileFormat::SpdxJson);
    let mut by_id: HashMap<&str, PackageIndex> = HashMap::new();
    for (pi, p) in doc.packages.iter().enumerate() {
        let purl_ref = p
            .external_refs
            .iter()
            .find(|r| r.reference_type.as_deref() == Some("purl"))
            .and_then(|r| r.reference_locator.as_deref());
        let ecosystem = purl_ref.map_or(Ecosystem::Other, purl::ecosystem);
        let source = p
            .download_location
            .as_deref()
            .filter(|d| !matches!(d.trim(), "NOASSERTION" | "NONE" | ""))
            .map(str::to_string);
        let mut pkg = package(&p.name, p.version_info.as_deref().unwrap_or(""), ecosystem, source);
        pkg.purl = purl_ref.map(str::to_string);
        if let Some(l) = &p.license_concluded {
            pkg.raw_licenses
                .push(RawLicense { value: l.to_string(), field: format!("packages[{pi}].licenseConcluded") });
        }
        if let Some(l) = &p.license_declared {
            pkg.raw_licenses
                .push(RawLicense { value: l.to_string(), field: format!("packages[{pi}].licenseDeclared") });
        }
        let i = b.add(pkg);
        by_id.insert(p.spdx_id.as_ref(), i);
    }

    let doc_id = doc.spdx_id.as_deref().unwrap_or("SPDXRef-DOCUMENT");
    let mut described: Vec<PackageIndex> =
        doc.document_describes.iter().filter_map(|id| by_id.get(id.as_ref()).copied()).collect();
    let mut dev_edges = HashSet::new();
    let mut prod_edges = HashSet::new();
    for r in &doc.relationships {
        let (a, kind, bb) = (r.element.as_ref(), r.kind.as_ref(), r.related.as_ref());
        if kind == "DESCRIBES" && a == doc_id {
            described.extend(by_id.get(bb).copied());
            continue;
        }
        if kind == "DESCRIBED_BY" && bb == doc_id {
            described.extend(by_id.get(a).copied());
            continue;
        }
        let Some((dir, dev)) = direction(kind) else { continue };
        let (Some(&ia), Some(&ib)) = (by_id.get(a), by_id.get(bb)) else { continue };
        let (from, to) = match dir {
            Direction::Forward => (ia, ib),
            Direction::Backward => (ib, ia),
        };
        b.edge(from, to);
        if dev {
            dev_edges.insert((from, to))
        } else {
            prod_edges.insert((from, to))
        };
    }
    // An edge stated both ways (dev and not) is not dev-only.
    dev_edges.retain(|e| !prod_edges.contains(e));

    if described.is_empty() {
        let g = b.graph();
        let mut has_parent = vec![false; g.packages.len()];
        for (from, deps) in g.edges.iter().enumerate() {
            for &d in deps {
                if d != from {
                    has_parent[d] = true;
                }
            }
        }
        described = (0..has_parent.len()).filter(|&i| !has_parent[i]).collect();
    }
    for i in described {
        b.root(i);
    }
    let mut g = b.finish();
    mark_dev(&mut g, &dev_edges);
    Ok(g)
}
