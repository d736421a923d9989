//! Manifests as the OCI image spec and Docker's v2 schema 2 write them:
//! image manifests, image indexes (and Docker manifest lists), their
//! descriptors, and what kind of artifact a manifest is.
//!
//! Parsing is tolerant of extension fields (the spec allows them) and
//! strict about what Steward relies on: `schemaVersion` 2, valid digests,
//! non-negative sizes, a known top-level media type.

use super::digest::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const DOCKER_IMAGE_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
pub const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
pub const HELM_CHART_CONTENT: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
pub const COSIGN_SIGNATURE_ARTIFACT: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
pub const COSIGN_SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const COSIGN_SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

/// What a registry is asked for when a manifest is fetched.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json";

/// SBOM formats Steward reads from a referrer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SbomFormat {
    SpdxJson,
    CyclonedxJson,
}

impl SbomFormat {
    /// By an `artifactType` or a layer media type.
    pub fn from_media_type(media_type: &str) -> Option<SbomFormat> {
        let base = media_type.split(';').next().unwrap_or("").trim();
        match base {
            "application/spdx+json" | "text/spdx+json" | "application/vnd.spdx+json" => Some(SbomFormat::SpdxJson),
            "application/vnd.cyclonedx+json" | "application/cyclonedx+json" => Some(SbomFormat::CyclonedxJson),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SbomFormat::SpdxJson => "spdx-json",
            SbomFormat::CyclonedxJson => "cyclonedx-json",
        }
    }

    /// A file name the scanner recognises for this format.
    pub fn file_name(self) -> &'static str {
        match self {
            SbomFormat::SpdxJson => "sbom.spdx.json",
            SbomFormat::CyclonedxJson => "sbom.cdx.json",
        }
    }
}

/// A platform of an index entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, rename = "os.version", skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
}

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

/// An image manifest (OCI or Docker v2 schema 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageManifest {
    /// The top-level media type (from the body, else the response, else OCI's).
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    pub subject: Option<Descriptor>,
    pub annotations: BTreeMap<String, String>,
}

/// An image index (OCI or a Docker manifest list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageIndex {
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub manifests: Vec<Descriptor>,
    pub subject: Option<Descriptor>,
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // a handful per check; boxing buys nothing
pub enum Manifest {
    Image(ImageManifest),
    Index(ImageIndex),
}

/// What an artifact is, for reports and the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactKind {
    /// A container image (an image manifest with an image config).
    Image,
    /// An image index: one image per platform.
    Index,
    /// A Helm chart: a chart content layer or the Helm config media type.
    HelmChart,
    /// Anything else, named by its `artifactType` (or config media type).
    Artifact,
}

impl ArtifactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::Image => "image",
            ArtifactKind::Index => "index",
            ArtifactKind::HelmChart => "helm-chart",
            ArtifactKind::Artifact => "artifact",
        }
    }
}

/// A manifest that cannot be used; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("manifest: {0}")]
pub struct ManifestError(pub String);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    schema_version: Option<u64>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    subject: Option<Descriptor>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

impl Manifest {
    /// Parses manifest bytes. `content_type` is the response's media type,
    /// used when the body has no `mediaType` (old Helm pushes have none).
    pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Manifest, ManifestError> {
        let raw: Raw = serde_json::from_slice(bytes).map_err(|e| ManifestError(format!("not a manifest ({e})")))?;
        if raw.schema_version != Some(2) {
            return Err(ManifestError(format!(
                "schemaVersion is {}, not 2 (Docker schema 1 is not supported)",
                raw.schema_version.map_or("missing".to_string(), |v| v.to_string())
            )));
        }
        let header = content_type
            .map(|c| c.split(';').next().unwrap_or("").trim().to_string())
            .filter(|c| matches!(c.as_str(), OCI_MANIFEST | OCI_INDEX | DOCKER_MANIFEST | DOCKER_MANIFEST_LIST));
        let media_type = match (raw.media_type, header) {
            (Some(m), _) => m,
            (None, Some(h)) => h,
            (None, None) if raw.manifests.is_some() => OCI_INDEX.to_string(),
            (None, None) => OCI_MANIFEST.to_string(),
        };
        match media_type.as_str() {
            OCI_MANIFEST | DOCKER_MANIFEST => {
                let config = raw.config.ok_or_else(|| ManifestError("image manifest without `config`".into()))?;
                Ok(Manifest::Image(ImageManifest {
                    media_type,
                    artifact_type: raw.artifact_type,
                    config,
                    layers: raw.layers.unwrap_or_default(),
                    subject: raw.subject,
                    annotations: raw.annotations,
                }))
            }
            OCI_INDEX | DOCKER_MANIFEST_LIST => Ok(Manifest::Index(ImageIndex {
                media_type,
                artifact_type: raw.artifact_type,
                manifests: raw.manifests.ok_or_else(|| ManifestError("image index without `manifests`".into()))?,
                subject: raw.subject,
                annotations: raw.annotations,
            })),
            other => {
                Err(ManifestError(format!("unsupported mediaType {:?}", other.chars().take(100).collect::<String>())))
            }
        }
    }

    pub fn media_type(&self) -> &str {
        match self {
            Manifest::Image(m) => &m.media_type,
            Manifest::Index(i) => &i.media_type,
        }
    }

    pub fn annotations(&self) -> &BTreeMap<String, String> {
        match self {
            Manifest::Image(m) => &m.annotations,
            Manifest::Index(i) => &i.annotations,
        }
    }

    pub fn subject(&self) -> Option<&Descriptor> {
        match self {
            Manifest::Image(m) => m.subject.as_ref(),
            Manifest::Index(i) => i.subject.as_ref(),
        }
    }

    /// The artifact type as the referrers API reports it: `artifactType`,
    /// else (for an image manifest) the config's media type.
    pub fn effective_artifact_type(&self) -> Option<&str> {
        match self {
            Manifest::Image(m) => m.artifact_type.as_deref().or(Some(m.config.media_type.as_str())),
            Manifest::Index(i) => i.artifact_type.as_deref(),
        }
    }

    /// Image, index, Helm chart or other artifact.
    pub fn kind(&self) -> ArtifactKind {
        match self {
            Manifest::Index(_) => ArtifactKind::Index,
            Manifest::Image(m) => {
                let chart_layer = m.layers.iter().any(|l| l.media_type == HELM_CHART_CONTENT);
                if m.config.media_type == HELM_CONFIG || chart_layer {
                    ArtifactKind::HelmChart
                } else if m.artifact_type.is_none()
                    && matches!(m.config.media_type.as_str(), OCI_IMAGE_CONFIG | DOCKER_IMAGE_CONFIG)
                {
                    ArtifactKind::Image
                } else {
                    ArtifactKind::Artifact
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/oci").join(path);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn reads_the_fixture_manifests_and_tells_their_kinds() {
        let m = Manifest::parse(&fixture("registry-run/image-manifest.json"), None).unwrap();
        assert_eq!(m.kind(), ArtifactKind::Image);
        let Manifest::Image(img) = &m else { panic!() };
        assert_eq!(img.layers.len(), 1);

        let idx = Manifest::parse(&fixture("manifests/regclient-testrepo/v2.image-index.json"), None).unwrap();
        assert_eq!(idx.kind(), ArtifactKind::Index);
        let Manifest::Index(i) = &idx else { panic!() };
        let platforms: Vec<String> = i
            .manifests
            .iter()
            .filter_map(|d| d.platform.as_ref())
            .map(|p| {
                format!(
                    "{}/{}{}",
                    p.os,
                    p.architecture,
                    p.variant.as_ref().map(|v| format!("/{v}")).unwrap_or_default()
                )
            })
            .collect();
        assert!(platforms.contains(&"linux/arm/v7".to_string()), "{platforms:?}");

        let sbom = Manifest::parse(&fixture("registry-run/sbom-manifest.json"), None).unwrap();
        assert_eq!(sbom.kind(), ArtifactKind::Artifact);
        assert_eq!(sbom.effective_artifact_type(), Some("application/spdx+json"));
        assert!(sbom.subject().is_some());

        // Old Helm pushes have no top-level mediaType.
        let chart = Manifest::parse(&fixture("manifests/helm/chart-manifest.helm-registry-test.json"), None).unwrap();
        assert_eq!(chart.kind(), ArtifactKind::HelmChart);
        assert_eq!(chart.media_type(), OCI_MANIFEST);

        let tag_index = Manifest::parse(
            &fixture("manifests/regclient-testrepo/referrers-tag-schema-index.sha256-dfae8f42.json"),
            None,
        )
        .unwrap();
        let Manifest::Index(t) = tag_index else { panic!() };
        assert!(t.manifests.iter().all(|d| d.artifact_type.is_some()));
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        let not_json = fixture("manifests/distribution-spec/referrers-response.spec-example.NOT-VALID-JSON.txt");
        assert!(Manifest::parse(&not_json, None).is_err());
        for bad in [
            r#"{"schemaVersion":1,"name":"x"}"#,
            r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#,
            r#"{"schemaVersion":2,"mediaType":"text/plain","config":{}}"#,
            r#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:abc","size":1},"layers":[]}"#,
            r#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":-1},"layers":[]}"#,
        ] {
            assert!(Manifest::parse(bad.as_bytes(), None).is_err(), "{bad}");
        }
        assert_eq!(
            SbomFormat::from_media_type("application/vnd.cyclonedx+json; version=1.5"),
            Some(SbomFormat::CyclonedxJson)
        );
    }
}
