//! CycloneDX JSON, specVersion 1.2 to 1.7 (1.4–1.7 are what current tools
//! write; 1.2 and 1.3 share the same component and dependency shapes, and
//! 1.7 only adds properties Steward does not read).
//!
//! A component or dependency entry of a shape the parser cannot read (a
//! `licenses` string, a component without `name`) is skipped with a warning
//! naming it; the rest of the BOM is read.
//!
//! `metadata.component` is the root; every element of `components`, nested
//! `components` included (flattened with an explicit stack: the JSON parser's
//! recursion limit of 128 bounds the nesting depth, and a deeper document is
//! an error naming the line), is a node. `dependencies[].ref`/`dependsOn`
//! give the edges by `bom-ref`; references to unknown refs are skipped.
//! Components that are the same package (same name, version and source, as
//! cyclonedx-npm writes for a package installed at two paths) become one
//! node. Without `metadata.component`, every component nothing depends on is
//! a root.
//!
//! Names: `group/name` (npm scopes as `@scope/name`), `group:name` for
//! Maven. Ecosystem from the purl type; the purl is kept as written. `source`
//! is the purl's `download_url`/`vcs_url` qualifier, else the first
//! `distribution` external reference. Licenses: each `licenses[i]` entry's
//! `license.id`, `license.name` or `expression`, with its field path
//! (`components[3].licenses[0].license.id`). `dev`: cyclonedx-npm's
//! `cdx:npm:package:development` property.

use super::common::{GraphBuilder, decode, from_json, package, purl};
use crate::model::{DependencyGraph, Ecosystem, LockfileFormat, PackageIndex, ParseError, RawLicense};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashMap;

#[derive(Deserialize)]
struct Bom<'a> {
    #[serde(rename = "bomFormat", borrow)]
    bom_format: Option<Cow<'a, str>>,
    #[serde(rename = "specVersion", borrow)]
    spec_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    metadata: Option<Metadata<'a>>,
    #[serde(default, borrow)]
    components: Vec<Component<'a>>,
    #[serde(default, borrow)]
    dependencies: Vec<Dependency<'a>>,
}

#[derive(Deserialize)]
struct Metadata<'a> {
    #[serde(borrow)]
    component: Option<Component<'a>>,
}

#[derive(Deserialize)]
struct Component<'a> {
    #[serde(rename = "bom-ref", borrow)]
    bom_ref: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    group: Option<Cow<'a, str>>,
    #[serde(borrow)]
    purl: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    licenses: Vec<LicenseChoice<'a>>,
    #[serde(default, borrow)]
    properties: Vec<Property<'a>>,
    #[serde(rename = "externalReferences", default, borrow)]
    external_references: Vec<ExternalReference<'a>>,
    #[serde(default, borrow)]
    components: Vec<Component<'a>>,
}

#[derive(Deserialize)]
struct LicenseChoice<'a> {
    #[serde(borrow)]
    license: Option<License<'a>>,
    #[serde(borrow)]
    expression: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct License<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Property<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    value: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ExternalReference<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    url: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Dependency<'a> {
    #[serde(rename = "ref", borrow)]
    reference: Cow<'a, str>,
    #[serde(rename = "dependsOn", default, borrow)]
    depends_on: Vec<Cow<'a, str>>,
}

/// Supported `specVersion` values.
pub const SUPPORTED_VERSIONS: &[&str] = &["1.2", "1.3", "1.4", "1.5", "1.6", "1.7"];

fn display_name(c: &Component<'_>, ecosystem: Ecosystem, purl: Option<&str>) -> String {
    match c.group.as_deref().filter(|g| !g.is_empty()) {
        None => c.name.to_string(),
        Some(g) if ecosystem == Ecosystem::Npm => {
            if g.starts_with('@') {
                format!("{g}/{}", c.name)
            } else {
                format!("@{g}/{}", c.name)
            }
        }
        Some(g) if purl.is_some_and(|p| p.starts_with("pkg:maven/")) => format!("{g}:{}", c.name),
        Some(g) => format!("{g}/{}", c.name),
    }
}

fn to_package(c: &Component<'_>, path: &str) -> crate::model::Package {
    let purl_s = c.purl.as_deref();
    let ecosystem = purl_s.map_or(Ecosystem::Other, purl::ecosystem);
    let source = purl_s
        .and_then(|p| purl::qualifier(p, "download_url").or_else(|| purl::qualifier(p, "vcs_url")))
        .or_else(|| {
            c.external_references
                .iter()
                .find(|r| r.kind.as_deref() == Some("distribution"))
                .and_then(|r| r.url.as_deref().map(str::to_string))
        });
    let name = display_name(c, ecosystem, purl_s);
    let mut p = package(&name, c.version.as_deref().unwrap_or(""), ecosystem, source);
    p.purl = purl_s.map(str::to_string);
    for (li, l) in c.licenses.iter().enumerate() {
        let base = format!("{path}.licenses[{li}]");
        if let Some(e) = &l.expression {
            p.raw_licenses.push(RawLicense { value: e.to_string(), field: format!("{base}.expression") });
        }
        if let Some(lic) = &l.license {
            if let Some(id) = &lic.id {
                p.raw_licenses.push(RawLicense { value: id.to_string(), field: format!("{base}.license.id") });
            } else if let Some(n) = &lic.name {
                p.raw_licenses.push(RawLicense { value: n.to_string(), field: format!("{base}.license.name") });
            }
        }
    }
    p.dev = c
        .properties
        .iter()
        .any(|pr| pr.name.as_deref() == Some("cdx:npm:package:development") && pr.value.as_deref() == Some("true"));
    p
}

/// Reads a BOM from an already parsed JSON value, entry by entry: a
/// component (at any depth) or dependency that does not read is left out
/// with a warning naming its path.
fn lenient_bom<'a>(
    file: &str,
    value: &'a serde_json::Value,
    warnings: &mut Vec<String>,
) -> Result<Bom<'a>, ParseError> {
    use serde_json::Value;
    let obj = value.as_object().ok_or_else(|| ParseError::new(file, "a CycloneDX BOM must be a JSON object"))?;
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(Cow::Borrowed);
    let component = |v: &'a Value, path: &str, warnings: &mut Vec<String>| -> Option<Component<'a>> {
        match Component::deserialize(v) {
            Ok(c) => Some(c),
            Err(e) => {
                // Keep its readable children: strip them and retry is not
                // possible without copying, so report the whole subtree.
                warnings.push(format!("{file}: {path}: skipped: {e}"));
                None
            }
        }
    };
    let mut components = Vec::new();
    if let Some(Value::Array(cs)) = obj.get("components") {
        for (i, c) in cs.iter().enumerate() {
            components.extend(component(c, &format!("components[{i}]"), warnings));
        }
    }
    let metadata = obj.get("metadata").and_then(|m| match Metadata::deserialize(m) {
        Ok(m) => Some(m),
        Err(e) => {
            warnings.push(format!("{file}: metadata: skipped: {e}"));
            None
        }
    });
    let mut dependencies = Vec::new();
    if let Some(Value::Array(ds)) = obj.get("dependencies") {
        for (i, d) in ds.iter().enumerate() {
            match Dependency::deserialize(d) {
                Ok(d) => dependencies.push(d),
                Err(e) => warnings.push(format!("{file}: dependencies[{i}]: skipped: {e}")),
            }
        }
    }
    Ok(Bom { bom_format: text("bomFormat"), spec_version: text("specVersion"), metadata, components, dependencies })
}

/// Parses a CycloneDX JSON BOM.
pub fn parse(file: &str, bytes: &[u8]) -> Result<DependencyGraph, ParseError> {
    let text = decode(file, bytes)?;
    let value: serde_json::Value;
    let mut skipped = Vec::new();
    let bom: Bom<'_> = match serde_json::from_str::<Bom<'_>>(text) {
        Ok(bom) => bom,
        // One odd entry: read the BOM again entry by entry.
        Err(e) if e.classify() == serde_json::error::Category::Data && text.trim_start().starts_with('{') => {
            value = from_json(file, text)?;
            lenient_bom(file, &value, &mut skipped)?
        }
        Err(_) => from_json(file, text)?,
    };
    if bom.bom_format.as_deref() != Some("CycloneDX") {
        return Err(ParseError::new(file, "`bomFormat` is not \"CycloneDX\": not a CycloneDX BOM").at("bomFormat"));
    }
    match bom.spec_version.as_deref() {
        Some(v) if SUPPORTED_VERSIONS.contains(&v) => {}
        other => {
            return Err(ParseError::new(
                file,
                format!(
                    "unsupported CycloneDX specVersion {} (supported: 1.2 to 1.7)",
                    other.map_or_else(|| "(missing)".to_string(), |v| format!("`{v}`"))
                ),
            )
            .at("specVersion"));
        }
    }

    let mut b = GraphBuilder::new(file, LockfileFormat::CyclonedxJson);
    for w in skipped {
        b.warn(w);
    }
    let mut by_ref: HashMap<&str, PackageIndex> = HashMap::new();
    let mut stack: Vec<(&Component<'_>, String)> = Vec::new();
    let root_component = bom.metadata.as_ref().and_then(|m| m.component.as_ref());
    for (i, c) in bom.components.iter().enumerate().rev() {
        stack.push((c, format!("components[{i}]")));
    }
    let mut root = None;
    if let Some(rc) = root_component {
        let i = b.add(to_package(rc, "metadata.component"));
        root = Some(i);
        if let Some(r) = rc.bom_ref.as_deref() {
            by_ref.insert(r, i);
        }
        for (ci, c) in rc.components.iter().enumerate().rev() {
            stack.push((c, format!("metadata.component.components[{ci}]")));
        }
    }
    while let Some((c, path)) = stack.pop() {
        let i = b.add(to_package(c, &path));
        if let Some(r) = c.bom_ref.as_deref() {
            by_ref.entry(r).or_insert(i);
        }
        for (ci, child) in c.components.iter().enumerate().rev() {
            stack.push((child, format!("{path}.components[{ci}]")));
        }
    }
    for d in &bom.dependencies {
        let Some(&from) = by_ref.get(d.reference.as_ref()) else { continue };
        for to in &d.depends_on {
            if let Some(&t) = by_ref.get(to.as_ref()) {
                b.edge(from, t);
            }
        }
    }
    match root {
        Some(r) => b.root(r),
        None => {
            let g = b.graph();
            let mut has_parent = vec![false; g.packages.len()];
            for (from, deps) in g.edges.iter().enumerate() {
                for &d in deps {
                    if d != from {
                        has_parent[d] = true;
                    }
                }
            }
            for i in (0..has_parent.len()).filter(|&i| !has_parent[i]) {
                b.root(i);
            }
        }
    }
    Ok(b.finish())
}
