//! The last source, only when online: the license a public registry
//! declares for the exact version (crates.io, npm, PyPI), asked through the
//! caller's [`RegistrySource`]. Which packages may be asked
//! ([`plan`]: never a private registry's package from a public namesake,
//! never the project's own packages), many look-ups at once on threads, and
//! the decision again with the answer. Registry evidence is declared, not
//! verified: its confidence is [`REGISTRY_CONFIDENCE`] of the reading's.

use super::cargo_cache::is_registry_crate;
use super::config::{SharedSource, ValidLicenseConfig};
use super::reading::{Readings, evidence_from_manifest, see_license_in, text_evidence};
use super::values::{Evidence, EvidenceSource, ResolvedLicense};
use crate::license::expr::LicenseValue;
use crate::license::registry::{
    GitSource, RegistryAnswer, RegistryError, RegistryLicense, RegistryRecord, RegistrySource, url_host,
};
use crate::model::{Ecosystem, Package};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Registry evidence's confidence is this share of its reading's: the
/// registry repeats what the package declares, nobody checked it.
pub const REGISTRY_CONFIDENCE: f32 = 0.9;

/// Registry look-ups done at once (they wait on the network, not the CPU).
const REGISTRY_THREADS: usize = 8;

/// A package as a registry knows it: (ecosystem, name, version, and the
/// Cargo git source for a crate read from a git repository).
pub(super) type RegistryKey = (Ecosystem, String, String, Option<String>);

/// A registry's answer, or why there is none.
pub(super) type Answer = Result<RegistryAnswer, RegistryError>;

pub(super) fn key(pkg: &Package) -> RegistryKey {
    let git = match (pkg.ecosystem, pkg.source.as_deref()) {
        (Ecosystem::Cargo, Some(s)) if GitSource::parse(s).is_some() => Some(s.to_owned()),
        _ => None,
    };
    (pkg.ecosystem, pkg.name.clone(), pkg.version.clone(), git)
}

/// Asks `source` about one key: the registry, or the git repository.
fn ask(source: &dyn RegistrySource, (eco, name, version, git): &RegistryKey) -> Answer {
    match git.as_deref().and_then(GitSource::parse) {
        Some(g) => source.lookup_git(name, version, &g),
        None => source.lookup(*eco, name, version),
    }
}

/// Whether a package that nothing local decided is looked up in a registry.
pub(super) enum RegistryPlan {
    /// Offline, or no source: the offline reason stands as it is.
    Off,
    /// Online, but a registry cannot help; the reason says why.
    Skip(String),
    Ask,
}

/// Whether `pkg` is looked up in a registry once nothing local decided.
pub(super) fn plan(config: &ValidLicenseConfig, pkg: &Package) -> RegistryPlan {
    if !config.looks_up_registries() {
        return RegistryPlan::Off;
    }
    let from = |s: &str| format!("it comes from {s}, not a registry, so no registry was asked");
    match pkg.ecosystem {
        Ecosystem::Go => {
            // The resolver asks `go_proxy::plan` for Go modules instead.
            return RegistryPlan::Skip(
                "Go's module proxy serves no license metadata, so no registry can be asked".to_owned(),
            );
        }
        Ecosystem::Other => {
            return RegistryPlan::Skip("only crates.io, npm and PyPI are looked up".to_owned());
        }
        Ecosystem::Cargo => match pkg.source.as_deref() {
            Some(s) if is_crates_io(s) => {}
            Some(s) if is_registry_crate(pkg) => {
                return RegistryPlan::Skip(format!("the crate comes from {s}; only crates.io is looked up"));
            }
            // A git dependency (or a `[patch]` to a git repository): its
            // manifest at the locked commit.
            Some(s) if GitSource::parse(s).is_some() => {}
            Some(s) => return RegistryPlan::Skip(from(s)),
            None => {
                return RegistryPlan::Skip("it is the project's own crate, so no registry was asked".to_owned());
            }
        },
        Ecosystem::Npm | Ecosystem::Pypi => match pkg.source.as_deref() {
            None => {
                return RegistryPlan::Skip("it is the project's own package, so no registry was asked".to_owned());
            }
            Some(s) if is_local_or_vcs(s) => return RegistryPlan::Skip(from(s)),
            Some(s) => {
                // A package from a private registry may have a public
                // namesake that is another package: only ask the
                // registry it came from.
                let configured = config.raw.registry.base_url(pkg.ecosystem).and_then(url_host);
                if let Some(host) = url_host(s)
                    && !is_public_registry_host(pkg.ecosystem, &host)
                    && configured.as_deref() != Some(host.as_str())
                {
                    return RegistryPlan::Skip(format!(
                        "it was resolved from {host}, not from the registry that is looked up ({}), \
                         so no registry was asked (a namesake there may be another package)",
                        configured.as_deref().unwrap_or("none")
                    ));
                }
            }
        },
    }
    if pkg.version.trim().is_empty() {
        return RegistryPlan::Skip("the input gives no exact version to look up in the registry".to_owned());
    }
    RegistryPlan::Ask
}

/// Asks the configured source about one package now.
pub(super) fn look_up_one(config: &ValidLicenseConfig, pkg: &Package) -> Answer {
    match &config.registry {
        Some(SharedSource(source)) => ask(source.as_ref(), &key(pkg)),
        None => Err(RegistryError::Unavailable { url: String::new(), message: "no registry source".to_owned() }),
    }
}

/// Looks up every key on up to [`REGISTRY_THREADS`] threads. A look-up
/// that panicked leaves its key without an answer.
pub(super) fn look_up_all(source: &Arc<dyn RegistrySource>, keys: Vec<RegistryKey>) -> Vec<(RegistryKey, Answer)> {
    in_parallel(keys, REGISTRY_THREADS, |key| ask(source.as_ref(), key))
}

/// `ask` for every key on up to `threads` threads, each taking the next
/// key left. A call that panicked leaves its key without an answer.
pub(super) fn in_parallel<K: Clone + Sync, A: Send>(
    keys: Vec<K>,
    threads: usize,
    ask: impl Fn(&K) -> A + Sync,
) -> Vec<(K, A)> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = keys.len().min(threads);
    let (keys_ref, next_ref, ask_ref) = (&keys, &next, &ask);
    let answers: Vec<(usize, A)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(move || {
                    let mut out = Vec::new();
                    loop {
                        let i = next_ref.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(key) = keys_ref.get(i) else { break };
                        out.push((i, ask_ref(key)));
                    }
                    out
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
    });
    answers.into_iter().filter_map(|(i, answer)| keys.get(i).map(|k| (k.clone(), answer))).collect()
}

/// An unknown license decided again with the registry's answer. A failed
/// look-up becomes a warning on the package and part of the reason.
pub(super) fn decide(
    offline: ResolvedLicense,
    answer: Answer,
    readings: &mut Readings,
    threshold: f32,
) -> ResolvedLicense {
    let ResolvedLicense { mut evidence, mut warnings, unknown_reason, .. } = offline;
    let reason = unknown_reason.unwrap_or_default();
    let not_in_registry = matches!(answer, Ok(RegistryAnswer::NotFound { .. }));
    let (ev, said) = match answer {
        Ok(RegistryAnswer::Found(record)) => {
            let ev = registry_evidence(&record, readings, threshold);
            if let Some(LicenseValue::Expr(expr)) = &ev.expression {
                let (expr, confidence) = (expr.clone(), ev.confidence);
                evidence.insert(0, ev);
                return readings.known(expr, confidence, evidence, warnings);
            }
            let said = match (&ev.expression, &record.license) {
                (_, RegistryLicense::Declared { expression }) if see_license_in(expression).is_some() => format!(
                    "the registry ({}) says the license is in a file of the package (\"{}\"), which registry metadata does not include",
                    record.url, record.value
                ),
                (Some(v), _) => format!("the registry ({}) says {v} in {}", record.url, record.field),
                (None, _) => format!(
                    "the license text the registry has ({}, {}) matched no license above the threshold",
                    record.url, record.field
                ),
            };
            (Some(ev), said)
        }
        Ok(RegistryAnswer::NoLicense { url }) => {
            (None, format!("the registry's metadata ({url}) has no license field"))
        }
        Ok(RegistryAnswer::NotFound { url }) => {
            (None, format!("the registry does not have this version ({url} answered 404 Not Found)"))
        }
        Err(e) => {
            warnings.push(format!("registry look-up failed: {e}"));
            (None, format!("the registry look-up failed ({e})"))
        }
    };
    evidence.extend(ev);
    let mut unknown = ResolvedLicense::unknown(format!("{reason}; {said}"), evidence, warnings);
    unknown.not_in_registry = not_in_registry;
    unknown
}

/// Evidence from a registry record.
fn registry_evidence(record: &RegistryRecord, readings: &mut Readings, threshold: f32) -> Evidence {
    let mut ev = match &record.license {
        RegistryLicense::Declared { expression } => {
            let parsed = readings.parse(expression);
            let mut ev = evidence_from_manifest(record.url.clone(), &record.field, &record.value, parsed);
            if see_license_in(expression).is_some() {
                ev.expression = None;
                ev.confidence = 0.0;
            }
            if record.field == "info.classifiers" {
                // As for installed metadata: a classifier is coarse.
                ev.confidence = ev.confidence.min(0.8);
            }
            ev
        }
        RegistryLicense::Text { text } => {
            let mut ev = text_evidence(&record.url, text.as_bytes(), threshold).unwrap_or_else(|| Evidence {
                source: EvidenceSource::LicenseText,
                file: record.url.clone(),
                field: None,
                value: "(an empty license text)".to_owned(),
                expression: None,
                confidence: 0.0,
                parameters: BTreeMap::new(),
                warnings: Vec::new(),
            });
            ev.field = Some(record.field.clone());
            if record.field == "package.license-file" {
                ev.warnings.insert(0, format!("license-file = {:?}", record.value));
            }
            ev
        }
    };
    ev.source = EvidenceSource::Registry;
    ev.confidence *= REGISTRY_CONFIDENCE;
    ev
}

/// crates.io's index, git or sparse (mirrors replace the source, not the
/// lockfile's name for it).
fn is_crates_io(source: &str) -> bool {
    source == "registry+https://github.com/rust-lang/crates.io-index" || source == "sparse+https://index.crates.io/"
}

/// npm and PyPI sources that name no registry: git, paths, links.
fn is_local_or_vcs(source: &str) -> bool {
    ["git+", "git:", "github:", "path+", "file:", "link:", "workspace:", "portal:"]
        .iter()
        .any(|p| source.starts_with(p))
}

/// Hosts that serve the public registry's packages (npm's own and yarn's
/// mirror of it; PyPI and its file host).
fn is_public_registry_host(ecosystem: Ecosystem, host: &str) -> bool {
    match ecosystem {
        Ecosystem::Npm => matches!(host, "registry.npmjs.org" | "registry.yarnpkg.com"),
        Ecosystem::Pypi => matches!(host, "pypi.org" | "files.pythonhosted.org" | "pypi.python.org"),
        _ => false,
    }
}
