//! A full artifact check in two halves:
//!
//! 1. [`collect`] (async, the only half that talks to the registry):
//!    resolve the reference, fetch and verify the manifest, config, SBOM
//!    referrers, signatures (legacy `.sig` tag and referrers) and the
//!    previous version's SBOMs. The result, [`Collected`], is plain data.
//! 2. [`assess`] (pure: no network, no clock): scan the SBOMs with the
//!    scanner, judge them and their drift since the previous version with
//!    the license policy (`gate::judge`, as the CI gate does), judge each
//!    signature against the trusted keys at the time it was first seen,
//!    build the `steward.artifact-input/v1` facts and evaluate the
//!    artifact policy.
//!
//! The server (phase 2) runs `collect` in a job or handler, records
//! first-seen times, and runs `assess` on a blocking thread.

use super::client::{FetchedManifest, OciError, ReferrersVia, RegistryClient};
use super::digest::Digest;
use super::manifest::{
    ArtifactKind, COSIGN_SIGNATURE_ANNOTATION, COSIGN_SIGNATURE_ARTIFACT, COSIGN_SIMPLE_SIGNING, Descriptor, Manifest,
    SbomFormat,
};
use super::reference::Reference;
use super::signature::MAX_PAYLOAD_BYTES;
use super::trust::{self, SignatureEvidence, SignatureFact, SignatureSource, TrustedKeys};
use crate::gate::{self, GateContext, GateError, GateReport};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use steward_ledger::entry::{ArtifactOutcome, ArtifactVerdict, Payload, SchemaV1};
use steward_policy::{ArtifactEvaluation, PolicyEngine, PolicyError, Verdict};
use steward_scanner::MemoryTree;
use steward_scanner::drift;
use steward_scanner::license::{ValidLicenseConfig, value_facts};
use steward_scanner::scan::{Scan, scan_valid};
use time::OffsetDateTime;

/// The schema of the JSON report (`--format json`).
pub const ARTIFACT_REPORT_SCHEMA: &str = "steward.artifact/v1";
/// SBOM referrers read per artifact.
pub const MAX_SBOMS: usize = 8;
/// Signatures read per artifact.
pub const MAX_SIGNATURES: usize = 32;
/// Platforms of an index looked at.
pub const MAX_PLATFORMS: usize = 32;

/// Which earlier version the SBOM drift is measured against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Previous {
    /// The greatest semver tag below this artifact's tag, if any.
    Auto,
    /// This one.
    Given(Reference),
    /// No drift check.
    Off,
}

/// A platform of an image index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlatformFact {
    pub os: String,
    pub architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub digest: String,
    pub media_type: String,
    /// The kind of the platform's manifest (fetched and verified).
    pub kind: ArtifactKind,
}

impl PlatformFact {
    /// An index entry's platform, its manifest of kind `kind`.
    fn listed(d: &Descriptor, kind: ArtifactKind) -> PlatformFact {
        let p = d.platform.clone();
        PlatformFact {
            os: p.as_ref().map(|p| p.os.clone()).unwrap_or_default(),
            architecture: p.as_ref().map(|p| p.architecture.clone()).unwrap_or_default(),
            variant: p.and_then(|p| p.variant),
            digest: d.digest.to_string(),
            media_type: d.media_type.clone(),
            kind,
        }
    }

    /// `os/architecture[/variant]`, as registries and tools write it.
    pub fn label(&self) -> String {
        let mut s = format!("{}/{}", self.os, self.architecture);
        if let Some(v) = &self.variant {
            s.push('/');
            s.push_str(v);
        }
        s
    }
}

/// A Helm chart's metadata from its config blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct HelmChart {
    pub name: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

/// An SBOM read from a referrer.
#[derive(Debug, Clone)]
pub struct SbomDocument {
    pub manifest_digest: Digest,
    /// The manifest it describes: the artifact itself, or for an image
    /// index one of its platform manifests.
    pub subject: Digest,
    /// For an SBOM of an index's platform manifest: the platform
    /// (`os/architecture[/variant]`).
    pub platform: Option<String>,
    pub artifact_type: String,
    pub format: SbomFormat,
    pub blob_digest: Digest,
    pub bytes: Vec<u8>,
}

/// The previous version and its SBOMs.
#[derive(Debug, Clone)]
pub struct PreviousVersion {
    pub reference: Reference,
    pub digest: Digest,
    pub sboms: Vec<SbomDocument>,
}

/// A signature as found, before it is judged; `first_seen` comes from
/// the caller ([`AssessInputs::first_seen`]).
#[derive(Debug, Clone)]
pub struct FoundSignature {
    pub source: SignatureSource,
    pub manifest_digest: Digest,
    pub payload_digest: Digest,
    pub payload: Vec<u8>,
    pub signature: String,
    /// `dev.sigstore.cosign/bundle`, if the layer has one (bounded).
    pub bundle: Option<String>,
    /// For a signature of an index's platform manifest: the platform
    /// (`linux/arm64/v8`) and that manifest's digest, which it must sign.
    /// `None`: a signature of the artifact itself.
    pub platform: Option<(String, Digest)>,
}

impl FoundSignature {
    /// A stable id for first-seen bookkeeping: SHA-256 hex of
    /// `<payload digest>\n<signature annotation>` (the `.sig` manifest's
    /// digest changes whenever cosign appends a signature; this does not).
    pub fn id(&self) -> String {
        hex::encode(Sha256::digest(format!("{}\n{}", self.payload_digest, self.signature).as_bytes()))
    }
}

/// Everything read from the registry for one artifact, verified.
#[derive(Debug, Clone)]
pub struct Collected {
    pub reference: Reference,
    pub digest: Digest,
    pub manifest: Manifest,
    pub kind: ArtifactKind,
    pub config_media_type: Option<String>,
    pub platforms: Vec<PlatformFact>,
    pub helm: Option<HelmChart>,
    pub referrers_via: ReferrersVia,
    /// Every referrer's descriptor (for the referrers tree in reports).
    pub referrers: Vec<Descriptor>,
    pub sboms: Vec<SbomDocument>,
    pub signatures: Vec<FoundSignature>,
    pub previous: Option<PreviousVersion>,
    /// Things that were skipped (with why).
    pub warnings: Vec<String>,
}

/// Why a check could not decide. Nothing is allowed when this happens.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Registry(#[from] OciError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Gate(#[from] GateError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

impl CheckError {
    pub fn code(&self) -> &'static str {
        match self {
            CheckError::Registry(e) => e.code(),
            CheckError::Invalid(_) => "invalid-artifact",
            CheckError::Gate(_) | CheckError::Policy(_) => "policy-error",
        }
    }
}

/// Reads everything the check needs from the registry.
pub async fn collect(
    client: &RegistryClient,
    reference: &Reference,
    previous: &Previous,
) -> Result<Collected, CheckError> {
    let limits = client.limits();
    let top = client.manifest(reference).await?;
    let digest = top.digest.clone();
    let at = reference.at_digest(&digest);
    let mut warnings = Vec::new();
    let kind = top.manifest.kind();
    let mut config_media_type = None;
    let mut helm = None;
    let mut platforms = Vec::new();
    match &top.manifest {
        Manifest::Image(m) => {
            config_media_type = Some(m.config.media_type.clone());
            if kind == ArtifactKind::HelmChart {
                let bytes = client.blob(&at, &m.config, limits.config_bytes, "chart config").await?;
                match parse_chart_config(&bytes) {
                    Ok(chart) => helm = Some(chart),
                    Err(e) => warnings.push(format!("chart config {}: {e}", m.config.digest)),
                }
            } else if kind == ArtifactKind::Image {
                // Fetched for its digest check; the platform comes from it.
                let bytes = client.blob(&at, &m.config, limits.config_bytes, "image config").await?;
                if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
                    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    if !s("os").is_empty() {
                        platforms.push(PlatformFact {
                            os: s("os"),
                            architecture: s("architecture"),
                            variant: v.get("variant").and_then(Value::as_str).map(str::to_string),
                            digest: digest.to_string(),
                            media_type: m.media_type.clone(),
                            kind,
                        });
                    }
                }
            }
        }
        Manifest::Index(index) => {
            for d in index.manifests.iter().take(MAX_PLATFORMS) {
                let child = client.manifest(&at.at_digest(&d.digest)).await?;
                platforms.push(PlatformFact::listed(d, child.manifest.kind()));
            }
            if index.manifests.len() > MAX_PLATFORMS {
                warnings.push(format!(
                    "only the first {MAX_PLATFORMS} of {} index entries were read",
                    index.manifests.len()
                ));
            }
        }
    }

    let referrers = client.referrers(&at, &digest, None).await?;
    let mut sboms = Vec::new();
    let mut signatures = Vec::new();
    for d in &referrers.descriptors {
        let artifact_type = d.artifact_type.as_deref().unwrap_or("");
        if let Some(format) = SbomFormat::from_media_type(artifact_type) {
            if sboms.len() >= MAX_SBOMS {
                warnings.push(format!("more than {MAX_SBOMS} SBOM referrers; {} skipped", d.digest));
                continue;
            }
            if let Some(doc) = read_sbom(client, &at, &digest, None, d, format, &mut warnings).await? {
                sboms.push(doc);
            }
        } else if artifact_type == COSIGN_SIGNATURE_ARTIFACT {
            // A referrers index may still list a deleted manifest.
            let Some(m) = client.manifest_optional(&at.at_digest(&d.digest)).await? else {
                warnings.push(format!("signature referrer {} is listed but not found; ignored", d.digest));
                continue;
            };
            if m.manifest.subject().map(|s| &s.digest) != Some(&digest) {
                warnings.push(format!("signature referrer {} names another subject; ignored", d.digest));
                continue;
            }
            read_signatures(client, &at, &m, SignatureSource::Referrer, None, &mut signatures).await?;
        }
    }
    // cosign's legacy tag.
    if let Some(m) = client.manifest_optional(&at.at_tag(&digest.signature_tag())).await? {
        read_signatures(client, &at, &m, SignatureSource::Tag, None, &mut signatures).await?;
    }
    // An index's SBOMs may be attached to its platform manifests instead,
    // and each platform manifest may be signed itself (`cosign sign
    // --recursive`): what a node pulls for its platform is that manifest.
    if matches!(top.manifest, Manifest::Index(_)) {
        platform_referrers(client, &at, &platforms, &mut sboms, Some(&mut signatures), &mut warnings).await?;
    }
    if signatures.len() > MAX_SIGNATURES {
        warnings.push(format!("only the first {MAX_SIGNATURES} of {} signatures were read", signatures.len()));
        signatures.truncate(MAX_SIGNATURES);
    }

    let previous = match previous {
        Previous::Off => None,
        Previous::Given(r) => Some(read_previous(client, r, &mut warnings).await?),
        Previous::Auto => match previous_tag(client, reference).await? {
            Some(tag) => Some(read_previous(client, &reference.at_tag(&tag), &mut warnings).await?),
            None => None,
        },
    };
    let previous = previous.filter(|p| p.digest != digest);

    Ok(Collected {
        reference: reference.clone(),
        digest,
        kind,
        config_media_type,
        platforms,
        helm,
        referrers_via: referrers.via,
        referrers: referrers.descriptors.clone(),
        sboms,
        signatures,
        previous,
        warnings,
        manifest: top.manifest,
    })
}

/// The SBOM referrers of each image platform of an index, appended to
/// `sboms` (at most [`MAX_SBOMS`] in all), each marked with its platform;
/// with `signatures`, also each platform manifest's signatures (referrers
/// and cosign's legacy tag), marked with the platform they must sign.
async fn platform_referrers(
    client: &RegistryClient,
    at: &Reference,
    platforms: &[PlatformFact],
    sboms: &mut Vec<SbomDocument>,
    mut signatures: Option<&mut Vec<FoundSignature>>,
    warnings: &mut Vec<String>,
) -> Result<(), CheckError> {
    for p in platforms.iter().filter(|p| p.kind == ArtifactKind::Image) {
        let Ok(subject) = Digest::parse(&p.digest) else { continue };
        let platform = Some((p.label(), subject.clone()));
        let referrers = client.referrers(at, &subject, None).await?;
        for d in &referrers.descriptors {
            let artifact_type = d.artifact_type.as_deref().unwrap_or("");
            if artifact_type == COSIGN_SIGNATURE_ARTIFACT {
                let Some(out) = signatures.as_deref_mut() else { continue };
                let Some(m) = client.manifest_optional(&at.at_digest(&d.digest)).await? else { continue };
                if m.manifest.subject().map(|s| &s.digest) == Some(&subject) {
                    read_signatures(client, at, &m, SignatureSource::Referrer, platform.clone(), out).await?;
                }
                continue;
            }
            let Some(format) = SbomFormat::from_media_type(artifact_type) else { continue };
            if sboms.len() >= MAX_SBOMS {
                warnings.push(format!("more than {MAX_SBOMS} SBOM referrers; {} skipped", d.digest));
                continue;
            }
            if let Some(doc) = read_sbom(client, at, &subject, Some(p.label()), d, format, warnings).await? {
                sboms.push(doc);
            }
        }
        if let Some(out) = signatures.as_deref_mut()
            && let Some(m) = client.manifest_optional(&at.at_tag(&subject.signature_tag())).await?
        {
            read_signatures(client, at, &m, SignatureSource::Tag, platform, out).await?;
        }
    }
    Ok(())
}

async fn read_sbom(
    client: &RegistryClient,
    at: &Reference,
    subject: &Digest,
    platform: Option<String>,
    d: &Descriptor,
    format: SbomFormat,
    warnings: &mut Vec<String>,
) -> Result<Option<SbomDocument>, CheckError> {
    let Some(m) = client.manifest_optional(&at.at_digest(&d.digest)).await? else {
        warnings.push(format!("SBOM referrer {} is listed but not found; ignored", d.digest));
        return Ok(None);
    };
    if m.manifest.subject().map(|s| &s.digest) != Some(subject) {
        warnings.push(format!("SBOM referrer {} names another subject; ignored", d.digest));
        return Ok(None);
    }
    let Manifest::Image(image) = &m.manifest else {
        warnings.push(format!("SBOM referrer {} is an index; ignored", d.digest));
        return Ok(None);
    };
    // The layer holding the document: one of an SBOM media type, else the only layer.
    let layer = image
        .layers
        .iter()
        .find(|l| SbomFormat::from_media_type(&l.media_type).is_some())
        .or(if image.layers.len() == 1 { image.layers.first() } else { None });
    let Some(layer) = layer else {
        warnings.push(format!("SBOM referrer {} has no SBOM layer; ignored", d.digest));
        return Ok(None);
    };
    let format = SbomFormat::from_media_type(&layer.media_type).unwrap_or(format);
    let bytes = client.blob(at, layer, client.limits().sbom_bytes, "SBOM").await?;
    Ok(Some(SbomDocument {
        manifest_digest: m.digest,
        subject: subject.clone(),
        platform,
        artifact_type: d.artifact_type.clone().unwrap_or_default(),
        format,
        blob_digest: layer.digest.clone(),
        bytes,
    }))
}

async fn read_signatures(
    client: &RegistryClient,
    at: &Reference,
    m: &FetchedManifest,
    source: SignatureSource,
    platform: Option<(String, Digest)>,
    out: &mut Vec<FoundSignature>,
) -> Result<(), CheckError> {
    let Manifest::Image(image) = &m.manifest else { return Ok(()) };
    for layer in &image.layers {
        let Some(signature) = layer.annotations.get(COSIGN_SIGNATURE_ANNOTATION) else { continue };
        if layer.media_type != COSIGN_SIMPLE_SIGNING || out.len() > MAX_SIGNATURES {
            continue;
        }
        let payload = client.blob(at, layer, MAX_PAYLOAD_BYTES, "signature payload").await?;
        out.push(FoundSignature {
            source,
            manifest_digest: m.digest.clone(),
            payload_digest: layer.digest.clone(),
            payload,
            signature: signature.chars().take(8192).collect(),
            // One byte over the limit keeps an oversized bundle refusable.
            bundle: layer
                .annotations
                .get(super::rekor::COSIGN_BUNDLE_ANNOTATION)
                .map(|b| b.chars().take(super::rekor::MAX_BUNDLE_BYTES + 1).collect()),
            platform: platform.clone(),
        });
    }
    Ok(())
}

async fn read_previous(
    client: &RegistryClient,
    r: &Reference,
    warnings: &mut Vec<String>,
) -> Result<PreviousVersion, CheckError> {
    let m = client.manifest(r).await?;
    let at = r.at_digest(&m.digest);
    let referrers = client.referrers(&at, &m.digest, None).await?;
    let mut sboms = Vec::new();
    for d in &referrers.descriptors {
        let Some(format) = SbomFormat::from_media_type(d.artifact_type.as_deref().unwrap_or("")) else { continue };
        if sboms.len() >= MAX_SBOMS {
            break;
        }
        if let Some(doc) = read_sbom(client, &at, &m.digest, None, d, format, warnings).await? {
            sboms.push(doc);
        }
    }
    if let Manifest::Index(index) = &m.manifest {
        // The platforms as the index lists them (their manifests are not
        // fetched: a platform SBOM's referrer names its subject, checked).
        let platforms: Vec<PlatformFact> =
            index.manifests.iter().take(MAX_PLATFORMS).map(|d| PlatformFact::listed(d, ArtifactKind::Image)).collect();
        platform_referrers(client, &at, &platforms, &mut sboms, None, warnings).await?;
    }
    Ok(PreviousVersion { reference: r.clone(), digest: m.digest, sboms })
}

/// The greatest semver tag below `reference`'s tag (a leading `v` is
/// allowed; pre-releases order as semver says). `None` without a semver tag.
async fn previous_tag(client: &RegistryClient, reference: &Reference) -> Result<Option<String>, CheckError> {
    let Some(current) = reference.tag.as_deref().and_then(semver_of) else { return Ok(None) };
    let tags = client.tags(reference).await?;
    Ok(pick_previous(&current, &tags))
}

fn semver_of(tag: &str) -> Option<semver::Version> {
    semver::Version::parse(tag.strip_prefix('v').unwrap_or(tag)).ok()
}

/// The greatest version in `tags` below `current`.
pub fn pick_previous(current: &semver::Version, tags: &[String]) -> Option<String> {
    tags.iter()
        .filter_map(|t| semver_of(t).map(|v| (v, t)))
        .filter(|(v, _)| v < current)
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, t)| t.clone())
}

fn parse_chart_config(bytes: &[u8]) -> Result<HelmChart, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON ({e})"))?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(|s| s.chars().take(200).collect::<String>());
    let name = s("name").ok_or("no `name`")?;
    let version = s("version").ok_or("no `version`")?;
    let annotations = v
        .get("annotations")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .take(100)
                .filter_map(|(k, v)| Some((k.chars().take(200).collect(), v.as_str()?.chars().take(1000).collect())))
                .collect()
        })
        .unwrap_or_default();
    Ok(HelmChart { name, version, app_version: s("appVersion"), api_version: s("apiVersion"), annotations })
}

/// What [`assess`] needs besides the collected data.
pub struct AssessInputs<'a> {
    pub engine: &'a PolicyEngine,
    pub licenses: &'a ValidLicenseConfig,
    pub keys: &'a TrustedKeys,
    /// The evaluation time (exceptions expire against it).
    pub now: OffsetDateTime,
    /// When each signature ([`FoundSignature::id`]) was first seen by
    /// Steward; a signature not listed is taken as first seen `now`.
    pub first_seen: &'a BTreeMap<String, OffsetDateTime>,
}

/// A judged artifact.
#[derive(Debug, Clone)]
pub struct ArtifactReport {
    pub collected: Collected,
    pub evaluated_at: String,
    /// The policy input (`steward.artifact-input/v1`): the facts.
    pub input: Value,
    pub evaluation: ArtifactEvaluation,
    /// The license policy on every package of the SBOMs.
    pub sbom_license: Option<GateReport>,
    /// The license drift since the previous version, judged.
    pub drift: Option<GateReport>,
    pub signatures: Vec<SignatureFact>,
    /// Packages in the SBOMs.
    pub sbom_packages: usize,
}

impl ArtifactReport {
    pub fn verdict(&self) -> Verdict {
        self.evaluation.verdict
    }

    /// The command's exit code: 0 allow, 1 deny, 3 review.
    pub fn exit_code(&self) -> u8 {
        self.verdict().exit_code()
    }

    /// SHA-256 hex of the policy input's JSON bytes (as given to the policy).
    pub fn facts_sha256(&self) -> String {
        hex::encode(Sha256::digest(self.input.to_string().as_bytes()))
    }

    /// The `artifact-verdict` ledger payload for this report.
    pub fn ledger_payload(&self) -> Payload {
        let mut rules: Vec<String> =
            self.evaluation.decisions.iter().filter(|d| d.verdict != Verdict::Allow).map(|d| d.rule.clone()).collect();
        rules.sort();
        rules.dedup();
        let mut signature_keys: Vec<String> = self
            .signatures
            .iter()
            .filter(|s| s.trusted && s.platform.is_none())
            .filter_map(|s| s.key.as_ref().map(|k| k.id.clone()))
            .collect();
        signature_keys.sort();
        signature_keys.dedup();
        let c = &self.collected;
        Payload::ArtifactVerdict(ArtifactVerdict {
            schema: SchemaV1,
            repository: c.reference.repository_path(),
            reference: c.reference.to_string(),
            digest: c.digest.to_string(),
            artifact_kind: c.kind.as_str().into(),
            policy_revision: self
                .evaluation
                .revision
                .strip_prefix("sha256:")
                .unwrap_or(&self.evaluation.revision)
                .into(),
            verdict: match self.verdict() {
                Verdict::Allow => ArtifactOutcome::Allow,
                Verdict::Review => ArtifactOutcome::Review,
                Verdict::Deny => ArtifactOutcome::Deny,
            },
            rules,
            facts_sha256: self.facts_sha256(),
            sbom_digests: c.sboms.iter().map(|s| s.manifest_digest.to_string()).collect(),
            signature_keys,
            previous_digest: c.previous.as_ref().map(|p| p.digest.to_string()),
        })
    }
}

/// The file name each SBOM gets in the scanned tree: its format's name,
/// numbered from the second document of a format on (`2-sbom.spdx.json`),
/// so drift pairs the same documents across versions.
fn sbom_file_names(docs: &[SbomDocument]) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    docs.iter()
        .map(|d| {
            // A platform's SBOMs live in a folder named after the platform
            // (registry text, reduced to safe characters), so drift pairs
            // linux/arm64's document with linux/arm64's.
            let dir = d.platform.as_deref().map(platform_dir).unwrap_or_default();
            let n = seen.entry(format!("{dir}{}", d.format.file_name())).or_insert(0);
            *n += 1;
            if *n == 1 {
                format!("{dir}{}", d.format.file_name())
            } else {
                format!("{dir}{n}-{}", d.format.file_name())
            }
        })
        .collect()
}

/// `linux/arm64/v8` → `platform-linux-arm64-v8/`: only ASCII letters,
/// digits, `.`, `_` and `-`, at most 64 characters.
fn platform_dir(platform: &str) -> String {
    let safe: String = platform
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' })
        .take(64)
        .collect();
    format!("platform-{safe}/")
}

/// The SBOMs as one scan: each document a file the scanner recognises.
fn scan_sboms(label: String, docs: &[SbomDocument], licenses: &ValidLicenseConfig) -> Result<Scan, CheckError> {
    let names = sbom_file_names(docs);
    let which: Vec<String> =
        names.iter().zip(docs).map(|(n, d)| format!("{n} = referrer {}", d.manifest_digest)).collect();
    let tree = MemoryTree::new(names.into_iter().zip(docs.iter().map(|d| d.bytes.clone())));
    let mut scan = scan_valid(&tree, licenses)
        .map_err(|e| CheckError::Invalid(format!("SBOM of {label}: {e} ({})", which.join(", "))))?;
    scan.input = label;
    Ok(scan)
}

fn empty_scan(label: &str) -> Scan {
    Scan { input: label.to_string(), graphs: Vec::new(), warnings: Vec::new() }
}

/// Judges collected data. Pure: no network, no clock.
pub fn assess(collected: Collected, inputs: &AssessInputs<'_>) -> Result<ArtifactReport, CheckError> {
    let c = &collected;
    let label = c.reference.to_string();
    let now_text = gate::rfc3339(inputs.now);

    // SBOMs: scanned, every package judged by the license policy.
    let (scan, sbom_license) = if c.sboms.is_empty() {
        (None, None)
    } else {
        let scan = scan_sboms(format!("{label}@{}", c.digest), &c.sboms, inputs.licenses)?;
        let context = GateContext {
            repository: Some(c.reference.repository_path()),
            base: "(nothing)".into(),
            head: label.clone(),
            base_commit: None,
            head_commit: Some(c.digest.to_string()),
            pull_request: None,
        };
        let judged = gate::judge(drift::diff(&empty_scan("(nothing)"), &scan), inputs.engine, context, inputs.now)?;
        (Some(scan), Some(judged))
    };

    // Drift since the previous version.
    let drift_report = match (&scan, &c.previous) {
        (Some(scan), Some(prev)) if !prev.sboms.is_empty() => {
            let old = scan_sboms(format!("{}@{}", prev.reference, prev.digest), &prev.sboms, inputs.licenses)?;
            let context = GateContext {
                repository: Some(c.reference.repository_path()),
                base: prev.reference.to_string(),
                head: label.clone(),
                base_commit: Some(prev.digest.to_string()),
                head_commit: Some(c.digest.to_string()),
                pull_request: None,
            };
            Some(gate::judge(drift::diff(&old, scan), inputs.engine, context, inputs.now)?)
        }
        _ => None,
    };

    // Signatures.
    let signatures: Vec<SignatureFact> = c
        .signatures
        .iter()
        .map(|s| {
            let evidence = SignatureEvidence {
                source: s.source,
                manifest_digest: s.manifest_digest.clone(),
                payload_digest: s.payload_digest.clone(),
                payload: s.payload.clone(),
                signature: s.signature.clone(),
                bundle: s.bundle.clone(),
                first_seen: inputs.first_seen.get(&s.id()).copied().unwrap_or(inputs.now),
            };
            match &s.platform {
                None => trust::assess(&evidence, &c.digest, &c.reference.repository_path(), inputs.keys),
                Some((platform, subject)) => {
                    let mut fact = trust::assess(&evidence, subject, &c.reference.repository_path(), inputs.keys);
                    fact.platform = Some(platform.clone());
                    fact.subject = Some(subject.to_string());
                    fact
                }
            }
        })
        .collect();

    let sbom_packages = scan.as_ref().map_or(0, |s| s.package_count());
    let input = policy_input(c, &now_text, scan.as_ref(), sbom_license.as_ref(), drift_report.as_ref(), &signatures);
    let evaluation = inputs.engine.evaluate_artifact(&input)?;
    Ok(ArtifactReport {
        evaluated_at: now_text,
        input,
        evaluation,
        sbom_license,
        drift: drift_report,
        signatures,
        sbom_packages,
        collected,
    })
}

/// The `steward.artifact-input/v1` document (see docs/ARTIFACTS.md).
fn policy_input(
    c: &Collected,
    now: &str,
    scan: Option<&Scan>,
    sbom_license: Option<&GateReport>,
    drift: Option<&GateReport>,
    signatures: &[SignatureFact],
) -> Value {
    let names = sbom_file_names(&c.sboms);
    let sboms: Vec<Value> = c
        .sboms
        .iter()
        .zip(&names)
        .map(|(doc, name)| {
            let packages: Vec<Value> = scan
                .and_then(|s| s.graph(name))
                .map(|g| {
                    g.graph
                        .packages
                        .iter()
                        .zip(&g.licenses)
                        .enumerate()
                        .map(|(pi, (p, l))| {
                            let facts = l.expression.as_ref().map(value_facts);
                            json!({
                                "name": p.name,
                                "version": p.version,
                                "purl": p.purl,
                                "root": g.graph.roots.contains(&pi),
                                "expression": l.expression.as_ref().map(|e| e.to_string()),
                                "category": facts.as_ref().map_or(json!("unknown"), |f| json!(f.least_restrictive)),
                                "licenses": facts.as_ref().map_or(json!([]), |f| json!(f.licenses)),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut sbom = json!({
                "manifest_digest": doc.manifest_digest.to_string(),
                "subject": doc.subject.to_string(),
                "artifact_type": doc.artifact_type,
                "format": doc.format,
                "packages": packages,
            });
            if let Some(platform) = &doc.platform {
                sbom["platform"] = json!(platform);
            }
            sbom
        })
        .collect();
    let judged = |r: &GateReport| {
        json!({
            "verdict": r.evaluation.verdict,
            "revision": r.evaluation.revision,
            "decisions": r.evaluation.decisions.iter().map(|d| json!({
                "finding": d.finding, "verdict": d.verdict, "rule": d.rule, "message": d.message,
            })).collect::<Vec<_>>(),
        })
    };
    let mut input = json!({
        "schema": steward_policy::ARTIFACT_INPUT_SCHEMA,
        "now": now,
        "artifact": {
            "reference": c.reference.to_string(),
            "registry": c.reference.registry,
            "repository": c.reference.repository,
            "tag": c.reference.tag,
            "digest": c.digest.to_string(),
            "media_type": c.manifest.media_type(),
            "kind": c.kind,
            "artifact_type": c.manifest.effective_artifact_type(),
            "config_media_type": c.config_media_type,
            "platforms": c.platforms,
            "annotations": c.manifest.annotations(),
        },
        "referrers": {
            "via": c.referrers_via,
            "count": c.referrers.len(),
        },
        "sboms": sboms,
        "signatures": signatures,
    });
    if let Some(h) = &c.helm {
        input["artifact"]["helm"] = json!(h);
    }
    if let Some(r) = sbom_license {
        input["license"] = judged(r);
    }
    if let (Some(r), Some(prev)) = (drift, &c.previous) {
        let mut d = judged(r);
        d["previous"] = json!({"reference": prev.reference.to_string(), "digest": prev.digest.to_string()});
        d["findings"] = Value::Array(
            r.drift
                .findings
                .iter()
                .map(|f| {
                    let path = f
                        .paths
                        .first()
                        .map(|p| p.iter().map(|x| format!("{} {}", x.name, x.version)).collect::<Vec<_>>().join(" → "))
                        .unwrap_or_else(|| format!("{} (direct)", f.name));
                    json!({
                        "code": f.code,
                        "name": f.name,
                        "old_version": f.old_version,
                        "new_version": f.new_version,
                        "old_license": f.old_license.as_ref().map(|l| l.display()),
                        "new_license": f.new_license.as_ref().map(|l| l.display()),
                        "path": path,
                    })
                })
                .collect(),
        );
        input["drift"] = d;
    }
    strip_nulls(&mut input);
    input
}

/// Optional facts are absent, never null (as in every Steward document).
fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, x| !x.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_version_is_the_greatest_semver_tag_below() {
        let tags: Vec<String> =
            ["v1.0.0", "v1.2.0", "v1.10.0", "latest", "v2.0.0-rc.1", "sha256-abc", "1.1.0", "v2.0.0"]
                .map(String::from)
                .to_vec();
        let pick = |t: &str| pick_previous(&semver_of(t).unwrap(), &tags);
        assert_eq!(pick("v2.0.0").as_deref(), Some("v2.0.0-rc.1"));
        assert_eq!(pick("v1.10.0").as_deref(), Some("v1.2.0"));
        assert_eq!(pick("v1.2.0").as_deref(), Some("1.1.0"));
        assert_eq!(pick("v1.0.0"), None);
    }

    #[test]
    fn chart_config_is_read_from_the_helm_fixture() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/oci/manifests/helm/chart-config.mychart-0.1.0.json");
        let chart = parse_chart_config(&std::fs::read(p).unwrap()).unwrap();
        assert_eq!((chart.name.as_str(), chart.version.as_str()), ("mychart", "0.1.0"));
        assert_eq!(chart.app_version.as_deref(), Some("1.16.0"));
        assert!(parse_chart_config(b"{\"version\":\"1\"}").is_err());
    }
}
