//! Registry notifications mapped to `artifact` jobs: data in, jobs out.
//!
//! The CNCF distribution registry posts an envelope of events
//! (`{"events": [...]}`, `application/vnd.docker.distribution.events.v1+json`).
//! Every `push` of a manifest asks for a check:
//!
//! - a tagged push (`repo:v1.2.0`) checks that digest under that tag;
//! - a push of the referrers tag schema index (tag `sha256-<hex>`, a new
//!   SBOM or signature referrer) or of a cosign `.sig`/`.att` manifest
//!   (tag `sha256-<hex>.sig`) checks the subject `sha256:<hex>` again;
//! - a push by digest only of an OCI manifest or index (a referrer on a
//!   registry with the referrers API, which pushes no tag-schema index)
//!   queues a job that reads the pushed manifest's `subject` and checks
//!   that subject again; a manifest without one (a platform manifest of an
//!   index) asks for nothing then. On a tag-schema registry a referrer's
//!   two pushes (by digest, then the index) both re-check the subject;
//! - every other action (pull, delete, mount) asks for nothing.
//!
//! The registry's address is the `Host` the pushing client used
//! (`request.host`, else the host of `target.url`): the name references
//! use, not the registry's own idea of itself (`source.addr`).

use super::artifacts::ArtifactJob;
use crate::oci::Digest;
use crate::oci::reference::{MAX_REFERENCE_LEN, valid_tag};
use serde::Deserialize;

/// Events read from one envelope (the registry sends one per request by
/// default; `threshold` settings can batch more).
pub const MAX_EVENTS: usize = 1000;

/// Manifest media types a push of which is an artifact.
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

#[derive(Debug, Deserialize)]
struct Envelope {
    events: Vec<Event>,
}

#[derive(Debug, Deserialize)]
struct Event {
    #[serde(default)]
    id: Option<String>,
    action: String,
    #[serde(default)]
    target: Option<Target>,
    #[serde(default)]
    request: Option<RequestInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    repository: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    tag: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RequestInfo {
    #[serde(default)]
    host: Option<String>,
}

/// What one envelope asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Notification {
    /// One job per manifest push worth a check, in event order.
    pub jobs: Vec<ArtifactJob>,
    /// Events that ask for nothing.
    pub ignored: usize,
}

/// Why an envelope cannot be read (the registry should not retry it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotificationError(pub String);

/// Reads an authenticated envelope.
pub fn jobs_for(body: &[u8]) -> Result<Notification, NotificationError> {
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|e| NotificationError(format!("not a registry notification envelope ({{\"events\": [...]}}): {e}")))?;
    if envelope.events.len() > MAX_EVENTS {
        return Err(NotificationError(format!(
            "{} events in one envelope; at most {MAX_EVENTS}",
            envelope.events.len()
        )));
    }
    let mut out = Notification::default();
    for (i, event) in envelope.events.into_iter().enumerate() {
        match job_for(event) {
            Ok(Some(job)) => out.jobs.push(job),
            Ok(None) => out.ignored += 1,
            Err(message) => return Err(NotificationError(format!("events[{i}]: {message}"))),
        }
    }
    Ok(out)
}

fn job_for(event: Event) -> Result<Option<ArtifactJob>, String> {
    if event.action != "push" {
        return Ok(None);
    }
    let Some(target) = event.target else { return Err("a push without `target`".into()) };
    let media_type = target.media_type.as_deref().unwrap_or("");
    if !MANIFEST_TYPES.contains(&media_type) {
        return Ok(None); // a blob, or a manifest type Steward does not check
    }
    let repository = target.repository.as_deref().ok_or("a push without `target.repository`")?;
    let pushed = target.digest.as_deref().ok_or("a push without `target.digest`")?;
    let pushed = Digest::parse(pushed).map_err(|e| format!("target.digest: {e}"))?;
    let host = event
        .request
        .and_then(|r| r.host)
        .filter(|h| !h.is_empty())
        .or_else(|| target.url.as_deref().and_then(url_host))
        .ok_or("no registry host (`request.host` or `target.url`)")?;
    let (digest, tag, by_digest) = match target.tag.as_deref() {
        // By digest only: only OCI manifests and indexes carry a `subject`.
        None if media_type == MANIFEST_TYPES[0] || media_type == MANIFEST_TYPES[1] => (pushed.clone(), None, true),
        None => return Ok(None),
        Some(tag) if !valid_tag(tag) => {
            return Err(format!("target.tag {:?} is not a tag", tag.chars().take(80).collect::<String>()));
        }
        Some(tag) => match subject_of_tag(tag) {
            Some(subject) => (subject, None, false),
            None => (pushed.clone(), Some(tag.to_string()), false),
        },
    };
    let job = ArtifactJob {
        repository: format!("{host}/{repository}"),
        digest: digest.to_string(),
        tag,
        pushed: pushed.to_string(),
        event: event.id.map(|id| id.chars().take(100).collect()),
        by_digest,
    };
    // Host and repository are validated as a reference before queuing.
    if job.repository.len() > MAX_REFERENCE_LEN {
        return Err("target.repository is too long".into());
    }
    job.reference().map_err(|e| e.to_string())?;
    Ok(Some(job))
}

/// `sha256-<hex>` (referrers tag schema), `sha256-<hex>.sig` / `.att`
/// (cosign): the subject's digest.
fn subject_of_tag(tag: &str) -> Option<Digest> {
    let base = tag.strip_suffix(".sig").or_else(|| tag.strip_suffix(".att")).unwrap_or(tag);
    let (alg, hex) = base.split_once('-')?;
    Digest::parse(&format!("{alg}:{hex}")).ok()
}

fn url_host(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let host = u.host_str()?;
    let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
    Some(match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/oci/notifications").join(name);
        std::fs::read(p).unwrap()
    }

    #[test]
    fn captured_notifications_map_to_checks() {
        let n = jobs_for(&fixture("push-image-tag-v1.skopeo.json")).unwrap();
        assert_eq!(n.jobs.len(), 1);
        let job = &n.jobs[0];
        assert_eq!(job.repository, "127.0.0.1:44411/steward/demo");
        assert_eq!(job.tag.as_deref(), Some("v1"));
        assert_eq!(job.digest, job.pushed);
        assert_eq!(
            job.reference().unwrap().to_string(),
            format!("oci://127.0.0.1:44411/steward/demo:v1@{}", job.digest)
        );

        // The referrers index and the legacy signature re-check their subject.
        for name in ["push-referrers-tag-schema-index.json", "push-cosign-legacy-sig-tag.json"] {
            let n = jobs_for(&fixture(name)).unwrap();
            assert_eq!(n.jobs.len(), 1, "{name}");
            assert_eq!(
                n.jobs[0].digest, "sha256:981de2b13274fac839077756c9e8c4ce4a24c41a5f67be7efa03bbe4164f08f3",
                "{name}"
            );
            assert_eq!(n.jobs[0].tag, None);
            assert_ne!(n.jobs[0].pushed, n.jobs[0].digest);
        }

        // A referrer pushed by digest: a job that reads its subject.
        let n = jobs_for(&fixture("push-sbom-referrer-by-digest.json")).unwrap();
        assert_eq!(n.jobs.len(), 1);
        assert!(n.jobs[0].by_digest);
        assert_eq!((n.jobs[0].digest.as_str(), n.jobs[0].tag.as_deref()), (n.jobs[0].pushed.as_str(), None));

        // Deletes ask for nothing.
        for name in ["delete-manifest-by-digest.json", "delete-tag.json"] {
            let n = jobs_for(&fixture(name)).unwrap();
            assert!(n.jobs.is_empty(), "{name}");
            assert_eq!(n.ignored, 1, "{name}");
        }
    }

    #[test]
    fn malformed_envelopes_are_refused_with_the_field() {
        assert!(jobs_for(b"[]").unwrap_err().0.contains("envelope"));
        let bad = br#"{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","tag":"v1","repository":"a","digest":"sha256:zz","url":"http://h:1/"}}]}"#;
        assert!(jobs_for(bad).unwrap_err().0.contains("events[0]: target.digest"));
        let evil = format!(
            r#"{{"events":[{{"action":"push","target":{{"mediaType":"application/vnd.oci.image.manifest.v1+json","tag":"v1","repository":"A/../x","digest":"sha256:{}"}},"request":{{"host":"h:1"}}}}]}}"#,
            "a".repeat(64)
        );
        assert!(jobs_for(evil.as_bytes()).unwrap_err().0.contains("invalid repository"));
    }
}
