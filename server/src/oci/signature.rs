//! cosign-compatible signatures, checked without any network: public keys
//! (ed25519 and ECDSA P-256, SPKI PEM), the simple-signing payload, and the
//! signature over it.
//!
//! cosign stores a signature as a manifest layer whose blob is the payload
//! (`application/vnd.dev.cosign.simplesigning.v1+json`) and whose
//! annotation `dev.cosignproject.cosign/signature` holds the base64
//! signature. ed25519 signs the payload bytes; ECDSA signs SHA-256 of them
//! (ASN.1 DER; the 64-byte r‖s form is accepted too).

use super::digest::Digest;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

/// Largest simple-signing payload read.
pub const MAX_PAYLOAD_BYTES: u64 = 64 * 1024;

/// The `critical.type` cosign writes.
pub const COSIGN_PAYLOAD_TYPE: &str = "cosign container image signature";

/// A public key a signature can be checked with.
#[derive(Clone)]
pub enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({}, {})", self.algorithm(), self.fingerprint())
    }
}

/// A key that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM public key (expected -----BEGIN PUBLIC KEY-----)")]
    NotPem,
    #[error("{0} keys are not supported (allowed: ed25519, ECDSA P-256)")]
    Unsupported(&'static str),
    #[error("malformed public key: {0}")]
    Malformed(String),
}

const OID_RSA: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

impl PublicKey {
    /// Reads one `-----BEGIN PUBLIC KEY-----` block (SubjectPublicKeyInfo).
    pub fn from_pem(text: &str) -> Result<PublicKey, KeyError> {
        let der = pem_body(text)?;
        PublicKey::from_spki_der(&der)
    }

    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let has = |oid: &[u8]| der.windows(oid.len()).any(|w| w == oid);
        if has(OID_ED25519) {
            use ed25519_dalek::pkcs8::DecodePublicKey as _;
            return ed25519_dalek::VerifyingKey::from_public_key_der(der)
                .map(PublicKey::Ed25519)
                .map_err(|e| KeyError::Malformed(e.to_string()));
        }
        if has(OID_EC_PUBLIC_KEY) {
            if !has(OID_P256) {
                return Err(KeyError::Unsupported("ECDSA keys on curves other than P-256"));
            }
            use p256::pkcs8::DecodePublicKey as _;
            return p256::ecdsa::VerifyingKey::from_public_key_der(der)
                .map(PublicKey::P256)
                .map_err(|e| KeyError::Malformed(e.to_string()));
        }
        if has(OID_RSA) {
            return Err(KeyError::Unsupported("RSA"));
        }
        Err(KeyError::Unsupported("this algorithm's"))
    }

    /// `ed25519` or `ecdsa-p256`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) => "ed25519",
            PublicKey::P256(_) => "ecdsa-p256",
        }
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Vec<u8> {
        let der = match self {
            PublicKey::Ed25519(k) => {
                use ed25519_dalek::pkcs8::EncodePublicKey as _;
                k.to_public_key_der().map(|d| d.as_bytes().to_vec())
            }
            PublicKey::P256(k) => {
                use p256::pkcs8::EncodePublicKey as _;
                k.to_public_key_der().map(|d| d.as_bytes().to_vec())
            }
        };
        der.unwrap_or_default()
    }

    /// `sha256:<hex>` of the DER SubjectPublicKeyInfo: the key's stable id.
    pub fn fingerprint(&self) -> String {
        Digest::sha256(&self.spki_der()).to_string()
    }

    /// The key as PEM.
    pub fn to_pem(&self) -> String {
        let b64 = BASE64.encode(self.spki_der());
        let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            out.push('\n');
        }
        out.push_str("-----END PUBLIC KEY-----\n");
        out
    }

    /// True when `signature` (raw bytes) is this key's signature over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            PublicKey::Ed25519(k) => {
                ed25519_dalek::Signature::from_slice(signature).is_ok_and(|s| k.verify_strict(message, &s).is_ok())
            }
            PublicKey::P256(k) => {
                use p256::ecdsa::signature::Verifier as _;
                let sig = if signature.len() == 64 {
                    p256::ecdsa::Signature::from_slice(signature)
                } else {
                    p256::ecdsa::Signature::from_der(signature)
                };
                sig.is_ok_and(|s| k.verify(message, &s).is_ok())
            }
        }
    }
}

fn pem_body(text: &str) -> Result<Vec<u8>, KeyError> {
    let text = text.trim();
    let begin = "-----BEGIN PUBLIC KEY-----";
    let end = "-----END PUBLIC KEY-----";
    let start = text.find(begin).ok_or(KeyError::NotPem)? + begin.len();
    let stop = text[start..].find(end).ok_or(KeyError::NotPem)? + start;
    let b64: String = text[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    BASE64.decode(b64).map_err(|_| KeyError::Malformed("the PEM body is not base64".into()))
}

/// A simple-signing payload's fields Steward checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimpleSigning {
    pub docker_reference: String,
    pub manifest_digest: String,
    pub payload_type: String,
}

#[derive(Deserialize)]
struct RawPayload {
    critical: RawCritical,
}

#[derive(Deserialize)]
struct RawCritical {
    identity: RawIdentity,
    image: RawImage,
    #[serde(rename = "type")]
    payload_type: String,
}

#[derive(Deserialize)]
struct RawIdentity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Deserialize)]
struct RawImage {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

impl SimpleSigning {
    pub fn parse(bytes: &[u8]) -> Result<SimpleSigning, String> {
        if bytes.len() as u64 > MAX_PAYLOAD_BYTES {
            return Err(format!("payload is larger than {MAX_PAYLOAD_BYTES} bytes"));
        }
        let raw: RawPayload =
            serde_json::from_slice(bytes).map_err(|e| format!("not a simple-signing payload ({e})"))?;
        let bounded = |s: String| s.chars().take(300).collect::<String>();
        Ok(SimpleSigning {
            docker_reference: bounded(raw.critical.identity.docker_reference),
            manifest_digest: bounded(raw.critical.image.docker_manifest_digest),
            payload_type: bounded(raw.critical.payload_type),
        })
    }
}

/// Decodes the annotation's base64 signature (bounded).
pub fn decode_signature(annotation: &str) -> Result<Vec<u8>, String> {
    if annotation.len() > 4096 {
        return Err("signature annotation longer than 4096 characters".into());
    }
    BASE64.decode(annotation.trim()).map_err(|_| "signature annotation is not base64".into())
}

/// Does `docker-reference` name the artifact's repository? cosign writes
/// `host/repository` (some tools append `:tag` or `@digest`).
pub fn identity_matches(docker_reference: &str, repository_path: &str) -> bool {
    let bare = docker_reference.split('@').next().unwrap_or("");
    if bare == repository_path {
        return true;
    }
    match bare.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo == repository_path,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(path: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/oci/cosign").join(path);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn upstream_vectors_verify_and_wrong_keys_do_not() {
        let p256 = PublicKey::from_pem(&data("sigstore-rs-p256/cosign.pub")).unwrap();
        assert_eq!(p256.algorithm(), "ecdsa-p256");
        let payload = data("sigstore-rs-p256/payload.json");
        let sig = decode_signature(&data("sigstore-rs-p256/payload.sig")).unwrap();
        assert!(p256.verify(payload.as_bytes(), &sig));
        let wrong = PublicKey::from_pem(&data("sigstore-rs-p256/wrong.pub")).unwrap();
        assert!(!wrong.verify(payload.as_bytes(), &sig));
        let mut tampered = payload.clone().into_bytes();
        tampered[10] ^= 1;
        assert!(!p256.verify(&tampered, &sig));

        let ed = PublicKey::from_pem(&data("sigstore-go-ed25519/ed25519.pub")).unwrap();
        assert_eq!(ed.algorithm(), "ed25519");
        let msg = data("sigstore-go-ed25519/message.txt");
        assert!(ed.verify(msg.as_bytes(), &decode_signature(&data("sigstore-go-ed25519/message.sig")).unwrap()));
        let derived = data("derived-ed25519-simplesigning/payload.json");
        let dsig = decode_signature(&data("derived-ed25519-simplesigning/payload.sig")).unwrap();
        assert!(ed.verify(derived.as_bytes(), &dsig));
        assert!(!p256.verify(derived.as_bytes(), &dsig));

        let go = PublicKey::from_pem(&data("sigstore-go-p256/ecdsa.pub")).unwrap();
        let m = data("sigstore-go-p256/message.txt");
        assert!(go.verify(m.as_bytes(), &decode_signature(&data("sigstore-go-p256/message.sig")).unwrap()));
        assert!(go.verify(m.as_bytes(), &decode_signature(&data("sigstore-go-p256/message.ieee-p1363.sig")).unwrap()));

        // Round trip through our own PEM keeps the fingerprint.
        assert_eq!(PublicKey::from_pem(&p256.to_pem()).unwrap().fingerprint(), p256.fingerprint());
    }

    #[test]
    fn rsa_is_reported_as_unsupported_and_junk_as_malformed() {
        assert_eq!(PublicKey::from_pem(&data("sigstore-rs-rsa/rsa.pub")).unwrap_err(), KeyError::Unsupported("RSA"));
        assert_eq!(PublicKey::from_pem("hello").unwrap_err(), KeyError::NotPem);
        assert!(matches!(
            PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----"),
            Err(KeyError::Malformed(_))
        ));
    }

    #[test]
    fn payload_fields_and_identity() {
        let p = SimpleSigning::parse(data("sigstore-rs-p256/payload.json").as_bytes()).unwrap();
        assert!(p.manifest_digest.starts_with("sha256:f3cfc9d0"));
        assert_eq!(p.payload_type, COSIGN_PAYLOAD_TYPE);
        assert!(SimpleSigning::parse(b"{\"critical\":{}}").is_err());
        assert!(identity_matches("reg:5000/a/b", "reg:5000/a/b"));
        assert!(identity_matches("reg:5000/a/b:v1", "reg:5000/a/b"));
        assert!(identity_matches("reg:5000/a/b@sha256:00", "reg:5000/a/b"));
        assert!(!identity_matches("reg:5000/a/c", "reg:5000/a/b"));
        assert!(!identity_matches("reg:5000", "reg:5000/a/b"));
    }
}
