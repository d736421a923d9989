//! SPDX 2.2 and 2.3 JSON documents, and SPDX 3.0 JSON-LD.
//!
//! **SPDX 3.0** (`@context` + `@graph`): every `software_Package` element is
//! a node (`name`, `software_packageVersion`, `software_packageUrl` or a
//! `packageURL` external identifier, `software_downloadLocation`);
//! `Relationship`s give the edges (`dependsOn`, `contains`, `hasDynamicLink`,
//! `hasStaticLink`, `hasPrerequisite`, `hasOptionalDependency`,
//! `hasProvidedDependency`: `from → to`), and `hasDeclaredLicense` /
//! `hasConcludedLicense` to a `simplelicensing_LicenseExpression` (or a
//! listed or custom license element) the raw licenses. A
//! `LifecycleScopedRelationship` with scope `development` or `test` is a dev
//! edge. Roots: the `rootElement`s of the `SpdxDocument` and `software_Sbom`
//! elements (and `describes` relationships) that are packages, else every
//! package nothing depends on.
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
    /// SPDX 3.0 JSON-LD.
    #[serde(rename = "@context", default)]
    context: Option<serde::de::IgnoredAny>,
    #[serde(rename = "@graph", default, borrow)]
    graph: Vec<Element<'a>>,
}

/// One element of an SPDX 3.0 `@graph` (only the properties Steward reads).
#[derive(Deserialize)]
struct Element<'a> {
    #[serde(rename = "type", alias = "@type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(rename = "spdxId", alias = "@id", borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(rename = "software_packageVersion", alias = "packageVersion", borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(rename = "software_packageUrl", alias = "packageUrl", borrow)]
    package_url: Option<Cow<'a, str>>,
    #[serde(rename = "software_downloadLocation", alias = "downloadLocation", borrow)]
    download_location: Option<Cow<'a, str>>,
    #[serde(rename = "externalIdentifier", default, borrow)]
    external_identifier: Vec<ExternalIdentifier<'a>>,
    #[serde(rename = "rootElement", default, borrow)]
    root_element: OneOrMany<'a>,
    #[serde(borrow)]
    from: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    to: OneOrMany<'a>,
    #[serde(rename = "relationshipType", borrow)]
    relationship_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    scope: Option<Cow<'a, str>>,
    #[serde(rename = "simplelicensing_licenseExpression", alias = "licenseExpression", borrow)]
    license_expression: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ExternalIdentifier<'a> {
    #[serde(rename = "externalIdentifierType", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    identifier: Option<Cow<'a, str>>,
}

/// A JSON-LD property that may hold one id or a list of them.
#[derive(Deserialize, Default)]
#[serde(untagged)]
enum OneOrMany<'a> {
    One(#[serde(borrow)] Cow<'a, str>),
    Many(#[serde(borrow)] Vec<Cow<'a, str>>),
    #[default]
    None,
}

impl OneOrMany<'_> {
    fn iter(&self) -> impl Iterator<Item = &str> {
        let (one, many): (Option<&str>, &[Cow<'_, str>]) = match self {
            OneOrMany::One(s) => (Some(s.as_ref()), &[]),
            OneOrMany::Many(v) => (None, v.as_slice()),
            OneOrMany::None => (None, &[]),
        };
        one.into_iter().chain(many.iter().map(|s| s.as_ref()))
    }
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
    let value: serde_json::Value;
    let mut skipped = Vec::new();
    let doc: Document<'_> = match serde_json::from_str::<Document<'_>>(text) {
        Ok(doc) => doc,
        // One odd package or relationship: read the document entry by entry.
        Err(e) if e.classify() == serde_json::error::Category::Data && text.trim_start().starts_with('{') => {
            value = from_json(file, text)?;
            lenient_document(file, &value, &mut skipped)
        }
        Err(_) => from_json(file, text)?,
    };
    match doc.spdx_version.as_deref() {
        None if doc.context.is_some() || !doc.graph.is_empty() => return Ok(parse_v3(file, &doc.graph)),
        None => {
            return Err(ParseError::new(
                file,
                "no `spdxVersion` and no `@graph`: not an SPDX JSON document \
                 (supported: SPDX-2.2, SPDX-2.3, SPDX 3.0 JSON-LD)",
            ));
        }
        Some(v) if !SUPPORTED_VERSIONS.contains(&v) => {
            return Err(ParseError::new(
                file,
                format!("unsupported spdxVersion `{v}` (supported: SPDX-2.2, SPDX-2.3, SPDX 3.0 JSON-LD)"),
            )
            .at("spdxVersion"));
        }
        Some(_) => {}
    }

    let mut b = GraphBuilder::new(file, LockfileFormat::SpdxJson);
    for w in skipped {
        b.warn(w);
    }
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
    Ok(finish(b, described, dev_edges, &prod_edges))
}

/// Reads an SPDX 2.x document from a parsed JSON value, entry by entry: a
/// package or relationship that does not read is left out with a warning
/// naming it. (SPDX 3.0 documents always read: their elements are lenient.)
fn lenient_document<'a>(file: &str, value: &'a serde_json::Value, warnings: &mut Vec<String>) -> Document<'a> {
    use serde_json::Value;
    let text = |k: &str| value.get(k).and_then(Value::as_str).map(Cow::Borrowed);
    let mut doc = Document {
        spdx_version: text("spdxVersion"),
        spdx_id: text("SPDXID"),
        document_describes: Vec::new(),
        packages: Vec::new(),
        relationships: Vec::new(),
        context: None,
        graph: Vec::new(),
    };
    if let Some(Value::Array(d)) = value.get("documentDescribes") {
        doc.document_describes = d.iter().filter_map(Value::as_str).map(Cow::Borrowed).collect();
    }
    if let Some(Value::Array(ps)) = value.get("packages") {
        for (i, p) in ps.iter().enumerate() {
            match SpdxPackage::deserialize(p) {
                Ok(p) => doc.packages.push(p),
                Err(e) => warnings.push(format!("{file}: packages[{i}]: skipped: {e}")),
            }
        }
    }
    if let Some(Value::Array(rs)) = value.get("relationships") {
        for (i, r) in rs.iter().enumerate() {
            match Relationship::deserialize(r) {
                Ok(r) => doc.relationships.push(r),
                Err(e) => warnings.push(format!("{file}: relationships[{i}]: skipped: {e}")),
            }
        }
    }
    doc
}

/// The element type without a namespace prefix (`software_Package`,
/// `Package` and `spdx:Software/Package` are all `Package`).
fn short_type(kind: &str) -> &str {
    let k = kind.rsplit(['/', ':', '#']).next().unwrap_or(kind);
    k.rsplit('_').next().unwrap_or(k)
}

/// An SPDX 3.0 JSON-LD `@graph`.
fn parse_v3(file: &str, graph: &[Element<'_>]) -> DependencyGraph {
    let mut b = GraphBuilder::new(file, LockfileFormat::SpdxJson);
    let mut by_id: HashMap<&str, PackageIndex> = HashMap::new();
    // License elements by id: their expression (or listed license id).
    let mut licenses: HashMap<&str, String> = HashMap::new();
    for e in graph {
        let (Some(kind), Some(id)) = (e.kind.as_deref(), e.id.as_deref()) else { continue };
        match short_type(kind) {
            "LicenseExpression" => {
                if let Some(x) = e.license_expression.as_deref() {
                    licenses.insert(id, x.to_string());
                }
            }
            // `https://spdx.org/licenses/MIT` is MIT.
            "ListedLicense" | "ListedLicenseException" => {
                licenses.insert(id, id.rsplit('/').next().unwrap_or(id).to_string());
            }
            "CustomLicense" => {
                licenses.insert(id, e.name.as_deref().unwrap_or(id).to_string());
            }
            _ => {}
        }
    }
    for (ei, e) in graph.iter().enumerate() {
        if e.kind.as_deref().map(short_type) != Some("Package") {
            continue;
        }
        let Some(id) = e.id.as_deref() else {
            b.warn(format!("{file}: @graph[{ei}]: package without `spdxId`; skipped"));
            continue;
        };
        let purl_ref = e.package_url.as_deref().or_else(|| {
            e.external_identifier
                .iter()
                .find(|x| x.kind.as_deref() == Some("packageURL"))
                .and_then(|x| x.identifier.as_deref())
        });
        let ecosystem = purl_ref.map_or(Ecosystem::Other, purl::ecosystem);
        let source = e
            .download_location
            .as_deref()
            .filter(|d| !matches!(d.trim(), "NOASSERTION" | "NONE" | ""))
            .map(str::to_string);
        let name = e.name.as_deref().unwrap_or(id);
        let mut pkg = package(name, e.version.as_deref().unwrap_or(""), ecosystem, source);
        pkg.purl = purl_ref.map(str::to_string);
        let i = b.add(pkg);
        by_id.insert(id, i);
    }

    let mut described: Vec<PackageIndex> = Vec::new();
    let mut dev_edges = HashSet::new();
    let mut prod_edges = HashSet::new();
    for (ei, e) in graph.iter().enumerate() {
        let Some(kind) = e.kind.as_deref().map(short_type) else { continue };
        if matches!(kind, "SpdxDocument" | "Sbom" | "Bom") {
            described.extend(e.root_element.iter().filter_map(|r| by_id.get(r).copied()));
            continue;
        }
        if !kind.ends_with("Relationship") {
            continue;
        }
        let (Some(from), Some(rel)) = (e.from.as_deref(), e.relationship_type.as_deref()) else { continue };
        let rel = rel.rsplit(['/', ':', '#']).next().unwrap_or(rel);
        match rel {
            "describes" => described.extend(e.to.iter().filter_map(|t| by_id.get(t).copied())),
            "hasDeclaredLicense" | "hasConcludedLicense" => {
                let Some(&p) = by_id.get(from) else { continue };
                let field = if rel == "hasDeclaredLicense" { "licenseDeclared" } else { "licenseConcluded" };
                for t in e.to.iter() {
                    let value =
                        licenses.get(t).cloned().unwrap_or_else(|| t.rsplit('/').next().unwrap_or(t).to_string());
                    let raw = RawLicense { value, field: format!("@graph[{ei}].{field}") };
                    let pkg = &mut b.graph_mut().packages[p];
                    if !pkg.raw_licenses.contains(&raw) {
                        pkg.raw_licenses.push(raw);
                    }
                }
            }
            "dependsOn"
            | "contains"
            | "hasDynamicLink"
            | "hasStaticLink"
            | "hasPrerequisite"
            | "hasOptionalDependency"
            | "hasProvidedDependency"
            | "hasOptionalComponent" => {
                let Some(&ia) = by_id.get(from) else { continue };
                let dev = matches!(e.scope.as_deref(), Some("development" | "test"));
                for t in e.to.iter() {
                    let Some(&ib) = by_id.get(t) else { continue };
                    b.edge(ia, ib);
                    if dev {
                        dev_edges.insert((ia, ib));
                    } else {
                        prod_edges.insert((ia, ib));
                    }
                }
            }
            _ => {}
        }
    }
    finish(b, described, dev_edges, &prod_edges)
}

/// The graph of an SPDX document (2.x or 3.0): its roots are the described
/// packages, else every package nothing depends on; an edge is dev-only
/// when it was stated only as a dev or test dependency.
fn finish(
    mut b: GraphBuilder,
    mut described: Vec<PackageIndex>,
    mut dev_edges: HashSet<(PackageIndex, PackageIndex)>,
    prod_edges: &HashSet<(PackageIndex, PackageIndex)>,
) -> DependencyGraph {
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
    g
}
