//! License drift between two scans: added and removed packages, version
//! changes, license changes (old → new expression, with evidence) and
//! licenses that became unknown, each with the dependency paths that pull
//! the package in.
//!
//! Graphs are matched by source path; packages by ecosystem and name, and
//! versions of one name are paired by version order ([`crate::version`]:
//! semver for cargo, npm and Go, PEP 440 for Python), never by publish date. Licenses are
//! compared in canonical form, so a change of spelling or operand order is
//! not drift. Works on scans only: no I/O.
//!
//! Precision first: a package's license at one name and version does not
//! change. When one copy of a name@version has license evidence and another
//! has none (npm writes a `license` field for some packages only, and which
//! ones depends on its version and cache; a `[patch]` to a git source has
//! no registry metadata), the evidence is carried across: the same version
//! on both sides gives an informational `evidence-gained`/`evidence-lost`
//! finding, never drift, and an unknown version elsewhere takes the license
//! known for it in either scan.

use crate::license::gomod::MODULE_HASH_MISMATCH_WARNING;
use crate::license::{ExpressionFacts, ResolvedLicense, value_facts};
use crate::model::{DependencyGraph, Ecosystem, Package, PackageIndex};
use crate::paths::{DEFAULT_MAX_PATHS, PathIndex};
use crate::scan::{Scan, ScannedGraph};
use crate::version::{compare_versions, parse_semver};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;

/// The kind of a finding. The kebab-case names are stable: reports, SARIF
/// rule ids and policies use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingCode {
    /// A package's license expression changed (also from unknown to known).
    LicenseChanged,
    /// A package had a known license and now has none that can be resolved.
    LicenseNowUnknown,
    /// A package appeared.
    Added,
    /// A package disappeared.
    Removed,
    /// A package's version changed and its license did not.
    VersionChanged,
    /// A Go module zip from the proxy does not match the `h1:` hash in
    /// `go.sum`; its license was not used.
    ModuleHashMismatch,
    /// A package's manifest names one license and the license text it
    /// ships another (new on this side).
    LicenseFieldDisagreesWithText,
    /// Same name and version on both sides; only the new side had license
    /// evidence (a lockfile field npm wrote this time, a registry answer).
    /// Informational: a version's license does not change, so this is not
    /// drift, and no policy judges it.
    EvidenceGained,
    /// Same name and version on both sides; only the old side had license
    /// evidence. Informational, like [`FindingCode::EvidenceGained`]: the
    /// old side's license is carried across.
    EvidenceLost,
    /// A package's version changed and the old version had no license
    /// evidence at all: no field, no text, and the registry answered that
    /// it does not have that version (404); the new version's license is
    /// the first one known. Not license drift (nothing says the license
    /// changed), but the new license is judged like an added package's.
    LicenseFirstKnown,
    /// The same name and version on both sides, with other bytes: the
    /// input's integrity hash (npm/pnpm `integrity`, Cargo `checksum`)
    /// differs. A republished or substituted package; license evidence is
    /// not carried between the two.
    IntegrityChanged,
}

impl FindingCode {
    pub const ALL: [FindingCode; 11] = [
        FindingCode::LicenseChanged,
        FindingCode::LicenseNowUnknown,
        FindingCode::Added,
        FindingCode::Removed,
        FindingCode::VersionChanged,
        FindingCode::ModuleHashMismatch,
        FindingCode::LicenseFieldDisagreesWithText,
        FindingCode::EvidenceGained,
        FindingCode::EvidenceLost,
        FindingCode::LicenseFirstKnown,
        FindingCode::IntegrityChanged,
    ];

    /// The stable kebab-case name, as serialized (`license-changed`).
    pub fn as_str(self) -> &'static str {
        match self {
            FindingCode::LicenseChanged => "license-changed",
            FindingCode::LicenseNowUnknown => "license-now-unknown",
            FindingCode::Added => "added",
            FindingCode::Removed => "removed",
            FindingCode::VersionChanged => "version-changed",
            FindingCode::ModuleHashMismatch => "module-hash-mismatch",
            FindingCode::LicenseFieldDisagreesWithText => "license-field-disagrees-with-text",
            FindingCode::EvidenceGained => "evidence-gained",
            FindingCode::EvidenceLost => "evidence-lost",
            FindingCode::LicenseFirstKnown => "license-first-known",
            FindingCode::IntegrityChanged => "integrity-changed",
        }
    }

    /// One sentence for rule descriptions.
    pub fn description(self) -> &'static str {
        match self {
            FindingCode::LicenseChanged => "A dependency's license expression changed between the two points.",
            FindingCode::LicenseNowUnknown => "A dependency whose license was known now has no resolvable license.",
            FindingCode::Added => "A dependency was added.",
            FindingCode::Removed => "A dependency was removed.",
            FindingCode::VersionChanged => "A dependency's version changed; its license did not.",
            FindingCode::ModuleHashMismatch => {
                "A Go module's zip from the proxy does not match the h1: hash in go.sum; its license was not used."
            }
            FindingCode::LicenseFieldDisagreesWithText => {
                "A dependency's manifest license field names a license its license text does not."
            }
            FindingCode::EvidenceGained => {
                "Same name and version on both sides; only the new side has license evidence (not drift)."
            }
            FindingCode::EvidenceLost => {
                "Same name and version on both sides; only the old side has license evidence, carried across (not drift)."
            }
            FindingCode::LicenseFirstKnown => {
                "A dependency's version changed and the old version had no license evidence at all (the registry does not have it); the new version's license is the first known (not drift, but judged)."
            }
            FindingCode::IntegrityChanged => {
                "The same dependency name and version has another integrity hash than before: other bytes under the same name."
            }
        }
    }

    /// True for the codes that are license drift.
    pub fn is_license_drift(self) -> bool {
        matches!(self, FindingCode::LicenseChanged | FindingCode::LicenseNowUnknown)
    }
}

impl std::fmt::Display for FindingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the new version is above or below the old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionDirection {
    Upgrade,
    Downgrade,
    Same,
}

/// A package on a dependency path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRef {
    pub name: String,
    pub version: String,
}

/// A package's license at one point, with the facts a policy needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseState {
    #[serde(flatten)]
    pub resolved: ResolvedLicense,
    /// Facts for the expression (`None` when unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facts: Option<ExpressionFacts>,
}

impl LicenseState {
    fn of(resolved: &ResolvedLicense) -> Self {
        Self { facts: resolved.expression.as_ref().map(value_facts), resolved: resolved.clone() }
    }

    /// The expression as text, or `unknown`.
    pub fn display(&self) -> String {
        match &self.resolved.expression {
            Some(e) => e.to_string(),
            None => "unknown".to_owned(),
        }
    }
}

/// One difference between the two scans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub code: FindingCode,
    /// The graph's source path (the lockfile or SBOM).
    pub graph: String,
    /// The 1-based line in `graph` where the new side's package entry
    /// begins ([`Package::line`]), when the finding has a new-side package
    /// and its format records lines: where a forge annotates the finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub ecosystem: Ecosystem,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_version: Option<String>,
    /// Set when both versions are present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<VersionDirection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_license: Option<LicenseState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_license: Option<LicenseState>,
    /// The package is a dev/test-only dependency.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dev: bool,
    /// True when the package is a direct dependency.
    pub direct: bool,
    /// Paths from a direct dependency to the package (in the new graph; in
    /// the old one for `removed`), shortest first.
    pub paths: Vec<Vec<PackageRef>>,
    /// Paths that exist but are not listed.
    pub more_paths: u64,
    /// One line for humans.
    pub message: String,
}

/// How the graphs of the two scans matched up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphPair {
    pub path: String,
    pub presence: Presence,
    pub old_packages: usize,
    pub new_packages: usize,
}

/// Which side of the comparison a graph exists on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Presence {
    Both,
    OldOnly,
    NewOnly,
}

/// Counts per code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub license_changed: usize,
    pub license_now_unknown: usize,
    pub added: usize,
    pub removed: usize,
    pub version_changed: usize,
    /// Go module zips that did not match `go.sum` (left out of the JSON
    /// when zero, so reports without Go modules keep their shape).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub module_hash_mismatch: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub license_field_disagrees_with_text: usize,
    /// Same name@version, evidence only on the new side (informational).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub evidence_gained: usize,
    /// Same name@version, evidence only on the old side (informational).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub evidence_lost: usize,
    /// A new version's license known where the old version had no
    /// evidence at all (judged, not drift).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub license_first_known: usize,
    /// Same name@version with another integrity hash.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub integrity_changed: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The differences between two scans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub old: String,
    pub new: String,
    pub graphs: Vec<GraphPair>,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Drift {
    /// True when some finding is license drift (`license-changed` or
    /// `license-now-unknown`): the CLI's exit code 1.
    pub fn has_license_drift(&self) -> bool {
        self.findings.iter().any(|f| f.code.is_license_drift())
    }

    /// The findings that are license drift.
    pub fn license_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.code.is_license_drift())
    }
}

/// Options for [`diff_with`].
#[derive(Debug, Clone, Copy)]
pub struct DiffOptions {
    /// Paths listed per finding.
    pub max_paths: usize,
}

impl Default for DiffOptions {
    fn default() -> Self {
        Self { max_paths: DEFAULT_MAX_PATHS }
    }
}

/// Compares two scans with default options.
pub fn diff(old: &Scan, new: &Scan) -> Drift {
    diff_with(old, new, DiffOptions::default())
}

/// Compares two scans.
pub fn diff_with(old: &Scan, new: &Scan, options: DiffOptions) -> Drift {
    diff_remembering(old, new, options, &LicenseMemory::default())
}

/// Licenses known for name@versions seen before (by `history`, in earlier
/// commits): a version's license does not change, so a later scan without
/// evidence for it takes the one remembered.
#[derive(Debug, Clone, Default)]
pub struct LicenseMemory {
    /// By name@version: (origin, license, input), one per origin.
    known: HashMap<(Ecosystem, String, String), Vec<RememberedLicense>>,
}

/// A license remembered for a name@version: the copy's origin (registry
/// and integrity hash), the license and the input it was found in.
type RememberedLicense = (Origin, ResolvedLicense, String);

impl LicenseMemory {
    /// Remembers every known license of `scan` (keeping the most confident
    /// one per name@version).
    pub fn remember(&mut self, scan: &Scan) {
        for g in &scan.graphs {
            for (p, l) in g.graph.packages.iter().zip(&g.licenses) {
                if !l.is_known() || p.version.trim().is_empty() {
                    continue;
                }
                let key = (p.ecosystem, p.name.clone(), p.version.clone());
                let origin = Origin::of(p);
                let slot = self.known.entry(key).or_default();
                match slot.iter_mut().find(|(o, _, _)| *o == origin) {
                    Some(have) if have.1.confidence >= l.confidence => {}
                    Some(have) => *have = (origin, l.clone(), scan.input.clone()),
                    None => slot.push((origin, l.clone(), scan.input.clone())),
                }
            }
        }
    }

    /// Name@versions remembered.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }
}

/// [`diff_with`], also carrying licenses remembered from earlier scans.
pub fn diff_remembering(old: &Scan, new: &Scan, options: DiffOptions, memory: &LicenseMemory) -> Drift {
    let mut findings = Vec::new();
    let mut graphs = Vec::new();
    let known = known_licenses(old, new, memory);
    for (path, o, n) in match_graphs(old, new) {
        graphs.push(GraphPair {
            path: path.clone(),
            presence: match (o, n) {
                (Some(_), Some(_)) => Presence::Both,
                (Some(_), None) => Presence::OldOnly,
                _ => Presence::NewOnly,
            },
            old_packages: o.map_or(0, |g| g.graph.packages.len()),
            new_packages: n.map_or(0, |g| g.graph.packages.len()),
        });
        // Findings point at a real file: the new one (the old for removals
        // of a graph that is gone).
        let file = n.or(o).map_or(path.as_str(), |g| g.graph.source.path.as_str());
        diff_graph(file, o, n, options, &known, &mut findings);
    }
    findings.sort_by(|a, b| {
        (a.code, &a.graph, &a.name, &a.new_version, &a.old_version).cmp(&(
            b.code,
            &b.graph,
            &b.name,
            &b.new_version,
            &b.old_version,
        ))
    });
    let mut summary = Summary::default();
    for f in &findings {
        match f.code {
            FindingCode::LicenseChanged => summary.license_changed += 1,
            FindingCode::LicenseNowUnknown => summary.license_now_unknown += 1,
            FindingCode::Added => summary.added += 1,
            FindingCode::Removed => summary.removed += 1,
            FindingCode::VersionChanged => summary.version_changed += 1,
            FindingCode::ModuleHashMismatch => summary.module_hash_mismatch += 1,
            FindingCode::LicenseFieldDisagreesWithText => summary.license_field_disagrees_with_text += 1,
            FindingCode::EvidenceGained => summary.evidence_gained += 1,
            FindingCode::EvidenceLost => summary.evidence_lost += 1,
            FindingCode::LicenseFirstKnown => summary.license_first_known += 1,
            FindingCode::IntegrityChanged => summary.integrity_changed += 1,
        }
    }
    let mut warnings: Vec<String> = old.warnings.iter().map(|w| format!("old: {w}")).collect();
    warnings.extend(new.warnings.iter().map(|w| format!("new: {w}")));
    Drift { old: old.input.clone(), new: new.input.clone(), graphs, summary, findings, warnings }
}

type GraphMatch<'s> = (String, Option<&'s ScannedGraph>, Option<&'s ScannedGraph>);

/// Pairs graphs by source path; then, among the graphs left over, pairs
/// one old and one new graph of the same format when each is the only one
/// of its format (two files compared directly: `old/Cargo.lock` against
/// `Cargo.lock`, or two differently named SBOMs). A pair of different
/// paths is reported as `old-path → new-path`.
fn match_graphs<'s>(old: &'s Scan, new: &'s Scan) -> Vec<GraphMatch<'s>> {
    let mut out: Vec<GraphMatch<'s>> = Vec::new();
    let mut old_left: Vec<&ScannedGraph> = Vec::new();
    for o in &old.graphs {
        match new.graph(&o.graph.source.path) {
            Some(n) => out.push((o.graph.source.path.clone(), Some(o), Some(n))),
            None => old_left.push(o),
        }
    }
    let mut new_left: Vec<&ScannedGraph> =
        new.graphs.iter().filter(|n| old.graph(&n.graph.source.path).is_none()).collect();
    let mut i = 0;
    while i < old_left.len() {
        let format = old_left[i].graph.source.format;
        let same_old = old_left.iter().filter(|g| g.graph.source.format == format).count();
        let same_new: Vec<usize> = (0..new_left.len()).filter(|&k| new_left[k].graph.source.format == format).collect();
        if same_old == 1 && same_new.len() == 1 {
            let o = old_left.remove(i);
            let n = new_left.remove(same_new[0]);
            out.push((format!("{} → {}", o.graph.source.path, n.graph.source.path), Some(o), Some(n)));
        } else {
            i += 1;
        }
    }
    out.extend(old_left.into_iter().map(|o| (o.graph.source.path.clone(), Some(o), None)));
    out.extend(new_left.into_iter().map(|n| (n.graph.source.path.clone(), None, Some(n))));
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

type Key<'a> = (Ecosystem, &'a str);

/// A package at one version: (ecosystem, name, version).
type VersionKey<'a> = (Ecosystem, &'a str, &'a str);

/// The licenses known for each name@version in either scan: the copy's
/// origin (the registry it came from when its source names one, its
/// integrity hash when the input gives one), the license and the input it
/// was found in.
type Known<'s> = HashMap<VersionKey<'s>, Vec<(Origin, &'s ResolvedLicense, &'s str)>>;

/// Adds a known license, keeping the most confident one per origin.
fn add_known<'s>(
    known: &mut Known<'s>,
    key: VersionKey<'s>,
    origin: Origin,
    license: &'s ResolvedLicense,
    input: &'s str,
) {
    let slot = known.entry(key).or_default();
    match slot.iter_mut().find(|(o, _, _)| *o == origin) {
        Some(have) if license.confidence > have.1.confidence => *have = (origin, license, input),
        Some(_) => {}
        None => slot.push((origin, license, input)),
    }
}

fn known_licenses<'s>(old: &'s Scan, new: &'s Scan, memory: &'s LicenseMemory) -> Known<'s> {
    let mut known: Known<'s> = HashMap::new();
    for scan in [old, new] {
        for g in &scan.graphs {
            for (p, l) in g.graph.packages.iter().zip(&g.licenses) {
                if !l.is_known() || p.version.trim().is_empty() {
                    continue;
                }
                let key = (p.ecosystem, p.name.as_str(), p.version.as_str());
                add_known(&mut known, key, Origin::of(p), l, &scan.input);
            }
        }
    }
    for ((eco, name, version), copies) in &memory.known {
        for (origin, l, input) in copies {
            let slot = known.entry((*eco, name.as_str(), version.as_str())).or_default();
            if !slot.iter().any(|(o, _, _)| o == origin) {
                slot.push((origin.clone(), l, input.as_str()));
            }
        }
    }
    known
}

/// The registry a package came from, normalised (`registry.yarnpkg.com`
/// serves npm's packages; crates.io's git and sparse indexes are one), or
/// `None` when its source names none (git, a path, an unnamed registry).
/// Two copies of one name@version from different registries may be
/// different packages (a private namesake): evidence is not carried
/// between them.
fn registry_origin(pkg: &crate::model::Package) -> Option<String> {
    if source_kind(pkg) != SourceKind::Registry {
        return None;
    }
    let s = pkg.source.as_deref()?;
    if s == "registry+https://github.com/rust-lang/crates.io-index" || s == "sparse+https://index.crates.io/" {
        return Some("crates.io".to_owned());
    }
    let rest = s.trim_start_matches("registry+").trim_start_matches("sparse+");
    let (_, after) = rest.split_once("://")?;
    let host = after.split(['/', '?', '#']).next().unwrap_or("").rsplit('@').next().unwrap_or("").to_ascii_lowercase();
    match host.as_str() {
        "" => None,
        "registry.yarnpkg.com" => Some("registry.npmjs.org".to_owned()),
        _ => Some(host),
    }
}

/// Whether evidence may be carried between two copies of one name@version.
fn same_origin(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    }
}

/// Where one copy of a name@version came from: its registry
/// ([`registry_origin`]) and the hash of its bytes the input records.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    registry: Option<String>,
    integrity: Option<String>,
}

impl Origin {
    fn of(pkg: &Package) -> Self {
        Self { registry: registry_origin(pkg), integrity: pkg.integrity.clone() }
    }

    /// Whether evidence may be carried between the two copies: the same
    /// registry (or one names none) and not other bytes.
    fn may_carry(&self, other: &Origin) -> bool {
        same_origin(&self.registry, &other.registry)
            && same_bytes(self.integrity.as_deref(), other.integrity.as_deref()) != Some(false)
    }
}

/// Whether two integrity values (npm/pnpm Subresource Integrity, one or
/// more `alg-base64` separated by spaces; Cargo's SHA-256 hex) name the
/// same bytes: `Some(true)` when they share an algorithm and every shared
/// one agrees, `Some(false)` when a shared one differs, `None` when either
/// side has none or they share no algorithm (`sha1-…` against `sha512-…`,
/// as old and new npm write for one package).
fn same_bytes(a: Option<&str>, b: Option<&str>) -> Option<bool> {
    fn hashes(v: &str) -> Vec<(String, String)> {
        v.split_whitespace()
            .map(|t| {
                // SRI allows `?options` after the digest.
                let t = t.split('?').next().unwrap_or(t);
                match t.split_once('-') {
                    Some((alg, digest)) if matches!(alg, "sha1" | "sha256" | "sha384" | "sha512" | "md5") => {
                        (alg.to_owned(), digest.to_owned())
                    }
                    _ if t.len() == 64 && t.bytes().all(|c| c.is_ascii_hexdigit()) => {
                        ("sha256-hex".to_owned(), t.to_ascii_lowercase())
                    }
                    _ => (String::new(), t.to_owned()),
                }
            })
            .collect()
    }
    let (a, b) = (hashes(a?), hashes(b?));
    let mut shared = false;
    for (alg, digest) in &a {
        for (other_alg, other) in &b {
            if alg == other_alg {
                if digest != other {
                    return Some(false);
                }
                shared = true;
            }
        }
    }
    shared.then_some(true)
}

/// Both copies record a hash of their bytes and the hashes differ.
fn other_bytes(a: &Package, b: &Package) -> bool {
    same_bytes(a.integrity.as_deref(), b.integrity.as_deref()) == Some(false)
}

/// `license` of `pkg`, or, when it is unknown, the license known for the
/// same name@version elsewhere in the two scans, marked as carried.
fn carried<'s>(
    license: &'s ResolvedLicense,
    pkg: &crate::model::Package,
    known: &Known<'_>,
) -> Cow<'s, ResolvedLicense> {
    if license.is_known() {
        return Cow::Borrowed(license);
    }
    let origin = Origin::of(pkg);
    let found = known.get(&(pkg.ecosystem, pkg.name.as_str(), pkg.version.as_str())).and_then(|copies| {
        copies
            .iter()
            .filter(|(o, _, _)| o.may_carry(&origin))
            .max_by(|a, b| a.1.confidence.partial_cmp(&b.1.confidence).unwrap_or(Ordering::Equal))
    });
    match found.map(|(_, l, input)| (l, input)) {
        Some((other, input)) => {
            let mut l = (*other).clone();
            l.warnings.insert(
                0,
                format!(
                    "no license evidence for {} {} here ({}); carried across from {input}: \
                     a version's license does not change",
                    pkg.name,
                    pkg.version,
                    license.unknown_reason.as_deref().unwrap_or("no reason recorded")
                ),
            );
            Cow::Owned(l)
        }
        None => Cow::Borrowed(license),
    }
}

fn index_by_name(g: &ScannedGraph) -> HashMap<Key<'_>, Vec<PackageIndex>> {
    let mut roots = vec![false; g.graph.packages.len()];
    for &r in &g.graph.roots {
        if let Some(x) = roots.get_mut(r) {
            *x = true;
        }
    }
    let mut map: HashMap<Key<'_>, Vec<PackageIndex>> = HashMap::with_capacity(g.graph.packages.len());
    for (i, p) in g.graph.packages.iter().enumerate() {
        if !roots[i] {
            map.entry((p.ecosystem, p.name.as_str())).or_default().push(i);
        }
    }
    map
}

/// Lazily built path index for one side.
struct Side<'g> {
    scanned: Option<&'g ScannedGraph>,
    index: Option<PathIndex<'g>>,
}

impl<'g> Side<'g> {
    fn paths(&mut self, pkg: PackageIndex, max: usize) -> (Vec<Vec<PackageRef>>, u64, bool) {
        let Some(g) = self.scanned else {
            return (Vec::new(), 0, false);
        };
        let index = self.index.get_or_insert_with(|| PathIndex::new(&g.graph));
        let found = index.paths_to(pkg, max);
        let graph: &DependencyGraph = &g.graph;
        let refs = found
            .paths
            .iter()
            .map(|p| {
                p.iter()
                    .map(|&i| PackageRef {
                        name: graph.packages[i].name.clone(),
                        version: graph.packages[i].version.clone(),
                    })
                    .collect()
            })
            .collect();
        (refs, found.more(), index.is_direct(pkg))
    }
}

fn diff_graph(
    path: &str,
    old: Option<&ScannedGraph>,
    new: Option<&ScannedGraph>,
    options: DiffOptions,
    known: &Known<'_>,
    out: &mut Vec<Finding>,
) {
    let empty = HashMap::new();
    let old_map = old.map(index_by_name).unwrap_or_else(|| empty.clone());
    let new_map = new.map(index_by_name).unwrap_or(empty);
    let mut old_side = Side { scanned: old, index: None };
    let mut new_side = Side { scanned: new, index: None };
    let mut keys: Vec<Key<'_>> = old_map.keys().chain(new_map.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let no = Vec::new();
    for key in keys {
        let os = old_map.get(&key).unwrap_or(&no);
        let ns = new_map.get(&key).unwrap_or(&no);
        // Fast path: one version each side, same version, same license.
        if let (Some(o), Some(n), [oi], [ni]) = (old, new, os.as_slice(), ns.as_slice()) {
            let (op, np) = (&o.graph.packages[*oi], &n.graph.packages[*ni]);
            if op.version == np.version && same_license(&o.licenses[*oi], &n.licenses[*ni]) {
                continue;
            }
        }
        for (o, n) in pair_versions(key.0, os, ns, old, new) {
            let finding = make_finding(path, o, n, old, new, &mut old_side, &mut new_side, options, known);
            if let Some(f) = finding {
                out.push(f);
            }
        }
    }
    integrity_findings(path, old, new, &old_map, &new_map, &mut new_side, options, out);
    // Integrity failures of the new side, whatever changed.
    if let Some(n) = new {
        for (i, (pkg, lic)) in n.graph.packages.iter().zip(&n.licenses).enumerate() {
            let Some(w) = lic.warnings.iter().find(|w| w.starts_with(MODULE_HASH_MISMATCH_WARNING)) else { continue };
            let message = format!("{} {}: {}", pkg.name, pkg.version, w);
            let paths = new_side.paths(i, options.max_paths);
            out.push(new_side_finding(FindingCode::ModuleHashMismatch, path, pkg, lic, paths, message));
        }
    }
    disagreement_findings(path, old, new, &mut new_side, options, out);
}

/// `integrity-changed` for each package of the new side whose name@version
/// is on the old side with another integrity hash, whatever its license.
#[allow(clippy::too_many_arguments)]
fn integrity_findings(
    path: &str,
    old: Option<&ScannedGraph>,
    new: Option<&ScannedGraph>,
    old_map: &HashMap<Key<'_>, Vec<PackageIndex>>,
    new_map: &HashMap<Key<'_>, Vec<PackageIndex>>,
    new_side: &mut Side<'_>,
    options: DiffOptions,
    out: &mut Vec<Finding>,
) {
    let (Some(o), Some(n)) = (old, new) else { return };
    for (key, ns) in new_map {
        let Some(os) = old_map.get(key) else { continue };
        for &ni in ns {
            let npkg = &n.graph.packages[ni];
            let changed = os.iter().map(|&oi| (oi, &o.graph.packages[oi])).find(|(_, opkg)| {
                opkg.version == npkg.version
                    && registry_origin(opkg) == registry_origin(npkg)
                    && other_bytes(opkg, npkg)
            });
            let Some((oi, opkg)) = changed else { continue };
            let short = |v: &Option<String>| {
                let v = v.as_deref().unwrap_or("");
                if v.chars().count() > 24 {
                    format!("{}…", v.chars().take(24).collect::<String>())
                } else {
                    v.to_owned()
                }
            };
            let message = format!(
                "{} {}: the same name and version has other bytes (integrity {} → {}); its license evidence is not carried across",
                npkg.name,
                npkg.version,
                short(&opkg.integrity),
                short(&npkg.integrity)
            );
            let paths = new_side.paths(ni, options.max_paths);
            let mut f = new_side_finding(FindingCode::IntegrityChanged, path, npkg, &n.licenses[ni], paths, message);
            f.old_version = Some(opkg.version.clone());
            f.direction = Some(VersionDirection::Same);
            f.old_license = Some(LicenseState::of(&o.licenses[oi]));
            out.push(f);
        }
    }
}

/// `license-field-disagrees-with-text` for each package of the new side
/// whose field and text disagree, unless the same package at the same
/// version already disagreed the same way on the old side.
fn disagreement_findings(
    path: &str,
    old: Option<&ScannedGraph>,
    new: Option<&ScannedGraph>,
    new_side: &mut Side<'_>,
    options: DiffOptions,
    out: &mut Vec<Finding>,
) {
    let Some(n) = new else { return };
    for (i, (pkg, lic)) in n.graph.packages.iter().zip(&n.licenses).enumerate() {
        let Some(why) = &lic.field_text_disagreement else { continue };
        let before = old.is_some_and(|o| {
            o.graph.packages.iter().zip(&o.licenses).any(|(p, l)| {
                p.name == pkg.name && p.version == pkg.version && l.field_text_disagreement.as_ref() == Some(why)
            })
        });
        if before {
            continue;
        }
        let message = format!("{} {}: {why}", pkg.name, pkg.version);
        let paths = new_side.paths(i, options.max_paths);
        out.push(new_side_finding(FindingCode::LicenseFieldDisagreesWithText, path, pkg, lic, paths, message));
    }
}

/// A finding about a package of the new side alone (not a change between
/// the sides): its version and license, its paths (`new_side.paths`).
fn new_side_finding(
    code: FindingCode,
    graph: &str,
    pkg: &Package,
    lic: &ResolvedLicense,
    (paths, more_paths, direct): (Vec<Vec<PackageRef>>, u64, bool),
    message: String,
) -> Finding {
    Finding {
        code,
        graph: graph.to_owned(),
        line: pkg.line,
        ecosystem: pkg.ecosystem,
        name: pkg.name.clone(),
        purl: pkg.purl.clone(),
        old_version: None,
        new_version: Some(pkg.version.clone()),
        direction: None,
        old_license: None,
        new_license: Some(LicenseState::of(lic)),
        dev: pkg.dev,
        direct,
        paths,
        more_paths,
        message,
    }
}

fn same_license(a: &ResolvedLicense, b: &ResolvedLicense) -> bool {
    match (&a.canonical, &b.canonical) {
        (Some(x), Some(y)) => x == y,
        (None, None) => a.expression == b.expression,
        _ => false,
    }
}

/// Pairs old and new indexes of one package name: equal versions first,
/// then within a semver compatibility bucket, then newest with newest.
fn pair_versions(
    eco: Ecosystem,
    os: &[PackageIndex],
    ns: &[PackageIndex],
    old: Option<&ScannedGraph>,
    new: Option<&ScannedGraph>,
) -> Vec<(Option<PackageIndex>, Option<PackageIndex>)> {
    let ov = |i: PackageIndex| old.map_or("", |g| g.graph.packages[i].version.as_str());
    let nv = |i: PackageIndex| new.map_or("", |g| g.graph.packages[i].version.as_str());
    let mut out = Vec::new();
    let mut o_left: Vec<PackageIndex> = Vec::new();
    let mut n_left: Vec<PackageIndex> = ns.to_vec();
    for &o in os {
        if let Some(pos) = n_left.iter().position(|&n| nv(n) == ov(o)) {
            out.push((Some(o), Some(n_left.remove(pos))));
        } else {
            o_left.push(o);
        }
    }
    let desc = |a: &str, b: &str| compare_versions(eco, b, a);
    o_left.sort_by(|&a, &b| desc(ov(a), ov(b)));
    n_left.sort_by(|&a, &b| desc(nv(a), nv(b)));
    // Same compatibility bucket (major, or minor for 0.x).
    let mut i = 0;
    while i < o_left.len() {
        let bucket = compat_bucket(ov(o_left[i]));
        if let Some(pos) =
            bucket.as_ref().and_then(|b| n_left.iter().position(|&n| compat_bucket(nv(n)).as_ref() == Some(b)))
        {
            out.push((Some(o_left.remove(i)), Some(n_left.remove(pos))));
        } else {
            i += 1;
        }
    }
    let mut o_iter = o_left.into_iter();
    let mut n_iter = n_left.into_iter();
    loop {
        match (o_iter.next(), n_iter.next()) {
            (None, None) => break,
            (o, n) => out.push((o, n)),
        }
    }
    out
}

fn compat_bucket(v: &str) -> Option<(u64, u64)> {
    let v = parse_semver(v)?;
    Some(if v.major == 0 { (0, v.minor) } else { (v.major, u64::MAX) })
}

#[allow(clippy::too_many_arguments)]
fn make_finding(
    path: &str,
    o: Option<PackageIndex>,
    n: Option<PackageIndex>,
    old: Option<&ScannedGraph>,
    new: Option<&ScannedGraph>,
    old_side: &mut Side<'_>,
    new_side: &mut Side<'_>,
    options: DiffOptions,
    known: &Known<'_>,
) -> Option<Finding> {
    let op = o.and_then(|i| old.map(|g| (&g.graph.packages[i], &g.licenses[i])));
    let np = n.and_then(|i| new.map(|g| (&g.graph.packages[i], &g.licenses[i])));
    // The states reported: what each side's own evidence says, except that
    // an unknown side of another version (or an added package) takes the
    // license known for its name@version elsewhere.
    let mut old_state = op.map(|(p, l)| carried(l, p, known));
    let mut new_state = np.map(|(p, l)| carried(l, p, known));
    let (code, message) = match (op, np) {
        (Some((opkg, olic)), Some((npkg, nlic)))
            if (opkg.version == npkg.version
                && olic.is_known() != nlic.is_known()
                && same_origin(&registry_origin(opkg), &registry_origin(npkg))
                && !other_bytes(opkg, npkg))
                || (source_kind(opkg) != source_kind(npkg)
                    && old_state.as_deref().is_some_and(ResolvedLicense::is_known)
                        != new_state.as_deref().is_some_and(ResolvedLicense::is_known)) =>
        {
            // Evidence on one side only, for the same version or for a
            // package that moved to another kind of source (a `[patch]` to
            // a git repository or a local path, where no registry can be
            // asked): a lack of evidence, not a license change.
            let why = if opkg.version == npkg.version {
                "a version's license does not change".to_owned()
            } else {
                format!(
                    "the source changed ({} → {}, a [patch] or a vendored copy) and the {} side has no evidence",
                    source_kind(opkg).as_str(),
                    source_kind(npkg).as_str(),
                    if nlic.is_known() { "old" } else { "new" }
                )
            };
            let versions = if opkg.version == npkg.version {
                format!("{} {}", npkg.name, npkg.version)
            } else {
                format!("{} {} → {}", npkg.name, opkg.version, npkg.version)
            };
            old_state = Some(Cow::Borrowed(olic));
            new_state = Some(Cow::Borrowed(nlic));
            if nlic.is_known() {
                (
                    FindingCode::EvidenceGained,
                    format!(
                        "{versions}: license evidence gained ({}, {}); the old side had none ({}): {why}",
                        display(nlic),
                        evidence_origin(nlic),
                        olic.unknown_reason.as_deref().unwrap_or("no reason recorded")
                    ),
                )
            } else {
                (
                    FindingCode::EvidenceLost,
                    format!(
                        "{versions}: license evidence lost ({}); {} carried across from the old side ({}): {why}",
                        nlic.unknown_reason.as_deref().unwrap_or("no reason recorded"),
                        display(olic),
                        evidence_origin(olic)
                    ),
                )
            }
        }
        (Some((opkg, _)), Some((npkg, _))) => {
            let (olic, nlic) = match (&old_state, &new_state) {
                (Some(o), Some(n)) => (o.as_ref(), n.as_ref()),
                _ => return None,
            };
            let versions = if opkg.version == npkg.version {
                format!("{} {}", npkg.name, npkg.version)
            } else {
                format!("{} {} → {}", npkg.name, opkg.version, npkg.version)
            };
            if same_license(olic, nlic) {
                if opkg.version == npkg.version {
                    return None;
                }
                (FindingCode::VersionChanged, format!("{versions} (license unchanged)"))
            } else if olic.is_known() && !nlic.is_known() {
                (
                    FindingCode::LicenseNowUnknown,
                    format!(
                        "{versions}: license {} is now unknown ({})",
                        display(olic),
                        nlic.unknown_reason.as_deref().unwrap_or("no reason recorded")
                    ),
                )
            } else if !olic.is_known() && olic.evidence.is_empty() && olic.not_in_registry {
                // Nothing at all can be known about the old version: no
                // field, no text, and the registry no longer has it (404).
                // The new license is the first one known, not a change.
                (
                    FindingCode::LicenseFirstKnown,
                    format!(
                        "{versions}: license {} first known; the old version had no license evidence ({})",
                        display(nlic),
                        olic.unknown_reason.as_deref().unwrap_or("no reason recorded")
                    ),
                )
            } else {
                (FindingCode::LicenseChanged, format!("{versions}: license {} → {}", display(olic), display(nlic)))
            }
        }
        (None, Some((npkg, _))) => {
            let nlic = new_state.as_deref()?;
            (FindingCode::Added, format!("{} {} added ({})", npkg.name, npkg.version, display(nlic)))
        }
        (Some((opkg, olic)), None) => {
            (FindingCode::Removed, format!("{} {} removed ({})", opkg.name, opkg.version, display(olic)))
        }
        (None, None) => return None,
    };
    let (pkg, (paths, more, direct)) = match (n, np, o, op) {
        (Some(i), Some((p, _)), _, _) => (p, new_side.paths(i, options.max_paths)),
        (_, _, Some(i), Some((p, _))) => (p, old_side.paths(i, options.max_paths)),
        _ => return None,
    };
    let old_version = op.map(|(p, _)| p.version.clone());
    let new_version = np.map(|(p, _)| p.version.clone());
    let direction = match (&old_version, &new_version) {
        (Some(a), Some(b)) => Some(match compare_versions(pkg.ecosystem, a, b) {
            Ordering::Less => VersionDirection::Upgrade,
            Ordering::Greater => VersionDirection::Downgrade,
            Ordering::Equal => VersionDirection::Same,
        }),
        _ => None,
    };
    Some(Finding {
        code,
        graph: path.to_owned(),
        line: np.and_then(|(p, _)| p.line),
        ecosystem: pkg.ecosystem,
        name: pkg.name.clone(),
        purl: pkg.purl.clone(),
        old_version,
        new_version,
        direction,
        old_license: old_state.as_deref().map(LicenseState::of),
        new_license: new_state.as_deref().map(LicenseState::of),
        dev: pkg.dev,
        direct,
        paths,
        more_paths: more,
        message,
    })
}

/// What kind of place a package comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceKind {
    Registry,
    Git,
    /// A path, a link, a workspace member: no source recorded.
    Local,
}

impl SourceKind {
    fn as_str(self) -> &'static str {
        match self {
            SourceKind::Registry => "registry",
            SourceKind::Git => "git",
            SourceKind::Local => "local path",
        }
    }
}

fn source_kind(pkg: &crate::model::Package) -> SourceKind {
    match pkg.source.as_deref() {
        None => SourceKind::Local,
        Some(s) if ["git+", "git:", "github:", "gitlab:", "bitbucket:"].iter().any(|p| s.starts_with(p)) => {
            SourceKind::Git
        }
        Some(s) if ["path+", "file:", "link:", "workspace:", "portal:"].iter().any(|p| s.starts_with(p)) => {
            SourceKind::Local
        }
        Some(_) => SourceKind::Registry,
    }
}

/// Where a known license's deciding evidence came from (`registry`,
/// `input-field in package-lock.json`).
fn evidence_origin(l: &ResolvedLicense) -> String {
    match l.evidence.first() {
        Some(e) => format!("{} in {}", e.source, e.file),
        None => "no evidence recorded".to_owned(),
    }
}

fn display(l: &ResolvedLicense) -> String {
    match &l.expression {
        Some(e) => e.to_string(),
        None => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::FindingCode;

    #[test]
    fn code_as_str_is_the_serde_name() {
        for code in FindingCode::ALL {
            // Fails to compile when a variant is added: add it to ALL too.
            match code {
                FindingCode::LicenseChanged
                | FindingCode::LicenseNowUnknown
                | FindingCode::Added
                | FindingCode::Removed
                | FindingCode::VersionChanged
                | FindingCode::ModuleHashMismatch
                | FindingCode::LicenseFieldDisagreesWithText
                | FindingCode::EvidenceGained
                | FindingCode::EvidenceLost
                | FindingCode::LicenseFirstKnown
                | FindingCode::IntegrityChanged => {}
            }
            assert_eq!(serde_json::to_value(code).unwrap(), serde_json::json!(code.as_str()));
            assert_eq!(serde_json::from_value::<FindingCode>(serde_json::json!(code.as_str())).unwrap(), code);
            assert_eq!(code.to_string(), code.as_str());
        }
    }
}
