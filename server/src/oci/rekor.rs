//! Trusted timestamps from a transparency log (Rekor): cosign's offline
//! bundle, the `dev.sigstore.cosign/bundle` annotation of a signature
//! layer, checked without any network. Pure.
//!
//! The bundle holds the log entry's body, its index, the log's id and the
//! time the log integrated it, with the log's *signed entry timestamp*
//! (SET): an ECDSA P-256 signature by the log's key over the canonical JSON
//! (RFC 8785: sorted keys, no spaces) of `{"body", "integratedTime",
//! "logID", "logIndex"}`. A bundle counts when
//!
//! - the log id is the SHA-256 of the DER public key of a log Steward
//!   trusts (`[[transparency_logs]]` in the trusted-keys file), and that
//!   key verifies the SET;
//! - the body (a `hashedrekord` or `rekord` entry) names exactly this
//!   signature and the SHA-256 of exactly this payload.
//!
//! Then the integrated time is when the signature existed, and a key's
//! window is checked at that time instead of when Steward first saw the
//! signature (so a release signed while its key was valid, but first
//! checked by Steward after the key was retired, still counts).
//! RFC 3161 timestamps (`dev.sigstore.cosign/rfc3161timestamp`) and Rekor's
//! inclusion proofs are not read.

use super::signature::PublicKey;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

/// The annotation cosign writes the offline bundle to.
pub const COSIGN_BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";

/// Largest bundle annotation read.
pub const MAX_BUNDLE_BYTES: usize = 64 * 1024;

/// cosign's offline bundle (`cosign/bundle.RekorBundle`).
#[derive(Debug, Clone, Deserialize)]
pub struct Bundle {
    #[serde(rename = "SignedEntryTimestamp")]
    pub signed_entry_timestamp: String,
    #[serde(rename = "Payload")]
    pub payload: BundlePayload,
}

/// What the log signed.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundlePayload {
    /// The entry's body, base64 of its JSON.
    pub body: String,
    pub integrated_time: i64,
    pub log_index: i64,
    #[serde(rename = "logID")]
    pub log_id: String,
}

/// A verified timestamp: the log, the entry and when it was integrated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedTimestamp {
    pub time: OffsetDateTime,
    pub log_id: String,
    pub log_index: i64,
}

impl Bundle {
    pub fn parse(annotation: &str) -> Result<Bundle, String> {
        if annotation.len() > MAX_BUNDLE_BYTES {
            return Err(format!("the bundle is larger than {MAX_BUNDLE_BYTES} bytes"));
        }
        serde_json::from_str(annotation).map_err(|e| format!("the bundle is not cosign's bundle JSON: {e}"))
    }

    /// The bytes the SET signs: RFC 8785 canonical JSON of the payload.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let p = &self.payload;
        let string = |s: &str| serde_json::Value::String(s.to_string()).to_string();
        format!(
            "{{\"body\":{},\"integratedTime\":{},\"logID\":{},\"logIndex\":{}}}",
            string(&p.body),
            p.integrated_time,
            string(&p.log_id),
            p.log_index
        )
        .into_bytes()
    }

    /// Checks the bundle against the trusted logs' keys and the signature
    /// it must be about: `payload` (the signed bytes) and `signature` (the
    /// raw signature bytes). Names what failed.
    pub fn verify(&self, logs: &[PublicKey], payload: &[u8], signature: &[u8]) -> Result<TrustedTimestamp, String> {
        let p = &self.payload;
        let log_id = p.log_id.to_ascii_lowercase();
        let Some(log) = logs.iter().find(|k| k.fingerprint() == format!("sha256:{log_id}")) else {
            return Err(format!("log {log_id} is not a trusted transparency log"));
        };
        let set = BASE64
            .decode(self.signed_entry_timestamp.trim())
            .map_err(|_| "SignedEntryTimestamp is not base64".to_string())?;
        if !log.verify(&self.signed_bytes(), &set) {
            return Err(format!("the signed entry timestamp does not verify with log {log_id}'s key"));
        }
        let body = BASE64.decode(p.body.trim()).map_err(|_| "Payload.body is not base64".to_string())?;
        let body: Body = serde_json::from_slice(&body).map_err(|e| format!("the log entry's body: {e}"))?;
        if body.kind != "hashedrekord" && body.kind != "rekord" {
            return Err(format!("the log entry is a {:?}, not a hashedrekord or rekord", body.kind));
        }
        let logged = BASE64
            .decode(body.spec.signature.content.trim())
            .map_err(|_| "the log entry's signature is not base64".to_string())?;
        if logged != signature {
            return Err("the log entry is about another signature".into());
        }
        let hash = &body.spec.data.hash;
        if !hash.algorithm.eq_ignore_ascii_case("sha256") {
            return Err(format!("the log entry hashes with {}, not sha256", hash.algorithm));
        }
        if !hash.value.eq_ignore_ascii_case(&hex::encode(Sha256::digest(payload))) {
            return Err("the log entry is about another payload".into());
        }
        let time = OffsetDateTime::from_unix_timestamp(p.integrated_time)
            .map_err(|_| format!("integratedTime {} is not a time", p.integrated_time))?;
        Ok(TrustedTimestamp { time, log_id, log_index: p.log_index })
    }
}

/// The parts of a `hashedrekord` / `rekord` entry checked here.
#[derive(Deserialize)]
struct Body {
    kind: String,
    spec: Spec,
}

#[derive(Deserialize)]
struct Spec {
    signature: SpecSignature,
    data: SpecData,
}

#[derive(Deserialize)]
struct SpecSignature {
    content: String,
}

#[derive(Deserialize)]
struct SpecData {
    hash: SpecHash,
}

#[derive(Deserialize)]
struct SpecHash {
    algorithm: String,
    value: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rekor");
        std::fs::read(dir.join(name)).unwrap()
    }

    /// The real log entry (rekor.sigstore.dev, log index 132193865) as
    /// cosign writes it into its bundle annotation: the same fields, from
    /// the Rekor API's answer (`verification.signedEntryTimestamp` →
    /// `SignedEntryTimestamp`, the rest → `Payload`).
    fn real_bundle() -> String {
        let entry: serde_json::Value = serde_json::from_slice(&data("logentry.json")).unwrap();
        let (_, e) = entry.as_object().unwrap().iter().next().unwrap();
        serde_json::json!({
            "SignedEntryTimestamp": e["verification"]["signedEntryTimestamp"],
            "Payload": {
                "body": e["body"], "integratedTime": e["integratedTime"],
                "logIndex": e["logIndex"], "logID": e["logID"]
            }
        })
        .to_string()
    }

    fn rekor_key() -> PublicKey {
        PublicKey::from_pem(std::str::from_utf8(&data("rekor_public_key.pem")).unwrap()).unwrap()
    }

    #[test]
    fn a_real_rekor_bundle_dates_its_signature() {
        let bundle = Bundle::parse(&real_bundle()).unwrap();
        let (payload, signature) = (data("endorsement.json"), data("endorsement.json.sig"));
        let ts = bundle.verify(&[rekor_key()], &payload, &signature).unwrap();
        assert_eq!(ts.log_index, 132193865);
        assert_eq!(ts.log_id, "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d");
        assert_eq!(ts.log_id, rekor_key().fingerprint().trim_start_matches("sha256:"), "the log id is the key's hash");
        assert_eq!(crate::gate::rfc3339(ts.time), "2024-09-19T16:19:20Z");
    }

    #[test]
    fn a_bundle_counts_only_for_its_signature_payload_and_a_trusted_log() {
        let bundle = Bundle::parse(&real_bundle()).unwrap();
        let (payload, signature) = (data("endorsement.json"), data("endorsement.json.sig"));
        let err = |r: Result<TrustedTimestamp, String>| r.unwrap_err();
        let other_key = PublicKey::from_pem(std::str::from_utf8(&data("endorser_public_key.pem")).unwrap()).unwrap();
        assert!(err(bundle.verify(&[other_key], &payload, &signature)).contains("not a trusted transparency log"));
        assert!(err(bundle.verify(&[], &payload, &signature)).contains("not a trusted transparency log"));
        let mut other_payload = payload.clone();
        other_payload.push(b'\n');
        assert!(err(bundle.verify(&[rekor_key()], &other_payload, &signature)).contains("another payload"));
        let mut other_signature = signature.clone();
        other_signature[10] ^= 1;
        assert!(err(bundle.verify(&[rekor_key()], &payload, &other_signature)).contains("another signature"));
        // Every field the log signed is covered: a moved time, index or
        // body breaks the SET.
        for (field, value) in [
            ("integratedTime", serde_json::json!(1_600_000_000)),
            ("logIndex", serde_json::json!(1)),
            ("body", serde_json::json!("e30=")),
        ] {
            let mut b: serde_json::Value = serde_json::from_str(&real_bundle()).unwrap();
            b["Payload"][field] = value;
            let tampered = Bundle::parse(&b.to_string()).unwrap();
            assert!(err(tampered.verify(&[rekor_key()], &payload, &signature)).contains("does not verify"), "{field}");
        }
        assert!(Bundle::parse("{}").unwrap_err().contains("not cosign's bundle JSON"));
        assert!(Bundle::parse(&" ".repeat(MAX_BUNDLE_BYTES + 1)).unwrap_err().contains("larger than"));
    }

    /// A bundle of exactly `MAX_BUNDLE_BYTES` (the real one, padded with
    /// the whitespace JSON allows after a value) is read; one byte more is
    /// refused by its size, before it is parsed.
    #[test]
    fn a_bundle_may_be_exactly_the_limit_but_not_one_more() {
        let (payload, signature) = (data("endorsement.json"), data("endorsement.json.sig"));
        let mut text = real_bundle();
        assert!(text.len() < MAX_BUNDLE_BYTES);
        text.push_str(&" ".repeat(MAX_BUNDLE_BYTES - text.len()));
        assert_eq!(text.len(), 65_536);
        let ts = Bundle::parse(&text).unwrap().verify(&[rekor_key()], &payload, &signature).unwrap();
        assert_eq!(ts.log_index, 132193865);
        text.push(' ');
        assert_eq!(Bundle::parse(&text).unwrap_err(), "the bundle is larger than 65536 bytes");
    }

    /// A bundle signed by a test log (an ed25519 key made here) about a
    /// made-up signature and payload, with the entry kind given.
    fn test_log_bundle(kind: &str) -> (PublicKey, Bundle, Vec<u8>, Vec<u8>) {
        use ed25519_dalek::Signer as _;
        let log_key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let log = PublicKey::Ed25519(log_key.verifying_key());
        let (payload, signature) = (b"the payload".to_vec(), b"the signature".to_vec());
        let value: String = Sha256::digest(&payload).iter().map(|b| format!("{b:02x}")).collect();
        let body = serde_json::json!({
            "kind": kind,
            "spec": {"signature": {"content": BASE64.encode(&signature)}, "data": {"hash": {"algorithm": "sha256", "value": value}}}
        });
        let mut bundle = Bundle {
            signed_entry_timestamp: String::new(),
            payload: BundlePayload {
                body: BASE64.encode(body.to_string()),
                integrated_time: 1_726_762_760,
                log_index: 7,
                log_id: log.fingerprint().trim_start_matches("sha256:").to_string(),
            },
        };
        bundle.signed_entry_timestamp = BASE64.encode(log_key.sign(&bundle.signed_bytes()).to_bytes());
        (log, bundle, payload, signature)
    }

    #[test]
    fn hashedrekord_and_rekord_entries_count_and_other_kinds_do_not() {
        for kind in ["hashedrekord", "rekord"] {
            let (log, bundle, payload, signature) = test_log_bundle(kind);
            let ts = bundle.verify(&[log], &payload, &signature).unwrap();
            assert_eq!(
                (ts.log_index, crate::gate::rfc3339(ts.time)),
                (7, "2024-09-19T16:19:20Z".to_string()),
                "{kind}"
            );
        }
        for kind in ["intoto", "dsse", "rekor", "hashedrekord2", ""] {
            let (log, bundle, payload, signature) = test_log_bundle(kind);
            assert_eq!(
                bundle.verify(&[log], &payload, &signature).unwrap_err(),
                format!("the log entry is a {kind:?}, not a hashedrekord or rekord")
            );
        }
    }

    /// Hostile bundles (every truncation, a byte changed at every
    /// position) never panic and never verify, short of the original.
    #[test]
    fn damaged_bundles_are_refused_without_panicking() {
        let original = real_bundle();
        let (payload, signature) = (data("endorsement.json"), data("endorsement.json.sig"));
        let check = |text: &str| Bundle::parse(text).and_then(|b| b.verify(&[rekor_key()], &payload, &signature));
        assert!(check(&original).is_ok());
        for end in 0..original.len() {
            assert!(check(&original[..end]).is_err(), "a prefix of {end} bytes verified");
        }
        let bytes = original.as_bytes();
        for i in 0..bytes.len() {
            for replacement in [b'0', b'"', b'A'] {
                if bytes[i] == replacement {
                    continue;
                }
                let mut damaged = bytes.to_vec();
                damaged[i] = replacement;
                let Ok(text) = std::str::from_utf8(&damaged) else { continue };
                if let Ok(ts) = check(text) {
                    // Only a change the log did not sign may pass (none:
                    // every byte outside the SET is signed or structural).
                    panic!("byte {i} -> {:?} still verified: {ts:?}", replacement as char);
                }
            }
        }
    }

    #[test]
    fn the_signed_bytes_are_canonical_json() {
        let bundle = Bundle::parse(&real_bundle()).unwrap();
        let text = String::from_utf8(bundle.signed_bytes()).unwrap();
        assert!(text.starts_with("{\"body\":\"eyJhcGlWZXJzaW9uIjoiMC4wLjEiLCJraW5kIjoicmVrb3JkIiw"), "{text}");
        assert!(
            text.ends_with(",\"integratedTime\":1726762760,\"logID\":\"c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d\",\"logIndex\":132193865}"),
            "{text}"
        );
    }
}
