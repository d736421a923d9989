//! Real OCI registries for the artifact tests, started on a free loopback
//! port with a temporary storage directory and killed when dropped (each
//! also runs under `timeout`, so none outlives a crashed test):
//!
//! - `docker-registry` (CNCF distribution 2.8.2, Debian's package): no
//!   referrers API (404), so clients use the referrers tag schema. Images
//!   are pushed into it with `skopeo copy` from an OCI layout.
//! - `ferro-oci-server` (crates.io, installed by `.ci/run` with `cargo
//!   install` into `~/.cache/steward/tools`): implements the OCI 1.1
//!   referrers API with `artifactType` filtering.
//!
//! Without a registry binary a test is skipped with a note on stderr, or
//! fails when `STEWARD_REQUIRE_ALL=1`.
#![allow(dead_code)] // each test binary uses a different part

use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use steward::oci::Digest;
use steward::oci::manifest::{COSIGN_SIGNATURE_ARTIFACT, COSIGN_SIMPLE_SIGNING, OCI_INDEX, OCI_MANIFEST};

#[path = "../common/skip.rs"]
mod skip;
#[allow(unused_imports)] // kept for tests that name it
pub use skip::REQUIRE_ALL;

/// Skips (returns `None` with a note) or, under `STEWARD_REQUIRE_ALL=1`, fails.
pub fn missing(what: &str) -> Option<Registry> {
    skip::skip(&format!(
        "{what} is not installed (apt-get install -y docker-registry skopeo; ferro-oci-server: see .ci/run)"
    ));
    None
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(name)).find(|p| p.is_file())
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// docker-registry: referrers tag schema.
    Distribution,
    /// ferro-oci-server: referrers API.
    Ferro,
}

/// A running registry, killed when dropped.
pub struct Registry {
    pub kind: Kind,
    pub host: String,
    child: Child,
    pub dir: tempfile::TempDir,
    http: reqwest::blocking::Client,
}

impl Drop for Registry {
    /// SIGTERM to `timeout`, which passes it on to the registry and exits
    /// (a SIGKILL would leave the registry running without its parent);
    /// SIGKILL only if that does not end it within five seconds.
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    /// docker-registry with a temp storage dir, or `None` (skipped).
    pub fn distribution() -> Option<Registry> {
        Registry::distribution_with("")
    }

    /// docker-registry that posts its push notifications to `url` with
    /// `Authorization: <authorization>` (blob events and pulls dropped), as
    /// `registry-howto.sh` configures it.
    pub fn notifying(url: &str, authorization: &str) -> Option<Registry> {
        Registry::distribution_with(&format!(
            "notifications:\n  events:\n    includereferences: true\n  endpoints:\n    - name: steward\n      url: {url}\n      headers:\n        Authorization: [{authorization}]\n      timeout: 5s\n      threshold: 3\n      backoff: 500ms\n      ignore:\n        mediatypes: [application/octet-stream]\n        actions: [pull]\n"
        ))
    }

    /// docker-registry with `extra` appended to its YAML configuration.
    pub fn distribution_with(extra: &str) -> Option<Registry> {
        let Some(bin) = which("docker-registry") else { return missing("docker-registry") };
        if which("skopeo").is_none() {
            return missing("skopeo");
        }
        let dir = tempfile::tempdir().unwrap();
        // A port that was free a moment ago may be taken before the registry
        // binds it (neither registry can report a port it chose itself):
        // on "address already in use", try another.
        for attempt in 1.. {
            let port = free_port();
            let config = format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  cache:\n    blobdescriptor: inmemory\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: test-only-not-a-secret\n",
                dir.path().join("storage").display()
            ) + extra;
            std::fs::write(dir.path().join("config.yml"), config).unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let child = Command::new("timeout")
                .args(["600", bin.to_str().unwrap(), "serve"])
                .arg(dir.path().join("config.yml"))
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start docker-registry");
            match Registry::wait(Kind::Distribution, format!("127.0.0.1:{port}"), child, &dir) {
                Ok((child, http)) => {
                    return Some(Registry {
                        kind: Kind::Distribution,
                        host: format!("127.0.0.1:{port}"),
                        child,
                        dir,
                        http,
                    });
                }
                Err(log) if attempt < 3 && log.contains("address already in use") => continue,
                Err(log) => panic!("docker-registry exited early:\n{log}"),
            }
        }
        unreachable!()
    }

    /// ferro-oci-server, or `None` (skipped).
    pub fn ferro() -> Option<Registry> {
        let bin = std::env::var_os("STEWARD_FERRO_OCI_SERVER")
            .map(PathBuf::from)
            .or_else(|| which("ferro-oci-server"))
            .or_else(|| {
                let p = Path::new(&std::env::var("HOME").ok()?).join(".cache/steward/tools/bin/ferro-oci-server");
                p.is_file().then_some(p)
            });
        let Some(bin) = bin else { return missing("ferro-oci-server") };
        let dir = tempfile::tempdir().unwrap();
        for attempt in 1.. {
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let child = Command::new("timeout")
                .arg("600")
                .arg(&bin)
                .env("FERRO_OCI_LISTEN", format!("127.0.0.1:{port}"))
                .env("FERRO_OCI_STORAGE_DIR", dir.path().join("storage"))
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start ferro-oci-server");
            match Registry::wait(Kind::Ferro, format!("127.0.0.1:{port}"), child, &dir) {
                Ok((child, http)) => {
                    return Some(Registry { kind: Kind::Ferro, host: format!("127.0.0.1:{port}"), child, dir, http });
                }
                Err(log) if attempt < 3 && log.to_lowercase().contains("address already in use") => continue,
                Err(log) => panic!("ferro-oci-server exited early:\n{log}"),
            }
        }
        unreachable!()
    }

    /// Waits until the registry answers `/v2/`; `Err(log)` if it exited.
    fn wait(
        kind: Kind,
        host: String,
        mut child: Child,
        dir: &tempfile::TempDir,
    ) -> Result<(Child, reqwest::blocking::Client), String> {
        let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if child.try_wait().unwrap().is_some() {
                return Err(std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default());
            }
            if http.get(format!("http://{host}/v2/")).send().is_ok_and(|r| r.status().is_success()) {
                return Ok((child, http));
            }
            assert!(Instant::now() < deadline, "{kind:?} registry did not answer on {host}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn reference(&self, repo_and_tag: &str) -> String {
        format!("oci://{}/{repo_and_tag}", self.host)
    }

    /// Uploads a blob (monolithic POST + PUT).
    pub fn push_blob(&self, repo: &str, bytes: &[u8]) -> Digest {
        let digest = Digest::sha256(bytes);
        let r = self.http.post(format!("http://{}/v2/{repo}/blobs/uploads/", self.host)).send().unwrap();
        assert!(r.status().is_success(), "start upload: {}", r.status());
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        let loc = if loc.starts_with('/') { format!("http://{}{loc}", self.host) } else { loc };
        let sep = if loc.contains('?') { '&' } else { '?' };
        let r = self
            .http
            .put(format!("{loc}{sep}digest={digest}"))
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "finish upload of {digest}");
        digest
    }

    /// PUTs a manifest by tag or digest; returns its digest.
    pub fn put_manifest(&self, repo: &str, reference: &str, bytes: &[u8], media_type: &str) -> Digest {
        let r = self
            .http
            .put(format!("http://{}/v2/{repo}/manifests/{reference}", self.host))
            .header("content-type", media_type)
            .body(bytes.to_vec())
            .send()
            .unwrap();
        let status = r.status();
        assert!(status.is_success(), "PUT manifest {repo}:{reference}: {status} {}", r.text().unwrap_or_default());
        Digest::sha256(bytes)
    }

    /// Pushes a one-layer image whose config carries `label` (so each
    /// label gives another digest). docker-registry gets it through
    /// `skopeo copy` from an OCI layout, as a real pipeline would; ferro
    /// through the HTTP push flow.
    pub fn push_image(&self, repo: &str, tag: &str, label: &str) -> Desc {
        let layer = std::fs::read(data("registry-run/layer.tar.gz")).unwrap();
        let mut tar = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&layer[..]), &mut tar).unwrap();
        let diff_id = Digest::sha256(&tar);
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","config":{{"Labels":{{"steward.test":"{label}"}}}},"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#
        );
        let config_d = Digest::sha256(config.as_bytes());
        let layer_d = Digest::sha256(&layer);
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_d}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{layer_d}","size":{}}}]}}"#,
            config.len(),
            layer.len()
        );
        let digest = Digest::sha256(manifest.as_bytes());
        match self.kind {
            Kind::Distribution => {
                let layout = tempfile::tempdir().unwrap();
                let blobs = layout.path().join("blobs/sha256");
                std::fs::create_dir_all(&blobs).unwrap();
                for (d, b) in [(&config_d, config.as_bytes()), (&layer_d, &layer[..]), (&digest, manifest.as_bytes())] {
                    std::fs::write(blobs.join(d.hex()), b).unwrap();
                }
                std::fs::write(layout.path().join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
                let index = format!(
                    r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{digest}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"{tag}"}}}}]}}"#,
                    manifest.len()
                );
                std::fs::write(layout.path().join("index.json"), index).unwrap();
                let out = Command::new("timeout")
                    .args(["120", "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--preserve-digests"])
                    .arg(format!("oci:{}:{tag}", layout.path().display()))
                    .arg(format!("docker://{}/{repo}:{tag}", self.host))
                    .output()
                    .expect("run skopeo");
                assert!(out.status.success(), "skopeo copy: {}", String::from_utf8_lossy(&out.stderr));
            }
            Kind::Ferro => {
                self.push_blob(repo, config.as_bytes());
                self.push_blob(repo, &layer);
                self.put_manifest(repo, tag, manifest.as_bytes(), OCI_MANIFEST);
            }
        }
        Desc { media_type: OCI_MANIFEST.into(), digest, size: manifest.len() }
    }

    /// Pushes `manifest` (with `subject`) by digest and, on a registry
    /// without the referrers API, adds it to the subject's referrers tag
    /// schema index, as the distribution spec asks clients to.
    pub fn attach(&self, repo: &str, subject: &Desc, artifact_type: &str, manifest: &str) -> Desc {
        let digest = Digest::sha256(manifest.as_bytes());
        self.put_manifest(repo, &digest.to_string(), manifest.as_bytes(), OCI_MANIFEST);
        let desc = Desc { media_type: OCI_MANIFEST.into(), digest, size: manifest.len() };
        if self.kind == Kind::Distribution {
            let tag = subject.digest.referrers_tag();
            let url = format!("http://{}/v2/{repo}/manifests/{tag}", self.host);
            let existing = self.http.get(&url).header("accept", OCI_INDEX).send().unwrap();
            let mut entries: Vec<serde_json::Value> = if existing.status().is_success() {
                let v: serde_json::Value = existing.json().unwrap();
                v["manifests"].as_array().cloned().unwrap_or_default()
            } else {
                Vec::new()
            };
            entries.push(serde_json::json!({
                "mediaType": OCI_MANIFEST, "digest": desc.digest.to_string(), "size": desc.size, "artifactType": artifact_type,
            }));
            let index =
                serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).to_string();
            self.put_manifest(repo, &tag, index.as_bytes(), OCI_INDEX);
        }
        desc
    }

    /// An SBOM referrer (`artifactType` = `media_type`) of `subject`.
    pub fn attach_sbom(&self, repo: &str, subject: &Desc, media_type: &str, document: &str) -> Desc {
        let empty = self.push_blob(repo, b"{}");
        let blob = self.push_blob(repo, document.as_bytes());
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","artifactType":"{media_type}","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{empty}","size":2}},"layers":[{{"mediaType":"{media_type}","digest":"{blob}","size":{}}}],"subject":{}}}"#,
            document.len(),
            subject.json()
        );
        self.attach(repo, subject, media_type, &manifest)
    }

    /// A cosign-style signature over `payload`, either as an OCI 1.1
    /// referrer of `subject` or under the legacy `<alg>-<hex>.sig` tag.
    pub fn attach_signature(
        &self,
        repo: &str,
        subject: &Desc,
        payload: &str,
        signature_b64: &str,
        legacy: bool,
    ) -> Digest {
        self.attach_logged_signature(repo, subject, payload, signature_b64, None, legacy)
    }

    /// [`Registry::attach_signature`] with cosign's transparency-log
    /// bundle in the layer's `dev.sigstore.cosign/bundle` annotation.
    pub fn attach_logged_signature(
        &self,
        repo: &str,
        subject: &Desc,
        payload: &str,
        signature_b64: &str,
        bundle: Option<&str>,
        legacy: bool,
    ) -> Digest {
        let bundle = bundle
            .map(|b| format!(r#","dev.sigstore.cosign/bundle":{}"#, serde_json::Value::from(b)))
            .unwrap_or_default();
        let payload_d = self.push_blob(repo, payload.as_bytes());
        let config = format!(
            r#"{{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{{"created":"0001-01-01T00:00:00Z"}}],"os":"","rootfs":{{"type":"layers","diff_ids":["{payload_d}"]}},"config":{{}}}}"#
        );
        let config_d = self.push_blob(repo, config.as_bytes());
        let layer = format!(
            r#"{{"mediaType":"{COSIGN_SIMPLE_SIGNING}","size":{},"digest":"{payload_d}","annotations":{{"dev.cosignproject.cosign/signature":"{signature_b64}"{bundle}}}}}"#,
            payload.len()
        );
        if legacy {
            let manifest = format!(
                r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","size":{},"digest":"{config_d}"}},"layers":[{layer}]}}"#,
                config.len()
            );
            self.put_manifest(repo, &subject.digest.signature_tag(), manifest.as_bytes(), OCI_MANIFEST)
        } else {
            let manifest = format!(
                r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","artifactType":"{COSIGN_SIGNATURE_ARTIFACT}","config":{{"mediaType":"{COSIGN_SIGNATURE_ARTIFACT}","size":{},"digest":"{config_d}"}},"layers":[{layer}],"subject":{}}}"#,
                config.len(),
                subject.json()
            );
            self.attach(repo, subject, COSIGN_SIGNATURE_ARTIFACT, &manifest).digest
        }
    }

    /// Deletes a manifest by digest (docker-registry has deletes enabled).
    pub fn delete_manifest(&self, repo: &str, digest: &Digest) {
        let r = self.http.delete(format!("http://{}/v2/{repo}/manifests/{digest}", self.host)).send().unwrap();
        assert!(r.status().is_success(), "DELETE {digest}: {}", r.status());
    }

    /// The file a blob is stored in (docker-registry's filesystem layout).
    pub fn blob_file(&self, digest: &Digest) -> PathBuf {
        assert_eq!(self.kind, Kind::Distribution);
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&digest.hex()[..2])
            .join(digest.hex())
            .join("data")
    }
}

/// A descriptor of something pushed.
#[derive(Debug, Clone)]
pub struct Desc {
    pub media_type: String,
    pub digest: Digest,
    pub size: usize,
}

impl Desc {
    pub fn json(&self) -> String {
        format!(r#"{{"mediaType":"{}","digest":"{}","size":{}}}"#, self.media_type, self.digest, self.size)
    }
}

pub fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/oci").join(path)
}

/// cosign's simple-signing payload for `digest` in `host/repo`.
pub fn payload(host_repo: &str, digest: &Digest) -> String {
    format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"{host_repo}"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#
    )
}

/// A test signing key (P-256 from a fixed seed) and its PEM.
pub struct TestKey {
    key: p256::ecdsa::SigningKey,
}

impl TestKey {
    pub fn p256(seed: u8) -> TestKey {
        TestKey { key: p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap() }
    }

    pub fn public(&self) -> steward::oci::signature::PublicKey {
        steward::oci::signature::PublicKey::P256(*self.key.verifying_key())
    }

    /// Base64 DER ECDSA signature over `payload`, as cosign writes it.
    pub fn sign(&self, payload: &str) -> String {
        let sig: p256::ecdsa::Signature = self.key.sign(payload.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(sig.to_der().as_bytes())
    }

    /// As a transparency log (Rekor's form, this key standing in for the
    /// log's): cosign's bundle for `signature_b64` over `payload`, a
    /// `hashedrekord` entry integrated at `integrated` (Unix seconds) and
    /// its signed entry timestamp. The real Rekor key cannot sign test
    /// entries; `src/oci/rekor.rs` checks a real one.
    pub fn log_bundle(&self, payload: &str, signature_b64: &str, integrated: i64) -> String {
        use base64::Engine as _;
        use sha2::Digest as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let body = serde_json::json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(sha2::Sha256::digest(payload.as_bytes()))}},
            "signature": {"content": signature_b64, "publicKey": {"content": ""}}}});
        let log_id = self.public().fingerprint().trim_start_matches("sha256:").to_string();
        let unsigned = serde_json::json!({"SignedEntryTimestamp": "", "Payload": {
            "body": b64(body.to_string().as_bytes()), "integratedTime": integrated, "logIndex": 42, "logID": log_id}});
        let signed = steward::oci::rekor::Bundle::parse(&unsigned.to_string()).unwrap().signed_bytes();
        let set: p256::ecdsa::Signature = self.key.sign(&signed);
        let mut bundle = unsigned;
        bundle["SignedEntryTimestamp"] = b64(set.to_der().as_bytes()).into();
        bundle.to_string()
    }
}

/// An ed25519 key from a fixed seed; base64 signature over `payload`.
pub fn ed25519_sign(seed: u8, payload: &str) -> (steward::oci::signature::PublicKey, String) {
    use ed25519_dalek::Signer as _;
    let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    let sig = key.sign(payload.as_bytes());
    (
        steward::oci::signature::PublicKey::Ed25519(key.verifying_key()),
        base64::engine::general_purpose::STANDARD.encode(sig.to_bytes()),
    )
}

/// A small SPDX 2.3 SBOM: `app` (described) depends on each `(name, version, license)`.
pub fn spdx(name: &str, deps: &[(&str, &str, &str)]) -> String {
    let mut packages = vec![format!(
        r#"{{"name":"{name}","SPDXID":"SPDXRef-app","versionInfo":"1.0.0","downloadLocation":"NOASSERTION","licenseConcluded":"Apache-2.0","licenseDeclared":"Apache-2.0","copyrightText":"NOASSERTION"}}"#
    )];
    let mut relationships = vec![
        r#"{"spdxElementId":"SPDXRef-DOCUMENT","relationshipType":"DESCRIBES","relatedSpdxElement":"SPDXRef-app"}"#
            .to_string(),
    ];
    for (i, (dep, version, license)) in deps.iter().enumerate() {
        packages.push(format!(
            r#"{{"name":"{dep}","SPDXID":"SPDXRef-dep-{i}","versionInfo":"{version}","downloadLocation":"NOASSERTION","licenseConcluded":"{license}","licenseDeclared":"{license}","copyrightText":"NOASSERTION","externalRefs":[{{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:npm/{dep}@{version}"}}]}}"#
        ));
        relationships.push(format!(
            r#"{{"spdxElementId":"SPDXRef-app","relationshipType":"DEPENDS_ON","relatedSpdxElement":"SPDXRef-dep-{i}"}}"#
        ));
    }
    format!(
        r#"{{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"{name}","documentNamespace":"https://example.invalid/spdx/{name}","creationInfo":{{"created":"2026-01-01T00:00:00Z","creators":["Tool: steward-tests"]}},"packages":[{}],"relationships":[{}]}}"#,
        packages.join(","),
        relationships.join(",")
    )
}
