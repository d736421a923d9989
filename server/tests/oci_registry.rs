//! `steward::oci` against real registries on loopback: docker-registry
//! (distribution 2.8.2, no referrers API: the referrers tag schema) and
//! ferro-oci-server (the OCI 1.1 referrers API). Images are pushed with
//! skopeo; SBOMs and cosign-style signatures with the distribution push
//! API, signed with keys made here.

mod oci_support;

use oci_support::{Desc, Kind, Registry, TestKey, ed25519_sign, payload, spdx};
use std::collections::BTreeMap;
use std::time::Duration;
use steward::oci::check::{ArtifactReport, AssessInputs, FoundSignature, Previous};
use steward::oci::client::ReferrersVia;
use steward::oci::manifest::{ArtifactKind, COSIGN_SIGNATURE_ARTIFACT, OCI_MANIFEST};
use steward::oci::trust::{SignatureProblem, parse_time};
use steward::oci::{CheckError, Limits, Reference, RegistryClient, TrustedKey, TrustedKeys};
use steward::policy::{Compiled, compile, read_bundle};
use steward_policy::Verdict;
use time::OffsetDateTime;

const SPDX: &str = "application/spdx+json";
const REPO: &str = "steward/demo";

fn t(s: &str) -> OffsetDateTime {
    parse_time(s).unwrap()
}

fn engine() -> Compiled {
    compile(read_bundle(&steward::config::PolicySource::Embedded).unwrap()).unwrap()
}

fn client() -> RegistryClient {
    RegistryClient::new(Vec::new(), Limits::default(), Duration::from_secs(10)).unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// The release key: valid in the first half of 2026, owned by the release team.
fn release_key() -> (TestKey, TrustedKeys) {
    let key = TestKey::p256(11);
    let trusted = TrustedKeys {
        keys: vec![TrustedKey {
            id: "release-2026h1".into(),
            owner: "release-team".into(),
            not_before: t("2026-01-01T00:00:00Z"),
            not_after: Some(t("2026-07-01T00:00:00Z")),
            key: key.public(),
        }],
        transparency_logs: Vec::new(),
    };
    (key, trusted)
}

struct Check<'a> {
    keys: &'a TrustedKeys,
    previous: Previous,
    /// When each signature was first seen; others: `now`.
    first_seen: Option<OffsetDateTime>,
    now: OffsetDateTime,
}

impl Check<'_> {
    fn run(&self, reference: &str) -> Result<ArtifactReport, CheckError> {
        let compiled = engine();
        let licenses = steward_scanner::license::LicenseConfig::default().validate().unwrap();
        let reference = Reference::parse(reference).unwrap();
        let collected = block_on(steward::oci::collect(&client(), &reference, &self.previous))?;
        let first_seen: BTreeMap<String, OffsetDateTime> = match self.first_seen {
            Some(at) => collected.signatures.iter().map(|s: &FoundSignature| (s.id(), at)).collect(),
            None => BTreeMap::new(),
        };
        let inputs = AssessInputs {
            engine: &compiled.engine,
            licenses: &licenses,
            keys: self.keys,
            now: self.now,
            first_seen: &first_seen,
        };
        steward::oci::assess(collected, &inputs)
    }
}

fn rules(r: &ArtifactReport, v: Verdict) -> Vec<String> {
    r.evaluation.decisions.iter().filter(|d| d.verdict == v).map(|d| d.rule.clone()).collect()
}

fn messages(r: &ArtifactReport) -> String {
    r.evaluation
        .decisions
        .iter()
        .map(|d| format!("{} {}: {}", d.verdict, d.rule, d.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// An image with an SPDX SBOM and two signatures (a P-256 referrer by the
/// release key, an ed25519 legacy `.sig` tag by an untrusted key).
fn signed_image_with_sbom(reg: &Registry, tag: &str, deps: &[(&str, &str, &str)], key: &TestKey) -> Desc {
    let image = reg.push_image(REPO, tag, tag);
    reg.attach_sbom(REPO, &image, SPDX, &spdx("demo-app", deps));
    let p = payload(&format!("{}/{REPO}", reg.host), &image.digest);
    reg.attach_signature(REPO, &image, &p, &key.sign(&p), false);
    let (_, ed_sig) = ed25519_sign(5, &p);
    reg.attach_signature(REPO, &image, &p, &ed_sig, true);
    image
}

fn allow_scenario(reg: &Registry) {
    let (key, trusted) = release_key();
    let image = signed_image_with_sbom(reg, "v1.0.0", &[("left-pad", "1.3.0", "MIT")], &key);
    let check = Check {
        keys: &trusted,
        previous: Previous::Auto,
        first_seen: Some(t("2026-03-01T00:00:00Z")),
        now: t("2026-11-27T12:00:00Z"),
    };
    let r = check.run(&reg.reference(&format!("{REPO}:v1.0.0"))).unwrap();
    assert_eq!(r.verdict(), Verdict::Allow, "{}", messages(&r));
    assert_eq!(r.collected.digest, image.digest);
    assert_eq!(r.collected.kind, ArtifactKind::Image);
    assert_eq!(r.collected.platforms[0].architecture, "amd64");
    assert_eq!(r.collected.sboms.len(), 1);
    assert_eq!(r.sbom_packages, 2);
    let via = if reg.kind == Kind::Ferro { ReferrersVia::Api } else { ReferrersVia::TagSchema };
    assert_eq!(r.collected.referrers_via, via);
    // Both signatures were read; only the release key's counts.
    assert_eq!(r.signatures.len(), 2, "{:?}", r.signatures);
    let trusted_sig = r.signatures.iter().find(|s| s.trusted).expect("a trusted signature");
    assert_eq!(trusted_sig.key.as_ref().unwrap().owner, "release-team");
    let legacy = r.signatures.iter().find(|s| !s.trusted).unwrap();
    assert_eq!(legacy.problem, Some(SignatureProblem::UntrustedKey));
    let mut allow = rules(&r, Verdict::Allow);
    allow.sort();
    assert_eq!(allow, ["sbom.present", "signature.trusted"]);
    assert!(r.collected.previous.is_none(), "no earlier semver tag");
    // The ledger payload validates.
    r.ledger_payload().validate().unwrap();
}

#[test]
fn signed_image_with_sbom_is_allowed_through_the_referrers_tag_schema() {
    let Some(reg) = Registry::distribution() else { return };
    allow_scenario(&reg);
}

#[test]
fn signed_image_with_sbom_is_allowed_through_the_referrers_api() {
    let Some(reg) = Registry::ferro() else { return };
    allow_scenario(&reg);
}

#[test]
fn referrers_are_filtered_by_artifact_type_on_both_paths() {
    for reg in [Registry::distribution(), Registry::ferro()].into_iter().flatten() {
        let (key, _) = release_key();
        let image = signed_image_with_sbom(&reg, "v1.0.0", &[("left-pad", "1.3.0", "MIT")], &key);
        let r = Reference::parse(&reg.reference(&format!("{REPO}@{}", image.digest))).unwrap();
        let c = client();
        let all = block_on(c.referrers(&r, &image.digest, None)).unwrap();
        assert_eq!(all.descriptors.len(), 2, "{:?}: {:?}", reg.kind, all.descriptors);
        let sboms = block_on(c.referrers(&r, &image.digest, Some(SPDX))).unwrap();
        assert_eq!(sboms.descriptors.len(), 1);
        assert_eq!(sboms.descriptors[0].artifact_type.as_deref(), Some(SPDX));
        let sigs = block_on(c.referrers(&r, &image.digest, Some(COSIGN_SIGNATURE_ARTIFACT))).unwrap();
        assert_eq!(sigs.descriptors.len(), 1);
        let none = block_on(c.referrers(&r, &image.digest, Some("application/x-nothing"))).unwrap();
        assert!(none.descriptors.is_empty());
        let expected = if reg.kind == Kind::Ferro { ReferrersVia::Api } else { ReferrersVia::TagSchema };
        assert_eq!(sboms.via, expected);
        // A subject nobody refers to: empty on both paths (404 tag → empty).
        let lonely = reg.push_image(REPO, "lonely", "lonely");
        assert!(block_on(c.referrers(&r, &lonely.digest, None)).unwrap().descriptors.is_empty());
    }
}

#[test]
fn missing_sbom_is_denied() {
    let Some(reg) = Registry::distribution() else { return };
    let (key, trusted) = release_key();
    let image = reg.push_image(REPO, "v1.0.0", "no-sbom");
    let p = payload(&format!("{}/{REPO}", reg.host), &image.digest);
    reg.attach_signature(REPO, &image, &p, &key.sign(&p), false);
    let check = Check {
        keys: &trusted,
        previous: Previous::Off,
        first_seen: Some(t("2026-03-01T00:00:00Z")),
        now: t("2026-11-27T12:00:00Z"),
    };
    let r = check.run(&reg.reference(&format!("{REPO}:v1.0.0"))).unwrap();
    assert_eq!(r.verdict(), Verdict::Deny);
    assert_eq!(rules(&r, Verdict::Deny), ["sbom.required"], "{}", messages(&r));
}

#[test]
fn expired_key_denies_the_new_release_while_the_old_release_signed_in_its_window_stays_allowed() {
    let Some(reg) = Registry::distribution() else { return };
    let (key, trusted) = release_key();
    signed_image_with_sbom(&reg, "v1.0.0", &[("left-pad", "1.3.0", "MIT")], &key);
    signed_image_with_sbom(&reg, "v1.1.0", &[("left-pad", "1.3.0", "MIT")], &key);
    let now = t("2026-11-27T12:00:00Z");
    // v1.0.0's signature was first seen in March, inside the key's window.
    let old = Check { keys: &trusted, previous: Previous::Off, first_seen: Some(t("2026-03-01T00:00:00Z")), now };
    let r = old.run(&reg.reference(&format!("{REPO}:v1.0.0"))).unwrap();
    assert_eq!(r.verdict(), Verdict::Allow, "{}", messages(&r));
    // v1.1.0's signature is first seen now, after the key expired.
    let new = Check { keys: &trusted, previous: Previous::Off, first_seen: None, now };
    let r = new.run(&reg.reference(&format!("{REPO}:v1.1.0"))).unwrap();
    assert_eq!(r.verdict(), Verdict::Deny);
    assert_eq!(rules(&r, Verdict::Deny), ["signature.required"]);
    let expired = r.signatures.iter().find(|s| s.verified).unwrap();
    assert_eq!(expired.problem, Some(SignatureProblem::KeyExpired));
    assert!(messages(&r).contains("key release-2026h1 expired 2026-07-01T00:00:00Z"), "{}", messages(&r));
}

/// A release signed while its key was valid and logged then in a
/// transparency log Steward trusts, but first seen by Steward after the
/// key expired: the log's integrated time dates the signature, so it
/// counts; without that log in the trusted-keys file it does not.
#[test]
fn a_transparency_log_timestamp_keeps_a_release_signed_in_its_window_allowed() {
    let Some(reg) = Registry::distribution() else { return };
    let (key, mut trusted) = release_key();
    let log = TestKey::p256(12);
    let image = reg.push_image(REPO, "v1.2.0", "logged");
    reg.attach_sbom(REPO, &image, SPDX, &spdx("demo-app", &[("left-pad", "1.3.0", "MIT")]));
    let p = payload(&format!("{}/{REPO}", reg.host), &image.digest);
    let signature = key.sign(&p);
    let march = t("2026-03-01T00:00:00Z").unix_timestamp();
    reg.attach_logged_signature(REPO, &image, &p, &signature, Some(&log.log_bundle(&p, &signature, march)), true);
    let now = t("2026-11-27T12:00:00Z");
    let reference = reg.reference(&format!("{REPO}:v1.2.0"));

    let r = Check { keys: &trusted, previous: Previous::Off, first_seen: None, now }.run(&reference).unwrap();
    assert_eq!(r.verdict(), Verdict::Deny, "no trusted log: first seen now, after the key's end");
    assert!(r.signatures[0].timestamp_problem.as_deref().unwrap().contains("not a trusted transparency log"));

    trusted.transparency_logs = vec![log.public()];
    let r = Check { keys: &trusted, previous: Previous::Off, first_seen: None, now }.run(&reference).unwrap();
    assert_eq!(r.verdict(), Verdict::Allow, "{}", messages(&r));
    let s = &r.signatures[0];
    assert_eq!((s.signed_at.as_str(), s.signed_at_source), ("2026-03-01T00:00:00Z", "transparency-log"));
    assert_eq!(s.timestamp.as_ref().map(|t| t.log_index), Some(42));
    let text = steward::oci::report::text(&r, false);
    assert!(text.contains("signed at 2026-03-01T00:00:00Z (transparency log entry 42)"), "{text}");
}

#[test]
fn signature_over_another_digest_is_denied() {
    let Some(reg) = Registry::distribution() else { return };
    let (key, trusted) = release_key();
    let image = reg.push_image(REPO, "v1.0.0", "a");
    let other = reg.push_image(REPO, "other", "b");
    reg.attach_sbom(REPO, &image, SPDX, &spdx("demo-app", &[]));
    // A valid signature by the trusted key, but over the other image.
    let p = payload(&format!("{}/{REPO}", reg.host), &other.digest);
    reg.attach_signature(REPO, &image, &p, &key.sign(&p), false);
    let check = Check {
        keys: &trusted,
        previous: Previous::Off,
        first_seen: Some(t("2026-03-01T00:00:00Z")),
        now: t("2026-11-27T12:00:00Z"),
    };
    let r = check.run(&reg.reference(&format!("{REPO}:v1.0.0"))).unwrap();
    assert_eq!(r.verdict(), Verdict::Deny);
    assert_eq!(rules(&r, Verdict::Deny), ["signature.required"]);
    assert_eq!(r.signatures[0].problem, Some(SignatureProblem::DigestMismatch));
    assert!(r.signatures[0].verified, "the key verifies; the payload names another digest");
}

#[test]
fn sbom_drifted_to_sspl_since_the_previous_tag_is_denied_with_the_path() {
    let Some(reg) = Registry::distribution() else { return };
    let (key, trusted) = release_key();
    signed_image_with_sbom(&reg, "v1.0.0", &[("left-pad", "1.3.0", "MIT"), ("right-pad", "2.0.0", "ISC")], &key);
    signed_image_with_sbom(&reg, "v1.1.0", &[("left-pad", "1.4.0", "SSPL-1.0"), ("right-pad", "2.0.0", "ISC")], &key);
    reg.push_image(REPO, "latest", "latest");
    let check = Check {
        keys: &trusted,
        previous: Previous::Auto,
        first_seen: Some(t("2026-03-01T00:00:00Z")),
        now: t("2026-11-27T12:00:00Z"),
    };
    let r = check.run(&reg.reference(&format!("{REPO}:v1.1.0"))).unwrap();
    assert_eq!(r.verdict(), Verdict::Deny);
    let prev = r.collected.previous.as_ref().expect("v1.0.0 is the previous semver tag");
    assert_eq!(prev.reference.tag.as_deref(), Some("v1.0.0"));
    let text = messages(&r);
    let drift = r.evaluation.decisions.iter().find(|d| d.rule == "drift.license").unwrap_or_else(|| panic!("{text}"));
    assert_eq!(drift.verdict, Verdict::Deny);
    assert!(drift.message.contains("MIT → SSPL-1.0"), "{text}");
    assert!(drift.message.contains("path: left-pad 1.4.0"), "{text}");
    assert!(drift.message.contains(&format!("since oci://{}/{REPO}:v1.0.0", reg.host)), "{text}");
    let mut deny = rules(&r, Verdict::Deny);
    deny.sort();
    assert_eq!(deny, ["drift.license", "sbom.license", "sbom.source-available"], "{text}");
    // With the previous version given explicitly, the same finding.
    let given = Check {
        previous: Previous::Given(Reference::parse(&reg.reference(&format!("{REPO}:v1.0.0"))).unwrap()),
        ..check
    };
    assert!(messages(&given.run(&reg.reference(&format!("{REPO}:v1.1.0"))).unwrap()).contains("MIT → SSPL-1.0"));
}

fn push_chart(reg: &Registry, tag: &str, config_media_type: &str) -> Desc {
    let repo = "steward/charts/demo";
    let config = std::fs::read(oci_support::data("manifests/helm/chart-config.mychart-0.1.0.json")).unwrap();
    let chart = b"not really a tarball, but the registry does not care".to_vec();
    let config_d = reg.push_blob(repo, &config);
    let chart_d = reg.push_blob(repo, &chart);
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{config_media_type}","digest":"{config_d}","size":{}}},"layers":[{{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"{chart_d}","size":{}}}],"annotations":{{"org.opencontainers.image.title":"mychart"}}}}"#,
        config.len(),
        chart.len()
    );
    let digest = reg.put_manifest(repo, tag, manifest.as_bytes(), OCI_MANIFEST);
    let desc = Desc { media_type: OCI_MANIFEST.into(), digest, size: manifest.len() };
    reg.attach_sbom(repo, &desc, SPDX, &spdx("mychart", &[]));
    desc
}

#[test]
fn helm_chart_metadata_is_read_and_a_wrong_config_media_type_is_denied() {
    let Some(reg) = Registry::distribution() else { return };
    let (key, trusted) = release_key();
    let repo = "steward/charts/demo";
    for (tag, media_type) in
        [("0.1.0", "application/vnd.cncf.helm.config.v1+json"), ("0.1.1", "application/vnd.oci.image.config.v1+json")]
    {
        let chart = push_chart(&reg, tag, media_type);
        let p = payload(&format!("{}/{repo}", reg.host), &chart.digest);
        reg.attach_signature(repo, &chart, &p, &key.sign(&p), true);
    }
    let check = Check {
        keys: &trusted,
        previous: Previous::Off,
        first_seen: Some(t("2026-03-01T00:00:00Z")),
        now: t("2026-11-27T12:00:00Z"),
    };
    let good = check.run(&reg.reference(&format!("{repo}:0.1.0"))).unwrap();
    assert_eq!(good.collected.kind, ArtifactKind::HelmChart);
    let helm = good.collected.helm.as_ref().unwrap();
    assert_eq!(
        (helm.name.as_str(), helm.version.as_str(), helm.app_version.as_deref()),
        ("mychart", "0.1.0", Some("1.16.0"))
    );
    assert_eq!(good.verdict(), Verdict::Allow, "{}", messages(&good));
    let bad = check.run(&reg.reference(&format!("{repo}:0.1.1"))).unwrap();
    assert_eq!(bad.collected.kind, ArtifactKind::HelmChart);
    assert_eq!(bad.verdict(), Verdict::Deny);
    assert_eq!(rules(&bad, Verdict::Deny), ["helm.config-media-type"], "{}", messages(&bad));
}

#[test]
fn registry_down_is_a_clear_error() {
    let port = oci_support::free_port();
    let (_, trusted) = release_key();
    let check = Check { keys: &trusted, previous: Previous::Auto, first_seen: None, now: t("2026-11-27T12:00:00Z") };
    let err = check.run(&format!("oci://127.0.0.1:{port}/{REPO}:v1.0.0")).unwrap_err();
    assert_eq!(err.code(), "registry-unreachable");
    let text = err.to_string();
    assert!(
        text.contains(&format!("http://127.0.0.1:{port}/v2/{REPO}/manifests/v1.0.0")) && text.contains("unreachable"),
        "{text}"
    );
}

#[test]
fn a_blob_whose_digest_does_not_match_is_an_error_not_a_verdict() {
    let Some(reg) = Registry::distribution() else { return };
    let (key, trusted) = release_key();
    signed_image_with_sbom(&reg, "v1.0.0", &[("left-pad", "1.3.0", "MIT")], &key);
    let sbom = spdx("demo-app", &[("left-pad", "1.3.0", "MIT")]);
    let blob = reg.blob_file(&steward::oci::Digest::sha256(sbom.as_bytes()));
    // Same length, one license changed on disk behind the registry's back.
    let tampered = sbom.replace("\"MIT\"", "\"BSD\"").replacen("\"BSD\"", "\"MIT\"", 1);
    assert_eq!(tampered.len(), sbom.len());
    assert_ne!(tampered, sbom);
    std::fs::write(&blob, &tampered).unwrap();
    let check = Check {
        keys: &trusted,
        previous: Previous::Off,
        first_seen: Some(t("2026-03-01T00:00:00Z")),
        now: t("2026-11-27T12:00:00Z"),
    };
    let err = check.run(&reg.reference(&format!("{REPO}:v1.0.0"))).unwrap_err();
    assert_eq!(err.code(), "digest-mismatch", "{err}");
    assert!(err.to_string().contains("content digest mismatch"), "{err}");
}

#[test]
fn manifests_and_blobs_over_the_size_limit_are_refused() {
    let Some(reg) = Registry::distribution() else { return };
    let (key, _) = release_key();
    let image = signed_image_with_sbom(&reg, "v1.0.0", &[("left-pad", "1.3.0", "MIT")], &key);
    let r = Reference::parse(&reg.reference(&format!("{REPO}:v1.0.0"))).unwrap();
    let small = Limits { manifest_bytes: 100, ..Limits::default() };
    let c = RegistryClient::new(Vec::new(), small, Duration::from_secs(10)).unwrap();
    let err = block_on(c.manifest(&r)).unwrap_err();
    assert_eq!(err.code(), "too-large", "{err}");
    let small = Limits { sbom_bytes: 10, ..Limits::default() };
    let c = RegistryClient::new(Vec::new(), small, Duration::from_secs(10)).unwrap();
    let err = block_on(steward::oci::collect(&c, &r.at_digest(&image.digest), &Previous::Off)).unwrap_err();
    assert_eq!(err.code(), "too-large", "{err}");
}

#[test]
fn image_index_lists_each_platform_and_docker_schema_2_is_an_image() {
    let Some(reg) = Registry::distribution() else { return };
    let (key, trusted) = release_key();
    let amd = reg.push_image(REPO, "amd64", "amd64");
    let arm = reg.push_image(REPO, "arm64", "arm64");
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}},{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":{},"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}}]}}"#,
        amd.digest, amd.size, arm.digest, arm.size
    );
    let digest = reg.put_manifest(REPO, "multi", index.as_bytes(), "application/vnd.oci.image.index.v1+json");
    let desc = Desc { media_type: "application/vnd.oci.image.index.v1+json".into(), digest, size: index.len() };
    let p = payload(&format!("{}/{REPO}", reg.host), &desc.digest);
    reg.attach_signature(REPO, &desc, &p, &key.sign(&p), false);
    let check = Check {
        keys: &trusted,
        previous: Previous::Off,
        first_seen: Some(t("2026-03-01T00:00:00Z")),
        now: t("2026-11-27T12:00:00Z"),
    };
    let r = check.run(&reg.reference(&format!("{REPO}:multi"))).unwrap();
    assert_eq!(r.collected.kind, ArtifactKind::Index);
    let platforms: Vec<String> = r
        .collected
        .platforms
        .iter()
        .map(|p| {
            format!("{}/{}{}", p.os, p.architecture, p.variant.as_deref().map(|v| format!("/{v}")).unwrap_or_default())
        })
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64/v8"]);
    assert!(r.collected.platforms.iter().all(|p| p.kind == ArtifactKind::Image));
    assert_eq!(r.collected.platforms[1].digest, arm.digest.to_string());
    // An index needs no SBOM by default; the signature counts.
    assert_eq!(r.verdict(), Verdict::Allow, "{}", messages(&r));

    // Docker v2 schema 2: an image too.
    let layer = std::fs::read(oci_support::data("registry-run/layer.tar.gz")).unwrap();
    let config = br#"{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#;
    let (config_d, layer_d) = (reg.push_blob(REPO, config), reg.push_blob(REPO, &layer));
    let docker = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":{},"digest":"{config_d}"}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":{},"digest":"{layer_d}"}}]}}"#,
        config.len(),
        layer.len()
    );
    reg.put_manifest(REPO, "docker", docker.as_bytes(), "application/vnd.docker.distribution.manifest.v2+json");
    let r = check.run(&reg.reference(&format!("{REPO}:docker"))).unwrap();
    assert_eq!(r.collected.kind, ArtifactKind::Image);
    assert_eq!(r.collected.manifest.media_type(), "application/vnd.docker.distribution.manifest.v2+json");
    assert_eq!(rules(&r, Verdict::Deny), ["sbom.required", "signature.required"], "{}", messages(&r));
}

/// A signed two-platform index whose SBOMs hang on the platform manifests
/// (as `docker buildx` attestations and many CI pipelines attach them),
/// not on the index: `amd64` and `arm64` each with their own licenses.
/// An index of two platform images with an SBOM each, signed: the index
/// and its platforms (amd64, arm64).
fn index_with_platform_sboms(reg: &Registry, tag: &str, amd64: &str, arm64: &str, key: &TestKey) -> (Desc, [Desc; 2]) {
    // Platform tags that are not semver, so the previous version is an index.
    let amd = reg.push_image(REPO, &format!("amd64-{tag}"), &format!("amd64-{tag}"));
    let arm = reg.push_image(REPO, &format!("arm64-{tag}"), &format!("arm64-{tag}"));
    reg.attach_sbom(REPO, &amd, SPDX, &spdx("demo-app", &[("left-pad", "1.3.0", amd64)]));
    reg.attach_sbom(REPO, &arm, SPDX, &spdx("demo-app", &[("left-pad", "1.3.0", arm64)]));
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}},{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":{},"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}}]}}"#,
        amd.digest, amd.size, arm.digest, arm.size
    );
    let digest = reg.put_manifest(REPO, tag, index.as_bytes(), "application/vnd.oci.image.index.v1+json");
    let desc = Desc { media_type: "application/vnd.oci.image.index.v1+json".into(), digest, size: index.len() };
    let p = payload(&format!("{}/{REPO}", reg.host), &desc.digest);
    reg.attach_signature(REPO, &desc, &p, &key.sign(&p), false);
    (desc, [amd, arm])
}

/// `cosign sign --recursive` also signs each platform manifest: those
/// signatures are read (legacy tag and referrers of each platform) and
/// judged against the platform manifest's digest, marked with their
/// platform; they do not stand in for the index's own signature.
#[test]
fn platform_manifests_signatures_are_judged_against_their_own_digest() {
    let Some(reg) = Registry::distribution() else { return };
    let (key, trusted) = release_key();
    let (index, [amd, arm]) = index_with_platform_sboms(&reg, "v2.0.0", "MIT", "MIT", &key);
    let host_repo = format!("{}/{REPO}", reg.host);
    let amd_payload = payload(&host_repo, &amd.digest);
    reg.attach_signature(REPO, &amd, &amd_payload, &key.sign(&amd_payload), true);
    // arm64's referrer signs the index's digest instead of its own.
    let wrong = payload(&host_repo, &index.digest);
    reg.attach_signature(REPO, &arm, &wrong, &key.sign(&wrong), false);
    let check = Check {
        keys: &trusted,
        previous: Previous::Off,
        first_seen: Some(t("2026-03-01T00:00:00Z")),
        now: t("2026-11-27T12:00:00Z"),
    };
    let r = check.run(&reg.reference(&format!("{REPO}:v2.0.0"))).unwrap();
    let by_platform = |p: Option<&str>| r.signatures.iter().filter(|s| s.platform.as_deref() == p).collect::<Vec<_>>();
    let own = by_platform(None);
    assert_eq!((own.len(), own[0].trusted), (1, true), "the index's own signature: {own:?}");
    let amd_sigs = by_platform(Some("linux/amd64"));
    assert_eq!(amd_sigs.len(), 1, "{:?}", r.signatures);
    assert!(amd_sigs[0].trusted, "{:?}", amd_sigs[0]);
    assert_eq!(amd_sigs[0].subject.as_deref(), Some(amd.digest.to_string().as_str()));
    assert_eq!(amd_sigs[0].source, steward::oci::trust::SignatureSource::Tag);
    let arm_sigs = by_platform(Some("linux/arm64/v8"));
    assert_eq!(arm_sigs.len(), 1, "{:?}", r.signatures);
    assert_eq!(arm_sigs[0].problem, Some(SignatureProblem::DigestMismatch), "{:?}", arm_sigs[0]);
    // The default policy asks for the index's signature only.
    assert_eq!(r.verdict(), Verdict::Allow, "{}", messages(&r));
    assert_eq!(r.input["signatures"][1]["platform"], "linux/amd64", "{}", r.input["signatures"]);
    let text = steward::oci::report::text(&r, false);
    assert!(text.contains("signature (linux/arm64/v8)"), "{text}");
}

#[test]
fn an_index_is_judged_by_the_sboms_of_its_platform_manifests_and_drift_pairs_platforms() {
    let Some(reg) = Registry::distribution() else { return };
    let (key, trusted) = release_key();
    index_with_platform_sboms(&reg, "v1.0.0", "MIT", "MIT", &key);
    index_with_platform_sboms(&reg, "v1.1.0", "MIT", "SSPL-1.0", &key);
    let check = Check {
        keys: &trusted,
        previous: Previous::Auto,
        first_seen: Some(t("2026-03-01T00:00:00Z")),
        now: t("2026-11-27T12:00:00Z"),
    };

    let r = check.run(&reg.reference(&format!("{REPO}:v1.0.0"))).unwrap();
    assert_eq!(r.collected.kind, ArtifactKind::Index);
    let found: Vec<(Option<&str>, String)> =
        r.collected.sboms.iter().map(|s| (s.platform.as_deref(), s.subject.to_string())).collect();
    let platforms: Vec<String> = r.collected.platforms.iter().map(|p| p.digest.clone()).collect();
    assert_eq!(
        found,
        [(Some("linux/amd64"), platforms[0].clone()), (Some("linux/arm64/v8"), platforms[1].clone())],
        "each platform's SBOM, with the manifest it describes"
    );
    assert_eq!(r.sbom_packages, 4, "demo-app and left-pad in each platform's document");
    assert_eq!(r.verdict(), Verdict::Allow, "{}", messages(&r));
    assert!(rules(&r, Verdict::Allow).contains(&"sbom.present".to_string()), "{}", messages(&r));
    assert_eq!(r.input["sboms"][1]["platform"], "linux/arm64/v8", "{}", r.input["sboms"]);

    // Only arm64 moved to SSPL: one drift finding, on arm64's document.
    let r = check.run(&reg.reference(&format!("{REPO}:v1.1.0"))).unwrap();
    assert_eq!(r.collected.previous.as_ref().and_then(|p| p.reference.tag.as_deref()), Some("v1.0.0"));
    assert_eq!(r.collected.previous.as_ref().unwrap().sboms.len(), 2, "the previous index's platform SBOMs");
    let text = messages(&r);
    assert_eq!(r.verdict(), Verdict::Deny, "{text}");
    let drift: Vec<_> = r.evaluation.decisions.iter().filter(|d| d.rule == "drift.license").collect();
    assert_eq!(drift.len(), 1, "{text}");
    assert!(drift[0].message.contains("MIT → SSPL-1.0"), "{text}");
    let findings = &r.drift.as_ref().expect("a drift report").drift.findings;
    assert_eq!(findings.len(), 1, "amd64's unchanged document pairs with its own: {findings:?}");
    assert!(findings[0].graph.starts_with("platform-linux-arm64-v8/"), "{:?}", findings[0].graph);
}

#[test]
fn a_malformed_sbom_is_an_error_naming_the_referrer_and_a_dangling_referrer_a_warning() {
    let Some(reg) = Registry::distribution() else { return };
    let (key, trusted) = release_key();
    let check = Check {
        keys: &trusted,
        previous: Previous::Off,
        first_seen: Some(t("2026-03-01T00:00:00Z")),
        now: t("2026-11-27T12:00:00Z"),
    };
    let signed = |tag: &str| {
        let image = reg.push_image(REPO, tag, tag);
        let p = payload(&format!("{}/{REPO}", reg.host), &image.digest);
        reg.attach_signature(REPO, &image, &p, &key.sign(&p), true);
        image
    };

    // A referrer without an SBOM layer, and one the tag-schema index lists
    // but the registry no longer has (deleted after the index's last
    // update): both skipped with a warning.
    let image = signed("v1.0.0");
    let empty = reg.push_blob(REPO, b"{}");
    let no_layer = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","artifactType":"{SPDX}","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{empty}","size":2}},"layers":[],"subject":{}}}"#,
        image.json()
    );
    reg.attach(REPO, &image, SPDX, &no_layer);
    let gone = reg.attach_sbom(REPO, &image, SPDX, &spdx("demo-app", &[]));
    reg.delete_manifest(REPO, &gone.digest);
    let r = check.run(&reg.reference(&format!("{REPO}:v1.0.0"))).unwrap();
    let warnings = r.collected.warnings.join("\n");
    assert!(warnings.contains(&format!("SBOM referrer {} is listed but not found", gone.digest)), "{warnings}");
    assert!(warnings.contains("has no SBOM layer"), "{warnings}");
    assert_eq!(rules(&r, Verdict::Deny), ["sbom.required"], "{}", messages(&r));

    // An SBOM that does not parse: an error naming the referrer, no verdict.
    let image = signed("v2.0.0");
    let broken = reg.attach_sbom(REPO, &image, SPDX, "{\"spdxVersion\": \"SPDX-2.3\", \"packages\": [");
    let err = check.run(&reg.reference(&format!("{REPO}:v2.0.0"))).unwrap_err();
    assert_eq!(err.code(), "invalid-artifact", "{err}");
    let text = err.to_string();
    assert!(text.contains("sbom.spdx.json") && text.contains(&format!("referrer {}", broken.digest)), "{text}");
}
